/* mtd_store_pg: the PostgreSQL backend's cluster: a bounded pool of connections that
 * every tenant of this collector shares, the query helpers and their metrics.
 *
 * Several collectors share one cluster; each keeps at most `pool` connections, so the
 * cluster sees at most collectors x pool. A caller waits up to 5 s for a connection,
 * then gets MTD_EBUSY; while the database cannot be reached every call gets
 * MTD_EUNAVAIL at once. The collector answers both 503 with Retry-After: the agent
 * keeps its spool and retries. A connection the server closed (it restarted, failed
 * over) is noticed when it is next lent out and made again then, so the collector
 * recovers by itself once the database is back; while it is down, one attempt to
 * connect is made per FAIL_FAST_MS, not one per request. */
#include "store/mtd_store_pg_int.h"
#include "common/mtd_err.h"
#include "common/mtd_log.h"
#include "common/mtd_util.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ACQUIRE_WAIT_S 5
#define FAIL_FAST_MS 250

/* Upper bounds (seconds) of the query latency histogram. */
static const double lat_bounds[MTD_PG_LAT_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                      0.025, 0.1, 0.5, 1, 5};

/* Server notices ("relation already exists, skipping") are not for the log. */
static void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

/* The statements prepared on k are gone (its connection closed, or deallocated). */
static void forget_prepared(mtd_pg_conn *k)
{
    for (int i = 0; i < MTD_PG_PREPARED; i++) {
        free(k->prep[i]);
        k->prep[i] = NULL;
    }
}

static void drop_conn(mtd_pg_conn *k)
{
    PQfinish(k->c);
    k->c = NULL;
    forget_prepared(k);
}

static int connect_one(mtd_store_cluster *cl, mtd_pg_conn *k)
{
    forget_prepared(k);
    /* the URL comes last: what it says overrides these defaults */
    const char *kw[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *val[] = {"5", "mtd-collector", cl->conninfo, NULL};
    k->c = PQconnectdbParams(kw, val, 1);
    k->tenant[0] = 0;
    int ok = k->c && PQstatus(k->c) == CONNECTION_OK;
    if (ok) {
        PQsetNoticeProcessor(k->c, quiet, NULL);
        /* a batch key held by another collector's open transaction waits for it; a
         * collector that vanished without closing its socket must not hold it forever */
        PGresult *r = PQexec(k->c, "SET lock_timeout = '30s'; SET client_min_messages = warning");
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
    }
    pthread_mutex_lock(&cl->mu);
    cl->connects++;
    if (!ok) {
        cl->connect_failures++;
        cl->down_at_ns = mtd_monotonic_ns();
        mtd_strlcpy(cl->last_error, k->c ? PQerrorMessage(k->c) : "out of memory", sizeof cl->last_error);
        cl->last_error[strcspn(cl->last_error, "\n")] = 0;
    }
    int was_down = cl->down;
    cl->down = !ok;
    pthread_mutex_unlock(&cl->mu);
    if (!ok) {
        if (!was_down)
            mtd_log(MTD_LOG_ERROR, "store", "cannot connect to PostgreSQL: %s",
                    k->c ? PQerrorMessage(k->c) : "out of memory");
        drop_conn(k);
        return MTD_EUNAVAIL;
    }
    if (was_down)
        mtd_log(MTD_LOG_INFO, "store", "connected to PostgreSQL again");
    return 0;
}

/* SET ROLE and search_path to the tenant's: its role reaches its own schema only. The
 * statements prepared for the tenant before go (mtd_pg_conn says why). */
static int set_tenant(mtd_store_cluster *cl, mtd_pg_conn *k, const char *tenant)
{
    char sql[160];
    forget_prepared(k);
    if (tenant)
        snprintf(sql, sizeof sql, "DEALLOCATE ALL; SET ROLE mtd_t_%s; SET search_path TO t_%s", tenant, tenant);
    else
        snprintf(sql, sizeof sql, "DEALLOCATE ALL; RESET ROLE; SET search_path TO mtd");
    int r = mtd_pg_query(cl, k, sql, 0, NULL, NULL);
    if (r == 0)
        snprintf(k->tenant, sizeof k->tenant, "%s", tenant ? tenant : "");
    else
        k->tenant[0] = '?'; /* unknown: set it again next time */
    return r;
}

static int deadline_passed(const struct timespec *dl)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return now.tv_sec > dl->tv_sec || (now.tv_sec == dl->tv_sec && now.tv_nsec >= dl->tv_nsec);
}

