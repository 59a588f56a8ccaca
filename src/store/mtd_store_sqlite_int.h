/* mtd_store_sqlite_int: internals shared by the SQLite backend's files (not a public
 * interface): the store struct and small statement helpers. Callers hold s->mu. */
#ifndef MTD_STORE_SQLITE_INT_H
#define MTD_STORE_SQLITE_INT_H

#include "store/mtd_store.h"

#include <pthread.h>
#include <sqlite3.h>

struct mtd_store {
    sqlite3 *db;
    pthread_mutex_t mu;
    sqlite3_stmt *ins[32]; /* per event type, index as in mtd_event_types */
    int scrub;             /* data was deleted: checkpoint the WAL after the commit */
};

/* Runs one statement with text parameters (NULL binds NULL); returns the number of
 * changed rows, or MTD_EEXIST on a constraint violation, MTD_EIO otherwise. */
int mtd_sq_exec(mtd_store *s, const char *sql, int n, const char *const *p);
/* One row, one text column: 0, MTD_ENOENT or MTD_EIO. */
int mtd_sq_text(mtd_store *s, const char *sql, const char *param, char *out, size_t len);
/* Every row as a JSON array of objects keyed by column name. */
json_t *mtd_sq_rows(mtd_store *s, const char *sql, int n, const char *const *p);
void mtd_sq_now(char *b, size_t n);
/* Appends to the audit log (caller holds s->mu). */
int mtd_sq_audit(mtd_store *s, const char *actor, const char *action, const char *detail);
/* "device.info" -> "ev_device_info" */
void mtd_sq_table(const char *ev, char *out, size_t outlen);

#endif
