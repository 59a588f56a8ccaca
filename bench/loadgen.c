/* loadgen: the load generator of the ingest benchmarks (bench_ingest, pg_scale): many
 * simulated devices uploading at once over loopback, libcurl multi, one connection per
 * device, each device to its own collector URL. */
#include "loadgen.h"
#include "common/mtd_file.h"
#include "common/mtd_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

int lg_n_dev = 1000, lg_n_batch = 10, lg_n_ev = 200;
long lg_reconnects;
char lg_tenant[32];
double *lg_lat, *lg_lat_try;
size_t lg_nlat;
double lg_think_ms;
int lg_round;
lg_why lg_retry_why[LG_NWHY];

double lg_tv_s(struct timeval t) { return (double)t.tv_sec + t.tv_usec / 1e6; }

int lg_cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static size_t lg_sink(char *p, size_t s, size_t n, void *u)
{
    lg_device *d = u;
    size_t k = s * n < sizeof d->answer - 1 - d->alen ? s * n : sizeof d->answer - 1 - d->alen;
    memcpy(d->answer + d->alen, p, k);
    d->alen += k;
    d->answer[d->alen] = 0;
    return s * n;
}

static void lg_count_retry(long code, const char *answer)
{
    char error[40] = "";
    const char *e = strstr(answer, "\"error\":\"");
    if (e)
        sscanf(e + 9, "%39[^\"]", error);
    for (int i = 0; i < LG_NWHY; i++)
        if (!lg_retry_why[i].n || (lg_retry_why[i].code == code && !strcmp(lg_retry_why[i].error, error))) {
            lg_retry_why[i].code = code;
            snprintf(lg_retry_why[i].error, sizeof lg_retry_why[i].error, "%s", error);
            lg_retry_why[i].n++;
            return;
        }
}

static size_t lg_to_buf(char *p, size_t s, size_t n, void *u)
{
    mtd_buf_append(u, p, s * n);
    return s * n;
}

json_t *lg_http_json(const char *url, const char *method, const char *path, const char *tok, const char *body)
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
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, lg_to_buf);
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

/* A batch of device d: lg_n_ev app.inventory events of about 600 bytes each, with event
 * IDs as the agent's gate makes them (16 random bytes, base64url). */
void lg_make_batch(const lg_device *d, mtd_buf *raw)
{
    mtd_buf_reset(raw);
    for (int i = 0; i < lg_n_ev; i++) {
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
            eid, lg_tenant, d->device, i, i, i, i, 1000000 + i);
    }
}

int lg_enroll_all(lg_device *d, const char *url, const char *data)
{
    char op[200], path[512];
    snprintf(path, sizeof path, "%s/operator.token", data);
    mtd_file_read_line(path, op, sizeof op);
    json_t *t = lg_http_json(url, "POST", "/v1/operator/tenants", op, "{\"name\":\"bench\"}");
    snprintf(lg_tenant, sizeof lg_tenant, "%s", json_string_value(json_object_get(t, "tenant_id")) ?: "");
    char enr[200];
    snprintf(enr, sizeof enr, "%s", json_string_value(json_object_get(t, "enroll_token")) ?: "");
    json_decref(t);
    for (int i = 0; i < lg_n_dev; i++) { /* each credential bound to its device at enrollment */
        char body[80];
        snprintf(d[i].device, sizeof d[i].device, "ps_dev%019d", i);
        if (getenv("MTD_BENCH_ONE_ADDRESS") && atoi(getenv("MTD_BENCH_ONE_ADDRESS")))
            snprintf(d[i].src, sizeof d[i].src, "127.0.0.1");
        else
            snprintf(d[i].src, sizeof d[i].src, "127.1.%d.%d", i / 250, i % 250 + 1);
        snprintf(body, sizeof body, "{\"device_id\":\"%s\"}", d[i].device);
        json_t *e = lg_http_json(url, "POST", "/v1/enroll", enr, body);
        const char *c = json_string_value(json_object_get(e, "device_credential"));
        if (!c)
            return -1;
        snprintf(d[i].cred, sizeof d[i].cred, "%s", c);
        json_decref(e);
    }
    return 0;
}


