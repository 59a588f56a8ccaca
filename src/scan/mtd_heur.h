/* mtd_heur: the scanner's heuristics: what makes an app risky without any indicator
 * naming it. Each heuristic has a fixed identifier (it names the finding across
 * rounds and in reports), a threat name, a category and severity, and an explanation
 * that goes into the finding's evidence with the specifics that triggered it:
 *
 *   heur.sideloaded                  install source is not one of the tenant's trusted
 *                                    stores (policy trusted_stores)
 *   heur.perm.sms_accessibility      reads and sends SMS, and has an accessibility service
 *   heur.perm.sms_device_admin       reads and sends SMS, and is a device administrator
 *   heur.perm.overlay_accessibility  draws over other apps and has an accessibility service
 *   heur.perm.installer_accessibility installs packages and has an accessibility service
 *   heur.apk.janus                   data before the ZIP (Janus, CVE-2017-13156)
 *   heur.apk.duplicate_entry, .local_header_mismatch, .overlapping_entries,
 *   .trailing_data, .duplicate_signing_block, heur.apk.signature_invalid
 *   heur.signer_change               the signer differs from an earlier version's
 *   heur.debuggable, heur.test_only
 *   heur.unneeded_accessibility, heur.unneeded_device_admin
 *                                    an app whose declared category (game, audio,
 *                                    video, image, social, news, maps) has no use for it
 *
 * The table (mtd_heur_defs) is the one list; docs and tests read it. */
#ifndef MTD_HEUR_H
#define MTD_HEUR_H

#include "android/mtd_appinfo.h"

#include <stddef.h>

typedef struct {
    const char *id, *threat_name, *category, *severity, *explanation;
} mtd_heur_def;

extern const mtd_heur_def mtd_heur_defs[];
extern const size_t mtd_heur_ndefs;
const mtd_heur_def *mtd_heur_find(const char *id);


/* What the device knows about an app beyond its APK (unknowns are NULL / -1). */
typedef struct {
    const char *install_source;   /* installer package, NULL unknown */
    int is_system;                /* part of the system image (never "sideloaded") */
    const char *const *trusted;   /* trusted stores, NULL-terminated; NULL = the
                                     policy's defaults (mtd_policy_default_stores) */
    /* an earlier version of the same package, for heur.signer_change */
    const char *const *prev_signers; /* NULL-terminated SHA-256s, NULL = none known */
    int64_t prev_version;
    const char *prev_where;       /* where that version was seen (a path, or "the
                                     version installed before") */
} mtd_heur_app;

/* One finding: the definition, and the specifics (evidence after the explanation). */
typedef int (*mtd_heur_fn)(void *ctx, const mtd_heur_def *def, const char *specifics);

/* heur.signer_change alone: now and before are NULL-terminated signer SHA-256s; a
 * finding when they have none in common. */
int mtd_heur_signer_change(const char *const *now, const char *const *before, int64_t prev_version,
                           const char *prev_where, mtd_heur_fn fn, void *ctx);

/* Runs every heuristic over one APK; returns the first non-zero fn returned. */
int mtd_heur_run(const mtd_appinfo *a, const mtd_heur_app *app, mtd_heur_fn fn, void *ctx);

#endif
