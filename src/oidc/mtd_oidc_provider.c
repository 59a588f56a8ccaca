/* mtd_oidc_provider: what the collector asks an OpenID Connect provider (mtd_oidc.h):
 * its metadata and keys, cached per issuer, and the code for an ID token.
 *
 * The cache holds a few issuers (tenants mostly share one provider, and a collector
 * serves few providers); an entry older than MTD_OIDC_CACHE_S is fetched again on
 * use, so a provider's new endpoints or keys are taken within that bound. The fetches
 * run outside the lock, so one slow provider holds up no other tenant's sign-in. */
#include "oidc/mtd_jwt.h"
#include "oidc/mtd_oidc.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"
#include "uplink/mtd_http.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CACHE_SLOTS 8
#define FETCH_TIMEOUT_S 10

typedef struct {
    char issuer[MTD_OIDC_URL_MAX];
    mtd_oidc_endpoints e;
    mtd_jwks *keys;
    int64_t meta_at, keys_at; /* when fetched (0: never) */
} slot;

struct mtd_oidc_cache {
    pthread_mutex_t mu;
    slot s[CACHE_SLOTS];
};

int mtd_oidc_cache_create(mtd_oidc_cache **out)
{
    mtd_oidc_cache *k = calloc(1, sizeof *k);
    if (!k)
        return MTD_ENOMEM;
    pthread_mutex_init(&k->mu, NULL);
    *out = k;
    return 0;
}

void mtd_oidc_cache_destroy(mtd_oidc_cache *k)
{
    if (!k)
        return;
    for (int i = 0; i < CACHE_SLOTS; i++)
        mtd_jwks_free(k->s[i].keys);
    pthread_mutex_destroy(&k->mu);
    free(k);
}

/* The slot of issuer, or the oldest one taken for it (caller holds mu). */
static slot *slot_of(mtd_oidc_cache *k, const char *issuer)
{
    slot *old = &k->s[0];
    for (int i = 0; i < CACHE_SLOTS; i++) {
        if (!strcmp(k->s[i].issuer, issuer))
            return &k->s[i];
        if (k->s[i].meta_at < old->meta_at)
            old = &k->s[i];
    }
    mtd_jwks_free(old->keys);
    memset(old, 0, sizeof *old);
    snprintf(old->issuer, sizeof old->issuer, "%s", issuer);
    return old;
}

/* GET url: the 200 body as JSON text in out (the caller frees it). */
static int fetch(const char *url, const char *what, mtd_http_resp *resp, char *why, size_t wl)
{
    mtd_http_opts o = {.timeout_s = FETCH_TIMEOUT_S, .max_body = MTD_OIDC_FETCH_MAX};
    const char *hdr[] = {"Accept: application/json", NULL};
    char err[256];
    int r = mtd_http_request(&o, "GET", url, hdr, NULL, 0, resp, err, sizeof err);
    if (r) {
        snprintf(why, wl, "the provider's %s (%.200s) could not be fetched: %s", what, url, err);
        return MTD_ENET;
    }
    if (resp->status != 200) {
        snprintf(why, wl, "the provider answered %ld for its %s (%.200s)", resp->status, what, url);
        mtd_http_resp_free(resp);
        return MTD_EPROTO;
    }
    return 0;
}

static int endpoint(const json_t *d, const char *name, char *out, char *why, size_t wl)
{
    const char *v = json_string_value(json_object_get(d, name));
    if (!v || strlen(v) >= MTD_OIDC_URL_MAX || !mtd_oidc_url_ok(v)) {
        snprintf(why, wl, "the provider's discovery document has no usable \"%s\" (https, or http to loopback)",
                 name);
        return MTD_EPROTO;
    }
    snprintf(out, MTD_OIDC_URL_MAX, "%s", v);
    return 0;
}

/* The discovery document of issuer: its "issuer" must be issuer exactly (OIDC
 * Discovery 4.3), or a document found at that address could speak for another. */
static int fetch_meta(const char *issuer, mtd_oidc_endpoints *e, char *why, size_t wl)
{
    char url[MTD_OIDC_URL_MAX + 64];
    size_t n = strlen(issuer);
    snprintf(url, sizeof url, "%.*s/.well-known/openid-configuration", (int)(n && issuer[n - 1] == '/' ? n - 1 : n),
             issuer);
    mtd_http_resp resp;
    int r = fetch(url, "discovery document", &resp, why, wl);
    if (r)
        return r;
    json_t *d = json_loadb((const char *)resp.body.data, resp.body.len, JSON_REJECT_DUPLICATES, NULL);
    mtd_http_resp_free(&resp);
    const char *iss = json_string_value(json_object_get(d, "issuer"));
    if (!json_is_object(d) || !iss || strcmp(iss, issuer)) {
        snprintf(why, wl, "the discovery document at %.200s does not name the issuer \"%.200s\"", url, issuer);
        r = MTD_EPROTO;
    } else if ((r = endpoint(d, "authorization_endpoint", e->authorization_endpoint, why, wl)) == 0 &&
               (r = endpoint(d, "token_endpoint", e->token_endpoint, why, wl)) == 0) {
        r = endpoint(d, "jwks_uri", e->jwks_uri, why, wl);
    }
    json_decref(d);
    return r;
}

