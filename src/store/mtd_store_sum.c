/* mtd_store_sum: the SQLite backend's summary tables, kept behind the writer.
 *
 * A fleet report shows each app's latest inventory row and each threat's latest
 * detection; found by a GROUP BY over the event tables, a report read the fleet's
 * history (1.5M rows for 5,000 devices x 300 apps) for any page. The summaries hold
 * one row per current (package, device), per permission of it, and per (device,
 * threat), each pointing at its latest event row, in the orders the reports page in,
 * so a page reads what it shows.
 *
 * They live in a file of their own (summary.sqlite, attached as "sm"), with its own
 * write lock, and are brought up to date by a maintainer thread after the commits
 * that add rows they cover, not inside them: an upkeep in the writer's transaction
 * (an earlier attempt, set-based statements per batch) cut bench_ingest's direct
 * rate to 0.36x, since bench_ingest's batches are all inventory rows. In the store's
 * own file they would take the writer's lock for each chunk and put every summary
 * page through the WAL the writer's checkpoints copy.
 *
 * Descriptors: a store may be one of thousands open (mtd_tenants' LRU), each SQLite
 * connection holds the file and its WAL, and each file in WAL mode a -shm. The
 * summaries therefore open no connection of their own: the maintainer and the
 * reports' catch-up work on the report connection (s->rp, under s->pmu, which the
 * reports hold anyway), the only one summary.sqlite is attached to; the chunk's
 * scratch table is in an attached in-memory database (no file, and no
 * temp_store=MEMORY on the report connection, which would keep every report's sort
 * in memory). summary.sqlite costs 3 descriptors (file, WAL, -shm), where its own
 * connection and two attachments cost 7 (test_tenants_scale ran out of them). Not
 * taken: SQLite's unix-excl VFS (no -shm, 2 descriptors) holds the file's lock for
 * as long as it is attached, so a second open of the same store in the process (the
 * decoy's ghost opens, a tenant opened again while its evicted store still closes)
 * would wait for it under the tenants' lock; a rollback journal (1 descriptor) costs
 * an fsync per chunk, 9 ms here where a WAL commit takes 0.09 ms.
 *
 * Everything here is derived: a user's deletion takes its devices' rows out of the
 * summaries in the same step for the reports and builds again those of the other
 * devices whose rows named the user (mtd_sq_sum_delete_forget); retention takes
 * out the rows its deleted rows made (an app whose latest row went, a removal's or
 * a threat's whose latest or first row went) and builds those again from what stays,
 * an older row or none (mtd_sq_sum_delete_expired); neither moves the watermark, so
 * no report after them rebuilds. A store opened without them (made before them, or
 * the file lost) builds them from w = 0. */
#include "store/mtd_store_sqlite_int.h"
#include "common/mtd_err.h"
#include "common/mtd_log.h"
#include "schema/mtd_schema.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Bumped when a table below or what the catch-up puts in it changes: the summaries
 * are then built again. */
#define SUM_VERSION 4
/* Event rows per transaction of a report's catch-up, and of the maintainer's: it
 * runs at a low priority, and a report that waits for its chunk waits at that
 * priority, so its chunks are short, and it gives up a chunk between two statements
 * when a report waits (sum_waiting). A report's are long: each chunk's commit
 * writes every summary page it touched, and a fleet's inventory, device after device,
 * touches most pages of sum_app in every chunk (keyed by package first); at 20,000
 * rows the first report after 600k new rows (bench_reports 2000 300) waited 19.3 s,
 * at 100,000 9.3 s, at 400,000 no less (11.1 s), alternated at load 6-7. A chunk's
 * scratch rows (sd.sum_d) take an estimated 25 MB at 100,000 (~250 bytes a row),
 * given back after it. */
#define SUM_CHUNK 100000
#define SUM_CHUNK_BG 4000

static const char sum_schema[] =
    "CREATE TABLE IF NOT EXISTS sm.sum_state(id INTEGER PRIMARY KEY CHECK(id=1), version INTEGER NOT NULL,"
    " w INTEGER NOT NULL);"
    /* an app's latest inventory row; live: no removal of it at or after that row's
     * time (the report's rows); side: sideloaded by its device's trusted stores, set
     * again when they change (mtd_sq_sum_side) */
    "CREATE TABLE IF NOT EXISTS sm.sum_app(package TEXT NOT NULL, device_id TEXT NOT NULL, row INTEGER NOT NULL,"
    " live INTEGER NOT NULL, side INTEGER NOT NULL, PRIMARY KEY(package, device_id)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS sm.sum_app_dev ON sum_app(device_id, package);"
    /* 1 app in 100 in bench_reports: a partial index is a hundredth of a full one */
    "CREATE INDEX IF NOT EXISTS sm.sum_app_side ON sum_app(package, device_id) WHERE side = 1;"
    /* the permissions of each app's latest row, for --permission in the apps' order */
    "CREATE TABLE IF NOT EXISTS sm.sum_app_perm(permission TEXT NOT NULL, package TEXT NOT NULL,"
    " device_id TEXT NOT NULL, PRIMARY KEY(permission, package, device_id)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS sm.sum_rm(device_id TEXT NOT NULL, package TEXT NOT NULL, t TEXT,"
    " PRIMARY KEY(device_id, package)) WITHOUT ROWID;"
    /* a threat's latest detection and its first time (tkey as the reports key it) */
    "CREATE TABLE IF NOT EXISTS sm.sum_threat(device_id TEXT NOT NULL, tkey NOT NULL, row INTEGER NOT NULL,"
    " first_seen TEXT, PRIMARY KEY(device_id, tkey)) WITHOUT ROWID;";

static const char *const sum_tables[] = {"sum_app", "sum_app_perm", "sum_rm", "sum_threat"};

/* Shared by the catch-up's chunks, the rebuild of a deletion's kept devices and the
 * removal of its devices' rows, so that each makes the rows the others would: a
 * threat's key as the reports key it, and the permissions of an inventory row's JSON
 * column c (what the report's json_each matched; text that is not JSON is none). */
