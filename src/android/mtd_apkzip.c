/* mtd_apkzip: central directory, local headers, inflate, anomalies. */
#include "common/mtd_bytes.h"
#include "android/mtd_apkzip.h"
#include "common/mtd_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libdeflate.h>

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_EOCD64_LOC 0x07064b50u


/* Is [off, off+n) inside the buffer? */
static int in(const mtd_apkzip *z, uint64_t off, uint64_t n)
{
    return off <= z->len && n <= z->len - off;
}

/* Records an anomaly; the first one's words are kept. fmt takes one %.*s (a name). */
static void anomaly(mtd_apkzip *z, unsigned bit, const char *fmt, const char *a, size_t alen)
{
    if (!z->anomalies)
        snprintf(z->anomaly_detail, sizeof z->anomaly_detail, fmt, (int)alen, a);
    z->anomalies |= bit;
}

/* The end of central directory record: the last one, searched backwards over the
 * largest possible comment. */
static int find_eocd(mtd_apkzip *z, char *why, size_t wl)
{
    if (z->len < 22) {
        snprintf(why, wl, "file too short for a ZIP (%zu bytes)", z->len);
        return MTD_ETRUNC;
    }
    size_t lo = z->len > 22 + 65535 ? z->len - 22 - 65535 : 0;
    for (size_t off = z->len - 22 + 1; off-- > lo;) {
        if (mtd_le32(z->buf + off) == SIG_EOCD && off + 22 + mtd_le16(z->buf + off + 20) == z->len) {
            z->eocd_off = off;
            z->n = mtd_le16(z->buf + off + 10);
            z->cd_size = mtd_le32(z->buf + off + 12);
            z->cd_off = mtd_le32(z->buf + off + 16);
            return 0;
        }
    }
    snprintf(why, wl, "no ZIP end of central directory record: not an APK");
    return MTD_EINVAL;
}

/* zip64: the locator just before the EOCD points at the zip64 end record. */
static int zip64(mtd_apkzip *z, char *why, size_t wl)
{
    if (z->cd_off != 0xffffffffu && z->cd_size != 0xffffffffu && z->n != 0xffff)
        return 0;
    if (z->eocd_off < 20 || mtd_le32(z->buf + z->eocd_off - 20) != SIG_EOCD64_LOC) {
        snprintf(why, wl, "zip64 sizes without a zip64 locator");
        return MTD_EINVAL;
    }
    uint64_t off = mtd_le64(z->buf + z->eocd_off - 20 + 8);
    if (!in(z, off, 56) || mtd_le32(z->buf + off) != SIG_EOCD64) {
        snprintf(why, wl, "zip64 end record out of the file");
        return MTD_EINVAL;
    }
    z->n = mtd_le64(z->buf + off + 32);
    z->cd_size = mtd_le64(z->buf + off + 40);
    z->cd_off = mtd_le64(z->buf + off + 48);
    return 0;
}

/* zip64 extra field: the 64-bit sizes and offset a 0xffffffff field stands for. */
static void extra64(const uint8_t *x, size_t xl, mtd_apkzip_entry *e)
{
    for (size_t p = 0; p + 4 <= xl;) {
        uint16_t id = mtd_le16(x + p), sz = mtd_le16(x + p + 2);
        if (p + 4 + sz > xl)
            return;
        if (id == 1) {
            const uint8_t *v = x + p + 4;
            size_t k = 0;
            if (e->usize == 0xffffffffu && k + 8 <= sz) { e->usize = mtd_le64(v + k); k += 8; }
            if (e->csize == 0xffffffffu && k + 8 <= sz) { e->csize = mtd_le64(v + k); k += 8; }
            if (e->local_off == 0xffffffffu && k + 8 <= sz) { e->local_off = mtd_le64(v + k); }
            return;
        }
        p += 4 + sz;
    }
}

