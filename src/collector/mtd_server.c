/* mtd_server: libmicrohttpd glue: listening, admission from the request head, body
 * reading under the route limit and the memory budget, dispatch, logging. */
#include "collector/mtd_server.h"
#include "collector/mtd_console.h"
#include "collector/mtd_batch.h"
#include "collector/mtd_conns.h"
#include "collector/mtd_guard.h"
#include "collector/mtd_ingestq.h"
#include "collector/mtd_signin.h"
#include "common/mtd_err.h"
#include "common/mtd_file.h"
#include "collector/mtd_listen.h"
#include "common/mtd_args.h"
#include "common/mtd_log.h"
#include "common/mtd_util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct mtd_server {
    struct MHD_Daemon *d;
    mtd_collector *c;
    mtd_conns *conns;
    char url[300];
    uint8_t *cert, *key;
    int active; /* requests begun and not completed */
    mtd_ingestq *ingest; /* the threads that run batches (MTD_BODY_BATCH routes) */
};

typedef struct {
    mtd_req rq;
    int64_t start_ns;
    int begun;       /* the head has been seen (first call of the access handler) */
    int bad_uri;     /* the raw request target holds a control character */
    int refused;     /* answered from the head alone */
    int too_big;     /* a chunked body ran over the route's limit: dropped, 413 */
    int over_budget; /* the body outgrew the memory budget: dropped, 503 */
    int early;       /* a batch refused from its head (429 in rs): its body dropped unread */
    size_t held;     /* bytes reserved from the collector's body budget */
    uint64_t in_bytes;
    mtd_batch batch; /* MTD_BODY_BATCH routes */
    /* a route run on an ingest thread: its connection is suspended from the push until
     * the answer, made there, is in rs */
    mtd_ingestq_job job;
    mtd_server *s;
    int queued;
    mtd_resp rs;
} req_ctx;

