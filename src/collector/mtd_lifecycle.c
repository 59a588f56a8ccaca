/* mtd_lifecycle: the retention thread. */
#include "collector/mtd_lifecycle.h"
#include "common/mtd_err.h"
#include "common/mtd_log.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

struct mtd_lifecycle {
    mtd_tenants *t;
    unsigned interval;
    pthread_t th;
    volatile int stop;
};

int mtd_lifecycle_retention_pass(mtd_tenants *t)
{
    json_t *list = mtd_tenants_list(t);
    size_t i;
    json_t *row;
    int total = 0;
    json_array_foreach(list, i, row) {
        const char *id = json_string_value(json_object_get(row, "tenant_id"));
        mtd_tenant *tn;
        int was_open = id && mtd_tenants_is_open(t, id);
        if (!id || mtd_tenants_get(t, id, &tn) != 0)
            continue;
        mtd_policy p;
        int deleted = 0;
        if (mtd_store_policy_get(tn->store, &p) == 0 &&
            mtd_store_retention(tn->store, &p, (int64_t)time(NULL), &deleted) == 0 && deleted)
            mtd_log(MTD_LOG_INFO, "retention", "tenant=%s deleted=%d", id, deleted);
        total += deleted;
        mtd_tenants_put(t, tn);
        if (!was_open) /* a pass over every tenant leaves the cache to the active ones */
            mtd_tenants_close_unused(t, id);
    }
    json_decref(list);
    return total;
}

#define IDLE_CHECK_S 60
#define IDLE_CLOSE_S 300

/* Retention every interval; every minute, stores idle for five minutes are closed. */
static void *run(void *arg)
{
    mtd_lifecycle *l = arg;
    unsigned tick = 0;
    while (!l->stop) {
        if (tick % l->interval == 0)
            mtd_lifecycle_retention_pass(l->t);
        if (tick % IDLE_CHECK_S == IDLE_CHECK_S - 1) {
            int n = mtd_tenants_close_idle(l->t, IDLE_CLOSE_S);
            if (n)
                mtd_log(MTD_LOG_DEBUG, "lifecycle", "closed %d idle tenant stores", n);
        }
        sleep(1);
        tick++;
    }
    return NULL;
}

int mtd_lifecycle_start(mtd_tenants *t, unsigned interval_s, mtd_lifecycle **out)
{
    mtd_lifecycle *l = calloc(1, sizeof *l);
    if (!l)
        return MTD_ENOMEM;
    l->t = t;
    l->interval = interval_s ? interval_s : 3600;
    if (pthread_create(&l->th, NULL, run, l) != 0) {
        free(l);
        return MTD_EIO;
    }
    *out = l;
    return 0;
}

void mtd_lifecycle_stop(mtd_lifecycle *l)
{
    if (!l)
        return;
    l->stop = 1;
    pthread_join(l->th, NULL);
    free(l);
}
