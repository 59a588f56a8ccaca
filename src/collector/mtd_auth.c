/* mtd_auth: bearer tokens and device credentials, checked in their own tenant only.
 *
 * Every failure answers the same 401 with the same words, whatever was wrong (no such
 * tenant, a token of another kind, a revoked or unknown secret), and costs the same
 * work: a token naming no tenant is looked up in a decoy store of the same shape, so
 * neither the answer nor its time tells whether a tenant exists. */
#include "collector/mtd_auth.h"
#include "collector/mtd_guard.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"

#include <stdio.h>
#include <string.h>

#define BAD_TOKEN "the token is not valid (unknown, revoked or expired)"

static int refuse(mtd_collector *c, mtd_req *rq, mtd_resp *rs, const char *tok)
{
    if (rq->tn) {
        mtd_tenants_put(c->tenants, rq->tn);
        rq->tn = NULL;
    }
    mtd_guard_failed(c->guard, rq, tok);
    mtd_resp_error(rs, 401, "unauthorized", "%s", tok ? BAD_TOKEN : "missing \"Authorization: Bearer <token>\" header");
    return MTD_EAUTH;
}

/* Splits the bearer token and borrows its tenant (or the decoy when the token names
 * none); 0 with rq->tn set, MTD_EAUTH, or MTD_EBUSY (a 503 in rs) when opening the
 * store is past what unauthenticated requests may open. That limit is applied alike
 * whether the tenant exists or not, so a 503 does not tell either. want_kind NULL:
 * any tenant kind. */
static int token_tenant(mtd_collector *c, mtd_req *rq, mtd_resp *rs, const char *tok, const char *want_kind)
{
    char tenant[32], kind[8];
    mtd_sha256_hex(tok, strlen(tok), rq->cred);
    rq->tn = NULL;
    int ok = mtd_token_parse(tok, kind, sizeof kind, tenant, sizeof tenant) == 0 && tenant[0] &&
             (want_kind ? !strcmp(kind, want_kind) : strcmp(kind, "dev") && strcmp(kind, "enr"));
    if (!ok)
        return MTD_EAUTH;
    if (!mtd_tenants_is_open(c->tenants, tenant) && mtd_guard_cold_open(c->guard, tok) != 0) {
        rs->retry_after = 1;
        mtd_metrics_shed(&c->metrics, "cold_open_limit");
        mtd_resp_error(rs, 503, "busy", "the collector is busy; retry");
        return MTD_EBUSY;
    }
    return mtd_tenants_get(c->tenants, tenant, &rq->tn) == 0 ? 0 : MTD_EAUTH;
}

/* The tenant of a token, or its refusal (401, or the 503 token_tenant answered). */
static int tenant_or_refuse(mtd_collector *c, mtd_req *rq, mtd_resp *rs, const char *tok, const char *want_kind)
{
    int r = token_tenant(c, rq, rs, tok, want_kind);
    if (r == MTD_EBUSY)
        return r;
    if (r) {
        mtd_tenants_decoy_lookup(c->tenants, rq->cred, want_kind && !strcmp(want_kind, "dev"));
        return refuse(c, rq, rs, tok);
    }
    return 0;
}

int mtd_auth_tenant(mtd_collector *c, mtd_req *rq, mtd_resp *rs)
{
    const char *tok = mtd_req_bearer(rq);
    if (!tok)
        return refuse(c, rq, rs, NULL);
    if (tenant_or_refuse(c, rq, rs, tok, NULL) != 0)
        return MTD_EAUTH;
    if (mtd_store_token_role(rq->tn->store, rq->cred, &rq->role) != 0 || rq->role == MTD_ROLE_ENROLL)
        return refuse(c, rq, rs, tok);
    snprintf(rq->actor, sizeof rq->actor, "%s:%.12s", mtd_role_name(rq->role), rq->cred);
    mtd_guard_passed(c->guard, rq);
    return 0;
}

int mtd_auth_enroll(mtd_collector *c, mtd_req *rq, mtd_resp *rs)
{
    const char *tok = mtd_req_bearer(rq);
    if (!tok)
        return refuse(c, rq, rs, NULL);
    if (tenant_or_refuse(c, rq, rs, tok, "enr") != 0)
        return MTD_EAUTH;
    if (mtd_store_token_role(rq->tn->store, rq->cred, &rq->role) != 0 || rq->role != MTD_ROLE_ENROLL)
        return refuse(c, rq, rs, tok);
    snprintf(rq->actor, sizeof rq->actor, "enroll:%.12s", rq->cred);
    mtd_guard_passed(c->guard, rq);
    return 0;
}

int mtd_auth_device(mtd_collector *c, mtd_req *rq, mtd_resp *rs)
{
    const char *tok = mtd_req_bearer(rq);
    if (!tok)
        return refuse(c, rq, rs, NULL);
    if (tenant_or_refuse(c, rq, rs, tok, "dev") != 0)
        return MTD_EAUTH;
    if (mtd_store_cred_lookup(rq->tn->store, rq->cred, &rq->bound) != 0)
        return refuse(c, rq, rs, tok);
    snprintf(rq->actor, sizeof rq->actor, "device:%.12s", rq->cred);
    mtd_guard_passed(c->guard, rq);
    return 0;
}

int mtd_auth_operator(mtd_collector *c, mtd_req *rq, mtd_resp *rs)
{
    const char *tok = mtd_req_bearer(rq);
    if (!tok || !mtd_tenants_is_operator(c->tenants, tok))
        return refuse(c, rq, rs, tok);
    rq->operator = 1;
    snprintf(rq->actor, sizeof rq->actor, "operator");
    mtd_guard_passed(c->guard, rq);
    return 0;
}
