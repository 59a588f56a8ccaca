/* mtd_spool_recover: reading a spool's segments back when it is opened.
 *
 * Each segment is mapped and read once, front to back (mapped: with read() the kernel's
 * copy took as long as the checksums, bench_spool from the page cache), and every record
 * is checked by its CRC-32C, which covers the sealed payload too, so recovery opens only
 * what it must: the first live record (a wrong key fails every tag; if that one fails,
 * every record is checked by its tag), and records written before the checksum covered
 * sealed payloads. Good records go into the index; a corrupt one is skipped (the scan
 * resynchronises on the next header that checks out) and reported; a torn tail is cut
 * off its segment. */
#include "spool/mtd_spool_int.h"
#include "common/mtd_bytes.h"
#include "common/mtd_crc32c.h"
#include "common/mtd_err.h"
#include "common/mtd_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The checksum covers header and payload, sealed or not: recovery checks a record
 * without opening it (CRC-32C runs at several GB/s; AES-GCM at a fraction of that). */
uint32_t mtd_spool__crc(const uint8_t *hdr, const uint8_t *payload, size_t plen)
{
    return mtd_crc32c(mtd_crc32c(0, hdr, HDR - 4), payload, plen);
}

int mtd_spool__check(const mtd_spool *s, const uint8_t *hdr, uint32_t plen)
{
    uint32_t want = mtd_le32(hdr + 17), c = mtd_crc32c(0, hdr, HDR - 4);
    if (mtd_crc32c(c, hdr + HDR, plen) == want)
        return MTD_SPOOL__GOOD;
    return s->opts.encrypt && c == want ? MTD_SPOOL__OLD : MTD_SPOOL__BAD;
}

/* Whether a live, checksummed record must also be opened: one from before payload
 * checksums, the first of this open (the key check), or any once that one failed. */
static int needs_tag_check(mtd_spool *s, int kind)
{
    if (!s->opts.encrypt)
        return 0;
    if (kind == MTD_SPOOL__OLD || s->verify_tags)
        return 1;
    return !s->key_checked;
}

/* One well-formed record at sc->pos: indexed when live and its tag (if it must be
 * checked) holds. */
static int take_record(mtd_spool *s, segment *sg, const uint8_t *h, uint64_t off, int kind,
                       uint8_t *plain, mtd_spool_recovery *rep, int *damaged)
{
    uint32_t plen = mtd_le32(h + 4);
    uint64_t seq = mtd_le64(h + 8);
    if (seq > sg->max_seq)
        sg->max_seq = seq;
    /* a record already seen (a compaction cut short by a crash) is kept once */
    int fresh = seq > s->acked && seq >= s->next_seq;
    if (seq >= s->next_seq)
        s->next_seq = seq + 1;
    if (!fresh)
        return 0;
    if (needs_tag_check(s, kind)) {
        int first = !s->key_checked;
        s->key_checked = 1;
        rep->decrypted++;
        if (mtd_spool__unseal(s, h, h + HDR, plen, plain) != 0) {
            rep->corrupt_records++;
            *damaged = 1;
            s->verify_tags |= first; /* the wrong key, or this one record: check them all */
            return 0;
        }
    }
    s->live_bytes += HDR + (uint64_t)plen;
    return mtd_spool__push(s, (rec){seq, off, sg->id, plen, h[16]});
}