/* The local header of e: where its data starts, and whether it agrees. */
static int local_header(mtd_apkzip *z, mtd_apkzip_entry *e, char *why, size_t wl)
{
    if (!in(z, e->local_off, 30) || mtd_le32(z->buf + e->local_off) != SIG_LOCAL) {
        snprintf(why, wl, "entry %.*s: no local header at offset %llu", (int)e->name_len, e->name,
                 (unsigned long long)e->local_off);
        return MTD_EINVAL;
    }
    const uint8_t *l = z->buf + e->local_off;
    uint16_t nl = mtd_le16(l + 26), xl = mtd_le16(l + 28);
    e->data_off = e->local_off + 30 + nl + xl;
    if (!in(z, e->data_off, e->csize)) {
        snprintf(why, wl, "entry %.*s: data runs past the end of the file", (int)e->name_len, e->name);
        return MTD_ETRUNC;
    }
    if (nl != e->name_len || memcmp(l + 30, e->name, nl) != 0 || mtd_le16(l + 8) != e->method)
        anomaly(z, MTD_ZIPA_LOCAL_MISMATCH, "local header of %.*s disagrees with the central directory",
                e->name, e->name_len);
    return 0;
}

static int parse_central(mtd_apkzip *z, char *why, size_t wl)
{
    if (z->n > MTD_APKZIP_MAX_ENTRIES) {
        snprintf(why, wl, "%zu entries: over the cap of %d", z->n, MTD_APKZIP_MAX_ENTRIES);
        return MTD_ETOOBIG;
    }
    if (!in(z, z->cd_off, z->cd_size) || z->cd_off + z->cd_size > z->eocd_off) {
        snprintf(why, wl, "central directory outside the file");
        return MTD_EINVAL;
    }
    z->e = calloc(z->n ? z->n : 1, sizeof *z->e);
    if (!z->e)
        return MTD_ENOMEM;
    uint64_t p = z->cd_off, end = z->cd_off + z->cd_size;
    for (size_t i = 0; i < z->n; i++) {
        if (p + 46 > end || mtd_le32(z->buf + p) != SIG_CENTRAL) {
            snprintf(why, wl, "central directory entry %zu is damaged", i);
            return MTD_EINVAL;
        }
        const uint8_t *c = z->buf + p;
        mtd_apkzip_entry *e = &z->e[i];
        e->method = mtd_le16(c + 10);
        e->crc = mtd_le32(c + 16);
        e->csize = mtd_le32(c + 20);
        e->usize = mtd_le32(c + 24);
        e->name_len = mtd_le16(c + 28);
        uint16_t xl = mtd_le16(c + 30), cl = mtd_le16(c + 32);
        e->local_off = mtd_le32(c + 42);
        if (p + 46 + e->name_len + xl + cl > end) {
            snprintf(why, wl, "central directory entry %zu runs past the directory", i);
            return MTD_EINVAL;
        }
        e->name = (const char *)c + 46;
        extra64(c + 46 + e->name_len, xl, e);
        int r = local_header(z, e, why, wl);
        if (r)
            return r;
        p += 46 + e->name_len + xl + cl;
    }
    return 0;
}

static int by_offset(const void *a, const void *b)
{
    const mtd_apkzip_entry *x = *(const mtd_apkzip_entry *const *)a, *y = *(const mtd_apkzip_entry *const *)b;
    return x->local_off < y->local_off ? -1 : x->local_off > y->local_off;
}

static int by_name(const void *a, const void *b)
{
    const mtd_apkzip_entry *x = *(const mtd_apkzip_entry *const *)a, *y = *(const mtd_apkzip_entry *const *)b;
    int c = memcmp(x->name, y->name, x->name_len < y->name_len ? x->name_len : y->name_len);
    return c ? c : (int)x->name_len - (int)y->name_len;
}

