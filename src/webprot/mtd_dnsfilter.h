/* mtd_dnsfilter: the local DNS filter. It answers the queries sent to the one address
 * it listens on (UDP and TCP; a wildcard address is refused, so it never becomes an
 * open resolver): a name the reputation engine blocks gets NXDOMAIN or 0.0.0.0 / ::
 * (the policy's dns_block_answer), `use-application-dns.net` gets NXDOMAIN (browsers
 * then keep their DNS on the device instead of switching to DNS over HTTPS), and every
 * other query is forwarded, as it came (EDNS0 included), to the upstream.
 *
 * UDP: one thread reads queries in batches (recvmmsg) and answers or forwards them;
 * forwarded queries get an ID of their own (a slot in a table of 16,384 outstanding
 * ones, 2 random bits on top) on a socket connected to the upstream, and a second
 * thread relays the upstream's answers, checking each one's ID and question, and
 * answers SERVFAIL for queries the upstream left unanswered past the timeout. TCP: a
 * thread per connection (at most 64), queries read one after another as the client
 * pipelines them, answered in order, forwarded over a TCP connection of its own to the
 * upstream; idle connections close after 10 s.
 *
 * Blocked queries go to the events queue (mtd_webevents: net.dns and
 * threat.detection as the policy allows); allowed ones only when report_connections is
 * "all". The engine can be swapped while serving (a new feed arrived). */
#ifndef MTD_DNSFILTER_H
#define MTD_DNSFILTER_H

#include "webprot/mtd_rep.h"
#include "webprot/mtd_webevents.h"

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mtd_dnsfilter mtd_dnsfilter;

typedef struct {
    const char *listen;   /* ADDR:PORT */
    const char *upstream; /* ADDR:PORT */
    int null_ip;          /* answer blocked names 0.0.0.0 / :: instead of NXDOMAIN */
    int timeout_ms;       /* upstream; 0 = 2000 */
    mtd_webevents *events; /* NULL: report nothing */
    int mark;             /* SO_MARK of the sockets to the upstream (0: none): the VPN's
                           * own sockets bypass its tunnel (mtd_tun.h) */
    /* Where the upstream's answers to mtd_dnsfilter_query's forwarded queries go, called
     * from the filter's upstream thread (NULL: that function is not used). */
    void (*reply)(void *ctx, const struct sockaddr_in *client, const uint8_t *msg, size_t len);
    void *reply_ctx;
} mtd_dnsfilter_opts;

typedef struct {
    uint64_t queries, blocked, forwarded, answered_upstream, servfail, formerr, refused, tcp_queries;
} mtd_dnsfilter_stats;

/* Binds and starts serving with rep (borrowed until stop or the next set_rep). */
int mtd_dnsfilter_start(const mtd_dnsfilter_opts *o, const mtd_rep *rep, mtd_dnsfilter **out,
                        char *why, size_t whylen);
/* Serves with rep from now on; returns the previous engine, which no thread uses any
 * more once this returns (the caller closes it). */
const mtd_rep *mtd_dnsfilter_set_rep(mtd_dnsfilter *f, const mtd_rep *rep);
void mtd_dnsfilter_set_null_ip(mtd_dnsfilter *f, int null_ip);
void mtd_dnsfilter_stats_get(mtd_dnsfilter *f, mtd_dnsfilter_stats *s);
/* A UDP query that reached the agent by another way than the filter's socket (the
 * VPN's tunnel, where client is the device's address and port inside it), decided in
 * the caller's thread by the same code as every other query: 1 with the answer in out
 * (*outlen), 0 when it was forwarded (its answer goes to the reply hook later, from the
 * filter's thread: a SERVFAIL when the upstream stays silent), -1 when dropped. */
int mtd_dnsfilter_query(mtd_dnsfilter *f, const uint8_t *q, size_t len, const struct sockaddr_in *client,
                        uint8_t *out, size_t *outlen, size_t outcap);
/* The same for n such queries (n <= MTD_DNSFILTER_BATCH, each at most MTD_DNS_MAX_UDP
 * bytes), decided together as the filter's socket decides a received batch (their
 * names' lookups prefetched) and the forwarded ones sent in one system call: r[i] as
 * mtd_dnsfilter_query returns for query i (q[i], len[i] bytes, from client[i]), its
 * answer in out[i] (outcap bytes, outlen[i]) when 1. */
#define MTD_DNSFILTER_BATCH 32
void mtd_dnsfilter_query_batch(mtd_dnsfilter *f, int n, const uint8_t *const *q, const size_t *len,
                               const struct sockaddr_in *client, uint8_t *const *out, size_t outcap, size_t *outlen,
                               int *r);
/* Stops every thread, closes the sockets, frees. */
void mtd_dnsfilter_stop(mtd_dnsfilter *f);

#endif