const char *mtd_req_header(const mtd_req *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

const char *mtd_req_arg(const mtd_req *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *mtd_req_bearer(const mtd_req *rq)
{
    const char *h = mtd_req_header(rq, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncmp(h, "Bearer ", 7) != 0)
        return NULL;
    return h + 7;
}

const char *mtd_req_cookie(const mtd_req *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_COOKIE_KIND, name);
}

const char *mtd_req_session_cookie(const mtd_req *rq)
{
    const char *h = mtd_req_header(rq, "X-Openmtd-Console");
    if (!h || strcmp(h, "1"))
        return NULL;
    return mtd_req_cookie(rq, "mtd_session");
}

void mtd_resp_json(mtd_resp *rs, int status, json_t *body)
{
    rs->status = status;
    json_decref(rs->json);
    rs->json = body;
}

void mtd_resp_error(mtd_resp *rs, int status, const char *error, const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    mtd_resp_json(rs, status, json_pack("{s:s,s:s}", "error", error, "detail", detail));
}

#define UNAVAIL_RETRY_S 5 /* a database restart or failover takes seconds */

int mtd_resp_retry_later(mtd_resp *rs, int err)
{
    if (err == MTD_EUNAVAIL) {
        rs->retry_after = UNAVAIL_RETRY_S;
        mtd_resp_error(rs, 503, "unavailable", "the database cannot be reached; retry");
    } else if (err == MTD_EBUSY) {
        rs->retry_after = 1;
        mtd_resp_error(rs, 503, "busy", "the store is busy; retry");
    }
    return err == MTD_EUNAVAIL || err == MTD_EBUSY;
}

/* A handler's 5xx while the database cannot be reached was the outage's doing, whatever
 * the handler could tell (a report read returns NULL, not why): it is answered 503 with
 * Retry-After, on every route, in this one place. */
static void store_down_answer(mtd_server *s, mtd_resp *rs)
{
    mtd_store_cluster *cl = mtd_tenants_cluster(s->c->tenants);
    if (rs->status < 500 || rs->status == 503 || !cl || !mtd_store_pg_down(cl))
        return;
    free(rs->text);
    rs->text = NULL;
    rs->ctype = NULL;
    mtd_resp_retry_later(rs, MTD_EUNAVAIL);
}

json_t *mtd_req_json(const mtd_req *rq, mtd_resp *rs)
{
    json_error_t e;
    json_t *j = json_loadb((const char *)rq->body.data, rq->body.len, JSON_REJECT_DUPLICATES, &e);
    if (!j) {
        mtd_resp_error(rs, 400, "bad_json", "request body: %s at line %d column %d", e.text,
                       e.line, e.column);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        mtd_resp_error(rs, 400, "bad_json", "request body must be a JSON object");
        return NULL;
    }
    return j;
}

_Static_assert(MTD_STREAM_END == MHD_CONTENT_READER_END_OF_STREAM &&
               MTD_STREAM_ERROR == MHD_CONTENT_READER_END_WITH_ERROR, "stream codes are MHD's");

static struct MHD_Response *make_resp(mtd_resp *rs)
{
    if (rs->stream)
        return MHD_create_response_from_callback(rs->stream_size ? rs->stream_size : MHD_SIZE_UNKNOWN,
                                                 64 * 1024, rs->stream,
                                                 rs->stream_ctx, rs->stream_free);
    char *body = rs->text;
    if (!body && rs->json)
        body = json_dumps(rs->json, JSON_COMPACT);
    if (!body)
        body = strdup("");
    size_t len = strlen(body);
    if (!rs->text && rs->json) {
        body = realloc(body, len + 2); /* a newline ends every JSON answer */
        body[len++] = '\n';
        body[len] = 0;
    }
    return MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
}

static void add_header(void *r, const char *name, const char *value)
{
    MHD_add_response_header(r, name, value);
}

static enum MHD_Result send_resp(struct MHD_Connection *conn, mtd_resp *rs)
{
    struct MHD_Response *r = make_resp(rs);
    if (!r) {
        if (rs->stream_free)
            rs->stream_free(rs->stream_ctx);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            rs->ctype ? rs->ctype : "application/json");
    mtd_security_headers(rs, add_header, r);
    if (rs->etag[0])
        MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, rs->etag);
    if (rs->redirect)
        MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, rs->redirect);
    if (rs->cookie[0])
        MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, rs->cookie);
    if (rs->retry_after > 0) {
        char ra[32];
        snprintf(ra, sizeof ra, "%ld", rs->retry_after);
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)rs->status, r);
    MHD_destroy_response(r);
    return ret;
}

static void finish(mtd_server *s, req_ctx *x, mtd_resp *rs)
{
    double ms = (double)(mtd_monotonic_ns() - x->start_ns) / 1e6;
    mtd_metrics_request(&s->c->metrics, x->rq.route ? x->rq.route : "other", rs->status);
    if (rs->status == 401 || rs->status == 429)
        return; /* summarized by mtd_guard: a line per guess filled 50 MB of log */
    mtd_log(MTD_LOG_INFO, "http", "method=%s path=%s status=%d ms=%.2f in_bytes=%llu",
            x->rq.method, x->rq.path, rs->status, ms, (unsigned long long)x->in_bytes);
}

/* Called by libmicrohttpd once the request line has arrived, before the headers: the
 * request's context starts here, with the URI as the client sent it (the handler sees
 * it percent-decoded, when "%00" has already cut it short and "%0a" become a newline). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    req_ctx *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    x->start_ns = mtd_monotonic_ns();
    x->bad_uri = mtd_uri_has_control(uri);
    return x;
}

/* A request target with a control character or NUL, raw or percent-encoded: it could
 * forge a log line or cut a path short behind the checks that read it. */
int mtd_uri_has_control(const char *u)
{
    for (const unsigned char *p = (const unsigned char *)u; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return 1;
        if (*p == '%' && isxdigit(p[1]) && isxdigit(p[2])) {
            int v = (int)strtol((char[]){(char)p[1], (char)p[2], 0}, NULL, 16);
            if (v < 0x20 || v == 0x7f)
                return 1;
        }
    }
    return 0;
}

