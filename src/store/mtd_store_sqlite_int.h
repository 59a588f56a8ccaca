/* mtd_store_sqlite_int: internals shared by the SQLite backend's files (not a public
 * interface): the store struct and small statement helpers. Callers hold s->mu. */
#ifndef MTD_STORE_SQLITE_INT_H
#define MTD_STORE_SQLITE_INT_H

#include "store/mtd_store_group.h"
#include "store/mtd_store_int.h"

#include <pthread.h>
#include <sqlite3.h>

/* The statements of every batch, prepared once (mtd_sq_exec_hot). */
enum {
    MTD_SQ_HOT_BATCH, MTD_SQ_HOT_DEVICE, MTD_SQ_HOT_INFO,
    MTD_SQ_HOT_SAVEPOINT, MTD_SQ_HOT_ROLLBACK_TO, MTD_SQ_HOT_RELEASE, MTD_SQ_HOT_CRED_USED, MTD_SQ_HOT_N
};

/* Statements kept prepared on a connection, by their SQL (mtd_sq_cached): on the read
 * connection the few that every batch and every request's credential check run, and
 * room for the rarer ones. */
#define MTD_SQ_CACHE 24
typedef struct {
    sqlite3_stmt *st[MTD_SQ_CACHE];
    uint32_t hash[MTD_SQ_CACHE];
    unsigned next; /* the slot the next new statement takes */
} mtd_sq_cache;

struct mtd_store {
    mtd_store_hdr hdr; /* first: the backend's operations (mtd_store_int.h) */
    sqlite3 *db;
    pthread_mutex_t mu;
    sqlite3_stmt *ins[32]; /* per event type, index as in mtd_event_types */
    char *line_sql[32];    /* per event type: its rows as JSON lines (mtd_store_event_lines_after) */
    sqlite3_stmt *hot[MTD_SQ_HOT_N]; /* the statements every batch runs, prepared once */
    int scrub;             /* data was deleted: checkpoint the WAL after the commit */
    int64_t next_row;      /* the next event row's number, in any event table */
    const mtd_event_type *info_type, *consent_type; /* the events ingest acts on */
    /* A second connection for the reads every batch makes (credential, consent,
     * policy): WAL lets them run while a group commit holds the writer. */
    sqlite3 *rd;
    pthread_mutex_t rmu;
    mtd_sq_cache rd_cache; /* its statements (under rmu) */
    char *pol_txt;         /* the policy's text last parsed, and what it gave (under rmu) */
    mtd_policy *pol;
    /* A third for the admin reports, so that a report over a large fleet (seconds)
     * holds up neither the batches nor their credential checks. */
    sqlite3 *rp;
    pthread_mutex_t pmu;
    mtd_sq_cache rp_cache; /* its statements (under pmu): the alert engine's read of
                            * new detections runs after every batch */
    /* Group commit: batches waiting for the next transaction (mtd_store_group.h). */
    mtd_store_group group;
    /* The checkpointer's connection; its passes run on the shared pool (mtd_store_wal.c). */
    sqlite3 *ck;
    pthread_mutex_t ckrun; /* held while a checkpoint runs; lock order: mu, pmu, ckrun */
    struct mtd_store *ck_qnext; /* the next store on the pool's queue */
    int ck_want;   /* queued for a pass (under the pool's mutex) */
    int ck_busy;   /* a pass is running (under the pool's mutex) */
    int ck_failed; /* no checkpointer connection: the commits checkpoint */
    char path[1200];
    int ck_next;   /* WAL pages at which a commit wakes the checkpointer */
    int ck_frames; /* WAL pages after the last commit (writer only) */
    int ck_rewind; /* set by the checkpointer: the next commit copies the WAL's tail */
    /* The summaries (mtd_store_sum.c): summary.sqlite is attached to rp as sm, and
     * written there by the maintainer and the reports' catch-up, under smu and then
     * pmu; they cover rows < sum_w (-1: to be emptied first). Lock order: mu, smu, pmu. */
    pthread_mutex_t smu;
    int64_t sum_w;
    int64_t sum_gen, sum_done;     /* commits that kicked them; sum_gen when they last reached the newest */
    int64_t sum_rows;              /* events of the commits that kicked them */
    int sum_waiting;               /* reports waiting for smu: the maintainer gives it up */
    char sum_path[1200];
    int64_t sum_types;             /* batches.types bits of the event types they cover */
    int sum_forgot;                /* a delete under smu: 1 devices forgotten, 2 emptied, 3 expired rows */
    int sum_dirty;                 /* this group stored rows the summaries cover (writer only) */
    struct mtd_store *sum_qnext;   /* the next store on the maintainer's queue */
    int sum_want, sum_busy, sum_stopped; /* under the maintainer queue's mutex */
};