static void lg_submit(CURLM *m, lg_device *d, lg_blob *bl, int idx)
{
    char key[80], auth[300];
    curl_slist_free_all(d->hdrs);
    snprintf(key, sizeof key, "Idempotency-Key: %s-%d-%d", d->device, lg_round, d->sent);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", d->cred);
    d->hdrs = curl_slist_append(NULL, "Content-Type: application/x-ndjson");
    d->hdrs = curl_slist_append(d->hdrs, key);
    d->hdrs = curl_slist_append(d->hdrs, auth);
    d->hdrs = curl_slist_append(d->hdrs, "Expect:");
    char full[300];
    snprintf(full, sizeof full, "%s/v1/batches", d->host_url[0] ? d->host_url : d->url);
    curl_easy_setopt(d->h, CURLOPT_URL, full);
    curl_easy_setopt(d->h, CURLOPT_RESOLVE, d->resolve);
    curl_easy_setopt(d->h, CURLOPT_HTTPHEADER, d->hdrs);
    curl_easy_setopt(d->h, CURLOPT_POSTFIELDS, bl[idx].z);
    curl_easy_setopt(d->h, CURLOPT_POSTFIELDSIZE, (long)bl[idx].zn);
    curl_easy_setopt(d->h, CURLOPT_WRITEFUNCTION, lg_sink);
    curl_easy_setopt(d->h, CURLOPT_WRITEDATA, d);
    d->alen = 0;
    d->answer[0] = 0;
    curl_easy_setopt(d->h, CURLOPT_PRIVATE, d);
    curl_easy_setopt(d->h, CURLOPT_NOSIGNAL, 1L); /* else libcurl swaps SIGPIPE handlers per call */
    curl_easy_setopt(d->h, CURLOPT_INTERFACE, d->src); /* the collector limits connections per address */
    d->t_try = mtd_monotonic_ns();
    curl_multi_add_handle(m, d->h);
}

/* The load generator drives libcurl's multi interface through its socket API on one
 * epoll set: with 1,000 connections open, curl_multi_perform + poll would walk every
 * handle and every socket on each wakeup, and the generator would eat the CPU that the
 * collector it measures shares with it. */
static int lg_on_socket(CURL *h, curl_socket_t fd, int what, void *ep, void *sp)
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

static int lg_on_timer(CURLM *m, long ms, void *tp)
{
    (void)m;
    *(long *)tp = ms;
    return 0;
}

/* A device's pause before its next batch (its first: after the start): uniform in
 * [0, lg_think_ms], none without pacing. */
static int64_t think_ns(void)
{
    if (lg_think_ms <= 0)
        return 0;
    uint32_t r;
    mtd_random(&r, sizeof r);
    return (int64_t)((double)r / 4294967296.0 * lg_think_ms * 1e6);
}

/* Sends the batches whose time has come. */
static void submit_due(CURLM *m, lg_device *d, lg_blob *bl)
{
    int64_t now = mtd_monotonic_ns();
    for (int i = 0; i < lg_n_dev; i++)
        if (d[i].waiting && d[i].due <= now) {
            d[i].waiting = 0;
            lg_submit(m, &d[i], bl, i * lg_n_batch + d[i].sent);
        }
}

/* Finished transfers: count, and send the device's next batch (paced: once its time
 * comes). */
static void lg_reap(CURLM *m, lg_device *d, lg_blob *bl, long *errors, int *left)
{
    CURLMsg *msg;
    int q;
    while ((msg = curl_multi_info_read(m, &q)) != NULL) {
        lg_device *dv;
        long code = 0, conns = 0;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&dv);
        curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_getinfo(msg->easy_handle, CURLINFO_NUM_CONNECTS, &conns);
        lg_reconnects += conns - (dv->sent == 0 && !dv->tried); /* a device's first connection is due */
        dv->tried = 1;
        curl_multi_remove_handle(m, msg->easy_handle);
        int64_t now = mtd_monotonic_ns();
        curl_off_t wait_s = 0;
        if (code == 200) {
            if (lg_lat_try)
                lg_lat_try[lg_nlat] = (now - dv->t_try) / 1e6;
            lg_lat[lg_nlat++] = (now - dv->t0) / 1e6;
            dv->sent++;
            dv->t0 = dv->due = now + think_ns(); /* the next batch's first attempt */
        } else {
            /* 429/503: the device sends the same batch again after the Retry-After the
             * answer gave and up to half of it again at random, as the agent does
             * (resent at once, 1,000 refused devices kept a collector busy refusing
             * them; all after exactly 1 s, they came back in one wave, and the
             * collector's queue ran dry between waves) */
            (*errors)++;
            lg_count_retry(code, dv->answer);
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RETRY_AFTER, &wait_s);
            uint32_t rnd;
            mtd_random(&rnd, sizeof rnd);
            dv->due = now + (int64_t)wait_s * 1000000000 +
                      (int64_t)((double)rnd / 4294967296.0 * (double)wait_s * 5e8);
        }
        if (dv->sent >= lg_n_batch)
            (*left)--;
        else if (dv->due <= now)
            lg_submit(m, dv, bl, (int)(dv - d) * lg_n_batch + dv->sent);
        else
            dv->waiting = 1; /* sent by submit_due once its time comes */
    }
}

