/* mtd_spool: a crash-safe on-disk queue in one append-only log file.
 *
 *   DIR/seg-N.log  segments, N increasing; each a run of records: header {magic,
 *                  length, seq, class, CRC-32C of header and
 *                  payload} then the payload (AES-256-GCM sealed when encrypting:
 *                  12-byte nonce = 4-byte per-open salt + seq, ciphertext, 16-byte tag;
 *                  the header is the AAD)
 *   DIR/spool.ack  the highest acknowledged sequence number (written atomically)
 *   DIR/spool.base the lowest segment number in force: segments below it are leftovers
 *                  of a compaction that a crash interrupted, and are ignored
 *   DIR/spool.key  the at-rest key, 0600
 *   DIR/lock       flock()ed by the one process using the spool
 *
 * Appends are buffered and written with one write() and one fdatasync() per commit
 * (group commit) to the newest segment, which rolls over at SEG_MAX bytes. A segment
 * whose records are all acknowledged is deleted. Recovery scans the segments in order,
 * keeps every record whose checksum (and tag) holds, resynchronises past a corrupt
 * record (reported), and cuts a torn tail; then the live records are compacted into one
 * new segment (written whole, renamed into place, made current through spool.base, old
 * segments deleted), as they are when optional records are purged and when the disk cap
 * evicts records. Live records are also kept in memory, which the policy's cap bounds. */
#include "common/mtd_bytes.h"
#include "spool/mtd_spool.h"
#include "common/mtd_buf.h"
#include "common/mtd_crc32c.h"
#include "common/mtd_err.h"
#include "common/mtd_file.h"
#include "common/mtd_util.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#define MAGIC 0x4c4f4f53u /* "SOOL" */
#define HDR 21            /* magic 4, len 4, seq 8, cls 1, crc 4 */
#define MAX_REC (1u << 20)
#define SEAL 28           /* nonce 12 + tag 16 */
#define SEG_MAX (8u << 20) /* a segment rolls over past this many bytes */
#define MAX_SEGS 4096

typedef struct {
    uint32_t id;
    uint64_t max_seq, bytes;
} segment;

typedef struct {
    uint64_t seq;
    uint8_t cls;
    uint8_t *data; /* plaintext */
    size_t len;
} rec;

struct mtd_spool {
    char dir[1024];
    int lockfd, logfd;
    mtd_spool_opts opts;
    uint8_t key[32];
    rec *r;           /* committed, not yet acknowledged, oldest first */
    size_t n, cap;
    size_t pending;   /* the last `pending` entries of r are not yet written */
    uint64_t next_seq, acked;
    uint64_t log_bytes;   /* of the current segment */
    segment *segs;        /* on disk, oldest first; the last is current */
    size_t nsegs;
    uint32_t segs_hint;   /* the highest segment number seen by recovery */
    uint64_t live_bytes;  /* on-disk size of the committed live records (for the cap) */
    mtd_spool_stats st;
    /* AES-256-GCM contexts keyed once; each record only sets its nonce, which is this
     * open's random salt and the record's sequence number, so no nonce repeats under
     * the key even if a crash made a sequence number come back */
    EVP_CIPHER_CTX *enc, *dec;
    uint8_t salt[4];
    mtd_buf wbuf; /* reused by every commit: no page faults of a fresh buffer each time */
};

static void path(const mtd_spool *s, const char *name, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", s->dir, name);
}


static int crypto_init(mtd_spool *s)
{
    s->enc = EVP_CIPHER_CTX_new();
    s->dec = EVP_CIPHER_CTX_new();
    if (!s->enc || !s->dec || mtd_random(s->salt, sizeof s->salt) != 0 ||
        !EVP_EncryptInit_ex(s->enc, EVP_aes_256_gcm(), NULL, s->key, NULL) ||
        !EVP_DecryptInit_ex(s->dec, EVP_aes_256_gcm(), NULL, s->key, NULL))
        return MTD_EIO;
    return 0;
}

