/* mtd_admin_console: the admin API routes the console needed that mtdctl had not:
 * who the token is (session), the fleet at a glance (summary), one device's record
 * (devices/ID), the tenant's privacy statement (privacy/statement) and the notes
 * admins write on a device's threats (threats/notes). Called by
 * mtd_admin's dispatcher after authentication, with the caller's tenant and role;
 * each read is audited like every other report. */
#ifndef MTD_ADMIN_CONSOLE_H
#define MTD_ADMIN_CONSOLE_H

#include "collector/mtd_collector.h"
#include "store/mtd_store.h"

typedef struct {
    mtd_req *rq;
    mtd_resp *rs;
    mtd_tenant *tn;
    mtd_role role;
    const char *actor;
    mtd_page *page; /* of a GET: ?limit=&offset= as the dispatcher read them */
    const char *data_dir; /* the collector's (the tenant's alert file is under it) */
} mtd_admin_ctx;

/* Answers METHOD sub when it is one of these routes: 1, else 0 (nothing answered). */
int mtd_admin_console_route(const mtd_admin_ctx *x, const char *sub);

#endif
