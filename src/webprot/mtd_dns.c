/* mtd_dns: DNS message parsing and the filter's own answers (see mtd_dns.h). Written
 * here rather than with a resolver library: the filter reads one question and copies
 * the rest through, and libresolv's ns_parse would still leave the bounds on us. */
#include "webprot/mtd_dns.h"
#include "common/mtd_err.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* Reads a name at *off: its text into m->name, *off past it (past the first pointer
 * when compressed). */
static int read_name(const uint8_t *buf, size_t len, size_t *off, char *out, size_t *outlen,
                     const char **why)
{
    size_t p = *off, wire = 0, w = 0;
    int jumps = 0, jumped = 0;
    for (;;) {
        if (p >= len) {
            *why = "name runs past the message";
            return MTD_EINVAL;
        }
        uint8_t l = buf[p];
        if ((l & 0xC0) == 0xC0) {
            if (p + 1 >= len) {
                *why = "name runs past the message";
                return MTD_EINVAL;
            }
            size_t to = (size_t)(l & 0x3F) << 8 | buf[p + 1];
            if (to >= p || ++jumps > 16) { /* only backwards, and not forever */
                *why = "compression pointer loop";
                return MTD_EINVAL;
            }
            if (!jumped)
                *off = p + 2;
            jumped = 1;
            p = to;
            continue;
        }
        if (l & 0xC0) {
            *why = "unknown label type";
            return MTD_EINVAL;
        }
        wire += (size_t)l + 1;
        if (wire > 255) {
            *why = "name longer than 255 bytes";
            return MTD_EINVAL;
        }
        if (l == 0)
            break;
        if (p + 1 + l > len) {
            *why = "label runs past the message";
            return MTD_EINVAL;
        }
        if (w)
            out[w++] = '.';
        for (size_t i = 0; i < l; i++) {
            uint8_t c = buf[p + 1 + i];
            if (c >= 'A' && c <= 'Z')
                c = (uint8_t)(c + 32);
            if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')
                out[w++] = (char)c;
            else
                w += (size_t)snprintf(out + w, 4, "%%%02X", c);
        }
        p += 1 + (size_t)l;
    }
    if (!jumped)
        *off = p + 1;
    out[w] = 0;
    *outlen = w;
    return 0;
}

/* Skips one resource record at *off (name, fixed part, data). */
static int skip_rr(const uint8_t *buf, size_t len, size_t *off, uint16_t *type, uint16_t *klass,
                   const char **why)
{
    char name[MTD_DNS_NAME_TEXT];
    size_t nl;
    int r = read_name(buf, len, off, name, &nl, why);
    if (r)
        return r;
    if (*off + 10 > len) {
        *why = "record runs past the message";
        return MTD_EINVAL;
    }
    *type = be16(buf + *off);
    *klass = be16(buf + *off + 2);
    size_t rdlen = be16(buf + *off + 8);
    if (*off + 10 + rdlen > len) {
        *why = "record data runs past the message";
        return MTD_EINVAL;
    }
    *off += 10 + rdlen;
    return 0;
}

int mtd_dns_parse(const uint8_t *buf, size_t len, mtd_dns_msg *m, const char **why)
{
    const char *dummy;
    why = why ? why : &dummy;
    memset(m, 0, offsetof(mtd_dns_msg, name) + 1);
    m->has_opt = 0;
    m->opt_udp = 0;
    if (len < 12) {
        *why = "shorter than a DNS header";
        return MTD_EINVAL;
    }
    m->id = be16(buf);
    m->flags = be16(buf + 2);
    m->is_response = m->flags >> 15;
    m->opcode = (m->flags >> 11) & 15;
    uint16_t qd = be16(buf + 4), an = be16(buf + 6), ns = be16(buf + 8), ar = be16(buf + 10);
    if (qd != 1) {
        *why = "not exactly one question";
        return MTD_EINVAL;
    }
    size_t off = 12;
    int r = read_name(buf, len, &off, m->name, &m->name_len, why);
    if (r)
        return r;
    if (off + 4 > len) {
        *why = "question runs past the message";
        return MTD_EINVAL;
    }
    m->qtype = be16(buf + off);
    m->qclass = be16(buf + off + 2);
    m->question_end = off + 4;
    if (m->is_response)
        return 0; /* a response's records are passed through, not read */
    off = m->question_end;
    for (unsigned i = 0; i < (unsigned)an + ns + ar; i++) {
        uint16_t t, k;
        if ((r = skip_rr(buf, len, &off, &t, &k, why)) != 0)
            return r;
        if (i >= (unsigned)an + ns && t == MTD_DNS_OPT) {
            m->has_opt = 1;
            m->opt_udp = k;
        }
    }
    return 0;
}

