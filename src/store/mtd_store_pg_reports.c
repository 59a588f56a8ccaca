/* mtd_store_pg_reports: the PostgreSQL backend's tokens, credentials, policy, audit
 * log and admin reports: the same rows and order as the SQLite backend's
 * (mtd_store_reports.c says how each report is found), in PostgreSQL's SQL. */
#include "store/mtd_store_pg_int.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"
#include "schema/mtd_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void now_s(char *b, size_t n)
{
    snprintf(b, n, "%lld", (long long)time(NULL));
}

static int changed(int r)
{
    return r < 0 ? r : 0;
}

int mtd_pg_token_add_limited(mtd_store *st, const char *hash, mtd_role role, const char *label,
                            int64_t expires_at, int64_t max_uses)
{
    char now[24], exp[24], uses[24];
    now_s(now, sizeof now);
    snprintf(exp, sizeof exp, "%lld", (long long)expires_at);
    snprintf(uses, sizeof uses, "%lld", (long long)max_uses);
    const char *p[] = {hash, mtd_role_name(role), label ? label : "", now, expires_at ? exp : NULL,
                       max_uses ? uses : NULL};
    return changed(mtd_pg_exec(mtd_pg_of(st), "INSERT INTO tokens(hash, role, label, created_at, expires_at,"
                                              " max_uses) VALUES($1, $2, $3, $4, $5, $6)", 6, p));
}

int mtd_pg_token_role(mtd_store *st, const char *hash, mtd_role *role)
{
    char name[32];
    int r = mtd_pg_read(mtd_pg_of(st), "SELECT role FROM tokens WHERE hash=$1 AND revoked_at IS NULL"
                                       " AND (expires_at IS NULL OR expires_at > extract(epoch FROM now())::bigint)"
                                       " AND (max_uses IS NULL OR uses < max_uses)",
                        hash, name, sizeof name);
    if (r == MTD_ENOENT)
        return MTD_EAUTH;
    return r ? r : mtd_role_parse(name, role);
}

int mtd_pg_token_revoke(mtd_store *st, const char *id)
{
    char now[24];
    if (strlen(id) != 12 || strspn(id, "0123456789abcdef") != 12)
        return MTD_ENOENT;
    now_s(now, sizeof now);
    const char *p[] = {now, id};
    int r = mtd_pg_exec(mtd_pg_of(st), "UPDATE tokens SET revoked_at=$1 WHERE substr(hash, 1, 12)=$2"
                                       " AND revoked_at IS NULL", 2, p);
    return r < 0 ? r : r == 0 ? MTD_ENOENT : 0;
}

json_t *mtd_pg_token_list(mtd_store *st)
{
    return mtd_pg_report(mtd_pg_of(st), "SELECT substr(hash, 1, 12) AS id, role, label, created_at,"
                                        " revoked_at, expires_at, max_uses, uses FROM tokens ORDER BY created_at, hash", 0, NULL, NULL);
}

int mtd_pg_device_known(mtd_store *st, const char *device_id)
{
    char one[4];
    return mtd_pg_read(mtd_pg_of(st), "SELECT 1 FROM devices WHERE device_id=$1", device_id, one, sizeof one);
}

int mtd_pg_package_known(mtd_store *st, const char *package)
{
    char one[4];
    return mtd_pg_read(mtd_pg_of(st), "SELECT 1 FROM ev_app_inventory WHERE package=$1 UNION ALL"
                                      " SELECT 1 FROM ev_app_lifecycle WHERE package=$1 LIMIT 1",
                       package, one, sizeof one);
}

int mtd_pg_policy_get(mtd_store *st, mtd_policy *p)
{
    char txt[4096];
    int r = mtd_pg_read(mtd_pg_of(st), "SELECT json FROM policy WHERE id=1", NULL, txt, sizeof txt);
    if (r != 0) /* the default, also when the row cannot be read */
        return mtd_store_policy_parse(NULL, p), r == MTD_ENOENT ? 0 : r;
    return mtd_store_policy_parse(txt, p);
}

int mtd_pg_policy_set(mtd_store *st, const mtd_policy *p)
{
    char *txt = mtd_store_policy_text(p);
    if (!txt)
        return MTD_ENOMEM;
    const char *pp[] = {txt};
    int r = mtd_pg_exec(mtd_pg_of(st), "INSERT INTO policy(id, json) VALUES(1, $1) ON CONFLICT(id) DO UPDATE"
                                       " SET json = excluded.json", 1, pp);
    free(txt);
    return changed(r);
}

