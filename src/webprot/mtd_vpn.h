/* mtd_vpn: the self-looping VPN (`mtd-agent vpn`): the model of Android's VpnService and
 * iOS's packet tunnel on a Linux TUN device. The agent owns the TUN (mtd_tun), reads the
 * IP packets the kernel routes into it, terminates their TCP and UDP flows in lwIP, a
 * user-space TCP/IP stack, and relays each flow to the network through an ordinary
 * socket that bypasses the tunnel (SO_MARK; Android's protect()). Nothing leaves the
 * device for inspection: the decision is made here, on the flow's first bytes.
 *
 * - DNS sent to the tunnel's DNS address (UDP or TCP port 53) goes to the agent's own
 *   DNS filter (mtd_dnsfilter, started on a loopback port), the same code that serves
 *   `dns-filter` and `run --dns-listen`: one code path for every DNS answer.
 * - TCP: a client's SYN is held until the relay's own connection to the server is up,
 *   so a refused port is refused to the client too; then the client's first bytes are
 *   read for the TLS server_name or the HTTP Host (and URL) before anything is sent
 *   on. A blocked name, or a blocked IP address at the SYN, gets a TCP reset and a
 *   web.detection; an allowed flow is relayed byte for byte.
 * - UDP: relayed datagram for datagram per flow; a QUIC Initial naming a blocked
 *   server is dropped, with the rest of that flow, so the browser falls back to TCP.
 * - ICMP and IPv6 are not relayed (counted and dropped): lwIP would answer an echo for
 *   any address as if it were that host, which would lie about reachability.
 * - --dns-only routes only the DNS address into the tunnel (Intra's and Blokada's
 *   battery-friendly mode); the rest of the traffic never enters it.
 *
 * Every flow ends as a connection record (mtd_connrec) and, for TLS to a name the
 * agent can check, a certificate probe (mtd_netcheck). The relay runs on one thread
 * (lwIP's raw API is single-threaded); the DNS filter and the probes on their own. */
#ifndef MTD_VPN_H
#define MTD_VPN_H

#include "webprot/mtd_connrec.h"
#include "webprot/mtd_netcheck.h"
#include "webprot/mtd_rep.h"
#include "webprot/mtd_tun.h"
#include "webprot/mtd_webevents.h"

#include <stdint.h>

#define MTD_VPN_MAX_ROUTES 32
/* The TUN's MTU by default: the largest IP packet. No wire is under a TUN, so big
 * packets cost nothing and save a read and a write per 1,460 bytes. */
#define MTD_VPN_MTU 65535

typedef struct {
    const char *tun;           /* device name */
    mtd_cidr4 address;         /* the tunnel's own address and prefix */
    uint32_t dns;              /* the DNS address inside the tunnel (network order) */
    mtd_cidr4 routes[MTD_VPN_MAX_ROUTES];
    int nroutes;               /* 0: 0.0.0.0/0 in full mode */
    int dns_only;
    const char *upstream;      /* the DNS filter's upstream ADDR:PORT */
    int null_ip;               /* blocked names answered 0.0.0.0 rather than NXDOMAIN */
    int mtu;                   /* 0: MTD_VPN_MTU */
    mtd_webevents *events;     /* NULL: nothing reported */
    mtd_connrec *connrec;      /* NULL: no connection records */
    mtd_netcheck *netcheck;    /* NULL: no certificate probes */
} mtd_vpn_opts;

typedef struct {
    uint64_t packets_in, packets_out, bytes_in, bytes_out;
    uint64_t tcp_flows, udp_flows, tcp_reset, udp_dropped, refused, dns_queries;
    uint64_t dropped_icmp, dropped_ipv6, dropped_other;
    uint64_t active_tcp, active_udp;
} mtd_vpn_stats;

typedef struct mtd_vpn mtd_vpn;

/* Cleans what an earlier run left, creates and routes the TUN, starts the DNS filter
 * and the relay's thread. rep is borrowed until stop or the next set_rep. */
int mtd_vpn_start(const mtd_vpn_opts *o, const mtd_rep *rep, mtd_vpn **out, char *why, size_t whylen);
/* Serves with rep from now on; returns the previous engine, unused once this returns. */
const mtd_rep *mtd_vpn_set_rep(mtd_vpn *v, const mtd_rep *rep);
void mtd_vpn_stats_get(mtd_vpn *v, mtd_vpn_stats *s);
/* Stops the relay, resets its flows, removes the rule and routes, closes the TUN,
 * stops the DNS filter, writes the last connection records, frees. */
void mtd_vpn_stop(mtd_vpn *v);

#endif
