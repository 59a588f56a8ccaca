/* mtd_spool: a crash-safe on-disk queue in append-only segment files.
 *
 *   DIR/seg-N.log  segments, N increasing; each a run of records: header {magic,
 *                  length, seq, class, CRC-32C of header and payload} then the payload
 *                  (AES-256-GCM sealed when encrypting: 12-byte nonce = 4-byte per-open
 *                  salt + seq, ciphertext, 16-byte tag; the header is the AAD)
 *   DIR/spool.ack  the highest acknowledged sequence number (written atomically)
 *   DIR/spool.base the lowest segment number in force: segments below it are leftovers
 *                  of a compaction that a crash interrupted, and are ignored
 *   DIR/spool.key  the at-rest key, 0600
 *   DIR/lock       flock()ed by the one process using the spool
 *
 * Appends are sealed into a write buffer and written with one write() and one
 * fdatasync() per commit (group commit) to the newest segment, which rolls over at
 * SEG_MAX bytes. Only an index of the live records is kept in memory (sequence number,
 * class, segment, offset, length: 32 bytes a record); a peek reads the records it
 * returns from their segment and opens them then. A segment whose records are all
 * acknowledged is deleted; when every record is, the current one is cut back to empty.
 *
 * Recovery (mtd_spool_recover.c) reads each segment once, front to back, and checks
 * every record with its CRC-32C, which covers the sealed payload too, so it decrypts
 * only what it must. A torn tail is cut off its segment; after a corrupt record is
 * skipped and reported (or when a spool.log from before segments is found) the live
 * records are compacted into one new segment (their bytes copied as they are, made current through
 * spool.base, old segments deleted), as they are when optional records are purged and
 * when the disk cap evicts records. A record whose tag fails when a peek opens it (its
 * CRC forged) is dropped and counted. Recovery used to open every record, copy it into
 * memory and seal it again into a compacted segment: 20 s for a 1 GiB spool
 * (bench_spool), where reading the file takes about one. */
#include "common/mtd_bytes.h"
#include "spool/mtd_spool_int.h"
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

void mtd_spool__path(const mtd_spool *s, const char *name, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", s->dir, name);
}

void mtd_spool__seg_path(const mtd_spool *s, uint32_t id, char *out, size_t len)
{
    if (id == LEGACY)
        snprintf(out, len, "%s/spool.log", s->dir);
    else
        snprintf(out, len, "%s/seg-%010u.log", s->dir, id);
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
int mtd_spool__unseal(const mtd_spool *s, const uint8_t *hdr, const uint8_t *in, size_t len, uint8_t *out)
{
    int n;
    if (len < SEAL)
        return MTD_ECORRUPT;
    size_t clen = len - SEAL;
    int ok = EVP_DecryptInit_ex2(s->dec, NULL, NULL, in, NULL) &&
             EVP_DecryptUpdate(s->dec, NULL, &n, hdr, HDR - 4) &&
             EVP_DecryptUpdate(s->dec, out, &n, in + 12, (int)clen) &&
             EVP_CIPHER_CTX_ctrl(s->dec, EVP_CTRL_GCM_SET_TAG, 16, (void *)(in + 12 + clen)) &&
             EVP_DecryptFinal_ex(s->dec, out + n, &n);
    return ok ? 0 : MTD_ECORRUPT;
}

/* Appends the on-disk form of one record to b. */
static int encode(const mtd_spool *s, uint64_t seq, uint8_t cls, const void *data, size_t len, mtd_buf *b)
{
    size_t plen = len + (s->opts.encrypt ? SEAL : 0);
    uint8_t hdr[HDR];
    mtd_put_le32(hdr, MAGIC);
    mtd_put_le32(hdr + 4, (uint32_t)plen);
    mtd_put_le64(hdr + 8, seq);
    hdr[16] = cls;
    int e = mtd_buf_reserve(b, HDR + plen);
    if (e)
        return e;
    uint8_t *dst = b->data + b->len + HDR;
    if (s->opts.encrypt) {
        if ((e = seal(s, hdr, data, len, dst)) != 0)
            return e;
    } else {
        memcpy(dst, data, len);
    }
    mtd_put_le32(hdr + 17, mtd_spool__crc(hdr, dst, plen));
    memcpy(b->data + b->len, hdr, HDR);
    b->len += HDR + plen;
    return 0;
}

int mtd_spool__push(mtd_spool *s, rec x)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 256;
        rec *p = realloc(s->r, nc * sizeof *p);
        if (!p)
            return MTD_ENOMEM;
        s->r = p;
        s->cap = nc;
    }
    s->r[s->n++] = x;
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