/* A free connection, preferring one already set to the tenant, then a connected one
 * (caller holds cl->mu). */
static mtd_pg_conn *pick(mtd_store_cluster *cl, const char *tenant)
{
    mtd_pg_conn *any = NULL, *open = NULL;
    for (int i = 0; i < cl->n; i++) {
        mtd_pg_conn *k = &cl->conns[i];
        if (k->busy)
            continue;
        if (k->c && !strcmp(k->tenant, tenant ? tenant : ""))
            return k;
        if (k->c && !open)
            open = k;
        if (!any)
            any = k;
    }
    return open ? open : any;
}

/* Whether an idle connection is no longer usable: the server closed it. An idle
 * connection has nothing to read, so a readable socket is the news: the termination
 * message a shutting-down server sends (which libpq takes in without changing the
 * connection's status), then the end of file that does. */
static int broken(PGconn *c)
{
    if (PQstatus(c) != CONNECTION_OK || PQsocket(c) < 0)
        return 1;
    for (int i = 0; i < 4; i++) {
        struct pollfd p = {.fd = PQsocket(c), .events = POLLIN};
        if (poll(&p, 1, 0) <= 0)
            return 0;
        if (!PQconsumeInput(c) || PQstatus(c) != CONNECTION_OK)
            return 1;
    }
    return 1; /* still talking unasked: not a connection to lend */
}

/* The database was found unreachable less than FAIL_FAST_MS ago: during an outage a
 * request is answered at once instead of each trying to connect (up to the 5 s
 * connect_timeout on a failed-over address). */
static int recently_down(mtd_store_cluster *cl)
{
    pthread_mutex_lock(&cl->mu);
    int r = cl->down && mtd_monotonic_ns() - cl->down_at_ns < (int64_t)FAIL_FAST_MS * 1000000;
    pthread_mutex_unlock(&cl->mu);
    return r;
}

static void count_unavailable(mtd_store_cluster *cl)
{
    pthread_mutex_lock(&cl->mu);
    cl->unavailable++;
    pthread_mutex_unlock(&cl->mu);
}

int mtd_pg_acquire(mtd_store_cluster *cl, const char *tenant, mtd_pg_conn **out)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += ACQUIRE_WAIT_S;
    pthread_mutex_lock(&cl->mu);
    mtd_pg_conn *k;
    int waited = 0;
    while ((k = pick(cl, tenant)) == NULL) {
        if (!waited++)
            cl->waits++;
        cl->waiting++;
        int rc = pthread_cond_timedwait(&cl->cv, &cl->mu, &dl);
        cl->waiting--;
        if (rc == ETIMEDOUT || deadline_passed(&dl)) {
            k = pick(cl, tenant);
            if (k)
                break;
            cl->timeouts++;
            pthread_mutex_unlock(&cl->mu);
            return MTD_EBUSY;
        }
    }
    k->busy = 1;
    cl->in_use++;
    cl->acquired++;
    pthread_mutex_unlock(&cl->mu);
    int r = 0;
    if (k->c && broken(k->c)) {
        drop_conn(k);
        pthread_mutex_lock(&cl->mu);
        cl->reconnects++;
        pthread_mutex_unlock(&cl->mu);
    }
    if (!k->c)
        r = recently_down(cl) ? MTD_EUNAVAIL : connect_one(cl, k);
    if (r == 0 && strcmp(k->tenant, tenant ? tenant : "") != 0)
        r = set_tenant(cl, k, tenant);
    if (r) {
        mtd_pg_release(cl, k);
        if (r == MTD_EUNAVAIL)
            count_unavailable(cl);
        return r;
    }
    *out = k;
    return 0;
}

