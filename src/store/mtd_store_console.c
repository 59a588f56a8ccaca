/* mtd_store_console (SQLite backend): what the admin console reads and writes beyond the reports
 * (mtd_store.h). The fleet at a glance for its overview: devices per risk level,
 * devices not seen lately, open threats per severity and detections per day, each one
 * aggregate query, all read in one snapshot, so the overview of a fleet of thousands
 * costs a few counts, not the fleet's rows. A device's credentials. Threat notes. */
#include "store/mtd_store_sqlite_int.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    const char *by_risk, *open;
    const char *const *pb, *const *ps;
    int stale_days, days;
} overview;

/* The overview's four counts in one snapshot (runs under s->pmu, mtd_sq_sum_read). */
static json_t *overview_read(mtd_store *s, void *ctx)
{
    overview *o = ctx;
    sqlite3_exec(s->rp, "BEGIN", NULL, NULL, NULL);
    json_t *by_risk = mtd_sq_rows(s, o->by_risk, 0, NULL);
    json_t *stale = mtd_sq_rows(s, "SELECT count(*) AS n FROM devices WHERE last_seen < CAST(? AS INTEGER)", 1, o->pb);
    json_t *open = mtd_sq_rows(s, o->open, 0, NULL);
    json_t *per_day = mtd_sq_rows(s, "SELECT substr(time, 1, 10) AS day, sum(status='active') AS detected,"
                                     " sum(status='resolved') AS resolved FROM ev_threat_detection"
                                     " WHERE time >= ? GROUP BY day ORDER BY day", 1, o->ps);
    sqlite3_exec(s->rp, "COMMIT", NULL, NULL, NULL);
    return mtd_store_summary_json(by_risk, stale, open, per_day, o->stale_days, o->days);
}

json_t *mtd_sqlite_summary(mtd_store *s, int64_t now, int stale_days, int days)
{
    char devices[6144], latest[1024], none[2560], by_risk[8192], open[8192], before[24], since[MTD_TIME_LEN];
    mtd_store_summary_bounds(now, stale_days, days, before, since);
    const char *pb[] = {before}, *ps[] = {since};
    mtd_sq_devices_select(devices, sizeof devices);
    mtd_sq_latest_threats(latest, sizeof latest, 0);
    mtd_supp_none_sql(none, sizeof none, 0, "lt");
    snprintf(by_risk, sizeof by_risk, "SELECT risk AS k, count(*) AS n FROM (%s) GROUP BY risk", devices);
    snprintf(open, sizeof open, "SELECT severity AS k, count(*) AS n FROM (%s) lt WHERE status='active'%s"
                                " GROUP BY severity", latest, none);
    overview o = {by_risk, open, pb, ps, stale_days, days};
    return mtd_sq_sum_read(s, overview_read, &o);
}

int mtd_sqlite_threat_note_add(mtd_store *s, const char *device_id, const char *threat, const char *actor,
                              const char *note, int64_t *id)
{
    char now[32];
    mtd_sq_now(now, sizeof now);
    const char *p[] = {now, device_id, threat, actor, note};
    pthread_mutex_lock(&s->mu);
    int r = mtd_sq_exec(s, "INSERT INTO threat_notes(time, device_id, threat_id, actor, note) VALUES(?,?,?,?,?)", 5, p);
    *id = sqlite3_last_insert_rowid(s->db);
    pthread_mutex_unlock(&s->mu);
    return r < 0 ? r : 0;
}

json_t *mtd_sqlite_threat_notes(mtd_store *s, const char *device_id, const char *threat, mtd_page *pg)
{
    const char *p[] = {device_id, threat};
    return mtd_sq_report_keyed(s, threat ? "SELECT id, time, device_id, threat_id, actor, note FROM threat_notes"
                                           " WHERE device_id=? AND threat_id=?"
                                         : "SELECT id, time, device_id, threat_id, actor, note FROM threat_notes"
                                           " WHERE device_id=?",
                               &mtd_id_keys, threat ? 2 : 1, p, pg);
}
