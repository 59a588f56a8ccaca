/* mtd_conns: the open connections in two lists ordered by the start of their phase
 * (waiting for a head; reading an admitted body), so the reaper thread and the
 * eviction look only at the oldest of each. Connections doing work (a handler, an
 * answer being sent, an export streaming for minutes) are in neither and are never
 * cut here. */
#include "collector/mtd_conns.h"
#include "common/mtd_err.h"
#include "common/mtd_log.h"
#include "common/mtd_util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define NADDR 4096

/* The connections of one client address that have not authenticated, oldest first. */
typedef struct addr_count {
    struct addr_count *next; /* in its hash bucket */
    mtd_conn *first, *last;
    unsigned n;
    char ip[48];
} addr_count;

struct mtd_conn {
    mtd_conn *prev, *next; /* in the list of its phase; NULL when in none */
    mtd_conn *aprev, *anext; /* in its address's list while addr is set */
    int fd;
    int phase;
    int shed;              /* shut down by us: it is going */
    int64_t since;         /* start of its phase, ns */
    addr_count *addr;      /* counted there until it authenticates; NULL once it has */
};

typedef struct {
    mtd_conn head;         /* sentinel of a circular list, oldest first */
    unsigned n;
} conn_list;

struct mtd_conns {
    pthread_mutex_t mu;
    mtd_conns_opts o;
    mtd_metrics *m;
    conn_list lists[2];    /* MTD_CONN_HEAD, MTD_CONN_BODY */
    addr_count *addrs[NADDR];
    unsigned open;
    uint64_t shed[4], shed_logged[4];
    pthread_t th;
    int stop;
};

enum { SHED_HEAD_TIMEOUT, SHED_EVICTED, SHED_BODY_TIMEOUT, SHED_PER_ADDRESS };
static const char *const reasons[4] = {"head_timeout", "slow_head_evicted", "body_timeout",
                                       "per_address_limit"};

static void shed(mtd_conns *cs, mtd_conn *c, int why);

/* 1 when bytes the client sent wait unread in the socket: libmicrohttpd's thread for
 * this connection has been busy (with another connection's batch being committed), and
 * the client is not the slow one. Under load a kept-alive device's next head waited
 * there for seconds and was cut at the head deadline with the batch behind it. A
 * trickling client gains nothing: once its bytes are read, its deadline applies. */
static int unread_input(const mtd_conn *c)
{
    int n = 0;
    return ioctl(c->fd, FIONREAD, &n) == 0 && n > 0;
}

static addr_count **addr_slot(mtd_conns *cs, const char *ip)
{
    addr_count **a = &cs->addrs[mtd_fnv1a(ip, strlen(ip)) % NADDR];
    while (*a && strcmp((*a)->ip, ip))
        a = &(*a)->next;
    return a;
}

/* Caller holds cs->mu. The connection no longer counts against its address. */
static void uncount(mtd_conns *cs, mtd_conn *c)
{
    addr_count *a = c->addr;
    if (!a)
        return;
    *(c->aprev ? &c->aprev->anext : &a->first) = c->anext;
    *(c->anext ? &c->anext->aprev : &a->last) = c->aprev;
    c->addr = NULL;
    c->aprev = c->anext = NULL;
    if (--a->n)
        return;
    addr_count **p = addr_slot(cs, a->ip);
    *p = a->next;
    free(a);
}

/* A connection this young is not taken for a slow one: its client may be about to
 * send the head it has just connected for (a fleet behind one NAT connecting at once). */
#define PER_ADDRESS_GRACE_NS 1000000000LL

/* Caller holds cs->mu. Counts a new connection against its address. When connections
 * waiting for a head hold half their slots and this address holds max_per_address
 * unauthenticated ones, its own oldest still waiting makes room: one address flooding
 * slow heads rotates its own connections out, not other addresses' (the global
 * eviction takes the oldest of all). Without that pressure nothing is refused: 1,000
 * devices behind one NAT address connecting at once all got in. */
static void count(mtd_conns *cs, mtd_conn *c, const char *ip)
{
    if (!cs->o.max_per_address || !ip)
        return;
    addr_count **p = addr_slot(cs, ip);
    if (!*p) {
        if (!(*p = calloc(1, sizeof **p)))
            return; /* out of memory: not counted rather than refused */
        mtd_strlcpy((*p)->ip, ip, sizeof (*p)->ip);
    }
    addr_count *a = *p;
    int64_t young = mtd_monotonic_ns() - PER_ADDRESS_GRACE_NS;
    if (a->n >= cs->o.max_per_address && cs->lists[MTD_CONN_HEAD].n >= cs->o.max_pending / 2)
        for (mtd_conn *o = a->first; o && o->since < young; o = o->anext)
            if (!o->shed && o->next && o->phase == MTD_CONN_HEAD && !unread_input(o)) {
                shed(cs, o, SHED_PER_ADDRESS);
                break;
            }
    c->addr = a;
    c->aprev = a->last;
    *(a->last ? &a->last->anext : &a->first) = c;
    a->last = c;
    a->n++;
}

static void unlink_conn(mtd_conns *cs, mtd_conn *c)
{
    if (!c->next)
        return;
    c->prev->next = c->next;
    c->next->prev = c->prev;
    c->prev = c->next = NULL;
    cs->lists[c->phase].n--;
}

static void append(mtd_conns *cs, mtd_conn *c, int phase)
{
    conn_list *l = &cs->lists[phase];
    c->phase = phase;
    c->since = mtd_monotonic_ns();
    c->prev = l->head.prev;
    c->next = &l->head;
    l->head.prev->next = c;
    l->head.prev = c;
    l->n++;
}

