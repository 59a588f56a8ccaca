/* mtd_dnsfilter: the DNS filter's sockets and threads (see mtd_dnsfilter.h). */
#include "webprot/mtd_dnsfilter.h"
#include "common/mtd_err.h"
#include "common/mtd_log.h"
#include "common/mtd_util.h"
#include "webprot/mtd_dns.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 16384     /* forwarded queries in flight at most (the ID's low 14 bits) */
#define SLOTS_FIRST 256 /* the slots taken in turn at first; doubled when all are busy */
#define BATCH MTD_DNSFILTER_BATCH
#define MAX_TCP 64
#define CANARY "use-application-dns.net"

typedef struct {
    int used;
    uint16_t id, client_id;
    int64_t start_ms;
    struct sockaddr_storage client;
    socklen_t clen;
    uint16_t qlen; /* the query up to its question, for a SERVFAIL */
    uint8_t has_opt;
    uint8_t local; /* asked through mtd_dnsfilter_query: answered through the reply hook */
    uint8_t q[12 + 256 + 4];
} slot;

struct mtd_dnsfilter {
    int udp, up, tcp;
    struct sockaddr_storage up_addr;
    socklen_t up_len;
    int timeout_ms, null_ip, mark;
    volatile int stop;
    pthread_t t_udp, t_up, t_tcp;
    pthread_rwlock_t rep_lock;
    const mtd_rep *rep;
    mtd_webevents *events;
    void (*reply)(void *ctx, const struct sockaddr_in *client, const uint8_t *msg, size_t len);
    void *reply_ctx;
    pthread_mutex_t slot_lock;
    slot *slots;     /* SLOTS, zero pages until used: only the first nslots are */
    uint32_t nslots; /* so a run of forwarded queries touches as many slots as it has
                        in flight, not all 16,384 (6.6 MiB) */
    uint32_t next_slot;
    uint8_t id_bits[64];   /* the IDs' random bits, two a query, read 64 bytes at a time */
    unsigned id_bits_used; /* (a getrandom per query was 3.5% of the VPN relay's time) */
    int tcp_active;
    mtd_dnsfilter_stats st;
};

static int64_t now_ms(void)
{
    return mtd_monotonic_ns() / 1000000;
}

#define COUNT(f, field) __atomic_add_fetch(&(f)->st.field, 1, __ATOMIC_RELAXED)

enum { ANSWERED, FORWARD, DROP, LOOKUP };

/* The first look at a query: an answer of ours in out (*outlen: malformed, refused,
 * the DoH canary), DROP, FORWARD (no name to look up), or LOOKUP. */
static int screen(mtd_dnsfilter *f, const uint8_t *q, size_t len, mtd_dns_msg *m, uint8_t *out,
                  size_t *outlen, size_t outcap)
{
    const char *why;
    COUNT(f, queries);
    if (mtd_dns_parse(q, len, m, &why) != 0) {
        COUNT(f, formerr);
        *outlen = mtd_dns_formerr(q, len, out, outcap);
        return *outlen ? ANSWERED : DROP;
    }
    if (m->is_response)
        return DROP; /* nobody asked us for it */
    if (m->opcode != 0 || (m->qclass != 1 && m->qclass != 255)) {
        COUNT(f, refused);
        *outlen = mtd_dns_answer(q, m, m->opcode ? MTD_DNS_NOTIMP : MTD_DNS_REFUSED, 0, out, outcap);
        return ANSWERED;
    }
    if (m->name_len == strlen(CANARY) && !memcmp(m->name, CANARY, m->name_len)) {
        *outlen = mtd_dns_answer(q, m, MTD_DNS_NXDOMAIN, 0, out, outcap);
        return ANSWERED;
    }
    return m->name_len ? LOOKUP : FORWARD;
}

/* A blocked query, or an answer pointing at a blocked address: reported, and the block
 * answer (NXDOMAIN, or 0.0.0.0 / :: per policy) to query q in out. */
