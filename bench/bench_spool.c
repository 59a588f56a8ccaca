/* bench_spool: the agent's spool against the physical limit of the same disk.
 *
 *   append: 600-byte events, group commit every 1,000, encrypted and not, against a raw
 *           sequential write() of the same bytes with one fdatasync() per 1,000 (the
 *           floor any durable queue pays), in the same run
 *   recovery: opening a spool of SIZE MiB written by the same code (default 1024), its
 *           files dropped from the page cache first (as after a reboot), against
 *           reading the same files raw from the disk, front to back, in the same run;
 *           and the same again from the page cache
 *
 * Medians of 5 runs (recovery: 3).  bench_spool [EVENTS [SIZE_MIB]] */
#include "common/mtd_file.h"
#include "common/mtd_util.h"
#include "spool/mtd_spool.h"

#include <dirent.h>
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

/* Drops the spool's files from the page cache (their pages are clean: the spool
 * fsyncs them), so that a read comes from the disk, as after a reboot. */
static void evict(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        char p[600];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        int fd = open(p, O_RDONLY);
        if (fd >= 0) {
            fdatasync(fd);
            posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
            close(fd);
        }
    }
    if (d)
        closedir(d);
}

/* Every segment file read once, front to back, chunk bytes at a time. */
static double raw_read_chunks(const char *dir, size_t chunk, uint64_t *bytes)
{
    static char buf[8 << 20];
    *bytes = 0;
    int64_t t0 = mtd_monotonic_ns();
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "seg-", 4))
            continue;
        char p[600];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        int fd = open(p, O_RDONLY);
        posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        ssize_t n;
        while ((n = read(fd, buf, chunk)) > 0)
            *bytes += (uint64_t)n;
        close(fd);
    }
    if (d)
        closedir(d);
    return (mtd_monotonic_ns() - t0) / 1e9;
}

/* The floor: the faster of 8 MiB and 256 KiB reads (the smaller ones stay in the
 * CPU's cache, and were the faster from the page cache here). */
static double raw_read_secs(const char *dir, int cold, uint64_t *bytes)
{
    if (cold)
        evict(dir);
    double big = raw_read_chunks(dir, 8 << 20, bytes);
    if (cold)
        evict(dir);
    double small = raw_read_chunks(dir, 256 << 10, bytes);
    return big < small ? big : small;
}

static double open_secs(const char *dir, long n)
{
    mtd_spool_opts o = {.encrypt = 1};
    mtd_spool *s;
    mtd_spool_recovery rec;
    int64_t t0 = mtd_monotonic_ns();
    if (mtd_spool_open(dir, &o, &s, &rec) != 0)
        exit(1);
    double t = (mtd_monotonic_ns() - t0) / 1e9;
    if (rec.records != (uint64_t)n)
        fprintf(stderr, "bench_spool: recovered %llu of %ld records\n", (unsigned long long)rec.records, n);
    mtd_spool_close(s);
    return t;
}

/* Recovery of a spool of mib MiB written by the same code, from the disk (cold) and
 * from the page cache (warm), each against reading the same files raw, alternately in
 * the same run. */
static void recovery(const char *dir, int mib)
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
    double cold[3], warm[3], raw_cold[3], raw_warm[3];
    uint64_t bytes = 0;
    for (int r = 0; r < 3; r++) {
        raw_cold[r] = raw_read_secs(dir, 1, &bytes);
        evict(dir);
        cold[r] = open_secs(dir, n);
        raw_warm[r] = raw_read_secs(dir, 0, &bytes);
        warm[r] = open_secs(dir, n);
    }
    qsort(cold, 3, sizeof *cold, cmp_d);
    qsort(warm, 3, sizeof *warm, cmp_d);
    qsort(raw_cold, 3, sizeof *raw_cold, cmp_d);
    qsort(raw_warm, 3, sizeof *raw_warm, cmp_d);
    double mb = bytes / 1048576.0;
    printf("spool: recovery of a %.0f MiB encrypted spool (%ld records) from disk: %.2f s (%.0f MiB/s);"
           " raw sequential read of the same files %.2f s (%.0f MiB/s); ratio %.2f (target >= 0.50: %s)\n",
           mb, n, cold[1], mb / cold[1], raw_cold[1], mb / raw_cold[1], raw_cold[1] / cold[1],
           raw_cold[1] / cold[1] >= 0.5 ? "met" : "NOT met");
    printf("spool: the same from the page cache: recovery %.2f s (%.0f MiB/s), raw read %.2f s"
           " (%.0f MiB/s); ratio %.2f\n", warm[1], mb / warm[1], raw_warm[1], mb / raw_warm[1],
           raw_warm[1] / warm[1]);
    mtd_rm_rf(dir);
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
    recovery(dir, mib);
    mtd_rm_rf(dir);
    return 0;
}
