/* fuzz_batch: the collector's batch decoder (zstd frame -> JSON lines -> schema), the
 * first code to touch a device's bytes. It must never crash, leak or read out of
 * bounds, whatever arrives; a rejection must always say why. */
#include "collector/mtd_batch.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *events;
    mtd_batch_error err;
    memset(&err, 0, sizeof err);
    if (mtd_batch_decode(data, size, &events, &err) == 0) {
        if (json_array_size(events) == 0)
            abort(); /* success means at least one valid event */
        json_decref(events);
    } else if (!err.reason || !err.detail[0] || err.status < 400) {
        abort(); /* every rejection names its reason */
    }
    /* the same bytes as an already-decompressed batch exercise the line parser */
    if (mtd_batch_parse(data, size, &events, &err) == 0)
        json_decref(events);
    return 0;
}
