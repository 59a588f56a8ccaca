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
#include <sys/socket.h>
#include <unistd.h>

struct mtd_conn {
    mtd_conn *prev, *next; /* in the list of its phase; NULL when in none */
    int fd;
    int phase;
    int shed;              /* shut down by us: it is going */
    int64_t since;         /* start of its phase, ns */
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
    unsigned open;
    uint64_t shed[3], shed_logged[3];
    pthread_t th;
    int stop;
};

static const char *const reasons[3] = {"head_timeout", "slow_head_evicted", "body_timeout"};

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

mtd_conn *mtd_conns_opened(mtd_conns *cs, int fd)
{
    mtd_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->fd = fd;
    pthread_mutex_lock(&cs->mu);
    conn_list *h = &cs->lists[MTD_CONN_HEAD];
    if (cs->o.max_pending && h->n >= cs->o.max_pending)
        shed(cs, h->head.next, 1); /* the oldest still waiting makes room */
    append(cs, c, MTD_CONN_HEAD);
    cs->open++;
    pthread_mutex_unlock(&cs->mu);
    return c;
}

void mtd_conns_closed(mtd_conns *cs, mtd_conn *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&cs->mu);
    unlink_conn(cs, c);
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
    while (l->n && l->head.next->since < limit)
        shed(cs, l->head.next, why);
}

static void *run(void *arg)
{
    mtd_conns *cs = arg;
    for (unsigned tick = 1; !__atomic_load_n(&cs->stop, __ATOMIC_SEQ_CST); tick++) {
        usleep(250 * 1000);
        pthread_mutex_lock(&cs->mu);
        int64_t now = mtd_monotonic_ns();
        reap(cs, MTD_CONN_HEAD, cs->o.head_timeout_s, 0, now);
        reap(cs, MTD_CONN_BODY, cs->o.body_timeout_s, 2, now);
        uint64_t d[3];
        for (int i = 0; i < 3; i++) {
            d[i] = tick % 40 == 0 ? cs->shed[i] - cs->shed_logged[i] : 0;
            if (tick % 40 == 0)
                cs->shed_logged[i] = cs->shed[i];
        }
        unsigned open = cs->open, pending = cs->lists[MTD_CONN_HEAD].n;
        pthread_mutex_unlock(&cs->mu);
        if (d[0] || d[1] || d[2]) /* one line every 10 s, not one per connection */
            mtd_log(MTD_LOG_WARN, "conns", "shed in the last 10 s: head_timeout=%llu slow_head_evicted=%llu"
                    " body_timeout=%llu; open=%u waiting_for_head=%u", (unsigned long long)d[0],
                    (unsigned long long)d[1], (unsigned long long)d[2], open, pending);
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
    pthread_mutex_destroy(&cs->mu);
    free(cs);
}
