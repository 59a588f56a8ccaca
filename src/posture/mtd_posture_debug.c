/* mtd_posture_debug: ways into an Android device meant for developers or for
 * assistive technology, and abused by attackers: adb with computers' keys authorized
 * (settings, USB properties, `dumpsys adb`, /data/misc/adb/adb_keys), developer options
 * (settings), and accessibility services of apps that are not part of the system
 * (`dumpsys accessibility`, the secure setting enabled_accessibility_services). */
#include "posture/mtd_posture_int.h"
#include "android/mtd_dumpsys.h"
#include "common/mtd_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const mtd_posture_check checks[] = {
    {"android.adb_authorized", "integrity", "medium", "USB debugging on, computers authorized",
     "global settings adb_enabled, USB properties, dumpsys adb (whether a computer is connected, "
     "how many computers' keys are authorized; never the keys), /data/misc/adb/adb_keys (counted)",
     "USB debugging (adb) gives a computer a shell on the device, lets it install apps, read "
     "app data backups and capture the screen. Each computer the user once authorized keeps "
     "that access whenever the device is unlocked and plugged in. On a managed device it is a "
     "door left open to anyone with one of those computers, or with a charger that is one."},
    {"android.developer_options", "integrity", "low", "Developer options enabled",
     "global setting development_settings_enabled",
     "Developer options unlock settings meant for app developers: USB debugging, mock "
     "locations, keeping apps' debug features, changing how the system runs apps. They are "
     "not harmful by themselves, but they are the first step of rooting and of sideloading "
     "tools, and are rarely needed on a managed device."},
    {"android.accessibility_third_party", "integrity", "medium",
     "Accessibility service of a non-system app enabled",
     "dumpsys accessibility and the secure setting enabled_accessibility_services (which "
     "services are enabled), and whether their apps are system apps",
     "An accessibility service sees everything on screen and can act as the user: read "
     "messages and one-time codes, type, tap and approve dialogs. That is what screen readers "
     "need, and what banking trojans and stalkerware ask for. A service of an app that is not "
     "part of the system deserves a look unless the user relies on it."},
};

static const mtd_posture_family *self(void);

static const mtd_posture_check *check(const char *id) { return mtd_posture_family_check(self(), id); }

static int contains_adb(const char *v) { return v && strstr(v, "adb") != NULL; }

/* Lines that look like keys in an adb_keys file. */
static int count_key_file(const mtd_snapshot *s)
{
    uint8_t *d;
    size_t n;
    if (mtd_snapshot_read(s, "data/misc/adb/adb_keys", &d, &n) != 0)
        return -1;
    int keys = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && d[j] != '\n')
            j++;
        if (j - i >= 64) /* a base64 RSA key is over 500 characters */
            keys++;
        i = j + 1;
    }
    free(d);
    return keys;
}

static int adb(const mtd_snapshot *s, const mtd_props *global, mtd_posture_findings *out, char *why, size_t wl)
{
    char on[400] = "", item[200];
    const char *set = mtd_props_get(global, "adb_enabled");
    if (set && !strcmp(set, "1"))
        mtd_posture_list_add(on, sizeof on, "adb_enabled=1");
    static const char *const usb[] = {"persist.sys.usb.config", "sys.usb.config", "sys.usb.state"};
    for (int i = 0; i < 3; i++)
        if (contains_adb(mtd_props_get(&s->props, usb[i]))) {
            snprintf(item, sizeof item, "%s=%s", usb[i], mtd_props_get(&s->props, usb[i]));
            mtd_posture_list_add(on, sizeof on, item);
        }
    const char *svc = mtd_props_get(&s->props, "init.svc.adbd");
    if (svc && !strcmp(svc, "running"))
        mtd_posture_list_add(on, sizeof on, "adbd running");
    uint8_t *d;
    size_t n;
    mtd_dumpsys_adb st = {.connected = -1};
    int r = mtd_snapshot_dumpsys(s, "adb", &d, &n, why, wl);
    if (r && r != MTD_ENOENT)
        return r;
    if (r == 0) {
        mtd_dumpsys_adb_parse(d, n, &st);
        free(d);
    }
    if (st.connected == 1)
        mtd_posture_list_add(on, sizeof on, "a computer is connected now (dumpsys adb)");
    int file_keys = count_key_file(s);
    int keys = st.user_keys > file_keys ? st.user_keys : file_keys;
    if (!on[0] || keys <= 0)
        return 0;
    return mtd_posture_add(out, check("android.adb_authorized"), NULL, NULL,
                           "adb on: %s; %d computer key%s authorized (%s)", on, keys, keys == 1 ? "" : "s",
                           st.user_keys >= file_keys ? "dumpsys adb" : "/data/misc/adb/adb_keys")
               ? 0
               : MTD_ENOMEM;
}