size_t mtd_dns_answer(const uint8_t *query, const mtd_dns_msg *q, int rcode, int null_ip,
                      uint8_t *out, size_t outlen)
{
    size_t n = q->question_end;
    int answer = null_ip && rcode == MTD_DNS_NOERROR && (q->qtype == MTD_DNS_A || q->qtype == MTD_DNS_AAAA);
    size_t need = n + (answer ? 16 + (q->qtype == MTD_DNS_A ? 4 : 16) : 0) + (q->has_opt ? 11 : 0);
    if (need > outlen || n < 12)
        return 0;
    memcpy(out, query, n);
    /* QR, the query's opcode and RD; RA (we recurse through the upstream) */
    uint16_t flags = (uint16_t)(0x8000 | (q->flags & 0x7900) | 0x0080 | (rcode & 15));
    put16(out + 2, flags);
    put16(out + 4, 1);
    put16(out + 6, answer ? 1 : 0);
    put16(out + 8, 0);
    put16(out + 10, q->has_opt ? 1 : 0);
    if (answer) {
        uint8_t *a = out + n;
        put16(a, 0xC00C); /* the question's name */
        put16(a + 2, q->qtype);
        put16(a + 4, 1);
        a[6] = 0, a[7] = 0, a[8] = 0x01, a[9] = 0x2C; /* TTL 300 */
        uint16_t rl = q->qtype == MTD_DNS_A ? 4 : 16;
        put16(a + 10, rl);
        memset(a + 12, 0, rl);
        n += 12 + rl;
    }
    if (q->has_opt) { /* OPT: root name, type 41, our payload size 1232, no options */
        uint8_t *o = out + n;
        o[0] = 0;
        put16(o + 1, MTD_DNS_OPT);
        put16(o + 3, 1232);
        memset(o + 5, 0, 6);
        n += 11;
    }
    return n;
}

int mtd_dns_answer_addrs(const uint8_t *buf, size_t len, const mtd_dns_msg *r,
                         char (*addrs)[MTD_DNS_ADDR_TEXT], int max)
{
    const char *why;
    char name[MTD_DNS_NAME_TEXT];
    size_t nl, off = r->question_end;
    unsigned an = len >= 12 ? be16(buf + 6) : 0;
    int n = 0;
    for (unsigned i = 0; i < an && n < max; i++) {
        if (read_name(buf, len, &off, name, &nl, &why) != 0 || off + 10 > len)
            return -1;
        uint16_t type = be16(buf + off), klass = be16(buf + off + 2);
        size_t rdlen = be16(buf + off + 8);
        const uint8_t *rd = buf + off + 10;
        if (off + 10 + rdlen > len)
            return -1;
        off += 10 + rdlen;
        if (klass != 1)
            continue;
        if (type == MTD_DNS_A && rdlen == 4)
            inet_ntop(AF_INET, rd, addrs[n++], MTD_DNS_ADDR_TEXT);
        else if (type == MTD_DNS_AAAA && rdlen == 16) {
            char a6[INET6_ADDRSTRLEN];
            inet_ntop(AF_INET6, rd, a6, sizeof a6);
            snprintf(addrs[n++], MTD_DNS_ADDR_TEXT, "[%s]", a6);
        }
    }
    return n;
}

size_t mtd_dns_formerr(const uint8_t *query, size_t len, uint8_t *out, size_t outlen)
{
    if (len < 2 || outlen < 12)
        return 0;
    memset(out, 0, 12);
    out[0] = query[0];
    out[1] = query[1];
    put16(out + 2, 0x8000 | MTD_DNS_FORMERR);
    return 12;
}

const char *mtd_dns_type_name(uint16_t t, char buf[16])
{
    static const struct { uint16_t t; const char *n; } names[] = {
        {1, "A"}, {2, "NS"}, {5, "CNAME"}, {6, "SOA"}, {12, "PTR"}, {15, "MX"}, {16, "TXT"},
        {28, "AAAA"}, {33, "SRV"}, {64, "SVCB"}, {65, "HTTPS"}, {255, "ANY"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].t == t)
            return names[i].n;
    snprintf(buf, 16, "TYPE%u", t);
    return buf;
}

int mtd_dns_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[128];
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || (size_t)(colon - s) >= sizeof host)
        return MTD_EINVAL;
    snprintf(host, sizeof host, "%.*s", (int)(colon - s), s);
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || colon[1] == 0 || port < 1 || port > 65535)
        return MTD_EINVAL;
    memset(ss, 0, sizeof *ss);
    size_t hl = strlen(host);
    if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        host[hl - 1] = 0;
        if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1)
            return MTD_EINVAL;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        *len = sizeof *a;
        return 0;
    }
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
        return MTD_EINVAL;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    *len = sizeof *a;
    return 0;
}
