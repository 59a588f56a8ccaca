/* mtd_jwt: ID tokens and key sets (mtd_jwt.h), on OpenSSL 3's EVP. */
#include "oidc/mtd_jwt.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RSA_MIN_BITS 2048
#define RSA_MAX_BYTES 512 /* 4096-bit moduli */

typedef struct {
    char kid[128];
    int ec;                /* P-256, else RSA */
    char alg[8];           /* the JWK's own "alg", "" when it names none */
    EVP_PKEY *pkey;
} jwk;

struct mtd_jwks {
    jwk k[MTD_JWKS_KEYS];
    int n;
};

static int fail(char *why, size_t wl, int r, const char *fmt, const char *arg)
{
    snprintf(why, wl, fmt, arg ? arg : "");
    return r;
}

/* A base64url member of a JWK into out (at most max bytes): its length, or -1. */
static int b64_member(const json_t *o, const char *name, uint8_t *out, size_t max)
{
    const char *s = json_string_value(json_object_get(o, name));
    return s ? mtd_b64url_decode(s, strlen(s), out, max) : -1;
}

static EVP_PKEY *from_params(const char *type, OSSL_PARAM_BLD *b)
{
    EVP_PKEY *pk = NULL;
    OSSL_PARAM *p = b ? OSSL_PARAM_BLD_to_param(b) : NULL;
    EVP_PKEY_CTX *cx = p ? EVP_PKEY_CTX_new_from_name(NULL, type, NULL) : NULL;
    if (!cx || EVP_PKEY_fromdata_init(cx) <= 0 || EVP_PKEY_fromdata(cx, &pk, EVP_PKEY_PUBLIC_KEY, p) <= 0)
        pk = NULL;
    EVP_PKEY_CTX_free(cx);
    OSSL_PARAM_free(p);
    return pk;
}

static EVP_PKEY *rsa_key(const json_t *o)
{
    uint8_t n[RSA_MAX_BYTES], e[8];
    int nl = b64_member(o, "n", n, sizeof n), el = b64_member(o, "e", e, sizeof e);
    size_t lead = 0;
    while (nl > 0 && lead < (size_t)nl && n[lead] == 0)
        lead++;
    if (nl <= 0 || el <= 0 || ((size_t)nl - lead) * 8 < RSA_MIN_BITS)
        return NULL;
    BIGNUM *bn = BN_bin2bn(n, nl, NULL), *be = BN_bin2bn(e, el, NULL);
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    EVP_PKEY *pk = NULL;
    if (bn && be && b && OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn) &&
        OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, be) && BN_is_odd(be) && !BN_is_one(be))
        pk = from_params("RSA", b);
    OSSL_PARAM_BLD_free(b);
    BN_free(bn);
    BN_free(be);
    return pk;
}

/* P-256 only: x and y of 32 bytes each; OpenSSL refuses a point off the curve. */
static EVP_PKEY *ec_key(const json_t *o)
{
    const char *crv = json_string_value(json_object_get(o, "crv"));
    uint8_t pt[65], x[33], y[33];
    if (!crv || strcmp(crv, "P-256") || b64_member(o, "x", x, sizeof x) != 32 || b64_member(o, "y", y, sizeof y) != 32)
        return NULL;
    pt[0] = 4; /* uncompressed */
    memcpy(pt + 1, x, 32);
    memcpy(pt + 33, y, 32);
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    EVP_PKEY *pk = NULL;
    if (b && OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
        OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt))
        pk = from_params("EC", b);
    OSSL_PARAM_BLD_free(b);
    return pk;
}

/* One JWK of the set into k; 0 when it is a signing key kept, 1 when passed over. */
static int read_jwk(const json_t *o, jwk *k)
{
    const char *kty = json_string_value(json_object_get(o, "kty"));
    const char *use = json_string_value(json_object_get(o, "use"));
    const char *kid = json_string_value(json_object_get(o, "kid"));
    const char *alg = json_string_value(json_object_get(o, "alg"));
    if (!json_is_object(o) || !kty || (use && strcmp(use, "sig")) || (kid && strlen(kid) >= sizeof k->kid) ||
        (alg && strlen(alg) >= sizeof k->alg))
        return 1;
    memset(k, 0, sizeof *k);
    snprintf(k->kid, sizeof k->kid, "%s", kid ? kid : "");
    snprintf(k->alg, sizeof k->alg, "%s", alg ? alg : "");
    if (!strcmp(kty, "RSA"))
        k->pkey = rsa_key(o);
    else if (!strcmp(kty, "EC") && (k->ec = 1))
        k->pkey = ec_key(o);
    return k->pkey ? 0 : 1;
}

