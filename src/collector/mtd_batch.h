/* mtd_batch: decoding of an uploaded batch, the first code that touches a device's
 * bytes. A batch is one zstd frame (decompressed under MTD_MAX_BATCH_RAW, streaming,
 * with the decoder's window bounded) holding JSON lines, one event per line; every
 * event is validated against the schema. Nothing here knows tenants or HTTP: the
 * caller checks the events against the credential, the policy and the consent.
 *
 * On failure the error names the line and carries the HTTP status and the metric
 * reason to answer with. The caller owns the returned array. */
#ifndef MTD_BATCH_H
#define MTD_BATCH_H

#include "common/mtd_buf.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int status;          /* 400, 413, 422 */
    const char *reason;  /* metric label and "error" key */
    char detail[400];
    size_t nevents;      /* events in the rejected batch, as far as known */
} mtd_batch_error;

int mtd_batch_decompress(const uint8_t *in, size_t len, mtd_buf *out, mtd_batch_error *err);
/* Splits and validates; on success *events holds every event, in order. */
int mtd_batch_parse(const uint8_t *raw, size_t len, json_t **events, mtd_batch_error *err);
/* Both steps. */
int mtd_batch_decode(const uint8_t *body, size_t len, json_t **events, mtd_batch_error *err);

#endif
