/* mtd_migrate: one tenant moved between store backends, then proven (mtd_migrate.h).
 *
 * The order: both sides opened (a SQLite data directory locked as a collector locks
 * it, so that none runs there meanwhile; the source read in one snapshot); the tenant
 * made at the destination with its name, organization, creation time and key; every
 * table of the source (listed from it) copied in one destination transaction and
 * committed; PostgreSQL's sequences
 * moved past the copied IDs and row numbers; the feeds copied; then every table read
 * back on both sides in key order and compared. Any failure before the verdict
 * removes the tenant from the destination again. */
#include "store/mtd_migrate.h"
#include "store/mtd_migrate_int.h"
#include "store/mtd_store_sqlite_int.h"
#include "common/mtd_err.h"
#include "common/mtd_file.h"
#include "common/mtd_log.h"
#include "common/mtd_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FEED_MAX (64u << 20)

/* Where the order rows are copied in matters: credentials in the order they were made
 * (SQLite's rowid, PostgreSQL's seq: two made in one second are listed so), batches
 * by their rows (the newest batch is the last by rowid on SQLite, where the next row
 * number is found). Every other table is copied in key order. */
static const struct {
    const char *name, *sq_copy, *pg_copy;
} copy_orders[] = {
    {"credentials", "rowid", "seq"},
    {"batches", "last_row NULLS FIRST, idem_key", "last_row NULLS FIRST, idem_key"},
};

#define MAX_TABLES 128

typedef struct {
    char name[256], org[256], key[65];
    long long created_at;
} tenant_meta;

typedef struct {
    char name[64], key[72]; /* key: the quoted primary key column */
    const char *sq_copy, *pg_copy;
} table_ref;

typedef struct {
    mig_ep src, dst;
    tenant_meta meta;
    long long rows;
    int verified; /* read back and compared (identical or not) */
    int ntables;
    table_ref tables[MAX_TABLES];
    mig_cols cols[MAX_TABLES];
} migration;

static int fail(char *why, size_t wl, int r, const char *fmt, const char *a, const char *b)
{
    snprintf(why, wl, fmt, a, b);
    return r;
}

static int parse_url(const char *url, mig_ep *e, char *why, size_t wl)
{
    e->url = url;
    e->lock_fd = -1;
    if (!strncmp(url, "sqlite:", 7)) {
        e->kind = MTD_STORE_SQLITE;
        if (!url[7])
            return fail(why, wl, MTD_EINVAL, "\"%s\": sqlite: needs the collector's data directory (sqlite:DIR)",
                        url, NULL);
        mtd_strlcpy(e->dir, url + 7, sizeof e->dir);
        return 0;
    }
    if (!strncmp(url, "postgresql://", 13) || !strncmp(url, "postgres://", 11)) {
        e->kind = MTD_STORE_POSTGRESQL;
        return 0;
    }
    return fail(why, wl, MTD_EINVAL, "\"%.200s\" is not a store URL: sqlite:DIR or postgresql://...%s", url, "");
}

/* What the output calls a side: a PostgreSQL URL may hold a password. */
static const char *side(const mig_ep *e)
{
    return e->kind == MTD_STORE_SQLITE ? e->url : "postgresql";
}

/* The data directory's lock, as a running collector holds it (mtd_tenants.c). */
static int lock_dir(mig_ep *e, char *why, size_t wl)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/collector.lock", e->dir);
    e->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (e->lock_fd < 0)
        return fail(why, wl, mtd_errno_code(errno), "%s: cannot open %s", e->url, path);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(e->lock_fd, F_SETLK, &fl) != 0)
        return fail(why, wl, MTD_EBUSY, "%s is in use by a running mtd-collector: stop it first%s", e->url, "");
    return 0;
}

