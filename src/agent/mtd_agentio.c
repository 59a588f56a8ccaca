/* mtd_agentio: what the agent's commands share on their way out: the spool, the
 * gate-then-spool queue every event passes, and the reputation engine of --feed. Kept
 * apart from the commands so that mtd-agent-vpn (src/agent/main.c built with
 * MTD_AGENT_VPN_ONLY) links only what the VPN needs, not the uplink's libcurl, the
 * URL API's libmicrohttpd or the scanner's libyara. */
#include "agent/mtd_agent.h"
#include "common/mtd_err.h"
#include "common/mtd_file.h"
#include "common/mtd_log.h"
#include "webprot/mtd_rep.h"
#include "webprot/mtd_webevents.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int mtd_agent_queue_emit(void *vctx, const char *type, json_t *fields)
{
    mtd_agent_queue *x = vctx;
    json_t *out;
    char why[300];
    int r = mtd_gate_pass(&x->gate, type, fields, &out, why, sizeof why);
    json_decref(fields);
    if (r) { /* the policy's refusals are expected; a value a field refuses is a fault */
        mtd_log(r == MTD_EPOLICY ? MTD_LOG_DEBUG : MTD_LOG_WARN, "gate", "not sent: %s", why);
        return 0;
    }
    const mtd_event_type *ev = mtd_schema_event(type);
    char *s = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    uint64_t seq;
    r = s ? mtd_spool_append(x->spool, ev->category == MTD_CAT_REQUIRED ? MTD_SPOOL_REQUIRED
                                                                        : MTD_SPOOL_OPTIONAL,
                             s, strlen(s), &seq)
          : MTD_ENOMEM;
    if (r == 0 && x->queued < 64) {
        const char *id = strstr(s, "\"event_id\":\"");
        id = id ? id + 12 : "?";
        snprintf(x->ids[x->queued], sizeof x->ids[0], "%.*s", (int)strcspn(id, "\""), id);
    }
    free(s);
    if (r)
        x->err = r;
    else
        x->queued++;
    return r;
}

void mtd_agent_queue_init(mtd_agent_queue *q, const mtd_state *st, mtd_spool *sp)
{
    memset(q, 0, sizeof *q);
    q->spool = sp;
    mtd_gate_ctx gctx;
    mtd_state_gate_ctx(st, &gctx);
    mtd_gate_init(&q->gate, &gctx);
}

int mtd_agent_open_spool(const mtd_state *st, mtd_spool **sp)
{
    char dir[1200];
    mtd_state_path(st, "spool", dir, sizeof dir);
    mtd_spool_opts o = {.max_bytes = (uint64_t)st->policy.spool_max_mb << 20, .encrypt = 1};
    mtd_spool_recovery rec;
    memset(&rec, 0, sizeof rec);
    int r = mtd_spool_open(dir, &o, sp, &rec);
    /* the spool writes files of its own (segments, ack) all over: a directory it may
     * not write is said so, whichever of those failed first */
    if (r == MTD_EIO && (access(dir, W_OK) != 0 || access(st->dir, W_OK) != 0) &&
        mtd_errno_code(errno) == MTD_EACCES)
        r = MTD_EACCES;
    if (r)
        return mtd_agent_fail("spool %s: %s", dir, r == MTD_EBUSY ? "in use by another mtd-agent"
                                                                  : mtd_strerror(r));
    if (rec.detail[0])
        mtd_log(MTD_LOG_WARN, "spool", "recovered: %s", rec.detail);
    return 0;
}

int mtd_agent_queue_events(mtd_state *st, size_t (*produce)(void *pctx, mtd_emit_fn emit, void *ectx),
                           void *pctx)
{
    mtd_spool *sp;
    if (mtd_agent_open_spool(st, &sp))
        return 1;
    mtd_agent_queue x;
    mtd_agent_queue_init(&x, st, sp);
    produce(pctx, mtd_agent_queue_emit, &x);
    int r = x.err ? x.err : mtd_spool_commit(sp);
    mtd_spool_close(sp);
    if (r)
        return mtd_agent_fail("could not queue events: %s", mtd_strerror(r));
    mtd_log(MTD_LOG_INFO, "run", "queued=%d refused=%llu", x.queued,
            (unsigned long long)x.gate.stats.refused);
    return 0;
}

/* Opens the reputation engine of --feed (and the state's policy lists). */
int mtd_agent_open_rep(const mtd_args *a, const mtd_policy *pol, mtd_rep **rep)
{
    const char *feeds[64];
    int n = mtd_args_all(a, "--feed", feeds, 64);
    char why[700];
    if (n == 0)
        return mtd_agent_fail("--feed FILE... is required (a database made by feed compile, or feeds)");
    if (mtd_rep_open(feeds, n, pol, rep, why, sizeof why) != 0)
        return mtd_agent_fail("--feed %s", why);
    return 0;
}

size_t mtd_agent_drain_events(void *we, mtd_emit_fn emit, void *ctx)
{
    return mtd_webevents_drain(we, emit, ctx);
}
