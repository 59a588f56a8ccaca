/* mtd_routes: the HTTP API of DESIGN.md section 4: one table of routes, and the checks
 * every request passes from its head alone, before a byte of its body is read. */
#include "alerts/mtd_alerts.h"
#include "collector/mtd_auth.h"
#include "collector/mtd_batch.h"
#include "collector/mtd_collector.h"
#include "collector/mtd_console.h"
#include "collector/mtd_feeds.h"
#include "collector/mtd_guard.h"
#include "collector/mtd_signin.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void handle_metrics(mtd_collector *c, mtd_req *rq, mtd_resp *rs);
static void handle_healthz(mtd_collector *c, mtd_req *rq, mtd_resp *rs);

static void feeds_admin(mtd_collector *c, mtd_req *rq, mtd_resp *rs)
{
    mtd_handle_feeds_admin(c, rq, rs, rq->path + strlen("/v1/admin/"));
}

static void feeds_device(mtd_collector *c, mtd_req *rq, mtd_resp *rs)
{
    mtd_handle_feeds_device(c, rq, rs, rq->path + strlen("/v1/feeds"));
}

#define NDJSON "application/x-ndjson"
#define JSON "application/json"

/* First match wins: a route with its own body limit goes above the prefix it falls
 * under (e.g. a "PUT /v1/admin/feeds/..." row above the "/v1/admin/..." prefix). */
static const mtd_route_def routes[] = {
    {"POST", "/v1/batches", "batches", MTD_AUTH_DEVICE, MTD_BODY_BATCH, MTD_MAX_BATCH_BODY, NDJSON, mtd_handle_batch, 0},
    {"GET", "/v1/enroll", "enroll", MTD_AUTH_ENROLL, MTD_BODY_NONE, 0, NULL, mtd_handle_enroll_key, 0},
    {"POST", "/v1/enroll", "enroll", MTD_AUTH_ENROLL, MTD_BODY_BUFFER, 16 << 10, NULL, mtd_handle_enroll, 0},
    {"GET", "/v1/policy", "policy", MTD_AUTH_DEVICE, MTD_BODY_NONE, 0, NULL, mtd_handle_policy_device, 0},
    {"PUT", "/v1/admin/feeds/*", "feeds_admin", MTD_AUTH_TENANT, MTD_BODY_BUFFER, MTD_FEED_MAX_BYTES, NULL, feeds_admin, 1},
    {NULL, "/v1/admin/feeds", "feeds_admin", MTD_AUTH_TENANT, MTD_BODY_NONE, 0, NULL, feeds_admin, 0},
    {NULL, "/v1/admin/feeds/*", "feeds_admin", MTD_AUTH_TENANT, MTD_BODY_NONE, 0, NULL, feeds_admin, 0},
    {NULL, "/v1/feeds", "feeds", MTD_AUTH_DEVICE, MTD_BODY_NONE, 0, NULL, feeds_device, 0},
    {NULL, "/v1/feeds/*", "feeds", MTD_AUTH_DEVICE, MTD_BODY_NONE, 0, NULL, feeds_device, 0},
    {NULL, "/v1/admin/credentials", "credentials", MTD_AUTH_TENANT, MTD_BODY_NONE, 0, NULL, mtd_handle_credentials, 1},
    {NULL, "/v1/admin/credentials/*", "credentials", MTD_AUTH_TENANT, MTD_BODY_BUFFER, 4 << 10, NULL, mtd_handle_credentials, 1},
    {NULL, "/v1/admin/alerts", "alerts", MTD_AUTH_TENANT, MTD_BODY_NONE, 0, NULL, mtd_handle_alerts_admin, 0},
    {NULL, "/v1/admin/alerts/*", "alerts", MTD_AUTH_TENANT, MTD_BODY_BUFFER, 16 << 10, NULL, mtd_handle_alerts_admin, 0},
    {NULL, "/v1/admin/suppressions*", "alerts", MTD_AUTH_TENANT, MTD_BODY_BUFFER, 16 << 10, NULL, mtd_handle_alerts_admin, 0},
    {NULL, "/v1/admin/integrations*", "alerts", MTD_AUTH_TENANT, MTD_BODY_BUFFER, 128 << 10, NULL, mtd_handle_alerts_admin, 1},
    {"GET", "/v1/admin/devices/risk", "alerts", MTD_AUTH_TENANT, MTD_BODY_NONE, 0, NULL, mtd_handle_alerts_admin, 0},
    {NULL, "/v1/auth/oidc/logout", "signin", MTD_AUTH_TENANT, MTD_BODY_NONE, 0, NULL, mtd_handle_signin, 0},
    {"GET", "/v1/auth/oidc/*", "signin", MTD_AUTH_NONE, MTD_BODY_NONE, 0, NULL, mtd_handle_signin, 0},
    {NULL, "/v1/admin/*", "admin", MTD_AUTH_TENANT, MTD_BODY_BUFFER, MTD_MAX_JSON_BODY, NULL, mtd_handle_admin, 0},
    {NULL, "/v1/operator/*", "operator", MTD_AUTH_OPERATOR, MTD_BODY_BUFFER, MTD_MAX_JSON_BODY, NULL, mtd_handle_operator, 0},
    {"GET", "/metrics", "metrics", MTD_AUTH_PUBLIC_OR_OPERATOR, MTD_BODY_NONE, 0, NULL, handle_metrics, 0},
    {"GET", "/healthz", "healthz", MTD_AUTH_NONE, MTD_BODY_NONE, 0, NULL, handle_healthz, 0},
    /* the admin console's files; its pages sign in to the API above themselves */
    {NULL, "/", "console", MTD_AUTH_NONE, MTD_BODY_NONE, 0, NULL, mtd_handle_console, 0},
    {NULL, "/console", "console", MTD_AUTH_NONE, MTD_BODY_NONE, 0, NULL, mtd_handle_console, 0},
    {NULL, "/console/*", "console", MTD_AUTH_NONE, MTD_BODY_NONE, 0, NULL, mtd_handle_console, 0},
};

