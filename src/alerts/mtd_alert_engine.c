/* mtd_alert_engine: the collector's alert thread. It keeps a list of tenants, each
 * marked dirty when a batch of theirs was stored (mtd_alerts_kick) or due when a
 * destination's retry time has come, and serves one at a time: new detections become
 * alerts (mtd_alert_derive), and after each pass each destination's pending messages
 * (an alert destination's: the alerts after its cursor, integrations.sent_id; a
 * risk-push one's: its outbox rows) are sent, in order, a chunk at a time, on a thread
 * of the destination's own that the engine does not wait for (at most one per
 * destination at a time). A failed destination waits a random time up to
 * min(cap, 0.5 s * 2^failures) ("full jitter", so destinations that failed together do
 * not retry together), and what it has pending from before --alert-dead-after becomes
 * dead letters (a range of alert IDs the cursor moves past, or outbox rows' state).
 * At start every tenant with an alert file is dirty, so what was stored or queued before
 * a crash goes on. */
#include "alerts/mtd_alert_int.h"
#include "common/mtd_err.h"
#include "common/mtd_log.h"
#include "common/mtd_util.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHUNK 100
#define CHUNK_MAX 1000
#define CHUNKS_PER_PASS 50
#define RECORD_ROWS 1000 /* sent rows deleted in one transaction */
#define RECORD_WAIT_MS 1000 /* the longest sent rows are left unrecorded while passes write */
#define MAX_TENANTS_TRACKED 100000

typedef struct {
    char id[MTD_TENANT_ID_LEN + 1];
    int dirty;
    int kicked;              /* a batch was stored since its turn began */
    int recheck;             /* every device's risk is to be read again */
    int64_t expiry_s;        /* a suppression rule expires then (0: none) */
    int64_t due_ms;          /* a retry is due then (0: none) */
    int64_t risk_ms;         /* the marked devices' risk was last read then */
    int64_t ckpt_ms;         /* its file's log was last copied into it then */
    int64_t pending, dead;   /* its messages waiting and dead, as of the latest count */
    uint64_t counted;        /* that count's stamp (count_stamp) */
} tslot;

/* What a destination's turn has sent and not yet recorded. */
typedef struct {
    int64_t last;   /* the last row the receiver took (0: none yet) */
    size_t sent;    /* rows taken since the last record */
    int64_t since;  /* the first of those was taken then (ms) */
} sent_mark;

typedef struct {
    char tenant[MTD_TENANT_ID_LEN + 1];
    int64_t integ, created;
    int used;
    int running;     /* its delivery thread is at work (under mu) */
    int again;       /* rows were added while it was: it goes on (under mu) */
    sent_mark mk;    /* rows an earlier turn sent and could not record (its thread's) */
    mtd_alert_conn *conn;
    sqlite3 *db;     /* its connection to the alert file, kept between runs (used only
                      * by the thread running it; closed when not running) */
    sqlite3_stmt *chunk_st; /* deliver_chunk's statement on db (NULL: not prepared yet) */
} cslot;

struct mtd_alerts {
    mtd_tenants *t;
    char data_dir[1024];
    mtd_alerts_opts o;
    mtd_alert_nets allow;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    int workers;     /* delivery threads running (under mu) */
    char passing[MTD_TENANT_ID_LEN + 1]; /* the tenant whose passes run ("": none; under mu) */
    uint64_t count_seq; /* the last stamp count_stamp gave (under mu) */
    tslot *ts;
    size_t nts;
    cslot **cs;      /* each its own allocation: callers hold &cs[i]->conn across additions */
    size_t ncs;
    uint64_t created, suppressed, delivered, failed, dead;
    /* the engine thread's connection to the file of the tenant it served last, kept
     * for its next turn (only that thread uses it) */
    sqlite3 *edb;
    char edb_tenant[MTD_TENANT_ID_LEN + 1];
    int64_t edb_ms;  /* its last turn ended then */
};

const mtd_alert_nets *mtd_alerts_allow(const mtd_alerts *a)
{
    return a ? &a->allow : NULL;
}

void mtd_alerts_count(mtd_alerts *a, int ok)
{
    if (a)
        __atomic_add_fetch(ok ? &a->delivered : &a->failed, 1, __ATOMIC_RELAXED);
}

/* The slot of tenant id, added when absent (under mu). */
static tslot *slot(mtd_alerts *a, const char *id)
{
    for (size_t i = 0; i < a->nts; i++)
        if (!strcmp(a->ts[i].id, id))
            return &a->ts[i];
    if (a->nts >= MAX_TENANTS_TRACKED)
        return NULL;
    tslot *n = realloc(a->ts, (a->nts + 1) * sizeof *n);
    if (!n)
        return NULL;
    a->ts = n;
    memset(&a->ts[a->nts], 0, sizeof *a->ts);
    mtd_strlcpy(a->ts[a->nts].id, id, sizeof a->ts[0].id);
    return &a->ts[a->nts++];
}

void mtd_alerts_kick(mtd_alerts *a, const char *tenant_id)
{
    if (!a || !mtd_tenant_id_valid(tenant_id))
        return;
    pthread_mutex_lock(&a->mu);
    tslot *s = slot(a, tenant_id);
    if (s)
        s->kicked = 1;
    if (s && !s->dirty) {
        s->dirty = 1;
        pthread_cond_signal(&a->cv);
    }
    pthread_mutex_unlock(&a->mu);
}

