/* bench_tenants: many small tenants on one collector (issue 20.3). TENANTS tenants of
 * DEVICES devices each are created and enrolled over HTTP, then every device uploads
 * BATCHES batches of EVENTS app.inventory events, tenant after tenant, 256 connections
 * at once, against a collector holding at most MAX_OPEN stores open (--max-open-stores,
 * so most uploads find their tenant's store closed and evict another). A device told
 * 429 or 503 waits its Retry-After and sends the same batch again, as the agent does.
 *
 * Printed: the collector's peak threads, file descriptors and RSS over the whole run
 * (sampled from /proc every 100 ms; target at most 64 threads), the evictions, the
 * upload's events/s and batch latency (each answer's own), and whether every event is
 * stored once, in its own tenant's store: after the collector stops, each tenant's
 * file holds exactly DEVICES x BATCHES x EVENTS rows, as many distinct event IDs, and
 * only its own devices. Exits 1 when an event is missing, repeated or misplaced (the
 * e2e test test_tenants_scale.sh runs it small under `ulimit -n 512`). One run: at
 * 10,000 tenants it takes ~27 min on the shared 2-core machine (creation 15, each
 * tenant's store is made; enrollment 5; upload 5), and its files take ~8-10 GiB.
 *
 *   bench_tenants [TENANTS [DEVICES [MAX_OPEN [BATCHES [EVENTS]]]]]  (10000 5 64 2 20)
 *   MTD_BENCH_DATA=DIR: the collector's data directory (/tmp/mtd-bench-tenants) */
#include "common/mtd_buf.h"
#include "common/mtd_file.h"
#include "common/mtd_util.h"

#include <curl/curl.h>
#include <dirent.h>
#include <jansson.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#define CONNS 256

static int n_ten = 10000, n_dev = 5, max_open = 64, n_batch = 2, n_ev = 20;
static char url[200], op[200];
static pid_t collector;

typedef struct {
    char id[20];
    char enr[200];
} tenant;

typedef struct {
    char cred[200];
    int sent;
} device;

