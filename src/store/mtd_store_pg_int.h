/* mtd_store_pg_int: internals shared by the PostgreSQL backend's files (not a public
 * interface): the cluster (a bounded pool of connections), a tenant's handle, and the
 * query helpers.
 *
 * A connection is lent to one tenant at a time: before it runs a tenant's SQL it is
 * set to that tenant's role and schema (SET ROLE mtd_t_<id>; search_path t_<id>), and
 * kept so, so that the next call for the same tenant on it needs no round trip. The
 * role can reach its own schema only (mtd_store_pg_ddl.c), so a query run for one
 * tenant cannot read another's tables whatever its SQL says. */
#ifndef MTD_STORE_PG_INT_H
#define MTD_STORE_PG_INT_H

#include "store/mtd_store_group.h"
#include "store/mtd_store_int.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdint.h>

#define MTD_PG_LAT_BUCKETS 10

#define MTD_PG_PREPARED 32 /* statements prepared per connection, at most */
#define MTD_PG_PIPE_MAX 64 /* answers a pipeline keeps track of */

/* A pooled connection. The statements of the ingest path are prepared on it once
 * (named mtd_<i>, prep[i] their SQL) and then only bound and run: their parse and plan
 * were a third of the backend's CPU in bench_scale. Prepared statements belong to the
 * connection, not to a tenant, so they are deallocated whenever it is set to another
 * tenant (and lost with the connection): a statement never runs for a tenant other
 * than the one it was prepared for. */
typedef struct {
    PGconn *c;
    char tenant[24]; /* the tenant it is set to ("" none) */
    int busy;
    char *prep[MTD_PG_PREPARED];
    int npipe;                              /* answers the pipeline in progress awaits */
    signed char pipe_prep[MTD_PG_PIPE_MAX]; /* answer i is prep[pipe_prep[i]]'s Parse, or -1 */
} mtd_pg_conn;

struct mtd_store_cluster {
    char *conninfo;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    mtd_pg_conn *conns;
    int n, in_use, waiting;
    /* metrics (under mu) */
    uint64_t acquired, waits, timeouts, errors, connects, connect_failures;
    uint64_t reconnects;  /* pooled connections found broken at checkout and replaced */
    uint64_t unavailable; /* calls answered MTD_EUNAVAIL */
    uint64_t lat_bucket[MTD_PG_LAT_BUCKETS + 1];
    double lat_sum;
    uint64_t lat_count;
    int down;             /* the database could not be reached: the last connection
                             attempt failed, or a connection broke; a connection made
                             clears it */
    int64_t down_at_ns;   /* when the last attempt failed (monotonic) */
    char last_error[256]; /* libpq's words for it (no password: libpq never says it) */
};

/* A tenant's store on the cluster. */
typedef struct {
    mtd_store_hdr hdr;
    mtd_store_cluster *cl;
    char id[24];
    /* group commit (mtd_store_group.h) */
    mtd_store_group group;
} mtd_pg_store;

#define MTD_PG_DECL(ret, name, params, args) ret mtd_pg_##name params;
MTD_STORE_OPS(MTD_PG_DECL)
#undef MTD_PG_DECL
void mtd_pg_ingest_group(mtd_store *s, mtd_store_batch *head);
void mtd_pg_close(mtd_store *s);

static inline mtd_pg_store *mtd_pg_of(mtd_store *s) { return (mtd_pg_store *)(void *)s; }

/* A cluster object with its empty pool (mtd_store_pg_open connects and migrates). */
int mtd_pg_cluster_new(const char *url, int pool, mtd_store_cluster **out);

/* Lends a connection set to tenant (NULL: the collector's own role, no schema); waits
 * up to 5 s for one. MTD_EBUSY when none comes, MTD_EUNAVAIL when the database cannot
 * be reached. A pooled connection is checked at checkout (its socket polled): one the
 * server closed (a restart, a failover) is made again here, not found broken by the
 * caller's query. */
int mtd_pg_acquire(mtd_store_cluster *cl, const char *tenant, mtd_pg_conn **out);
/* Gives it back; one left inside a transaction is rolled back, a broken one closed. */
void mtd_pg_release(mtd_store_cluster *cl, mtd_pg_conn *k);

