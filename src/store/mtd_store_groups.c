/* mtd_store_groups (SQLite backend): device groups (mtd_store.h, "Device groups"):
 * which group each device is in, the group an enrollment token puts its devices in,
 * and each group's policy overrides (a JSON object of policy keys). */
#include "store/mtd_store_sqlite_int.h"
#include "common/mtd_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A write under the writer's lock; 0 or a negative code. */
static int write1(mtd_store *s, const char *sql, int n, const char *const *p)
{
    pthread_mutex_lock(&s->mu);
    int r = mtd_sq_exec(s, sql, n, p);
    pthread_mutex_unlock(&s->mu);
    return r < 0 ? r : 0;
}

int mtd_sqlite_group_set(mtd_store *s, const char *device_id, const char *grp)
{
    const char *p[] = {device_id, grp};
    /* the device's trusted stores may be another scope's now */
    if (!grp)
        return mtd_sq_trusted_write(s, "DELETE FROM device_groups WHERE device_id=?", 1, p, 1, " AND device_id=?1",
                                    device_id);
    return mtd_sq_trusted_write(s, "INSERT INTO device_groups(device_id, grp) VALUES(?, ?) ON CONFLICT(device_id)"
                                   " DO UPDATE SET grp=excluded.grp", 2, p, 1, " AND device_id=?1", device_id);
}

int mtd_sqlite_group_get(mtd_store *s, const char *device_id, char *grp, size_t len)
{
    return mtd_sq_read(s, "SELECT grp FROM device_groups WHERE device_id=?", device_id, grp, len);
}

int mtd_sqlite_token_group_set(mtd_store *s, const char *hash, const char *grp)
{
    const char *p[] = {hash, grp};
    return write1(s, "INSERT INTO token_groups(hash, grp) VALUES(?, ?) ON CONFLICT(hash)"
                     " DO UPDATE SET grp=excluded.grp", 2, p);
}

int mtd_sqlite_token_group_get(mtd_store *s, const char *hash, char *grp, size_t len)
{
    return mtd_sq_read(s, "SELECT grp FROM token_groups WHERE hash=?", hash, grp, len);
}

int mtd_sqlite_group_policy_get(mtd_store *s, const char *grp, char *json, size_t len)
{
    return mtd_sq_read(s, "SELECT policy FROM groups WHERE name=?", grp, json, len);
}

int mtd_sqlite_group_policy_set(mtd_store *s, const char *grp, const char *json)
{
    const char *p[] = {grp, json};
    return mtd_sq_trusted_write(s, "INSERT INTO groups(name, policy) VALUES(?, ?) ON CONFLICT(name)"
                                   " DO UPDATE SET policy=excluded.policy", 2, p, 0,
                                " AND device_id IN (SELECT device_id FROM device_groups WHERE grp=?1)", grp);
}

/* Every group that has a policy or a device: name, devices, policy (its overrides). */
json_t *mtd_sqlite_group_list(mtd_store *s)
{
    json_t *rows = mtd_sq_report(s, "SELECT n.name, (SELECT count(*) FROM device_groups d WHERE d.grp = n.name)"
                                    " AS devices, coalesce(g.policy, '{}') AS policy FROM (SELECT name FROM groups"
                                    " UNION SELECT grp FROM device_groups) n LEFT JOIN groups g ON g.name = n.name"
                                    " ORDER BY n.name", 0, NULL);
    return mtd_store_group_rows(rows);
}

json_t *mtd_sqlite_group_devices(mtd_store *s, const char *grp)
{
    const char *p[] = {grp};
    return mtd_sq_report(s, "SELECT device_id FROM device_groups WHERE grp=? ORDER BY device_id", 1, p);
}
