/* bench_reports: the admin reports over a fleet of 5,000 devices with 300 apps each
 * (1.5 million app.inventory rows), against the physical floor of the same run:
 * reading every row of the inventory table once, straight from SQLite. Also measures
 * what a report costs the devices: the slowest batch stored while the fleet-wide
 * report runs and the fleet's devices upload usage events at the collector's own
 * rate, against the slowest with no report running.
 *
 * The fleet: 100 apps on every device, the others each from a pool of 100 packages,
 * READ_SMS held by 1 app in 200, 1 app in 100 sideloaded, and 1 device in 10 with an
 * active threat and a resolved one. Medians of 3 runs of each report. Last, one
 * device gets a year of history (device_history) and its per-device queries are timed
 * against the same queries through a device_id index.
 *
 *   bench_reports [DEVICES [APPS_PER_DEVICE]]   (5000 300)
 *   bench_reports --fill DIR [DEVICES [APPS_PER_DEVICE]]
 *       only stores the fleet into the store in DIR (a tenant's directory of a
 *       collector's data directory, for bench_console.sh) and exits */
#include "collector/mtd_batch.h"
#include "common/mtd_buf.h"
#include "common/mtd_file.h"
#include "common/mtd_util.h"
#include "store/mtd_store.h"

#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RUNS 3

static int n_dev = 5000, n_app = 300;

static void device_id(int d, char out[32]) { snprintf(out, 32, "ps_dev%019d", d); }

/* One device's batch: device.info, its apps, and for 1 device in 10 two threats. */
static void fleet_batch(int d, mtd_buf *b)
{
    char dev[32];
    device_id(d, dev);
    mtd_buf_reset(b);
    const char *env = "\"schema\":1,\"time\":\"2026-11-24T10:00:00Z\",\"tenant_id\":\"t_bench\"";
    uint32_t seed = (uint32_t)d * 2654435761u + 1;
    mtd_buf_printf(b, "{\"event\":\"device.info\",%s,\"event_id\":\"I%d\",\"device_id\":\"%s\","
                      "\"os_name\":\"Android\",\"os_version\":\"14\",\"model\":\"Pixel 8\","
                      "\"device_id_source\":\"android_id\"}\n", env, d, dev);
    for (int a = 0; a < n_app; a++) {
        seed = seed * 1103515245u + 12345u;
        /* the first 100 apps are on every device; the others each come from a pool of 100 */
        int pkg = a < 100 ? a : 100 + (a - 100) * 100 + (int)((seed >> 8) % 100);
        int sms = seed % 200 == 0, side = (seed >> 3) % 100 == 0;
        mtd_buf_printf(b,
            "{\"event\":\"app.inventory\",%s,\"event_id\":\"A%d.%d\",\"device_id\":\"%s\","
            "\"package\":\"com.example.app%d\",\"version_code\":%d,\"version_name\":\"1.%d\","
            "\"install_source\":\"%s\",\"apk_sha256\":\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\","
            "\"permissions\":[\"android.permission.INTERNET\"%s],\"is_system\":false}\n",
            env, d, a, dev, pkg, a, a, side ? "com.android.chrome" : "com.android.vending",
            sms ? ",\"android.permission.READ_SMS\"" : "");
    }
    if (d % 10 == 0)
        for (int t = 0; t < 3; t++)
            mtd_buf_printf(b,
                "{\"event\":\"threat.detection\",%s,\"event_id\":\"T%d.%d\",\"device_id\":\"%s\","
                "\"threat_name\":\"%s\",\"category\":\"adware\",\"severity\":\"%s\",\"source\":\"app\","
                "\"evidence\":\"rule\",\"status\":\"%s\",\"package\":\"com.example.app%d\"}\n",
                env, d, t, dev, t == 0 ? "Adware.Generic" : "Trojan.SMS", t == 0 ? "low" : "high",
                t == 2 ? "resolved" : "active", t);
}

/* A batch of the live load: as many usage events as a device has apps (not more
 * inventory rows: each would lengthen the fleet-wide report it runs beside). */
static void live_batch(int d, int seq, mtd_buf *b)
{
    char dev[32];
    device_id(d, dev);
    mtd_buf_reset(b);
    for (int i = 0; i <= n_app; i++)
        mtd_buf_printf(b, "{\"event\":\"usage.action\",\"schema\":1,\"time\":\"2026-11-24T11:00:00Z\","
                          "\"tenant_id\":\"t_bench\",\"event_id\":\"L%d.%d\",\"device_id\":\"%s\","
                          "\"action\":\"scan_requested\"}\n", seq, i, dev);
}

