/* mtd_buf: growable byte buffer with a hard cap. */
#include "common/mtd_buf.h"
#include "common/mtd_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mtd_buf_init(mtd_buf *b, size_t limit)
{
    memset(b, 0, sizeof(*b));
    b->limit = limit ? limit : SIZE_MAX - 1;
}

void mtd_buf_free(mtd_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void mtd_buf_reset(mtd_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = 0;
}

int mtd_buf_reserve(mtd_buf *b, size_t extra)
{
    if (extra > b->limit || b->len > b->limit - extra)
        return MTD_ETOOBIG;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    uint8_t *p = realloc(b->data, ncap);
    if (!p)
        return MTD_ENOMEM;
    b->data = p;
    b->cap = ncap;
    return 0;
}

int mtd_buf_append(mtd_buf *b, const void *p, size_t n)
{
    int r;
    if ((r = mtd_buf_reserve(b, n)) != 0)
        return r;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
    return 0;
}

int mtd_buf_puts(mtd_buf *b, const char *s)
{
    return mtd_buf_append(b, s, strlen(s));
}

int mtd_buf_printf(mtd_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return MTD_EINVAL;
    int r;
    if ((r = mtd_buf_reserve(b, (size_t)n)) != 0)
        return r;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

char *mtd_buf_steal(mtd_buf *b, size_t *len)
{
    if (!b->data && mtd_buf_reserve(b, 0) != 0)
        return NULL;
    char *p = (char *)b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}