#define SUM_TKEY "coalesce(threat_id, threat_name || '/' || coalesce(package, ''), x'00')"
#define SUM_PERMS(c) "json_each(CASE WHEN json_valid(" c ") THEN " c " ELSE '[]' END)"

/* One chunk of the catch-up: the event rows ?1 <= row < ?2, in order. The removals
 * first, so that an inventory row of the chunk sees them. */
static const char *const chunk_sql[] = {
    "INSERT INTO sm.sum_rm(device_id, package, t) SELECT device_id, package, max(time) FROM ev_app_lifecycle"
    " WHERE row >= ?1 AND row < ?2 AND action = 'remove' GROUP BY device_id, package"
    " ON CONFLICT(device_id, package) DO UPDATE SET t = CASE WHEN t IS NULL OR excluded.t > t"
    " THEN excluded.t ELSE t END",
    /* an app removed since its latest row is no longer current (the report's
     * "x.t IS NULL OR x.t < a.time") */
    "UPDATE sm.sum_app SET live = (SELECT r.t IS NULL OR r.t < a.time FROM ev_app_inventory a"
    " LEFT JOIN sm.sum_rm r ON r.device_id = a.device_id AND r.package = a.package WHERE a.row = sum_app.row)"
    " WHERE (package, device_id) IN (SELECT package, device_id FROM ev_app_lifecycle"
    " WHERE row >= ?1 AND row < ?2 AND action = 'remove')",
    /* bare columns of a max() group come from its max row: the latest */
    "INSERT INTO sd.sum_d(package, device_id, row, time, side, perms, chg) SELECT package, device_id,"
    " max(row), time, %s,"
    " permissions, 1 FROM ev_app_inventory WHERE row >= ?1 AND row < ?2 GROUP BY device_id, package",
    /* chg: 1 an app new to the summaries, 2 its permissions changed, 0 the same (most
     * rows: an agent reports an app again when anything of it changes) */
    "UPDATE sd.sum_d SET chg = (SELECT CASE WHEN o.permissions IS sum_d.perms THEN 0 ELSE 2 END"
    " FROM sm.sum_app s JOIN ev_app_inventory o ON o.row = s.row WHERE s.package = sum_d.package"
    " AND s.device_id = sum_d.device_id) WHERE EXISTS (SELECT 1 FROM sm.sum_app s"
    " WHERE s.package = sum_d.package AND s.device_id = sum_d.device_id)",
    /* by the old row's permissions: the entries' key leads with the permission */
    "DELETE FROM sm.sum_app_perm WHERE (permission, package, device_id) IN (SELECT j.value, d.package,"
    " d.device_id FROM sd.sum_d d JOIN sm.sum_app s ON s.package = d.package AND s.device_id = d.device_id"
    " JOIN ev_app_inventory o ON o.row = s.row, " SUM_PERMS("o.permissions") " j WHERE d.chg = 2)",
    /* what json_each finds is what the report's json_each matched */
    "INSERT OR IGNORE INTO sm.sum_app_perm(permission, package, device_id) SELECT j.value, d.package,"
    " d.device_id FROM sd.sum_d d, " SUM_PERMS("d.perms") " j"
    " WHERE d.chg AND j.value IS NOT NULL",
    "INSERT INTO sm.sum_app(package, device_id, row, live, side) SELECT package, device_id, row,"
    " coalesce((SELECT r.t IS NULL OR r.t < d.time FROM sm.sum_rm r WHERE r.device_id = d.device_id"
    " AND r.package = d.package), 1), side FROM sd.sum_d d WHERE true"
    " ON CONFLICT(package, device_id) DO UPDATE SET row = excluded.row, live = excluded.live,"
    " side = excluded.side",
    "INSERT INTO sm.sum_threat(device_id, tkey, row, first_seen) SELECT device_id,"
    " " SUM_TKEY ", max(row), min(time)"
    " FROM ev_threat_detection WHERE row >= ?1 AND row < ?2 GROUP BY 1, 2"
    " ON CONFLICT(device_id, tkey) DO UPDATE SET row = excluded.row, first_seen = CASE"
    " WHEN first_seen IS NULL OR excluded.first_seen < first_seen THEN excluded.first_seen ELSE first_seen END",
    /* the scratch rows go with the chunk: no device's apps kept in memory after it */
    "DELETE FROM sd.sum_d",
};

/* The summary rows of some devices (the ones a user's deletion kept, whose rows that
 * named the user went) built again from the rows below ?1, what the chunks would
 * have made of them: each key's latest row by one GROUP BY per table. %s: the filter
 * on device_id (build_text). */
static const char *const build_sql[] = {
    "INSERT INTO sm.sum_rm(device_id, package, t) SELECT device_id, package, max(time) FROM ev_app_lifecycle"
    " WHERE row < ?1 AND action = 'remove'%s GROUP BY device_id, package ORDER BY device_id, package",
    /* bare columns of a max() group come from its max row, as in the chunks */
    "INSERT INTO sm.sum_app(package, device_id, row, live, side) SELECT package, device_id, mrow,"
    " coalesce((SELECT r.t IS NULL OR r.t < x.time FROM sm.sum_rm r WHERE r.device_id = x.device_id"
    " AND r.package = x.package), 1), side FROM (SELECT package, device_id, max(row) AS mrow, time, %s AS side"
    " FROM ev_app_inventory WHERE row < ?1%s GROUP BY package, device_id) x ORDER BY package, device_id",
    "INSERT OR IGNORE INTO sm.sum_app_perm(permission, package, device_id) SELECT j.value, s.package,"
    " s.device_id FROM sm.sum_app s JOIN ev_app_inventory o ON o.row = s.row, " SUM_PERMS("o.permissions")
    " j WHERE j.value IS NOT NULL%s ORDER BY 1, 2, 3",
    "INSERT INTO sm.sum_threat(device_id, tkey, row, first_seen) SELECT device_id,"
    " " SUM_TKEY ", max(row), min(time)"
    " FROM ev_threat_detection WHERE row < ?1%s GROUP BY 1, 2 ORDER BY 1, 2",
};

