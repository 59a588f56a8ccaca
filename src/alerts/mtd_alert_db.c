/* mtd_alert_db: the tenant's alert file, DATA/tenants/<id>/alerts.sqlite (WAL,
 * synchronous=FULL: an acknowledged triage change survives a crash; the engine's own
 * writes, which it can make again from the store, run with NORMAL).
 * It is a file of its own rather than tables in the tenant store so that the alerts
 * module owns its schema whichever store backend holds the events; it lives in the
 * tenant's directory, so deleting the tenant deletes it. */
#include "alerts/mtd_alert_int.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const char schema_sql[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL);"
    /* one alert per (device, threat) episode: a new detection of a threat whose alert
     * is still open adds an occurrence, it does not make a second alert */
    "CREATE TABLE IF NOT EXISTS alerts(id INTEGER PRIMARY KEY, device_id TEXT NOT NULL,"
    " threat_key TEXT NOT NULL, event_id TEXT, state TEXT NOT NULL DEFAULT 'new',"
    " assignee TEXT, threat_status TEXT NOT NULL DEFAULT 'active', threat_name TEXT,"
    " category TEXT, severity TEXT, source TEXT, evidence TEXT, package TEXT,"
    " app_sha256 TEXT, threat_id TEXT, detected_time TEXT, occurrences INTEGER NOT NULL DEFAULT 1,"
    " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, payload TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS alerts_open ON alerts(device_id, threat_key)"
    " WHERE state IN ('new','acknowledged');"
    "CREATE TABLE IF NOT EXISTS notes(id INTEGER PRIMARY KEY, alert_id INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL, actor TEXT NOT NULL, text TEXT NOT NULL);"
    /* the suppression rules live in the tenant store (which matches them when it answers
     * a risk); here, how many detections each kept out of the queue */
    "CREATE TABLE IF NOT EXISTS supp_hits(id INTEGER PRIMARY KEY, hits INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS integrations(id INTEGER PRIMARY KEY, kind TEXT NOT NULL,"
    " target TEXT NOT NULL, secret TEXT, tls INTEGER NOT NULL DEFAULT 0, ca_pem TEXT,"
    " idx TEXT, created_at INTEGER NOT NULL, actor TEXT NOT NULL,"
    " delivered INTEGER NOT NULL DEFAULT 0, failures INTEGER NOT NULL DEFAULT 0,"
    " last_error TEXT, last_ok_at INTEGER, retry_at_ms INTEGER NOT NULL DEFAULT 0,"
    " backoff INTEGER NOT NULL DEFAULT 0, batch_max INTEGER NOT NULL DEFAULT 1,"
    " sent_id INTEGER NOT NULL DEFAULT 0);"
    /* an alert destination's queue is the alerts after its sent_id (the last alert it
     * took, or gave up as dead); the alerts it gave up, as ranges of alert IDs */
    "CREATE TABLE IF NOT EXISTS dead_alerts(integration_id INTEGER NOT NULL, first_id INTEGER NOT NULL,"
    " last_id INTEGER NOT NULL, n INTEGER NOT NULL, at INTEGER NOT NULL, last_error TEXT);"
    /* the risk changes for risk-push destinations, which carry their own payload (and
     * an older file's dead alert rows) */
    "CREATE TABLE IF NOT EXISTS outbox(id INTEGER PRIMARY KEY, integration_id INTEGER NOT NULL,"
    " alert_id INTEGER, event_id TEXT NOT NULL, severity TEXT, payload TEXT NOT NULL,"
    " created_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
    " state TEXT NOT NULL DEFAULT 'pending', last_error TEXT);"
    "CREATE INDEX IF NOT EXISTS outbox_due ON outbox(integration_id, state, id);"
    /* each device's risk as last recorded (the store's, suppressed findings left out),
     * numbered by change for the pull endpoint */
    "CREATE TABLE IF NOT EXISTS risk(device_id TEXT PRIMARY KEY, risk TEXT NOT NULL,"
    " seq INTEGER NOT NULL, changed_at INTEGER NOT NULL);"
    /* devices whose threats changed since their risk was last read (mtd_alert_risk_flush) */
    "CREATE TABLE IF NOT EXISTS risk_dirty(device_id TEXT PRIMARY KEY);";

static void db_path(const char *data_dir, const char *tenant_id, char *out, size_t len)
{
    snprintf(out, len, "%s/tenants/%s/alerts.sqlite", data_dir, tenant_id);
}

int mtd_alert_db_exists(const char *data_dir, const char *tenant_id)
{
    char p[1200];
    struct stat st;
    if (!mtd_tenant_id_valid(tenant_id))
        return 0;
    db_path(data_dir, tenant_id, p, sizeof p);
    return stat(p, &st) == 0;
}

int mtd_alert_exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : MTD_EIO;
}

/* A file made before webhooks could be batched has no integrations.batch_max: it is
 * added (every destination then sends one event a POST, as it did). */
