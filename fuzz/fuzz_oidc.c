/* fuzz_oidc: what an OpenID Connect provider (or anyone posing as one) sends the
 * collector: a key set (JWKS) and an ID token, each decoded from base64url and JSON.
 * The input is split at its first NUL: a key set, then a token checked against it,
 * its claims mapped to a role by a configuration read from the first part too (an
 * admin's PUT /v1/admin/oidc). Nothing may be read past its end, and a token may
 * verify only through a key of the set. */
#include "oidc/mtd_jwt.h"
#include "oidc/mtd_oidc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[300];
    const uint8_t *nul = memchr(data, 0, size);
    size_t klen = nul ? (size_t)(nul - data) : size;
    mtd_jwks *k = NULL;
    mtd_jwks_parse(data, klen, &k, why, sizeof why);
    mtd_jwt t;
    const uint8_t *tok = nul ? nul + 1 : data;
    size_t tlen = nul ? size - klen - 1 : size;
    if (mtd_jwt_parse(tok, tlen, &t, why, sizeof why) == 0) {
        if (!t.header || !t.claims || !t.signed_part || !t.sig_len)
            abort(); /* accepted without what a signed token has */
        if (k && mtd_jwt_verify(&t, k, why, sizeof why) == 0 && mtd_jwks_count(k) == 0)
            abort();
        mtd_jwt_expect e = {"https://idp.test", "console", "n", 0};
        mtd_jwt_check_claims(&t, &e, why, sizeof why);
        json_t *j = json_loadb((const char *)data, klen, 0, NULL);
        mtd_oidc_cfg cfg;
        mtd_role role;
        if (mtd_oidc_cfg_parse(j, &cfg, why, sizeof why) == 0 &&
            mtd_oidc_map_role(&cfg, t.claims, &role, why, sizeof why) == 0 && role == MTD_ROLE_ENROLL)
            abort(); /* a sign-in is never an enrollment token */
        json_decref(j);
        mtd_jwt_clear(&t);
    }
    mtd_jwks_free(k);
    return 0;
}
