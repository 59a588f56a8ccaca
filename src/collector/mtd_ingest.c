/* mtd_ingest: POST /v1/batches, where every byte comes from a device and is treated as
 * hostile. Order of checks: credential (in its own tenant only, from the request head,
 * before the body is read: mtd_route_admit) -> zstd frame, decompressed under a cap as
 * it arrives -> overload (the collector's, the tenant's, the device's batches in flight:
 * 429 at once, on the HTTP thread: mtd_batch_enter) -> on an ingest thread
 * (mtd_ingestq.h) -> idempotency key -> one JSON object per line ->
 * schema (every field declared, every value in bounds, direct identifiers only as
 * pseudonyms) -> tenant and device match the credential -> policy and consent. The
 * batch is stored all-or-nothing; any rejection stores nothing and names the line. */
#include "alerts/mtd_alerts.h"
#include "collector/mtd_auth.h"
#include "collector/mtd_batch.h"
#include "collector/mtd_collector.h"
#include "collector/mtd_inflight.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"
#include "privacy/mtd_policy_check.h"
#include "schema/mtd_schema.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    mtd_collector *c;
    mtd_resp *rs;
    mtd_tenant *tn;
    char cred[65];
    char device[64];
    const mtd_cred_binding *bound;
    mtd_policy policy;
    int consent;
} batch_ctx;

