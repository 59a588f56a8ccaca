/* mtd_migrate_rows: a table's rows read and written the same way on both backends, for
 * the migration (mtd_migrate.c).
 *
 * A value travels as the text the database gives for it (an integer in decimal, text
 * as its bytes), which both backends read back as the same value: SQLite binds an
 * integer column's value as an integer, PostgreSQL takes text parameters for the
 * column's type. Reads of PostgreSQL go through a cursor, a chunk at a time, so a
 * table of millions of rows is never held whole; writes are multi-row INSERTs (COPY
 * FROM is refused on tables with row-level security, which every tenant table has),
 * SQLite's one prepared INSERT, all in the caller's transaction. */
#include "store/mtd_migrate_int.h"
#include "common/mtd_err.h"
#include "common/mtd_log.h"
#include "common/mtd_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FETCH_ROWS "5000"

int mig_exec(mig_ep *e, const char *sql)
{
    if (e->kind == MTD_STORE_SQLITE)
        return sqlite3_exec(e->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : MTD_EIO;
    return mtd_pg_query(e->cl, e->k, sql, 0, NULL, NULL);
}

static int sq_columns(mig_ep *e, const char *t, mig_cols *c)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(e->db, "SELECT name, type FROM pragma_table_info(?) ORDER BY cid", -1, &st, NULL) !=
        SQLITE_OK)
        return MTD_EIO;
    sqlite3_bind_text(st, 1, t, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && c->n < MIG_MAX_COLS) {
        mtd_strlcpy(c->name[c->n], (const char *)sqlite3_column_text(st, 0), sizeof c->name[0]);
        const char *type = (const char *)sqlite3_column_text(st, 1);
        c->integer[c->n++] = type && strstr(type, "INT") != NULL;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : c->n == MIG_MAX_COLS ? MTD_ETOOBIG : MTD_EIO;
}

static int pg_columns(mig_ep *e, const char *t, mig_cols *c)
{
    PGresult *res;
    const char *p[] = {t};
    int r = mtd_pg_query(e->cl, e->k, "SELECT column_name, data_type FROM information_schema.columns"
                                      " WHERE table_schema = current_schema() AND table_name = $1"
                                      " ORDER BY ordinal_position", 1, p, &res);
    if (r)
        return r;
    int n = PQntuples(res);
    for (int i = 0; i < n && c->n < MIG_MAX_COLS; i++) {
        mtd_strlcpy(c->name[c->n], PQgetvalue(res, i, 0), sizeof c->name[0]);
        c->integer[c->n++] = !strcmp(PQgetvalue(res, i, 1), "bigint");
    }
    PQclear(res);
    return n > MIG_MAX_COLS ? MTD_ETOOBIG : 0;
}

/* Rows of one text column into names (a list query of either backend). */
static int name_rows(mig_ep *e, const char *sql, const char *param, char names[][64], int max, int *n)
{
    *n = 0;
    if (e->kind == MTD_STORE_SQLITE) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(e->db, sql, -1, &st, NULL) != SQLITE_OK)
            return MTD_EIO;
        if (param)
            sqlite3_bind_text(st, 1, param, -1, SQLITE_STATIC);
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < max)
            mtd_strlcpy(names[(*n)++], (const char *)sqlite3_column_text(st, 0), 64);
        sqlite3_finalize(st);
        return rc == SQLITE_DONE ? 0 : rc == SQLITE_ROW ? MTD_ETOOBIG : MTD_EIO;
    }
    PGresult *res;
    const char *p[] = {param};
    int r = mtd_pg_query(e->cl, e->k, sql, param ? 1 : 0, p, &res);
    if (r)
        return r;
    for (int i = 0; i < PQntuples(res) && *n < max; i++)
        mtd_strlcpy(names[(*n)++], PQgetvalue(res, i, 0), 64);
    r = PQntuples(res) > max ? MTD_ETOOBIG : 0;
    PQclear(res);
    return r;
}

int mig_tables(mig_ep *e, char names[][64], int *n)
{
    return name_rows(e, e->kind == MTD_STORE_SQLITE
                            ? "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
                              " AND name <> 'trusted' ORDER BY name"
                            : "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
                              " AND table_type = 'BASE TABLE' AND table_name <> 'feeds' ORDER BY table_name COLLATE \"C\"",
                     NULL, names, 128, n);
}

