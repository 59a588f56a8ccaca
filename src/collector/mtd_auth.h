/* mtd_auth: who is calling. Every token names its tenant ("<kind>.<tenant>.<secret>"),
 * so a request is checked against that one tenant's store and no other: a token of
 * tenant A presented for anything is looked up only in A. Only SHA-256 hashes of
 * tokens are stored. mtd_route_admit calls these from the request head, before the
 * body is read; each fills rq (the borrowed tenant, the role, the actor, the token's
 * hash, a device credential's binding) or, on failure, a 401 in rs, and reports the
 * outcome to the failed-authentication guard (mtd_guard). */
#ifndef MTD_AUTH_H
#define MTD_AUTH_H

#include "collector/mtd_collector.h"

/* An admin, analyst or privacy-officer token. */
int mtd_auth_tenant(mtd_collector *c, mtd_req *rq, mtd_resp *rs);
/* An enrollment token (live; whether it has uses left is the enrollment's to check). */
int mtd_auth_enroll(mtd_collector *c, mtd_req *rq, mtd_resp *rs);
/* A device credential; rq->bound gets what it is bound to. */
int mtd_auth_device(mtd_collector *c, mtd_req *rq, mtd_resp *rs);
int mtd_auth_operator(mtd_collector *c, mtd_req *rq, mtd_resp *rs);

#endif