/* Reads n bytes at off of segment id (through the one read descriptor). */
static int read_seg(mtd_spool *s, uint32_t id, uint64_t off, uint8_t *out, size_t n)
{
    if (s->rfd < 0 || s->rfd_seg != id) {
        char p[1200];
        if (s->rfd >= 0)
            close(s->rfd);
        mtd_spool__seg_path(s, id, p, sizeof p);
        s->rfd = open(p, O_RDONLY | O_CLOEXEC);
        s->rfd_seg = id;
        if (s->rfd < 0)
            return MTD_EIO;
    }
    while (n) {
        ssize_t got = pread(s->rfd, out, n, (off_t)off);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return MTD_EIO;
        out += got;
        off += (uint64_t)got;
        n -= (size_t)got;
    }
    return 0;
}

void mtd_spool__unlink_seg(mtd_spool *s, uint32_t id)
{
    char p[1200];
    if (s->rfd >= 0 && s->rfd_seg == id) {
        close(s->rfd);
        s->rfd = -1;
    }
    mtd_spool__seg_path(s, id, p, sizeof p);
    unlink(p);
}

/* The records from index i on that lie back to back in one segment, up to max bytes
 * (at least one): how many, and *bytes their length. */
static size_t run_of(const mtd_spool *s, size_t i, size_t end, size_t max, size_t *bytes)
{
    size_t k = i + 1;
    *bytes = rec_bytes(&s->r[i]);
    while (k < end && s->r[k].seg == s->r[i].seg && s->r[k].off == s->r[k - 1].off + rec_bytes(&s->r[k - 1]) &&
           *bytes + rec_bytes(&s->r[k]) <= max)
        *bytes += rec_bytes(&s->r[k++]);
    return k - i;
}

static int open_current(mtd_spool *s)
{
    char p[1200];
    if (s->logfd >= 0)
        close(s->logfd);
    mtd_spool__seg_path(s, current(s)->id, p, sizeof p);
    s->logfd = open(p, O_WRONLY | O_APPEND | O_CLOEXEC);
    s->log_bytes = current(s)->bytes;
    return s->logfd < 0 ? MTD_EIO : 0;
}

/* Starts a new, empty current segment. */
static int new_segment(mtd_spool *s)
{
    uint32_t id = s->segs_hint + 1; /* the highest number in force or seen, plus one */
    char p[1200];
    mtd_spool__seg_path(s, id, p, sizeof p);
    int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    segment *ns = realloc(s->segs, (s->nsegs + 1) * sizeof *ns);
    if (fd < 0 || !ns) {
        if (fd >= 0)
            close(fd);
        if (ns)
            s->segs = ns;
        return MTD_EIO;
    }
    close(fd);
    s->segs = ns;
    s->segs[s->nsegs++] = (segment){id, 0, 0};
    s->segs_hint = id;
    int r = open_current(s);
    return r ? r : mtd_fsync_dir(s->dir);
}

/* Starts a new current segment once the current one is full. */
static int roll(mtd_spool *s)
{
    if (s->log_bytes < SEG_MAX || s->nsegs >= MAX_SEGS)
        return 0;
    return new_segment(s);
}

/* Copies the committed live records, as they are on disk, into one new segment
 * (written whole, then renamed into place), made current through spool.base; then
 * the old segments are deleted. Nothing is opened or sealed again: the nonce is in
 * each payload and the header, its AAD, is unchanged. */
