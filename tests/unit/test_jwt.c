/* test_jwt: ID tokens signed here with fresh RSA and P-256 keys, published as a JWKS,
 * checked by mtd_jwt: what verifies, and each way one must not (a flipped bit, a key
 * of another kid or type, alg none and HS256 made with the public key, a wrong
 * audience, issuer or nonce, an expired token). The interoperation with a real
 * provider is tests/oidc/test_oidc.sh's. */
#include "common/mtd_err.h"
#include "common/mtd_util.h"
#include "oidc/mtd_jwt.h"
#include "oidc/mtd_oidc.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

static EVP_PKEY *g_rsa, *g_ec, *g_rsa2;
static char g_jwks[8192];

static void b64(const uint8_t *d, size_t n, char *out)
{
    mtd_b64url(d, n, out);
}

static void bn_b64(EVP_PKEY *k, const char *name, char *out)
{
    BIGNUM *bn = NULL;
    assert_int_equal(EVP_PKEY_get_bn_param(k, name, &bn), 1);
    uint8_t buf[600];
    int n = BN_bn2bin(bn, buf);
    b64(buf, (size_t)n, out);
    BN_free(bn);
}

static void rsa_jwk(EVP_PKEY *k, const char *kid, char *out, size_t len)
{
    char n[800], e[16];
    bn_b64(k, OSSL_PKEY_PARAM_RSA_N, n);
    bn_b64(k, OSSL_PKEY_PARAM_RSA_E, e);
    snprintf(out, len, "{\"kty\":\"RSA\",\"kid\":\"%s\",\"use\":\"sig\",\"alg\":\"RS256\",\"n\":\"%s\",\"e\":\"%s\"}",
             kid, n, e);
}

static void ec_jwk(EVP_PKEY *k, const char *kid, char *out, size_t len)
{
    uint8_t pt[65];
    size_t n = 0;
    assert_int_equal(EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt, &n), 1);
    assert_int_equal(n, 65);
    char x[64], y[64];
    b64(pt + 1, 32, x);
    b64(pt + 33, 32, y);
    snprintf(out, len, "{\"kty\":\"EC\",\"kid\":\"%s\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}", kid, x, y);
}

static int setup(void **state)
{
    g_rsa = EVP_RSA_gen(2048);
    g_rsa2 = EVP_RSA_gen(2048);
    g_ec = EVP_EC_gen("P-256");
    char a[2048], b[512];
    rsa_jwk(g_rsa, "r1", a, sizeof a);
    ec_jwk(g_ec, "e1", b, sizeof b);
    /* an encryption key and an unknown type are passed over */
    snprintf(g_jwks, sizeof g_jwks, "{\"keys\":[%s,%s,{\"kty\":\"oct\",\"k\":\"AAAA\"},"
             "{\"kty\":\"RSA\",\"use\":\"enc\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}", a, b);
    return g_rsa && g_ec && g_rsa2 ? 0 : -1;
}

static int teardown(void **state)
{
    EVP_PKEY_free(g_rsa);
    EVP_PKEY_free(g_rsa2);
    EVP_PKEY_free(g_ec);
    return 0;
}

/* "header.claims.signature" signed by k (NULL: alg none, no signature). */
static char *sign(EVP_PKEY *k, const char *header, const char *claims)
{
    char *out = malloc(16384);
    char h[1024], c[4096];
    b64((const uint8_t *)header, strlen(header), h);
    b64((const uint8_t *)claims, strlen(claims), c);
    int n = snprintf(out, 16384, "%s.%s", h, c);
    uint8_t sig[600], raw[64];
    size_t sl = sizeof sig;
    if (k) {
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k), 1);
        assert_int_equal(EVP_DigestSign(md, sig, &sl, (uint8_t *)out, (size_t)n), 1);
        EVP_MD_CTX_free(md);
        if (EVP_PKEY_get_base_id(k) == EVP_PKEY_EC) { /* DER to r || s */
            const uint8_t *p = sig;
            ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)sl);
            BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32);
            BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32);
            ECDSA_SIG_free(es);
            memcpy(sig, raw, 64);
            sl = 64;
        }
    } else {
        sl = 0;
    }
    char s[1024];
    b64(sig, sl, s);
    snprintf(out + n, 16384 - (size_t)n, ".%s", s);
    return out;
}

