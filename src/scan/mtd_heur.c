/* mtd_heur: the heuristics table and the checks behind each entry. */
#include "scan/mtd_heur.h"
#include "android/mtd_apkzip.h"
#include "privacy/mtd_policy.h"

#include <stdio.h>
#include <string.h>

const mtd_heur_def mtd_heur_defs[] = {
    {"heur.sideloaded", "Sideloaded app", "sideload", "low",
     "was installed from outside the organization's trusted app stores, so no store reviewed it"},
    {"heur.perm.sms_accessibility", "Reads and sends SMS with an accessibility service", "riskware", "high",
     "can read and send text messages and, through an accessibility service, read and drive the "
     "screen: the pattern of banking trojans that steal one-time codes"},
    {"heur.perm.sms_device_admin", "Reads and sends SMS as a device administrator", "riskware", "high",
     "can read and send text messages and asks to be a device administrator, which makes it hard to "
     "remove: the pattern of SMS fraud and ransomware"},
    {"heur.perm.overlay_accessibility", "Draws over other apps with an accessibility service", "riskware", "medium",
     "can draw over other apps and read the screen through an accessibility service: what overlay "
     "attacks on banking and login screens need"},
    {"heur.perm.installer_accessibility", "Installs apps with an accessibility service", "riskware", "medium",
     "can install other apps and click through their prompts with an accessibility service: the "
     "pattern of droppers"},
    {"heur.apk.janus", "APK with data before its ZIP (Janus)", "tampering", "high",
     "has bytes before the first ZIP entry, which Android versions without the December 2017 patch "
     "run as a DEX file while the signature covers only the ZIP (Janus, CVE-2017-13156)"},
    {"heur.apk.duplicate_entry", "APK with duplicate ZIP entries", "tampering", "high",
     "has two ZIP entries with one name, so the installer and the signature check may see different "
     "contents (the 'master key' class of bugs)"},
    {"heur.apk.local_header_mismatch", "APK whose ZIP headers disagree", "tampering", "medium",
     "has local file headers that disagree with the central directory, a way to show different "
     "contents to different readers"},
    {"heur.apk.overlapping_entries", "APK with overlapping ZIP entries", "tampering", "medium",
     "has ZIP entries whose data overlap, which no packaging tool writes"},
    {"heur.apk.trailing_data", "APK with hidden data in its ZIP", "tampering", "low",
     "has bytes between the central directory and its end record, where a payload can hide"},
    {"heur.apk.duplicate_signing_block", "APK with two signing blocks of one scheme", "tampering", "high",
     "has two APK Signing Block entries of one scheme: tools that read the second see another "
     "signer than Android, which reads the first (signer confusion)"},
    {"heur.apk.signature_invalid", "APK whose signature does not verify", "tampering", "high",
     "has a v2/v3 signature that does not match its contents: it was changed after signing"},
    {"heur.signer_change", "Signer changed between versions", "tampering", "high",
     "is signed by another certificate than an earlier version of the same package: a repackaged or "
     "replaced app, unless its developer rotated keys"},
    {"heur.debuggable", "Debuggable app", "riskware", "medium",
     "is marked debuggable, so any process with adb access can attach a debugger and read its data"},
    {"heur.test_only", "Test-only app", "riskware", "low",
     "is marked test-only: a development build that app stores do not distribute"},
    {"heur.unneeded_accessibility", "Accessibility service its category does not need", "riskware", "medium",
     "declares an accessibility service, which can read everything on screen, although its declared "
     "category has no use for one"},
    {"heur.unneeded_device_admin", "Device administrator its category does not need", "riskware", "medium",
     "asks to be a device administrator, which can lock or wipe the device and resists removal, "
     "although its declared category has no use for it"},
};
const size_t mtd_heur_ndefs = sizeof mtd_heur_defs / sizeof mtd_heur_defs[0];


const mtd_heur_def *mtd_heur_find(const char *id)
{
    for (size_t i = 0; i < mtd_heur_ndefs; i++)
        if (!strcmp(mtd_heur_defs[i].id, id))
            return &mtd_heur_defs[i];
    return NULL;
}

static int has_perm(const mtd_manifest *m, const char *short_name)
{
    char full[128];
    snprintf(full, sizeof full, "android.permission.%s", short_name);
    for (size_t i = 0; i < m->nperms; i++)
        if (!strcmp(m->perms[i], full))
            return 1;
    return 0;
}

static int report(mtd_heur_fn fn, void *ctx, const char *id, const char *specifics)
{
    return fn(ctx, mtd_heur_find(id), specifics);
}

static int sideloaded(const mtd_heur_app *app, mtd_heur_fn fn, void *ctx)
{
    if (!app || app->is_system || !app->install_source || !app->install_source[0])
        return 0; /* the system image, or nobody recorded who installed it */
    const char *const *t = app->trusted ? app->trusted : mtd_policy_default_stores;
    for (; *t; t++)
        if (!strcmp(*t, app->install_source))
            return 0;
    char s[400];
    snprintf(s, sizeof s, "installed by %.200s", app->install_source);
    return report(fn, ctx, "heur.sideloaded", s);
}

