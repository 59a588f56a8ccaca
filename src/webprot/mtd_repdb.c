/* mtd_repdb: building, checking and reading the reputation database (mtd_repdb.h). */
#include "webprot/mtd_repdb.h"
#include "common/mtd_bytes.h"
#include "common/mtd_crc32c.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

/* Sections are read in place as arrays of host integers. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the database is little-endian");

#define HDR 128
enum { H_MAGIC = 0, H_VERSION = 8, H_HDRSIZE = 12, H_TIME = 16, H_FSIZE = 24, H_N = 32,
       H_BLOCK = 36, H_ALLOW = 40, H_NREC = 44, H_BITS = 48, H_SEED = 56, H_OFF_BUCKETS = 64,
       H_OFF_HASHES = 72, H_OFF_META = 80, H_OFF_REC = 88, H_OFF_STR = 96, H_LEN_STR = 104,
       H_CRC_BODY = 112, H_CRC_HDR = 116 };

static const char *const categories[] = {"malware", "phishing", "adware", "spyware", "riskware",
    "pua", "vulnerability", "exploit", "command_and_control", "scam", "tampering", "sideload",
    "policy", NULL};
#define NCAT 13

int mtd_rep_category_index(const char *name)
{
    for (int i = 0; categories[i]; i++)
        if (!strcmp(categories[i], name))
            return i;
    return -1;
}

const char *mtd_rep_category_name(int idx)
{
    return idx >= 0 && idx < NCAT ? categories[idx] : "malware";
}

/* ---- building ---- */

typedef struct {
    uint64_t h;
    uint16_t rec;
    uint8_t allow;
} entry;

typedef struct {
    uint32_t name_off;
    uint16_t name_len;
    uint8_t cat, allow;
} record;

#define REC_SLOTS (1u << 17) /* twice the most records, for the dedup table */

struct mtd_repdb_builder {
    uint64_t seed;
    entry *e;
    size_t n, cap;
    record rec[MTD_REPDB_MAX_RECORDS];
    size_t nrec;
    int32_t slot[REC_SLOTS]; /* record index + 1 by hash of (name, category, allow) */
    char *str;
    size_t slen, scap;
};

mtd_repdb_builder *mtd_repdb_builder_new(void)
{
    mtd_repdb_builder *b = calloc(1, sizeof *b);
    if (b)
        mtd_random(&b->seed, sizeof b->seed);
    return b;
}

void mtd_repdb_builder_free(mtd_repdb_builder *b)
{
    if (!b)
        return;
    free(b->e);
    free(b->str);
    free(b);
}

size_t mtd_repdb_builder_count(const mtd_repdb_builder *b)
{
    return b->n;
}

/* The record for (name, category, allow): found or added; -1 when out of room. */
static int record_of(mtd_repdb_builder *b, const char *name, int cat, int allow)
{
    size_t nl = strlen(name);
    if (nl > 255)
        nl = 255;
    uint64_t h = XXH3_64bits_withSeed(name, nl, (uint64_t)(cat * 2 + allow));
    for (uint32_t i = (uint32_t)h & (REC_SLOTS - 1);; i = (i + 1) & (REC_SLOTS - 1)) {
        int32_t s = b->slot[i];
        if (s == 0)
            break;
        record *r = &b->rec[s - 1];
        if (r->cat == cat && r->allow == allow && r->name_len == nl && !memcmp(b->str + r->name_off, name, nl))
            return s - 1;
        if (((i + 1) & (REC_SLOTS - 1)) == ((uint32_t)h & (REC_SLOTS - 1)))
            return -1;
    }
    if (b->nrec >= MTD_REPDB_MAX_RECORDS)
        return -1;
    if (b->slen + nl > b->scap) {
        size_t nc = b->scap ? b->scap * 2 : 65536;
        while (nc < b->slen + nl)
            nc *= 2;
        char *p = realloc(b->str, nc);
        if (!p)
            return -2;
        b->str = p;
        b->scap = nc;
    }
    memcpy(b->str + b->slen, name, nl);
    b->rec[b->nrec] = (record){(uint32_t)b->slen, (uint16_t)nl, (uint8_t)cat, (uint8_t)allow};
    b->slen += nl;
    for (uint32_t i = (uint32_t)h & (REC_SLOTS - 1);; i = (i + 1) & (REC_SLOTS - 1))
        if (b->slot[i] == 0) {
            b->slot[i] = (int32_t)++b->nrec;
            break;
        }
    return (int)b->nrec - 1;
}

