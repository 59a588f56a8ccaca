/* fuzz_url: Safe Browsing canonicalization and expressions of any URL or host name. */
#include "webprot/mtd_url.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static mtd_url u;
    mtd_url_expr e[MTD_URL_MAX_EXPR];
    char out[MTD_URL_MAX + 32];
    const char *why;
    if (mtd_url_canonicalize((const char *)data, size, &u, &why) == 0) {
        int n = mtd_url_expressions(&u, e);
        for (int i = 0; i < n; i++)
            if ((size_t)e[i].off + e[i].len > u.len + 1u)
                abort(); /* an expression outside the buffer */
        mtd_url_format(&u, out, sizeof out);
        mtd_url_entry(&u);
    }
    if (mtd_url_from_host((const char *)data, size, &u, &why) == 0)
        mtd_url_host_expressions(&u, e);
    return 0;
}