static int block(mtd_dnsfilter *f, const uint8_t *q, const mtd_dns_msg *m, const mtd_rep_record *rec,
                 const char *matched, uint8_t *out, size_t *outlen, size_t outcap)
{
    if (f->events) {
        char tn[16];
        mtd_webevents_dns(f->events, m->name, mtd_dns_type_name(m->qtype, tn), 1, rec, matched);
    }
    COUNT(f, blocked);
    int null_ip = __atomic_load_n(&f->null_ip, __ATOMIC_RELAXED);
    *outlen = mtd_dns_answer(q, m, null_ip ? MTD_DNS_NOERROR : MTD_DNS_NXDOMAIN, null_ip, out, outcap);
    return *outlen ? ANSWERED : DROP;
}

/* The verdict v on a looked-up query: the block answer in out (ANSWERED), or FORWARD
 * (an allowed query is reported, as the policy allows, when its answer is checked).
 * Called under the engine's read lock (rec points into a database). */
static int apply(mtd_dnsfilter *f, const uint8_t *q, const mtd_dns_msg *m, int v,
                 const mtd_rep_record *rec, size_t moff, uint8_t *out, size_t *outlen, size_t outcap)
{
    if (v != 1)
        return FORWARD;
    char matched[MTD_DNS_NAME_TEXT + 2] = "";
    if (f->events && moff < m->name_len) /* only a report names the entry */
        snprintf(matched, sizeof matched, "%s/", m->name + moff);
    return block(f, q, m, rec, matched, out, outlen, outcap);
}

/* Whether the tenant's allow list or a feed's allow entry names the host (allow wins
 * over a listed answer address too). The rare path: only once an address is listed. */
static int allow_listed(mtd_dnsfilter *f, const mtd_dns_msg *r)
{
    mtd_rep_result res;
    const char *why;
    return mtd_rep_check_host(f->rep, r->name, r->name_len, &res, &why) == 0 && res.listed && !res.block;
}

/* An upstream answer (r parsed from ans, has_opt as its query's) whose A or AAAA
 * records point at an address a feed lists (ipv4-addr / ipv6-addr indicators): the
 * name is blocked as if it were listed itself, so a fresh domain in front of a known
 * bad server is caught too. ANSWERED with the block answer in out, or FORWARD. */
static int screen_answer(mtd_dnsfilter *f, const uint8_t *ans, size_t alen, const mtd_dns_msg *r,
                         uint8_t *out, size_t *outlen, size_t outcap)
{
    char addrs[16][MTD_DNS_ADDR_TEXT];
    int n = mtd_dns_answer_addrs(ans, alen, r, addrs, 16), d = FORWARD;
    mtd_rep_record rec = {0};
    pthread_rwlock_rdlock(&f->rep_lock);
    for (int i = 0; i < n && d == FORWARD; i++) {
        size_t moff = 0, al = strlen(addrs[i]);
        if (mtd_rep_host_verdict(f->rep, addrs[i], al, &rec, &moff) == 1 && !allow_listed(f, r)) {
            char matched[MTD_DNS_ADDR_TEXT + 1];
            snprintf(matched, sizeof matched, "%s/", addrs[i]);
            d = block(f, ans, r, &rec, matched, out, outlen, outcap);
        }
    }
    if (d == FORWARD && f->events && r->name_len) {
        char tn[16];
        mtd_webevents_dns(f->events, r->name, mtd_dns_type_name(r->qtype, tn), 0, &rec, "");
    }
    pthread_rwlock_unlock(&f->rep_lock);
    return d;
}

/* One query, start to end (TCP). */
static int decide(mtd_dnsfilter *f, const uint8_t *q, size_t len, mtd_dns_msg *m, uint8_t *out,
                  size_t *outlen, size_t outcap)
{
    int d = screen(f, q, len, m, out, outlen, outcap);
    if (d != LOOKUP)
        return d;
    mtd_rep_record rec;
    size_t moff = 0;
    pthread_rwlock_rdlock(&f->rep_lock);
    int v = mtd_rep_host_verdict(f->rep, m->name, m->name_len, &rec, &moff);
    d = apply(f, q, m, v, &rec, moff, out, outlen, outcap);
    pthread_rwlock_unlock(&f->rep_lock);
    return d;
}

/* A batch of n queries (q[i], qlen[i]): screened, the names looked up together
 * (mtd_rep_host_verdicts fetches their memory in parallel), then decided; d[i] and
 * alen[i] as decide's, each answer in out[i] (outcap bytes). */
