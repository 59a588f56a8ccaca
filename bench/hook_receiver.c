/* hook_receiver: the webhook receiver of bench_alerts.sh, in C so that the receiver is
 * not what bounds the delivery rate (the Python test receiver, tests/e2e/
 * alert_receiver.py, spends about 130 us of its CPU on each POST: a quarter of the
 * collector's ingest rate at most). It checks what that one checks, the same way:
 *
 *   POST /hook/NAME   X-Openmtd-Signature is sha256= the HMAC-SHA256 of the body under
 *                     NAME's secret (compared in constant time), X-Openmtd-Timestamp
 *                     equals the body's "timestamp" and is within 300 s of now, and
 *                     X-Openmtd-Event-Id is the body's "event_id"; deduplicates on the
 *                     event ID (the collector delivers at least once). A batch (a
 *                     webhook with batch_max > 1: {"type": "alert.batch", "timestamp",
 *                     "count", "events": [...]}) is checked as the test receiver does:
 *                     X-Openmtd-Event-Count and "count" are the number of events, no
 *                     X-Openmtd-Event-Id, each event a single POST's body with the
 *                     batch's timestamp and an event ID of its own; each is recorded
 *                     and deduplicated on its own.
 *
 * Each accepted message is a line {"event_id", "dup", "t"} of OUT/NAME.jsonl (the
 * Python receiver's lines without the body, which the bench does not read), written
 * with one write(2) so that a reader counting lines never sees half of one; a refused
 * one is a line of OUT/rejected.jsonl and answered 400/401/404. While OUT/down exists,
 * every request is answered 503. Loopback only, for the length of a benchmark.
 *
 * hook_receiver --out DIR --port-file FILE --secret NAME=SECRET... [--threads N] */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <fcntl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_HOOKS 16
#define BODY_MAX (1 << 20)

static struct {
    char name[64], secret[300];
    int fd;
    EVP_MAC_CTX *mac; /* HMAC-SHA256 keyed with the secret, copied for each POST */
} hooks[MAX_HOOKS];
static int nhooks;
static const char *out_dir;
static char down_path[1100];
static int rejected_fd = -1;

/* The event IDs seen, for "dup", each prefixed by its hook's index (each hook
 * deduplicates its own deliveries): an open-addressing set of their hashes and copies. */
static pthread_mutex_t seen_mu = PTHREAD_MUTEX_INITIALIZER;
static char **seen;
static size_t seen_cap, seen_n;

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

/* 1 when id was seen before; adds it. */
static int seen_add(const char *id)
{
    pthread_mutex_lock(&seen_mu);
    if (2 * (seen_n + 1) > seen_cap) {
        size_t cap = seen_cap ? 2 * seen_cap : 1 << 16;
        char **n = calloc(cap, sizeof *n);
        for (size_t i = 0; n && i < seen_cap; i++)
            if (seen[i]) {
                size_t k = hash_str(seen[i]) & (cap - 1);
                while (n[k])
                    k = (k + 1) & (cap - 1);
                n[k] = seen[i];
            }
        if (!n) {
            pthread_mutex_unlock(&seen_mu);
            return 0;
        }
        free(seen);
        seen = n;
        seen_cap = cap;
    }
    size_t k = hash_str(id) & (seen_cap - 1);
    while (seen[k] && strcmp(seen[k], id))
        k = (k + 1) & (seen_cap - 1);
    int dup = seen[k] != NULL;
    if (!dup) {
        seen[k] = strdup(id);
        seen_n++;
    }
    pthread_mutex_unlock(&seen_mu);
    return dup;
}

typedef struct {
    char *body;
    size_t len;
    int too_big;
} upload;

static enum MHD_Result answer(struct MHD_Connection *c, unsigned code, const char *json)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(json), (void *)json, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ok = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result refuse(struct MHD_Connection *c, unsigned code, const char *url, const char *why)
{
    json_t *o = json_pack("{s:s,s:s}", "path", url, "why", why);
    char *line = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (line) {
        size_t n = strlen(line);
        line[n] = '\n'; /* json_dumps's NUL becomes the line's end: one write */
        if (write(rejected_fd, line, n + 1) < 0)
            perror("hook_receiver: rejected.jsonl");
        free(line);
    }
    char b[200];
    snprintf(b, sizeof b, "{\"error\":\"%s\"}", why);
    return answer(c, code, b);
}

static int hook_of(const char *name)
{
    for (int i = 0; i < nhooks; i++)
        if (!strcmp(hooks[i].name, name))
            return i;
    return -1;
}

