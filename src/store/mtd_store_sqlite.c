/* mtd_store_sqlite: the embedded per-tenant store on SQLite (WAL).
 *
 * One file per tenant; one connection per open store, serialized by a mutex (SQLite
 * serializes writers anyway, and one connection keeps prepared statements warm). The
 * event tables are created from the schema table at open, so adding a field to the
 * schema adds its column; a column is never created from anything a device sent. */
#include "store/mtd_store_sqlite_int.h"
#include "common/mtd_err.h"
#include "common/mtd_buf.h"
#include "common/mtd_util.h"
#include "schema/mtd_schema.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* The settings of the writer's connection, at every open. */
static const char *pragma_sql =
    /* larger pages and a 64 MiB cache: a small gain on ingest (bench_ingest) */
    "PRAGMA page_size=16384;"
    "PRAGMA cache_size=-65536;"
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "PRAGMA foreign_keys=ON;"
    /* deleted rows are overwritten, so a user delete leaves nothing in free pages */
    "PRAGMA secure_delete=ON;"
    /* the savepoint of every batch in a group commit needs a statement journal, which
     * SQLite otherwise makes as a file in /var/tmp (opened, unlinked, written and
     * closed per batch: ~3% of the collector's CPU under bench_ingest); it holds the
     * pages one batch changed. The writer makes no large sorts that this would move
     * into memory: the reports run on their own connection. */
    "PRAGMA temp_store=MEMORY;";

/* Bumped whenever a migration below (migrate_ranges, migrate_audit) or
 * mtd_sq_creds_migrate changes what it does: the schema hash (schema_hash) covers the
 * CREATE statements by their text, not the migrations' code. */
#define MIGRATIONS_VERSION 1

static const char *base_sql =
    "CREATE TABLE IF NOT EXISTS tokens(hash TEXT PRIMARY KEY, role TEXT NOT NULL,"
    " label TEXT, created_at INTEGER NOT NULL, revoked_at INTEGER);"
    "CREATE TABLE IF NOT EXISTS credentials(hash TEXT PRIMARY KEY, device_id TEXT,"
    " created_at INTEGER NOT NULL, revoked_at INTEGER);"
    "CREATE TABLE IF NOT EXISTS devices(device_id TEXT PRIMARY KEY, first_seen INTEGER,"
    " last_seen INTEGER, upn TEXT, dir_user_id TEXT, dir_device_id TEXT, org_id TEXT,"
    " consent INTEGER NOT NULL DEFAULT 0, consent_time INTEGER, info_row INTEGER);"
    /* the devices report's order (mtd_device_keys): a page is a range of it, where
     * the report sorted the fleet; one entry moved per batch, which updates the row */
    "CREATE INDEX IF NOT EXISTS devices_seen ON devices(coalesce(last_seen, 0) DESC, device_id);"
    /* a batch's rows are first_row..last_row of the event tables, of the types whose
     * bits are set in types (-1: not known, any type) (mtd_sq_device_join) */
    "CREATE TABLE IF NOT EXISTS batches(idem_key TEXT PRIMARY KEY, device_id TEXT,"
    " received_at INTEGER NOT NULL, events INTEGER NOT NULL, first_row INTEGER, last_row INTEGER,"
    " types INTEGER NOT NULL DEFAULT -1);"
    "CREATE TABLE IF NOT EXISTS policy(id INTEGER PRIMARY KEY CHECK(id=1), json TEXT NOT NULL);"
    /* device groups (mtd_store_groups.c): a group's policy overrides, each device's
     * group, the group an enrollment token gives its devices */
    "CREATE TABLE IF NOT EXISTS groups(name TEXT PRIMARY KEY, policy TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS device_groups(device_id TEXT PRIMARY KEY, grp TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS device_groups_grp ON device_groups(grp);"
    "CREATE TABLE IF NOT EXISTS token_groups(hash TEXT PRIMARY KEY, grp TEXT NOT NULL);"
    /* the installers each policy scope trusts (mtd_store_trusted.c): '' the tenant's,
     * a group's name when its policy sets trusted_stores (marked by a row with package '') */
    "CREATE TABLE IF NOT EXISTS trusted(scope TEXT NOT NULL, package TEXT NOT NULL,"
    " PRIMARY KEY(scope, package)) WITHOUT ROWID;"
    /* suppression rules (mtd_store_supp.c) */
    "CREATE TABLE IF NOT EXISTS suppressions(id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,"
    " value TEXT NOT NULL, device_id TEXT, grp TEXT, expires_at INTEGER, reason TEXT,"
    " created_at INTEGER NOT NULL, actor TEXT NOT NULL);"
    /* OpenID Connect sign-in (mtd_store_oidc.c): the configuration, the sign-ins begun */
    "CREATE TABLE IF NOT EXISTS oidc(id INTEGER PRIMARY KEY CHECK(id=1), json TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS oidc_logins(state_hash TEXT PRIMARY KEY, verifier TEXT NOT NULL,"
    " nonce TEXT NOT NULL, expires_at INTEGER NOT NULL);"
    /* what admins wrote about a device's threat (how it was handled) */
    "CREATE TABLE IF NOT EXISTS threat_notes(id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL,"
    " device_id TEXT NOT NULL, threat_id TEXT NOT NULL, actor TEXT NOT NULL, note TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS audit(id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL,"
    " actor TEXT NOT NULL, action TEXT NOT NULL, detail TEXT);"
    /* the audit log is append-only: the store itself refuses edits, but for one: a
     * user's deletion erases the device pseudonym an entry names (device_id, added by
     * migrate_audit), so that no file keeps it; the entry itself stays */
    "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;"
    "CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;";

