/* mtd_enroll: enrollment and the credentials it issues.
 *
 *   GET  /v1/enroll          enrollment token -> tenant key, org ID, policy: what the
 *                            agent needs to compute its pseudonyms
 *   POST /v1/enroll          enrollment token + {"device_id", "upn", "dir_user_id",
 *                            "dir_device_id", "org_id"} (pseudonyms) -> a credential
 *                            bound to exactly those, in one row written once; with
 *                            "credential", the device's live one, which it replaces
 *   GET    /v1/admin/credentials[?device=D]   admin: every credential, used or not
 *   DELETE /v1/admin/credentials/ID           admin: revoke one (audited)
 *   POST   /v1/admin/credentials/approve      admin: {"device_id"}: let a device that had
 *                                             a credential enroll once more (audited)
 *
 * Anyone holding an enrollment token holds the tenant key and can compute any device's
 * pseudonym from its MAC, so the pseudonym proves nothing: what protects a device is
 * that its ID can be bound once. A device with a live credential is refused (409); one
 * that had a credential returns after an admin revoked it, or with an admin's
 * approval, as the tenant's policy (reenroll) says. */
#include "collector/mtd_auth.h"
#include "collector/mtd_collector.h"
#include "collector/mtd_guard.h"
#include "common/mtd_err.h"
#include "common/mtd_log.h"
#include "common/mtd_util.h"
#include "privacy/mtd_pseudo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A pseudonym field of the enrollment body: absent or "" is none; else the shape the
 * agent's pseudonyms have, so no raw identifier is ever bound or stored. */
static int pseudonym_field(json_t *j, const char *key, int required, const char **out, mtd_resp *rs)
{
    json_t *v = json_object_get(j, key);
    const char *s = json_string_value(v);
    *out = s ? s : "";
    if ((v && !s) || (required && !(*out)[0]) || ((*out)[0] && !mtd_pseudo_is_valid(*out))) {
        mtd_resp_error(rs, 400, "bad_request", "\"%s\" must be %s pseudonym (ps_ and 22 base64url characters)",
                       key, required ? "the device's" : "a");
        return -1;
    }
    return 0;
}

/* The audit log's summary names the refusal, not the device: a user's deletion must
 * leave no file holding their device's pseudonym, and the log is append-only. */
static void refused(mtd_collector *c, mtd_req *rq, mtd_resp *rs, int status, const char *error, const char *why)
{
    if (status == 403 || status == 409)
        mtd_guard_refused(c->guard, rq, "POST /v1/enroll", error);
    mtd_resp_error(rs, status, error, "%s", why);
}

/* The group an enrollment token gives its devices ("" when none): 0 or an error. */
static int token_group(mtd_store *s, const char *hash, char *grp, size_t len)
{
    int r = mtd_store_token_group_get(s, hash, grp, len);
    if (r == MTD_ENOENT)
        grp[0] = 0;
    return r == MTD_ENOENT ? 0 : r;
}

void mtd_handle_enroll(mtd_collector *c, mtd_req *rq, mtd_resp *rs)
{
    mtd_tenant *tn = rq->tn;
    json_t *j = mtd_req_json(rq, rs);
    if (!j)
        return;
    mtd_enroll_req e = {.token_hash = rq->cred, .org_id = tn->org_id};
    const char *org;
    mtd_policy pol;
    if (pseudonym_field(j, "device_id", 1, &e.device_id, rs) || pseudonym_field(j, "upn", 0, &e.upn, rs) ||
        pseudonym_field(j, "dir_user_id", 0, &e.dir_user_id, rs) ||
        pseudonym_field(j, "dir_device_id", 0, &e.dir_device_id, rs)) {
        json_decref(j);
        return;
    }
    org = json_string_value(json_object_get(j, "org_id"));
    const char *old = json_string_value(json_object_get(j, "credential"));
    char cred[160], chash[65], why[300], ohash[65], grp[MTD_GROUP_NAME_MAX + 1] = "";
    if (old) { /* the device's own credential, to be replaced */
        mtd_sha256_hex(old, strlen(old), ohash);
        e.replaces_hash = ohash;
    }
    if (org && strcmp(org, tn->org_id) != 0) {
        refused(c, rq, rs, 403, "wrong_org", "\"org_id\" is not this tenant's organization");
    } else if (token_group(tn->store, rq->cred, grp, sizeof grp) != 0 ||
               mtd_store_policy_of_group(tn->store, grp[0] ? grp : NULL, &pol) != 0 ||
               mtd_token_new("dev", tn->id, cred, sizeof cred, chash) != 0) {
        mtd_resp_error(rs, 500, "store_error", "could not register the device");
    } else {
        e.cred_hash = chash;
        e.approval_policy = pol.reenroll == MTD_REENROLL_APPROVAL;
        mtd_enroll_out out;
        int r = mtd_store_enroll(tn->store, &e, &out);
        if (r == MTD_EEXIST) {
            snprintf(why, sizeof why, "device %s is enrolled already: an admin must revoke its credential"
                     " first (mtdctl credential revoke %s)", e.device_id, out.live_id);
            refused(c, rq, rs, 409, "device_enrolled", why);
        } else if (r == MTD_EPERM) {
            snprintf(why, sizeof why, "device %s was enrolled before: an admin must approve its return"
                     " (mtdctl credential approve %s)", e.device_id, e.device_id);
            refused(c, rq, rs, 403, "approval_required", why);
        } else if (r == MTD_EAUTH) {
            mtd_resp_error(rs, 401, "unauthorized", "the token is not valid (unknown, revoked or expired)");
        } else if (r) {
            mtd_resp_error(rs, 500, "store_error", "could not register the device: %s", mtd_strerror(r));
        } else {
            char key[65], detail[400];
            /* after the enrollment, not in its transaction: a crash between the two
             * leaves the device in no group, which an admin or a new enrollment mends */
            if (grp[0] && mtd_store_group_set(tn->store, e.device_id, grp) != 0)
                mtd_log(MTD_LOG_ERROR, "enroll", "tenant=%s the device's group %s was not set", tn->id, grp);
            snprintf(detail, sizeof detail, "credential %.12s issued (%s) by token %.12s%s%s", chash, out.how,
                     rq->cred, grp[0] ? " into group " : "", grp);
            mtd_store_audit_device(tn->store, rq->actor, "device.enroll", e.device_id, detail);
            mtd_tenant_key_to_hex(&tn->key, key);
            mtd_resp_json(rs, 200, json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "tenant_id", tn->id, "org_id",
                                             tn->org_id, "device_id", e.device_id, "device_credential", cred,
                                             "tenant_key", key, "policy", mtd_policy_to_json(&pol)));
        }
    }
    json_decref(j);
}

