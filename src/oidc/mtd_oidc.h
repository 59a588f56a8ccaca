/* mtd_oidc: the relying party's side of OpenID Connect (authorization code flow with
 * PKCE, OIDC Core 3.1; RFC 7636) for admin sign-in: a tenant's configuration, its
 * provider's metadata and keys, the code exchanged for an ID token, the token checked
 * (mtd_jwt) and its role claim mapped to an openmtd role. The HTTP routes that drive it
 * are collector/mtd_signin.c's.
 *
 * The provider is reached with libcurl: its discovery document
 * (ISSUER/.well-known/openid-configuration, whose "issuer" must be ISSUER exactly) and
 * key set are cached for MTD_OIDC_CACHE_S, and the key set is fetched again when a
 * token names a kid it lacks (a rotation), at most once per MTD_OIDC_REFETCH_S. A
 * provider is spoken to over https, or http on a loopback address only (a test's).
 *
 * Memory: mtd_oidc_cfg_parse fills a config the caller owns (plain arrays, nothing to
 * free); the cache owns what it fetched; answers are copied out. */
#ifndef MTD_OIDC_H
#define MTD_OIDC_H

#include "store/mtd_store.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define MTD_OIDC_CACHE_S 600
#define MTD_OIDC_REFETCH_S 30
#define MTD_OIDC_ROLE_MAP_MAX 32
#define MTD_OIDC_URL_MAX 512
#define MTD_OIDC_SCOPE "openid email profile"
#define MTD_OIDC_FETCH_MAX (64u << 10) /* a discovery document, key set or token answer */

typedef struct {
    char value[128];
    mtd_role role;
} mtd_oidc_role_rule;

typedef struct {
    char issuer[MTD_OIDC_URL_MAX];
    char client_id[256];
    char client_secret[256]; /* "" for a public client (PKCE alone) */
    char role_claim[128];      /* a claim's name, or a path into objects: realm_access.roles */
    char scope[256];           /* what the authorization request asks; has "openid" */
    char redirect_uri[MTD_OIDC_URL_MAX]; /* "" : the collector's own callback URL */
    mtd_oidc_role_rule map[MTD_OIDC_ROLE_MAP_MAX];
    int nmap;
} mtd_oidc_cfg;

/* A configuration as the admin API takes it and the store keeps it:
 * {"issuer", "client_id", "client_secret"?, "role_claim", "role_map": {VALUE: ROLE},
 * "redirect_uri"?, "scope"? (default MTD_OIDC_SCOPE)}. 0 or MTD_EINVAL with why naming the member. */
int mtd_oidc_cfg_parse(const json_t *j, mtd_oidc_cfg *c, char *why, size_t wl);
/* The configuration as stored (secret included), and as shown (the secret only said
 * to be set). New references. */
json_t *mtd_oidc_cfg_json(const mtd_oidc_cfg *c);
json_t *mtd_oidc_cfg_public(const mtd_oidc_cfg *c);
/* 1 when url is https://, or http:// to 127.0.0.1, [::1] or localhost. */
int mtd_oidc_url_ok(const char *url);

/* The role the claims give: the claim (a string or an array of strings; found by its
 * name, or else, for a name with dots, by the path into nested objects) mapped
 * through the rules; of several values that map, the strongest role (admin, then
 * privacy officer, then analyst). 0, or MTD_EPERM with why when nothing maps. */
int mtd_oidc_map_role(const mtd_oidc_cfg *c, const json_t *claims, mtd_role *role, char *why, size_t wl);

/* The provider's endpoints (from the cache, or fetched). */
typedef struct {
    char authorization_endpoint[MTD_OIDC_URL_MAX];
    char token_endpoint[MTD_OIDC_URL_MAX];
    char jwks_uri[MTD_OIDC_URL_MAX];
} mtd_oidc_endpoints;

typedef struct mtd_oidc_cache mtd_oidc_cache;
int mtd_oidc_cache_create(mtd_oidc_cache **out);
void mtd_oidc_cache_destroy(mtd_oidc_cache *k);
/* The issuer's endpoints. 0, or MTD_ENET / MTD_EPROTO with why. */
int mtd_oidc_discover(mtd_oidc_cache *k, const char *issuer, mtd_oidc_endpoints *e, char *why, size_t wl);

/* The sign-in's outcome, what the audit log records. */
typedef struct {
    char sub[256];
    char email[256]; /* "" when the token has none */
    mtd_role role;
} mtd_oidc_identity;

/* The code exchanged at the token endpoint (with the PKCE verifier, and the client
 * secret when there is one, as client_secret_basic), the ID token checked against the
 * issuer's keys, the client, the nonce and the clock, and its role claim mapped.
 * 0; MTD_EAUTH / MTD_EPERM (unmapped role) / MTD_ENET / MTD_EPROTO with why. */
int mtd_oidc_finish(mtd_oidc_cache *k, const mtd_oidc_cfg *c, const char *code, const char *verifier,
                    const char *nonce, const char *redirect_uri, mtd_oidc_identity *id, char *why, size_t wl);
/* The ID token check alone, of a token already in hand (tok, len). */
int mtd_oidc_check_token(mtd_oidc_cache *k, const mtd_oidc_cfg *c, const uint8_t *tok, size_t len, const char *nonce,
                         mtd_oidc_identity *id, char *why, size_t wl);

/* PKCE S256: the challenge of a verifier (43 base64url characters). */
void mtd_oidc_challenge(const char *verifier, char out[44]);

#endif