/* "device.info" -> "ev_device_info" */
void mtd_sq_table(const char *ev, char *out, size_t outlen)
{
    snprintf(out, outlen, "ev_%s", ev);
    for (char *p = out; *p; p++)
        if (*p == '.')
            *p = '_';
}

static const char *col_type(const mtd_field *f)
{
    return f->type == MTD_T_INT || f->type == MTD_T_BOOL ? "INTEGER" : "TEXT";
}

/* CREATE TABLE for one event type, and the matching INSERT. An event table has no
 * index but its row number: every index on it was paid per row by the single writer
 * (bench_ingest: a UNIQUE(device_id, event_id) index cost a third of the collector's
 * rate). A device's rows are found through its batches (mtd_sq_device_join); a batch
 * is stored once by its Idempotency-Key, and the agent resends a batch over the same
 * records under the same key (mtd_uplink.c), so no per-event key is needed. */
static void event_sql(const mtd_event_type *ev, mtd_buf *create, mtd_buf *insert)
{
    char t[96];
    mtd_sq_table(ev->name, t, sizeof t);
    mtd_buf_printf(create, "CREATE TABLE IF NOT EXISTS %s(row INTEGER PRIMARY KEY,"
                           " received_at INTEGER NOT NULL", t);
    mtd_buf_printf(insert, "INSERT INTO %s(row, received_at", t);
    size_t n = 2;
    for (int pass = 0; pass < 2; pass++) {
        const mtd_field *fs = pass ? ev->fields : mtd_envelope_fields;
        size_t nf = pass ? ev->nfields : mtd_envelope_nfields;
        for (size_t i = 0; i < nf; i++) {
            mtd_buf_printf(create, ", \"%s\" %s", fs[i].name, col_type(&fs[i]));
            mtd_buf_printf(insert, ", \"%s\"", fs[i].name);
            n++;
        }
    }
    mtd_buf_printf(create, ");DROP INDEX IF EXISTS %s_dev;", t);
    mtd_buf_puts(insert, ") VALUES(?");
    for (size_t i = 1; i < n; i++)
        mtd_buf_puts(insert, ",?");
    mtd_buf_puts(insert, ")");
}

int64_t mtd_sq_type_bit(const mtd_event_type *ev)
{
    return (int64_t)1 << (ev - mtd_event_types);
}

int mtd_sq_device_join(char *out, size_t len, const char *event)
{
    const mtd_event_type *ev = mtd_schema_event(event);
    char t[96];
    mtd_sq_table(event, t, sizeof t);
    return snprintf(out, len, "batches b JOIN %s e ON e.row BETWEEN b.first_row AND b.last_row"
                              " WHERE b.device_id=?1 AND b.types & %lld AND e.device_id=?1",
                    t, ev ? (long long)mtd_sq_type_bit(ev) : 0LL);
}

int mtd_sq_device_rows(char *out, size_t len, const char *event)
{
    char join[256];
    mtd_sq_device_join(join, sizeof join, event);
    return snprintf(out, len, " AND row IN (SELECT e.row FROM %s)", join);
}

/* Steps a single-row, single-text-column query bound to param, once. */
static int text_step(sqlite3_stmt *st, const char *param, char *out, size_t len)
{
    sqlite3_bind_text(st, 1, param, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st), r = MTD_ENOENT;
    if (rc == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        mtd_strlcpy(out, v ? v : "", len);
        r = 0;
    } else if (rc != SQLITE_DONE) {
        r = MTD_EIO;
    }
    return r;
}

/* Runs a single-row, single-text-column query (compiled for this call: the schema
 * checks at open). */
static int text_on(sqlite3 *db, const char *sql, const char *param, char *out, size_t len)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return MTD_EIO;
    int r = text_step(st, param, out, len);
    sqlite3_finalize(st);
    return r;
}

/* The cache is searched by the SQL's hash, then its text: the callers' SQL is mostly
 * a literal, but some build it, so its address names nothing. Full, the slots are
 * taken in turn (the hot statements come back at once, the rare ones go). */
sqlite3_stmt *mtd_sq_cached(sqlite3 *db, mtd_sq_cache *c, const char *sql)
{
    uint32_t h = mtd_fnv1a(sql, strlen(sql));
    for (unsigned i = 0; i < MTD_SQ_CACHE; i++)
        if (c->st[i] && c->hash[i] == h && !strcmp(sqlite3_sql(c->st[i]), sql))
            return c->st[i];
    sqlite3_stmt *st;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return NULL;
    }
    unsigned i = c->next++ % MTD_SQ_CACHE;
    sqlite3_finalize(c->st[i]);
    c->st[i] = st;
    c->hash[i] = h;
    return st;
}

