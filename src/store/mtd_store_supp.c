/* mtd_store_supp: suppression rules (mtd_store.h, "Suppression rules"): the condition
 * that matches a rule to a threat, in both backends' SQL, and the rules on SQLite.
 *
 * A rule is matched when a report is read, not when a detection is stored, so that
 * adding, removing or the expiry of a rule changes every risk at once, and a device
 * moved to another group is at once under that group's rules. The alert engine asks
 * the same condition (mtd_store_supp_match) whether a new detection makes an alert, so
 * the queue and the risk cannot disagree about what is suppressed. */
#include "store/mtd_store_sqlite_int.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The dialects differ in the clock, a suffix, a substring search and the row column:
 * %1$s the threat row's alias, %2$s now (Unix seconds), %3$s the suffix function,
 * %4$s the sign of its length, %5$s the substring search, %6$s the row column. */
static const char match_fmt[] =
    "(r.expires_at IS NULL OR r.expires_at > %2$s)"
    " AND (r.device_id IS NULL OR r.device_id = %1$s.device_id)"
    " AND (r.grp IS NULL OR EXISTS (SELECT 1 FROM device_groups g WHERE g.device_id = %1$s.device_id"
    " AND g.grp = r.grp))"
    " AND ((r.kind = 'package' AND %1$s.package = r.value)"
    " OR (r.kind = 'check' AND (%1$s.threat_id = r.value OR %1$s.threat_name = r.value"
    "  OR substr(%1$s.threat_id, 1, length(r.value) + 1) = r.value || '/'))"
    /* the evidence's last word is the host ("... listed host evil.example"): it is the
     * value, or ends with "." and the value */
    " OR (r.kind = 'domain' AND %1$s.source IN ('web', 'network')"
    "  AND lower(%3$s' ' || %1$s.evidence, %4$s(length(r.value) + 1))) IN (' ' || lower(r.value), '.' || lower(r.value)))"
    /* the signers of the app's latest inventory row on that device */
    " OR (r.kind = 'signer' AND EXISTS (SELECT 1 FROM ev_app_inventory a WHERE a.%6$s = (SELECT max(%6$s)"
    "  FROM ev_app_inventory WHERE device_id = %1$s.device_id AND package = %1$s.package)"
    "  AND %5$s(a.signer_sha256, '\"' || r.value || '\"') > 0)))";

int mtd_supp_match_sql(char *out, size_t len, int pgsql, const char *alias)
{
    if (pgsql)
        return snprintf(out, len, match_fmt, alias, "extract(epoch FROM now())::bigint", "right(", "", "strpos",
                        "\"row\"");
    return snprintf(out, len, match_fmt, alias, "CAST(strftime('%s', 'now') AS INTEGER)", "substr(", "-", "instr",
                    "row");
}

int mtd_supp_none_sql(char *out, size_t len, int pgsql, const char *alias)
{
    char m[2048];
    mtd_supp_match_sql(m, sizeof m, pgsql, alias);
    return snprintf(out, len, " AND NOT EXISTS (SELECT 1 FROM suppressions r WHERE %s)", m);
}

json_t *mtd_supp_rows(json_t *rows)
{
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        json_t *e = json_object_get(r, "expires_at");
        json_object_set_new(r, "active", json_boolean(json_integer_value(json_object_get(r, "active"))));
        if (json_is_integer(e) && json_integer_value(e) > 0) {
            char t[MTD_TIME_LEN];
            mtd_time_rfc3339((time_t)json_integer_value(e), t);
            json_object_set_new(r, "expires_at", json_string(t));
        } else {
            json_object_set_new(r, "expires_at", json_null());
        }
    }
    return rows;
}

json_t *mtd_store_risk_json(const char *device_id, json_t *open, json_t *all)
{
    /* threats are ordered by severity: the first open one sets the level */
    const char *sev = json_string_value(json_object_get(json_array_get(open, 0), "severity"));
    json_t *o = json_pack("{s:s,s:s,s:i,s:i,s:o}", "device_id", device_id, "risk", mtd_risk_from_severity(sev),
                          "open_threats", (int)json_array_size(open), "suppressed_threats",
                          (int)(json_array_size(all) - json_array_size(open)), "threats", open);
    json_decref(all);
    return o;
}