/* A batch's own checks (its signature and timestamp passed); NULL when it passes. */
static const char *check_batch(struct MHD_Connection *c, json_t *body, json_t *evs)
{
    const char *cnt = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Openmtd-Event-Count");
    json_t *ts = json_object_get(body, "timestamp");
    size_t n = json_array_size(evs);
    char want[32];
    snprintf(want, sizeof want, "%zu", n);
    if (strcmp(json_string_value(json_object_get(body, "type")) ?: "", "alert.batch") || !json_is_array(evs) || !n)
        return "a batch is {\"type\": \"alert.batch\", \"events\": [one or more]}";
    if (!cnt || strcmp(cnt, want) || json_integer_value(json_object_get(body, "count")) != (json_int_t)n)
        return "a batch's count and X-Openmtd-Event-Count differ from its events";
    if (MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Openmtd-Event-Id"))
        return "a batch has no X-Openmtd-Event-Id";
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(evs, i);
        const char *eid = json_string_value(json_object_get(e, "event_id"));
        if (json_object_size(e) != 4 || strcmp(json_string_value(json_object_get(e, "type")) ?: "", "alert") ||
            !json_equal(json_object_get(e, "timestamp"), ts) || !eid || !*eid || !json_is_object(json_object_get(e, "data")))
            return "a batch's event is not a single POST's body with the batch's timestamp";
        for (size_t j = 0; j < i; j++)
            if (!strcmp(eid, json_string_value(json_object_get(json_array_get(evs, j), "event_id"))))
                return "an event twice in one batch";
    }
    return NULL;
}

/* The checks of one webhook POST; NULL when it passes, else why (and *code). */
static const char *check(struct MHD_Connection *c, int h, const upload *u, json_t **body, unsigned *code)
{
    const char *sig = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Openmtd-Signature");
    const char *ts = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Openmtd-Timestamp");
    const char *eid = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Openmtd-Event-Id");
    uint8_t mac[32];
    size_t ml = 0;
    char want[7 + 65] = "sha256=";
    *code = 401;
    /* a copy of the keyed context: HMAC()'s fetching of the digest and keying on each
     * call was a tenth of the receiver's time, which the collector shares the cores with */
    EVP_MAC_CTX *m = EVP_MAC_CTX_dup(hooks[h].mac);
    int ok = m && EVP_MAC_update(m, (const uint8_t *)u->body, u->len) && EVP_MAC_final(m, mac, &ml, sizeof mac);
    EVP_MAC_CTX_free(m);
    if (!ok || ml != 32)
        return "cannot compute the HMAC";
    for (size_t i = 0; i < ml; i++)
        snprintf(want + 7 + 2 * i, 3, "%02x", mac[i]);
    if (!sig || strlen(sig) != strlen(want) || CRYPTO_memcmp(sig, want, strlen(want)))
        return "bad signature";
    *code = 400;
    if (!(*body = json_loadb(u->body, u->len, 0, NULL)) || !json_is_object(*body))
        return "body is not a JSON object";
    *code = 401;
    json_t *bt = json_object_get(*body, "timestamp");
    char tsb[32];
    snprintf(tsb, sizeof tsb, "%lld", (long long)json_integer_value(bt));
    if (!ts || !json_is_integer(bt) || strcmp(tsb, ts) || llabs((long long)time(NULL) - atoll(ts)) > 300)
        return "stale or mismatched timestamp";
    *code = 400;
    json_t *evs = json_object_get(*body, "events");
    if (evs || json_object_get(*body, "count"))
        return check_batch(c, *body, evs);
    const char *be = json_string_value(json_object_get(*body, "event_id"));
    if (!eid || !be || strcmp(eid, be))
        return "event id header differs from the body";
    return NULL;
}

/* The lines of OUT/NAME.jsonl for the event IDs of ev (one event, or a batch's),
 * into one buffer so that one write(2) records them all. NULL when out of memory. */
static char *record_lines(int h, json_t *ev, size_t *len)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    double t = (double)now.tv_sec + now.tv_nsec / 1e9;
    json_t *list = json_object_get(ev, "events");
    size_t n = json_is_array(list) ? json_array_size(list) : 1, cap = n * 96 + 1, used = 0;
    char *out = malloc(cap);
    for (size_t i = 0; out && i < n; i++) {
        json_t *e = json_is_array(list) ? json_array_get(list, i) : ev;
        const char *eid = json_string_value(json_object_get(e, "event_id"));
        char key[300];
        snprintf(key, sizeof key, "%d:%.290s", h, eid);
        json_t *rec = json_pack("{s:s,s:b,s:f}", "event_id", eid, "dup", seen_add(key), "t", t);
        char *line = rec ? json_dumps(rec, JSON_COMPACT | JSON_REAL_PRECISION(16)) : NULL;
        json_decref(rec);
        size_t ln = line ? strlen(line) : 0;
        char *grown = line && used + ln + 2 > cap ? realloc(out, cap = 2 * (used + ln + 2)) : out;
        if (!line || !grown) {
            free(line);
            free(grown ? grown : out);
            return NULL;
        }
        out = grown;
        memcpy(out + used, line, ln);
        out[used + ln] = '\n';
        used += ln + 1;
        free(line);
    }
    *len = used;
    return out;
}

