/* fuzz_axml: the binary XML reader and the resource table reader on hostile bytes
 * (the first 4 bytes choose the resource ID to resolve). */
#include "android/mtd_binxml.h"
#include "android/mtd_resources.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[256];
    mtd_manifest m;
    if (mtd_binxml_manifest(data, size, &m, why, sizeof why) == 0)
        mtd_manifest_free(&m);
    if (size >= 4) {
        uint32_t id = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
        free(mtd_res_string(data + 4, size - 4, id, why, sizeof why));
        free(mtd_res_string(data, size, 0x7f050026, why, sizeof why));
    }
    return 0;
}