int mtd_jwks_parse(const uint8_t *buf, size_t len, mtd_jwks **out, char *why, size_t wl)
{
    *out = NULL;
    if (len > MTD_JWKS_MAX)
        return fail(why, wl, MTD_ETOOBIG, "the key set is over 64 KiB%s", NULL);
    json_error_t e;
    json_t *doc = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &e);
    json_t *keys = json_object_get(doc, "keys");
    if (!json_is_array(keys)) {
        json_decref(doc);
        return fail(why, wl, MTD_EINVAL, "the key set is not a JSON object with a \"keys\" array%s", NULL);
    }
    mtd_jwks *s = calloc(1, sizeof *s);
    if (!s) {
        json_decref(doc);
        return MTD_ENOMEM;
    }
    size_t i;
    json_t *o;
    json_array_foreach(keys, i, o) {
        if (s->n < MTD_JWKS_KEYS && read_jwk(o, &s->k[s->n]) == 0)
            s->n++;
    }
    json_decref(doc);
    if (!s->n) {
        mtd_jwks_free(s);
        return fail(why, wl, MTD_EINVAL, "the key set holds no RSA (2048 bits or more) or P-256 signing key%s",
                    NULL);
    }
    *out = s;
    return 0;
}

void mtd_jwks_free(mtd_jwks *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n; i++)
        EVP_PKEY_free(s->k[i].pkey);
    free(s);
}

int mtd_jwks_count(const mtd_jwks *s)
{
    return s ? s->n : 0;
}

void mtd_jwt_clear(mtd_jwt *t)
{
    json_decref(t->header);
    json_decref(t->claims);
    free(t->signed_part);
    memset(t, 0, sizeof *t);
}

/* One base64url part decoded as a JSON object (no duplicate names: two "aud" would be
 * read one way here and another by whoever issued it). */
static json_t *json_part(const char *p, size_t n)
{
    uint8_t *raw = malloc(n ? n : 1);
    int len = raw ? mtd_b64url_decode(p, n, raw, n) : -1;
    json_t *j = len > 0 ? json_loadb((const char *)raw, (size_t)len, JSON_REJECT_DUPLICATES, NULL) : NULL;
    free(raw);
    if (j && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

static int read_header(mtd_jwt *t, char *why, size_t wl)
{
    const char *alg = json_string_value(json_object_get(t->header, "alg"));
    json_t *kid = json_object_get(t->header, "kid");
    if (!alg)
        return fail(why, wl, MTD_EINVAL, "the token's header names no \"alg\"%s", NULL);
    if (strcmp(alg, "RS256") && strcmp(alg, "ES256"))
        return fail(why, wl, MTD_EUNSUP, "the token is signed with \"%.16s\"; only RS256 and ES256 are accepted",
                    alg);
    if (json_object_get(t->header, "crit"))
        return fail(why, wl, MTD_EUNSUP, "the token's header has \"crit\" extensions%s", NULL);
    if (kid && (!json_is_string(kid) || json_string_length(kid) >= sizeof t->kid))
        return fail(why, wl, MTD_EINVAL, "the token's \"kid\" is not a string of under 128 bytes%s", NULL);
    snprintf(t->alg, sizeof t->alg, "%s", alg);
    snprintf(t->kid, sizeof t->kid, "%s", kid ? json_string_value(kid) : "");
    return 0;
}

int mtd_jwt_parse(const uint8_t *buf, size_t len, mtd_jwt *t, char *why, size_t wl)
{
    memset(t, 0, sizeof *t);
    if (len > MTD_JWT_MAX)
        return fail(why, wl, MTD_ETOOBIG, "the token is over 16 KiB%s", NULL);
    const char *s = (const char *)buf, *d1 = memchr(s, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - s)) : NULL;
    if (!d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - s)))
        return fail(why, wl, MTD_EINVAL, "the token is not three base64url parts joined by dots%s", NULL);
    int r = MTD_EINVAL;
    t->header = json_part(s, (size_t)(d1 - s));
    t->claims = json_part(d1 + 1, (size_t)(d2 - d1 - 1));
    size_t sl = len - (size_t)(d2 + 1 - s);
    int n = mtd_b64url_decode(d2 + 1, sl, t->sig, sizeof t->sig);
    if (!t->header || !t->claims)
        fail(why, wl, r, "the token's header or claims are not base64url of a JSON object%s", NULL);
    else if ((r = read_header(t, why, wl)) != 0)
        ; /* an alg refused is said before a signature missing: "none" has none */
    else if (n <= 0)
        r = fail(why, wl, MTD_EINVAL, "the token's signature is not base64url of at most 512 bytes%s", NULL);
    else if (!(t->signed_part = strndup(s, (size_t)(d2 - s))))
        r = MTD_ENOMEM;
    if (r) {
        mtd_jwt_clear(t);
        return r;
    }
    t->signed_len = (size_t)(d2 - s);
    t->sig_len = (size_t)n;
    return 0;
}