/* The device's own host name for its url (http://ADDRESS:PORT): one device, one host
 * in libcurl's connection cache. With all 1,000 devices on one host name, each new
 * transfer walked the host's idle connections (devices between two batches, or
 * waiting out a Retry-After) and polled each for liveness before comparing its source
 * address: perf of bench_ingest at 1,000 devices found 57% of the load generator's
 * CPU in poll(), on the 2 cores the collector it measures shares. A device of a real
 * fleet checks only its own connection. Left as it is (url used directly) for a url
 * of any other shape. */
static void own_host(lg_device *d, int i)
{
    char addr[64];
    int port = 0;
    d->host_url[0] = 0;
    if (sscanf(d->url, "http://%63[0-9.]:%d", addr, &port) != 2 || port <= 0)
        return;
    char entry[128];
    snprintf(entry, sizeof entry, "d%d.bench.invalid:%d:%s", i, port, addr);
    d->resolve = curl_slist_append(NULL, entry);
    snprintf(d->host_url, sizeof d->host_url, "http://d%d.bench.invalid:%d", i, port);
}

/* Uploads every batch of every device, all devices at once; returns seconds. */
double lg_upload(lg_device *d, lg_blob *bl, long *errors)
{
    int ep = epoll_create1(0), running, left = lg_n_dev;
    long timeout = -1;
    CURLM *m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)lg_n_dev);
    /* a connection per device kept while the device waits out a Retry-After: the
     * cache's default (4 per transfer running) closed hundreds of them when most
     * devices were waiting, and each came back on a new connection */
    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)lg_n_dev);
    curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, lg_on_socket);
    curl_multi_setopt(m, CURLMOPT_SOCKETDATA, &ep);
    curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, lg_on_timer);
    curl_multi_setopt(m, CURLMOPT_TIMERDATA, &timeout);
    int64_t t0 = mtd_monotonic_ns();
    for (int i = 0; i < lg_n_dev; i++) {
        d[i].h = curl_easy_init();
        own_host(&d[i], i);
        d[i].sent = 0;
        d[i].tried = 0;
        d[i].t0 = d[i].due = t0 + think_ns(); /* paced: the first batches spread too */
        d[i].waiting = 1;
    }
    submit_due(m, d, bl);
    curl_multi_socket_action(m, CURL_SOCKET_TIMEOUT, 0, &running);
    while (left > 0) {
        struct epoll_event evs[256];
        int cap = 2; /* a batch paced or sent again after Retry-After may be due */
        int n = epoll_wait(ep, evs, 256, timeout < 0 || timeout > cap ? cap : (int)timeout);
        if (n <= 0) {
            timeout = -1; /* a one-shot timer: curl sets the next one if it wants one */
            curl_multi_socket_action(m, CURL_SOCKET_TIMEOUT, 0, &running);
        }
        for (int i = 0; i < n; i++)
            curl_multi_socket_action(m, evs[i].data.fd,
                                     (evs[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                                         (evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0),
                                     &running);
        lg_reap(m, d, bl, errors, &left);
        submit_due(m, d, bl);
    }
    double secs = (mtd_monotonic_ns() - t0) / 1e9;
    for (int i = 0; i < lg_n_dev; i++) {
        curl_easy_cleanup(d[i].h);
        curl_slist_free_all(d[i].hdrs);
        d[i].hdrs = NULL;
        curl_slist_free_all(d[i].resolve);
        d[i].resolve = NULL;
    }
    curl_multi_cleanup(m);
    close(ep);
    return secs;
}

