/* fuzz_abx: the ABX decoder and its text XML rendering, and the packages.xml and
 * runtime-permissions readers on the same bytes (ABX or text XML). */
#include "android/mtd_pkgdb.h"
#include "android/mtd_xmlev.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[256], *xml;
    size_t xl;
    if (mtd_abx_to_xml(data, size, &xml, &xl, why, sizeof why) == 0)
        free(xml);
    mtd_pkgdb db;
    mtd_pkgdb_init(&db);
    mtd_pkgdb_packages_xml(&db, data, size, why, sizeof why);
    mtd_pkgdb_runtime_perms(&db, data, size, why, sizeof why);
    mtd_pkgdb_restrictions(&db, data, size, why, sizeof why);
    mtd_pkgdb_free(&db);
    return 0;
}
