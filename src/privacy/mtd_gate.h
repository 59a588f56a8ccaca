/* mtd_gate: the privacy gate, the only path from a source's event to the spool.
 *
 * A source hands the gate an event type and a JSON object of raw fields. The gate looks
 * every field up in the schema (mtd_schema.h) and fails closed: an undeclared field is
 * dropped and counted, an undeclared event type is refused. It applies the tenant's
 * policy (report_urls, report_connections, report_app_details, feature switches,
 * optional_data) and the user's consent, pseudonymizes direct identifiers with the
 * tenant key, adds the envelope (tenant, device and user pseudonyms, time, schema
 * version, a random event ID), and finally validates its own output against the schema
 * as the collector will. What comes out is safe to queue and send.
 *
 * The gate owns nothing but its context copy; the returned event belongs to the
 * caller (json_decref). */
#ifndef MTD_GATE_H
#define MTD_GATE_H

#include "privacy/mtd_policy.h"
#include "privacy/mtd_pseudo.h"
#include "schema/mtd_schema.h"

#include <jansson.h>
#include <stdint.h>

typedef struct {
    mtd_tenant_key key;
    char tenant_id[64];
    char org_id[128];
    /* Envelope identities, already pseudonyms ("" when the MDM gave none). */
    char device_id[MTD_PSEUDO_LEN + 1];
    char dir_device_id[MTD_PSEUDO_LEN + 1];
    char dir_user_id[MTD_PSEUDO_LEN + 1];
    char upn[MTD_PSEUDO_LEN + 1];
    mtd_policy policy;
    int consent; /* the user granted consent to optional data */
} mtd_gate_ctx;

typedef struct {
    uint64_t forwarded;      /* events that passed */
    uint64_t refused;        /* events refused whole (undeclared, policy, consent) */
    uint64_t dropped_fields; /* undeclared or invalid fields removed */
    uint64_t pseudonymized;  /* direct identifiers replaced by pseudonyms */
    uint64_t truncated;      /* URLs cut to their domain or removed by policy */
} mtd_gate_stats;

typedef struct mtd_gate {
    mtd_gate_ctx ctx;
    mtd_gate_stats stats;
} mtd_gate;

void mtd_gate_init(mtd_gate *g, const mtd_gate_ctx *ctx);

/* Passes one event. Returns 0 and *out (the event to queue), or MTD_ESCHEMA (type not
 * declared), MTD_EPOLICY (policy or consent forbids it), MTD_EINVAL (a required field is
 * missing or invalid); why names the reason. The input is not modified. */
int mtd_gate_pass(mtd_gate *g, const char *type, const json_t *fields, json_t **out,
                  char *why, size_t whylen);

/* Cuts a URL to "scheme://host/" (report_urls = domain). out gets "" on a bad URL. */
void mtd_gate_url_to_domain(const char *url, char *out, size_t outlen);

#endif