/* The backend's implementations of the store's operations (mtd_store_int.h). */
#define MTD_SQLITE_DECL(ret, name, params, args) ret mtd_sqlite_##name params;
MTD_STORE_OPS(MTD_SQLITE_DECL)
#undef MTD_SQLITE_DECL
void mtd_sqlite_ingest_group(mtd_store *s, mtd_store_batch *head);
void mtd_sqlite_close(mtd_store *s);

/* Opens one more connection to the store's file (the writer's, the reader's, the
 * reports', the checkpointer's): read-write, no SQLite mutex (each has its own lock),
 * 5 s busy timeout. On failure, why (when given) names the file and the error; *db may
 * still need sqlite3_close. */
int mtd_sq_connect(mtd_store *s, int flags, sqlite3 **db, char *why, size_t whylen);
/* Hands the WAL checkpoints of an open store to the shared checkpointer pool, and
 * takes them back (waiting for a pass running) before the store closes
 * (mtd_store_wal.c). */
void mtd_sq_wal_start(mtd_store *s);
void mtd_sq_wal_stop(mtd_store *s);
/* 1 when the store has no pass wanted or running (tests wait on it). */
int mtd_sq_wal_idle(mtd_store *s);
/* After a delete (caller holds s->mu): folds the WAL into the database file and
 * truncates it, so no file keeps the deleted rows' old pages. */
int mtd_sq_wal_truncate(mtd_store *s);

/* The summary tables (mtd_store_sum.c). _open at the store's open, once rp is open
 * (attached to it; made, or built again when another version's, then kicked); _kick
 * after a commit that stored rows they cover (rows: the commit's events): the
 * maintainer thread brings them up to date; _sync brings them to the newest row now;
 * _idle: nothing queued or running (tests and benches wait on it); _close before rp
 * closes (waits for a pass running). */
int mtd_sq_sum_open(mtd_store *s, char *why, size_t wl);
void mtd_sq_sum_kick(mtd_store *s, int64_t rows);
int mtd_sq_sum_sync(mtd_store *s);
int mtd_sq_sum_idle(mtd_store *s);
/* A read of the summaries: fn(s, ctx) runs on rp under s->pmu once they are up to
 * date, and runs again after a catch-up if a delete emptied them meanwhile; what fn
 * returns (NULL: they could not be brought up to date, or fn failed). _keyed is
 * mtd_sq_report_keyed over the summaries, _rows mtd_sq_report. */
typedef json_t *(*mtd_sq_sum_fn)(mtd_store *s, void *ctx);
json_t *mtd_sq_sum_read(mtd_store *s, mtd_sq_sum_fn fn, void *ctx);
json_t *mtd_sq_sum_keyed(mtd_store *s, const char *sql, const mtd_keyset *ks, int n, const char *const *p,
                         mtd_page *pg);
json_t *mtd_sq_sum_rows(mtd_store *s, const char *sql, int n, const char *const *p);
/* A delete of event rows (caller holds s->mu, the delete's transaction open on s->db):
 * _lock just before its COMMIT (takes smu and pmu: no chunk, no report); _clear, when
 * it deleted rows the summaries cover, empties them (committed at once, before the
 * delete's COMMIT; _forget and _expired empty them when they fail); _unlock after the
 * COMMIT or ROLLBACK (what _forget or _expired removed is built again; cleared: they
 * are built again whole). */
void mtd_sq_sum_delete_lock(mtd_store *s);
int mtd_sq_sum_delete_clear(mtd_store *s);
int mtd_sq_sum_devices(mtd_store *s, const char *sql, int n, const char *const *p, json_t *devs);
int mtd_sq_sum_delete_forget(mtd_store *s, json_t *gone, json_t *kept);
/* Retention's: cut[i] the cutoff of event type i (mtd_event_types; its rows received
 * before it deleted, INT64_MIN none); the summary rows the deleted rows made leave
 * the summaries and are built again at _unlock. */
int mtd_sq_sum_delete_expired(mtd_store *s, const int64_t *cut);
void mtd_sq_sum_delete_unlock(mtd_store *s, int committed);
void mtd_sq_sum_close(mtd_store *s);
/* Sets each summarized app's side again by the trusted table (mtd_side_sql), of the
 * apps whose sum_app row meets where (" AND <condition>", its parameter ?1 = param;
 * "" all), after their devices' trusted stores changed. Takes smu and pmu. */
int mtd_sq_sum_side(mtd_store *s, const char *where, const char *param);
/* The trusted table (mtd_store_trusted.c) made again from the tenant's policy and the
 * groups' (caller holds s->mu, or opens the store; in its transaction). */
int mtd_sq_trusted_sync(mtd_store *s);
/* The same on a connection to the store's file (a migration's, in its transaction). */
int mtd_sq_trusted_sync_db(sqlite3 *db);
/* A write under s->mu (sql, n text parameters) that may change some devices' trusted
 * stores: in one transaction with the trusted table's sync; then, when the table
 * changed or always (the write moves a device to another scope),
 * mtd_sq_sum_side(s, where, param). 0 or an error. */
