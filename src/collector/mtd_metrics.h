/* mtd_metrics: the collector's counters, rendered in Prometheus text format at
 * GET /metrics: requests by route and status code, rejected events by reason, the
 * ingest latency histogram, events stored. Updates are thread-safe (one mutex; the
 * counters are touched once per request, far from the per-event hot path). */
#ifndef MTD_METRICS_H
#define MTD_METRICS_H

#include "common/mtd_buf.h"

#include <pthread.h>
#include <stdint.h>

#define MTD_METRICS_MAX_SERIES 128
#define MTD_METRICS_BUCKETS 12

typedef struct {
    char name[48];
    int code;
    uint64_t n;
} mtd_metric_req;

typedef struct {
    char reason[48];
    uint64_t n;
} mtd_metric_rej;

typedef struct {
    pthread_mutex_t mu;
    mtd_metric_req req[MTD_METRICS_MAX_SERIES];
    mtd_metric_rej rej[MTD_METRICS_MAX_SERIES];
    uint64_t lat_bucket[MTD_METRICS_BUCKETS + 1];
    double lat_sum;
    uint64_t lat_count;
    uint64_t events_stored, batches_stored, batches_replayed;
    mtd_metric_rej shed[16];   /* requests and connections shed, by reason */
} mtd_metrics;

void mtd_metrics_init(mtd_metrics *m);
void mtd_metrics_destroy(mtd_metrics *m);
void mtd_metrics_request(mtd_metrics *m, const char *route, int code);
void mtd_metrics_rejected(mtd_metrics *m, const char *reason, uint64_t events);
void mtd_metrics_ingest(mtd_metrics *m, double seconds, uint64_t events, int replayed);
/* A request or connection shed to protect the others (reason: "body_budget",
 * "header_timeout", ...). */
void mtd_metrics_shed(mtd_metrics *m, const char *reason);
uint64_t mtd_metrics_shed_total(mtd_metrics *m);
/* Appends the exposition text; data_dir, when given, is scanned for each tenant's
 * store size (a series per tenant: for the operator only). */
void mtd_metrics_render(mtd_metrics *m, const char *data_dir, mtd_buf *out);
/* The collector process's threads, open file descriptors and resident memory (from
 * /proc/self), which many tenants must keep bounded. */
void mtd_process_render(mtd_buf *out);

#endif
