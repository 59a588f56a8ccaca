/* mtd_appscan: the app scan of a `mtd-agent run` round, over an Android snapshot.
 *
 * Each round gets the inventory the app source just read. An app that is new or
 * changed since it was last scanned (another APK SHA-256 or version) is scanned at
 * once, in the round that reports its install or update; the whole inventory is
 * scanned when the last full scan is older than the interval, or when the tenant's
 * indicators (STATE/feeds/indicators), rules (STATE/feeds/yara) or trusted stores
 * changed. Findings go through the threat tracker (collect/mtd_threats.h, source
 * "app"): a finding of an app that was removed, or updated and no longer has it, is
 * resolved, and so the device's risk falls. A finding's threat_id is a pseudonym under
 * the tenant key of (rule, threat, package), so that it says nothing of the app when
 * report_app_details=minimal leaves the package out.
 *
 * STATE/scan.json keeps, per package, the APK last scanned and the signers of the
 * first version seen (for heur.signer_change across updates), the time of the last full
 * scan, a digest of the inputs, and the last round's status and timings (the
 * diagnostic bundle's scan_status and scan_ms). Like the tracker it advances only
 * after the spool commit (mtd_appscan_commit). */
#ifndef MTD_APPSCAN_H
#define MTD_APPSCAN_H

#include "collect/mtd_sources.h"
#include "privacy/mtd_policy.h"
#include "privacy/mtd_pseudo.h"

#include <jansson.h>
#include <stdint.h>

typedef struct {
    const char *state_dir;
    const char *android_root;   /* the snapshot; the scan runs only on one */
    const mtd_tenant_key *key;  /* threat IDs are pseudonyms under it */
    const mtd_policy *policy;   /* app_scanning, trusted_stores */
    int64_t full_interval_s;    /* 0: a day */
    int64_t now;                /* seconds since the epoch (0: the clock) */
} mtd_appscan_cfg;

typedef struct mtd_appscan mtd_appscan;

/* Scans as above; apps: the round's inventory (objects of `inventory apps`). *out is
 * NULL when no scan ran (no snapshot, app_scanning off). Returns what emit returned. */
int mtd_appscan_round(const mtd_appscan_cfg *c, const json_t *apps, mtd_emit_fn emit, void *ctx,
                      mtd_appscan **out);
/* After the spool commit only: the tracker and STATE/scan.json advance. */
int mtd_appscan_commit(mtd_appscan *a);
void mtd_appscan_close(mtd_appscan *a);

/* The policy's trusted_stores (one a line) as the heuristics' NULL-terminated list:
 * out points into buf. */
#define MTD_APPSCAN_MAX_STORES 64
void mtd_appscan_trusted(const mtd_policy *p, char buf[MTD_POLICY_LIST_BYTES],
                         const char *out[MTD_APPSCAN_MAX_STORES + 1]);

/* The last round's status ("full scan of 12 apps: 2 findings", or why it could not
 * run) and its duration in ms; MTD_ENOENT when no scan ran yet. */
int mtd_appscan_status(const char *state_dir, char *status, size_t statuslen, int64_t *ms);

#endif
