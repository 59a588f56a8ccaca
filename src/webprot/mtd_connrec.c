/* mtd_connrec: connection records summed per flow key over a window (see
 * mtd_connrec.h). */
#include "webprot/mtd_connrec.h"

#include <arpa/inet.h>
#include <libpsl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_RECORDS 8192 /* per window; more are counted into the "other" bucket */

static const char *const proto_names[] = {"http", "https", "dns", "tcp", "udp", "quic", "tls"};

const char *mtd_proto_name(mtd_proto p)
{
    return (unsigned)p < sizeof proto_names / sizeof proto_names[0] ? proto_names[p] : "tcp";
}

typedef struct {
    uint32_t ip;
    uint16_t port;
    mtd_proto proto;
    int threat;
    char name[256];
    uint64_t count, bytes_out, bytes_in, packets_out, packets_in;
    int64_t first_ms, last_ms;
} rec;

struct mtd_connrec {
    mtd_webevents *we;
    pthread_mutex_t mu;
    int mode;       /* MTD_CONN_*, MTD_CONN_OFF also when network reporting is off */
    int window_ms;
    int64_t window_start;
    rec *r;
    size_t n;
    unsigned long long over;
};

/* Debian's list (the publicsuffix package) when it is newer than the one built into
 * libpsl, else the built-in one. */
static const psl_ctx_t *g_psl;

static void psl_load(void)
{
    g_psl = psl_latest(NULL);
    if (!g_psl)
        g_psl = psl_builtin();
}

void mtd_connrec_domain(const char *host, char *out, size_t outlen)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, psl_load);
    struct in_addr a;
    out[0] = 0;
    if (!host || !host[0] || host[0] == '[' || inet_pton(AF_INET, host, &a) == 1 || !g_psl)
        return;
    const char *d = psl_registrable_domain(g_psl, host);
    if (d)
        snprintf(out, outlen, "%s", d);
}

mtd_connrec *mtd_connrec_new(mtd_webevents *we, const mtd_policy *pol, int window_s)
{
    mtd_connrec *c = calloc(1, sizeof *c);
    if (!c || !(c->r = calloc(MAX_RECORDS, sizeof *c->r))) {
        free(c);
        return NULL;
    }
    c->we = we;
    c->window_ms = (window_s > 0 ? window_s : 300) * 1000;
    pthread_mutex_init(&c->mu, NULL);
    mtd_connrec_set_policy(c, pol);
    return c;
}

void mtd_connrec_set_policy(mtd_connrec *c, const mtd_policy *pol)
{
    pthread_mutex_lock(&c->mu);
    c->mode = pol->network_reporting && pol->web_protection ? (int)pol->report_connections : MTD_CONN_OFF;
    pthread_mutex_unlock(&c->mu);
}

void mtd_connrec_add(mtd_connrec *c, const mtd_conn *f)
{
    const char *name = f->name ? f->name : "";
    pthread_mutex_lock(&c->mu);
    if (!c->window_start)
        c->window_start = f->first_ms;
    rec *r = NULL;
    for (size_t i = c->n; i-- > 0;) /* the latest first: a host's flows come together */
        if (c->r[i].ip == f->ip && c->r[i].port == f->port && c->r[i].proto == f->proto &&
            c->r[i].threat == f->threat && !strcmp(c->r[i].name, name)) {
            r = &c->r[i];
            break;
        }
    if (!r && c->n < MAX_RECORDS) {
        r = &c->r[c->n++];
        memset(r, 0, sizeof *r);
        r->ip = f->ip, r->port = f->port, r->proto = f->proto, r->threat = f->threat;
        snprintf(r->name, sizeof r->name, "%s", name);
        r->first_ms = f->first_ms;
    }
    if (!r) {
        c->over++;
        pthread_mutex_unlock(&c->mu);
        return;
    }
    r->count++;
    r->bytes_out += f->bytes_out, r->bytes_in += f->bytes_in;
    r->packets_out += f->packets_out, r->packets_in += f->packets_in;
    if (f->first_ms < r->first_ms)
        r->first_ms = f->first_ms;
    if (f->last_ms > r->last_ms)
        r->last_ms = f->last_ms;
    pthread_mutex_unlock(&c->mu);
}

static void rfc3339(int64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *fields(const rec *r)
{
    char ip[INET_ADDRSTRLEN], first[32], last[32], domain[256];
    inet_ntop(AF_INET, &r->ip, ip, sizeof ip);
    rfc3339(r->first_ms, first);
    rfc3339(r->last_ms > r->first_ms ? r->last_ms : r->first_ms, last);
    json_t *o = json_pack("{s:s,s:s,s:i,s:I,s:s,s:s,s:b,s:I,s:I,s:I,s:I}", "ip", ip, "protocol",
                          mtd_proto_name(r->proto), "port", r->port, "count", (json_int_t)r->count,
                          "first_seen", first, "last_seen", last, "threat", r->threat, "bytes_out",
                          (json_int_t)r->bytes_out, "bytes_in", (json_int_t)r->bytes_in, "packets_out",
                          (json_int_t)r->packets_out, "packets_in", (json_int_t)r->packets_in);
    if (o && r->name[0]) {
        mtd_connrec_domain(r->name, domain, sizeof domain);
        if (domain[0])
            json_object_set_new(o, "domain", json_string(domain));
        json_object_set_new(o, "subdomain", json_string(r->name));
    }
    return o;
}

size_t mtd_connrec_flush(mtd_connrec *c, int64_t now_ms, int force)
{
    size_t queued = 0;
    pthread_mutex_lock(&c->mu);
    if (!c->n || (!force && now_ms - c->window_start < c->window_ms)) {
        pthread_mutex_unlock(&c->mu);
        return 0;
    }
    for (size_t i = 0; i < c->n; i++) {
        const rec *r = &c->r[i];
        if (c->mode == MTD_CONN_OFF || (c->mode == MTD_CONN_THREATS && !r->threat) || !c->we)
            continue; /* never made: the policy would drop it */
        char key[400], ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &r->ip, ip, sizeof ip);
        snprintf(key, sizeof key, "%s|%u|%d|%d|%s|%lld", ip, r->port, r->proto, r->threat, r->name,
                 (long long)c->window_start);
        json_t *o = fields(r);
        if (o) {
            mtd_webevents_queue(c->we, "net.connection", o, key);
            queued++;
        }
    }
    c->n = 0;
    c->window_start = 0;
    pthread_mutex_unlock(&c->mu);
    return queued;
}

size_t mtd_connrec_count(mtd_connrec *c)
{
    pthread_mutex_lock(&c->mu);
    size_t n = c->n;
    pthread_mutex_unlock(&c->mu);
    return n;
}

void mtd_connrec_free(mtd_connrec *c)
{
    if (!c)
        return;
    pthread_mutex_destroy(&c->mu);
    free(c->r);
    free(c);
}
