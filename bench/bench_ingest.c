/* bench_ingest: the collector under 1,000 simulated devices uploading at once over
 * loopback (libcurl multi, one connection per device), against the physical floor of
 * the same work: inserting the same rows straight into SQLite through the store, with
 * no HTTP, no decompression and no validation, ten batches per transaction, in the
 * same run.
 *
 * Reports sustained events/s stored, p50/p99 batch latency, and the ratio to the
 * direct insert rate; medians of 3 runs, each against a fresh collector.
 *
 * Ten batches per device (2M events, ~9 s of upload per run): at five, the upload
 * lasted ~4.5 s, of which the start (1,000 connections opening) and the tail (the
 * last devices' batches, p99 latency ~3 s) were a large part, and the rate measured
 * swung 183k-235k between invocations of the same build; "sustained" is the steady
 * state between them.
 *
 * Devices connect from 1,000 loopback addresses (127.1.x.y), or all from 127.0.0.1 with
 * MTD_BENCH_ONE_ADDRESS=1: a fleet behind one NAT address, which the collector's
 * per-address limit must not refuse. Answers other than 200 are counted by status and
 * error word, and so are connections the collector closed under a device (libcurl
 * opens a new one and sends again, which the 200 alone does not show).
 *
 *   bench_ingest [DEVICES [BATCHES_PER_DEVICE [EVENTS_PER_BATCH]]]   (1000 10 200) */
#include "collector/mtd_batch.h"
#include "common/mtd_buf.h"
#include "common/mtd_file.h"
#include "common/mtd_util.h"
#include "store/mtd_store.h"

#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#define RUNS 3
#define DIRECT_GROUP 10

typedef struct {
    char cred[200];
    char device[32];
    char src[32];    /* its own loopback address, as devices come from many */
    char answer[256]; /* the start of the last answer's body */
    size_t alen;
    int sent;
    int tried;       /* a transfer of this run has ended (its connection is open) */
    CURL *h;
    struct curl_slist *hdrs;
    int64_t t0;
} device;

static int n_dev = 1000, n_batch = 10, n_ev = 200;
static long reconnects; /* connections opened past each device's first */
static char tenant[32], url[200];
static double *lat;
static size_t nlat;
/* answers other than 200 by status and error word (status 0: the connection closed
 * without an answer), so that a retry says which limit sent it */
#define NWHY 16
static struct {
    long code, n;
    char error[40];
} retry_why[NWHY];

/* Size of the tenant's WAL file: the checkpointer keeps it bounded under load. */
static double wal_size(const char *data, const char *tn)
{
    char path[600];
    struct stat st;
    snprintf(path, sizeof path, "%s/tenants/%s/store.sqlite-wal", data, tn);
    return stat(path, &st) == 0 ? (double)st.st_size : 0;
}

static double tv_s(struct timeval t) { return (double)t.tv_sec + t.tv_usec / 1e6; }

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static size_t sink(char *p, size_t s, size_t n, void *u)
{
    device *d = u;
    size_t k = s * n < sizeof d->answer - 1 - d->alen ? s * n : sizeof d->answer - 1 - d->alen;
    memcpy(d->answer + d->alen, p, k);
    d->alen += k;
    d->answer[d->alen] = 0;
    return s * n;
}

static void count_retry(long code, const char *answer)
{
    char error[40] = "";
    const char *e = strstr(answer, "\"error\":\"");
    if (e)
        sscanf(e + 9, "%39[^\"]", error);
    for (int i = 0; i < NWHY; i++)
        if (!retry_why[i].n || (retry_why[i].code == code && !strcmp(retry_why[i].error, error))) {
            retry_why[i].code = code;
            snprintf(retry_why[i].error, sizeof retry_why[i].error, "%s", error);
            retry_why[i].n++;
            return;
        }
}

static size_t to_buf(char *p, size_t s, size_t n, void *u)
{
    mtd_buf_append(u, p, s * n);
    return s * n;
}

static json_t *http_json(const char *method, const char *path, const char *tok, const char *body)
{
    CURL *h = curl_easy_init();
    char full[400], auth[300];
    mtd_buf b;
    mtd_buf_init(&b, 0);
    snprintf(full, sizeof full, "%s%s", url, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", tok);
    struct curl_slist *hd = curl_slist_append(NULL, auth);
    curl_easy_setopt(h, CURLOPT_URL, full);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, to_buf);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    if (body)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_perform(h);
    curl_easy_cleanup(h);
    curl_slist_free_all(hd);
    json_t *j = json_loadb((char *)b.data, b.len, 0, NULL);
    mtd_buf_free(&b);
    return j;
}

