/* mtd_collector: the collector's shared types: the server object, one request and one
 * response as the route handlers see them, and the handlers' entry points.
 *
 * Flow of a request: as soon as its head has arrived, and before a byte of its body is
 * read, mtd_server asks mtd_route_admit: the route is looked up in one table
 * (mtd_routes.c: method, path, authentication, body limit, handler), the caller is
 * authenticated from the headers (mtd_auth), the declared length is checked against
 * the route's limit and reserved from the collector's memory budget. Only then is the
 * body read (buffered under the limit, or a batch streamed into the zstd decoder);
 * the handler runs once it is complete, against the one tenant its credential named,
 * and fills an mtd_resp that the server sends and counts in mtd_metrics. Handlers
 * never see another tenant. */
#ifndef MTD_COLLECTOR_H
#define MTD_COLLECTOR_H

#include "collector/mtd_metrics.h"
#include "collector/mtd_tenants.h"
#include "common/mtd_buf.h"

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#define MTD_MAX_BATCH_BODY (16u << 20)  /* compressed batch */
#define MTD_MAX_JSON_BODY (1u << 20)    /* a JSON request body */
#define MTD_MAX_BATCH_RAW (64u << 20)   /* decompressed batch */
#define MTD_MAX_BATCH_EVENTS 50000

typedef struct mtd_guard mtd_guard;
typedef struct mtd_server mtd_server;

typedef struct mtd_collector {
    mtd_tenants *tenants;
    mtd_metrics metrics;
    mtd_guard *guard;          /* failed-authentication limits (mtd_guard.h); may be NULL */
    mtd_server *server;        /* the HTTP front serving it (set by mtd_server_start) */
    struct mtd_alerts *alerts; /* alert engine (alerts/mtd_alerts.h); may be NULL */
    int inflight;              /* batches being ingested (for 429 under overload) */
    int max_inflight;
    size_t body_budget;        /* bytes all request bodies may hold at once */
    size_t body_held;          /* bytes they hold now (atomic) */
    struct mtd_console *console; /* the admin console's files, or NULL (mtd_console.h) */
    struct mtd_signin *signin; /* OpenID Connect sign-in (mtd_signin.h); may be NULL */
} mtd_collector;

typedef struct mtd_req mtd_req;
typedef struct mtd_resp mtd_resp;

/* Who may call a route, checked from the headers before the body is read. */
typedef enum {
    MTD_AUTH_NONE,     /* anyone */
    MTD_AUTH_DEVICE,   /* a device credential */
    MTD_AUTH_ENROLL,   /* an enrollment token */
    MTD_AUTH_TENANT,   /* an admin, analyst or privacy-officer token */
    MTD_AUTH_OPERATOR, /* the operator token */
    MTD_AUTH_PUBLIC_OR_OPERATOR, /* anyone; the operator token sees more (/metrics) */
} mtd_auth_kind;

/* How a route's body is read. */
typedef enum {
    MTD_BODY_NONE,   /* a body is refused (413) */
    MTD_BODY_BUFFER, /* held in rq->body, up to max_body */
    MTD_BODY_BATCH,  /* a zstd frame streamed into rq->batch as it arrives */
} mtd_body_mode;

/* One row of the route table (mtd_routes.c). A route with its own body limit is one
 * more row. */
typedef struct {
    const char *method;   /* NULL: any method (the handler answers 404 for others) */
    const char *path;     /* exact, or a prefix when it ends in '*' */
    const char *name;     /* metrics label */
    mtd_auth_kind auth;
    mtd_body_mode body;
    size_t max_body;      /* bytes on the wire */
    const char *ctype;    /* media type the body must have, or NULL */
    void (*handle)(mtd_collector *c, mtd_req *rq, mtd_resp *rs);
    int admin_only;       /* other roles are refused (403) from the head, before the body */
} mtd_route_def;

struct mtd_batch;

struct mtd_req {
    const char *method;
    const char *path;          /* percent-decoded, without query string */
    void *conn;                /* struct MHD_Connection * */
    char ip[48];               /* the client's address */
    const mtd_route_def *def;  /* set by mtd_route_admit */
    const char *route;         /* route name for metrics */
    mtd_buf body;              /* MTD_BODY_BUFFER */
    struct mtd_batch *batch;   /* MTD_BODY_BATCH */
    /* the caller, as mtd_route_admit authenticated it */
    mtd_tenant *tn;            /* borrowed for the request's life; the server puts it back */
    mtd_role role;
    int operator;              /* the operator token was presented (and valid) */
    char actor[64];            /* "<role>:<token id>" for the audit log */
    char cred[65];             /* the token's SHA-256 */
    mtd_cred_binding bound;    /* a device credential's binding */
};

struct mtd_resp {
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
    /* set by the console's file handler (mtd_console.c), NULL otherwise */
    const char *cache;         /* Cache-Control (default no-store) */
    const char *encoding;      /* Content-Encoding of a precompressed file */
    const char *vary, *location, *allow;
    int console;               /* a console file: the console's Content-Security-Policy */
    /* set by the sign-in routes (mtd_signin.c): a Location of their own (malloc'd,
     * freed once sent) and a Set-Cookie */
    char *redirect;
    char cookie[256];
};

#define MTD_STREAM_END ((ssize_t)-1)
#define MTD_STREAM_ERROR ((ssize_t)-2)

