/* pg_scale: ingest through one, two and three collectors into one PostgreSQL (issue 21,
 * the benchmark), against two peers in the same run: PostgreSQL's own COPY of the same
 * rows into a table of the same columns, and one collector on the SQLite backend on
 * the same machine. Run by bench_scale.sh under tests/with-postgres.sh (a cluster of
 * its own, fsync and synchronous_commit on).
 *
 * Each configuration is a fresh set of collectors and a fresh tenant; DEVICES devices
 * (bench/loadgen.c: libcurl multi, one connection each, from their own loopback
 * addresses) upload all their batches at once, device i to collector i mod N directly
 * (each collector its share of the clients, no load balancer spending the CPU they
 * share). A batch's latency runs from its first attempt to its 200, so a batch
 * answered 429 and sent again waits the whole time. The COPY peer takes the same
 * number of rows of the same shape, ten batches per COPY and transaction, into a table
 * LIKE the tenant's with its indexes. Medians of 3 runs.
 *
 * Targets (issue 21): the collectors' rate at least 50% of COPY; three collectors
 * faster than one; p99 batch latency under 1 s at 1,000 devices.
 *
 *   pg_scale [DEVICES [BATCHES_PER_DEVICE [EVENTS_PER_BATCH]]]   (1000 4 100) */
#include "loadgen.h"
#include "pg_copy.h"
#include "collector/mtd_batch.h"
#include "common/mtd_file.h"
#include "common/mtd_util.h"

#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#define RUNS 3
#define MAXC 3
#define GROUP 10
#define NCFG 4

/* the configurations: SQLite with one collector, PostgreSQL with 1, 2, 3 */
static const struct {
    const char *name;
    int pg, n;
} cfgs[NCFG] = {{"SQLite, 1 collector", 0, 1}, {"PostgreSQL, 1 collector", 1, 1},
                {"PostgreSQL, 2 collectors", 1, 2}, {"PostgreSQL, 3 collectors", 1, 3}};

typedef struct {
    pid_t pid[MAXC];
    char url[MAXC][200];
    char data[MAXC][64];
    int n;
} fleet;

static const char *pg_url;

static void start_fleet(const char *bin, int pg, int n, fleet *f)
{
    f->n = n;
    for (int i = 0; i < n; i++) {
        snprintf(f->data[i], sizeof f->data[i], "/tmp/mtd-pgscale-c%d", i + 1);
        mtd_rm_rf(f->data[i]);
        f->pid[i] = fork();
        if (f->pid[i] == 0) {
            setenv("MTD_LOG", "error", 1);
            if (!freopen("/dev/null", "w", stdout)) /* its "listening on": the URL is in its file */
                _exit(127);
            if (pg)
                execl(bin, "mtd-collector", "--data", f->data[i], "--listen", "127.0.0.1:0", "--store", pg_url, NULL);
            else
                execl(bin, "mtd-collector", "--data", f->data[i], "--listen", "127.0.0.1:0", NULL);
            _exit(127);
        }
        char path[512];
        snprintf(path, sizeof path, "%s/collector.url", f->data[i]);
        int k = 0;
        while (k++ < 400 && mtd_file_read_line(path, f->url[i], sizeof f->url[i]) != 0)
            usleep(25000);
        if (k > 400) {
            fprintf(stderr, "pg_scale: collector %d did not start\n", i + 1);
            exit(1);
        }
    }
}

/* Stops the collectors; returns the CPU seconds they used. */
static double stop_fleet(fleet *f)
{
    double cpu = 0;
    for (int i = 0; i < f->n; i++) {
        struct rusage ru;
        kill(f->pid[i], SIGTERM);
        wait4(f->pid[i], NULL, 0, &ru);
        cpu += lg_tv_s(ru.ru_utime) + lg_tv_s(ru.ru_stime);
        mtd_rm_rf(f->data[i]);
    }
    return cpu;
}

typedef struct {
    double rate, p50, p99, cpu_col, cpu_gen;
} result;

/* One configuration: collectors, a tenant, every device's batches uploaded. With
 * keep, the tenant stays (its schema for the COPY peer) and its id is in lg_tenant. */
