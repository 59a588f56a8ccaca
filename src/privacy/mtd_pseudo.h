/* mtd_pseudo: keyed pseudonyms for direct identifiers (DESIGN.md section 3).
 *
 * pseudonym = "ps_" + base64url(first 16 bytes of HMAC-SHA256(tenant_key,
 *             purpose || 0x00 || value))
 *
 * The purpose label ("device", "upn", "dir_user", ...) keeps pseudonyms of the same
 * value for different uses unlinkable; the per-tenant key keeps them unlinkable across
 * tenants. 128 bits make collisions negligible at any fleet size. The "ps_" prefix and
 * fixed length let the collector tell a pseudonym from a raw identifier that a
 * modified agent might send (no MAC, machine-id, GUID or UPN has that shape). */
#ifndef MTD_PSEUDO_H
#define MTD_PSEUDO_H

#include <stddef.h>
#include <stdint.h>

#define MTD_TENANT_KEY_LEN 32
#define MTD_PSEUDO_LEN 25 /* "ps_" + 22 base64url characters */

typedef struct {
    uint8_t key[MTD_TENANT_KEY_LEN];
} mtd_tenant_key;

/* out must hold MTD_PSEUDO_LEN + 1 bytes. */
int mtd_pseudo(const mtd_tenant_key *k, const char *purpose, const char *value,
               size_t value_len, char *out);
/* 1 when s has exactly the shape of a pseudonym. */
int mtd_pseudo_is_valid(const char *s);
/* Key as 64 hex characters (enrollment response, key files). */
int mtd_tenant_key_from_hex(mtd_tenant_key *k, const char *hex);
void mtd_tenant_key_to_hex(const mtd_tenant_key *k, char out[65]);
int mtd_tenant_key_generate(mtd_tenant_key *k);

#endif