static int add_batch_max(sqlite3 *db)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT batch_max FROM integrations LIMIT 0", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_finalize(st);
        return 0;
    }
    return mtd_alert_exec(db, "ALTER TABLE integrations ADD COLUMN batch_max INTEGER NOT NULL DEFAULT 1");
}

/* A file made before the destinations kept a cursor over the alerts (outbox rows per
 * alert and destination) gets integrations.sent_id: each alert destination's is set
 * before its first pending alert row (or at the last alert when none is pending), and
 * those rows are dropped, in one transaction; dead rows stay and count as before. */
static int add_sent_id(sqlite3 *db)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT sent_id FROM integrations LIMIT 0", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_finalize(st);
        return 0;
    }
    if (mtd_alert_exec(db, "BEGIN IMMEDIATE") != 0)
        return MTD_EIO;
    /* another connection may have moved the file on while this one waited */
    if (sqlite3_prepare_v2(db, "SELECT sent_id FROM integrations LIMIT 0", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_finalize(st);
        return mtd_alert_exec(db, "COMMIT");
    }
    int r = mtd_alert_exec(db, "ALTER TABLE integrations ADD COLUMN sent_id INTEGER NOT NULL DEFAULT 0;"
                               "UPDATE integrations SET sent_id=coalesce((SELECT min(o.alert_id) - 1 FROM outbox o"
                               " WHERE o.integration_id=integrations.id AND o.state='pending' AND o.alert_id>0),"
                               " (SELECT coalesce(max(id), 0) FROM alerts)) WHERE kind<>'risk-push';"
                               "DELETE FROM outbox WHERE state='pending' AND alert_id>0");
    if (r == 0)
        return mtd_alert_exec(db, "COMMIT");
    mtd_alert_exec(db, "ROLLBACK");
    return r;
}

/* The wait for the file's lock: another try every millisecond, for 10 s. SQLite's own
 * busy timeout sleeps in steps growing to 100 ms, so a delivery thread that met a
 * derivation pass's transaction slept on up to 100 ms after it ended (bench_alerts: a
 * delivery's record waited 230 ms behind passes of 20 ms), and each such wait was in
 * the path from a stored batch to its delivery. */
static int busy_wait(void *arg, int tries)
{
    (void)arg;
    struct timespec ts = {0, 1000000};
    if (tries >= 10000)
        return 0;
    nanosleep(&ts, NULL); /* a signal only makes this try sooner */
    return 1;
}

int mtd_alert_db_lock_wait(sqlite3 *db, int wait)
{
    return sqlite3_busy_handler(db, wait ? busy_wait : NULL, NULL);
}

int mtd_alert_db_open(const char *data_dir, const char *tenant_id, sqlite3 **out)
{
    char p[1200], dir[1200];
    struct stat st;
    if (!mtd_tenant_id_valid(tenant_id))
        return MTD_EINVAL;
    snprintf(dir, sizeof dir, "%s/tenants/%s", data_dir, tenant_id);
    /* every caller holds the tenant borrowed (mtd_tenants_get), which no deletion
     * passes, so the directory is made only for a live tenant: one on PostgreSQL has
     * none until its alert file (mtd_tenants_delete removes it with the tenant) */
    if (stat(dir, &st) != 0) {
        snprintf(p, sizeof p, "%s/tenants", data_dir);
        if ((mkdir(p, 0700) != 0 && errno != EEXIST) || (mkdir(dir, 0700) != 0 && errno != EEXIST))
            return MTD_EIO;
    }
    db_path(data_dir, tenant_id, p, sizeof p);
    sqlite3 *db;
    if (sqlite3_open_v2(p, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return MTD_EIO;
    }
    mtd_alert_db_lock_wait(db, 1);
    if (mtd_alert_exec(db, schema_sql) != 0 || add_batch_max(db) != 0 || add_sent_id(db) != 0) {
        sqlite3_close(db);
        return MTD_EIO;
    }
    *out = db;
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

json_t *mtd_alert_rows(sqlite3_stmt *st)
{
    json_t *rows = json_array();
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *o = json_object();
        for (int i = 0; i < sqlite3_column_count(st); i++) {
            const char *name = sqlite3_column_name(st, i);
            json_t *v;
            switch (sqlite3_column_type(st, i)) {
            case SQLITE_NULL: v = json_null(); break;
            case SQLITE_INTEGER:
                if (ends_with(name, "_at")) {
                    char t[MTD_TIME_LEN];
                    mtd_time_rfc3339((time_t)sqlite3_column_int64(st, i), t);
                    v = json_string(t);
                } else {
                    v = json_integer(sqlite3_column_int64(st, i));
                }
                break;
            default: v = json_string((const char *)sqlite3_column_text(st, i)); break;
            }
            json_object_set_new(o, name, v ? v : json_null());
        }
        json_array_append_new(rows, o);
    }
    if (r != SQLITE_DONE) {
        json_decref(rows);
        return NULL;
    }
    return rows;
}

int64_t mtd_alert_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