static const mtd_route_def *find_route(const char *method, const char *path)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        const mtd_route_def *r = &routes[i];
        size_t n = strlen(r->path);
        int match = r->path[n - 1] == '*' ? !strncmp(path, r->path, n - 1) : !strcmp(path, r->path);
        if (match && (!r->method || !strcmp(r->method, method)))
            return r;
    }
    return NULL;
}

/* "application/x-ndjson", optionally with parameters ("; charset=utf-8"), and nothing
 * else: a prefix match let "application/x-ndjsonFOO" through. */
int mtd_media_type_is(const char *ct, const char *want)
{
    if (!ct)
        return 0;
    size_t n = strlen(want);
    if (strncasecmp(ct, want, n) != 0)
        return 0;
    const char *p = ct + n;
    while (*p == ' ' || *p == '\t')
        p++;
    return *p == 0 || *p == ';';
}

/* Authenticates as the route says; fills rs and returns non-zero on failure. */
static int authenticate(mtd_collector *c, mtd_req *rq, mtd_resp *rs)
{
    switch (rq->def->auth) {
    case MTD_AUTH_DEVICE: return mtd_auth_device(c, rq, rs);
    case MTD_AUTH_ENROLL: return mtd_auth_enroll(c, rq, rs);
    case MTD_AUTH_TENANT: return mtd_auth_tenant(c, rq, rs);
    case MTD_AUTH_OPERATOR: return mtd_auth_operator(c, rq, rs);
    case MTD_AUTH_PUBLIC_OR_OPERATOR:
        return mtd_req_bearer(rq) ? mtd_auth_operator(c, rq, rs) : 0;
    case MTD_AUTH_NONE: break;
    }
    return 0;
}

/* The declared body length against the route's limit: 413 before the body is read. */
static int check_length(mtd_req *rq, mtd_resp *rs, uint64_t len, int chunked)
{
    const mtd_route_def *d = rq->def;
    if (d->body == MTD_BODY_NONE && (len > 0 || chunked)) {
        mtd_resp_error(rs, 413, "too_large", "%s %s takes no request body", rq->method, d->path);
        return MTD_ETOOBIG;
    }
    if (len > d->max_body) {
        mtd_resp_error(rs, 413, "too_large", "request body of %llu bytes is over the %zu bytes %s %s accepts",
                       (unsigned long long)len, d->max_body, rq->method, d->path);
        return MTD_ETOOBIG;
    }
    return 0;
}