void mtd_pg_release(mtd_store_cluster *cl, mtd_pg_conn *k)
{
    if (k->c && PQstatus(k->c) == CONNECTION_OK && PQtransactionStatus(k->c) != PQTRANS_IDLE) {
        PGresult *r = PQexec(k->c, "ROLLBACK");
        PQclear(r);
    }
    if (k->c && (PQstatus(k->c) != CONNECTION_OK || PQtransactionStatus(k->c) != PQTRANS_IDLE))
        drop_conn(k);
    pthread_mutex_lock(&cl->mu);
    k->busy = 0;
    cl->in_use--;
    pthread_cond_signal(&cl->cv);
    pthread_mutex_unlock(&cl->mu);
}

/* A failed query's code: the database gone (the connection, the server shutting down
 * or starting: MTD_EUNAVAIL), a state worth retrying (serialization, deadlock, lock
 * or statement timeout, too many connections: MTD_EBUSY), or a failure (MTD_EIO). */
static int failure_code(PGconn *c, const char *state)
{
    static const char *const gone[] = {"57P01", "57P02", "57P03", "58000", NULL};
    static const char *const retry[] = {"40001", "40P01", "55P03", "53300", "57014", NULL};
    if (!state || PQstatus(c) != CONNECTION_OK || !strncmp(state, "08", 2))
        return MTD_EUNAVAIL; /* no SQLSTATE: libpq's own failure, the connection */
    for (int i = 0; gone[i]; i++)
        if (!strcmp(state, gone[i]))
            return MTD_EUNAVAIL;
    for (int i = 0; retry[i]; i++)
        if (!strcmp(state, retry[i]))
            return MTD_EBUSY;
    return MTD_EIO;
}

/* A connection broke under a query: the database is taken as down until a connection
 * is made again (the collector's 5xx answers become 503 meanwhile). */
static void mark_down(mtd_store_cluster *cl)
{
    pthread_mutex_lock(&cl->mu);
    cl->down = 1;
    cl->unavailable++;
    pthread_mutex_unlock(&cl->mu);
}

static void count_query(mtd_store_cluster *cl, double s, int failed)
{
    pthread_mutex_lock(&cl->mu);
    int b = 0;
    while (b < MTD_PG_LAT_BUCKETS && s > lat_bounds[b])
        b++;
    cl->lat_bucket[b]++;
    cl->lat_sum += s;
    cl->lat_count++;
    cl->errors += failed != 0;
    pthread_mutex_unlock(&cl->mu);
}

/* A statement's answer r: its code, counted, and *res (or cleared). */
static int answer(mtd_store_cluster *cl, mtd_pg_conn *k, const char *sql, PGresult *r, int64_t t0,
                  PGresult **res)
{
    ExecStatusType st = PQresultStatus(r);
    int rc = 0;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
        rc = state && !strcmp(state, "23505") ? MTD_EEXIST : failure_code(k->c, state);
        if (rc == MTD_EUNAVAIL)
            mark_down(cl);
        if (rc != MTD_EEXIST)
            mtd_log(rc == MTD_EIO ? MTD_LOG_ERROR : MTD_LOG_WARN, "store", "PostgreSQL %s: %.60s...: %s",
                    state ? state : "connection", sql, PQerrorMessage(k->c));
        PQclear(r);
        r = NULL;
    }
    count_query(cl, (double)(mtd_monotonic_ns() - t0) / 1e9, rc != 0 && rc != MTD_EEXIST);
    if (res)
        *res = r;
    else
        PQclear(r);
    return rc;
}

int mtd_pg_query(mtd_store_cluster *cl, mtd_pg_conn *k, const char *sql, int n,
                 const char *const *p, PGresult **res)
{
    int64_t t0 = mtd_monotonic_ns();
    PGresult *r = n ? PQexecParams(k->c, sql, n, NULL, p, NULL, NULL, 0) : PQexec(k->c, sql);
    return answer(cl, k, sql, r, t0, res);
}