void mtd_alerts_recheck(mtd_alerts *a, const char *tenant_id)
{
    if (!a || !mtd_tenant_id_valid(tenant_id))
        return;
    pthread_mutex_lock(&a->mu);
    tslot *s = slot(a, tenant_id);
    if (s && !s->recheck) {
        s->recheck = 1;
        pthread_cond_signal(&a->cv);
    }
    pthread_mutex_unlock(&a->mu);
}

/* The destination's slot (its connection, whether its thread runs), made when absent;
 * only the engine thread adds or removes slots. */
static cslot *conn_for(mtd_alerts *a, const char *tenant, int64_t integ, int64_t created)
{
    for (size_t i = 0; i < a->ncs; i++)
        if (!strcmp(a->cs[i]->tenant, tenant) && a->cs[i]->integ == integ && a->cs[i]->created == created) {
            a->cs[i]->used = 1;
            return a->cs[i];
        }
    cslot **n = realloc(a->cs, (a->ncs + 1) * sizeof *n), *c;
    if (!n)
        return NULL;
    a->cs = n;
    if (!(c = calloc(1, sizeof *c)))
        return NULL;
    a->cs[a->ncs++] = c;
    mtd_strlcpy(c->tenant, tenant, sizeof c->tenant);
    c->integ = integ;
    c->created = created;
    c->used = 1;
    return c;
}

/* The slot's connection to the alert file closed, its statement with it (SQLite
 * keeps a connection with a statement left open). */
static void cslot_db_close(cslot *c)
{
    sqlite3_finalize(c->chunk_st);
    c->chunk_st = NULL;
    sqlite3_close(c->db);
    c->db = NULL;
}

/* Closes the connections of the tenant's destinations that were not used this pass
 * (removed ones, or ones with nothing to send: connections are not kept idle). */
static void conns_sweep(mtd_alerts *a, const char *tenant)
{
    size_t k = 0;
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < a->ncs; i++) {
        cslot *c = a->cs[i];
        if (!strcmp(c->tenant, tenant) && !c->used && !c->running) {
            mtd_alert_conn_free(c->conn);
            cslot_db_close(c);
            free(c);
            continue;
        }
        if (!strcmp(c->tenant, tenant))
            c->used = 0;
        a->cs[k++] = c;
    }
    a->ncs = k;
    pthread_mutex_unlock(&a->mu);
}

/* The wait before a failed destination's next attempt: full jitter over 0.5 s doubling
 * per failure up to the cap, and at least 100 ms. */
static int64_t backoff_ms(const mtd_alerts *a, int failures)
{
    return 100 + mtd_backoff_ms(failures - 1, 500, (int)a->o.retry_cap_s * 1000);
}

static void dest_from_row(sqlite3_stmt *st, mtd_alert_dest *d)
{
    memset(d, 0, sizeof *d);
    d->id = sqlite3_column_int64(st, 0);
    mtd_strlcpy(d->kind, (const char *)sqlite3_column_text(st, 1), sizeof d->kind);
    mtd_strlcpy(d->target, (const char *)sqlite3_column_text(st, 2), sizeof d->target);
    mtd_strlcpy(d->secret, (const char *)sqlite3_column_text(st, 3) ?: "", sizeof d->secret);
    d->tls = sqlite3_column_int(st, 4);
    const char *ca = (const char *)sqlite3_column_text(st, 5);
    d->ca_pem = ca ? strdup(ca) : NULL;
    mtd_strlcpy(d->index, (const char *)sqlite3_column_text(st, 6) ?: "openmtd-alerts", sizeof d->index);
    d->batch_max = sqlite3_column_int(st, 10);
    d->sent_id = sqlite3_column_int64(st, 11);
}