void mtd_sq_done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

void mtd_sq_cache_free(mtd_sq_cache *c)
{
    for (unsigned i = 0; i < MTD_SQ_CACHE; i++)
        sqlite3_finalize(c->st[i]);
    memset(c, 0, sizeof *c);
}

/* Adds a column that a store made by an older version lacks (SQLite adds a nullable
 * column without rewriting the table); *added says whether it did. */
static int ensure_column(mtd_store *s, const char *t, const char *name, const char *type, int *added)
{
    char sql[256], one[4];
    snprintf(sql, sizeof sql, "SELECT 1 FROM pragma_table_info('%s') WHERE name=?", t);
    int r = text_on(s->db, sql, name, one, sizeof one);
    if (r != 0 && r != MTD_ENOENT)
        return MTD_EIO;
    if (added)
        *added = r == MTD_ENOENT;
    if (r == 0)
        return 0;
    snprintf(sql, sizeof sql, "ALTER TABLE %s ADD COLUMN \"%s\" %s", t, name, type);
    return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : MTD_EIO;
}

/* The columns of fields added to the schema since the store was made. */
static int add_new_columns(mtd_store *s, const mtd_event_type *ev)
{
    char t[96];
    mtd_sq_table(ev->name, t, sizeof t);
    for (int pass = 0; pass < 2; pass++) {
        const mtd_field *fs = pass ? ev->fields : mtd_envelope_fields;
        size_t nf = pass ? ev->nfields : mtd_envelope_nfields;
        for (size_t i = 0; i < nf; i++)
            if (ensure_column(s, t, fs[i].name, col_type(&fs[i]), NULL) != 0)
                return MTD_EIO;
    }
    return 0;
}

/* A store made before batches had row ranges: each event table had a (device_id,
 * event_id) index. Its rows get one range per device and table (min..max row, which
 * other devices' rows interleave: mtd_sq_device_join checks each row's device; dated
 * by the newest row, as retention prunes batches by date), the
 * devices their latest device.info row, and the index goes. */
static int migrate_ranges(mtd_store *s)
{
    int added;
    if (ensure_column(s, "batches", "first_row", "INTEGER", NULL) != 0 ||
        ensure_column(s, "batches", "last_row", "INTEGER", NULL) != 0 ||
        ensure_column(s, "batches", "types", "INTEGER NOT NULL DEFAULT -1", NULL) != 0 ||
        ensure_column(s, "devices", "info_row", "INTEGER", &added) != 0)
        return MTD_EIO;
    if (added && sqlite3_exec(s->db, "UPDATE devices SET info_row=(SELECT max(row) FROM ev_device_info"
                                     " WHERE device_id=devices.device_id)", NULL, NULL, NULL) != SQLITE_OK)
        return MTD_EIO;
    for (size_t i = 0; i < mtd_event_ntypes; i++) {
        char t[96], sql[512];
        mtd_sq_table(mtd_event_types[i].name, t, sizeof t);
        char ix[128], one[4];
        snprintf(ix, sizeof ix, "%s_dev_event", t);
        int r = text_on(s->db, "SELECT 1 FROM sqlite_master WHERE type='index' AND name=?", ix, one, sizeof one);
        if (r == MTD_ENOENT)
            continue;
        if (r != 0)
            return MTD_EIO;
        /* ':' is not allowed in an Idempotency-Key: no device can own these keys */
        snprintf(sql, sizeof sql, "INSERT INTO batches(idem_key, device_id, received_at, events,"
                                  " first_row, last_row) SELECT 'migrated:%s:' || device_id, device_id,"
                                  " max(received_at), count(*), min(row), max(row) FROM %s GROUP BY"
                                  " device_id; DROP INDEX %s_dev_event;", t, t, t);
        if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
            return MTD_EIO;
    }
    /* covering: a device's batches holding a type are picked from the index alone,
     * and only their ranges are read (bench_reports: a device with a year of 15-minute
     * batches). One index entry per batch; one partial index per type was faster
     * to read but cost ingest an index entry per type a batch holds. */
    return sqlite3_exec(s->db, "DROP INDEX IF EXISTS batches_dev; CREATE INDEX IF NOT EXISTS batches_device"
                               " ON batches(device_id, first_row, last_row, types)",
                        NULL, NULL, NULL) == SQLITE_OK ? 0 : MTD_EIO;
}

/* The audit log names the device an entry is about (device_id); a store made before
 * gets the column, and the update trigger the one exception it allows. */
static int migrate_audit(mtd_store *s)
{
    if (ensure_column(s, "audit", "device_id", "TEXT", NULL) != 0)
        return MTD_EIO;
    return sqlite3_exec(s->db, "DROP TRIGGER IF EXISTS audit_no_update;"
                               "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit WHEN NOT"
                               " (NEW.device_id IS NULL AND NEW.id = OLD.id AND NEW.time = OLD.time AND"
                               " NEW.actor = OLD.actor AND NEW.action = OLD.action AND NEW.detail IS OLD.detail)"
                               " BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;",
                        NULL, NULL, NULL) == SQLITE_OK ? 0 : MTD_EIO;
}

