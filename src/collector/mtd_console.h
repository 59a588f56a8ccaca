/* mtd_console: the admin console's files, served by the collector under /console.
 *
 * The console is a static front end (console/ in the tree, bundled by the build into
 * BUILD/console) that talks to the admin API with the admin's token; the collector only
 * serves its files. They are read once at start from one directory into memory, and a
 * request is answered only when its path names one of those files exactly: no path
 * from a request ever reaches the file system, so no request can climb out of the
 * directory. Each file carries its content type, an ETag, its cache policy (hashed
 * assets forever, everything else revalidated) and its gzip variant when the build
 * made one (NAME.gz).
 *
 * mtd_security_headers adds the headers every answer of the collector carries (API
 * and console alike): a Content-Security-Policy, nosniff, frame and referrer denial.
 * The console object is owned by whoever loaded it and is read-only afterwards. */
#ifndef MTD_CONSOLE_H
#define MTD_CONSOLE_H

#include "collector/mtd_collector.h"

#include <stddef.h>

typedef struct mtd_console mtd_console;

/* Loads every servable file under dir. MTD_ENOENT when dir does not exist (the
 * console was not built), MTD_ETOOBIG over the caps, MTD_EIO otherwise; why says
 * which file. */
int mtd_console_load(const char *dir, mtd_console **out, char *why, size_t whylen);
void mtd_console_free(mtd_console *con);
/* How many files were loaded (for the start-up log). */
size_t mtd_console_count(const mtd_console *con);

/* GET or HEAD /console[/PATH]; "/" redirects to /console/. */
void mtd_handle_console(mtd_collector *c, mtd_req *rq, mtd_resp *rs);

/* The security headers of one answer, through add(ctx, name, value). */
void mtd_security_headers(const mtd_resp *rs, void (*add)(void *ctx, const char *name, const char *value),
                          void *ctx);

#endif
