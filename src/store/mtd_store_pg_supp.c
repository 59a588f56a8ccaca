/* mtd_store_pg_supp (PostgreSQL backend): suppression rules, as mtd_store_supp.c keeps
 * them on SQLite (the matching condition is shared, mtd_supp_match_sql). */
#include "store/mtd_store_pg_int.h"
#include "common/mtd_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int mtd_pg_supp_add(mtd_store *st, const mtd_supp_rule *r, int64_t *id)
{
    char exp[24], now[24], max[24];
    const char *p[9];
    mtd_supp_rule_params(r, exp, now, p);
    snprintf(max, sizeof max, "%d", MTD_SUPP_MAX);
    p[8] = max;
    PGresult *res = NULL;
    /* the cap in the INSERT itself: no row is made when the tenant has MTD_SUPP_MAX
     * (two admins adding at once may pass it by one, which the cap tolerates) */
    int rc = mtd_pg_run(mtd_pg_of(st), "INSERT INTO suppressions(kind, value, device_id, grp, expires_at, reason,"
                                       " created_at, actor) SELECT $1, $2, $3, $4, nullif($5::bigint, 0), $6,"
                                       " $7::bigint, $8 WHERE (SELECT count(*) FROM suppressions) < $9::bigint"
                                       " RETURNING id", 9, p, &res);
    if (rc)
        return rc;
    *id = PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    PQclear(res);
    return *id ? 0 : MTD_ENOSPC;
}

json_t *mtd_pg_supp_list(mtd_store *st)
{
    return mtd_supp_rows(mtd_pg_report(mtd_pg_of(st),
                                       "SELECT id, kind, value, device_id, grp AS \"group\", reason, actor,"
                                       " created_at, expires_at, CASE WHEN expires_at IS NULL OR expires_at >"
                                       " extract(epoch FROM now())::bigint THEN 1 ELSE 0 END AS active"
                                       " FROM suppressions ORDER BY id", 0, NULL, NULL));
}

int mtd_pg_supp_remove(mtd_store *st, int64_t id)
{
    char t[24];
    snprintf(t, sizeof t, "%lld", (long long)id);
    const char *p[] = {t};
    int r = mtd_pg_exec(mtd_pg_of(st), "DELETE FROM suppressions WHERE id = $1::bigint", 1, p);
    return r < 0 ? r : r == 0 ? MTD_ENOENT : 0;
}

int mtd_pg_supp_match(mtd_store *st, const json_t *detection, int64_t *rule_id)
{
    char m[2048], sql[2560];
    const char *p[6];
    mtd_supp_probe_params(detection, p);
    mtd_supp_match_sql(m, sizeof m, 1, "t");
    snprintf(sql, sizeof sql, "SELECT r.id FROM suppressions r, (SELECT $1::text AS device_id, $2::text AS package,"
                              " $3::text AS threat_id, $4::text AS threat_name, $5::text AS source,"
                              " $6::text AS evidence) t WHERE %s ORDER BY r.id LIMIT 1", m);
    json_t *rows = mtd_pg_report(mtd_pg_of(st), sql, 6, p, NULL);
    if (!rows)
        return MTD_EIO;
    *rule_id = json_integer_value(json_object_get(json_array_get(rows, 0), "id"));
    json_decref(rows);
    return 0;
}
