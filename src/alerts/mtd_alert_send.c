/* mtd_alert_send: the transports to a tenant's destinations, all through libcurl (one
 * handle per destination, kept between passes so connections are reused):
 *
 *   webhook, risk-push  one POST per message: the JSON body, X-Openmtd-Event-Id,
 *                       X-Openmtd-Timestamp (also "timestamp" in the body, which the
 *                       signature covers) and X-Openmtd-Signature: sha256=HEX, the
 *                       HMAC-SHA256 of the body under the destination's secret; a
 *                       webhook has up to HOOK_INFLIGHT POSTs at once (curl multi, each
 *                       connection kept alive), a risk push one; a webhook with
 *                       batch_max > 1 POSTs what is pending, up to batch_max events,
 *                       as one signed body (hook_body) with X-Openmtd-Event-Count;
 *   splunk-hec          one POST of the batch's events as OCSF, HEC JSON, "Splunk TOKEN";
 *   elastic             one POST to _bulk of index actions (_id = event ID) and OCSF docs;
 *   syslog              RFC 5424 messages, octet-counted (RFC 6587 / RFC 5425), over a TCP
 *                       or TLS connection that curl opens (CONNECT_ONLY) and keeps.
 *
 * Every socket is opened by open_socket, which refuses an address the policy does not
 * allow (mtd_alert_addr_allowed), whatever name led to it. Redirects are not followed. */
#include "alerts/mtd_alert_int.h"
#include "common/mtd_buf.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"
#include "schema/mtd_ocsf.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RESP_MAX (64 << 10)
/* A webhook's POSTs at once: one at a time, each waited on a round trip to the
 * receiver and a wake-up of this thread (bench_alerts: a fast receiver took 0.30 x the
 * collector's ingest rate so). At most this many connections to the receiver. */
#define HOOK_INFLIGHT 8

/* One webhook POST in flight: its handle, and the body and headers it sends. */
typedef struct {
    CURL *h;
    mtd_buf body;
    struct curl_slist *hd;
    size_t msg;     /* its first message's index in the run */
    int busy;
} hook_slot;

struct mtd_alert_conn {
    CURL *h;
    CURLM *multi;               /* the webhook POSTs in flight (hook[]) */
    hook_slot hook[HOOK_INFLIGHT];
    int syslog_up;              /* a syslog connection is open */
    int post_ready;             /* the handle holds the options every POST has */
    const mtd_alert_nets *allow;
    char refused[64];           /* the address open_socket refused, if any */
    mtd_buf resp;
    EVP_MAC_CTX *mac;           /* HMAC-SHA256 keyed with the destination's secret */
};

static curl_socket_t open_socket(void *cp, curlsocktype purpose, struct curl_sockaddr *a)
{
    mtd_alert_conn *c = cp;
    if (!mtd_alert_addr_allowed(c->allow, &a->addr)) {
        const void *ip = a->family == AF_INET6 ? (const void *)&((struct sockaddr_in6 *)&a->addr)->sin6_addr
                                               : (const void *)&((struct sockaddr_in *)&a->addr)->sin_addr;
        if (!inet_ntop(a->family, ip, c->refused, sizeof c->refused))
            mtd_strlcpy(c->refused, "?", sizeof c->refused);
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype, a->protocol);
}

static size_t on_body(char *p, size_t sz, size_t n, void *cp)
{
    mtd_alert_conn *c = cp;
    if (c->resp.len + sz * n <= RESP_MAX)
        mtd_buf_append(&c->resp, p, sz * n);
    return sz * n;
}

static mtd_alert_conn *conn_get(mtd_alert_conn **cp, const mtd_alert_dest *d, const mtd_alert_nets *allow)
{
    if (*cp)
        return *cp;
    mtd_alert_conn *c = calloc(1, sizeof *c);
    if (!c || !(c->h = curl_easy_init())) {
        free(c);
        return NULL;
    }
    c->allow = allow;
    mtd_buf_init(&c->resp, 0);
    *cp = c;
    return c;
}

