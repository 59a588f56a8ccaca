/* bench_reports: the admin reports over a fleet of 5,000 devices with 300 apps each
 * (1.5 million app.inventory rows): every report's first page and a page in the
 * middle of it (reached by its cursor), each against the floor of the same run: the
 * same page read from a plain table of exactly the report's rows (every column as
 * the report answers it), by its row number, in the store's file and through the
 * store's own reader (the report connection, its JSON and typing of each column).
 * Also measures what a report costs the devices: the slowest batch stored while the
 * fleet-wide report is paged through and the fleet's devices upload usage events at
 * the collector's own rate, against the slowest with no report running.
 *
 * The fleet (report_fleet.c, shared with pg_reports, the same on PostgreSQL): 100 apps
 * on every device, the others each from a pool of 100 packages, READ_SMS held by 1 app
 * in 200, 1 app in 100 sideloaded, and 1 device in 10 with an active threat and a
 * resolved one. Pages of 1,000 rows (the API's default), medians
 * of 5 runs; targets: every page under 200 ms and within 3x of its floor. Last, one
 * device gets a year of history (device_history) and its per-device queries are timed
 * against the same queries through a device_id index.
 *
 *   bench_reports [DEVICES [APPS_PER_DEVICE]]   (5000 300)
 *   bench_reports --delete [DEVICES [APPS_PER_DEVICE]]
 *       only the fleet's first page and what a user's deletion costs (delete_costs)
 *   bench_reports --retention [DEVICES [APPS_PER_DEVICE]]
 *       the same for a retention run that deletes one device's rows
 *   bench_reports --fill DIR [DEVICES [APPS_PER_DEVICE]]
 *       only stores the fleet into the store in DIR (a tenant's directory of a
 *       collector's data directory, for bench_console.sh) and exits */
#include "report_fleet.h"
#include "collector/mtd_batch.h"
#include "common/mtd_buf.h"
#include "common/mtd_file.h"
#include "common/mtd_util.h"
#include "store/mtd_store.h"
#include "store/mtd_store_sqlite_int.h"

#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RUNS 5
#define PAGE RF_PAGE

/* A batch of the live load: as many usage events as a device has apps (not more
 * inventory rows: each would lengthen the fleet-wide report it runs beside). */
static void live_batch(int d, int seq, mtd_buf *b)
{
    char dev[32];
    rf_device_id(d, dev);
    mtd_buf_reset(b);
    for (int i = 0; i <= rf_n_app; i++)
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
        rf_fleet_batch(d, raw);
    else
        live_batch(d, seq, raw);
    return store_raw(s, key, raw);
}

/* The floor of one report: its rows, in its order, in a table of their own. */
typedef struct {
    sqlite3 *db;
    int64_t rows;
    int ncol;
    char cols[32][40];
    int list[32];        /* a list column: parsed back, as the store's reader does */
    char mid_cursor[MTD_CURSOR_MAX]; /* the report's cursor to its middle page */
    int64_t mid_seq;     /* the floor's row before that page */
} floor_tab;

static void floor_create(floor_tab *f, json_t *row)
{
    mtd_buf b;
    mtd_buf_init(&b, 0);
    mtd_buf_puts(&b, "CREATE TABLE bench_floor(seq INTEGER PRIMARY KEY");
    const char *k;
    json_t *v;
    f->ncol = 0;
    json_object_foreach(row, k, v) {
        if (f->ncol == 32)
            break;
        snprintf(f->cols[f->ncol], sizeof f->cols[0], "%s", k);
        f->list[f->ncol] = json_is_array(v) || json_is_object(v);
        mtd_buf_printf(&b, ", \"%s\"", k);
        f->ncol++;
    }
    mtd_buf_puts(&b, ")");
    mtd_buf_append(&b, "", 1);
    sqlite3_exec(f->db, (const char *)b.data, NULL, NULL, NULL);
    mtd_buf_free(&b);
}

