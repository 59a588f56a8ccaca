/* mtd_auth: bearer tokens and device credentials, checked in their own tenant only.
 *
 * Every refusal answers the same 401 with the same words, whatever was wrong (no such
 * tenant, a token of another kind, a revoked or unknown secret), and costs the same
 * work: a token naming no tenant is looked up in a decoy store of the same shape, so
 * neither the answer nor its time tells whether a tenant exists. A store that cannot
 * answer (the database down) is no refusal: 503 with Retry-After, whatever the token
 * names, for the database answers nobody then. */
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

/* The store could not say whether the secret is good (the database cannot be reached,
 * a read failed): that is no refusal. A 401 would make an agent set its batch aside as
 * rejected, for good; 503 (or 500) makes it keep the batch and retry. */
static int store_failed(mtd_collector *c, mtd_req *rq, mtd_resp *rs, int r)
{
    if (rq->tn) {
        mtd_tenants_put(c->tenants, rq->tn);
        rq->tn = NULL;
    }
    if (!mtd_resp_retry_later(rs, r))
        mtd_resp_error(rs, 500, "store_error", "the token could not be checked: %s; retry", mtd_strerror(r));
    return r;
}

/* What a store's answer about a token or credential means: unknown or revoked (and a
 * role that does not parse) is a refusal, anything else the store's failure. */
static int is_refusal(int r)
{
    return r == MTD_EAUTH || r == MTD_ENOENT || r == MTD_EINVAL;
}

/* Splits the bearer token and borrows its tenant (or the decoy when the token names
 * none); 0 with rq->tn set, MTD_EAUTH (to refuse), or another code with its answer in
 * rs: MTD_EBUSY when opening the store is past what unauthenticated requests may open
 * (a limit applied alike whether the tenant exists or not, so a 503 does not tell
 * either), or the store's failure to open the tenant. want_kind NULL: any tenant kind. */
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
    int r = mtd_tenants_get(c->tenants, tenant, &rq->tn);
    if (r == 0 || r == MTD_ENOENT)
        return r ? MTD_EAUTH : 0;
    return store_failed(c, rq, rs, r);
}

/* The tenant of a token, or its refusal (401, or the answer token_tenant made). */
static int tenant_or_refuse(mtd_collector *c, mtd_req *rq, mtd_resp *rs, const char *tok, const char *want_kind)
{
    int r = token_tenant(c, rq, rs, tok, want_kind);
    if (r && r != MTD_EAUTH)
        return r;
    if (r) {
        mtd_tenants_decoy_lookup(c->tenants, rq->cred, want_kind && !strcmp(want_kind, "dev"));
        return refuse(c, rq, rs, tok);
    }
    return 0;
}

int mtd_auth_tenant(mtd_collector *c, mtd_req *rq, mtd_resp *rs)
{
    /* a sign-in session (mtd_signin.c) is a token of the tenant like any other, kind
     * "ses", with the mapped role and an expiry; the console sends it as its cookie */
    const char *tok = mtd_req_bearer(rq);
    if (!tok)
        tok = mtd_req_session_cookie(rq);
    if (!tok)
        return refuse(c, rq, rs, NULL);
    if (tenant_or_refuse(c, rq, rs, tok, NULL) != 0)
        return MTD_EAUTH;
    int r = mtd_store_token_role(rq->tn->store, rq->cred, &rq->role);
    if (r && !is_refusal(r))
        return store_failed(c, rq, rs, r);
    if (r || rq->role == MTD_ROLE_ENROLL)
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
    int r = mtd_store_token_role(rq->tn->store, rq->cred, &rq->role);
    if (r && !is_refusal(r))
        return store_failed(c, rq, rs, r);
    if (r || rq->role != MTD_ROLE_ENROLL)
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
    int r = mtd_store_cred_lookup(rq->tn->store, rq->cred, &rq->bound);
    if (r && !is_refusal(r))
        return store_failed(c, rq, rs, r);
    if (r)
        return refuse(c, rq, rs, tok);
    snprintf(rq->actor, sizeof rq->actor, "device:%.12s", rq->cred);
    mtd_guard_passed(c->guard, rq);
    return 0;
}

int mtd_auth_operator(mtd_collector *c, mtd_req *rq, mtd_resp *rs)
{
    const char *tok = mtd_req_bearer(rq);
    int r = tok ? mtd_tenants_is_operator(c->tenants, tok) : MTD_EAUTH;
    if (r && !is_refusal(r))
        return store_failed(c, rq, rs, r);
    if (r)
        return refuse(c, rq, rs, tok);
    rq->operator = 1;
    snprintf(rq->actor, sizeof rq->actor, "operator");
    mtd_guard_passed(c->guard, rq);
    return 0;
}