static int fetch_keys(const char *jwks_uri, mtd_jwks **out, char *why, size_t wl)
{
    mtd_http_resp resp;
    int r = fetch(jwks_uri, "key set", &resp, why, wl);
    if (r)
        return r;
    char w[200];
    r = mtd_jwks_parse(resp.body.data, resp.body.len, out, w, sizeof w);
    mtd_http_resp_free(&resp);
    if (r)
        snprintf(why, wl, "the provider's key set (%.200s): %s", jwks_uri, w);
    return r ? MTD_EPROTO : 0;
}

int mtd_oidc_discover(mtd_oidc_cache *k, const char *issuer, mtd_oidc_endpoints *e, char *why, size_t wl)
{
    int64_t now = (int64_t)time(NULL);
    pthread_mutex_lock(&k->mu);
    slot *s = slot_of(k, issuer);
    int fresh = s->meta_at && now - s->meta_at < MTD_OIDC_CACHE_S;
    if (fresh)
        *e = s->e;
    pthread_mutex_unlock(&k->mu);
    if (fresh)
        return 0;
    int r = fetch_meta(issuer, e, why, wl);
    if (r)
        return r;
    pthread_mutex_lock(&k->mu);
    s = slot_of(k, issuer);
    if (strcmp(s->e.jwks_uri, e->jwks_uri)) { /* keys of another address are not these */
        mtd_jwks_free(s->keys);
        s->keys = NULL;
        s->keys_at = 0;
    }
    s->e = *e;
    s->meta_at = now;
    pthread_mutex_unlock(&k->mu);
    return 0;
}

/* Verifies t with the issuer's keys: the cached set, or a new one when there is none,
 * it is stale, or it lacks the token's kid (at most once per MTD_OIDC_REFETCH_S, so
 * tokens naming made-up kids cannot make the collector hammer the provider). */
static int verify(mtd_oidc_cache *k, const char *issuer, const mtd_oidc_endpoints *e, const mtd_jwt *t, char *why,
                  size_t wl)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        int64_t now = (int64_t)time(NULL);
        pthread_mutex_lock(&k->mu);
        slot *s = slot_of(k, issuer);
        int r = MTD_ENOENT, have = s->keys != NULL;
        if (have && now - s->keys_at < MTD_OIDC_CACHE_S)
            r = mtd_jwt_verify(t, s->keys, why, wl);
        int may_fetch = !s->keys_at || now - s->keys_at >= MTD_OIDC_REFETCH_S;
        pthread_mutex_unlock(&k->mu);
        if (r != MTD_ENOENT || !may_fetch || attempt)
            return r == MTD_ENOENT ? MTD_EAUTH : r; /* a kid still unknown: no key of the provider's signed it */
        mtd_jwks *keys;
        if ((r = fetch_keys(e->jwks_uri, &keys, why, wl)) != 0)
            return r;
        pthread_mutex_lock(&k->mu);
        s = slot_of(k, issuer);
        mtd_jwks_free(s->keys);
        s->keys = keys;
        s->keys_at = now;
        pthread_mutex_unlock(&k->mu);
    }
    return MTD_EAUTH;
}

int mtd_oidc_check_token(mtd_oidc_cache *k, const mtd_oidc_cfg *c, const uint8_t *tok, size_t len, const char *nonce,
                         mtd_oidc_identity *id, char *why, size_t wl)
{
    mtd_oidc_endpoints e;
    mtd_jwt t;
    int r = mtd_oidc_discover(k, c->issuer, &e, why, wl);
    if (r)
        return r;
    if ((r = mtd_jwt_parse(tok, len, &t, why, wl)) != 0)
        return MTD_EAUTH;
    mtd_jwt_expect x = {c->issuer, c->client_id, nonce, (int64_t)time(NULL)};
    if ((r = verify(k, c->issuer, &e, &t, why, wl)) == 0 && (r = mtd_jwt_check_claims(&t, &x, why, wl)) == 0 &&
        (r = mtd_oidc_map_role(c, t.claims, &id->role, why, wl)) == 0) {
        const char *email = json_string_value(json_object_get(t.claims, "email"));
        snprintf(id->sub, sizeof id->sub, "%s", json_string_value(json_object_get(t.claims, "sub")));
        snprintf(id->email, sizeof id->email, "%s", email && mtd_text_is_plain(email) ? email : "");
    }
    mtd_jwt_clear(&t);
    return r;
}

