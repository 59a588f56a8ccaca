/* mtd_auth: bearer tokens and device credentials, checked in their own tenant only. */
#include "collector/mtd_auth.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"

#include <stdio.h>
#include <string.h>

/* Splits the bearer token and borrows its tenant; fills a 401 on failure. */
static int token_tenant(mtd_collector *c, mtd_req *rq, mtd_resp *rs, const char *want_kind,
                        mtd_tenant **tn, char hash[65], char kind[8])
{
    const char *tok = mtd_req_bearer(rq);
    char tenant[32];
    if (!tok) {
        mtd_resp_error(rs, 401, "unauthorized", "missing \"Authorization: Bearer <token>\" header");
        return MTD_EAUTH;
    }
    if (mtd_token_parse(tok, kind, 8, tenant, sizeof tenant) != 0 || !tenant[0] ||
        (want_kind && strcmp(kind, want_kind) != 0)) {
        mtd_resp_error(rs, 401, "unauthorized", "token is not a valid %s token",
                       want_kind && !strcmp(want_kind, "dev") ? "device" : "tenant");
        return MTD_EAUTH;
    }
    if (mtd_tenants_get(c->tenants, tenant, tn) != 0) {
        mtd_resp_error(rs, 401, "unauthorized", "token is not valid (unknown or deleted tenant)");
        return MTD_EAUTH;
    }
    mtd_sha256_hex(tok, strlen(tok), hash);
    return 0;
}

int mtd_auth_tenant(mtd_collector *c, mtd_req *rq, mtd_resp *rs, mtd_tenant **tn,
                    mtd_role *role, char *actor, size_t actorlen)
{
    char hash[65], kind[8];
    int r = token_tenant(c, rq, rs, NULL, tn, hash, kind);
    if (r)
        return r;
    if (strcmp(kind, "dev") == 0 || mtd_store_token_role((*tn)->store, hash, role) != 0 ||
        *role == MTD_ROLE_ENROLL) {
        mtd_tenants_put(c->tenants, *tn);
        *tn = NULL;
        mtd_resp_error(rs, 401, "unauthorized", "token is not a valid admin token (revoked or unknown)");
        return MTD_EAUTH;
    }
    snprintf(actor, actorlen, "%s:%.12s", mtd_role_name(*role), hash);
    return 0;
}

int mtd_auth_device(mtd_collector *c, mtd_req *rq, mtd_resp *rs, mtd_tenant **tn,
                    char cred_hash[65], char *device_id, size_t dlen)
{
    char kind[8];
    int r = token_tenant(c, rq, rs, "dev", tn, cred_hash, kind);
    if (r)
        return r;
    if (mtd_store_cred_lookup((*tn)->store, cred_hash, device_id, dlen) != 0) {
        mtd_tenants_put(c->tenants, *tn);
        *tn = NULL;
        mtd_resp_error(rs, 401, "unauthorized", "device credential is not valid (revoked or unknown)");
        return MTD_EAUTH;
    }
    return 0;
}

int mtd_auth_operator(mtd_collector *c, mtd_req *rq, mtd_resp *rs)
{
    const char *tok = mtd_req_bearer(rq);
    if (!tok || !mtd_tenants_is_operator(c->tenants, tok)) {
        mtd_resp_error(rs, 401, "unauthorized", "operator token required");
        return MTD_EAUTH;
    }
    return 0;
}
