/* cmd_run: `mtd-agent run`: one collection round (or a loop of them): fetch the
 * policy, collect every source, pass each event through the privacy gate into the
 * spool, then drain the spool to the collector. */
#include "agent/mtd_agent.h"
#include "agent/mtd_runweb.h"
#include "collect/mtd_apps.h"
#include "collect/mtd_sources.h"
#include "usage/mtd_actions.h"
#include "usage/mtd_crash.h"
#include "common/mtd_err.h"
#include "common/mtd_file.h"
#include "common/mtd_log.h"
#include "uplink/mtd_feedsync.h"
#include "common/mtd_util.h"
#include "uplink/mtd_uplink.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int collect_round(mtd_state *st, mtd_spool *sp, const mtd_args *a)
{
    mtd_agent_queue x;
    mtd_agent_queue_init(&x, st, sp);
    mtd_sources_cfg cfg = {.state_dir = st->dir, .android_root = st->android_root,
                           .ios_backup = st->ios_backup,
                           .usage_ldp = st->policy.usage_privacy == MTD_USAGE_LDP,
                           .usage_epsilon_milli = st->policy.usage_epsilon_milli,
                           .agent_version = MTD_AGENT_VERSION, .agent_package = MTD_AGENT_PACKAGE,
                           .device_id_source = st->device_id_source};
    json_t *apps_next = NULL, *apps = NULL;
    cfg.apps_list = &apps;
    int r = mtd_sources_collect(&cfg, mtd_agent_queue_emit, &x, &apps_next);
    mtd_threats *posture = NULL;
    if (r == 0)
        r = mtd_agent_posture_round(st, a, mtd_agent_queue_emit, &x, &posture);
    mtd_appscan *scan = NULL;
    if (r == 0)
        r = mtd_agent_appscan_round(st, a, apps, mtd_agent_queue_emit, &x, &scan);
    json_decref(apps);
    int c = mtd_spool_commit(sp);
    if (r || c) {
        json_decref(apps_next);
        mtd_threats_close(posture);
        mtd_appscan_close(scan);
        return mtd_agent_fail("could not queue events: %s", mtd_strerror(r ? r : c));
    }
    if (posture) /* the findings are durable in the spool: the tracker may advance */
        mtd_threats_commit(posture);
    mtd_threats_close(posture);
    if (scan)
        mtd_appscan_commit(scan);
    mtd_appscan_close(scan);
    /* only now that the changes are durable in the spool does the inventory advance */
    if (apps_next)
        mtd_apps_commit(&cfg, apps_next);
    mtd_crash_commit(&cfg); /* crash reports sent go once */
    mtd_actions_commit(st->dir);
    json_decref(apps_next);
    /* said only once the commit is durable: tests kill the agent and hold it to this */
    for (int i = 0; i < x.queued && i < 64; i++)
        mtd_log(MTD_LOG_DEBUG, "spool", "spooled event_id=%s", x.ids[i]);
    mtd_log(MTD_LOG_INFO, "run", "queued=%d dropped_fields=%llu refused=%llu", x.queued,
            (unsigned long long)x.gate.stats.dropped_fields,
            (unsigned long long)x.gate.stats.refused);
    return 0;
}

static int upload(mtd_state *st, mtd_spool *sp, int once)
{
    mtd_uplink_opts o;
    mtd_uplink_opts_default(&o);
    if (once)
        o.max_attempts = 3, o.cap_ms = 2000;
    mtd_uplink_stats s;
    char why[512] = "";
    int r = mtd_uplink_drain(st, sp, &o, &s, why, sizeof why);
    mtd_spool_stats ss;
    mtd_spool_stats_get(sp, &ss);
    if (r)
        return mtd_agent_fail("collector unreachable (%s); %llu %s queued", why,
                              (unsigned long long)ss.records,
                              mtd_plural((long long)ss.records, "event stays", "events stay"));
    printf("sent %llu %s in %llu %s%s; %llu queued\n", (unsigned long long)s.records,
           mtd_plural((long long)s.records, "event", "events"), (unsigned long long)s.batches,
           mtd_plural((long long)s.batches, "batch", "batches"),
           s.rejected_batches ? " (some rejected: see rejected.jsonl)" : "",
           (unsigned long long)ss.records);
    return s.rejected_batches ? 1 : 0;
}