/* The devices of a delete (sd.sum_dev; re: rows of it stay, rebuilt after) leave the
 * summaries, found by their keys; the permissions by the old rows' permissions, read
 * before the delete commits. */
static const char *const forget_sql[] = {
    "DELETE FROM sm.sum_app_perm WHERE (permission, package, device_id) IN (SELECT j.value, s.package,"
    " s.device_id FROM sd.sum_dev d JOIN sm.sum_app s ON s.device_id = d.device_id JOIN ev_app_inventory o"
    " ON o.row = s.row, " SUM_PERMS("o.permissions") " j)",
    "DELETE FROM sm.sum_app WHERE device_id IN (SELECT device_id FROM sd.sum_dev)",
    "DELETE FROM sm.sum_rm WHERE device_id IN (SELECT device_id FROM sd.sum_dev)",
    "DELETE FROM sm.sum_threat WHERE device_id IN (SELECT device_id FROM sd.sum_dev)",
};

/* Statement i of build_sql with its filter f (a clause: " AND <condition>"). */
static const char *build_text(size_t i, const char *f, char *buf, size_t len)
{
    if (i == 1) {
        char side[768];
        mtd_side_sql(side, sizeof side, "ev_app_inventory.", 0);
        snprintf(buf, len, build_sql[i], side, f);
    } else {
        snprintf(buf, len, build_sql[i], f);
    }
    return buf;
}

/* Statement i of chunk_sql, its %s (the sideloaded rule, by the trusted table as the
 * chunk's snapshot has it) filled in buf. */
static const char *chunk_text(size_t i, char *buf, size_t len)
{
    if (!strstr(chunk_sql[i], "%s"))
        return chunk_sql[i];
    char side[768];
    mtd_side_sql(side, sizeof side, "ev_app_inventory.", 0);
    snprintf(buf, len, chunk_sql[i], side);
    return buf;
}

static int exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : MTD_EIO;
}