static void decide_batch(mtd_dnsfilter *f, const uint8_t *const *q, const size_t *qlen, int n, mtd_dns_msg *m,
                         uint8_t *const *out, size_t outcap, size_t *alen, int *d)
{
    mtd_rep_query qs[BATCH];
    int idx[BATCH], nq = 0;
    for (int i = 0; i < n; i++) {
        d[i] = screen(f, q[i], qlen[i], &m[i], out[i], &alen[i], outcap);
        if (d[i] == LOOKUP) {
            qs[nq] = (mtd_rep_query){.name = m[i].name, .len = m[i].name_len};
            idx[nq++] = i;
        }
    }
    if (!nq)
        return;
    pthread_rwlock_rdlock(&f->rep_lock);
    mtd_rep_host_verdicts(f->rep, qs, (size_t)nq);
    for (int k = 0; k < nq; k++) {
        int i = idx[k];
        d[i] = apply(f, q[i], &m[i], qs[k].verdict, &qs[k].rec, qs[k].matched_off, out[i], &alen[i], outcap);
    }
    pthread_rwlock_unlock(&f->rep_lock);
}

/* ---- UDP ---- */

/* The two random bits of a forwarded query's ID above its slot (under slot_lock). */
static unsigned id_bits(mtd_dnsfilter *f)
{
    /* should getrandom fail, the last pool's bits are used again, as an ID without
     * them would still name its slot */
    if (f->id_bits_used % (sizeof f->id_bits * 4) == 0)
        mtd_random(f->id_bits, sizeof f->id_bits);
    unsigned k = f->id_bits_used++ % (sizeof f->id_bits * 4);
    return (unsigned)(f->id_bits[k / 4] >> (k % 4 * 2)) & 3;
}

/* Takes a slot for a forwarded query; its upstream ID, or -1 when all are busy. */
static int take_slot(mtd_dnsfilter *f, const uint8_t *q, const mtd_dns_msg *m,
                     const struct sockaddr_storage *from, socklen_t flen, int local)
{
    pthread_mutex_lock(&f->slot_lock);
    for (uint32_t k = 0, n = f->nslots; k < n || n < SLOTS; k++) {
        if (k == n) { /* every slot taken so far is busy: take twice as many */
            __atomic_store_n(&f->nslots, n * 2, __ATOMIC_RELEASE);
            f->next_slot = n;
            k = 0;
            n *= 2;
        }
        uint32_t i = (f->next_slot + k) % n;
        slot *s = &f->slots[i];
        if (s->used)
            continue;
        s->used = 1;
        s->id = (uint16_t)(id_bits(f) << 14 | i);
        s->client_id = m->id;
        s->start_ms = now_ms();
        s->client = *from;
        s->clen = flen;
        s->local = (uint8_t)local;
        s->qlen = (uint16_t)m->question_end;
        s->has_opt = (uint8_t)m->has_opt;
        memcpy(s->q, q, m->question_end);
        f->next_slot = i + 1;
        pthread_mutex_unlock(&f->slot_lock);
        return s->id;
    }
    pthread_mutex_unlock(&f->slot_lock);
    return -1;
}

/* A query to forward, from the filter's socket or mtd_dnsfilter_query_batch: 0 with a
 * slot taken and its ID in id (network order), the query to be sent as that ID then
 * q + 2 (fwd_msg); -1 when every slot is busy, with the client's SERVFAIL in out
 * (*outlen). */
static int forward_prep(mtd_dnsfilter *f, const uint8_t *q, const mtd_dns_msg *m, const struct sockaddr_storage *from,
                        socklen_t flen, int local, uint8_t id[2], uint8_t *out, size_t *outlen, size_t outcap)
{
    int slot_id = take_slot(f, q, m, from, flen, local);
    if (slot_id < 0) {
        COUNT(f, servfail);
        *outlen = mtd_dns_answer(q, m, MTD_DNS_SERVFAIL, 0, out, outcap);
        return -1;
    }
    id[0] = (uint8_t)(slot_id >> 8);
    id[1] = (uint8_t)slot_id;
    COUNT(f, forwarded);
    return 0;
}

/* The upstream's datagram of a forwarded query (len >= 12: it parsed): its new ID, then
 * the rest as the client sent it, with no copy. */
