/* mtd_uflow: the VPN's UDP flows: each (client, server) pair gets a connected socket
 * of its own that bypasses the tunnel, datagrams go through one for one, and the
 * flow ends after a minute without traffic (ten seconds for DNS). Datagrams to the
 * tunnel's DNS address, port 53, reach lwIP only as fragments: whole ones are read
 * off the TUN packet (mtd_vdns) and handed to the agent's DNS filter in this thread,
 * those of one burst of reads together (mtd_dnsfilter_query_batch: lookups prefetched,
 * forwards in one sendmmsg, as the filter's own socket does). A blocked name is answered at once; the upstream's answer to a
 * forwarded one is written to the TUN by the filter's upstream thread, which passes
 * only its count back to this one (mtd_uflow_dns_reply). That used to be a loopback
 * socket to the filter (DNS through the tunnel 0.62x the filter's own QPS on a quiet
 * machine, bench_vpn), then a queue of answers to this thread, which sent them through
 * lwIP (0.70-0.74x): either way this one thread did the kernel's work of every
 * answer's delivery besides reading every query. The first
 * datagrams of a flow to port 443 are read as QUIC Initials (their CRYPTO bytes
 * gathered across packets, mtd_sni_quic_add): the one that completes a ClientHello
 * naming a blocked server is dropped, and so is the rest of its flow, so the browser
 * falls back to TCP, where the same name meets the same verdict. */
#include "webprot/mtd_vpn_int.h"
#include "webprot/mtd_dns.h"
#include "webprot/mtd_sni.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define QUIC_LOOKS 4 /* client datagrams read for an Initial */

/* 1 when the flow is (now) blocked. */
static int quic_check(mtd_vpn *v, vpn_flow *f, const uint8_t *b, size_t n)
{
    if (f->threat)
        return 1;
    if (f->sport != 443 || f->decided || f->quic_seen >= QUIC_LOOKS)
        return 0;
    f->quic_seen++;
    char name[MTD_SNI_NAME_MAX + 1];
    if (!f->quic && !(f->quic = calloc(1, sizeof *f->quic)))
        return 0;
    mtd_sni_result r = mtd_sni_quic_add(f->quic, b, n, name);
    if (r != MTD_SNI_FOUND) {
        if (r == MTD_SNI_INVALID && f->quic_seen == 1 && !(n && (b[0] & 0x80)))
            f->decided = 1; /* not QUIC's long header: plain UDP */
        if (f->decided || f->quic_seen >= QUIC_LOOKS) {
            free(f->quic);
            f->quic = NULL;
        }
        return 0;
    }
    f->decided = 1;
    free(f->quic);
    f->quic = NULL;
    f->proto = MTD_PROTO_QUIC;
    snprintf(f->name, sizeof f->name, "%s", name);
    mtd_rep_result res;
    char url[300];
    snprintf(url, sizeof url, "https://%s/", name);
    if (!mtd_vpn__verdict(v, name, NULL, &res))
        return 0;
    mtd_vpn__report_block(v, f, url, &res, "QUIC server_name");
    return 1;
}

static vpn_flow *start(mtd_vpn *v, uint32_t cip, uint16_t cport, uint32_t sip, uint16_t sport)
{
    vpn_flow *f = mtd_vpn__new_flow(v, F_UDP, cip, cport, sip, sport);
    if (!f)
        return NULL;
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr.s_addr = sip, .sin_port = htons(sport)};
    if (sip == v->o.dns && sport == 53) { /* no socket: the filter answers (dns_query) */
        f->dns = 1;
        f->proto = MTD_PROTO_DNS;
        f->decided = 1;
        f->state = S_RELAY;
        return f;
    } else {
        char ip[INET_ADDRSTRLEN];
        mtd_rep_result res;
        inet_ntop(AF_INET, &sip, ip, sizeof ip);
        if (mtd_vpn__verdict(v, ip, NULL, &res)) {
            char url[64];
            snprintf(url, sizeof url, "udp://%s:%u/", ip, sport);
            snprintf(f->name, sizeof f->name, "%s", ip);
            mtd_vpn__report_block(v, f, url, &res, "IP address");
            f->state = S_RELAY;
            return f; /* kept, blocked, so its datagrams are dropped until it idles out */
        }
    }
    f->fd = mtd_vpn__socket(v, SOCK_DGRAM, &to);
    if (f->fd < 0 || mtd_vpn__watch(v, f, EPOLLIN) != 0) {
        mtd_vpn__end(v, f);
        return NULL;
    }
    f->state = S_RELAY;
    return f;
}