/* A batch of device d: n_ev app.inventory events of about 600 bytes each, with event
 * IDs as the agent's gate makes them (16 random bytes, base64url). */
static void make_batch(const device *d, mtd_buf *raw)
{
    mtd_buf_reset(raw);
    for (int i = 0; i < n_ev; i++) {
        uint8_t rnd[16];
        char eid[32];
        mtd_random(rnd, sizeof rnd);
        mtd_b64url(rnd, sizeof rnd, eid);
        mtd_buf_printf(raw,
            "{\"event\":\"app.inventory\",\"schema\":1,\"event_id\":\"%s\",\"time\":\"2026-11-24T10:00:00Z\","
            "\"tenant_id\":\"%s\",\"device_id\":\"%s\",\"package\":\"com.example.app%d\",\"version_code\":%d,"
            "\"version_name\":\"1.%d.3\",\"install_source\":\"com.android.vending\",\"apk_path\":"
            "\"/data/app/~~Qm9vbGVhbg==/com.example.app%d-a2V5Lm5vdA==/base.apk\",\"first_install_time\":"
            "\"2026-01-02T03:04:05Z\",\"last_update_time\":\"2026-02-03T04:05:06Z\",\"apk_size\":%d,"
            "\"apk_sha256\":\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\",\"permissions\":"
            "[\"android.permission.INTERNET\",\"android.permission.CAMERA\",\"android.permission.ACCESS_NETWORK_STATE\"],"
            "\"signer_sha256\":[\"32a23624c201b949f085996ba5ed53d40f703aca4989476949cae891022e0ed6\"],"
            "\"is_system\":false}\n",
            eid, tenant, d->device, i, i, i, i, 1000000 + i);
    }
}

static pid_t start_collector(const char *bin, const char *data)
{
    mtd_rm_rf(data);
    pid_t p = fork();
    if (p == 0) {
        setenv("MTD_LOG", "warn", 1);
        const char *th = getenv("MTD_BENCH_THREADS");
        execl(bin, "mtd-collector", "--data", data, "--listen", "127.0.0.1:0", "--threads", th ? th : "0", NULL);
        _exit(127);
    }
    char path[512];
    snprintf(path, sizeof path, "%s/collector.url", data);
    for (int i = 0; i < 200 && mtd_file_read_line(path, url, sizeof url) != 0; i++)
        usleep(25000);
    return p;
}

static int enroll_all(device *d, const char *data)
{
    char op[200], path[512];
    snprintf(path, sizeof path, "%s/operator.token", data);
    mtd_file_read_line(path, op, sizeof op);
    json_t *t = http_json("POST", "/v1/operator/tenants", op, "{\"name\":\"bench\"}");
    snprintf(tenant, sizeof tenant, "%s", json_string_value(json_object_get(t, "tenant_id")) ?: "");
    char enr[200];
    snprintf(enr, sizeof enr, "%s", json_string_value(json_object_get(t, "enroll_token")) ?: "");
    json_decref(t);
    for (int i = 0; i < n_dev; i++) { /* each credential bound to its device at enrollment */
        char body[80];
        snprintf(d[i].device, sizeof d[i].device, "ps_dev%019d", i);
        if (getenv("MTD_BENCH_ONE_ADDRESS") && atoi(getenv("MTD_BENCH_ONE_ADDRESS")))
            snprintf(d[i].src, sizeof d[i].src, "127.0.0.1");
        else
            snprintf(d[i].src, sizeof d[i].src, "127.1.%d.%d", i / 250, i % 250 + 1);
        snprintf(body, sizeof body, "{\"device_id\":\"%s\"}", d[i].device);
        json_t *e = http_json("POST", "/v1/enroll", enr, body);
        const char *c = json_string_value(json_object_get(e, "device_credential"));
        if (!c)
            return -1;
        snprintf(d[i].cred, sizeof d[i].cred, "%s", c);
        json_decref(e);
    }
    return 0;
}