/* application/x-www-form-urlencoded pairs; NULL values are left out. */
static char *form(const char *const *kv)
{
    mtd_buf b;
    mtd_buf_init(&b, 16 << 10);
    for (; kv[0]; kv += 2) {
        if (!kv[1])
            continue;
        char *v = curl_easy_escape(NULL, kv[1], 0);
        mtd_buf_printf(&b, "%s%s=%s", b.len ? "&" : "", kv[0], v ? v : "");
        curl_free(v);
    }
    mtd_buf_append(&b, "", 1);
    return mtd_buf_steal(&b, NULL);
}

/* client_secret_basic (RFC 6749 2.3.1): id and secret form-encoded, then base64. */
static void basic_auth(const mtd_oidc_cfg *c, char *out, size_t len)
{
    char *id = curl_easy_escape(NULL, c->client_id, 0), *sec = curl_easy_escape(NULL, c->client_secret, 0);
    char pair[1600];
    int n = snprintf(pair, sizeof pair, "%s:%s", id ? id : "", sec ? sec : "");
    curl_free(id);
    curl_free(sec);
    uint8_t b64[2200];
    EVP_EncodeBlock(b64, (const uint8_t *)pair, n);
    snprintf(out, len, "Authorization: Basic %s", b64);
}

/* The code for the token endpoint's answer: its id_token, copied into tok. */
static int exchange(const mtd_oidc_cfg *c, const mtd_oidc_endpoints *e, const char *code, const char *verifier,
                    const char *redirect_uri, char **tok, char *why, size_t wl)
{
    const char *kv[] = {"grant_type", "authorization_code", "code", code, "redirect_uri", redirect_uri,
                        "code_verifier", verifier, "client_id", c->client_secret[0] ? NULL : c->client_id, NULL};
    char *body = form(kv), auth[2300];
    if (!body)
        return MTD_ENOMEM;
    basic_auth(c, auth, sizeof auth);
    const char *hdr[] = {"Content-Type: application/x-www-form-urlencoded", "Accept: application/json",
                         c->client_secret[0] ? auth : NULL, NULL};
    mtd_http_opts o = {.timeout_s = FETCH_TIMEOUT_S, .max_body = MTD_OIDC_FETCH_MAX};
    mtd_http_resp resp;
    char err[256];
    int r = mtd_http_request(&o, "POST", e->token_endpoint, hdr, body, strlen(body), &resp, err, sizeof err);
    free(body);
    if (r) {
        snprintf(why, wl, "the provider's token endpoint could not be reached: %s", err);
        return MTD_ENET;
    }
    json_t *j = json_loadb((const char *)resp.body.data, resp.body.len, 0, NULL);
    const char *idt = json_string_value(json_object_get(j, "id_token"));
    const char *perr = json_string_value(json_object_get(j, "error"));
    if (resp.status != 200 || !idt) {
        snprintf(why, wl, "the provider's token endpoint answered %ld%s%.100s", resp.status, perr ? ": " : "",
                 perr && mtd_text_is_plain(perr) ? perr : "");
        r = resp.status == 400 ? MTD_EAUTH : MTD_EPROTO;
    } else if (!(*tok = strdup(idt))) {
        r = MTD_ENOMEM;
    }
    json_decref(j);
    mtd_http_resp_free(&resp);
    return r;
}

int mtd_oidc_finish(mtd_oidc_cache *k, const mtd_oidc_cfg *c, const char *code, const char *verifier,
                    const char *nonce, const char *redirect_uri, mtd_oidc_identity *id, char *why, size_t wl)
{
    mtd_oidc_endpoints e;
    char *tok = NULL;
    int r = mtd_oidc_discover(k, c->issuer, &e, why, wl);
    if (r == 0)
        r = exchange(c, &e, code, verifier, redirect_uri, &tok, why, wl);
    if (r == 0)
        r = mtd_oidc_check_token(k, c, (const uint8_t *)tok, strlen(tok), nonce, id, why, wl);
    free(tok);
    return r;
}

void mtd_oidc_challenge(const char *verifier, char out[44])
{
    uint8_t h[32];
    mtd_sha256(verifier, strlen(verifier), h);
    mtd_b64url(h, 32, out);
}