static tenant *tens;
static device *devs;
static double *lat;
static size_t nlat;
static long retried, failed;
static struct {
    long threads, fds, rss_kib;
} peak;

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The collector's threads, descriptors and RSS now; keeps the largest seen. */
static void sample(void)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)collector);
    FILE *f = fopen(path, "r");
    long v;
    while (f && fgets(line, sizeof line, f)) {
        if (sscanf(line, "Threads: %ld", &v) == 1 && v > peak.threads)
            peak.threads = v;
        if (sscanf(line, "VmRSS: %ld", &v) == 1 && v > peak.rss_kib)
            peak.rss_kib = v;
    }
    if (f)
        fclose(f);
    snprintf(path, sizeof path, "/proc/%d/fd", (int)collector);
    DIR *d = opendir(path);
    struct dirent *e;
    long n = 0;
    while (d && (e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    if (n > peak.fds)
        peak.fds = n;
}

static void device_id(int t, int d, char out[32])
{
    snprintf(out, 32, "ps_%08dx%013d", t, d);
}

/* One request of a phase: what it sends, where its answer goes. */
typedef struct req {
    CURL *h;
    struct curl_slist *hdrs;
    mtd_buf answer;
    int idx;         /* the item of the phase (tenant, device or batch) */
    int64_t t0;
    int64_t not_before; /* a retry waits for the Retry-After it was given */
    char *body;
    size_t blen;
} req;

static size_t to_buf(char *p, size_t s, size_t n, void *u)
{
    mtd_buf_append(u, p, s * n);
    return s * n;
}

/* A phase: n items, each one request (prepared by make, judged by done: 0 finished,
 * 1 send again after the answer's Retry-After, 2 send the next at once), at most conc
 * at once. */
typedef struct {
    int n, conc;
    void (*make)(req *r, char *path, size_t plen, char *tok, size_t tlen, const char **ctype);
    int (*done)(req *r, long code);
} phase;

static void start(CURLM *m, req *r, const phase *ph)
{
    char path[200], tok[220], full[400], auth[300];
    const char *ctype = "application/json";
    ph->make(r, path, sizeof path, tok, sizeof tok, &ctype);
    curl_easy_reset(r->h);
    curl_slist_free_all(r->hdrs);
    snprintf(full, sizeof full, "%s%s", url, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", tok);
    r->hdrs = curl_slist_append(NULL, auth);
    char ct[80];
    snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
    r->hdrs = curl_slist_append(r->hdrs, ct);
    r->hdrs = curl_slist_append(r->hdrs, "Expect:");
    if (!strcmp(ctype, "application/x-ndjson")) {
        char key[80];
        snprintf(key, sizeof key, "Idempotency-Key: batch-%d-%d", r->idx, devs[r->idx].sent);
        r->hdrs = curl_slist_append(r->hdrs, key);
    }
    curl_easy_setopt(r->h, CURLOPT_URL, full);
    curl_easy_setopt(r->h, CURLOPT_HTTPHEADER, r->hdrs);
    curl_easy_setopt(r->h, CURLOPT_POSTFIELDS, r->body);
    curl_easy_setopt(r->h, CURLOPT_POSTFIELDSIZE, (long)r->blen);
    curl_easy_setopt(r->h, CURLOPT_WRITEFUNCTION, to_buf);
    curl_easy_setopt(r->h, CURLOPT_WRITEDATA, &r->answer);
    curl_easy_setopt(r->h, CURLOPT_PRIVATE, r);
    curl_easy_setopt(r->h, CURLOPT_NOSIGNAL, 1L);
    mtd_buf_reset(&r->answer);
    r->t0 = mtd_monotonic_ns();
    curl_multi_add_handle(m, r->h);
}

/* Runs a phase; returns its seconds. */
static double run_phase(const phase *ph)
{
    CURLM *m = curl_multi_init();
    req *rs = calloc((size_t)ph->conc, sizeof *rs);
    int next = 0, active = 0, waiting = 0;
    int64_t t0 = mtd_monotonic_ns(), last_sample = 0;
    for (int i = 0; i < ph->conc && next < ph->n; i++, next++) {
        rs[i].h = curl_easy_init();
        mtd_buf_init(&rs[i].answer, 0);
        rs[i].idx = next;
        start(m, &rs[i], ph);
        active++;
    }
    while (active > 0 || waiting > 0) {
        int running;
        curl_multi_perform(m, &running);
        curl_multi_poll(m, NULL, 0, 20, NULL);
        CURLMsg *msg;
        int q;
        while ((msg = curl_multi_info_read(m, &q)) != NULL) {
            req *r;
            long code = 0;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
            curl_multi_remove_handle(m, r->h);
            active--;
            int again = ph->done(r, code);
            if (again == 2) {
                start(m, r, ph);
                active++;
            } else if (again) {
                curl_off_t ra = 0;
                curl_easy_getinfo(r->h, CURLINFO_RETRY_AFTER, &ra);
                r->not_before = mtd_monotonic_ns() + (int64_t)(ra > 0 ? ra : 1) * 1000000000;
                waiting++;
            } else if (next < ph->n) {
                r->idx = next++;
                start(m, r, ph);
                active++;
            } else {
                r->not_before = -1; /* idle */
            }
        }
        int64_t now = mtd_monotonic_ns();
        for (int i = 0; i < ph->conc && waiting > 0; i++)
            if (rs[i].h && rs[i].not_before > 0 && now >= rs[i].not_before) {
                rs[i].not_before = 0;
                waiting--;
                start(m, &rs[i], ph);
                active++;
            }
        if (now - last_sample > 100000000) {
            sample();
            last_sample = now;
        }
    }
    for (int i = 0; i < ph->conc; i++) {
        if (rs[i].h)
            curl_easy_cleanup(rs[i].h);
        curl_slist_free_all(rs[i].hdrs);
        mtd_buf_free(&rs[i].answer);
        free(rs[i].body);
    }
    free(rs);
    curl_multi_cleanup(m);
    return (mtd_monotonic_ns() - t0) / 1e9;
}

static json_t *answer_json(req *r)
{
    return json_loadb((const char *)r->answer.data, r->answer.len, 0, NULL);
}

static void set_body(req *r, const char *b)
{
    free(r->body);
    r->body = strdup(b);
    r->blen = strlen(b);
}

static void make_tenant(req *r, char *path, size_t pl, char *tok, size_t tl, const char **ct)
{
    char b[64];
    (void)ct;
    snprintf(path, pl, "/v1/operator/tenants");
    snprintf(tok, tl, "%s", op);
    snprintf(b, sizeof b, "{\"name\":\"bench tenant %d\"}", r->idx);
    set_body(r, b);
}

/* Answers other than 200: the first few are shown; 429 and 503 are retried (at most
 * 10,000 times in a phase, so that a collector that never lets them in ends the run). */
static int refused(req *r, long code)
{
    if ((code == 429 || code == 503) && retried < 10000)
        return ++retried, 1;
    if (failed++ < 5)
        fprintf(stderr, "bench_tenants: answered %ld: %.*s\n", code, (int)r->answer.len,
                (const char *)r->answer.data);
    return 0;
}

static int tenant_done(req *r, long code)
{
    if (code != 201)
        return refused(r, code);
    json_t *j = answer_json(r);
    const char *id = json_string_value(json_object_get(j, "tenant_id"));
    const char *enr = json_string_value(json_object_get(j, "enroll_token"));
    if (id && enr) {
        snprintf(tens[r->idx].id, sizeof tens[r->idx].id, "%s", id);
        snprintf(tens[r->idx].enr, sizeof tens[r->idx].enr, "%s", enr);
    } else {
        failed++;
    }
    json_decref(j);
    return 0;
}

static void make_enroll(req *r, char *path, size_t pl, char *tok, size_t tl, const char **ct)
{
    char b[80], dev[32];
    (void)ct;
    device_id(r->idx / n_dev, r->idx % n_dev, dev);
    snprintf(path, pl, "/v1/enroll");
    snprintf(tok, tl, "%s", tens[r->idx / n_dev].enr);
    snprintf(b, sizeof b, "{\"device_id\":\"%s\"}", dev);
    set_body(r, b);
}

static int enroll_done(req *r, long code)
{
    if (code != 200 && code != 201)
        return refused(r, code);
    json_t *j = answer_json(r);
    const char *c = json_string_value(json_object_get(j, "device_credential"));
    if (c)
        snprintf(devs[r->idx].cred, sizeof devs[r->idx].cred, "%s", c);
    else
        failed++;
    json_decref(j);
    return 0;
}

/* Device idx's next batch, zstd-compressed, its event IDs unique in the run. */
static void make_batch(req *r, char *path, size_t pl, char *tok, size_t tl, const char **ct)
{
    int t = r->idx / n_dev;
    char dev[32];
    device_id(t, r->idx % n_dev, dev);
    mtd_buf raw;
    mtd_buf_init(&raw, 0);
    for (int i = 0; i < n_ev; i++)
        mtd_buf_printf(&raw,
            "{\"event\":\"app.inventory\",\"schema\":1,\"event_id\":\"e%dx%dx%d\",\"time\":\"2026-11-24T10:00:00Z\","
            "\"tenant_id\":\"%s\",\"device_id\":\"%s\",\"package\":\"com.example.app%d\",\"version_code\":%d,"
            "\"version_name\":\"1.%d.3\",\"install_source\":\"com.android.vending\",\"apk_size\":%d,"
            "\"permissions\":[\"android.permission.INTERNET\"],\"is_system\":false}\n",
            r->idx, devs[r->idx].sent, i, tens[t].id, dev, i, i, i, 1000000 + i);
    free(r->body);
    r->body = malloc(ZSTD_compressBound(raw.len));
    r->blen = ZSTD_compress(r->body, ZSTD_compressBound(raw.len), raw.data, raw.len, 3);
    mtd_buf_free(&raw);
    snprintf(path, pl, "/v1/batches");
    snprintf(tok, tl, "%s", devs[r->idx].cred);
    *ct = "application/x-ndjson";
}

/* A device sends its batches one after another on its request: done when all are. */
static int batch_done(req *r, long code)
{
    if (code != 200)
        return refused(r, code);
    lat[nlat++] = (mtd_monotonic_ns() - r->t0) / 1e6;
    return ++devs[r->idx].sent < n_batch ? 2 : 0;
}

static void start_collector(const char *bin, const char *data)
{
    mtd_rm_rf(data);
    char mo[16];
    snprintf(mo, sizeof mo, "%d", max_open);
    collector = fork();
    if (collector == 0) {
        setenv("MTD_LOG", "warn", 1);
        if (!freopen("/dev/null", "w", stdout))
            _exit(127);
        /* --cold-opens 0: every upload here may open a closed store (the default, 32/s
         * for requests not yet authenticated, is for a fleet that mostly finds its
         * tenant open) */
        execl(bin, "mtd-collector", "--data", data, "--listen", "127.0.0.1:0", "--max-open-stores", mo,
              "--cold-opens", "0", NULL);
        _exit(127);
    }
    char path[600];
    snprintf(path, sizeof path, "%s/collector.url", data);
    for (int i = 0; i < 400 && mtd_file_read_line(path, url, sizeof url) != 0; i++)
        usleep(25000);
    snprintf(path, sizeof path, "%s/operator.token", data);
    mtd_file_read_line(path, op, sizeof op);
}

/* One integer of the collector's /metrics, or -1. */
static long long metric(const char *name)
{
    char cmd[700], line[256];
    long long v = -1;
    snprintf(cmd, sizeof cmd, "curl -sf -H 'Authorization: Bearer %s' %s/metrics", op, url);
    FILE *f = popen(cmd, "r");
    size_t n = strlen(name);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, name, n) && line[n] == ' ')
            v = atoll(line + n + 1);
    if (f)
        pclose(f);
    return v;
}

