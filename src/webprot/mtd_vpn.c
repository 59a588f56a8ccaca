/* mtd_vpn: the VPN's packet side: set-up and tear-down, the relay's epoll loop, the
 * lwIP interface over the TUN, and the flow table (see mtd_vpn.h).
 *
 * lwIP is Debian's build (NO_SYS=0, made for the Hurd) used through its raw API from
 * this one thread: lwip_init() without tcpip_init(), so no lwIP thread runs and its
 * timers are driven from the loop. Two things lwIP does not do for a tunnel are done
 * here: it accepts packets only for its interface's own address, so the address is set
 * to each packet's destination just before the packet goes in (a field write, not
 * netif_set_ipaddr(), which would abort the connections of the old address); and it
 * listens on one port per listener, so a listener (TCP) or a bound pcb (UDP) is made
 * for each destination port the first time a flow uses it. */
#include "webprot/mtd_vpn_int.h"
#include "common/mtd_err.h"
#include "common/mtd_log.h"
#include "common/mtd_util.h"
#include "webprot/mtd_dns.h"

#include "lwip/init.h"
#include "lwip/ip.h"
#include "lwip/timeouts.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define IDLE_ADDR PP_HTONL(0x00000001) /* the interface's address between packets */

int64_t mtd_vpn__now_ms(void)
{
    return mtd_monotonic_ns() / 1000000;
}

int64_t mtd_vpn__wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- flows ---- */

static uint32_t bucket(int kind, uint32_t cip, uint16_t cport, uint32_t sip, uint16_t sport)
{
    uint32_t h = cip * 2654435761u ^ sip * 40503u ^ ((uint32_t)cport << 16 | sport) * 2246822519u ^ (uint32_t)kind;
    return (h ^ h >> 15) % VPN_BUCKETS;
}

vpn_flow *mtd_vpn__find(mtd_vpn *v, int kind, uint32_t cip, uint16_t cport, uint32_t sip, uint16_t sport)
{
    for (vpn_flow *f = v->buckets[bucket(kind, cip, cport, sip, sport)]; f; f = f->hnext)
        if (f->kind == kind && f->cip == cip && f->sip == sip && f->cport == cport && f->sport == sport &&
            f->state != S_DEAD)
            return f;
    return NULL;
}

vpn_flow *mtd_vpn__new_flow(mtd_vpn *v, int kind, uint32_t cip, uint16_t cport, uint32_t sip, uint16_t sport)
{
    vpn_flow *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->ep_type = EP_FLOW;
    f->kind = kind;
    f->cip = cip, f->cport = cport, f->sip = sip, f->sport = sport;
    f->fd = -1;
    f->start_ms = f->last_ms = mtd_vpn__now_ms();
    f->wall_start_ms = mtd_vpn__wall_ms();
    f->proto = kind == F_TCP ? MTD_PROTO_TCP : MTD_PROTO_UDP;
    uint32_t b = bucket(kind, cip, cport, sip, sport);
    f->hnext = v->buckets[b];
    v->buckets[b] = f;
    f->next = v->all;
    if (v->all)
        v->all->prev = f;
    v->all = f;
    if (kind == F_TCP) {
        v->st.tcp_flows++;
        v->st.active_tcp++;
    } else {
        v->st.udp_flows++;
        v->st.active_udp++;
    }
    return f;
}

static void unlink_flow(mtd_vpn *v, vpn_flow *f)
{
    vpn_flow **pp = &v->buckets[bucket(f->kind, f->cip, f->cport, f->sip, f->sport)];
    while (*pp && *pp != f)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = f->hnext;
    if (f->prev)
        f->prev->next = f->next;
    else
        v->all = f->next;
    if (f->next)
        f->next->prev = f->prev;
}

static void record(mtd_vpn *v, vpn_flow *f)
{
    if (!v->o.connrec || (f->packets_out == 0 && f->packets_in == 0))
        return;
    mtd_conn c = {.ip = f->sip, .port = f->sport, .proto = f->proto, .name = f->name[0] ? f->name : NULL,
                  .threat = f->threat, .bytes_out = f->bytes_out, .bytes_in = f->bytes_in,
                  .packets_out = f->packets_out, .packets_in = f->packets_in, .first_ms = f->wall_start_ms,
                  .last_ms = f->wall_start_ms + (f->last_ms - f->start_ms)};
    mtd_connrec_add(v->o.connrec, &c);
}

