/* mtd_store_wal: WAL checkpoints off the commit path.
 *
 * SQLite's default checkpoints the WAL inside the commit that crosses 1,000 pages:
 * that commit then copies 16 MiB into the database file and waits for two fsyncs,
 * while every batch queued behind it waits too (bench_ingest measured a third of the
 * ingest time there). Here the commit only signals; a checkpointer thread with its own
 * connection copies the frames while the writer goes on (PASSIVE). The WAL starts over
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

#include <stdio.h>

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

static void *checkpointer(void *arg)
{
    mtd_store *s = arg;
    pthread_mutex_lock(&s->ckmu);
    while (!s->ck_stop) {
        if (!s->ck_want) {
            pthread_cond_wait(&s->ckcv, &s->ckmu);
            continue;
        }
        s->ck_want = 0;
        s->ck_busy = 1;
        pthread_mutex_unlock(&s->ckmu);
        copy_wal(s);
        pthread_mutex_lock(&s->ckmu);
        s->ck_busy = 0;
    }
    pthread_mutex_unlock(&s->ckmu);
    return NULL;
}

int mtd_sq_wal_idle(mtd_store *s)
{
    pthread_mutex_lock(&s->ckmu);
    int idle = !s->ck_want && !s->ck_busy;
    pthread_mutex_unlock(&s->ckmu);
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

/* Opens the checkpointer's connection and starts its thread: on the first commit that
 * needs it, so a tenant whose WAL never reaches 16 MiB (most of them) costs no thread. */
static int start_checkpointer(mtd_store *s)
{
    if (mtd_sq_connect(s, 0, &s->ck, NULL, 0) != 0)
        return MTD_EIO;
    /* a connection learns that the database is in WAL mode when it first reads it;
     * until then its checkpoints do nothing */
    if (sqlite3_exec(s->ck, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) != SQLITE_OK)
        return MTD_EIO;
    if (pthread_create(&s->ck_thread, NULL, checkpointer, s) != 0)
        return MTD_ENOMEM;
    s->ck_running = 1;
    return 0;
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
    if (!s->ck_running && !s->ck_failed && start_checkpointer(s) != 0) {
        mtd_log(MTD_LOG_WARN, "store", "no checkpointer thread; the commits checkpoint the WAL");
        s->ck_failed = 1;
    }
    if (s->ck_failed) {
        checkpoint(s, db, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    } else {
        pthread_mutex_lock(&s->ckmu);
        s->ck_want = 1;
        pthread_cond_signal(&s->ckcv);
        pthread_mutex_unlock(&s->ckmu);
    }
    return SQLITE_OK;
}

void mtd_sq_wal_start(mtd_store *s)
{
    s->ck_next = CKPT_SOFT;
    sqlite3_wal_hook(s->db, on_commit, s); /* replaces SQLite's own autocheckpoint */
}

void mtd_sq_wal_stop(mtd_store *s)
{
    if (s->ck_running) {
        pthread_mutex_lock(&s->ckmu);
        s->ck_stop = 1;
        pthread_cond_signal(&s->ckcv);
        pthread_mutex_unlock(&s->ckmu);
        pthread_join(s->ck_thread, NULL);
        s->ck_running = 0;
    }
    sqlite3_close(s->ck);
    s->ck = NULL;
}
