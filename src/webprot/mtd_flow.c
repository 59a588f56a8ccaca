/* mtd_flow: one TCP flow of the VPN, from the client's SYN to the last byte.
 *
 *   SYN from the TUN    -> the destination address checked; a socket to the server
 *                          (S_CONNECTING, the SYN held: the client sees nothing yet)
 *   connected           -> the SYN goes into lwIP, which answers it (S_ACCEPTING)
 *   refused, unreachable-> a reset to the client, as the server would have sent
 *   lwIP accepts        -> the client's first bytes are held (S_INSPECT) until they
 *                          name the server (TLS server_name, HTTP Host) or cannot, or
 *                          INSPECT_MS passes; server bytes flow meanwhile (a server
 *                          may speak first)
 *   allowed             -> held bytes written, then relayed both ways (S_RELAY)
 *   blocked             -> a reset to the client and to the server
 *
 * Back-pressure both ways: client bytes are acknowledged to lwIP (which reopens the
 * client's window) once written to the socket, so the bytes the flow holds are at most
 * the window; the socket is read only as far as lwIP's send buffer has room. Client
 * bytes go from lwIP's pbuf to the socket directly while nothing is held before them. */
#include "webprot/mtd_vpn_int.h"
#include "common/mtd_log.h"
#include "webprot/mtd_sni.h"

#include "lwip/priv/tcp_priv.h" /* tcp_rst: a reset to a client whose SYN is held */

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

mtd_vpn *mtd_flow__vpn; /* the one relay thread's VPN, for lwIP's callbacks */

static void detach(vpn_flow *f)
{
    if (!f->pcb)
        return;
    tcp_arg(f->pcb, NULL);
    tcp_recv(f->pcb, NULL);
    tcp_sent(f->pcb, NULL);
    tcp_err(f->pcb, NULL);
}