static void floor_insert(floor_tab *f, json_t *rows)
{
    if (!f->ncol && json_array_size(rows))
        floor_create(f, json_array_get(rows, 0));
    mtd_buf b;
    mtd_buf_init(&b, 0);
    mtd_buf_puts(&b, "INSERT INTO bench_floor VALUES(?");
    for (int c = 0; c < f->ncol; c++)
        mtd_buf_puts(&b, ",?");
    mtd_buf_puts(&b, ")");
    mtd_buf_append(&b, "", 1);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(f->db, (const char *)b.data, -1, &st, NULL);
    mtd_buf_free(&b);
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, ++f->rows);
        for (int c = 0; c < f->ncol; c++) {
            json_t *v = json_object_get(row, f->cols[c]);
            if (json_is_string(v))
                sqlite3_bind_text(st, c + 2, json_string_value(v), -1, SQLITE_TRANSIENT);
            else if (json_is_integer(v))
                sqlite3_bind_int64(st, c + 2, json_integer_value(v));
            else if (json_is_boolean(v))
                sqlite3_bind_int(st, c + 2, json_is_true(v));
            else if (json_is_array(v) || json_is_object(v)) {
                char *t = json_dumps(v, JSON_COMPACT);
                sqlite3_bind_text(st, c + 2, t, -1, free);
            } else
                sqlite3_bind_null(st, c + 2);
        }
        sqlite3_step(st);
    }
    sqlite3_finalize(st);
}

/* Pages through report r once, each page's rows into the floor; keeps the cursor to
 * the middle page. */
static void floor_fill(mtd_store *s, const rf_report *r, floor_tab *f, const char *path)
{
    sqlite3_open(path, &f->db);
    sqlite3_busy_timeout(f->db, 10000);
    sqlite3_exec(f->db, "DROP TABLE IF EXISTS bench_floor; BEGIN", NULL, NULL, NULL);
    char cursor[MTD_CURSOR_MAX] = "";
    int64_t total = 0;
    mtd_page pg;
    f->mid_cursor[0] = 0;
    /* the rows first, to know where the middle is: counted as the pages come */
    json_t *rows;
    int64_t mid_want = -1;
    for (int pass = 0; pass < 2; pass++) {
        cursor[0] = 0;
        f->rows = 0;
        total = 0;
        do {
            rows = rf_report_page(s, r, cursor[0] ? cursor : NULL, PAGE, &pg);
            if (!rows) {
                fprintf(stderr, "bench_reports: %s: a page failed\n", r->name);
                exit(1);
            }
            if (pass == 1)
                floor_insert(f, rows);
            total += (int64_t)json_array_size(rows);
            json_decref(rows);
            snprintf(cursor, sizeof cursor, "%s", pg.more ? pg.next_cursor : "");
            if (pass == 1 && mid_want >= 0 && total == mid_want && cursor[0]) {
                snprintf(f->mid_cursor, sizeof f->mid_cursor, "%s", cursor);
                f->mid_seq = total;
            }
        } while (cursor[0]);
        mid_want = total > PAGE ? total / 2 / PAGE * PAGE : -1;
    }
    sqlite3_exec(f->db, "COMMIT", NULL, NULL, NULL);
    f->rows = total;
}

/* The floor's page after its row seq, read as the store reads a report. */
static size_t floor_page(mtd_store *s, floor_tab *f, int64_t after)
{
    mtd_buf b;
    mtd_buf_init(&b, 0);
    mtd_buf_puts(&b, "SELECT ");
    for (int c = 0; c < f->ncol; c++)
        mtd_buf_printf(&b, "%s\"%s\"", c ? ", " : "", f->cols[c]);
    mtd_buf_puts(&b, " FROM bench_floor WHERE seq > CAST(? AS INTEGER) ORDER BY seq LIMIT 1001");
    mtd_buf_append(&b, "", 1);
    char a[24];
    snprintf(a, sizeof a, "%lld", (long long)after);
    const char *p[] = {a};
    json_t *rows = mtd_sq_report(s, (const char *)b.data, 1, p);
    mtd_buf_free(&b);
    size_t n = json_array_size(rows);
    json_decref(rows);
    return n;
}

/* Medians of RUNS reads of one page of the report and of its floor; 1 when both
 * targets are met. */
