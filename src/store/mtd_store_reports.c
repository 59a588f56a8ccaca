/* mtd_store_reports: the admin reports of the SQLite backend: apps per device and
 * across the fleet, threats with their open/resolved state, device risk, and the
 * event lists (connections, usage, crashes, diagnostics, feedback).
 *
 * The agent reports an app once and then only its changes, so an app's current state
 * is its latest app.inventory row, unless a later app.lifecycle "remove" says it is
 * gone. A threat is identified by (device, threat_id or name+package); its latest
 * detection says whether it is active or resolved. */
#include "store/mtd_store_sqlite_int.h"
#include "common/mtd_err.h"

#include <stdio.h>
#include <string.h>

/* Current apps: the latest inventory row per (device, package), with no removal
 * reported at or after it (a reinstall brings a newer inventory row). */
static const char current_apps[] =
    "SELECT a.* FROM ev_app_inventory a WHERE a.row = (SELECT max(row) FROM ev_app_inventory b"
    " WHERE b.device_id = a.device_id AND b.package = a.package) AND NOT EXISTS (SELECT 1 FROM"
    " ev_app_lifecycle l WHERE l.device_id = a.device_id AND l.package = a.package AND"
    " l.action = 'remove' AND l.time >= a.time)";

/* Installers that are app stores; anything else counts as sideloaded. */
static const char stores[] =
    "('com.android.vending','com.google.android.packageinstaller.store',"
    "'com.amazon.venezia','com.sec.android.app.samsungapps','com.huawei.appmarket',"
    "'com.xiaomi.market','org.fdroid.fdroid')";

json_t *mtd_store_apps(mtd_store *s, const mtd_app_query *q)
{
    char sql[2048];
    int n = 0;
    const char *p[3];
    int len = snprintf(sql, sizeof sql,
                       "SELECT device_id, package, version_code, version_name, install_source,"
                       " apk_path, apk_size, apk_sha256, first_install_time, last_update_time,"
                       " is_system, permissions, signer_sha256 FROM (%s) WHERE 1", current_apps);
    if (q && q->device_id) {
        len += snprintf(sql + len, sizeof sql - (size_t)len, " AND device_id=?");
        p[n++] = q->device_id;
    }
    if (q && q->package) {
        len += snprintf(sql + len, sizeof sql - (size_t)len, " AND package=?");
        p[n++] = q->package;
    }
    if (q && q->permission) {
        /* permissions is a JSON array of names */
        len += snprintf(sql + len, sizeof sql - (size_t)len,
                        " AND EXISTS (SELECT 1 FROM json_each(permissions) WHERE value=?)");
        p[n++] = q->permission;
    }
    if (q && q->sideloaded)
        len += snprintf(sql + len, sizeof sql - (size_t)len,
                        " AND coalesce(is_system,0)=0 AND coalesce(install_source,'') NOT IN %s", stores);
    snprintf(sql + len, sizeof sql - (size_t)len, " ORDER BY package, device_id");
    pthread_mutex_lock(&s->mu);
    json_t *rows = mtd_sq_rows(s, sql, n, p);
    pthread_mutex_unlock(&s->mu);
    return rows;
}

/* Threats with their latest state: one row per (device, threat key). */
static const char latest_threats[] =
    "SELECT t.*, (SELECT min(time) FROM ev_threat_detection f WHERE f.device_id = t.device_id AND"
    " coalesce(f.threat_id, f.threat_name || '/' || coalesce(f.package,'')) ="
    " coalesce(t.threat_id, t.threat_name || '/' || coalesce(t.package,''))) AS first_seen"
    " FROM ev_threat_detection t WHERE t.row = (SELECT max(row) FROM ev_threat_detection u WHERE"
    " u.device_id = t.device_id AND coalesce(u.threat_id, u.threat_name || '/' || coalesce(u.package,''))"
    " = coalesce(t.threat_id, t.threat_name || '/' || coalesce(t.package,'')))";

json_t *mtd_store_threats(mtd_store *s, const char *status, const char *device_id)
{
    char sql[2048];
    const char *p[2];
    int n = 0;
    int len = snprintf(sql, sizeof sql, "SELECT device_id, threat_name, category, severity, source,"
                                        " evidence, status, package, app_sha256, threat_id, first_seen,"
                                        " time AS last_seen FROM (%s) WHERE 1", latest_threats);
    if (status) {
        len += snprintf(sql + len, sizeof sql - (size_t)len, " AND status=?");
        p[n++] = status;
    }
    if (device_id) {
        len += snprintf(sql + len, sizeof sql - (size_t)len, " AND device_id=?");
        p[n++] = device_id;
    }
    snprintf(sql + len, sizeof sql - (size_t)len,
             " ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2"
             " WHEN 'low' THEN 3 ELSE 4 END, last_seen DESC");
    pthread_mutex_lock(&s->mu);
    json_t *rows = mtd_sq_rows(s, sql, n, p);
    pthread_mutex_unlock(&s->mu);
    return rows;
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

int mtd_store_device_risk(mtd_store *s, const char *device_id, json_t **out)
{
    json_t *open = mtd_store_threats(s, "active", device_id);
    char known[8];
    pthread_mutex_lock(&s->mu);
    int r = mtd_sq_text(s, "SELECT 1 FROM devices WHERE device_id=?", device_id, known, sizeof known);
    pthread_mutex_unlock(&s->mu);
    if (r) {
        json_decref(open);
        return r;
    }
    /* threats are ordered by severity: the first open one sets the level */
    const char *sev = json_string_value(json_object_get(json_array_get(open, 0), "severity"));
    *out = json_pack("{s:s,s:s,s:i,s:o}", "device_id", device_id, "risk",
                     mtd_risk_from_severity(sev), "open_threats", (int)json_array_size(open),
                     "threats", open);
    return 0;
}
