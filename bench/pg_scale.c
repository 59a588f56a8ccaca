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
 * share). That is the configuration's capacity, and its latency is queueing: 1,000
 * devices with a batch each in flight wait for each other. So the latency target is
 * measured apart, at a load below capacity: one more batch of each device, each sent
 * at a random moment of a window that makes them half the capacity just measured
 * (devices of a fleet upload independently). A batch's latency runs from its first
 * attempt to its 200, so a batch answered 429 and sent again waits the whole time.
 * The COPY peer takes the same
 * number of rows of the same shape, ten batches per COPY and transaction, into a table
 * LIKE the tenant's with its indexes. Medians of 3 runs. Besides the rates, the CPU
 * each side spent per event (collectors, the cluster's processes, the load generator;
 * COPY's client and the cluster): CPU time counts what was done whatever else the
 * shared machine ran, where the rates swing with its load.
 *
 * Targets (issue 21): the collectors' rate at least 50% of COPY; three collectors
 * faster than one; p99 batch latency under 1 s at 1,000 devices (at half load).
 *
 *   pg_scale [DEVICES [BATCHES_PER_DEVICE [EVENTS_PER_BATCH]]]   (1000 3 100) */
#include "loadgen.h"
#include "pg_copy.h"
#include "collector/mtd_batch.h"
#include "common/mtd_file.h"
#include "common/mtd_util.h"

#include <dirent.h>
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
#define PACED_BATCHES 1 /* per device, for the latency at half load: 1,000 at 1,000 devices */

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
static volatile pid_t running[MAXC]; /* the collectors up now, for on_signal */

/* Interrupted: the collectors go too (they would outlive the cluster). */
static void on_signal(int sig)
{
    for (int i = 0; i < MAXC; i++)
        if (running[i] > 0)
            kill(running[i], SIGKILL);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void start_fleet(const char *bin, int pg, int n, fleet *f)
{
    f->n = n;
    for (int i = 0; i < n; i++) {
        /* the pid: two benchmarks at once (helpers, CI) must not share a directory */
        snprintf(f->data[i], sizeof f->data[i], "/tmp/mtd-pgscale-%d-c%d", (int)getpid(), i + 1);
        mtd_rm_rf(f->data[i]);
        f->pid[i] = fork();
        if (f->pid[i] == 0) {
            setenv("MTD_LOG", "error", 1);
            if (!freopen("/dev/null", "w", stdout)) /* its "listening on": the URL is in its file */
                _exit(127);
            /* MTD_PGSCALE_ARGS: more options for every collector, to try a setting */
            char *argv[32] = {"mtd-collector", "--data", f->data[i], "--listen", "127.0.0.1:0"};
            int k = 5;
            if (pg)
                argv[k++] = "--store", argv[k++] = (char *)pg_url;
            char *more = getenv("MTD_PGSCALE_ARGS") ? strdup(getenv("MTD_PGSCALE_ARGS")) : NULL;
            for (char *w = more ? strtok(more, " ") : NULL; w && k < 31; w = strtok(NULL, " "))
                argv[k++] = w;
            argv[k] = NULL;
            execv(bin, argv);
            _exit(127);
        }
        running[i] = f->pid[i];
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

static void stop_fleet(fleet *f)
{
    for (int i = 0; i < f->n; i++) {
        kill(f->pid[i], SIGTERM);
        waitpid(f->pid[i], NULL, 0);
        running[i] = 0;
        mtd_rm_rf(f->data[i]);
    }
}

/* A process's CPU seconds so far (/proc/PID/stat utime + stime, with its reaped
 * children's cutime + cstime when asked), and its parent in *ppid; -1 if it is gone. */
static double proc_cpu(long pid, int reaped, long *ppid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *fp = fopen(path, "r");
    size_t n = fp ? fread(buf, 1, sizeof buf - 1, fp) : 0;
    if (fp)
        fclose(fp);
    buf[n] = 0;
    const char *p = strrchr(buf, ')'); /* the name may hold spaces */
    unsigned long long ut = 0, st = 0, cut = 0, cst = 0;
    long pp = 0;
    if (!p || sscanf(p + 2, "%*c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu", &pp, &ut, &st,
                     &cut, &cst) != 5)
        return -1;
    if (ppid)
        *ppid = pp;
    return (double)(ut + st + (reaped ? cut + cst : 0)) / (double)sysconf(_SC_CLK_TCK);
}

/* The CPU seconds the collectors have used so far. */
static double fleet_cpu(const fleet *f)
{
    double cpu = 0;
    for (int i = 0; i < f->n; i++)
        cpu += proc_cpu(f->pid[i], 0, NULL);
    return cpu;
}

/* The CPU seconds the cluster has used so far: the postmaster, its backends and other
 * processes, those that ended (reaped by it) and those alive. */
static double cluster_cpu(void)
{
    char path[600], line[32];
    snprintf(path, sizeof path, "%s/data/postmaster.pid", getenv("MTD_PG_DIR") ? getenv("MTD_PG_DIR") : ".");
    if (mtd_file_read_line(path, line, sizeof line) != 0)
        return 0;
    long pm = atol(line), pp;
    double cpu = proc_cpu(pm, 1, NULL);
    DIR *d = opendir("/proc");
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        long pid = atol(e->d_name);
        double c = pid > 0 ? proc_cpu(pid, 0, &pp) : -1;
        if (c > 0 && pp == pm)
            cpu += c;
    }
    if (d)
        closedir(d);
    return cpu;
}

typedef struct {
    double rate, sat_p99; /* at capacity */
    double p50, p99;      /* at half of it */
    double cpu_col, cpu_gen;
    double us_col, us_db, us_gen; /* CPU microseconds per event stored */
} result;

/* Each device's lg_n_batch batches, compressed. */
static void make_blobs(lg_device *d, lg_blob *bl)
{
    mtd_buf raw;
    mtd_buf_init(&raw, 0);
    for (int i = 0; i < lg_n_dev; i++)
        for (int b = 0; b < lg_n_batch; b++) {
            lg_make_batch(&d[i], &raw);
            lg_blob *x = &bl[i * lg_n_batch + b];
            free(x->z);
            x->z = malloc(ZSTD_compressBound(raw.len));
            x->zn = ZSTD_compress(x->z, ZSTD_compressBound(raw.len), raw.data, raw.len, 3);
        }
    mtd_buf_free(&raw);
}

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
    for (int i = 0; i < lg_n_dev; i++)
        d[i].url = f.url[i % f.n];
    /* capacity: every device sends its next batch at once */
    make_blobs(d, bl);
    lg_think_ms = 0;
    lg_round = 0;
    lg_nlat = 0;
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    double cpu0 = fleet_cpu(&f), db0 = cluster_cpu(), secs = lg_upload(d, bl, errors);
    getrusage(RUSAGE_SELF, &ru1);
    double events = (double)lg_nlat * lg_n_ev;
    result r = {.rate = events / secs, .cpu_col = (fleet_cpu(&f) - cpu0) / secs};
    r.us_col = r.cpu_col * secs / events * 1e6;
    r.us_db = cfgs[c].pg ? (cluster_cpu() - db0) / events * 1e6 : 0;
    qsort(lg_lat, lg_nlat, sizeof *lg_lat, lg_cmp_d);
    r.sat_p99 = lg_lat[(size_t)(lg_nlat * 0.99)];
    r.cpu_gen = (lg_tv_s(ru1.ru_utime) + lg_tv_s(ru1.ru_stime) - lg_tv_s(ru0.ru_utime) - lg_tv_s(ru0.ru_stime)) / secs;
    r.us_gen = r.cpu_gen * secs / events * 1e6;
    /* latency: PACED_BATCHES more of each device, paced to half that capacity */
    int nb = lg_n_batch;
    lg_n_batch = PACED_BATCHES;
    make_blobs(d, bl);
    lg_think_ms = (double)lg_n_dev * lg_n_ev / (0.5 * r.rate) * 1000; /* a window: half the rate */
    lg_round = 1;
    lg_nlat = 0;
    lg_upload(d, bl, errors);
    lg_n_batch = nb;
    qsort(lg_lat, lg_nlat, sizeof *lg_lat, lg_cmp_d);
    r.p50 = lg_lat[lg_nlat / 2];
    r.p99 = lg_lat[(size_t)(lg_nlat * 0.99)];
    if (cfgs[c].pg && !keep) { /* the next configuration starts on an empty cluster */
        char p[80];
        snprintf(p, sizeof p, "/v1/operator/tenants/%s", lg_tenant);
        json_decref(lg_http_json(f.url[0], "DELETE", p, op, NULL));
    }
    stop_fleet(&f);
    return r;
}

/* The peer: the same number of rows of the same shape by COPY into a table LIKE the
 * tenant's (lg_tenant, still there), then the tenant dropped. Its CPU microseconds per
 * row into us[0] (this process, the client) and us[1] (the cluster). */
static double copy_run(lg_device *d, const char *op, double *us)
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
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    double db0 = cluster_cpu(), rate = pgc_copy_peer(c, schema, bs, nb, GROUP), rows = (double)nb * lg_n_ev;
    us[1] = (cluster_cpu() - db0) / rows * 1e6;
    getrusage(RUSAGE_SELF, &ru1);
    us[0] = (lg_tv_s(ru1.ru_utime) + lg_tv_s(ru1.ru_stime) - lg_tv_s(ru0.ru_utime) - lg_tv_s(ru0.ru_stime)) / rows * 1e6;
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
    lg_n_dev = 1000, lg_n_batch = 3, lg_n_ev = 100;
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
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    lg_device *d = calloc((size_t)lg_n_dev, sizeof *d);
    lg_blob *bl = calloc((size_t)lg_n_dev * lg_n_batch, sizeof *bl);
    lg_lat = calloc((size_t)lg_n_dev * lg_n_batch, sizeof *lg_lat);
    double rate[NCFG][RUNS], p50[NCFG][RUNS], p99[NCFG][RUNS], sat99[NCFG][RUNS], ccol[NCFG][RUNS],
        cgen[NCFG][RUNS], copy[RUNS], uscol[NCFG][RUNS], usdb[NCFG][RUNS], usgen[NCFG][RUNS], uscp[2][RUNS];
    long errors[NCFG] = {0};
    char op[200];
    for (int run = 0; run < RUNS; run++) {
        for (int c = 0; c < NCFG; c++) {
            result r = one_config(bin, c, d, bl, &errors[c], c == NCFG - 1, op, sizeof op);
            rate[c][run] = r.rate, p50[c][run] = r.p50, p99[c][run] = r.p99, sat99[c][run] = r.sat_p99;
            ccol[c][run] = r.cpu_col, cgen[c][run] = r.cpu_gen;
            uscol[c][run] = r.us_col, usdb[c][run] = r.us_db, usgen[c][run] = r.us_gen;
            printf("run %d: %-25s %7.0f events/s (p99 %5.0f ms); at half of it: p50 %4.0f ms, p99 %4.0f ms\n",
                   run + 1, cfgs[c].name, r.rate, r.sat_p99, r.p50, r.p99);
            fflush(stdout);
        }
        double us[2];
        copy[run] = copy_run(d, op, us);
        uscp[0][run] = us[0], uscp[1][run] = us[1];
        printf("run %d: %-25s %7.0f events/s\n", run + 1, "COPY of the same rows", copy[run]);
        fflush(stdout);
    }
    /* the ratios run by run (same run, same machine state), then their median: the
     * machine is shared, and a ratio of medians mixes runs under different loads */
    double m[NCFG], q99[NCFG], vs_copy[NCFG][RUNS], vs_one[RUNS], vs_sqlite[RUNS];
    for (int run = 0; run < RUNS; run++) { /* before median() sorts the rates */
        for (int c = 0; c < NCFG; c++)
            vs_copy[c][run] = rate[c][run] / copy[run];
        vs_one[run] = rate[3][run] / rate[1][run];
        vs_sqlite[run] = rate[3][run] / rate[0][run];
    }
    double cp = median(copy);
    printf("pg_scale: %d devices x %d batches x %d events at once (capacity), then %d more each, spread to half"
           " that rate (latency); each configuration a fresh tenant; medians of %d runs\n",
           lg_n_dev, lg_n_batch, lg_n_ev, PACED_BATCHES, RUNS);
    double r[NCFG];
    for (int c = 0; c < NCFG; c++) {
        m[c] = median(rate[c]);
        q99[c] = median(p99[c]);
        r[c] = median(vs_copy[c]);
        printf("pg_scale: %-25s %7.0f events/s (%.2f of COPY), p99 %.0f ms; at half load p50 %.0f ms, p99 %.0f ms;"
               " CPUs busy: collectors %.2f, load generator %.2f; %ld answers other than 200\n", cfgs[c].name,
               m[c], r[c], median(sat99[c]), median(p50[c]), q99[c], median(ccol[c]), median(cgen[c]),
               errors[c]);
        printf("pg_scale: %-25s CPU per event: collectors %.1f us, database %.1f us, load generator %.1f us\n",
               cfgs[c].name, median(uscol[c]), median(usdb[c]), median(usgen[c]));
    }
    printf("pg_scale: %-25s CPU per event: client %.1f us, database %.1f us\n", "COPY of the same rows",
           median(uscp[0]), median(uscp[1]));
    double one = median(vs_one);
    printf("pg_scale: COPY of the same rows %.0f events/s; SQLite backend (1 collector) %.0f events/s\n", cp, m[0]);
    for (int i = 0; i < LG_NWHY && lg_retry_why[i].n; i++)
        printf("pg_scale: sent again after %ld %s: %ld (all configurations)\n", lg_retry_why[i].code,
               lg_retry_why[i].error[0] ? lg_retry_why[i].error : "(no answer)", lg_retry_why[i].n);
    printf("pg_scale: target >= 0.50 of COPY (medians of each run's ratio): 1 collector %.2f, 2 collectors %.2f,"
           " 3 collectors %.2f: %s\n", r[1], r[2], r[3], r[3] >= 0.5 ? "met (3 collectors)" : "NOT met");
    printf("pg_scale: target 3 collectors > 1 collector: ratio %.2f (median of each run's): %s\n", one,
           one > 1 ? "met" : "NOT met");
    printf("pg_scale: target p99 < 1 s at %d devices (at half load): 1 collector %.0f ms, 2 collectors %.0f ms,"
           " 3 collectors %.0f ms: %s\n", lg_n_dev, q99[1], q99[2], q99[3],
           q99[3] < 1000 ? "met (3 collectors)" : "NOT met");
    printf("pg_scale: PostgreSQL (3 collectors) / SQLite (1 collector) ratio %.2f (median of each run's)\n",
           median(vs_sqlite));
    return 0;
}