/* Seals len bytes of in into out (nonce, ciphertext, tag); hdr is the AAD. */
static int seal(const mtd_spool *s, const uint8_t *hdr, const uint8_t *in, size_t len, uint8_t *out)
{
    int n;
    memcpy(out, s->salt, 4);
    memcpy(out + 4, hdr + 8, 8); /* the sequence number */
    int ok = EVP_EncryptInit_ex2(s->enc, NULL, NULL, out, NULL) &&
             EVP_EncryptUpdate(s->enc, NULL, &n, hdr, HDR - 4) &&
             EVP_EncryptUpdate(s->enc, out + 12, &n, in, (int)len) &&
             EVP_EncryptFinal_ex(s->enc, out + 12 + n, &n) &&
             EVP_CIPHER_CTX_ctrl(s->enc, EVP_CTRL_GCM_GET_TAG, 16, out + 12 + len);
    return ok ? 0 : MTD_EIO;
}

/* Opens a sealed payload of len bytes into out; MTD_ECORRUPT when the tag fails. */
static int unseal(const mtd_spool *s, const uint8_t *hdr, const uint8_t *in, size_t len, uint8_t *out)
{
    int n;
    size_t clen = len - SEAL;
    int ok = EVP_DecryptInit_ex2(s->dec, NULL, NULL, in, NULL) &&
             EVP_DecryptUpdate(s->dec, NULL, &n, hdr, HDR - 4) &&
             EVP_DecryptUpdate(s->dec, out, &n, in + 12, (int)clen) &&
             EVP_CIPHER_CTX_ctrl(s->dec, EVP_CTRL_GCM_SET_TAG, 16, (void *)(in + 12 + clen)) &&
             EVP_DecryptFinal_ex(s->dec, out + n, &n);
    return ok ? 0 : MTD_ECORRUPT;
}

/* The header checksum covers the payload too when it is plaintext; a sealed payload
 * is already covered by its GCM tag, so checksumming it again would only cost time
 * (a torn one still shows as too short, a damaged one fails its tag). */
static uint32_t record_crc(const mtd_spool *s, const uint8_t *hdr, const uint8_t *payload, size_t plen)
{
    uint32_t c = mtd_crc32c(0, hdr, HDR - 4);
    return s->opts.encrypt ? c : mtd_crc32c(c, payload, plen);
}

/* Appends the on-disk form of one record to b. */
static int encode(const mtd_spool *s, const rec *r, mtd_buf *b)
{
    size_t plen = r->len + (s->opts.encrypt ? SEAL : 0);
    uint8_t hdr[HDR];
    mtd_put_le32(hdr, MAGIC);
    mtd_put_le32(hdr + 4, (uint32_t)plen);
    mtd_put_le64(hdr + 8, r->seq);
    hdr[16] = r->cls;
    int e = mtd_buf_reserve(b, HDR + plen);
    if (e)
        return e;
    uint8_t *dst = b->data + b->len + HDR;
    if (s->opts.encrypt) {
        if ((e = seal(s, hdr, r->data, r->len, dst)) != 0)
            return e;
    } else {
        memcpy(dst, r->data, r->len);
    }
    uint32_t crc = record_crc(s, hdr, dst, plen);
    mtd_put_le32(hdr + 17, crc);
    memcpy(b->data + b->len, hdr, HDR);
    b->len += HDR + plen;
    return 0;
}

static uint64_t rec_bytes(const mtd_spool *s, const rec *r)
{
    return HDR + r->len + (s->opts.encrypt ? SEAL : 0);
}

static int push(mtd_spool *s, uint64_t seq, uint8_t cls, const void *data, size_t len)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 256;
        rec *p = realloc(s->r, nc * sizeof *p);
        if (!p)
            return MTD_ENOMEM;
        s->r = p;
        s->cap = nc;
    }
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return MTD_ENOMEM;
    memcpy(copy, data, len);
    s->r[s->n++] = (rec){seq, cls, copy, len};
    return 0;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno == ENOSPC || errno == EFBIG || errno == EDQUOT ? MTD_ENOSPC : MTD_EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void seg_path(const mtd_spool *s, uint32_t id, char *out, size_t len)
{
    snprintf(out, len, "%s/seg-%010u.log", s->dir, id);
}

