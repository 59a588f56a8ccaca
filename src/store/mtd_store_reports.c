/* mtd_store_reports: the admin reports of the SQLite backend: apps per device and
 * across the fleet, threats with their open/resolved state, device risk, and the
 * event lists (connections, usage, crashes, diagnostics, feedback).
 *
 * The agent reports an app once and then only its changes, so an app's current state
 * is its latest app.inventory row, unless a later app.lifecycle "remove" says it is
 * gone. A threat is identified by (device, threat_id or name+package); its latest
 * detection says whether it is active or resolved. */
#include "store/mtd_store_sqlite_int.h"
#include "common/mtd_buf.h"
#include "common/mtd_err.h"
#include "privacy/mtd_policy.h"

#include <stdio.h>
#include <string.h>

/* PostgreSQL's trusted(scope, package), the rows mtd_store_trusted.c keeps in a table on
 * SQLite, read from the policy rows as the statement runs: the same rows and no
 * table to keep in step across collectors (%s: the default stores' VALUES). The
 * first row names the collation: the scopes are compared with groups' names. */
#define PG_LIST(c) "CASE WHEN jsonb_typeof(" c "::jsonb -> 'trusted_stores') = 'array' THEN " c "::jsonb -> 'trusted_stores' ELSE '[]' END"
static const char pg_trusted[] =
    "(SELECT ''::text COLLATE \"C\" AS scope, ''::text COLLATE \"C\" AS package"
    " UNION ALL SELECT '', s FROM policy p, jsonb_array_elements_text(" PG_LIST("p.json") ") s"
    " UNION ALL SELECT '', d FROM (VALUES %s) v(d) WHERE NOT EXISTS (SELECT 1 FROM policy p"
    " WHERE jsonb_typeof(p.json::jsonb -> 'trusted_stores') = 'array')"
    " UNION ALL SELECT g.name, '' FROM groups g WHERE jsonb_typeof(g.policy::jsonb -> 'trusted_stores') = 'array'"
    " UNION ALL SELECT g.name, s FROM groups g, jsonb_array_elements_text(" PG_LIST("g.policy") ") s)";

int mtd_side_sql(char *out, size_t len, const char *a, int pgsql)
{
    char dflt[1024], pg[sizeof pg_trusted + sizeof dflt];
    if (pgsql) {
        mtd_trusted_defaults_sql(dflt, sizeof dflt);
        snprintf(pg, sizeof pg, pg_trusted, dflt);
    }
    const char *tr = pgsql ? pg : "trusted";
    /* the device's scope: its group when that group sets trusted_stores (its marker
     * row (grp, '')), else the tenant's ('') */
    return snprintf(out, len,
                    "coalesce(%1$sis_system, 0) = 0 AND coalesce(%1$sinstall_source, '') <> ''"
                    " AND %1$sinstall_source NOT IN (SELECT t.package FROM %2$s t WHERE t.scope ="
                    " coalesce((SELECT g.grp FROM device_groups g JOIN %2$s m ON m.scope = g.grp"
                    " AND m.package = '' WHERE g.device_id = %1$sdevice_id), ''))",
                    a, tr);
}

int mtd_trusted_defaults_sql(char *out, size_t len)
{
    /* the store names are package names (no quote can be in them), fixed in the code */
    int n = 0;
    for (size_t i = 0; mtd_policy_default_stores[i] && n >= 0 && (size_t)n < len; i++)
        n += snprintf(out + n, len - (size_t)n, "%s('%s')", i ? "," : "", mtd_policy_default_stores[i]);
    return n;
}

/* Current apps: the latest inventory row per (device, package), unless the latest
 * app.lifecycle "remove" of that package is at or after it (a reinstall brings a newer
 * inventory row), read from the summaries (mtd_store_sum.c): sum_app points at each
 * app's latest row, in the report's order (package, device), with an index per
 * filter: by device, sideloaded, and sum_app_perm for a permission of the latest row.
 * A page reads its rows through one of them and each row's event by its row number.
 * A GROUP BY max(row) over the inventory before read the fleet's history for any
 * page: 20 s a page at 5,000 devices x 300 apps. */
