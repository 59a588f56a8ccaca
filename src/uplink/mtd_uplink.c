/* mtd_uplink: batches from the spool to the collector; enrollment and policy. */
#include "uplink/mtd_uplink.h"
#include "common/mtd_buf.h"
#include "common/mtd_err.h"
#include "common/mtd_file.h"
#include "common/mtd_log.h"
#include "common/mtd_util.h"
#include "privacy/mtd_ledger.h"
#include "privacy/mtd_policy_check.h"
#include "uplink/mtd_http.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

void mtd_uplink_opts_default(mtd_uplink_opts *o)
{
    o->max_attempts = 6;
    o->base_ms = 200;
    o->cap_ms = 30000;
    o->batch_records = 2000;
    o->batch_bytes = 4u << 20;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* The records a batch covers: spool sequence numbers first..last. */
typedef struct {
    uint64_t first, last;
} seq_range;

/* The batch key: a digest of this enrollment's credential and the range of spool
 * sequence numbers the batch covers. Sequence numbers are stable across restarts, and
 * a batch sent once is sent again over the same range (see pin_range), so its every
 * resend carries the same key, even when consent revocation purged some of its
 * records since. The collector stores a key once; it keeps no per-event index to
 * catch an event re-sent under another key (bench_ingest: such an index cost the
 * single writer a third of its rate). The credential keeps the keys of a re-enrolled
 * device (whose sequence numbers start again) from colliding with its old ones. */
static void batch_key(const mtd_state *st, seq_range rg, char out[45])
{
    uint8_t d[32];
    char ids[400];
    int n = snprintf(ids, sizeof ids, "%s|%llu-%llu", st->credential,
                     (unsigned long long)rg.first, (unsigned long long)rg.last);
    mtd_sha256(ids, (size_t)n, d);
    mtd_b64url(d, 24, out);
}

/* A batch that may have reached the collector must be sent again exactly: were it
 * re-formed with records spooled since (or with fewer, after a change of batch size)
 * its key would change and the collector would store its events twice. So before its
 * first attempt the batch's range goes durably to STATE/uplink.range, and while the
 * spool's head is inside that range the next batch ends where it ended. */
static int pin_range(const mtd_state *st, mtd_spool *sp, mtd_spool_batch *b, seq_range *rg,
                     char *why, size_t wl)
{
    char path[1200], line[64];
    unsigned long long f, l;
    mtd_state_path(st, "uplink.range", path, sizeof path);
    *rg = (seq_range){b->recs[0].seq, b->recs[b->n - 1].seq};
    if (mtd_file_read_line(path, line, sizeof line) == 0 && sscanf(line, "%llu %llu", &f, &l) == 2 &&
        f <= rg->first && rg->first <= l) {
        /* the whole rest of the range, even past smaller batch limits (a new version):
         * the acknowledgement covers the range, so a record of it left out would be
         * acknowledged unsent */
        int r;
        if (rg->last < l) {
            mtd_spool_batch_free(b);
            if ((r = mtd_spool_peek(sp, SIZE_MAX, SIZE_MAX, b)) != 0 || b->n == 0) {
                snprintf(why, wl, "could not read the spool again: %s", mtd_strerror(r ? r : MTD_EIO));
                return r ? r : MTD_EIO;
            }
        }
        while (b->n > 1 && b->recs[b->n - 1].seq > l)
            free(b->recs[--b->n].data);
        *rg = (seq_range){f, l};
        return 0;
    }
    snprintf(line, sizeof line, "%llu %llu\n", (unsigned long long)rg->first, (unsigned long long)rg->last);
    int r = mtd_file_write_atomic(path, line, strlen(line), 0600);
    if (r)
        snprintf(why, wl, "could not record the batch's range in %s: %s", path, mtd_strerror(r));
    return r;
}

static int compress_batch(const mtd_spool_batch *b, mtd_buf *out)
{
    mtd_buf raw;
    mtd_buf_init(&raw, 0);
    int r = 0;
    for (size_t i = 0; i < b->n && r == 0; i++) {
        r = mtd_buf_append(&raw, b->recs[i].data, b->recs[i].len);
        if (r == 0)
            r = mtd_buf_append(&raw, "\n", 1);
    }
    size_t bound = ZSTD_compressBound(raw.len);
    if (r == 0 && (r = mtd_buf_reserve(out, bound)) == 0) {
        size_t n = ZSTD_compress(out->data, bound, raw.data, raw.len, 3);
        if (ZSTD_isError(n))
            r = MTD_EIO;
        else
            out->len = n;
    }
    mtd_buf_free(&raw);
    return r;
}

void mtd_uplink_http_opts(const mtd_state *st, mtd_http_opts *h)
{
    memset(h, 0, sizeof *h);
    h->ca_file = st->ca_file[0] ? st->ca_file : NULL;
    h->pin = st->pin_sha256[0] ? st->pin_sha256 : NULL;
    h->bearer = st->credential;
    h->timeout_s = 60;
}

static void ledger_write(mtd_state *st, const mtd_spool_batch *b, const char *key,
                         const char *file)
{
    const uint8_t **recs = calloc(b->n, sizeof *recs);
    size_t *lens = calloc(b->n, sizeof *lens);
    for (size_t i = 0; recs && lens && i < b->n; i++) {
        recs[i] = b->recs[i].data;
        lens[i] = b->recs[i].len;
    }
    char path[1200];
    mtd_state_path(st, file, path, sizeof path);
    if (recs && lens)
        mtd_ledger_append(path, key, recs, lens, b->n);
    free(recs);
    free(lens);
}

/* Drops the records the tenant's current policy forbids: they were queued under an
 * earlier one (report_connections was all, now off), the tenant no longer wants them,
 * and the collector, which checks every event against the current policy, would refuse
 * the whole batch with them, the allowed records too. Dropping changes neither the
 * batch's range nor its key, as a consent purge does not. Returns how many. */
static size_t drop_forbidden(const mtd_state *st, mtd_spool_batch *b)
{
    size_t kept = 0;
    for (size_t i = 0; i < b->n; i++) {
        json_t *j = json_loadb((const char *)b->recs[i].data, b->recs[i].len, 0, NULL);
        const mtd_event_type *ev = mtd_schema_event(json_string_value(json_object_get(j, "event")));
        mtd_fieldview view = mtd_fieldview_json(j);
        const char *reason;
        char why[300];
        /* a record that is not an event of the schema is the collector's to refuse */
        int forbidden = ev && mtd_policy_check_event(&st->policy, st->consent, ev, &view, &reason, why,
                                                     sizeof why) == MTD_EPOLICY;
        json_decref(j);
        if (forbidden)
            free(b->recs[i].data);
        else
            b->recs[kept++] = b->recs[i];
    }
    size_t dropped = b->n - kept;
    b->n = kept;
    return dropped;
}

/* Sends one batch, retrying transient failures. 0 = acknowledged or dead-lettered. */
static int send_batch(mtd_state *st, mtd_spool *sp, mtd_spool_batch *b,
                      const mtd_uplink_opts *o, mtd_uplink_stats *s, char *why, size_t wl)
{
    char key[48], url[700], keyhdr[80];
    seq_range rg;
    if (pin_range(st, sp, b, &rg, why, wl) != 0)
        return MTD_EIO; /* unpinned, a resend could be re-formed and stored twice */
    size_t dropped = drop_forbidden(st, b);
    if (dropped) {
        mtd_log(MTD_LOG_WARN, "uplink", "%zu queued record%s the tenant's current policy forbids dropped, not sent",
                dropped, dropped == 1 ? "" : "s");
        s->policy_dropped += dropped;
    }
    if (b->n == 0) { /* nothing left to send: the range is done */
        mtd_spool_ack(sp, rg.last);
        return 0;
    }
    batch_key(st, rg, key);
    snprintf(url, sizeof url, "%s/v1/batches", st->server);
    snprintf(keyhdr, sizeof keyhdr, "Idempotency-Key: %s", key);
    const char *hdrs[] = {"Content-Type: application/x-ndjson", "Content-Encoding: zstd", keyhdr, NULL};
    mtd_buf body;
    mtd_buf_init(&body, 0);
    int r = compress_batch(b, &body);
    mtd_http_opts h;
    mtd_uplink_http_opts(st, &h);
    for (int attempt = 0; r == 0; attempt++) {
        mtd_http_resp resp;
        r = mtd_http_request(&h, "POST", url, hdrs, body.data, body.len, &resp, why, wl);
        long status = r ? 0 : resp.status;
        long retry_after = r ? -1 : resp.retry_after_s;
        if (status == 200) {
            json_t *j = json_loadb((char *)resp.body.data, resp.body.len, 0, NULL);
            s->replayed += json_is_true(json_object_get(j, "replayed"));
            json_decref(j);
            ledger_write(st, b, key, "ledger.jsonl");
            mtd_spool_ack(sp, rg.last);
            s->batches++;
            s->records += b->n;
        } else if (status >= 400 && status < 500 && status != 429 && status != 408) {
            mtd_http_error_text(&resp, why, wl);
            mtd_log(MTD_LOG_ERROR, "uplink", "batch %s rejected: %s; moved to rejected.jsonl", key, why);
            /* it left the device, so the ledger shows it; rejected.jsonl keeps it for
             * a person to look at */
            ledger_write(st, b, key, "ledger.jsonl");
            ledger_write(st, b, key, "rejected.jsonl");
            mtd_spool_ack(sp, rg.last);
            s->rejected_batches++;
            s->rejected_records += b->n;
        }
        if (!r)
            mtd_http_resp_free(&resp);
        if (status && (status < 500 && status != 429 && status != 408))
            break;
        if (attempt + 1 >= o->max_attempts) {
            if (status)
                snprintf(why, wl, "collector answered HTTP %ld after %d attempts", status, attempt + 1);
            r = MTD_ENET;
            break;
        }
        /* Retry-After is the least wait; up to half of it again, at random, so that a
         * fleet turned away together (a database outage ending) does not come back in
         * one wave */
        if (retry_after > o->cap_ms / 1000)
            retry_after = o->cap_ms / 1000; /* a collector's header, not trusted to be sane */
        long delay = retry_after >= 0 ? retry_after * 1000 + mtd_backoff_ms(0, (int)(retry_after * 500), o->cap_ms)
                                      : mtd_backoff_ms(attempt, o->base_ms, o->cap_ms);
        s->retries++;
        sleep_ms(delay > o->cap_ms ? o->cap_ms : delay);
        r = 0;
    }
    mtd_buf_free(&body);
    return r;
}

int mtd_uplink_drain(mtd_state *st, mtd_spool *sp, const mtd_uplink_opts *o,
                     mtd_uplink_stats *stats, char *why, size_t whylen)
{
    memset(stats, 0, sizeof *stats);
    for (;;) {
        mtd_spool_batch b;
        int r = mtd_spool_peek(sp, o->batch_records, o->batch_bytes, &b);
        if (r)
            return r;
        if (b.n == 0) {
            mtd_spool_batch_free(&b);
            return 0;
        }
        r = send_batch(st, sp, &b, o, stats, why, whylen);
        mtd_spool_batch_free(&b);
        if (r)
            return r;
    }
}

int mtd_uplink_get_json(mtd_state *st, const char *path, long timeout_s, json_t **out,
                        char *why, size_t whylen)
{
    char url[900];
    snprintf(url, sizeof url, "%s%s", st->server, path);
    mtd_http_opts h;
    mtd_uplink_http_opts(st, &h);
    h.timeout_s = timeout_s;
    mtd_http_resp resp;
    *out = NULL;
    int r = mtd_http_request(&h, "GET", url, NULL, NULL, 0, &resp, why, whylen);
    if (r)
        return r;
    if (resp.status != 200) {
        mtd_http_error_text(&resp, why, whylen);
        mtd_http_resp_free(&resp);
        return resp.status == 401 ? MTD_EAUTH : MTD_EPROTO;
    }
    *out = json_loadb((char *)resp.body.data, resp.body.len, 0, NULL);
    mtd_http_resp_free(&resp);
    if (!*out) {
        snprintf(why, whylen, "GET %s: the answer is not JSON", path);
        return MTD_EPROTO;
    }
    return 0;
}

int mtd_uplink_fetch_policy(mtd_state *st, char *why, size_t whylen)
{
    json_t *j;
    int r = mtd_uplink_get_json(st, "/v1/policy", 15, &j, why, whylen);
    if (r)
        return r;
    mtd_policy p = st->policy;
    r = mtd_policy_from_json(&p, j, why, whylen);
    json_decref(j);
    if (r == 0) {
        st->policy = p;
        if ((r = mtd_state_save_policy(st)) != 0) /* an empty reason was all it said */
            snprintf(why, whylen, "cannot save it in %s: %s", st->dir, mtd_strerror(r));
    }
    return r;
}

int mtd_uplink_enroll(const char *server, const char *token, const char *ca_file,
                      const char *pin, const char *body, json_t **resp_json, char *why, size_t whylen)
{
    char url[700];
    snprintf(url, sizeof url, "%s/v1/enroll", server);
    mtd_http_opts h = {.ca_file = ca_file, .pin = pin, .bearer = token, .timeout_s = 30};
    const char *hdrs[] = {"Content-Type: application/json", NULL};
    mtd_http_resp resp;
    int r = mtd_http_request(&h, body ? "POST" : "GET", url, body ? hdrs : NULL, body,
                             body ? strlen(body) : 0, &resp, why, whylen);
    if (r)
        return r;
    if (resp.status != 200) {
        mtd_http_error_text(&resp, why, whylen);
        r = resp.status == 401 ? MTD_EAUTH : MTD_EPROTO;
        mtd_http_resp_free(&resp);
        return r;
    }
    json_error_t e;
    *resp_json = json_loadb((char *)resp.body.data, resp.body.len, 0, &e);
    mtd_http_resp_free(&resp);
    if (!*resp_json) {
        snprintf(why, whylen, "enrollment answer is not JSON: %s", e.text);
        return MTD_EPROTO;
    }
    return 0;
}