/* The rule's columns as text parameters, in the order of the INSERTs. */
void mtd_supp_rule_params(const mtd_supp_rule *r, char exp[24], char now[24], const char *p[8])
{
    snprintf(exp, 24, "%lld", (long long)r->expires_at);
    snprintf(now, 24, "%lld", (long long)time(NULL));
    const char *v[8] = {r->kind, r->value, r->device_id, r->group, exp, r->reason, now, r->actor};
    memcpy(p, v, sizeof v);
}

int mtd_sqlite_supp_add(mtd_store *s, const mtd_supp_rule *r, int64_t *id)
{
    char exp[24], now[24], n[24];
    const char *p[8];
    mtd_supp_rule_params(r, exp, now, p);
    pthread_mutex_lock(&s->mu);
    int rc = mtd_sq_read(s, "SELECT count(*) FROM suppressions", NULL, n, sizeof n);
    if (rc == 0 && atoi(n) >= MTD_SUPP_MAX)
        rc = MTD_ENOSPC;
    if (rc == 0)
        rc = mtd_sq_exec(s, "INSERT INTO suppressions(kind, value, device_id, grp, expires_at, reason, created_at,"
                            " actor) VALUES(?, ?, ?, ?, nullif(CAST(? AS INTEGER), 0), ?, CAST(? AS INTEGER), ?)",
                         8, p);
    *id = rc >= 0 ? sqlite3_last_insert_rowid(s->db) : 0;
    pthread_mutex_unlock(&s->mu);
    return rc < 0 ? rc : 0;
}

json_t *mtd_sqlite_supp_list(mtd_store *s)
{
    return mtd_supp_rows(mtd_sq_report(s, "SELECT id, kind, value, device_id, grp AS \"group\", reason, actor,"
                                          " created_at, expires_at, (expires_at IS NULL OR expires_at >"
                                          " CAST(strftime('%s', 'now') AS INTEGER)) AS active"
                                          " FROM suppressions ORDER BY id", 0, NULL));
}

int mtd_sqlite_supp_remove(mtd_store *s, int64_t id)
{
    char t[24];
    snprintf(t, sizeof t, "%lld", (long long)id);
    const char *p[] = {t};
    pthread_mutex_lock(&s->mu);
    int r = mtd_sq_exec(s, "DELETE FROM suppressions WHERE id = CAST(? AS INTEGER)", 1, p);
    pthread_mutex_unlock(&s->mu);
    return r < 0 ? r : r == 0 ? MTD_ENOENT : 0;
}

/* A detection's columns as the probe's parameters. */
void mtd_supp_probe_params(const json_t *d, const char *p[6])
{
    static const char *const cols[] = {"device_id", "package", "threat_id", "threat_name", "source", "evidence"};
    for (int i = 0; i < 6; i++)
        p[i] = json_string_value(json_object_get(d, cols[i]));
}

int mtd_sqlite_supp_match(mtd_store *s, const json_t *detection, int64_t *rule_id)
{
    char m[2048], sql[2560];
    const char *p[6];
    mtd_supp_probe_params(detection, p);
    mtd_supp_match_sql(m, sizeof m, 0, "t");
    snprintf(sql, sizeof sql, "SELECT r.id FROM suppressions r, (SELECT ?1 AS device_id, ?2 AS package,"
                              " ?3 AS threat_id, ?4 AS threat_name, ?5 AS source, ?6 AS evidence) t"
                              " WHERE %s ORDER BY r.id LIMIT 1", m);
    json_t *rows = mtd_sq_report(s, sql, 6, p);
    if (!rows)
        return MTD_EIO;
    *rule_id = json_integer_value(json_object_get(json_array_get(rows, 0), "id"));
    json_decref(rows);
    return 0;
}