json_t *mtd_sqlite_apps(mtd_store *s, const mtd_app_query *q, mtd_page *pg)
{
    int n = 0, by_perm = q && q->permission;
    const char *p[4];
    /* with a permission, its entries lead: the page is a range of them */
    const char *k = by_perm ? "p" : "s";
    char sql[2048];
    int len = snprintf(sql, sizeof sql,
                       "SELECT %s.device_id AS device_id, %s.package AS package, a.version_code, a.version_name,"
                       " a.install_source, a.apk_path, a.apk_size, a.apk_sha256, a.first_install_time,"
                       " a.last_update_time, a.is_system, a.permissions, a.signer_sha256 FROM %s"
                       " JOIN ev_app_inventory a ON a.row = s.row WHERE s.live = 1",
                       k, k, by_perm ? "sm.sum_app_perm p JOIN sm.sum_app s ON s.package = p.package"
                                       " AND s.device_id = p.device_id" : "sm.sum_app s");
    if (by_perm) {
        len += snprintf(sql + len, sizeof sql - (size_t)len, " AND p.permission=?");
        p[n++] = q->permission;
    }
    if (q && q->device_id) {
        len += snprintf(sql + len, sizeof sql - (size_t)len, " AND %s.device_id=?", k);
        p[n++] = q->device_id;
    }
    if (q && q->package) {
        len += snprintf(sql + len, sizeof sql - (size_t)len, " AND %s.package=?", k);
        p[n++] = q->package;
    }
    if (q && q->sideloaded)
        len += snprintf(sql + len, sizeof sql - (size_t)len, " AND s.side=1");
    if (q && q->group) {
        len += snprintf(sql + len, sizeof sql - (size_t)len,
                        " AND s.device_id IN (SELECT device_id FROM device_groups WHERE grp=?)");
        p[n++] = q->group;
    }
    return mtd_sq_sum_keyed(s, sql, &mtd_apps_keys, n, p, pg);
}

/* Threats with their latest state: one row per (device, threat key), its latest
 * detection found through sum_threat (mtd_store_sum.c), which the callers bring up
 * to date first (a GROUP BY per report read every detection of the fleet). */
int mtd_sq_latest_threats(char *sql, size_t len, int by_device)
{
    return snprintf(sql, len, "SELECT t.*, m.first_seen FROM sm.sum_threat m JOIN ev_threat_detection t"
                              " ON t.row = m.row%s", by_device ? " WHERE m.device_id=?1" : "");
}

/* The threats report's SQL and parameters (the count); open_col adds _open, whether
 * no rule suppresses the threat, for a device's risk. */
static int threats_sql(const mtd_threat_query *q, int open_col, char *sql, size_t sl, const char **p)
{
    char latest[1024], none[2560] = "", match[2048];
    int n = 0;
    mtd_sq_latest_threats(latest, sizeof latest, q->device_id != NULL);
    if (q->unsuppressed)
        mtd_supp_none_sql(none, sizeof none, 0, "lt");
    if (open_col)
        mtd_supp_match_sql(match, sizeof match, 0, "lt");
    if (q->device_id)
        p[n++] = q->device_id;
    int len = snprintf(sql, sl, "SELECT device_id, threat_name, category, severity, source,"
                                " evidence, status, package, app_sha256, threat_id, first_seen,"
                                " time AS last_seen, row AS _row%s%s%s FROM (%s) lt WHERE 1%s",
                       open_col ? ", NOT EXISTS (SELECT 1 FROM suppressions r WHERE " : "", open_col ? match : "",
                       open_col ? ") AS _open" : "", latest, none);
    const struct { const char *col, *val; } filters[] = {
        {"status", q->status}, {"category", q->category}, {"severity", q->severity}, {"source", q->source}};
    for (size_t i = 0; i < 4; i++)
        if (filters[i].val) {
            len += snprintf(sql + len, sl - (size_t)len, " AND %s=?", filters[i].col);
            p[n++] = filters[i].val;
        }
    if (q->group) {
        len += snprintf(sql + len, sl - (size_t)len, "%s", MTD_SQ_IN_GROUP);
        p[n++] = q->group;
    }
    return n;
}

json_t *mtd_sqlite_threats_where(mtd_store *s, const mtd_threat_query *q, mtd_page *pg)
{
    char sql[6144];
    const char *p[6];
    int n = threats_sql(q, 0, sql, sizeof sql, p);
    return mtd_sq_sum_keyed(s, sql, &mtd_threat_keys, n, p, pg);
}

const char *mtd_risk_from_severity(const char *sev)
{
    if (!sev)
        return "none";
    if (!strcmp(sev, "critical") || !strcmp(sev, "high"))
        return "high";
    if (!strcmp(sev, "medium"))
        return "medium";
    return "low";
}

/* A device's risk in one statement: its active threats, each with whether a rule
 * suppresses it (_open), split here into the open ones and the count of the others.
 * It was two reads of the threats (open, then all) and one of the device: 3.8x the
 * floor in bench_reports (0.05 ms against 0.013), the three statements' steps and
 * locks for two rows. The threats are those of a known device only (the EXISTS), so
 * the device is looked up apart only when it has none. */
