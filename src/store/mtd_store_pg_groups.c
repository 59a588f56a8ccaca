/* mtd_store_pg_groups (PostgreSQL backend): device groups, as mtd_store_groups.c does
 * on SQLite: each device's group, an enrollment token's group, each group's policy
 * overrides. */
#include "store/mtd_store_pg_int.h"
#include "common/mtd_err.h"

#include <stdio.h>
#include <string.h>

static int write1(mtd_store *st, const char *sql, int n, const char *const *p)
{
    int r = mtd_pg_exec(mtd_pg_of(st), sql, n, p);
    return r < 0 ? r : 0;
}

int mtd_pg_group_set(mtd_store *st, const char *device_id, const char *grp)
{
    const char *p[] = {device_id, grp};
    if (!grp)
        return write1(st, "DELETE FROM device_groups WHERE device_id=$1", 1, p);
    return write1(st, "INSERT INTO device_groups(device_id, grp) VALUES($1, $2) ON CONFLICT(device_id)"
                      " DO UPDATE SET grp=excluded.grp", 2, p);
}

int mtd_pg_group_get(mtd_store *st, const char *device_id, char *grp, size_t len)
{
    return mtd_pg_read(mtd_pg_of(st), "SELECT grp FROM device_groups WHERE device_id=$1", device_id, grp, len);
}

int mtd_pg_token_group_set(mtd_store *st, const char *hash, const char *grp)
{
    const char *p[] = {hash, grp};
    return write1(st, "INSERT INTO token_groups(hash, grp) VALUES($1, $2) ON CONFLICT(hash)"
                      " DO UPDATE SET grp=excluded.grp", 2, p);
}

int mtd_pg_token_group_get(mtd_store *st, const char *hash, char *grp, size_t len)
{
    return mtd_pg_read(mtd_pg_of(st), "SELECT grp FROM token_groups WHERE hash=$1", hash, grp, len);
}

int mtd_pg_group_policy_get(mtd_store *st, const char *grp, char *json, size_t len)
{
    return mtd_pg_read(mtd_pg_of(st), "SELECT policy FROM groups WHERE name=$1", grp, json, len);
}

int mtd_pg_group_policy_set(mtd_store *st, const char *grp, const char *json)
{
    const char *p[] = {grp, json};
    return write1(st, "INSERT INTO groups(name, policy) VALUES($1, $2) ON CONFLICT(name)"
                      " DO UPDATE SET policy=excluded.policy", 2, p);
}

json_t *mtd_pg_group_list(mtd_store *st)
{
    json_t *rows = mtd_pg_report(mtd_pg_of(st),
                                 "SELECT n.name, (SELECT count(*) FROM device_groups d WHERE d.grp = n.name)"
                                 " AS devices, coalesce(g.policy, '{}') AS policy FROM (SELECT name FROM groups"
                                 " UNION SELECT grp FROM device_groups) n LEFT JOIN groups g ON g.name = n.name"
                                 " ORDER BY n.name", 0, NULL, NULL);
    return mtd_store_group_rows(rows);
}

json_t *mtd_pg_group_devices(mtd_store *st, const char *grp)
{
    const char *p[] = {grp};
    return mtd_pg_report(mtd_pg_of(st), "SELECT device_id FROM device_groups WHERE grp=$1 ORDER BY device_id",
                         1, p, NULL);
}
