/* mtd_inflight: batches in flight by tenant and device (see mtd_inflight.h).
 *
 * One compact array of (tenant, device, count) under a mutex, searched linearly: it
 * never holds more entries than batches in flight (--max-inflight, 2048 by default
 * since b9ab51f), so a search is at most that many comparisons, twice a batch, against
 * a batch's parse and commit of ~1 ms (bench_ingest: 200 events at ~5.6 us). A hash
 * would take that off the lock if it ever shows in a profile (not measured at 2048
 * yet). An entry whose count drops to zero is replaced by the last one. */
#include "collector/mtd_inflight.h"
#include "collector/mtd_tenants.h"
#include "common/mtd_util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char tenant[MTD_TENANT_ID_LEN + 1];
    char device[64];
    int n;
} entry;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static entry *tab;
static int used, cap;

int mtd_inflight_tenant_max(int max_total, int others)
{
    if (others)
        return max_total < 2 ? 1 : (max_total + 1) / 2;
    return max_total - max_total / 8 < 1 ? 1 : max_total - max_total / 8;
}

/* The batches of a tenant and of all the others; the entry of (tenant, device) if any. */
static void count(const char *tenant, const char *device, int *mine, int *others, int *dev, int *at)
{
    *mine = *others = *dev = 0;
    *at = -1;
    for (int i = 0; i < used; i++) {
        if (strcmp(tab[i].tenant, tenant)) {
            *others += tab[i].n;
            continue;
        }
        *mine += tab[i].n;
        if (device && !strcmp(tab[i].device, device)) {
            *at = i;
            *dev = tab[i].n;
        }
    }
}

static int add(const char *tenant, const char *device)
{
    if (used == cap) {
        int ncap = cap ? cap * 2 : 64;
        entry *t = realloc(tab, (size_t)ncap * sizeof *t);
        if (!t)
            return -1;
        tab = t;
        cap = ncap;
    }
    entry *e = &tab[used++];
    mtd_strlcpy(e->tenant, tenant, sizeof e->tenant);
    mtd_strlcpy(e->device, device, sizeof e->device);
    e->n = 1;
    return 0;
}

mtd_inflight_verdict mtd_inflight_enter(const char *tenant, const char *device, int max_total)
{
    int mine, others, dev, at;
    mtd_inflight_verdict v = MTD_INFLIGHT_OK;
    pthread_mutex_lock(&mu);
    count(tenant, device, &mine, &others, &dev, &at);
    if (mine >= mtd_inflight_tenant_max(max_total, others > 0))
        v = MTD_INFLIGHT_TENANT;
    else if (dev >= MTD_INFLIGHT_PER_DEVICE)
        v = MTD_INFLIGHT_DEVICE;
    else if (at >= 0)
        tab[at].n++;
    else if (add(tenant, device) != 0)
        v = MTD_INFLIGHT_TENANT; /* out of memory: refused like a busy tenant, retried */
    pthread_mutex_unlock(&mu);
    return v;
}

void mtd_inflight_leave(const char *tenant, const char *device)
{
    int mine, others, dev, at;
    pthread_mutex_lock(&mu);
    count(tenant, device, &mine, &others, &dev, &at);
    if (at >= 0 && --tab[at].n == 0)
        tab[at] = tab[--used];
    pthread_mutex_unlock(&mu);
}

int mtd_inflight_count(const char *tenant, const char *device)
{
    int mine, others, dev, at;
    pthread_mutex_lock(&mu);
    count(tenant, device, &mine, &others, &dev, &at);
    pthread_mutex_unlock(&mu);
    return device ? dev : mine;
}
