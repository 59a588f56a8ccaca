/* mtd_store_pg_feeds: a tenant's feeds (collector/mtd_feeds.h) on PostgreSQL: the
 * bytes, digest, size and time of each in the tenant's feeds table, so that every
 * collector of the cluster serves the same feeds. A collector keeps a copy of each
 * version it serves in its own directory (DATA/feedcache/<tenant>/NAME.<sha256>,
 * fetched once), so that many devices fetching a large feed at once are served from
 * a file, as on SQLite, and not each from a 16 MiB read of the database. */
#include "store/mtd_store_pg_int.h"
#include "common/mtd_err.h"

#include <stdio.h>
#include <string.h>

json_t *mtd_store_pg_feed_index(mtd_store *st)
{
    PGresult *res;
    if (mtd_pg_run(mtd_pg_of(st), "SELECT name, sha256, size, updated FROM feeds ORDER BY name", 0, NULL, &res) != 0)
        return NULL;
    json_t *idx = json_object();
    for (int i = 0; i < PQntuples(res); i++)
        json_object_set_new(idx, PQgetvalue(res, i, 0),
                            json_pack("{s:s,s:I,s:s}", "sha256", PQgetvalue(res, i, 1), "size",
                                      (json_int_t)strtoll(PQgetvalue(res, i, 2), NULL, 10), "updated",
                                      PQgetvalue(res, i, 3)));
    PQclear(res);
    return idx;
}

int mtd_store_pg_feed_put(mtd_store *st, const char *name, const char *sha, const uint8_t *data, size_t len,
                          const char *updated)
{
    mtd_pg_store *s = mtd_pg_of(st);
    char size[24];
    snprintf(size, sizeof size, "%zu", len);
    const char *p[] = {name, sha, size, updated, (const char *)data};
    int lens[] = {0, 0, 0, 0, (int)len}, fmts[] = {0, 0, 0, 0, 1};
    mtd_pg_conn *k;
    int r = mtd_pg_acquire(s->cl, s->id, &k);
    if (r)
        return r;
    PGresult *res = PQexecParams(k->c, "INSERT INTO feeds(name, sha256, size, updated, data)"
                                       " VALUES($1, $2, $3, $4, $5) ON CONFLICT(name) DO UPDATE SET"
                                       " sha256 = excluded.sha256, size = excluded.size,"
                                       " updated = excluded.updated, data = excluded.data",
                                 5, NULL, p, lens, fmts, 0);
    r = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : PQstatus(k->c) == CONNECTION_OK ? MTD_EIO : MTD_EUNAVAIL;
    PQclear(res);
    mtd_pg_release(s->cl, k);
    return r;
}

int mtd_store_pg_feed_remove(mtd_store *st, const char *name)
{
    const char *p[] = {name};
    int r = mtd_pg_exec(mtd_pg_of(st), "DELETE FROM feeds WHERE name = $1", 1, p);
    return r < 0 ? r : r == 0 ? MTD_ENOENT : 0;
}

int mtd_store_pg_feed_data(mtd_store *st, const char *name, const char *sha, mtd_buf *out)
{
    mtd_pg_store *s = mtd_pg_of(st);
    const char *p[] = {name, sha};
    mtd_pg_conn *k;
    int r = mtd_pg_acquire(s->cl, s->id, &k);
    if (r)
        return r;
    /* binary results: the bytes as they are, not bytea's hex text */
    PGresult *res = PQexecParams(k->c, "SELECT data FROM feeds WHERE name = $1 AND sha256 = $2", 2, NULL, p,
                                 NULL, NULL, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        r = PQstatus(k->c) == CONNECTION_OK ? MTD_EIO : MTD_EUNAVAIL;
    else if (PQntuples(res) != 1)
        r = MTD_ENOENT; /* replaced since the index was read */
    else
        r = mtd_buf_append(out, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
    PQclear(res);
    mtd_pg_release(s->cl, k);
    return r;
}
