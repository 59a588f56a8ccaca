/* mtd_store_pg_console (PostgreSQL backend): what the admin console reads and writes
 * beyond the reports, as mtd_store_console.c does on SQLite: the fleet at a glance
 * (each figure one aggregate query, nothing of the fleet loaded), a device's
 * credentials, threat notes. */
#include "store/mtd_store_pg_int.h"
#include "common/mtd_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Four statements on connections of the pool, not one snapshot as on SQLite: an
 * ingest between them can make the figures disagree by that batch, which an overview
 * refreshed on each visit tolerates. */
json_t *mtd_pg_summary(mtd_store *st, int64_t now, int stale_days, int days)
{
    mtd_pg_store *s = mtd_pg_of(st);
    char devices[6144], latest[1024], none[2560], sql[8192], before[24], since[MTD_TIME_LEN];
    mtd_store_summary_bounds(now, stale_days, days, before, since);
    const char *pb[] = {before}, *ps[] = {since};
    mtd_pg_devices_select(devices, sizeof devices);
    mtd_pg_latest_threats(latest, sizeof latest, 0);
    mtd_supp_none_sql(none, sizeof none, 1, "lt");
    snprintf(sql, sizeof sql, "SELECT risk AS k, count(*) AS n FROM (%s) dv GROUP BY risk", devices);
    json_t *by_risk = mtd_pg_report(s, sql, 0, NULL, NULL);
    json_t *stale = mtd_pg_report(s, "SELECT count(*) AS n FROM devices WHERE last_seen < $1::bigint", 1, pb, NULL);
    snprintf(sql, sizeof sql, "SELECT severity AS k, count(*) AS n FROM (%s) lt WHERE status='active'%s"
                              " GROUP BY severity", latest, none);
    json_t *open = mtd_pg_report(s, sql, 0, NULL, NULL);
    json_t *per_day = mtd_pg_report(s, "SELECT substr(time, 1, 10) AS day,"
                                       " count(*) FILTER (WHERE status='active') AS detected,"
                                       " count(*) FILTER (WHERE status='resolved') AS resolved"
                                       " FROM ev_threat_detection WHERE time >= $1 GROUP BY day ORDER BY day",
                                    1, ps, NULL);
    return mtd_store_summary_json(by_risk, stale, open, per_day, stale_days, days);
}

int mtd_pg_threat_note_add(mtd_store *st, const char *device_id, const char *threat, const char *actor,
                           const char *note, int64_t *id)
{
    char now[24], out[24];
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    const char *p[] = {now, device_id, threat, actor, note};
    PGresult *res = NULL;
    int r = mtd_pg_run(mtd_pg_of(st), "INSERT INTO threat_notes(time, device_id, threat_id, actor, note)"
                                      " VALUES($1, $2, $3, $4, $5) RETURNING id", 5, p, &res);
    if (r == 0) {
        snprintf(out, sizeof out, "%s", PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "0");
        *id = strtoll(out, NULL, 10);
        PQclear(res);
    }
    return r;
}

json_t *mtd_pg_threat_notes(mtd_store *st, const char *device_id, const char *threat, mtd_page *pg)
{
    const char *p[] = {device_id, threat};
    return mtd_pg_report_keyed(mtd_pg_of(st),
                         threat ? "SELECT id, time, device_id, threat_id, actor, note FROM threat_notes"
                                  " WHERE device_id=$1 AND threat_id=$2"
                                : "SELECT id, time, device_id, threat_id, actor, note FROM threat_notes"
                                  " WHERE device_id=$1",
                         &mtd_id_keys, threat ? 2 : 1, p, pg);
}
