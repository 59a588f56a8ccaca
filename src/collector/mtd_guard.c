/* mtd_guard: counters of failed authentication per address and per token prefix
 * (mtd_limit), a cache of tokens known good, and the summaries written to the log and
 * to the tenants' audit logs. Fixed-size tables (a flood of addresses evicts the
 * stalest entries, it cannot grow memory), one mutex, touched once per authentication. */
#include "collector/mtd_guard.h"
#include "collector/mtd_limit.h"
#include "common/mtd_err.h"
#include "common/mtd_log.h"
#include "common/mtd_util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NCOUNT 4096
#define NGOOD 4096
#define NPEND 256
#define GOOD_TTL_S 3600

typedef struct {
    char h[33]; /* the first 32 hex digits of the token's SHA-256 */
    int64_t t;
} good;

enum { KIND_AUTH, KIND_REFUSED };

typedef struct {
    char tenant[MTD_TENANT_ID_LEN + 1];
    int kind;
    uint64_t n;            /* not yet written */
    int64_t first;         /* of those */
    int64_t written;       /* when its last line was written */
    char ips[3][48];
    int nips;
    char sample[200];
} pending;

struct mtd_guard {
    pthread_mutex_t mu;
    mtd_tenants *t;
    mtd_limit *ip, *pre; /* by client address (IPv6 by /64), by token prefix */
    good ok[NGOOD];
    pending p[NPEND];
    uint64_t failed_total, limited_total, blocked_total, dropped_pending;
    unsigned opens_per_s;  /* stores unauthenticated requests may open, per second */
    double open_tokens;    /* the bucket of those, up to twice the rate */
    int64_t open_refill_ns;
    uint64_t opens_refused;
    uint64_t failed_since, limited_since; /* since the last summary line */
    pthread_t th;
    int stop;
};

/* "<kind>.<tenant>" of a token, or "" when it has no such shape. */
static void prefix_of(const char *tok, char *out, size_t len)
{
    const char *d1 = tok ? strchr(tok, '.') : NULL;
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    out[0] = 0;
    if (d2 && (size_t)(d2 - tok) < len)
        snprintf(out, len, "%.*s", (int)(d2 - tok), tok);
}

static good *good_slot(mtd_guard *g, const char *hash)
{
    char k[33];
    snprintf(k, sizeof k, "%.32s", hash);
    return &g->ok[mtd_fnv1a(k, strlen(k)) % NGOOD];
}

static int is_good(mtd_guard *g, const char *tok, int64_t now)
{
    char hash[65];
    mtd_sha256_hex(tok, strlen(tok), hash);
    pthread_mutex_lock(&g->mu);
    good *e = good_slot(g, hash);
    int ok = !strncmp(e->h, hash, 32) && now - e->t < GOOD_TTL_S;
    pthread_mutex_unlock(&g->mu);
    return ok;
}

int mtd_guard_known_good(mtd_guard *g, const char *tok)
{
    return g && tok && is_good(g, tok, (int64_t)time(NULL));
}

/* Caller holds g->mu. One store open from the bucket: 0, or MTD_EBUSY when empty. */
static int take_open(mtd_guard *g)
{
    if (!g->opens_per_s)
        return 0;
    int64_t now = mtd_monotonic_ns();
    double burst = 2.0 * g->opens_per_s;
    g->open_tokens += (double)(now - g->open_refill_ns) / 1e9 * g->opens_per_s;
    if (g->open_tokens > burst)
        g->open_tokens = burst;
    g->open_refill_ns = now;
    if (g->open_tokens < 1)
        return MTD_EBUSY;
    g->open_tokens -= 1;
    return 0;
}

int mtd_guard_cold_open(mtd_guard *g, const char *tok)
{
    if (!g || !g->opens_per_s || mtd_guard_known_good(g, tok))
        return 0;
    pthread_mutex_lock(&g->mu);
    int r = take_open(g);
    if (r)
        g->opens_refused++;
    pthread_mutex_unlock(&g->mu);
    return r;
}

int mtd_guard_check(mtd_guard *g, mtd_req *rq, mtd_resp *rs)
{
    if (!g)
        return 0;
    int64_t now = (int64_t)time(NULL);
    const char *tok = mtd_req_bearer(rq);
    char pre[72], ck[MTD_LIMIT_KEY];
    prefix_of(tok, pre, sizeof pre);
    mtd_limit_client_key(rq->ip, NULL, ck);
    pthread_mutex_lock(&g->mu);
    long wait = mtd_limit_blocked(g->ip, ck, now), wp = pre[0] ? mtd_limit_blocked(g->pre, pre, now) : 0;
    pthread_mutex_unlock(&g->mu);
    if (wp > wait)
        wait = wp;
    if (!wait || (tok && is_good(g, tok, now)))
        return 0;
    pthread_mutex_lock(&g->mu);
    g->limited_total++;
    g->limited_since++;
    pthread_mutex_unlock(&g->mu);
    rs->retry_after = wait;
    mtd_resp_error(rs, 429, "too_many_failures", "too many failed authentications; retry after %ld s",
                   rs->retry_after);
    return MTD_EBUSY;
}