static int time_page(mtd_store *s, const rf_report *r, floor_tab *f, int deep)
{
    double t[RUNS], ft[RUNS];
    size_t rows = 0, frows = 0;
    for (int i = 0; i < RUNS; i++) {
        mtd_page pg;
        int64_t a = mtd_monotonic_ns();
        json_t *out = rf_report_page(s, r, deep ? f->mid_cursor : NULL, PAGE, &pg);
        t[i] = (mtd_monotonic_ns() - a) / 1e9;
        rows = json_array_size(out);
        json_decref(out);
        a = mtd_monotonic_ns();
        frows = floor_page(s, f, deep ? f->mid_seq : 0);
        ft[i] = (mtd_monotonic_ns() - a) / 1e9;
    }
    double m = rf_median(t, RUNS), fm = rf_median(ft, RUNS);
    int ok = m < 0.2 && m <= 3 * fm;
    printf("reports: %-32s %-6s %5zu rows %8.2f ms, floor %6.2f ms (%5zu rows): %5.2fx %s\n", r->name,
           deep ? "middle" : "first", rows, m * 1e3, fm * 1e3, frows, m / fm, ok ? "met" : "NOT met");
    return ok;
}

typedef struct {
    mtd_store *s;
    const rf_report *r;
    volatile int done;
} bg;

/* The fleet-wide report paged through to its end, as mtdctl --all does. */
static void *report_thread(void *arg)
{
    bg *b = arg;
    char cursor[MTD_CURSOR_MAX] = "";
    mtd_page pg;
    do {
        json_decref(rf_report_page(b->s, b->r, cursor[0] ? cursor : NULL, PAGE, &pg));
        snprintf(cursor, sizeof cursor, "%s", pg.more ? pg.next_cursor : "");
    } while (cursor[0]);
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
    int64_t pace = (int64_t)(1e9 * (rf_n_app + 1) / LIVE_EVENTS_PER_S);
    *count = 0;
    while (b ? !b->done : mtd_monotonic_ns() < end) {
        next += pace;
        for (int64_t t; (t = mtd_monotonic_ns()) < next;)
            usleep((useconds_t)((next - t) / 1000));
        char key[32];
        snprintf(key, sizeof key, "live-%d", seq++);
        double t = store_device(s, seq % rf_n_dev, seq, key, raw);
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
    return rf_median(t, RUNS);
}

static void device_history(mtd_store *s, const char *dir, mtd_buf *raw)
{
    char dev[32], key[32], path[128];
    rf_device_id(10, dev);
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
           rf_median(risk, RUNS) * 1e3, irisk * 1e3, rf_median(page, RUNS) * 1e3, ipage * 1e3);
}

/* Stores the fleet of rf_n_dev devices into s. */
static void store_fleet(mtd_store *s, mtd_buf *raw)
{
    int64_t t0 = mtd_monotonic_ns();
    for (int d = 0; d < rf_n_dev; d++) {
        char key[32];
        snprintf(key, sizeof key, "fleet-%d", d);
        store_device(s, d, -1, key, raw);
    }
    printf("reports: fleet of %d devices x %d apps stored in %.1f s\n", rf_n_dev, rf_n_app,
           (mtd_monotonic_ns() - t0) / 1e9);
}

/* What a change of the tenant's trusted_stores costs (issue 20.1): the policy write
 * that sets the summaries' side of the fleet's apps again (mtd_sq_sum_side), trusting
 * the browser the fleet's sideloaded apps come from and then not, against a policy
 * write that changes another key (its floor: no app's side to set), medians of RUNS;
 * and the sideloaded page after each (it must be empty while the browser is trusted). */
static void policy_change(mtd_store *s, const rf_report *side)
{
    double set[RUNS], other[RUNS];
    size_t rows_trusted = 0, rows_back = 0;
    char why[128];
    for (int i = 0; i < RUNS; i++) {
        mtd_policy p;
        mtd_policy_default(&p);
        json_t *o = json_pack("{s:[s,s]}", "trusted_stores", "com.android.vending", "com.android.chrome");
        mtd_policy_from_json(&p, o, why, sizeof why);
        json_decref(o);
        int64_t a = mtd_monotonic_ns();
        mtd_store_policy_set(s, &p);
        int64_t b = mtd_monotonic_ns();
        mtd_page pg;
        json_t *rows = rf_report_page(s, side, NULL, PAGE, &pg);
        rows_trusted += json_array_size(rows);
        json_decref(rows);
        mtd_policy_default(&p);
        mtd_store_policy_set(s, &p);
        rows = rf_report_page(s, side, NULL, PAGE, &pg);
        rows_back = json_array_size(rows);
        json_decref(rows);
        p.retention_feedback_days = 80 + i; /* the stores stay: only the write */
        int64_t d = mtd_monotonic_ns();
        mtd_store_policy_set(s, &p);
        other[i] = (mtd_monotonic_ns() - d) / 1e6;
        set[i] = (b - a) / 1e6; /* the write that trusts the browser */
    }
    printf("reports: trusted_stores changed (side set again): policy write %.1f ms, another key's %.2f ms;"
           " sideloaded rows while trusted %zu (want 0), after %zu\n",
           rf_median(set, RUNS), rf_median(other, RUNS), rows_trusted, rows_back);
}