/* Request helpers (implemented by mtd_server.c). */
const char *mtd_req_header(const mtd_req *rq, const char *name);
const char *mtd_req_arg(const mtd_req *rq, const char *name);
/* The Bearer token of the request, or NULL. */
const char *mtd_req_bearer(const mtd_req *rq);
/* A cookie of the request, or NULL. */
const char *mtd_req_cookie(const mtd_req *rq, const char *name);
/* The console's session cookie (mtd_session), or NULL. Only a request that also
 * carries "X-Openmtd-Console: 1" has one: a form or link of another site cannot add
 * that header, so a cookie alone never authenticates (SameSite=Strict aside). */
const char *mtd_req_session_cookie(const mtd_req *rq);

/* Response helpers. */
void mtd_resp_json(mtd_resp *rs, int status, json_t *body);
void mtd_resp_error(mtd_resp *rs, int status, const char *error, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A store failure that says nothing about the request, answered as one: the database
 * cannot be reached (MTD_EUNAVAIL) or is too busy (MTD_EBUSY) gives 503 with
 * Retry-After, so that an agent keeps its batch and a client retries; 1 then, 0 (rs
 * untouched) for any other code. Never a 401 or 404: an agent takes those as final. */
int mtd_resp_retry_later(mtd_resp *rs, int err);

/* Routes. mtd_route_admit runs once the request head has arrived: it finds the route,
 * checks the framing and the declared length, authenticates and reserves memory for
 * the body. 0: read the body, then call mtd_route_run; otherwise rs holds the answer,
 * sent before any body is read. */
typedef struct {
    uint64_t length;  /* Content-Length, 0 when absent */
    int chunked;      /* Transfer-Encoding: chunked */
} mtd_framing;
int mtd_route_admit(mtd_collector *c, mtd_req *rq, mtd_resp *rs, const mtd_framing *fr);
void mtd_route_run(mtd_collector *c, mtd_req *rq, mtd_resp *rs);
void mtd_handle_enroll_key(mtd_collector *c, mtd_req *rq, mtd_resp *rs);
void mtd_handle_enroll(mtd_collector *c, mtd_req *rq, mtd_resp *rs);
void mtd_handle_credentials(mtd_collector *c, mtd_req *rq, mtd_resp *rs);
void mtd_handle_policy_device(mtd_collector *c, mtd_req *rq, mtd_resp *rs);
void mtd_handle_batch(mtd_collector *c, mtd_req *rq, mtd_resp *rs);
/* A batch's admission, on the HTTP thread once its body is in, by the wait of the
 * ingest queue (queue_wait_ns: how long its oldest batch has waited; past
 * MTD_BATCH_QUEUE_WAIT_MS a batch would wait longer still) and by the collector's, its
 * tenant's and its device's bounds (mtd_inflight.h): 0, counted until mtd_batch_leave,
 * and mtd_handle_batch then runs on an ingest thread (mtd_ingestq.h); else the answer
 * (429 with Retry-After) is in rs.
 * The wait bound is what a refused batch pays to come back: the 1 s of Retry-After the
 * collector gives and the half of it again that the agent may add (mtd_uplink.c).
 * Refusing a batch that would have been served sooner only made it wait longer, and
 * cost its device a second request: at 0.5 s, bench_ingest at 1,000 devices refused
 * about a third as many batches as it stored, in waves, with the queue running dry
 * between them. */
#define MTD_BATCH_RETRY_AFTER_S 1
#define MTD_BATCH_QUEUE_WAIT_MS (MTD_BATCH_RETRY_AFTER_S * 1500)
int mtd_batch_enter(mtd_collector *c, mtd_req *rq, mtd_resp *rs, int64_t queue_wait_ns);
/* The same collector-wide bounds, from the request head and without taking a slot:
 * 0 when a batch could be admitted now; else the 429 is in rs, and the body is to be
 * read and dropped without decompressing it (at capacity more batches are refused
 * than stored, and decompressing each of them was work for nothing). */
int mtd_batch_refuse_early(mtd_collector *c, mtd_resp *rs, int64_t queue_wait_ns);
void mtd_batch_leave(mtd_collector *c, mtd_req *rq);
void mtd_handle_admin(mtd_collector *c, mtd_req *rq, mtd_resp *rs);
void mtd_handle_operator(mtd_collector *c, mtd_req *rq, mtd_resp *rs);

/* 1 when the caller holds an admin token; else a 403 in rs, recorded in the tenant's
 * audit log as a refused call (mtd_guard_refused), and 0. */
int mtd_require_admin(mtd_collector *c, mtd_req *rq, mtd_resp *rs);
/* The memory budget of request bodies: MTD_EBUSY when bytes more would pass it. */
int mtd_body_reserve(mtd_collector *c, size_t bytes);
void mtd_body_release(mtd_collector *c, size_t bytes);
/* 1 when the Content-Type ct is the media type want, parameters allowed. */
int mtd_media_type_is(const char *ct, const char *want);
/* The HTTP front's own series of /metrics (mtd_server.c): connections shed, bodies
 * held, failed authentications. */
void mtd_metrics_render_front(mtd_collector *c, mtd_buf *out);

/* Parses the request body as a JSON object; on failure fills a 400 and returns NULL. */
json_t *mtd_req_json(const mtd_req *rq, mtd_resp *rs);

#endif
