/* pg_reports: bench_reports on the PostgreSQL store (issue 20.1): the same fleet
 * (report_fleet.c) and every report's first page and a page in the middle of it
 * (reached by its cursor), each through the store's API (what the collector's routes
 * call), against the floor of the same run: the same page read from a plain table of
 * exactly the report's rows (every column as the report answered it; a primary key on
 * the row number, no row-level security) in the tenant's schema, by its row number,
 * through the store's own reader (the tenant's pooled connection, its role, its JSON
 * and typing of each column). Run by bench_pg_reports.sh under tests/with-postgres.sh
 * (a cluster of its own: shared_buffers 128MB, fsync on).
 *
 * The fleet is stored through the store's own ingest (mtd_store_ingest_group, ten
 * devices' batches a transaction, as pg_ingest does): COPY would be faster but would
 * have to rebuild what the ingest keeps besides the event rows (devices, their info
 * row, batch keys), and a report reads those. Then ANALYZE, what autovacuum does
 * within a minute of such a load. The floor's rows are the report's own, read through
 * its API 50,000 at a time (a PostgreSQL report is one GROUP BY of the tenant's event
 * table however short its page: paging 1.5M rows 1,000 at a time would take hours)
 * and copied in by COPY; each timed page is also compared with its floor's rows.
 * Pages of 1,000 rows, medians of 5 runs; targets: every page under 200 ms and within
 * 3x of its floor.
 *
 *   pg_reports [DEVICES [APPS_PER_DEVICE]]   (1000 300; issue 20's fleet: 5000 300)
 *   pg_reports --fill [DEVICES [APPS_PER_DEVICE]]
 *       only stores the fleet into tenant 00000000benchrp1 and leaves it there (to
 *       EXPLAIN a report as its role: SET ROLE mtd_t_00000000benchrp1) */
#include "report_fleet.h"
#include "collector/mtd_batch.h"
#include "common/mtd_buf.h"
#include "common/mtd_util.h"
#include "store/mtd_store_pg_int.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RUNS 5
#define GROUP 10
#define FILL_PAGE 50000
#define TENANT "00000000benchrp1"
#define MAXCOL 32

/* Runs sql on the bench's own connection, exits on failure. */
static void must(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        fprintf(stderr, "pg_reports: %s: %s", sql, PQerrorMessage(c));
        exit(1);
    }
    PQclear(r);
}

/* GROUP devices' batches, parsed, stored as one group commit. */
static void store_group(mtd_store *s, int first, int n, mtd_buf *raw)
{
    mtd_batch bt[GROUP];
    mtd_store_batch sb[GROUP];
    char keys[GROUP][32];
    for (int k = 0; k < n; k++) {
        mtd_batch_error err;
        rf_fleet_batch(first + k, raw);
        mtd_batch_init(&bt[k]);
        mtd_buf_append(&bt[k].raw, raw->data, raw->len);
        if (mtd_batch_parse(&bt[k], &err) != 0) {
            fprintf(stderr, "pg_reports: %s\n", err.detail);
            exit(1);
        }
        snprintf(keys[k], sizeof keys[k], "fleet-%d", first + k);
        sb[k] = (mtd_store_batch){.cred_hash = "", .idem_key = keys[k], .events = bt[k].ev, .n = bt[k].n,
                                  .next = k + 1 < n ? &sb[k + 1] : NULL};
    }
    mtd_store_ingest_group(s, sb);
    for (int k = 0; k < n; k++) {
        if (sb[k].result != 0) {
            fprintf(stderr, "pg_reports: batch %s not stored (%d)\n", keys[k], sb[k].result);
            exit(1);
        }
        mtd_batch_free(&bt[k]);
    }
}