/* Caller holds g->mu. A failure counted in l; blocked_total counts the keys it blocks. */
static void count_fail(mtd_guard *g, mtd_limit *l, const char *key, unsigned limit, int64_t now)
{
    if (mtd_limit_fail(l, key, now) == limit + 1)
        g->blocked_total++;
}

/* Adds one event to the tenant's pending summary of that kind. */
static void pend(mtd_guard *g, const char *tenant, int kind, const char *ip, const char *sample, int64_t now)
{
    pending *free_p = NULL, *e = NULL;
    for (int i = 0; i < NPEND && !e; i++) {
        pending *p = &g->p[i];
        if (p->tenant[0] && p->kind == kind && !strcmp(p->tenant, tenant))
            e = p;
        else if (!free_p && (!p->tenant[0] || (!p->n && now - p->written >= GUARD_AUDIT_S)))
            free_p = p;
    }
    if (!e && !(e = free_p)) {
        g->dropped_pending++;
        return;
    }
    if (e == free_p) { /* a new entry, or a stale one taken over */
        memset(e, 0, sizeof *e);
        mtd_strlcpy(e->tenant, tenant, sizeof e->tenant);
        e->kind = kind;
    }
    if (!e->n) {
        e->first = now;
        e->nips = 0;
        mtd_strlcpy(e->sample, sample, sizeof e->sample);
    }
    e->n++;
    int known = 0;
    for (int i = 0; i < e->nips; i++)
        known |= !strcmp(e->ips[i], ip);
    if (!known && e->nips < 3)
        mtd_strlcpy(e->ips[e->nips++], ip, sizeof e->ips[0]);
}

void mtd_guard_failed(mtd_guard *g, const mtd_req *rq, const char *tok)
{
    if (!g)
        return;
    int64_t now = (int64_t)time(NULL);
    char pre[72], kind[8], tenant[32], sample[160], hash[65], ck[MTD_LIMIT_KEY];
    prefix_of(tok, pre, sizeof pre);
    mtd_limit_client_key(rq->ip, NULL, ck);
    pthread_mutex_lock(&g->mu);
    g->failed_total++;
    g->failed_since++;
    count_fail(g, g->ip, ck, GUARD_FAILS_PER_IP, now);
    if (pre[0])
        count_fail(g, g->pre, pre, GUARD_FAILS_PER_PREFIX, now);
    if (tok && mtd_token_parse(tok, kind, sizeof kind, tenant, sizeof tenant) == 0 && tenant[0]) {
        mtd_sha256_hex(tok, strlen(tok), hash);
        snprintf(sample, sizeof sample, "%s %s with a %s token id %.12s", rq->method, rq->path, kind, hash);
        pend(g, tenant, KIND_AUTH, rq->ip, sample, now);
    }
    pthread_mutex_unlock(&g->mu);
}

void mtd_guard_passed(mtd_guard *g, const mtd_req *rq)
{
    if (!g)
        return;
    pthread_mutex_lock(&g->mu);
    good *e = good_slot(g, rq->cred);
    snprintf(e->h, sizeof e->h, "%.32s", rq->cred);
    e->t = (int64_t)time(NULL);
    pthread_mutex_unlock(&g->mu);
}

void mtd_guard_refused(mtd_guard *g, const mtd_req *rq, const char *what, const char *why)
{
    if (!g || !rq->tn)
        return;
    char sample[200];
    snprintf(sample, sizeof sample, "%s %s: %s", rq->actor, what, why);
    pthread_mutex_lock(&g->mu);
    pend(g, rq->tn->id, KIND_REFUSED, rq->ip, sample, (int64_t)time(NULL));
    pthread_mutex_unlock(&g->mu);
}

/* One audit line of a pending summary. */
static void write_pending(mtd_guard *g, const pending *p, int64_t now)
{
    mtd_tenant *tn;
    if (mtd_tenants_get(g->t, p->tenant, &tn) != 0)
        return; /* a token naming no tenant: nobody's audit log */
    char ips[160] = "", detail[600];
    for (int i = 0; i < p->nips; i++)
        snprintf(ips + strlen(ips), sizeof ips - strlen(ips), "%s%s", i ? ", " : "", p->ips[i]);
    snprintf(detail, sizeof detail, "%llu %s in %llds from %s%s; first: %s",
             (unsigned long long)p->n,
             p->kind == KIND_AUTH ? "failed sign-ins (401)" : "refused calls (403)",
             (long long)(now - p->first + 1), ips, p->nips == 3 ? " and others" : "", p->sample);
    mtd_store_audit(tn->store, "collector", p->kind == KIND_AUTH ? "auth.failed" : "call.refused", detail);
    mtd_tenants_put(g->t, tn);
}

