/* fuzz_crashlog: the crash logs a snapshot holds (iOS .ips, Android tombstones) and
 * the agent's own crash report format, each reduced to usage.crash fields. */
#include "usage/mtd_crash.h"
#include "usage/mtd_crashlog.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[256];
    mtd_crash *c = calloc(8, sizeof *c);
    int n = 0;
    if (!c)
        return 0;
    if (mtd_crashlog_ips(data, size, c, why, sizeof why) == 0 && mtd_crashlog_reduce(c, "org.openmtd.agent"))
        json_decref(mtd_crash_fields(c));
    if (mtd_crashlog_tombstones(data, size, c, 8, &n, why, sizeof why) == 0)
        for (int i = 0; i < n; i++)
            if (mtd_crashlog_reduce(&c[i], "org.openmtd.agent"))
                json_decref(mtd_crash_fields(&c[i]));
    if (mtd_crash_parse_report(data, size, c) == 0)
        json_decref(mtd_crash_fields(c));
    free(c);
    return 0;
}
