/* fuzz_batch: the collector's batch decoder (zstd frame -> JSON lines -> schema), the
 * first code to touch a device's bytes. It must never crash, leak or read out of
 * bounds, whatever arrives; a rejection must always say why. */
#include "collector/mtd_batch.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mtd_batch b;
    mtd_batch_error err;
    memset(&err, 0, sizeof err);
    mtd_batch_init(&b);
    if (mtd_batch_decode(data, size, &b, &err) == 0) {
        if (b.n == 0)
            abort(); /* success means at least one valid event */
    } else if (!err.reason || !err.detail[0] || err.status < 400) {
        abort(); /* every rejection names its reason */
    }
    mtd_batch_free(&b);
    /* the same bytes as an already-decompressed batch exercise the JSON parser, and
     * whatever it accepts the jansson-based validator must accept too */
    mtd_batch_init(&b);
    mtd_buf_append(&b.raw, data, size);
    if (mtd_batch_parse(&b, &err) == 0) {
        for (size_t i = 0; i < b.n; i++)
            if (!b.ev[i].type)
                abort();
    }
    mtd_batch_free(&b);
    return 0;
}
