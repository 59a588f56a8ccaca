/* mtd_auth: who is calling. Every token names its tenant ("<kind>.<tenant>.<secret>"),
 * so a request is checked against that one tenant's store and no other: a token of
 * tenant A presented for anything is looked up only in A. Only SHA-256 hashes of
 * tokens are stored. On failure the helpers fill a 401/403 response themselves. */
#ifndef MTD_AUTH_H
#define MTD_AUTH_H

#include "collector/mtd_collector.h"

/* An admin, analyst or privacy-officer token; *tn is borrowed (mtd_tenants_put). */
int mtd_auth_tenant(mtd_collector *c, mtd_req *rq, mtd_resp *rs, mtd_tenant **tn,
                    mtd_role *role, char *actor, size_t actorlen);
/* A device credential; device_id gets the device it is bound to ("" before first use). */
int mtd_auth_device(mtd_collector *c, mtd_req *rq, mtd_resp *rs, mtd_tenant **tn,
                    char cred_hash[65], char *device_id, size_t dlen);
int mtd_auth_operator(mtd_collector *c, mtd_req *rq, mtd_resp *rs);

#endif
