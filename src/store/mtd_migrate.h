/* mtd_migrate: moves one tenant from one store backend to the other, and proves it.
 *
 * `mtd-collector migrate --tenant ID --from URL --to URL [--replace]`, where a URL is
 * `sqlite:DIR` (a collector's data directory: DIR/tenants/ID/ holds the tenant's
 * SQLite store, key and feeds) or `postgresql://...` (a cluster: the tenant's schema,
 * its registry row with the key, its feeds). Every table of the source's store is
 * copied (listed from the store itself: the store's own tables, one per event type of
 * the schema, and any a later build adds) with every row as stored, row numbers and
 * IDs included, and the tenant's name, organization, creation time and key, so that
 * pseudonyms, tokens and credentials stay good; the source is read in one snapshot.
 * Then each table is read back on both sides in key order and compared by row count
 * and a SHA-256 over its rows; one line per table (`table rows sha256`) and a verdict
 * go to out. A tenant that already exists at the destination is refused unless
 * replace is set (it is then deleted first). Nothing is left at the destination when
 * the copy fails. The source is not changed (beyond its store being brought up to
 * this build's schema, as a collector starting on it would). */
#ifndef MTD_MIGRATE_H
#define MTD_MIGRATE_H

#include <stdio.h>

typedef struct {
    const char *tenant;
    const char *from, *to; /* sqlite:DIR or postgresql://... */
    int replace;
} mtd_migrate_opts;

/* 0 when every table is identical at the destination; otherwise a code and why, the
 * one line to show (naming the URL, table or file at fault; MTD_ECORRUPT for a copy
 * that differs, whose verdict went to out, or for a source file that is not what the
 * source's index says). */
int mtd_migrate_run(const mtd_migrate_opts *o, FILE *out, char *why, size_t whylen);

#endif