int mtd_repdb_builder_add(mtd_repdb_builder *b, const char *expr, size_t len, const char *threat,
                          const char *category, int allow)
{
    int cat = mtd_rep_category_index(category);
    cat = cat < 0 ? 0 : cat;
    int r = record_of(b, threat, cat, allow), rc = 0;
    if (r == -2)
        return MTD_ENOMEM;
    if (r < 0) { /* out of records: the name folds into its category */
        r = record_of(b, categories[cat], cat, allow);
        rc = MTD_ETOOBIG;
        if (r < 0)
            return MTD_ETOOBIG;
    }
    if (b->n == b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 4096;
        entry *e = realloc(b->e, nc * sizeof *e);
        if (!e)
            return MTD_ENOMEM;
        b->e = e;
        b->cap = nc;
    }
    b->e[b->n++] = (entry){XXH3_64bits_withSeed(expr, len, b->seed), (uint16_t)r, (uint8_t)allow};
    return rc;
}

static int cmp_entry(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->h != y->h)
        return x->h < y->h ? -1 : 1;
    return (int)y->allow - (int)x->allow; /* allow first: it wins the merge */
}

/* The 48 bits of a hash below its bucket's bits: with the bucket they are what an
 * entry keeps of the hash (the bucket's bits are implied by where it is), beside its
 * 16-bit record in one 64-bit word: 8 bytes an entry, one cache line a probe. */
static uint64_t entry_key(uint64_t h, unsigned bits)
{
    return (h << bits) >> 16;
}

static size_t align8(size_t x)
{
    return (x + 7) & ~(size_t)7;
}

static void put_header(uint8_t *p, const mtd_repdb_builder *b, size_t n, uint32_t nallow,
                       unsigned bits, const size_t off[6], size_t total)
{
    memcpy(p + H_MAGIC, MTD_REPDB_MAGIC, 8);
    mtd_put_le32(p + H_VERSION, MTD_REPDB_VERSION);
    mtd_put_le32(p + H_HDRSIZE, HDR);
    mtd_put_le64(p + H_TIME, (uint64_t)time(NULL));
    mtd_put_le64(p + H_FSIZE, total);
    mtd_put_le32(p + H_N, (uint32_t)n);
    mtd_put_le32(p + H_BLOCK, (uint32_t)n - nallow);
    mtd_put_le32(p + H_ALLOW, nallow);
    mtd_put_le32(p + H_NREC, (uint32_t)b->nrec);
    mtd_put_le32(p + H_BITS, bits);
    mtd_put_le64(p + H_SEED, b->seed);
    for (int i = 0; i < 5; i++)
        mtd_put_le64(p + H_OFF_BUCKETS + 8 * i, off[i]);
    mtd_put_le64(p + H_LEN_STR, b->slen);
    mtd_put_le32(p + H_CRC_BODY, mtd_crc32c(0, p + HDR, total - HDR));
    mtd_put_le32(p + H_CRC_HDR, mtd_crc32c(0, p, H_CRC_HDR));
}

