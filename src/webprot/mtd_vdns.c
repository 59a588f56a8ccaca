/* mtd_vdns: the VPN's UDP DNS packets off lwIP (see mtd_vdns.h). */
#include "webprot/mtd_vdns.h"
#include "webprot/mtd_dns.h"

#include <string.h>

/* The one's complement sum lwIP uses, the relay's faster one (mtd_vpn.c). */
uint16_t lwip_standard_chksum(const void *dataptr, int len);

/* The one's complement sum of a UDP datagram (seg, n bytes, even-aligned in memory or
 * not) with its pseudo header, folded to 16 bits, in the byte order of the packet. */
static uint16_t udp_sum(uint32_t src, uint32_t dst, const uint8_t *seg, size_t n)
{
    uint8_t ph[12];
    memcpy(ph, &src, 4);
    memcpy(ph + 4, &dst, 4);
    ph[8] = 0, ph[9] = 17;
    ph[10] = (uint8_t)(n >> 8), ph[11] = (uint8_t)n;
    uint32_t s = (uint32_t)lwip_standard_chksum(ph, sizeof ph) + lwip_standard_chksum(seg, (int)n);
    s = (s & 0xffff) + (s >> 16);
    return (uint16_t)((s & 0xffff) + (s >> 16));
}

int mtd_vdns_parse(const uint8_t *b, size_t len, uint32_t dns, mtd_vdns_query *q)
{
    if (len < MTD_VDNS_HDR || b[0] >> 4 != 4 || b[9] != 17)
        return 0;
    size_t ihl = (size_t)(b[0] & 15) * 4, tot = (size_t)(b[2] << 8 | b[3]);
    uint32_t dst;
    memcpy(&dst, b + 16, 4);
    if (dst != dns)
        return 0;
    if ((b[6] & 0x3f) != 0 || b[7] != 0) /* more fragments, or a later one: lwIP's */
        return 0;
    if (ihl < 20 || tot < ihl + 8 || tot > len)
        return -1;
    const uint8_t *u = b + ihl;
    if ((u[2] << 8 | u[3]) != 53)
        return 0;
    size_t ulen = (size_t)(u[4] << 8 | u[5]);
    if (ulen < 8 || ulen > tot - ihl || lwip_standard_chksum(b, (int)ihl) != 0xffff)
        return -1;
    memcpy(&q->src, b + 12, 4);
    q->dst = dst;
    if ((u[6] | u[7]) && udp_sum(q->src, dst, u, ulen) != 0xffff) /* 0: sent without one */
        return -1;
    q->sport = (uint16_t)(u[0] << 8 | u[1]);
    q->dport = 53;
    q->msg = u + 8;
    q->len = ulen - 8;
    return 1;
}

/* msg's header and question with TC set and no records, in out: its length, or 0. */
static size_t truncated(const uint8_t *msg, size_t len, uint8_t *out, size_t cap)
{
    mtd_dns_msg m;
    if (mtd_dns_parse(msg, len, &m, NULL) != 0 || m.question_end > cap)
        return 0;
    memcpy(out, msg, m.question_end);
    out[2] |= 0x02;                       /* TC */
    memset(out + 6, 0, 6);                /* no answer, authority or additional records */
    return m.question_end;
}

size_t mtd_vdns_packet(uint32_t src, uint32_t dst, uint16_t dport, const uint8_t *msg, size_t len, size_t mtu,
                       uint8_t *out, size_t cap)
{
    if (len < 12 || cap <= MTD_VDNS_HDR || mtu <= MTD_VDNS_HDR + 12)
        return 0;
    size_t room = (mtu < cap ? mtu : cap) - MTD_VDNS_HDR;
    uint8_t *u = out + 20;
    if (len <= room)
        memcpy(u + 8, msg, len);
    else if ((len = truncated(msg, len, u + 8, room)) == 0)
        return 0;
    size_t ulen = len + 8, tot = ulen + 20;
    u[0] = 0, u[1] = 53;
    u[2] = (uint8_t)(dport >> 8), u[3] = (uint8_t)dport;
    u[4] = (uint8_t)(ulen >> 8), u[5] = (uint8_t)ulen;
    u[6] = u[7] = 0;
    uint16_t us = (uint16_t)~udp_sum(src, dst, u, ulen);
    if (us == 0)
        us = 0xffff; /* 0 would say "no checksum" (RFC 768) */
    memcpy(u + 6, &us, 2);
    out[0] = 0x45, out[1] = 0;
    out[2] = (uint8_t)(tot >> 8), out[3] = (uint8_t)tot;
    out[4] = out[5] = 0;  /* no ID: never fragmented (DF) */
    out[6] = 0x40, out[7] = 0;
    out[8] = 64, out[9] = 17;
    out[10] = out[11] = 0;
    memcpy(out + 12, &src, 4);
    memcpy(out + 16, &dst, 4);
    uint16_t is = (uint16_t)~lwip_standard_chksum(out, 20);
    memcpy(out + 10, &is, 2);
    return tot;
}
