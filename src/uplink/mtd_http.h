/* mtd_http: one HTTP(S) request through libcurl, for the agent's uplink and mtdctl.
 *
 * Certificate verification is always on for https; opts.ca_file adds a CA bundle (the
 * demo's self-signed collector certificate) and opts.pin pins the collector's public
 * key ("sha256//base64"). Proxies come from libcurl's usual environment variables
 * (https_proxy, http_proxy, no_proxy). Response bodies are capped. The response owns
 * its body buffer: mtd_http_resp_free(). */
#ifndef MTD_HTTP_H
#define MTD_HTTP_H

#include "common/mtd_buf.h"

#include <stddef.h>
#include <stdio.h>

typedef struct {
    const char *ca_file;  /* NULL = system CAs */
    const char *pin;      /* NULL = no pinning */
    long timeout_s;       /* whole transfer; 0 = 30 s */
    const char *bearer;   /* Authorization: Bearer <token> */
    FILE *sink;           /* a 2xx body is written here as it arrives (an export of any
                           * size), not kept in resp->body; NULL = keep it (up to 64 MiB) */
    size_t max_body;      /* a kept body past this many bytes fails the request; 0 = 64 MiB */
} mtd_http_opts;

typedef struct {
    long status;
    mtd_buf body;
    long retry_after_s;   /* from a Retry-After header, -1 when absent */
} mtd_http_resp;

/* Performs the request. Returns 0 when an HTTP response arrived (any status), or
 * MTD_ENET with why naming the cause when the server could not be reached. headers is
 * NULL-terminated ("Content-Type: ..."). */
int mtd_http_request(const mtd_http_opts *o, const char *method, const char *url,
                     const char *const *headers, const void *body, size_t len,
                     mtd_http_resp *resp, char *why, size_t whylen);
void mtd_http_resp_free(mtd_http_resp *r);

/* The "error"/"detail" of a JSON error body, or the status line, as one line. */
void mtd_http_error_text(const mtd_http_resp *r, char *out, size_t outlen);

#endif