void mtd_vpn__end(mtd_vpn *v, vpn_flow *f)
{
    if (f->state == S_DEAD)
        return;
    record(v, f);
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    if (f->syn)
        pbuf_free(f->syn);
    f->syn = NULL;
    f->state = S_DEAD;
    unlink_flow(v, f);
    f->dnext = v->dead;
    v->dead = f;
    if (f->kind == F_TCP)
        v->st.active_tcp--;
    else
        v->st.active_udp--;
}

static void bury(mtd_vpn *v)
{
    while (v->dead) {
        vpn_flow *f = v->dead;
        v->dead = f->dnext;
        free(f->up);
        free(f->quic);
        free(f);
    }
}

int mtd_vpn__watch(mtd_vpn *v, vpn_flow *f, uint32_t events)
{
    if (f->fd < 0 || f->ep_events == events)
        return 0;
    struct epoll_event ev = {.events = events, .data.ptr = f};
    int r = epoll_ctl(v->ep, EPOLL_CTL_MOD, f->fd, &ev);
    if (r != 0 && errno == ENOENT)
        r = epoll_ctl(v->ep, EPOLL_CTL_ADD, f->fd, &ev);
    if (r == 0)
        f->ep_events = events;
    return r;
}

int mtd_vpn__socket(mtd_vpn *v, int type, const struct sockaddr_in *to)
{
    int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int mark = MTD_TUN_MARK, one = 1;
    if (to->sin_addr.s_addr != htonl(INADDR_LOOPBACK))
        setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark);
    if (type == SOCK_STREAM)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (const struct sockaddr *)to, sizeof *to) != 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

int mtd_vpn__verdict(mtd_vpn *v, const char *name, const char *url, mtd_rep_result *res)
{
    const char *why;
    pthread_rwlock_rdlock(&v->rep_lock);
    int r = url ? mtd_rep_check_url(v->rep, url, strlen(url), res, &why)
                : mtd_rep_check_host(v->rep, name, strlen(name), res, &why);
    pthread_rwlock_unlock(&v->rep_lock);
    return r == 0 && res->block;
}

void mtd_vpn__report_block(mtd_vpn *v, vpn_flow *f, const char *url, const mtd_rep_result *res, const char *how)
{
    f->threat = 1;
    if (v->o.events)
        mtd_webevents_flow_block(v->o.events, url, res, how);
    char a[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &f->sip, a, sizeof a);
    mtd_log(MTD_LOG_INFO, "vpn", "blocked %s:%u by %s (%s)", a, f->sport, how, res->host);
}

/* ---- lwIP's interface over the TUN ---- */

void mtd_vpn__lwip_input(mtd_vpn *v, struct pbuf *p, uint32_t dst)
{
    ip4_addr_set_u32(ip_2_ip4(&v->netif.ip_addr), dst);
    if (v->netif.input(p, &v->netif) != ERR_OK)
        pbuf_free(p);
    ip4_addr_set_u32(ip_2_ip4(&v->netif.ip_addr), IDLE_ADDR);
}

/* Counts a packet against its flow: out is device -> network. */
static void account(mtd_vpn *v, const uint8_t *b, size_t len, int out)
{
    if (len < 20 || (b[0] >> 4) != 4)
        return;
    size_t ihl = (size_t)(b[0] & 15) * 4;
    int proto = b[9];
    if ((proto != 6 && proto != 17) || len < ihl + 4)
        return;
    uint32_t src, dst;
    memcpy(&src, b + 12, 4);
    memcpy(&dst, b + 16, 4);
    uint16_t sp = (uint16_t)(b[ihl] << 8 | b[ihl + 1]), dp = (uint16_t)(b[ihl + 2] << 8 | b[ihl + 3]);
    vpn_flow *f = out ? mtd_vpn__find(v, proto == 6 ? F_TCP : F_UDP, src, sp, dst, dp)
                      : mtd_vpn__find(v, proto == 6 ? F_TCP : F_UDP, dst, dp, src, sp);
    if (!f)
        return;
    if (out)
        f->packets_out++;
    else
        f->packets_in++;
    f->last_ms = mtd_vpn__now_ms();
}

/* Sets byte k of a TCP segment t, its checksum (t[16..17]) adjusted by the 16-bit word
 * the byte sits in (RFC 1624). */