typedef struct {
    int n_len, n_te;
    const char *len, *te;
} framing_scan;

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    framing_scan *f = cls;
    if (!strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH)) {
        f->n_len++;
        f->len = value;
    } else if (!strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
        f->n_te++;
        f->te = value;
    }
    return MHD_YES;
}

/* The body's framing, refused (400) when two headers could disagree on where the body
 * ends: libmicrohttpd takes the first of two Content-Length headers, and a proxy in
 * front might take the other. */
static int check_framing(mtd_req *rq, mtd_resp *rs, mtd_framing *fr)
{
    framing_scan f = {0};
    MHD_get_connection_values(rq->conn, MHD_HEADER_KIND, scan_header, &f);
    memset(fr, 0, sizeof *fr);
    if (f.n_len > 1 || f.n_te > 1) {
        mtd_resp_error(rs, 400, "bad_framing", "more than one %s header",
                       f.n_len > 1 ? "Content-Length" : "Transfer-Encoding");
        return MTD_EINVAL;
    }
    if (f.n_len && f.n_te) {
        mtd_resp_error(rs, 400, "bad_framing", "both Content-Length and Transfer-Encoding");
        return MTD_EINVAL;
    }
    if (f.n_te && strcasecmp(f.te, "chunked") != 0) {
        mtd_resp_error(rs, 400, "bad_framing", "Transfer-Encoding must be chunked");
        return MTD_EINVAL;
    }
    char *end;
    fr->chunked = f.n_te;
    if (f.n_len) { /* libmicrohttpd has refused what is not digits */
        fr->length = strtoull(f.len, &end, 10);
        if (*end || !isdigit((unsigned char)f.len[0])) {
            mtd_resp_error(rs, 400, "bad_framing", "Content-Length is not a number");
            return MTD_EINVAL;
        }
    }
    return 0;
}

static void client_ip(struct MHD_Connection *conn, char *out, size_t len)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    snprintf(out, len, "?");
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)len);
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)len);
}

/* Bytes the request's body holds now, and that much kept reserved from the budget:
 * -1 when the budget has no room for more. */
static int account(mtd_server *s, req_ctx *x)
{
    size_t now = x->rq.body.cap + (x->rq.batch ? mtd_batch_memory(x->rq.batch) : 0);
    if (now <= x->held)
        return 0;
    if (mtd_body_reserve(s->c, now - x->held) != 0)
        return -1;
    x->held = now;
    return 0;
}

/* The request head has arrived: everything that can be decided from it is decided
 * now, and a refusal is answered before a byte of the body is read (libmicrohttpd then
 * closes the connection instead of reading the rest). */
static int admit(mtd_server *s, req_ctx *x, mtd_resp *rs)
{
    mtd_framing fr;
    if (x->bad_uri) {
        mtd_resp_error(rs, 400, "bad_path", "the request target holds a control character or NUL");
        return -1;
    }
    if (check_framing(&x->rq, rs, &fr) != 0 || mtd_route_admit(s->c, &x->rq, rs, &fr) != 0)
        return -1;
    const mtd_route_def *d = x->rq.def;
    if (d->body == MTD_BODY_BATCH &&
        mtd_batch_refuse_early(s->c, &x->rs, mtd_ingestq_wait_ns(s->ingest)) != 0) {
        /* read to its end, not decompressed: answered then on the same connection (a
         * refusal from the head closes it, and the device's retry opens a new one) */
        x->early = 1;
        mtd_buf_init(&x->rq.body, 1);
        return 0;
    }
    if (d->body == MTD_BODY_BATCH) {
        mtd_batch_init(&x->batch);
        x->rq.batch = &x->batch;
    }
    mtd_buf_init(&x->rq.body, d->body == MTD_BODY_BUFFER ? d->max_body : 1);
    /* what the head announces is reserved at once: a budget without room answers now */
    size_t want = fr.length < d->max_body ? (size_t)fr.length : d->max_body;
    if (want && mtd_body_reserve(s->c, want) != 0) {
        rs->retry_after = 2;
        mtd_metrics_shed(&s->c->metrics, "body_budget");
        mtd_resp_error(rs, 503, "busy", "the collector holds as many request bodies as it may; retry");
        return -1;
    }
    x->held = want;
    return 0;
}

