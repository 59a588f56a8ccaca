/* mtd_batch: decoding of an uploaded batch, the first code that touches a device's
 * bytes. A batch is one zstd frame (decompressed under MTD_MAX_BATCH_RAW, streaming,
 * with the decoder's window bounded) holding JSON lines, one event per line. The
 * server feeds the frame in as it arrives (mtd_batch_feed), so the compressed body is
 * never held whole, and a decoder is held only while its frame streams in; every
 * event is parsed in place and validated against the schema (mtd_event_parse).
 * Nothing here knows tenants or HTTP: the caller checks the events against the
 * credential, the policy and the consent.
 *
 * The batch owns the decompressed bytes and the event slots, which point into those
 * bytes: free both with mtd_batch_free(). On failure the error names the line and
 * carries the HTTP status and the metric reason to answer with. */
#ifndef MTD_BATCH_H
#define MTD_BATCH_H

#include "common/mtd_buf.h"
#include "schema/mtd_event.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int status;          /* 400, 413, 422 */
    const char *reason;  /* metric label and "error" key */
    char detail[400];
    size_t nevents;      /* events in the rejected batch, as far as known */
} mtd_batch_error;

typedef struct mtd_batch {
    mtd_buf raw;         /* the decompressed JSON lines, decoded in place */
    mtd_event *ev;
    size_t n, cap;
    /* streaming state (mtd_batch_feed) */
    struct ZSTD_DCtx_s *dctx; /* from the pool while the frame streams in */
    int seen;            /* magic bytes checked (5: handed to the decoder) */
    int ended;           /* the frame is complete */
    int failed;          /* the first error, sticky; err says what */
    mtd_batch_error err;
} mtd_batch;

void mtd_batch_init(mtd_batch *b);
void mtd_batch_free(mtd_batch *b);
/* The next bytes of the compressed body, decompressed into b->raw at once. Returns 0
 * or the first error (sticky; b->err has the status and the words). */
int mtd_batch_feed(mtd_batch *b, const uint8_t *in, size_t len);
/* The body has ended: the frame must be complete. 0 or the error, as mtd_batch_feed. */
int mtd_batch_finish(mtd_batch *b);
/* Bytes the batch holds now (decompressed text and decoder), for the memory budget. */
size_t mtd_batch_memory(const mtd_batch *b);
/* Splits b->raw into lines and parses each into b->ev. */
int mtd_batch_parse(mtd_batch *b, mtd_batch_error *err);
/* Feed, finish and parse a whole body at once (tools, fuzzing). */
int mtd_batch_decode(const uint8_t *body, size_t len, mtd_batch *b, mtd_batch_error *err);

#endif
