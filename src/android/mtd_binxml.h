/* mtd_binxml: Android's binary XML (AXML), as aapt writes AndroidManifest.xml into an
 * APK, and what the agent needs of the manifest.
 *
 * Hand-written: no maintained C library reads AXML (Android's own ResXMLTree is C++
 * inside the framework). The reader walks the chunk stream (string pool in UTF-8 or
 * UTF-16, resource map, namespaces, elements), checks every chunk's header and size
 * against its parent, and matches manifest attributes by resource ID through the
 * resource map, as the platform does, falling back to the attribute's name only when
 * the map has no entry. A value that is a reference (@0x7f050026) is returned as the
 * reference, for the caller to resolve through resources.arsc.
 *
 * mtd_manifest owns its strings; free it with mtd_manifest_free(). */
#ifndef MTD_BINXML_H
#define MTD_BINXML_H

#include <stddef.h>
#include <stdint.h>

#define MTD_MANIFEST_MAX_PERMS 1024

typedef struct {
    char *package;
    int64_t version_code;   /* -1 when absent */
    char *version_name;     /* NULL when absent or a reference */
    uint32_t version_name_ref; /* resource ID when versionName is a reference, else 0 */
    int min_sdk, target_sdk;   /* -1 when absent */
    char **perms;           /* uses-permission and uses-permission-sdk-23, in order, unique */
    size_t nperms;
    /* what the scanner's heuristics look at (mtd_heur.h) */
    int debuggable, test_only;  /* <application android:debuggable / android:testOnly> */
    int app_category;           /* <application android:appCategory>, -1 undeclared */
    int accessibility_services; /* services bound by BIND_ACCESSIBILITY_SERVICE */
    int device_admins;          /* receivers bound by BIND_DEVICE_ADMIN */
} mtd_manifest;

int mtd_binxml_manifest(const uint8_t *buf, size_t len, mtd_manifest *m, char *why, size_t whylen);
void mtd_manifest_free(mtd_manifest *m);

/* A string pool at buf (a complete ResStringPool chunk), shared with the ARSC reader. */
typedef struct {
    const uint8_t *chunk;
    size_t size;
    uint32_t count, strings_start, flags;
    const uint8_t *offsets;
} mtd_strpool;

int mtd_strpool_init(mtd_strpool *p, const uint8_t *chunk, size_t avail);
/* The string at index i as UTF-8 (malloc'd), or NULL when out of range or malformed. */
char *mtd_strpool_get(const mtd_strpool *p, uint32_t i);

#endif
