/* mtd_webevents: web protection's detections, queued for the privacy gate. */
#include "webprot/mtd_webevents.h"
#include "common/mtd_util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char type[24];
    json_t *fields;
} queued;

#define KEYSLOTS (MTD_WEBEVENTS_MAX * 2)

struct mtd_webevents {
    pthread_mutex_t mu;
    int web_protection, report_all;
    queued q[MTD_WEBEVENTS_MAX];
    size_t n;
    uint64_t keys[KEYSLOTS]; /* hashes of (type, key) queued, 0 = free; cleared by drain */
    unsigned long long dropped;
};

mtd_webevents *mtd_webevents_new(const mtd_policy *pol)
{
    mtd_webevents *we = calloc(1, sizeof *we);
    if (!we)
        return NULL;
    pthread_mutex_init(&we->mu, NULL);
    mtd_webevents_set_policy(we, pol);
    return we;
}

void mtd_webevents_free(mtd_webevents *we)
{
    if (!we)
        return;
    for (size_t i = 0; i < we->n; i++)
        json_decref(we->q[i].fields);
    pthread_mutex_destroy(&we->mu);
    free(we);
}

void mtd_webevents_set_policy(mtd_webevents *we, const mtd_policy *pol)
{
    pthread_mutex_lock(&we->mu);
    we->web_protection = pol->web_protection;
    we->report_all = pol->network_reporting && pol->report_connections == MTD_CONN_ALL;
    pthread_mutex_unlock(&we->mu);
}

/* Queues one event (taking fields) unless key is already queued as that type. */
static void push(mtd_webevents *we, const char *type, json_t *fields, const char *key)
{
    char k[400];
    uint8_t d[32];
    int kl = snprintf(k, sizeof k, "%s|%.300s", type, key);
    mtd_sha256(k, (size_t)kl, d);
    uint64_t h;
    memcpy(&h, d, sizeof h);
    h |= 1;
    pthread_mutex_lock(&we->mu);
    uint32_t i = (uint32_t)(h >> 32) % KEYSLOTS;
    while (we->keys[i] && we->keys[i] != h)
        i = (i + 1) % KEYSLOTS;
    if (we->keys[i] == h) { /* already queued: one event per name per drain */
        pthread_mutex_unlock(&we->mu);
        json_decref(fields);
        return;
    }
    if (we->n == MTD_WEBEVENTS_MAX) {
        we->dropped++;
        pthread_mutex_unlock(&we->mu);
        json_decref(fields);
        return;
    }
    we->keys[i] = h;
    queued *e = &we->q[we->n++];
    snprintf(e->type, sizeof e->type, "%s", type);
    e->fields = fields;
    pthread_mutex_unlock(&we->mu);
}

static const char *severity_of(const char *category)
{
    return !strcmp(category, "policy") ? "medium" : "high";
}

/* A detection ID that stays the same for one threat on one host, so repeated blocks
 * of it are one threat in the reports. */
static void threat_id(const char *name, size_t nl, const char *host, char out[40])
{
    char buf[700], hex[65];
    int n = snprintf(buf, sizeof buf, "%.*s|%s", (int)nl, name, host);
    mtd_sha256_hex(buf, (size_t)n, hex);
    snprintf(out, 40, "web_%.24s", hex);
}

/* "192.0.2.1/" or "[2001:db8::1]/": an IP host entry. */
static int is_address(const char *m)
{
    if (m[0] == '[')
        return 1;
    for (; *m && *m != '/'; m++)
        if (!(*m == '.' || (*m >= '0' && *m <= '9')))
            return 0;
    return 1;
}