static int sq_meta_read(mig_ep *e, tenant_meta *m, char *why, size_t wl)
{
    char path[1300];
    snprintf(path, sizeof path, "%s/tenant.key", e->tdir);
    if (mtd_file_read_line(path, m->key, sizeof m->key) != 0)
        return fail(why, wl, MTD_ENOENT, "no tenant %s in %s", e->id, e->url);
    snprintf(path, sizeof path, "%s/tenant.json", e->tdir);
    json_t *j = json_load_file(path, 0, NULL);
    const char *name = json_string_value(json_object_get(j, "name"));
    const char *org = json_string_value(json_object_get(j, "org_id"));
    if (!name || !org || !json_is_integer(json_object_get(j, "created_at"))) {
        json_decref(j);
        return fail(why, wl, MTD_ECORRUPT, "%s: not a tenant's description (name, org_id, created_at)", path, "");
    }
    mtd_strlcpy(m->name, name, sizeof m->name);
    mtd_strlcpy(m->org, org, sizeof m->org);
    m->created_at = (long long)json_integer_value(json_object_get(j, "created_at"));
    json_decref(j);
    return 0;
}

static int sq_meta_write(mig_ep *e, const tenant_meta *m)
{
    char path[1300], line[80];
    int r = mtd_mkdir_p(e->tdir, 0700);
    json_t *j = json_pack("{s:s,s:s,s:I}", "name", m->name, "org_id", m->org, "created_at",
                          (json_int_t)m->created_at);
    char *s = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
    json_decref(j);
    snprintf(path, sizeof path, "%s/tenant.json", e->tdir);
    if (r == 0)
        r = s ? mtd_file_write_atomic(path, s, strlen(s), 0600) : MTD_ENOMEM;
    free(s);
    snprintf(line, sizeof line, "%s\n", m->key);
    snprintf(path, sizeof path, "%s/tenant.key", e->tdir);
    if (r == 0)
        r = mtd_file_write_atomic(path, line, strlen(line), 0600);
    explicit_bzero(line, sizeof line);
    return r;
}

/* The registry's row, read as the collector's role (the registry is not the tenant's). */
static int pg_meta_read(mig_ep *e, tenant_meta *m, char *why, size_t wl)
{
    mtd_pg_conn *k;
    PGresult *res;
    const char *p[] = {e->id};
    int r = mtd_pg_acquire(e->cl, NULL, &k);
    if (r == 0) {
        r = mtd_pg_query(e->cl, k, "SELECT name, org_id, created_at, key FROM mtd.tenants WHERE id=$1", 1, p, &res);
        mtd_pg_release(e->cl, k);
    }
    if (r == 0) {
        if (PQntuples(res) == 1) {
            mtd_strlcpy(m->name, PQgetvalue(res, 0, 0), sizeof m->name);
            mtd_strlcpy(m->org, PQgetvalue(res, 0, 1), sizeof m->org);
            m->created_at = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
            mtd_strlcpy(m->key, PQgetvalue(res, 0, 3), sizeof m->key);
        } else {
            r = MTD_ENOENT;
        }
        PQclear(res);
    }
    if (r == MTD_ENOENT)
        snprintf(why, wl, "no tenant %s in postgresql", e->id);
    else if (r)
        snprintf(why, wl, "postgresql: cannot read the tenant registry: %s", mtd_strerror(r));
    return r;
}

static int meta_read(mig_ep *e, tenant_meta *m, char *why, size_t wl)
{
    return e->kind == MTD_STORE_SQLITE ? sq_meta_read(e, m, why, wl) : pg_meta_read(e, m, why, wl);
}

/* Connects to the side and, for SQLite, locks its directory. */
static int ep_connect(mig_ep *e, int dest, char *why, size_t wl)
{
    if (e->kind == MTD_STORE_POSTGRESQL)
        return mtd_store_pg_open(e->url, 4, &e->cl, why, wl);
    struct stat st;
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/tenants", e->dir);
    if (dest && mtd_mkdir_p(dir, 0700) != 0)
        return fail(why, wl, MTD_EIO, "%s: cannot create %s", e->url, dir);
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return fail(why, wl, MTD_ENOENT, "%s: no collector data directory there (no %s)", e->url, dir);
    snprintf(e->tdir, sizeof e->tdir, "%s/%s", dir, e->id);
    return lock_dir(e, why, wl);
}