void mtd_alert_conn_free(mtd_alert_conn *c)
{
    if (!c)
        return;
    EVP_MAC_CTX_free(c->mac);
    for (int i = 0; i < HOOK_INFLIGHT; i++) {
        if (c->hook[i].busy)
            curl_multi_remove_handle(c->multi, c->hook[i].h);
        curl_easy_cleanup(c->hook[i].h);
        curl_slist_free_all(c->hook[i].hd);
        mtd_buf_free(&c->hook[i].body);
    }
    curl_multi_cleanup(c->multi);
    curl_easy_cleanup(c->h);
    mtd_buf_free(&c->resp);
    free(c);
}

/* The options every transfer of a destination has, on h (c->h or a webhook slot's). */
static void common_opts(mtd_alert_conn *c, CURL *h, const mtd_alert_dest *d)
{
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, c);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_PROXY, ""); /* never through an environment proxy */
    if (d->ca_pem) {
        struct curl_blob b = {.data = d->ca_pem, .len = strlen(d->ca_pem), .flags = CURL_BLOB_COPY};
        curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &b);
    }
    c->refused[0] = 0;
}

static void curl_why(mtd_alert_conn *c, CURLcode rc, char *why, size_t whylen)
{
    if (c->refused[0])
        snprintf(why, whylen, "refused to connect to %s: a loopback, private or link-local address"
                 " (--alert-allow-net)", c->refused);
    else
        snprintf(why, whylen, "%s", curl_easy_strerror(rc));
}

/* One POST; *status gets the HTTP status, c->resp the body (capped). The options all
 * of a destination's POSTs share are set on its first (a handle only ever POSTs: the
 * syslog one never comes here): resetting and setting them again was a good part of a
 * webhook message's cost. */
static int post(mtd_alert_conn *c, const mtd_alert_dest *d, const char *url, struct curl_slist *hdrs,
                const char *body, size_t len, long *status, char *why, size_t whylen)
{
    CURL *h = c->h;
    if (!c->post_ready) {
        common_opts(c, h, d);
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
        c->post_ready = 1;
    }
    c->refused[0] = 0;
    c->resp.len = 0;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
        curl_why(c, rc, why, whylen);
        return MTD_ENET;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    if (*status < 200 || *status > 299) {
        snprintf(why, whylen, "HTTP %ld", *status);
        return MTD_EPROTO;
    }
    return 0;
}

/* HMAC-SHA256 of body under the destination's secret, as hex; the keyed context is
 * made once per connection (fetching the algorithm and keying it each message cost more
 * than the hashing). 0 or MTD_ENOMEM. */
static int hmac_hex(mtd_alert_conn *c, const char *key, const char *body, size_t len, char out[65])
{
    if (!c->mac) {
        EVP_MAC *alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
        OSSL_PARAM prm[] = {OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0), OSSL_PARAM_construct_end()};
        c->mac = alg ? EVP_MAC_CTX_new(alg) : NULL;
        EVP_MAC_free(alg);
        if (!c->mac || !EVP_MAC_init(c->mac, (const uint8_t *)key, strlen(key), prm)) {
            EVP_MAC_CTX_free(c->mac);
            c->mac = NULL;
            return MTD_ENOMEM;
        }
    }
    EVP_MAC_CTX *m = EVP_MAC_CTX_dup(c->mac);
    uint8_t mac[32];
    size_t ml = 0;
    int ok = m && EVP_MAC_update(m, (const uint8_t *)body, len) && EVP_MAC_final(m, mac, &ml, sizeof mac) && ml == 32;
    EVP_MAC_CTX_free(m);
    if (!ok)
        return MTD_ENOMEM;
    mtd_hex(mac, 32, out);
    return 0;
}

/* One event as a webhook or risk push carries it, appended to b: {"type",
 * "timestamp", "event_id", "data": payload}. The payload is the outbox row's JSON,
 * written compact by the derivation: it goes in as it is, byte for byte what parsing
 * and writing it again would give. 0 or MTD_ENOMEM. */
