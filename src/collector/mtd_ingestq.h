/* mtd_ingestq: the threads that ingest batches, behind the HTTP front (issue 20.2).
 *
 * A libmicrohttpd thread serves many connections; while it slept in a batch's group
 * commit, the batches of every other connection it serves waited unread in their
 * sockets, where no bound could count them (1,000 devices: p99 7.7 s, no 429 ever).
 * Now an HTTP thread reads and decompresses a batch, admits it (mtd_inflight and the
 * collector's --max-inflight: 429 at once past them), suspends its connection and
 * pushes it here; a thread of this pool runs it (parse, authorize, group commit) and
 * resumes the connection with the answer once the batch is durable.
 *
 * Only admitted batches are pushed, so the queue holds at most --max-inflight jobs and
 * needs no bound of its own. Jobs run in the order they came: a batch waits behind
 * those before it, never behind a later one. The caller owns each job's memory; a job
 * is the pool's from mtd_ingestq_push until its run function is called. */
#ifndef MTD_INGESTQ_H
#define MTD_INGESTQ_H

typedef struct mtd_ingestq mtd_ingestq;

#include <stdint.h>

typedef struct mtd_ingestq_job {
    void (*run)(struct mtd_ingestq_job *job); /* called once, on a pool thread */
    struct mtd_ingestq_job *next;             /* the pool's */
    int64_t queued_ns;                        /* the pool's: when it was pushed */
} mtd_ingestq_job;

/* Starts threads (1 to 256) threads. 0 or a negative mtd_err code. */
int mtd_ingestq_start(unsigned threads, mtd_ingestq **out);
/* Queues a job (never blocks, never fails: its bound is the caller's admission). */
void mtd_ingestq_push(mtd_ingestq *q, mtd_ingestq_job *job);
/* Jobs queued and not started yet. */
unsigned mtd_ingestq_waiting(mtd_ingestq *q);
/* How long the oldest job not started yet has waited (ns), 0 when none waits: what a
 * job pushed now can expect to wait, whatever the pool's speed. */
int64_t mtd_ingestq_wait_ns(mtd_ingestq *q);
/* Runs every job still queued, joins the threads, frees. NULL is a no-op. */
void mtd_ingestq_stop(mtd_ingestq *q);

#endif
