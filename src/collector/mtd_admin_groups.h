/* mtd_admin_groups: the admin routes of device groups and their policies
 * (mtd_admin_groups.c). */
#ifndef MTD_ADMIN_GROUPS_H
#define MTD_ADMIN_GROUPS_H

#include "collector/mtd_admin_console.h"

/* Answers METHOD sub when it is one of these routes: 1, else 0 (nothing answered). */
int mtd_admin_groups_route(mtd_collector *c, const mtd_admin_ctx *x, const char *sub);
/* ?group=: *grp NULL when absent; -1 with a 400 answered when not a group name. */
int mtd_admin_group_arg(mtd_req *rq, mtd_resp *rs, const char **grp);

#endif
