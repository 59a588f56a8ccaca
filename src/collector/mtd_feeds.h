/* mtd_feeds: a tenant's feed files, distributed to its devices.
 *
 * A feed is one named file an admin uploads (`mtdctl feed push NAME FILE`) and every
 * device of the tenant fetches into STATE/feeds/NAME: the web reputation database
 * (`web`), app-scan indicators (`indicators`), YARA rules (`yara`), vulnerability
 * records (`vulns`). The collector does not read what a feed holds; it stores bytes,
 * their SHA-256 and size, and serves them with the SHA-256 as ETag.
 *
 *   PUT    /v1/admin/feeds/NAME   admin: the body is the file
 *   GET    /v1/admin/feeds        any tenant role: name, sha256, size, updated
 *   DELETE /v1/admin/feeds/NAME   admin
 *   GET    /v1/feeds              device credential: the same list
 *   GET    /v1/feeds/NAME         device credential: the bytes (If-None-Match -> 304)
 *
 * Storage, per tenant (so deleting a tenant deletes its feeds):
 *   DATA/tenants/<id>/feeds/index.json          {NAME: {sha256, size, updated}}
 *   DATA/tenants/<id>/feeds/NAME.<sha256>       the bytes (0600)
 * A file's name carries its digest, so a device that read the index before a push
 * still gets the bytes it was promised or a clean 404, never new bytes under an old
 * digest. Both are written atomically (mtd_file_write_atomic). */
#ifndef MTD_FEEDS_H
#define MTD_FEEDS_H

#include "collector/mtd_collector.h"

#define MTD_FEED_MAX_BYTES (16u << 20) /* a push: its own row of the route table (mtd_routes.c) */

/* /v1/admin/feeds and /v1/admin/feeds/NAME (sub is the part after "/v1/admin/"). */
void mtd_handle_feeds_admin(mtd_collector *c, mtd_req *rq, mtd_resp *rs, const char *sub);
/* /v1/feeds and /v1/feeds/NAME (sub is the part after "/v1/feeds"). */
void mtd_handle_feeds_device(mtd_collector *c, mtd_req *rq, mtd_resp *rs, const char *sub);

#endif
