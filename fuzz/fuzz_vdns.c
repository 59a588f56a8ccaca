/* fuzz_vdns: packets as the VPN reads them from its TUN, for the DNS queries it takes
 * off lwIP (mtd_vdns_parse), and the answer packets built for them, at the smallest
 * MTU and the largest. */
#include "webprot/mtd_vdns.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t dns;
    if (size < 4)
        return 0;
    memcpy(&dns, size >= 20 ? data + 16 : data, 4); /* the packet's own destination */
    mtd_vdns_query q;
    if (mtd_vdns_parse(data, size, dns, &q) == 1) {
        if (q.msg < data || q.msg + q.len > data + size)
            __builtin_trap();
        static uint8_t out[MTD_VDNS_HDR + 65536];
        size_t n = mtd_vdns_packet(dns, q.src, q.sport, q.msg, q.len, 576, out, sizeof out);
        if (n > 576)
            __builtin_trap();
        n = mtd_vdns_packet(dns, q.src, q.sport, q.msg, q.len, 65535, out, sizeof out);
        if (n && n != MTD_VDNS_HDR + q.len)
            __builtin_trap();
    }
    return 0;
}