/* The deletes whose cost to the reports delete_costs measures. */
enum { DEL_USER, DEL_RETENTION };

/* Run i's device for a delete of kind: a user's (its device.info names the user), or
 * one whose rows are made old (received in 1970, as if stored years ago; the
 * summaries do not read received_at) for retention to delete. */
static void delete_device(mtd_store *s, int kind, int i, mtd_buf *raw)
{
    char key[32], dev[32], sql[160];
    int d = kind == DEL_USER ? rf_n_dev + i : rf_n_dev + 10 * (i + 1); /* threats on 1 device in 10 */
    rf_fleet_batch(d, raw);
    snprintf(key, sizeof key, "%s-%d", kind == DEL_USER ? "user" : "old", i);
    if (kind == DEL_RETENTION) {
        store_raw(s, key, raw);
        static const char *const aged[] = {"ev_device_info", "ev_app_inventory", "ev_threat_detection"};
        rf_device_id(d, dev);
        pthread_mutex_lock(&s->mu);
        for (size_t t = 0; t < sizeof aged / sizeof aged[0]; t++) {
            snprintf(sql, sizeof sql, "UPDATE %s SET received_at = 1000 WHERE device_id = '%s'", aged[t], dev);
            sqlite3_exec(s->db, sql, NULL, NULL, NULL);
        }
        pthread_mutex_unlock(&s->mu);
        return;
    }
    const char *data = (const char *)raw->data, *at = strstr(data, "\"os_name\"");
    mtd_buf b;
    mtd_buf_init(&b, 0);
    mtd_buf_append(&b, raw->data, (size_t)(at - data));
    mtd_buf_printf(&b, "\"upn\":\"ps_benchuser%013d\",", i);
    mtd_buf_puts(&b, at);
    store_raw(s, key, &b);
    mtd_buf_free(&b);
}

/* The delete of run i's device; the rows it deleted. */
static int delete_run(mtd_store *s, int kind, int i)
{
    int rows = 0;
    if (kind == DEL_RETENTION) {
        mtd_policy pol;
        mtd_policy_default(&pol);
        if (mtd_store_retention(s, &pol, time(NULL), &rows) != 0)
            fprintf(stderr, "bench_reports: retention failed\n");
        return rows;
    }
    char upn[32];
    snprintf(upn, sizeof upn, "ps_benchuser%013d", i);
    if (mtd_store_user_delete(s, upn, upn, "admin:bench", &rows) != 0)
        fprintf(stderr, "bench_reports: user %s not deleted\n", upn);
    return rows;
}

/* What a delete costs the reports (issue 20.1): a device is stored and reported (the
 * summaries cover it), its rows deleted (a user's deletion, or a retention run), and
 * the fleet-wide report's first page timed after the delete, against the same page
 * with nothing deleted (its floor), medians of RUNS. Where the delete emptied the
 * summaries, the page after it waited for them to be built again from the whole
 * fleet. */