static int event_append(mtd_buf *b, const mtd_alert_dest *d, long now, const mtd_alert_msg *m)
{
    json_t *eid = json_string(m->event_id);
    char *eid_txt = eid ? json_dumps(eid, JSON_ENCODE_ANY) : NULL;
    json_decref(eid);
    if (!eid_txt)
        return MTD_ENOMEM;
    char head[120];
    int hn = snprintf(head, sizeof head, "{\"type\":\"%s\",\"timestamp\":%ld,\"event_id\":",
                      !strcmp(d->kind, "risk-push") ? "device.risk" : "alert", now);
    int r = mtd_buf_append(b, head, (size_t)hn);
    r = r ? r : mtd_buf_append(b, eid_txt, strlen(eid_txt));
    r = r ? r : mtd_buf_puts(b, ",\"data\":");
    r = r ? r : mtd_buf_append(b, m->payload, strlen(m->payload));
    r = r ? r : mtd_buf_append(b, "}", 1);
    free(eid_txt);
    return r ? MTD_ENOMEM : 0;
}

/* The body of a POST of cnt messages into b: one event as it is (batch_max 1), or,
 * for a batched webhook, {"type": "alert.batch", "timestamp", "count", "events":
 * [event, ...]} with each event as a single POST carries it, whatever cnt is (a
 * receiver that opted in gets one shape). 0 or MTD_ENOMEM. */
static int hook_body(mtd_buf *b, const mtd_alert_dest *d, long now, const mtd_alert_msg *m, size_t cnt)
{
    mtd_buf_reset(b);
    if (d->batch_max <= 1)
        return event_append(b, d, now, m);
    int r = mtd_buf_printf(b, "{\"type\":\"alert.batch\",\"timestamp\":%ld,\"count\":%zu,\"events\":[", now, cnt);
    for (size_t i = 0; r == 0 && i < cnt; i++) {
        if (i)
            r = mtd_buf_append(b, ",", 1);
        r = r ? r : event_append(b, d, now, &m[i]);
    }
    return r || mtd_buf_append(b, "]}", 2) ? MTD_ENOMEM : 0;
}

/* The POST of cnt messages from m, signed, put into slot k with its headers: the HMAC
 * covers the whole body, once for a batch; a batch has X-Openmtd-Event-Count where a
 * single event has X-Openmtd-Event-Id (a batch's event IDs are in its body).
 * 0 or MTD_ENOMEM. */
static int hook_prepare(mtd_alert_conn *c, const mtd_alert_dest *d, const mtd_alert_msg *m, size_t cnt, hook_slot *k)
{
    long now = (long)time(NULL);
    mtd_buf *b = &k->body;
    char sig[65], h1[300], h2[100], h3[120];
    if (hook_body(b, d, now, m, cnt) != 0 || hmac_hex(c, d->secret, (const char *)b->data, b->len, sig) != 0)
        return MTD_ENOMEM;
    if (d->batch_max <= 1)
        snprintf(h1, sizeof h1, "X-Openmtd-Event-Id: %.200s", m->event_id);
    else
        snprintf(h1, sizeof h1, "X-Openmtd-Event-Count: %zu", cnt);
    snprintf(h2, sizeof h2, "X-Openmtd-Timestamp: %ld", now);
    snprintf(h3, sizeof h3, "X-Openmtd-Signature: sha256=%s", sig);
    curl_slist_free_all(k->hd);
    k->hd = curl_slist_append(NULL, "Content-Type: application/json");
    k->hd = curl_slist_append(k->hd, h1);
    k->hd = curl_slist_append(k->hd, h2);
    k->hd = curl_slist_append(k->hd, h3);
    k->hd = curl_slist_append(k->hd, "Expect:");
    if (!k->hd)
        return MTD_ENOMEM;
    curl_easy_setopt(k->h, CURLOPT_POSTFIELDS, (const char *)b->data);
    curl_easy_setopt(k->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)b->len);
    curl_easy_setopt(k->h, CURLOPT_HTTPHEADER, k->hd);
    return 0;
}

