/* mtd_posture_ios: is an iOS device jailbroken? Jailbreak tools and their package
 * managers among the installed apps (by bundle ID), and files jailbreaks leave, where
 * the source has a file list (a backup's Manifest.db, a device snapshot).
 *
 * The bundle IDs are the tools' own (Cydia com.saurik.Cydia, Sileo
 * org.coolstar.SileoStore, Zebra xyz.willy.Zebra, unc0ver science.xnu.undecimus,
 * checkra1n kjc.loader, palera1n com.samiiau.loader, Dopamine com.opa334.Dopamine, ...);
 * a sideloaded copy carries a signing team's suffix ("com.opa334.Dopamine.726YNLRKV9"),
 * so an ID matches with any ".suffix" or "-suffix". The paths are those jailbreak
 * detectors agree on (OWASP MASTG's list and the jailbreaks' own install paths:
 * /var/jb of the rootless jailbreaks, /var/binpack of checkra1n, ...). */
#include "posture/mtd_posture_int.h"
#include "common/mtd_err.h"

#include <stdio.h>
#include <string.h>

static const mtd_posture_check checks[] = {
    {"ios.jailbreak_app", "integrity", "high", "Jailbroken: jailbreak app installed",
     "bundle IDs of the installed apps",
     "A jailbreak removes iOS's code signing enforcement and sandbox so that software Apple "
     "has not approved can run with full privileges. Jailbreak tools (unc0ver, checkra1n, "
     "palera1n, Dopamine) and the package managers that install tweaks (Cydia, Sileo, Zebra) "
     "are only present on devices that are or were jailbroken; on such a device any tweak can "
     "read every app's data, and the security the organization relies on no longer holds."},
    {"ios.jailbreak_files", "integrity", "high", "Jailbroken: jailbreak files present",
     "the paths of the device's file list (backup Manifest.db or snapshot)",
     "Jailbreaks install a Unix userland (apt, dpkg, bash, an SSH server) and tweak-injection "
     "libraries such as MobileSubstrate in places a stock iOS never has them, for example "
     "/var/jb, /Library/MobileSubstrate or /private/var/lib/apt. Those files stay while the "
     "device is jailbroken, even when the jailbreak app itself was hidden or removed."},
};

static const mtd_posture_family *self(void);

static const struct {
    const char *id, *name;
} apps[] = {
    {"com.saurik.Cydia", "Cydia"},         {"org.coolstar.SileoStore", "Sileo"},
    {"org.coolstar.SileoNightly", "Sileo Nightly"}, {"org.coolstar.sileo", "Sileo"},
    {"xyz.willy.Zebra", "Zebra"},          {"science.xnu.undecimus", "unc0ver"},
    {"kjc.loader", "checkra1n"},           {"com.samiiau.loader", "palera1n"},
    {"com.opa334.Dopamine", "Dopamine"},   {"org.coolstar.electra", "Electra"},
    {"org.coolstar.odyssey", "Odyssey"},   {"com.opa334.TrollStore", "TrollStore"},
    {"com.tigisoftware.Filza", "Filza"},   {"me.apptapp.installer", "Installer"},
};

static const char *const files[] = {
    "/Applications/Cydia.app", "/Applications/Sileo.app", "/Applications/Zebra.app",
    "/Applications/Filza.app", "/Library/MobileSubstrate/MobileSubstrate.dylib",
    "/Library/MobileSubstrate/DynamicLibraries", "/usr/lib/TweakInject", "/usr/lib/libhooker.dylib",
    "/usr/lib/libsubstitute.dylib", "/usr/libexec/cydia", "/usr/sbin/sshd", "/bin/bash",
    "/etc/apt", "/var/lib/apt", "/var/lib/cydia", "/var/jb", "/var/binpack", "/binpack",
    "/.installed_unc0ver", "/.bootstrapped_electra", "/.procursus_strapped", "/.installed_taurine",
    "/taurine", "/odyssey", "/var/mobile/Library/Caches/kjc.loader", "/var/mobile/Library/Sileo",
    "/var/mobile/Library/Cydia", "/var/mobile/Library/Preferences/com.saurik.Cydia.plist",
    "/var/mobile/Library/Preferences/xyz.willy.Zebra.plist",
    "/var/mobile/Library/Preferences/org.coolstar.SileoStore.plist",
};

static int id_matches(const char *bundle, const char *id)
{
    size_t n = strlen(id);
    return !strncmp(bundle, id, n) && (bundle[n] == 0 || bundle[n] == '.' || bundle[n] == '-');
}

static int jailbreak_apps(const mtd_posture_ios *ios, mtd_posture_findings *out)
{
    for (size_t i = 0; i < ios->nbundles; i++)
        for (size_t k = 0; k < sizeof apps / sizeof apps[0]; k++) {
            if (!id_matches(ios->bundle_ids[i], apps[k].id))
                continue;
            mtd_posture_finding *f =
                mtd_posture_add(out, mtd_posture_family_check(self(), "ios.jailbreak_app"),
                                ios->bundle_ids[i], ios->bundle_ids[i], "%s is installed", apps[k].name);
            if (!f)
                return MTD_ENOMEM;
            snprintf(f->threat_name, sizeof f->threat_name, "Jailbroken: %s installed", apps[k].name);
            break;
        }
    return 0;
}

/* /private/var is /var on iOS: paths compare in their /var form. */
static const char *var_form(const char *p)
{
    return !strncmp(p, "/private/var/", 13) ? p + 8 : p;
}

static int jailbreak_files(const mtd_posture_ios *ios, mtd_posture_findings *out)
{
    char ev[1000] = "";
    for (size_t i = 0; i < ios->npaths; i++) {
        const char *p = var_form(ios->paths[i]);
        for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
            size_t n = strlen(files[k]);
            if (!strncmp(p, files[k], n) && (p[n] == 0 || p[n] == '/'))
                mtd_posture_list_add(ev, sizeof ev, files[k]);
        }
    }
    if (!ev[0])
        return 0;
    return mtd_posture_add(out, mtd_posture_family_check(self(), "ios.jailbreak_files"), NULL, NULL,
                           "%s", ev)
               ? 0
               : MTD_ENOMEM;
}

static int run(const mtd_posture_input *in, mtd_posture_findings *out, char *why, size_t wl)
{
    (void)why;
    (void)wl;
    if (!in->ios)
        return 0;
    int r = jailbreak_apps(in->ios, out);
    return r ? r : jailbreak_files(in->ios, out);
}

const mtd_posture_family mtd_posture_ios_family = {checks, sizeof checks / sizeof checks[0], run};

static const mtd_posture_family *self(void) { return &mtd_posture_ios_family; }