static int64_t int_of(sqlite3 *db, const char *sql, int64_t dflt)
{
    sqlite3_stmt *st;
    int64_t v = dflt;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return dflt;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* The newest row the summaries cover (any of their event tables), plus one. */
static int64_t newest_row(sqlite3 *db)
{
    static const char *const t[] = {"ev_app_inventory", "ev_app_lifecycle", "ev_threat_detection"};
    int64_t end = 0;
    for (size_t i = 0; i < 3; i++) {
        char sql[96];
        snprintf(sql, sizeof sql, "SELECT max(row) FROM %s", t[i]);
        int64_t m = int_of(db, sql, 0) + 1;
        end = m > end ? m : end;
    }
    return end;
}

/* Ends a transaction of the report connection that went well so far (r == 0): sql
 * (if any), then COMMIT; else, or if either fails, ROLLBACK, and the summaries were
 * not what (the warning's words). */
static int finish(mtd_store *s, int r, const char *sql, const char *what)
{
    if (r == 0 && sql)
        r = exec(s->rp, sql);
    if (r == 0)
        r = exec(s->rp, "COMMIT");
    if (r) {
        mtd_log(MTD_LOG_WARN, "store", "summaries not %s: %s", what, sqlite3_errmsg(s->rp));
        exec(s->rp, "ROLLBACK");
    }
    return r;
}

/* The statement that sets the watermark to w. */
static const char *w_sql(char buf[96], int64_t w)
{
    snprintf(buf, 96, "UPDATE sm.sum_state SET w = %lld", (long long)w);
    return buf;
}

/* Empties the summaries: they cover no row (caller holds s->smu and s->pmu, no
 * transaction). */
static int clear(mtd_store *s)
{
    int r = exec(s->rp, "BEGIN");
    for (size_t i = 0; r == 0 && i < sizeof sum_tables / sizeof sum_tables[0]; i++) {
        char sql[64];
        snprintf(sql, sizeof sql, "DELETE FROM sm.%s", sum_tables[i]);
        r = exec(s->rp, sql);
    }
    char st[128];
    snprintf(st, sizeof st, "INSERT OR REPLACE INTO sm.sum_state(id, version, w) VALUES(1, %d, 0)", SUM_VERSION);
    r = finish(s, r, st, "emptied");
    s->sum_w = r ? -1 : 0;
    __atomic_store_n(&s->sum_done, -1, __ATOMIC_RELEASE);
    return r;
}

/* One chunk, rows w .. w+SUM_CHUNK (fewer when the newest is nearer), in one
 * transaction that reads one snapshot of the events; *done when it reached the newest
 * (caller holds s->smu and s->pmu). */
static int chunk_locked(mtd_store *s, int rows, int *done)
{
    /* deferred: the write lock of summary.sqlite only, never the writer's */
    if (exec(s->rp, "BEGIN") != 0)
        return MTD_EIO;
    int64_t end = newest_row(s->rp), from = s->sum_w, to = from + rows;
    if (to >= end)
        to = end, *done = 1;
    int r = 0;
    char sql[1024];
    for (size_t i = 0; r == 0 && from < to && i < sizeof chunk_sql / sizeof chunk_sql[0]; i++) {
        sqlite3_stmt *st;
        if (rows == SUM_CHUNK_BG && __atomic_load_n(&s->sum_waiting, __ATOMIC_ACQUIRE)) {
            exec(s->rp, "ROLLBACK"); /* the report takes over, at its own priority */
            return MTD_EBUSY;
        }
        if (sqlite3_prepare_v2(s->rp, chunk_text(i, sql, sizeof sql), -1, &st, NULL) != SQLITE_OK) {
            r = MTD_EIO;
            break;
        }
        if (sqlite3_bind_parameter_count(st) >= 2) {
            sqlite3_bind_int64(st, 1, from);
            sqlite3_bind_int64(st, 2, to);
        }
        r = sqlite3_step(st) == SQLITE_DONE ? 0 : MTD_EIO;
        sqlite3_finalize(st);
    }
    char w[96];
    if ((r = finish(s, r, to > from ? w_sql(w, to) : NULL, "brought up to date")) != 0)
        return r;
    if (to > from)
        s->sum_w = to;
    return 0;
}

/* A chunk on the report connection: the reports' lock is taken for one chunk at a
 * time, so a report waits for at most one (lock order: mu, smu, pmu). */
static int chunk(mtd_store *s, int rows, int *done)
{
    pthread_mutex_lock(&s->pmu);
    int r = chunk_locked(s, rows, done);
    pthread_mutex_unlock(&s->pmu);
    return r;
}

/* build_sql for the rows below w, each statement i by its filter f[i] (see
 * build_text; NULL: not run), in the caller's transaction on the report connection. */
static int build_rows(mtd_store *s, int64_t w, const char *const f[4])
{
    char sql[2048];
    for (size_t i = 0; i < sizeof build_sql / sizeof build_sql[0]; i++) {
        sqlite3_stmt *st;
        if (!f[i])
            continue;
        if (sqlite3_prepare_v2(s->rp, build_text(i, f[i], sql, sizeof sql), -1, &st, NULL) != SQLITE_OK)
            return MTD_EIO;
        if (sqlite3_bind_parameter_count(st) >= 1)
            sqlite3_bind_int64(st, 1, w);
        int rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            return MTD_EIO;
    }
    return 0;
}

/* build_rows for the devices whose device_id meets the test d. */
static int build_devices(mtd_store *s, int64_t w, const char *d)
{
    char a[160], b[160];
    snprintf(a, sizeof a, " AND device_id %s", d);
    snprintf(b, sizeof b, " AND s.device_id %s", d);
    const char *const f[4] = {a, a, b, a};
    return build_rows(s, w, f);
}

/* Brings the summaries to the newest row (caller holds s->smu). Once they reach it,
 * sum_done takes the commits' count (sum_gen) read before: until a commit adds rows
 * they cover, a report need not look (a catch-up that finds nothing still costs a
 * transaction and three reads, which a small report would pay every time). */
static int catch_up(mtd_store *s, int max_chunks, int rows)
{
    int64_t gen = __atomic_load_n(&s->sum_gen, __ATOMIC_ACQUIRE);
    if (s->sum_w < 0) {
        pthread_mutex_lock(&s->pmu);
        int r = clear(s);
        pthread_mutex_unlock(&s->pmu);
        if (r)
            return MTD_EIO;
    }
    int done = 0, r = 0;
    for (int i = 0; r == 0 && !done && (max_chunks <= 0 || i < max_chunks); i++)
        r = chunk(s, rows, &done);
    if (r == 0 && done)
        __atomic_store_n(&s->sum_done, gen, __ATOMIC_RELEASE);
    return r;
}

int mtd_sq_sum_sync(mtd_store *s)
{
    if (__atomic_load_n(&s->sum_done, __ATOMIC_ACQUIRE) == __atomic_load_n(&s->sum_gen, __ATOMIC_ACQUIRE))
        return 0;
    __atomic_add_fetch(&s->sum_waiting, 1, __ATOMIC_ACQ_REL);
    pthread_mutex_lock(&s->smu);
    __atomic_sub_fetch(&s->sum_waiting, 1, __ATOMIC_ACQ_REL);
    int r = catch_up(s, 0, SUM_CHUNK);
    pthread_mutex_unlock(&s->smu);
    return r;
}

/* The maintainer: one thread for every store of the process (a thread per store
 * would be thousands for thousands of tenants), at a low priority (nice 10: it takes
 * what the writer and the HTTP workers leave, not a share of theirs, but is not
 * starved while a report waits for its chunk). A store is queued once (sum_want);
 * the thread catches it up a chunk at a time, releasing s->smu between chunks so a
 * report takes over, and ends after SUM_IDLE_S idle. */
#define SUM_IDLE_S 30

static struct {
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    mtd_store *head, *tail;
    int running, idle;
} sumq = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0, 0};

/* Waits until the store's writer has paused (no commit kicked for SUM_QUIET_MS) or
 * SUM_BACKLOG rows wait: during a burst of uploads the maintainer takes no CPU from
 * them (bench_ingest's direct rate fell ~20% on a loaded machine when it ran beside,
 * woken by gaps of 20 ms between commits), and a chunk that comes later folds an
 * app's repeated rows into one. Under uploads that never pause, the upkeep still has
 * to be paid: once per SUM_BACKLOG rows. A report in a burst catches up the rows
 * since itself: at most about SUM_BACKLOG, ~1 s. */
#define SUM_QUIET_MS 250
#define SUM_BACKLOG 500000

static void quiet(mtd_store *s)
{
    int64_t since = __atomic_load_n(&s->sum_rows, __ATOMIC_ACQUIRE);
    for (;;) {
        int64_t gen = __atomic_load_n(&s->sum_gen, __ATOMIC_ACQUIRE);
        struct timespec ts = {0, SUM_QUIET_MS * 1000000L};
        nanosleep(&ts, NULL);
        if (__atomic_load_n(&s->sum_stopped, __ATOMIC_ACQUIRE) || __atomic_load_n(&s->sum_gen, __ATOMIC_ACQUIRE) == gen ||
            __atomic_load_n(&s->sum_rows, __ATOMIC_ACQUIRE) - since >= SUM_BACKLOG)
            return;
    }
}

