/* mtd_inflight: the batches being ingested, counted by tenant and by device, so that one
 * device or one tenant cannot take every ingest slot of the collector (issue 20.2). A
 * batch past a bound is answered 429 with Retry-After at once instead of queueing behind
 * the others; the collector-wide bound (--max-inflight) stays the first check.
 *
 *   per device: MTD_INFLIGHT_PER_DEVICE batches (the agent sends one at a time; a
 *               second covers a retry that overlaps a slow answer)
 *   per tenant: half of --max-inflight, rounded up, while another tenant has batches
 *               in flight; all but an eighth of it while it is the only one, so that a
 *               collector of one tenant keeps (nearly) every slot and a second tenant
 *               always finds one free, after which each holds at most half
 *
 * One set of counts per process (there is one collector per process); a batch is
 * counted from mtd_inflight_enter to mtd_inflight_leave. */
#ifndef MTD_INFLIGHT_H
#define MTD_INFLIGHT_H

#define MTD_INFLIGHT_PER_DEVICE 2

typedef enum {
    MTD_INFLIGHT_OK,
    MTD_INFLIGHT_TENANT, /* the tenant holds its share */
    MTD_INFLIGHT_DEVICE, /* the device holds its share */
} mtd_inflight_verdict;

/* The tenant's bound for a collector-wide bound of max_total, when other tenants have
 * batches in flight (others 1) or not (0). */
int mtd_inflight_tenant_max(int max_total, int others);

/* Admits one batch of (tenant, device) or says which bound it hit; only an admitted
 * batch is counted, and must be left. */
mtd_inflight_verdict mtd_inflight_enter(const char *tenant, const char *device, int max_total);
void mtd_inflight_leave(const char *tenant, const char *device);

/* Batches counted now for a tenant (device NULL) or one of its devices (for tests). */
int mtd_inflight_count(const char *tenant, const char *device);

#endif
