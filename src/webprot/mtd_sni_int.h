/* mtd_sni_int: what the TLS and QUIC halves of mtd_sni share. */
#ifndef MTD_SNI_INT_H
#define MTD_SNI_INT_H

#include "webprot/mtd_sni.h"

/* A host name's bytes checked and lowercased into name. */
mtd_sni_result mtd_sni__name(const uint8_t *p, size_t n, char name[MTD_SNI_NAME_MAX + 1]);
/* A handshake message (type, 24-bit length, body) that should be a ClientHello: its
 * server_name. complete: buf holds all there will ever be (else a short one is MORE). */
mtd_sni_result mtd_sni__client_hello(const uint8_t *buf, size_t len, int complete, char *name);

#endif