static void store_fleet(mtd_store *s, PGconn *c)
{
    mtd_buf raw;
    mtd_buf_init(&raw, 0);
    int64_t t0 = mtd_monotonic_ns();
    for (int d = 0; d < rf_n_dev; d += GROUP)
        store_group(s, d, rf_n_dev - d < GROUP ? rf_n_dev - d : GROUP, &raw);
    double secs = (mtd_monotonic_ns() - t0) / 1e9;
    mtd_buf_free(&raw);
    int64_t a = mtd_monotonic_ns();
    must(c, "ANALYZE");
    printf("reports: fleet of %d devices x %d apps stored by the store's ingest in %.1f s (%.0f events/s),"
           " ANALYZE %.1f s\n", rf_n_dev, rf_n_app, secs, rf_n_dev * (rf_n_app + 1.3) / secs,
           (mtd_monotonic_ns() - a) / 1e9);
}

/* The floor of one report: its rows, in its order, in a table of their own. */
typedef struct {
    int64_t rows;
    int ncol;
    char cols[MAXCOL][40];
    char mid_cursor[MTD_CURSOR_MAX]; /* the report's cursor to its middle page */
    int64_t mid_seq;                 /* the floor's row before that page */
    char sql[2048];                  /* its page after row $1 */
} floor_tab;

/* A column's type, from its first value that is not null among rows. */
static const char *col_type(json_t *rows, const char *col)
{
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        json_t *v = json_object_get(row, col);
        if (json_is_integer(v))
            return "bigint";
        if (json_is_boolean(v))
            return "boolean";
        if (json_is_real(v))
            return "double precision";
        if (v && !json_is_null(v))
            return "text";
    }
    return "text";
}

static void floor_create(PGconn *c, floor_tab *f, json_t *rows)
{
    mtd_buf b, q;
    mtd_buf_init(&b, 0);
    mtd_buf_init(&q, 0);
    mtd_buf_puts(&b, "CREATE TABLE t_" TENANT ".bench_floor(seq bigint PRIMARY KEY");
    mtd_buf_puts(&q, "SELECT ");
    const char *k;
    json_t *v;
    f->ncol = 0;
    json_object_foreach(json_array_get(rows, 0), k, v) {
        if (f->ncol == MAXCOL)
            break;
        snprintf(f->cols[f->ncol], sizeof f->cols[0], "%s", k);
        mtd_buf_printf(&b, ", \"%s\" %s", k, col_type(rows, k));
        mtd_buf_printf(&q, "%s\"%s\"", f->ncol ? ", " : "", k);
        f->ncol++;
    }
    mtd_buf_puts(&b, "); GRANT SELECT ON t_" TENANT ".bench_floor TO mtd_t_" TENANT);
    mtd_buf_puts(&q, " FROM bench_floor WHERE seq > $1::bigint ORDER BY seq LIMIT 1001");
    mtd_buf_append(&b, "", 1);
    mtd_buf_append(&q, "", 1);
    must(c, (const char *)b.data);
    snprintf(f->sql, sizeof f->sql, "%s", (const char *)q.data);
    mtd_buf_free(&b);
    mtd_buf_free(&q);
}

/* One value in COPY's text format. */
static void copy_value(mtd_buf *o, json_t *v)
{
    char *dumped = NULL;
    const char *s;
    if (!v || json_is_null(v)) {
        mtd_buf_puts(o, "\\N");
        return;
    }
    if (json_is_integer(v)) {
        mtd_buf_printf(o, "%lld", (long long)json_integer_value(v));
        return;
    }
    if (json_is_boolean(v)) {
        mtd_buf_puts(o, json_is_true(v) ? "t" : "f");
        return;
    }
    if (json_is_real(v)) {
        mtd_buf_printf(o, "%.17g", json_real_value(v));
        return;
    }
    s = json_is_string(v) ? json_string_value(v) : (dumped = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY));
    for (; s && *s; s++) {
        if (*s == '\\' || *s == '\t' || *s == '\n' || *s == '\r')
            mtd_buf_printf(o, "\\%c", *s == '\t' ? 't' : *s == '\n' ? 'n' : *s == '\r' ? 'r' : '\\');
        else
            mtd_buf_append(o, s, 1);
    }
    free(dumped);
}