static mtd_conn *conn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    mtd_server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        char ip[48];
        client_ip(conn, ip, sizeof ip);
        *socket_context = ci ? mtd_conns_opened(s->conns, ci->connect_fd, ip) : NULL;
    } else {
        mtd_conns_closed(s->conns, *socket_context);
        *socket_context = NULL;
    }
}

static void take_body(mtd_server *s, req_ctx *x, const char *data, size_t n)
{
    x->in_bytes += n;
    if (x->over_budget || x->too_big || x->early)
        return; /* dropped unread: the answer is decided */
    if (x->rq.batch)
        mtd_batch_feed(x->rq.batch, (const uint8_t *)data, n); /* its error waits for the end */
    else if (mtd_buf_append(&x->rq.body, data, n) != 0)
        x->too_big = 1;
    if (account(s, x) != 0)
        x->over_budget = 1;
}

static void respond(mtd_server *s, req_ctx *x, mtd_resp *rs)
{
    if (x->over_budget) {
        rs->retry_after = 2;
        mtd_metrics_shed(&s->c->metrics, "body_budget");
        mtd_resp_error(rs, 503, "busy", "the collector holds as many request bodies as it may; retry");
    } else if (x->too_big) {
        mtd_resp_error(rs, 413, "too_large", "request body over the %zu bytes %s %s accepts",
                       x->rq.def->max_body, x->rq.method, x->rq.def->path);
    } else {
        mtd_route_run(s->c, &x->rq, rs);
    }
}

/* On an ingest thread: the handler, then the connection resumed, which calls
 * on_request again to send the answer. Nothing touches x after the resume: the
 * connection may complete (and free x) at once. */
static void run_queued(mtd_ingestq_job *job)
{
    req_ctx *x = (req_ctx *)((char *)job - offsetof(req_ctx, job));
    mtd_route_run(x->s->c, &x->rq, &x->rs);
    mtd_batch_leave(x->s->c, &x->rq);
    MHD_resume_connection(x->rq.conn);
}

/* A batch: admitted (1), its connection is suspended and the batch queued for an
 * ingest thread, so this HTTP thread goes on reading other connections instead of
 * sleeping in a commit; refused (0), the answer (429) is in rs. */
