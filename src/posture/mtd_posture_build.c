/* mtd_posture_build: the integrity an Android build and its boot declare in their
 * system properties (getprop, build.prop): signing keys, build type, debuggable and
 * insecure builds, the bootloader lock and verified boot state, and SELinux
 * enforcement (also from `getenforce` output or /sys/fs/selinux/enforce when the
 * snapshot holds them). */
#include "posture/mtd_posture_int.h"
#include "common/mtd_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const mtd_posture_check checks[] = {
    {"android.test_keys", "integrity", "medium", "Build signed with test keys",
     "system properties ro.build.tags and ro.build.fingerprint",
     "Production Android builds are signed with the manufacturer's private release keys. A "
     "build tagged test-keys or dev-keys was signed with keys that are public or shared among "
     "developers: anyone can sign a system update or a system app the device will accept. "
     "Such builds are custom ROMs, engineering images or tampered firmware."},
    {"android.debuggable", "integrity", "high", "Debuggable build (ro.debuggable=1)",
     "system property ro.debuggable",
     "With ro.debuggable=1 every app on the device can be debugged over adb: a debugger can "
     "attach to any app, read its memory and its private files, and change what it does. "
     "Production builds set it to 0."},
    {"android.insecure_build", "integrity", "high", "Insecure build (ro.secure=0)",
     "system property ro.secure",
     "With ro.secure=0 the adb daemon runs as root, so whoever connects over USB (or the "
     "network, when adb over TCP is on) gets a root shell without rooting the device. "
     "Production builds set it to 1."},
    {"android.dev_build", "integrity", "medium", "Engineering or userdebug build",
     "system property ro.build.type",
     "Android builds come as user (production), userdebug or eng. userdebug and eng builds "
     "keep debugging features that production devices leave out, such as adb root and "
     "debuggable system processes; they are meant for developers, not for managed devices."},
    {"android.bootloader_unlocked", "integrity", "medium", "Bootloader unlocked",
     "system properties ro.boot.flash.locked, ro.boot.vbmeta.device_state, ro.boot.verifiedbootstate",
     "An unlocked bootloader boots whatever system image is flashed, without verifying it: "
     "that is how devices get rooted or get custom firmware, and it lets anyone with physical "
     "access replace the system. Android shows it as verified boot state orange."},
    {"android.verified_boot", "integrity", "medium", "Verified boot not green",
     "system property ro.boot.verifiedbootstate",
     "Verified boot checks every boot that the system is the one its signer made. State "
     "yellow means the device boots a system signed with a key the user installed rather "
     "than the manufacturer's; red means verification failed. Either way the device does "
     "not run the manufacturer's verified system."},
    {"android.selinux_permissive", "integrity", "high", "SELinux not enforcing",
     "system property ro.boot.selinux, getenforce output, /sys/fs/selinux/enforce",
     "SELinux confines every app and system service to what its policy allows; it is what "
     "keeps a compromised process from reaching the rest of the system. In permissive mode "
     "violations are only logged, not blocked, which rooting tools and exploits rely on."},
};

static const mtd_posture_family *self(void);

static const char *prop(const mtd_snapshot *s, const char *key)
{
    const char *v = mtd_props_get(&s->props, key);
    return v && *v ? v : NULL;
}

static int add(mtd_posture_findings *out, const char *id, const char *evidence)
{
    return mtd_posture_add(out, mtd_posture_family_check(self(), id), NULL, NULL, "%s", evidence)
               ? 0
               : MTD_ENOMEM;
}

static int keys_and_type(const mtd_snapshot *s, mtd_posture_findings *out)
{
    const char *tags = prop(s, "ro.build.tags"), *fp = prop(s, "ro.build.fingerprint");
    char ev[600];
    int r = 0;
    const char *bad = tags && strstr(tags, "test-keys") ? "test-keys"
                      : tags && strstr(tags, "dev-keys") ? "dev-keys" : NULL;
    if (bad) {
        snprintf(ev, sizeof ev, "ro.build.tags=%s", tags);
        r = add(out, "android.test_keys", ev);
    } else if (!tags && fp && (strstr(fp, "/test-keys") || strstr(fp, "/dev-keys"))) {
        snprintf(ev, sizeof ev, "ro.build.fingerprint=%s", fp);
        r = add(out, "android.test_keys", ev);
    }
    const char *v;
    if (r == 0 && (v = prop(s, "ro.debuggable")) && !strcmp(v, "1"))
        r = add(out, "android.debuggable", "ro.debuggable=1");
    if (r == 0 && (v = prop(s, "ro.secure")) && !strcmp(v, "0"))
        r = add(out, "android.insecure_build", "ro.secure=0");
    if (r == 0 && (v = prop(s, "ro.build.type")) && (!strcmp(v, "eng") || !strcmp(v, "userdebug"))) {
        snprintf(ev, sizeof ev, "ro.build.type=%s", v);
        r = add(out, "android.dev_build", ev);
    }
    return r;
}