int mtd_pg_audit_device(mtd_store *st, const char *actor, const char *action, const char *device,
                        const char *detail)
{
    char now[24];
    now_s(now, sizeof now);
    const char *p[] = {now, actor, action, device, detail ? detail : ""};
    return changed(mtd_pg_exec(mtd_pg_of(st), "INSERT INTO audit(time, actor, action, device_id, detail)"
                                              " VALUES($1, $2, $3, $4, $5)", 5, p));
}

json_t *mtd_pg_audit_list(mtd_store *st, mtd_page *pg)
{
    return mtd_pg_report_keyed(mtd_pg_of(st), "SELECT id, time, actor, action, device_id, detail FROM audit",
                               &mtd_id_keys, 0, NULL, pg);
}

/* The latest row of each (device, threat), its first_seen the time of the first
 * (by_device: parameter $1 is the device). */
static int latest_threats(char *sql, size_t len, int by_device)
{
    char dev[320] = "";
    if (by_device)
        mtd_pg_device_rows(dev, sizeof dev, "threat.detection");
    return snprintf(sql, len,
                    "SELECT t.*, m.first_seen FROM (SELECT max(\"row\") AS r, min(time) AS first_seen"
                    " FROM ev_threat_detection WHERE true%s GROUP BY device_id,"
                    " coalesce(threat_id, threat_name || '/' || coalesce(package, ''))) m"
                    " JOIN ev_threat_detection t ON t.\"row\" = m.r", dev);
}

/* The devices report's SELECT (one row per device with its risk), unordered. */
int mtd_pg_devices_select(char *sql, size_t len)
{
    char latest[1024], none[2560];
    latest_threats(latest, sizeof latest, 0);
    mtd_supp_none_sql(none, sizeof none, 1, "lt");
    return snprintf(sql, len,
        "SELECT d.device_id, d.upn, d.first_seen, d.last_seen, i.os_name, i.os_version,"
        " i.manufacturer, i.model, i.model_id, i.cpu, i.build, i.kernel, i.agent_version, i.device_id_source,"
        " i.time AS info_time, d.consent,"
        " CASE k.level WHEN 0 THEN 'high' WHEN 1 THEN 'medium' WHEN 2 THEN 'low' ELSE 'none' END AS risk"
        " FROM devices d LEFT JOIN ev_device_info i ON i.\"row\" = d.info_row"
        " LEFT JOIN (SELECT device_id, min(CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 0"
        "   WHEN 'medium' THEN 1 ELSE 2 END) AS level FROM (%s) lt WHERE status = 'active'%s"
        "   GROUP BY device_id) k ON k.device_id = d.device_id", latest, none);
}

json_t *mtd_pg_devices_where(mtd_store *st, const mtd_device_query *q, mtd_page *pg)
{
    char base[6144], sql[6656], before[32];
    const char *p[4];
    int n = 0;
    mtd_pg_devices_select(base, sizeof base);
    int len = snprintf(sql, sizeof sql, "SELECT * FROM (%s) dv WHERE true", base);
    if (q && q->device_id) {
        p[n++] = q->device_id;
        len += snprintf(sql + len, sizeof sql - (size_t)len, " AND device_id=$%d", n);
    }
    if (q && q->risk) {
        p[n++] = q->risk;
        len += snprintf(sql + len, sizeof sql - (size_t)len, " AND risk=$%d", n);
    }
    if (q && q->seen_before) {
        snprintf(before, sizeof before, "%lld", (long long)q->seen_before);
        p[n++] = before;
        len += snprintf(sql + len, sizeof sql - (size_t)len, " AND last_seen < $%d::bigint", n);
    }
    if (q && q->group) {
        p[n++] = q->group;
        len += snprintf(sql + len, sizeof sql - (size_t)len, MTD_PG_IN_GROUP, n);
    }
    return mtd_pg_report_keyed(mtd_pg_of(st), sql, &mtd_device_keys, n, p, pg);
}

