/* mtd_connrec: connection records (net.connection): what the VPN's flows did, summed
 * per flow key (remote IP, port, protocol, host name, whether it was a threat) over a
 * reporting window, with byte and packet counts each way and first and last seen.
 * The host name is split with libpsl over Debian's public suffix list into the
 * registrable domain (domain) and the full name (subdomain).
 *
 * What leaves is the tenant's report_connections: off, nothing; threats, only the
 * records of blocked or flagged flows; all, every record (and never anything with web
 * protection or network reporting off). The privacy gate checks it all again; this
 * module only keeps what would be dropped from being made. Records go to the web
 * events queue (mtd_webevents) at the end of each window, and at stop.
 * Used by one thread (the VPN's relay) except set_policy, which takes its lock. */
#ifndef MTD_CONNREC_H
#define MTD_CONNREC_H

#include "privacy/mtd_policy.h"
#include "webprot/mtd_webevents.h"

#include <stdint.h>

/* The schema's protocol names (net.connection.protocol). */
typedef enum { MTD_PROTO_HTTP, MTD_PROTO_HTTPS, MTD_PROTO_DNS, MTD_PROTO_TCP, MTD_PROTO_UDP,
               MTD_PROTO_QUIC, MTD_PROTO_TLS } mtd_proto;
const char *mtd_proto_name(mtd_proto p);

typedef struct {
    uint32_t ip;        /* remote address, network order */
    uint16_t port;      /* remote port */
    mtd_proto proto;
    const char *name;   /* host name (SNI, Host, QUIC SNI, DNS question), NULL when none */
    int threat;         /* blocked or flagged */
    uint64_t bytes_out, bytes_in, packets_out, packets_in;
    int64_t first_ms, last_ms; /* wall clock */
} mtd_conn;

typedef struct mtd_connrec mtd_connrec;

mtd_connrec *mtd_connrec_new(mtd_webevents *we, const mtd_policy *pol, int window_s);
void mtd_connrec_set_policy(mtd_connrec *c, const mtd_policy *pol);
/* Adds one flow (or a part of a long one) to its record of the current window. */
void mtd_connrec_add(mtd_connrec *c, const mtd_conn *f);
/* At a window's end (or with force), queues the records the policy lets out and
 * starts a new window. Returns how many were queued. */
size_t mtd_connrec_flush(mtd_connrec *c, int64_t now_ms, int force);
/* Records in the current window (kept or not). */
size_t mtd_connrec_count(mtd_connrec *c);
void mtd_connrec_free(mtd_connrec *c);

/* The registrable domain of a host name (libpsl), into out; "" for an IP address or
 * a public suffix itself. */
void mtd_connrec_domain(const char *host, char *out, size_t outlen);

#endif
