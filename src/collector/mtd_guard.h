/* mtd_guard: failed authentication, limited and summarized instead of served and logged
 * one by one.
 *
 * Failures are counted per client address and per token prefix ("<kind>.<tenant>"): past
 * GUARD_FAILS in a window, that address or prefix is answered 429 with Retry-After,
 * before any store is touched. A token that authenticated lately (its hash is
 * remembered) is never blocked, so a flood of bad guesses from one NAT address, or at
 * one tenant, locks out no device or admin holding a good token: that is the point of
 * limiting by prefix rather than refusing the tenant.
 *
 * Nothing is logged per failure: a thread writes one summary line to the log every
 * GUARD_SUMMARY_S with what was refused, and records in each tenant's audit log the
 * failed sign-ins (401) and refused calls (403) aimed at it: the first within a second,
 * then one summary line per tenant and kind at most every GUARD_AUDIT_S.
 *
 * Checking a token may open its tenant's store (files, descriptors, SQLite's cache,
 * and the eviction of another tenant's idle store). A request not yet authenticated
 * may cause at most opens_per_s of those a second (a bucket of twice that): past it,
 * 503 with Retry-After. A token that authenticated lately is not counted. */
#ifndef MTD_GUARD_H
#define MTD_GUARD_H

#include "collector/mtd_collector.h"

#define GUARD_WINDOW_S 10
#define GUARD_FAILS_PER_IP 20
#define GUARD_FAILS_PER_PREFIX 50
#define GUARD_SUMMARY_S 10
#define GUARD_AUDIT_S 60

int mtd_guard_create(mtd_tenants *t, unsigned opens_per_s, mtd_guard **out);
void mtd_guard_destroy(mtd_guard *g);

/* Before authenticating: 0, or a 429 in rs when the address or the token's prefix is
 * blocked and the token is not one known to be good. g may be NULL (no limits). */
int mtd_guard_check(mtd_guard *g, mtd_req *rq, mtd_resp *rs);
/* 1 when tok authenticated within the last hour. */
int mtd_guard_known_good(mtd_guard *g, const char *tok);
/* Before a token check that would open a store: 0 when it may (a token known good, or
 * one open from the bucket), MTD_EBUSY when unauthenticated traffic has used them. */
int mtd_guard_cold_open(mtd_guard *g, const char *tok);
/* The outcome of an authentication (tok NULL: no token was presented). */
void mtd_guard_failed(mtd_guard *g, const mtd_req *rq, const char *tok);
void mtd_guard_passed(mtd_guard *g, const mtd_req *rq);
/* An authenticated call refused (403): recorded in the caller's tenant's audit log,
 * summarized. what names the call, e.g. "PUT /v1/admin/policy". */
void mtd_guard_refused(mtd_guard *g, const mtd_req *rq, const char *what, const char *why);
/* Writes the pending summaries now (the thread does it every second). */
void mtd_guard_flush(mtd_guard *g, int force);
/* Its /metrics series. */
void mtd_guard_render(mtd_guard *g, mtd_buf *out);

#endif
