/* mtd_admin_groups: device groups and their policies, for a tenant's admins.
 *
 *   GET  /v1/admin/groups                  every group: name, devices, policy overrides
 *   GET  /v1/admin/groups/G/policy         the group's overrides and its effective policy
 *   PUT  /v1/admin/groups/G/policy         {key: value, ...}: overrides set (null: one
 *                                          removed), each checked against the tenant's
 *                                          policy as `policy set` checks it (audited)
 *   PUT  /v1/admin/devices/ID/group        {"group": G} or {"group": null} (audited)
 *
 * An enrollment token made with a group (POST tokens {"group"}) puts every device it
 * enrolls in that group (mtd_enroll.c). The reports and the alert queue take ?group=. */
#include "collector/mtd_admin_groups.h"
#include "alerts/mtd_alerts.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"
#include "privacy/mtd_pseudo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OVERRIDES_MAX (6 * MTD_POLICY_LIST_BYTES + 4096)

int mtd_admin_group_arg(mtd_req *rq, mtd_resp *rs, const char **grp)
{
    *grp = mtd_req_arg(rq, "group");
    if (*grp && !mtd_group_name_valid(*grp)) {
        mtd_resp_error(rs, 400, "bad_request", "group must be 1 to %d characters of A-Z a-z 0-9 . _ -",
                       MTD_GROUP_NAME_MAX);
        return -1;
    }
    return 0;
}