int mtd_repdb_builder_finish(mtd_repdb_builder *b, uint8_t **out, size_t *len)
{
    if (b->n)
        qsort(b->e, b->n, sizeof *b->e, cmp_entry);
    size_t n = 0;
    for (size_t i = 0; i < b->n; i++) /* the distinct hashes, allow first: they set bits */
        if (n == 0 || b->e[i].h != b->e[n - 1].h)
            b->e[n++] = b->e[i];
    unsigned bits = 4;
    while (bits < 30 && ((size_t)16 << bits) < n)
        bits++;
    /* two hashes may agree on the bits an entry keeps (bucket and key) and differ
     * below them: the lower hash stands for both */
    size_t m = 0;
    uint32_t nallow = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || entry_key(b->e[i].h, bits) != entry_key(b->e[m - 1].h, bits) ||
            b->e[i].h >> (64 - bits) != b->e[m - 1].h >> (64 - bits)) {
            b->e[m++] = b->e[i];
            nallow += b->e[i].allow;
        }
    n = m;
    size_t nb = ((size_t)1 << bits) + 1, off[6];
    off[0] = HDR;                                  /* buckets */
    off[1] = align8(off[0] + nb * 4);              /* entries: key and record */
    off[2] = 0;                                    /* version 1's meta: in the entries */
    off[3] = off[1] + n * 8;                       /* records */
    off[4] = off[3] + b->nrec * 8;                 /* strings */
    size_t total = align8(off[4] + b->slen);
    uint8_t *p = calloc(1, total);
    if (!p)
        return MTD_ENOMEM;
    uint32_t *bk = (uint32_t *)(p + off[0]);
    uint64_t *es = (uint64_t *)(p + off[1]);
    size_t j = 0;
    for (size_t k = 0; k < nb; k++) {
        while (j < n && (b->e[j].h >> (64 - bits)) < k)
            j++;
        bk[k] = (uint32_t)j;
    }
    bk[nb - 1] = (uint32_t)n;
    for (size_t i = 0; i < n; i++)
        es[i] = entry_key(b->e[i].h, bits) << 16 | b->e[i].rec;
    for (size_t i = 0; i < b->nrec; i++) {
        uint8_t *r = p + off[3] + i * 8;
        mtd_put_le32(r, b->rec[i].name_off);
        r[4] = (uint8_t)b->rec[i].name_len;
        r[5] = (uint8_t)(b->rec[i].name_len >> 8);
        r[6] = b->rec[i].cat;
        r[7] = b->rec[i].allow;
    }
    if (b->slen)
        memcpy(p + off[4], b->str, b->slen);
    put_header(p, b, n, nallow, bits, off, total);
    *out = p;
    *len = total;
    return 0;
}

/* ---- reading ---- */

struct mtd_repdb {
    uint8_t *base;
    size_t size;
    int mapped;
    uint64_t seed;
    unsigned shift;
    const uint32_t *buckets;
    const uint64_t *entries; /* entry_key << 16 | record, sorted */
    const uint8_t *records;
    const char *strings;
    mtd_repdb_info info;
};

int mtd_repdb_is_db(const uint8_t *buf, size_t len)
{
    return len >= 8 && !memcmp(buf, MTD_REPDB_MAGIC, 8);
}

/* A section [off, off + count*size) inside the file and aligned to align. */
static int section_ok(uint64_t off, uint64_t count, uint64_t size, uint64_t align, uint64_t total)
{
    return off >= HDR && off % align == 0 && off <= total && count <= (total - off) / size;
}

static int refuse(char *why, size_t wl, const char *what)
{
    snprintf(why, wl, "not a usable reputation database: %s", what);
    return MTD_ECORRUPT;
}