int mig_primary_key(mig_ep *e, const char *t, char *col, size_t len)
{
    char k[2][64];
    int n;
    int r = name_rows(e, e->kind == MTD_STORE_SQLITE
                             ? "SELECT name FROM pragma_table_info(?) WHERE pk > 0"
                             : "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
                               " AND a.attnum = ANY(i.indkey) WHERE i.indisprimary"
                               " AND i.indrelid = (quote_ident(current_schema()) || '.' || quote_ident($1))::regclass",
                      t, k, 2, &n);
    if (r == 0 && n != 1)
        r = MTD_EUNSUP;
    if (r == MTD_ETOOBIG)
        r = MTD_EUNSUP;
    if (r == 0)
        mtd_strlcpy(col, k[0], len);
    return r;
}

int mig_columns(mig_ep *e, const char *t, mig_cols *c)
{
    memset(c, 0, sizeof *c);
    return e->kind == MTD_STORE_SQLITE ? sq_columns(e, t, c) : pg_columns(e, t, c);
}

/* "a","b",... : the column list of a statement (the names come from the schema table
 * and the store's own tables, never from a device). */
static void col_list(mtd_buf *b, const mig_cols *c)
{
    for (int i = 0; i < c->n; i++)
        mtd_buf_printf(b, "%s\"%s\"", i ? "," : "", c->name[i]);
}

int mig_reader_open(mig_reader *r, mig_ep *e, const char *t, const mig_cols *c, const char *order)
{
    memset(r, 0, sizeof *r);
    r->e = e;
    r->ncols = c->n;
    mtd_buf sql;
    mtd_buf_init(&sql, 0);
    if (e->kind == MTD_STORE_POSTGRESQL)
        mtd_buf_puts(&sql, "DECLARE mig_c NO SCROLL CURSOR FOR ");
    mtd_buf_puts(&sql, "SELECT ");
    col_list(&sql, c);
    mtd_buf_printf(&sql, " FROM \"%s\" ORDER BY %s", t, order);
    mtd_buf_append(&sql, "", 1);
    int rc;
    if (e->kind == MTD_STORE_SQLITE) {
        rc = sqlite3_prepare_v2(e->db, (const char *)sql.data, -1, &r->st, NULL) == SQLITE_OK ? 0 : MTD_EIO;
        if (rc)
            mtd_log(MTD_LOG_ERROR, "migrate", "SELECT FROM %s: %s", t, sqlite3_errmsg(e->db));
    } else
        rc = mtd_pg_query(e->cl, e->k, (const char *)sql.data, 0, NULL, NULL);
    mtd_buf_free(&sql);
    return rc;
}

