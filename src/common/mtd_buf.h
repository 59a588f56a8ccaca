/* mtd_buf: a growable byte buffer with a hard cap.
 *
 * The buffer owns its memory; mtd_buf_free() releases it. Every append checks the cap
 * set at init, so input from outside can never grow it without bound. The data is
 * always NUL-terminated (not counted in len) so text can be used as a C string. */
#ifndef MTD_BUF_H
#define MTD_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *data;
    size_t len;
    size_t cap;   /* allocated bytes */
    size_t limit; /* hard cap on len; 0 = SIZE_MAX */
} mtd_buf;

void mtd_buf_init(mtd_buf *b, size_t limit);
void mtd_buf_free(mtd_buf *b);
void mtd_buf_reset(mtd_buf *b);
int mtd_buf_reserve(mtd_buf *b, size_t extra);
int mtd_buf_append(mtd_buf *b, const void *p, size_t n);
int mtd_buf_puts(mtd_buf *b, const char *s);
int mtd_buf_printf(mtd_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the memory to the caller (free() it); the buffer is left empty. */
char *mtd_buf_steal(mtd_buf *b, size_t *len);

#endif
