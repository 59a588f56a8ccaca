/* mtd_runweb: web protection (DNS filter, URL check API) hosted by a long-running
 * `mtd-agent run`; see mtd_runweb.c for when it starts, reloads and reports. */
#ifndef MTD_RUNWEB_H
#define MTD_RUNWEB_H

#include "agent/mtd_agent.h"

typedef struct mtd_runweb mtd_runweb;

/* NULL when run was not given --dns-listen and --dns-upstream. */
mtd_runweb *mtd_runweb_new(const mtd_args *a, const mtd_state *st);
/* After each round's policy and feed fetch: start, reload or switch as the policy says. */
void mtd_runweb_round(mtd_runweb *w, const mtd_state *st);
/* Every second: queues the detections made since; 1 when some went to the spool. */
int mtd_runweb_tick(mtd_runweb *w, mtd_state *st);
void mtd_runweb_free(mtd_runweb *w);

#endif
