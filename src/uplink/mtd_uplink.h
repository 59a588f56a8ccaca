/* mtd_uplink: moves the spool to the collector, and fetches enrollment and policy.
 *
 * mtd_uplink_drain() peeks the oldest records, sends them as one zstd-compressed batch
 * of JSON lines with an Idempotency-Key derived from the records' sequence numbers (so a
 * batch resent after a crash carries the same key and is not stored twice), and acknowledges
 * them in the spool only after the collector confirmed. Transient failures (network,
 * 429, 503, 5xx) are retried with full-jitter exponential backoff, honouring
 * Retry-After; a batch the collector rejects for good (4xx) is moved to the
 * dead-letter file rejected.jsonl in the state directory, so one bad record cannot
 * block the queue and nothing vanishes unseen. */
#ifndef MTD_UPLINK_H
#define MTD_UPLINK_H

#include "agent/mtd_state.h"
#include "spool/mtd_spool.h"

#include <jansson.h>
#include <stdint.h>

typedef struct {
    int max_attempts;     /* per batch before giving up for this round */
    int base_ms, cap_ms;  /* backoff */
    size_t batch_records, batch_bytes;
} mtd_uplink_opts;

typedef struct {
    uint64_t batches, records, replayed, rejected_batches, rejected_records, retries;
    uint64_t policy_dropped; /* queued under an earlier policy that the current one forbids */
} mtd_uplink_stats;

void mtd_uplink_opts_default(mtd_uplink_opts *o);

/* Sends until the spool is empty. MTD_ENET when the collector stayed unreachable. */
int mtd_uplink_drain(mtd_state *st, mtd_spool *sp, const mtd_uplink_opts *o,
                     mtd_uplink_stats *stats, char *why, size_t whylen);

/* GET of a collector path ("/v1/policy") answered 200 with JSON: *out (the caller's).
 * MTD_EAUTH when the credential is refused, MTD_EPROTO for another answer. */
int mtd_uplink_get_json(mtd_state *st, const char *path, long timeout_s, json_t **out,
                        char *why, size_t whylen);

/* GET /v1/policy into st->policy (and policy.json). */
int mtd_uplink_fetch_policy(mtd_state *st, char *why, size_t whylen);

/* GET /v1/enroll (body NULL: the tenant key, org ID and policy, to compute the
 * pseudonyms), then POST /v1/enroll with them (body: a JSON object) for the credential
 * bound to them; *resp gets the JSON answer. */
int mtd_uplink_enroll(const char *server, const char *token, const char *ca_file,
                      const char *pin, const char *body, json_t **resp_json, char *why, size_t whylen);

/* HTTP options for talking to this state's collector: its CA, pin and credential. */
#include "uplink/mtd_http.h"
void mtd_uplink_http_opts(const mtd_state *st, mtd_http_opts *h);
#include "common/mtd_util.h" /* mtd_backoff_ms */

#endif