static void delete_costs(mtd_store *s, const rf_report *r, int kind, mtd_buf *raw)
{
    double del[RUNS], after[RUNS], still[RUNS];
    int gone = 0;
    for (int i = 0; i < RUNS; i++) {
        delete_device(s, kind, i, raw);
        mtd_page pg;
        json_decref(rf_report_page(s, r, NULL, PAGE, &pg)); /* the summaries cover the device */
        int64_t a = mtd_monotonic_ns();
        json_decref(rf_report_page(s, r, NULL, PAGE, &pg));
        still[i] = (mtd_monotonic_ns() - a) / 1e6;
        a = mtd_monotonic_ns();
        gone += delete_run(s, kind, i);
        int64_t m = mtd_monotonic_ns();
        json_decref(rf_report_page(s, r, NULL, PAGE, &pg));
        del[i] = (m - a) / 1e6;
        after[i] = (mtd_monotonic_ns() - m) / 1e6;
    }
    printf("reports: %s (1 device, %d rows each): the delete %.1f ms, the first page after it %.1f ms,"
           " with nothing deleted %.1f ms (%.1fx)\n", kind == DEL_USER ? "a user's deletion" : "a retention run",
           gone / RUNS, rf_median(del, RUNS), rf_median(after, RUNS), rf_median(still, RUNS),
           rf_median(after, RUNS) / rf_median(still, RUNS));
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
        if (argc > 3) rf_n_dev = atoi(argv[3]);
        if (argc > 4) rf_n_app = atoi(argv[4]);
        return fill_only(argv[2]);
    }
    int only_delete = argc > 1 && !strcmp(argv[1], "--delete");
    int only_retention = argc > 1 && !strcmp(argv[1], "--retention");
    argv += only_delete || only_retention, argc -= only_delete || only_retention;
    if (argc > 1) rf_n_dev = atoi(argv[1]);
    if (argc > 2) rf_n_app = atoi(argv[2]);
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
    const rf_report *reports = rf_reports;
    /* the first page after the fleet was stored: the summaries catch up first */
    mtd_page pg0;
    int64_t c0 = mtd_monotonic_ns();
    json_decref(rf_report_page(s, &reports[RF_FLEET_APPS], NULL, PAGE, &pg0));
    printf("reports: first page after the fleet was stored (summaries caught up): %.1f ms\n",
           (mtd_monotonic_ns() - c0) / 1e6);
    if (only_delete || only_retention) {
        delete_costs(s, &reports[RF_FLEET_APPS], only_delete ? DEL_USER : DEL_RETENTION, &raw);
        goto done;
    }
    int met = 0, pages = 0;
    double fleet_secs = 0;
    for (size_t i = 0; i < RF_NREPORTS; i++) {
        floor_tab f = {0};
        char path[600];
        snprintf(path, sizeof path, "%s/store.sqlite", dir);
        int64_t a = mtd_monotonic_ns();
        floor_fill(s, &reports[i], &f, path);
        if (i == RF_FLEET_APPS)
            fleet_secs = (mtd_monotonic_ns() - a) / 1e9 / 2; /* it pages through twice */
        printf("reports: %s: %lld rows\n", reports[i].name, (long long)f.rows);
        met += time_page(s, &reports[i], &f, 0), pages++;
        if (f.mid_cursor[0])
            met += time_page(s, &reports[i], &f, 1), pages++;
        sqlite3_exec(f.db, "DROP TABLE bench_floor", NULL, NULL, NULL);
        sqlite3_close(f.db);
    }
    printf("reports: %d of %d pages under 200 ms and within 3x of their floor (targets: all)\n", met, pages);
    policy_change(s, &reports[1]);
    /* what the fleet-wide report costs the devices of the tenant */
    int n_quiet, n_busy;
    double quiet = slowest_batch(s, NULL, fleet_secs, &n_quiet, &raw);
    bg b = {.s = s, .r = &reports[RF_FLEET_APPS]};
    pthread_t th;
    pthread_create(&th, NULL, report_thread, &b);
    double busy = slowest_batch(s, &b, 0, &n_busy, &raw);
    pthread_join(th, NULL);
    printf("reports: devices uploading %d events/s: slowest batch while the fleet-wide report ran"
           " %.0f ms (%d batches), with no report %.0f ms (%d batches)\n", LIVE_EVENTS_PER_S,
           busy * 1e3, n_busy, quiet * 1e3, n_quiet);
    device_history(s, dir, &raw);
    delete_costs(s, &reports[RF_FLEET_APPS], DEL_USER, &raw);
    delete_costs(s, &reports[RF_FLEET_APPS], DEL_RETENTION, &raw);
done:
    mtd_store_close(s);
    mtd_buf_free(&raw);
    mtd_rm_rf(dir);
    return 0;
}
