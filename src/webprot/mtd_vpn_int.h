/* mtd_vpn_int: what the VPN's packet side (mtd_vpn.c) and its flows (mtd_flow.c,
 * mtd_uflow.c) share. Everything here runs on the relay's one thread, but for the DNS
 * filter's upstream thread, which writes its answers to the TUN itself and hands their
 * counts over under dns_lock (mtd_uflow_dns_reply). */
#ifndef MTD_VPN_INT_H
#define MTD_VPN_INT_H

#include "webprot/mtd_dnsfilter.h"
#include "webprot/mtd_sni.h"
#include "webprot/mtd_vdns.h"
#include "webprot/mtd_vpn.h"

#include "lwip/netif.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"

#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#define VPN_BUCKETS 16384
#define INSPECT_MAX 16384    /* the client's first bytes held for a verdict */
#define INSPECT_MS 3000      /* then the flow goes on by its address alone */
/* lwIP's receive window and send buffer per flow. Debian's lwIP is compiled with 64 KiB
 * (TCP_WND, TCP_SND_BUF) and window scale 1, which held a client's upload to 64 KiB per
 * round trip through the relay's thread; the pcb's fields are set past them instead:
 * the SYN-ACK's scale option is rewritten to VPN_WND_SHIFT (mtd_vpn.c) and the pcb's
 * rcv_scale, windows and send buffer set to match when lwIP accepts (mtd_flow.c). */
#define VPN_WND (1024 * 1024)
#define VPN_WND_SHIFT 5       /* 1 MiB >> 5 fits the 16-bit window field */
#define VPN_SEG (32 * 1024)   /* the largest segment lwIP sends the client */
#define UP_CAP VPN_WND        /* client bytes not yet written: at most the window */
#define UP_FIRST 16384        /* the client bytes' buffer starts at this, grows to UP_CAP */
#define UDP_IDLE_MS 60000
#define DNS_IDLE_MS 10000

enum { EP_TUN = 1, EP_WAKE, EP_FLOW };
enum { F_TCP, F_UDP };
enum { S_CONNECTING, S_ACCEPTING, S_INSPECT, S_RELAY, S_DEAD };

typedef struct vpn_flow vpn_flow;
struct vpn_flow {
    int ep_type;              /* EP_FLOW: first, as every object epoll points to */
    int kind, state;
    uint32_t cip, sip;        /* client (the device) and server, network order */
    uint16_t cport, sport;    /* host order */
    int fd;
    uint32_t ep_events;       /* what epoll watches now */
    struct tcp_pcb *pcb;
    struct pbuf *syn;         /* the held SYN while connecting */
    uint32_t syn_seq;
    uint16_t peer_mss;        /* the MSS option of the client's SYN */
    mtd_sni_quic_ctx *quic;   /* the CRYPTO bytes of a UDP/443 flow's Initials so far */
    uint8_t *up;              /* client -> server bytes not yet written (not acknowledged) */
    size_t up_start, up_end, up_cap;
    int wide;                 /* the pcb has VPN_WND windows (the client scales windows) */
    int client_eof, server_eof, up_shut, decided, dns, quic_seen, aborted;
    int64_t start_ms, last_ms, wall_start_ms;
    mtd_proto proto;
    int threat;
    char name[256];
    uint64_t bytes_out, bytes_in, packets_out, packets_in;
    vpn_flow *hnext;          /* bucket chain */
    vpn_flow *prev, *next;    /* every live flow */
    vpn_flow *dnext;          /* the dead, freed after the epoll batch */
};

typedef struct {
    int ep_type;
} ep_tag;

/* An answer the DNS filter's upstream thread wrote to the TUN itself (mtd_uflow_dns_reply),
 * to be counted against its flow by the relay's thread, which owns the flows. */
typedef struct {
    uint32_t cip;   /* the client, network order */
    uint16_t cport; /* host order */
    uint16_t len;
} vpn_dns_acct;
#define DNS_ACCT 4096 /* answers counted at most between two of the relay's rounds */
#define DNS_QMAX 2048 /* a whole query read off the TUN is under 2 KiB (COPY_BELOW) */
#define DNS_AMAX 1024 /* the filter's own answers to one: its question and a record */

/* The queries of one burst of TUN reads, decided together (mtd_uflow_dns_flush). */
typedef struct {
    int n;
    vpn_flow *flow[MTD_DNSFILTER_BATCH];
    struct sockaddr_in client[MTD_DNSFILTER_BATCH];
    size_t len[MTD_DNSFILTER_BATCH];
    uint8_t q[MTD_DNSFILTER_BATCH][DNS_QMAX];
    uint8_t a[MTD_DNSFILTER_BATCH][DNS_AMAX];
} vpn_dns_batch;