static void *maintainer(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "mtd-summaries");
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
    pthread_mutex_lock(&sumq.mu);
    for (;;) {
        if (!sumq.head) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += SUM_IDLE_S;
            sumq.idle = 1;
            int rc = pthread_cond_timedwait(&sumq.work, &sumq.mu, &until);
            sumq.idle = 0;
            if (rc == ETIMEDOUT && !sumq.head)
                break;
            continue;
        }
        mtd_store *s = sumq.head;
        sumq.head = s->sum_qnext;
        if (!sumq.head)
            sumq.tail = NULL;
        s->sum_qnext = NULL;
        s->sum_want = 0;
        s->sum_busy = 1;
        pthread_mutex_unlock(&sumq.mu);
        quiet(s);
        for (int r = 0, left = 1; r == 0 && left && !__atomic_load_n(&s->sum_stopped, __ATOMIC_ACQUIRE);) {
            pthread_mutex_lock(&s->smu);
            int64_t w = s->sum_w;
            r = catch_up(s, 1, SUM_CHUNK_BG);
            left = s->sum_w != w;
            pthread_mutex_unlock(&s->smu);
        }
        pthread_mutex_lock(&sumq.mu);
        s->sum_busy = 0;
        pthread_cond_broadcast(&sumq.done);
    }
    sumq.running = 0;
    pthread_mutex_unlock(&sumq.mu);
    return NULL;
}

void mtd_sq_sum_kick(mtd_store *s, int64_t rows)
{
    __atomic_add_fetch(&s->sum_rows, rows, __ATOMIC_RELEASE);
    __atomic_add_fetch(&s->sum_gen, 1, __ATOMIC_RELEASE);
    pthread_mutex_lock(&sumq.mu);
    if (!s->sum_want && !s->sum_stopped) {
        s->sum_want = 1;
        if (sumq.tail)
            sumq.tail->sum_qnext = s;
        else
            sumq.head = s;
        sumq.tail = s;
    }
    if (!sumq.running) {
        pthread_t th;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        /* without the thread, the reports catch up themselves */
        if (pthread_create(&th, &at, maintainer, NULL) == 0)
            sumq.running = 1;
        pthread_attr_destroy(&at);
    }
    pthread_cond_signal(&sumq.work);
    pthread_mutex_unlock(&sumq.mu);
}

int mtd_sq_sum_idle(mtd_store *s)
{
    pthread_mutex_lock(&sumq.mu);
    int idle = !s->sum_want && !s->sum_busy;
    pthread_mutex_unlock(&sumq.mu);
    return idle;
}

/* Attaches summary.sqlite as sm to the report connection, and the chunks' scratch
 * database sd. */
static int attach(mtd_store *s)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->rp, "ATTACH ? AS sm", -1, &st, NULL) != SQLITE_OK)
        return MTD_EIO;
    sqlite3_bind_text(st, 1, s->sum_path, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    /* auto_vacuum: a chunk's rows are given back, not kept as free pages per store */
    return rc == SQLITE_DONE && exec(s->rp, "ATTACH ':memory:' AS sd; PRAGMA sd.auto_vacuum=FULL;"
                                            " CREATE TABLE sd.sum_d(package, device_id, row, time, side,"
                                            " perms, chg, PRIMARY KEY(package, device_id)) WITHOUT ROWID;"
                                            " CREATE TABLE sd.sum_dev(device_id TEXT PRIMARY KEY, re INTEGER NOT NULL)"
                                            " WITHOUT ROWID;"
                                            " CREATE TABLE sd.exp_app(package, device_id, PRIMARY KEY(package,"
                                            " device_id)) WITHOUT ROWID;"
                                            " CREATE TABLE sd.exp_rm(device_id, package, PRIMARY KEY(device_id,"
                                            " package)) WITHOUT ROWID;"
                                            " CREATE TABLE sd.exp_threat(device_id, tkey, PRIMARY KEY(device_id,"
                                            " tkey)) WITHOUT ROWID") == 0
               ? 0 : MTD_EIO;
}

/* Another version's summaries, or ones past the store's rows (the store's file
 * replaced by an older one), are built again; tables of another shape made anew. */
static int check_version(mtd_store *s)
{
    int64_t v = int_of(s->rp, "SELECT version FROM sm.sum_state", -1);
    s->sum_w = int_of(s->rp, "SELECT w FROM sm.sum_state", -1);
    if (v != SUM_VERSION || s->sum_w > newest_row(s->rp))
        s->sum_w = -1;
    int r = 0;
    if (v >= 0 && v != SUM_VERSION) {
        for (size_t i = 0; r == 0 && i < sizeof sum_tables / sizeof sum_tables[0]; i++) {
            char sql[64];
            snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS sm.%s", sum_tables[i]);
            r = exec(s->rp, sql);
        }
        if (r == 0)
            r = exec(s->rp, sum_schema);
    }
    return r;
}

/* At the store's open, before any report (no lock needed yet). */
int mtd_sq_sum_open(mtd_store *s, char *why, size_t wl)
{
    static const char *const covered[] = {"app.inventory", "app.lifecycle", "threat.detection"};
    for (size_t i = 0; i < 3; i++)
        s->sum_types |= mtd_sq_type_bit(mtd_schema_event(covered[i]));
    /* their upkeep touches pages all over (apps by package, rows by device): SQLite's
     * 2 MiB default cache made it I/O */
    int r = attach(s) != 0 || exec(s->rp, "PRAGMA sm.journal_mode=WAL; PRAGMA sm.synchronous=NORMAL;"
                                          " PRAGMA sm.secure_delete=ON; PRAGMA sm.cache_size=-32768;") != 0 ||
                    exec(s->rp, sum_schema) != 0 || check_version(s) != 0 ? MTD_EIO : 0;
    /* SQLite's autocheckpoint (1000 pages) stays on for rp: only summary.sqlite is
     * written there; the store's WAL is the checkpointer pool's (mtd_store_wal.c) */
    s->sum_done = -1; /* not known to be caught up */
    if (r || (s->sum_w < 0 && clear(s) != 0)) {
        snprintf(why, wl, "%s: %s", s->sum_path, sqlite3_errmsg(s->rp));
        return MTD_EIO;
    }
    if (s->sum_w < newest_row(s->rp)) /* made before the summaries, or rows since */
        mtd_sq_sum_kick(s, 0);
    return 0;
}

