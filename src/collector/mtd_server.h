/* mtd_server: the collector's HTTP(S) front, on libmicrohttpd (thread pool + epoll;
 * TLS through GnuTLS). It reads each request body up to MTD_MAX_BODY (marking larger
 * ones so the handler answers 413 without buffering them), hands complete requests to
 * mtd_route(), sends the response, counts it and logs one line per request. Slow or
 * abandoned connections are cut by a connection timeout. */
#ifndef MTD_SERVER_H
#define MTD_SERVER_H

#include "collector/mtd_collector.h"

typedef struct mtd_server mtd_server;

typedef struct {
    const char *listen;    /* "ADDR:PORT" or "[ADDR]:PORT"; port 0 picks a free one */
    const char *tls_cert;  /* PEM files; both or neither */
    const char *tls_key;
    unsigned threads;      /* thread pool size; 0 = number of CPUs */
    unsigned conn_timeout; /* seconds idle before a connection is closed */
} mtd_server_opts;

int mtd_server_start(mtd_collector *c, const mtd_server_opts *o, mtd_server **out,
                     char *why, size_t whylen);
/* The URL clients use, e.g. "https://127.0.0.1:8443". */
const char *mtd_server_url(const mtd_server *s);
/* Stops accepting, waits for requests in flight, frees. */
void mtd_server_stop(mtd_server *s);

#endif
