/* test_vdns: the VPN's UDP DNS packets built and read off lwIP (mtd_vdns): a query to
 * the tunnel's DNS address is taken only when it is one whole datagram with both
 * checksums right, and is left to lwIP (fragments, other addresses and ports) or
 * dropped (bad lengths or checksums) otherwise; an answer's packet carries checksums
 * that a plain RFC 1071 sum, written here apart from the agent's, finds right, and an
 * answer the MTU cannot carry is sent as its question with TC set. */
#include "webprot/mtd_vdns.h"

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>


/* RFC 1071, one 16-bit big-endian word at a time. */
static uint32_t sum_be(const uint8_t *b, size_t n, uint32_t s)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)(b[i] << 8 | b[i + 1]);
    if (n & 1)
        s += (uint32_t)b[n - 1] << 8;
    return s;
}

static uint16_t fold(uint32_t s)
{
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}

/* The UDP sum with its pseudo header, over the packet's own addresses. */
static uint16_t udp_ok_sum(const uint8_t *pkt)
{
    size_t ulen = (size_t)(pkt[24] << 8 | pkt[25]);
    uint32_t s = sum_be(pkt + 12, 8, 0) + 17 + (uint32_t)ulen;
    return fold(sum_be(pkt + 20, ulen, s));
}

static const uint8_t query[] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
                                4, 'g', 'o', 'o', 'd', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1};

/* A client's query packet as the kernel gives it to the TUN. */
static size_t client_packet(uint8_t *p, uint32_t src, uint32_t dst, uint16_t dport, int udp_sum)
{
    size_t n = sizeof query, tot = 28 + n;
    memset(p, 0, 28);
    p[0] = 0x45, p[2] = (uint8_t)(tot >> 8), p[3] = (uint8_t)tot, p[6] = 0x40, p[8] = 64, p[9] = 17;
    memcpy(p + 12, &src, 4);
    memcpy(p + 16, &dst, 4);
    uint16_t ic = (uint16_t)~fold(sum_be(p, 20, 0));
    p[10] = (uint8_t)(ic >> 8), p[11] = (uint8_t)ic;
    p[20] = 0xc3, p[21] = 0x50; /* port 50000 */
    p[22] = (uint8_t)(dport >> 8), p[23] = (uint8_t)dport;
    p[24] = (uint8_t)((n + 8) >> 8), p[25] = (uint8_t)(n + 8);
    memcpy(p + 28, query, n);
    if (udp_sum) {
        uint16_t uc = (uint16_t)~udp_ok_sum(p);
        p[26] = (uint8_t)(uc >> 8), p[27] = (uint8_t)uc;
    }
    return tot;
}

static uint32_t dns, dev;

static int setup(void **state)
{
    (void)state;
    dns = inet_addr("203.0.113.53");
    dev = inet_addr("203.0.113.1");
    return 0;
}

static void whole_query_is_taken(void **state)
{
    (void)state;
    uint8_t p[128];
    mtd_vdns_query q;
    for (int with_sum = 0; with_sum < 2; with_sum++) {
        size_t n = client_packet(p, dev, dns, 53, with_sum);
        memset(&q, 0, sizeof q);
        assert_int_equal(mtd_vdns_parse(p, n, dns, &q), 1);
        assert_int_equal(q.src, dev);
        assert_int_equal(q.dst, dns);
        assert_int_equal(q.sport, 50000);
        assert_int_equal(q.dport, 53);
        assert_int_equal(q.len, sizeof query);
        assert_ptr_equal(q.msg, p + 28);
    }
}

static void others_are_left_to_lwip(void **state)
{
    (void)state;
    uint8_t p[128];
    mtd_vdns_query q;
    size_t n = client_packet(p, dev, dns, 5353, 1);
    assert_int_equal(mtd_vdns_parse(p, n, dns, &q), 0); /* another port */
    n = client_packet(p, dev, inet_addr("198.51.100.53"), 53, 1);
    assert_int_equal(mtd_vdns_parse(p, n, dns, &q), 0); /* another address */
    n = client_packet(p, dev, dns, 53, 1);
    p[6] |= 0x20; /* more fragments */
    assert_int_equal(mtd_vdns_parse(p, n, dns, &q), 0);
    n = client_packet(p, dev, dns, 53, 1);
    p[7] = 1; /* a later fragment */
    assert_int_equal(mtd_vdns_parse(p, n, dns, &q), 0);
    n = client_packet(p, dev, dns, 53, 1);
    p[9] = 6; /* TCP */
    assert_int_equal(mtd_vdns_parse(p, n, dns, &q), 0);
    n = client_packet(p, dev, dns, 53, 1);
    p[0] = 0x60; /* IPv6 */
    assert_int_equal(mtd_vdns_parse(p, n, dns, &q), 0);
    assert_int_equal(mtd_vdns_parse(p, 27, dns, &q), 0); /* shorter than the headers */
}