/* The slot of sql among k's prepared statements, or -1 with *free_slot one to prepare
 * it in (-1: none left, the statement then runs unprepared). */
static int prepared_slot(const mtd_pg_conn *k, const char *sql, int *free_slot)
{
    *free_slot = -1;
    for (int i = 0; i < MTD_PG_PREPARED; i++) {
        if (k->prep[i] && !strcmp(k->prep[i], sql))
            return i;
        if (!k->prep[i] && *free_slot < 0)
            *free_slot = i;
    }
    return -1;
}

static void prepared_name(int slot, char *name, size_t len)
{
    snprintf(name, len, "mtd_%d", slot);
}

/* One answer of a pipeline and the NULL that ends it. */
static PGresult *pipe_next(PGconn *c)
{
    PGresult *r = PQgetResult(c);
    if (r && PQresultStatus(r) != PGRES_PIPELINE_SYNC)
        while (PQgetResult(c)) /* none comes: one statement, one answer */
            ;
    return r;
}

/* Not prepared yet: its Parse and its run go out in one pipeline, one round trip as
 * for an unnamed statement. The statement counts as prepared once its Parse is done. */
static int prepare_and_run(mtd_store_cluster *cl, mtd_pg_conn *k, int slot, const char *sql, int n,
                           const char *const *p, const int *lens, const int *fmts, PGresult **res)
{
    int64_t t0 = mtd_monotonic_ns();
    char name[16];
    prepared_name(slot, name, sizeof name);
    if (!(k->prep[slot] = strdup(sql)))
        return MTD_ENOMEM;
    PGresult *parsed = NULL, *r = NULL, *sync = NULL;
    if (PQenterPipelineMode(k->c) && PQsendPrepare(k->c, name, sql, n, NULL) &&
        PQsendQueryPrepared(k->c, name, n, p, lens, fmts, 0) && PQpipelineSync(k->c) &&
        (parsed = pipe_next(k->c)) != NULL && (r = pipe_next(k->c)) != NULL)
        sync = PQgetResult(k->c);
    int ok = sync && PQresultStatus(sync) == PGRES_PIPELINE_SYNC && PQexitPipelineMode(k->c);
    PQclear(sync);
    if (PQresultStatus(parsed) != PGRES_COMMAND_OK) { /* its failure is the answer */
        free(k->prep[slot]);
        k->prep[slot] = NULL;
        PQclear(r);
        r = parsed;
    } else {
        PQclear(parsed);
    }
    if (!ok) { /* answers out of step: not a connection to lend again */
        int rc = answer(cl, k, sql, r, t0, res);
        if (res && rc == 0)
            PQclear(*res);
        drop_conn(k);
        return rc ? rc : MTD_EIO;
    }
    return answer(cl, k, sql, r, t0, res);
}

int mtd_pg_prepared(mtd_store_cluster *cl, mtd_pg_conn *k, const char *sql, int n, const char *const *p,
                    const int *lens, const int *fmts, PGresult **res)
{
    int free_slot, slot = prepared_slot(k, sql, &free_slot);
    int64_t t0 = mtd_monotonic_ns();
    if (slot < 0 && free_slot < 0)
        return answer(cl, k, sql, PQexecParams(k->c, sql, n, NULL, p, lens, fmts, 0), t0, res);
    if (slot < 0)
        return prepare_and_run(cl, k, free_slot, sql, n, p, lens, fmts, res);
    char name[16];
    prepared_name(slot, name, sizeof name);
    return answer(cl, k, sql, PQexecPrepared(k->c, name, n, p, lens, fmts, 0), t0, res);
}

/* A pipeline (libpq's pipeline mode): the statements go out without waiting for each
 * one's answer, and the answers are read at the end, so a transaction of several
 * statements costs one round trip. After the first failure the server skips the rest
 * (PGRES_PIPELINE_ABORTED); that failure's code is what mtd_pg_pipe_end returns. */