int mtd_require_admin(mtd_collector *c, mtd_req *rq, mtd_resp *rs)
{
    if (rq->role == MTD_ROLE_ADMIN)
        return 1;
    char why[120], what[160];
    snprintf(why, sizeof why, "the %s role may not do this; an admin token is needed", mtd_role_name(rq->role));
    snprintf(what, sizeof what, "%s %.120s", rq->method, rq->path);
    mtd_guard_refused(c->guard, rq, what, why);
    mtd_resp_error(rs, 403, "forbidden", "%s", why);
    return 0;
}

int mtd_body_reserve(mtd_collector *c, size_t bytes)
{
    size_t held = __atomic_add_fetch(&c->body_held, bytes, __ATOMIC_RELAXED);
    if (c->body_budget && held > c->body_budget) {
        __atomic_sub_fetch(&c->body_held, bytes, __ATOMIC_RELAXED);
        return MTD_EBUSY;
    }
    return 0;
}

void mtd_body_release(mtd_collector *c, size_t bytes)
{
    __atomic_sub_fetch(&c->body_held, bytes, __ATOMIC_RELAXED);
}

int mtd_route_admit(mtd_collector *c, mtd_req *rq, mtd_resp *rs, const mtd_framing *fr)
{
    if (!(rq->def = find_route(rq->method, rq->path))) {
        mtd_resp_error(rs, 404, "not_found", "no route for %s %.200s", rq->method, rq->path);
        return MTD_ENOENT;
    }
    rq->route = rq->def->name;
    if (check_length(rq, rs, fr->length, fr->chunked) != 0)
        return MTD_ETOOBIG;
    if (mtd_guard_check(c->guard, rq, rs) != 0 || authenticate(c, rq, rs) != 0)
        return MTD_EAUTH;
    /* from the head: an analyst's token made the collector read a 16 MiB feed push
     * before its handler said 403 */
    if (rq->def->admin_only && !mtd_require_admin(c, rq, rs))
        return MTD_EPERM;
    if (rq->def->ctype && !mtd_media_type_is(mtd_req_header(rq, "Content-Type"), rq->def->ctype)) {
        mtd_resp_error(rs, 415, "unsupported_media_type", "Content-Type must be %s%s", rq->def->ctype,
                       rq->def->body == MTD_BODY_BATCH ? " (a zstd-compressed batch)" : "");
        return MTD_EUNSUP;
    }
    return 0;
}

void mtd_route_run(mtd_collector *c, mtd_req *rq, mtd_resp *rs)
{
    rq->def->handle(c, rq, rs);
}

static void handle_healthz(mtd_collector *c, mtd_req *rq, mtd_resp *rs)
{
    mtd_resp_json(rs, 200, json_pack("{s:s}", "status", "ok"));
}

/* Anyone may read the collector-wide counters; the per-tenant series (store sizes,
 * which name every tenant) need the operator token. */
static void handle_metrics(mtd_collector *c, mtd_req *rq, mtd_resp *rs)
{
    mtd_buf b;
    mtd_buf_init(&b, 0);
    mtd_metrics_render(&c->metrics, rq->operator ? mtd_tenants_data_dir(c->tenants) : NULL, &b);
    mtd_metrics_render_front(c, &b);
    mtd_alerts_render_metrics(c->alerts, &b);
    if (rq->operator && mtd_tenants_cluster(c->tenants)) /* pool use, latency, each tenant's size */
        mtd_store_pg_metrics(mtd_tenants_cluster(c->tenants), &b);
    rs->status = 200;
    rs->text = mtd_buf_steal(&b, NULL);
    rs->ctype = "text/plain; version=0.0.4";
}

/* GET /v1/enroll: the tenant key and policy, for the agent to compute its pseudonyms
 * before it asks for a credential bound to them (POST /v1/enroll). */
