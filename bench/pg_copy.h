/* pg_copy: the COPY peer of the PostgreSQL ingest benchmarks. */
#ifndef MTD_BENCH_PG_COPY_H
#define MTD_BENCH_PG_COPY_H
#include "collector/mtd_batch.h"

#include <libpq-fe.h>

/* Runs sql, exits on failure (a benchmark with a broken step has no result). */
void pgc_must(PGconn *c, const char *sql);
/* The app.inventory rows of bs[0..nb) by COPY into public.copy_peer (made anew, LIKE
 * schema.ev_app_inventory with its indexes), group batches per COPY, one transaction
 * each; returns rows per second. */
double pgc_copy_peer(PGconn *c, const char *schema, mtd_batch *bs, int nb, int group);
#endif