static int check_header(mtd_repdb *db, uint64_t off[5], uint64_t *slen, char *why, size_t wl)
{
    const uint8_t *p = db->base;
    if (db->size < HDR || memcmp(p, MTD_REPDB_MAGIC, 8))
        return refuse(why, wl, db->size < HDR ? "shorter than its header" : "no MTDREPDB magic");
    if (mtd_le32(p + H_VERSION) != MTD_REPDB_VERSION)
        return refuse(why, wl, "format version is not 2 (made by another release: compile it again)");
#ifndef MTD_FUZZING /* the fuzz target reaches the structure checks past the checksums */
    if (mtd_le32(p + H_CRC_HDR) != mtd_crc32c(0, p, H_CRC_HDR) || mtd_le32(p + H_HDRSIZE) != HDR)
        return refuse(why, wl, "header checksum mismatch");
#endif
    if (mtd_le64(p + H_FSIZE) != db->size)
        return refuse(why, wl, "truncated (the file is shorter or longer than its header says)");
#ifndef MTD_FUZZING
    if (mtd_le32(p + H_CRC_BODY) != mtd_crc32c(0, p + HDR, db->size - HDR))
        return refuse(why, wl, "checksum mismatch (the file was altered or damaged)");
#endif
    db->info = (mtd_repdb_info){mtd_le64(p + H_TIME), mtd_le32(p + H_N), mtd_le32(p + H_BLOCK),
                                mtd_le32(p + H_ALLOW), mtd_le32(p + H_NREC), db->size};
    unsigned bits = mtd_le32(p + H_BITS);
    if (bits < 1 || bits > 30 || db->info.records > MTD_REPDB_MAX_RECORDS ||
        db->info.block + (uint64_t)db->info.allow != db->info.entries)
        return refuse(why, wl, "bad counts in the header");
    db->shift = 64 - bits;
    db->seed = mtd_le64(p + H_SEED);
    for (int i = 0; i < 5; i++)
        off[i] = mtd_le64(p + H_OFF_BUCKETS + 8 * i);
    *slen = mtd_le64(p + H_LEN_STR);
    uint64_t n = db->info.entries;
    if (!section_ok(off[0], ((uint64_t)1 << bits) + 1, 4, 4, db->size) ||
        !section_ok(off[1], n, 8, 8, db->size) ||
        !section_ok(off[3], db->info.records, 8, 8, db->size) || !section_ok(off[4], *slen, 1, 1, db->size))
        return refuse(why, wl, "a section lies outside the file");
    return 0;
}

/* Every bucket bound and record is checked once here, so a lookup trusts them. */
static int check_body(mtd_repdb *db, const uint64_t off[5], uint64_t slen, char *why, size_t wl)
{
    db->buckets = (const uint32_t *)(db->base + off[0]);
    db->entries = (const uint64_t *)(db->base + off[1]);
    db->records = db->base + off[3];
    db->strings = (const char *)db->base + off[4];
    size_t nb = ((size_t)1 << (64 - db->shift)) + 1;
    uint32_t prev = 0;
    for (size_t k = 0; k < nb; k++) {
        if (db->buckets[k] < prev || db->buckets[k] > db->info.entries)
            return refuse(why, wl, "bucket index out of order");
        prev = db->buckets[k];
    }
    if (db->buckets[0] != 0 || prev != db->info.entries)
        return refuse(why, wl, "bucket index does not cover the entries");
    for (uint32_t i = 0; i < db->info.entries; i++)
        if ((db->entries[i] & 0xffff) >= db->info.records)
            return refuse(why, wl, "an entry names a record that does not exist");
    for (uint32_t i = 0; i < db->info.records; i++) {
        const uint8_t *r = db->records + (size_t)i * 8;
        if (mtd_le32(r) + (uint64_t)mtd_le16(r + 4) > slen || r[6] >= NCAT || r[7] > 1)
            return refuse(why, wl, "a record is malformed");
    }
    return 0;
}

static int open_common(mtd_repdb *db, char *why, size_t wl)
{
    uint64_t off[5], slen;
    int r = check_header(db, off, &slen, why, wl);
    return r ? r : check_body(db, off, slen, why, wl);
}

