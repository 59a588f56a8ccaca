/* fuzz_devstate: the text formats of an Android snapshot: getprop output and
 * build.prop, `pm list packages -f -i -U`, `dumpsys package`. */
#include "android/mtd_pkgdb.h"
#include "android/mtd_props.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[256];
    mtd_props p;
    if (mtd_props_parse(data, size, &p, why, sizeof why) == 0) {
        mtd_props_get(&p, "ro.product.model");
        mtd_props_free(&p);
    }
    mtd_pkgdb db;
    mtd_pkgdb_init(&db);
    mtd_pkgdb_pm_list(&db, data, size, why, sizeof why);
    mtd_pkgdb_dumpsys(&db, data, size, why, sizeof why);
    mtd_pkgdb_free(&db);
    return 0;
}
