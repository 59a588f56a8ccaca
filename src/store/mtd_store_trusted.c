/* mtd_store_trusted (SQLite backend): the installers each policy scope trusts, which
 * decide an app's `side` in the summaries (mtd_side_sql): the agent's heur.sideloaded
 * rule under the device's effective policy, the tenant's trusted_stores overridden by
 * its group's. The table trusted(scope, package) holds the tenant's list (scope '')
 * and that of each group whose policy sets trusted_stores (with a marker row
 * (grp, ''): an empty list is an override too). It is made again from the policy
 * rows in the transaction of every write that changes them, and the summaries' side
 * of the devices it moves is set again after that write (mtd_sq_sum_side), so the
 * next report applies a new policy without a rebuild of the summaries. */
#include "store/mtd_store_sqlite_int.h"
#include "common/mtd_err.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A policy's JSON only when valid: json_type and json_each fail the statement on text
 * that is not JSON, and a bad row must leave the defaults, as the policy's parse does. */
#define VALID(c) "coalesce(CASE WHEN json_valid(" c ") THEN " c " END, '{}')"
#define SETS(c) "json_type(" VALID(c) ", '$.trusted_stores') = 'array'"

static const char sync_sql[] =
    "DELETE FROM trusted;"
    "INSERT INTO trusted(scope, package) VALUES('', '');"
    "INSERT OR IGNORE INTO trusted(scope, package) SELECT '', j.value FROM policy p,"
    " json_each(" VALID("p.json") ", '$.trusted_stores') j WHERE " SETS("p.json") " AND j.type = 'text';"
    /* no tenant list stored: the defaults (%s) */
    "INSERT OR IGNORE INTO trusted(scope, package) SELECT '', column1 FROM (VALUES %s)"
    " WHERE NOT EXISTS (SELECT 1 FROM policy p WHERE " SETS("p.json") ");"
    "INSERT OR IGNORE INTO trusted(scope, package) SELECT g.name, '' FROM groups g WHERE " SETS("g.policy") ";"
    "INSERT OR IGNORE INTO trusted(scope, package) SELECT g.name, j.value FROM groups g,"
    " json_each(" VALID("g.policy") ", '$.trusted_stores') j WHERE " SETS("g.policy") " AND j.type = 'text';";

int mtd_sq_trusted_sync_db(sqlite3 *db)
{
    char dflt[1024], sql[sizeof sync_sql + sizeof dflt];
    mtd_trusted_defaults_sql(dflt, sizeof dflt);
    snprintf(sql, sizeof sql, sync_sql, dflt);
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : MTD_EIO;
}

int mtd_sq_trusted_sync(mtd_store *s)
{
    return mtd_sq_trusted_sync_db(s->db);
}

/* The table's rows as one text (malloc'd; NULL on error), to tell whether a sync
 * changed them: most policy writes change other keys. */
static char *snapshot(mtd_store *s)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT group_concat(scope || x'1f' || package, x'1e') FROM"
                                  " (SELECT scope, package FROM trusted ORDER BY scope, package)",
                           -1, &st, NULL) != SQLITE_OK)
        return NULL;
    char *out = NULL;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        out = strdup(t ? t : "");
    }
    sqlite3_finalize(st);
    return out;
}

static int exec(mtd_store *s, const char *sql)
{
    return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : MTD_EIO;
}

int mtd_sq_trusted_write(mtd_store *s, const char *sql, int n, const char *const *p, int always,
                         const char *where, const char *param)
{
    pthread_mutex_lock(&s->mu);
    char *before = NULL, *after = NULL;
    int r = exec(s, "BEGIN IMMEDIATE");
    if (r == 0 && !(before = snapshot(s)))
        r = MTD_EIO;
    if (r == 0 && (r = mtd_sq_exec(s, sql, n, p)) > 0)
        r = 0;
    if (r == 0)
        r = mtd_sq_trusted_sync(s);
    if (r == 0 && !(after = snapshot(s)))
        r = MTD_EIO;
    if (r == 0)
        r = exec(s, "COMMIT");
    if (r)
        exec(s, "ROLLBACK");
    pthread_mutex_unlock(&s->mu);
    int moved = r == 0 && (always || strcmp(before, after) != 0);
    free(before);
    free(after);
    /* after the commit, outside s->mu (lock order mu, smu, pmu): a chunk that read the
     * old table is done by then, one after it reads the new */
    return moved ? mtd_sq_sum_side(s, where, param) : r;
}