static void broken_ones_are_dropped(void **state)
{
    (void)state;
    uint8_t p[128];
    mtd_vdns_query q;
    size_t n = client_packet(p, dev, dns, 53, 1);
    p[40] ^= 1; /* a payload byte: the UDP checksum is wrong */
    assert_int_equal(mtd_vdns_parse(p, n, dns, &q), -1);
    n = client_packet(p, dev, dns, 53, 1);
    p[8] = 63; /* the TTL: the header checksum is wrong */
    assert_int_equal(mtd_vdns_parse(p, n, dns, &q), -1);
    n = client_packet(p, dev, dns, 53, 0);
    assert_int_equal(mtd_vdns_parse(p, n - 1, dns, &q), -1); /* the total length past the packet */
    n = client_packet(p, dev, dns, 53, 0);
    p[25] += 1; /* the UDP length past the IP payload */
    assert_int_equal(mtd_vdns_parse(p, n, dns, &q), -1);
    n = client_packet(p, dev, dns, 53, 0);
    p[24] = 0, p[25] = 7; /* a UDP length under its header */
    assert_int_equal(mtd_vdns_parse(p, n, dns, &q), -1);
    n = client_packet(p, dev, dns, 53, 0);
    p[0] = 0x44; /* a header length under 20 */
    assert_int_equal(mtd_vdns_parse(p, n, dns, &q), -1);
}

static void answer_packet_checks(void **state)
{
    (void)state;
    uint8_t ans[sizeof query], p[256];
    memcpy(ans, query, sizeof query);
    ans[2] = 0x81, ans[3] = 0x83; /* a response, NXDOMAIN */
    for (uint16_t port = 1; port < 65535; port += 997) { /* checksums of every kind of value */
        size_t n = mtd_vdns_packet(dns, dev, port, ans, sizeof ans, 65535, p, sizeof p);
        assert_int_equal(n, 28 + sizeof ans);
        assert_int_equal(p[0], 0x45);
        assert_int_equal(p[2] << 8 | p[3], n);
        assert_int_equal(p[9], 17);
        assert_memory_equal(p + 12, &dns, 4);
        assert_memory_equal(p + 16, &dev, 4);
        assert_int_equal(fold(sum_be(p, 20, 0)), 0xffff);
        assert_int_equal(p[20] << 8 | p[21], 53);
        assert_int_equal(p[22] << 8 | p[23], port);
        assert_int_equal(p[24] << 8 | p[25], 8 + sizeof ans);
        assert_true(p[26] | p[27]);
        assert_int_equal(udp_ok_sum(p), 0xffff);
        assert_memory_equal(p + 28, ans, sizeof ans);
    }
    /* a buffer a byte short: the question alone does not fit either */
    assert_int_equal(mtd_vdns_packet(dns, dev, 9, ans, sizeof ans, 65535, p, 28 + sizeof ans - 1), 0);
}

static void answer_past_the_mtu_is_truncated(void **state)
{
    (void)state;
    uint8_t big[1000], p[2048];
    memset(big, 0xab, sizeof big);
    memcpy(big, query, sizeof query);
    big[2] = 0x81, big[3] = 0x80;
    big[7] = 5; /* five answers, past the question */
    size_t n = mtd_vdns_packet(dns, dev, 50000, big, sizeof big, 576, p, sizeof p);
    assert_int_equal(n, 28 + sizeof query);
    assert_int_equal(p[28 + 2], 0x83); /* TC */
    assert_int_equal(p[28 + 3], 0x80);
    for (int i = 6; i < 12; i++)
        assert_int_equal(p[28 + i], 0);
    assert_memory_equal(p + 28 + 12, query + 12, sizeof query - 12);
    assert_int_equal(udp_ok_sum(p), 0xffff);
    /* not even a question to keep: nothing */
    assert_int_equal(mtd_vdns_packet(dns, dev, 50000, big, 11, 576, p, sizeof p), 0);
    memset(big + 12, 0xff, 40); /* a name that does not parse */
    assert_int_equal(mtd_vdns_packet(dns, dev, 50000, big, sizeof big, 576, p, sizeof p), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(whole_query_is_taken, setup),
        cmocka_unit_test_setup(others_are_left_to_lwip, setup),
        cmocka_unit_test_setup(broken_ones_are_dropped, setup),
        cmocka_unit_test_setup(answer_packet_checks, setup),
        cmocka_unit_test_setup(answer_past_the_mtu_is_truncated, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
