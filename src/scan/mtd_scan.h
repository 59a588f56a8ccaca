/* mtd_scan: the scan of one APK: indicators (the APK's SHA-256, the SHA-256 of each
 * dex, native library and asset inside it, the signer certificates, the package and
 * version), YARA rules over those same entries decompressed in memory, and the
 * heuristics. The APK is mapped once; each entry is inflated once, hashed and handed
 * to libyara, and freed.
 *
 * Limits hold for any APK, however hostile: an entry larger than max_entry bytes
 * decompressed is not inflated (counted as skipped), nor any entry once max_total
 * bytes were inflated for this APK, and YARA gets timeout_s seconds for all the APK's
 * entries together (the scan stops and says so when they run out).
 *
 * Findings go to a callback as they are made; each carries a fixed rule identifier
 * (ioc.apk_sha256, ioc.entry_sha256, ioc.signer, ioc.package, yara.<file>.<rule>,
 * heur.*) and evidence that names what matched but never the app's package or path
 * (those travel in their own fields, which report_app_details=minimal removes). */
#ifndef MTD_SCAN_H
#define MTD_SCAN_H

#include "android/mtd_appinfo.h"
#include "scan/mtd_heur.h"
#include "scan/mtd_ioc.h"
#include "scan/mtd_yara.h"

#include <stdint.h>

typedef struct {
    const mtd_ioc *ioc;     /* NULL: no indicators */
    const mtd_yara *yara;   /* NULL: no rules */
    int heuristics;         /* run mtd_heur */
    int timeout_s;          /* YARA seconds per APK (0: 10) */
    uint64_t max_entry;     /* 0: 32 MiB */
    uint64_t max_total;     /* 0: 256 MiB */
} mtd_scan_cfg;

typedef struct {
    const char *rule;       /* fixed identifier */
    const char *threat_name, *category, *severity;
    char evidence[1024];
    const char *subject;    /* ioc.file_path: the path on the device; else NULL */
} mtd_finding;

typedef struct {
    unsigned entries;       /* entries hashed / scanned */
    unsigned skipped;       /* entries over a size limit, or unreadable */
    uint64_t bytes;         /* bytes inflated */
    int timed_out;          /* YARA's time for this APK ran out */
    int64_t inflate_ns, yara_ns; /* time spent inflating entries, and in libyara */
} mtd_scan_stats;

/* Returns non-zero to stop the scan. */
typedef int (*mtd_scan_fn)(void *ctx, const mtd_finding *f);

/* One thread's scanner (it holds libyara's per-thread scanner). */
typedef struct mtd_scanner mtd_scanner;
int mtd_scanner_new(const mtd_scan_cfg *cfg, mtd_scanner **out);
void mtd_scanner_free(mtd_scanner *s);

/* Scans the APK at path. app (may be NULL) says what the device knows about it.
 * *a gets the APK as read (free with mtd_appinfo_free), *st the work done. Returns 0,
 * or an error with why naming the file (unreadable, not an APK); what fn returned
 * when it stopped the scan. */
int mtd_scan_apk(mtd_scanner *s, const char *path, const mtd_heur_app *app, mtd_appinfo *a,
                 mtd_scan_stats *st, mtd_scan_fn fn, void *ctx, char *why, size_t whylen);

/* An app of an inventory (an object of `inventory apps`): its APK, root + apk_path,
 * when the file is there, else its record alone (the package and version against the
 * indicators, and the heuristics that need no APK). h (the caller's trusted stores
 * and earlier signers) gets the install source and system flag of the record.
 * *scanned is 1 when the APK was read. Otherwise as mtd_scan_apk. */
#include <jansson.h>
int mtd_scan_inventory_app(mtd_scanner *s, const char *root, const json_t *app, mtd_heur_app *h,
                           mtd_appinfo *a, int *scanned, mtd_scan_stats *st, mtd_scan_fn fn,
                           void *ctx, char *why, size_t whylen);

/* heur.signer_change between two versions known to the caller (mtd_heur.h), as a
 * finding like the others. */
int mtd_scan_signer_change(const char *const *now, const char *const *before, int64_t prev_version,
                           const char *prev_where, mtd_scan_fn fn, void *ctx);

/* File path indicators against a snapshot: a finding (ioc.file_path, no package) for
 * each path that exists under root. */
int mtd_scan_file_paths(const mtd_ioc *ioc, const char *root, mtd_scan_fn fn, void *ctx);

/* The scanned entries: dex files anywhere, lib/ and assets/. */
int mtd_scan_entry_wanted(const char *name, size_t len);

#endif