static int sq_next(mig_reader *r, mig_row *row)
{
    int rc = sqlite3_step(r->st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return MTD_EIO;
    row->n = r->ncols;
    for (int i = 0; i < r->ncols; i++) {
        switch (sqlite3_column_type(r->st, i)) {
        case SQLITE_NULL: row->v[i] = NULL, row->len[i] = 0; break;
        case SQLITE_INTEGER:
            row->len[i] = (size_t)snprintf(r->num[i], sizeof r->num[i], "%lld",
                                           (long long)sqlite3_column_int64(r->st, i));
            row->v[i] = r->num[i];
            break;
        default: /* text; a float or blob has no place in a store, and is read as text */
            row->v[i] = (const char *)sqlite3_column_text(r->st, i);
            row->len[i] = (size_t)sqlite3_column_bytes(r->st, i);
            if (!row->v[i])
                return MTD_ENOMEM;
        }
    }
    return 1;
}

static int pg_next(mig_reader *r, mig_row *row)
{
    if (r->done)
        return 0;
    if (!r->res || r->i >= PQntuples(r->res)) {
        PQclear(r->res);
        r->res = NULL;
        r->i = 0;
        int rc = mtd_pg_query(r->e->cl, r->e->k, "FETCH " FETCH_ROWS " FROM mig_c", 0, NULL, &r->res);
        if (rc)
            return rc;
        if (PQntuples(r->res) == 0) {
            r->done = 1;
            return 0;
        }
    }
    row->n = r->ncols;
    for (int i = 0; i < r->ncols; i++) {
        int null = PQgetisnull(r->res, r->i, i);
        row->v[i] = null ? NULL : PQgetvalue(r->res, r->i, i);
        row->len[i] = null ? 0 : (size_t)PQgetlength(r->res, r->i, i);
    }
    r->i++;
    return 1;
}

int mig_reader_next(mig_reader *r, mig_row *row)
{
    return r->e->kind == MTD_STORE_SQLITE ? sq_next(r, row) : pg_next(r, row);
}

void mig_reader_close(mig_reader *r)
{
    if (r->st)
        sqlite3_finalize(r->st);
    PQclear(r->res);
    if (r->e && r->e->kind == MTD_STORE_POSTGRESQL && PQtransactionStatus(r->e->k->c) == PQTRANS_INTRANS)
        mtd_pg_query(r->e->cl, r->e->k, "CLOSE mig_c", 0, NULL, NULL);
    memset(r, 0, sizeof *r);
}

int mig_writer_open(mig_writer *w, mig_ep *e, const char *t, const mig_cols *c)
{
    memset(w, 0, sizeof *w);
    w->e = e;
    w->cols = c;
    mtd_strlcpy(w->table, t, sizeof w->table);
    mtd_buf_init(&w->arena, 0);
    if (e->kind == MTD_STORE_POSTGRESQL) {
        w->batch = c->n ? 60000 / c->n : 1; /* under libpq's 65,535 parameters */
        if (w->batch > 1000)
            w->batch = 1000;
        w->off = malloc(sizeof *w->off * (size_t)w->batch * (size_t)(c->n ? c->n : 1));
        return w->off ? 0 : MTD_ENOMEM;
    }
    mtd_buf sql;
    mtd_buf_init(&sql, 0);
    mtd_buf_printf(&sql, "INSERT INTO \"%s\"(", t);
    col_list(&sql, c);
    mtd_buf_puts(&sql, ") VALUES(");
    for (int i = 0; i < c->n; i++)
        mtd_buf_puts(&sql, i ? ",?" : "?");
    mtd_buf_puts(&sql, ")");
    mtd_buf_append(&sql, "", 1);
    int r = sqlite3_prepare_v2(e->db, (const char *)sql.data, -1, &w->st, NULL) == SQLITE_OK ? 0 : MTD_EIO;
    if (r)
        mtd_log(MTD_LOG_ERROR, "migrate", "INSERT INTO %s: %s", t, sqlite3_errmsg(e->db));
    mtd_buf_free(&sql);
    return r;
}

static int sq_put(mig_writer *w, const mig_row *row)
{
    sqlite3_reset(w->st);
    for (int i = 0; i < row->n; i++) {
        char num[24], *end;
        if (!row->v[i]) {
            sqlite3_bind_null(w->st, i + 1);
            continue;
        }
        if (w->cols->integer[i] && row->len[i] > 0 && row->len[i] < sizeof num) {
            memcpy(num, row->v[i], row->len[i]);
            num[row->len[i]] = 0;
            errno = 0;
            long long v = strtoll(num, &end, 10);
            if (!*end && !errno) {
                sqlite3_bind_int64(w->st, i + 1, v);
                continue;
            }
        }
        sqlite3_bind_text(w->st, i + 1, row->v[i], (int)row->len[i], SQLITE_STATIC);
    }
    if (sqlite3_step(w->st) == SQLITE_DONE)
        return 0;
    mtd_log(MTD_LOG_ERROR, "migrate", "INSERT: %s", sqlite3_errmsg(w->e->db));
    return MTD_EIO;
}

/* INSERT INTO t(cols) VALUES ($1,...),(...) for rows rows. */
static char *insert_sql(const mig_writer *w, int rows)
{
    mtd_buf sql;
    mtd_buf_init(&sql, 0);
    mtd_buf_printf(&sql, "INSERT INTO \"%s\"(", w->table);
    col_list(&sql, w->cols);
    mtd_buf_puts(&sql, ") VALUES");
    int p = 1;
    for (int r = 0; r < rows; r++) {
        mtd_buf_puts(&sql, r ? ",(" : "(");
        for (int i = 0; i < w->cols->n; i++)
            mtd_buf_printf(&sql, i ? ",$%d" : "$%d", p++);
        mtd_buf_puts(&sql, ")");
    }
    mtd_buf_append(&sql, "", 1);
    return (char *)mtd_buf_steal(&sql, NULL);
}

/* The whole-batch INSERT, prepared once per table (parsed and planned once, not per
 * 1,000 rows), run with the held rows' values. */
static int pg_run_full(mig_writer *w, int n, const char *const *p)
{
    PGconn *c = w->e->k->c;
    PGresult *res;
    if (!w->prepared) {
        char *sql = insert_sql(w, w->rows);
        if (!sql)
            return MTD_ENOMEM;
        snprintf(w->stmt, sizeof w->stmt, "mig_%s", w->table);
        res = PQprepare(c, w->stmt, sql, n, NULL);
        free(sql);
        int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        if (!ok)
            mtd_log(MTD_LOG_ERROR, "migrate", "INSERT INTO %s: %s", w->table, PQresultErrorMessage(res));
        PQclear(res);
        if (!ok)
            return PQstatus(c) == CONNECTION_OK ? MTD_EIO : MTD_EUNAVAIL;
        w->prepared = 1;
    }
    res = PQexecPrepared(c, w->stmt, n, p, NULL, NULL, 0);
    int r = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : PQstatus(c) == CONNECTION_OK ? MTD_EIO : MTD_EUNAVAIL;
    if (r)
        mtd_log(MTD_LOG_ERROR, "migrate", "INSERT INTO %s: %s", w->table, PQresultErrorMessage(res));
    PQclear(res);
    return r;
}

static int pg_flush(mig_writer *w)
{
    if (!w->rows)
        return 0;
    int n = w->rows * w->cols->n;
    const char **p = malloc(sizeof *p * (size_t)n);
    if (!p)
        return MTD_ENOMEM;
    for (int i = 0; i < n; i++)
        p[i] = w->off[i] < 0 ? NULL : (const char *)w->arena.data + w->off[i];
    int r;
    if (w->rows == w->batch) {
        r = pg_run_full(w, n, p);
    } else { /* the table's last rows: once */
        char *sql = insert_sql(w, w->rows);
        r = sql ? mtd_pg_query(w->e->cl, w->e->k, sql, n, p, NULL) : MTD_ENOMEM;
        free(sql);
    }
    free(p);
    w->rows = 0;
    w->arena.len = 0;
    return r;
}

int mig_writer_put(mig_writer *w, const mig_row *row)
{
    if (w->e->kind == MTD_STORE_SQLITE)
        return sq_put(w, row);
    long *off = w->off + (size_t)w->rows * (size_t)w->cols->n;
    for (int i = 0; i < row->n; i++) {
        off[i] = row->v[i] ? (long)w->arena.len : -1;
        if (row->v[i] && (mtd_buf_append(&w->arena, row->v[i], row->len[i]) || mtd_buf_append(&w->arena, "", 1)))
            return MTD_ENOMEM;
    }
    return ++w->rows == w->batch ? pg_flush(w) : 0;
}

int mig_writer_close(mig_writer *w, int ok)
{
    int r = ok && w->e && w->e->kind == MTD_STORE_POSTGRESQL ? pg_flush(w) : 0;
    if (w->st)
        sqlite3_finalize(w->st);
    if (w->prepared && PQtransactionStatus(w->e->k->c) == PQTRANS_INTRANS) {
        char sql[128];
        snprintf(sql, sizeof sql, "DEALLOCATE \"%s\"", w->stmt);
        PQclear(PQexec(w->e->k->c, sql));
    }
    free(w->off);
    mtd_buf_free(&w->arena);
    memset(w, 0, sizeof *w);
    return r;
}

void mig_hash_row(EVP_MD_CTX *h, const mig_row *row)
{
    for (int i = 0; i < row->n; i++) {
        char pre[32];
        int n = row->v[i] ? snprintf(pre, sizeof pre, "V%zu:", row->len[i]) : snprintf(pre, sizeof pre, "N");
        EVP_DigestUpdate(h, pre, (size_t)n);
        if (row->v[i])
            EVP_DigestUpdate(h, row->v[i], row->len[i]);
    }
    EVP_DigestUpdate(h, "\n", 1);
}
