/* mtd_collector: the collector's shared types: the server object, one request and one
 * response as the route handlers see them, and the handlers' entry points.
 *
 * Flow of a request: mtd_server (libmicrohttpd) reads the body up to a cap, then
 * mtd_routes picks a handler by method and path; the handler authenticates
 * (mtd_auth), does its work against one tenant's store, and fills an mtd_resp that the
 * server sends and counts in mtd_metrics. Handlers never see another tenant. */
#ifndef MTD_COLLECTOR_H
#define MTD_COLLECTOR_H

#include "collector/mtd_metrics.h"
#include "collector/mtd_tenants.h"
#include "common/mtd_buf.h"

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#define MTD_MAX_BODY (16u << 20)        /* compressed batch or JSON body */
#define MTD_MAX_BATCH_RAW (64u << 20)   /* decompressed batch */
#define MTD_MAX_BATCH_EVENTS 50000

typedef struct mtd_collector {
    mtd_tenants *tenants;
    mtd_metrics metrics;
    int inflight;              /* batches being ingested (for 429 under overload) */
    int max_inflight;
} mtd_collector;

typedef struct {
    const char *method;
    const char *path;          /* without query string */
    const char *query_raw;     /* not used for auth; values via mtd_req_arg */
    void *conn;                /* struct MHD_Connection * */
    mtd_buf body;
    int too_big;
    const char *route;         /* route name for metrics, set by the router */
} mtd_req;

typedef struct {
    int status;
    json_t *json;              /* body when JSON */
    char *text;                /* body when text (metrics), malloc'd */
    const char *ctype;
    long retry_after;          /* seconds, 0 = none */
    /* A body made while it is sent (an export): stream() fills buf with up to max bytes
     * and returns how many, or MTD_STREAM_END / MTD_STREAM_ERROR (libmicrohttpd's
     * content reader, whose values these are); stream_free(stream_ctx) runs once the
     * answer is done or abandoned. */
    ssize_t (*stream)(void *ctx, uint64_t pos, char *buf, size_t max);
    void (*stream_free)(void *ctx);
    void *stream_ctx;
    uint64_t stream_size;      /* the streamed body's length when known (0 = unknown) */
    char etag[72];             /* an ETag header when set (a feed's "\"sha256\"") */
} mtd_resp;

#define MTD_STREAM_END ((ssize_t)-1)
#define MTD_STREAM_ERROR ((ssize_t)-2)

/* Request helpers (implemented by mtd_server.c). */
const char *mtd_req_header(const mtd_req *rq, const char *name);
const char *mtd_req_arg(const mtd_req *rq, const char *name);
/* The Bearer token of the request, or NULL. */
const char *mtd_req_bearer(const mtd_req *rq);

/* Response helpers. */
void mtd_resp_json(mtd_resp *rs, int status, json_t *body);
void mtd_resp_error(mtd_resp *rs, int status, const char *error, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Routes. */
void mtd_route(mtd_collector *c, mtd_req *rq, mtd_resp *rs);
void mtd_handle_enroll(mtd_collector *c, mtd_req *rq, mtd_resp *rs);
void mtd_handle_policy_device(mtd_collector *c, mtd_req *rq, mtd_resp *rs);
void mtd_handle_batch(mtd_collector *c, mtd_req *rq, mtd_resp *rs);
void mtd_handle_admin(mtd_collector *c, mtd_req *rq, mtd_resp *rs, const char *sub);
void mtd_handle_operator(mtd_collector *c, mtd_req *rq, mtd_resp *rs, const char *sub);

/* Parses the request body as a JSON object; on failure fills a 400 and returns NULL. */
json_t *mtd_req_json(const mtd_req *rq, mtd_resp *rs);

#endif
