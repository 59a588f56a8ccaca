/* mtd_ledger: append acknowledged records to the transparency ledger. */
#include "privacy/mtd_ledger.h"
#include "common/mtd_buf.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int mtd_ledger_append(const char *path, const char *batch_key, const uint8_t *const *records,
                      const size_t *lens, size_t n)
{
    char t[MTD_TIME_LEN];
    mtd_time_now_rfc3339(t);
    mtd_buf b;
    mtd_buf_init(&b, 0);
    int r = 0;
    /* records are our own gated JSON objects, embedded verbatim: the ledger shows the
     * bytes that were sent, not a re-encoding of them */
    for (size_t i = 0; i < n && r == 0; i++) {
        r = mtd_buf_printf(&b, "{\"sent_at\":\"%s\",\"batch\":\"%s\",\"record\":", t, batch_key);
        if (r == 0)
            r = mtd_buf_append(&b, records[i], lens[i]);
        if (r == 0)
            r = mtd_buf_puts(&b, "}\n");
    }
    int fd = r ? -1 : open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (r == 0 && fd < 0)
        r = MTD_EIO;
    for (size_t off = 0; r == 0 && off < b.len;) {
        ssize_t w = write(fd, b.data + off, b.len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            r = errno == ENOSPC ? MTD_ENOSPC : MTD_EIO;
        else
            off += (size_t)w;
    }
    if (r == 0 && fsync(fd) != 0)
        r = MTD_EIO;
    if (fd >= 0)
        close(fd);
    mtd_buf_free(&b);
    return r;
}