static void set_byte(uint8_t *t, size_t k, uint8_t val)
{
    size_t w = k & ~(size_t)1;
    uint16_t old = (uint16_t)(t[w] << 8 | t[w + 1]);
    t[k] = val;
    uint32_t sum = (uint16_t)~(t[16] << 8 | t[17]);
    sum += (uint16_t)~old;
    sum += (uint16_t)(t[w] << 8 | t[w + 1]);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (uint16_t)~sum;
    t[16] = (uint8_t)(sum >> 8), t[17] = (uint8_t)sum;
}

/* lwIP's SYN-ACKs carry the options it was built with, whatever the interface: its
 * TCP_MSS (1460) and window scale 1 (TCP_RCV_SCALE). The tunnel's MTU is the TUN's (64
 * KiB by default: no wire is under it), so the MSS option is raised to MTU - 40, and the
 * scale to VPN_WND_SHIFT, which mtd_flow__attach gives the pcb when lwIP accepts: the
 * client then sends segments of up to 64 KiB into a 1 MiB window. Checksum adjusted. */
static void fix_synack(mtd_vpn *v, uint8_t *b, size_t len)
{
    size_t ihl = (size_t)(b[0] & 15) * 4;
    if (len < ihl + 20 || b[9] != 6 || (b[ihl + 13] & 0x12) != 0x12)
        return;
    size_t thl = (size_t)(b[ihl + 12] >> 4) * 4;
    uint8_t *t = b + ihl;
    if (ihl + thl > len)
        return;
    for (size_t i = 20; i + 1 < thl;) {
        if (t[i] == 0)
            break;
        if (t[i] == 1) {
            i++;
            continue;
        }
        if (t[i + 1] < 2 || i + t[i + 1] > thl)
            break;
        if (t[i] == 2 && t[i + 1] == 4) {
            uint16_t old = (uint16_t)(t[i + 2] << 8 | t[i + 3]), mss = (uint16_t)(v->tun.mtu - 40);
            if (mss > old) {
                set_byte(t, i + 2, (uint8_t)(mss >> 8));
                set_byte(t, i + 3, (uint8_t)mss);
            }
        } else if (t[i] == 3 && t[i + 1] == 3 && t[i + 2] == TCP_RCV_SCALE) {
            set_byte(t, i + 2, VPN_WND_SHIFT);
        }
        i += t[i + 1];
    }
}

static err_t tun_output(struct netif *n, struct pbuf *p, const ip4_addr_t *dst)
{
    mtd_vpn *v = n->state;
    uint8_t *b = p->payload;
    size_t len = p->tot_len;
    if (p->next) {
        len = pbuf_copy_partial(p, v->obuf, (u16_t)p->tot_len, 0);
        b = v->obuf;
    }
    if (len >= 40 && b[9] == 6)
        fix_synack(v, b, len);
    account(v, b, len, 0);
    if (write(v->tun.fd, b, len) == (ssize_t)len) {
        v->st.packets_in++;
        v->st.bytes_in += len;
    }
    return ERR_OK; /* a full TUN queue loses the packet: TCP sends it again */
}

static err_t netif_setup(struct netif *n)
{
    mtd_vpn *v = n->state;
    n->name[0] = 'm', n->name[1] = 't';
    n->output = tun_output;
    n->mtu = (u16_t)v->tun.mtu;
    return ERR_OK;
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err);