int mtd_sqlite_device_risk(mtd_store *s, const char *device_id, json_t **out)
{
    mtd_threat_query q = {.status = "active", .device_id = device_id};
    char sql[6144];
    const char *p[6 + MTD_KEYSET_MAXP];
    int n = threats_sql(&q, 1, sql, sizeof sql, p);
    snprintf(sql + strlen(sql), sizeof sql - strlen(sql), " AND EXISTS (SELECT 1 FROM devices WHERE device_id=?1)");
    mtd_buf b;
    mtd_buf_init(&b, 0);
    mtd_cursor_vals cv;
    json_t *all = mtd_keyset_sql(&b, sql, &mtd_threat_keys, NULL, 0, &n, p, &cv) == 0 && b.data
                      ? mtd_sq_sum_rows(s, (const char *)b.data, n, p) : NULL;
    mtd_buf_free(&b);
    if (!all)
        return MTD_EIO; /* unread threats must not read as no risk */
    char known[8];
    int r = json_array_size(all) ? 0 : mtd_sq_read(s, "SELECT 1 FROM devices WHERE device_id=?", device_id,
                                                     known, sizeof known);
    json_t *open = json_array();
    size_t i;
    json_t *o;
    json_array_foreach(all, i, o)
        if (json_integer_value(json_object_get(o, "_open")))
            json_array_append(open, o);
    mtd_keyset_done(all, &mtd_threat_keys, NULL);
    if (r || !open) {
        json_decref(open);
        json_decref(all);
        return r ? r : MTD_ENOMEM;
    }
    *out = mtd_store_risk_json(device_id, open, all);
    return 0;
}

/* Crashes grouped by signature, the way crash tools do: the signal, the top three of
 * the reported frames and the version; the most frequent first. A device with a
 * crash loop counts once in devices and many times in count. */
json_t *mtd_sqlite_crash_groups(mtd_store *s, const char *device_id, mtd_page *pg)
{
    char sql[2048], dev[320] = "";
    const char *p[1] = {device_id};
    if (device_id) /* the device is ?1 */
        mtd_sq_device_rows(dev, sizeof dev, "usage.crash");
    snprintf(sql, sizeof sql,
             "SELECT signal || ' ' || top_frames || ' @' || version AS signature, signal, version,"
             " top_frames, count(*) AS count, count(DISTINCT device_id) AS devices,"
             " min(time) AS first_seen, max(time) AS last_seen FROM"
             " (SELECT device_id, time, signal, version, CASE json_valid(frames) WHEN 1 THEN"
             "  coalesce(json_extract(frames, '$[0]'), '?') || coalesce(' < ' || json_extract(frames, '$[1]'), '')"
             "  || coalesce(' < ' || json_extract(frames, '$[2]'), '') ELSE '?' END AS top_frames"
             "  FROM ev_usage_crash WHERE 1%s)"
             " GROUP BY signal, top_frames, version", dev);
    return mtd_sq_report_keyed(s, sql, &mtd_crash_keys, device_id ? 1 : 0, p, pg);
}

/* Actions per action over every usage.action row (a row without a count is one). */
json_t *mtd_sqlite_action_counts(mtd_store *s)
{
    return mtd_sq_report_page(s, "SELECT action, sum(coalesce(count, 1)) AS count,"
                                 " count(DISTINCT device_id) AS devices FROM ev_usage_action"
                                 " GROUP BY action ORDER BY count DESC, action", 0, NULL, NULL);
}

/* LDP reports per day and epsilon: reports (one per device and day, its latest) and,
 * per bit position i < k, how many reported a 1 ("b0", "b1", ...). Reports whose bits
 * are not k characters of 0 and 1 are left out. */
json_t *mtd_sqlite_ldp_counts(mtd_store *s, int k)
{
    char sql[4096];
    int n = snprintf(sql, sizeof sql, "SELECT period, epsilon_milli, count(*) AS reports");
    for (int i = 0; i < k && i < 32; i++)
        n += snprintf(sql + n, sizeof sql - (size_t)n, ", sum(substr(bits, %d, 1) = '1') AS b%d", i + 1, i);
    snprintf(sql + n, sizeof sql - (size_t)n,
             " FROM ev_usage_ldp WHERE row IN (SELECT max(row) FROM ev_usage_ldp GROUP BY device_id, period)"
             " AND length(bits) = %d AND NOT bits GLOB '*[^01]*'"
             " GROUP BY period, epsilon_milli ORDER BY period DESC, epsilon_milli", k);
    return mtd_sq_report_page(s, sql, 0, NULL, NULL);
}
