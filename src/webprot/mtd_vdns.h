/* mtd_vdns: the VPN's UDP DNS packets, read and written off lwIP. A query to the
 * tunnel's DNS address, port 53, is taken from the IPv4 packet the TUN gives
 * (mtd_vdns_parse) and its answer's IPv4/UDP packet is built here (mtd_vdns_packet)
 * and written to the TUN as it is. Why by hand, when lwIP does IP and UDP: lwIP may be
 * called only from the relay's thread, so every answer of the upstream had to be
 * queued to that thread and sent from there (a lock, an eventfd wake-up, lwIP's UDP
 * output and the TUN write all on the one thread that also reads every query): built
 * here, the filter's upstream thread writes its answers to the TUN itself, the way it
 * answers its own socket's clients, and the relay's thread is left the queries. These
 * are the two header layouts of a datagram that is never fragmented (a fragmented
 * query still goes to lwIP, which reassembles it; an answer the TUN's MTU cannot carry
 * is sent truncated, as RFC 1035 4.2.1 says a server does over UDP), nothing more.
 * Everything in a packet is the device's and checked as such (fuzz_vdns). */
#ifndef MTD_VDNS_H
#define MTD_VDNS_H

#include <stddef.h>
#include <stdint.h>

#define MTD_VDNS_HDR 28 /* an IPv4 header without options and a UDP header */

typedef struct {
    uint32_t src, dst;     /* network order */
    uint16_t sport, dport; /* host order */
    const uint8_t *msg;    /* the UDP payload, inside the packet */
    size_t len;
} mtd_vdns_query;

/* Packet pkt (len bytes, from the TUN): 1 when it is one whole UDP datagram to dns,
 * port 53, with its header checksums right (*q filled in), 0 when it is anything else
 * (a fragment, another address or port: lwIP's), -1 when it is to dns:53 but broken
 * (a length or a checksum wrong: dropped, as lwIP drops it). */
int mtd_vdns_parse(const uint8_t *pkt, size_t len, uint32_t dns, mtd_vdns_query *q);

/* The packet of a DNS message msg (len bytes) from src:53 to dst:dport in out (cap
 * bytes): its length, or 0 when it cannot be made (cap too small, a message too
 * short). A message longer than an mtu-sized packet can carry becomes its header and
 * question with the TC bit set and no records, so that the client asks over TCP. */
size_t mtd_vdns_packet(uint32_t src, uint32_t dst, uint16_t dport, const uint8_t *msg, size_t len, size_t mtu,
                       uint8_t *out, size_t cap);

#endif
