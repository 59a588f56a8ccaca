/* fuzz_dns: DNS messages as the filter reads them from the network (queries from
 * clients, answers from the upstream, whose addresses it checks), and the answers it
 * builds from them. */
#include "webprot/mtd_dns.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mtd_dns_msg m;
    uint8_t out[MTD_DNS_MAX_UDP];
    const char *why;
    if (mtd_dns_parse(data, size, &m, &why) == 0) {
        mtd_dns_answer(data, &m, MTD_DNS_NXDOMAIN, 0, out, sizeof out);
        mtd_dns_answer(data, &m, MTD_DNS_NOERROR, 1, out, sizeof out);
        mtd_dns_answer(data, &m, MTD_DNS_SERVFAIL, 0, out, 40);
        char addrs[16][MTD_DNS_ADDR_TEXT];
        int n = mtd_dns_answer_addrs(data, size, &m, addrs, 16);
        if (n > 16)
            __builtin_trap();
    } else {
        mtd_dns_formerr(data, size, out, sizeof out);
    }
    return 0;
}
