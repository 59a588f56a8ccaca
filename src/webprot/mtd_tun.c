/* mtd_tun: the TUN device (ioctl) and the tunnel's table and rule (rtnetlink); see
 * mtd_tun.h. */
#include "webprot/mtd_tun.h"
#include "common/mtd_err.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fib_rules.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int mtd_cidr4_parse(const char *s, mtd_cidr4 *c)
{
    char host[32];
    const char *slash = strchr(s, '/');
    size_t hl = slash ? (size_t)(slash - s) : strlen(s);
    if (hl == 0 || hl >= sizeof host)
        return MTD_EINVAL;
    memcpy(host, s, hl);
    host[hl] = 0;
    struct in_addr a;
    if (inet_pton(AF_INET, host, &a) != 1)
        return MTD_EINVAL;
    c->addr = a.s_addr;
    c->prefix = 32;
    if (slash) {
        char *end;
        long p = strtol(slash + 1, &end, 10);
        if (!slash[1] || *end || p < 0 || p > 32)
            return MTD_EINVAL;
        c->prefix = (int)p;
    }
    return 0;
}

/* ---- the device ---- */

static int ifreq_addr(int s, unsigned long req, const char *name, uint32_t addr)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
    struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = addr;
    return ioctl(s, req, &ifr);
}

static int configure(mtd_tun *t, const mtd_cidr4 *addr, char *why, size_t wl)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", t->name);
    uint32_t mask = addr->prefix ? htonl(~0u << (32 - addr->prefix)) : 0;
    const char *step = "address";
    int r = s < 0 ? -1 : ifreq_addr(s, SIOCSIFADDR, t->name, addr->addr);
    if (r == 0 && (step = "netmask", ifreq_addr(s, SIOCSIFNETMASK, t->name, mask)) != 0)
        r = -1;
    ifr.ifr_mtu = t->mtu;
    if (r == 0 && (step = "MTU", ioctl(s, SIOCSIFMTU, &ifr)) != 0)
        r = -1;
    if (r == 0 && (step = "flags", ioctl(s, SIOCGIFFLAGS, &ifr)) != 0)
        r = -1;
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (r == 0 && (step = "up", ioctl(s, SIOCSIFFLAGS, &ifr)) != 0)
        r = -1;
    if (r == 0 && (step = "index", ioctl(s, SIOCGIFINDEX, &ifr)) != 0)
        r = -1;
    t->ifindex = ifr.ifr_ifindex;
    if (r != 0)
        snprintf(why, wl, "cannot set the %s of %s: %s", step, t->name, strerror(errno));
    if (s >= 0)
        close(s);
    return r ? MTD_EIO : 0;
}