static enum MHD_Result webhook(struct MHD_Connection *c, const char *url, const upload *u)
{
    int h = hook_of(url + 6);
    if (h < 0)
        return refuse(c, 404, url, "no such hook");
    json_t *body = NULL;
    unsigned code;
    const char *why = check(c, h, u, &body, &code);
    if (why) {
        json_decref(body);
        return refuse(c, code, url, why);
    }
    size_t n = 0;
    char *lines = record_lines(h, body, &n);
    json_decref(body);
    if (!lines)
        return answer(c, 500, "{\"error\":\"out of memory\"}");
    ssize_t w = write(hooks[h].fd, lines, n);
    free(lines);
    if (w != (ssize_t)n)
        return answer(c, 500, "{\"error\":\"cannot record\"}");
    return answer(c, 200, "{\"ok\":true}");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *data, size_t *size, void **state)
{
    (void)cls;
    (void)version;
    upload *u = *state;
    if (!u) {
        if (!(u = calloc(1, sizeof *u)))
            return MHD_NO;
        *state = u;
        return MHD_YES;
    }
    if (*size) { /* a piece of the body */
        if (u->len + *size > BODY_MAX)
            u->too_big = 1;
        else {
            char *b = realloc(u->body, u->len + *size + 1);
            if (!b)
                return MHD_NO;
            memcpy(b + u->len, data, *size);
            u->body = b;
            u->len += *size;
        }
        *size = 0;
        return MHD_YES;
    }
    if (access(down_path, F_OK) == 0)
        return answer(c, 503, "{\"error\":\"down\"}");
    if (strcmp(method, "POST") || strncmp(url, "/hook/", 6))
        return refuse(c, 404, url, "no such receiver");
    if (u->too_big)
        return refuse(c, 400, url, "body over 1 MiB");
    return webhook(c, url, u);
}

static void on_done(void *cls, struct MHD_Connection *c, void **state, enum MHD_RequestTerminationCode t)
{
    (void)cls;
    (void)c;
    (void)t;
    upload *u = *state;
    if (u) {
        free(u->body);
        free(u);
    }
    *state = NULL;
}

static int open_out(const char *name)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", out_dir, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        perror(p);
    return fd;
}

static int usage(void)
{
    fprintf(stderr, "usage: hook_receiver --out DIR --port-file FILE --secret NAME=SECRET... [--threads N]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *port_file = NULL;
    unsigned threads = 2;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--out"))
            out_dir = argv[i + 1];
        else if (!strcmp(argv[i], "--port-file"))
            port_file = argv[i + 1];
        else if (!strcmp(argv[i], "--threads"))
            threads = (unsigned)atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--secret") && nhooks < MAX_HOOKS) {
            const char *eq = strchr(argv[i + 1], '=');
            if (!eq || eq == argv[i + 1] || (size_t)(eq - argv[i + 1]) >= sizeof hooks[0].name ||
                strlen(eq + 1) >= sizeof hooks[0].secret)
                return usage();
            snprintf(hooks[nhooks].name, sizeof hooks[0].name, "%.*s", (int)(eq - argv[i + 1]), argv[i + 1]);
            snprintf(hooks[nhooks].secret, sizeof hooks[0].secret, "%s", eq + 1);
            nhooks++;
        } else
            return usage();
    }
    if (!out_dir || !port_file || !nhooks || threads < 1 || threads > 16)
        return usage();
    snprintf(down_path, sizeof down_path, "%s/down", out_dir);
    EVP_MAC *alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
    for (int i = 0; i < nhooks; i++) {
        char f[100];
        snprintf(f, sizeof f, "%s.jsonl", hooks[i].name);
        if ((hooks[i].fd = open_out(f)) < 0)
            return 1;
        OSSL_PARAM prm[] = {OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0), OSSL_PARAM_construct_end()};
        if (!alg || !(hooks[i].mac = EVP_MAC_CTX_new(alg)) ||
            !EVP_MAC_init(hooks[i].mac, (const uint8_t *)hooks[i].secret, strlen(hooks[i].secret), prm)) {
            fprintf(stderr, "hook_receiver: cannot key HMAC-SHA256\n");
            return 1;
        }
    }
    EVP_MAC_free(alg);
    if ((rejected_fd = open_out("rejected.jsonl")) < 0)
        return 1;
    /* blocked before the daemon's threads start, so they inherit it and sigwait gets it */
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGTERM);
    sigaddset(&s, SIGINT);
    pthread_sigmask(SIG_BLOCK, &s, NULL);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0,
                                            NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, &a,
                                            MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_NOTIFY_COMPLETED,
                                            on_done, NULL, MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "hook_receiver: cannot listen on 127.0.0.1\n");
        return 1;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    char tmp[1200];
    snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%u", (unsigned)di->port) < 0 || fclose(f) != 0 || rename(tmp, port_file) != 0) {
        perror("hook_receiver: port file");
        return 1;
    }
    int sig;
    sigwait(&s, &sig);
    MHD_stop_daemon(d);
    return 0;
}
