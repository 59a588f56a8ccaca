/* mtd_posture_root: is an Android device rooted? su and busybox binaries, the files
 * of root managers (Magisk, SuperSU, KernelSU, APatch), root manager and hooking
 * framework apps.
 *
 * Files are looked for three ways: in the snapshot's own tree (a path pulled from the
 * device exists), in root_binaries.json (an AndroidQF acquisition's list of what
 * `which` found for root binaries' names: matched by name, wherever they were found),
 * and in files.json (AndroidQF's file list: matched by full path). The paths and
 * package names are the ones root detectors agree on (RootBeer's Const.java
 * knownRootAppsPackages and suPaths, the root managers' own install paths). */
#include "posture/mtd_posture_int.h"
#include "common/mtd_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const mtd_posture_check checks[] = {
    {"android.su_binary", "integrity", "high", "Rooted: su binary present",
     "file paths of the snapshot and of AndroidQF's root_binaries.json and files.json",
     "An su binary lets any app that asks become root, the all-powerful user that Android's "
     "app sandbox, permissions and encryption cannot stop. A device with su can have its data "
     "read and its protections switched off by any app the user (or an attacker) lets through, "
     "so its apps and the agent's own reports can no longer be trusted."},
    {"android.busybox", "integrity", "medium", "BusyBox present",
     "file paths of the snapshot and of AndroidQF's root_binaries.json and files.json",
     "BusyBox is a bundle of Unix tools that production Android does not ship; it is installed "
     "by rooting kits and by tools that need root. On its own it grants nothing, but it is a "
     "common sign that the device was rooted or modified, and it gives whoever gains a shell "
     "many more tools."},
    {"android.root_manager_files", "integrity", "high", "Rooted: root manager files present",
     "file paths of the snapshot and of AndroidQF's root_binaries.json and files.json",
     "Root managers such as Magisk, SuperSU, KernelSU and APatch patch the system or the kernel "
     "so that apps can be granted root; their files (for example /data/adb/magisk or "
     "/system/bin/magiskhide) remain while the device is rooted. Magisk can hide itself from "
     "apps, so its files are often the only trace left."},
    {"android.root_manager_app", "integrity", "high", "Rooted: root manager app installed",
     "package names of the installed apps",
     "A root manager app (Magisk, SuperSU, KernelSU, KingRoot and the like) is the switchboard "
     "that grants root to other apps. It is installed only on rooted devices or on devices "
     "about to be rooted, and any app it grants root can bypass every protection of Android."},
    {"android.hooking_framework", "integrity", "high", "Hooking framework installed",
     "package names of the installed apps",
     "Xposed, EdXposed, LSPosed and Cydia Substrate inject code into other apps and into the "
     "system itself to change what they do. They need root, and their modules can read or "
     "alter any app's data, including banking and work apps, without those apps noticing."},
};

static const mtd_posture_family *self(void);

enum { SU, BUSYBOX, MANAGER };