/* The threat.detection of a block; evidence names the host entry, never a path. */
static void threat(mtd_webevents *we, const mtd_rep_record *rec, const char *host,
                   const char *matched, const char *source)
{
    char evidence[600], id[40];
    const char *slash = matched ? strchr(matched, '/') : NULL;
    if (slash && slash[1] == 0 && is_address(matched)) /* a DNS answer's listed address */
        snprintf(evidence, sizeof evidence, "%s blocked: the answer's address %.*s is listed", source,
                 (int)(strlen(matched) - 1), matched);
    else if (slash && slash[1] == 0) /* a host entry: "evil.example/" */
        snprintf(evidence, sizeof evidence, "%s blocked: listed host %.*s", source,
                 (int)(strlen(matched) - 1), matched);
    else
        snprintf(evidence, sizeof evidence, "%s blocked: a listed URL of host %s", source, host);
    threat_id(rec->name, rec->name_len, host, id);
    json_t *f = json_pack("{s:s%,s:s,s:s,s:s,s:s,s:s,s:s}", "threat_name", rec->name, rec->name_len,
                          "category", rec->category, "severity", severity_of(rec->category),
                          "source", !strcmp(source, "DNS") ? "network" : "web", "evidence", evidence,
                          "status", "active", "threat_id", id);
    char key[80];
    snprintf(key, sizeof key, "%s|%s", id, source); /* a DNS and a web block: both reported */
    push(we, "threat.detection", f, key);
}

void mtd_webevents_url_block(mtd_webevents *we, const char *url, const mtd_rep_result *res,
                             const char *browser)
{
    if (!we->web_protection || !res->block)
        return;
    json_t *f = json_pack("{s:s,s:s,s:s%,s:s}", "url", url, "domain", res->host, "threat_name",
                          res->rec.name, res->rec.name_len, "category", res->rec.category);
    if (browser)
        json_object_set_new(f, "browser", json_string(browser));
    push(we, "web.detection", f, url);
    threat(we, &res->rec, res->host, res->matched, "URL check");
}

void mtd_webevents_dns(mtd_webevents *we, const char *qname, const char *qtype, int block,
                       const mtd_rep_record *rec, const char *matched)
{
    if (!we->web_protection || (!block && !we->report_all))
        return;
    json_t *f = json_pack("{s:s,s:s,s:s}", "qname", qname, "qtype", qtype, "verdict",
                          block ? "block" : "allow");
    if (block)
        json_object_set_new(f, "threat_name", json_stringn(rec->name, rec->name_len));
    push(we, "net.dns", f, qname);
    if (block)
        threat(we, rec, qname, matched, "DNS");
}

void mtd_webevents_flow_block(mtd_webevents *we, const char *url, const mtd_rep_result *res,
                              const char *how)
{
    if (!we->web_protection || !res->block)
        return;
    json_t *f = json_pack("{s:s,s:s,s:s%,s:s}", "url", url, "domain", res->host, "threat_name",
                          res->rec.name, res->rec.name_len, "category", res->rec.category);
    push(we, "web.detection", f, url);
    threat(we, &res->rec, res->host, res->matched, how);
}

void mtd_webevents_queue(mtd_webevents *we, const char *type, json_t *fields, const char *key)
{
    if (!we->web_protection) {
        json_decref(fields);
        return;
    }
    push(we, type, fields, key);
}

size_t mtd_webevents_pending(mtd_webevents *we)
{
    pthread_mutex_lock(&we->mu);
    size_t n = we->n;
    pthread_mutex_unlock(&we->mu);
    return n;
}

unsigned long long mtd_webevents_dropped(mtd_webevents *we)
{
    pthread_mutex_lock(&we->mu);
    unsigned long long d = we->dropped;
    pthread_mutex_unlock(&we->mu);
    return d;
}

size_t mtd_webevents_drain(mtd_webevents *we, mtd_emit_fn emit, void *ctx)
{
    queued *take = malloc(sizeof we->q);
    if (!take)
        return 0;
    pthread_mutex_lock(&we->mu);
    size_t n = we->n;
    memcpy(take, we->q, n * sizeof *take);
    we->n = 0;
    memset(we->keys, 0, sizeof we->keys);
    pthread_mutex_unlock(&we->mu);
    for (size_t i = 0; i < n; i++)
        emit(ctx, take[i].type, take[i].fields);
    free(take);
    return n;
}