/* ES256's signature is r || s, 32 bytes each (RFC 7518 3.4); EVP takes DER. */
static int es256_der(const uint8_t *sig, size_t n, uint8_t **der)
{
    if (n != 64)
        return -1;
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
    if (!es || !r || !s || !ECDSA_SIG_set0(es, r, s)) {
        ECDSA_SIG_free(es);
        BN_free(r);
        BN_free(s);
        return -1;
    }
    *der = NULL;
    int len = i2d_ECDSA_SIG(es, der);
    ECDSA_SIG_free(es);
    return len;
}

static int verify_with(const mtd_jwt *t, EVP_PKEY *pk, int ec)
{
    uint8_t *der = NULL;
    const uint8_t *sig = t->sig;
    int sl = (int)t->sig_len;
    if (ec && (sl = es256_der(t->sig, t->sig_len, &der)) <= 0)
        return 0;
    if (ec)
        sig = der;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) == 1 &&
             EVP_DigestVerify(md, sig, (size_t)sl, (const uint8_t *)t->signed_part, t->signed_len) == 1;
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    return ok;
}

int mtd_jwt_verify(const mtd_jwt *t, const mtd_jwks *s, char *why, size_t wl)
{
    int ec = !strcmp(t->alg, "ES256"), named = 0;
    for (int i = 0; i < s->n; i++) {
        const jwk *k = &s->k[i];
        if (t->kid[0] && strcmp(k->kid, t->kid))
            continue;
        named = 1;
        /* the alg comes from the token, so it must fit the key: an RSA key is never
         * asked to check an ES256 signature, nor one whose JWK names another alg */
        if (k->ec != ec || (k->alg[0] && strcmp(k->alg, t->alg)))
            continue;
        if (verify_with(t, k->pkey, ec))
            return 0;
    }
    if (!named)
        return fail(why, wl, MTD_ENOENT, "the provider's key set has no key \"%.100s\"", t->kid);
    return fail(why, wl, MTD_EAUTH, "the token's %s signature does not verify with the provider's key", t->alg);
}

/* A NumericDate claim (seconds; a fraction is allowed and dropped). */
static int date_claim(const json_t *c, const char *name, int64_t *v)
{
    json_t *j = json_object_get(c, name);
    if (!json_is_number(j))
        return -1;
    double d = json_number_value(j);
    if (d < 0 || d > 1e13)
        return -1;
    *v = (int64_t)d;
    return 0;
}

static int check_aud(const json_t *c, const char *client, char *why, size_t wl)
{
    json_t *aud = json_object_get(c, "aud"), *azp = json_object_get(c, "azp");
    int found = 0;
    size_t i, n = 1;
    json_t *a;
    if (json_is_string(aud)) {
        found = !strcmp(json_string_value(aud), client);
    } else if (json_is_array(aud)) {
        n = json_array_size(aud);
        json_array_foreach(aud, i, a) found |= json_is_string(a) && !strcmp(json_string_value(a), client);
    }
    if (!found)
        return fail(why, wl, MTD_EAUTH, "the token's audience is not this client (\"%.100s\")", client);
    /* OIDC Core 3.1.3.7: several audiences need azp naming this client */
    if ((n > 1 || azp) && !(json_is_string(azp) && !strcmp(json_string_value(azp), client)))
        return fail(why, wl, MTD_EAUTH, "the token has several audiences and its \"azp\" is not this client%s",
                    NULL);
    return 0;
}

int mtd_jwt_check_claims(const mtd_jwt *t, const mtd_jwt_expect *e, char *why, size_t wl)
{
    const json_t *c = t->claims;
    const char *iss = json_string_value(json_object_get(c, "iss"));
    const char *nonce = json_string_value(json_object_get(c, "nonce"));
    const char *sub = json_string_value(json_object_get(c, "sub"));
    int64_t exp, iat;
    if (!iss || strcmp(iss, e->issuer))
        return fail(why, wl, MTD_EAUTH, "the token's issuer is not \"%.200s\"", e->issuer);
    int r = check_aud(c, e->client_id, why, wl);
    if (r)
        return r;
    if (date_claim(c, "exp", &exp) || date_claim(c, "iat", &iat))
        return fail(why, wl, MTD_EAUTH, "the token lacks a numeric \"exp\" or \"iat\"%s", NULL);
    if (e->now > exp + MTD_JWT_SKEW_S)
        return fail(why, wl, MTD_EAUTH, "the token has expired%s", NULL);
    if (iat > e->now + MTD_JWT_SKEW_S)
        return fail(why, wl, MTD_EAUTH, "the token was issued in the future (check the clocks)%s", NULL);
    if (!nonce || strlen(nonce) != strlen(e->nonce) || !mtd_ct_equal(nonce, e->nonce, strlen(nonce)))
        return fail(why, wl, MTD_EAUTH, "the token's nonce is not the one this sign-in sent%s", NULL);
    if (!sub || !sub[0] || strlen(sub) > 255)
        return fail(why, wl, MTD_EAUTH, "the token's \"sub\" is not a string of 1 to 255 bytes%s", NULL);
    return 0;
}