/* Parses and stores one batch of JSON lines; returns the seconds the store took. */
static double store_raw(mtd_store *s, const char *key, const mtd_buf *raw)
{
    mtd_batch bt;
    mtd_batch_error err;
    mtd_batch_init(&bt);
    mtd_buf_append(&bt.raw, raw->data, raw->len);
    if (mtd_batch_parse(&bt, &err) != 0) {
        fprintf(stderr, "bench_reports: %s\n", err.detail);
        exit(1);
    }
    int stored;
    int64_t t0 = mtd_monotonic_ns();
    if (mtd_store_ingest(s, "", key, bt.ev, bt.n, &stored) != 0) {
        fprintf(stderr, "bench_reports: batch %s not stored\n", key);
        exit(1);
    }
    double secs = (mtd_monotonic_ns() - t0) / 1e9;
    mtd_batch_free(&bt);
    return secs;
}

/* Stores one batch of device d (its fleet batch, or a live one when seq >= 0);
 * returns its seconds. */
static double store_device(mtd_store *s, int d, int seq, const char *key, mtd_buf *raw)
{
    if (seq < 0)
        fleet_batch(d, raw);
    else
        live_batch(d, seq, raw);
    return store_raw(s, key, raw);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The floor: every inventory row read once, straight from SQLite. */
static double scan_floor(const char *dir)
{
    char path[600];
    sqlite3 *db;
    sqlite3_stmt *st;
    snprintf(path, sizeof path, "%s/store.sqlite", dir);
    sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
    int64_t t0 = mtd_monotonic_ns();
    sqlite3_prepare_v2(db, "SELECT sum(length(permissions)) FROM ev_app_inventory", -1, &st, NULL);
    sqlite3_step(st);
    sqlite3_finalize(st);
    double secs = (mtd_monotonic_ns() - t0) / 1e9;
    sqlite3_close(db);
    return secs;
}

typedef struct {
    const char *name;
    mtd_app_query q;
    int kind; /* 0 apps, 1 threats, 2 devices, 3 risk */
} report;

static size_t run_report(mtd_store *s, const report *r)
{
    json_t *out = NULL;
    char dev[32];
    device_id(10, dev);
    switch (r->kind) {
    case 0: out = mtd_store_apps(s, &r->q, NULL); break;
    case 1: out = mtd_store_threats(s, "active", NULL, NULL); break;
    case 2: out = mtd_store_devices(s, NULL); break;
    default: {
        json_t *o;
        if (mtd_store_device_risk(s, dev, &o) == 0)
            out = json_incref(json_object_get(o, "threats"));
        json_decref(o);
    }
    }
    size_t n = json_array_size(out);
    json_decref(out);
    return n;
}

typedef struct {
    mtd_store *s;
    const report *r;
    volatile int done;
} bg;

static void *report_thread(void *arg)
{
    bg *b = arg;
    run_report(b->s, b->r);
    b->done = 1;
    return NULL;
}

/* Devices upload at about the collector's own ingest rate (bench_ingest) */
#define LIVE_EVENTS_PER_S 150000

/* The slowest of the batches stored at LIVE_EVENTS_PER_S while a report runs (or for
 * as long as one would, when b is NULL). */
static double slowest_batch(mtd_store *s, bg *b, double for_secs, int *count, mtd_buf *raw)
{
    static int seq;
    double worst = 0;
    int64_t now = mtd_monotonic_ns(), end = now + (int64_t)(for_secs * 1e9), next = now;
    int64_t pace = (int64_t)(1e9 * (n_app + 1) / LIVE_EVENTS_PER_S);
    *count = 0;
    while (b ? !b->done : mtd_monotonic_ns() < end) {
        next += pace;
        for (int64_t t; (t = mtd_monotonic_ns()) < next;)
            usleep((useconds_t)((next - t) / 1000));
        char key[32];
        snprintf(key, sizeof key, "live-%d", seq++);
        double t = store_device(s, seq % n_dev, seq, key, raw);
        if (t > worst)
            worst = t;
        (*count)++;
    }
    return worst;
}

/* A device with a year of history: one batch every 15 minutes (5 usage events each),
 * the layout where finding a device's rows through its batches' row ranges costs most
 * (one range per batch). Times its risk (the endpoint an access-control system polls)
 * and a page of its usage events, against the same queries through an index on
 * device_id (what the event tables had before they lost their indexes), made for the
 * comparison on a connection of its own and dropped after. */
#define HISTORY_BATCHES 35040

static double median_of(double *t)
{
    qsort(t, RUNS, sizeof *t, cmp_d);
    return t[RUNS / 2];
}

static double time_sql(sqlite3 *db, const char *sql, const char *dev)
{
    double t[RUNS];
    for (int r = 0; r < RUNS; r++) {
        sqlite3_stmt *st;
        int64_t a = mtd_monotonic_ns();
        sqlite3_prepare_v2(db, sql, -1, &st, NULL);
        sqlite3_bind_text(st, 1, dev, -1, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW)
            ;
        sqlite3_finalize(st);
        t[r] = (mtd_monotonic_ns() - a) / 1e9;
    }
    return median_of(t);
}

static void device_history(mtd_store *s, const char *dir, mtd_buf *raw)
{
    char dev[32], key[32], path[128];
    device_id(10, dev);
    int64_t t0 = mtd_monotonic_ns();
    for (int b = 0; b < HISTORY_BATCHES; b++) {
        mtd_buf_reset(raw);
        for (int i = 0; i < 5; i++)
            mtd_buf_printf(raw, "{\"event\":\"usage.action\",\"schema\":1,\"time\":\"2026-11-24T11:00:00Z\","
                                "\"tenant_id\":\"t_bench\",\"event_id\":\"H%d.%d\",\"device_id\":\"%s\","
                                "\"action\":\"scan_requested\"}\n", b, i, dev);
        snprintf(key, sizeof key, "history-%d", b);
        store_raw(s, key, raw);
    }
    printf("reports: one device's year of history, %d batches of 5 events, stored in %.1f s\n",
           HISTORY_BATCHES, (mtd_monotonic_ns() - t0) / 1e9);
    double risk[RUNS], page[RUNS];
    for (int r = 0; r < RUNS; r++) {
        int64_t a = mtd_monotonic_ns();
        json_t *o = NULL;
        mtd_store_device_risk(s, dev, &o);
        json_decref(o);
        int64_t m = mtd_monotonic_ns();
        mtd_page pg = {.limit = 1000};
        json_decref(mtd_store_event_rows(s, "usage.action", dev, &pg));
        risk[r] = (m - a) / 1e9;
        page[r] = (mtd_monotonic_ns() - m) / 1e9;
    }
    sqlite3 *db;
    snprintf(path, sizeof path, "%s/store.sqlite", dir);
    sqlite3_open(path, &db);
    sqlite3_exec(db, "CREATE INDEX bench_thr_dev ON ev_threat_detection(device_id);"
                     "CREATE INDEX bench_use_dev ON ev_usage_action(device_id)", NULL, NULL, NULL);
    double irisk = time_sql(db, "SELECT t.*, m.first_seen FROM (SELECT max(row) AS r, min(time) AS first_seen"
                                " FROM ev_threat_detection WHERE device_id=?1 GROUP BY device_id,"
                                " coalesce(threat_id, threat_name || '/' || coalesce(package,''))) m"
                                " JOIN ev_threat_detection t ON t.row = m.r WHERE status='active'", dev);
    double ipage = time_sql(db, "SELECT * FROM ev_usage_action WHERE device_id=?1 ORDER BY row LIMIT 1001", dev);
    sqlite3_exec(db, "DROP INDEX bench_thr_dev; DROP INDEX bench_use_dev", NULL, NULL, NULL);
    sqlite3_close(db);
    printf("reports: risk of the device with history %.1f ms (through a device_id index: %.1f ms);"
           " a page of its usage events %.1f ms (through the index: %.1f ms)\n",
           median_of(risk) * 1e3, irisk * 1e3, median_of(page) * 1e3, ipage * 1e3);
}

/* Stores the fleet of n_dev devices into s. */
static void store_fleet(mtd_store *s, mtd_buf *raw)
{
    int64_t t0 = mtd_monotonic_ns();
    for (int d = 0; d < n_dev; d++) {
        char key[32];
        snprintf(key, sizeof key, "fleet-%d", d);
        store_device(s, d, -1, key, raw);
    }
    printf("reports: fleet of %d devices x %d apps stored in %.1f s\n", n_dev, n_app,
           (mtd_monotonic_ns() - t0) / 1e9);
}

/* --fill DIR: the fleet into an existing tenant's store, nothing measured. */
static int fill_only(const char *dir)
{
    mtd_store *s;
    char why[256];
    if (mtd_store_open(dir, &s, why, sizeof why) != 0) {
        fprintf(stderr, "bench_reports: %s\n", why);
        return 1;
    }
    mtd_buf raw;
    mtd_buf_init(&raw, 0);
    store_fleet(s, &raw);
    mtd_buf_free(&raw);
    mtd_store_close(s);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 2 && !strcmp(argv[1], "--fill")) {
        if (argc > 3) n_dev = atoi(argv[3]);
        if (argc > 4) n_app = atoi(argv[4]);
        return fill_only(argv[2]);
    }
    if (argc > 1) n_dev = atoi(argv[1]);
    if (argc > 2) n_app = atoi(argv[2]);
    char dir[] = "/tmp/mtd-bench-reports-XXXXXX", why[256];
    if (!mkdtemp(dir))
        return 1;
    mtd_store *s;
    if (mtd_store_open(dir, &s, why, sizeof why) != 0) {
        fprintf(stderr, "bench_reports: %s\n", why);
        return 1;
    }
    mtd_buf raw;
    mtd_buf_init(&raw, 0);
    store_fleet(s, &raw);
    report reports[] = {
        {"apps holding READ_SMS (fleet)", {.permission = "android.permission.READ_SMS"}, 0},
        {"sideloaded apps (fleet)", {.sideloaded = 1}, 0},
        {"who has com.example.app7", {.package = "com.example.app7"}, 0},
        {"apps of one device", {.device_id = "ps_dev0000000000000000042"}, 0},
        {"every current app (fleet)", {0}, 0},
        {"active threats (fleet)", {0}, 1},
        {"devices with risk", {0}, 2},
        {"risk of one device", {0}, 3},
    };
    double floor_t[RUNS];
    for (int r = 0; r < RUNS; r++)
        floor_t[r] = scan_floor(dir);
    qsort(floor_t, RUNS, sizeof *floor_t, cmp_d);
    double fl = floor_t[RUNS / 2];
    printf("reports: floor, every inventory row read once straight from SQLite: %.3f s\n", fl);
    /* a report that lists every row pays for JSON too: its floor is every row read once
     * into JSON through the store */
    double json_t0[RUNS];
    for (int r = 0; r < RUNS; r++) {
        int64_t a = mtd_monotonic_ns();
        json_decref(mtd_store_event_rows(s, "app.inventory", NULL, NULL));
        json_t0[r] = (mtd_monotonic_ns() - a) / 1e9;
    }
    qsort(json_t0, RUNS, sizeof *json_t0, cmp_d);
    printf("reports: floor, every inventory row read once into JSON: %.3f s\n", json_t0[RUNS / 2]);
    double fleet_secs = 0;
    for (size_t i = 0; i < sizeof reports / sizeof reports[0]; i++) {
        double t[RUNS];
        size_t rows = 0;
        for (int r = 0; r < RUNS; r++) {
            int64_t a = mtd_monotonic_ns();
            rows = run_report(s, &reports[i]);
            t[r] = (mtd_monotonic_ns() - a) / 1e9;
        }
        qsort(t, RUNS, sizeof *t, cmp_d);
        if (i == 4)
            fleet_secs = t[RUNS / 2];
        printf("reports: %-30s %8zu rows %8.3f s  %6.2fx the floor", reports[i].name, rows,
               t[RUNS / 2], t[RUNS / 2] / fl);
        if (i == 4)
            printf(", %.2fx the JSON floor", t[RUNS / 2] / json_t0[RUNS / 2]);
        printf("\n");
    }
    /* what the fleet-wide report costs the devices of the tenant */
    int n_quiet, n_busy;
    double quiet = slowest_batch(s, NULL, fleet_secs, &n_quiet, &raw);
    bg b = {.s = s, .r = &reports[4]};
    pthread_t th;
    pthread_create(&th, NULL, report_thread, &b);
    double busy = slowest_batch(s, &b, 0, &n_busy, &raw);
    pthread_join(th, NULL);
    printf("reports: devices uploading %d events/s: slowest batch while the fleet-wide report ran"
           " %.0f ms (%d batches), with no report %.0f ms (%d batches)\n", LIVE_EVENTS_PER_S,
           busy * 1e3, n_busy, quiet * 1e3, n_quiet);
    device_history(s, dir, &raw);
    mtd_store_close(s);
    mtd_buf_free(&raw);
    mtd_rm_rf(dir);
    return 0;
}
