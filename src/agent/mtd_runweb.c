/* mtd_runweb: web protection hosted by `mtd-agent run`.
 *
 * A long-running `run` (not --once) given --dns-listen and --dns-upstream starts the
 * DNS filter and the browsers' URL check API (STATE/url-check.sock, and --api-listen)
 * on threads of its own process, once the tenant's policy has web protection on. Each
 * round, after the policy and feeds were fetched, the engine is rebuilt when
 * STATE/feeds/web or the policy's web lists changed, and swapped in while serving.
 * Switched off later, the filter stays up as a plain forwarder (no blocking, nothing
 * reported): the device's resolver points at it, and stopping it would cut its DNS.
 * Detections are moved from the filter's queue into the spool every second and
 * uploaded then, not at the next round. A separate `mtd-agent dns-filter --state` does
 * the same work in a process of its own, for platforms that run it as a service. */
#include "agent/mtd_runweb.h"
#include "common/mtd_log.h"
#include "common/mtd_util.h"
#include "webprot/mtd_dnsfilter.h"
#include "webprot/mtd_urlapi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct mtd_runweb {
    const char *listen, *upstream, *api_listen;
    char api_socket[1100];
    mtd_dnsfilter *f;
    mtd_urlapi *api;
    mtd_rep *rep;
    mtd_webevents *we;
    struct stat feed;  /* STATE/feeds/web as last loaded (st_ino 0: absent) */
    char lists[65];    /* digest of the policy's lists as last loaded */
    int protecting;    /* the engine in force filters (web protection on) */
};

mtd_runweb *mtd_runweb_new(const mtd_args *a, const mtd_state *st)
{
    const char *l = mtd_args_get(a, "--dns-listen"), *u = mtd_args_get(a, "--dns-upstream");
    if (!l || !u)
        return NULL;
    mtd_runweb *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->listen = l;
    w->upstream = u;
    w->api_listen = mtd_args_get(a, "--api-listen");
    mtd_state_path(st, "url-check.sock", w->api_socket, sizeof w->api_socket);
    return w;
}

static void lists_digest(const mtd_policy *p, char out[65])
{
    char buf[2 * MTD_POLICY_LIST_BYTES + 2];
    int n = snprintf(buf, sizeof buf, "%s|%s", p->web_allow, p->web_block);
    mtd_sha256_hex(buf, (size_t)n, out);
}

/* A new engine when the feed, the lists or the switch changed; NULL when unchanged or
 * when it could not be opened (the old one stays). */
static mtd_rep *next_engine(mtd_runweb *w, const mtd_state *st)
{
    char path[1200], lists[65];
    struct stat sb;
    snprintf(path, sizeof path, "%s/feeds/web", st->dir);
    if (stat(path, &sb) != 0)
        memset(&sb, 0, sizeof sb);
    lists_digest(&st->policy, lists);
    int on = st->policy.web_protection;
    if (w->rep && on == w->protecting && sb.st_ino == w->feed.st_ino && sb.st_size == w->feed.st_size &&
        sb.st_mtime == w->feed.st_mtime && !strcmp(lists, w->lists))
        return NULL;
    const char *files[] = {path};
    mtd_rep *rep;
    char why[700];
    int r = mtd_rep_open(files, on && sb.st_ino ? 1 : 0, on ? &st->policy : NULL, &rep, why, sizeof why);
    if (r) {
        mtd_log(MTD_LOG_ERROR, "web", "feed web not loaded (%s); keeping the previous one", why);
        if (w->rep)
            return NULL;
        if (mtd_rep_open(NULL, 0, NULL, &rep, why, sizeof why) != 0)
            return NULL;
    }
    w->feed = sb;
    snprintf(w->lists, sizeof w->lists, "%s", lists);
    w->protecting = on;
    mtd_log(MTD_LOG_INFO, "web", "web protection %s: %zu entries", on ? "on" : "off (forwarding only)",
            mtd_rep_entries(rep));
    return rep;
}

static void start(mtd_runweb *w, const mtd_state *st)
{
    char why[600];
    mtd_dnsfilter_opts o = {.listen = w->listen, .upstream = w->upstream, .events = w->we,
                            .null_ip = st->policy.dns_block_answer == MTD_DNSANS_NULL_IP};
    if (mtd_dnsfilter_start(&o, w->rep, &w->f, why, sizeof why) != 0) {
        mtd_log(MTD_LOG_ERROR, "web", "DNS filter not started (%s); trying again next round", why);
        w->f = NULL;
        return;
    }
    mtd_urlapi_opts ao = {w->api_socket, w->api_listen, w->we};
    if (mtd_urlapi_start(&ao, w->rep, &w->api, why, sizeof why) != 0) {
        mtd_log(MTD_LOG_ERROR, "web", "URL check API not started (%s)", why);
        w->api = NULL;
    }
}

void mtd_runweb_round(mtd_runweb *w, const mtd_state *st)
{
    if (!w || (!w->f && !st->policy.web_protection))
        return; /* not started until the policy turns web protection on */
    if (!w->we)
        w->we = mtd_webevents_new(&st->policy);
    if (!w->we)
        return;
    mtd_webevents_set_policy(w->we, &st->policy);
    mtd_rep *rep = next_engine(w, st);
    if (rep) {
        mtd_rep *old = w->rep;
        w->rep = rep;
        if (w->f)
            mtd_dnsfilter_set_rep(w->f, rep);
        if (w->api)
            mtd_urlapi_set_rep(w->api, rep);
        mtd_rep_close(old); /* no thread uses it once both swaps returned */
    }
    if (!w->f && w->rep)
        start(w, st);
    if (w->f)
        mtd_dnsfilter_set_null_ip(w->f, st->policy.dns_block_answer == MTD_DNSANS_NULL_IP);
}

int mtd_runweb_tick(mtd_runweb *w, mtd_state *st)
{
    if (!w || !w->we || !mtd_webevents_pending(w->we))
        return 0;
    return mtd_agent_queue_events(st, mtd_agent_drain_events, w->we) == 0;
}

void mtd_runweb_free(mtd_runweb *w)
{
    if (!w)
        return;
    mtd_urlapi_stop(w->api);
    mtd_dnsfilter_stop(w->f);
    mtd_rep_close(w->rep);
    mtd_webevents_free(w->we);
    free(w);
}