/* Uploads what is queued now (web protection's detections between rounds). */
static void upload_now(mtd_state *st)
{
    mtd_spool *sp;
    if (mtd_agent_open_spool(st, &sp) == 0) {
        upload(st, sp, 1);
        mtd_spool_close(sp);
    }
}

static volatile sig_atomic_t g_stop;
static void on_term(int sig) { (void)sig; g_stop = 1; }

int mtd_cmd_run(int argc, char **argv)
{
    static const mtd_optspec specs[] = {{"--state", MTD_ARG_ONE}, {"--once", MTD_ARG_FLAG},
                                        {"--interval", MTD_ARG_ONE}, {"--no-upload", MTD_ARG_FLAG},
                                        {"--dns-listen", MTD_ARG_ONE}, {"--dns-upstream", MTD_ARG_ONE},
                                        {"--api-listen", MTD_ARG_ONE}, {"--vulns", MTD_ARG_MANY},
                                        {"--scan-interval", MTD_ARG_ONE}, {NULL, 0}};
    mtd_args a;
    mtd_state st;
    if (mtd_agent_args(argc, argv, specs, &a))
        return 1;
    long long interval;
    char why[512];
    /* at least 10 s: "--interval 0" (or "abc", once read as 0) looped without a pause */
    if (mtd_args_int(&a, "--interval", 10, 604800, 900, &interval, why, sizeof why) != 0)
        return mtd_agent_fail("%s", why);
    long long scan_every;
    if (mtd_args_int(&a, "--scan-interval", 60, 30 * 86400, 86400, &scan_every, why, sizeof why) != 0)
        return mtd_agent_fail("%s", why);
    if (mtd_agent_state(&a, &st))
        return 1;
    if (access(st.dir, W_OK | X_OK) != 0) /* one line now, rather than each write failing */
        return mtd_agent_fail("--state %s: %s (the agent keeps its queue and policy there)", st.dir,
                              mtd_strerror(mtd_errno_code(errno)));
    int once = mtd_args_has(&a, "--once");
    int offline = mtd_args_has(&a, "--no-upload");
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    int rc = 0;
    mtd_runweb *web = once ? NULL : mtd_runweb_new(&a, &st);
    do {
        int r = offline ? 0 : mtd_uplink_fetch_policy(&st, why, sizeof why);
        if (r == MTD_EAUTH)
            return mtd_agent_fail("the collector refused this device's credential: %s", why);
        if (r)
            mtd_log(MTD_LOG_WARN, "run", "policy not refreshed (%s); using the last one", why);
        mtd_feedsync_stats fs;
        if (!offline && mtd_feedsync(&st, &fs, why, sizeof why) != 0)
            mtd_log(MTD_LOG_WARN, "run", "feeds not refreshed (%s); keeping the last ones", why);
        mtd_runweb_round(web, &st);
        mtd_spool *sp;
        if (mtd_agent_open_spool(&st, &sp)) {
            mtd_runweb_free(web);
            return 1;
        }
        rc = collect_round(&st, sp, &a);
        if (rc == 0 && !offline)
            rc = upload(&st, sp, once);
        mtd_spool_close(sp);
        for (int i = 0; !once && !g_stop && i < interval; i++) {
            sleep(1);
            if (mtd_runweb_tick(web, &st) && !offline)
                upload_now(&st);
        }
    } while (!once && !g_stop);
    mtd_runweb_tick(web, &st);
    mtd_runweb_free(web);
    return rc;
}