static int64_t one_int(sqlite3 *db, const char *sql, int64_t a, int64_t b)
{
    sqlite3_stmt *st;
    int64_t v = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_int64(st, 1, a);
    sqlite3_bind_int64(st, 2, b);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int is_alert_dest(const mtd_alert_dest *d)
{
    return strcmp(d->kind, "risk-push") != 0;
}

/* An alert destination's alerts after its cursor made before cutoff (Unix seconds)
 * become a dead range, and the cursor moves past them (inside record's transaction);
 * how many. Alert IDs grow with their pass's time, so those alerts are the oldest. */
static int64_t alerts_dead(sqlite3 *db, mtd_alert_dest *d, int64_t cutoff, const char *why)
{
    int64_t from = one_int(db, "SELECT sent_id FROM integrations WHERE id=?1", d->id, 0);
    int64_t last = one_int(db, "SELECT coalesce(max(id), 0) FROM alerts WHERE id>?1 AND created_at<?2", from, cutoff);
    if (last <= from)
        return 0;
    int64_t n = one_int(db, "SELECT count(*) FROM alerts WHERE id>?1 AND id<=?2", from, last);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "INSERT INTO dead_alerts(integration_id, first_id, last_id, n, at, last_error)"
                           " VALUES(?1,?2,?3,?4,?5,?6)", -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_int64(st, 1, d->id);
    sqlite3_bind_int64(st, 2, from + 1);
    sqlite3_bind_int64(st, 3, last);
    sqlite3_bind_int64(st, 4, n);
    sqlite3_bind_int64(st, 5, (int64_t)time(NULL));
    sqlite3_bind_text(st, 6, why, -1, SQLITE_STATIC);
    int ok = sqlite3_step(st) == SQLITE_DONE;
    sqlite3_finalize(st);
    if (!ok || sqlite3_prepare_v2(db, "UPDATE integrations SET sent_id=?2 WHERE id=?1", -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_int64(st, 1, d->id);
    sqlite3_bind_int64(st, 2, last);
    ok = sqlite3_step(st) == SQLITE_DONE;
    sqlite3_finalize(st);
    if (ok)
        d->sent_id = last;
    return ok ? n : 0;
}

/* The outcome of a run of chunks in the file: an alert destination's cursor moved to
 * last_sent (the last alert the receiver took), a risk-push one's rows up to it
 * deleted, or the destination's backoff and the dead letters. Without
 * wait, nothing is done and 0 returned when the file is locked (a derivation pass is
 * writing), else 1. */
static int record(mtd_alerts *a, sqlite3 *db, mtd_alert_dest *d, int64_t last_sent, size_t sent,
                  int failed, int backoff, const char *why, int64_t *due, int wait)
{
    sqlite3_stmt *st;
    int64_t now = mtd_alert_now_ms();
    if (!wait)
        mtd_alert_db_lock_wait(db, 0);
    int begun = mtd_alert_exec(db, "BEGIN IMMEDIATE") == 0;
    if (!wait) {
        mtd_alert_db_lock_wait(db, 1);
        if (!begun)
            return 0;
    }
    if (sent && sqlite3_prepare_v2(db, is_alert_dest(d) ? "UPDATE integrations SET sent_id=max(sent_id, ?2) WHERE id=?1"
                                                        : "DELETE FROM outbox WHERE integration_id=?1 AND"
                                                          " state='pending' AND id<=?2",
                                   -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, d->id);
        sqlite3_bind_int64(st, 2, last_sent);
        if (sqlite3_step(st) == SQLITE_DONE && is_alert_dest(d) && last_sent > d->sent_id)
            d->sent_id = last_sent;
        sqlite3_finalize(st);
    }
    int64_t retry = failed ? now + backoff_ms(a, backoff + 1) : 0;
    if (sqlite3_prepare_v2(db, "UPDATE integrations SET delivered=delivered+?2, failures=failures+?3,"
                           " backoff=CASE WHEN ?3 THEN backoff+1 ELSE 0 END, retry_at_ms=?4,"
                           " last_error=CASE WHEN ?3 THEN ?5 ELSE last_error END,"
                           " last_ok_at=CASE WHEN ?2>0 THEN ?6 ELSE last_ok_at END WHERE id=?1", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, d->id);
        sqlite3_bind_int64(st, 2, (int64_t)sent);
        sqlite3_bind_int(st, 3, failed);
        sqlite3_bind_int64(st, 4, retry);
        sqlite3_bind_text(st, 5, why, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, now / 1000);
        sqlite3_step(st);
        sqlite3_finalize(st);
    }
    int64_t cutoff = now / 1000 - (int64_t)a->o.dead_after_s;
    if (failed && is_alert_dest(d))
        __atomic_add_fetch(&a->dead, (uint64_t)alerts_dead(db, d, cutoff, why), __ATOMIC_RELAXED);
    else if (failed && sqlite3_prepare_v2(db, "UPDATE outbox SET state='dead', last_error=?3 WHERE integration_id=?1"
                                          " AND state='pending' AND created_at<?2", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, d->id);
        sqlite3_bind_int64(st, 2, cutoff);
        sqlite3_bind_text(st, 3, why, -1, SQLITE_STATIC);
        sqlite3_step(st);
        __atomic_add_fetch(&a->dead, (uint64_t)sqlite3_changes(db), __ATOMIC_RELAXED);
        sqlite3_finalize(st);
    }
    mtd_alert_exec(db, "COMMIT");
    __atomic_add_fetch(&a->delivered, sent, __ATOMIC_RELAXED);
    if (failed) {
        __atomic_add_fetch(&a->failed, 1, __ATOMIC_RELAXED);
        if (!*due || retry < *due)
            *due = retry;
    }
    return 1;
}

/* The rows a chunk reads: a batched webhook's up to CHUNK_MAX, so that its POSTs in
 * flight each carry a full batch while rows are waiting (a chunk of 100 was one POST of
 * a batch of 100 at a time, each waited on). */
static size_t chunk_rows(const mtd_alert_dest *d)
{
    return d->batch_max > 1 ? CHUNK_MAX : CHUNK;
}

/* The statement a chunk reads with, on the slot's connection: prepared on the
 * destination's first chunk and kept with the connection (prepared per chunk, it was
 * a tenth of a delivery thread's CPU, bench_alerts). Reset for its next use. */
static sqlite3_stmt *chunk_stmt(cslot *cs, sqlite3 *db, int alerts)
{
    if (cs->chunk_st) {
        sqlite3_reset(cs->chunk_st);
        return cs->chunk_st;
    }
    if (sqlite3_prepare_v3(db, alerts ? "SELECT id, coalesce(event_id, ''), severity, payload, id FROM alerts"
                                        " WHERE id>max(?1, ?3) ORDER BY id LIMIT ?2"
                                      : "SELECT id, event_id, severity, payload, 0 FROM outbox WHERE integration_id=?1"
                                        " AND state='pending' AND id>?3 ORDER BY id LIMIT ?2",
                           -1, SQLITE_PREPARE_PERSISTENT, &cs->chunk_st, NULL) != SQLITE_OK)
        cs->chunk_st = NULL;
    return cs->chunk_st;
}

/* The chunk's rows copied into one buffer (each message's texts at offsets into it,
 * NUL-terminated; a severity's offset is -1 when it is NULL): three copies of their
 * own per row were a tenth of a delivery thread's CPU in malloc and free. */
typedef struct {
    mtd_buf text;
    size_t *off; /* 3 a row: event ID, severity, payload */
} chunk_text;

static int text_put(chunk_text *t, size_t *off, const char *v, int nullable)
{
    if (!v && nullable) {
        *off = (size_t)-1;
        return 0;
    }
    *off = t->text.len;
    return mtd_buf_append(&t->text, v ? v : "", strlen(v ? v : "") + 1);
}

static const char *text_at(const chunk_text *t, size_t off)
{
    return off == (size_t)-1 ? NULL : (const char *)t->text.data + off;
}

/* Sends the chunk of a destination's pending messages after mk->last (and after an
 * alert destination's cursor): 1 when a full chunk
 * went (more may follow), 0 when fewer rows were left, -1 when the destination failed
 * (*why says how). */
static int deliver_chunk(mtd_alerts *a, sqlite3 *db, const char *tenant, mtd_alert_dest *d, cslot *cs,
                         sent_mark *mk, char *why, size_t whylen)
{
    size_t want = chunk_rows(d), n = 0;
    mtd_alert_msg *m = calloc(want, sizeof *m);
    chunk_text t = {.off = calloc(want * 3, sizeof(size_t))};
    mtd_buf_init(&t.text, 0);
    /* an alert destination's queue is the alerts themselves, after its cursor: no row
     * per alert and destination to write when derived and delete when sent (those were
     * a seventh of a derivation pass, bench_alerts); a risk change's is its outbox row */
    int alerts = is_alert_dest(d);
    sqlite3_stmt *st = m && t.off ? chunk_stmt(cs, db, alerts) : NULL;
    if (!st) {
        free(m);
        free(t.off);
        return 0;
    }
    sqlite3_bind_int64(st, 1, alerts ? d->sent_id : d->id);
    sqlite3_bind_int64(st, 2, (int64_t)want);
    sqlite3_bind_int64(st, 3, mk->last);
    int r = 0;
    while (r == 0 && n < want && sqlite3_step(st) == SQLITE_ROW) {
        size_t *o = &t.off[3 * n];
        r = text_put(&t, &o[0], (const char *)sqlite3_column_text(st, 1), 0);
        r = r ? r : text_put(&t, &o[1], (const char *)sqlite3_column_text(st, 2), 1);
        r = r ? r : text_put(&t, &o[2], (const char *)sqlite3_column_text(st, 3), 0);
        m[n++] = (mtd_alert_msg){.id = sqlite3_column_int64(st, 0), .alert_id = sqlite3_column_int64(st, 4)};
    }
    sqlite3_reset(st); /* ends the read, so that a record may write */
    n = r ? 0 : n;
    for (size_t i = 0; i < n; i++) {
        m[i].event_id = text_at(&t, t.off[3 * i]);
        m[i].severity = text_at(&t, t.off[3 * i + 1]);
        m[i].payload = text_at(&t, t.off[3 * i + 2]);
    }
    size_t sent = 0;
    r = n ? mtd_alert_send(&cs->conn, d, &a->allow, tenant, m, n, &sent, why, whylen) : 0;
    if (r)
        mtd_log(MTD_LOG_WARN, "alerts", "tenant=%s integration=%lld kind=%s delivery failed: %s", tenant,
                (long long)d->id, d->kind, why);
    if (sent) {
        mk->last = m[sent - 1].id;
        if (!mk->sent)
            mk->since = mtd_alert_now_ms();
        mk->sent += sent;
    }
    mtd_buf_free(&t.text);
    free(t.off);
    free(m);
    return r ? -1 : n == want;
}

/* One destination's turn on a thread of its own: it owns this (and the copy of the
 * destination), the slot's connection while cs->running, and a borrow of the tenant. */
typedef struct {
    mtd_alerts *a;
    mtd_tenant *tn;
    char tenant[MTD_TENANT_ID_LEN + 1];
    mtd_alert_dest d;
    cslot *cs;
    int backoff, more;
    uint64_t stamp;  /* of the outbox count taken at the end (0: none) */
    int64_t due, pending, dead; /* the tenant's outbox after the turn */
} dest_run;

static void outbox_counts(sqlite3 *db, int64_t *pending, int64_t *dead);

/* The stamp of an outbox count about to be taken: the engine and the delivery threads
 * each count the tenant's outbox when done, in either order, and only a count taken
 * later than the one shown replaces it (an older one left /metrics wrong until the
 * tenant's next turn). */
static uint64_t count_stamp(mtd_alerts *a)
{
    pthread_mutex_lock(&a->mu);
    uint64_t v = ++a->count_seq;
    pthread_mutex_unlock(&a->mu);
    return v;
}

/* Keeps the count stamped stamp unless a later one is kept already (under mu). */
static void counts_keep(tslot *s, uint64_t stamp, int64_t pending, int64_t dead)
{
    if (stamp > s->counted) {
        s->counted = stamp;
        s->pending = pending;
        s->dead = dead;
    }
}

/* 1 when the engine found rows for the destination while its thread was at work
 * (and clears the mark): the thread goes on with them rather than ending on an
 * outbox it read as empty, which left them to the tenant's next kick. */
static int take_again(dest_run *r)
{
    pthread_mutex_lock(&r->a->mu);
    int again = r->cs->again;
    r->cs->again = 0;
    pthread_mutex_unlock(&r->a->mu);
    return again;
}

/* 1 when a derivation pass of the tenant's runs or is about to (a batch of it was
 * stored): a delivery run then leaves its records for later, so that the pass does not
 * wait for the file behind them (on a loaded machine a record held it 30 to 45 ms
 * between two passes, bench_alerts). */
static int pass_soon(mtd_alerts *a, const char *tenant)
{
    pthread_mutex_lock(&a->mu);
    tslot *s = slot(a, tenant);
    int soon = !strcmp(a->passing, tenant) || (s && s->kicked);
    pthread_mutex_unlock(&a->mu);
    return soon;
}

/* 1 when the oldest unrecorded row was taken RECORD_WAIT_MS ago: the record then waits
 * for the file. */
static int overdue(const sent_mark *mk)
{
    return mk->sent && mtd_alert_now_ms() - mk->since >= RECORD_WAIT_MS;
}

/* Records what the run sent, unless a pass needs the file (pass_soon, or the file is
 * locked) and wait is 0: then 0 and the mark stays. */
static int record_sent(dest_run *r, sqlite3 *db, sent_mark *mk, int failed, int wait, const char *why)
{
    if (!wait && pass_soon(r->a, r->tenant))
        return 0;
    return record(r->a, db, &r->d, mk->last, mk->sent, failed, r->backoff, why, &r->due, wait);
}

/* Up to CHUNKS_PER_PASS chunks of one destination, the rows the receiver took deleted
 * every RECORD_ROWS and at the end (a transaction per chunk waited on the derivation's
 * write lock between every two sends); then the tenant is marked for another turn when
 * rows are left, a record is owed or a retry is due. A record is put off while a
 * derivation pass of the tenant runs or is due (pass_soon) or holds the file, and
 * waited for once its oldest row was sent RECORD_WAIT_MS ago: a killed collector sends
 * at most about that second's rows again, which receivers deduplicate. Waiting held
 * the destination's next send, and the pass the record delayed held every
 * destination's, which is what made delivery trail ingest (bench_alerts). */
static void run_chunks(dest_run *r)
{
    sqlite3 *db = r->cs->db;
    r->more = 1;
    if (db && !sqlite3_get_autocommit(db))
        mtd_alert_exec(db, "ROLLBACK"); /* never left open, but a stuck lock would stop it for good */
    if (db || mtd_alert_db_open(r->a->data_dir, r->tenant, &db) == 0) {
        /* what a delivery writes need not reach the disk before the next send: a commit
         * lost to a power failure (never to a killed collector: WAL keeps it in the
         * page cache) only sends those rows once more, which receivers deduplicate; one
         * fsync per chunk was most of a fast destination's time; and no commit of
         * theirs copies the log into the file (a checkpoint, with its fsync, between two
         * sends): the engine does that after each tenant's turn, which follows the end
         * of every delivery run that left rows */
        mtd_alert_exec(db, "PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0");
        /* what was sent but not recorded is still after the cursor (or in the outbox),
         * so what was added since has higher IDs; with none, the mark starts over (an
         * emptied outbox gives IDs from 1 again; an alert destination reads after its
         * cursor then) */
        sent_mark mk = r->cs->mk.sent ? r->cs->mk : (sent_mark){0, 0, 0};
        /* the cursor as it is now: the engine read r->d before this destination's last
         * run ended, and that run may have recorded rows since (its mark then emptied),
         * so the cursor read then would send them again (test_alert_siem saw an
         * Elasticsearch document twice) */
        if (is_alert_dest(&r->d)) {
            int64_t cur = one_int(db, "SELECT sent_id FROM integrations WHERE id=?1", r->d.id, 0);
            if (cur > r->d.sent_id)
                r->d.sent_id = cur;
        }
        char why[300] = "";
        int k = 0, got = 1;
        while (k < CHUNKS_PER_PASS && !r->a->stop && (got = deliver_chunk(r->a, db, r->tenant, &r->d, r->cs, &mk, why,
                                                                           sizeof why)) >= 0) {
            if (got == 0 && !take_again(r))
                break;
            k++;
            if (mk.sent >= RECORD_ROWS &&
                record_sent(r, db, &mk, 0, overdue(&mk), why))
                mk.sent = 0;
        }
        r->more = got > 0;
        /* the last record waits for the file only after a failure (its backoff must be
         * kept), at stop, or when overdue: else the mark stays with the destination and
         * the tenant's next turn (one is asked for) starts a run that records it;
         * waiting here kept the thread, and with it the destination's next rows,
         * behind the pass */
        if ((mk.sent || got < 0) &&
            record_sent(r, db, &mk, got < 0, got < 0 || r->a->stop || overdue(&mk), why))
            mk.sent = 0;
        if (mk.sent)
            r->more = 1;
        r->cs->mk = mk;
        r->stamp = count_stamp(r->a);
        outbox_counts(db, &r->pending, &r->dead); /* for /metrics */
        /* kept for the destination's next run: a run follows nearly every pass, and
         * opening the file (its schema run) each time was a part of each */
        r->cs->db = db;
    }
}

static void run_done(dest_run *r)
{
    mtd_alerts *a = r->a;
    mtd_tenants_put(a->t, r->tn);
    pthread_mutex_lock(&a->mu);
    r->cs->running = 0;
    a->workers--;
    tslot *s = slot(a, r->tenant);
    if (s) {
        s->dirty |= r->more || r->cs->again; /* rows found after its last look */
        if (r->due && (!s->due_ms || r->due < s->due_ms))
            s->due_ms = r->due;
        counts_keep(s, r->stamp, r->pending, r->dead);
    }
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    mtd_alert_dest_free(&r->d);
    free(r);
}

static void *run_dest(void *arg)
{
    pthread_setname_np(pthread_self(), "mtd-alert-send");
    run_chunks(arg);
    run_done(arg);
    return NULL;
}

/* Starts the turn of every destination of the tenant whose retry time has come and
 * whose thread is not already at work, each on a thread of its own that the engine
 * does not wait for: a slow receiver holds up neither the others nor the derivation of
 * new alerts. *due: the next retry of a destination left waiting. */
static void deliver(mtd_alerts *a, sqlite3 *db, const char *tenant, int64_t *due)
{
    sqlite3_stmt *st;
    *due = 0;
    if (sqlite3_prepare_v2(db, "SELECT id, kind, target, secret, tls, ca_pem, idx, retry_at_ms, backoff, created_at,"
                           " batch_max, sent_id FROM integrations i WHERE (kind<>'risk-push' AND sent_id<(SELECT"
                           " coalesce(max(id), 0) FROM alerts)) OR EXISTS (SELECT 1 FROM outbox o WHERE"
                           " o.integration_id=i.id AND o.state='pending') ORDER BY id", -1, &st, NULL) != SQLITE_OK)
        return;
    int64_t now = mtd_alert_now_ms();
    for (int nd = 0; nd < MTD_ALERT_MAX_INTEGRATIONS && sqlite3_step(st) == SQLITE_ROW; nd++) {
        int64_t retry = sqlite3_column_int64(st, 7);
        cslot *cs = conn_for(a, tenant, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 9));
        if (!cs)
            continue;
        if (retry > now) {
            if (!*due || retry < *due)
                *due = retry;
            continue;
        }
        dest_run *r = calloc(1, sizeof *r);
        if (!r || mtd_tenants_get(a->t, tenant, &r->tn) != 0) {
            free(r);
            continue;
        }
        pthread_mutex_lock(&a->mu);
        int start = !cs->running && !a->stop;
        if (start) {
            cs->running = 1;
            cs->again = 0;
            a->workers++;
        } else {
            cs->again = 1;
        }
        pthread_mutex_unlock(&a->mu);
        if (!start) { /* at work already: it takes the new rows, or marks the tenant when done */
            mtd_tenants_put(a->t, r->tn);
            free(r);
            continue;
        }
        r->a = a;
        r->cs = cs;
        mtd_strlcpy(r->tenant, tenant, sizeof r->tenant);
        dest_from_row(st, &r->d);
        r->backoff = sqlite3_column_int(st, 8);
        pthread_t th;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&th, &at, run_dest, r) != 0)
            run_dest(r); /* no thread to be had: this turn on the engine's */
        pthread_attr_destroy(&at);
    }
    sqlite3_finalize(st);
    conns_sweep(a, tenant);
}