/* The listener or the bound pcb of a destination port, made on first use. */
static int port_open(mtd_vpn *v, int tcp, uint16_t port)
{
    if (tcp) {
        if (v->listeners[port])
            return 0;
        struct tcp_pcb *p = tcp_new_ip_type(IPADDR_TYPE_ANY);
        if (!p || tcp_bind(p, IP_ANY_TYPE, port) != ERR_OK) {
            if (p)
                tcp_close(p);
            return -1;
        }
        struct tcp_pcb *l = tcp_listen_with_backlog(p, 255);
        if (!l) {
            tcp_close(p);
            return -1;
        }
        tcp_arg(l, v);
        tcp_accept(l, on_accept);
        v->listeners[port] = l;
        return 0;
    }
    if (v->udp_pcbs[port])
        return 0;
    struct udp_pcb *u = udp_new_ip_type(IPADDR_TYPE_ANY);
    if (!u || udp_bind(u, IP_ANY_TYPE, port) != ERR_OK) {
        if (u)
            udp_remove(u);
        return -1;
    }
    udp_recv(u, mtd_uflow_recv, v);
    v->udp_pcbs[port] = u;
    return 0;
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    mtd_vpn *v = arg;
    if (err != ERR_OK || !pcb)
        return ERR_VAL;
    vpn_flow *f = mtd_vpn__find(v, F_TCP, ip4_addr_get_u32(ip_2_ip4(&pcb->remote_ip)), pcb->remote_port,
                                ip4_addr_get_u32(ip_2_ip4(&pcb->local_ip)), pcb->local_port);
    if (!f || f->state != S_ACCEPTING) {
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    f->pcb = pcb;
    f->state = S_INSPECT;
    tcp_arg(pcb, f);
    mtd_flow__attach(v, f);
    return f->aborted ? ERR_ABRT : ERR_OK;
}

/* One packet read from the TUN: what kind, and whether lwIP should see it. */
static void packet_in(mtd_vpn *v, struct pbuf *p)
{
    const uint8_t *b = p->payload;
    size_t len = p->len;
    v->st.packets_out++;
    v->st.bytes_out += len;
    if (len < 20 || (b[0] >> 4) != 4) {
        v->st.dropped_ipv6 += len >= 1 && (b[0] >> 4) == 6;
        v->st.dropped_other += !(len >= 1 && (b[0] >> 4) == 6);
        pbuf_free(p);
        return;
    }
    size_t ihl = (size_t)(b[0] & 15) * 4;
    int proto = b[9], first_frag = (b[6] & 0x1f) == 0 && b[7] == 0;
    uint32_t src, dst;
    memcpy(&src, b + 12, 4);
    memcpy(&dst, b + 16, 4);
    if (proto == 1 || (proto != 6 && proto != 17)) {
        if (proto == 1)
            v->st.dropped_icmp++;
        else
            v->st.dropped_other++;
        pbuf_free(p);
        return;
    }
    if (!first_frag || len < ihl + 20) { /* later fragments: lwIP reassembles them */
        mtd_vpn__lwip_input(v, p, dst);
        return;
    }
    uint16_t sp = (uint16_t)(b[ihl] << 8 | b[ihl + 1]), dp = (uint16_t)(b[ihl + 2] << 8 | b[ihl + 3]);
    if (proto == 17) {
        if (port_open(v, 0, dp) != 0) {
            pbuf_free(p);
            return;
        }
        mtd_vpn__lwip_input(v, p, dst); /* mtd_uflow_recv finds or makes the flow */
        return;
    }
    uint8_t flags = b[ihl + 13];
    vpn_flow *f = mtd_vpn__find(v, F_TCP, src, sp, dst, dp);
    if (!f && (flags & 0x12) == 0x02) { /* a SYN without ACK: a new connection */
        uint32_t seq = (uint32_t)b[ihl + 4] << 24 | (uint32_t)b[ihl + 5] << 16 | (uint32_t)b[ihl + 6] << 8 | b[ihl + 7];
        if (port_open(v, 1, dp) != 0) {
            pbuf_free(p);
            return;
        }
        mtd_flow_syn(v, p, src, dst, sp, dp, seq);
        return;
    }
    if (f && f->state == S_CONNECTING) { /* the SYN again, while we still connect */
        pbuf_free(p);
        return;
    }
    if (f) {
        f->packets_out++;
        f->last_ms = mtd_vpn__now_ms();
    }
    mtd_vpn__lwip_input(v, p, dst);
}

/* A whole UDP query to the tunnel's DNS address goes to the filter without lwIP (see
 * mtd_vdns.h): 1 when the packet was that (answered, forwarded or dropped). */
static int dns_in(mtd_vpn *v, const uint8_t *b, size_t len)
{
    mtd_vdns_query q;
    int r = mtd_vdns_parse(b, len, v->o.dns, &q);
    if (r == 0)
        return 0;
    v->st.packets_out++;
    v->st.bytes_out += len;
    if (r < 0)
        v->st.dropped_other++;
    else
        mtd_uflow_dns_in(v, &q);
    return 1;
}

/* Packets are read into an MTU-sized pbuf: a large one (a client's bulk segment) goes
 * into lwIP as it is, with no copy; a small one (an ACK, a SYN, a datagram) is copied
 * into a pbuf of its own size, since lwIP may hold it (a held SYN, reassembly) and the
 * MTU-sized one would be held with it. */
#define COPY_BELOW 2048

static void read_tun(mtd_vpn *v)
{
    for (int i = 0; i < 256; i++) {
        if (!v->spare && !(v->spare = pbuf_alloc(PBUF_RAW, (u16_t)v->tun.mtu, PBUF_RAM)))
            break;
        ssize_t n = read(v->tun.fd, v->spare->payload, (size_t)v->tun.mtu);
        if (n <= 0)
            break;
        if (n < COPY_BELOW && dns_in(v, v->spare->payload, (size_t)n))
            continue;
        struct pbuf *p;
        if (n >= COPY_BELOW) {
            p = v->spare;
            v->spare = NULL;
            pbuf_realloc(p, (u16_t)n);
        } else if ((p = pbuf_alloc(PBUF_RAW, (u16_t)n, PBUF_RAM)) != NULL) {
            memcpy(p->payload, v->spare->payload, (size_t)n);
        } else {
            break;
        }
        packet_in(v, p);
    }
    mtd_uflow_dns_flush(v); /* the burst's DNS queries, decided together */
}

/* ---- the loop ---- */

static void tick(mtd_vpn *v, int64_t now)
{
    for (vpn_flow *f = v->all, *next; f; f = next) {
        next = f->next;
        if (f->kind == F_TCP)
            mtd_flow_tick(v, f, now);
        else
            mtd_uflow_tick(v, f, now);
    }
    if (v->o.connrec)
        mtd_connrec_flush(v->o.connrec, mtd_vpn__wall_ms(), 0);
    /* a bulk flow leaves malloc's free lists holding its buffers' memory: give it back
     * once the tunnel is idle, so the agent's resident size falls back with it */
    if (!v->all && v->busy_since_trim) {
        malloc_trim(0);
        v->busy_since_trim = 0;
    }
    v->busy_since_trim |= v->all != NULL;
}

static void *loop(void *arg)
{
    mtd_vpn *v = arg;
    struct epoll_event evs[128];
    int64_t last_tick = mtd_vpn__now_ms();
    while (!v->stop) {
        u32_t sleep = sys_timeouts_sleeptime();
        int tmo = sleep == SYS_TIMEOUTS_SLEEPTIME_INFINITE || sleep > 250 ? 250 : (int)sleep;
        int n = epoll_wait(v->ep, evs, 128, tmo);
        for (int i = 0; i < n; i++) {
            ep_tag *t = evs[i].data.ptr;
            if (t->ep_type == EP_TUN)
                read_tun(v);
            else if (t->ep_type == EP_WAKE) {
                uint64_t x;
                if (read(v->wake, &x, sizeof x) < 0) { /* only a wake-up */
                }
            } else {
                vpn_flow *f = (vpn_flow *)t;
                if (f->state == S_DEAD)
                    continue;
                if (f->kind == F_TCP)
                    mtd_flow_event(v, f, evs[i].events);
                else
                    mtd_uflow_event(v, f, evs[i].events);
            }
        }
        mtd_uflow_dns_drain(v);
        sys_check_timeouts();
        int64_t now = mtd_vpn__now_ms();
        if (now - last_tick >= 500) {
            tick(v, now);
            last_tick = now;
        }
        bury(v);
    }
    /* stop: every flow reset and recorded */
    while (v->all) {
        vpn_flow *f = v->all;
        if (f->kind == F_TCP)
            mtd_flow_abort(v, f);
        else
            mtd_vpn__end(v, f);
    }
    bury(v);
    return NULL;
}

/* ---- set-up ---- */

/* The DNS filter on a loopback port of its own: a port the kernel picks, retried if
 * another socket takes it between the probe and the filter's bind. */
static int start_dns(mtd_vpn *v, char *why, size_t wl)
{
    mtd_dnsfilter_opts o = {.upstream = v->o.upstream, .null_ip = v->o.null_ip, .events = v->o.events,
                            .mark = MTD_TUN_MARK, .reply = mtd_uflow_dns_reply, .reply_ctx = v};
    for (int attempt = 0; attempt < 8; attempt++) {
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t al = sizeof a;
        if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(s, (struct sockaddr *)&a, &al) != 0) {
            if (s >= 0)
                close(s);
            snprintf(why, wl, "cannot find a loopback port for the DNS filter: %s", strerror(errno));
            return MTD_EIO;
        }
        close(s);
        char listen[32];
        snprintf(listen, sizeof listen, "127.0.0.1:%u", ntohs(a.sin_port));
        o.listen = listen;
        if (mtd_dnsfilter_start(&o, v->rep, &v->dnsf, why, wl) == 0) {
            v->dns_tcp = a;
            return 0;
        }
        if (strstr(why, "--upstream"))
            return MTD_EINVAL;
    }
    return MTD_EIO;
}

