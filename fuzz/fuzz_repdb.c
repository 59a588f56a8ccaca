/* fuzz_repdb: a reputation database file from anywhere (a fetched feed, a damaged
 * disk): opened (its structure checked; the checksums are skipped under MTD_FUZZING so
 * the checks behind them are reached) and, when accepted, looked up in. */
#include "webprot/mtd_repdb.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    mtd_repdb *db;
    char why[300];
    if (mtd_repdb_open_mem(copy, size, &db, why, sizeof why) != 0)
        return 0;
    for (uint64_t h = 0; h < 64; h++) {
        int idx = mtd_repdb_find(db, h * 0x9E3779B97F4A7C15ull);
        if (idx >= 0) {
            mtd_rep_record rec;
            mtd_repdb_record(db, idx, &rec);
        }
    }
    mtd_repdb_close(db);
    return 0;
}
