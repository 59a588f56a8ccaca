/* mtd_sni: the name a flow asks for, read from its first bytes: the server_name of a
 * TLS ClientHello (RFC 8446 4.1.2, RFC 6066 3), the Host header of an HTTP/1.x
 * request, and the server_name of the ClientHello inside a QUIC v1 Initial packet
 * (RFC 9000 17.2.2, RFC 9001 5: its keys come from the connection ID, so any observer
 * can decrypt it, which is what lets the VPN see the name without a key of its own).
 *
 * Every parser takes (buf, len) as a client sent them and trusts no length it reads;
 * each says whether it found a name, needs more bytes (the flow's first segment ended
 * inside the message), found a complete message without a name, or found something
 * that is not such a message. A name is returned lowercase, without a port or a final
 * dot, and only when it is made of host name bytes (letters, digits, '-', '_', '.', and
 * for an HTTP Host an IPv6 literal in brackets), so it can go to a lookup as it is.
 * The caller owns every buffer. */
#ifndef MTD_SNI_H
#define MTD_SNI_H

#include <stddef.h>
#include <stdint.h>

#define MTD_SNI_NAME_MAX 255 /* a DNS name's text form */

typedef enum {
    MTD_SNI_FOUND = 0,    /* *name holds the name */
    MTD_SNI_MORE = -1,    /* a prefix of a message: wait for more bytes */
    MTD_SNI_NONE = -2,    /* a complete message that names no server */
    MTD_SNI_INVALID = -3, /* not a message of that protocol, or a broken one */
} mtd_sni_result;

/* The TLS ClientHello's server_name (the handshake may span several records). The
 * ClientHello is read up to MTD_SNI_TLS_MAX bytes: a longer one is INVALID. */
#define MTD_SNI_TLS_MAX 16384
mtd_sni_result mtd_sni_tls(const uint8_t *buf, size_t len, char name[MTD_SNI_NAME_MAX + 1]);

/* The Host header of an HTTP/1.x request (headers up to the blank line, at most
 * MTD_SNI_HTTP_MAX bytes). */
#define MTD_SNI_HTTP_MAX 8192
mtd_sni_result mtd_sni_http(const uint8_t *buf, size_t len, char name[MTD_SNI_NAME_MAX + 1]);

/* The server_name of the ClientHello a QUIC v1 client Initial carries: the packet is
 * decrypted with its Initial keys and its CRYPTO frames from offset 0 are read. MORE
 * when the ClientHello continues in a later packet beyond what this one carries. */
mtd_sni_result mtd_sni_quic(const uint8_t *buf, size_t len, char name[MTD_SNI_NAME_MAX + 1]);

/* The same over the Initials of one connection: a ClientHello too big for one packet
 * (post-quantum key shares) spans two or more, and a client may put its server_name
 * in any of them (Chrome spreads CRYPTO frames at random offsets). The context keeps
 * the CRYPTO bytes seen so far; zero it before the first packet. */
#define MTD_SNI_QUIC_CRYPTO 4096
typedef struct {
    uint8_t crypto[MTD_SNI_QUIC_CRYPTO], seen[MTD_SNI_QUIC_CRYPTO];
} mtd_sni_quic_ctx;
mtd_sni_result mtd_sni_quic_add(mtd_sni_quic_ctx *c, const uint8_t *buf, size_t len,
                                char name[MTD_SNI_NAME_MAX + 1]);

/* What the first bytes of a TCP flow look like, to tell the protocol of a record:
 * 1 a TLS handshake record, 2 an HTTP request line's start, 0 anything else (or too
 * few bytes to tell). */
int mtd_sni_sniff(const uint8_t *buf, size_t len);

const char *mtd_sni_result_name(mtd_sni_result r);

#endif