static int idem_key_ok(const char *k)
{
    size_t n = k ? strlen(k) : 0;
    return n >= 8 && n <= 128 &&
           strspn(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") == n;
}

static int reject(batch_ctx *b, int status, const char *reason, size_t nevents, const char *fmt,
                  const char *a1, size_t line)
{
    char detail[512];
    snprintf(detail, sizeof detail, fmt, line, a1);
    mtd_metrics_rejected(&b->c->metrics, reason, nevents ? nevents : 1);
    mtd_resp_error(b->rs, status, reason, "%s", detail);
    return MTD_EINVAL;
}

/* An envelope identity of the event against the one bound at enrollment: absent, or
 * equal to it (a device set upn and org_id to anything, and `user export` listed its
 * events under the victim). */
static int same_identity(const mtd_event *e, const char *field, const char *bound)
{
    size_t n;
    const char *v = mtd_event_str(e, field, &n);
    return !v || (n == strlen(bound) && !memcmp(v, bound, n));
}

static int check_identity(batch_ctx *b, const mtd_event *e, size_t idx, size_t n)
{
    static const char *const fields[] = {"upn", "dir_user_id", "dir_device_id", "org_id"};
    const mtd_cred_binding *bd = b->bound;
    const char *want[] = {bd->upn, bd->dir_user_id, bd->dir_device_id, bd->org_id};
    char why[120];
    for (int i = 0; i < 4; i++)
        if (!same_identity(e, fields[i], want[i])) {
            snprintf(why, sizeof why, "%s is not the one the credential was bound to at enrollment", fields[i]);
            return reject(b, 403, "wrong_identity", n, "event %zu: %s", why, idx);
        }
    return 0;
}

/* Checks that one event belongs to the calling device and tenant and obeys policy. */
static int check_event(batch_ctx *b, const mtd_event *e, size_t idx, size_t n)
{
    char why[400];
    size_t tl, dl;
    const char *tid = mtd_event_str(e, "tenant_id", &tl);
    const char *dev = mtd_event_str(e, "device_id", &dl);
    if (tl != strlen(b->tn->id) || memcmp(tid, b->tn->id, tl) != 0)
        return reject(b, 403, "wrong_tenant", n, "event %zu: %s", "tenant_id is not the credential's tenant", idx);
    if (dl != strlen(b->device) || memcmp(dev, b->device, dl) != 0)
        return reject(b, 403, "wrong_device", n, "event %zu: %s", "device_id is not the credential's device", idx);
    if (check_identity(b, e, idx, n) != 0)
        return MTD_EPOLICY;
    const char *reason;
    mtd_fieldview view = mtd_fieldview_event(e);
    if (mtd_policy_check_event(&b->policy, b->consent, e->type, &view, &reason, why, sizeof why) != 0)
        return reject(b, 403, reason, n, "event %zu: %s", why, idx);
    if (!strcmp(e->type->name, "consent.change")) { /* later events of the batch see it */
        size_t sl;
        const char *st = mtd_event_str(e, "state", &sl);
        b->consent = sl == 7 && !memcmp(st, "granted", 7);
    }
    return 0;
}

/* Every event of the batch against the credential, the policy and the consent. */
static int authorize(batch_ctx *b, const mtd_batch *bt)
{
    for (size_t i = 0; i < bt->n; i++)
        if (check_event(b, &bt->ev[i], i + 1, bt->n) != 0)
            return MTD_EPOLICY;
    return 0;
}

static void store_batch(batch_ctx *b, const char *key, const mtd_batch *bt, int64_t t0)
{
    int stored = 0;
    int r = mtd_store_ingest(b->tn->store, b->cred, key, bt->ev, bt->n, &stored);
    double secs = (double)(mtd_monotonic_ns() - t0) / 1e9;
    if (r == MTD_EEXIST) {
        mtd_metrics_ingest(&b->c->metrics, secs, 0, 1);
        mtd_resp_json(b->rs, 200, json_pack("{s:s,s:b,s:i}", "idempotency_key", key,
                                            "replayed", 1, "stored", 0));
    } else if (mtd_resp_retry_later(b->rs, r)) {
        /* 503: the agent keeps the batch and sends it again (requests_total counts it) */
    } else if (r) {
        mtd_resp_error(b->rs, 500, "store_error", "batch not stored: %s", mtd_strerror(r));
    } else { /* the store marked the credential used (what revoking an enrollment token's
              * unused credentials spares) in the batch's transaction */
        mtd_metrics_ingest(&b->c->metrics, secs, (uint64_t)stored, 0);
        mtd_alerts_kick(b->c->alerts, b->tn->id); /* its detections become alerts */
        mtd_resp_json(b->rs, 200, json_pack("{s:s,s:b,s:i,s:i}", "idempotency_key", key,
                                            "replayed", 0, "accepted", (int)bt->n, "stored", stored));
    }
}

/* The batch has streamed into rq->batch (decompressed as it arrived). */
static void ingest(batch_ctx *b, mtd_req *rq)
{
    int64_t t0 = mtd_monotonic_ns();
    const char *key = mtd_req_header(rq, "Idempotency-Key");
    if (!idem_key_ok(key)) {
        mtd_resp_error(b->rs, 400, "bad_idempotency_key",
                       "header Idempotency-Key must be 8 to 128 characters of [A-Za-z0-9._-]");
        return;
    }
    /* the device's group's policy (what it was given is what it is held to) and its
     * consent, in one read */
    int r = mtd_store_device_state(b->tn->store, b->device, &b->policy, &b->consent);
    if (r != 0) {
        if (!mtd_resp_retry_later(b->rs, r))
            mtd_resp_error(b->rs, 500, "store_error", "could not read the policy");
        return;
    }
    mtd_batch *bt = rq->batch;
    mtd_batch_error err;
    if (mtd_batch_finish(bt) != 0) {
        mtd_metrics_rejected(&b->c->metrics, bt->err.reason, 1);
        mtd_resp_error(b->rs, bt->err.status, bt->err.reason, "%s", bt->err.detail);
    } else if (mtd_batch_parse(bt, &err) != 0) {
        mtd_metrics_rejected(&b->c->metrics, err.reason, err.nevents);
        mtd_resp_error(b->rs, err.status, err.reason, "%s", err.detail);
    } else if (authorize(b, bt) == 0) {
        store_batch(b, key, bt, t0);
    }
}

static void overloaded(mtd_collector *c, mtd_resp *rs, const char *reason, const char *what)
{
    rs->retry_after = MTD_BATCH_RETRY_AFTER_S;
    mtd_metrics_rejected(&c->metrics, reason, 1);
    mtd_resp_error(rs, 429, reason, "%s; retry after %d s", what, MTD_BATCH_RETRY_AFTER_S);
}

/* The collector's own bounds, read: the words of the refusal, or NULL. */
static const char *collector_busy(mtd_collector *c, int64_t queue_wait_ns)
{
    /* a batch that would wait more than this is better told to come back: the wait is
     * measured, so the bound follows the store's speed, where a count of batches
     * means 0.1 s on a fast disk and seconds on a loaded one */
    if (queue_wait_ns > (int64_t)MTD_BATCH_QUEUE_WAIT_MS * 1000000)
        return "the batches queued have waited too long";
    if (__atomic_load_n(&c->inflight, __ATOMIC_SEQ_CST) >= c->max_inflight)
        return "too many batches in flight";
    return NULL;
}

int mtd_batch_refuse_early(mtd_collector *c, mtd_resp *rs, int64_t queue_wait_ns)
{
    const char *why = collector_busy(c, queue_wait_ns);
    if (!why)
        return 0;
    overloaded(c, rs, "overloaded", why);
    return MTD_EBUSY;
}

/* Runs on the HTTP thread once the body is in: a batch past a bound is answered at
 * once, before it waits anywhere. The unbound credential is answered here too, so a
 * refusal never takes an ingest thread. */
int mtd_batch_enter(mtd_collector *c, mtd_req *rq, mtd_resp *rs, int64_t queue_wait_ns)
{
    const char *device = rq->bound.device_id;
    if (!device[0]) { /* made before credentials were bound at enrollment */
        mtd_metrics_rejected(&c->metrics, "unbound_credential", 1);
        mtd_resp_error(rs, 403, "unbound_credential", "this credential predates device binding; enroll the"
                       " device again (mtd-agent enroll)");
        return MTD_EPERM;
    }
    const char *why = collector_busy(c, queue_wait_ns);
    if (why) {
        overloaded(c, rs, "overloaded", why);
        return MTD_EBUSY;
    }
    if (__atomic_add_fetch(&c->inflight, 1, __ATOMIC_SEQ_CST) > c->max_inflight) {
        __atomic_sub_fetch(&c->inflight, 1, __ATOMIC_SEQ_CST);
        overloaded(c, rs, "overloaded", "too many batches in flight");
        return MTD_EBUSY;
    }
    mtd_inflight_verdict v = mtd_inflight_enter(rq->tn->id, device, c->max_inflight);
    if (v == MTD_INFLIGHT_OK)
        return 0;
    __atomic_sub_fetch(&c->inflight, 1, __ATOMIC_SEQ_CST);
    if (v == MTD_INFLIGHT_TENANT)
        overloaded(c, rs, "tenant_overloaded", "too many batches of this tenant in flight");
    else
        overloaded(c, rs, "device_overloaded", "too many batches of this device in flight");
    return MTD_EBUSY;
}

void mtd_batch_leave(mtd_collector *c, mtd_req *rq)
{
    mtd_inflight_leave(rq->tn->id, rq->bound.device_id);
    __atomic_sub_fetch(&c->inflight, 1, __ATOMIC_SEQ_CST);
}

/* An admitted batch (mtd_batch_enter), on an ingest thread: its reads and its commit
 * may wait, and only this thread waits with it. */
void mtd_handle_batch(mtd_collector *c, mtd_req *rq, mtd_resp *rs)
{
    batch_ctx b = {.c = c, .rs = rs, .tn = rq->tn, .bound = &rq->bound};
    mtd_strlcpy(b.cred, rq->cred, sizeof b.cred);
    mtd_strlcpy(b.device, rq->bound.device_id, sizeof b.device);
    ingest(&b, rq);
}
