/* mtd_pseudo: HMAC-SHA256 pseudonyms of direct identifiers. */
#include "privacy/mtd_pseudo.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"

#include <openssl/hmac.h>
#include <string.h>

int mtd_pseudo(const mtd_tenant_key *k, const char *purpose, const char *value,
               size_t value_len, char *out)
{
    uint8_t msg[1024], mac[32];
    unsigned maclen = 0;
    size_t plen = strlen(purpose) + 1; /* the NUL separates purpose from value */
    if (plen + value_len > sizeof msg)
        return MTD_ETOOBIG;
    memcpy(msg, purpose, plen);
    memcpy(msg + plen, value, value_len);
    if (!HMAC(EVP_sha256(), k->key, MTD_TENANT_KEY_LEN, msg, plen + value_len, mac, &maclen))
        return MTD_EIO;
    memcpy(out, "ps_", 3);
    mtd_b64url(mac, 16, out + 3);
    return 0;
}

int mtd_pseudo_is_valid(const char *s)
{
    if (strncmp(s, "ps_", 3) != 0 || strlen(s) != MTD_PSEUDO_LEN)
        return 0;
    for (const char *p = s + 3; *p; p++) {
        char c = *p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

int mtd_tenant_key_from_hex(mtd_tenant_key *k, const char *hex)
{
    return mtd_unhex(hex, k->key, MTD_TENANT_KEY_LEN);
}

void mtd_tenant_key_to_hex(const mtd_tenant_key *k, char out[65])
{
    mtd_hex(k->key, MTD_TENANT_KEY_LEN, out);
}

int mtd_tenant_key_generate(mtd_tenant_key *k)
{
    return mtd_random(k->key, MTD_TENANT_KEY_LEN);
}
