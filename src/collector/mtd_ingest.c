/* mtd_ingest: POST /v1/batches, where every byte comes from a device and is treated as
 * hostile. Order of checks: credential (in its own tenant only) -> idempotency key ->
 * overload -> zstd frame, decompressed under a cap -> one JSON object per line ->
 * schema (every field declared, every value in bounds, direct identifiers only as
 * pseudonyms) -> tenant and device match the credential -> policy and consent. The
 * batch is stored all-or-nothing; any rejection stores nothing and names the line. */
#include "collector/mtd_auth.h"
#include "collector/mtd_collector.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"
#include "privacy/mtd_policy_check.h"
#include "schema/mtd_schema.h"

#include <stdio.h>
#include <string.h>
#include <zstd.h>

typedef struct {
    mtd_collector *c;
    mtd_resp *rs;
    mtd_tenant *tn;
    char cred[65];
    char device[64];
    mtd_policy policy;
    int consent;
} batch_ctx;

static int idem_key_ok(const char *k)
{
    size_t n = k ? strlen(k) : 0;
    return n >= 8 && n <= 128 &&
           strspn(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") == n;
}

/* Streams the zstd frame into out, never past MTD_MAX_BATCH_RAW. */
static int decompress(const mtd_buf *in, mtd_buf *out, char *why, size_t wl)
{
    static const uint8_t magic[4] = {0x28, 0xb5, 0x2f, 0xfd};
    if (in->len < 4 || memcmp(in->data, magic, 4) != 0) {
        snprintf(why, wl, "body is not a zstd frame");
        return MTD_EINVAL;
    }
    ZSTD_DCtx *d = ZSTD_createDCtx();
    ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, 23); /* bound decoder memory to 8 MiB */
    ZSTD_inBuffer ib = {in->data, in->len, 0};
    int r = 0;
    size_t ret = 1;
    while (r == 0 && ret != 0) {
        if ((r = mtd_buf_reserve(out, 1 << 16)) != 0) {
            snprintf(why, wl, "batch decompresses to more than %u bytes", MTD_MAX_BATCH_RAW);
            break;
        }
        ZSTD_outBuffer ob = {out->data + out->len, out->cap - out->len - 1, 0};
        ret = ZSTD_decompressStream(d, &ob, &ib);
        out->len += ob.pos;
        if (ZSTD_isError(ret)) {
            snprintf(why, wl, "corrupt zstd data: %s", ZSTD_getErrorName(ret));
            r = MTD_EINVAL;
        } else if (ret != 0 && ib.pos == ib.size && ob.pos == 0) {
            snprintf(why, wl, "truncated zstd frame");
            r = MTD_ETRUNC;
        }
    }
    if (r == 0 && ib.pos != ib.size) {
        snprintf(why, wl, "trailing bytes after the zstd frame");
        r = MTD_EINVAL;
    }
    ZSTD_freeDCtx(d);
    if (out->data)
        out->data[out->len] = 0;
    return r;
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

/* Checks that one event belongs to the calling device and tenant and obeys policy. */
static int check_event(batch_ctx *b, const json_t *e, size_t line, size_t n)
{
    char why[400];
    const mtd_event_type *ev;
    int r = mtd_schema_validate(e, &ev, why, sizeof why);
    if (r)
        return reject(b, r == MTD_ESCHEMA ? 422 : 400, r == MTD_ESCHEMA ? "undeclared" : "invalid",
                      n, "line %zu: %s", why, line);
    if (strcmp(json_string_value(json_object_get(e, "tenant_id")), b->tn->id) != 0)
        return reject(b, 403, "wrong_tenant", n, "line %zu: %s", "tenant_id is not the credential's tenant", line);
    const char *dev = json_string_value(json_object_get(e, "device_id"));
    if (b->device[0] && strcmp(dev, b->device) != 0)
        return reject(b, 403, "wrong_device", n, "line %zu: %s", "device_id is not the credential's device", line);
    if (!b->device[0]) { /* the first event binds the batch; its consent is the stored one */
        snprintf(b->device, sizeof b->device, "%s", dev);
        mtd_store_device_consent(b->tn->store, dev, &b->consent);
    }
    const char *reason;
    if (mtd_policy_check_event(&b->policy, b->consent, ev, e, &reason, why, sizeof why) != 0)
        return reject(b, 403, reason, n, "line %zu: %s", why, line);
    if (!strcmp(ev->name, "consent.change")) /* later events of the batch see the change */
        b->consent = !strcmp(json_string_value(json_object_get(e, "state")), "granted");
    return 0;
}

/* Splits the decompressed body into events, validating each. */
static json_t *parse_lines(batch_ctx *b, mtd_buf *raw)
{
    json_t *events = json_array();
    char *p = (char *)raw->data, *end = p + raw->len;
    size_t line = 0, nlines = 0;
    for (char *q = p; q < end; q++)
        nlines += *q == '\n';
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        line++;
        if (len == 0 || (len == 1 && p[0] == '\r')) {
            p += len + 1;
            continue;
        }
        json_error_t je;
        json_t *e = json_loadb(p, len, JSON_REJECT_DUPLICATES, &je);
        if (!e) {
            reject(b, 400, "bad_json", nlines, "line %zu: %s", je.text, line);
            json_decref(events);
            return NULL;
        }
        json_array_append_new(events, e);
        if (json_array_size(events) > MTD_MAX_BATCH_EVENTS) {
            reject(b, 413, "too_many_events", nlines, "line %zu: %s", "batch has too many events", line);
            json_decref(events);
            return NULL;
        }
        if (check_event(b, e, line, nlines) != 0) {
            json_decref(events);
            return NULL;
        }
        p += len + 1;
    }
    if (json_array_size(events) == 0) {
        reject(b, 400, "empty", 1, "line %zu: %s", "batch holds no events", line);
        json_decref(events);
        return NULL;
    }
    return events;
}