static void fwd_msg(struct mmsghdr *mh, struct iovec iov[2], uint8_t id[2], const uint8_t *q, size_t len)
{
    iov[0] = (struct iovec){id, 2};
    iov[1] = (struct iovec){(void *)(q + 2), len - 2};
    mh->msg_hdr = (struct msghdr){.msg_iov = iov, .msg_iovlen = 2};
}

static void *udp_loop(void *arg)
{
    mtd_dnsfilter *f = arg;
    uint8_t(*in)[MTD_DNS_MAX_UDP] = malloc(2 * BATCH * MTD_DNS_MAX_UDP);
    mtd_dns_msg *m = malloc(BATCH * sizeof *m);
    if (!in || !m) {
        free(in);
        free(m);
        return NULL;
    }
    uint8_t(*out)[MTD_DNS_MAX_UDP] = in + BATCH, fid[BATCH][2];
    struct mmsghdr rm[BATCH], am[BATCH], fm[BATCH];
    struct iovec riov[BATCH], aiov[BATCH], fiov[BATCH][2];
    struct sockaddr_storage from[BATCH];
    size_t alen[BATCH], qlen[BATCH];
    int d[BATCH];
    const uint8_t *qp[BATCH];
    uint8_t *op[BATCH];
    for (int i = 0; i < BATCH; i++)
        qp[i] = in[i], op[i] = out[i];
    while (!f->stop) {
        for (int i = 0; i < BATCH; i++) {
            riov[i] = (struct iovec){in[i], MTD_DNS_MAX_UDP};
            rm[i].msg_hdr = (struct msghdr){.msg_name = &from[i], .msg_namelen = sizeof from[i],
                                            .msg_iov = &riov[i], .msg_iovlen = 1};
        }
        int n = recvmmsg(f->udp, rm, BATCH, MSG_WAITFORONE, NULL);
        if (n <= 0)
            continue; /* the 100 ms receive timeout: look at f->stop */
        for (int i = 0; i < n; i++)
            qlen[i] = rm[i].msg_len;
        decide_batch(f, qp, qlen, n, m, op, MTD_DNS_MAX_UDP, alen, d);
        int na = 0, nf = 0;
        for (int i = 0; i < n; i++) {
            if (d[i] == FORWARD) {
                if (forward_prep(f, in[i], &m[i], &from[i], rm[i].msg_hdr.msg_namelen, 0, fid[nf], out[i], &alen[i],
                                 MTD_DNS_MAX_UDP) != 0) {
                    d[i] = ANSWERED; /* every slot busy: the client hears SERVFAIL at once */
                } else {
                    fwd_msg(&fm[nf], fiov[nf], fid[nf], in[i], rm[i].msg_len);
                    nf++;
                }
            }
            if (d[i] == ANSWERED && alen[i]) {
                aiov[na] = (struct iovec){out[i], alen[i]};
                am[na].msg_hdr = (struct msghdr){.msg_name = &from[i], .msg_namelen = rm[i].msg_hdr.msg_namelen,
                                                 .msg_iov = &aiov[na], .msg_iovlen = 1};
                na++;
            }
        }
        if (na)
            sendmmsg(f->udp, am, (unsigned)na, 0);
        if (nf)
            sendmmsg(f->up, fm, (unsigned)nf, 0);
    }
    free(in);
    free(m);
    return NULL;
}