/* Sends a datagram from the flow's server to its client through lwIP. */
static int to_client(mtd_vpn *v, uint32_t cip, uint16_t cport, uint32_t sip, uint16_t sport,
                     const uint8_t *b, size_t n)
{
    struct udp_pcb *pcb = v->udp_pcbs[sport];
    struct pbuf *p = pcb ? pbuf_alloc(PBUF_TRANSPORT, (u16_t)n, PBUF_RAM) : NULL;
    if (!p)
        return -1;
    memcpy(p->payload, b, n);
    ip_addr_t client = IPADDR4_INIT(cip), server = IPADDR4_INIT(sip);
    err_t e = udp_sendto_if_src(pcb, p, &client, cport, &v->netif, &server);
    pbuf_free(p);
    return e == ERR_OK ? 0 : -1;
}

/* A DNS answer into the tunnel, from dns:53 to the client, built off lwIP (mtd_vdns.h):
 * the packet's length, or 0 when it was not written (the client asks again, as for a
 * lost datagram). Any thread: a TUN write is one packet whoever makes it. */
static size_t dns_send(const mtd_vpn *v, uint32_t cip, uint16_t cport, const uint8_t *msg, size_t len)
{
    uint8_t pkt[MTD_VDNS_HDR + MTD_DNS_MAX_UDP];
    size_t n = mtd_vdns_packet(v->o.dns, cip, cport, msg, len, (size_t)v->tun.mtu, pkt, sizeof pkt);
    return n && write(v->tun.fd, pkt, n) == (ssize_t)n ? n : 0;
}

/* An answer of the filter's own (a block, a refusal) to flow f's client. */
static void dns_answer(mtd_vpn *v, vpn_flow *f, const uint8_t *msg, size_t len)
{
    size_t pl = dns_send(v, f->cip, f->cport, msg, len);
    if (pl) {
        f->bytes_in += pl - MTD_VDNS_HDR; /* what was sent: the answer may be truncated */
        f->packets_in++;
        v->st.packets_in++;
        v->st.bytes_in += pl;
    }
}

/* A query lwIP reassembled from fragments, decided alone. */
static void dns_query(mtd_vpn *v, vpn_flow *f, const uint8_t *b, size_t n)
{
    uint8_t out[MTD_DNS_MAX_UDP];
    size_t ol;
    struct sockaddr_in c = {.sin_family = AF_INET, .sin_addr.s_addr = f->cip, .sin_port = htons(f->cport)};
    if (mtd_dnsfilter_query(v->dnsf, b, n, &c, out, &ol, sizeof out) == 1)
        dns_answer(v, f, out, ol);
}

void mtd_uflow_dns_in(mtd_vpn *v, const mtd_vdns_query *q)
{
    vpn_flow *f = mtd_vpn__find(v, F_UDP, q->src, q->sport, q->dst, q->dport);
    if (!f && !(f = start(v, q->src, q->sport, q->dst, q->dport)))
        return;
    f->packets_out++;
    f->bytes_out += q->len;
    f->last_ms = mtd_vpn__now_ms();
    vpn_dns_batch *b = &v->dns_batch;
    if (q->len > DNS_QMAX) { /* not from read_tun, which hands over only packets under 2 KiB */
        dns_query(v, f, q->msg, q->len);
        return;
    }
    b->flow[b->n] = f;
    b->client[b->n] = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = q->src,
                                           .sin_port = htons(q->sport)};
    b->len[b->n] = q->len;
    memcpy(b->q[b->n], q->msg, q->len);
    if (++b->n == MTD_DNSFILTER_BATCH)
        mtd_uflow_dns_flush(v);
}

void mtd_uflow_dns_flush(mtd_vpn *v)
{
    vpn_dns_batch *b = &v->dns_batch;
    if (!b->n)
        return;
    const uint8_t *q[MTD_DNSFILTER_BATCH];
    uint8_t *a[MTD_DNSFILTER_BATCH];
    size_t alen[MTD_DNSFILTER_BATCH];
    int r[MTD_DNSFILTER_BATCH];
    for (int i = 0; i < b->n; i++)
        q[i] = b->q[i], a[i] = b->a[i];
    mtd_dnsfilter_query_batch(v->dnsf, b->n, q, b->len, b->client, a, DNS_AMAX, alen, r);
    for (int i = 0; i < b->n; i++)
        if (r[i] == 1)
            dns_answer(v, b->flow[i], a[i], alen[i]);
    b->n = 0;
}

