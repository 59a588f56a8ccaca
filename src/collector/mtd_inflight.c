/* mtd_inflight: batches in flight by tenant and device (see mtd_inflight.h).
 *
 * Two chained hash tables under one mutex: (tenant, device) -> batches, and tenant ->
 * batches, beside the total. A table of batches in flight holds up to --max-inflight
 * entries (2048 by default since b9ab51f); the linear search it replaces walked them
 * all, twice a batch, on the HTTP and ingest threads under this mutex. An entry whose
 * count drops to zero is unlinked and kept for reuse, so the tables never hold more
 * entries than batches in flight and allocate only at a new high. Hand-written: the
 * project has no hash table to borrow, and this one needs two operations. */
#include "collector/mtd_inflight.h"
#include "collector/mtd_tenants.h"
#include "common/mtd_util.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct node {
    struct node *next;
    char tenant[MTD_TENANT_ID_LEN + 1];
    char device[64]; /* "" in the tenants' table */
    int n;
} node;

#define NBUCKETS 4096 /* a power of two; chains stay short up to a few times that */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static node *devices[NBUCKETS], *tenants[NBUCKETS], *spare;
static int total;

int mtd_inflight_tenant_max(int max_total, int others)
{
    if (others)
        return max_total < 2 ? 1 : (max_total + 1) / 2;
    return max_total - max_total / 8 < 1 ? 1 : max_total - max_total / 8;
}

/* FNV-1a over the tenant, a separator and the device */
static node **bucket(node **tab, const char *tenant, const char *device)
{
    uint32_t h = 2166136261u;
    for (const char *p = tenant; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    h = (h ^ 0xff) * 16777619u;
    for (const char *p = device; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    return &tab[h & (NBUCKETS - 1)];
}

/* The link that points at the entry of (tenant, device), or at the chain's end. */
static node **find(node **tab, const char *tenant, const char *device)
{
    node **pp = bucket(tab, tenant, device);
    while (*pp && (strcmp((*pp)->tenant, tenant) || strcmp((*pp)->device, device)))
        pp = &(*pp)->next;
    return pp;
}

static int count_of(node **tab, const char *tenant, const char *device)
{
    node *e = *find(tab, tenant, device);
    return e ? e->n : 0;
}

/* Adds d (+1 or -1) to the entry of (tenant, device), made at +1 if missing, unlinked
 * at 0. -1 when out of memory (nothing changed). */
static int bump(node **tab, const char *tenant, const char *device, int d)
{
    node **pp = find(tab, tenant, device), *e = *pp;
    if (!e) {
        if (d < 0)
            return 0;
        if (spare) {
            e = spare;
            spare = e->next;
        } else if (!(e = malloc(sizeof *e))) {
            return -1;
        }
        mtd_strlcpy(e->tenant, tenant, sizeof e->tenant);
        mtd_strlcpy(e->device, device, sizeof e->device);
        e->n = 0;
        e->next = NULL;
        *pp = e;
    }
    if ((e->n += d) <= 0) {
        *pp = e->next;
        e->next = spare;
        spare = e;
    }
    return 0;
}

mtd_inflight_verdict mtd_inflight_enter(const char *tenant, const char *device, int max_total)
{
    mtd_inflight_verdict v = MTD_INFLIGHT_OK;
    pthread_mutex_lock(&mu);
    int mine = count_of(tenants, tenant, "");
    if (mine >= mtd_inflight_tenant_max(max_total, total - mine > 0))
        v = MTD_INFLIGHT_TENANT;
    else if (count_of(devices, tenant, device) >= MTD_INFLIGHT_PER_DEVICE)
        v = MTD_INFLIGHT_DEVICE;
    else if (bump(devices, tenant, device, 1) != 0)
        v = MTD_INFLIGHT_TENANT; /* out of memory: refused like a busy tenant, retried */
    else if (bump(tenants, tenant, "", 1) != 0) {
        bump(devices, tenant, device, -1);
        v = MTD_INFLIGHT_TENANT;
    } else
        total++;
    pthread_mutex_unlock(&mu);
    return v;
}

void mtd_inflight_leave(const char *tenant, const char *device)
{
    pthread_mutex_lock(&mu);
    if (count_of(devices, tenant, device) > 0) { /* only what was entered is left */
        bump(devices, tenant, device, -1);
        bump(tenants, tenant, "", -1);
        total--;
    }
    pthread_mutex_unlock(&mu);
}

int mtd_inflight_count(const char *tenant, const char *device)
{
    pthread_mutex_lock(&mu);
    int n = device ? count_of(devices, tenant, device) : count_of(tenants, tenant, "");
    pthread_mutex_unlock(&mu);
    return n;
}
