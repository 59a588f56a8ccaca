/* mtd_spool_int: the spool's internals shared by its two files (not a public
 * interface): mtd_spool.c (the queue: append, commit, peek, acknowledge, compaction)
 * and mtd_spool_recover.c (reading the segments back at open). Internal functions
 * carry the mtd_spool__ prefix. */
#ifndef MTD_SPOOL_INT_H
#define MTD_SPOOL_INT_H

#include "common/mtd_buf.h"
#include "spool/mtd_spool.h"

#include <openssl/evp.h>
#include <stdint.h>

#define MAGIC 0x4c4f4f53u /* "SOOL" */
#define HDR 21            /* magic 4, len 4, seq 8, cls 1, crc 4 */
#define MAX_REC (1u << 20)
#define SEAL 28           /* nonce 12 + tag 16 */
#define MAX_WIRE (HDR + MAX_REC + SEAL) /* the largest record on disk */
#define SEG_MAX (8u << 20) /* a segment rolls over past this many bytes */
#define MAX_SEGS 4096
#define LEGACY 0u         /* the segment number standing for spool.log (before segments) */
#define COPY_BUF (1u << 20) /* peeks and compactions read up to this much at a time */

typedef struct {
    uint32_t id;
    uint64_t max_seq, bytes;
} segment;

/* A live record: where its bytes are. */
typedef struct {
    uint64_t seq;
    uint64_t off;  /* of its header in its segment; in wbuf while pending */
    uint32_t seg;  /* segment number */
    uint32_t plen; /* payload bytes on disk (sealed when encrypting) */
    uint8_t cls;
} rec;

struct mtd_spool {
    char dir[1024];
    int lockfd, logfd;
    int rfd;              /* read-only, on segment rfd_seg, for peeks and compactions */
    uint32_t rfd_seg;
    mtd_spool_opts opts;
    uint8_t key[32];
    rec *r;           /* live records r[head..n): committed, then `pending` not yet written */
    size_t head, n, cap;
    size_t pending;
    uint64_t next_seq, acked;
    uint64_t log_bytes;   /* of the current segment */
    segment *segs;        /* on disk, oldest first; the last is current */
    size_t nsegs;
    uint32_t segs_hint;   /* the highest segment number in force or seen by recovery */
    uint64_t live_bytes;  /* on-disk size of the committed live records (for the cap) */
    mtd_spool_stats st;
    /* AES-256-GCM contexts keyed once; each record only sets its nonce, which is this
     * open's random salt and the record's sequence number, so no nonce repeats under
     * the key even if a crash made a sequence number come back */
    EVP_CIPHER_CTX *enc, *dec;
    uint8_t salt[4];
    int key_checked, verify_tags; /* recovery: the key check done; every tag checked */
    mtd_buf wbuf; /* the pending records, sealed */
};

static inline size_t live(const mtd_spool *s) { return s->n - s->head; }
static inline size_t committed(const mtd_spool *s) { return live(s) - s->pending; }
static inline uint64_t rec_bytes(const rec *r) { return HDR + (uint64_t)r->plen; }
static inline size_t plain_len(const mtd_spool *s, const rec *r)
{
    return r->plen - (s->opts.encrypt ? SEAL : 0);
}
static inline segment *current(mtd_spool *s) { return &s->segs[s->nsegs - 1]; }

/* How a record read from disk checks out. */
enum { MTD_SPOOL__BAD, MTD_SPOOL__GOOD, MTD_SPOOL__OLD /* sealed, checksum over the header only: open it */ };

/* The checksum of a record (header and payload); and how one on disk checks out. */
uint32_t mtd_spool__crc(const uint8_t *hdr, const uint8_t *payload, size_t plen);
int mtd_spool__check(const mtd_spool *s, const uint8_t *hdr, uint32_t plen);
/* Opens a sealed payload of len bytes into out; MTD_ECORRUPT when the tag fails. */
int mtd_spool__unseal(const mtd_spool *s, const uint8_t *hdr, const uint8_t *in, size_t len, uint8_t *out);
/* DIR/name, and the file of segment id. */
void mtd_spool__path(const mtd_spool *s, const char *name, char *out, size_t len);
void mtd_spool__seg_path(const mtd_spool *s, uint32_t id, char *out, size_t len);
void mtd_spool__unlink_seg(mtd_spool *s, uint32_t id);
/* Appends x to the index. */
int mtd_spool__push(mtd_spool *s, rec x);
/* Reads every segment in force, in order (mtd_spool_recover.c); *damaged is set when
 * something must be compacted away. */
int mtd_spool__recover(mtd_spool *s, mtd_spool_recovery *rep, int *damaged);

#endif
