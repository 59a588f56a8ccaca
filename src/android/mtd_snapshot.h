/* mtd_snapshot: an Android device as a snapshot directory pulled with adb holds it
 * (DESIGN.md section 2): DIR/data/system/packages.xml, runtime-permissions.xml,
 * package-restrictions.xml, DIR/data/app/.../base.apk, DIR/system/app/...,
 * DIR/getprop.txt or DIR/system/build.prop, DIR/dumpsys_package.txt (or the package
 * section of a full dump in DIR/dumpsys.txt), DIR/pm_list_packages.txt. Every source
 * present is read (packages.xml before dumpsys before pm list, see mtd_pkgdb.h); every
 * source absent is listed in `missing`, and nothing is invented in its place. APK files
 * present are read for version, permissions and signers. The snapshot owns its data
 * (mtd_snapshot_close).
 *
 * Device state beyond the packages is read on request, by the checks that need it:
 * other dumpsys services, settings, and any file of the snapshot by its device path. */
#ifndef MTD_SNAPSHOT_H
#define MTD_SNAPSHOT_H

#include "android/mtd_pkgdb.h"
#include "android/mtd_props.h"

#include <jansson.h>

typedef struct {
    char root[1024];
    mtd_pkgdb db;
    mtd_props props;
    char missing[512];   /* "getprop.txt, dumpsys_package.txt, ..." */
    char android_id[64]; /* from settings_secure.xml, "" when absent */
} mtd_snapshot;

int mtd_snapshot_open(const char *root, mtd_snapshot *s, char *why, size_t whylen);
void mtd_snapshot_close(mtd_snapshot *s);
/* The output of `dumpsys service`: DIR/dumpsys_<service>.txt, or that service's section
 * of the full dump in DIR/dumpsys.txt. *out is malloc'd for the caller. Returns 0,
 * MTD_ENOENT when neither holds it, or another error with why naming the file. */
int mtd_snapshot_dumpsys(const mtd_snapshot *s, const char *service, uint8_t **out, size_t *len,
                         char *why, size_t whylen);
/* One settings namespace ("global", "secure", "system"): DIR/settings_<ns>.txt (the
 * key=value lines of `settings list <ns>`) or DIR/data/system/users/0/settings_<ns>.xml
 * (text XML or ABX). Returns 0 with *out filled (mtd_props_free), MTD_ENOENT when the
 * snapshot has neither, or another error with why naming the file. */
int mtd_snapshot_settings(const mtd_snapshot *s, const char *ns, mtd_props *out, char *why,
                          size_t whylen);
/* Reads the file at a device path ("/data/misc/adb/adb_keys") of the snapshot. */
int mtd_snapshot_read(const mtd_snapshot *s, const char *devpath, uint8_t **out, size_t *len);
/* Whether the snapshot holds something at a device path (a symlink counts: it is not
 * followed out of the snapshot). */
int mtd_snapshot_has(const mtd_snapshot *s, const char *devpath);
/* Adds the names in the directory at a device path (not "." or ".."), sorted. Returns
 * 0, or MTD_ENOENT when the snapshot has no such directory. */
int mtd_snapshot_list(const mtd_snapshot *s, const char *devpath, mtd_strlist *out);

/* device.info fields (os_name, os_version, manufacturer, model, cpu, build). */
json_t *mtd_snapshot_device(const mtd_snapshot *s);
/* One object per app, with the keys of `inventory apps` (DESIGN.md section 4). */
json_t *mtd_snapshot_apps(mtd_snapshot *s);

#endif