static int boot(const mtd_snapshot *s, mtd_posture_findings *out)
{
    const char *locked = prop(s, "ro.boot.flash.locked"), *state = prop(s, "ro.boot.vbmeta.device_state"),
               *vbs = prop(s, "ro.boot.verifiedbootstate");
    char ev[600] = "", item[200];
    if (locked && !strcmp(locked, "0"))
        mtd_posture_list_add(ev, sizeof ev, "ro.boot.flash.locked=0");
    if (state && !strcmp(state, "unlocked"))
        mtd_posture_list_add(ev, sizeof ev, "ro.boot.vbmeta.device_state=unlocked");
    if (vbs && !strcmp(vbs, "orange"))
        mtd_posture_list_add(ev, sizeof ev, "ro.boot.verifiedbootstate=orange");
    int r = ev[0] ? add(out, "android.bootloader_unlocked", ev) : 0;
    if (r == 0 && vbs && (!strcmp(vbs, "yellow") || !strcmp(vbs, "red"))) {
        snprintf(item, sizeof item, "ro.boot.verifiedbootstate=%s", vbs);
        mtd_posture_finding *f = mtd_posture_add(out, mtd_posture_family_check(self(), "android.verified_boot"),
                                                 NULL, NULL, "%s", item);
        if (!f)
            return MTD_ENOMEM;
        if (!strcmp(vbs, "red")) /* verification failed: a system nobody vouches for */
            snprintf(f->severity, sizeof f->severity, "high");
    }
    return r;
}

/* The first line of a small snapshot file, trimmed, or "". */
static void first_line(const mtd_snapshot *s, const char *rel, char *out, size_t len)
{
    uint8_t *d;
    size_t n;
    out[0] = 0;
    if (mtd_snapshot_read(s, rel, &d, &n) != 0)
        return;
    size_t k = 0;
    while (k < n && k + 1 < len && d[k] != '\n' && d[k] != '\r')
        k++;
    memcpy(out, d, k);
    out[k] = 0;
    while (k && out[k - 1] == ' ')
        out[--k] = 0;
    free(d);
}

static int selinux(const mtd_snapshot *s, mtd_posture_findings *out)
{
    char ev[600] = "", line[64], item[200];
    const char *b = prop(s, "ro.boot.selinux");
    if (b && (!strcasecmp(b, "permissive") || !strcasecmp(b, "disabled"))) {
        snprintf(item, sizeof item, "ro.boot.selinux=%s", b);
        mtd_posture_list_add(ev, sizeof ev, item);
    }
    first_line(s, "getenforce.txt", line, sizeof line);
    if (!strcasecmp(line, "Permissive") || !strcasecmp(line, "Disabled")) {
        snprintf(item, sizeof item, "getenforce: %s", line);
        mtd_posture_list_add(ev, sizeof ev, item);
    }
    first_line(s, "sys/fs/selinux/enforce", line, sizeof line);
    if (!strcmp(line, "0"))
        mtd_posture_list_add(ev, sizeof ev, "/sys/fs/selinux/enforce=0");
    return ev[0] ? add(out, "android.selinux_permissive", ev) : 0;
}

static int run(const mtd_posture_input *in, mtd_posture_findings *out, char *why, size_t wl)
{
    (void)why;
    (void)wl;
    if (!in->android)
        return 0;
    int r = keys_and_type(in->android, out);
    if (r == 0)
        r = boot(in->android, out);
    if (r == 0)
        r = selinux(in->android, out);
    return r;
}

const mtd_posture_family mtd_posture_build_family = {checks, sizeof checks / sizeof checks[0], run};

static const mtd_posture_family *self(void) { return &mtd_posture_build_family; }