void mtd_handle_enroll_key(mtd_collector *c, mtd_req *rq, mtd_resp *rs)
{
    mtd_policy pol;
    char key[65], grp[MTD_GROUP_NAME_MAX + 1] = "";
    int r = mtd_store_token_group_get(rq->tn->store, rq->cred, grp, sizeof grp);
    if ((r && r != MTD_ENOENT) || mtd_store_policy_of_group(rq->tn->store, grp[0] ? grp : NULL, &pol) != 0) {
        mtd_resp_error(rs, 500, "store_error", "could not read the policy");
        return;
    }
    mtd_tenant_key_to_hex(&rq->tn->key, key);
    mtd_resp_json(rs, 200, json_pack("{s:s,s:s,s:s,s:o}", "tenant_id", rq->tn->id, "org_id",
                                     rq->tn->org_id, "tenant_key", key, "policy", mtd_policy_to_json(&pol)));
}

/* GET /v1/policy: the device's effective policy (its group's overrides applied). */
void mtd_handle_policy_device(mtd_collector *c, mtd_req *rq, mtd_resp *rs)
{
    mtd_policy p;
    if (mtd_store_policy_of_device(rq->tn->store, rq->bound.device_id, &p, NULL, 0) != 0)
        mtd_resp_error(rs, 500, "store_error", "could not read the policy");
    else
        mtd_resp_json(rs, 200, mtd_policy_to_json(&p));
}

static void operator_create(mtd_collector *c, mtd_req *rq, mtd_resp *rs)
{
    json_t *j = mtd_req_json(rq, rs);
    if (!j)
        return;
    const char *name = json_string_value(json_object_get(j, "name"));
    const char *org = json_string_value(json_object_get(j, "org_id"));
    if (!name || !name[0] || strlen(name) > 128) {
        mtd_resp_error(rs, 400, "bad_request", "\"name\" must be a string of 1 to 128 bytes");
    } else if (!mtd_text_is_plain(name) || (org && (!mtd_text_is_plain(org) || strlen(org) > 128))) {
        mtd_resp_error(rs, 400, "bad_request", "\"name\" and \"org_id\" may not hold a control"
                       " character (a newline, a tab...), and org_id is at most 128 bytes");
    } else {
        char id[MTD_TENANT_ID_LEN + 1], enr[160], adm[160];
        int r = mtd_tenants_create(c->tenants, name, org, id, enr, adm, sizeof enr);
        if (r)
            mtd_resp_error(rs, 500, "store_error", "could not create the tenant: %s", mtd_strerror(r));
        else
            mtd_resp_json(rs, 201, json_pack("{s:s,s:s,s:s,s:s}", "tenant_id", id, "name", name,
                                             "enroll_token", enr, "admin_token", adm));
    }
    json_decref(j);
}

void mtd_handle_operator(mtd_collector *c, mtd_req *rq, mtd_resp *rs)
{
    const char *sub = rq->path + strlen("/v1/operator/");
    if (!strcmp(sub, "tenants") && !strcmp(rq->method, "POST")) {
        operator_create(c, rq, rs);
    } else if (!strcmp(sub, "tenants") && !strcmp(rq->method, "GET")) {
        json_t *list = mtd_tenants_list(c->tenants);
        if (list)
            mtd_resp_json(rs, 200, json_pack("{s:o}", "tenants", list));
        else
            mtd_resp_error(rs, 500, "store_error", "the tenants could not be read; retry");
    } else if (!strncmp(sub, "tenants/", 8) && !strcmp(rq->method, "DELETE")) {
        int r = mtd_tenants_delete(c->tenants, sub + 8);
        if (r == MTD_ENOENT)
            mtd_resp_error(rs, 404, "not_found", "no tenant %.40s", sub + 8);
        else if (r)
            mtd_resp_error(rs, r == MTD_EBUSY ? 409 : 500, "delete_failed", "%s", mtd_strerror(r));
        else
            mtd_resp_json(rs, 200, json_pack("{s:s,s:b}", "tenant_id", sub + 8, "deleted", 1));
    } else {
        mtd_resp_error(rs, 404, "not_found", "no operator route %s %.100s", rq->method, sub);
    }
}
