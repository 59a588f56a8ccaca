/* mtd_tun: the VPN's TUN device and the routing that sends traffic into it, set up by
 * the agent itself (the part of Android's VpnService.Builder.establish() that the OS
 * does for an app there).
 *
 * Routing follows the model of WireGuard's wg-quick: the routes into the tunnel live
 * in a routing table of the agent's own (MTD_TUN_TABLE), consulted by one policy rule
 * for every packet whose socket does not carry the agent's mark (MTD_TUN_MARK). The
 * sockets that relay the tunnel's flows to the network carry the mark (SO_MARK), so
 * they use the main table and bypass the tunnel: Android's protect(). Nothing in the
 * main table changes, so stopping is removing one rule and one table; and since the
 * TUN is not persistent, a killed agent's device and its routes go with the process,
 * leaving only the rule, which the next start removes (mtd_tun_cleanup).
 *
 * The device is configured with ioctl (address, netmask, MTU, up) and the routes and
 * rules with rtnetlink messages written here: four fixed message kinds, for which a
 * netlink library would be a dependency bigger than the code it saves. */
#ifndef MTD_TUN_H
#define MTD_TUN_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#define MTD_TUN_TABLE 0x6d74 /* "mt": the routing table of the tunnel's routes */
#define MTD_TUN_MARK 0x6d74  /* the mark of the agent's own sockets */
#define MTD_TUN_PRIO 5208    /* the rule's priority: before main (32766) */

typedef struct {
    uint32_t addr; /* network order */
    int prefix;
} mtd_cidr4;

/* "A.B.C.D/N" (or "A.B.C.D", a /32). */
int mtd_cidr4_parse(const char *s, mtd_cidr4 *c);

typedef struct {
    int fd;          /* the TUN file descriptor, non-blocking */
    char name[16];
    int ifindex;
    int mtu;
} mtd_tun;

/* Creates the TUN device name (not persistent), gives it addr and mtu, brings it up.
 * why names what failed (a missing /dev/net/tun, no CAP_NET_ADMIN, a busy name). */
int mtd_tun_open(const char *name, const mtd_cidr4 *addr, int mtu, mtd_tun *t, char *why, size_t whylen);
void mtd_tun_close(mtd_tun *t);

/* Adds the routes into the tunnel's table and the rule that consults it. */
int mtd_tun_route(const mtd_tun *t, const mtd_cidr4 *routes, int n, char *why, size_t whylen);
/* Removes the rule and every route of the tunnel's table: what a previous run left
 * (after kill -9) or what this one made. Returns how many it removed. */
int mtd_tun_cleanup(void);

#endif
