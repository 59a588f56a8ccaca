/* mtd_migrate_int: what the migration's two files share (not a public interface): an
 * endpoint (one side of the move, on either backend), and rows read from and written
 * to a table of it, the same on both backends (mtd_migrate_rows.c). */
#ifndef MTD_MIGRATE_INT_H
#define MTD_MIGRATE_INT_H

#include "store/mtd_store_pg_int.h"

#include <openssl/evp.h>
#include <sqlite3.h>

#define MIG_MAX_COLS 128

typedef struct {
    mtd_store_kind kind;
    const char *url;
    char dir[1024];        /* sqlite: the data directory */
    char tdir[1200];       /* sqlite: DIR/tenants/ID */
    int lock_fd;           /* sqlite: DIR/collector.lock, held */
    sqlite3 *db;           /* sqlite: the tenant's store */
    mtd_store_cluster *cl; /* postgresql */
    mtd_pg_conn *k;        /* postgresql: a connection set to the tenant, held */
    mtd_store *st;         /* postgresql: the tenant's handle (feeds) */
    char id[24];
    int created;           /* the destination's tenant was made by this migration */
} mig_ep;

/* A table's columns as one side has them. */
typedef struct {
    int n;
    char name[MIG_MAX_COLS][64];
    int integer[MIG_MAX_COLS]; /* an integer column (bound as one on SQLite) */
} mig_cols;

/* One row: v[i] NULL for SQL NULL, else len[i] bytes (valid until the next row). */
typedef struct {
    int n;
    const char *v[MIG_MAX_COLS];
    size_t len[MIG_MAX_COLS];
} mig_row;

typedef struct {
    mig_ep *e;
    sqlite3_stmt *st;
    PGresult *res;
    int i, ncols, done;
    char num[MIG_MAX_COLS][24];
} mig_reader;

typedef struct {
    mig_ep *e;
    sqlite3_stmt *st;
    const mig_cols *cols;
    char table[96];
    /* PostgreSQL: rows held for one multi-row INSERT (COPY FROM is refused on a table
     * with row-level security): their values in arena, each at off[] (-1: NULL) */
    mtd_buf arena;
    long *off;
    int rows, batch;
    int prepared;   /* the INSERT of a whole batch is prepared, as stmt */
    char stmt[112];
} mig_writer;

/* Runs SQL (no result wanted) on the endpoint's tenant connection: 0 or MTD_EIO. */
int mig_exec(mig_ep *e, const char *sql);
/* The tenant's tables, by name (at most 128; PostgreSQL's feeds table is not one of
 * them: feeds are moved as files and data, mtd_migrate.c; nor SQLite's trusted table,
 * derived from the policy rows and made again at an SQLite destination). */
int mig_tables(mig_ep *e, char names[][64], int *n);
/* The name of t's primary key column: MTD_EUNSUP when it has none or several. */
int mig_primary_key(mig_ep *e, const char *t, char *col, size_t len);
/* The columns of table t (n = 0 when there is no such table). */
int mig_columns(mig_ep *e, const char *t, mig_cols *c);
/* Reads SELECT cols FROM t ORDER BY order, in chunks on PostgreSQL (a cursor). */
int mig_reader_open(mig_reader *r, mig_ep *e, const char *t, const mig_cols *c, const char *order);
/* 1 with a row, 0 at the end, or a negative code. */
int mig_reader_next(mig_reader *r, mig_row *row);
void mig_reader_close(mig_reader *r);
/* Inserts rows into t: a prepared INSERT on SQLite, multi-row INSERTs of up to 1,000
 * rows on PostgreSQL. */
int mig_writer_open(mig_writer *w, mig_ep *e, const char *t, const mig_cols *c);
int mig_writer_put(mig_writer *w, const mig_row *row);
int mig_writer_close(mig_writer *w, int ok);
/* Adds a row to a table's digest, each value length-prefixed (NULL apart from ""). */
void mig_hash_row(EVP_MD_CTX *h, const mig_row *row);

#endif