static void store_batch(batch_ctx *b, const char *key, json_t *events, int64_t t0)
{
    int stored = 0;
    int r = mtd_store_ingest(b->tn->store, b->cred, key, events, &stored);
    double secs = (double)(mtd_monotonic_ns() - t0) / 1e9;
    if (r == MTD_EEXIST) {
        mtd_metrics_ingest(&b->c->metrics, secs, 0, 1);
        mtd_resp_json(b->rs, 200, json_pack("{s:s,s:b,s:i}", "idempotency_key", key,
                                            "replayed", 1, "stored", 0));
    } else if (r == MTD_EBUSY) {
        b->rs->retry_after = 1;
        mtd_resp_error(b->rs, 503, "busy", "the tenant store is busy; retry");
    } else if (r) {
        mtd_resp_error(b->rs, 500, "store_error", "batch not stored: %s", mtd_strerror(r));
    } else {
        mtd_metrics_ingest(&b->c->metrics, secs, (uint64_t)stored, 0);
        mtd_resp_json(b->rs, 200, json_pack("{s:s,s:b,s:i,s:i}", "idempotency_key", key,
                                            "replayed", 0, "accepted",
                                            (int)json_array_size(events), "stored", stored));
    }
}

static void ingest(batch_ctx *b, mtd_req *rq)
{
    int64_t t0 = mtd_monotonic_ns();
    const char *key = mtd_req_header(rq, "Idempotency-Key");
    const char *ct = mtd_req_header(rq, "Content-Type");
    char why[300];
    if (!idem_key_ok(key)) {
        mtd_resp_error(b->rs, 400, "bad_idempotency_key",
                       "header Idempotency-Key must be 8 to 128 characters of [A-Za-z0-9._-]");
        return;
    }
    if (!ct || strncmp(ct, "application/x-ndjson", 20) != 0) {
        mtd_resp_error(b->rs, 415, "unsupported_media_type",
                       "Content-Type must be application/x-ndjson (a zstd-compressed batch)");
        return;
    }
    if (mtd_store_policy_get(b->tn->store, &b->policy) != 0) {
        mtd_resp_error(b->rs, 500, "store_error", "could not read the policy");
        return;
    }
    mtd_buf raw;
    mtd_buf_init(&raw, MTD_MAX_BATCH_RAW);
    int r = decompress(&rq->body, &raw, why, sizeof why);
    if (r) {
        mtd_metrics_rejected(&b->c->metrics, r == MTD_ETOOBIG ? "too_large" : "bad_zstd", 1);
        mtd_resp_error(b->rs, r == MTD_ETOOBIG ? 413 : 400, r == MTD_ETOOBIG ? "too_large" : "bad_zstd",
                       "%s", why);
    } else {
        json_t *events = parse_lines(b, &raw);
        if (events)
            store_batch(b, key, events, t0);
        json_decref(events);
    }
    mtd_buf_free(&raw);
}

void mtd_handle_batch(mtd_collector *c, mtd_req *rq, mtd_resp *rs)
{
    batch_ctx b = {.c = c, .rs = rs};
    if (mtd_auth_device(c, rq, rs, &b.tn, b.cred, b.device, sizeof b.device) != 0)
        return;
    if (b.device[0])
        mtd_store_device_consent(b.tn->store, b.device, &b.consent);
    if (__atomic_add_fetch(&c->inflight, 1, __ATOMIC_SEQ_CST) > c->max_inflight) {
        rs->retry_after = 1;
        mtd_metrics_rejected(&c->metrics, "overloaded", 1);
        mtd_resp_error(rs, 429, "overloaded", "too many batches in flight; retry after 1 s");
    } else {
        ingest(&b, rq);
    }
    __atomic_sub_fetch(&c->inflight, 1, __ATOMIC_SEQ_CST);
    mtd_tenants_put(c->tenants, b.tn);
}