static result one_config(const char *bin, int c, lg_device *d, lg_blob *bl, long *errors, int keep,
                         char *op, size_t oplen)
{
    fleet f;
    start_fleet(bin, cfgs[c].pg, cfgs[c].n, &f);
    if (lg_enroll_all(d, f.url[0], f.data[0]) != 0) {
        fprintf(stderr, "pg_scale: enrollment failed (%s)\n", cfgs[c].name);
        exit(1);
    }
    char path[512];
    snprintf(path, sizeof path, "%s/operator.token", f.data[0]);
    mtd_file_read_line(path, op, oplen);
    mtd_buf raw;
    mtd_buf_init(&raw, 0);
    for (int i = 0; i < lg_n_dev; i++) {
        d[i].url = f.url[i % f.n];
        for (int b = 0; b < lg_n_batch; b++) {
            lg_make_batch(&d[i], &raw);
            lg_blob *x = &bl[i * lg_n_batch + b];
            free(x->z);
            x->z = malloc(ZSTD_compressBound(raw.len));
            x->zn = ZSTD_compress(x->z, ZSTD_compressBound(raw.len), raw.data, raw.len, 3);
        }
    }
    mtd_buf_free(&raw);
    lg_nlat = 0;
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    double secs = lg_upload(d, bl, errors);
    getrusage(RUSAGE_SELF, &ru1);
    result r = {.rate = (double)lg_nlat * lg_n_ev / secs};
    qsort(lg_lat, lg_nlat, sizeof *lg_lat, lg_cmp_d);
    r.p50 = lg_lat[lg_nlat / 2];
    r.p99 = lg_lat[(size_t)(lg_nlat * 0.99)];
    r.cpu_gen = (lg_tv_s(ru1.ru_utime) + lg_tv_s(ru1.ru_stime) - lg_tv_s(ru0.ru_utime) - lg_tv_s(ru0.ru_stime)) / secs;
    if (cfgs[c].pg && !keep) { /* the next configuration starts on an empty cluster */
        char p[80];
        snprintf(p, sizeof p, "/v1/operator/tenants/%s", lg_tenant);
        json_decref(lg_http_json(f.url[0], "DELETE", p, op, NULL));
    }
    r.cpu_col = stop_fleet(&f) / secs;
    return r;
}

/* The peer: the same number of rows of the same shape by COPY into a table LIKE the
 * tenant's (lg_tenant, still there), then the tenant dropped. */
static double copy_run(lg_device *d, const char *op)
{
    int nb = lg_n_dev * lg_n_batch;
    mtd_batch *bs = calloc((size_t)nb, sizeof *bs);
    mtd_buf raw;
    mtd_buf_init(&raw, 0);
    for (int b = 0; b < lg_n_batch; b++) /* in the order collectors receive them */
        for (int i = 0; i < lg_n_dev; i++) {
            mtd_batch *bt = &bs[b * lg_n_dev + i];
            mtd_batch_error err;
            lg_make_batch(&d[i], &raw);
            mtd_batch_init(bt);
            mtd_buf_append(&bt->raw, raw.data, raw.len);
            if (mtd_batch_parse(bt, &err) != 0) {
                fprintf(stderr, "pg_scale: %s\n", err.detail);
                exit(1);
            }
        }
    mtd_buf_free(&raw);
    PGconn *c = PQconnectdb(pg_url);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "pg_scale: %s", PQerrorMessage(c));
        exit(1);
    }
    pgc_must(c, "SET client_min_messages = warning");
    char schema[40];
    snprintf(schema, sizeof schema, "t_%s", lg_tenant);
    double rate = pgc_copy_peer(c, schema, bs, nb, GROUP);
    pgc_must(c, "DROP TABLE public.copy_peer");
    PQfinish(c);
    for (int k = 0; k < nb; k++)
        mtd_batch_free(&bs[k]);
    free(bs);
    /* the tenant kept for its schema: dropped by a collector of its own */
    fleet f;
    start_fleet(getenv("MTD_PGSCALE_BIN"), 1, 1, &f);
    char p[80];
    snprintf(p, sizeof p, "/v1/operator/tenants/%s", lg_tenant);
    json_decref(lg_http_json(f.url[0], "DELETE", p, op, NULL));
    stop_fleet(&f);
    return rate;
}

static double median(double *v)
{
    qsort(v, RUNS, sizeof *v, lg_cmp_d);
    return v[RUNS / 2];
}