void mtd_dnsfilter_query_batch(mtd_dnsfilter *f, int n, const uint8_t *const *q, const size_t *len,
                               const struct sockaddr_in *client, uint8_t *const *out, size_t outcap, size_t *outlen,
                               int *r)
{
    int ok = f->reply && n > 0 && n <= MTD_DNSFILTER_BATCH;
    for (int i = 0; i < n; i++) {
        outlen[i] = 0;
        r[i] = -1;
        ok &= len[i] <= MTD_DNS_MAX_UDP;
    }
    if (!ok)
        return;
    mtd_dns_msg m[MTD_DNSFILTER_BATCH];
    int d[MTD_DNSFILTER_BATCH], nf = 0;
    uint8_t fid[MTD_DNSFILTER_BATCH][2];
    struct mmsghdr fm[MTD_DNSFILTER_BATCH];
    struct iovec fiov[MTD_DNSFILTER_BATCH][2];
    decide_batch(f, q, len, n, m, out, outcap, outlen, d);
    for (int i = 0; i < n; i++) {
        if (d[i] == FORWARD) {
            struct sockaddr_storage from = {0};
            memcpy(&from, &client[i], sizeof client[i]);
            if (forward_prep(f, q[i], &m[i], &from, sizeof client[i], 1, fid[nf], out[i], &outlen[i], outcap) == 0) {
                fwd_msg(&fm[nf], fiov[nf], fid[nf], q[i], len[i]);
                nf++;
                r[i] = 0;
                continue;
            }
            d[i] = ANSWERED; /* every slot busy: SERVFAIL at once, as on the socket */
        }
        if (d[i] == ANSWERED && outlen[i])
            r[i] = 1;
    }
    /* never waits: the caller is the VPN's relay thread (a full socket buffer loses the
     * queries, which the expiry then answers SERVFAIL, as lost datagrams would be) */
    if (nf)
        sendmmsg(f->up, fm, (unsigned)nf, MSG_DONTWAIT);
}

int mtd_dnsfilter_query(mtd_dnsfilter *f, const uint8_t *q, size_t len, const struct sockaddr_in *client,
                        uint8_t *out, size_t *outlen, size_t outcap)
{
    int r;
    mtd_dnsfilter_query_batch(f, 1, &q, &len, client, &out, outcap, outlen, &r);
    return r;
}

/* An answer to a forwarded query's client: on the filter's socket, or through the
 * reply hook for a query mtd_dnsfilter_query forwarded. */
static void answer_client(mtd_dnsfilter *f, int local, const struct sockaddr_storage *to, socklen_t tl,
                          const uint8_t *msg, size_t len)
{
    if (local)
        f->reply(f->reply_ctx, (const struct sockaddr_in *)to, msg, len);
    else
        sendto(f->udp, msg, len, 0, (const struct sockaddr *)to, tl);
}

/* Answers SERVFAIL for the forwarded queries older than the timeout. */
static void expire(mtd_dnsfilter *f)
{
    int64_t now = now_ms();
    uint8_t out[600];
    mtd_dns_msg m;
    for (uint32_t i = 0, taken = __atomic_load_n(&f->nslots, __ATOMIC_ACQUIRE); i < taken; i++) {
        slot *s = &f->slots[i];
        if (!__atomic_load_n(&s->used, __ATOMIC_RELAXED) || now - s->start_ms < f->timeout_ms)
            continue;
        pthread_mutex_lock(&f->slot_lock);
        if (s->used && now - s->start_ms >= f->timeout_ms) {
            memset(&m, 0, sizeof m);
            m.flags = (uint16_t)(s->q[2] << 8 | s->q[3]);
            m.question_end = s->qlen;
            m.has_opt = s->has_opt;
            s->q[0] = (uint8_t)(s->client_id >> 8);
            s->q[1] = (uint8_t)s->client_id;
            size_t n = mtd_dns_answer(s->q, &m, MTD_DNS_SERVFAIL, 0, out, sizeof out);
            answer_client(f, s->local, &s->client, s->clen, out, n);
            s->used = 0;
            COUNT(f, servfail);
        }
        pthread_mutex_unlock(&f->slot_lock);
    }
}

/* Relays one upstream answer to its client, when it answers a query we sent (the
 * block answer instead when it points at a blocked address). */
static void relay(mtd_dnsfilter *f, uint8_t *buf, size_t len)
{
    mtd_dns_msg m;
    if (mtd_dns_parse(buf, len, &m, NULL) != 0 || !m.is_response)
        return;
    slot *s = &f->slots[m.id % SLOTS];
    pthread_mutex_lock(&f->slot_lock);
    /* the same ID and the same question (case aside), or it is not ours */
    if (!s->used || s->id != m.id || m.question_end != s->qlen ||
        strncasecmp((const char *)buf + 12, (const char *)s->q + 12, s->qlen - 12) != 0) {
        pthread_mutex_unlock(&f->slot_lock);
        return;
    }
    struct sockaddr_storage to = s->client;
    socklen_t tl = s->clen;
    int local = s->local;
    buf[0] = (uint8_t)(s->client_id >> 8);
    buf[1] = (uint8_t)s->client_id;
    m.has_opt = s->has_opt;
    s->used = 0;
    pthread_mutex_unlock(&f->slot_lock);
    uint8_t blk[600];
    size_t bl = 0;
    int d = screen_answer(f, buf, len, &m, blk, &bl, sizeof blk);
    if (d == ANSWERED)
        answer_client(f, local, &to, tl, blk, bl);
    else if (d == FORWARD)
        answer_client(f, local, &to, tl, buf, len);
    COUNT(f, answered_upstream);
}