struct mtd_vpn {
    mtd_vpn_opts o;
    mtd_tun tun;
    int ep, wake;
    ep_tag tun_tag, wake_tag;
    struct netif netif;
    pthread_t thread;
    int started;
    volatile int stop;
    pthread_rwlock_t rep_lock;
    const mtd_rep *rep;
    mtd_dnsfilter *dnsf;
    struct sockaddr_in dns_tcp;          /* the filter's loopback address (DNS over TCP) */
    pthread_mutex_t dns_lock;
    vpn_dns_acct dns_acct[2][DNS_ACCT];  /* the upstream thread fills one, the relay reads the other */
    int dns_cur, dns_woke;
    size_t dns_n;
    uint64_t dns_pkts_in, dns_bytes_in;  /* the upstream thread's TUN writes (atomic) */
    uint64_t dns_uncounted;              /* answers sent but not counted: dns_acct full */
    vpn_dns_batch dns_batch;
    struct tcp_pcb *listeners[65536];
    struct udp_pcb *udp_pcbs[65536];
    vpn_flow *buckets[VPN_BUCKETS];
    vpn_flow *all, *dead;
    uint8_t *rbuf;                       /* one read buffer: server -> client bytes */
    uint8_t *obuf;                       /* one packet written to the TUN */
    struct pbuf *spare;                  /* the next packet read from it, MTU-sized */
    mtd_vpn_stats st;
    int routed;
    int busy_since_trim;                 /* flows ran since the last malloc_trim */
};

int64_t mtd_vpn__now_ms(void);
int64_t mtd_vpn__wall_ms(void);

/* Flow table (mtd_vpn.c). */
vpn_flow *mtd_vpn__find(mtd_vpn *v, int kind, uint32_t cip, uint16_t cport, uint32_t sip, uint16_t sport);
vpn_flow *mtd_vpn__new_flow(mtd_vpn *v, int kind, uint32_t cip, uint16_t cport, uint32_t sip, uint16_t sport);
/* Ends a flow: its connection record, its socket closed, freed after the batch. */
void mtd_vpn__end(mtd_vpn *v, vpn_flow *f);
int mtd_vpn__watch(mtd_vpn *v, vpn_flow *f, uint32_t events);
/* A socket to the network that bypasses the tunnel. */
int mtd_vpn__socket(mtd_vpn *v, int type, const struct sockaddr_in *to);
/* Hands a packet to lwIP as if addressed to this host. Takes p. */
void mtd_vpn__lwip_input(mtd_vpn *v, struct pbuf *p, uint32_t dst);
/* The verdict of the reputation engine for a host name or URL (1 block). */
int mtd_vpn__verdict(mtd_vpn *v, const char *name, const char *url, mtd_rep_result *res);
/* Reports a block of a flow (web.detection, threat.detection). */
void mtd_vpn__report_block(mtd_vpn *v, vpn_flow *f, const char *url, const mtd_rep_result *res,
                           const char *how);

/* TCP (mtd_flow.c). */
extern mtd_vpn *mtd_flow__vpn; /* the relay's VPN, for lwIP's callbacks (one relay thread) */
void mtd_flow__attach(mtd_vpn *v, vpn_flow *f);
void mtd_flow_syn(mtd_vpn *v, struct pbuf *p, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                  uint32_t seq);
void mtd_flow_event(mtd_vpn *v, vpn_flow *f, uint32_t events);
void mtd_flow_tick(mtd_vpn *v, vpn_flow *f, int64_t now);
void mtd_flow_abort(mtd_vpn *v, vpn_flow *f);

/* UDP (mtd_uflow.c). */
void mtd_uflow_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr, u16_t port);
void mtd_uflow_event(mtd_vpn *v, vpn_flow *f, uint32_t events);
void mtd_uflow_tick(mtd_vpn *v, vpn_flow *f, int64_t now);
/* A whole UDP query to the tunnel's DNS address, read from the TUN (mtd_vdns_parse):
 * counted against its flow and held for mtd_uflow_dns_flush, which the relay calls after
 * each burst of reads (and this one when the batch is full). */
void mtd_uflow_dns_in(mtd_vpn *v, const mtd_vdns_query *q);
void mtd_uflow_dns_flush(mtd_vpn *v);
/* The DNS filter's reply hook (its upstream thread): writes the answer to the TUN and
 * queues its count for the relay. */
void mtd_uflow_dns_reply(void *ctx, const struct sockaddr_in *client, const uint8_t *msg, size_t len);
/* Counts the upstream thread's answers against their flows (the relay's thread). */
void mtd_uflow_dns_drain(mtd_vpn *v);

#endif