static size_t discard(char *p, size_t sz, size_t n, void *cp)
{
    (void)p;
    (void)cp;
    return sz * n;
}

/* The multi handle and the slots' handles, made on a connection's first webhook, with
 * the options all its POSTs share (set once: resetting and setting them per message
 * was a good part of a message's cost). 0 or MTD_ENOMEM. */
static int hook_init(mtd_alert_conn *c, const mtd_alert_dest *d)
{
    if (c->multi)
        return 0;
    if (!(c->multi = curl_multi_init()))
        return MTD_ENOMEM;
    curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)HOOK_INFLIGHT);
    for (int i = 0; i < HOOK_INFLIGHT; i++) {
        hook_slot *k = &c->hook[i];
        mtd_buf_init(&k->body, 0);
        if (!(k->h = curl_easy_init())) {
            for (int j = 0; j < i; j++)
                curl_easy_cleanup(c->hook[j].h);
            memset(c->hook, 0, sizeof c->hook);
            curl_multi_cleanup(c->multi);
            c->multi = NULL;
            return MTD_ENOMEM;
        }
        common_opts(c, k->h, d);
        curl_easy_setopt(k->h, CURLOPT_POST, 1L);
        curl_easy_setopt(k->h, CURLOPT_TIMEOUT_MS, 10000L);
        curl_easy_setopt(k->h, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(k->h, CURLOPT_URL, d->target);
        curl_easy_setopt(k->h, CURLOPT_PRIVATE, k);
    }
    return 0;
}

/* A finished POST: 0 when the receiver took it (2xx), else MTD_ENET/MTD_EPROTO with why. */
static int hook_result(mtd_alert_conn *c, hook_slot *k, CURLcode rc, char *why, size_t whylen)
{
    long st = 0;
    if (rc != CURLE_OK) {
        curl_why(c, rc, why, whylen);
        return MTD_ENET;
    }
    curl_easy_getinfo(k->h, CURLINFO_RESPONSE_CODE, &st);
    if (st < 200 || st > 299) {
        snprintf(why, whylen, "HTTP %ld", st);
        return MTD_EPROTO;
    }
    return 0;
}

/* The messages as POSTs, up to width at once, started in order, each of up to
 * d->batch_max of them (what is pending: a batch is never waited for). After a failure
 * no more are started and those in flight are let finish; *sent is then the index of
 * the failed POST's first message (all before it were taken): it, the rest of its
 * batch and the ones after it that the receiver took are sent again, which receivers
 * deduplicate on the event ID. 0 or the failure of the first POST that failed. */