static int compact(mtd_spool *s)
{
    uint32_t id = s->segs_hint + 1;
    char tmp[1200], p[1200], base[1200], line[24];
    mtd_spool__path(s, "compact.tmp", tmp, sizeof tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    uint8_t *buf = malloc(COPY_BUF > MAX_WIRE ? COPY_BUF : MAX_WIRE);
    int r = fd < 0 || !buf ? MTD_EIO : 0;
    uint64_t bytes = 0, max_seq = 0;
    size_t end = s->head + committed(s);
    for (size_t i = s->head, k; r == 0 && i < end; i += k) {
        size_t len;
        k = run_of(s, i, end, COPY_BUF, &len);
        if ((r = read_seg(s, s->r[i].seg, s->r[i].off, buf, len)) == 0)
            r = write_all(fd, buf, len);
        bytes += len;
        max_seq = s->r[i + k - 1].seq;
    }
    free(buf);
    if (r == 0 && fsync(fd) != 0)
        r = MTD_EIO;
    if (fd >= 0)
        close(fd);
    mtd_spool__seg_path(s, id, p, sizeof p);
    if (r == 0 && rename(tmp, p) != 0)
        r = MTD_EIO;
    if (r == 0)
        r = mtd_fsync_dir(s->dir);
    mtd_spool__path(s, "spool.base", base, sizeof base);
    snprintf(line, sizeof line, "%u\n", id);
    if (r == 0)
        r = mtd_file_write_atomic(base, line, strlen(line), 0600);
    if (r) {
        unlink(tmp);
        return r;
    }
    for (size_t i = 0; i < s->nsegs; i++)
        mtd_spool__unlink_seg(s, s->segs[i].id);
    uint64_t off = 0;
    for (size_t i = s->head; i < end; i++) {
        s->r[i].seg = id;
        s->r[i].off = off;
        off += rec_bytes(&s->r[i]);
    }
    s->segs[0] = (segment){id, max_seq, bytes};
    s->nsegs = 1;
    s->segs_hint = id;
    s->live_bytes = bytes; /* exactly the live committed records */
    return open_current(s);
}

/* After an acknowledgement: older segments whose every record is acknowledged go, and
 * once no committed record is left the current one starts over empty. */
static int drop_acked(mtd_spool *s)
{
    size_t keep = 0;
    for (size_t i = 0; i < s->nsegs; i++) {
        if (i + 1 < s->nsegs && s->segs[i].max_seq <= s->acked)
            mtd_spool__unlink_seg(s, s->segs[i].id);
        else
            s->segs[keep++] = s->segs[i];
    }
    s->nsegs = keep;
    if (committed(s) || s->nsegs > 1 || !s->log_bytes)
        return 0;
    if (ftruncate(s->logfd, 0) != 0)
        return MTD_EIO;
    s->log_bytes = 0;
    *current(s) = (segment){current(s)->id, 0, 0};
    return 0;
}

static int load_key(mtd_spool *s)
{
    char p[1200], hex[80];
    mtd_spool__path(s, "spool.key", p, sizeof p);
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

/* After recovery: compacts what must go, drops acknowledged segments, and makes the
 * newest segment current (a new one when there is none, or it is full). */
static int settle(mtd_spool *s, int damaged)
{
    if (damaged || !s->nsegs)
        return compact(s);
    int r = open_current(s);
    if (r == 0)
        r = drop_acked(s);
    return r ? r : roll(s);
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
    s->logfd = s->rfd = -1;
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    char p[1200], line[40];
    int r = mtd_mkdir_p(dir, 0700), damaged = 0;
    mtd_spool__path(s, "lock", p, sizeof p);
    s->lockfd = r ? -1 : open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (r == 0 && s->lockfd < 0)
        r = mtd_errno_code(errno);
    else if (flock(s->lockfd, LOCK_EX | LOCK_NB) != 0)
        r = MTD_EBUSY;
    if (r == 0 && opts->encrypt && (r = load_key(s)) == 0)
        r = crypto_init(s);
    mtd_spool__path(s, "spool.ack", p, sizeof p);
    if (r == 0 && mtd_file_read_line(p, line, sizeof line) == 0)
        s->acked = strtoull(line, NULL, 10);
    if (r == 0)
        r = mtd_spool__recover(s, rep, &damaged);
    if (r == 0 && s->acked >= s->next_seq)
        s->next_seq = s->acked + 1;
    if (r == 0)
        r = settle(s, damaged);
    if (r) {
        mtd_spool_close(s);
        return r;
    }
    rep->records = live(s);
    *out = s;
    return 0;
}

void mtd_spool_close(mtd_spool *s)
{
    if (!s)
        return;
    free(s->r);
    if (s->logfd >= 0)
        close(s->logfd);
    if (s->rfd >= 0)
        close(s->rfd);
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
    size_t off = s->wbuf.len;
    int r = encode(s, s->next_seq, cls, data, len, &s->wbuf);
    if (r == 0)
        r = mtd_spool__push(s, (rec){s->next_seq, off, 0, (uint32_t)(len + (s->opts.encrypt ? SEAL : 0)), cls});
    if (r) {
        s->wbuf.len = off;
        return r;
    }
    *seq = s->next_seq++;
    s->pending++;
    return 0;
}

/* Removes from the index the records keep() refuses, in order (committed ones from
 * head to end, with their bytes from live_bytes); returns how many. */
static size_t filter(mtd_spool *s, size_t end, int (*keep)(mtd_spool *, const rec *, void *), void *arg)
{
    size_t w = s->head, gone = 0;
    for (size_t i = s->head; i < s->n; i++) {
        if (i < end && !keep(s, &s->r[i], arg)) {
            s->live_bytes -= rec_bytes(&s->r[i]);
            gone++;
        } else {
            s->r[w++] = s->r[i];
        }
    }
    s->n = w;
    return gone;
}

typedef struct {
    uint64_t bytes;
    int cls;
} cap_pass;

static int keep_under_cap(mtd_spool *s, const rec *x, void *arg)
{
    cap_pass *c = arg;
    if (c->bytes <= s->opts.max_bytes || x->cls != c->cls)
        return 1;
    c->bytes -= rec_bytes(x);
    c->cls == MTD_SPOOL_OPTIONAL ? s->st.evicted_optional++ : s->st.evicted_required++;
    return 0;
}

/* The disk cap: drop optional records first, then required ones, oldest first. */
static int apply_cap(mtd_spool *s)
{
    if (!s->opts.max_bytes || s->live_bytes <= s->opts.max_bytes)
        return 0;
    for (int cls = MTD_SPOOL_OPTIONAL; cls >= MTD_SPOOL_REQUIRED && s->live_bytes > s->opts.max_bytes; cls--) {
        cap_pass c = {s->live_bytes, cls};
        filter(s, s->head + committed(s), keep_under_cap, &c);
    }
    return compact(s);
}

int mtd_spool_commit(mtd_spool *s)
{
    if (!s->pending)
        return 0;
    mtd_buf *b = &s->wbuf;
    off_t before = (off_t)s->log_bytes;
    int r = write_all(s->logfd, b->data, b->len);
    if (r == 0 && fdatasync(s->logfd) != 0)
        r = MTD_EIO;
    if (r) {
        /* nothing half-written stays behind; the records stay buffered for a retry */
        if (ftruncate(s->logfd, before) != 0)
            r = MTD_EIO;
        return r;
    }
    segment *cur = current(s);
    for (size_t i = s->n - s->pending; i < s->n; i++) {
        s->r[i].off += (uint64_t)before;
        s->r[i].seg = cur->id;
    }
    s->log_bytes += b->len;
    s->live_bytes += b->len;
    cur->bytes += b->len;
    cur->max_seq = s->r[s->n - 1].seq;
    s->pending = 0;
    mtd_buf_reset(b);
    if (b->cap > (8u << 20)) /* keep a batch-sized buffer, not the largest ever */
        mtd_buf_free(b);
    r = apply_cap(s);
    return r ? r : roll(s);
}

/* Opens one record read from disk (hdr: its header and payload) into out. */
static int open_record(mtd_spool *s, const rec *x, const uint8_t *hdr, mtd_spool_rec *out)
{
    size_t n = plain_len(s, x);
    if (mtd_le32(hdr) != MAGIC || mtd_le32(hdr + 4) != x->plen || mtd_le64(hdr + 8) != x->seq)
        return MTD_ECORRUPT;
    out->data = malloc(n + 1);
    if (!out->data)
        return MTD_ENOMEM;
    int r = 0;
    if (s->opts.encrypt)
        r = mtd_spool__unseal(s, hdr, hdr + HDR, x->plen, out->data);
    else if (mtd_spool__check(s, hdr, x->plen) != MTD_SPOOL__GOOD)
        r = MTD_ECORRUPT;
    else
        memcpy(out->data, hdr + HDR, n);
    if (r) {
        free(out->data);
        out->data = NULL;
        return r;
    }
    out->data[n] = 0;
    out->seq = x->seq;
    out->cls = x->cls;
    out->len = n;
    return 0;
}

static int keep_unmarked(mtd_spool *s, const rec *x, void *arg)
{
    (void)s;
    (void)arg;
    return x->cls != 0xff;
}

/* Reads the first k committed records into b, a run of neighbours at a time; a record
 * that does not open is marked for removal (cls 0xff) and left out. */
static int read_records(mtd_spool *s, size_t k, mtd_spool_batch *b, size_t *bad)
{
    uint8_t *buf = malloc(COPY_BUF > MAX_WIRE ? COPY_BUF : MAX_WIRE);
    if (!buf)
        return MTD_ENOMEM;
    int r = 0;
    size_t end = s->head + k;
    for (size_t i = s->head, run; r == 0 && i < end; i += run) {
        size_t len, at = 0;
        run = run_of(s, i, end, COPY_BUF, &len);
        if ((r = read_seg(s, s->r[i].seg, s->r[i].off, buf, len)) != 0)
            break;
        for (size_t j = i; j < i + run && r == 0; at += rec_bytes(&s->r[j]), j++) {
            r = open_record(s, &s->r[j], buf + at, &b->recs[b->n]);
            if (r == MTD_ECORRUPT) {
                s->r[j].cls = 0xff;
                (*bad)++;
                r = 0;
            } else if (r == 0) {
                b->n++;
            }
        }
    }
    free(buf);
    return r;
}

int mtd_spool_peek(mtd_spool *s, size_t max_records, size_t max_bytes, mtd_spool_batch *b)
{
    memset(b, 0, sizeof *b);
    size_t avail = committed(s), bytes = 0, k = 0;
    while (k < avail && k < max_records &&
           (k == 0 || bytes + plain_len(s, &s->r[s->head + k]) <= max_bytes))
        bytes += plain_len(s, &s->r[s->head + k++]);
    b->recs = calloc(k ? k : 1, sizeof *b->recs);
    if (!b->recs)
        return MTD_ENOMEM;
    size_t bad = 0;
    int r = read_records(s, k, b, &bad);
    if (bad) { /* forged or damaged since recovery: never sendable */
        filter(s, s->head + committed(s), keep_unmarked, NULL);
        s->st.corrupt_dropped += bad;
    }
    if (r)
        mtd_spool_batch_free(b);
    return r;
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
    mtd_spool__path(s, "spool.ack", p, sizeof p);
    snprintf(line, sizeof line, "%llu\n", (unsigned long long)upto);
    int r = mtd_file_write_atomic(p, line, strlen(line), 0600);
    if (r)
        return r;
    s->acked = upto;
    size_t end = s->head + committed(s);
    while (s->head < end && s->r[s->head].seq <= upto)
        s->live_bytes -= rec_bytes(&s->r[s->head++]);
    if (s->head * 2 >= s->n) { /* reclaim the front now and then: O(1) per record */
        memmove(s->r, s->r + s->head, live(s) * sizeof *s->r);
        s->n -= s->head;
        s->head = 0;
    }
    return drop_acked(s);
}

static int keep_required(mtd_spool *s, const rec *x, void *arg)
{
    (void)s;
    (void)arg;
    return x->cls != MTD_SPOOL_OPTIONAL;
}

/* Drops the optional records among the pending ones: the write buffer is made again
 * from the kept records' bytes. */
static int purge_pending(mtd_spool *s, uint64_t *n)
{
    mtd_buf nb;
    mtd_buf_init(&nb, 0);
    size_t w = s->n - s->pending, kept = 0;
    int r = 0;
    for (size_t i = s->n - s->pending; i < s->n && r == 0; i++) {
        rec x = s->r[i];
        if (x.cls == MTD_SPOOL_OPTIONAL) {
            (*n)++;
            continue;
        }
        size_t off = nb.len;
        r = mtd_buf_append(&nb, s->wbuf.data + x.off, (size_t)rec_bytes(&x));
        x.off = off;
        s->r[w++] = x;
        kept++;
    }
    if (r) {
        mtd_buf_free(&nb);
        return r;
    }
    s->n = w;
    s->pending = kept;
    mtd_buf_free(&s->wbuf);
    s->wbuf = nb;
    return 0;
}

int mtd_spool_purge_optional(mtd_spool *s, uint64_t *n)
{
    *n = filter(s, s->head + committed(s), keep_required, NULL);
    uint64_t on_disk = *n;
    int r = purge_pending(s, n);
    s->st.purged_optional += *n;
    if (r == 0 && on_disk)
        r = compact(s); /* their bytes leave the segments now */
    return r;
}

void mtd_spool_stats_get(mtd_spool *s, mtd_spool_stats *st)
{
    *st = s->st;
    st->records = committed(s);
    st->bytes = 0;
    for (size_t i = 0; i < s->nsegs; i++)
        st->bytes += s->segs[i].bytes;
    for (size_t i = s->head; i < s->head + committed(s); i++) {
        if (s->r[i].cls == MTD_SPOOL_OPTIONAL)
            st->optional_records++;
        else
            st->required_records++;
    }
}
