/* pg_ingest: the store's ingest on PostgreSQL against two peers measured in the same
 * run on the same rows: PostgreSQL's own COPY (text format) of those rows into a table
 * of the same columns, and the SQLite backend. Run by bench_pg.sh under
 * tests/with-postgres.sh (a cluster of its own, fsync and synchronous_commit on).
 *
 * Each backend gets the batches decoded up front, in the order a collector receives
 * them (every device's first batch, then every second...), committed ten batches per
 * transaction through mtd_store_ingest_group, as bench_ingest's direct floor does; the
 * COPY peer sends the same ten batches' rows per COPY, one COPY per transaction. So
 * the ratio to COPY is what the backend's SQL (batch keys, devices, multi-row INSERT
 * from arrays) costs over the fastest way PostgreSQL has to take the rows.
 *
 * Medians of 3 runs, each into a fresh SQLite directory, a fresh tenant schema and a
 * fresh COPY table.
 *
 *   pg_ingest [DEVICES [BATCHES_PER_DEVICE [EVENTS_PER_BATCH]]]   (200 5 200) */
#include "collector/mtd_batch.h"
#include "common/mtd_buf.h"
#include "common/mtd_file.h"
#include "common/mtd_util.h"
#include "schema/mtd_schema.h"
#include "store/mtd_store.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RUNS 3
#define GROUP 10
#define TENANT "00000000benchpg1" /* each run recreates it; the rows carry its id */

static int n_dev = 200, n_batch = 5, n_ev = 200;

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Batch b of device i: app.inventory events of about 600 bytes, random event IDs. */
static void one_batch(int i, int b, mtd_batch *bt)
{
    mtd_buf *raw = &bt->raw;
    for (int e = 0; e < n_ev; e++) {
        uint8_t rnd[16];
        char eid[32];
        mtd_random(rnd, sizeof rnd);
        mtd_b64url(rnd, sizeof rnd, eid);
        mtd_buf_printf(raw,
            "{\"event\":\"app.inventory\",\"schema\":1,\"event_id\":\"%s\",\"time\":\"2026-11-24T10:00:00Z\","
            "\"tenant_id\":\"" TENANT "\",\"device_id\":\"ps_bench%017d\",\"package\":\"com.example.app%d\","
            "\"version_code\":%d,\"version_name\":\"1.%d.%d\",\"install_source\":\"com.android.vending\","
            "\"apk_path\":\"/data/app/com.example.app%d-a2V5Lm5vdA==/base.apk\",\"first_install_time\":"
            "\"2026-01-02T03:04:05Z\",\"apk_size\":%d,\"apk_sha256\":"
            "\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\",\"permissions\":"
            "[\"android.permission.INTERNET\",\"android.permission.CAMERA\"],\"is_system\":false}\n",
            eid, i, e, e, e, b, e, 1000000 + e);
    }
    mtd_batch_error err;
    if (mtd_batch_parse(bt, &err) != 0) {
        fprintf(stderr, "pg_ingest: %s\n", err.detail);
        exit(1);
    }
}

/* The same batches, chained in groups of GROUP. */
static mtd_store_batch *chain(mtd_batch *bs, int nb, const char *tag)
{
    mtd_store_batch *sb = calloc((size_t)nb, sizeof *sb);
    for (int k = 0; k < nb; k++) {
        char *key = malloc(40);
        snprintf(key, 40, "%s-%d", tag, k);
        sb[k] = (mtd_store_batch){.cred_hash = "", .idem_key = key, .events = bs[k].ev, .n = bs[k].n};
        if ((k + 1) % GROUP != 0 && k + 1 < nb)
            sb[k].next = &sb[k + 1];
    }
    return sb;
}