static int setup(mtd_vpn *v, char *why, size_t wl)
{
    int r, removed = mtd_tun_cleanup();
    if (removed)
        mtd_log(MTD_LOG_INFO, "vpn", "removed %d rules and routes an earlier run left", removed);
    if ((r = start_dns(v, why, wl)) != 0)
        return r;
    if ((r = mtd_tun_open(v->o.tun, &v->o.address, v->o.mtu ? v->o.mtu : MTD_VPN_MTU, &v->tun, why, wl)) != 0)
        return r;
    mtd_cidr4 dns = {v->o.dns, 32}, all = {0, 0};
    const mtd_cidr4 *routes = v->o.dns_only ? &dns : v->o.nroutes ? v->o.routes : &all;
    int n = v->o.dns_only || !v->o.nroutes ? 1 : v->o.nroutes;
    if ((r = mtd_tun_route(&v->tun, routes, n, why, wl)) != 0)
        return r;
    if (!v->o.dns_only && v->o.nroutes && (r = mtd_tun_route(&v->tun, &dns, 1, why, wl)) != 0)
        return r;
    v->routed = 1;
    v->rbuf = malloc(65536);
    v->obuf = malloc(65536);
    v->ep = epoll_create1(EPOLL_CLOEXEC);
    v->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!v->rbuf || !v->obuf || v->ep < 0 || v->wake < 0) {
        snprintf(why, wl, "cannot set up the relay: %s", strerror(errno));
        return MTD_ENOMEM;
    }
    v->tun_tag.ep_type = EP_TUN;
    v->wake_tag.ep_type = EP_WAKE;
    struct epoll_event e1 = {.events = EPOLLIN, .data.ptr = &v->tun_tag};
    struct epoll_event e2 = {.events = EPOLLIN, .data.ptr = &v->wake_tag};
    epoll_ctl(v->ep, EPOLL_CTL_ADD, v->tun.fd, &e1);
    epoll_ctl(v->ep, EPOLL_CTL_ADD, v->wake, &e2);
    static int lwip_ready; /* lwIP keeps global state: once per process */
    if (!lwip_ready++)
        lwip_init();
    ip4_addr_t a, m, g;
    ip4_addr_set_u32(&a, IDLE_ADDR);
    ip4_addr_set_zero(&m);
    ip4_addr_set_zero(&g);
    if (!netif_add(&v->netif, &a, &m, &g, v, netif_setup, ip_input)) {
        snprintf(why, wl, "cannot add lwIP's interface");
        return MTD_ENOMEM;
    }
    netif_set_default(&v->netif);
    netif_set_up(&v->netif);
    netif_set_link_up(&v->netif);
    if (pthread_create(&v->thread, NULL, loop, v) != 0) {
        snprintf(why, wl, "cannot start the relay's thread");
        return MTD_ENOMEM;
    }
    pthread_setname_np(v->thread, "vpn-relay"); /* as top -H and /proc show it */
    v->started = 1;
    return 0;
}