static void *upstream_loop(void *arg)
{
    mtd_dnsfilter *f = arg;
    uint8_t(*in)[MTD_DNS_MAX_UDP] = malloc(BATCH * MTD_DNS_MAX_UDP);
    if (!in)
        return NULL;
    struct mmsghdr rm[BATCH];
    struct iovec riov[BATCH];
    int64_t last = now_ms();
    while (!f->stop) {
        for (int i = 0; i < BATCH; i++) {
            riov[i] = (struct iovec){in[i], MTD_DNS_MAX_UDP};
            rm[i].msg_hdr = (struct msghdr){.msg_iov = &riov[i], .msg_iovlen = 1};
        }
        int n = recvmmsg(f->up, rm, BATCH, MSG_WAITFORONE, NULL);
        for (int i = 0; i < n; i++)
            relay(f, in[i], rm[i].msg_len);
        if (now_ms() - last >= 100) {
            expire(f);
            last = now_ms();
        }
    }
    free(in);
    return NULL;
}

/* ---- TCP ---- */

typedef struct {
    mtd_dnsfilter *f;
    int fd, up;
} tcp_conn;

static int read_full(int fd, uint8_t *p, size_t n)
{
    while (n) {
        ssize_t r = recv(fd, p, n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static int write_msg(int fd, const uint8_t *p, size_t n)
{
    uint8_t hdr[2] = {(uint8_t)(n >> 8), (uint8_t)n};
    struct iovec iov[2] = {{hdr, 2}, {(void *)p, n}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
    return sendmsg(fd, &mh, MSG_NOSIGNAL) == (ssize_t)(n + 2) ? 0 : -1;
}

static void set_timeout(int fd, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* Forwards one query over the connection's own TCP link to the upstream. */
static int tcp_forward(tcp_conn *c, const uint8_t *q, size_t len, uint8_t *ans, size_t *alen)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (c->up < 0) {
            c->up = socket(c->f->up_addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
            set_timeout(c->up, c->f->timeout_ms);
            if (c->f->mark)
                setsockopt(c->up, SOL_SOCKET, SO_MARK, &c->f->mark, sizeof c->f->mark);
            if (c->up < 0 || connect(c->up, (struct sockaddr *)&c->f->up_addr, c->f->up_len) != 0) {
                if (c->up >= 0)
                    close(c->up);
                c->up = -1;
                return -1;
            }
        }
        uint8_t hdr[2];
        if (write_msg(c->up, q, len) == 0 && read_full(c->up, hdr, 2) == 0) {
            *alen = (size_t)(hdr[0] << 8 | hdr[1]);
            if (read_full(c->up, ans, *alen) == 0)
                return 0;
        }
        close(c->up); /* a closed or broken link: one more try on a new one */
        c->up = -1;
    }
    return -1;
}

/* Waits for the next query of a connection: 0 when it can be read, -1 when the filter
 * stops or the client stayed idle for 10 s. */
static int wait_query(mtd_dnsfilter *f, int fd)
{
    for (int waited = 0; !f->stop && waited < 10000; waited += 200) {
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, 200);
        if (r > 0)
            return 0;
        if (r < 0 && errno != EINTR)
            return -1;
    }
    return -1;
}

/* screen_answer for an upstream answer over TCP, replaced in place when blocked. */
static int answer_checked(mtd_dnsfilter *f, uint8_t *ans, size_t *alen, const mtd_dns_msg *query)
{
    mtd_dns_msg r;
    uint8_t blk[600];
    size_t bl = 0;
    if (mtd_dns_parse(ans, *alen, &r, NULL) != 0)
        return FORWARD; /* passed on as it came, as over UDP */
    r.has_opt = query->has_opt;
    int d = screen_answer(f, ans, *alen, &r, blk, &bl, sizeof blk);
    if (d == ANSWERED) {
        memcpy(ans, blk, bl);
        *alen = bl;
    }
    return d;
}

static void *tcp_conn_loop(void *arg)
{
    tcp_conn *c = arg;
    mtd_dnsfilter *f = c->f;
    uint8_t *q = malloc(65536), *ans = malloc(65536 + 16);
    mtd_dns_msg m;
    set_timeout(c->fd, 10000);
    while (q && ans && !f->stop) {
        uint8_t hdr[2];
        if (wait_query(f, c->fd) != 0 || read_full(c->fd, hdr, 2) != 0)
            break;
        size_t len = (size_t)(hdr[0] << 8 | hdr[1]), alen = 0;
        if (len == 0 || read_full(c->fd, q, len) != 0)
            break;
        __atomic_add_fetch(&f->st.tcp_queries, 1, __ATOMIC_RELAXED);
        int d = decide(f, q, len, &m, ans, &alen, 65536);
        if (d == FORWARD) {
            COUNT(f, forwarded);
            if (tcp_forward(c, q, len, ans, &alen) != 0) {
                COUNT(f, servfail);
                alen = mtd_dns_answer(q, &m, MTD_DNS_SERVFAIL, 0, ans, 65536);
            } else {
                COUNT(f, answered_upstream);
                d = answer_checked(f, ans, &alen, &m);
            }
        }
        if (d == DROP || write_msg(c->fd, ans, alen) != 0)
            break;
    }
    free(q);
    free(ans);
    close(c->fd);
    if (c->up >= 0)
        close(c->up);
    __atomic_sub_fetch(&f->tcp_active, 1, __ATOMIC_SEQ_CST);
    free(c);
    return NULL;
}

static void *tcp_accept_loop(void *arg)
{
    mtd_dnsfilter *f = arg;
    while (!f->stop) {
        struct pollfd p = {f->tcp, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        int fd = accept4(f->tcp, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        tcp_conn *c = malloc(sizeof *c);
        pthread_t t;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        if (!c || __atomic_add_fetch(&f->tcp_active, 1, __ATOMIC_SEQ_CST) > MAX_TCP) {
            if (c)
                __atomic_sub_fetch(&f->tcp_active, 1, __ATOMIC_SEQ_CST);
            close(fd);
            free(c);
        } else {
            *c = (tcp_conn){f, fd, -1};
            if (pthread_create(&t, &at, tcp_conn_loop, c) != 0) {
                __atomic_sub_fetch(&f->tcp_active, 1, __ATOMIC_SEQ_CST);
                close(fd);
                free(c);
            }
        }
        pthread_attr_destroy(&at);
    }
    return NULL;
}

/* ---- set-up ---- */

static int is_wildcard(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
    return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

static int open_sockets(mtd_dnsfilter *f, const mtd_dnsfilter_opts *o, char *why, size_t wl)
{
    struct sockaddr_storage ls;
    socklen_t ll;
    if (mtd_dns_parse_addr(o->listen, &ls, &ll) != 0) {
        snprintf(why, wl, "--listen %s: expected ADDR:PORT, e.g. 127.0.0.1:5353", o->listen);
        return MTD_EINVAL;
    }
    if (is_wildcard(&ls)) {
        snprintf(why, wl, "--listen %s: a wildcard address would answer anyone; give the one address to serve", o->listen);
        return MTD_EINVAL;
    }
    if (mtd_dns_parse_addr(o->upstream, &f->up_addr, &f->up_len) != 0) {
        snprintf(why, wl, "--upstream %s: expected ADDR:PORT, e.g. 127.0.0.1:53", o->upstream);
        return MTD_EINVAL;
    }
    int one = 1, big = 4 << 20;
    f->udp = socket(ls.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    f->tcp = socket(ls.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    f->up = socket(f->up_addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (f->udp < 0 || f->tcp < 0 || f->up < 0) {
        snprintf(why, wl, "cannot create sockets: %s", strerror(errno));
        return MTD_EIO;
    }
    setsockopt(f->tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(f->udp, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    setsockopt(f->up, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    if (o->mark)
        setsockopt(f->up, SOL_SOCKET, SO_MARK, &o->mark, sizeof o->mark);
    if (bind(f->udp, (struct sockaddr *)&ls, ll) != 0 || bind(f->tcp, (struct sockaddr *)&ls, ll) != 0 ||
        listen(f->tcp, 64) != 0) {
        snprintf(why, wl, "--listen %s: %s", o->listen, strerror(errno));
        return MTD_EIO;
    }
    if (connect(f->up, (struct sockaddr *)&f->up_addr, f->up_len) != 0) {
        snprintf(why, wl, "--upstream %s: %s", o->upstream, strerror(errno));
        return MTD_EIO;
    }
    set_timeout(f->udp, 100);
    set_timeout(f->up, 100);
    return 0;
}

int mtd_dnsfilter_start(const mtd_dnsfilter_opts *o, const mtd_rep *rep, mtd_dnsfilter **out,
                        char *why, size_t wl)
{
    mtd_dnsfilter *f = calloc(1, sizeof *f);
    if (!f || !(f->slots = calloc(SLOTS, sizeof *f->slots))) {
        free(f);
        return MTD_ENOMEM;
    }
    f->udp = f->tcp = f->up = -1;
    f->nslots = SLOTS_FIRST;
    f->rep = rep;
    f->events = o->events;
    f->null_ip = o->null_ip;
    f->mark = o->mark;
    f->reply = o->reply;
    f->reply_ctx = o->reply_ctx;
    f->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 2000;
    pthread_rwlock_init(&f->rep_lock, NULL);
    pthread_mutex_init(&f->slot_lock, NULL);
    int r = open_sockets(f, o, why, wl);
    int started = 0;
    if (r == 0 && (pthread_create(&f->t_udp, NULL, udp_loop, f) != 0 || !++started ||
                   pthread_create(&f->t_up, NULL, upstream_loop, f) != 0 || !++started ||
                   pthread_create(&f->t_tcp, NULL, tcp_accept_loop, f) != 0 || !++started)) {
        snprintf(why, wl, "cannot start the filter's threads");
        r = MTD_ENOMEM;
    }
    if (r) {
        f->stop = 1;
        if (started > 0)
            pthread_join(f->t_udp, NULL);
        if (started > 1)
            pthread_join(f->t_up, NULL);
        started = 0;
        mtd_dnsfilter_stop(f);
        return r;
    }
    mtd_log(MTD_LOG_INFO, "dns", "filtering on %s, forwarding to %s", o->listen, o->upstream);
    *out = f;
    return 0;
}

const mtd_rep *mtd_dnsfilter_set_rep(mtd_dnsfilter *f, const mtd_rep *rep)
{
    pthread_rwlock_wrlock(&f->rep_lock);
    const mtd_rep *old = f->rep;
    f->rep = rep;
    pthread_rwlock_unlock(&f->rep_lock);
    return old;
}

void mtd_dnsfilter_set_null_ip(mtd_dnsfilter *f, int null_ip)
{
    __atomic_store_n(&f->null_ip, null_ip, __ATOMIC_RELAXED);
}

void mtd_dnsfilter_stats_get(mtd_dnsfilter *f, mtd_dnsfilter_stats *s)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    *s = f->st;
}

void mtd_dnsfilter_stop(mtd_dnsfilter *f)
{
    if (!f)
        return;
    if (!f->stop) {
        f->stop = 1;
        pthread_join(f->t_udp, NULL);
        pthread_join(f->t_up, NULL);
        pthread_join(f->t_tcp, NULL);
    }
    /* connection threads see stop within their receive timeout */
    for (int i = 0; i < 200 && __atomic_load_n(&f->tcp_active, __ATOMIC_SEQ_CST) > 0; i++)
        usleep(50 * 1000);
    if (f->udp >= 0)
        close(f->udp);
    if (f->tcp >= 0)
        close(f->tcp);
    if (f->up >= 0)
        close(f->up);
    pthread_rwlock_destroy(&f->rep_lock);
    pthread_mutex_destroy(&f->slot_lock);
    free(f->slots);
    free(f);
}
