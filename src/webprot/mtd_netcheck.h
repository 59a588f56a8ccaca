/* mtd_netcheck: network protection by probing: when a TLS flow asks for a name the
 * agent can check (the collector's own host name, the names of the tenant's
 * tls_canaries list), the agent opens a TLS connection of its own to the same address
 * and port with that name, bypassing the tunnel, and verifies the chain the server
 * presents against the system's trust store (or a given file). A chain that does not
 * verify for a name that must verify means someone on the path presents certificates
 * of their own: a suspected interception (threat.detection, category network, source
 * network). Probes run on a thread of their own, each (name, address) at most once per
 * ten minutes; OpenSSL makes the handshake and verifies. */
#ifndef MTD_NETCHECK_H
#define MTD_NETCHECK_H

#include "webprot/mtd_webevents.h"

#include <stdint.h>

typedef struct mtd_netcheck mtd_netcheck;

/* names: the host names to check (copied). trust: a PEM bundle to verify against,
 * NULL for the system's store. mark: SO_MARK of the probe's socket (0: none). */
mtd_netcheck *mtd_netcheck_new(mtd_webevents *we, const char *const *names, int n, const char *trust,
                               int mark);
/* 1 when name is one of the names to check. */
int mtd_netcheck_wants(const mtd_netcheck *nc, const char *name);
/* Queues a probe of name at ip:port (network order ip, host order port). */
void mtd_netcheck_probe(mtd_netcheck *nc, const char *name, uint32_t ip, uint16_t port);
/* Waits for the queued probes to finish (tests, stop). */
void mtd_netcheck_wait(mtd_netcheck *nc);
/* Probes made and chains that failed, since the start. */
void mtd_netcheck_counts(mtd_netcheck *nc, unsigned *probes, unsigned *failed);
void mtd_netcheck_free(mtd_netcheck *nc);

#endif