int main(int argc, char **argv)
{
    lg_n_dev = 1000, lg_n_batch = 4, lg_n_ev = 100;
    if (argc > 1) lg_n_dev = atoi(argv[1]);
    if (argc > 2) lg_n_batch = atoi(argv[2]);
    if (argc > 3) lg_n_ev = atoi(argv[3]);
    pg_url = getenv("MTD_PG_URL");
    if (!pg_url) {
        fprintf(stderr, "pg_scale: runs under tests/with-postgres.sh (no MTD_PG_URL)\n");
        return 1;
    }
    char bin[600];
    snprintf(bin, sizeof bin, "%.*s/../bin/mtd-collector", (int)(strrchr(argv[0], '/') - argv[0]), argv[0]);
    setenv("MTD_PGSCALE_BIN", bin, 1);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    lg_device *d = calloc((size_t)lg_n_dev, sizeof *d);
    lg_blob *bl = calloc((size_t)lg_n_dev * lg_n_batch, sizeof *bl);
    lg_lat = calloc((size_t)lg_n_dev * lg_n_batch, sizeof *lg_lat);
    double rate[NCFG][RUNS], p50[NCFG][RUNS], p99[NCFG][RUNS], ccol[NCFG][RUNS], cgen[NCFG][RUNS], copy[RUNS];
    long errors[NCFG] = {0};
    char op[200];
    for (int run = 0; run < RUNS; run++) {
        for (int c = 0; c < NCFG; c++) {
            result r = one_config(bin, c, d, bl, &errors[c], c == NCFG - 1, op, sizeof op);
            rate[c][run] = r.rate, p50[c][run] = r.p50, p99[c][run] = r.p99;
            ccol[c][run] = r.cpu_col, cgen[c][run] = r.cpu_gen;
            printf("run %d: %-25s %7.0f events/s, batch latency p50 %6.1f ms p99 %6.1f ms\n", run + 1,
                   cfgs[c].name, r.rate, r.p50, r.p99);
            fflush(stdout);
        }
        copy[run] = copy_run(d, op);
        printf("run %d: %-25s %7.0f events/s\n", run + 1, "COPY of the same rows", copy[run]);
        fflush(stdout);
    }
    double cp = median(copy), m[NCFG], q99[NCFG];
    printf("pg_scale: %d devices x %d batches x %d events, each configuration a fresh tenant; medians of %d runs\n",
           lg_n_dev, lg_n_batch, lg_n_ev, RUNS);
    for (int c = 0; c < NCFG; c++) {
        m[c] = median(rate[c]);
        q99[c] = median(p99[c]);
        printf("pg_scale: %-25s %7.0f events/s (%.2f of COPY), p50 %.0f ms, p99 %.0f ms; CPUs busy: collectors %.2f,"
               " load generator %.2f; %ld answers other than 200\n", cfgs[c].name, m[c], m[c] / cp,
               median(p50[c]), q99[c], median(ccol[c]), median(cgen[c]), errors[c]);
    }
    printf("pg_scale: COPY of the same rows %.0f events/s; SQLite backend (1 collector) %.0f events/s\n", cp, m[0]);
    for (int i = 0; i < LG_NWHY && lg_retry_why[i].n; i++)
        printf("pg_scale: sent again after %ld %s: %ld (all configurations)\n", lg_retry_why[i].code,
               lg_retry_why[i].error[0] ? lg_retry_why[i].error : "(no answer)", lg_retry_why[i].n);
    printf("pg_scale: target >= 0.50 of COPY: 1 collector %.2f, 2 collectors %.2f, 3 collectors %.2f: %s\n",
           m[1] / cp, m[2] / cp, m[3] / cp, m[3] / cp >= 0.5 ? "met (3 collectors)" : "NOT met");
    printf("pg_scale: target 3 collectors > 1 collector: ratio %.2f: %s\n", m[3] / m[1],
           m[3] > m[1] ? "met" : "NOT met");
    printf("pg_scale: target p99 < 1 s at %d devices: 1 collector %.0f ms, 2 collectors %.0f ms, 3 collectors %.0f ms: %s\n",
           lg_n_dev, q99[1], q99[2], q99[3], q99[3] < 1000 ? "met (3 collectors)" : "NOT met");
    printf("pg_scale: PostgreSQL (3 collectors) / SQLite (1 collector) ratio %.2f\n", m[3] / m[0]);
    return 0;
}