void mtd_uflow_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr, u16_t port)
{
    mtd_vpn *v = arg;
    uint32_t cip = ip4_addr_get_u32(ip_2_ip4(addr)), sip = ip4_addr_get_u32(ip_2_ip4(ip_current_dest_addr()));
    uint16_t sport = pcb->local_port;
    const uint8_t *b = p->payload;
    size_t n = p->tot_len;
    if (p->next) {
        n = pbuf_copy_partial(p, v->obuf, p->tot_len, 0);
        b = v->obuf;
    }
    vpn_flow *f = mtd_vpn__find(v, F_UDP, cip, port, sip, sport);
    if (!f && !(f = start(v, cip, port, sip, sport))) {
        pbuf_free(p);
        return;
    }
    f->packets_out++;
    f->last_ms = mtd_vpn__now_ms();
    if (f->dns) { /* a query lwIP reassembled from fragments; whole ones come by mtd_uflow_dns_in */
        f->bytes_out += n;
        dns_query(v, f, b, n);
    } else if (quic_check(v, f, b, n) || f->fd < 0) {
        v->st.udp_dropped++;
    } else if (send(f->fd, b, n, 0) == (ssize_t)n) {
        f->bytes_out += n;
    }
    pbuf_free(p);
}

void mtd_uflow_event(mtd_vpn *v, vpn_flow *f, uint32_t events)
{
    for (int i = 0; i < 64; i++) {
        ssize_t n = recv(f->fd, v->rbuf, 65507, 0);
        if (n < 0)
            break;
        if (to_client(v, f->cip, f->cport, f->sip, f->sport, v->rbuf, (size_t)n) == 0)
            f->bytes_in += (uint64_t)n;
        f->last_ms = mtd_vpn__now_ms();
    }
}

void mtd_uflow_dns_reply(void *ctx, const struct sockaddr_in *client, const uint8_t *msg, size_t len)
{
    mtd_vpn *v = ctx;
    uint32_t cip = client->sin_addr.s_addr;
    uint16_t cport = ntohs(client->sin_port);
    size_t pl = dns_send(v, cip, cport, msg, len);
    if (!pl)
        return;
    __atomic_add_fetch(&v->dns_pkts_in, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&v->dns_bytes_in, pl, __ATOMIC_RELAXED);
    pthread_mutex_lock(&v->dns_lock);
    int wake = 0;
    if (v->dns_n < DNS_ACCT)
        v->dns_acct[v->dns_cur][v->dns_n++] = (vpn_dns_acct){.cip = cip, .cport = cport,
                                                              .len = (uint16_t)(pl - MTD_VDNS_HDR)};
    else
        v->dns_uncounted++;
    /* the relay counts them after each round of its loop; a quiet relay (asleep up to
     * 250 ms) is woken once its half is full, not per answer */
    if (v->dns_n >= DNS_ACCT / 2 && !v->dns_woke)
        wake = v->dns_woke = 1;
    pthread_mutex_unlock(&v->dns_lock);
    uint64_t one = 1;
    if (wake && write(v->wake, &one, sizeof one) < 0) { /* the loop wakes within 250 ms anyway */
    }
}

void mtd_uflow_dns_drain(mtd_vpn *v)
{
    pthread_mutex_lock(&v->dns_lock);
    const vpn_dns_acct *a = v->dns_acct[v->dns_cur];
    size_t n = v->dns_n;
    v->dns_cur ^= 1;
    v->dns_n = 0;
    v->dns_woke = 0;
    pthread_mutex_unlock(&v->dns_lock);
    int64_t now = n ? mtd_vpn__now_ms() : 0;
    for (size_t i = 0; i < n; i++) {
        vpn_flow *f = mtd_vpn__find(v, F_UDP, a[i].cip, a[i].cport, v->o.dns, 53);
        if (f) { /* else it idled out before the answer came */
            f->bytes_in += a[i].len;
            f->packets_in++;
            f->last_ms = now;
        }
    }
}

void mtd_uflow_tick(mtd_vpn *v, vpn_flow *f, int64_t now)
{
    if (now - f->last_ms >= (f->dns ? DNS_IDLE_MS : UDP_IDLE_MS))
        mtd_vpn__end(v, f);
}