static double ingest(mtd_store *s, mtd_batch *bs, int nb, const char *tag)
{
    mtd_store_batch *sb = chain(bs, nb, tag);
    int64_t t0 = mtd_monotonic_ns();
    for (int k = 0; k < nb; k += GROUP)
        mtd_store_ingest_group(s, &sb[k]);
    double secs = (double)(mtd_monotonic_ns() - t0) / 1e9;
    for (int k = 0; k < nb; k++) {
        if (sb[k].result != 0) {
            fprintf(stderr, "pg_ingest: %s batch %d not stored (%d)\n", tag, k, sb[k].result);
            exit(1);
        }
        free((char *)sb[k].idem_key);
    }
    free(sb);
    return (double)nb * n_ev / secs;
}

/* One value in COPY's text format: \N for none, backslash escapes. */
static void copy_value(mtd_buf *o, const mtd_value *v)
{
    if (v->kind == MTD_V_INT || v->kind == MTD_V_BOOL) {
        mtd_buf_printf(o, "%lld", (long long)v->i);
        return;
    }
    if (v->kind != MTD_V_STR && v->kind != MTD_V_LIST) {
        mtd_buf_puts(o, "\\N");
        return;
    }
    for (uint32_t i = 0; i < v->len; i++) {
        char c = v->s[i];
        if (c == '\\' || c == '\t' || c == '\n' || c == '\r')
            mtd_buf_printf(o, "\\%c", c == '\t' ? 't' : c == '\n' ? 'n' : c == '\r' ? 'r' : '\\');
        else
            mtd_buf_append(o, &c, 1);
    }
}

static void must(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "pg_ingest: %s: %s", sql, PQerrorMessage(c));
        exit(1);
    }
    PQclear(r);
}

/* The peer: the same rows by COPY, GROUP batches per COPY (one transaction each), into
 * a table with the columns of the tenant's event table. */