static int send_hooks(mtd_alert_conn *c, const mtd_alert_dest *d, const mtd_alert_msg *m, size_t n, int width,
                      size_t *sent, char *why, size_t whylen)
{
    if (hook_init(c, d) != 0)
        return MTD_ENOMEM;
    size_t next = 0, failed_at = n;
    int busy = 0, fr = 0;
    c->refused[0] = 0;
    for (;;) {
        for (int i = 0; i < width && next < n && failed_at == n; i++) {
            hook_slot *k = &c->hook[i];
            if (k->busy)
                continue;
            size_t cnt = d->batch_max > 1 && n - next > (size_t)d->batch_max ? (size_t)d->batch_max
                       : d->batch_max > 1 ? n - next : 1;
            if (hook_prepare(c, d, &m[next], cnt, k) != 0 || curl_multi_add_handle(c->multi, k->h) != CURLM_OK) {
                failed_at = next;
                fr = MTD_ENOMEM;
                snprintf(why, whylen, "out of memory");
                break;
            }
            k->msg = next;
            next += cnt;
            k->busy = 1;
            busy++;
        }
        if (!busy)
            break;
        int running = 0, q;
        curl_multi_perform(c->multi, &running);
        CURLMsg *cm;
        while ((cm = curl_multi_info_read(c->multi, &q))) {
            hook_slot *k = NULL;
            if (cm->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(cm->easy_handle, CURLINFO_PRIVATE, (char **)&k);
            CURLcode rc = cm->data.result;
            curl_multi_remove_handle(c->multi, k->h);
            k->busy = 0;
            busy--;
            char w[300];
            int r = hook_result(c, k, rc, w, sizeof w);
            if (r && k->msg < failed_at) {
                failed_at = k->msg;
                fr = r;
                snprintf(why, whylen, "%s", w);
            }
        }
        /* wait only when no slot can take a message now */
        if (busy && (busy == width || next == n || failed_at < n))
            curl_multi_poll(c->multi, NULL, 0, 1000, NULL);
    }
    *sent = failed_at;
    return failed_at < n ? fr : 0;
}

/* The alert as an OCSF Detection Finding, with its alert ID. */
static json_t *ocsf_of(const mtd_alert_msg *m)
{
    json_t *row = json_loads(m->payload, 0, NULL);
    if (!row)
        return NULL;
    json_t *o = mtd_ocsf_event(mtd_schema_event("threat.detection"), row, NULL);
    if (o) {
        json_t *un = json_object_get(o, "unmapped");
        if (!json_is_object(un))
            json_object_set_new(o, "unmapped", un = json_object());
        json_object_set(un, "alert_id", json_object_get(row, "alert_id"));
    }
    json_decref(row);
    return o;
}

static int send_siem(mtd_alert_conn *c, const mtd_alert_dest *d, const mtd_alert_msg *m, size_t n,
                     char *why, size_t whylen)
{
    int hec = !strcmp(d->kind, "splunk-hec");
    mtd_buf b;
    mtd_buf_init(&b, 0);
    for (size_t i = 0; i < n; i++) {
        json_t *doc = ocsf_of(&m[i]);
        if (!doc)
            continue; /* not an alert payload: nothing a SIEM can take */
        json_t *line;
        if (hec) {
            json_t *t = json_object_get(doc, "time");
            line = json_pack("{s:f,s:s,s:s,s:s,s:o}", "time", json_is_integer(t) ? (double)json_integer_value(t) / 1000 : (double)time(NULL),
                             "host", "openmtd", "source", "openmtd", "sourcetype", "ocsf:detection_finding", "event", doc);
        } else {
            line = json_pack("{s:{s:s,s:s}}", "index", "_index", d->index, "_id", m[i].event_id);
            char *a = json_dumps(line, JSON_COMPACT);
            json_decref(line);
            mtd_buf_append(&b, a, strlen(a));
            mtd_buf_append(&b, "\n", 1);
            free(a);
            line = doc;
        }
        char *s = json_dumps(line, JSON_COMPACT);
        json_decref(line);
        mtd_buf_append(&b, s, strlen(s));
        mtd_buf_append(&b, "\n", 1);
        free(s);
    }
    char url[1200], auth[400];
    size_t tl = strlen(d->target);
    snprintf(url, sizeof url, "%s%s", d->target,
             hec || (tl >= 6 && !strcmp(d->target + tl - 6, "/_bulk")) ? "" : d->target[tl - 1] == '/' ? "_bulk" : "/_bulk");
    snprintf(auth, sizeof auth, "Authorization: Splunk %s", d->secret);
    struct curl_slist *hd = curl_slist_append(NULL, hec ? "Content-Type: application/json" : "Content-Type: application/x-ndjson");
    if (hec)
        hd = curl_slist_append(hd, auth);
    hd = curl_slist_append(hd, "Expect:");
    long st;
    int r = b.len ? post(c, d, url, hd, (const char *)b.data, b.len, &st, why, whylen) : 0;
    curl_slist_free_all(hd);
    mtd_buf_free(&b);
    if (r || !n)
        return r;
    json_t *ans = json_loadb((const char *)c->resp.data, c->resp.len, 0, NULL);
    int ok = hec ? json_integer_value(json_object_get(ans, "code")) == 0 && json_object_get(ans, "code")
                 : json_is_false(json_object_get(ans, "errors"));
    json_decref(ans);
    if (!ok) {
        snprintf(why, whylen, "%s answered without success: %.200s", hec ? "Splunk HEC" : "Elasticsearch _bulk",
                 c->resp.len ? (const char *)c->resp.data : "(empty)");
        return MTD_EPROTO;
    }
    return 0;
}

/* An SD-PARAM value: '"', '\\' and ']' escaped (RFC 5424 6.3.3), appended a run at a
 * time rather than a call per byte. */
static void sd_value(mtd_buf *b, const char *v)
{
    while (v && *v) {
        size_t run = strcspn(v, "\"\\]");
        mtd_buf_append(b, v, run);
        v += run;
        if (*v) {
            mtd_buf_append(b, "\\", 1);
            mtd_buf_append(b, v++, 1);
        }
    }
}

/* PRI: facility 4 (security/authorization messages), severity from the alert's. */
static int syslog_pri(const char *sev)
{
    int s = !sev ? 5 : !strcmp(sev, "critical") ? 2 : !strcmp(sev, "high") ? 3 : !strcmp(sev, "medium") ? 4
          : !strcmp(sev, "low") ? 5 : 6;
    return 4 * 8 + s;
}

/* What a chunk's messages share: the HOSTNAME field (or "-"), the tenant as an
 * SD-PARAM value, the TIMESTAMP's seconds as written (formatted again only when the
 * second changes: a snprintf of the whole header per message was a sixth of a syslog
 * delivery's CPU), and the message being framed. */
typedef struct {
    char host[256];
    mtd_buf tenant, msg;
    time_t sec;
    char stamp[32]; /* YYYY-MM-DDTHH:MM:SS of sec */
} syslog_chunk;

/* One message, octet-counted. */
static void syslog_frame(mtd_buf *out, syslog_chunk *k, const mtd_alert_msg *m)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (!k->stamp[0] || ts.tv_sec != k->sec) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        snprintf(k->stamp, sizeof k->stamp, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        k->sec = ts.tv_sec;
    }
    int ms = (int)(ts.tv_nsec / 1000000), pri = syslog_pri(m->severity); /* 34 to 38 */
    char head[] = {'<', (char)('0' + pri / 10), (char)('0' + pri % 10), '>', '1', ' '};
    char frac[] = {'.', (char)('0' + ms / 100), (char)('0' + ms / 10 % 10), (char)('0' + ms % 10), 'Z', ' '};
    char alert_id[24];
    int an = 0;
    for (long long v = m->alert_id < 0 ? 0 : m->alert_id; !an || v; v /= 10)
        alert_id[sizeof alert_id - 1 - an++] = (char)('0' + v % 10);
    mtd_buf *b = &k->msg;
    mtd_buf_reset(b);
    mtd_buf_append(b, head, sizeof head);
    mtd_buf_puts(b, k->stamp);
    mtd_buf_append(b, frac, sizeof frac);
    mtd_buf_puts(b, k->host);
    mtd_buf_puts(b, " openmtd - alert [openmtd@32473 tenant=\"");
    mtd_buf_append(b, k->tenant.data, k->tenant.len);
    mtd_buf_puts(b, "\" alert_id=\"");
    mtd_buf_append(b, alert_id + sizeof alert_id - an, (size_t)an);
    mtd_buf_puts(b, "\" event_id=\"");
    sd_value(b, m->event_id);
    mtd_buf_puts(b, "\" severity=\"");
    sd_value(b, m->severity ? m->severity : "-");
    mtd_buf_puts(b, "\"] ");
    mtd_buf_append(b, m->payload, strlen(m->payload));
    char len[24];
    int ln = snprintf(len, sizeof len, "%zu ", b->len);
    mtd_buf_append(out, len, (size_t)ln);
    mtd_buf_append(out, b->data, b->len);
}