json_t *mtd_pg_apps(mtd_store *st, const mtd_app_query *q, mtd_page *pg)
{
    int by_dev = q && q->device_id, n = 0;
    const char *p[4];
    char inv[320] = "", life[320] = "", pkg[48] = "", perm[80] = "", grp[96] = "", side[3072] = "";
    if (by_dev) { /* the device is $1 */
        p[n++] = q->device_id;
        mtd_pg_device_rows(inv, sizeof inv, "app.inventory");
        mtd_pg_device_rows(life, sizeof life, "app.lifecycle");
    }
    if (q && q->package) {
        p[n++] = q->package;
        snprintf(pkg, sizeof pkg, " AND package=$%d", n);
    }
    if (q && q->permission) { /* permissions is a JSON array of names */
        p[n++] = q->permission;
        snprintf(perm, sizeof perm, " AND permissions::jsonb ? $%d", n);
    }
    if (q && q->group) {
        p[n++] = q->group;
        snprintf(grp, sizeof grp, MTD_PG_IN_GROUP, n);
    }
    if (q && q->sideloaded) {
        memcpy(side, " AND ", 5);
        mtd_side_sql(side + 5, sizeof side - 5, "cur.", 1);
    }
    /* an app's latest row, unless a removal is at or after it. One device's: grouped
     * from its own rows. The fleet's: each row that no later row of its app follows,
     * in one query level, so that the page's cursor and order reach the walk of
     * ev_app_inventory_app (package, device_id) and the LIMIT stops it; each check a
     * probe of an index. OFFSET 0 keeps the checks subplans: made anti-joins, the
     * planner merged the whole index from its start for a page in the middle (a
     * GROUP BY of the fleet was 4 s a page at 5,000 devices x 300 apps). */
    const char *fleet =
        "SELECT a.* FROM ev_app_inventory a WHERE true%s%s"
        " AND NOT EXISTS (SELECT 1 FROM ev_app_inventory n WHERE n.package = a.package"
        "  AND n.device_id = a.device_id AND n.\"row\" > a.\"row\" OFFSET 0)"
        " AND NOT EXISTS (SELECT 1 FROM ev_app_lifecycle x WHERE x.action = 'remove'"
        "  AND x.package = a.package AND x.device_id = a.device_id AND x.time >= a.time%s OFFSET 0)";
    const char *grouped =
        "SELECT a.* FROM (SELECT max(\"row\") AS r FROM ev_app_inventory WHERE true%s%s"
        " GROUP BY device_id, package) m JOIN ev_app_inventory a ON a.\"row\" = m.r"
        " LEFT JOIN (SELECT device_id, package, max(time) AS t FROM ev_app_lifecycle"
        " WHERE action = 'remove'%s GROUP BY device_id, package) x"
        " ON x.device_id = a.device_id AND x.package = a.package"
        " WHERE x.t IS NULL OR x.t < a.time";
    char cur[2048], sql[6144];
    snprintf(cur, sizeof cur, by_dev ? grouped : fleet, inv, pkg, life);
    snprintf(sql, sizeof sql,
             "SELECT device_id, package, version_code, version_name, install_source, apk_path, apk_size,"
             " apk_sha256, first_install_time, last_update_time, is_system, permissions, signer_sha256"
             " FROM (%s) cur WHERE true%s%s%s", cur, perm, grp, side);
    return mtd_pg_report_keyed(mtd_pg_of(st), sql, &mtd_apps_keys, n, p, pg);
}

int mtd_pg_latest_threats(char *sql, size_t len, int by_device)
{
    return latest_threats(sql, len, by_device);
}

json_t *mtd_pg_threats_where(mtd_store *st, const mtd_threat_query *q, mtd_page *pg)
{
    char sql[4096], latest[1024], none[2560] = "";
    const char *p[6];
    int n = 0;
    latest_threats(latest, sizeof latest, q->device_id != NULL);
    if (q->unsuppressed)
        mtd_supp_none_sql(none, sizeof none, 1, "lt");
    if (q->device_id)
        p[n++] = q->device_id;
    int len = snprintf(sql, sizeof sql,
                       "SELECT device_id, threat_name, category, severity, source, evidence, status, package,"
                       " app_sha256, threat_id, first_seen, time AS last_seen, \"row\" AS _row FROM (%s) lt WHERE true%s",
                       latest, none);
    const struct { const char *col, *val; } filters[] = {
        {"status", q->status}, {"category", q->category}, {"severity", q->severity}, {"source", q->source}};
    for (size_t i = 0; i < 4; i++)
        if (filters[i].val) {
            p[n++] = filters[i].val;
            len += snprintf(sql + len, sizeof sql - (size_t)len, " AND %s=$%d", filters[i].col, n);
        }
    if (q->group) {
        p[n++] = q->group;
        len += snprintf(sql + len, sizeof sql - (size_t)len, MTD_PG_IN_GROUP, n);
    }
    return mtd_pg_report_keyed(mtd_pg_of(st), sql, &mtd_threat_keys, n, p, pg);
}