int mtd_vpn_start(const mtd_vpn_opts *o, const mtd_rep *rep, mtd_vpn **out, char *why, size_t wl)
{
    mtd_vpn *v = calloc(1, sizeof *v);
    if (!v)
        return MTD_ENOMEM;
    v->o = *o;
    v->rep = rep;
    v->tun.fd = v->ep = v->wake = -1;
    pthread_rwlock_init(&v->rep_lock, NULL);
    pthread_mutex_init(&v->dns_lock, NULL);
    int r = setup(v, why, wl);
    if (r != 0) {
        mtd_vpn_stop(v);
        return r;
    }
    *out = v;
    return 0;
}

const mtd_rep *mtd_vpn_set_rep(mtd_vpn *v, const mtd_rep *rep)
{
    mtd_dnsfilter_set_rep(v->dnsf, rep);
    pthread_rwlock_wrlock(&v->rep_lock);
    const mtd_rep *old = v->rep;
    v->rep = rep;
    pthread_rwlock_unlock(&v->rep_lock);
    return old;
}

void mtd_vpn_stats_get(mtd_vpn *v, mtd_vpn_stats *s)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    *s = v->st;
    s->packets_in += __atomic_load_n(&v->dns_pkts_in, __ATOMIC_RELAXED);
    s->bytes_in += __atomic_load_n(&v->dns_bytes_in, __ATOMIC_RELAXED);
    if (v->dnsf) {
        mtd_dnsfilter_stats d;
        mtd_dnsfilter_stats_get(v->dnsf, &d);
        s->dns_queries = d.queries;
    }
}

