/* mtd_apkzip: the ZIP container of an APK, read as Android's installer reads it.
 *
 * Hand-written because the installer's view matters more than a general unzip: the
 * central directory is the truth, entries are found by name in it, and what a ZIP
 * library silently tolerates is exactly the evidence a scanner wants. So the reader
 * accepts what Android accepts and records anomalies: data before the first local
 * header (Janus, CVE-2017-13156), duplicate entry names, local headers that disagree
 * with the central directory, entries that overlap. zip64 end records are followed.
 *
 * The reader borrows the caller's bytes (the whole file, usually mmapped) and never
 * trusts an offset or length it reads; every count and size has a hard cap. Extracted
 * data belongs to the caller (free()). */
#ifndef MTD_APKZIP_H
#define MTD_APKZIP_H

#include <stddef.h>
#include <stdint.h>

#define MTD_APKZIP_MAX_ENTRIES 65536
#define MTD_APKZIP_MAX_UNCOMPRESSED (64u << 20) /* per extracted entry */

typedef struct {
    const char *name; /* points into the central directory; not NUL-terminated */
    uint16_t name_len;
    uint16_t method;  /* 0 stored, 8 deflated */
    uint32_t crc;
    uint64_t csize, usize;
    uint64_t local_off; /* local file header */
    uint64_t data_off;  /* computed from the local header */
} mtd_apkzip_entry;

typedef enum {
    MTD_ZIPA_PREFIX_DATA = 1,   /* bytes before the first local header (Janus) */
    MTD_ZIPA_DUPLICATE = 2,     /* two entries with one name */
    MTD_ZIPA_LOCAL_MISMATCH = 4,/* local header disagrees with the central directory */
    MTD_ZIPA_OVERLAP = 8,       /* entries' data overlap */
    MTD_ZIPA_COMMENT_DATA = 16, /* bytes between the central directory and its end */
} mtd_apkzip_anomaly;

typedef struct {
    const uint8_t *buf;
    size_t len;
    mtd_apkzip_entry *e;
    size_t n;
    uint64_t cd_off, cd_size, eocd_off;
    unsigned anomalies;        /* mtd_apkzip_anomaly bits */
    char anomaly_detail[256];  /* the first anomaly, in words */
} mtd_apkzip;

/* Parses the central directory. why names what is wrong on failure. */
int mtd_apkzip_open(mtd_apkzip *z, const uint8_t *buf, size_t len, char *why, size_t whylen);
void mtd_apkzip_close(mtd_apkzip *z);
/* The entry Android would use for name (the first in the central directory). */
const mtd_apkzip_entry *mtd_apkzip_find(const mtd_apkzip *z, const char *name);
/* Extracts an entry (stored or deflated), verifying its size and CRC. */
int mtd_apkzip_extract(const mtd_apkzip *z, const mtd_apkzip_entry *e, uint8_t **out,
                       size_t *outlen, char *why, size_t whylen);

#endif