/* A delete of event rows and the summaries' change are one step for every reader:
 * the reports read summary.sqlite and the event tables on one connection (rp) under
 * pmu, so the delete's COMMIT and the change (removal before it, rebuild after it, or
 * the emptying) happen with pmu held, and smu keeps chunks out (one read before the
 * COMMIT would point at rows about to go). A report sees the rows and summaries
 * before the delete, or both after it. Before, the deletes committed first and the
 * summaries were emptied after (retention: one commit per table, the emptying after
 * the last), so a report in between showed, e.g., a threat whose older detection was
 * gone with that detection's time as its first_seen (test_sum_race). The summaries'
 * change commits first: a crash between the two commits leaves them empty or of
 * version 0 (built again), never pointing at rows the store no longer has. */
void mtd_sq_sum_delete_lock(mtd_store *s)
{
    pthread_mutex_lock(&s->smu);
    pthread_mutex_lock(&s->pmu);
}

int mtd_sq_sum_delete_clear(mtd_store *s)
{
    s->sum_forgot = 2;
    return clear(s);
}

/* The device ids of the first column of sql on the writer's connection (caller holds
 * s->mu, in the delete's transaction), appended to devs. */
int mtd_sq_sum_devices(mtd_store *s, const char *sql, int n, const char *const *p, json_t *devs)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return MTD_EIO;
    for (int i = 0; i < n; i++)
        sqlite3_bind_text(st, i + 1, p[i], -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (sqlite3_column_type(st, 0) == SQLITE_TEXT)
            json_array_append_new(devs, json_string((const char *)sqlite3_column_text(st, 0)));
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : MTD_EIO;
}

static int fill_devs(mtd_store *s, json_t *devs, int re)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->rp, "INSERT OR REPLACE INTO sd.sum_dev(device_id, re) VALUES(?1, ?2)", -1, &st,
                           NULL) != SQLITE_OK)
        return MTD_EIO;
    size_t i;
    json_t *d;
    int r = 0;
    json_array_foreach(devs, i, d) {
        sqlite3_bind_text(st, 1, json_string_value(d), -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, re);
        r = sqlite3_step(st) == SQLITE_DONE ? r : MTD_EIO;
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return r;
}

/* Before the delete's COMMIT (under mtd_sq_sum_delete_lock): the devices' summary
 * rows go, gone: devices none of whose rows stay, kept: devices rebuilt after the
 * COMMIT from what stays (mtd_sq_sum_delete_unlock). The other devices' rows stay as
 * they are, and so does the watermark: no report rebuilds the summaries after a
 * user's deletion, which emptied them (17-26 s for 1.5M rows). sum_state.version is
 * 0 until the rebuild: a crash in between, or a delete whose COMMIT came and no
 * rebuild, leaves a version that is built again at the next open, never summaries
 * that miss a device's rows or point at deleted ones. */
int mtd_sq_sum_delete_forget(mtd_store *s, json_t *gone, json_t *kept)
{
    if (s->sum_w <= 0) /* empty, or to be emptied at the next catch-up */
        return 0;
    int r = exec(s->rp, "BEGIN");
    if (r == 0)
        r = exec(s->rp, "DELETE FROM sd.sum_dev");
    if (r == 0)
        r = fill_devs(s, gone, 0);
    if (r == 0)
        r = fill_devs(s, kept, 1);
    for (size_t i = 0; r == 0 && i < sizeof forget_sql / sizeof forget_sql[0]; i++)
        r = exec(s->rp, forget_sql[i]);
    if (finish(s, r, "UPDATE sm.sum_state SET version = 0", "of the deleted devices removed (emptied instead)") == 0) {
        s->sum_forgot = 1;
        return 0;
    }
    return mtd_sq_sum_delete_clear(s);
}

/* After the COMMIT (or the ROLLBACK): the kept devices' rows below the watermark
 * from what stays (every listed device's, the delete not committed), and the
 * version back. */
static void rebuild_forgotten(mtd_store *s, int committed)
{
    int64_t n = int_of(s->rp, committed ? "SELECT count(*) FROM sd.sum_dev WHERE re" : "SELECT count(*) FROM sd.sum_dev", 1);
    int r = exec(s->rp, "BEGIN");
    if (r == 0 && n) /* each pass reads the event tables whole: none for a user's own devices */
        r = build_devices(s, s->sum_w, committed ? "IN (SELECT device_id FROM sd.sum_dev WHERE re)"
                                                 : "IN (SELECT device_id FROM sd.sum_dev)");
    char v[80];
    snprintf(v, sizeof v, "UPDATE sm.sum_state SET version = %d", SUM_VERSION);
    if (r == 0)
        r = exec(s->rp, "DELETE FROM sd.sum_dev");
    if (finish(s, r, v, "of the deleted devices rebuilt (emptied instead)") != 0) {
        exec(s->rp, "DELETE FROM sd.sum_dev");
        mtd_sq_sum_delete_clear(s); /* or, failing, emptied at the next catch-up (sum_w -1) */
    }
}

/* Retention (rows received before a cutoff deleted, each table its own; read before
 * the delete commits, ?1 the table's cutoff): the summary rows whose value the
 * deleted rows made. An app's row, if its latest row goes (then an older row, or
 * none); a removal's time (the latest), if a removal of that time goes (another of
 * the same time may stay; none, and the entry goes); a threat's row and first_seen,
 * if its latest detection or one of its first time goes. Any other summary row keeps
 * its value: the rows it names stay, and a maximum or minimum whose row stays is the
 * same without the others. An app's live follows its removal's time (done after the
 * rebuild, expire_live); its permissions its row. Driven by the deleted rows (the
 * event table's order), each looked up in its summary by key: a day's expired rows
 * are a small part of the fleet's summaries. */
