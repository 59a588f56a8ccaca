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
#include "loadgen.h"
#include "pg_copy.h"
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

/* A batch of device i: the load generator's app.inventory events (about 700 bytes,
 * random event IDs), decoded. */
static void one_batch(int i, mtd_batch *bt)
{
    lg_device d;
    snprintf(d.device, sizeof d.device, "ps_bench%017d", i);
    lg_make_batch(&d, &bt->raw);
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
    return (double)nb * lg_n_ev / secs;
}

int main(int argc, char **argv)
{
    lg_n_dev = 200, lg_n_batch = 5, lg_n_ev = 200;
    snprintf(lg_tenant, sizeof lg_tenant, "%s", TENANT);
    if (argc > 1)
        lg_n_dev = atoi(argv[1]);
    if (argc > 2)
        lg_n_batch = atoi(argv[2]);
    if (argc > 3)
        lg_n_ev = atoi(argv[3]);
    const char *url = getenv("MTD_PG_URL");
    if (!url) {
        fprintf(stderr, "pg_ingest: runs under tests/with-postgres.sh (no MTD_PG_URL)\n");
        return 1;
    }
    int nb = lg_n_dev * lg_n_batch;
    mtd_batch *bs = calloc((size_t)nb, sizeof *bs);
    for (int b = 0; b < lg_n_batch; b++)
        for (int i = 0; i < lg_n_dev; i++) {
            mtd_batch_init(&bs[b * lg_n_dev + i]);
            one_batch(i, &bs[b * lg_n_dev + i]);
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
    pgc_must(c, "SET client_min_messages = warning"); /* no NOTICE of a table not there to drop */
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
        cp[run] = pgc_copy_peer(c, schema, bs, nb, GROUP);
        mtd_store_pg_tenant_delete(cl, id);
        printf("run %d: SQLite %.0f, PostgreSQL %.0f, COPY %.0f events/s\n", run + 1, sq[run], pg[run], cp[run]);
    }
    pgc_must(c, "DROP TABLE IF EXISTS public.copy_peer");
    PQfinish(c);
    mtd_store_pg_close(cl);
    for (int k = 0; k < nb; k++)
        mtd_batch_free(&bs[k]);
    free(bs);
    qsort(sq, RUNS, sizeof *sq, lg_cmp_d);
    qsort(pg, RUNS, sizeof *pg, lg_cmp_d);
    qsort(cp, RUNS, sizeof *cp, lg_cmp_d);
    printf("pg_ingest: %d devices x %d batches x %d events, %d batches per transaction, medians of %d runs\n",
           lg_n_dev, lg_n_batch, lg_n_ev, GROUP, RUNS);
    printf("pg_ingest: PostgreSQL backend %.0f events/s; COPY of the same rows %.0f events/s; ratio %.2f"
           " (target >= 0.50: %s)\n", pg[RUNS / 2], cp[RUNS / 2], pg[RUNS / 2] / cp[RUNS / 2],
           pg[RUNS / 2] / cp[RUNS / 2] >= 0.5 ? "met" : "NOT met");
    printf("pg_ingest: SQLite backend %.0f events/s; PostgreSQL/SQLite ratio %.2f\n", sq[RUNS / 2],
           pg[RUNS / 2] / sq[RUNS / 2]);
    return 0;
}