int mtd_pg_pipe_begin(mtd_pg_conn *k)
{
    k->npipe = 0;
    return PQenterPipelineMode(k->c) ? 0 : MTD_EIO;
}

/* Sends sql prepared (its Parse first if it is not yet: prep[slot] is set now, and
 * unset again at the end if that Parse failed or was skipped); 1 if sent. */
static int pipe_send_prepared(mtd_pg_conn *k, const char *sql, int n, const char *const *p, const int *lens,
                              const int *fmts)
{
    int free_slot, slot = prepared_slot(k, sql, &free_slot);
    if (k->npipe + 2 > MTD_PG_PIPE_MAX || (slot < 0 && (free_slot < 0 || !(k->prep[free_slot] = strdup(sql))))) {
        int sent = PQsendQueryParams(k->c, sql, n, NULL, p, lens, fmts, 0);
        if (sent && k->npipe < MTD_PG_PIPE_MAX)
            k->pipe_prep[k->npipe] = -1;
        k->npipe += sent;
        return sent;
    }
    char name[16];
    if (slot < 0) {
        slot = free_slot;
        prepared_name(slot, name, sizeof name);
        if (!PQsendPrepare(k->c, name, sql, n, NULL)) {
            free(k->prep[slot]);
            k->prep[slot] = NULL;
            return 0;
        }
        k->pipe_prep[k->npipe++] = (signed char)slot;
    }
    prepared_name(slot, name, sizeof name);
    if (!PQsendQueryPrepared(k->c, name, n, p, lens, fmts, 0))
        return 0;
    k->pipe_prep[k->npipe++] = -1;
    return 1;
}

int mtd_pg_pipe_send(mtd_store_cluster *cl, mtd_pg_conn *k, const char *sql, int n, const char *const *p,
                     const int *lens, const int *fmts)
{
    if (pipe_send_prepared(k, sql, n, p, lens, fmts))
        return 0;
    int rc = failure_code(k->c, NULL);
    if (rc == MTD_EUNAVAIL)
        mark_down(cl);
    mtd_log(MTD_LOG_WARN, "store", "PostgreSQL: %.60s...: %s", sql, PQerrorMessage(k->c));
    return rc;
}

/* One statement's results (one, then NULL); the first failure's code into *rc. A
 * Parse that did not succeed leaves its statement unprepared. */
static void pipe_result(mtd_store_cluster *cl, mtd_pg_conn *k, int i, int *rc)
{
    PGresult *r;
    while ((r = PQgetResult(k->c)) != NULL) {
        ExecStatusType st = PQresultStatus(r);
        int slot = i < MTD_PG_PIPE_MAX ? k->pipe_prep[i] : -1;
        if (slot >= 0 && st != PGRES_COMMAND_OK) {
            free(k->prep[slot]);
            k->prep[slot] = NULL;
        }
        if (*rc == 0 && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_PIPELINE_ABORTED) {
            const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
            *rc = state && !strcmp(state, "23505") ? MTD_EEXIST : failure_code(k->c, state);
            if (*rc == MTD_EUNAVAIL)
                mark_down(cl);
            if (*rc != MTD_EEXIST)
                mtd_log(*rc == MTD_EIO ? MTD_LOG_ERROR : MTD_LOG_WARN, "store", "PostgreSQL %s in a pipeline: %s",
                        state ? state : "connection", PQerrorMessage(k->c));
        }
        PQclear(r);
        if (PQstatus(k->c) != CONNECTION_OK)
            break;
    }
}

