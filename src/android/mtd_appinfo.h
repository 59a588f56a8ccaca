/* mtd_appinfo: one APK file as the inventory reports it: identity and version from the
 * manifest (a versionName reference resolved through resources.arsc), requested
 * permissions, size and SHA-256, signers and signature schemes, and the container
 * anomalies the scanner treats as evidence. The struct owns its strings
 * (mtd_appinfo_free). */
#ifndef MTD_APPINFO_H
#define MTD_APPINFO_H

#include "android/mtd_apksign.h"
#include "android/mtd_binxml.h"

#include <stdint.h>

typedef struct {
    mtd_manifest m;          /* version_name resolved when it was a reference */
    uint64_t size;
    char sha256[65];
    mtd_apksign sig;
    unsigned anomalies;      /* mtd_apkzip_anomaly bits */
    char anomaly_detail[256];
} mtd_appinfo;

/* Reads the APK at path. why names the file and what is wrong on failure. */
int mtd_appinfo_read(const char *path, mtd_appinfo *a, char *why, size_t whylen);
/* The same over bytes already in memory (why does not name a file). */
int mtd_appinfo_parse(const uint8_t *buf, size_t len, mtd_appinfo *a, char *why, size_t whylen);
/* Maps an APK file read-only (a regular file, 1 byte to 4 GiB); why names the file. */
int mtd_appinfo_map(const char *path, const uint8_t **buf, size_t *len, char *why, size_t whylen);
void mtd_appinfo_unmap(const uint8_t *buf, size_t len);
void mtd_appinfo_free(mtd_appinfo *a);

/* The JSON object of the inventory contract (DESIGN.md section 4, inventory apps);
 * device-side fields (install source, times, is_system) are left null/false for the
 * caller to fill. Caller owns it. */
#include <jansson.h>
json_t *mtd_appinfo_json(const mtd_appinfo *a, const char *apk_path);

#endif