int mtd_sq_trusted_write(mtd_store *s, const char *sql, int n, const char *const *p, int always,
                         const char *where, const char *param);

/* Runs one statement with text parameters (NULL binds NULL); returns the number of
 * changed rows, or MTD_EEXIST on a constraint violation, MTD_EIO otherwise. */
int mtd_sq_exec(mtd_store *s, const char *sql, int n, const char *const *p);
/* A report's condition "of the devices of group ?" (its parameter the last). */
#define MTD_SQ_IN_GROUP " AND device_id IN (SELECT device_id FROM device_groups WHERE grp=?)"
/* mtd_sq_exec for a statement that runs for every batch: prepared on first use and
 * kept in s->hot[slot] (each slot always gets the same SQL). */
int mtd_sq_exec_hot(mtd_store *s, int slot, const char *sql, int n, const char *const *p);

/* A statement of db from its cache (the caller holds the connection's mutex), prepared
 * on first use and kept: compiling the credential check and the batch's policy and
 * consent reads for every request was ~8% of the collector's CPU under bench_ingest.
 * The caller resets it (mtd_sq_done) before it lets go of the mutex, so no read
 * transaction stays open to hold back the checkpointer. NULL when it does not compile. */
sqlite3_stmt *mtd_sq_cached(sqlite3 *db, mtd_sq_cache *c, const char *sql);
void mtd_sq_done(sqlite3_stmt *st);
void mtd_sq_cache_free(mtd_sq_cache *c);
/* One row, one text column, on the read connection (takes s->rmu): 0, MTD_ENOENT or
 * MTD_EIO. */
int mtd_sq_read(mtd_store *s, const char *sql, const char *param, char *out, size_t len);
/* Every row as a JSON array of objects keyed by column name, read on the report
 * connection: mtd_sq_rows when the caller holds s->pmu (several reads in one
 * snapshot, between mtd_sq_snapshot_begin and _end), mtd_sq_report for one read. */
json_t *mtd_sq_rows(mtd_store *s, const char *sql, int n, const char *const *p);
json_t *mtd_sq_report(mtd_store *s, const char *sql, int n, const char *const *p);
/* mtd_sq_report for one page of a list report (NULL: every row). */
json_t *mtd_sq_report_page(mtd_store *s, const char *sql, int n, const char *const *p, mtd_page *pg);
/* One page of a report given as its SELECT without ORDER BY and its sort keys
 * (mtd_keyset_sql): at most 10 parameters of its own. */
json_t *mtd_sq_report_keyed(mtd_store *s, const char *sql, const mtd_keyset *ks, int n, const char *const *p,
                            mtd_page *pg);
void mtd_sq_snapshot_begin(mtd_store *s);
void mtd_sq_snapshot_end(mtd_store *s);
void mtd_sq_now(char *b, size_t n);
/* Adds the columns and tables of credential binding to a store made before it
 * (mtd_store_creds.c); at open. */
int mtd_sq_creds_migrate(mtd_store *s);
/* Revokes the live credentials matching where (a condition on parameter ?3), with a
 * reason; *revoked gets how many (takes s->mu). */
int mtd_sq_creds_revoke(mtd_store *s, const char *where, const char *param, const char *reason, int *revoked);
/* Appends to the audit log (caller holds s->mu). */
int mtd_sq_audit(mtd_store *s, const char *actor, const char *action, const char *detail);
int mtd_sq_audit_device(mtd_store *s, const char *actor, const char *action, const char *device,
                        const char *detail);
/* The SELECT of each threat's latest detection row, with its first_seen (the time of
 * its first detection); by_device adds a "device_id=?" parameter (mtd_store_reports.c). */
int mtd_sq_latest_threats(char *sql, size_t len, int by_device);
/* The SELECT of the devices report (one row per device with its risk), unordered. */
int mtd_sq_devices_select(char *sql, size_t len);
/* The rows of one device (parameter ?1) in the table of one event type, through the
 * device's batches holding that type: a batch's rows are one range, each row's own
 * device_id decides. mtd_sq_device_join gives the FROM/WHERE of a join (rows as e,
 * batches as b: "ORDER BY b.first_row, e.row" reads them in row order without a
 * sort), mtd_sq_device_rows a condition " AND row IN (...)". */
/* An event type's bit in batches.types. */
int64_t mtd_sq_type_bit(const mtd_event_type *ev);
int mtd_sq_device_join(char *out, size_t len, const char *event);
int mtd_sq_device_rows(char *out, size_t len, const char *event);
/* "device.info" -> "ev_device_info" */
void mtd_sq_table(const char *ev, char *out, size_t outlen);

#endif