static const char *const expire_find[] = {
    "INSERT OR IGNORE INTO sd.exp_app(package, device_id) SELECT s.package, s.device_id FROM ev_app_inventory a"
    " CROSS JOIN sm.sum_app s ON s.package = a.package AND s.device_id = a.device_id"
    " WHERE a.received_at < ?1 AND s.row = a.row",
    "INSERT OR IGNORE INTO sd.exp_rm(device_id, package) SELECT r.device_id, r.package FROM ev_app_lifecycle l"
    " CROSS JOIN sm.sum_rm r ON r.device_id = l.device_id AND r.package = l.package"
    " WHERE l.received_at < ?1 AND l.action = 'remove' AND l.time IS r.t",
    "INSERT OR IGNORE INTO sd.exp_threat(device_id, tkey) SELECT s.device_id, s.tkey FROM ev_threat_detection d"
    " CROSS JOIN sm.sum_threat s ON s.device_id = d.device_id AND s.tkey = " SUM_TKEY
    " WHERE d.received_at < ?1 AND (s.row = d.row OR d.time IS s.first_seen)",
};
/* the covered event type each of expire_find reads */
static const char *const expire_type[] = {"app.inventory", "app.lifecycle", "threat.detection"};

/* Those rows leave the summaries before the delete's COMMIT (the permissions by the
 * old rows', which are still there), built again after it (expire_filter). */
static const char *const expire_drop[] = {
    "DELETE FROM sm.sum_app_perm WHERE (permission, package, device_id) IN (SELECT j.value, s.package,"
    " s.device_id FROM sd.exp_app k JOIN sm.sum_app s ON s.package = k.package AND s.device_id = k.device_id"
    " JOIN ev_app_inventory o ON o.row = s.row, " SUM_PERMS("o.permissions") " j)",
    "DELETE FROM sm.sum_app WHERE (package, device_id) IN (SELECT package, device_id FROM sd.exp_app)",
    "DELETE FROM sm.sum_rm WHERE (device_id, package) IN (SELECT device_id, package FROM sd.exp_rm)",
    "DELETE FROM sm.sum_threat WHERE (device_id, tkey) IN (SELECT device_id, tkey FROM sd.exp_threat)",
};

/* build_sql's filters for them, by the scratch table each reads */
static const char *const expire_filter[] = {
    " AND (device_id, package) IN (SELECT device_id, package FROM sd.exp_rm)",
    " AND (package, device_id) IN (SELECT package, device_id FROM sd.exp_app)",
    " AND (s.package, s.device_id) IN (SELECT package, device_id FROM sd.exp_app)",
    " AND (device_id, " SUM_TKEY ") IN (SELECT device_id, tkey FROM sd.exp_threat)",
};
static const char *const expire_scratch[] = {"exp_rm", "exp_app", "exp_app", "exp_threat"};

/* The apps whose removal's time changed, by it (the chunk's live) */
static const char expire_live[] =
    "UPDATE sm.sum_app SET live = (SELECT r.t IS NULL OR r.t < a.time FROM ev_app_inventory a"
    " LEFT JOIN sm.sum_rm r ON r.device_id = a.device_id AND r.package = a.package WHERE a.row = sum_app.row)"
    " WHERE (package, device_id) IN (SELECT package, device_id FROM sd.exp_rm)";

static int exec_cut(mtd_store *s, const char *sql, int64_t cut)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->rp, sql, -1, &st, NULL) != SQLITE_OK)
        return MTD_EIO;
    sqlite3_bind_int64(st, 1, cut);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : MTD_EIO;
}

static int empty_scratch(mtd_store *s)
{
    return exec(s->rp, "DELETE FROM sd.exp_app; DELETE FROM sd.exp_rm; DELETE FROM sd.exp_threat");
}

/* Before the retention's COMMIT (under mtd_sq_sum_delete_lock; cut[i]: the rows of
 * event type i received before it are deleted, INT64_MIN none): the summary rows the
 * deleted rows made leave them, and are built again after the COMMIT from what stays
 * (mtd_sq_sum_delete_unlock). The watermark stays: the next report does not rebuild
 * the summaries, which retention emptied (17-26 s for 1.5M rows). version is 0 until
 * the rebuild, as for a user's deletion (mtd_sq_sum_delete_forget). */
int mtd_sq_sum_delete_expired(mtd_store *s, const int64_t *cut)
{
    if (s->sum_w <= 0) /* empty, or to be emptied at the next catch-up */
        return 0;
    int r = exec(s->rp, "BEGIN");
    if (r == 0)
        r = empty_scratch(s);
    for (size_t i = 0; r == 0 && i < sizeof expire_find / sizeof expire_find[0]; i++) {
        int64_t c = cut[mtd_schema_event(expire_type[i]) - mtd_event_types];
        if (c != INT64_MIN) /* each reads its event table whole */
            r = exec_cut(s, expire_find[i], c);
    }
    for (size_t i = 0; r == 0 && i < sizeof expire_drop / sizeof expire_drop[0]; i++)
        r = exec(s->rp, expire_drop[i]);
    if (finish(s, r, "UPDATE sm.sum_state SET version = 0", "of the expired rows removed (emptied instead)") == 0) {
        s->sum_forgot = 3;
        return 0;
    }
    empty_scratch(s);
    return mtd_sq_sum_delete_clear(s);
}

/* After the retention's COMMIT (or ROLLBACK: the same rows built again from the
 * restored ones): the removed summary rows from the rows that stay below the
 * watermark, each table only if it lost any (each pass reads its event table whole),
 * and the version back. */
static void rebuild_expired(mtd_store *s)
{
    const char *f[4];
    for (size_t i = 0; i < 4; i++) {
        char sql[64];
        snprintf(sql, sizeof sql, "SELECT EXISTS (SELECT 1 FROM sd.%s)", expire_scratch[i]);
        f[i] = int_of(s->rp, sql, 1) ? expire_filter[i] : NULL;
    }
    int r = exec(s->rp, "BEGIN");
    if (r == 0)
        r = build_rows(s, s->sum_w, f);
    if (r == 0 && f[0])
        r = exec(s->rp, expire_live);
    if (r == 0)
        r = empty_scratch(s);
    char v[80];
    snprintf(v, sizeof v, "UPDATE sm.sum_state SET version = %d", SUM_VERSION);
    if (finish(s, r, v, "of the expired rows rebuilt (emptied instead)") != 0) {
        empty_scratch(s);
        mtd_sq_sum_delete_clear(s); /* or, failing, emptied at the next catch-up (sum_w -1) */
    }
}