/* Every tenant's store holds its events once and only its own devices'; returns the
 * tenants that do not. */
static int check_stores(const char *data, long long *rows_total)
{
    int bad = 0;
    long long want = (long long)n_dev * n_batch * n_ev;
    *rows_total = 0;
    for (int t = 0; t < n_ten; t++) {
        char path[600], sql[300];
        sqlite3 *db;
        sqlite3_stmt *st;
        snprintf(path, sizeof path, "%s/tenants/%s/store.sqlite", data, tens[t].id);
        snprintf(sql, sizeof sql, "SELECT count(*), count(DISTINCT event_id), count(DISTINCT device_id),"
                                  " sum(device_id NOT LIKE 'ps_%08dx%%') FROM ev_app_inventory", t);
        long long n = -1, distinct = -1, ndev = -1, foreign = -1;
        if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
            sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
            if (sqlite3_step(st) == SQLITE_ROW) {
                n = sqlite3_column_int64(st, 0);
                distinct = sqlite3_column_int64(st, 1);
                ndev = sqlite3_column_int64(st, 2);
                foreign = sqlite3_column_int64(st, 3);
            }
            sqlite3_finalize(st);
        }
        sqlite3_close(db);
        *rows_total += n > 0 ? n : 0;
        if (n != want || distinct != want || ndev != n_dev || foreign != 0) {
            if (bad++ < 5)
                fprintf(stderr, "bench_tenants: tenant %d (%s): %lld rows, %lld distinct, %lld devices,"
                                " %lld of other tenants' devices (want %lld, %lld, %d, 0)\n",
                        t, tens[t].id, n, distinct, ndev, foreign, want, want, n_dev);
        }
    }
    return bad;
}