static void outbox_counts(sqlite3 *db, int64_t *pending, int64_t *dead)
{
    sqlite3_stmt *st;
    *pending = *dead = 0;
    if (sqlite3_prepare_v2(db, "SELECT coalesce(sum(" MTD_ALERT_PENDING_SQL "), 0), coalesce(sum(" MTD_ALERT_DEAD_SQL
                           "), 0) FROM integrations i", -1, &st, NULL) != SQLITE_OK)
        return;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *pending = sqlite3_column_int64(st, 0);
        *dead = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
}

/* After the tenant's rules changed or one expired (*expiry_s passed): every device's
 * risk again, and the next expiry. */
static void recheck(sqlite3 *db, mtd_tenant *tn, int64_t *expiry_s, int64_t *due)
{
    if (mtd_alert_risk_recheck(db, tn, expiry_s) != 0) {
        mtd_log(MTD_LOG_ERROR, "alerts", "tenant=%s reading the devices' risk failed; retrying", tn->id);
        *expiry_s = (int64_t)time(NULL) + 1;
    }
    if (*expiry_s && (!*due || *expiry_s * 1000 < *due))
        *due = *expiry_s * 1000;
}

/* 1 when the devices the passes marked are to have their risk read now: at most once
 * a second per tenant, and while a batch of the tenant's waits to be derived only when
 * 3 s have passed, else *next says when (the tenant is served again then). A device's
 * risk is a query over all its threats: read after every turn of a burst of batches it
 * was a fifth of the engine's time, and read between two batches it held the second
 * one's alerts 50 ms (bench_alerts). The marks are in the file, so one read late is
 * never lost. */
