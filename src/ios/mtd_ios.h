/* mtd_ios: an iOS device as its iTunes/Finder backup, or a snapshot made by
 * `mtd-agent ios-pull DIR`, shows it (DESIGN.md section 4, --ios-backup DIR).
 *
 * A backup directory holds Info.plist (binary or XML: product type, version, build,
 * installed applications), Manifest.plist where present (Lockdown values, the
 * applications with their versions, whether the backup is encrypted) and Manifest.db
 * (SQLite: every backed-up file as domain + relative path). A snapshot directory
 * made by ios-pull holds ideviceinfo.plist (the device's lockdown values, with its
 * Wi-Fi MAC), backup/<one directory>/ (the backup above) and crashes/ (crash logs).
 * --ios-backup takes either. Whatever is absent is listed in `missing`, never
 * invented.
 *
 * The files also hold raw identifiers (serial number, UDID, ICCID, IMEI, phone
 * number): this module never copies them out. The one identifier it returns is the
 * Wi-Fi MAC, for the privacy gate to pseudonymize like the host's.
 *
 * The backup owns the parsed plists (mtd_ios_close); returned JSON belongs to the
 * caller. */
#ifndef MTD_IOS_H
#define MTD_IOS_H

#include <jansson.h>
#include <stddef.h>

typedef struct {
    char dir[1024];        /* the directory given */
    char backup[1100];     /* where Info.plist / Manifest.db lie, "" when none */
    json_t *info;          /* Info.plist, NULL when absent */
    json_t *manifest;      /* Manifest.plist, NULL when absent */
    json_t *lockdown;      /* ideviceinfo.plist of an ios-pull snapshot, NULL when absent */
    int has_db;            /* Manifest.db read whole */
    long nfiles;           /* its rows */
    char wifi_mac[18];     /* "aa:bb:cc:dd:ee:ff", "" when the snapshot has none */
    char missing[256];     /* "Manifest.plist, ideviceinfo.plist, ..." */
} mtd_ios_backup;

/* Opens and checks every source present: a property list that does not parse, or a
 * Manifest.db that cannot be read to its end, is an error naming the file. A directory
 * with none of the sources is an error too. */
int mtd_ios_open(const char *dir, mtd_ios_backup *b, char *why, size_t whylen);
void mtd_ios_close(mtd_ios_backup *b);

/* device.info fields: os_name, os_version, manufacturer, model (the marketing name),
 * model_id (the product type, e.g. iPhone9,3), cpu, build. */
json_t *mtd_ios_device(const mtd_ios_backup *b);

/* One object per installed app with the keys of `inventory apps` (package = bundle
 * ID; values the backup does not have are null), sorted by bundle ID. */
json_t *mtd_ios_apps(const mtd_ios_backup *b);

/* For posture checks: the installed bundle IDs (an array of strings, sorted), and
 * every file of the backup's Manifest.db, in the table's order. fn returns non-zero to
 * stop; mtd_ios_files returns that value, 0 at the end, or a negative code (why says
 * what failed; MTD_ENOENT when the backup has no Manifest.db). */
json_t *mtd_ios_bundle_ids(const mtd_ios_backup *b);
typedef int (*mtd_ios_file_fn)(void *ctx, const char *domain, const char *relative_path,
                               int flags);
int mtd_ios_files(const mtd_ios_backup *b, mtd_ios_file_fn fn, void *ctx, char *why,
                  size_t whylen);

/* The marketing name of a product type ("iPhone9,3" -> "iPhone 7") and its chip
 * (*chip, may be NULL); NULL for a type the table does not know. */
const char *mtd_ios_model_name(const char *product_type, const char **chip);

#endif