int main(int argc, char **argv)
{
    if (argc > 1) n_ten = atoi(argv[1]);
    if (argc > 2) n_dev = atoi(argv[2]);
    if (argc > 3) max_open = atoi(argv[3]);
    if (argc > 4) n_batch = atoi(argv[4]);
    if (argc > 5) n_ev = atoi(argv[5]);
    char bin[600];
    const char *data = getenv("MTD_BENCH_DATA") ? getenv("MTD_BENCH_DATA") : "/tmp/mtd-bench-tenants";
    snprintf(bin, sizeof bin, "%.*s/../bin/mtd-collector", (int)(strrchr(argv[0], '/') - argv[0]), argv[0]);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int nd = n_ten * n_dev;
    tens = calloc((size_t)n_ten, sizeof *tens);
    devs = calloc((size_t)nd, sizeof *devs);
    lat = calloc((size_t)nd * n_batch, sizeof *lat);
    double load[3];
    getloadavg(load, 3);
    start_collector(bin, data);
    if (!url[0]) {
        fprintf(stderr, "bench_tenants: the collector did not start\n");
        return 1;
    }
    phase create = {n_ten, 8, make_tenant, tenant_done}; /* as many as HTTP threads (8 on 2 CPUs) */
    double t_create = run_phase(&create);
    phase enroll = {nd, 32, make_enroll, enroll_done};
    double t_enroll = run_phase(&enroll);
    if (failed) {
        fprintf(stderr, "bench_tenants: %ld tenants or enrollments failed\n", failed);
        kill(collector, SIGTERM);
        waitpid(collector, NULL, 0);
        return 1;
    }
    long retried_setup = retried;
    retried = 0;
    phase upload = {nd, nd < CONNS ? nd : CONNS, make_batch, batch_done};
    double t_up = run_phase(&upload);
    sample();
    long long evictions = metric("mtd_store_evictions_total"), open_now = metric("mtd_stores_open"),
              ck = metric("mtd_store_checkpointer_threads");
    kill(collector, SIGTERM);
    waitpid(collector, NULL, 0);
    long long rows;
    int bad = check_stores(data, &rows);
    qsort(lat, nlat, sizeof *lat, cmp_d);
    double p50 = nlat ? lat[nlat / 2] : 0, p99 = nlat ? lat[(size_t)(nlat * 0.99)] : 0;
    printf("tenants: %d tenants x %d devices, --max-open-stores %d, load average %.2f at the start\n", n_ten,
           n_dev, max_open, load[0]);
    printf("tenants: created in %.1f s (%.1f ms each), %d devices enrolled in %.1f s; %ld retried (429/503)\n",
           t_create, t_create * 1000 / n_ten, nd, t_enroll, retried_setup);
    printf("tenants: upload %d x %d batches x %d events in %.1f s: %.0f events/s stored, batch latency"
           " p50 %.1f ms p99 %.1f ms, %ld retried after 429/503, %ld failed\n",
           nd, n_batch, n_ev, t_up, (double)nlat * n_ev / t_up, p50, p99, retried, failed);
    printf("tenants: collector peak threads %ld (target <= 64: %s), file descriptors %ld, RSS %.0f MiB;"
           " stores open at the end %lld, evictions %lld, checkpointer threads %lld\n",
           peak.threads, peak.threads <= 64 ? "met" : "NOT met", peak.fds, peak.rss_kib / 1024.0, open_now,
           evictions, ck);
    printf("tenants: every event stored once in its own tenant: %s (%lld rows of %lld; %d tenants wrong)\n",
           bad ? "NO" : "yes", rows, (long long)nd * n_batch * n_ev, bad);
    mtd_rm_rf(data);
    return bad || failed ? 1 : 0;
}