int mtd_pg_pipe_end(mtd_store_cluster *cl, mtd_pg_conn *k, int64_t t0)
{
    int rc = PQpipelineSync(k->c) ? 0 : MTD_EUNAVAIL;
    for (int i = 0; i < k->npipe && PQstatus(k->c) == CONNECTION_OK; i++)
        pipe_result(cl, k, i, &rc);
    PGresult *r = PQstatus(k->c) == CONNECTION_OK ? PQgetResult(k->c) : NULL;
    int synced = r && PQresultStatus(r) == PGRES_PIPELINE_SYNC;
    PQclear(r);
    if (!synced || !PQexitPipelineMode(k->c)) { /* answers out of step: not a connection to lend again */
        if (rc == 0) {
            rc = PQstatus(k->c) == CONNECTION_OK ? MTD_EIO : MTD_EUNAVAIL;
            if (rc == MTD_EUNAVAIL)
                mark_down(cl);
        }
        drop_conn(k);
    }
    k->npipe = 0;
    count_query(cl, (double)(mtd_monotonic_ns() - t0) / 1e9, rc != 0 && rc != MTD_EEXIST);
    return rc;
}

int mtd_pg_run(mtd_pg_store *s, const char *sql, int n, const char *const *p, PGresult **res)
{
    mtd_pg_conn *k;
    int r = mtd_pg_acquire(s->cl, s->id, &k);
    if (r)
        return r;
    r = mtd_pg_query(s->cl, k, sql, n, p, res);
    mtd_pg_release(s->cl, k);
    return r;
}

int mtd_pg_run_prepared(mtd_pg_store *s, const char *sql, int n, const char *const *p, PGresult **res)
{
    mtd_pg_conn *k;
    int r = mtd_pg_acquire(s->cl, s->id, &k);
    if (r)
        return r;
    r = mtd_pg_prepared(s->cl, k, sql, n, p, NULL, NULL, res);
    mtd_pg_release(s->cl, k);
    return r;
}

int mtd_pg_exec(mtd_pg_store *s, const char *sql, int n, const char *const *p)
{
    PGresult *res;
    int r = mtd_pg_run(s, sql, n, p, &res);
    if (r)
        return r;
    int changed = atoi(PQcmdTuples(res));
    PQclear(res);
    return changed;
}

int mtd_pg_read(mtd_pg_store *s, const char *sql, const char *param, char *out, size_t len)
{
    PGresult *res;
    const char *p[] = {param};
    int r = mtd_pg_run(s, sql, param ? 1 : 0, p, &res);
    if (r)
        return r;
    if (PQntuples(res) < 1) {
        PQclear(res);
        return MTD_ENOENT;
    }
    mtd_strlcpy(out, PQgetisnull(res, 0, 0) ? "" : PQgetvalue(res, 0, 0), len);
    PQclear(res);
    return 0;
}

/* Type OIDs of pg_type.dat that come back as numbers. */
enum { OID_BOOL = 16, OID_INT8 = 20, OID_INT2 = 21, OID_INT4 = 23, OID_NUMERIC = 1700 };

/* One value as the API answers it, as column_value does on SQLite. */
static json_t *value(const PGresult *res, int row, int c, mtd_col_kind kind)
{
    if (PQgetisnull(res, row, c))
        return json_null();
    const char *v = PQgetvalue(res, row, c);
    Oid t = PQftype(res, c);
    if (t == OID_BOOL)
        return json_boolean(v[0] == 't');
    if (t == OID_INT8 || t == OID_INT2 || t == OID_INT4 || t == OID_NUMERIC) {
        char *end;
        errno = 0;
        long long i = strtoll(v, &end, 10);
        if (*end || errno)
            return json_real(strtod(v, NULL)); /* an average, say */
        if (kind == MTD_COL_TIME) {
            char tm[MTD_TIME_LEN];
            mtd_time_rfc3339((time_t)i, tm);
            return json_string(tm);
        }
        return kind == MTD_COL_BOOL ? json_boolean(i != 0) : json_integer(i);
    }
    if (kind == MTD_COL_LIST) {
        json_t *arr = json_loads(v, JSON_DECODE_ANY, NULL);
        if (json_is_array(arr))
            return arr;
        json_decref(arr);
    }
    return json_string(v);
}

