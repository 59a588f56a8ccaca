/* mtd_uflow: the VPN's UDP flows: each (client, server) pair gets a connected socket
 * of its own that bypasses the tunnel, datagrams go through one for one, and the
 * flow ends after a minute without traffic (ten seconds for DNS). Datagrams to the
 * tunnel's DNS address, port 53, go to the agent's DNS filter on loopback. The first
 * datagrams of a flow to port 443 are read as QUIC Initials (their CRYPTO bytes
 * gathered across packets, mtd_sni_quic_add): the one that completes a ClientHello
 * naming a blocked server is dropped, and so is the rest of its flow, so the browser
 * falls back to TCP, where the same name meets the same verdict. */
#include "webprot/mtd_vpn_int.h"
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
    if (sip == v->o.dns && sport == 53) {
        to = v->dns_udp;
        f->dns = 1;
        f->proto = MTD_PROTO_DNS;
        f->decided = 1;
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

void mtd_uflow_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr, u16_t port)
{
    mtd_vpn *v = arg;
    uint32_t cip = ip4_addr_get_u32(ip_2_ip4(addr)), sip = ip4_addr_get_u32(ip_2_ip4(ip_current_dest_addr()));
    uint16_t sport = pcb->local_port;
    vpn_flow *f = mtd_vpn__find(v, F_UDP, cip, port, sip, sport);
    if (!f && !(f = start(v, cip, port, sip, sport))) {
        pbuf_free(p);
        return;
    }
    f->packets_out++;
    f->last_ms = mtd_vpn__now_ms();
    const uint8_t *b = p->payload;
    size_t n = p->tot_len;
    if (p->next) {
        n = pbuf_copy_partial(p, v->obuf, p->tot_len, 0);
        b = v->obuf;
    }
    if (quic_check(v, f, b, n) || f->fd < 0) {
        v->st.udp_dropped++;
    } else if (send(f->fd, b, n, 0) == (ssize_t)n) {
        f->bytes_out += n;
    }
    pbuf_free(p);
}

void mtd_uflow_event(mtd_vpn *v, vpn_flow *f, uint32_t events)
{
    struct udp_pcb *pcb = v->udp_pcbs[f->sport];
    for (int i = 0; i < 64 && pcb; i++) {
        ssize_t n = recv(f->fd, v->rbuf, 65507, 0);
        if (n < 0)
            break;
        struct pbuf *p = pbuf_alloc(PBUF_TRANSPORT, (u16_t)n, PBUF_RAM);
        if (!p)
            break;
        memcpy(p->payload, v->rbuf, (size_t)n);
        ip_addr_t client = IPADDR4_INIT(f->cip), server = IPADDR4_INIT(f->sip);
        if (udp_sendto_if_src(pcb, p, &client, f->cport, &v->netif, &server) == ERR_OK)
            f->bytes_in += (uint64_t)n;
        pbuf_free(p);
        f->last_ms = mtd_vpn__now_ms();
    }
}

void mtd_uflow_tick(mtd_vpn *v, vpn_flow *f, int64_t now)
{
    if (now - f->last_ms >= (f->dns ? DNS_IDLE_MS : UDP_IDLE_MS))
        mtd_vpn__end(v, f);
}
