/* mtd_snapshot: an Android device as a snapshot directory pulled with adb holds it
 * (DESIGN.md section 2): DIR/data/system/packages.xml, runtime-permissions.xml,
 * package-restrictions.xml, DIR/data/app/.../base.apk, DIR/system/app/...,
 * DIR/getprop.txt or DIR/system/build.prop, DIR/dumpsys_package.txt,
 * DIR/pm_list_packages.txt. Every source present is read (packages.xml before dumpsys
 * before pm list, see mtd_pkgdb.h); every source absent is listed in `missing`, and
 * nothing is invented in its place. APK files present are read for version,
 * permissions and signers. The snapshot owns its data (mtd_snapshot_close). */
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
/* device.info fields (os_name, os_version, manufacturer, model, cpu, build). */
json_t *mtd_snapshot_device(const mtd_snapshot *s);
/* One object per app, with the keys of `inventory apps` (DESIGN.md section 4). */
json_t *mtd_snapshot_apps(mtd_snapshot *s);

#endif