/* Full device paths, each with what it is (and, for managers, whose). */
static const struct {
    const char *path;
    int kind;
    const char *who;
} paths[] = {
    {"/system/bin/su", SU, NULL}, {"/system/xbin/su", SU, NULL}, {"/sbin/su", SU, NULL},
    {"/su/bin/su", SU, NULL}, {"/system/sbin/su", SU, NULL}, {"/vendor/bin/su", SU, NULL},
    {"/data/local/su", SU, NULL}, {"/data/local/bin/su", SU, NULL},
    {"/data/local/xbin/su", SU, NULL}, {"/system/bin/failsafe/su", SU, NULL},
    {"/system/sd/xbin/su", SU, NULL}, {"/system/bin/.ext/su", SU, NULL},
    {"/system/usr/we-need-root/su", SU, NULL}, {"/cache/su", SU, NULL}, {"/data/su", SU, NULL},
    {"/dev/su", SU, NULL},
    {"/system/xbin/busybox", BUSYBOX, NULL}, {"/system/bin/busybox", BUSYBOX, NULL},
    {"/sbin/busybox", BUSYBOX, NULL}, {"/data/local/busybox", BUSYBOX, NULL},
    {"/data/local/bin/busybox", BUSYBOX, NULL}, {"/data/local/xbin/busybox", BUSYBOX, NULL},
    {"/su/xbin/busybox", BUSYBOX, NULL},
    {"/sbin/.magisk", MANAGER, "Magisk"}, {"/data/adb/magisk", MANAGER, "Magisk"},
    {"/data/adb/magisk.db", MANAGER, "Magisk"}, {"/cache/.disable_magisk", MANAGER, "Magisk"},
    {"/dev/.magisk.unblock", MANAGER, "Magisk"}, {"/debug_ramdisk/magisk", MANAGER, "Magisk"},
    {"/data/local/tmp/magisk", MANAGER, "Magisk"}, {"/system/bin/magisk", MANAGER, "Magisk"},
    {"/system/bin/magiskhide", MANAGER, "Magisk"}, {"/system/bin/magiskpolicy", MANAGER, "Magisk"},
    {"/system/app/Superuser.apk", MANAGER, "Superuser"}, {"/system/app/SuperSU", MANAGER, "SuperSU"},
    {"/system/xbin/daemonsu", MANAGER, "SuperSU"}, {"/system/etc/init.d/99SuperSUDaemon", MANAGER, "SuperSU"},
    {"/su", MANAGER, "SuperSU"}, {"/data/adb/su", MANAGER, "SuperSU"},
    {"/data/adb/ksu", MANAGER, "KernelSU"}, {"/data/adb/ksud", MANAGER, "KernelSU"},
    {"/data/adb/ap", MANAGER, "APatch"}, {"/data/adb/apd", MANAGER, "APatch"},
};

/* Names `which` finds (root_binaries.json), wherever they are. */
static const struct {
    const char *name;
    int kind;
    const char *who;
} names[] = {
    {"su", SU, NULL}, {"busybox", BUSYBOX, NULL},
    {"magisk", MANAGER, "Magisk"}, {"magisk32", MANAGER, "Magisk"}, {"magisk64", MANAGER, "Magisk"},
    {"magiskhide", MANAGER, "Magisk"}, {"magiskinit", MANAGER, "Magisk"},
    {"magiskpolicy", MANAGER, "Magisk"}, {"supersu", MANAGER, "SuperSU"},
    {"daemonsu", MANAGER, "SuperSU"}, {"Superuser.apk", MANAGER, "Superuser"},
    {"SuperSu.apk", MANAGER, "SuperSU"}, {"KingoUser.apk", MANAGER, "Kingo Root"},
    {"ksud", MANAGER, "KernelSU"}, {"apd", MANAGER, "APatch"},
};

static const struct {
    const char *package, *name;
    int hooking;
} apps[] = {
    {"com.topjohnwu.magisk", "Magisk", 0}, {"io.github.huskydg.magisk", "Magisk Delta", 0},
    {"io.github.vvb2060.magisk", "Magisk Alpha", 0}, {"eu.chainfire.supersu", "SuperSU", 0},
    {"com.noshufou.android.su", "Superuser", 0}, {"com.noshufou.android.su.elite", "Superuser Elite", 0},
    {"com.koushikdutta.superuser", "Superuser (Koush)", 0}, {"com.thirdparty.superuser", "Superuser", 0},
    {"com.yellowes.su", "Root Checker su", 0}, {"com.kingroot.kinguser", "KingRoot", 0},
    {"com.kingo.root", "Kingo Root", 0}, {"com.smedialink.oneclickroot", "One Click Root", 0},
    {"com.zhiqupk.root.global", "Root Master", 0}, {"com.alephzain.framaroot", "Framaroot", 0},
    {"me.weishu.kernelsu", "KernelSU", 0}, {"me.bmax.apatch", "APatch", 0},
    {"de.robv.android.xposed.installer", "Xposed Installer", 1},
    {"org.meowcat.edxposed.manager", "EdXposed Manager", 1}, {"org.lsposed.manager", "LSPosed", 1},
    {"com.saurik.substrate", "Cydia Substrate", 1},
};

#define NPATHS (sizeof paths / sizeof paths[0])
#define NNAMES (sizeof names / sizeof names[0])

typedef struct {
    char found[3][1024]; /* paths per kind, with where each was seen */
    char who[256];       /* the root managers whose files were found */
} hits;

static void hit(hits *h, int kind, const char *who, const char *path, const char *where)
{
    char item[600];
    snprintf(item, sizeof item, where ? "%s (%s)" : "%s", path, where);
    mtd_posture_list_add(h->found[kind], sizeof h->found[kind], item);
    if (who)
        mtd_posture_list_add(h->who, sizeof h->who, who);
}