static void cred_list(mtd_collector *c, mtd_req *rq, mtd_resp *rs)
{
    mtd_page pg = {.limit = 10000};
    json_t *rows = mtd_store_cred_list(rq->tn->store, mtd_req_arg(rq, "device"), &pg);
    if (!rows) {
        mtd_resp_error(rs, 500, "store_error", "could not read the credentials");
        return;
    }
    mtd_store_audit(rq->tn->store, rq->actor, "credential.list", NULL);
    json_t *o = json_pack("{s:o}", "credentials", rows);
    if (pg.more)
        json_object_set_new(o, "truncated", json_true());
    mtd_resp_json(rs, 200, o);
}

static void cred_revoke(mtd_collector *c, mtd_req *rq, mtd_resp *rs, const char *id)
{
    char dev[64], detail[160];
    int r = mtd_store_cred_revoke(rq->tn->store, id, "revoked", dev, sizeof dev);
    if (r == MTD_ENOENT) {
        mtd_resp_error(rs, 404, "not_found", "no live credential with id %.20s", id);
        return;
    }
    if (r) {
        mtd_resp_error(rs, 500, "store_error", "%s", mtd_strerror(r));
        return;
    }
    snprintf(detail, sizeof detail, "credential %.12s", id);
    mtd_store_audit_device(rq->tn->store, rq->actor, "credential.revoke", dev[0] ? dev : NULL, detail);
    mtd_resp_json(rs, 200, json_pack("{s:s,s:s,s:b}", "id", id, "device_id", dev, "revoked", 1));
}

static void cred_approve(mtd_collector *c, mtd_req *rq, mtd_resp *rs)
{
    json_t *j = mtd_req_json(rq, rs);
    if (!j)
        return;
    const char *dev = json_string_value(json_object_get(j, "device_id"));
    char detail[120];
    int r = dev && mtd_pseudo_is_valid(dev) ? mtd_store_reenroll_approve(rq->tn->store, dev, rq->actor) : MTD_EINVAL;
    if (r == MTD_EINVAL) {
        mtd_resp_error(rs, 400, "bad_request", "\"device_id\" must be a device pseudonym");
    } else if (r == MTD_ENOENT) {
        mtd_resp_error(rs, 404, "not_found", "no device %.40s was ever enrolled in this tenant", dev);
    } else if (r) {
        mtd_resp_error(rs, 500, "store_error", "%s", mtd_strerror(r));
    } else {
        snprintf(detail, sizeof detail, "the device may enroll once more within 7 days");
        mtd_store_audit_device(rq->tn->store, rq->actor, "credential.approve", dev, detail);
        mtd_resp_json(rs, 200, json_pack("{s:s,s:b}", "device_id", dev, "approved", 1));
    }
    json_decref(j);
}

void mtd_handle_credentials(mtd_collector *c, mtd_req *rq, mtd_resp *rs)
{
    const char *sub = rq->path + strlen("/v1/admin/credentials");
    /* an admin's: the route is admin_only, refused from the head for other roles */
    if (!sub[0] && !strcmp(rq->method, "GET"))
        cred_list(c, rq, rs);
    else if (!strcmp(sub, "/approve") && !strcmp(rq->method, "POST"))
        cred_approve(c, rq, rs);
    else if (sub[0] == '/' && !strcmp(rq->method, "DELETE"))
        cred_revoke(c, rq, rs, sub + 1);
    else
        mtd_resp_error(rs, 404, "not_found", "no admin route %s %.100s", rq->method, rq->path);
}