int mtd_repdb_open_mem(uint8_t *buf, size_t len, mtd_repdb **out, char *why, size_t wl)
{
    mtd_repdb *db = calloc(1, sizeof *db);
    if (!db) {
        free(buf);
        return MTD_ENOMEM;
    }
    db->base = buf;
    db->size = len;
    int r = open_common(db, why, wl);
    if (r) {
        mtd_repdb_close(db);
        return r;
    }
    *out = db;
    return 0;
}

int mtd_repdb_open(const char *path, mtd_repdb **out, char *why, size_t wl)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(why, wl, "cannot open: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return errno == ENOENT ? MTD_ENOENT : MTD_EIO;
    }
    if (st.st_size < HDR) {
        close(fd);
        return refuse(why, wl, "shorter than its header");
    }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        snprintf(why, wl, "cannot map: %s", strerror(errno));
        return MTD_EIO;
    }
    mtd_repdb *db = calloc(1, sizeof *db);
    if (!db) {
        munmap(m, (size_t)st.st_size);
        return MTD_ENOMEM;
    }
    db->base = m;
    db->size = (size_t)st.st_size;
    db->mapped = 1;
    int r = open_common(db, why, wl);
    if (r) {
        mtd_repdb_close(db);
        return r;
    }
    /* the checks read every page; out of this process's pages they stay in the page
     * cache, and only the pages lookups touch come back (the VPN's and the DNS filter's
     * resident size: 10.3 MB for 1,000,000 entries at open otherwise) */
    madvise(m, db->size, MADV_DONTNEED);
    *out = db;
    return 0;
}

void mtd_repdb_close(mtd_repdb *db)
{
    if (!db)
        return;
    if (db->mapped)
        munmap(db->base, db->size);
    else
        free(db->base);
    free(db);
}

void mtd_repdb_info_get(const mtd_repdb *db, mtd_repdb_info *info)
{
    *info = db->info;
}

uint64_t mtd_repdb_hash(const mtd_repdb *db, const void *s, size_t n)
{
    return XXH3_64bits_withSeed(s, n, db->seed);
}

void mtd_repdb_prefetch(const mtd_repdb *db, uint64_t h)
{
    __builtin_prefetch(db->buckets + (h >> db->shift));
}

/* Where in its bucket hash h would be: the hashes are uniform and sorted, so the bits
 * under the bucket index place it (interpolation). The probe starts there and the
 * prefetch fetches that one cache line rather than the bucket's every line. */
static uint32_t guess(const mtd_repdb *db, uint64_t h, const uint32_t *b)
{
    uint64_t below = db->shift == 64 ? h : h << (64 - db->shift);
    return b[0] + (uint32_t)(((below >> 32) * (uint64_t)(b[1] - b[0])) >> 32);
}

void mtd_repdb_prefetch_entries(const mtd_repdb *db, uint64_t h)
{
    const uint32_t *b = db->buckets + (h >> db->shift);
    uint32_t i = guess(db, h, b);
    __builtin_prefetch(db->entries + i);
}

int mtd_repdb_find(const mtd_repdb *db, uint64_t h)
{
    const uint32_t *b = db->buckets + (h >> db->shift);
    uint32_t lo = b[0], hi = b[1], i = guess(db, h, b);
    uint64_t k = entry_key(h, 64 - db->shift);
    if (i < hi && db->entries[i] >> 16 < k) { /* up from the guess */
        while (++i < hi && db->entries[i] >> 16 < k)
            ;
    } else { /* down: to the first key not below k */
        while (i > lo && db->entries[i - 1] >> 16 >= k)
            i--;
    }
    return i < hi && db->entries[i] >> 16 == k ? (int)(db->entries[i] & 0xffff) : -1;
}

void mtd_repdb_record(const mtd_repdb *db, int idx, mtd_rep_record *rec)
{
    const uint8_t *r = db->records + (size_t)idx * 8;
    rec->name = db->strings + mtd_le32(r);
    rec->name_len = mtd_le16(r + 4);
    rec->category = categories[r[6]];
    rec->allow = r[7];
}
