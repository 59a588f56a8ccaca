/* fuzz_apk: the whole APK path on hostile bytes: ZIP central directory and local
 * headers, inflate, AXML manifest, resources.arsc reference resolution, v1 PKCS#7 and
 * the APK Signing Block. Must never crash, leak or read out of bounds. */
#include "android/mtd_apksign.h"
#include "android/mtd_apkzip.h"
#include "android/mtd_binxml.h"
#include "android/mtd_resources.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mtd_apkzip z;
    char why[256];
    if (mtd_apkzip_open(&z, data, size, why, sizeof why) != 0)
        return 0;
    const mtd_apkzip_entry *e = mtd_apkzip_find(&z, "AndroidManifest.xml");
    uint8_t *d;
    size_t n;
    if (e && mtd_apkzip_extract(&z, e, &d, &n, why, sizeof why) == 0) {
        mtd_manifest m;
        if (mtd_binxml_manifest(d, n, &m, why, sizeof why) == 0)
            mtd_manifest_free(&m);
        free(d);
    }
    e = mtd_apkzip_find(&z, "resources.arsc");
    if (e && mtd_apkzip_extract(&z, e, &d, &n, why, sizeof why) == 0) {
        free(mtd_res_string(d, n, 0x7f050000, why, sizeof why));
        free(d);
    }
    mtd_apksign s;
    mtd_apksign_read(&z, &s);
    mtd_apkzip_close(&z);
    return 0;
}