int mtd_pg_device_risk(mtd_store *st, const char *device_id, json_t **out)
{
    mtd_threat_query q = {.status = "active", .device_id = device_id, .unsuppressed = 1};
    json_t *open = mtd_pg_threats_where(st, &q, NULL);
    q.unsuppressed = 0;
    json_t *all = open ? mtd_pg_threats_where(st, &q, NULL) : NULL;
    if (!all) {
        json_decref(open);
        return MTD_EIO; /* unread threats must not read as no risk */
    }
    int r = mtd_pg_device_known(st, device_id);
    if (r) {
        json_decref(open);
        json_decref(all);
        return r;
    }
    *out = mtd_store_risk_json(device_id, open, all);
    return 0;
}

json_t *mtd_pg_crash_groups(mtd_store *st, const char *device_id, mtd_page *pg)
{
    char sql[2048], dev[320] = "";
    const char *p[1] = {device_id};
    if (device_id)
        mtd_pg_device_rows(dev, sizeof dev, "usage.crash");
    snprintf(sql, sizeof sql,
             "SELECT signal || ' ' || top_frames || ' @' || version AS signature, signal, version,"
             " top_frames, count(*) AS count, count(DISTINCT device_id) AS devices,"
             " min(time) AS first_seen, max(time) AS last_seen FROM"
             " (SELECT device_id, time, signal, version, CASE WHEN frames IS NULL THEN '?' ELSE"
             "  coalesce(frames::jsonb->>0, '?') || coalesce(' < ' || (frames::jsonb->>1), '')"
             "  || coalesce(' < ' || (frames::jsonb->>2), '') END AS top_frames"
             "  FROM ev_usage_crash WHERE true%s) c"
             " GROUP BY signal, top_frames, version", dev);
    return mtd_pg_report_keyed(mtd_pg_of(st), sql, &mtd_crash_keys, device_id ? 1 : 0, p, pg);
}

json_t *mtd_pg_action_counts(mtd_store *st)
{
    return mtd_pg_report(mtd_pg_of(st), "SELECT action, sum(coalesce(\"count\", 1)) AS \"count\","
                                        " count(DISTINCT device_id) AS devices FROM ev_usage_action"
                                        " GROUP BY action ORDER BY 2 DESC, action", 0, NULL, NULL);
}

json_t *mtd_pg_ldp_counts(mtd_store *st, int k)
{
    char sql[4096];
    int n = snprintf(sql, sizeof sql, "SELECT period, epsilon_milli, count(*) AS reports");
    for (int i = 0; i < k && i < 32; i++)
        n += snprintf(sql + n, sizeof sql - (size_t)n, ", sum((substr(bits, %d, 1) = '1')::int) AS b%d", i + 1, i);
    snprintf(sql + n, sizeof sql - (size_t)n,
             " FROM ev_usage_ldp WHERE \"row\" IN (SELECT max(\"row\") FROM ev_usage_ldp GROUP BY device_id, period)"
             " AND length(bits) = %d AND bits !~ '[^01]'"
             " GROUP BY period, epsilon_milli ORDER BY period DESC, epsilon_milli", k);
    return mtd_pg_report(mtd_pg_of(st), sql, 0, NULL, NULL);
}

static const mtd_store_ops pg_ops = {
#define MTD_PG_OP(ret, name, params, args) .name = mtd_pg_##name,
    MTD_STORE_OPS(MTD_PG_OP)
#undef MTD_PG_OP
    .ingest_group = mtd_pg_ingest_group,
    .close = mtd_pg_close,
};

int mtd_store_pg_open_tenant(mtd_store_cluster *cl, const char *id, mtd_store **out)
{
    mtd_pg_store *s = calloc(1, sizeof *s);
    if (!s)
        return MTD_ENOMEM;
    s->hdr.ops = &pg_ops;
    s->cl = cl;
    mtd_strlcpy(s->id, id, sizeof s->id);
    mtd_store_group_init(&s->group);
    *out = (mtd_store *)(void *)s;
    return 0;
}

void mtd_pg_close(mtd_store *st)
{
    mtd_pg_store *s = mtd_pg_of(st);
    mtd_store_group_destroy(&s->group);
    free(s);
}
