/* mtd_spool: the agent's crash-safe on-disk queue of gated events (DESIGN.md section 2).
 *
 * Only the privacy gate appends; only the uplink reads and acknowledges. Records are
 * opaque bytes (one gated event, JSON) with a class: REQUIRED or OPTIONAL (diagnostic
 * and feedback data, which consent revocation purges and the disk cap evicts first).
 *
 * Every record gets a sequence number, increasing for the life of the spool (also
 * across restarts). The uplink peeks the oldest records, uploads them and acknowledges
 * up to the last sequence number the collector confirmed; only then are they deleted.
 * Appends are buffered and made durable by mtd_spool_commit() (group commit: one fsync
 * per batch of appends); a record is "spooled" once the commit that covers it returned 0.
 *
 * Memory: the spool owns its internal state; mtd_spool_batch owns the record copies it
 * holds until mtd_spool_batch_free(). One process uses a spool directory at a time
 * (mtd_spool_open takes an exclusive lock and fails with MTD_EBUSY otherwise). */
#ifndef MTD_SPOOL_H
#define MTD_SPOOL_H

#include <stddef.h>
#include <stdint.h>

typedef struct mtd_spool mtd_spool;

enum { MTD_SPOOL_REQUIRED = 0, MTD_SPOOL_OPTIONAL = 1 };

typedef struct {
    uint64_t max_bytes;   /* disk cap; 0 = unlimited */
    int encrypt;          /* AES-256-GCM at rest; key file in the spool dir (0600) */
} mtd_spool_opts;

typedef struct {
    uint64_t records;        /* live records after recovery */
    uint64_t torn_bytes;     /* bytes dropped from a torn tail */
    uint64_t corrupt_records;/* records skipped for a bad checksum or tag (not at the tail) */
    uint64_t decrypted;      /* records opened to check them: the first live one (the key
                              * check), and any whose checksum does not cover the payload */
    char detail[256];        /* human text when anything was dropped, else "" */
} mtd_spool_recovery;

typedef struct {
    uint64_t seq;
    uint8_t cls;
    uint8_t *data;
    size_t len;
} mtd_spool_rec;

typedef struct {
    mtd_spool_rec *recs;
    size_t n;
} mtd_spool_batch;

typedef struct {
    uint64_t records, bytes;               /* live, on disk */
    uint64_t required_records, optional_records;
    uint64_t evicted_required, evicted_optional; /* by the disk cap, since creation */
    uint64_t purged_optional;              /* by consent revocation, since creation */
    uint64_t corrupt_dropped;  /* failed their tag when a peek read them, since this open */
} mtd_spool_stats;

int mtd_spool_open(const char *dir, const mtd_spool_opts *opts, mtd_spool **out,
                   mtd_spool_recovery *rec);
void mtd_spool_close(mtd_spool *s);

/* Buffers one record; MTD_ETOOBIG over 1 MiB. Not durable until mtd_spool_commit(). */
int mtd_spool_append(mtd_spool *s, uint8_t cls, const void *data, size_t len, uint64_t *seq);
/* Writes and fsyncs everything appended so far; MTD_ENOSPC (nothing corrupted, the
 * uncommitted records stay buffered) when the disk is full. Applies the disk cap. */
int mtd_spool_commit(mtd_spool *s);

/* Copies up to max_records / max_bytes of the oldest committed records. */
int mtd_spool_peek(mtd_spool *s, size_t max_records, size_t max_bytes, mtd_spool_batch *b);
void mtd_spool_batch_free(mtd_spool_batch *b);
/* Deletes every record with seq <= upto (durably). */
int mtd_spool_ack(mtd_spool *s, uint64_t upto);
/* Deletes every OPTIONAL record (consent revoked); *n gets how many. */
int mtd_spool_purge_optional(mtd_spool *s, uint64_t *n);
void mtd_spool_stats_get(mtd_spool *s, mtd_spool_stats *st);

#endif
