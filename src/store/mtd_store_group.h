/* mtd_store_group: group commit, shared by the backends. mtd_store_ingest, called from
 * many threads at once, does not commit each batch alone: the first caller to find no
 * commit running leads; it takes every waiting batch (up to 20,000 events) and hands
 * them to the backend's commit as one group, while the others sleep until their batch
 * is done or until they are woken to lead the next group. */
#ifndef MTD_STORE_GROUP_H
#define MTD_STORE_GROUP_H

#include "store/mtd_store.h"

#include <pthread.h>

typedef struct {
    pthread_mutex_t mu;
    mtd_store_batch *q, **tail; /* batches waiting for the next group */
    int leader;                 /* a thread is committing one now */
} mtd_store_group;

void mtd_store_group_init(mtd_store_group *g);
void mtd_store_group_destroy(mtd_store_group *g);
/* Stores one batch through commit (the backend's mtd_store_ingest_group), grouped with
 * those of other threads; returns as mtd_store_ingest does. */
int mtd_store_group_ingest(mtd_store_group *g, mtd_store *s,
                           void (*commit)(mtd_store *s, mtd_store_batch *head),
                           const char *cred_hash, const char *idem_key, const mtd_event *events,
                           size_t n, int *stored);

#endif
