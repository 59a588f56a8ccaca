/* mtd_ioc: the indicator set of the app scanner: SHA-256 digests of APK files and of
 * the entries inside them, signer certificate digests, package names (optionally with
 * a versionCode range), and file paths on the device, loaded from plain lists and
 * STIX 2.1 bundles (the tenant's own indicators arrive as such files through the
 * collector's feed distribution).
 *
 * Plain list, one indicator a line, optionally followed by a threat name:
 *     <64 hex>                 an APK or entry SHA-256, or a signer certificate digest
 *     sha256:<64 hex>          an APK or entry SHA-256 only
 *     cert:<64 hex>            a signer certificate digest only (AB:CD:... accepted)
 *     com.example.app          a package (two or more dotted names)
 *     package:NAME[@RANGE]     a package; RANGE: N, N-M, N- or -M (versionCode)
 * '#' starts a comment (at the start of a line or after a blank). A line that is none
 * of these is an error naming the file and the line.
 *
 * STIX 2.1 bundle (mtd_stix.c): indicators whose pattern compares
 * file:hashes.'SHA-256', x509-certificate:hashes.'SHA-256', app:id (with optional
 * app:version_code bounds, AND-ed) or file:path; the threat name comes from the
 * malware, threat actor or campaign the indicator indicates. Other indicators
 * (domain-name, url, ...) are counted, not loaded: they are web protection's.
 *
 * Look-ups are hash probes (digests are uniformly distributed, so their first bytes
 * are the hash), never scans. The set owns every string it holds. */
#ifndef MTD_IOC_H
#define MTD_IOC_H

#include <stddef.h>
#include <stdint.h>

typedef struct mtd_ioc mtd_ioc;

/* What a match reports: the threat and where the indicator came from. */
typedef struct {
    const char *threat_name;
    const char *category;    /* a threat.detection category (schema) */
    const char *severity;
    const char *file;        /* the indicator file's base name */
    const char *stix_id;     /* "indicator--..." for STIX, NULL for a plain list */
} mtd_ioc_ref;

typedef struct {
    const mtd_ioc_ref *ref;
    uint32_t line;           /* line in the plain list, 0 for STIX */
} mtd_ioc_match;

enum { MTD_IOC_FILE = 1, MTD_IOC_CERT = 2 };

/* Counts of one loaded file. */
typedef struct {
    size_t indicators;       /* list lines or STIX indicator objects read */
    size_t digests, certs, packages, paths; /* entries loaded, by kind */
    size_t skipped;          /* revoked, expired or benign STIX indicators */
    size_t other;            /* indicators for other kinds of object */
    char other_detail[256];  /* "336 domain-name, 1 configuration-profile" */
} mtd_ioc_stats;

mtd_ioc *mtd_ioc_new(void);
void mtd_ioc_free(mtd_ioc *s);

/* Loads a plain list or a STIX bundle (told apart by the first non-blank byte '{').
 * Refused whole on error: why gets "FILE:LINE: what is wrong" and nothing of the file
 * stays in the set. st (may be NULL) gets the file's counts. */
int mtd_ioc_load_file(mtd_ioc *s, const char *path, mtd_ioc_stats *st, char *why, size_t whylen);
int mtd_ioc_load_buf(mtd_ioc *s, const char *name, const uint8_t *buf, size_t len,
                     mtd_ioc_stats *st, char *why, size_t whylen);

/* 1 and *m when digest d is an indicator of one of the kinds in mask, else 0. */
int mtd_ioc_find_digest(const mtd_ioc *s, const uint8_t d[32], unsigned mask, mtd_ioc_match *m);
/* 1 and *m when the package (at version_code; -1 unknown matches only open ranges) is
 * an indicator. */
int mtd_ioc_find_package(const mtd_ioc *s, const char *pkg, int64_t version_code, mtd_ioc_match *m);
/* File path indicators, for a snapshot's files: the i-th path or NULL past the end. */
const char *mtd_ioc_path(const mtd_ioc *s, size_t i, mtd_ioc_match *m);
/* Entries in the set (digests + packages + paths), and digests alone. */
size_t mtd_ioc_size(const mtd_ioc *s);
size_t mtd_ioc_digests(const mtd_ioc *s);

/* "FILE:LINE" or "FILE indicator--..." of a match, for evidence. */
void mtd_ioc_origin(const mtd_ioc_match *m, char *out, size_t outlen);

/* For mtd_stix.c: adding entries under a reference made by mtd_ioc_ref_add. */
uint32_t mtd_ioc_ref_add(mtd_ioc *s, const char *threat_name, const char *category,
                         const char *severity, const char *file, const char *stix_id);
int mtd_ioc_add_digest(mtd_ioc *s, const uint8_t d[32], unsigned kind, uint32_t ref, uint32_t line);
int mtd_ioc_add_package(mtd_ioc *s, const char *pkg, int64_t vmin, int64_t vmax, uint32_t ref,
                        uint32_t line);
int mtd_ioc_add_path(mtd_ioc *s, const char *path, uint32_t ref);
/* 64 hex digits (or 32 colon-separated pairs when colons) to 32 bytes; 0 on success. */
int mtd_ioc_hex32(const char *s, size_t n, int colons, uint8_t out[32]);
/* A package name as Android allows it: dotted Java-like names; min_parts of them. */
int mtd_ioc_package_ok(const char *s, size_t n, int min_parts);

/* The STIX 2.1 loader (mtd_stix.c), called by mtd_ioc_load_buf. */
int mtd_stix_load(mtd_ioc *s, const char *name, const uint8_t *buf, size_t len,
                  mtd_ioc_stats *st, char *why, size_t whylen);

#endif
