/* mtd_listen: what would stop the collector's HTTP front from starting, found before
 * libmicrohttpd tries, so that the operator reads one line naming the cause (a port in
 * use, TLS files that are not PEM) instead of libmicrohttpd's raw lines and a guess. */
#ifndef MTD_LISTEN_H
#define MTD_LISTEN_H

#include <stddef.h>
#include <sys/socket.h>

/* Binds a socket to the address and lets it go: 0, or why names the cause
 * ("--listen 127.0.0.1:8443: address already in use"). */
int mtd_listen_check(const struct sockaddr_storage *ss, const char *listen, char *why, size_t whylen);
/* The PEM certificate and private key (as read from their files) parse, and the key is
 * the certificate's: 0, or why names the file and what is wrong. */
int mtd_listen_tls_check(const char *cert, const char *cert_path, const char *key, const char *key_path,
                         char *why, size_t whylen);

#endif