/* Event rows are numbered across all event tables, so a batch's rows are one range.
 * The next number follows the largest in any table, or in the newest batch's range if
 * its rows were deleted since (consent revocation): a number reused inside a range of
 * the same device would list that row twice. Batches are stored in row order, so the
 * newest is the last by rowid; each of these is one b-tree descent. */
static int load_next_row(mtd_store *s)
{
    mtd_buf sql;
    mtd_buf_init(&sql, 0);
    mtd_buf_puts(&sql, "SELECT max(m) FROM (SELECT 0 AS m");
    for (size_t i = 0; i < mtd_event_ntypes; i++) {
        char t[96];
        mtd_sq_table(mtd_event_types[i].name, t, sizeof t);
        mtd_buf_printf(&sql, " UNION ALL SELECT max(row) FROM %s", t);
    }
    mtd_buf_puts(&sql, " UNION ALL SELECT (SELECT last_row FROM batches ORDER BY rowid DESC LIMIT 1))");
    sqlite3_stmt *st;
    int r = MTD_EIO;
    if (sqlite3_prepare_v2(s->db, (char *)sql.data, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) {
            s->next_row = sqlite3_column_int64(st, 0) + 1;
            r = 0;
        }
        sqlite3_finalize(st);
    }
    mtd_buf_free(&sql);
    return r;
}

/* The SELECT of an export chunk of one event type: each row as one JSON object, made
 * by SQLite's json_object (keys in the table's column order, as "SELECT *" gives
 * them); a jansson tree per row made the export 0.35 of the sqlite3 shell's rate
 * (bench_export). */
static int line_sql(mtd_store *s, const mtd_event_type *ev, char **out)
{
    char t[96], sql[160];
    mtd_sq_table(ev->name, t, sizeof t);
    snprintf(sql, sizeof sql, "SELECT name FROM pragma_table_info('%s') ORDER BY cid", t);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return MTD_EIO;
    mtd_buf b;
    mtd_buf_init(&b, 0);
    /* row and received_at (Unix seconds) are written by mtd_store_event_lines_after in
     * C: SQLite's strftime for every row made the export 4x slower (bench_export) */
    mtd_buf_puts(&b, "SELECT row, received_at, json_object(");
    for (int n = 0; sqlite3_step(st) == SQLITE_ROW;) {
        /* each value typed as column_value types it for the API (json() marks its
         * result as JSON, so json_object embeds it rather than quoting it); an event
         * table's own times are RFC 3339 text already */
        const char *c = (const char *)sqlite3_column_text(st, 0);
        static const char *const fmt[] = {
            [MTD_COL_PLAIN] = "\"%s\"", [MTD_COL_TIME] = "\"%s\"",
            [MTD_COL_BOOL] = "json(iif(\"%1$s\" IS NULL, 'null', iif(\"%1$s\", 'true', 'false')))",
            [MTD_COL_LIST] = "json(coalesce(\"%s\", 'null'))"};
        if (!strcmp(c, "row") || !strcmp(c, "received_at"))
            continue;
        mtd_buf_printf(&b, "%s'%s', ", n++ ? ", " : "", c);
        mtd_buf_printf(&b, fmt[mtd_store_column_kind(c)], c);
    }
    sqlite3_finalize(st);
    mtd_buf_printf(&b, ") FROM %s WHERE row > ? ORDER BY row LIMIT ?", t);
    mtd_buf_append(&b, "", 1);
    *out = (char *)b.data; /* the buffer's bytes, NUL-terminated, now owned by the store */
    return 0;
}

/* A hash of the schema this build makes (every CREATE statement, the migrations'
 * version), kept in the file's user_version once the store has it all: a store whose
 * user_version matches needs none of the CREATE IF NOT EXISTS, column checks and
 * trigger rewrites of an open (22-86 ms measured per open, which an LRU closing idle
 * stores makes frequent). 31 bits and never 0 (a new file's user_version). */
static int schema_hash(void)
{
    mtd_buf b;
    mtd_buf_init(&b, 0);
    mtd_buf_printf(&b, "%s|%d|", base_sql, MIGRATIONS_VERSION);
    for (size_t i = 0; i < mtd_event_ntypes && i < 32; i++) {
        mtd_buf ins;
        mtd_buf_init(&ins, 0);
        event_sql(&mtd_event_types[i], &b, &ins);
        mtd_buf_free(&ins);
    }
    uint32_t h = mtd_fnv1a(b.data, b.len);
    mtd_buf_free(&b);
    h &= 0x7fffffff;
    return h ? (int)h : 1;
}

