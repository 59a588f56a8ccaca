/* mtd_ident: normalization of identifiers before pseudonymization. NFC and case mapping
 * come from libunistring (Debian's libunistring-dev): Unicode's tables are not ours to
 * write again. */
#include "privacy/mtd_ident.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <uninorm.h>
#include <unistr.h>

/* The first character a UPN may not hold, or 0. */
static int bad_char(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p == 0x7f || strchr("\"'`", *p) ||
            (*p == 0xc2 && (p[1] >= 0x80 && p[1] <= 0xa0))) /* C1 controls, no-break space */
            return *p;
    return 0;
}

int mtd_ident_upn(const char *in, char *out, size_t outlen, char *why, size_t wl)
{
    size_t n = strlen(in);
    const char *at = strrchr(in, '@');
    int c;
    if (n == 0 || n > MTD_UPN_MAX) {
        snprintf(why, wl, "a user principal name must be 1 to %d bytes", MTD_UPN_MAX);
        return MTD_EINVAL;
    }
    if (u8_check((const uint8_t *)in, n) != NULL) {
        snprintf(why, wl, "a user principal name must be UTF-8");
        return MTD_EINVAL;
    }
    if ((c = bad_char(in)) != 0) {
        snprintf(why, wl, "a user principal name may not hold %s",
                 c < 0x20 || c == 0x7f ? "a control character (a newline, a tab...)"
                 : c == ' ' || c == 0xc2 ? "a space" : "a quote");
        return MTD_EINVAL;
    }
    if (!at || at == in || !at[1]) {
        snprintf(why, wl, "a user principal name has the form name@domain");
        return MTD_EINVAL;
    }
    size_t len = 0;
    uint8_t *low = u8_tolower((const uint8_t *)in, n, NULL, UNINORM_NFC, NULL, &len);
    if (!low)
        return MTD_ENOMEM;
    int r = 0;
    if (len >= outlen || len > MTD_UPN_MAX) {
        snprintf(why, wl, "a user principal name must be 1 to %d bytes", MTD_UPN_MAX);
        r = MTD_EINVAL;
    } else {
        memcpy(out, low, len);
        out[len] = 0;
    }
    free(low);
    return r;
}

int mtd_ident_mac(const char *in, char *out, size_t outlen)
{
    size_t o = 0;
    for (const char *p = in; *p; p++) {
        char c = *p;
        if (strchr(":-.", c))
            continue;
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) ||
            o >= 12 || o + 1 >= outlen)
            return MTD_EINVAL;
        out[o++] = c >= 'A' && c <= 'F' ? (char)(c - 'A' + 'a') : c;
    }
    if (o != 12)
        return MTD_EINVAL;
    out[o] = 0;
    return 0;
}

int mtd_ident_pseudo(const mtd_tenant_key *k, const char *purpose, const char *raw, size_t len,
                     char out[MTD_PSEUDO_LEN + 1], char *why, size_t wl)
{
    if (strcmp(purpose, "upn") != 0)
        return mtd_pseudo(k, purpose, raw, len, out);
    char in[MTD_UPN_MAX + 1], norm[MTD_UPN_MAX + 1];
    if (len > MTD_UPN_MAX || memchr(raw, 0, len)) {
        snprintf(why, wl, "a user principal name must be 1 to %d bytes, without NUL", MTD_UPN_MAX);
        return MTD_EINVAL;
    }
    memcpy(in, raw, len);
    in[len] = 0;
    int r = mtd_ident_upn(in, norm, sizeof norm, why, wl);
    return r ? r : mtd_pseudo(k, purpose, norm, strlen(norm), out);
}
