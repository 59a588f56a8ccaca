/* mtd_posture: whether a device can be trusted (issue 18; DESIGN.md `mtd-agent
 * posture`): rooted or jailbroken, its integrity weakened, its OS out of support or
 * unpatched, its apps known to be vulnerable.
 *
 * Checks come in families, one file each: root (su, busybox, root managers, hooking
 * frameworks), build (build keys and type, bootloader, verified boot, SELinux), debug
 * (adb, developer options, accessibility services), net (adb over the network, proxy,
 * user CA certificates), ios (jailbreak apps and files), os (end of support, patch
 * level), osv (app versions against OSV vulnerability records). Every check has a fixed
 * identifier, a category (integrity, os, app, network), a default severity, a threat
 * name and a one-paragraph explanation; the table is public (mtd_posture_check_at) so
 * that the privacy statement can show what each check reads and why.
 *
 * mtd_posture_run() only reads and returns findings; nothing here sends anything.
 * `mtd-agent posture` prints them; `mtd-agent run` turns them into threat.detection
 * events (mtd_posture_detection) that go through the privacy gate like every event.
 * Findings, inputs and their strings belong to the caller. */
#ifndef MTD_POSTURE_H
#define MTD_POSTURE_H

#include "android/mtd_snapshot.h"
#include "collect/mtd_threats.h"
#include "common/mtd_buf.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef struct {
    const char *id;          /* "android.su_binary": fixed, the finding's `check` */
    const char *category;    /* integrity | os | app | network */
    const char *severity;    /* default; a finding may carry its own (OSV records do) */
    const char *threat_name; /* default; a finding may name what it found */
    const char *reads;       /* what the check reads, for the privacy statement */
    const char *explanation; /* one paragraph: what it means and why it matters */
} mtd_posture_check;

/* The privacy statement's account of the checks, appended to out as Markdown: that
 * they run on the device, what each one reads, what a finding sends, and each
 * check's explanation, grouped by category (mtd_statement_with_checks). */
void mtd_posture_statement_md(mtd_buf *out);

size_t mtd_posture_check_count(void);
const mtd_posture_check *mtd_posture_check_at(size_t i);
const mtd_posture_check *mtd_posture_check_find(const char *id);

/* An iOS device as a backup or snapshot shows it: installed bundle IDs and, where the
 * source has one, its file list as device paths ("/var/mobile/Library/..."). */
typedef struct {
    const char *const *bundle_ids;
    size_t nbundles;
    const char *const *paths;
    size_t npaths;
    const char *os_version; /* "14.3", NULL when unknown */
} mtd_posture_ios;

typedef struct mtd_posture_vulns mtd_posture_vulns; /* OSV records (mtd_posture_osv.c) */

typedef struct {
    const mtd_snapshot *android;      /* an Android snapshot, or NULL */
    const mtd_posture_ios *ios;       /* an iOS device, or NULL */
    const json_t *apps;               /* the inventory: objects with package, version_name,
                                       * version_code (and is_system); NULL = none */
    const mtd_posture_vulns *vulns;   /* NULL = no records */
    int patch_max_age_days;           /* the tenant policy's; 90 by default */
    time_t now;
} mtd_posture_input;

typedef struct {
    const mtd_posture_check *check;
    char threat_name[256];
    char severity[16];
    char evidence[1024];
    char package[256]; /* "" unless the finding is about one app */
    char subject[512]; /* what tells findings of one check apart ("" when one at most) */
} mtd_posture_finding;

typedef struct {
    mtd_posture_finding *v;
    size_t n;
} mtd_posture_findings;

/* Runs every check that applies to the input. Returns 0, or an error (out of memory)
 * with why; a missing source is never an error: its checks stay silent. */
int mtd_posture_run(const mtd_posture_input *in, mtd_posture_findings *out, char *why, size_t whylen);
void mtd_posture_findings_free(mtd_posture_findings *f);

/* The finding as `mtd-agent posture` prints it: check, threat_name, category,
 * severity, evidence, explanation, and package when it is about one app. */
json_t *mtd_posture_finding_json(const mtd_posture_finding *f);
/* The finding's threat.detection fields (threat_name, category, severity, source
 * "device", evidence, package) and its stable threat ID: the check's identifier, and
 * for a check that can find several things, a digest of what it found (an ID never
 * spells a package out, so report_app_details keeps its meaning). */
json_t *mtd_posture_detection(const mtd_posture_finding *f, char *threat_id, size_t idlen);

/* ---- a device's posture (mtd_posture_device.c) ---- */
typedef struct {
    const char *android_root;         /* an Android snapshot directory, or NULL */
    const char *ios_backup;           /* an iOS backup or snapshot directory, or NULL */
    const mtd_posture_vulns *vulns;   /* NULL = no records */
    int patch_max_age_days;
} mtd_posture_device;

/* Reads the device (the snapshot and its app inventory, or the iOS backup) and runs
 * the checks. Neither directory: no check applies, *out stays empty and *applies
 * (may be NULL) is 0. Returns 0, or an error with why naming what could not be read. */
int mtd_posture_assess(const mtd_posture_device *d, mtd_posture_findings *out, int *applies,
                       char *why, size_t whylen);

/* One round of `mtd-agent run` (mtd_posture_round.c): assesses the device and reports
 * each finding through the tracker of source "device" in state_dir (a threat.detection
 * to emit when it is new or changed, "resolved" for those gone). *tracker gets the
 * tracker, for the caller to commit after the spool commit and close; it stays NULL
 * when nothing was assessed: no device, or one whose sources could not be read (logged;
 * then nothing is resolved either, so a bad read never clears the tenant's view).
 * Returns 0, or what emit returned. */
int mtd_posture_round(const mtd_posture_device *d, const char *state_dir, mtd_emit_fn emit, void *ctx,
                      mtd_threats **tracker);

/* ---- OSV vulnerability records (mtd_posture_osv.c) ---- */
mtd_posture_vulns *mtd_posture_vulns_new(void);
/* Adds the records of one OSV JSON document: a record, an array of records, or an
 * object {"vulns": [...]} as the OSV API answers. Strict: a record that is not the
 * OSV schema's shape is an error naming its id and the key at fault, and nothing of
 * that document is added. */
int mtd_posture_vulns_add(mtd_posture_vulns *v, const uint8_t *buf, size_t len, char *why,
                          size_t whylen);
/* The same, from a file (why names it). */
int mtd_posture_vulns_load(mtd_posture_vulns *v, const char *path, char *why, size_t whylen);
size_t mtd_posture_vulns_count(const mtd_posture_vulns *v);
void mtd_posture_vulns_free(mtd_posture_vulns *v);

/* ---- versions (mtd_posture_version.c) ---- */
/* SemVer 2.0 precedence (a missing minor or patch reads as 0, a leading "v" and build
 * metadata are ignored). Returns 0 with *cmp <0, 0, >0, or MTD_EINVAL when either is
 * not a version of that shape. */
int mtd_posture_semver_cmp(const char *a, const char *b, int *cmp);
/* Order of versions without a scheme: runs of digits compare as numbers, other runs
 * as text, separators (. - _ +) only separate ("1.10" > "1.9", "2.0-beta" < "2.0.1"). */
int mtd_posture_version_cmp(const char *a, const char *b);
/* CVSS v3.x base score of a vector "CVSS:3.1/AV:N/AC:L/...", 0..10, or -1 when the
 * vector is not a complete v3 base vector. */
double mtd_posture_cvss3_score(const char *vector);

#endif