static int user_version(sqlite3 *db)
{
    sqlite3_stmt *st;
    int v = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return 0;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* After every CREATE and migration of an open succeeded: the next open skips them. */
static int set_schema_current(mtd_store *s)
{
    char sql[48];
    snprintf(sql, sizeof sql, "PRAGMA user_version=%d", schema_hash());
    return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : MTD_EIO;
}

/* The settings, and unless the file says it has them (*current) the tables, begun in
 * one transaction: a new store's dozens of statements committed one by one took
 * ~40 ms, where thousands of tenants are made one after another. */
static int create_tables(mtd_store *s, int *current, char *why, size_t wl)
{
    char *err = NULL;
    int rc = sqlite3_exec(s->db, pragma_sql, NULL, NULL, &err);
    *current = rc == SQLITE_OK && user_version(s->db) == schema_hash();
    if (rc == SQLITE_OK && !*current && (rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, &err)) == SQLITE_OK)
        rc = sqlite3_exec(s->db, base_sql, NULL, NULL, &err);
    if (rc != SQLITE_OK) {
        snprintf(why, wl, "store schema: %s", err ? err : sqlite3_errmsg(s->db));
        sqlite3_free(err);
        return MTD_EIO;
    }
    return 0;
}

/* One event type's table (unless current), its columns and its statements. */
static int event_table(mtd_store *s, size_t i, int current, char *why, size_t wl)
{
    char *err = NULL;
    mtd_buf c, ins;
    mtd_buf_init(&c, 0);
    mtd_buf_init(&ins, 0);
    event_sql(&mtd_event_types[i], &c, &ins);
    int rc = current ? SQLITE_OK : sqlite3_exec(s->db, (char *)c.data, NULL, NULL, &err);
    if (rc == SQLITE_OK && ((!current && add_new_columns(s, &mtd_event_types[i]) != 0) ||
                            line_sql(s, &mtd_event_types[i], &s->line_sql[i]) != 0))
        rc = SQLITE_ERROR;
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(s->db, (char *)ins.data, -1, &s->ins[i], NULL);
    mtd_buf_free(&c);
    mtd_buf_free(&ins);
    if (rc != SQLITE_OK)
        snprintf(why, wl, "store table for %s: %s", mtd_event_types[i].name, err ? err : sqlite3_errmsg(s->db));
    sqlite3_free(err);
    return rc == SQLITE_OK ? 0 : MTD_EIO;
}

/* The migrations of a store whose schema is not this build's, and the commit of the
 * transaction create_tables began. */
static int migrate(mtd_store *s, char *why, size_t wl)
{
    const char *what = "store row ranges";
    int r = migrate_ranges(s);
    if (r == 0)
        r = migrate_audit(s);
    if (r == 0 && (r = mtd_sq_creds_migrate(s)) != 0)
        what = "store credentials";
    if (r == 0 && (r = mtd_sq_trusted_sync(s)) != 0) /* a store made before the table */
        what = "store trusted stores";
    if (r == 0 && (r = set_schema_current(s)) != 0)
        what = "store schema version";
    if (r == 0 && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        what = "store schema";
        r = MTD_EIO;
    }
    if (r)
        snprintf(why, wl, "%s: %s", what, sqlite3_errmsg(s->db));
    return r;
}

/* The schema, migrated when the file's is not this build's; the next row number. */
static int create_schema(mtd_store *s, char *why, size_t wl)
{
    int current;
    int r = create_tables(s, &current, why, wl);
    for (size_t i = 0; r == 0 && i < mtd_event_ntypes && i < 32; i++)
        r = event_table(s, i, current, why, wl);
    if (r == 0 && !current)
        r = migrate(s, why, wl);
    if (r == 0 && (r = load_next_row(s)) != 0)
        snprintf(why, wl, "store row ranges: %s", sqlite3_errmsg(s->db));
    if (r)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return r;
}

int mtd_sq_connect(mtd_store *s, int flags, sqlite3 **db, char *why, size_t whylen)
{
    if (sqlite3_open_v2(s->path, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | flags, NULL) !=
        SQLITE_OK) {
        if (why)
            snprintf(why, whylen, "%s: %s", s->path, *db ? sqlite3_errmsg(*db) : "cannot open");
        return MTD_EIO;
    }
    sqlite3_busy_timeout(*db, 5000);
    return 0;
}

static const mtd_store_ops sqlite_ops = {
#define MTD_SQLITE_OP(ret, name, params, args) .name = mtd_sqlite_##name,
    MTD_STORE_OPS(MTD_SQLITE_OP)
#undef MTD_SQLITE_OP
    .ingest_group = mtd_sqlite_ingest_group,
    .close = mtd_sqlite_close,
};

/* An open that failed for want of a descriptor (the process at RLIMIT_NOFILE while
 * other stores and connections hold theirs) is no broken store: it is answered 503 with
 * Retry-After, and the device's batch is kept and sent again, where a 500 lost it
 * (test_tenants_scale under ulimit -n 512: 1 batch of 1,500 failed). */
static int out_of_fds(mtd_store *s)
{
    sqlite3 *dbs[] = {s->db, s->rd, s->rp};
    for (size_t i = 0; i < 3; i++) {
        int e = dbs[i] ? sqlite3_system_errno(dbs[i]) : 0;
        if (e == EMFILE || e == ENFILE)
            return 1;
    }
    return 0;
}

