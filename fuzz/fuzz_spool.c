/* fuzz_spool: spool recovery over whatever bytes a crash, a full disk or a bad sector
 * left in a segment (or, when the first byte is odd, in a spool.log from before
 * segments). Opening must never crash or hang; what it recovers must be readable, and
 * a second open must find the segments cut and compacted clean. */
#include "common/mtd_file.h"
#include "spool/mtd_spool.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

/* libFuzzer ends with exit(): the spool directory goes with it */
static void remove_dir(void)
{
    mtd_rm_rf(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/mtd-fuzz-spool-%d", (int)getpid());
        mtd_mkdir_p(dir, 0700);
        atexit(remove_dir);
    }
    if (size == 0)
        return 0;
    char log[128];
    mtd_rm_rf(dir); /* each input alone: no segment of an earlier one */
    mtd_mkdir_p(dir, 0700);
    snprintf(log, sizeof log, "%s/%s", dir, data[0] & 1 ? "spool.log" : "seg-0000000001.log");
    mtd_file_write_atomic(log, data + 1, size - 1, 0600);
    mtd_spool_opts o = {0};
    mtd_spool *s;
    mtd_spool_recovery rec;
    if (mtd_spool_open(dir, &o, &s, &rec) != 0)
        return 0;
    mtd_spool_batch b;
    if (mtd_spool_peek(s, SIZE_MAX, SIZE_MAX, &b) == 0) {
        if (b.n != rec.records)
            abort();
        mtd_spool_batch_free(&b);
    }
    mtd_spool_close(s);
    if (mtd_spool_open(dir, &o, &s, &rec) != 0 || rec.corrupt_records || rec.torn_bytes)
        abort(); /* the recovered log was rewritten clean */
    mtd_spool_close(s);
    return 0;
}