static int queue_request(mtd_server *s, req_ctx *x, mtd_resp *rs)
{
    if (x->over_budget || x->too_big || x->rq.def->body != MTD_BODY_BATCH)
        return 0;
    if (mtd_batch_enter(s->c, &x->rq, rs, mtd_ingestq_wait_ns(s->ingest)) != 0)
        return 0;
    x->s = s;
    x->queued = 1;
    x->job.run = run_queued;
    MHD_suspend_connection(x->rq.conn);
    mtd_ingestq_push(s->ingest, &x->job);
    return 1;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **con_cls)
{
    mtd_server *s = cls;
    req_ctx *x = *con_cls;
    if (!x)
        return MHD_NO;
    mtd_resp rs = {0};
    if (!x->begun) {
        x->begun = 1;
        x->rq.method = method;
        x->rq.path = url;
        x->rq.conn = conn;
        client_ip(conn, x->rq.ip, sizeof x->rq.ip);
        __atomic_add_fetch(&s->active, 1, __ATOMIC_SEQ_CST);
        /* the head is here: the head deadline is over, and admission (a store read,
         * which may wait behind a commit) is our time, not the client's */
        mtd_conns_phase(s->conns, conn_of(conn), MTD_CONN_WORK);
        if (admit(s, x, &rs) == 0) { /* the body, if any, must now come in time */
            if (x->rq.tn || x->rq.operator)
                mtd_conns_authenticated(s->conns, conn_of(conn));
            if (x->rq.def->body != MTD_BODY_NONE)
                mtd_conns_phase(s->conns, conn_of(conn), MTD_CONN_BODY);
            return MHD_YES;
        }
        x->refused = 1; /* answered from the head; the body is never read */
    } else if (*upload_size) {
        take_body(s, x, upload_data, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    } else if (x->queued || x->early) { /* resumed: the ingest thread made the answer;
                                          * or refused from the head, the body now read */
        rs = x->rs;
        memset(&x->rs, 0, sizeof x->rs);
    } else {
        mtd_conns_phase(s->conns, conn_of(conn), MTD_CONN_WORK);
        if (queue_request(s, x, &rs))
            return MHD_YES; /* x is the ingest thread's until it resumes the connection */
        if (!rs.status)
            respond(s, x, &rs);
    }
    if (!rs.status)
        mtd_resp_error(&rs, 500, "internal", "no response");
    if (!rs.stream)
        store_down_answer(s, &rs);
    enum MHD_Result r = send_resp(conn, &rs);
    finish(s, x, &rs);
    json_decref(rs.json);
    free(rs.redirect);
    return r;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    req_ctx *x = *con_cls;
    mtd_server *s = cls;
    if (!x)
        return;
    if (x->begun)
        __atomic_sub_fetch(&s->active, 1, __ATOMIC_SEQ_CST);
    mtd_conns_phase(s->conns, conn_of(conn), MTD_CONN_HEAD); /* kept alive: the next head is due */
    if (x->rq.tn)
        mtd_tenants_put(s->c->tenants, x->rq.tn);
    if (x->rq.batch)
        mtd_batch_free(x->rq.batch);
    mtd_buf_free(&x->rq.body);
    json_decref(x->rs.json); /* an answer made but never sent (the daemon stopping) */
    free(x->rs.text);
    free(x->rs.redirect);
    mtd_body_release(s->c, x->held);
    free(x);
    *con_cls = NULL;
}

void mtd_metrics_render_front(mtd_collector *c, mtd_buf *out)
{
    mtd_buf_printf(out, "# HELP mtd_body_bytes_held Bytes request bodies hold now, of the budget.\n"
                        "# TYPE mtd_body_bytes_held gauge\nmtd_body_bytes_held %zu\n"
                        "# HELP mtd_body_bytes_budget Bytes request bodies may hold at once.\n"
                        "# TYPE mtd_body_bytes_budget gauge\nmtd_body_bytes_budget %zu\n",
                   __atomic_load_n(&c->body_held, __ATOMIC_RELAXED), c->body_budget);
    mtd_tenants_counts n;
    mtd_tenants_stats(c->tenants, &n);
    mtd_buf_printf(out, "# HELP mtd_stores_open Tenant stores open now.\n"
                        "# TYPE mtd_stores_open gauge\nmtd_stores_open %u\n"
                        "# HELP mtd_stores_max_open Tenant stores that may be open at once"
                        " (--max-open-stores).\n# TYPE mtd_stores_max_open gauge\nmtd_stores_max_open %u\n"
                        "# HELP mtd_store_opens_total Tenant stores opened since the start.\n"
                        "# TYPE mtd_store_opens_total counter\nmtd_store_opens_total %llu\n"
                        "# HELP mtd_store_evictions_total Idle tenant stores closed to open another"
                        " (least recently used first).\n# TYPE mtd_store_evictions_total counter\n"
                        "mtd_store_evictions_total %llu\n"
                        "# HELP mtd_store_checkpointer_threads Threads of the SQLite stores' shared"
                        " checkpointer pool.\n# TYPE mtd_store_checkpointer_threads gauge\n"
                        "mtd_store_checkpointer_threads %d\n",
                   n.open, n.max_open, (unsigned long long)n.opens, (unsigned long long)n.evictions,
                   mtd_store_checkpointer_threads());
    mtd_process_render(out);
    mtd_guard_render(c->guard, out);
    mtd_signin_render(c->signin, out);
    if (c->server)
        mtd_server_render(c->server, out);
}

void mtd_server_render(mtd_server *s, mtd_buf *out)
{
    unsigned open, pending;
    mtd_conns_count(s->conns, &open, &pending);
    mtd_buf_printf(out, "# HELP mtd_connections_open Connections open now.\n"
                        "# TYPE mtd_connections_open gauge\nmtd_connections_open %u\n"
                        "# HELP mtd_connections_waiting_for_head Connections whose request head has"
                        " not arrived yet.\n# TYPE mtd_connections_waiting_for_head gauge\n"
                        "mtd_connections_waiting_for_head %u\n", open, pending);
    if (s->ingest)
        mtd_buf_printf(out, "# HELP mtd_ingest_queued Batches admitted and waiting for an ingest thread.\n"
                            "# TYPE mtd_ingest_queued gauge\nmtd_ingest_queued %u\n"
                            "# HELP mtd_ingest_queue_wait_seconds How long the oldest of them has waited"
                            " (past %.1f s new batches are answered 429).\n"
                            "# TYPE mtd_ingest_queue_wait_seconds gauge\nmtd_ingest_queue_wait_seconds %.3f\n",
                       mtd_ingestq_waiting(s->ingest), MTD_BATCH_QUEUE_WAIT_MS / 1000.0,
                       (double)mtd_ingestq_wait_ns(s->ingest) / 1e9);
}

/* Parses "ADDR:PORT" / "[ADDR]:PORT" into a socket address. */
static int parse_listen(const char *l, struct sockaddr_storage *ss, int *loopback)
{
    char host[128];
    const char *colon = strrchr(l, ':');
    if (!colon || colon == l || (size_t)(colon - l) >= sizeof host)
        return MTD_EINVAL;
    snprintf(host, sizeof host, "%.*s", (int)(colon - l), l);
    long long port;
    char why[64];
    if (mtd_parse_int(colon + 1, 0, 65535, &port, "port", why, sizeof why) != 0)
        return MTD_EINVAL;
    memset(ss, 0, sizeof *ss);
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        host[strlen(host) - 1] = 0;
        if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1)
            return MTD_EINVAL;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        *loopback = IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
        return 0;
    }
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    if (!strcmp(host, "localhost"))
        snprintf(host, sizeof host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
        return MTD_EINVAL;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    *loopback = (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    return 0;
}

/* libmicrohttpd's own messages, as log lines of ours (they went raw to stderr) */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    (void)cls;
    vsnprintf(line, sizeof line, fmt, ap);
    line[strcspn(line, "\n")] = 0;
    mtd_log(MTD_LOG_WARN, "http", "libmicrohttpd: %s", line);
}