typedef struct {
    void *z;
    size_t zn;
} blob;

static void submit(CURLM *m, device *d, blob *bl, int idx)
{
    char key[80], auth[300];
    curl_slist_free_all(d->hdrs);
    snprintf(key, sizeof key, "Idempotency-Key: %s-%d", d->device, d->sent);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", d->cred);
    d->hdrs = curl_slist_append(NULL, "Content-Type: application/x-ndjson");
    d->hdrs = curl_slist_append(d->hdrs, key);
    d->hdrs = curl_slist_append(d->hdrs, auth);
    d->hdrs = curl_slist_append(d->hdrs, "Expect:");
    char full[300];
    snprintf(full, sizeof full, "%s/v1/batches", url);
    curl_easy_setopt(d->h, CURLOPT_URL, full);
    curl_easy_setopt(d->h, CURLOPT_HTTPHEADER, d->hdrs);
    curl_easy_setopt(d->h, CURLOPT_POSTFIELDS, bl[idx].z);
    curl_easy_setopt(d->h, CURLOPT_POSTFIELDSIZE, (long)bl[idx].zn);
    curl_easy_setopt(d->h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(d->h, CURLOPT_WRITEDATA, d);
    d->alen = 0;
    d->answer[0] = 0;
    curl_easy_setopt(d->h, CURLOPT_PRIVATE, d);
    curl_easy_setopt(d->h, CURLOPT_NOSIGNAL, 1L); /* else libcurl swaps SIGPIPE handlers per call */
    curl_easy_setopt(d->h, CURLOPT_INTERFACE, d->src); /* the collector limits connections per address */
    d->t0 = mtd_monotonic_ns();
    curl_multi_add_handle(m, d->h);
}

/* The load generator drives libcurl's multi interface through its socket API on one
 * epoll set: with 1,000 connections open, curl_multi_perform + poll would walk every
 * handle and every socket on each wakeup, and the generator would eat the CPU that the
 * collector it measures shares with it. */
static int on_socket(CURL *h, curl_socket_t fd, int what, void *ep, void *sp)
{
    (void)h;
    (void)sp;
    struct epoll_event ev = {.data.fd = fd};
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(*(int *)ep, EPOLL_CTL_DEL, fd, NULL);
        return 0;
    }
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
    if (epoll_ctl(*(int *)ep, EPOLL_CTL_MOD, fd, &ev) != 0)
        epoll_ctl(*(int *)ep, EPOLL_CTL_ADD, fd, &ev);
    return 0;
}

static int on_timer(CURLM *m, long ms, void *tp)
{
    (void)m;
    *(long *)tp = ms;
    return 0;
}

/* Finished transfers: count, and send the device's next batch. */
static void reap(CURLM *m, device *d, blob *bl, long *errors, int *left)
{
    CURLMsg *msg;
    int q;
    while ((msg = curl_multi_info_read(m, &q)) != NULL) {
        device *dv;
        long code = 0, conns = 0;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&dv);
        curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_getinfo(msg->easy_handle, CURLINFO_NUM_CONNECTS, &conns);
        reconnects += conns - (dv->sent == 0 && !dv->tried); /* a device's first connection is due */
        dv->tried = 1;
        curl_multi_remove_handle(m, msg->easy_handle);
        if (code == 200) {
            lat[nlat++] = (mtd_monotonic_ns() - dv->t0) / 1e6;
            dv->sent++;
        } else {
            (*errors)++; /* 429/503: the device retries the same batch */
            count_retry(code, dv->answer);
        }
        if (dv->sent < n_batch)
            submit(m, dv, bl, (int)(dv - d) * n_batch + dv->sent);
        else
            (*left)--;
    }
}