static int permissions(const mtd_manifest *m, mtd_heur_fn fn, void *ctx)
{
    int sms = (has_perm(m, "READ_SMS") || has_perm(m, "RECEIVE_SMS")) && has_perm(m, "SEND_SMS");
    int acc = m->accessibility_services > 0, admin = m->device_admins > 0, r = 0;
    if (sms && acc)
        r = report(fn, ctx, "heur.perm.sms_accessibility",
                   "READ_SMS or RECEIVE_SMS, SEND_SMS, and a service bound by BIND_ACCESSIBILITY_SERVICE");
    if (r == 0 && sms && admin)
        r = report(fn, ctx, "heur.perm.sms_device_admin",
                   "READ_SMS or RECEIVE_SMS, SEND_SMS, and a receiver bound by BIND_DEVICE_ADMIN");
    if (r == 0 && acc && has_perm(m, "SYSTEM_ALERT_WINDOW"))
        r = report(fn, ctx, "heur.perm.overlay_accessibility",
                   "SYSTEM_ALERT_WINDOW and a service bound by BIND_ACCESSIBILITY_SERVICE");
    if (r == 0 && acc && (has_perm(m, "REQUEST_INSTALL_PACKAGES") || has_perm(m, "INSTALL_PACKAGES")))
        r = report(fn, ctx, "heur.perm.installer_accessibility",
                   "REQUEST_INSTALL_PACKAGES and a service bound by BIND_ACCESSIBILITY_SERVICE");
    return r;
}

static int anomalies(const mtd_appinfo *a, mtd_heur_fn fn, void *ctx)
{
    static const struct { unsigned bit; const char *id; } map[] = {
        {MTD_ZIPA_PREFIX_DATA, "heur.apk.janus"},
        {MTD_ZIPA_DUPLICATE, "heur.apk.duplicate_entry"},
        {MTD_ZIPA_LOCAL_MISMATCH, "heur.apk.local_header_mismatch"},
        {MTD_ZIPA_OVERLAP, "heur.apk.overlapping_entries"},
        {MTD_ZIPA_COMMENT_DATA, "heur.apk.trailing_data"},
    };
    int r = 0;
    /* the reader words only the first anomaly it met */
    char other[300];
    snprintf(other, sizeof other, "found by the ZIP reader (the first anomaly: %s)", a->anomaly_detail);
    int one = a->anomalies && !(a->anomalies & (a->anomalies - 1));
    for (size_t i = 0; r == 0 && i < sizeof map / sizeof map[0]; i++)
        if (a->anomalies & map[i].bit)
            r = report(fn, ctx, map[i].id, one ? a->anomaly_detail : other);
    if (r == 0 && a->sig.duplicate_blocks)
        r = report(fn, ctx, "heur.apk.duplicate_signing_block", "a v2/v3 block ID appears twice");
    if (r == 0 && a->sig.verified == 0)
        r = report(fn, ctx, "heur.apk.signature_invalid", a->sig.detail[0] ? a->sig.detail : "verification failed");
    return r;
}

int mtd_heur_signer_change(const char *const *now, const char *const *before, int64_t prev_version,
                           const char *prev_where, mtd_heur_fn fn, void *ctx)
{
    if (!now || !now[0] || !before || !before[0])
        return 0; /* unsigned, or nothing to compare with */
    for (const char *const *n = now; *n; n++)
        for (const char *const *p = before; *p; p++)
            if (!strcmp(*p, *n))
                return 0; /* a signer in common: the same developer */
    char s[600];
    snprintf(s, sizeof s, "signer %.64s; version %lld (%.200s) was signed by %.64s", now[0],
             (long long)prev_version, prev_where ? prev_where : "seen before", before[0]);
    return report(fn, ctx, "heur.signer_change", s);
}

static int signer_change(const mtd_appinfo *a, const mtd_heur_app *app, mtd_heur_fn fn, void *ctx)
{
    if (!app || !app->prev_signers)
        return 0;
    const char *now[MTD_APKSIGN_MAX_SIGNERS + 1];
    for (int i = 0; i < a->sig.nsigners; i++)
        now[i] = a->sig.signer_sha256[i];
    now[a->sig.nsigners] = NULL;
    return mtd_heur_signer_change(now, app->prev_signers, app->prev_version, app->prev_where, fn, ctx);
}

static const char *const category_names[] = {"game", "audio", "video", "image", "social", "news", "maps"};

static int flags_and_category(const mtd_manifest *m, mtd_heur_fn fn, void *ctx)
{
    int r = 0;
    if (m->debuggable)
        r = report(fn, ctx, "heur.debuggable", "android:debuggable=\"true\"");
    if (r == 0 && m->test_only)
        r = report(fn, ctx, "heur.test_only", "android:testOnly=\"true\"");
    if (m->app_category < 0 || m->app_category > 6)
        return r; /* undeclared, productivity or accessibility: no claim to check */
    char s[200];
    snprintf(s, sizeof s, "android:appCategory=\"%s\"", category_names[m->app_category]);
    if (r == 0 && m->accessibility_services)
        r = report(fn, ctx, "heur.unneeded_accessibility", s);
    if (r == 0 && m->device_admins)
        r = report(fn, ctx, "heur.unneeded_device_admin", s);
    return r;
}

int mtd_heur_run(const mtd_appinfo *a, const mtd_heur_app *app, mtd_heur_fn fn, void *ctx)
{
    int r;
    if ((r = sideloaded(app, fn, ctx)) != 0 || (r = permissions(&a->m, fn, ctx)) != 0 ||
        (r = anomalies(a, fn, ctx)) != 0 || (r = signer_change(a, app, fn, ctx)) != 0)
        return r;
    return flags_and_category(&a->m, fn, ctx);
}