/* Scans one segment: keeps good records, skips corrupt ones, cuts a torn tail. */
static int recover_file(mtd_spool *s, const char *p, mtd_spool_recovery *rep)
{
    uint8_t *d;
    size_t len;
    int r = mtd_file_read(p, (size_t)1 << 34, &d, &len);
    if (r == MTD_ENOENT)
        return 0;
    if (r)
        return r;
    size_t off = 0, good_end = 0;
    uint8_t *plain = malloc(MAX_REC);
    while (off + HDR <= len && plain) {
        uint32_t plen = mtd_le32(d + off + 4);
        if (mtd_le32(d + off) != MAGIC || plen > MAX_REC + SEAL || off + HDR + plen > len ||
            mtd_le32(d + off + 17) != record_crc(s, d + off, d + off + HDR, plen)) {
            /* resynchronise: look for the next header that checks out */
            size_t next = off + 1;
            while (next + HDR <= len && mtd_le32(d + next) != MAGIC)
                next++;
            if (next + HDR > len)
                break; /* nothing valid after this: a torn tail */
            rep->corrupt_records++;
            off = next;
            continue;
        }
        uint64_t seq = mtd_le64(d + off + 8);
        const uint8_t *payload = d + off + HDR;
        size_t n = plen;
        if (s->opts.encrypt) {
            if (plen < SEAL || unseal(s, d + off, payload, plen, plain) != 0) {
                rep->corrupt_records++;
                off += HDR + plen;
                continue;
            }
            payload = plain;
            n = plen - SEAL;
        }
        /* a record already seen (a compaction cut short by a crash) is kept once */
        if (seq > s->acked && seq >= s->next_seq && (r = push(s, seq, d[off + 16], payload, n)) != 0)
            break;
        if (seq >= s->next_seq)
            s->next_seq = seq + 1;
        off += HDR + plen;
        good_end = off;
    }
    free(plain);
    (void)good_end;
    rep->torn_bytes += len > off ? len - off : 0; /* what no valid record covers at the end */
    free(d);
    return r;
}

static int by_id(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The segment numbers on disk at or above spool.base, in order; older ones deleted. */
static int list_segments(mtd_spool *s, uint32_t **ids, size_t *n)
{
    char p[1200], line[40];
    path(s, "spool.base", p, sizeof p);
    uint32_t base = mtd_file_read_line(p, line, sizeof line) == 0 ? (uint32_t)strtoul(line, NULL, 10) : 0;
    *ids = NULL;
    *n = 0;
    DIR *d = opendir(s->dir);
    if (!d)
        return MTD_EIO;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        unsigned id;
        char tail[8];
        if (sscanf(e->d_name, "seg-%10u.%3s", &id, tail) != 2 || strcmp(tail, "log"))
            continue;
        if (id < base) { /* a leftover of an interrupted compaction */
            seg_path(s, id, p, sizeof p);
            unlink(p);
            continue;
        }
        uint32_t *np = *n < MAX_SEGS ? realloc(*ids, (*n + 1) * sizeof *np) : NULL;
        if (!np)
            break;
        *ids = np;
        (*ids)[(*n)++] = id;
    }
    closedir(d);
    if (*n)
        qsort(*ids, *n, sizeof **ids, by_id);
    return 0;
}

/* Reads every segment in order; also takes over a spool.log from before segments. */
static int recover(mtd_spool *s, mtd_spool_recovery *rep)
{
    char p[1200];
    uint32_t *ids;
    size_t n;
    int r = list_segments(s, &ids, &n);
    path(s, "spool.log", p, sizeof p);
    if (r == 0 && access(p, F_OK) == 0 && (r = recover_file(s, p, rep)) == 0)
        unlink(p);
    for (size_t i = 0; r == 0 && i < n; i++) {
        seg_path(s, ids[i], p, sizeof p);
        r = recover_file(s, p, rep);
        s->segs_hint = ids[i];
    }
    /* the segments read are known, so the compaction that follows deletes them */
    s->segs = n ? calloc(n, sizeof *s->segs) : NULL;
    for (size_t i = 0; s->segs && i < n; i++)
        s->segs[s->nsegs++] = (segment){ids[i], 0, 0};
    free(ids);
    if (rep->torn_bytes || rep->corrupt_records)
        snprintf(rep->detail, sizeof rep->detail, "spool: %llu corrupt records skipped, %llu torn bytes cut",
                 (unsigned long long)rep->corrupt_records, (unsigned long long)rep->torn_bytes);
    return r;
}