/* A listed path: by full path (or a file below a listed directory). */
static void match_path(hits *h, const char *path, const char *where)
{
    for (size_t i = 0; i < NPATHS; i++) {
        size_t n = strlen(paths[i].path);
        if (!strncmp(path, paths[i].path, n) && (path[n] == 0 || path[n] == '/'))
            hit(h, paths[i].kind, paths[i].who, paths[i].path, where);
    }
}

static void match_name(hits *h, const char *path, const char *where)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    for (size_t i = 0; i < NNAMES; i++)
        if (!strcmp(base, names[i].name))
            hit(h, names[i].kind, names[i].who, path, where);
}

/* root_binaries.json: an array of paths; files.json: an array of {"path": ...}. */
static int androidqf_lists(const mtd_snapshot *s, hits *h, char *why, size_t wl)
{
    static const char *const files[] = {"root_binaries.json", "files.json"};
    for (int f = 0; f < 2; f++) {
        json_t *doc;
        int r = mtd_posture_snapshot_json(s, files[f], &doc, why, wl);
        if (r == MTD_ENOENT)
            continue;
        if (r)
            return r;
        if (!json_is_array(doc)) {
            snprintf(why, wl, "%s/%s: not a JSON array", s->root, files[f]);
            json_decref(doc);
            return MTD_EINVAL;
        }
        size_t i;
        json_t *e;
        json_array_foreach(doc, i, e) {
            const char *p = json_string_value(f == 0 ? e : json_object_get(e, "path"));
            if (!p)
                continue; /* an entry of another shape names no file */
            if (f == 0)
                match_name(h, p, files[f]);
            else
                match_path(h, p, files[f]);
        }
        json_decref(doc);
    }
    return 0;
}

static int report_files(const hits *h, mtd_posture_findings *out)
{
    static const char *const ids[] = {"android.su_binary", "android.busybox", "android.root_manager_files"};
    for (int k = 0; k < 3; k++) {
        if (!h->found[k][0])
            continue;
        mtd_posture_finding *f = mtd_posture_add(out, mtd_posture_family_check(self(), ids[k]),
                                                 NULL, NULL, "%s", h->found[k]);
        if (!f)
            return MTD_ENOMEM;
        if (k == MANAGER && h->who[0])
            snprintf(f->threat_name, sizeof f->threat_name, "Rooted: %s files present", h->who);
    }
    return 0;
}

static int report_apps(const json_t *inv, mtd_posture_findings *out)
{
    size_t i;
    json_t *a;
    json_array_foreach((json_t *)inv, i, a) {
        const char *p = json_string_value(json_object_get(a, "package"));
        for (size_t k = 0; p && k < sizeof apps / sizeof apps[0]; k++) {
            if (strcmp(p, apps[k].package))
                continue;
            const char *id = apps[k].hooking ? "android.hooking_framework" : "android.root_manager_app";
            mtd_posture_finding *f = mtd_posture_add(out, mtd_posture_family_check(self(), id), p, p,
                                                     "%s is installed", apps[k].name);
            if (!f)
                return MTD_ENOMEM;
            snprintf(f->threat_name, sizeof f->threat_name, "%s: %s installed",
                     apps[k].hooking ? "Hooking framework" : "Rooted", apps[k].name);
        }
    }
    return 0;
}

static int run(const mtd_posture_input *in, mtd_posture_findings *out, char *why, size_t wl)
{
    if (!in->android)
        return 0;
    hits *h = calloc(1, sizeof *h);
    if (!h)
        return MTD_ENOMEM;
    for (size_t i = 0; i < NPATHS; i++)
        if (mtd_snapshot_has(in->android, paths[i].path))
            hit(h, paths[i].kind, paths[i].who, paths[i].path, NULL);
    int r = androidqf_lists(in->android, h, why, wl);
    if (r == 0)
        r = report_files(h, out);
    free(h);
    if (r == 0 && in->apps)
        r = report_apps(in->apps, out);
    return r;
}

const mtd_posture_family mtd_posture_root_family = {checks, sizeof checks / sizeof checks[0], run};

static const mtd_posture_family *self(void) { return &mtd_posture_root_family; }
