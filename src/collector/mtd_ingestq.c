/* mtd_ingestq: a FIFO of jobs under one mutex and a pool of threads that take them
 * (see mtd_ingestq.h). A job is a few hundred microseconds to milliseconds of parsing
 * and a sleep in a group commit, so one lock and one condition variable cost nothing
 * next to it. */
#include "collector/mtd_ingestq.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"

#include <pthread.h>
#include <stdlib.h>

struct mtd_ingestq {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    mtd_ingestq_job *head, *tail;
    unsigned waiting;
    int stopping;
    unsigned nthreads;
    pthread_t th[];
};

/* The next job, or NULL once stopping and nothing is left. */
static mtd_ingestq_job *take(mtd_ingestq *q)
{
    pthread_mutex_lock(&q->mu);
    while (!q->head && !q->stopping)
        pthread_cond_wait(&q->cv, &q->mu);
    mtd_ingestq_job *j = q->head;
    if (j) {
        q->head = j->next;
        if (!q->head)
            q->tail = NULL;
        q->waiting--;
    }
    pthread_mutex_unlock(&q->mu);
    return j;
}

static void *worker(void *arg)
{
    mtd_ingestq *q = arg;
    mtd_ingestq_job *j;
    while ((j = take(q)) != NULL)
        j->run(j);
    return NULL;
}

int mtd_ingestq_start(unsigned threads, mtd_ingestq **out)
{
    if (threads < 1 || threads > 256)
        return MTD_EINVAL;
    mtd_ingestq *q = calloc(1, sizeof *q + threads * sizeof(pthread_t));
    if (!q)
        return MTD_ENOMEM;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    for (; q->nthreads < threads; q->nthreads++)
        if (pthread_create(&q->th[q->nthreads], NULL, worker, q) != 0) {
            mtd_ingestq_stop(q);
            return MTD_EIO;
        }
    *out = q;
    return 0;
}

void mtd_ingestq_push(mtd_ingestq *q, mtd_ingestq_job *job)
{
    job->next = NULL;
    job->queued_ns = mtd_monotonic_ns();
    pthread_mutex_lock(&q->mu);
    if (q->tail)
        q->tail->next = job;
    else
        q->head = job;
    q->tail = job;
    q->waiting++;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

unsigned mtd_ingestq_waiting(mtd_ingestq *q)
{
    pthread_mutex_lock(&q->mu);
    unsigned n = q->waiting;
    pthread_mutex_unlock(&q->mu);
    return n;
}

int64_t mtd_ingestq_wait_ns(mtd_ingestq *q)
{
    int64_t now = mtd_monotonic_ns();
    pthread_mutex_lock(&q->mu);
    int64_t w = q->head ? now - q->head->queued_ns : 0;
    pthread_mutex_unlock(&q->mu);
    return w;
}

void mtd_ingestq_stop(mtd_ingestq *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&q->mu);
    q->stopping = 1;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    for (unsigned i = 0; i < q->nthreads; i++)
        pthread_join(q->th[i], NULL);
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    free(q);
}