int mtd_store_open(const char *dir, mtd_store **out, char *why, size_t whylen)
{
    *out = NULL;
    mtd_store *s = calloc(1, sizeof *s);
    if (!s)
        return MTD_ENOMEM;
    snprintf(s->path, sizeof s->path, "%s/store.sqlite", dir);
    snprintf(s->sum_path, sizeof s->sum_path, "%s/summary.sqlite", dir);
    pthread_mutex_init(&s->smu, NULL);
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->rmu, NULL);
    pthread_mutex_init(&s->pmu, NULL);
    mtd_store_group_init(&s->group);
    pthread_mutex_init(&s->ckrun, NULL);
    s->hdr.ops = &sqlite_ops;
    s->info_type = mtd_schema_event("device.info");
    s->consent_type = mtd_schema_event("consent.change");
    int r = mtd_sq_connect(s, SQLITE_OPEN_CREATE, &s->db, why, whylen);
    if (r == 0)
        r = create_schema(s, why, whylen);
    if (r == 0)
        r = mtd_sq_connect(s, 0, &s->rd, why, whylen);
    if (r == 0) /* CREATE: summary.sqlite is attached to it, made if need be */
        r = mtd_sq_connect(s, SQLITE_OPEN_CREATE, &s->rp, why, whylen);
    if (r == 0)
        r = mtd_sq_sum_open(s, why, whylen);
    if (r && out_of_fds(s)) {
        r = MTD_EBUSY;
        size_t n = why ? strlen(why) : 0;
        if (why && n < whylen)
            snprintf(why + n, whylen - n, " (out of file descriptors: retry)");
    }
    if (r) {
        mtd_sqlite_close(s);
        return r;
    }
    mtd_sq_wal_start(s);
    *out = s;
    return 0;
}

void mtd_sqlite_close(mtd_store *s)
{
    if (!s)
        return;
    mtd_sq_wal_stop(s);
    mtd_sq_sum_close(s);
    for (size_t i = 0; i < 32; i++) {
        sqlite3_finalize(s->ins[i]);
        free(s->line_sql[i]);
    }
    for (size_t i = 0; i < MTD_SQ_HOT_N; i++)
        sqlite3_finalize(s->hot[i]);
    mtd_sq_cache_free(&s->rd_cache);
    mtd_sq_cache_free(&s->rp_cache);
    free(s->pol_txt);
    free(s->pol);
    sqlite3_close(s->db);
    sqlite3_close(s->rd);
    sqlite3_close(s->rp);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->rmu);
    pthread_mutex_destroy(&s->pmu);
    mtd_store_group_destroy(&s->group);
    pthread_mutex_destroy(&s->ckrun);
    pthread_mutex_destroy(&s->smu);
    free(s);
}

/* Binds text parameters, steps once; returns the changes or an error code. */
static int step_params(mtd_store *s, sqlite3_stmt *st, int n, const char *const *p)
{
    for (int i = 0; i < n; i++)
        sqlite3_bind_text(st, i + 1, p[i], -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    int changes = sqlite3_changes(s->db);
    if (rc == SQLITE_CONSTRAINT)
        return MTD_EEXIST;
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return MTD_EIO;
    return changes;
}

/* Runs one statement with text parameters; returns SQLITE_DONE/ROW code mapped. */
int mtd_sq_exec(mtd_store *s, const char *sql, int n, const char *const *p)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return MTD_EIO;
    int r = step_params(s, st, n, p);
    sqlite3_finalize(st);
    return r;
}

