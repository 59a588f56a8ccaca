/* mtd_dns: the parts of DNS messages (RFC 1035, 6891) the filter needs: the question
 * of a query or a response, the answers it makes itself (NXDOMAIN, 0.0.0.0 / ::,
 * SERVFAIL, REFUSED, FORMERR), and the addresses it listens on and forwards to.
 *
 * Parsing takes (buf, len) from anyone on the network: every length and pointer is
 * checked against the message, compression pointers must point backwards and at most
 * 16 are followed (no label loops), a name is at most 255 bytes on the wire and a label
 * 63, and the text form of a name escapes every byte that is not [A-Za-z0-9-_] as %XX,
 * the escape URL canonicalization reads (a dot inside a label then counts as a label
 * break for the lookup: it can only make a name match more entries, never fewer), so
 * no NUL or separator reaches a lookup raw. Forwarded
 * queries are passed on as they came, EDNS0 (OPT) record included; answers the filter
 * makes carry an OPT record when the query had one. */
#ifndef MTD_DNS_H
#define MTD_DNS_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define MTD_DNS_MAX_UDP 4096  /* the largest UDP message read or answered */
#define MTD_DNS_NAME_TEXT 1100 /* a 255-byte wire name with every byte as \DDD */

enum { MTD_DNS_NOERROR = 0, MTD_DNS_FORMERR = 1, MTD_DNS_SERVFAIL = 2, MTD_DNS_NXDOMAIN = 3,
       MTD_DNS_NOTIMP = 4, MTD_DNS_REFUSED = 5 };
enum { MTD_DNS_A = 1, MTD_DNS_AAAA = 28, MTD_DNS_OPT = 41 };

typedef struct {
    uint16_t id, flags, qtype, qclass;
    int is_response;
    int opcode;
    char name[MTD_DNS_NAME_TEXT]; /* the question's name as text, lowercase, no final dot */
    size_t name_len;
    size_t question_end;          /* offset just past the question */
    int has_opt;                  /* an OPT record in the additional section */
    uint16_t opt_udp;             /* its UDP payload size */
} mtd_dns_msg;

/* Reads the header, the one question and (for a query) whether an OPT record is
 * present. 0, or MTD_EINVAL (*why says what) for anything malformed. */
int mtd_dns_parse(const uint8_t *buf, size_t len, mtd_dns_msg *m, const char **why);

/* An answer to query q (raw bytes, its question up to q->question_end) in out: rcode,
 * and for a null-IP answer (null_ip) an A 0.0.0.0 or AAAA :: record. Returns its length,
 * or 0 when out is too small. */
size_t mtd_dns_answer(const uint8_t *query, const mtd_dns_msg *q, int rcode, int null_ip,
                      uint8_t *out, size_t outlen);
/* The A and AAAA records of a response's answer section (r from mtd_dns_parse), as the
 * reputation database keeps IP hosts: "192.0.2.1", "[2001:db8::1]"; at most max of
 * them. Returns how many, or -1 when the section is malformed. */
#define MTD_DNS_ADDR_TEXT 48
int mtd_dns_answer_addrs(const uint8_t *buf, size_t len, const mtd_dns_msg *r,
                         char (*addrs)[MTD_DNS_ADDR_TEXT], int max);

/* The smallest answer to a message too broken to parse: its ID with FORMERR, or 0
 * when not even a header came. */
size_t mtd_dns_formerr(const uint8_t *query, size_t len, uint8_t *out, size_t outlen);

/* "A", "AAAA", ... or "TYPE123". */
const char *mtd_dns_type_name(uint16_t t, char buf[16]);

/* "ADDR:PORT" or "[ADDR]:PORT" into a socket address. */
int mtd_dns_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len);

#endif