/* Prefix data, overlaps and duplicates, from sorted views of the entries. */
static void check_layout(mtd_apkzip *z)
{
    if (!z->n)
        return;
    const mtd_apkzip_entry **v = malloc(z->n * sizeof *v);
    if (!v)
        return;
    for (size_t i = 0; i < z->n; i++)
        v[i] = &z->e[i];
    qsort(v, z->n, sizeof *v, by_offset);
    if (v[0]->local_off > 0) {
        char n[32];
        snprintf(n, sizeof n, "%llu", (unsigned long long)v[0]->local_off);
        anomaly(z, MTD_ZIPA_PREFIX_DATA,
                "%.*s bytes precede the first local header (Janus, CVE-2017-13156)", n, strlen(n));
    }
    for (size_t i = 1; i < z->n; i++)
        if (v[i - 1]->data_off + v[i - 1]->csize > v[i]->local_off)
            anomaly(z, MTD_ZIPA_OVERLAP, "entry %.*s overlaps the next entry", v[i - 1]->name, v[i - 1]->name_len);
    if (v[z->n - 1]->data_off + v[z->n - 1]->csize > z->cd_off)
        anomaly(z, MTD_ZIPA_OVERLAP, "entry %.*s overlaps the central directory", v[z->n - 1]->name,
                v[z->n - 1]->name_len);
    qsort(v, z->n, sizeof *v, by_name);
    for (size_t i = 1; i < z->n; i++)
        if (by_name(&v[i - 1], &v[i]) == 0)
            anomaly(z, MTD_ZIPA_DUPLICATE, "two entries are named %.*s", v[i]->name, v[i]->name_len);
    free(v);
    if (z->cd_off + z->cd_size < z->eocd_off && !(z->anomalies & MTD_ZIPA_COMMENT_DATA))
        anomaly(z, MTD_ZIPA_COMMENT_DATA, "%.*sdata between the central directory and its end record", "", 0);
}

int mtd_apkzip_open(mtd_apkzip *z, const uint8_t *buf, size_t len, char *why, size_t wl)
{
    memset(z, 0, sizeof *z);
    z->buf = buf;
    z->len = len;
    int r = find_eocd(z, why, wl);
    if (r == 0)
        r = zip64(z, why, wl);
    if (r == 0)
        r = parse_central(z, why, wl);
    if (r) {
        mtd_apkzip_close(z);
        return r;
    }
    check_layout(z);
    return 0;
}

void mtd_apkzip_close(mtd_apkzip *z)
{
    free(z->e);
    z->e = NULL;
    z->n = 0;
}

const mtd_apkzip_entry *mtd_apkzip_find(const mtd_apkzip *z, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < z->n; i++)
        if (z->e[i].name_len == nl && !memcmp(z->e[i].name, name, nl))
            return &z->e[i];
    return NULL;
}

/* libdeflate rather than zlib: the central directory gives the size, so the whole
 * buffer is inflated in one call, about twice as fast as zlib's streaming inflate on
 * dex files (bench_scan: inflating was 40% of a YARA scan's time with zlib). It
 * succeeds only when the stream fills exactly dlen bytes. */
static int inflate_raw(const uint8_t *src, size_t slen, uint8_t *dst, size_t dlen)
{
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    if (!d)
        return MTD_ENOMEM;
    enum libdeflate_result lr = libdeflate_deflate_decompress(d, src, slen, dst, dlen, NULL);
    libdeflate_free_decompressor(d);
    return lr == LIBDEFLATE_SUCCESS ? 0 : MTD_ECORRUPT;
}

int mtd_apkzip_extract(const mtd_apkzip *z, const mtd_apkzip_entry *e, uint8_t **out,
                       size_t *outlen, char *why, size_t wl)
{
    *out = NULL;
    if (e->usize > MTD_APKZIP_MAX_UNCOMPRESSED || (e->method == 0 && e->csize != e->usize)) {
        snprintf(why, wl, "entry %.*s: size %llu over the cap or inconsistent", (int)e->name_len,
                 e->name, (unsigned long long)e->usize);
        return MTD_ETOOBIG;
    }
    if (e->method != 0 && e->method != 8) {
        snprintf(why, wl, "entry %.*s: compression method %u is not supported", (int)e->name_len,
                 e->name, e->method);
        return MTD_EUNSUP;
    }
    uint8_t *d = malloc(e->usize ? e->usize : 1);
    if (!d)
        return MTD_ENOMEM;
    int r = 0;
    if (e->method == 0)
        memcpy(d, z->buf + e->data_off, e->usize);
    else
        r = inflate_raw(z->buf + e->data_off, e->csize, d, e->usize);
    if (r == 0 && libdeflate_crc32(0, d, e->usize) != e->crc)
        r = MTD_ECORRUPT;
    if (r) {
        snprintf(why, wl, "entry %.*s: corrupt data (inflate or CRC failed)", (int)e->name_len, e->name);
        free(d);
        return r;
    }
    *out = d;
    *outlen = e->usize;
    return 0;
}
