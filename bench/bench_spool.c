/* bench_spool: the agent's spool against the physical limit of the same disk.
 *
 *   append: 600-byte events, group commit every 1,000, encrypted and not, against a raw
 *           sequential write() of the same bytes with one fdatasync() per 1,000 (the
 *           floor any durable queue pays), in the same run
 *   recovery: opening a spool of SIZE MiB written by the same code (default 1024)
 *
 * Medians of 5 runs (recovery: 3).  bench_spool [EVENTS [SIZE_MIB]] */
#include "common/mtd_file.h"
#include "common/mtd_util.h"
#include "spool/mtd_spool.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RUNS 5
#define BATCH 1000
#define EVENT 600

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static char ev[EVENT + 1];

static double spool_rate(const char *dir, int n, int encrypt)
{
    mtd_rm_rf(dir);
    mtd_spool_opts o = {.encrypt = encrypt};
    mtd_spool *s;
    mtd_spool_recovery rec;
    if (mtd_spool_open(dir, &o, &s, &rec) != 0)
        exit(1);
    int64_t t0 = mtd_monotonic_ns();
    uint64_t seq;
    for (int i = 0; i < n; i++) {
        mtd_spool_append(s, 0, ev, EVENT, &seq);
        if ((i + 1) % BATCH == 0 && mtd_spool_commit(s) != 0)
            exit(1);
    }
    mtd_spool_commit(s);
    double secs = (mtd_monotonic_ns() - t0) / 1e9;
    mtd_spool_close(s);
    return n / secs;
}

static double raw_rate(const char *dir, int n)
{
    mtd_rm_rf(dir);
    mtd_mkdir_p(dir, 0700);
    char p[256];
    snprintf(p, sizeof p, "%s/raw", dir);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    static char buf[BATCH * (EVENT + 21)];
    for (int i = 0; i < BATCH; i++)
        memcpy(buf + i * (EVENT + 21) + 21, ev, EVENT);
    int64_t t0 = mtd_monotonic_ns();
    for (int i = 0; i < n; i += BATCH) {
        if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf)
            exit(1);
        fdatasync(fd);
    }
    double secs = (mtd_monotonic_ns() - t0) / 1e9;
    close(fd);
    return n / secs;
}

static double recovery_secs(const char *dir, int mib)
{
    mtd_rm_rf(dir);
    mtd_spool_opts o = {.encrypt = 1};
    mtd_spool *s;
    mtd_spool_recovery rec;
    mtd_spool_open(dir, &o, &s, &rec);
    long n = (long)mib * 1024 * 1024 / (EVENT + 21 + 28);
    uint64_t seq;
    for (long i = 0; i < n; i++) {
        mtd_spool_append(s, 0, ev, EVENT, &seq);
        if ((i + 1) % BATCH == 0)
            mtd_spool_commit(s);
    }
    mtd_spool_commit(s);
    mtd_spool_close(s);
    double t[3];
    for (int r = 0; r < 3; r++) {
        int64_t t0 = mtd_monotonic_ns();
        mtd_spool_open(dir, &o, &s, &rec);
        t[r] = (mtd_monotonic_ns() - t0) / 1e9;
        if (rec.records != (uint64_t)n)
            fprintf(stderr, "bench_spool: recovered %llu of %ld records\n", (unsigned long long)rec.records, n);
        mtd_spool_close(s);
    }
    qsort(t, 3, sizeof *t, cmp_d);
    mtd_rm_rf(dir);
    return t[1];
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 200000;
    int mib = argc > 2 ? atoi(argv[2]) : 1024;
    const char *dir = "/tmp/mtd-bench-spool";
    memset(ev, 'e', EVENT);
    double enc[RUNS], plain[RUNS], raw[RUNS];
    for (int r = 0; r < RUNS; r++) {
        enc[r] = spool_rate(dir, n, 1);
        plain[r] = spool_rate(dir, n, 0);
        raw[r] = raw_rate(dir, n);
    }
    qsort(enc, RUNS, sizeof *enc, cmp_d);
    qsort(plain, RUNS, sizeof *plain, cmp_d);
    qsort(raw, RUNS, sizeof *raw, cmp_d);
    printf("spool: append with group commit of %d, %d-byte events: %.0f events/s encrypted, %.0f plain;"
           " raw write+fdatasync of the same bytes %.0f events/s; ratios %.2f and %.2f"
           " (target >= 500000 events/s encrypted: %s)\n", BATCH, EVENT, enc[2], plain[2], raw[2],
           enc[2] / raw[2], plain[2] / raw[2], enc[2] >= 500000 ? "met" : "NOT met");
    double rs = recovery_secs(dir, mib);
    printf("spool: recovery of a %d MiB encrypted spool: %.2f s (%.0f MiB/s)\n", mib, rs, mib / rs);
    mtd_rm_rf(dir);
    return 0;
}