static int syslog_connect(mtd_alert_conn *c, const mtd_alert_dest *d, char *why, size_t whylen)
{
    char url[1200];
    snprintf(url, sizeof url, "%s://%s", d->tls ? "https" : "http", d->target);
    common_opts(c, c->h, d);
    curl_easy_setopt(c->h, CURLOPT_URL, url);
    curl_easy_setopt(c->h, CURLOPT_CONNECT_ONLY, 1L);
    CURLcode rc = curl_easy_perform(c->h);
    if (rc != CURLE_OK) {
        curl_why(c, rc, why, whylen);
        return MTD_ENET;
    }
    c->syslog_up = 1;
    return 0;
}

/* The receiver closed the connection (a read finds its end) or it broke. */
static int syslog_dead(mtd_alert_conn *c)
{
    char buf[256];
    size_t n = 0;
    CURLcode rc = curl_easy_recv(c->h, buf, sizeof buf, &n);
    return !(rc == CURLE_AGAIN || (rc == CURLE_OK && n > 0));
}

static int syslog_write(mtd_alert_conn *c, const uint8_t *p, size_t len, char *why, size_t whylen)
{
    curl_socket_t fd;
    curl_easy_getinfo(c->h, CURLINFO_ACTIVESOCKET, &fd);
    while (len) {
        size_t n = 0;
        CURLcode rc = curl_easy_send(c->h, p, len, &n);
        if (rc == CURLE_AGAIN) {
            struct pollfd pf = {.fd = fd, .events = POLLOUT};
            if (poll(&pf, 1, 10000) <= 0) {
                snprintf(why, whylen, "syslog receiver did not read for 10 s");
                return MTD_ENET;
            }
            continue;
        }
        if (rc != CURLE_OK) {
            snprintf(why, whylen, "syslog: %s", curl_easy_strerror(rc));
            return MTD_ENET;
        }
        p += n;
        len -= n;
    }
    return 0;
}