static int risk_due(mtd_alerts *a, const char *id, int64_t *next)
{
    int64_t now = mtd_alert_now_ms();
    pthread_mutex_lock(&a->mu);
    tslot *s = slot(a, id);
    int due = !s || (now - s->risk_ms >= 1000 && (!s->kicked || now - s->risk_ms >= 3000));
    if (due && s)
        s->risk_ms = now;
    else if (s)
        *next = s->risk_ms + 1000;
    pthread_mutex_unlock(&a->mu);
    return due;
}

/* 1 when the tenant's file is to have its log copied in now (a checkpoint, with its
 * fsync): when no batch of the tenant's is waiting, or a second after the last one.
 * Done after every turn, it held the derivation of the batch stored meanwhile (10 to
 * 70 ms on a loaded machine, bench_alerts). */
static int ckpt_due(mtd_alerts *a, const char *id)
{
    int64_t now = mtd_alert_now_ms();
    pthread_mutex_lock(&a->mu);
    tslot *s = slot(a, id);
    int due = !s || !s->kicked || now - s->ckpt_ms >= 1000;
    if (due && s)
        s->ckpt_ms = now;
    pthread_mutex_unlock(&a->mu);
    return due;
}

/* The delivery connections of the destinations not at work (under mu; a run sets
 * running under it before it touches its cslot's db). */
