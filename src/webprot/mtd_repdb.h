/* mtd_repdb: the reputation database: one read-only file of hashed Safe Browsing
 * expressions (mtd_url.h), memory-mapped by every reader, answered without parsing.
 *
 * Layout (little-endian, sections 8-byte aligned):
 *   header (128 bytes): magic "MTDREPDB", format version, build time, entry counts
 *     (block, allow), record count, bucket bits, hash seed, section offsets, file
 *     size, a CRC-32C of everything after the header and one of the header itself
 *   buckets  u32 x (2^bits + 1)   first entry of each bucket (top bits of the hash)
 *   entries  u64 x n              the 48 bits of each expression's XXH3-64 (under the
 *                                 seed) below the bucket's bits, then its 16-bit
 *                                 record; sorted
 *   records  8 bytes x r          threat name (offset, length), category, flags (allow)
 *   strings                       threat names
 * So an entry costs 8 bytes and its share of the buckets (16 entries a bucket: 0.25
 * bytes), and a probe reads one cache line. (Version 1 kept all 64 bits of the hash,
 * the bucket's bits again, and the records in an array of their own: 10 bytes.)
 * Opening checks sizes, offsets, both checksums and every record before the first
 * lookup; a truncated or altered file is refused (MTD_ECORRUPT), never read.
 *
 * The hash: expressions are matched on the device only, so the hash need not be Safe
 * Browsing's SHA-256 (whose prefixes exist to be shared with a server): XXH3-64
 * (libxxhash) is ~20x cheaper per short name, which is what makes millions of lookups
 * per second possible. The seed is random per database, so names cannot be crafted
 * offline to collide with an entry. An entry keeps bits + 48 bits of its hash, bits
 * growing with n so that a bucket holds about 16 entries: a name not in the database
 * matches one with odds of about 16/2^48 (6e-14) per expression looked up, whatever n.
 *
 * Hand-written: no library offers a compact, mmap-able, read-only hashed set with
 * per-entry metadata (DESIGN.md section 5 names "the reputation set" as ours to write). */
#ifndef MTD_REPDB_H
#define MTD_REPDB_H

#include <stddef.h>
#include <stdint.h>

#define MTD_REPDB_MAGIC "MTDREPDB"
#define MTD_REPDB_VERSION 2
#define MTD_REPDB_MAX_RECORDS 65535

typedef struct mtd_repdb mtd_repdb;
typedef struct mtd_repdb_builder mtd_repdb_builder;

typedef struct {
    const char *name; /* not NUL-terminated: name_len bytes */
    size_t name_len;
    const char *category;
    int allow;
} mtd_rep_record;

typedef struct {
    uint64_t build_time;
    uint32_t entries, block, allow, records;
    uint64_t file_size;
} mtd_repdb_info;

/* The threat categories a record can carry (the schema's, in its order). */
int mtd_rep_category_index(const char *name);
const char *mtd_rep_category_name(int idx);

mtd_repdb_builder *mtd_repdb_builder_new(void);
void mtd_repdb_builder_free(mtd_repdb_builder *b);
/* Adds an expression (mtd_url_entry) with its threat name and category. Returns 0,
 * MTD_ENOMEM, or MTD_ETOOBIG past MTD_REPDB_MAX_RECORDS distinct (name, category,
 * allow) records, after which further names fold into "<category>". */
int mtd_repdb_builder_add(mtd_repdb_builder *b, const char *expr, size_t len, const char *threat,
                          const char *category, int allow);
size_t mtd_repdb_builder_count(const mtd_repdb_builder *b);
/* The database as bytes (malloc'd, the caller's): entries sorted, repeats merged (an
 * allow entry wins over a block entry of the same expression). */
int mtd_repdb_builder_finish(mtd_repdb_builder *b, uint8_t **out, size_t *len);

/* Maps a database file; why names what is wrong with a refused one. */
int mtd_repdb_open(const char *path, mtd_repdb **db, char *why, size_t whylen);
/* A database held in memory (buf is taken over and freed by mtd_repdb_close). */
int mtd_repdb_open_mem(uint8_t *buf, size_t len, mtd_repdb **db, char *why, size_t whylen);
void mtd_repdb_close(mtd_repdb *db);
void mtd_repdb_info_get(const mtd_repdb *db, mtd_repdb_info *info);
/* 1 when buf starts like a database (the magic). */
int mtd_repdb_is_db(const uint8_t *buf, size_t len);

uint64_t mtd_repdb_hash(const mtd_repdb *db, const void *s, size_t n);
/* Hints the memory of a hash's bucket bounds, then (once they are in cache) of its
 * entries, for lookups made in a batch. */
void mtd_repdb_prefetch(const mtd_repdb *db, uint64_t h);
void mtd_repdb_prefetch_entries(const mtd_repdb *db, uint64_t h);
/* The record of the entry with hash h: its index, or -1 when there is none. */
int mtd_repdb_find(const mtd_repdb *db, uint64_t h);
void mtd_repdb_record(const mtd_repdb *db, int idx, mtd_rep_record *rec);

#endif
