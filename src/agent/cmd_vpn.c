/* cmd_vpn: `mtd-agent vpn`: the self-looping VPN (webprot/mtd_vpn.h) in the foreground
 * until SIGTERM, which removes its rule and routes and closes its TUN. With --state
 * the tenant's policy applies (lists, dns_block_answer, report switches, tls_canaries
 * and the collector's own host name as names to probe), and detections and connection
 * records are queued in the spool every second, for `mtd-agent run` to upload. */
#include "agent/mtd_agent.h"
#include "common/mtd_log.h"
#include "usage/mtd_actions.h"
#include "webprot/mtd_dns.h"
#include "webprot/mtd_vpn.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t g_stop;
static void on_term(int sig) { (void)sig; g_stop = 1; }

#define USAGE "usage: mtd-agent vpn --tun NAME --address CIDR --dns ADDR [--route CIDR...] [--dns-only] --upstream ADDR:PORT --feed FILE... [--state DIR]"

static int routes(const mtd_args *a, mtd_vpn_opts *o)
{
    const char *r[MTD_VPN_MAX_ROUTES + 1];
    int n = mtd_args_all(a, "--route", r, MTD_VPN_MAX_ROUTES + 1);
    if (n > MTD_VPN_MAX_ROUTES)
        return mtd_agent_fail("vpn: at most %d --route", MTD_VPN_MAX_ROUTES);
    for (int i = 0; i < n; i++)
        if (mtd_cidr4_parse(r[i], &o->routes[i]) != 0)
            return mtd_agent_fail("vpn: --route %s: expected an IPv4 CIDR, e.g. 0.0.0.0/0", r[i]);
    o->nroutes = n;
    if (n && o->dns_only)
        return mtd_agent_fail("vpn: --route and --dns-only exclude each other (--dns-only routes only --dns)");
    return 0;
}

static int parse(const mtd_args *a, mtd_vpn_opts *o, char *why, size_t wl)
{
    struct in_addr dns;
    long long mtu;
    o->tun = mtd_args_get(a, "--tun");
    o->upstream = mtd_args_get(a, "--upstream");
    o->dns_only = mtd_args_has(a, "--dns-only");
    if (!o->tun || !mtd_args_get(a, "--address") || !mtd_args_get(a, "--dns") || !o->upstream || a->npos)
        return mtd_agent_fail(USAGE);
    if (mtd_cidr4_parse(mtd_args_get(a, "--address"), &o->address) != 0 || o->address.prefix == 0)
        return mtd_agent_fail("vpn: --address %s: expected an IPv4 CIDR, e.g. 203.0.113.1/24",
                              mtd_args_get(a, "--address"));
    if (inet_pton(AF_INET, mtd_args_get(a, "--dns"), &dns) != 1)
        return mtd_agent_fail("vpn: --dns %s: expected an IPv4 address", mtd_args_get(a, "--dns"));
    o->dns = dns.s_addr;
    struct sockaddr_storage ss;
    socklen_t sl;
    if (mtd_dns_parse_addr(o->upstream, &ss, &sl) != 0)
        return mtd_agent_fail("vpn: --upstream %s: expected ADDR:PORT, e.g. 198.51.100.53:53", o->upstream);
    if (mtd_args_int(a, "--mtu", 576, 65535, MTD_VPN_MTU, &mtu, why, wl) != 0)
        return mtd_agent_fail("vpn: %s", why);
    o->mtu = (int)mtu;
    return routes(a, o);
}

/* The names to probe: the tenant's tls_canaries, the collector's host, --canary. */
static int canaries(const mtd_args *a, const mtd_state *st, int with_state, const char **out, char *buf, size_t cap)
{
    int n = mtd_args_all(a, "--canary", out, 32);
    if (!with_state)
        return n;
    snprintf(buf, cap, "%s", st->policy.tls_canaries);
    for (char *s = buf, *nl; *s && n < 63; s = nl + 1) {
        nl = strchr(s, '\n');
        if (!nl)
            break;
        *nl = 0;
        out[n++] = s;
    }
    static char host[256];
    const char *p = strstr(st->server, "://");
    if (p && sscanf(p + 3, "%255[^:/]", host) == 1 && n < 64)
        out[n++] = host;
    return n;
}

static void flush(mtd_state *st, mtd_webevents *we, mtd_connrec *cr, int force)
{
    if (cr && force)
        mtd_connrec_flush(cr, 0, 1);
    if (we && mtd_webevents_pending(we))
        mtd_agent_queue_events(st, mtd_agent_drain_events, we);
}