static double copy_peer(PGconn *c, const char *schema, mtd_batch *bs, int nb)
{
    char sql[400];
    must(c, "DROP TABLE IF EXISTS public.copy_peer");
    snprintf(sql, sizeof sql, "CREATE TABLE public.copy_peer (LIKE %s.ev_app_inventory INCLUDING INDEXES)", schema);
    must(c, sql);
    const mtd_event_type *t = mtd_schema_event("app.inventory");
    int ncol = mtd_event_ncolumns(t);
    mtd_buf cmd, o;
    mtd_buf_init(&cmd, 0);
    mtd_buf_init(&o, 0);
    mtd_buf_puts(&cmd, "COPY public.copy_peer(\"row\", received_at");
    for (int k = 0; k < ncol; k++)
        mtd_buf_printf(&cmd, ", \"%s\"", mtd_event_column_field(t, k)->name);
    mtd_buf_append(&cmd, ") FROM STDIN", 13);
    int64_t row = 1, t0 = mtd_monotonic_ns();
    for (int k = 0; k < nb; k += GROUP) {
        PGresult *r = PQexec(c, (char *)cmd.data);
        if (PQresultStatus(r) != PGRES_COPY_IN) {
            fprintf(stderr, "pg_ingest: COPY: %s", PQerrorMessage(c));
            exit(1);
        }
        PQclear(r);
        for (int b = k; b < k + GROUP && b < nb; b++) {
            mtd_buf_reset(&o);
            for (size_t e = 0; e < bs[b].n; e++) {
                mtd_buf_printf(&o, "%lld\t1764000000", (long long)row++);
                for (int col = 0; col < ncol; col++) {
                    mtd_buf_append(&o, "\t", 1);
                    copy_value(&o, &bs[b].ev[e].v[col]);
                }
                mtd_buf_append(&o, "\n", 1);
            }
            PQputCopyData(c, (char *)o.data, (int)o.len);
        }
        PQputCopyEnd(c, NULL);
        r = PQgetResult(c);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            fprintf(stderr, "pg_ingest: COPY: %s", PQerrorMessage(c));
            exit(1);
        }
        PQclear(r);
        while ((r = PQgetResult(c)))
            PQclear(r);
    }
    double secs = (double)(mtd_monotonic_ns() - t0) / 1e9;
    mtd_buf_free(&cmd);
    mtd_buf_free(&o);
    return (double)nb * n_ev / secs;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        n_dev = atoi(argv[1]);
    if (argc > 2)
        n_batch = atoi(argv[2]);
    if (argc > 3)
        n_ev = atoi(argv[3]);
    const char *url = getenv("MTD_PG_URL");
    if (!url) {
        fprintf(stderr, "pg_ingest: runs under tests/with-postgres.sh (no MTD_PG_URL)\n");
        return 1;
    }
    int nb = n_dev * n_batch;
    mtd_batch *bs = calloc((size_t)nb, sizeof *bs);
    for (int b = 0; b < n_batch; b++)
        for (int i = 0; i < n_dev; i++) {
            mtd_batch_init(&bs[b * n_dev + i]);
            one_batch(i, b, &bs[b * n_dev + i]);
        }
    char why[256];
    mtd_store_cluster *cl;
    if (mtd_store_pg_open(url, 4, &cl, why, sizeof why) != 0) {
        fprintf(stderr, "pg_ingest: %s\n", why);
        return 1;
    }
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "pg_ingest: %s", PQerrorMessage(c));
        return 1;
    }
    must(c, "SET client_min_messages = warning"); /* no NOTICE of a table not there to drop */
    double sq[RUNS], pg[RUNS], cp[RUNS];
    for (int run = 0; run < RUNS; run++) {
        char dir[] = "/tmp/mtd-pgbench-XXXXXX", id[24], schema[32], tag[16];
        if (!mkdtemp(dir))
            return 1;
        mtd_store *s;
        if (mtd_store_open(dir, &s, why, sizeof why) != 0) {
            fprintf(stderr, "pg_ingest: %s\n", why);
            return 1;
        }
        snprintf(tag, sizeof tag, "sq%d", run);
        sq[run] = ingest(s, bs, nb, tag);
        mtd_store_close(s);
        mtd_rm_rf(dir);
        snprintf(id, sizeof id, "%s", TENANT);
        snprintf(schema, sizeof schema, "t_%s", id);
        mtd_store_pg_tenant_delete(cl, id);
        if (mtd_store_pg_tenant_create(cl, id, "bench", id, "00000000000000000000000000000000"
                                       "00000000000000000000000000000000", 0) != 0 ||
            mtd_store_pg_open_tenant(cl, id, &s) != 0) {
            fprintf(stderr, "pg_ingest: tenant not created\n");
            return 1;
        }
        snprintf(tag, sizeof tag, "pg%d", run);
        pg[run] = ingest(s, bs, nb, tag);
        mtd_store_close(s);
        cp[run] = copy_peer(c, schema, bs, nb);
        mtd_store_pg_tenant_delete(cl, id);
        printf("run %d: SQLite %.0f, PostgreSQL %.0f, COPY %.0f events/s\n", run + 1, sq[run], pg[run], cp[run]);
    }
    must(c, "DROP TABLE IF EXISTS public.copy_peer");
    PQfinish(c);
    mtd_store_pg_close(cl);
    for (int k = 0; k < nb; k++)
        mtd_batch_free(&bs[k]);
    free(bs);
    qsort(sq, RUNS, sizeof *sq, cmp_d);
    qsort(pg, RUNS, sizeof *pg, cmp_d);
    qsort(cp, RUNS, sizeof *cp, cmp_d);
    printf("pg_ingest: %d devices x %d batches x %d events, %d batches per transaction, medians of %d runs\n",
           n_dev, n_batch, n_ev, GROUP, RUNS);
    printf("pg_ingest: PostgreSQL backend %.0f events/s; COPY of the same rows %.0f events/s; ratio %.2f"
           " (target >= 0.50: %s)\n", pg[RUNS / 2], cp[RUNS / 2], pg[RUNS / 2] / cp[RUNS / 2],
           pg[RUNS / 2] / cp[RUNS / 2] >= 0.5 ? "met" : "NOT met");
    printf("pg_ingest: SQLite backend %.0f events/s; PostgreSQL/SQLite ratio %.2f\n", sq[RUNS / 2],
           pg[RUNS / 2] / sq[RUNS / 2]);
    return 0;
}