/* rows, numbered on from f->rows, into the floor by COPY. */
static void floor_copy(PGconn *c, floor_tab *f, json_t *rows)
{
    mtd_buf o;
    mtd_buf_init(&o, 0);
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        mtd_buf_printf(&o, "%lld", (long long)++f->rows);
        for (int k = 0; k < f->ncol; k++) {
            mtd_buf_append(&o, "\t", 1);
            copy_value(&o, json_object_get(row, f->cols[k]));
        }
        mtd_buf_append(&o, "\n", 1);
    }
    PGresult *r = PQexec(c, "COPY t_" TENANT ".bench_floor FROM STDIN");
    if (PQresultStatus(r) != PGRES_COPY_IN || PQputCopyData(c, (char *)o.data, (int)o.len) != 1 ||
        PQputCopyEnd(c, NULL) != 1) {
        fprintf(stderr, "pg_reports: COPY: %s", PQerrorMessage(c));
        exit(1);
    }
    PQclear(r);
    while ((r = PQgetResult(c))) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            fprintf(stderr, "pg_reports: COPY: %s", PQerrorMessage(c));
            exit(1);
        }
        PQclear(r);
    }
    mtd_buf_free(&o);
}

static json_t *must_page(mtd_store *s, const rf_report *r, const char *cursor, int64_t limit, mtd_page *pg)
{
    json_t *rows = rf_report_page(s, r, cursor, limit, pg);
    if (!rows) {
        fprintf(stderr, "pg_reports: %s: a page failed\n", r->name);
        exit(1);
    }
    return rows;
}

/* Reads report r whole, FILL_PAGE rows a page, into its floor; then walks to its
 * middle page boundary (a multiple of RF_PAGE) for the cursor there. */
static void floor_fill(mtd_store *s, PGconn *c, const rf_report *r, floor_tab *f)
{
    char cursor[MTD_CURSOR_MAX] = "";
    mtd_page pg;
    must(c, "DROP TABLE IF EXISTS t_" TENANT ".bench_floor");
    f->rows = 0;
    f->ncol = 0;
    do {
        json_t *rows = must_page(s, r, cursor[0] ? cursor : NULL, FILL_PAGE, &pg);
        if (!f->ncol && json_array_size(rows))
            floor_create(c, f, rows);
        if (json_array_size(rows))
            floor_copy(c, f, rows);
        json_decref(rows);
        snprintf(cursor, sizeof cursor, "%s", pg.more ? pg.next_cursor : "");
    } while (cursor[0]);
    must(c, "ANALYZE t_" TENANT ".bench_floor");
    f->mid_cursor[0] = 0;
    if (f->rows <= RF_PAGE)
        return;
    int64_t want = f->rows / 2 / RF_PAGE * RF_PAGE, got = 0;
    while (got < want) {
        int64_t lim = want - got < FILL_PAGE ? want - got : FILL_PAGE;
        json_t *rows = must_page(s, r, got ? f->mid_cursor : NULL, lim, &pg);
        got += (int64_t)json_array_size(rows);
        json_decref(rows);
        snprintf(f->mid_cursor, sizeof f->mid_cursor, "%s", pg.next_cursor);
    }
    f->mid_seq = want;
}

/* The floor's page after its row seq, read as the store reads a report. */
static json_t *floor_page(mtd_store *s, floor_tab *f, int64_t after)
{
    char a[24];
    snprintf(a, sizeof a, "%lld", (long long)after);
    const char *p[] = {a};
    return mtd_pg_report(mtd_pg_of(s), f->sql, 1, p, NULL);
}

/* Medians of RUNS reads of one page of the report and of its floor; 1 when both
 * targets are met and the page is its floor's rows. */