static void print_stats(mtd_vpn *v)
{
    mtd_vpn_stats s;
    mtd_vpn_stats_get(v, &s);
    mtd_log(MTD_LOG_INFO, "vpn",
            "tcp=%llu udp=%llu reset=%llu refused=%llu udp_dropped=%llu dns=%llu packets_out=%llu packets_in=%llu icmp_dropped=%llu ipv6_dropped=%llu",
            (unsigned long long)s.tcp_flows, (unsigned long long)s.udp_flows, (unsigned long long)s.tcp_reset,
            (unsigned long long)s.refused, (unsigned long long)s.udp_dropped, (unsigned long long)s.dns_queries,
            (unsigned long long)s.packets_out, (unsigned long long)s.packets_in,
            (unsigned long long)s.dropped_icmp, (unsigned long long)s.dropped_ipv6);
}

int mtd_cmd_vpn(int argc, char **argv)
{
    static const mtd_optspec specs[] = {
        {"--tun", MTD_ARG_ONE}, {"--address", MTD_ARG_ONE}, {"--dns", MTD_ARG_ONE}, {"--route", MTD_ARG_ONE},
        {"--dns-only", MTD_ARG_FLAG}, {"--upstream", MTD_ARG_ONE}, {"--feed", MTD_ARG_MANY},
        {"--state", MTD_ARG_ONE}, {"--mtu", MTD_ARG_ONE}, {"--window", MTD_ARG_ONE},
        {"--canary", MTD_ARG_ONE}, {"--tls-trust", MTD_ARG_ONE}, {NULL, 0}};
    static mtd_args a;
    static mtd_state st;
    static mtd_vpn_opts o;
    char why[700], names_buf[MTD_POLICY_LIST_BYTES];
    long long window;
    if (mtd_agent_args(argc, argv, specs, &a) || parse(&a, &o, why, sizeof why))
        return 1;
    /* a flow's client buffer grows to 1 MiB; glibc's adaptive threshold then serves such
     * buffers from a thread's heap, whose freed pages stayed resident (1.2 MiB after one
     * bulk flow, malloc_trim or not): mapped alone, they are unmapped when freed */
    mallopt(M_MMAP_THRESHOLD, 64 * 1024);
    if (mtd_args_int(&a, "--window", 1, 86400, 300, &window, why, sizeof why) != 0)
        return mtd_agent_fail("vpn: %s", why);
    int with_state = mtd_args_get(&a, "--state") != NULL;
    if (with_state && mtd_agent_state(&a, &st))
        return 1;
    mtd_rep *rep;
    if (mtd_agent_open_rep(&a, with_state ? &st.policy : NULL, &rep))
        return 1;
    mtd_policy pol;
    mtd_policy_default(&pol);
    const mtd_policy *p = with_state ? &st.policy : &pol;
    mtd_webevents *we = with_state ? mtd_webevents_new(p) : NULL;
    const char *names[64];
    int nn = canaries(&a, &st, with_state, names, names_buf, sizeof names_buf);
    o.null_ip = p->dns_block_answer == MTD_DNSANS_NULL_IP;
    o.events = we;
    o.connrec = with_state ? mtd_connrec_new(we, p, (int)window) : NULL;
    o.netcheck = nn ? mtd_netcheck_new(we, names, nn, mtd_args_get(&a, "--tls-trust"), MTD_TUN_MARK) : NULL;
    mtd_vpn *v = NULL;
    int rc = 0;
    if (mtd_vpn_start(&o, rep, &v, why, sizeof why) != 0) {
        rc = mtd_agent_fail("vpn: %s", why);
    } else {
        signal(SIGTERM, on_term);
        signal(SIGINT, on_term);
        if (with_state)
            mtd_actions_record(st.dir, MTD_ACTION_VPN_ON);
        char dns[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &o.dns, dns, sizeof dns);
        printf("vpn: %s up, %s mode, DNS %s filtered (upstream %s), %zu entries\n", o.tun,
               o.dns_only ? "dns-only" : "full", dns, o.upstream, mtd_rep_entries(rep));
        fflush(stdout);
        for (int tick = 1; !g_stop; tick++) {
            usleep(200 * 1000);
            if (with_state && tick % 5 == 0)
                flush(&st, we, NULL, 0);
        }
        print_stats(v);
    }
    mtd_vpn_stop(v); /* the last connection records go to the queue */
    mtd_netcheck_free(o.netcheck);
    if (with_state) {
        if (v)
            mtd_actions_record(st.dir, MTD_ACTION_VPN_OFF);
        flush(&st, we, NULL, 0);
    }
    mtd_connrec_free(o.connrec);
    mtd_webevents_free(we);
    mtd_rep_close(rep);
    return rc;
}