static char *claims(const char *aud_json, const char *extra, long exp_in)
{
    static char c[2048];
    long now = (long)time(NULL);
    snprintf(c, sizeof c, "{\"iss\":\"https://idp.test\",\"sub\":\"alice\",\"aud\":%s,\"exp\":%ld,\"iat\":%ld,"
             "\"nonce\":\"n-123\"%s}", aud_json, now + exp_in, now, extra);
    return c;
}

/* What mtd_jwt says of tok: the code of the first step that refused it (0: none). */
static int check(const char *tok, char *why)
{
    mtd_jwks *k;
    mtd_jwt t;
    assert_int_equal(mtd_jwks_parse((const uint8_t *)g_jwks, strlen(g_jwks), &k, why, 300), 0);
    assert_int_equal(mtd_jwks_count(k), 2);
    int r = mtd_jwt_parse((const uint8_t *)tok, strlen(tok), &t, why, 300);
    if (!r)
        r = mtd_jwt_verify(&t, k, why, 300);
    mtd_jwt_expect e = {"https://idp.test", "console", "n-123", (int64_t)time(NULL)};
    if (!r)
        r = mtd_jwt_check_claims(&t, &e, why, 300);
    mtd_jwt_clear(&t);
    mtd_jwks_free(k);
    return r;
}

static void test_rs256_and_es256_verify(void **state)
{
    char why[300] = "";
    char *a = sign(g_rsa, "{\"alg\":\"RS256\",\"kid\":\"r1\"}", claims("\"console\"", "", 300));
    char *b = sign(g_ec, "{\"alg\":\"ES256\",\"kid\":\"e1\"}", claims("[\"console\"]", "", 300));
    char *c = sign(g_ec, "{\"alg\":\"ES256\"}", claims("[\"console\",\"api\"]", ",\"azp\":\"console\"", 300));
    assert_int_equal(check(a, why), 0);
    assert_int_equal(check(b, why), 0);
    assert_int_equal(check(c, why), 0); /* no kid: the key of its type */
    free(a), free(b), free(c);
}

static void test_tampered_signature_fails(void **state)
{
    char why[300];
    char *a = sign(g_rsa, "{\"alg\":\"RS256\",\"kid\":\"r1\"}", claims("\"console\"", "", 300));
    char *dot = strrchr(a, '.');
    dot[5] = dot[5] == 'A' ? 'B' : 'A';
    assert_int_equal(check(a, why), MTD_EAUTH);
    assert_string_equal(why, "the token's RS256 signature does not verify with the provider's key");
    /* claims changed after signing */
    char *b = sign(g_ec, "{\"alg\":\"ES256\",\"kid\":\"e1\"}", claims("\"console\"", "", 300));
    char *c = sign(g_ec, "{\"alg\":\"ES256\",\"kid\":\"e1\"}", claims("\"console\"", ",\"role\":\"admin\"", 300));
    char *bsig = strrchr(b, '.'), *csig = strrchr(c, '.');
    memcpy(csig, bsig, strlen(bsig) + 1);
    assert_int_equal(check(c, why), MTD_EAUTH);
    free(a), free(b), free(c);
}

static void test_other_key_or_kid_fails(void **state)
{
    char why[300];
    char *a = sign(g_rsa2, "{\"alg\":\"RS256\",\"kid\":\"r1\"}", claims("\"console\"", "", 300));
    assert_int_equal(check(a, why), MTD_EAUTH);
    char *b = sign(g_rsa, "{\"alg\":\"RS256\",\"kid\":\"r9\"}", claims("\"console\"", "", 300));
    assert_int_equal(check(b, why), MTD_ENOENT);
    assert_string_equal(why, "the provider's key set has no key \"r9\"");
    /* ES256 named with the RSA key's kid: the key does not fit the alg */
    char *c = sign(g_ec, "{\"alg\":\"ES256\",\"kid\":\"r1\"}", claims("\"console\"", "", 300));
    assert_int_equal(check(c, why), MTD_EAUTH);
    free(a), free(b), free(c);
}