void mtd_sq_sum_delete_unlock(mtd_store *s, int committed)
{
    if (s->sum_forgot == 1)
        rebuild_forgotten(s, committed);
    else if (s->sum_forgot == 3)
        rebuild_expired(s);
    int changed = s->sum_forgot, cleared = s->sum_forgot == 2; /* rebuild_* may have set it */
    s->sum_forgot = 0;
    /* the removed pages are zeroed (secure_delete), the WAL still holds them: truncated
     * while no report reads (as mtd_sq_wal_truncate) */
    if (changed && sqlite3_wal_checkpoint_v2(s->rp, "sm", SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) != SQLITE_OK)
        mtd_log(MTD_LOG_WARN, "store", "summary WAL not truncated after a delete: %s", sqlite3_errmsg(s->rp));
    pthread_mutex_unlock(&s->pmu);
    pthread_mutex_unlock(&s->smu);
    if (cleared)
        mtd_sq_sum_kick(s, 0);
}

/* Kept materialized, not decided at read time: the sideloaded page is a range of the
 * partial index sum_app_side (1 app in 100 in bench_reports); a condition on each
 * app's installer would read a hundred rows for each it shows. A policy change is
 * rare, and its UPDATE writes only the rows whose side changes. */
int mtd_sq_sum_side(mtd_store *s, const char *where, const char *param)
{
    char side[768], sql[1280];
    mtd_side_sql(side, sizeof side, "a.", 0);
    snprintf(sql, sizeof sql, "UPDATE sm.sum_app SET side = 1 - side WHERE side <> (SELECT %s FROM"
                              " ev_app_inventory a WHERE a.row = sum_app.row)%s", side, where);
    pthread_mutex_lock(&s->smu);
    pthread_mutex_lock(&s->pmu);
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(s->rp, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        if (param)
            sqlite3_bind_text(st, 1, param, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
    }
    if (rc != SQLITE_DONE)
        mtd_log(MTD_LOG_WARN, "store", "sideloaded apps not set again: %s", sqlite3_errmsg(s->rp));
    pthread_mutex_unlock(&s->pmu);
    pthread_mutex_unlock(&s->smu);
    return rc == SQLITE_DONE ? 0 : MTD_EIO;
}

/* Whether the summaries cover every row they did at the caller's sync, not emptied
 * by a delete since (caller holds s->pmu): clear() sets sum_done to -1 under pmu, and
 * only a catch-up that reached the newest row sets it again. */
static int whole(mtd_store *s)
{
    return __atomic_load_n(&s->sum_done, __ATOMIC_ACQUIRE) >= 0;
}

json_t *mtd_sq_sum_read(mtd_store *s, mtd_sq_sum_fn fn, void *ctx)
{
    if (mtd_sq_sum_sync(s) != 0)
        return NULL;
    pthread_mutex_lock(&s->pmu);
    if (whole(s)) {
        json_t *o = fn(s, ctx);
        pthread_mutex_unlock(&s->pmu);
        return o;
    }
    pthread_mutex_unlock(&s->pmu);
    /* a delete emptied them after the sync: catch up again, and read holding smu,
     * which the next delete needs, so this read cannot be emptied under too */
    __atomic_add_fetch(&s->sum_waiting, 1, __ATOMIC_ACQ_REL);
    pthread_mutex_lock(&s->smu);
    __atomic_sub_fetch(&s->sum_waiting, 1, __ATOMIC_ACQ_REL);
    json_t *o = NULL;
    if (catch_up(s, 0, SUM_CHUNK) == 0) {
        pthread_mutex_lock(&s->pmu);
        o = fn(s, ctx);
        pthread_mutex_unlock(&s->pmu);
    }
    pthread_mutex_unlock(&s->smu);
    return o;
}

typedef struct {
    const char *sql;
    const mtd_keyset *ks;
    int n;
    const char *const *p;
    mtd_page *pg;
} keyed_read;

static json_t *rows_run(void *s, const char *sql, int n, const char *const *p)
{
    return mtd_sq_rows(s, sql, n, p);
}

static json_t *keyed_fn(mtd_store *s, void *ctx)
{
    keyed_read *k = ctx;
    return k->ks ? mtd_keyset_report(k->sql, k->ks, k->n, k->p, k->pg, 0, rows_run, s)
                 : mtd_sq_rows(s, k->sql, k->n, k->p);
}

json_t *mtd_sq_sum_keyed(mtd_store *s, const char *sql, const mtd_keyset *ks, int n, const char *const *p,
                         mtd_page *pg)
{
    keyed_read k = {sql, ks, n, p, pg};
    return mtd_sq_sum_read(s, keyed_fn, &k);
}

json_t *mtd_sq_sum_rows(mtd_store *s, const char *sql, int n, const char *const *p)
{
    keyed_read k = {sql, NULL, n, p, NULL};
    return mtd_sq_sum_read(s, keyed_fn, &k);
}

void mtd_sq_sum_close(mtd_store *s)
{
    pthread_mutex_lock(&sumq.mu);
    __atomic_store_n(&s->sum_stopped, 1, __ATOMIC_RELEASE); /* a pass running ends after its chunk */
    if (s->sum_want) {
        mtd_store **pp = &sumq.head, *prev = NULL;
        while (*pp != s) {
            prev = *pp;
            pp = &(*pp)->sum_qnext;
        }
        *pp = s->sum_qnext;
        if (sumq.tail == s)
            sumq.tail = prev;
        s->sum_qnext = NULL;
        s->sum_want = 0;
    }
    while (s->sum_busy)
        pthread_cond_wait(&sumq.done, &sumq.mu);
    pthread_mutex_unlock(&sumq.mu);
}