/* A segment's bytes to scan: mapped, else read whole. */
static const uint8_t *map_segment(int fd, size_t size, int *mapped)
{
    *mapped = 1;
    void *m = size ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
    if (m != MAP_FAILED) {
        madvise(m, size, MADV_SEQUENTIAL);
        return m;
    }
    *mapped = 0;
    uint8_t *d = malloc(size ? size : 1);
    for (size_t got = 0; d && got < size;) {
        ssize_t n = pread(fd, d + got, size - got, (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            free(d);
            return NULL;
        }
        got += (size_t)n;
    }
    return d;
}

/* Scans one segment: indexes good records, skips corrupt ones, cuts a torn tail. */
static int recover_file(mtd_spool *s, segment *sg, uint8_t *plain, mtd_spool_recovery *rep, int *damaged)
{
    char p[1200];
    mtd_spool__seg_path(s, sg->id, p, sizeof p);
    int fd = open(p, O_RDWR | O_CLOEXEC), mapped;
    struct stat st;
    if (fd < 0)
        return errno == ENOENT ? 0 : MTD_EIO;
    if (fstat(fd, &st) != 0 || (uint64_t)st.st_size > SIZE_MAX) {
        close(fd);
        return MTD_EIO;
    }
    size_t size = (size_t)st.st_size, pos = 0, good_end = 0;
    const uint8_t *d = map_segment(fd, size, &mapped);
    int r = d ? 0 : MTD_ENOMEM, skipping = 0;
    while (r == 0 && size - pos >= HDR) {
        const uint8_t *h = d + pos;
        uint32_t plen = mtd_le32(h + 4);
        int kind = mtd_le32(h) == MAGIC && plen <= MAX_REC + SEAL && size - pos - HDR >= plen
                       ? mtd_spool__check(s, h, plen) : MTD_SPOOL__BAD;
        if (kind == MTD_SPOOL__BAD) { /* resynchronise: look for the next header that checks out */
            skipping = 1;
            pos++;
            continue;
        }
        if (skipping) { /* a good record after damage: a corrupt one in between */
            rep->corrupt_records++;
            *damaged = 1;
            skipping = 0;
        }
        r = take_record(s, sg, h, pos, kind, plain, rep, damaged);
        pos += HDR + plen;
        good_end = pos;
    }
    if (mapped)
        munmap((void *)d, size);
    else
        free((void *)d);
    if (r == 0 && size > good_end) { /* what no valid record covers at the end */
        rep->torn_bytes += size - good_end;
        if (ftruncate(fd, (off_t)good_end) != 0)
            r = MTD_EIO;
    }
    sg->bytes = good_end;
    close(fd);
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
    mtd_spool__path(s, "spool.base", p, sizeof p);
    uint32_t base = mtd_file_read_line(p, line, sizeof line) == 0 ? (uint32_t)strtoul(line, NULL, 10) : 0;
    s->segs_hint = base;
    *ids = NULL;
    *n = 0;
    DIR *d = opendir(s->dir);
    if (!d)
        return MTD_EIO;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        unsigned id;
        char tail[8];
        if (sscanf(e->d_name, "seg-%10u.%7s", &id, tail) != 2 || strcmp(tail, "log") || id == LEGACY)
            continue;
        if (id < base) { /* a leftover of an interrupted compaction */
            mtd_spool__unlink_seg(s, id);
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
    mtd_spool__path(s, "compact.tmp", p, sizeof p); /* a compaction a crash cut short */
    unlink(p);
    return 0;
}

/* Reads every segment in order, a spool.log from before segments first. *damaged is
 * set when something must be compacted away (corrupt records, the old log). */
int mtd_spool__recover(mtd_spool *s, mtd_spool_recovery *rep, int *damaged)
{
    char p[1200];
    uint32_t *ids;
    size_t n;
    int r = list_segments(s, &ids, &n);
    mtd_spool__seg_path(s, LEGACY, p, sizeof p);
    int legacy = r == 0 && access(p, F_OK) == 0;
    s->segs = calloc(n + legacy + 1, sizeof *s->segs);
    uint8_t *plain = malloc(MAX_REC + SEAL);
    if (!s->segs || !plain)
        r = r ? r : MTD_ENOMEM;
    if (r == 0 && legacy) {
        s->segs[s->nsegs++] = (segment){LEGACY, 0, 0};
        *damaged = 1;
    }
    for (size_t i = 0; r == 0 && i < n; i++) {
        s->segs[s->nsegs++] = (segment){ids[i], 0, 0};
        s->segs_hint = ids[i] > s->segs_hint ? ids[i] : s->segs_hint;
    }
    for (size_t i = 0; r == 0 && i < s->nsegs; i++)
        r = recover_file(s, &s->segs[i], plain, rep, damaged);
    free(plain);
    free(ids);
    if (rep->torn_bytes || rep->corrupt_records)
        snprintf(rep->detail, sizeof rep->detail, "spool: %llu corrupt records skipped, %llu torn bytes cut",
                 (unsigned long long)rep->corrupt_records, (unsigned long long)rep->torn_bytes);
    return r;
}