static void test_alg_none_and_hs256_refused(void **state)
{
    char why[300];
    char *a = sign(NULL, "{\"alg\":\"none\"}", claims("\"console\"", "", 300));
    assert_int_equal(check(a, why), MTD_EUNSUP);
    assert_string_equal(why, "the token is signed with \"none\"; only RS256 and ES256 are accepted");
    char *b = sign(g_rsa, "{\"alg\":\"RS256\"}", claims("\"console\"", "", 300));
    *(strrchr(b, '.') + 1) = 0; /* an RS256 token stripped of its signature */
    assert_int_equal(check(b, why), MTD_EINVAL);
    assert_string_equal(why, "the token's signature is not base64url of at most 512 bytes");
    /* HS256 keyed with the RSA key's public JWK text, the classic confusion */
    char hdr[64] = "{\"alg\":\"HS256\",\"kid\":\"r1\"}", h[128], c[4096], s[64];
    const char *cl = claims("\"console\"", "", 300);
    b64((const uint8_t *)hdr, strlen(hdr), h);
    b64((const uint8_t *)cl, strlen(cl), c);
    char *tok = malloc(8192);
    int n = snprintf(tok, 8192, "%s.%s", h, c);
    uint8_t mac[32];
    unsigned ml = 32;
    HMAC(EVP_sha256(), g_jwks, (int)strlen(g_jwks), (uint8_t *)tok, (size_t)n, mac, &ml);
    b64(mac, 32, s);
    snprintf(tok + n, 8192 - (size_t)n, ".%s", s);
    assert_int_equal(check(tok, why), MTD_EUNSUP);
    char *d = sign(g_rsa, "{\"alg\":\"RS256\",\"crit\":[\"x\"],\"x\":1}", claims("\"console\"", "", 300));
    assert_int_equal(check(d, why), MTD_EUNSUP);
    free(a), free(b), free(tok), free(d);
}

static void test_claims_held_to_the_sign_in(void **state)
{
    char why[300];
    const char *h = "{\"alg\":\"RS256\",\"kid\":\"r1\"}";
    char *a = sign(g_rsa, h, claims("\"other\"", "", 300));
    assert_int_equal(check(a, why), MTD_EAUTH);
    assert_string_equal(why, "the token's audience is not this client (\"console\")");
    char *b = sign(g_rsa, h, claims("[\"console\",\"api\"]", "", 300));
    assert_int_equal(check(b, why), MTD_EAUTH);
    assert_string_equal(why, "the token has several audiences and its \"azp\" is not this client");
    char *c = sign(g_rsa, h, claims("\"console\"", "", -120));
    assert_int_equal(check(c, why), MTD_EAUTH);
    assert_string_equal(why, "the token has expired");
    char *d = sign(g_rsa, h, claims("\"console\"", "", -30)); /* within the skew */
    assert_int_equal(check(d, why), 0);
    char cl[2048];
    long now = (long)time(NULL);
    snprintf(cl, sizeof cl, "{\"iss\":\"https://idp.test\",\"sub\":\"a\",\"aud\":\"console\",\"exp\":%ld,"
             "\"iat\":%ld,\"nonce\":\"n-124\"}", now + 300, now);
    char *e = sign(g_rsa, h, cl);
    assert_int_equal(check(e, why), MTD_EAUTH);
    assert_string_equal(why, "the token's nonce is not the one this sign-in sent");
    snprintf(cl, sizeof cl, "{\"iss\":\"https://idp.test/\",\"sub\":\"a\",\"aud\":\"console\",\"exp\":%ld,"
             "\"iat\":%ld,\"nonce\":\"n-123\"}", now + 300, now);
    char *f = sign(g_rsa, h, cl);
    assert_int_equal(check(f, why), MTD_EAUTH);
    assert_string_equal(why, "the token's issuer is not \"https://idp.test\"");
    /* a duplicate claim is refused outright */
    snprintf(cl, sizeof cl, "{\"iss\":\"https://idp.test\",\"sub\":\"a\",\"aud\":\"x\",\"aud\":\"console\","
             "\"exp\":%ld,\"iat\":%ld,\"nonce\":\"n-123\"}", now + 300, now);
    char *g = sign(g_rsa, h, cl);
    assert_int_equal(check(g, why), MTD_EINVAL);
    free(a), free(b), free(c), free(d), free(e), free(f), free(g);
}