static int load_tls(mtd_server *s, const mtd_server_opts *o, char *why, size_t wl)
{
    size_t n;
    int r = mtd_file_read(o->tls_cert, 1 << 20, &s->cert, &n);
    if (r) {
        snprintf(why, wl, "--tls-cert %s: %s", o->tls_cert, mtd_strerror(r));
        return r;
    }
    if ((r = mtd_file_read(o->tls_key, 1 << 20, &s->key, &n)) != 0)
        snprintf(why, wl, "--tls-key %s: %s", o->tls_key, mtd_strerror(r));
    else
        r = mtd_listen_tls_check((char *)s->cert, o->tls_cert, (char *)s->key, o->tls_key, why, wl);
    return r;
}

int mtd_server_start(mtd_collector *c, const mtd_server_opts *o, mtd_server **out, char *why,
                     size_t whylen)
{
    struct sockaddr_storage ss;
    int loopback = 0;
    if (parse_listen(o->listen, &ss, &loopback) != 0) {
        snprintf(why, whylen, "--listen %s: expected ADDR:PORT, e.g. 127.0.0.1:8443", o->listen);
        return MTD_EINVAL;
    }
    int tls = o->tls_cert && o->tls_key;
    if ((o->tls_cert != NULL) != (o->tls_key != NULL)) {
        snprintf(why, whylen, "--tls-cert and --tls-key go together");
        return MTD_EINVAL;
    }
    if (!loopback && !tls) {
        snprintf(why, whylen, "--listen %s is not a loopback address: refusing to serve devices"
                              " without TLS (give --tls-cert and --tls-key)", o->listen);
        return MTD_EPERM;
    }
    mtd_server *s = calloc(1, sizeof *s);
    s->c = c;
    if ((tls && load_tls(s, o, why, whylen) != 0) || mtd_listen_check(&ss, o->listen, why, whylen) != 0) {
        mtd_server_stop(s);
        return MTD_EINVAL;
    }
    /* HTTP threads no longer sleep in batch commits (the ingest threads do), but an
     * enrollment, a tenant's creation or an admin report still runs on one: a few per
     * CPU. Ingest threads are more than CPUs: each sleeps while its batch is committed,
     * and the batches that wait together are committed together (mtd_store_ingest) */
    unsigned ncpu = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = o->threads ? o->threads : ncpu * 4 < 8 ? 8 : ncpu * 4 > 16 ? 16 : ncpu * 4;
    unsigned ingest = o->ingest_threads ? o->ingest_threads : MTD_SERVER_INGEST_THREADS;
    if (mtd_ingestq_start(ingest, &s->ingest) != 0) {
        snprintf(why, whylen, "cannot start %u ingest threads", ingest);
        mtd_server_stop(s);
        return MTD_EIO;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
                     MHD_ALLOW_SUSPEND_RESUME |
                     (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0) | (tls ? MHD_USE_TLS : 0);
    unsigned maxc = o->max_connections ? o->max_connections : 4000;
    mtd_conns_opts co = {.max_pending = maxc - maxc / 10, /* a tenth is kept for admitted requests */
                         .head_timeout_s = o->head_timeout ? o->head_timeout : 10,
                         .body_timeout_s = o->body_timeout ? o->body_timeout : 60,
                         .max_per_address = o->max_per_ip};
    if (mtd_conns_start(&co, &c->metrics, &s->conns) != 0) {
        snprintf(why, whylen, "cannot start the connection reaper");
        mtd_server_stop(s);
        return MTD_EIO;
    }
    /* The logger first: libmicrohttpd reports a problem with an option given before it
     * on stderr, and warns on every start when it is not first. */
    s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
                            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                            MHD_OPTION_THREAD_POOL_SIZE, threads < 1 ? 1 : threads,
                            MHD_OPTION_CONNECTION_TIMEOUT, o->conn_timeout ? o->conn_timeout : 30,
                            MHD_OPTION_CONNECTION_LIMIT, maxc,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32 * 1024,
                            MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                            MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
                            tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, s->cert,
                            MHD_OPTION_HTTPS_MEM_KEY, s->key, MHD_OPTION_END);
    if (!s->d) {
        snprintf(why, whylen, "cannot listen on %s (address in use, or bad TLS files)", o->listen);
        mtd_server_stop(s);
        return MTD_EIO;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    char host[128];
    snprintf(host, sizeof host, "%.*s", (int)(strrchr(o->listen, ':') - o->listen), o->listen);
    snprintf(s->url, sizeof s->url, "%s://%s:%u", tls ? "https" : "http", host,
             di ? di->port : 0);
    c->server = s;
    *out = s;
    return 0;
}

const char *mtd_server_url(const mtd_server *s)
{
    return s->url;
}

/* Graceful stop: stop accepting, give requests in flight up to 10 s to finish (idle
 * keep-alive connections are not waited for), then join the pool. The ingest threads
 * finish every batch queued before the daemon stops: libmicrohttpd must not stop with
 * a connection suspended, and each batch is answered only once it is durable (one
 * whose answer the stop cuts off is sent again by its device, and replayed). */
void mtd_server_stop(mtd_server *s)
{
    if (!s)
        return;
    if (s->c->server == s)
        s->c->server = NULL;
    if (s->d) {
        MHD_socket ls = MHD_quiesce_daemon(s->d);
        if (ls != MHD_INVALID_SOCKET)
            close(ls);
        for (int i = 0; i < 100 && __atomic_load_n(&s->active, __ATOMIC_SEQ_CST) > 0; i++)
            usleep(100 * 1000);
        mtd_ingestq_stop(s->ingest);
        s->ingest = NULL;
        MHD_stop_daemon(s->d);
    }
    mtd_ingestq_stop(s->ingest);
    mtd_conns_stop(s->conns);
    free(s->cert);
    free(s->key);
    free(s);
}
