/* mtd_tenants: the collector's tenants, each in its own directory.
 *
 *   DATA/operator.token   the operator token, for the operator to read (0600)
 *   DATA/operator.hash    its SHA-256, which is what the collector checks
 *   DATA/tenants/<id>/    one tenant: tenant.json (name, org), tenant.key (0600),
 *                         store.sqlite (mtd_store)
 *   DATA/decoy/           an empty store, where tokens naming no tenant are looked up
 *
 * There is no shared registry table: listing tenants reads the directories, and
 * deleting one removes its directory, key and store together. Stores are opened on
 * demand, cached and reference-counted, and closed when idle (mtd_tenants_close_idle,
 * run by the lifecycle thread); at most --max-open-stores are open (each holds about
 * 10 file descriptors): opening one more closes the least recently used store that no
 * request holds, as does an open when the process's descriptors near RLIMIT_NOFILE. A tenant being deleted is closed first. Tenant IDs are 16
 * lowercase hex digits and are checked before they ever become part of a path. */
#ifndef MTD_TENANTS_H
#define MTD_TENANTS_H

#include "privacy/mtd_pseudo.h"
#include "store/mtd_store.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define MTD_TENANT_ID_LEN 16
#define MTD_TENANTS_MAX_OPEN 256 /* stores open at once, unless set otherwise */

typedef struct mtd_tenants mtd_tenants;

typedef struct {
    char id[MTD_TENANT_ID_LEN + 1];
    char org_id[128];
    mtd_tenant_key key;
    mtd_store *store;
} mtd_tenant;

int mtd_tenants_open(const char *data_dir, mtd_tenants **out, char *why, size_t whylen);
/* The same with the store URL of --store (NULL: SQLite files under data_dir) and, for
 * PostgreSQL, the connections the collector may hold (0: 8). On PostgreSQL the tenants
 * (name, org, key) and the operator token's hash live in the cluster, and data_dir
 * holds only this collector's lock, URL and, if it was the cluster's first, the
 * operator token. */
int mtd_tenants_open_store(const char *data_dir, const char *store_url, int pool, mtd_tenants **out,
                           char *why, size_t whylen);
/* The PostgreSQL cluster, or NULL on SQLite. */
mtd_store_cluster *mtd_tenants_cluster(const mtd_tenants *t);
void mtd_tenants_close(mtd_tenants *t);
int mtd_tenant_id_valid(const char *id);

/* Creates a tenant; returns its ID and fresh enrollment and admin tokens. */
int mtd_tenants_create(mtd_tenants *t, const char *name, const char *org, char *id_out,
                       char *enroll_token, char *admin_token, size_t toklen);
json_t *mtd_tenants_list(mtd_tenants *t);
int mtd_tenants_delete(mtd_tenants *t, const char *id);

/* Borrows an open tenant (store, key); release it when done. MTD_ENOENT if unknown;
 * MTD_EBUSY when every slot is borrowed, or the store's error opening it (MTD_EUNAVAIL
 * while the cluster cannot be reached). */
int mtd_tenants_get(mtd_tenants *t, const char *id, mtd_tenant **out);
void mtd_tenants_put(mtd_tenants *t, mtd_tenant *tn);
/* 1 when the tenant's store is open now (borrowing it would open nothing). */
int mtd_tenants_is_open(mtd_tenants *t, const char *id);
/* Stores open now and at most, opened since start, and closed to open another. */
typedef struct {
    unsigned open, max_open;
    uint64_t opens, evictions;
} mtd_tenants_counts;
void mtd_tenants_stats(mtd_tenants *t, mtd_tenants_counts *c);
/* The stores that may be open at once (--max-open-stores); only before any is opened.
 * 0, MTD_EINVAL (n < 1), MTD_EBUSY or MTD_ENOMEM. */
int mtd_tenants_set_max_open(mtd_tenants *t, int n);
/* Closes the tenant's store if it is open and nobody holds it. */
void mtd_tenants_close_unused(mtd_tenants *t, const char *id);
/* Closes the stores nobody used for idle_s seconds; returns how many. */
int mtd_tenants_close_idle(mtd_tenants *t, int idle_s);

/* Makes a token "<kind>.<tenant>.<secret>" (or "op.<secret>" when tenant is NULL)
 * and its hash. */
int mtd_token_new(const char *kind, const char *tenant, char *tok, size_t toklen,
                  char hash[65]);
/* Splits a presented token; tenant gets "" for an operator token. */
int mtd_token_parse(const char *tok, char *kind, size_t kindlen, char *tenant, size_t tlen);

const char *mtd_tenants_data_dir(const mtd_tenants *t);

/* The read of a token check, made in an empty decoy store (DATA/decoy/): a token that
 * names no tenant costs what one of an existing tenant costs. device: a device
 * credential's lookup, else a token's. */
void mtd_tenants_decoy_lookup(mtd_tenants *t, const char *hash, int device);

/* 0 when tok is an operator token (this collector's, or on PostgreSQL any collector's
 * of the cluster), MTD_EAUTH when it is not, or the store's error (MTD_EUNAVAIL: the
 * cluster could not say). */
int mtd_tenants_is_operator(mtd_tenants *t, const char *tok);

#endif
