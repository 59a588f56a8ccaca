/* mtd_lifecycle: the collector's background jobs: retention (every interval, each
 * tenant in turn deletes what its policy no longer lets it keep) and closing tenant
 * stores idle for five minutes. One thread, stopped within a second of being asked. */
#ifndef MTD_LIFECYCLE_H
#define MTD_LIFECYCLE_H

#include "collector/mtd_tenants.h"

typedef struct mtd_lifecycle mtd_lifecycle;

int mtd_lifecycle_start(mtd_tenants *t, unsigned interval_s, mtd_lifecycle **out);
void mtd_lifecycle_stop(mtd_lifecycle *l);
/* One pass over every tenant now; returns records deleted. */
int mtd_lifecycle_retention_pass(mtd_tenants *t);

#endif