int mtd_sq_exec_hot(mtd_store *s, int slot, const char *sql, int n, const char *const *p)
{
    sqlite3_stmt **st = &s->hot[slot];
    if (!*st && sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
        return MTD_EIO;
    int r = step_params(s, *st, n, p);
    sqlite3_reset(*st);
    sqlite3_clear_bindings(*st);
    return r;
}

void mtd_sq_now(char *b, size_t n)
{
    snprintf(b, n, "%lld", (long long)time(NULL));
}

int mtd_sqlite_token_add_limited(mtd_store *s, const char *hash, mtd_role role, const char *label,
                                 int64_t expires_at, int64_t max_uses)
{
    char now[32], exp[24], uses[24];
    mtd_sq_now(now, sizeof now);
    snprintf(exp, sizeof exp, "%lld", (long long)expires_at);
    snprintf(uses, sizeof uses, "%lld", (long long)max_uses);
    const char *p[] = {hash, mtd_role_name(role), label ? label : "", now, expires_at ? exp : NULL,
                       max_uses ? uses : NULL};
    pthread_mutex_lock(&s->mu);
    int r = mtd_sq_exec(s, "INSERT INTO tokens(hash, role, label, created_at, expires_at, max_uses)"
                           " VALUES(?,?,?,?,CAST(? AS INTEGER),CAST(? AS INTEGER))", 6, p);
    pthread_mutex_unlock(&s->mu);
    return r < 0 ? r : 0;
}

int mtd_sq_read(mtd_store *s, const char *sql, const char *param, char *out, size_t len)
{
    pthread_mutex_lock(&s->rmu);
    sqlite3_stmt *st = mtd_sq_cached(s->rd, &s->rd_cache, sql);
    int r = st ? text_step(st, param, out, len) : MTD_EIO;
    if (st)
        mtd_sq_done(st);
    pthread_mutex_unlock(&s->rmu);
    return r;
}

int mtd_sqlite_token_role(mtd_store *s, const char *hash, mtd_role *role)
{
    char name[32];
    int r = mtd_sq_read(s, "SELECT role FROM tokens WHERE hash=? AND revoked_at IS NULL"
                           " AND (expires_at IS NULL OR expires_at>CAST(strftime('%s','now') AS INTEGER))"
                           " AND (max_uses IS NULL OR uses<max_uses)", hash, name, sizeof name);
    if (r == MTD_ENOENT)
        return MTD_EAUTH;
    return r ? r : mtd_role_parse(name, role);
}

int mtd_sqlite_token_revoke(mtd_store *s, const char *id)
{
    char now[32];
    if (strlen(id) != 12 || strspn(id, "0123456789abcdef") != 12)
        return MTD_ENOENT;
    mtd_sq_now(now, sizeof now);
    const char *p[] = {now, id};
    pthread_mutex_lock(&s->mu);
    int r = mtd_sq_exec(s, "UPDATE tokens SET revoked_at=? WHERE substr(hash,1,12)=?"
                           " AND revoked_at IS NULL", 2, p);
    pthread_mutex_unlock(&s->mu);
    return r < 0 ? r : r == 0 ? MTD_ENOENT : 0;
}

/* One stored value as the API answers it: a time as RFC 3339 UTC (the store keeps some
 * as Unix seconds), a flag as a boolean, a list as an array (kept as its JSON text). */
static json_t *column_value(sqlite3_stmt *st, int c, mtd_col_kind kind)
{
    int type = sqlite3_column_type(st, c);
    if (type == SQLITE_NULL)
        return json_null();
    if (type == SQLITE_INTEGER) {
        sqlite3_int64 v = sqlite3_column_int64(st, c);
        if (kind == MTD_COL_TIME) {
            char t[MTD_TIME_LEN];
            mtd_time_rfc3339((time_t)v, t);
            return json_string(t);
        }
        return kind == MTD_COL_BOOL ? json_boolean(v != 0) : json_integer(v);
    }
    const char *txt = (const char *)sqlite3_column_text(st, c);
    if (kind == MTD_COL_LIST) {
        json_t *arr = json_loadb(txt, (size_t)sqlite3_column_bytes(st, c), JSON_DECODE_ANY, NULL);
        if (json_is_array(arr))
            return arr;
        json_decref(arr);
    }
    return json_string(txt);
}

/* Every row of a query as a JSON array of objects (columns by name, values typed by
 * column_value). */
json_t *mtd_sq_rows(mtd_store *s, const char *sql, int n, const char *const *p)
{
    sqlite3_stmt *st = mtd_sq_cached(s->rp, &s->rp_cache, sql);
    if (!st)
        return NULL;
    for (int i = 0; i < n; i++)
        sqlite3_bind_text(st, i + 1, p[i], -1, SQLITE_TRANSIENT);
    int ncol = sqlite3_column_count(st);
    mtd_col_kind kinds[128];
    for (int c = 0; c < ncol && c < 128; c++)
        kinds[c] = mtd_store_column_kind(sqlite3_column_name(st, c));
    json_t *arr = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *o = json_object();
        for (int c = 0; c < ncol; c++) {
            json_t *v = column_value(st, c, c < 128 ? kinds[c] : MTD_COL_PLAIN);
            json_object_set_new(o, sqlite3_column_name(st, c), v ? v : json_null());
        }
        json_array_append_new(arr, o);
    }
    mtd_sq_done(st);
    if (rc != SQLITE_DONE) { /* a report cut short must not pass as whole */
        json_decref(arr);
        return NULL;
    }
    return arr;
}

json_t *mtd_sq_report(mtd_store *s, const char *sql, int n, const char *const *p)
{
    pthread_mutex_lock(&s->pmu);
    json_t *rows = mtd_sq_rows(s, sql, n, p);
    pthread_mutex_unlock(&s->pmu);
    return rows;
}

json_t *mtd_sq_report_page(mtd_store *s, const char *sql, int n, const char *const *p, mtd_page *pg)
{
    if (!pg)
        return mtd_sq_report(s, sql, n, p);
    /* one row more than the page: whether it comes says whether more follow */
    size_t len = strlen(sql) + 64;
    char *paged = malloc(len);
    if (!paged)
        return NULL;
    snprintf(paged, len, "%s LIMIT %lld OFFSET %lld", sql, (long long)pg->limit + 1, (long long)pg->offset);
    json_t *rows = mtd_sq_report(s, paged, n, p);
    free(paged);
    pg->more = rows && (int64_t)json_array_size(rows) > pg->limit;
    if (pg->more)
        json_array_remove(rows, json_array_size(rows) - 1);
    return rows;
}

static json_t *sq_run_report(void *s, const char *sql, int n, const char *const *p)
{
    return mtd_sq_report(s, sql, n, p);
}