/* Compacts: the live committed records into one new segment (written whole and renamed
 * into place), made current through spool.base, then the old segments are deleted. */
static int rewrite(mtd_spool *s)
{
    mtd_buf b;
    mtd_buf_init(&b, 0);
    int r = 0;
    uint64_t max_seq = 0;
    for (size_t i = 0; i < s->n - s->pending && r == 0; i++) {
        r = encode(s, &s->r[i], &b);
        max_seq = s->r[i].seq;
    }
    uint32_t id = (s->nsegs ? s->segs[s->nsegs - 1].id : s->segs_hint) + 1;
    char p[1200], base[1200], line[24];
    seg_path(s, id, p, sizeof p);
    if (r == 0)
        r = mtd_file_write_atomic(p, b.data ? b.data : (uint8_t *)"", b.len, 0600);
    path(s, "spool.base", base, sizeof base);
    snprintf(line, sizeof line, "%u\n", id);
    if (r == 0)
        r = mtd_file_write_atomic(base, line, strlen(line), 0600);
    if (r == 0) {
        for (size_t i = 0; i < s->nsegs; i++) {
            char old[1200];
            seg_path(s, s->segs[i].id, old, sizeof old);
            unlink(old);
        }
        s->nsegs = 0;
        if (s->logfd >= 0)
            close(s->logfd);
        s->logfd = open(p, O_WRONLY | O_APPEND | O_CLOEXEC);
        s->log_bytes = s->live_bytes = b.len; /* exactly the live committed records */
        segment *ns = realloc(s->segs, sizeof *ns);
        if (s->logfd < 0 || !ns)
            r = MTD_EIO;
        else {
            s->segs = ns;
            s->segs[0] = (segment){id, max_seq, b.len};
            s->nsegs = 1;
        }
    }
    mtd_buf_free(&b);
    return r;
}

/* Starts a new, empty current segment once the current one is full. */
static int roll(mtd_spool *s)
{
    if (s->log_bytes < SEG_MAX || s->nsegs >= MAX_SEGS)
        return 0;
    uint32_t id = s->segs[s->nsegs - 1].id + 1;
    char p[1200];
    seg_path(s, id, p, sizeof p);
    int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
    segment *ns = realloc(s->segs, (s->nsegs + 1) * sizeof *ns);
    if (fd < 0 || !ns) {
        if (fd >= 0)
            close(fd);
        return MTD_EIO;
    }
    s->segs = ns;
    s->segs[s->nsegs++] = (segment){id, 0, 0};
    close(s->logfd);
    s->logfd = fd;
    s->log_bytes = 0;
    return mtd_fsync_dir(s->dir);
}

static int load_key(mtd_spool *s)
{
    char p[1200], hex[80];
    path(s, "spool.key", p, sizeof p);
    struct stat st;
    if (stat(p, &st) == 0) {
        if (st.st_mode & 077)
            return MTD_EPERM; /* a key others can read protects nothing */
        if (mtd_file_read_line(p, hex, sizeof hex) != 0 || mtd_unhex(hex, s->key, 32) != 0)
            return MTD_ECORRUPT;
        return 0;
    }
    if (mtd_random(s->key, 32) != 0)
        return MTD_EIO;
    mtd_hex(s->key, 32, hex);
    strcat(hex, "\n");
    return mtd_file_write_atomic(p, hex, strlen(hex), 0600);
}