static void dest_dbs_close(mtd_alerts *a)
{
    for (size_t i = 0; i < a->ncs; i++)
        if (!a->cs[i]->running && a->cs[i]->db)
            cslot_db_close(a->cs[i]);
}

static void engine_db_close(mtd_alerts *a)
{
    sqlite3_close(a->edb);
    a->edb = NULL;
    a->edb_tenant[0] = 0;
}

/* The engine's connection to tenant id's alert file (NULL: it cannot be opened): the
 * one of its last turn when that was the same tenant's. Opened anew every turn, the
 * file's schema was run and its pages read again each time (a burst of batches makes
 * a turn each). */
static sqlite3 *engine_db(mtd_alerts *a, const char *id)
{
    if (a->edb && !strcmp(a->edb_tenant, id))
        return a->edb;
    engine_db_close(a);
    if (mtd_alert_db_open(a->data_dir, id, &a->edb) != 0) {
        a->edb = NULL;
        return NULL;
    }
    /* a pass's commit need not reach the disk before the next: one lost to a power
     * failure (never to a killed collector: WAL keeps it in the page cache) is a pass
     * made again from the store's detections, the same alerts under the same IDs and
     * event IDs, which receivers deduplicate; its fsync was a good part of a pass; and
     * no pass's commit copies the log into the file (a checkpoint, with its fsync,
     * every few passes): that is done after the passes (ckpt_due) */
    mtd_alert_exec(a->edb, "PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0");
    mtd_strlcpy(a->edb_tenant, id, sizeof a->edb_tenant);
    return a->edb;
}