/* Uploads every batch of every device, all devices at once; returns seconds. */
static double upload(device *d, blob *bl, long *errors)
{
    int ep = epoll_create1(0), running, left = n_dev;
    long timeout = -1;
    CURLM *m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)n_dev);
    curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(m, CURLMOPT_SOCKETDATA, &ep);
    curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(m, CURLMOPT_TIMERDATA, &timeout);
    int64_t t0 = mtd_monotonic_ns();
    for (int i = 0; i < n_dev; i++) {
        d[i].h = curl_easy_init();
        d[i].sent = 0;
        d[i].tried = 0;
        submit(m, &d[i], bl, i * n_batch);
    }
    curl_multi_socket_action(m, CURL_SOCKET_TIMEOUT, 0, &running);
    while (left > 0) {
        struct epoll_event evs[256];
        int n = epoll_wait(ep, evs, 256, timeout < 0 || timeout > 100 ? 100 : (int)timeout);
        if (n <= 0) {
            timeout = -1; /* a one-shot timer: curl sets the next one if it wants one */
            curl_multi_socket_action(m, CURL_SOCKET_TIMEOUT, 0, &running);
        }
        for (int i = 0; i < n; i++)
            curl_multi_socket_action(m, evs[i].data.fd,
                                     (evs[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                                         (evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0),
                                     &running);
        reap(m, d, bl, errors, &left);
    }
    double secs = (mtd_monotonic_ns() - t0) / 1e9;
    for (int i = 0; i < n_dev; i++) {
        curl_easy_cleanup(d[i].h);
        curl_slist_free_all(d[i].hdrs);
        d[i].hdrs = NULL;
    }
    curl_multi_cleanup(m);
    close(ep);
    return secs;
}

/* The same rows straight into a fresh store: the floor of the collector's work. */
static double direct_insert(device *d, mtd_buf *raw)
{
    char dir[] = "/tmp/mtd-bench-direct-XXXXXX", why[256];
    mkdtemp(dir);
    mtd_store *s;
    mtd_store_open(dir, &s, why, sizeof why);
    /* decoded up front: only the inserts are timed. In the order the collector gets
     * them, every device's first batch, then every device's second, and so on: ten
     * batches in a row from ten devices dirty ten devices' pages of the index and of
     * the devices table, where a device's own five batches would share them (the
     * floor was 10-20% higher, and no collector ever sees that order). */
    int nb = n_dev * n_batch;
    mtd_batch *batches = calloc((size_t)nb, sizeof *batches);
    for (int b = 0; b < n_batch; b++)
        for (int i = 0; i < n_dev; i++) {
            make_batch(&d[i], raw);
            mtd_batch *bt = &batches[b * n_dev + i];
            mtd_batch_error err;
            mtd_batch_init(bt);
            mtd_buf_append(&bt->raw, raw->data, raw->len);
            if (mtd_batch_parse(bt, &err) != 0) {
                fprintf(stderr, "bench_ingest: %s\n", err.detail);
                exit(1);
            }
        }
    /* in groups of DIRECT_GROUP batches per transaction: about twice the collector's
     * average group under this load (4-6 batches measured). Not SQLite's best case:
     * 20 or 40 batches per transaction go faster still (~255k, ~265k here), and 5 slower
     * (~185k) */
    mtd_store_batch *sb = calloc((size_t)nb, sizeof *sb);
    char (*keys)[40] = calloc((size_t)nb, sizeof *keys);
    for (int k = 0; k < nb; k++) {
        snprintf(keys[k], sizeof keys[k], "direct-%d", k);
        sb[k] = (mtd_store_batch){.cred_hash = "", .idem_key = keys[k], .events = batches[k].ev,
                                  .n = batches[k].n};
        if ((k + 1) % DIRECT_GROUP != 0 && k + 1 < nb)
            sb[k].next = &sb[k + 1];
    }
    int64_t t0 = mtd_monotonic_ns();
    for (int k = 0; k < nb; k += DIRECT_GROUP)
        mtd_store_ingest_group(s, &sb[k]);
    double secs = (mtd_monotonic_ns() - t0) / 1e9;
    free(sb);
    free(keys);
    for (int k = 0; k < nb; k++)
        mtd_batch_free(&batches[k]);
    free(batches);
    mtd_store_close(s);
    mtd_rm_rf(dir);
    return (double)n_dev * n_batch * n_ev / secs;
}

int main(int argc, char **argv)
{
    if (argc > 1) n_dev = atoi(argv[1]);
    if (argc > 2) n_batch = atoi(argv[2]);
    if (argc > 3) n_ev = atoi(argv[3]);
    char bin[600];
    snprintf(bin, sizeof bin, "%.*s/../bin/mtd-collector", (int)(strrchr(argv[0], '/') - argv[0]), argv[0]);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    device *d = calloc((size_t)n_dev, sizeof *d);
    blob *bl = calloc((size_t)n_dev * n_batch, sizeof *bl);
    lat = calloc((size_t)n_dev * n_batch, sizeof *lat);
    mtd_buf raw;
    mtd_buf_init(&raw, 0);
    double rate[RUNS], p99[RUNS], p50[RUNS], direct[RUNS], cpu_gen[RUNS], cpu_col[RUNS], wal_mib[RUNS];
    long errors = 0;
    for (int r = 0; r < RUNS; r++) {
        const char *data = "/tmp/mtd-bench-ingest";
        pid_t pid = start_collector(bin, data);
        if (enroll_all(d, data) != 0) {
            fprintf(stderr, "bench_ingest: enrollment failed\n");
            return 1;
        }
        for (int i = 0; i < n_dev; i++)
            for (int b = 0; b < n_batch; b++) {
                make_batch(&d[i], &raw);
                blob *x = &bl[i * n_batch + b];
                free(x->z);
                x->z = malloc(ZSTD_compressBound(raw.len));
                x->zn = ZSTD_compress(x->z, ZSTD_compressBound(raw.len), raw.data, raw.len, 3);
            }
        nlat = 0;
        struct rusage ru0, ru1, rc;
        getrusage(RUSAGE_SELF, &ru0);
        double secs = upload(d, bl, &errors);
        getrusage(RUSAGE_SELF, &ru1);
        wal_mib[r] = wal_size(data, tenant) / 1048576.0;
        kill(pid, SIGTERM);
        wait4(pid, NULL, 0, &rc);
        cpu_gen[r] = (tv_s(ru1.ru_utime) + tv_s(ru1.ru_stime) - tv_s(ru0.ru_utime) - tv_s(ru0.ru_stime)) / secs;
        cpu_col[r] = (tv_s(rc.ru_utime) + tv_s(rc.ru_stime)) / secs;
        rate[r] = (double)nlat * n_ev / secs;
        qsort(lat, nlat, sizeof *lat, cmp_d);
        p50[r] = lat[nlat / 2];
        p99[r] = lat[(size_t)(nlat * 0.99)];
        direct[r] = direct_insert(d, &raw);
        mtd_rm_rf(data);
    }
    qsort(rate, RUNS, sizeof *rate, cmp_d);
    qsort(p50, RUNS, sizeof *p50, cmp_d);
    qsort(p99, RUNS, sizeof *p99, cmp_d);
    qsort(direct, RUNS, sizeof *direct, cmp_d);
    qsort(cpu_gen, RUNS, sizeof *cpu_gen, cmp_d);
    qsort(cpu_col, RUNS, sizeof *cpu_col, cmp_d);
    qsort(wal_mib, RUNS, sizeof *wal_mib, cmp_d);
    printf("ingest: %d devices x %d batches x %d events over loopback: %.0f events/s stored"
           " (median of %d), batch latency p50 %.1f ms p99 %.1f ms, %ld retried (429/503)\n",
           n_dev, n_batch, n_ev, rate[RUNS / 2], RUNS, p50[RUNS / 2], p99[RUNS / 2], errors);
    for (int i = 0; i < NWHY && retry_why[i].n; i++)
        printf("ingest: retried after %ld %s: %ld\n", retry_why[i].code, retry_why[i].error[0] ? retry_why[i].error : "(no answer)",
               retry_why[i].n);
    printf("ingest: connections the collector closed under a device (opened again): %ld in %d runs\n",
           reconnects, RUNS);
    printf("ingest: same rows straight into SQLite: %.0f events/s; collector/direct ratio %.2f"
           " (targets: >= 200000 events/s: %s; ratio >= 0.50: %s)\n", direct[RUNS / 2],
           rate[RUNS / 2] / direct[RUNS / 2], rate[RUNS / 2] >= 200000 ? "met" : "NOT met",
           rate[RUNS / 2] / direct[RUNS / 2] >= 0.5 ? "met" : "NOT met");
    printf("ingest: CPUs busy during the upload: collector %.2f, load generator %.2f (of %ld);"
           " WAL file after the upload %.0f MiB (largest of %d runs)\n", cpu_col[RUNS / 2],
           cpu_gen[RUNS / 2], sysconf(_SC_NPROCESSORS_ONLN), wal_mib[RUNS - 1], RUNS);
    return 0;
}