static int send_syslog(mtd_alert_conn *c, const mtd_alert_dest *d, const char *tenant, const mtd_alert_msg *m,
                       size_t n, char *why, size_t whylen)
{
    if (c->syslog_up && syslog_dead(c))
        c->syslog_up = 0;
    if (!c->syslog_up && syslog_connect(c, d, why, whylen) != 0)
        return MTD_ENET;
    syslog_chunk k = {.host = "-"};
    if (gethostname(k.host, sizeof k.host - 1) != 0 || !k.host[0] || strpbrk(k.host, " \t"))
        strcpy(k.host, "-");
    k.host[255] = 0; /* the field is at most 255 characters (RFC 5424 6.2.4) */
    mtd_buf_init(&k.tenant, 0);
    mtd_buf_init(&k.msg, 0);
    sd_value(&k.tenant, tenant);
    mtd_buf b;
    mtd_buf_init(&b, 0);
    for (size_t i = 0; i < n; i++)
        syslog_frame(&b, &k, &m[i]);
    int r = syslog_write(c, b.data, b.len, why, whylen);
    mtd_buf_free(&b);
    mtd_buf_free(&k.tenant);
    mtd_buf_free(&k.msg);
    if (r)
        c->syslog_up = 0;
    return r;
}

int mtd_alert_send(mtd_alert_conn **conn, const mtd_alert_dest *d, const mtd_alert_nets *allow,
                   const char *tenant_id, const mtd_alert_msg *msgs, size_t n, size_t *sent,
                   char *why, size_t whylen)
{
    *sent = 0;
    mtd_alert_conn *c = conn_get(conn, d, allow);
    if (!c)
        return MTD_ENOMEM;
    if (!strcmp(d->kind, "syslog")) {
        int r = send_syslog(c, d, tenant_id, msgs, n, why, whylen);
        *sent = r ? 0 : n; /* all or none: a half-written batch is sent again */
        return r;
    }
    if (!strcmp(d->kind, "splunk-hec") || !strcmp(d->kind, "elastic")) {
        int r = send_siem(c, d, msgs, n, why, whylen);
        *sent = r ? 0 : n;
        return r;
    }
    /* a risk push one at a time, so a device's changes arrive in their order and a
     * receiver that applies each as it comes ends on the latest */
    return send_hooks(c, d, msgs, n, !strcmp(d->kind, "risk-push") ? 1 : HOOK_INFLIGHT, sent, why, whylen);
}