/* The server's side reset (SO_LINGER 0 makes close send RST). */
static void reset_server(vpn_flow *f)
{
    struct linger l = {1, 0};
    if (f->fd >= 0)
        setsockopt(f->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

void mtd_flow_abort(mtd_vpn *v, vpn_flow *f)
{
    if (f->pcb) {
        struct tcp_pcb *p = f->pcb;
        detach(f);
        f->pcb = NULL;
        f->aborted = 1;
        tcp_abort(p);
    }
    reset_server(f);
    mtd_vpn__end(v, f);
}

/* A reset to a client whose SYN is still held. */
static void refuse(mtd_vpn *v, vpn_flow *f)
{
    ip_addr_t local = IPADDR4_INIT(f->sip), remote = IPADDR4_INIT(f->cip);
    tcp_rst(NULL, 0, f->syn_seq + 1, &local, &remote, f->sport, f->cport);
    v->st.refused++;
    mtd_vpn__end(v, f);
}

static void close_both(mtd_vpn *v, vpn_flow *f)
{
    if (f->pcb) {
        detach(f);
        if (tcp_close(f->pcb) != ERR_OK) {
            f->aborted = 1;
            tcp_abort(f->pcb);
        }
        f->pcb = NULL;
    }
    mtd_vpn__end(v, f);
}

static void maybe_done(mtd_vpn *v, vpn_flow *f)
{
    if (f->client_eof && f->server_eof && f->up_start == f->up_end)
        close_both(v, f);
}

static uint32_t want_events(vpn_flow *f)
{
    uint32_t e = 0;
    if (f->up_end > f->up_start && f->decided)
        e |= EPOLLOUT;
    if (!f->server_eof && f->pcb && f->pcb->snd_buf >= TCP_MSS &&
        tcp_sndqueuelen(f->pcb) + 4 < TCP_SND_QUEUELEN)
        e |= EPOLLIN;
    return e;
}

/* The client's window reopened by n bytes written to the server: tcp_recved, less its
 * cap at lwIP's compiled TCP_WND for a pcb with the wider window. */
static void recved(vpn_flow *f, size_t n)
{
    struct tcp_pcb *pcb = f->pcb;
    if (!pcb || !n)
        return;
    if (!f->wide) {
        while (n) {
            u16_t k = n > 0xffff ? 0xffff : (u16_t)n;
            tcp_recved(pcb, k);
            n -= k;
        }
        return;
    }
    pcb->rcv_wnd = pcb->rcv_wnd + n > VPN_WND ? VPN_WND : (tcpwnd_size_t)(pcb->rcv_wnd + n);
    if (tcp_update_rcv_ann_wnd(pcb) >= VPN_WND / 8) { /* else the next ACK tells the client */
        tcp_ack_now(pcb);
        tcp_output(pcb);
    }
}

/* Sends client bytes to the server; what it took, or -1 when the socket failed. */
static ssize_t send_up(vpn_flow *f, const struct iovec *iov, int n)
{
    struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n};
    ssize_t k = sendmsg(f->fd, &m, MSG_NOSIGNAL);
    if (k < 0)
        return errno == EAGAIN || errno == EINTR ? 0 : -1;
    f->bytes_out += (uint64_t)k;
    recved(f, (size_t)k);
    return k;
}

/* Writes what the client sent and was not written yet. -1 when the socket failed. */
static int flush_up(mtd_vpn *v, vpn_flow *f)
{
    while (f->up_end > f->up_start) {
        struct iovec iov = {f->up + f->up_start, f->up_end - f->up_start};
        ssize_t n = send_up(f, &iov, 1);
        if (n <= 0)
            return (int)n;
        f->up_start += (size_t)n;
    }
    f->up_start = f->up_end = 0;
    if (f->client_eof && !f->up_shut) {
        shutdown(f->fd, SHUT_WR);
        f->up_shut = 1;
    }
    return 0;
}

/* ---- inspection ---- */

/* The URL of an HTTP request line: "http://" host path, for URL entries of a feed. */
static void http_url(const vpn_flow *f, char *url, size_t cap)
{
    const char *b = (const char *)f->up, *sp = b ? memchr(b, ' ', f->up_end) : NULL;
    const char *path = sp ? sp + 1 : NULL;
    const char *end = path ? memchr(path, ' ', f->up_end - (size_t)(path - b)) : NULL;
    if (!end || path[0] != '/')
        snprintf(url, cap, "http://%s/", f->name);
    else
        snprintf(url, cap, "http://%s%.*s", f->name, (int)(end - path), path);
}

/* Decides a flow on the bytes held: 1 decided (allowed or blocked, flow maybe gone),
 * 0 wait for more. */
static int inspect(mtd_vpn *v, vpn_flow *f, int final)
{
    static const uint8_t none[1];
    const uint8_t *b = f->up ? f->up : none;
    size_t n = f->up_end;
    int kind = mtd_sni_sniff(b, n);
    mtd_sni_result r = MTD_SNI_INVALID;
    char name[MTD_SNI_NAME_MAX + 1] = "";
    if (kind == 1 || (kind == 0 && n < 5 && n && b[0] == 22))
        r = mtd_sni_tls(b, n, name);
    else
        r = mtd_sni_http(b, n, name);
    if (r == MTD_SNI_MORE && !final && n < INSPECT_MAX)
        return 0;
    f->decided = 1;
    if (kind == 1)
        f->proto = f->sport == 443 ? MTD_PROTO_HTTPS : MTD_PROTO_TLS;
    else if (kind == 2)
        f->proto = MTD_PROTO_HTTP;
    if (r != MTD_SNI_FOUND) {
        f->state = S_RELAY;
        return 1;
    }
    snprintf(f->name, sizeof f->name, "%s", name);
    mtd_rep_result res;
    char url[2300];
    if (kind == 2)
        http_url(f, url, sizeof url);
    else
        snprintf(url, sizeof url, "https://%s/", name);
    if (mtd_vpn__verdict(v, name, kind == 2 ? url : NULL, &res)) {
        mtd_vpn__report_block(v, f, url, &res, kind == 2 ? "HTTP Host" : "TLS server_name");
        v->st.tcp_reset++;
        mtd_flow_abort(v, f);
        return 1;
    }
    if (kind == 1 && v->o.netcheck && mtd_netcheck_wants(v->o.netcheck, name))
        mtd_netcheck_probe(v->o.netcheck, name, f->sip, f->sport);
    f->state = S_RELAY;
    return 1;
}

/* ---- lwIP callbacks ---- */

/* Writes a pbuf chain of client bytes to the server as it is, with nothing held before
 * it: what the socket took, or -1. */
static ssize_t send_pbuf(vpn_flow *f, struct pbuf *p)
{
    struct iovec iov[16];
    int n = 0;
    for (struct pbuf *q = p; q && n < 16; q = q->next)
        if (q->len)
            iov[n++] = (struct iovec){q->payload, q->len};
    return send_up(f, iov, n);
}

/* Keeps the bytes of p from off on that the socket did not take, growing the buffer as
 * needed. -1 beyond UP_CAP (more than the window lwIP advertised) or out of memory. */
static int hold(vpn_flow *f, struct pbuf *p, size_t off)
{
    size_t n = p->tot_len - off, have = f->up_end - f->up_start;
    if (!n)
        return 0;
    if (f->up_end + n > f->up_cap && f->up_start) { /* room at the front */
        memmove(f->up, f->up + f->up_start, have);
        f->up_end = have;
        f->up_start = 0;
    }
    if (f->up_end + n > f->up_cap) {
        size_t cap = f->up_cap ? f->up_cap : UP_FIRST;
        while (cap < f->up_end + n)
            cap *= 2;
        if (cap > UP_CAP)
            return -1;
        uint8_t *b = realloc(f->up, cap);
        if (!b)
            return -1;
        f->up = b;
        f->up_cap = cap;
    }
    pbuf_copy_partial(p, f->up + f->up_end, (u16_t)n, (u16_t)off);
    f->up_end += n;
    return 0;
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    vpn_flow *f = arg;
    mtd_vpn *v = mtd_flow__vpn;
    if (!f) {
        if (p)
            pbuf_free(p);
        return ERR_OK;
    }
    if (!p) {
        f->client_eof = 1;
        if (!f->decided && inspect(v, f, 1) && f->state == S_DEAD)
            return f->aborted ? ERR_ABRT : ERR_OK;
    } else {
        ssize_t sent = 0;
        if (f->decided && f->up_end == f->up_start)
            sent = send_pbuf(f, p);
        if (sent < 0 || hold(f, p, (size_t)sent) != 0) {
            pbuf_free(p);
            mtd_flow_abort(v, f);
            return ERR_ABRT;
        }
        pbuf_free(p);
        if (!f->decided && inspect(v, f, 0) && f->state == S_DEAD)
            return f->aborted ? ERR_ABRT : ERR_OK;
    }
    if (f->decided && flush_up(v, f) != 0) {
        mtd_flow_abort(v, f);
        return ERR_ABRT;
    }
    maybe_done(v, f);
    if (f->state != S_DEAD)
        mtd_vpn__watch(v, f, want_events(f));
    return f->aborted ? ERR_ABRT : ERR_OK;
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
    vpn_flow *f = arg;
    if (f && f->state != S_DEAD)
        mtd_vpn__watch(mtd_flow__vpn, f, want_events(f));
    return ERR_OK;
}

static void on_err(void *arg, err_t err)
{
    vpn_flow *f = arg;
    if (!f)
        return;
    f->pcb = NULL; /* lwIP freed it: the client reset or timed out */
    reset_server(f);
    mtd_vpn__end(mtd_flow__vpn, f);
}

/* The windows past lwIP's compiled ones (VPN_WND): the SYN-ACK offered the client
 * scale VPN_WND_SHIFT (mtd_vpn.c), so the pcb scales by it too, from its first segment
 * after the handshake, which is after this. A client that does not scale windows keeps
 * lwIP's 64 KiB. The send buffer and slow-start threshold are raised alike: the path
 * to the client is a TUN queue in this host's memory, not a network to probe. */
static void widen(vpn_flow *f)
{
    struct tcp_pcb *pcb = f->pcb;
    /* lwIP caps the MSS it sends with at TCP_MSS (1460) whatever the client offered */
    if (f->peer_mss > pcb->mss)
        pcb->mss = f->peer_mss < VPN_SEG ? f->peer_mss : VPN_SEG;
    if (!(pcb->flags & TF_WND_SCALE) || pcb->rcv_scale != TCP_RCV_SCALE)
        return;
    pcb->rcv_scale = VPN_WND_SHIFT;
    pcb->rcv_wnd = pcb->rcv_ann_wnd = VPN_WND;
    pcb->snd_buf = VPN_WND;
    pcb->ssthresh = VPN_WND;
    f->wide = 1;
}

void mtd_flow__attach(mtd_vpn *v, vpn_flow *f)
{
    mtd_flow__vpn = v;
    tcp_recv(f->pcb, on_recv);
    tcp_sent(f->pcb, on_sent);
    tcp_err(f->pcb, on_err);
    tcp_nagle_disable(f->pcb);
    widen(f);
    f->start_ms = mtd_vpn__now_ms();
    mtd_vpn__watch(v, f, want_events(f));
}

/* ---- the socket side ---- */

static void connected(mtd_vpn *v, vpn_flow *f);

/* The MSS option of a SYN (RFC 9293 3.7.1), 536 when it has none. */
static uint16_t syn_mss(const struct pbuf *p)
{
    const uint8_t *b = p->payload;
    size_t ihl = (size_t)(b[0] & 15) * 4, thl = (size_t)(b[ihl + 12] >> 4) * 4;
    const uint8_t *t = b + ihl;
    for (size_t i = 20; i + 4 <= thl && ihl + thl <= p->len;) {
        if (t[i] == 0)
            break;
        if (t[i] == 1) {
            i++;
            continue;
        }
        if (t[i] == 2 && t[i + 1] == 4)
            return (uint16_t)(t[i + 2] << 8 | t[i + 3]);
        if (t[i + 1] < 2)
            break;
        i += t[i + 1];
    }
    return 536;
}

void mtd_flow_syn(mtd_vpn *v, struct pbuf *p, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                  uint32_t seq)
{
    mtd_flow__vpn = v;
    vpn_flow *f = mtd_vpn__new_flow(v, F_TCP, src, sport, dst, dport);
    if (!f) {
        pbuf_free(p);
        return;
    }
    f->syn = p;
    f->syn_seq = seq;
    f->peer_mss = syn_mss(p);
    f->packets_out = 1;
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &dst, ip, sizeof ip);
    mtd_rep_result res;
    if (mtd_vpn__verdict(v, ip, NULL, &res)) {
        char url[64];
        snprintf(url, sizeof url, "%s://%s/", dport == 80 ? "http" : "https", ip);
        snprintf(f->name, sizeof f->name, "%s", ip);
        mtd_vpn__report_block(v, f, url, &res, "IP address");
        v->st.tcp_reset++;
        refuse(v, f);
        return;
    }
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr.s_addr = dst, .sin_port = htons(dport)};
    if (dst == v->o.dns && dport == 53) {
        to = v->dns_tcp; /* DNS over TCP to the tunnel's resolver: the filter answers */
        f->proto = MTD_PROTO_DNS;
        f->dns = 1;
    }
    f->fd = mtd_vpn__socket(v, SOCK_STREAM, &to);
    if (f->fd < 0) {
        refuse(v, f);
        return;
    }
    f->state = S_CONNECTING;
    /* Over a fast link (a veth, loopback) the handshake is over when connect() returns:
     * the SYN is answered at once, not after a round through epoll, a second wake-up of
     * this thread that on a loaded machine waits for a core (bench_vpn: curl's connect
     * time). */
    struct pollfd pfd = {.fd = f->fd, .events = POLLOUT};
    if (poll(&pfd, 1, 0) == 1) {
        connected(v, f);
        return;
    }
    if (mtd_vpn__watch(v, f, EPOLLOUT) != 0)
        refuse(v, f);
}