int mtd_tun_open(const char *name, const mtd_cidr4 *addr, int mtu, mtd_tun *t, char *why, size_t wl)
{
    memset(t, 0, sizeof *t);
    if (strlen(name) == 0 || strlen(name) >= IFNAMSIZ || strchr(name, '/') || strchr(name, '%')) {
        snprintf(why, wl, "--tun %s: an interface name of 1 to %d characters", name, IFNAMSIZ - 1);
        return MTD_EINVAL;
    }
    t->fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (t->fd < 0) {
        snprintf(why, wl, "cannot open /dev/net/tun: %s", strerror(errno));
        return MTD_EIO;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
    if (ioctl(t->fd, TUNSETIFF, &ifr) != 0) {
        snprintf(why, wl, "cannot create TUN device %s: %s%s", name, strerror(errno),
                 errno == EPERM ? " (it needs CAP_NET_ADMIN: run as root)" : "");
        close(t->fd);
        t->fd = -1;
        return errno == EPERM ? MTD_EPERM : MTD_EIO;
    }
    snprintf(t->name, sizeof t->name, "%s", ifr.ifr_name);
    t->mtu = mtu;
    int r = configure(t, addr, why, wl);
    if (r != 0)
        mtd_tun_close(t);
    return r;
}

void mtd_tun_close(mtd_tun *t)
{
    if (t->fd >= 0)
        close(t->fd); /* not persistent: the device and its routes go with it */
    t->fd = -1;
}

/* ---- rtnetlink ---- */

typedef struct {
    struct nlmsghdr h;
    char body[512];
} nlreq;

static void add_attr(nlreq *m, int type, const void *data, size_t len)
{
    struct rtattr *a = (struct rtattr *)((char *)m + NLMSG_ALIGN(m->h.nlmsg_len));
    a->rta_type = (unsigned short)type;
    a->rta_len = (unsigned short)RTA_LENGTH(len);
    memcpy(RTA_DATA(a), data, len);
    m->h.nlmsg_len = NLMSG_ALIGN(m->h.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

static void add_u32(nlreq *m, int type, uint32_t v)
{
    add_attr(m, type, &v, sizeof v);
}

static int nl_open(void)
{
    int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    struct timeval tv = {2, 0};
    if (s >= 0)
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return s;
}

/* Sends one request and waits for its acknowledgement: 0, or -errno. */
static int nl_call(int s, struct nlmsghdr *h)
{
    static uint32_t seq;
    h->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
    h->nlmsg_seq = ++seq;
    if (send(s, h, h->nlmsg_len, 0) < 0)
        return -errno;
    char buf[8192];
    for (;;) {
        ssize_t n = recv(s, buf, sizeof buf, 0);
        if (n < 0)
            return -errno;
        for (struct nlmsghdr *r = (struct nlmsghdr *)buf; NLMSG_OK(r, (size_t)n); r = NLMSG_NEXT(r, n))
            if (r->nlmsg_seq == h->nlmsg_seq && r->nlmsg_type == NLMSG_ERROR)
                return ((struct nlmsgerr *)NLMSG_DATA(r))->error;
    }
}

static int rule_msg(int s, int type, int flags)
{
    nlreq m;
    memset(&m, 0, sizeof m);
    m.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct fib_rule_hdr));
    m.h.nlmsg_type = (unsigned short)type;
    m.h.nlmsg_flags = (unsigned short)flags;
    struct fib_rule_hdr *fr = NLMSG_DATA(&m.h);
    fr->family = AF_INET;
    fr->action = FR_ACT_TO_TBL;
    fr->flags = FIB_RULE_INVERT; /* every packet NOT marked as the agent's */
    add_u32(&m, FRA_PRIORITY, MTD_TUN_PRIO);
    add_u32(&m, FRA_FWMARK, MTD_TUN_MARK);
    add_u32(&m, FRA_FWMASK, 0xffffffffu);
    add_u32(&m, FRA_TABLE, MTD_TUN_TABLE);
    return nl_call(s, &m.h);
}

static int route_add(int s, const mtd_tun *t, const mtd_cidr4 *c)
{
    nlreq m;
    memset(&m, 0, sizeof m);
    m.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
    m.h.nlmsg_type = RTM_NEWROUTE;
    m.h.nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
    struct rtmsg *rt = NLMSG_DATA(&m.h);
    rt->rtm_family = AF_INET;
    rt->rtm_dst_len = (unsigned char)c->prefix;
    rt->rtm_table = RT_TABLE_UNSPEC; /* the table is the attribute: it is above 255 */
    rt->rtm_protocol = RTPROT_STATIC;
    rt->rtm_scope = RT_SCOPE_LINK;
    rt->rtm_type = RTN_UNICAST;
    uint32_t net = c->prefix ? c->addr & htonl(~0u << (32 - c->prefix)) : 0;
    if (c->prefix)
        add_attr(&m, RTA_DST, &net, 4);
    add_u32(&m, RTA_OIF, (uint32_t)t->ifindex);
    add_u32(&m, RTA_TABLE, MTD_TUN_TABLE);
    return nl_call(s, &m.h);
}

int mtd_tun_route(const mtd_tun *t, const mtd_cidr4 *routes, int n, char *why, size_t wl)
{
    int s = nl_open();
    if (s < 0) {
        snprintf(why, wl, "cannot open a netlink socket: %s", strerror(errno));
        return MTD_EIO;
    }
    for (int i = 0; i < n; i++) {
        int e = route_add(s, t, &routes[i]);
        if (e != 0) {
            char a[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, &routes[i].addr, a, sizeof a);
            snprintf(why, wl, "cannot route %s/%d into %s: %s", a, routes[i].prefix, t->name, strerror(-e));
            close(s);
            return MTD_EIO;
        }
    }
    int e = rule_msg(s, RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL);
    close(s);
    if (e != 0 && e != -EEXIST) {
        snprintf(why, wl, "cannot add the tunnel's routing rule: %s", strerror(-e));
        return MTD_EIO;
    }
    return 0;
}

/* The table a dumped rule or route points to (its attribute, else its header). */
static uint32_t msg_table(struct nlmsghdr *h, size_t hdrlen, int attr, uint32_t hdr_table)
{
    struct rtattr *a = (struct rtattr *)((char *)NLMSG_DATA(h) + NLMSG_ALIGN(hdrlen));
    int len = (int)h->nlmsg_len - NLMSG_LENGTH(NLMSG_ALIGN(hdrlen));
    for (; RTA_OK(a, len); a = RTA_NEXT(a, len))
        if (a->rta_type == attr && RTA_PAYLOAD(a) >= 4)
            return *(uint32_t *)RTA_DATA(a);
    return hdr_table;
}

/* Dumps rules or routes and deletes those of the tunnel's table. */
static int purge(int s, int get, int del)
{
    nlreq m;
    memset(&m, 0, sizeof m);
    int rule = get == RTM_GETRULE;
    size_t hl = rule ? sizeof(struct fib_rule_hdr) : sizeof(struct rtmsg);
    m.h.nlmsg_len = NLMSG_LENGTH(hl);
    m.h.nlmsg_type = (unsigned short)get;
    m.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    m.h.nlmsg_seq = 1;
    *(unsigned char *)NLMSG_DATA(&m.h) = AF_INET; /* the family is the first byte of both */
    if (send(s, &m, m.h.nlmsg_len, 0) < 0)
        return 0;
    char *found = NULL, buf[16384];
    size_t flen = 0;
    int done = 0, removed = 0;
    while (!done) {
        ssize_t n = recv(s, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        for (struct nlmsghdr *r = (struct nlmsghdr *)buf; NLMSG_OK(r, (size_t)n); r = NLMSG_NEXT(r, n)) {
            if (r->nlmsg_type == NLMSG_DONE || r->nlmsg_type == NLMSG_ERROR) {
                done = 1;
                break;
            }
            uint32_t ht = rule ? ((struct fib_rule_hdr *)NLMSG_DATA(r))->table : ((struct rtmsg *)NLMSG_DATA(r))->rtm_table;
            if (msg_table(r, hl, rule ? FRA_TABLE : RTA_TABLE, ht) != MTD_TUN_TABLE)
                continue;
            char *nf = realloc(found, flen + NLMSG_ALIGN(r->nlmsg_len));
            if (!nf)
                break;
            found = nf;
            memcpy(found + flen, r, r->nlmsg_len);
            flen += NLMSG_ALIGN(r->nlmsg_len);
        }
    }
    /* deleted after the dump ends: a dump is not to be changed under its feet */
    for (size_t off = 0; off < flen;) {
        struct nlmsghdr *h = (struct nlmsghdr *)(found + off);
        off += NLMSG_ALIGN(h->nlmsg_len);
        h->nlmsg_type = (unsigned short)del;
        h->nlmsg_flags = 0;
        if (nl_call(s, h) == 0)
            removed++;
    }
    free(found);
    return removed;
}

int mtd_tun_cleanup(void)
{
    int s = nl_open();
    if (s < 0)
        return 0;
    int n = purge(s, RTM_GETRULE, RTM_DELRULE);
    n += purge(s, RTM_GETROUTE, RTM_DELROUTE);
    close(s);
    return n;
}