int mtd_spool_open(const char *dir, const mtd_spool_opts *opts, mtd_spool **out,
                   mtd_spool_recovery *rep)
{
    memset(rep, 0, sizeof *rep);
    mtd_spool *s = calloc(1, sizeof *s);
    if (!s)
        return MTD_ENOMEM;
    s->opts = *opts;
    s->next_seq = 1;
    mtd_buf_init(&s->wbuf, 0);
    s->logfd = -1;
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    char p[1200], line[40];
    int r = mtd_mkdir_p(dir, 0700);
    path(s, "lock", p, sizeof p);
    s->lockfd = r ? -1 : open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (r == 0 && s->lockfd < 0)
        r = mtd_errno_code(errno);
    else if (flock(s->lockfd, LOCK_EX | LOCK_NB) != 0)
        r = MTD_EBUSY;
    if (r == 0 && opts->encrypt && (r = load_key(s)) == 0)
        r = crypto_init(s);
    path(s, "spool.ack", p, sizeof p);
    if (r == 0 && mtd_file_read_line(p, line, sizeof line) == 0)
        s->acked = strtoull(line, NULL, 10);
    if (r == 0)
        r = recover(s, rep);
    if (r == 0 && s->acked >= s->next_seq)
        s->next_seq = s->acked + 1;
    if (r == 0)
        r = rewrite(s); /* start from a clean log: torn tails and acked records gone */
    if (r) {
        mtd_spool_close(s);
        return r;
    }
    rep->records = s->n;
    *out = s;
    return 0;
}

void mtd_spool_close(mtd_spool *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->r[i].data);
    free(s->r);
    if (s->logfd >= 0)
        close(s->logfd);
    if (s->lockfd >= 0)
        close(s->lockfd);
    EVP_CIPHER_CTX_free(s->enc);
    EVP_CIPHER_CTX_free(s->dec);
    mtd_buf_free(&s->wbuf);
    free(s->segs);
    OPENSSL_cleanse(s->key, sizeof s->key);
    free(s);
}

int mtd_spool_append(mtd_spool *s, uint8_t cls, const void *data, size_t len, uint64_t *seq)
{
    if (len > MAX_REC)
        return MTD_ETOOBIG;
    int r = push(s, s->next_seq, cls, data, len);
    if (r)
        return r;
    *seq = s->next_seq++;
    s->pending++;
    return 0;
}

/* The disk cap: drop optional records first, then required ones, oldest first. */
static int apply_cap(mtd_spool *s)
{
    uint64_t bytes = s->live_bytes;
    if (!s->opts.max_bytes || bytes <= s->opts.max_bytes)
        return 0;
    for (int cls = MTD_SPOOL_OPTIONAL; cls >= MTD_SPOOL_REQUIRED && bytes > s->opts.max_bytes; cls--) {
        size_t w = 0;
        for (size_t i = 0; i < s->n; i++) {
            rec *x = &s->r[i];
            if (bytes > s->opts.max_bytes && x->cls == cls) {
                bytes -= rec_bytes(s, x);
                cls == MTD_SPOOL_OPTIONAL ? s->st.evicted_optional++ : s->st.evicted_required++;
                free(x->data);
            } else {
                s->r[w++] = *x;
            }
        }
        s->n = w;
    }
    s->live_bytes = bytes;
    return rewrite(s);
}

int mtd_spool_commit(mtd_spool *s)
{
    if (!s->pending)
        return 0;
    mtd_buf *b = &s->wbuf;
    mtd_buf_reset(b);
    int r = 0;
    for (size_t i = s->n - s->pending; i < s->n && r == 0; i++)
        r = encode(s, &s->r[i], b);
    off_t before = (off_t)s->log_bytes;
    if (r == 0)
        r = write_all(s->logfd, b->data, b->len);
    if (r == 0 && fdatasync(s->logfd) != 0)
        r = MTD_EIO;
    if (r) {
        /* nothing half-written stays behind; the records stay buffered for a retry */
        if (ftruncate(s->logfd, before) != 0)
            r = MTD_EIO;
    } else {
        s->log_bytes += b->len;
        s->live_bytes += b->len;
        segment *cur = &s->segs[s->nsegs - 1];
        cur->bytes += b->len;
        cur->max_seq = s->r[s->n - 1].seq;
        s->pending = 0;
        r = apply_cap(s);
        if (r == 0)
            r = roll(s);
    }
    if (b->cap > (8u << 20)) /* keep a batch-sized buffer, not a rewrite-sized one */
        mtd_buf_free(b);
    return r;
}

