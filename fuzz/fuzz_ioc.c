/* fuzz_ioc: the scanner's indicator parsers on hostile bytes: plain lists and STIX 2.1
 * bundles with their pattern grammar, then look-ups in what loaded. Must never crash,
 * leak or read out of bounds, and a refused file must leave the set as it was. */
#include "scan/mtd_ioc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mtd_ioc *s = mtd_ioc_new();
    char why[300];
    mtd_ioc_stats st;
    /* a known entry first: whatever the input does, it must still be found after */
    static const uint8_t known[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    uint32_t ref = mtd_ioc_ref_add(s, "K", "malware", "high", "k", NULL);
    mtd_ioc_add_digest(s, known, MTD_IOC_FILE, ref, 1);
    mtd_ioc_load_buf(s, "fuzz", data, size, &st, why, sizeof why);
    mtd_stix_load(s, "fuzz", data, size, &st, why, sizeof why); /* the bundle path even without '{' */
    mtd_ioc_match m;
    if (!mtd_ioc_find_digest(s, known, MTD_IOC_FILE, &m))
        abort();
    uint8_t d[32];
    memset(d, 0, sizeof d);
    memcpy(d, data, size < 32 ? size : 32);
    mtd_ioc_find_digest(s, d, MTD_IOC_FILE | MTD_IOC_CERT, &m);
    char pkg[64];
    size_t n = size < sizeof pkg - 1 ? size : sizeof pkg - 1;
    memcpy(pkg, data, n);
    pkg[n] = 0;
    mtd_ioc_find_package(s, pkg, 1, &m);
    for (size_t i = 0; mtd_ioc_path(s, i, &m); i++)
        mtd_ioc_origin(&m, why, sizeof why);
    mtd_ioc_free(s);
    return 0;
}
