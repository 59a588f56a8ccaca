/* mtd_store_wal: WAL checkpoints off the commit path.
 *
 * SQLite's default checkpoints the WAL inside the commit that crosses 1,000 pages:
 * that commit then copies 16 MiB into the database file and waits for two fsyncs,
 * while every batch queued behind it waits too (bench_ingest measured a third of the
 * ingest time there). Here the commit only signals; a thread of the checkpointer pool
 * (shared by every store, at most 4 threads) copies the frames on the store's own
 * checkpointer connection while the writer goes on (PASSIVE). The WAL starts over
 * only when a transaction begins with every frame copied, which never happens while a
 * busy writer keeps committing: so once the WAL holds 64 MiB the checkpointer makes
 * more passes, each copying what the writer committed during the last, and when that
 * is little it asks the writer to copy the rest itself, in its next commit, between
 * two transactions (test_store: 165 MiB through the store leave a WAL under 40 MiB when
 * the checkpointer keeps up).
 * Earlier the checkpointer took the writer lock for that last pass; under load the
 * lock came late and the pass held every batch for up to 300 ms.
 *
 * A commit never waits for the checkpointer. While a report reads an old snapshot no
 * checkpoint can copy past it and the WAL grows; when the report ends, the next pass
 * copies it all. A commit that copied it instead (a backstop at 256 MiB, removed) held
 * its batches for 1.4-9 s after a fleet-wide report (bench_reports), and bounded
 * nothing that the checkpointer does not. */
#include "store/mtd_store_sqlite_int.h"
#include "common/mtd_err.h"
#include "common/mtd_log.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

#define CKPT_SOFT 1024   /* pages in the WAL (16 MiB): wake the checkpointer */
#define CKPT_REWIND 4096 /* 64 MiB: have the WAL start over */
#define CKPT_TAIL 256    /* 4 MiB: few enough pages for the writer to copy in a commit */
#define CKPT_PASSES 8    /* passes to get there, if the writer outpaces the copy */

/* One checkpoint. Only one runs at a time (a second one gets SQLITE_BUSY at once,
 * without waiting), so they take turns on s->ckrun: a truncate after a delete waits
 * for the checkpointer's pass to end instead of failing. */
static int checkpoint(mtd_store *s, sqlite3 *db, int mode, int *frames, int *copied)
{
    pthread_mutex_lock(&s->ckrun);
    int rc = sqlite3_wal_checkpoint_v2(db, NULL, mode, frames, copied);
    pthread_mutex_unlock(&s->ckrun);
    return rc;
}

/* Copies the WAL beside the writer; once it is long, goes on until little is left
 * to copy, and leaves that little to the writer's next commit (on_commit). While a
 * reader's snapshot holds the copy back, what is left stays large: then it only
 * wakes again after CKPT_TAIL more pages, and leaves nothing to the writer (which
 * otherwise copied the whole backlog when a fleet-wide report ended: a 4 s commit,
 * bench_reports). */
static void copy_wal(mtd_store *s)
{
    int frames = 0, copied = 0;
    checkpoint(s, s->ck, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied);
    if (frames < CKPT_REWIND) {
        /* wake again when another CKPT_SOFT pages come */
        __atomic_store_n(&s->ck_next, frames + CKPT_SOFT, __ATOMIC_RELAXED);
        return;
    }
    for (int pass = 0; pass < CKPT_PASSES && frames - copied > CKPT_TAIL; pass++) {
        int before = copied;
        checkpoint(s, s->ck, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied);
        if (copied == before)
            break; /* a reader holds it back */
    }
    if (frames - copied > CKPT_TAIL) {
        __atomic_store_n(&s->ck_next, frames + CKPT_TAIL, __ATOMIC_RELAXED);
        return;
    }
    __atomic_store_n(&s->ck_rewind, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&s->ck_next, 0, __ATOMIC_RELAXED);
}

/* The checkpointer pool: at most POOL_MAX threads for every store of the process,
 * where each store had a thread of its own once its WAL first reached 16 MiB (a
 * collector holding thousands of busy tenants held thousands of threads). A store
 * wanting a pass is queued once (ck_want); a thread takes it off the queue, makes the
 * pass, and takes the next. A thread idle for POOL_IDLE_S ends. Lock order: a
 * store's mu, then pool.mu. */
#define POOL_MAX 4
#define POOL_IDLE_S 30

static struct {
    pthread_mutex_t mu;
    pthread_cond_t work; /* a store was queued */
    pthread_cond_t done; /* a pass ended (mtd_sq_wal_stop waits for its store's) */
    mtd_store *head, *tail;
    int threads, idle;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0, 0};

/* The checkpointer's connection, opened by the pool on the store's first pass. */
static int open_ck(mtd_store *s)
{
    if (mtd_sq_connect(s, 0, &s->ck, NULL, 0) != 0)
        return MTD_EIO;
    /* a connection learns that the database is in WAL mode when it first reads it;
     * until then its checkpoints do nothing */
    if (sqlite3_exec(s->ck, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) != SQLITE_OK)
        return MTD_EIO;
    return 0;
}

/* One pass for the store s (pool.mu not held). */
static void pass(mtd_store *s)
{
    if (!s->ck && open_ck(s) != 0) {
        mtd_log(MTD_LOG_WARN, "store", "no checkpointer connection; the commits checkpoint the WAL");
        __atomic_store_n(&s->ck_failed, 1, __ATOMIC_RELEASE);
        return;
    }
    copy_wal(s);
}