static int time_page(mtd_store *s, const rf_report *r, floor_tab *f, int deep)
{
    double t[RUNS], ft[RUNS];
    json_t *out = NULL, *fl = NULL;
    for (int i = 0; i < RUNS; i++) {
        mtd_page pg;
        json_decref(out);
        json_decref(fl);
        int64_t a = mtd_monotonic_ns();
        out = must_page(s, r, deep ? f->mid_cursor : NULL, RF_PAGE, &pg);
        t[i] = (mtd_monotonic_ns() - a) / 1e9;
        a = mtd_monotonic_ns();
        fl = floor_page(s, f, deep ? f->mid_seq : 0);
        ft[i] = (mtd_monotonic_ns() - a) / 1e9;
    }
    size_t rows = json_array_size(out), frows = json_array_size(fl);
    /* the floor reads one row more than a page, as the report does */
    if (fl && frows > rows)
        json_array_remove(fl, frows - 1);
    int same = fl && json_equal(out, fl);
    double m = rf_median(t, RUNS), fm = rf_median(ft, RUNS);
    int ok = same && m < 0.2 && m <= 3 * fm;
    printf("reports: %-32s %-6s %5zu rows %8.2f ms, floor %6.2f ms (%5zu rows): %5.2fx %s%s\n", r->name,
           deep ? "middle" : "first", rows, m * 1e3, fm * 1e3, frows, m / fm, ok ? "met" : "NOT met",
           same ? "" : " (rows differ from the floor's)");
    json_decref(out);
    json_decref(fl);
    return ok;
}

static mtd_store *open_tenant(mtd_store_cluster **cl, const char *url)
{
    char why[256];
    mtd_store *s;
    if (mtd_store_pg_open(url, 4, cl, why, sizeof why) != 0) {
        fprintf(stderr, "pg_reports: %s\n", why);
        exit(1);
    }
    mtd_store_pg_tenant_delete(*cl, TENANT);
    if (mtd_store_pg_tenant_create(*cl, TENANT, "bench", TENANT,
                                   "0000000000000000000000000000000000000000000000000000000000000000", 0) != 0 ||
        mtd_store_pg_open_tenant(*cl, TENANT, &s) != 0) {
        fprintf(stderr, "pg_reports: tenant not created\n");
        exit(1);
    }
    return s;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0); /* each figure as it comes, also into a file */
    int fill_only = argc > 1 && !strcmp(argv[1], "--fill");
    argv += fill_only, argc -= fill_only;
    rf_n_dev = argc > 1 ? atoi(argv[1]) : 1000;
    rf_n_app = argc > 2 ? atoi(argv[2]) : 300;
    const char *url = getenv("MTD_PG_URL");
    if (!url || rf_n_dev < 1 || rf_n_app < 1) {
        fprintf(stderr, "usage: MTD_PG_URL=... pg_reports [DEVICES [APPS_PER_DEVICE]]"
                        " (run by bench/bench_pg_reports.sh under tests/with-postgres.sh)\n");
        return 1;
    }
    snprintf(rf_tenant, sizeof rf_tenant, "%s", TENANT);
    mtd_store_cluster *cl;
    mtd_store *s = open_tenant(&cl, url);
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "pg_reports: %s", PQerrorMessage(c));
        return 1;
    }
    /* no NOTICE of a table not there to drop, no WARNING of the catalogs ANALYZE skips */
    must(c, "SET client_min_messages = error");
    store_fleet(s, c);
    if (fill_only) {
        PQfinish(c);
        mtd_store_close(s);
        mtd_store_pg_close(cl);
        return 0;
    }
    int met = 0, pages = 0;
    for (int i = 0; i < RF_NREPORTS; i++) {
        floor_tab f;
        int64_t a = mtd_monotonic_ns();
        floor_fill(s, c, &rf_reports[i], &f);
        printf("reports: %s: %lld rows (its floor filled in %.1f s)\n", rf_reports[i].name, (long long)f.rows,
               (mtd_monotonic_ns() - a) / 1e9);
        if (!f.rows) {
            fprintf(stderr, "pg_reports: %s: no rows\n", rf_reports[i].name);
            return 1;
        }
        met += time_page(s, &rf_reports[i], &f, 0), pages++;
        if (f.mid_cursor[0])
            met += time_page(s, &rf_reports[i], &f, 1), pages++;
    }
    must(c, "DROP TABLE IF EXISTS t_" TENANT ".bench_floor");
    printf("reports: PostgreSQL, %d devices x %d apps: %d of %d pages under 200 ms and within 3x of their floor"
           " (targets: all)\n", rf_n_dev, rf_n_app, met, pages);
    PQfinish(c);
    mtd_store_close(s);
    mtd_store_pg_tenant_delete(cl, TENANT);
    mtd_store_pg_close(cl);
    return 0;
}