json_t *mtd_sq_report_keyed(mtd_store *s, const char *sql, const mtd_keyset *ks, int n, const char *const *p,
                            mtd_page *pg)
{
    return mtd_keyset_report(sql, ks, n, p, pg, 0, sq_run_report, s);
}

void mtd_sq_snapshot_begin(mtd_store *s)
{
    pthread_mutex_lock(&s->pmu);
    sqlite3_exec(s->rp, "BEGIN", NULL, NULL, NULL);
}

void mtd_sq_snapshot_end(mtd_store *s)
{
    sqlite3_exec(s->rp, "COMMIT", NULL, NULL, NULL);
    pthread_mutex_unlock(&s->pmu);
}

json_t *mtd_sqlite_token_list(mtd_store *s)
{
    return mtd_sq_report(s, "SELECT substr(hash,1,12) AS id, role, label, created_at, revoked_at,"
                         " expires_at, max_uses, uses FROM tokens ORDER BY created_at, hash", 0, NULL);
}

int mtd_sqlite_device_retire(mtd_store *s, const char *device_id, int *revoked)
{
    int r = mtd_sq_creds_revoke(s, "device_id=?3", device_id, "retired", revoked);
    return r < 0 ? r : *revoked == 0 ? MTD_ENOENT : 0;
}

int mtd_sqlite_device_known(mtd_store *s, const char *device_id)
{
    char one[4];
    return mtd_sq_read(s, "SELECT 1 FROM devices WHERE device_id=?", device_id, one, sizeof one);
}

int mtd_sqlite_package_known(mtd_store *s, const char *package)
{
    char one[4];
    /* a scan of the inventory (no index), made only when a report by package came back
     * empty; a lifecycle event names a package that left no inventory row */
    int r = mtd_sq_read(s, "SELECT 1 FROM ev_app_inventory WHERE package=?1 UNION ALL"
                           " SELECT 1 FROM ev_app_lifecycle WHERE package=?1 LIMIT 1", package, one, sizeof one);
    return r;
}

/* The policy is read for every batch and changes rarely: the text last parsed is kept
 * with what it parsed to (jansson's parse and the defaults it starts from were ~2% of
 * the collector's CPU under bench_ingest), and the row is still read every time, so a
 * change applies to the next batch as before. */
int mtd_sqlite_policy_get(mtd_store *s, mtd_policy *p)
{
    char txt[4096];
    int r = mtd_sq_read(s, "SELECT json FROM policy WHERE id=?", "1", txt, sizeof txt);
    if (r != 0) /* the default, also when the row cannot be read */
        return mtd_store_policy_parse(NULL, p), r == MTD_ENOENT ? 0 : r;
    pthread_mutex_lock(&s->rmu);
    int hit = s->pol_txt && !strcmp(s->pol_txt, txt);
    if (hit)
        *p = *s->pol;
    pthread_mutex_unlock(&s->rmu);
    if (hit)
        return 0;
    if ((r = mtd_store_policy_parse(txt, p)) != 0)
        return r;
    char *t = strdup(txt);
    mtd_policy *c = malloc(sizeof *c);
    if (t && c) { /* the old pair is freed outside the lock */
        *c = *p;
        pthread_mutex_lock(&s->rmu);
        char *ot = s->pol_txt;
        mtd_policy *oc = s->pol;
        s->pol_txt = t;
        s->pol = c;
        pthread_mutex_unlock(&s->rmu);
        t = ot;
        c = oc;
    }
    free(t);
    free(c);
    return 0;
}

int mtd_sqlite_policy_set(mtd_store *s, const mtd_policy *p)
{
    char *txt = mtd_store_policy_text(p);
    if (!txt)
        return MTD_ENOMEM;
    const char *pp[] = {txt};
    int r = mtd_sq_trusted_write(s, "INSERT INTO policy(id, json) VALUES(1, ?) ON CONFLICT(id) DO UPDATE"
                                    " SET json=excluded.json", 1, pp, 0, "", NULL);
    free(txt);
    return r;
}

int mtd_sq_audit_device(mtd_store *s, const char *actor, const char *action, const char *device,
                        const char *detail)
{
    char now[32];
    mtd_sq_now(now, sizeof now);
    const char *p[] = {now, actor, action, device, detail ? detail : ""};
    int r = mtd_sq_exec(s, "INSERT INTO audit(time, actor, action, device_id, detail) VALUES(?,?,?,?,?)", 5, p);
    return r < 0 ? r : 0;
}

int mtd_sq_audit(mtd_store *s, const char *actor, const char *action, const char *detail)
{
    return mtd_sq_audit_device(s, actor, action, NULL, detail);
}

int mtd_sqlite_audit_device(mtd_store *s, const char *actor, const char *action, const char *device,
                           const char *detail)
{
    pthread_mutex_lock(&s->mu);
    int r = mtd_sq_audit_device(s, actor, action, device, detail);
    pthread_mutex_unlock(&s->mu);
    return r;
}

json_t *mtd_sqlite_audit_list(mtd_store *s, mtd_page *pg)
{
    return mtd_sq_report_keyed(s, "SELECT id, time, actor, action, device_id, detail FROM audit", &mtd_id_keys,
                               0, NULL, pg);
}
