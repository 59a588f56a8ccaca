/* fuzz_plist: property lists (binary and XML) through libplist and our conversion,
 * then read as each iOS source would be: Info.plist, Manifest.plist, ideviceinfo. */
#include "ios/mtd_ios.h"
#include "ios/mtd_plist.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[256];
    json_t *j;
    if (mtd_plist_parse(data, size, &j, why, sizeof why) != 0)
        return 0;
    if (json_is_object(j)) {
        mtd_ios_backup b;
        memset(&b, 0, sizeof b);
        b.info = b.manifest = b.lockdown = j;
        json_decref(mtd_ios_device(&b));
        json_decref(mtd_ios_apps(&b));
    }
    json_decref(j);
    return 0;
}