int mtd_spool_peek(mtd_spool *s, size_t max_records, size_t max_bytes, mtd_spool_batch *b)
{
    memset(b, 0, sizeof *b);
    size_t committed = s->n - s->pending, bytes = 0, k = 0;
    while (k < committed && k < max_records && (k == 0 || bytes + s->r[k].len <= max_bytes))
        bytes += s->r[k++].len;
    b->recs = calloc(k ? k : 1, sizeof *b->recs);
    if (!b->recs)
        return MTD_ENOMEM;
    for (size_t i = 0; i < k; i++) {
        b->recs[i] = (mtd_spool_rec){s->r[i].seq, s->r[i].cls, malloc(s->r[i].len + 1), s->r[i].len};
        if (!b->recs[i].data) {
            b->n = i;
            mtd_spool_batch_free(b);
            return MTD_ENOMEM;
        }
        memcpy(b->recs[i].data, s->r[i].data, s->r[i].len);
        b->recs[i].data[s->r[i].len] = 0;
    }
    b->n = k;
    return 0;
}

void mtd_spool_batch_free(mtd_spool_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->recs[i].data);
    free(b->recs);
    b->recs = NULL;
    b->n = 0;
}

int mtd_spool_ack(mtd_spool *s, uint64_t upto)
{
    char p[1200], line[40];
    path(s, "spool.ack", p, sizeof p);
    snprintf(line, sizeof line, "%llu\n", (unsigned long long)upto);
    int r = mtd_file_write_atomic(p, line, strlen(line), 0600);
    if (r)
        return r;
    s->acked = upto;
    size_t w = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (s->r[i].seq <= upto && i < s->n - s->pending) {
            s->live_bytes -= rec_bytes(s, &s->r[i]);
            free(s->r[i].data);
        } else {
            s->r[w++] = s->r[i];
        }
    }
    s->n = w;
    if (s->n == s->pending)
        return rewrite(s); /* drained: start afresh with one empty segment */
    /* older segments whose every record is acknowledged go */
    size_t keep = 0;
    for (size_t i = 0; i < s->nsegs; i++) {
        if (i + 1 < s->nsegs && s->segs[i].max_seq <= upto) {
            char old[1200];
            seg_path(s, s->segs[i].id, old, sizeof old);
            unlink(old);
        } else {
            s->segs[keep++] = s->segs[i];
        }
    }
    s->nsegs = keep;
    return 0;
}

int mtd_spool_purge_optional(mtd_spool *s, uint64_t *n)
{
    *n = 0;
    size_t w = 0, pending_kept = 0;
    for (size_t i = 0; i < s->n; i++) {
        int is_pending = i >= s->n - s->pending;
        if (s->r[i].cls == MTD_SPOOL_OPTIONAL) {
            if (!is_pending)
                s->live_bytes -= rec_bytes(s, &s->r[i]);
            free(s->r[i].data);
            (*n)++;
        } else {
            s->r[w++] = s->r[i];
            pending_kept += is_pending;
        }
    }
    s->n = w;
    s->pending = pending_kept;
    s->st.purged_optional += *n;
    return rewrite(s);
}

void mtd_spool_stats_get(mtd_spool *s, mtd_spool_stats *st)
{
    *st = s->st;
    st->records = s->n - s->pending;
    st->bytes = 0;
    for (size_t i = 0; i < s->nsegs; i++)
        st->bytes += s->segs[i].bytes;
    for (size_t i = 0; i < s->n - s->pending; i++) {
        if (s->r[i].cls == MTD_SPOOL_OPTIONAL)
            st->optional_records++;
        else
            st->required_records++;
    }
}
