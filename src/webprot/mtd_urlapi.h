/* mtd_urlapi: the local URL check API for browsers: a browser extension (through its
 * native messaging host) or an MDM-managed browser asks before it loads a page.
 *
 *   Unix socket (mode 0600): write a URL and a newline, read one JSON line; several
 *   URLs may follow on one connection.
 *   HTTP on a loopback address: GET /v1/url-check?url=URL with the header
 *   "X-Openmtd-Browser: <browser package>" and a Host header naming that loopback
 *   address. A web page cannot send that header to another origin without a CORS
 *   preflight, which is never answered, and a DNS-rebound name fails the Host check:
 *   pages can neither read verdicts nor plant detections.
 *
 * Both answer {"url", "verdict", "threat_name", "category", "matched"} as url-check
 * does; a block goes to the events queue (web.detection and threat.detection), an
 * allowed URL to nothing. */
#ifndef MTD_URLAPI_H
#define MTD_URLAPI_H

#include "webprot/mtd_rep.h"
#include "webprot/mtd_webevents.h"

#include <jansson.h>

typedef struct mtd_urlapi mtd_urlapi;

typedef struct {
    const char *socket_path; /* NULL: no Unix socket */
    const char *listen;      /* "127.0.0.1:PORT"; NULL: no HTTP */
    mtd_webevents *events;   /* NULL: report nothing */
} mtd_urlapi_opts;

int mtd_urlapi_start(const mtd_urlapi_opts *o, const mtd_rep *rep, mtd_urlapi **out, char *why,
                     size_t whylen);
/* The port the HTTP endpoint listens on (when listen asked for port 0). */
unsigned mtd_urlapi_port(const mtd_urlapi *a);
/* Swaps the engine; returns the previous one, no longer used once this returns. */
const mtd_rep *mtd_urlapi_set_rep(mtd_urlapi *a, const mtd_rep *rep);
void mtd_urlapi_stop(mtd_urlapi *a);

/* The verdict object url-check prints (the caller's). */
json_t *mtd_urlapi_verdict_json(const char *url, const mtd_rep_result *res);

#endif