/* One tenant's turn. Returns the time its next retry is due (0: none), *again when
 * work is left now. *expiry_s: when a suppression rule expires (0: none), kept
 * between turns. *pending, *dead: its outbox at the end, counted under *stamp (left 0
 * when not counted). */
static int64_t serve(mtd_alerts *a, const char *id, int dirty, int check, int64_t *expiry_s, int *again,
                     int64_t *pending, int64_t *dead, uint64_t *stamp)
{
    mtd_tenant *tn;
    int64_t due = 0;
    *again = 0;
    if (mtd_tenants_get(a->t, id, &tn) != 0) {
        if (!strcmp(a->edb_tenant, id)) /* deleted: its file is gone */
            engine_db_close(a);
        return 0;
    }
    int exists = mtd_alert_db_exists(a->data_dir, id);
    if (!exists && dirty) { /* a tenant with no detection yet gets no file */
        json_t *one = mtd_store_event_rows_after(tn->store, "threat.detection", 0, 1);
        exists = json_array_size(one) > 0;
        json_decref(one);
    }
    sqlite3 *db = exists ? engine_db(a, id) : NULL;
    if (!exists)
        engine_db_close(a);
    if (db) {
        int created = 0, supp = 0, more = dirty;
        int64_t ddue = 0;
        /* first, so that rules an older alert file held are in the store for the passes */
        if (check || (*expiry_s && *expiry_s <= (int64_t)time(NULL)))
            recheck(db, tn, expiry_s, &due);
        else if (*expiry_s && (!due || *expiry_s * 1000 < due))
            due = *expiry_s * 1000;
        /* the destinations start on each pass's alerts while the next pass is derived */
        pthread_mutex_lock(&a->mu);
        mtd_strlcpy(a->passing, id, sizeof a->passing);
        pthread_mutex_unlock(&a->mu);
        for (int pass = 0; more && pass < 20; pass++) {
            if (mtd_alert_derive(db, tn, &created, &supp, &more) != 0) {
                mtd_log(MTD_LOG_ERROR, "alerts", "tenant=%s deriving alerts failed; retrying", id);
                due = mtd_alert_now_ms() + 1000;
                break;
            }
            __atomic_add_fetch(&a->created, (uint64_t)created, __ATOMIC_RELAXED);
            __atomic_add_fetch(&a->suppressed, (uint64_t)supp, __ATOMIC_RELAXED);
            if (created)
                deliver(a, db, id, &ddue);
        }
        *again = more;
        pthread_mutex_lock(&a->mu);
        a->passing[0] = 0;
        pthread_mutex_unlock(&a->mu);
        int64_t rnext = 0;
        if (!risk_due(a, id, &rnext)) {
            if (!due || rnext < due)
                due = rnext;
        } else if (mtd_alert_risk_flush(db, tn) != 0) {
            mtd_log(MTD_LOG_ERROR, "alerts", "tenant=%s reading the devices' risk failed; retrying", id);
            due = mtd_alert_now_ms() + 1000;
        }
        deliver(a, db, id, &ddue);
        if (ddue && (!due || ddue < due))
            due = ddue;
        *stamp = count_stamp(a);
        outbox_counts(db, pending, dead);
        if (ckpt_due(a, id))
            sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        a->edb_ms = mtd_alert_now_ms();
    }
    mtd_tenants_put(a->t, tn);
    return due;
}

/* The next tenant with work (under mu): dirty first, then the earliest due. */
static tslot *next_work(mtd_alerts *a, int64_t now, int64_t *wait_until)
{
    tslot *best = NULL;
    *wait_until = now + 1000;
    for (size_t i = 0; i < a->nts; i++) {
        tslot *s = &a->ts[i];
        if (s->dirty || s->recheck)
            return s;
        if (s->due_ms && s->due_ms <= now && (!best || s->due_ms < best->due_ms))
            best = s;
        else if (s->due_ms && s->due_ms < *wait_until)
            *wait_until = s->due_ms;
    }
    return best;
}