static void *pool_thread(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&pool.mu);
    for (;;) {
        if (!pool.head) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += POOL_IDLE_S;
            pool.idle++;
            int rc = pthread_cond_timedwait(&pool.work, &pool.mu, &until);
            pool.idle--;
            if (rc == ETIMEDOUT && !pool.head)
                break;
            continue;
        }
        mtd_store *s = pool.head;
        pool.head = s->ck_qnext;
        if (!pool.head)
            pool.tail = NULL;
        s->ck_qnext = NULL;
        s->ck_want = 0;
        s->ck_busy = 1;
        pthread_mutex_unlock(&pool.mu);
        pass(s);
        pthread_mutex_lock(&pool.mu);
        s->ck_busy = 0;
        pthread_cond_broadcast(&pool.done);
    }
    pool.threads--;
    pthread_mutex_unlock(&pool.mu);
    return NULL;
}

/* Queues a pass for s (once: a store queued or in a pass is not queued again, and a
 * pass starts from the WAL as it is then); starts a thread when none is idle and
 * fewer than POOL_MAX run. 0, or MTD_ENOMEM when no thread runs and none starts. */
static int pool_want(mtd_store *s)
{
    int r = 0;
    pthread_mutex_lock(&pool.mu);
    if (!s->ck_want && !s->ck_busy) {
        s->ck_want = 1;
        if (pool.tail)
            pool.tail->ck_qnext = s;
        else
            pool.head = s;
        pool.tail = s;
    }
    if (pool.idle == 0 && pool.threads < POOL_MAX) {
        pthread_t th;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&th, &at, pool_thread, NULL) == 0)
            pool.threads++;
        else if (pool.threads == 0)
            r = MTD_ENOMEM;
        pthread_attr_destroy(&at);
    }
    pthread_cond_signal(&pool.work);
    pthread_mutex_unlock(&pool.mu);
    return r;
}

int mtd_store_checkpointer_threads(void)
{
    pthread_mutex_lock(&pool.mu);
    int n = pool.threads;
    pthread_mutex_unlock(&pool.mu);
    return n;
}

int mtd_sq_wal_idle(mtd_store *s)
{
    pthread_mutex_lock(&pool.mu);
    int idle = !s->ck_want && !s->ck_busy;
    pthread_mutex_unlock(&pool.mu);
    return idle;
}

/* A truncate waits for every reader to reach the newest snapshot (up to the busy
 * timeout): it takes the reports' lock so that no report, which can run for seconds,
 * is reading meanwhile and leaves the deleted rows' old pages in the WAL. */
int mtd_sq_wal_truncate(mtd_store *s)
{
    pthread_mutex_lock(&s->pmu);
    int rc = checkpoint(s, s->db, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    pthread_mutex_unlock(&s->pmu);
    if (rc != SQLITE_OK)
        mtd_log(MTD_LOG_WARN, "store", "WAL not truncated after a delete (%s); the next delete retries",
                sqlite3_errstr(rc));
    return rc == SQLITE_OK ? 0 : MTD_EBUSY;
}

/* The writer's commit hook (it holds s->mu). */
static int on_commit(void *arg, sqlite3 *db, const char *name, int frames)
{
    mtd_store *s = arg;
    (void)name;
    int last = s->ck_frames;
    s->ck_frames = frames;
    /* Fewer pages than after the last commit: the WAL started over because every page
     * had been copied. ck_next still counts from the old WAL, and kept the checkpointer
     * asleep until the new one had grown as far (up to 64 MiB uncopied). */
    if (frames < last)
        __atomic_store_n(&s->ck_next, CKPT_SOFT, __ATOMIC_RELAXED);
    if (frames < __atomic_load_n(&s->ck_next, __ATOMIC_RELAXED))
        return SQLITE_OK;
    if (__atomic_load_n(&s->ck_rewind, __ATOMIC_ACQUIRE)) {
        /* the checkpointer copied all but the last few frames: copy those now, between
         * transactions, and the next one starts the WAL over; but never wait for a
         * pass of the checkpointer (the next commit tries again) */
        if (pthread_mutex_trylock(&s->ckrun) != 0)
            return SQLITE_OK;
        sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_unlock(&s->ckrun);
        __atomic_store_n(&s->ck_rewind, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&s->ck_next, CKPT_SOFT, __ATOMIC_RELAXED);
        return SQLITE_OK;
    }
    if (!__atomic_load_n(&s->ck_failed, __ATOMIC_ACQUIRE) && pool_want(s) != 0) {
        mtd_log(MTD_LOG_WARN, "store", "no checkpointer thread; the commits checkpoint the WAL");
        s->ck_failed = 1;
    }
    if (__atomic_load_n(&s->ck_failed, __ATOMIC_ACQUIRE))
        checkpoint(s, db, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return SQLITE_OK;
}

void mtd_sq_wal_start(mtd_store *s)
{
    s->ck_next = CKPT_SOFT;
    sqlite3_wal_hook(s->db, on_commit, s); /* replaces SQLite's own autocheckpoint */
}

/* Takes the store off the pool's queue, and waits for a pass of it to end. */
void mtd_sq_wal_stop(mtd_store *s)
{
    pthread_mutex_lock(&pool.mu);
    if (s->ck_want) {
        mtd_store **pp = &pool.head, *prev = NULL;
        while (*pp != s) {
            prev = *pp;
            pp = &(*pp)->ck_qnext;
        }
        *pp = s->ck_qnext;
        if (pool.tail == s)
            pool.tail = prev;
        s->ck_qnext = NULL;
        s->ck_want = 0;
    }
    while (s->ck_busy)
        pthread_cond_wait(&pool.done, &pool.mu);
    pthread_mutex_unlock(&pool.mu);
    sqlite3_close(s->ck);
    s->ck = NULL;
}
