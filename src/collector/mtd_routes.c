/* mtd_routes: the HTTP API of DESIGN.md section 4, mapped to handlers. */
#include "collector/mtd_auth.h"
#include "collector/mtd_collector.h"
#include "collector/mtd_feeds.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"

#include <stdlib.h>
#include <string.h>

static int is(const mtd_req *rq, const char *method, const char *path)
{
    return !strcmp(rq->method, method) && !strcmp(rq->path, path);
}

void mtd_route(mtd_collector *c, mtd_req *rq, mtd_resp *rs)
{
    const char *p = rq->path;
    if (is(rq, "POST", "/v1/batches")) {
        rq->route = "batches";
        mtd_handle_batch(c, rq, rs);
    } else if (is(rq, "POST", "/v1/enroll")) {
        rq->route = "enroll";
        mtd_handle_enroll(c, rq, rs);
    } else if (is(rq, "GET", "/v1/policy")) {
        rq->route = "policy";
        mtd_handle_policy_device(c, rq, rs);
    } else if (!strncmp(p, "/v1/admin/feeds", 15) && (!p[15] || p[15] == '/')) {
        rq->route = "feeds_admin";
        mtd_handle_feeds_admin(c, rq, rs, p + 10);
    } else if (!strncmp(p, "/v1/feeds", 9) && (!p[9] || p[9] == '/')) {
        rq->route = "feeds";
        mtd_handle_feeds_device(c, rq, rs, p + 9);
    } else if (!strncmp(p, "/v1/admin/", 10)) {
        rq->route = "admin";
        mtd_handle_admin(c, rq, rs, p + 10);
    } else if (!strncmp(p, "/v1/operator/", 13)) {
        rq->route = "operator";
        mtd_handle_operator(c, rq, rs, p + 13);
    } else if (is(rq, "GET", "/metrics")) {
        rq->route = "metrics";
        mtd_buf b;
        mtd_buf_init(&b, 0);
        mtd_metrics_render(&c->metrics, mtd_tenants_data_dir(c->tenants), &b);
        rs->status = 200;
        rs->text = mtd_buf_steal(&b, NULL);
        rs->ctype = "text/plain; version=0.0.4";
    } else if (is(rq, "GET", "/healthz")) {
        rq->route = "healthz";
        mtd_resp_json(rs, 200, json_pack("{s:s}", "status", "ok"));
    } else {
        mtd_resp_error(rs, 404, "not_found", "no route for %s %.200s", rq->method, p);
    }
}

void mtd_handle_enroll(mtd_collector *c, mtd_req *rq, mtd_resp *rs)
{
    const char *tok = mtd_req_bearer(rq);
    char kind[8], tenant[32], hash[65];
    mtd_tenant *tn;
    mtd_role role;
    if (!tok || mtd_token_parse(tok, kind, sizeof kind, tenant, sizeof tenant) != 0 ||
        strcmp(kind, "enr") != 0 || mtd_tenants_get(c->tenants, tenant, &tn) != 0) {
        mtd_resp_error(rs, 401, "unauthorized", "an enrollment token is required");
        return;
    }
    mtd_sha256_hex(tok, strlen(tok), hash);
    char cred[160], chash[65];
    mtd_policy pol;
    if (mtd_store_token_role(tn->store, hash, &role) != 0 || role != MTD_ROLE_ENROLL) {
        mtd_resp_error(rs, 401, "unauthorized", "enrollment token is not valid (revoked or unknown)");
    } else if (mtd_token_new("dev", tenant, cred, sizeof cred, chash) != 0 ||
               mtd_store_cred_add(tn->store, chash) != 0 ||
               mtd_store_policy_get(tn->store, &pol) != 0) {
        mtd_resp_error(rs, 500, "store_error", "could not register the device");
    } else {
        char key[65];
        mtd_tenant_key_to_hex(&tn->key, key);
        /* who: the enrollment token (its ID as token list shows it); what: the
         * credential, whose device device.bind names at its first batch */
        char actor[32], d[128];
        snprintf(actor, sizeof actor, "enroll:%.12s", hash);
        snprintf(d, sizeof d, "issued credential %.12s; device.bind names its device at its first upload", chash);
        mtd_store_audit(tn->store, actor, "device.enroll", d);
        mtd_resp_json(rs, 200, json_pack("{s:s,s:s,s:s,s:s,s:o}", "tenant_id", tenant,
                                         "org_id", tn->org_id, "device_credential", cred,
                                         "tenant_key", key, "policy", mtd_policy_to_json(&pol)));
    }
    mtd_tenants_put(c->tenants, tn);
}

void mtd_handle_policy_device(mtd_collector *c, mtd_req *rq, mtd_resp *rs)
{
    mtd_tenant *tn;
    char hash[65], dev[64];
    if (mtd_auth_device(c, rq, rs, &tn, hash, dev, sizeof dev) != 0)
        return;
    mtd_policy p;
    if (mtd_store_policy_get(tn->store, &p) != 0)
        mtd_resp_error(rs, 500, "store_error", "could not read the policy");
    else
        mtd_resp_json(rs, 200, mtd_policy_to_json(&p));
    mtd_tenants_put(c->tenants, tn);
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

void mtd_handle_operator(mtd_collector *c, mtd_req *rq, mtd_resp *rs, const char *sub)
{
    if (mtd_auth_operator(c, rq, rs) != 0)
        return;
    if (!strcmp(sub, "tenants") && !strcmp(rq->method, "POST")) {
        operator_create(c, rq, rs);
    } else if (!strcmp(sub, "tenants") && !strcmp(rq->method, "GET")) {
        mtd_resp_json(rs, 200, json_pack("{s:o}", "tenants", mtd_tenants_list(c->tenants)));
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
