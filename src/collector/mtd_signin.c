/* mtd_signin: the OpenID Connect sign-in routes (mtd_signin.h). */
#include "collector/mtd_signin.h"
#include "collector/mtd_guard.h"
#include "collector/mtd_limit.h"
#include "collector/mtd_server.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"
#include "oidc/mtd_oidc.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LIMIT_SLOTS 1024

struct mtd_signin {
    mtd_oidc_cache *cache;
    pthread_mutex_t mu;
    mtd_limit *clients; /* "ADDRESS|TENANT" (IPv6 by /64): blocked past the limit */
    mtd_limit *tenants; /* "TENANT": counted, for the audit log's thinning */
    uint64_t ok_total, failed_total, limited_total; /* under mu */
};

int mtd_signin_create(mtd_signin **out)
{
    mtd_limit_rule client = {MTD_SIGNIN_WINDOW_S, MTD_SIGNIN_FAILS_CLIENT, MTD_SIGNIN_WINDOW_S},
                   tenant = {MTD_SIGNIN_WINDOW_S, 0, 0};
    mtd_signin *s = calloc(1, sizeof *s);
    if (!s || mtd_limit_create(LIMIT_SLOTS, &client, &s->clients) != 0 ||
        mtd_limit_create(LIMIT_SLOTS, &tenant, &s->tenants) != 0 || mtd_oidc_cache_create(&s->cache) != 0) {
        if (s) {
            mtd_limit_destroy(s->clients);
            mtd_limit_destroy(s->tenants);
        }
        free(s);
        return MTD_ENOMEM;
    }
    pthread_mutex_init(&s->mu, NULL);
    *out = s;
    return 0;
}