static void *run(void *arg)
{
    mtd_alerts *a = arg;
    pthread_setname_np(pthread_self(), "mtd-alerts");
    pthread_mutex_lock(&a->mu);
    while (!a->stop) {
        int64_t now = mtd_alert_now_ms(), until;
        tslot *s = next_work(a, now, &until);
        if (!s && a->edb && now - a->edb_ms >= 1000) {
            /* idle a second: the files are let go (a deleted tenant's with them) */
            pthread_mutex_unlock(&a->mu);
            engine_db_close(a);
            pthread_mutex_lock(&a->mu);
            dest_dbs_close(a);
            continue;
        }
        if (!s) {
            struct timespec ts = {.tv_sec = until / 1000, .tv_nsec = (until % 1000) * 1000000};
            pthread_cond_timedwait(&a->cv, &a->mu, &ts);
            continue;
        }
        char id[MTD_TENANT_ID_LEN + 1];
        int dirty = s->dirty, check = s->recheck, again;
        int64_t expiry = s->expiry_s;
        mtd_strlcpy(id, s->id, sizeof id);
        s->dirty = s->recheck = s->kicked = 0;
        s->due_ms = 0;
        pthread_mutex_unlock(&a->mu);
        int64_t pending = 0, dead = 0;
        uint64_t stamp = 0;
        int64_t due = serve(a, id, dirty, check, &expiry, &again, &pending, &dead, &stamp);
        pthread_mutex_lock(&a->mu);
        if ((s = slot(a, id))) {
            s->dirty |= again;
            s->expiry_s = expiry;
            if (due && (!s->due_ms || due < s->due_ms))
                s->due_ms = due;
            counts_keep(s, stamp, pending, dead);
        }
    }
    pthread_mutex_unlock(&a->mu);
    engine_db_close(a);
    return NULL;
}

int mtd_alerts_start(mtd_tenants *t, const mtd_alerts_opts *o, mtd_alerts **out, char *why, size_t whylen)
{
    mtd_alerts *a = calloc(1, sizeof *a);
    if (!a)
        return MTD_ENOMEM;
    a->t = t;
    a->o = *o;
    if (!a->o.retry_cap_s)
        a->o.retry_cap_s = 30;
    if (!a->o.dead_after_s)
        a->o.dead_after_s = 86400;
    mtd_strlcpy(a->data_dir, mtd_tenants_data_dir(t), sizeof a->data_dir);
    int r = mtd_alert_nets_parse(o->allow_net, &a->allow, why, whylen);
    if (r) {
        free(a);
        return r;
    }
    pthread_mutex_init(&a->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_cond_init(&a->cv, &ca); /* CLOCK_REALTIME, as mtd_alert_now_ms */
    json_t *list = mtd_tenants_list(t), *row;
    size_t i;
    /* what a crash left undone goes on: the tenants with an alert file (a stat each;
     * opening every tenant's store at start would keep them all open until idle) */
    json_array_foreach(list, i, row) {
        const char *id = json_string_value(json_object_get(row, "tenant_id"));
        if (id && mtd_alert_db_exists(a->data_dir, id)) {
            /* and a rule may have expired, or been changed just before a crash */
            mtd_alerts_kick(a, id);
            mtd_alerts_recheck(a, id);
        }
    }
    json_decref(list);
    if (pthread_create(&a->th, NULL, run, a) != 0) {
        snprintf(why, whylen, "cannot start the alert thread");
        free(a->ts);
        free(a);
        return MTD_ENOMEM;
    }
    *out = a;
    return 0;
}

void mtd_alerts_stop(mtd_alerts *a)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->mu);
    a->stop = 1;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->th, NULL);
    /* the delivery threads end their chunk (each send has its timeouts) */
    pthread_mutex_lock(&a->mu);
    while (a->workers > 0)
        pthread_cond_wait(&a->cv, &a->mu);
    pthread_mutex_unlock(&a->mu);
    for (size_t i = 0; i < a->ncs; i++) {
        mtd_alert_conn_free(a->cs[i]->conn);
        cslot_db_close(a->cs[i]);
        free(a->cs[i]);
    }
    free(a->cs);
    free(a->ts);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->cv);
    free(a);
}

void mtd_alerts_render_metrics(mtd_alerts *a, mtd_buf *out)
{
    if (!a)
        return;
    int64_t pending = 0, dead = 0;
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < a->nts; i++) {
        pending += a->ts[i].pending;
        dead += a->ts[i].dead;
    }
    pthread_mutex_unlock(&a->mu);
    char b[1400];
    int n = snprintf(b, sizeof b,
        "# HELP mtd_alerts_created_total Alerts made from threat detections.\n"
        "# TYPE mtd_alerts_created_total counter\nmtd_alerts_created_total %llu\n"
        "# HELP mtd_alerts_suppressed_total Active detections a suppression rule kept out of the queue.\n"
        "# TYPE mtd_alerts_suppressed_total counter\nmtd_alerts_suppressed_total %llu\n"
        "# HELP mtd_alert_deliveries_total Messages a destination took, and failed attempts.\n"
        "# TYPE mtd_alert_deliveries_total counter\nmtd_alert_deliveries_total{result=\"ok\"} %llu\n"
        "mtd_alert_deliveries_total{result=\"failed\"} %llu\n"
        "# HELP mtd_alert_outbox_pending Messages waiting for their destination (all tenants).\n"
        "# TYPE mtd_alert_outbox_pending gauge\nmtd_alert_outbox_pending %lld\n"
        "# HELP mtd_alert_dead_letters Messages given up after --alert-dead-after (all tenants).\n"
        "# TYPE mtd_alert_dead_letters gauge\nmtd_alert_dead_letters %lld\n",
        (unsigned long long)__atomic_load_n(&a->created, __ATOMIC_RELAXED),
        (unsigned long long)__atomic_load_n(&a->suppressed, __ATOMIC_RELAXED),
        (unsigned long long)__atomic_load_n(&a->delivered, __ATOMIC_RELAXED),
        (unsigned long long)__atomic_load_n(&a->failed, __ATOMIC_RELAXED), (long long)pending, (long long)dead);
    mtd_buf_append(out, b, (size_t)n);
}