static void connected(mtd_vpn *v, vpn_flow *f)
{
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(f->fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err != 0) {
        refuse(v, f);
        return;
    }
    f->state = S_ACCEPTING;
    mtd_vpn__watch(v, f, 0);
    struct pbuf *p = f->syn;
    f->syn = NULL;
    mtd_vpn__lwip_input(v, p, f->sip);
}

/* Server bytes into lwIP, as far as its send buffer has room. */
static void read_server(mtd_vpn *v, vpn_flow *f)
{
    while (f->pcb && f->state != S_DEAD) {
        size_t room = f->pcb->snd_buf;
        int segs = TCP_SND_QUEUELEN - tcp_sndqueuelen(f->pcb) - 4;
        size_t mss = tcp_mss(f->pcb) ? tcp_mss(f->pcb) : 536;
        if (segs <= 0)
            break;
        if (room > (size_t)segs * mss)
            room = (size_t)segs * mss;
        if (room < mss)
            break;
        if (room > 65535) /* tcp_write takes a u16_t */
            room = 65535;
        ssize_t n = recv(f->fd, v->rbuf, room, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            break;
        if (n <= 0) {
            if (n < 0) { /* the server reset: so does the client */
                mtd_flow_abort(v, f);
                return;
            }
            f->server_eof = 1;
            tcp_shutdown(f->pcb, 0, 1);
            tcp_output(f->pcb);
            maybe_done(v, f);
            return;
        }
        if (tcp_write(f->pcb, v->rbuf, (u16_t)n, TCP_WRITE_FLAG_COPY) != ERR_OK) {
            mtd_flow_abort(v, f);
            return;
        }
        f->bytes_in += (uint64_t)n;
    }
    if (f->pcb)
        tcp_output(f->pcb);
}

void mtd_flow_event(mtd_vpn *v, vpn_flow *f, uint32_t events)
{
    if (f->state == S_CONNECTING) {
        if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            connected(v, f);
        return;
    }
    if (f->state == S_ACCEPTING) {
        if (events & (EPOLLERR | EPOLLHUP)) {
            reset_server(f);
            mtd_vpn__end(v, f); /* lwIP's half-open pcb is aborted at accept */
        }
        return;
    }
    if ((events & EPOLLOUT) && flush_up(v, f) != 0) {
        mtd_flow_abort(v, f);
        return;
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        read_server(v, f);
    if (f->state != S_DEAD) {
        maybe_done(v, f);
        if (f->state != S_DEAD)
            mtd_vpn__watch(v, f, want_events(f));
    }
}

void mtd_flow_tick(mtd_vpn *v, vpn_flow *f, int64_t now)
{
    if (f->state == S_INSPECT && !f->decided && now - f->start_ms >= INSPECT_MS) {
        if (inspect(v, f, 1) && f->state != S_DEAD && flush_up(v, f) != 0)
            mtd_flow_abort(v, f);
        if (f->state != S_DEAD)
            mtd_vpn__watch(v, f, want_events(f));
    } else if (f->state == S_CONNECTING && now - f->start_ms >= 30000) {
        refuse(v, f);
    } else if (f->state == S_ACCEPTING && now - f->start_ms >= 30000) {
        mtd_vpn__end(v, f);
    }
}
