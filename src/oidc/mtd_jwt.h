/* mtd_jwt: an OpenID Connect ID token (a JWS in compact form, RFC 7515/7519) checked
 * against its provider's key set (a JWKS, RFC 7517): split and decoded, its signature
 * verified, its claims held to what the sign-in expects.
 *
 * Written by hand on OpenSSL's EVP rather than with a JOSE library: of Debian 12's,
 * libjwt (1.10) reads no JWK set, only PEM keys, and cjose (0.6) would leave the
 * choice of algorithm, the key's fit to it and every claim to be checked here all the
 * same. What is needed is small: two algorithms, RS256 and ES256, and nothing else.
 * "none", the HMAC algorithms (which would let a public key serve as an HMAC secret)
 * and every other alg are refused, as is a header with "crit".
 *
 * Memory: mtd_jwks_parse makes a set the caller frees with mtd_jwks_free; an mtd_jwt
 * filled by mtd_jwt_parse holds its header and claims (jansson objects) and signature
 * until mtd_jwt_clear. Inputs are (buf, len) from outside and never trusted. */
#ifndef MTD_JWT_H
#define MTD_JWT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define MTD_JWT_MAX (16u << 10)  /* an ID token, bytes */
#define MTD_JWKS_MAX (64u << 10) /* a key set document, bytes */
#define MTD_JWKS_KEYS 32         /* keys kept from one set */
#define MTD_JWT_SKEW_S 60        /* clock difference tolerated on exp and iat */

typedef struct mtd_jwks mtd_jwks;

/* The signing keys of a JWKS document: RSA keys of 2048 bits or more (n, e) and EC
 * P-256 keys (x, y); keys for encryption ("use": "enc") and of other types are passed
 * over. 0; MTD_EINVAL (why says what) when the document is not a key set or holds no
 * usable key; MTD_ETOOBIG past the caps. */
int mtd_jwks_parse(const uint8_t *buf, size_t len, mtd_jwks **out, char *why, size_t wl);
void mtd_jwks_free(mtd_jwks *k);
/* How many keys the set kept. */
int mtd_jwks_count(const mtd_jwks *k);

typedef struct {
    json_t *header, *claims;
    char alg[8];
    char kid[128];          /* "" when the header names none */
    char *signed_part;      /* "header.payload", what the signature covers */
    size_t signed_len;
    uint8_t sig[512];
    size_t sig_len;
} mtd_jwt;

/* Splits and decodes a compact JWS: three base64url parts, a header and claims that
 * are JSON objects without duplicate names, alg RS256 or ES256. 0 or MTD_EINVAL /
 * MTD_EUNSUP / MTD_ETOOBIG with why; t is cleared on failure. */
int mtd_jwt_parse(const uint8_t *buf, size_t len, mtd_jwt *t, char *why, size_t wl);
void mtd_jwt_clear(mtd_jwt *t);

/* Verifies the signature with the set's key named by the header's kid (or, without a
 * kid, any key of the alg's type). 0; MTD_ENOENT when the set has no key of that kid
 * (the provider may have rotated: fetch the set again); MTD_EAUTH when the signature
 * does not verify or the key does not fit the alg. */
int mtd_jwt_verify(const mtd_jwt *t, const mtd_jwks *k, char *why, size_t wl);

/* What the claims must say: iss the issuer exactly; aud the client (among several, azp
 * names it; azp, when present, is it); exp not passed and iat not ahead, both within
 * MTD_JWT_SKEW_S of now; nonce the one sent; sub a string. 0 or MTD_EAUTH with why. */
typedef struct {
    const char *issuer, *client_id, *nonce;
    int64_t now;
} mtd_jwt_expect;
int mtd_jwt_check_claims(const mtd_jwt *t, const mtd_jwt_expect *e, char *why, size_t wl);

#endif
