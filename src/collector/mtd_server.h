/* mtd_server: the collector's HTTP(S) front, on libmicrohttpd (thread pool + epoll;
 * TLS through GnuTLS). When a request's head has arrived it refuses a request target
 * with control characters or NUL and ambiguous framing (400), then asks
 * mtd_route_admit (route, length, authentication, media type) and answers a refusal
 * before reading any body. An admitted body is read under its route's limit and the
 * collector's memory budget (a batch streamed into the zstd decoder), then the route's
 * handler runs (a batch's on an ingest thread, its connection suspended meanwhile:
 * mtd_ingestq.h); the answer is sent, counted and logged in one line (401 and 429 only in
 * mtd_guard's summaries). Slow or abandoned connections are cut by a connection
 * timeout. */
#ifndef MTD_SERVER_H
#define MTD_SERVER_H

#include "collector/mtd_collector.h"

#define MTD_SERVER_INGEST_THREADS 16 /* enough to keep group commits grouping */


typedef struct {
    const char *listen;    /* "ADDR:PORT" or "[ADDR]:PORT"; port 0 picks a free one */
    const char *tls_cert;  /* PEM files; both or neither */
    const char *tls_key;
    unsigned threads;      /* HTTP threads; 0: 4 per CPU, 8 to 16 */
    unsigned ingest_threads; /* threads that ingest batches (mtd_ingestq.h); 0: the default */
    unsigned conn_timeout; /* seconds idle before a connection is closed */
    unsigned max_connections; /* open at once (default 4000; a tenth kept for admitted ones) */
    unsigned max_per_ip;   /* from one address (0: no limit) */
    unsigned head_timeout; /* seconds for a request head to arrive (default 10) */
    unsigned body_timeout; /* seconds for an admitted body to arrive (default 60) */
} mtd_server_opts;

int mtd_server_start(mtd_collector *c, const mtd_server_opts *o, mtd_server **out,
                     char *why, size_t whylen);
/* The URL clients use, e.g. "https://127.0.0.1:8443". */
const char *mtd_server_url(const mtd_server *s);
/* The connection series of /metrics. */
void mtd_server_render(mtd_server *s, mtd_buf *out);
/* 1 when a raw request target holds a control character or NUL, as such or
 * percent-encoded. */
int mtd_uri_has_control(const char *uri);
/* Stops accepting, waits for requests in flight, frees. */
void mtd_server_stop(mtd_server *s);

#endif