/* The tenant's store open for rows: the SQLite file, or a connection set to the
 * tenant in a transaction (the source's a snapshot). */
static int ep_begin(mig_ep *e, int dest, char *why, size_t wl)
{
    int r;
    if (e->kind == MTD_STORE_SQLITE) {
        mtd_store *s;
        char path[1300];
        if ((r = mtd_store_open(e->tdir, &s, why, wl)) != 0) /* this build's tables */
            return r;
        mtd_store_close(s);
        snprintf(path, sizeof path, "%s/store.sqlite", e->tdir);
        if (sqlite3_open_v2(path, &e->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
            return fail(why, wl, MTD_EIO, "cannot open %s: %s", path, sqlite3_errmsg(e->db));
        sqlite3_busy_timeout(e->db, 10000);
        r = mig_exec(e, dest ? "BEGIN IMMEDIATE" : "BEGIN; SELECT count(*) FROM sqlite_master");
    } else {
        if ((r = mtd_store_pg_open_tenant(e->cl, e->id, &e->st)) == 0 &&
            (r = mtd_pg_acquire(e->cl, e->id, &e->k)) == 0)
            r = mig_exec(e, dest ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    }
    if (r)
        snprintf(why, wl, "%s: cannot start reading the tenant's store: %s", side(e), mtd_strerror(r));
    return r;
}

static int open_source(mig_ep *e, tenant_meta *m, char *why, size_t wl)
{
    int r = ep_connect(e, 0, why, wl);
    if (r == 0)
        r = meta_read(e, m, why, wl);
    return r ? r : ep_begin(e, 0, why, wl);
}

static int tenant_exists(mig_ep *e)
{
    if (e->kind == MTD_STORE_SQLITE)
        return access(e->tdir, F_OK) == 0 ? 0 : MTD_ENOENT;
    tenant_meta m;
    char why[256];
    return pg_meta_read(e, &m, why, sizeof why);
}

static void tenant_remove(mig_ep *e)
{
    if (e->kind == MTD_STORE_SQLITE)
        mtd_rm_rf(e->tdir);
    else
        mtd_store_pg_tenant_delete(e->cl, e->id);
}

/* The tenant made at the destination (with replace, the one there deleted first). */
static int open_dest(mig_ep *e, const tenant_meta *m, int replace, char *why, size_t wl)
{
    int r = ep_connect(e, 1, why, wl);
    if (r)
        return r;
    r = tenant_exists(e);
    if (r == 0 && !replace)
        return fail(why, wl, MTD_EEXIST, "tenant %s already exists in %s: nothing copied (--replace deletes it first)",
                    e->id, side(e));
    if (r && r != MTD_ENOENT)
        return fail(why, wl, r, "%s: cannot tell whether tenant %s exists there", side(e), e->id);
    if (r == 0)
        tenant_remove(e);
    r = e->kind == MTD_STORE_SQLITE ? sq_meta_write(e, m)
                                    : mtd_store_pg_tenant_create(e->cl, e->id, m->name, m->org, m->key,
                                                                 m->created_at);
    if (r)
        return fail(why, wl, r, "%s: cannot create the tenant: %s", side(e), mtd_strerror(r));
    e->created = 1;
    return ep_begin(e, 1, why, wl);
}

static void ep_close(mig_ep *e)
{
    if (e->db)
        sqlite3_close(e->db);
    if (e->k)
        mtd_pg_release(e->cl, e->k);
    if (e->st)
        mtd_store_close(e->st);
    mtd_store_pg_close(e->cl);
    if (e->lock_fd >= 0)
        close(e->lock_fd);
    memset(e, 0, sizeof *e);
    e->lock_fd = -1;
}

/* The columns both sides copy: the source's, each of which the destination must have
 * (PostgreSQL's credentials.seq is its own, made again there in copy order). */
static int common_cols(mig_ep *src, mig_ep *dst, const char *t, mig_cols *out, char *why, size_t wl)
{
    mig_cols sc, dc;
    int r = mig_columns(src, t, &sc);
    if (r == 0)
        r = mig_columns(dst, t, &dc);
    if (r)
        return fail(why, wl, r, "table %s: cannot read its columns (%s)", t, mtd_strerror(r));
    if (sc.n == 0 || dc.n == 0)
        return fail(why, wl, MTD_ECORRUPT, "table %s is missing in the %s", t, sc.n ? "destination" : "source");
    memset(out, 0, sizeof *out);
    for (int i = 0; i < sc.n; i++) {
        if (src->kind == MTD_STORE_POSTGRESQL && !strcmp(t, "credentials") && !strcmp(sc.name[i], "seq"))
            continue;
        int j = 0;
        while (j < dc.n && strcmp(dc.name[j], sc.name[i]))
            j++;
        if (j == dc.n)
            return fail(why, wl, MTD_ECORRUPT, "column %s.%s of the source has no place at the destination", t,
                        sc.name[i]);
        mtd_strlcpy(out->name[out->n], sc.name[i], sizeof out->name[0]);
        out->integer[out->n++] = dc.integer[j];
    }
    return 0;
}

static int copy_table(mig_ep *src, mig_ep *dst, const table_ref *t, const mig_cols *c, long long *rows)
{
    mig_reader rd;
    mig_writer w;
    const char *order = src->kind == MTD_STORE_SQLITE ? t->sq_copy : t->pg_copy;
    int r = mig_reader_open(&rd, src, t->name, c, order ? order : t->key);
    if (r == 0 && (r = mig_writer_open(&w, dst, t->name, c)) == 0) {
        mig_row row;
        while ((r = mig_reader_next(&rd, &row)) == 1 && (r = mig_writer_put(&w, &row)) == 0)
            ++*rows;
        int wr = mig_writer_close(&w, r == 0);
        r = r ? r : wr;
    }
    mig_reader_close(&rd);
    return r;
}

/* The table's rows in key order: their count and SHA-256. */
static int digest_table(mig_ep *e, const table_ref *t, const mig_cols *c, long long *rows, char hex[65])
{
    mig_reader rd;
    EVP_MD_CTX *h = EVP_MD_CTX_new();
    int r = h && EVP_DigestInit_ex(h, EVP_sha256(), NULL) ? mig_reader_open(&rd, e, t->name, c, t->key) : MTD_ENOMEM;
    *rows = 0;
    if (r == 0) {
        mig_row row;
        while ((r = mig_reader_next(&rd, &row)) == 1) {
            mig_hash_row(h, &row);
            ++*rows;
        }
        mig_reader_close(&rd);
    }
    uint8_t md[32];
    if (r == 0 && EVP_DigestFinal_ex(h, md, NULL))
        mtd_hex(md, 32, hex);
    EVP_MD_CTX_free(h);
    return r;
}

/* PostgreSQL hands out IDs and row numbers from sequences, which the copied rows did
 * not move: each is set past the largest copied (a serial key's, and the event row
 * numbers', which a batch's range also holds), as the collector's role (the tenant's
 * may only take numbers). Called with the migration's tables listed. */
static int pg_sequences(migration *m)
{
    mig_ep *e = &m->dst;
    mtd_pg_conn *own = NULL;
    int r = mtd_pg_acquire(e->cl, NULL, &own);
    for (int i = 0; r == 0 && i <= m->ntables; i++) {
        char sql[512], seq[200];
        PGresult *res;
        if (i == m->ntables) { /* the event rows: across the event tables and batches */
            mtd_buf q;
            mtd_buf_init(&q, 0);
            mtd_buf_puts(&q, "SELECT max(m) FROM (SELECT max(last_row) AS m FROM batches");
            for (int t = 0; t < m->ntables; t++)
                if (!strncmp(m->tables[t].name, "ev_", 3))
                    mtd_buf_printf(&q, " UNION ALL SELECT max(\"row\") FROM %s", m->tables[t].name);
            mtd_buf_puts(&q, ") x");
            mtd_buf_append(&q, "", 1);
            r = mtd_pg_query(e->cl, e->k, (const char *)q.data, 0, NULL, &res);
            mtd_buf_free(&q);
            snprintf(seq, sizeof seq, "'t_%s.event_rows'", e->id);
        } else {
            snprintf(sql, sizeof sql, "SELECT CASE WHEN pg_get_serial_sequence('%s', '%.*s') IS NULL THEN NULL"
                                      " ELSE (SELECT max(%s) FROM %s) END", m->tables[i].name,
                     (int)strlen(m->tables[i].key) - 2, m->tables[i].key + 1, m->tables[i].key, m->tables[i].name);
            r = mtd_pg_query(e->cl, e->k, sql, 0, NULL, &res);
            snprintf(seq, sizeof seq, "pg_get_serial_sequence('t_%s.%s', '%.*s')", e->id, m->tables[i].name,
                     (int)strlen(m->tables[i].key) - 2, m->tables[i].key + 1);
        }
        if (r)
            break;
        if (!PQgetisnull(res, 0, 0)) {
            snprintf(sql, sizeof sql, "SELECT setval(%s, %lld)", seq, strtoll(PQgetvalue(res, 0, 0), NULL, 10));
            r = mtd_pg_query(e->cl, own, sql, 0, NULL, NULL);
        }
        PQclear(res);
    }
    if (own)
        mtd_pg_release(e->cl, own);
    return r;
}

/* ---- feeds: files and index.json under the tenant's directory on SQLite, the feeds
 * table on PostgreSQL; one pseudo-table, "feeds", in the verdict ---- */

static int feed_name_ok(const char *name, const char *sha)
{
    return name[0] && name[0] != '.' && strlen(name) < 128 &&
           strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == strlen(name) &&
           sha && strlen(sha) == 64 && strspn(sha, "0123456789abcdef") == 64;
}

static json_t *feed_index(mig_ep *e)
{
    if (e->kind == MTD_STORE_POSTGRESQL)
        return mtd_store_pg_feed_index(e->st);
    char path[1300];
    snprintf(path, sizeof path, "%s/feeds/index.json", e->tdir);
    if (access(path, F_OK) != 0)
        return json_object();
    json_t *j = json_load_file(path, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static int feed_data(mig_ep *e, const char *name, const char *sha, mtd_buf *out)
{
    if (e->kind == MTD_STORE_POSTGRESQL)
        return mtd_store_pg_feed_data(e->st, name, sha, out);
    char path[1400];
    uint8_t *data;
    size_t len;
    snprintf(path, sizeof path, "%s/feeds/%s.%s", e->tdir, name, sha);
    int r = mtd_file_read(path, FEED_MAX, &data, &len);
    if (r == 0) {
        r = mtd_buf_append(out, data, len);
        free(data);
    }
    return r;
}

static int feed_put(mig_ep *e, const char *name, const char *sha, const mtd_buf *d, const char *updated)
{
    if (e->kind == MTD_STORE_POSTGRESQL)
        return mtd_store_pg_feed_put(e->st, name, sha, d->data, d->len, updated);
    char path[1400];
    snprintf(path, sizeof path, "%s/feeds", e->tdir);
    int r = mtd_mkdir_p(path, 0700);
    snprintf(path, sizeof path, "%s/feeds/%s.%s", e->tdir, name, sha);
    return r ? r : mtd_file_write_atomic(path, d->data, d->len, 0600);
}

/* Every feed of the source at the destination, each checked against its SHA-256. */
static int copy_feeds(mig_ep *src, mig_ep *dst, char *why, size_t wl)
{
    json_t *idx = feed_index(src);
    if (!idx)
        return fail(why, wl, MTD_EIO, "%s: the tenant's feed index could not be read%s", side(src), "");
    const char *name;
    json_t *v;
    int r = 0;
    json_object_foreach(idx, name, v) {
        const char *sha = json_string_value(json_object_get(v, "sha256"));
        const char *updated = json_string_value(json_object_get(v, "updated"));
        mtd_buf d;
        char got[65];
        mtd_buf_init(&d, 0);
        if (!feed_name_ok(name, sha) || !updated)
            r = fail(why, wl, MTD_ECORRUPT, "feed %.128s: the source's index entry is not valid%s", name, "");
        else if ((r = feed_data(src, name, sha, &d)) != 0)
            snprintf(why, wl, "feed %s: its data could not be read at the source: %s", name, mtd_strerror(r));
        if (r == 0) {
            mtd_sha256_hex(d.data, d.len, got);
            if (strcmp(got, sha))
                r = fail(why, wl, MTD_ECORRUPT, "feed %s: the source's data does not match its sha256 %s", name, sha);
            else if ((r = feed_put(dst, name, sha, &d, updated)) != 0)
                snprintf(why, wl, "feed %s: not stored at the destination: %s", name, mtd_strerror(r));
        }
        mtd_buf_free(&d);
        if (r)
            break;
    }
    if (r == 0 && dst->kind == MTD_STORE_SQLITE && json_object_size(idx)) {
        char path[1300], *s = json_dumps(idx, JSON_COMPACT | JSON_SORT_KEYS);
        snprintf(path, sizeof path, "%s/feeds/index.json", dst->tdir);
        r = s ? mtd_file_write_atomic(path, s, strlen(s), 0600) : MTD_ENOMEM;
        free(s);
        if (r)
            snprintf(why, wl, "cannot write %s: %s", path, mtd_strerror(r));
    }
    json_decref(idx);
    return r;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The feeds as rows (name, sha256, size, updated, SHA-256 of the data as read), by name. */
static int digest_feeds(mig_ep *e, long long *rows, char hex[65])
{
    json_t *idx = feed_index(e);
    if (!idx)
        return MTD_EIO;
    size_t n = json_object_size(idx), i = 0;
    const char **names = calloc(n + 1, sizeof *names);
    const char *name;
    json_t *v;
    EVP_MD_CTX *h = EVP_MD_CTX_new();
    int r = names && h && EVP_DigestInit_ex(h, EVP_sha256(), NULL) ? 0 : MTD_ENOMEM;
    json_object_foreach(idx, name, v) if (names) names[i++] = name;
    qsort(names, n, sizeof *names, name_cmp);
    for (i = 0; i < n && r == 0; i++) {
        json_t *f = json_object_get(idx, names[i]);
        const char *sha = json_string_value(json_object_get(f, "sha256"));
        mtd_buf d;
        char size[24], got[65];
        mtd_buf_init(&d, 0);
        if (!feed_name_ok(names[i], sha) || (r = feed_data(e, names[i], sha, &d)) != 0) {
            r = r ? r : MTD_ECORRUPT;
            mtd_buf_free(&d);
            break;
        }
        mtd_sha256_hex(d.data, d.len, got);
        snprintf(size, sizeof size, "%lld", (long long)json_integer_value(json_object_get(f, "size")));
        const char *upd = json_string_value(json_object_get(f, "updated"));
        mig_row row = {.n = 5, .v = {names[i], sha, size, upd, got}};
        for (int c = 0; c < 5; c++)
            row.len[c] = row.v[c] ? strlen(row.v[c]) : 0;
        mig_hash_row(h, &row);
        mtd_buf_free(&d);
    }
    uint8_t md[32];
    if (r == 0 && EVP_DigestFinal_ex(h, md, NULL))
        mtd_hex(md, 32, hex);
    *rows = (long long)n;
    EVP_MD_CTX_free(h);
    free(names);
    json_decref(idx);
    return r;
}

/* The tenant's own row: name, organization, creation time and key. */
static void digest_meta(const tenant_meta *m, char hex[65])
{
    char created[24];
    snprintf(created, sizeof created, "%lld", m->created_at);
    mig_row row = {.n = 4, .v = {m->name, m->org, created, m->key}};
    for (int c = 0; c < 4; c++)
        row.len[c] = strlen(row.v[c]);
    EVP_MD_CTX *h = EVP_MD_CTX_new();
    uint8_t md[32];
    if (h && EVP_DigestInit_ex(h, EVP_sha256(), NULL)) {
        mig_hash_row(h, &row);
        if (EVP_DigestFinal_ex(h, md, NULL))
            mtd_hex(md, 32, hex);
    }
    EVP_MD_CTX_free(h);
}

/* One verdict line; 1 when both sides agree. */
static int report(FILE *out, const char *t, long long sr, const char *sh, long long dr, const char *dh)
{
    int same = sr == dr && !strcmp(sh, dh);
    if (same)
        fprintf(out, "%-28s %10lld %s\n", t, dr, dh);
    else
        fprintf(out, "%-28s %10lld %s DIFFERS (source: %lld %s)\n", t, dr, dh, sr, sh);
    return same;
}


/* The tables to copy: every table of the source's store, listed from the database
 * (so a table a later build adds is copied without a change here), each of which the
 * destination must have, with its key. */
static int list_tables(migration *m, char *why, size_t wl)
{
    static char sn[MAX_TABLES][64], dn[MAX_TABLES][64];
    int ns, nd, r = mig_tables(&m->src, sn, &ns);
    if (r == 0)
        r = mig_tables(&m->dst, dn, &nd);
    if (r)
        return fail(why, wl, r, "the tenant's tables could not be listed: %s%s", mtd_strerror(r), "");
    for (int i = 0; i < ns; i++) {
        table_ref *t = &m->tables[i];
        int j = 0;
        while (j < nd && strcmp(dn[j], sn[i]))
            j++;
        if (j == nd)
            return fail(why, wl, MTD_ECORRUPT, "table %s of the source is missing at %s (another build?)", sn[i],
                        side(&m->dst));
        mtd_strlcpy(t->name, sn[i], sizeof t->name);
        char col[64];
        if ((r = mig_primary_key(&m->src, t->name, col, sizeof col)) != 0)
            return fail(why, wl, r, "table %s: no one-column primary key to order its rows by%s", t->name, "");
        snprintf(t->key, sizeof t->key, "\"%s\"", col);
        t->sq_copy = t->pg_copy = NULL;
        for (size_t k = 0; k < sizeof copy_orders / sizeof copy_orders[0]; k++)
            if (!strcmp(copy_orders[k].name, t->name)) {
                t->sq_copy = copy_orders[k].sq_copy;
                t->pg_copy = copy_orders[k].pg_copy;
            }
    }
    m->ntables = ns;
    return 0;
}

static int copy_all(migration *m, char *why, size_t wl)
{
    int r = list_tables(m, why, wl);
    for (int i = 0; r == 0 && i < m->ntables; i++) {
        table_ref *t = &m->tables[i];
        if ((r = common_cols(&m->src, &m->dst, t->name, &m->cols[i], why, wl)) != 0)
            return r;
        if ((r = copy_table(&m->src, &m->dst, t, &m->cols[i], &m->rows)) != 0)
            snprintf(why, wl, "table %s: not copied: %s", t->name, mtd_strerror(r));
    }
    /* SQLite's trusted table is derived from the policy rows just copied (not copied) */
    if (r == 0 && m->dst.kind == MTD_STORE_SQLITE && (r = mtd_sq_trusted_sync_db(m->dst.db)) != 0)
        snprintf(why, wl, "sqlite: the trusted stores could not be made from the policy: %s", mtd_strerror(r));
    if (r == 0 && (r = mig_exec(&m->dst, "COMMIT")) != 0)
        snprintf(why, wl, "%s: the copy could not be committed: %s", side(&m->dst), mtd_strerror(r));
    if (r == 0 && m->dst.kind == MTD_STORE_POSTGRESQL && (r = pg_sequences(m)) != 0)
        snprintf(why, wl, "postgresql: the tenant's sequences could not be set: %s", mtd_strerror(r));
    return r ? r : copy_feeds(&m->src, &m->dst, why, wl);
}

/* Both sides read back and compared, table by table: 0, MTD_ECORRUPT, or an error. */
static int verify_all(migration *m, FILE *out, char *why, size_t wl)
{
    tenant_meta dm;
    char sh[65] = "", dh[65] = "";
    int r = mig_exec(&m->dst, m->dst.kind == MTD_STORE_SQLITE ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ");
    if (r == 0)
        r = meta_read(&m->dst, &dm, why, wl);
    if (r)
        return r;
    int same = 1, tables = 0;
    long long rows = 0, sr, dr;
    digest_meta(&m->meta, sh);
    digest_meta(&dm, dh);
    same &= report(out, "tenant", 1, sh, 1, dh);
    for (int i = 0; r == 0 && i < m->ntables; i++, tables++) {
        const table_ref *t = &m->tables[i];
        if ((r = digest_table(&m->src, t, &m->cols[i], &sr, sh)) == 0 &&
            (r = digest_table(&m->dst, t, &m->cols[i], &dr, dh)) == 0) {
            same &= report(out, t->name, sr, sh, dr, dh);
            rows += dr;
        }
    }
    if (r == 0 && (r = digest_feeds(&m->src, &sr, sh)) == 0 && (r = digest_feeds(&m->dst, &dr, dh)) == 0) {
        same &= report(out, "feeds", sr, sh, dr, dh);
        tables++;
    }
    if (r)
        return fail(why, wl, r, "the copy could not be read back to be verified: %s%s", mtd_strerror(r), "");
    mig_exec(&m->dst, "COMMIT");
    fprintf(out, "verdict: %s: tenant %s, %d tables, %lld rows, %s -> %s\n",
            same ? "identical" : "DIFFERENT", m->src.id, tables, rows, side(&m->src), side(&m->dst));
    if (!same)
        snprintf(why, wl, "the copy differs from the source (the tables marked DIFFERS); the destination's tenant"
                          " was removed");
    return same ? 0 : MTD_ECORRUPT;
}

static int valid_tenant_id(const char *id)
{
    return id && strlen(id) == 16 && strspn(id, "0123456789abcdef") == 16;
}

int mtd_migrate_run(const mtd_migrate_opts *o, FILE *out, char *why, size_t wl)
{
    if (!valid_tenant_id(o->tenant))
        return fail(why, wl, MTD_EINVAL, "--tenant \"%.40s\" is not a tenant ID (16 hex digits)%s",
                    o->tenant ? o->tenant : "", "");
    migration *m = calloc(1, sizeof *m);
    if (!m)
        return MTD_ENOMEM;
    int r = parse_url(o->from, &m->src, why, wl);
    if (r == 0)
        r = parse_url(o->to, &m->dst, why, wl);
    if (r == 0 && !strcmp(o->from, o->to))
        r = fail(why, wl, MTD_EINVAL, "--from and --to are the same store (%s)%s", side(&m->src), "");
    mtd_strlcpy(m->src.id, o->tenant, sizeof m->src.id);
    mtd_strlcpy(m->dst.id, o->tenant, sizeof m->dst.id);
    if (r == 0)
        r = open_source(&m->src, &m->meta, why, wl);
    if (r == 0)
        r = open_dest(&m->dst, &m->meta, o->replace, why, wl);
    int64_t t0 = mtd_monotonic_ns(); /* the copy alone, not the cluster's DDL */
    if (r == 0)
        r = copy_all(m, why, wl);
    double copy_s = (double)(mtd_monotonic_ns() - t0) / 1e9;
    if (r == 0) {
        r = verify_all(m, out, why, wl);
        m->verified = r == 0 || r == MTD_ECORRUPT;
    }
    if (m->verified)
        fprintf(out, "copied %lld rows in %.2f s (%.0f rows/s), verified in %.2f s\n", m->rows, copy_s,
                copy_s > 0 ? (double)m->rows / copy_s : 0.0, (double)(mtd_monotonic_ns() - t0) / 1e9 - copy_s);
    if (r && m->dst.created) { /* not verified: a collector must not start on it */
        if (m->dst.k) { /* give the tenant's connection back before its schema is dropped */
            mtd_pg_release(m->dst.cl, m->dst.k);
            m->dst.k = NULL;
        }
        if (m->dst.db) {
            sqlite3_close(m->dst.db);
            m->dst.db = NULL;
        }
        tenant_remove(&m->dst);
    }
    explicit_bzero(&m->meta, sizeof m->meta);
    ep_close(&m->src);
    ep_close(&m->dst);
    free(m);
    return r;
}