void mtd_signin_destroy(mtd_signin *s)
{
    if (!s)
        return;
    mtd_oidc_cache_destroy(s->cache);
    mtd_limit_destroy(s->clients);
    mtd_limit_destroy(s->tenants);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* Seconds until the client may try again, 0 when it may now. */
static long blocked_for(mtd_signin *s, const char *ip, const char *tenant)
{
    char ck[MTD_LIMIT_KEY];
    mtd_limit_client_key(ip, tenant, ck);
    pthread_mutex_lock(&s->mu);
    long wait = mtd_limit_blocked(s->clients, ck, (int64_t)time(NULL));
    if (wait)
        s->limited_total++;
    pthread_mutex_unlock(&s->mu);
    return wait;
}

/* Counts a sign-in (failed or not) of the client for tenant; for a failure, how many
 * the tenant has had in this window from every address. */
static int count(mtd_signin *s, const char *ip, const char *tenant, int failed)
{
    char ck[MTD_LIMIT_KEY];
    int64_t now = (int64_t)time(NULL);
    int n = 0;
    mtd_limit_client_key(ip, tenant, ck);
    pthread_mutex_lock(&s->mu);
    if (failed) {
        mtd_limit_fail(s->clients, ck, now);
        n = (int)mtd_limit_fail(s->tenants, tenant, now);
        s->failed_total++;
    } else { /* a success starts the address's window afresh */
        mtd_limit_clear(s->clients, ck, now);
        s->ok_total++;
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}

void mtd_signin_render(mtd_signin *s, mtd_buf *out)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    mtd_buf_printf(out, "# HELP mtd_signin_total Sign-ins through OpenID Connect, by outcome: ok (a session"
                        " made), failed (refused and audited), limited (429: too many failures).\n"
                        "# TYPE mtd_signin_total counter\n"
                        "mtd_signin_total{result=\"ok\"} %llu\nmtd_signin_total{result=\"failed\"} %llu\n"
                        "mtd_signin_total{result=\"limited\"} %llu\n",
                   (unsigned long long)s->ok_total, (unsigned long long)s->failed_total,
                   (unsigned long long)s->limited_total);
    pthread_mutex_unlock(&s->mu);
}

/* One sign-in in progress: the request, the tenant borrowed, its configuration. */
typedef struct {
    mtd_collector *c;
    mtd_req *rq;
    mtd_resp *rs;
    char tenant[MTD_TENANT_ID_LEN + 1];
    mtd_tenant *tn;
    mtd_oidc_cfg cfg;
} signin;

/* A failed sign-in: counted, audited with its reason, answered. Past
 * MTD_SIGNIN_AUDIT_TENANT failures of the tenant in a window (from many addresses,
 * each under its own limit), the last entry says so and the rest of the window's are
 * not written one by one: a flood of forged callbacks cannot grow the audit log
 * without bound, nor lock the tenant's admins out. */
static void failed(signin *g, int status, const char *reason)
{
    int n = count(g->c->signin, g->rq->ip, g->tenant, 1);
    if (g->tn && n <= MTD_SIGNIN_AUDIT_TENANT) {
        char d[700];
        snprintf(d, sizeof d, "client=%s reason=%s%s", g->rq->ip, reason,
                 n == MTD_SIGNIN_AUDIT_TENANT ? " (and no more failed sign-ins are written one by one for 5 min)" : "");
        mtd_store_audit(g->tn->store, "oidc", "signin.failed", d);
    }
    mtd_resp_error(g->rs, status, "signin_failed", "%s", reason);
}

/* Borrows the tenant and reads its configuration: 0, or the answer made (404 alike
 * for no tenant and no configuration, so the route tells nothing more of tenants). */
static int open_tenant(signin *g)
{
    char txt[MTD_OIDC_CFG_MAX + 1], why[300];
    if (!mtd_tenant_id_valid(g->tenant)) {
        mtd_resp_error(g->rs, 400, "bad_request", "\"tenant\" must be a tenant ID");
        return MTD_EINVAL;
    }
    long wait = blocked_for(g->c->signin, g->rq->ip, g->tenant);
    if (wait) {
        g->rs->retry_after = wait;
        mtd_resp_error(g->rs, 429, "too_many_failures", "too many failed sign-ins; retry in %ld s", wait);
        return MTD_EBUSY;
    }
    if (!mtd_tenants_is_open(g->c->tenants, g->tenant) && mtd_guard_cold_open(g->c->guard, g->tenant) != 0) {
        g->rs->retry_after = 1;
        mtd_resp_error(g->rs, 503, "busy", "the collector is busy; retry");
        return MTD_EBUSY;
    }
    int r = mtd_tenants_get(g->c->tenants, g->tenant, &g->tn);
    if (r == 0 && (r = mtd_store_oidc_get(g->tn->store, txt, sizeof txt)) == 0) {
        json_t *j = json_loads(txt, 0, NULL);
        r = mtd_oidc_cfg_parse(j, &g->cfg, why, sizeof why);
        json_decref(j);
    }
    if (r == MTD_ENOENT)
        mtd_resp_error(g->rs, 404, "not_found", "no OpenID Connect sign-in for tenant %s", g->tenant);
    else if (r && !mtd_resp_retry_later(g->rs, r))
        mtd_resp_error(g->rs, 500, "store_error", "the sign-in configuration could not be read");
    return r;
}

static void close_tenant(signin *g)
{
    if (g->tn)
        mtd_tenants_put(g->c->tenants, g->tn);
}

static void redirect_uri(const signin *g, char *out, size_t len)
{
    if (g->cfg.redirect_uri[0])
        snprintf(out, len, "%s", g->cfg.redirect_uri);
    else
        snprintf(out, len, "%s/v1/auth/oidc/callback", g->c->server ? mtd_server_url(g->c->server) : "");
}

static void param(mtd_buf *b, const char *name, const char *value)
{
    char *v = curl_easy_escape(NULL, value, 0);
    mtd_buf_printf(b, "&%s=%s", name, v ? v : "");
    curl_free(v);
}

/* The provider's authorization URL for this sign-in. */
static char *auth_url(const signin *g, const mtd_oidc_endpoints *e, const char *state, const char *nonce,
                      const char *verifier)
{
    char challenge[44], ru[MTD_OIDC_URL_MAX];
    mtd_oidc_challenge(verifier, challenge);
    redirect_uri(g, ru, sizeof ru);
    mtd_buf b;
    mtd_buf_init(&b, 8192);
    mtd_buf_printf(&b, "%s%sresponse_type=code", e->authorization_endpoint,
                   strchr(e->authorization_endpoint, '?') ? "&" : "?");
    param(&b, "client_id", g->cfg.client_id);
    param(&b, "redirect_uri", ru);
    param(&b, "scope", g->cfg.scope);
    param(&b, "state", state);
    param(&b, "nonce", nonce);
    param(&b, "code_challenge", challenge);
    param(&b, "code_challenge_method", "S256");
    const char *hint = mtd_req_arg(g->rq, "login_hint");
    if (hint && strlen(hint) < 256 && mtd_text_is_plain(hint))
        param(&b, "login_hint", hint);
    mtd_buf_append(&b, "", 1);
    return mtd_buf_steal(&b, NULL);
}

/* What the store keeps of a sign-in's state: the SHA-256 of the state and the browser's
 * binding (its mtd_oidc_bind cookie, set with the redirect). A callback is taken only
 * from the browser that began the sign-in: someone who began one and sends the victim
 * its callback URL (login CSRF: the victim would work signed in as someone else) finds
 * no sign-in, for the victim's browser has no such cookie. */
static void state_key(const char *state, const char *bind, char out[65])
{
    char both[300];
    snprintf(both, sizeof both, "%s|%s", state, bind ? bind : "");
    mtd_sha256_hex(both, strlen(both), out);
}

static int over_tls(const signin *g)
{
    return g->c->server && !strncmp(mtd_server_url(g->c->server), "https:", 6);
}

static void login(signin *g)
{
    mtd_oidc_endpoints e;
    char why[600], state[96], rnd[64], verifier[64], nonce[64], hash[65], bind[64];
    if (mtd_oidc_discover(g->c->signin->cache, g->cfg.issuer, &e, why, sizeof why) != 0) {
        failed(g, 502, why);
        return;
    }
    if (mtd_random_token(32, rnd, sizeof rnd) || mtd_random_token(32, verifier, sizeof verifier) ||
        mtd_random_token(24, nonce, sizeof nonce) || mtd_random_token(24, bind, sizeof bind)) {
        mtd_resp_error(g->rs, 500, "internal", "no random bytes");
        return;
    }
    /* the state names its tenant: the callback finds the store by it */
    snprintf(state, sizeof state, "%s.%s", g->tenant, rnd);
    state_key(state, bind, hash);
    mtd_oidc_login l = {hash, verifier, nonce, (int64_t)time(NULL) + MTD_SIGNIN_PENDING_S};
    int r = mtd_store_oidc_login_add(g->tn->store, &l);
    if (r == MTD_ENOSPC) {
        g->rs->retry_after = 60;
        mtd_resp_error(g->rs, 503, "busy", "too many sign-ins are in progress for this tenant; retry");
        return;
    }
    if (r && !mtd_resp_retry_later(g->rs, r)) {
        mtd_resp_error(g->rs, 500, "store_error", "the sign-in could not be recorded");
        return;
    }
    if (r)
        return;
    g->rs->redirect = auth_url(g, &e, state, nonce, verifier);
    /* Lax, not Strict: the provider's redirect to the callback is a navigation from
     * another site, which a Strict cookie would not follow */
    snprintf(g->rs->cookie, sizeof g->rs->cookie, "mtd_oidc_bind=%s; Path=/v1/auth/oidc/callback; Max-Age=%d;"
             " HttpOnly; SameSite=Lax%s", bind, MTD_SIGNIN_PENDING_S, over_tls(g) ? "; Secure" : "");
    mtd_resp_json(g->rs, 302, json_pack("{s:s}", "location", g->rs->redirect));
}

/* The session's cookie; max_age 0 clears it. */
static void set_cookie(const signin *g, mtd_resp *rs, const char *tok, long max_age)
{
    snprintf(rs->cookie, sizeof rs->cookie, "mtd_session=%s; Path=/; Max-Age=%ld; HttpOnly; SameSite=Strict%s",
             tok, max_age, over_tls(g) ? "; Secure" : "");
}

static int wants_json(const mtd_req *rq)
{
    const char *a = mtd_req_header(rq, "Accept");
    return a && strstr(a, "application/json");
}

static void session_made(signin *g, const mtd_oidc_identity *id)
{
    char tok[160], hash[65], label[140], d[700];
    int64_t exp = (int64_t)time(NULL) + MTD_SIGNIN_SESSION_S;
    snprintf(label, sizeof label, "oidc:%.120s", id->sub);
    int r = mtd_token_new("ses", g->tenant, tok, sizeof tok, hash);
    if (r == 0)
        r = mtd_store_token_add_limited(g->tn->store, hash, id->role, label, exp, 0);
    if (r && !mtd_resp_retry_later(g->rs, r))
        mtd_resp_error(g->rs, 500, "store_error", "the session could not be stored");
    if (r)
        return;
    snprintf(d, sizeof d, "sub=%s%s%s role=%s session=%.12s client=%s", id->sub, id->email[0] ? " email=" : "",
             id->email, mtd_role_name(id->role), hash, g->rq->ip);
    mtd_store_audit(g->tn->store, "oidc", "signin.ok", d);
    count(g->c->signin, g->rq->ip, g->tenant, 0);
    set_cookie(g, g->rs, tok, MTD_SIGNIN_SESSION_S);
    char t[MTD_TIME_LEN];
    mtd_time_rfc3339((time_t)exp, t);
    json_t *body = json_pack("{s:s,s:s,s:s,s:s,s:s%}", "tenant_id", g->tenant, "role", mtd_role_name(id->role),
                             "sub", id->sub, "expires_at", t, "session_id", hash, (size_t)12);
    if (wants_json(g->rq)) {
        json_object_set_new(body, "session_token", json_string(tok));
        mtd_resp_json(g->rs, 200, body);
        return;
    }
    char where[64];
    snprintf(where, sizeof where, "/console/?tenant=%s", g->tenant);
    g->rs->redirect = strdup(where);
    mtd_resp_json(g->rs, 302, body);
}

static void callback(signin *g)
{
    char verifier[MTD_OIDC_SECRET_LEN], nonce[MTD_OIDC_SECRET_LEN], hash[65], why[600], ru[MTD_OIDC_URL_MAX];
    const char *state = mtd_req_arg(g->rq, "state"), *code = mtd_req_arg(g->rq, "code");
    const char *perr = mtd_req_arg(g->rq, "error");
    state_key(state, mtd_req_cookie(g->rq, "mtd_oidc_bind"), hash);
    int r = mtd_store_oidc_login_take(g->tn->store, hash, verifier, nonce);
    if (r == MTD_ENOENT) {
        failed(g, 400, "the state is unknown, used already or expired, or this browser did not begin the"
                       " sign-in (a replayed or forged callback)");
        return;
    }
    if (r && !mtd_resp_retry_later(g->rs, r)) {
        mtd_resp_error(g->rs, 500, "store_error", "the sign-in could not be read");
        return;
    }
    if (r)
        return;
    if (perr) {
        snprintf(why, sizeof why, "the provider answered %.100s", mtd_text_is_plain(perr) ? perr : "an error");
        failed(g, 401, why);
        return;
    }
    if (!code || !code[0] || strlen(code) > 2048) {
        failed(g, 400, "the callback has no code");
        return;
    }
    mtd_oidc_identity id;
    redirect_uri(g, ru, sizeof ru);
    r = mtd_oidc_finish(g->c->signin->cache, &g->cfg, code, verifier, nonce, ru, &id, why, sizeof why);
    if (r) {
        failed(g, r == MTD_ENET || r == MTD_EPROTO ? 502 : r == MTD_EPERM ? 403 : 401, why);
        return;
    }
    session_made(g, &id);
}

/* The tenant a callback's state names ("TENANT.RANDOM"), into g->tenant. */
static int state_tenant(signin *g)
{
    const char *state = mtd_req_arg(g->rq, "state");
    const char *dot = state ? strchr(state, '.') : NULL;
    if (!dot || (size_t)(dot - state) > MTD_TENANT_ID_LEN || strlen(state) > 200) {
        mtd_resp_error(g->rs, 400, "signin_failed", "the callback's state is missing or malformed");
        return MTD_EINVAL;
    }
    snprintf(g->tenant, sizeof g->tenant, "%.*s", (int)(dot - state), state);
    return 0;
}

/* POST logout: the session presented is revoked (a token of another kind is not: this
 * is no way to revoke an admin's token). */
static void logout(mtd_collector *c, mtd_req *rq, mtd_resp *rs)
{
    const char *tok = mtd_req_bearer(rq);
    if (!tok)
        tok = mtd_req_session_cookie(rq);
    signin g = {.c = c};
    if (strncmp(tok ? tok : "", "ses.", 4)) {
        mtd_resp_error(rs, 400, "bad_request", "only a sign-in session signs out; revoke tokens instead");
        return;
    }
    char id[13];
    snprintf(id, sizeof id, "%.12s", rq->cred);
    if (mtd_store_token_revoke(rq->tn->store, id) != 0) {
        mtd_resp_error(rs, 500, "store_error", "the session could not be revoked");
        return;
    }
    mtd_store_audit(rq->tn->store, rq->actor, "signin.logout", id);
    set_cookie(&g, rs, "", 0);
    mtd_resp_json(rs, 200, json_pack("{s:b}", "signed_out", 1));
}

void mtd_handle_signin(mtd_collector *c, mtd_req *rq, mtd_resp *rs)
{
    const char *sub = rq->path + strlen("/v1/auth/oidc/");
    if (!strcmp(sub, "logout") && !strcmp(rq->method, "POST")) {
        logout(c, rq, rs);
        return;
    }
    if (strcmp(rq->method, "GET")) {
        mtd_resp_error(rs, 405, "method_not_allowed", "%s takes GET", rq->path);
        return;
    }
    signin g = {.c = c, .rq = rq, .rs = rs};
    int cb = !strcmp(sub, "callback");
    if (!cb && strcmp(sub, "login") && strcmp(sub, "available")) {
        mtd_resp_error(rs, 404, "not_found", "no route %s %.100s", rq->method, rq->path);
        return;
    }
    if (!c->signin) {
        mtd_resp_error(rs, 404, "not_found", "this collector has no OpenID Connect sign-in");
        return;
    }
    const char *t = mtd_req_arg(rq, "tenant");
    if (cb && state_tenant(&g) != 0)
        return;
    if (!cb && (!t || mtd_strlcpy(g.tenant, t, sizeof g.tenant) != 0))
        g.tenant[0] = 0; /* refused as no tenant ID */
    int r = open_tenant(&g);
    if (cb && r == MTD_ENOENT)
        count(c->signin, rq->ip, g.tenant, 1); /* a callback for no sign-in is a failed one */
    if (r == 0) {
        if (cb)
            callback(&g);
        else if (!strcmp(sub, "login"))
            login(&g);
        else
            mtd_resp_json(rs, 200, json_pack("{s:b,s:s}", "oidc", 1, "tenant_id", g.tenant));
    }
    close_tenant(&g);
}

static void config_get(const mtd_admin_ctx *x)
{
    char txt[MTD_OIDC_CFG_MAX + 1], why[300];
    mtd_oidc_cfg cfg;
    int r = mtd_store_oidc_get(x->tn->store, txt, sizeof txt);
    json_t *j = r ? NULL : json_loads(txt, 0, NULL);
    if (r == MTD_ENOENT)
        mtd_resp_error(x->rs, 404, "not_found", "no OpenID Connect sign-in is configured");
    else if (r || mtd_oidc_cfg_parse(j, &cfg, why, sizeof why) != 0)
        mtd_resp_error(x->rs, 500, "store_error", "the sign-in configuration could not be read");
    else
        mtd_resp_json(x->rs, 200, mtd_oidc_cfg_public(&cfg));
    json_decref(j);
}

/* PUT: the whole configuration, checked, stored and audited (without its secret). */
static void config_put(const mtd_admin_ctx *x)
{
    char why[300];
    mtd_oidc_cfg cfg;
    json_t *j = mtd_req_json(x->rq, x->rs);
    if (!j)
        return;
    json_t *stored = NULL, *shown = NULL;
    char *txt = NULL, *detail = NULL;
    if (mtd_oidc_cfg_parse(j, &cfg, why, sizeof why) != 0) {
        mtd_resp_error(x->rs, 400, "bad_request", "%s", why);
    } else if (!(stored = mtd_oidc_cfg_json(&cfg)) || !(shown = mtd_oidc_cfg_public(&cfg)) ||
               !(txt = json_dumps(stored, JSON_COMPACT | JSON_SORT_KEYS)) ||
               !(detail = json_dumps(shown, JSON_COMPACT | JSON_SORT_KEYS))) {
        mtd_resp_error(x->rs, 500, "internal", "out of memory");
    } else if (strlen(txt) > MTD_OIDC_CFG_MAX) {
        mtd_resp_error(x->rs, 400, "bad_request", "the configuration is over %d bytes", MTD_OIDC_CFG_MAX);
    } else if (mtd_store_oidc_set(x->tn->store, txt) != 0) {
        mtd_resp_error(x->rs, 500, "store_error", "the sign-in configuration could not be stored");
    } else {
        mtd_store_audit(x->tn->store, x->actor, "oidc.set", detail);
        mtd_resp_json(x->rs, 200, json_incref(shown));
    }
    free(txt);
    free(detail);
    json_decref(stored);
    json_decref(shown);
    json_decref(j);
}

/* Revokes the live sessions signed in through the provider (tokens labelled oidc:SUB):
 * an admin who removes the sign-in, say after the provider was compromised, means
 * none of what it vouched for to go on for its 8 hours. Returns how many. */
static int revoke_sessions(mtd_store *st)
{
    json_t *list = mtd_store_token_list(st), *t;
    size_t i;
    int n = 0;
    json_array_foreach(list, i, t) {
        const char *label = json_string_value(json_object_get(t, "label"));
        const char *id = json_string_value(json_object_get(t, "id"));
        if (label && id && !strncmp(label, "oidc:", 5) && json_is_null(json_object_get(t, "revoked_at")) &&
            mtd_store_token_revoke(st, id) == 0)
            n++;
    }
    json_decref(list);
    return n;
}

static void config_delete(const mtd_admin_ctx *x)
{
    int r = mtd_store_oidc_set(x->tn->store, NULL);
    if (r == MTD_ENOENT) {
        mtd_resp_error(x->rs, 404, "not_found", "no OpenID Connect sign-in is configured");
    } else if (r) {
        mtd_resp_error(x->rs, 500, "store_error", "the sign-in configuration could not be removed");
    } else {
        int n = revoke_sessions(x->tn->store);
        char detail[64];
        snprintf(detail, sizeof detail, "sessions_revoked=%d", n);
        mtd_store_audit(x->tn->store, x->actor, "oidc.remove", detail);
        mtd_resp_json(x->rs, 200, json_pack("{s:b,s:i}", "removed", 1, "sessions_revoked", n));
    }
}

int mtd_signin_admin_route(mtd_collector *c, const mtd_admin_ctx *x, const char *sub)
{
    if (strcmp(sub, "oidc"))
        return 0;
    const char *m = x->rq->method;
    if (!strcmp(m, "GET") || !strcmp(m, "PUT") || !strcmp(m, "DELETE")) {
        if (!mtd_require_admin(c, x->rq, x->rs))
            return 1;
    }
    if (!strcmp(m, "GET"))
        config_get(x);
    else if (!strcmp(m, "PUT"))
        config_put(x);
    else if (!strcmp(m, "DELETE"))
        config_delete(x);
    else
        mtd_resp_error(x->rs, 404, "not_found", "no admin route %s oidc", m);
    return 1;
}