json_t *mtd_pg_json(const PGresult *res)
{
    int nrow = PQntuples(res), ncol = PQnfields(res);
    mtd_col_kind kinds[128];
    for (int c = 0; c < ncol && c < 128; c++)
        kinds[c] = mtd_store_column_kind(PQfname(res, c));
    json_t *arr = json_array();
    for (int i = 0; i < nrow; i++) {
        json_t *o = json_object();
        for (int c = 0; c < ncol; c++) {
            json_t *v = value(res, i, c, c < 128 ? kinds[c] : MTD_COL_PLAIN);
            json_object_set_new(o, PQfname(res, c), v ? v : json_null());
        }
        json_array_append_new(arr, o);
    }
    return arr;
}

json_t *mtd_pg_report(mtd_pg_store *s, const char *sql, int n, const char *const *p, mtd_page *pg)
{
    char *paged = NULL;
    if (pg) { /* one row more than the page: whether it comes says whether more follow */
        size_t len = strlen(sql) + 64;
        if (!(paged = malloc(len)))
            return NULL;
        snprintf(paged, len, "%s LIMIT %lld OFFSET %lld", sql, (long long)pg->limit + 1,
                 (long long)pg->offset);
    }
    PGresult *res;
    int r = mtd_pg_run(s, paged ? paged : sql, n, p, &res);
    free(paged);
    if (r)
        return NULL;
    json_t *rows = mtd_pg_json(res);
    PQclear(res);
    if (pg) {
        pg->more = (int64_t)json_array_size(rows) > pg->limit;
        if (pg->more)
            json_array_remove(rows, json_array_size(rows) - 1);
    }
    return rows;
}

static json_t *pg_run_report(void *s, const char *sql, int n, const char *const *p)
{
    return mtd_pg_report(s, sql, n, p, NULL);
}

json_t *mtd_pg_report_keyed(mtd_pg_store *s, const char *sql, const mtd_keyset *ks, int n, const char *const *p,
                            mtd_page *pg)
{
    return mtd_keyset_report(sql, ks, n, p, pg, 1, pg_run_report, s);
}

int mtd_pg_cluster_new(const char *url, int pool, mtd_store_cluster **out)
{
    mtd_store_cluster *cl = calloc(1, sizeof *cl);
    if (!cl || !(cl->conninfo = strdup(url)) || !(cl->conns = calloc((size_t)pool, sizeof *cl->conns))) {
        if (cl)
            free(cl->conninfo);
        free(cl);
        return MTD_ENOMEM;
    }
    cl->n = pool;
    pthread_mutex_init(&cl->mu, NULL);
    pthread_cond_init(&cl->cv, NULL);
    *out = cl;
    return 0;
}

void mtd_store_pg_close(mtd_store_cluster *cl)
{
    if (!cl)
        return;
    for (int i = 0; i < cl->n; i++)
        drop_conn(&cl->conns[i]);
    pthread_mutex_destroy(&cl->mu);
    pthread_cond_destroy(&cl->cv);
    /* the URL may hold a password */
    explicit_bzero(cl->conninfo, strlen(cl->conninfo));
    free(cl->conninfo);
    free(cl->conns);
    free(cl);
}

int mtd_store_pg_down(mtd_store_cluster *cl)
{
    pthread_mutex_lock(&cl->mu);
    int d = cl->down;
    pthread_mutex_unlock(&cl->mu);
    return d;
}

/* Each tenant's tables and indexes, as mtd_store_bytes{tenant} (the SQLite backend's
 * files are counted by the collector's metrics, whose family these lines join). */
static void tenant_sizes(mtd_store_cluster *cl, mtd_buf *out)
{
    mtd_pg_conn *k;
    PGresult *res;
    if (mtd_pg_acquire(cl, NULL, &k) != 0)
        return;
    if (mtd_pg_query(cl, k, "SELECT substr(n.nspname, 3), sum(pg_total_relation_size(c.oid))"
                            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                            " JOIN mtd.tenants t ON n.nspname = 't_' || t.id"
                            " WHERE c.relkind = 'r' GROUP BY n.nspname ORDER BY 1", 0, NULL, &res) == 0) {
        for (int i = 0; i < PQntuples(res); i++)
            mtd_buf_printf(out, "mtd_store_bytes{tenant=\"%s\"} %s\n", PQgetvalue(res, i, 0),
                           PQgetvalue(res, i, 1));
        PQclear(res);
    }
    mtd_pg_release(cl, k);
}