/* The group's overrides as an object (empty when none); NULL when unreadable. */
static json_t *overrides(mtd_store *s, const char *grp)
{
    char *txt = malloc(OVERRIDES_MAX);
    if (!txt)
        return NULL;
    int r = mtd_store_group_policy_get(s, grp, txt, OVERRIDES_MAX);
    json_t *o = r == MTD_ENOENT ? json_object() : r == 0 ? json_loads(txt, 0, NULL) : NULL;
    free(txt);
    if (o && !json_is_object(o)) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

static void policy_show(const mtd_admin_ctx *x, const char *grp)
{
    mtd_policy p;
    json_t *o = overrides(x->tn->store, grp);
    if (!o || mtd_store_policy_of_group(x->tn->store, grp, &p) != 0) {
        json_decref(o);
        mtd_resp_error(x->rs, 500, "store_error", "could not read the group's policy");
        return;
    }
    mtd_resp_json(x->rs, 200, json_pack("{s:s,s:o,s:o}", "group", grp, "overrides", o, "policy", mtd_policy_to_json(&p)));
}

static void policy_put(mtd_collector *c, const mtd_admin_ctx *x, const char *grp)
{
    if (!mtd_require_admin(c, x->rq, x->rs))
        return;
    json_t *j = mtd_req_json(x->rq, x->rs), *o = NULL, *v;
    if (!j)
        return;
    const char *k;
    mtd_policy p;
    char why[300];
    if (!json_is_object(j)) {
        mtd_resp_error(x->rs, 400, "bad_policy", "the body must be an object of policy keys");
    } else if (!(o = overrides(x->tn->store, grp)) || mtd_store_policy_get(x->tn->store, &p) != 0) {
        mtd_resp_error(x->rs, 500, "store_error", "could not read the policy");
    } else {
        json_object_foreach(j, k, v) {
            if (json_is_null(v))
                json_object_del(o, k);
            else
                json_object_set(o, k, v);
        }
        char *txt = NULL;
        /* the overrides must make a valid policy over the tenant's */
        if (mtd_policy_from_json(&p, o, why, sizeof why) != 0) {
            mtd_resp_error(x->rs, 400, "bad_policy", "%s", why);
        } else if (!(txt = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) || strlen(txt) >= OVERRIDES_MAX ||
                   mtd_store_group_policy_set(x->tn->store, grp, txt) != 0) {
            mtd_resp_error(x->rs, 500, "store_error", "could not store the group's policy");
        } else {
            char d[300];
            snprintf(d, sizeof d, "group=%s %.250s", grp, txt);
            mtd_store_audit(x->tn->store, x->actor, "group.policy.set", d);
            mtd_resp_json(x->rs, 200, json_pack("{s:s,s:O,s:o}", "group", grp, "overrides", o, "policy",
                                                mtd_policy_to_json(&p)));
        }
        free(txt);
    }
    json_decref(o);
    json_decref(j);
}

/* A device that sent a batch, or was given a credential (it may not have sent yet). */
static int enrolled(mtd_store *s, const char *dev)
{
    if (mtd_store_device_known(s, dev) == 0)
        return 1;
    mtd_page pg = {.limit = 1};
    json_t *creds = mtd_store_cred_list(s, dev, &pg);
    int n = (int)json_array_size(creds);
    json_decref(creds);
    return n > 0;
}

static void device_group(mtd_collector *c, const mtd_admin_ctx *x, const char *dev)
{
    if (!mtd_require_admin(c, x->rq, x->rs))
        return;
    json_t *j = mtd_req_json(x->rq, x->rs);
    if (!j)
        return;
    json_t *g = json_object_get(j, "group");
    const char *grp = json_string_value(g);
    if (!g || (!json_is_null(g) && !mtd_group_name_valid(grp))) {
        mtd_resp_error(x->rs, 400, "bad_request", "\"group\" must be a group name (1 to %d characters of"
                       " A-Z a-z 0-9 . _ -) or null", MTD_GROUP_NAME_MAX);
    } else if (!mtd_pseudo_is_valid(dev) || !enrolled(x->tn->store, dev)) {
        mtd_resp_error(x->rs, 404, "not_found", "no device %.40s in this tenant", dev);
    } else if (mtd_store_group_set(x->tn->store, dev, grp) != 0) {
        mtd_resp_error(x->rs, 500, "store_error", "could not set the device's group");
    } else {
        char d[100];
        snprintf(d, sizeof d, "group=%s", grp ? grp : "(none)");
        mtd_store_audit_device(x->tn->store, x->actor, "device.group", dev, d);
        mtd_alerts_recheck(c->alerts, x->tn->id); /* a group's suppression rules now hold for it */
        mtd_resp_json(x->rs, 200, json_pack("{s:s,s:O}", "device_id", dev, "group", g));
    }
    json_decref(j);
}

int mtd_admin_groups_route(mtd_collector *c, const mtd_admin_ctx *x, const char *sub)
{
    const char *m = x->rq->method;
    size_t n = strlen(sub);
    if (!strcmp(sub, "groups") && !strcmp(m, "GET")) {
        json_t *rows = mtd_store_group_list(x->tn->store);
        mtd_store_audit(x->tn->store, x->actor, "group.list", NULL);
        if (rows)
            mtd_resp_json(x->rs, 200, json_pack("{s:o}", "groups", rows));
        else
            mtd_resp_error(x->rs, 500, "store_error", "the groups could not be read; retry");
    } else if (!strncmp(sub, "groups/", 7) && n > 14 && !strcmp(sub + n - 7, "/policy")) {
        char grp[MTD_GROUP_NAME_MAX + 2];
        snprintf(grp, sizeof grp, "%.*s", (int)(n - 14) > MTD_GROUP_NAME_MAX ? MTD_GROUP_NAME_MAX + 1 : (int)(n - 14),
                 sub + 7);
        if (!mtd_group_name_valid(grp))
            mtd_resp_error(x->rs, 400, "bad_request", "a group name is 1 to %d characters of A-Z a-z 0-9 . _ -",
                           MTD_GROUP_NAME_MAX);
        else if (!strcmp(m, "GET"))
            policy_show(x, grp);
        else if (!strcmp(m, "PUT") || !strcmp(m, "POST"))
            policy_put(c, x, grp);
        else
            return 0;
    } else if (!strncmp(sub, "devices/", 8) && n > 14 && !strcmp(sub + n - 6, "/group") &&
               (!strcmp(m, "PUT") || !strcmp(m, "POST"))) {
        char dev[64];
        snprintf(dev, sizeof dev, "%.*s", (int)(n - 14) > 63 ? 63 : (int)(n - 14), sub + 8);
        device_group(c, x, dev);
    } else {
        return 0;
    }
    return 1;
}