void mtd_guard_flush(mtd_guard *g, int force)
{
    if (!g)
        return;
    int64_t now = (int64_t)time(NULL);
    pending due[16];
    int nd;
    do { /* a few at a time, written outside the lock */
        nd = 0;
        pthread_mutex_lock(&g->mu);
        for (int i = 0; i < NPEND && nd < 16; i++) {
            pending *p = &g->p[i];
            /* a summary whose tenant's store is closed waits for an open from the
             * bucket: failed sign-ins at 30 closed tenants opened all 30 to audit them */
            if (p->tenant[0] && p->n && (force || !p->written || now - p->written >= GUARD_AUDIT_S) &&
                (force || mtd_tenants_is_open(g->t, p->tenant) || take_open(g) == 0)) {
                due[nd++] = *p;
                p->n = 0;
                p->written = now;
            }
        }
        pthread_mutex_unlock(&g->mu);
        for (int i = 0; i < nd; i++)
            write_pending(g, &due[i], now);
    } while (nd == 16);
}

static void summary(mtd_guard *g)
{
    pthread_mutex_lock(&g->mu);
    uint64_t f = g->failed_since, l = g->limited_since;
    g->failed_since = g->limited_since = 0;
    char top[MTD_LIMIT_KEY], who[140] = "";
    unsigned n = mtd_limit_top(g->ip, (int64_t)time(NULL), top);
    if (n)
        snprintf(who, sizeof who, "; most from %s (%u in its window)", top, n);
    pthread_mutex_unlock(&g->mu);
    if (f || l)
        mtd_log(MTD_LOG_WARN, "auth", "failed=%llu limited_429=%llu in the last %d s%s",
                (unsigned long long)f, (unsigned long long)l, GUARD_SUMMARY_S, who);
}

static void *run(void *arg)
{
    mtd_guard *g = arg;
    for (unsigned tick = 1; !__atomic_load_n(&g->stop, __ATOMIC_SEQ_CST); tick++) {
        sleep(1);
        mtd_guard_flush(g, 0);
        if (tick % GUARD_SUMMARY_S == 0)
            summary(g);
    }
    return NULL;
}

int mtd_guard_create(mtd_tenants *t, unsigned opens_per_s, mtd_guard **out)
{
    /* past the limit in a window, blocked for a window from that failure */
    mtd_limit_rule by_ip = {GUARD_WINDOW_S, GUARD_FAILS_PER_IP + 1, GUARD_WINDOW_S},
                   by_prefix = {GUARD_WINDOW_S, GUARD_FAILS_PER_PREFIX + 1, GUARD_WINDOW_S};
    mtd_guard *g = calloc(1, sizeof *g);
    if (!g || mtd_limit_create(NCOUNT, &by_ip, &g->ip) != 0 || mtd_limit_create(NCOUNT, &by_prefix, &g->pre) != 0) {
        if (g)
            mtd_limit_destroy(g->ip);
        free(g);
        return MTD_ENOMEM;
    }
    g->t = t;
    g->opens_per_s = opens_per_s;
    g->open_tokens = 2.0 * opens_per_s;
    g->open_refill_ns = mtd_monotonic_ns();
    pthread_mutex_init(&g->mu, NULL);
    if (pthread_create(&g->th, NULL, run, g) != 0) {
        pthread_mutex_destroy(&g->mu);
        mtd_limit_destroy(g->ip);
        mtd_limit_destroy(g->pre);
        free(g);
        return MTD_EIO;
    }
    *out = g;
    return 0;
}

void mtd_guard_destroy(mtd_guard *g)
{
    if (!g)
        return;
    __atomic_store_n(&g->stop, 1, __ATOMIC_SEQ_CST);
    pthread_join(g->th, NULL);
    mtd_guard_flush(g, 1);
    summary(g);
    pthread_mutex_destroy(&g->mu);
    mtd_limit_destroy(g->ip);
    mtd_limit_destroy(g->pre);
    free(g);
}

void mtd_guard_render(mtd_guard *g, mtd_buf *out)
{
    if (!g)
        return;
    pthread_mutex_lock(&g->mu);
    mtd_buf_printf(out, "# HELP mtd_auth_failures_total Failed authentications (401).\n"
                        "# TYPE mtd_auth_failures_total counter\nmtd_auth_failures_total %llu\n"
                        "# HELP mtd_auth_limited_total Requests refused (429) from an address or at a"
                        " token prefix with too many failures.\n"
                        "# TYPE mtd_auth_limited_total counter\nmtd_auth_limited_total %llu\n"
                        "# HELP mtd_auth_blocks_total Times an address or token prefix was blocked.\n"
                        "# TYPE mtd_auth_blocks_total counter\nmtd_auth_blocks_total %llu\n"
                        "# HELP mtd_auth_cold_opens_refused_total Requests answered 503 because"
                        " checking their token would have opened a store past --cold-opens.\n"
                        "# TYPE mtd_auth_cold_opens_refused_total counter\n"
                        "mtd_auth_cold_opens_refused_total %llu\n",
                   (unsigned long long)g->failed_total, (unsigned long long)g->limited_total,
                   (unsigned long long)g->blocked_total, (unsigned long long)g->opens_refused);
    pthread_mutex_unlock(&g->mu);
}