/* Caller holds cs->mu. */
static void shed(mtd_conns *cs, mtd_conn *c, int why)
{
    unlink_conn(cs, c);
    c->shed = 1;
    shutdown(c->fd, SHUT_RDWR);
    cs->shed[why]++;
    mtd_metrics_shed(cs->m, reasons[why]);
}

/* The oldest waiting connection whose head is not already in its socket (of the 16
 * oldest), else the oldest. */
static mtd_conn *oldest_slow(conn_list *h)
{
    mtd_conn *c = h->head.next;
    for (int i = 0; i < 16 && c != &h->head; i++, c = c->next)
        if (!unread_input(c))
            return c;
    return h->head.next;
}

mtd_conn *mtd_conns_opened(mtd_conns *cs, int fd, const char *ip)
{
    mtd_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->fd = fd;
    pthread_mutex_lock(&cs->mu);
    cs->open++;
    count(cs, c, ip);
    conn_list *h = &cs->lists[MTD_CONN_HEAD];
    if (cs->o.max_pending && h->n >= cs->o.max_pending)
        shed(cs, oldest_slow(h), SHED_EVICTED); /* the oldest still waiting makes room */
    append(cs, c, MTD_CONN_HEAD);
    pthread_mutex_unlock(&cs->mu);
    return c;
}

void mtd_conns_authenticated(mtd_conns *cs, mtd_conn *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&cs->mu);
    uncount(cs, c);
    pthread_mutex_unlock(&cs->mu);
}

void mtd_conns_closed(mtd_conns *cs, mtd_conn *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&cs->mu);
    unlink_conn(cs, c);
    uncount(cs, c);
    cs->open--;
    pthread_mutex_unlock(&cs->mu);
    free(c);
}

void mtd_conns_phase(mtd_conns *cs, mtd_conn *c, mtd_conn_phase p)
{
    if (!c)
        return;
    pthread_mutex_lock(&cs->mu);
    if (!c->shed) {
        unlink_conn(cs, c);
        if (p != MTD_CONN_WORK)
            append(cs, c, p);
        else
            c->phase = p;
    }
    pthread_mutex_unlock(&cs->mu);
}

void mtd_conns_count(mtd_conns *cs, unsigned *open, unsigned *pending)
{
    pthread_mutex_lock(&cs->mu);
    *open = cs->open;
    *pending = cs->lists[MTD_CONN_HEAD].n;
    pthread_mutex_unlock(&cs->mu);
}

/* Sheds the connections of one list whose phase began before the deadline. */
static void reap(mtd_conns *cs, int phase, unsigned timeout_s, int why, int64_t now)
{
    if (!timeout_s)
        return;
    conn_list *l = &cs->lists[phase];
    int64_t limit = now - (int64_t)timeout_s * 1000000000;
    for (mtd_conn *c = l->head.next, *next; c != &l->head && c->since < limit; c = next) {
        next = c->next;
        if (!unread_input(c))
            shed(cs, c, why);
    }
}

static void *run(void *arg)
{
    mtd_conns *cs = arg;
    for (unsigned tick = 1; !__atomic_load_n(&cs->stop, __ATOMIC_SEQ_CST); tick++) {
        usleep(250 * 1000);
        pthread_mutex_lock(&cs->mu);
        int64_t now = mtd_monotonic_ns();
        reap(cs, MTD_CONN_HEAD, cs->o.head_timeout_s, SHED_HEAD_TIMEOUT, now);
        reap(cs, MTD_CONN_BODY, cs->o.body_timeout_s, SHED_BODY_TIMEOUT, now);
        uint64_t d[4];
        for (int i = 0; i < 4; i++) {
            d[i] = tick % 40 == 0 ? cs->shed[i] - cs->shed_logged[i] : 0;
            if (tick % 40 == 0)
                cs->shed_logged[i] = cs->shed[i];
        }
        unsigned open = cs->open, pending = cs->lists[MTD_CONN_HEAD].n;
        pthread_mutex_unlock(&cs->mu);
        if (d[0] || d[1] || d[2] || d[3]) /* one line every 10 s, not one per connection */
            mtd_log(MTD_LOG_WARN, "conns", "shed in the last 10 s: head_timeout=%llu slow_head_evicted=%llu"
                    " body_timeout=%llu per_address_limit=%llu; open=%u waiting_for_head=%u",
                    (unsigned long long)d[0], (unsigned long long)d[1], (unsigned long long)d[2],
                    (unsigned long long)d[3], open, pending);
    }
    return NULL;
}

int mtd_conns_start(const mtd_conns_opts *o, mtd_metrics *m, mtd_conns **out)
{
    mtd_conns *cs = calloc(1, sizeof *cs);
    if (!cs)
        return MTD_ENOMEM;
    cs->o = *o;
    cs->m = m;
    pthread_mutex_init(&cs->mu, NULL);
    for (int i = 0; i < 2; i++)
        cs->lists[i].head.prev = cs->lists[i].head.next = &cs->lists[i].head;
    if (pthread_create(&cs->th, NULL, run, cs) != 0) {
        pthread_mutex_destroy(&cs->mu);
        free(cs);
        return MTD_EIO;
    }
    *out = cs;
    return 0;
}

void mtd_conns_stop(mtd_conns *cs)
{
    if (!cs)
        return;
    __atomic_store_n(&cs->stop, 1, __ATOMIC_SEQ_CST);
    pthread_join(cs->th, NULL);
    for (int i = 0; i < NADDR; i++) /* left by connections never told closed */
        for (addr_count *a = cs->addrs[i], *n; a; a = n) {
            n = a->next;
            free(a);
        }
    pthread_mutex_destroy(&cs->mu);
    free(cs);
}