static int developer(const mtd_props *global, mtd_posture_findings *out)
{
    const char *v = mtd_props_get(global, "development_settings_enabled");
    if (!v || strcmp(v, "1"))
        return 0;
    return mtd_posture_add(out, check("android.developer_options"), NULL, NULL,
                           "development_settings_enabled=1")
               ? 0
               : MTD_ENOMEM;
}

/* One finding per enabled service whose app is not a system app. The class is shown
 * without its package prefix: the package is the finding's package field, which the
 * admin's report_app_details policy governs. */
static int accessibility_report(const json_t *apps, const mtd_strlist *on, const char *source,
                                mtd_posture_findings *out)
{
    for (size_t i = 0; i < on->n; i++) {
        char pkg[256], *slash = strchr(on->v[i], '/');
        snprintf(pkg, sizeof pkg, "%.*s", (int)(slash - on->v[i]), on->v[i]);
        const char *cls = slash + 1;
        size_t pl = strlen(pkg);
        if (!strncmp(cls, pkg, pl) && cls[pl] == '.')
            cls += pl;
        int sys = mtd_posture_app_is_system(apps, pkg);
        if (sys == 1)
            continue;
        if (!mtd_posture_add(out, check("android.accessibility_third_party"), on->v[i], pkg,
                             "enabled accessibility service %s (%s)%s", cls, source,
                             sys < 0 ? "; its app is not among the device's packages" : ""))
            return MTD_ENOMEM;
    }
    return 0;
}

static int accessibility(const mtd_posture_input *in, mtd_posture_findings *out, char *why, size_t wl)
{
    if (!in->apps || !json_array_size(in->apps))
        return 0; /* without the package list no service can be told apart from the system's */
    mtd_strlist on = {0};
    const char *source = "dumpsys accessibility";
    uint8_t *d;
    size_t n;
    int r = mtd_snapshot_dumpsys(in->android, "accessibility", &d, &n, why, wl);
    if (r == 0) {
        mtd_dumpsys_accessibility_enabled(d, n, &on);
        free(d);
    } else if (r != MTD_ENOENT) {
        return r;
    }
    if (r == MTD_ENOENT) { /* no dump: the setting the system keeps the list in */
        mtd_props sec;
        if ((r = mtd_snapshot_settings(in->android, "secure", &sec, why, wl)) != 0)
            return r == MTD_ENOENT ? 0 : r;
        const char *master = mtd_props_get(&sec, "accessibility_enabled");
        const char *list = mtd_props_get(&sec, "enabled_accessibility_services");
        for (const char *p = list; p && *p && !(master && !strcmp(master, "0"));) {
            size_t k = strcspn(p, ":");
            if (memchr(p, '/', k))
                mtd_strlist_add(&on, p, k);
            p += k + (p[k] == ':');
        }
        mtd_props_free(&sec);
        source = "setting enabled_accessibility_services";
    }
    r = accessibility_report(in->apps, &on, source, out);
    mtd_strlist_free(&on);
    return r;
}

static int run(const mtd_posture_input *in, mtd_posture_findings *out, char *why, size_t wl)
{
    if (!in->android)
        return 0;
    mtd_props global;
    int r = mtd_posture_global_settings(in->android, &global, why, wl);
    if (r == 0)
        r = adb(in->android, &global, out, why, wl);
    if (r == 0)
        r = developer(&global, out);
    mtd_props_free(&global);
    return r ? r : accessibility(in, out, why, wl);
}

const mtd_posture_family mtd_posture_debug_family = {checks, sizeof checks / sizeof checks[0], run};

static const mtd_posture_family *self(void) { return &mtd_posture_debug_family; }