/* Runs sql with text parameters (NULL binds NULL). Returns 0 with *res (PQclear it;
 * res may be NULL to discard), or MTD_EEXIST (a unique key), MTD_EUNAVAIL (the
 * connection was lost, the server is starting or stopping: the database is not
 * there), MTD_EBUSY (a deadlock, serialization failure, lock or statement timeout, too
 * many connections: retry later), MTD_EIO. Counts its latency. */
int mtd_pg_query(mtd_store_cluster *cl, mtd_pg_conn *k, const char *sql, int n,
                 const char *const *p, PGresult **res);
/* mtd_pg_query for a statement run again and again (SQL of a fixed text, no values
 * in it): prepared on the connection at its first use (in the same round trip), then
 * only bound and run. Parameter i is p[i] in text, or lens[i] bytes in binary where
 * fmts[i] is 1 (lens and fmts NULL: all text). */
int mtd_pg_prepared(mtd_store_cluster *cl, mtd_pg_conn *k, const char *sql, int n, const char *const *p,
                    const int *lens, const int *fmts, PGresult **res);
/* A pipeline on k: begin, send each statement (parameters and preparing as
 * mtd_pg_prepared), end with when it began. End syncs, reads every answer and
 * returns the first failure's code as mtd_pg_query would (0 if none); the server
 * skipped every statement after it. A connection whose answers came out of step is
 * closed. One latency sample for the whole. */
int mtd_pg_pipe_begin(mtd_pg_conn *k);
int mtd_pg_pipe_send(mtd_store_cluster *cl, mtd_pg_conn *k, const char *sql, int n, const char *const *p,
                     const int *lens, const int *fmts);
int mtd_pg_pipe_end(mtd_store_cluster *cl, mtd_pg_conn *k, int64_t t0);
/* mtd_pg_query on a connection of the handle's tenant, acquired and released. */
int mtd_pg_run(mtd_pg_store *s, const char *sql, int n, const char *const *p, PGresult **res);
/* The same with mtd_pg_prepared: for the statements every batch makes. */
int mtd_pg_run_prepared(mtd_pg_store *s, const char *sql, int n, const char *const *p, PGresult **res);
/* Rows changed by a command (its result), or a negative code. */
int mtd_pg_exec(mtd_pg_store *s, const char *sql, int n, const char *const *p);
/* A report's condition "of the devices of group $N" (a format: N). */
#define MTD_PG_IN_GROUP " AND device_id IN (SELECT device_id FROM device_groups WHERE grp=$%d)"
/* One row, one text column: 0, MTD_ENOENT or an error. */
int mtd_pg_read(mtd_pg_store *s, const char *sql, const char *param, char *out, size_t len);
/* Every row of a result as a JSON array of objects typed by column name
 * (mtd_store_column_kind). */
json_t *mtd_pg_json(const PGresult *res);
/* mtd_pg_run + mtd_pg_json; with a page, LIMIT/OFFSET and pg->more (NULL: all). */
json_t *mtd_pg_report(mtd_pg_store *s, const char *sql, int n, const char *const *p, mtd_page *pg);
/* One page of a report given as its SELECT without ORDER BY and its sort keys
 * (mtd_keyset_sql): at most 10 parameters of its own. */
json_t *mtd_pg_report_keyed(mtd_pg_store *s, const char *sql, const mtd_keyset *ks, int n, const char *const *p,
                            mtd_page *pg);

/* The devices report's SELECT, unordered, and each threat's latest row (by_device:
 * parameter $1 is the device), for the console's summary (mtd_store_pg_reports.c). */
int mtd_pg_devices_select(char *sql, size_t len);
int mtd_pg_latest_threats(char *sql, size_t len, int by_device);

/* DDL of a tenant's schema, role grants and row-level security (mtd_store_pg_ddl.c). */
int mtd_pg_tenant_ddl(const char *id, mtd_buf *out);
/* "device.info" -> "ev_device_info" */
void mtd_pg_table(const char *ev, char *out, size_t outlen);
/* The FROM/WHERE joining a device's batches (parameter $1) to one event table's rows
 * (as e, batches as b), as mtd_sq_device_join does on SQLite. */
int mtd_pg_device_join(char *out, size_t len, const char *event);
int mtd_pg_device_rows(char *out, size_t len, const char *event);

#endif
