/* cmd_dnsfilter: `mtd-agent dns-filter`: the DNS filter and the browsers' URL check
 * API in the foreground until SIGTERM. With --state the tenant's policy applies (its
 * lists, dns_block_answer, report switches) and detections are queued in the spool
 * every second, for `mtd-agent run` to upload. */
#include "agent/mtd_agent.h"
#include "common/mtd_log.h"
#include "common/mtd_util.h"
#include "webprot/mtd_dnsfilter.h"
#include "webprot/mtd_urlapi.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t g_stop;
static void on_term(int sig) { (void)sig; g_stop = 1; }

/* Queues what the filter detected; kept in memory when the spool is busy (a running
 * `mtd-agent run` holds it) and tried again a second later. */
static void flush(mtd_state *st, mtd_webevents *we)
{
    if (we && mtd_webevents_pending(we))
        mtd_agent_queue_events(st, mtd_agent_drain_events, we);
}

int mtd_cmd_dns_filter(int argc, char **argv)
{
    static const mtd_optspec specs[] = {
        {"--listen", MTD_ARG_ONE}, {"--upstream", MTD_ARG_ONE}, {"--feed", MTD_ARG_MANY},
        {"--state", MTD_ARG_ONE}, {"--api-socket", MTD_ARG_ONE}, {"--api-listen", MTD_ARG_ONE},
        {"--timeout-ms", MTD_ARG_ONE}, {NULL, 0}};
    static mtd_args a;
    static mtd_state st;
    int64_t t0 = mtd_monotonic_ns();
    if (mtd_agent_args(argc, argv, specs, &a))
        return 1;
    if (!mtd_args_get(&a, "--listen") || !mtd_args_get(&a, "--upstream") || a.npos)
        return mtd_agent_usage("dns-filter");
    int with_state = mtd_args_get(&a, "--state") != NULL;
    if (with_state && mtd_agent_state(&a, &st))
        return 1;
    mtd_rep *rep;
    long long tmo;
    char why[600];
    if (mtd_args_int(&a, "--timeout-ms", 50, 60000, 2000, &tmo, why, sizeof why) != 0)
        return mtd_agent_fail("%s", why);
    if (mtd_agent_open_rep(&a, with_state ? &st.policy : NULL, &rep))
        return 1;
    mtd_webevents *we = with_state ? mtd_webevents_new(&st.policy) : NULL;
    mtd_dnsfilter_opts o = {.listen = mtd_args_get(&a, "--listen"), .upstream = mtd_args_get(&a, "--upstream"),
                            .null_ip = with_state && st.policy.dns_block_answer == MTD_DNSANS_NULL_IP,
                            .timeout_ms = (int)tmo, .events = we};
    mtd_urlapi_opts ao = {mtd_args_get(&a, "--api-socket"), mtd_args_get(&a, "--api-listen"), we};
    mtd_dnsfilter *f = NULL;
    mtd_urlapi *api = NULL;
    int rc = 0;
    if (mtd_dnsfilter_start(&o, rep, &f, why, sizeof why) != 0)
        rc = mtd_agent_fail("dns-filter: %s", why);
    else if ((ao.socket_path || ao.listen) && mtd_urlapi_start(&ao, rep, &api, why, sizeof why) != 0)
        rc = mtd_agent_fail("dns-filter: %s", why);
    if (rc == 0) {
        signal(SIGTERM, on_term);
        signal(SIGINT, on_term);
        printf("dns-filter: serving %s (UDP and TCP), forwarding to %s, %zu entries", o.listen, o.upstream,
               mtd_rep_entries(rep));
        if (api && ao.listen)
            printf("; URL check API on 127.0.0.1:%u", mtd_urlapi_port(api));
        printf("; ready in %.1f ms\n", (mtd_monotonic_ns() - t0) / 1e6);
        fflush(stdout);
        while (!g_stop) {
            usleep(200 * 1000);
            static int tick;
            if (with_state && ++tick % 5 == 0)
                flush(&st, we);
        }
    }
    mtd_urlapi_stop(api);
    if (f) {
        mtd_dnsfilter_stats s;
        mtd_dnsfilter_stats_get(f, &s);
        mtd_log(MTD_LOG_INFO, "dns", "queries=%llu blocked=%llu forwarded=%llu servfail=%llu formerr=%llu tcp=%llu",
                (unsigned long long)s.queries, (unsigned long long)s.blocked, (unsigned long long)s.forwarded,
                (unsigned long long)s.servfail, (unsigned long long)s.formerr, (unsigned long long)s.tcp_queries);
    }
    mtd_dnsfilter_stop(f);
    if (with_state)
        flush(&st, we);
    mtd_webevents_free(we);
    mtd_rep_close(rep);
    return rc;
}