void mtd_store_pg_metrics(mtd_store_cluster *cl, mtd_buf *out)
{
    tenant_sizes(cl, out);
    pthread_mutex_lock(&cl->mu);
    mtd_buf_printf(out, "# HELP mtd_store_pool_connections PostgreSQL connections this collector may hold.\n"
                        "# TYPE mtd_store_pool_connections gauge\nmtd_store_pool_connections %d\n"
                        "# HELP mtd_store_pool_in_use Connections lent out now.\n"
                        "# TYPE mtd_store_pool_in_use gauge\nmtd_store_pool_in_use %d\n"
                        "# HELP mtd_store_pool_waiting Callers waiting for a connection now.\n"
                        "# TYPE mtd_store_pool_waiting gauge\nmtd_store_pool_waiting %d\n"
                        "# TYPE mtd_store_pool_acquired_total counter\nmtd_store_pool_acquired_total %llu\n"
                        "# TYPE mtd_store_pool_waits_total counter\nmtd_store_pool_waits_total %llu\n"
                        "# HELP mtd_store_pool_timeouts_total Callers answered busy: no connection in 5 s.\n"
                        "# TYPE mtd_store_pool_timeouts_total counter\nmtd_store_pool_timeouts_total %llu\n"
                        "# TYPE mtd_store_connects_total counter\nmtd_store_connects_total %llu\n"
                        "# TYPE mtd_store_connect_failures_total counter\nmtd_store_connect_failures_total %llu\n"
                        "# HELP mtd_store_reconnects_total Pooled connections found closed by the server"
                        " and made again.\n"
                        "# TYPE mtd_store_reconnects_total counter\nmtd_store_reconnects_total %llu\n"
                        "# HELP mtd_store_unavailable_total Store calls answered \"database unavailable\" (503).\n"
                        "# TYPE mtd_store_unavailable_total counter\nmtd_store_unavailable_total %llu\n"
                        "# HELP mtd_store_up Whether PostgreSQL can be reached (0 from a failed connection"
                        " attempt or a broken connection until one is made again).\n"
                        "# TYPE mtd_store_up gauge\nmtd_store_up %d\n"
                        "# HELP mtd_store_query_errors_total Queries that failed (a repeated batch key is not one).\n"
                        "# TYPE mtd_store_query_errors_total counter\nmtd_store_query_errors_total %llu\n"
                        "# HELP mtd_store_query_seconds PostgreSQL query latency.\n"
                        "# TYPE mtd_store_query_seconds histogram\n",
                   cl->n, cl->in_use, cl->waiting, (unsigned long long)cl->acquired,
                   (unsigned long long)cl->waits, (unsigned long long)cl->timeouts,
                   (unsigned long long)cl->connects, (unsigned long long)cl->connect_failures,
                   (unsigned long long)cl->reconnects, (unsigned long long)cl->unavailable, !cl->down, (unsigned long long)cl->errors);
    uint64_t cum = 0;
    for (int b = 0; b < MTD_PG_LAT_BUCKETS; b++) {
        cum += cl->lat_bucket[b];
        mtd_buf_printf(out, "mtd_store_query_seconds_bucket{le=\"%g\"} %llu\n", lat_bounds[b],
                       (unsigned long long)cum);
    }
    cum += cl->lat_bucket[MTD_PG_LAT_BUCKETS];
    mtd_buf_printf(out, "mtd_store_query_seconds_bucket{le=\"+Inf\"} %llu\nmtd_store_query_seconds_sum %.6f\n"
                        "mtd_store_query_seconds_count %llu\n",
                   (unsigned long long)cum, cl->lat_sum, (unsigned long long)cl->lat_count);
    pthread_mutex_unlock(&cl->mu);
}