void mtd_vpn_stop(mtd_vpn *v)
{
    if (!v)
        return;
    v->stop = 1;
    if (v->started) {
        uint64_t one = 1;
        if (write(v->wake, &one, sizeof one) < 0) { /* the loop wakes within 250 ms anyway */
        }
        pthread_join(v->thread, NULL);
        netif_remove(&v->netif);
        for (int i = 0; i < 65536; i++) {
            if (v->listeners[i])
                tcp_close(v->listeners[i]);
            if (v->udp_pcbs[i])
                udp_remove(v->udp_pcbs[i]);
        }
    }
    if (v->routed)
        mtd_tun_cleanup();
    mtd_dnsfilter_stop(v->dnsf); /* before the TUN closes: its upstream thread writes there */
    mtd_tun_close(&v->tun);
    if (v->dns_uncounted)
        mtd_log(MTD_LOG_WARN, "vpn", "%llu DNS answers were sent but left out of the connection records",
                (unsigned long long)v->dns_uncounted);
    pthread_mutex_destroy(&v->dns_lock);
    if (v->o.connrec)
        mtd_connrec_flush(v->o.connrec, mtd_vpn__wall_ms(), 1);
    if (v->ep >= 0)
        close(v->ep);
    if (v->wake >= 0)
        close(v->wake);
    free(v->rbuf);
    free(v->obuf);
    if (v->spare)
        pbuf_free(v->spare);
    pthread_rwlock_destroy(&v->rep_lock);
    free(v);
}

/* ---- lwIP's checksum, faster ---- */

/* lwIP checks the checksum of every segment it receives and computes it for every one
 * it sends (Debian's build: CHECKSUM_CHECK_TCP, CHECKSUM_GEN_TCP), with a loop that adds
 * one 16-bit word at a time: 18% of the relay thread's time in a bulk flow (perf, both
 * directions), the largest share of any function of ours or lwIP's. lwIP calls it
 * through its PLT, so this definition, exported by the executable
 * (--export-dynamic-symbol in CMakeLists.txt), takes its place: the same sum, 64 bits
 * at a time into two 128-bit totals (add with carry, two chains). The result is the
 * library's to the bit (test_vpn_chksum compares them), since the one's complement sum
 * of the bytes as native 16-bit words from the start of the data is what both return,
 * folded the same way (2^32 is 1 modulo 0xffff). */
u16_t lwip_standard_chksum(const void *dataptr, int len)
{
    const uint8_t *p = dataptr;
    unsigned __int128 a = 0, b = 0; /* two sums, so that their carries do not wait */
    for (; len >= 16; p += 16, len -= 16) {
        uint64_t x, y;
        memcpy(&x, p, 8);
        memcpy(&y, p + 8, 8);
        a += x;
        b += y;
    }
    uint64_t rest = 0;
    if (len >= 8) {
        uint32_t x, y;
        memcpy(&x, p, 4);
        memcpy(&y, p + 4, 4);
        rest += (uint64_t)x + y;
        p += 8;
        len -= 8;
    }
    if (len >= 4) {
        uint32_t x;
        memcpy(&x, p, 4);
        rest += x;
        p += 4;
        len -= 4;
    }
    if (len >= 2) {
        uint16_t x;
        memcpy(&x, p, 2);
        rest += x;
        p += 2;
        len -= 2;
    }
    if (len > 0) {
        uint16_t t = 0;
        memcpy(&t, p, 1); /* the last byte in the first byte of a word, as lwIP does */
        rest += t;
    }
    /* fold to 16 bits, each carry added back (2^64, 2^32 and 2^16 are 1 modulo 0xffff) */
    a += b;
    a += rest;
    uint64_t lo = (uint64_t)a, sum = lo + (uint64_t)(a >> 64);
    sum += sum < lo;
    sum = (sum >> 32) + (sum & 0xffffffffu);
    sum = (sum >> 32) + (sum & 0xffffffffu);
    sum = (sum >> 16) + (sum & 0xffff);
    sum = (sum >> 16) + (sum & 0xffff);
    sum = (sum >> 16) + (sum & 0xffff);
    return (u16_t)sum;
}