static void test_b64url_decode_strict(void **state)
{
    uint8_t out[8];
    assert_int_equal(mtd_b64url_decode("aGk", 3, out, sizeof out), 2);
    assert_memory_equal(out, "hi", 2);
    assert_int_equal(mtd_b64url_decode("aGl", 3, out, sizeof out), -1); /* unused bits set */
    assert_int_equal(mtd_b64url_decode("aGk=", 4, out, sizeof out), -1);
    assert_int_equal(mtd_b64url_decode("a", 1, out, sizeof out), -1);
    assert_int_equal(mtd_b64url_decode("-_-_", 4, out, sizeof out), 3);
    assert_int_equal(mtd_b64url_decode("AAAAAAAAAAAA", 12, out, sizeof out), -1); /* 9 bytes > 8 */
}

static void test_jwks_refuses_weak_and_bad_keys(void **state)
{
    char why[300];
    mtd_jwks *k;
    const char *small = "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}";
    assert_int_equal(mtd_jwks_parse((const uint8_t *)small, strlen(small), &k, why, sizeof why), MTD_EINVAL);
    assert_string_equal(why, "the key set holds no RSA (2048 bits or more) or P-256 signing key");
    const char *off = "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
                      "\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}]}";
    assert_int_equal(mtd_jwks_parse((const uint8_t *)off, strlen(off), &k, why, sizeof why), MTD_EINVAL);
    assert_int_equal(mtd_jwks_parse((const uint8_t *)"[]", 2, &k, why, sizeof why), MTD_EINVAL);
    assert_null(k);
}

/* A configuration is checked whole; the role claim is found by name, or by its path
 * into objects; of several values that map, the strongest role. */
static void role_claims_map_to_the_strongest_role(void **state)
{
    char why[300];
    mtd_oidc_cfg c;
    mtd_role role;
    json_t *j = json_pack("{s:s,s:s,s:s,s:{s:s,s:s,s:s}}", "issuer", "https://idp.test", "client_id", "console",
                          "role_claim", "realm_access.roles", "role_map", "ops", "analyst", "dpo", "privacy",
                          "root", "admin");
    assert_int_equal(mtd_oidc_cfg_parse(j, &c, why, sizeof why), 0);
    assert_string_equal(c.scope, "openid email profile");
    json_t *cl = json_pack("{s:{s:[s,s]}}", "realm_access", "roles", "ops", "dpo");
    assert_int_equal(mtd_oidc_map_role(&c, cl, &role, why, sizeof why), 0);
    assert_int_equal(role, MTD_ROLE_PRIVACY); /* privacy officer over analyst */
    json_decref(cl);
    cl = json_pack("{s:[s,s,s]}", "realm_access.roles", "x", "root", "ops"); /* a name with dots, whole */
    assert_int_equal(mtd_oidc_map_role(&c, cl, &role, why, sizeof why), 0);
    assert_int_equal(role, MTD_ROLE_ADMIN);
    json_decref(cl);
    cl = json_pack("{s:{s:s}}", "realm_access", "other", "root");
    assert_int_equal(mtd_oidc_map_role(&c, cl, &role, why, sizeof why), MTD_EPERM);
    assert_string_equal(why, "the token has no \"realm_access.roles\" claim to map to a role");
    json_decref(cl);
    json_object_set_new(j, "scope", json_string("email openidx"));
    assert_int_equal(mtd_oidc_cfg_parse(j, &c, why, sizeof why), MTD_EINVAL);
    assert_string_equal(why, "\"scope\" must hold openid (an OpenID Connect sign-in asks for it)");
    json_object_set_new(j, "scope", json_string("openid groups"));
    assert_int_equal(mtd_oidc_cfg_parse(j, &c, why, sizeof why), 0);
    json_object_set_new(j, "role_map", json_pack("{s:s}", "x", "enroll"));
    assert_int_equal(mtd_oidc_cfg_parse(j, &c, why, sizeof why), MTD_EINVAL);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rs256_and_es256_verify),
        cmocka_unit_test(test_tampered_signature_fails),
        cmocka_unit_test(test_other_key_or_kid_fails),
        cmocka_unit_test(test_alg_none_and_hs256_refused),
        cmocka_unit_test(test_claims_held_to_the_sign_in),
        cmocka_unit_test(test_b64url_decode_strict),
        cmocka_unit_test(test_jwks_refuses_weak_and_bad_keys),
        cmocka_unit_test(role_claims_map_to_the_strongest_role),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
