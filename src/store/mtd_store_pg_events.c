/* mtd_store_pg_events: the PostgreSQL backend's event side: group commit of batches,
 * exactly once across collectors, consent changes, user export and delete, retention
 * and the event lists.
 *
 * Exactly once: a batch's key (batches.idem_key, the primary key) and its rows are
 * written in one transaction. Two collectors given the same retried batch insert the
 * same key; the second waits for the first's transaction and then finds the key (ON
 * CONFLICT DO NOTHING returns nothing): it stores nothing and acknowledges, or, if the
 * first rolled back (its collector died), stores the batch itself. A group's keys are
 * inserted in key order, and its devices in device order, so two collectors' groups
 * take their locks in one order and cannot deadlock on each other.
 *
 * A group is a handful of statements whatever its size: one INSERT of every batch
 * key, one of every device, one per event type of every row of that type (each
 * column one binary array parameter, unnest()ed), where the SQLite backend steps one
 * INSERT per row; each prepared once per connection (mtd_pg_prepared). COPY would be
 * faster still, but PostgreSQL refuses COPY FROM into a table
 * with row-level security, and every table here has it (mtd_store_pg_ddl.c). */
#include "store/mtd_store_pg_int.h"
#include "common/mtd_err.h"
#include "common/mtd_log.h"
#include "common/mtd_util.h"
#include "schema/mtd_event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* An array parameter in PostgreSQL's binary format (array_recv): a header of five
 * 32-bit words (dimensions, whether any element is NULL, the element type, the length,
 * the lower bound), then each element as its length (-1: NULL) and its bytes, all
 * numbers big-endian. The text format (a quoted, escaped literal) cost the collector
 * a scan of every byte and printf of every number, and the backend array_in's parse. */
typedef struct {
    mtd_buf b;
    uint32_t n, elem; /* elements; their type's OID */
    int nulls, bad;   /* any NULL; an error while building (an MTD_E code) */
} pg_arr;

enum { OID_INT8 = 20, OID_TEXT = 25 };
#define ARR_HEADER 20

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static void put32(pg_arr *a, uint32_t v)
{
    uint8_t x[4];
    be32(x, v);
    if (mtd_buf_append(&a->b, x, 4) != 0)
        a->bad = MTD_ENOMEM;
}

static void arr_start(pg_arr *a, uint32_t elem)
{
    static const uint8_t header[ARR_HEADER];
    mtd_buf_reset(&a->b);
    a->bad = mtd_buf_append(&a->b, header, sizeof header) ? MTD_ENOMEM : 0;
    a->n = 0, a->elem = elem, a->nulls = 0;
}

static void arr_text(pg_arr *a, const char *s, size_t len)
{
    if (a->elem != OID_TEXT || len > INT32_MAX) {
        a->bad = MTD_EINVAL; /* a string for a number column: the schema allows none */
        return;
    }
    put32(a, (uint32_t)len);
    if (mtd_buf_append(&a->b, s, len) != 0)
        a->bad = MTD_ENOMEM;
    a->n++;
}

static void arr_int(pg_arr *a, int64_t v)
{
    if (a->elem == OID_TEXT) { /* a number for a text column: its digits, as the text format had it */
        char d[24];
        arr_text(a, d, (size_t)snprintf(d, sizeof d, "%lld", (long long)v));
        return;
    }
    put32(a, 8);
    put32(a, (uint32_t)((uint64_t)v >> 32));
    put32(a, (uint32_t)v);
    a->n++;
}

static void arr_null(pg_arr *a)
{
    put32(a, UINT32_MAX); /* -1 */
    a->nulls = 1;
    a->n++;
}

/* Fills in the header; an empty array has no dimensions (three words). */
static void arr_end(pg_arr *a)
{
    if (a->bad)
        return;
    uint32_t h[5] = {a->n ? 1 : 0, (uint32_t)a->nulls, a->elem, a->n, 1};
    for (int i = 0; i < 5; i++)
        be32(a->b.data + 4 * i, h[i]);
    if (!a->n)
        a->b.len = 12;
}

static void arr_value(pg_arr *a, const mtd_value *v)
{
    switch (v->kind) {
    case MTD_V_STR:
    case MTD_V_LIST:
        arr_text(a, v->s, v->len);
        break;
    case MTD_V_INT:
    case MTD_V_BOOL:
        arr_int(a, v->i);
        break;
    default:
        arr_null(a);
        break;
    }
}

static void slot_elem(pg_arr *a, const mtd_event *e, const char *name)
{
    size_t n;
    const char *s = mtd_event_str(e, name, &n);
    if (s)
        arr_text(a, s, n);
    else
        arr_null(a);
}

/* A statement's parameters: text ones (NULL for NULL) and binary arrays. */
typedef struct {
    const char *v[MTD_EVENT_MAX_COLUMNS + 3];
    int len[MTD_EVENT_MAX_COLUMNS + 3], fmt[MTD_EVENT_MAX_COLUMNS + 3];
    int n, bad;
} params;

static void par_text(params *ps, const char *v)
{
    ps->v[ps->n] = v, ps->len[ps->n] = 0, ps->fmt[ps->n++] = 0;
}

static void par_arr(params *ps, pg_arr *a)
{
    arr_end(a);
    ps->bad = ps->bad ? ps->bad : a->bad;
    ps->v[ps->n] = (const char *)a->b.data, ps->len[ps->n] = (int)a->b.len, ps->fmt[ps->n++] = 1;
}

/* One group in one transaction, on connection k: pipelined (every statement sent,
 * the answers read at COMMIT) or one statement at a time. */
typedef struct {
    mtd_pg_store *s;
    mtd_pg_conn *k;
    mtd_store_batch **b; /* the group's batches still to store, sorted by key */
    size_t n;
    int64_t *first;      /* each one's first row, from the transaction's base */
    char now[24];
    int pipe;            /* pipelined */
    pg_arr a[MTD_EVENT_MAX_COLUMNS + 2];
} group_tx;

/* A statement of the group; pipelined ones have no result to give. */
static int qp(group_tx *g, const char *sql, const params *ps, PGresult **res)
{
    if (ps->bad)
        return ps->bad;
    if (!g->pipe)
        return mtd_pg_prepared(g->s->cl, g->k, sql, ps->n, ps->v, ps->len, ps->fmt, res);
    return mtd_pg_pipe_send(g->s->cl, g->k, sql, ps->n, ps->v, ps->len, ps->fmt);
}

/* One with text parameters only. */
static int q(group_tx *g, const char *sql, int n, const char *const *p, PGresult **res)
{
    params ps = {.n = 0};
    for (int i = 0; i < n; i++)
        par_text(&ps, p[i]);
    return qp(g, sql, &ps, res);
}

/* The transaction's first row number, taken from event_rows by its nextval (the
 * sequence counts in steps of 65,536, more rows than a group holds): every row is
 * numbered from it in the database, so that no statement waits for another's answer. */
#define BASE "(SELECT currval('event_rows') AS base) AS tx"

static int cmp_key(const void *x, const void *y)
{
    return strcmp((*(mtd_store_batch *const *)x)->idem_key, (*(mtd_store_batch *const *)y)->idem_key);
}

static const char *batch_device(const mtd_store_batch *b, char *buf, size_t len)
{
    return mtd_store_slot(&b->events[0], "device_id", buf, len); /* the schema requires it */
}

#define INSERT_KEYS                                                                                     \
    "INSERT INTO batches(idem_key, device_id, received_at, events, first_row, last_row, types)"         \
    " SELECT k, d, $3::bigint, n, base + f, base + l, t FROM unnest($1::text[], $2::text[], $4::bigint[]," \
    " $5::bigint[], $6::bigint[], $7::bigint[]) AS u(k, d, n, f, l, t), " BASE " ORDER BY k"

/* Inserts the keys; the batches whose key was there already leave g->b as repeats.
 * Pipelined, a key that is there already fails the transaction (MTD_EEXIST): the rows
 * sent after it must not be stored, and the group is then stored statement by
 * statement (commit_list). */
static int insert_keys(group_tx *g)
{
    pg_arr *a = g->a;
    for (int c = 0; c < 6; c++)
        arr_start(&a[c], c < 2 ? OID_TEXT : OID_INT8);
    int64_t row = 0;
    for (size_t i = 0; i < g->n; i++) {
        mtd_store_batch *b = g->b[i];
        char dev[64];
        int64_t types = 0;
        for (size_t j = 0; j < b->n; j++)
            types |= (int64_t)1 << (b->events[j].type - mtd_event_types);
        g->first[i] = row;
        arr_text(&a[0], b->idem_key, strlen(b->idem_key));
        batch_device(b, dev, sizeof dev);
        arr_text(&a[1], dev, strlen(dev));
        arr_int(&a[2], (int64_t)b->n);
        arr_int(&a[3], row);
        arr_int(&a[4], row + (int64_t)b->n - 1);
        arr_int(&a[5], types);
        row += (int64_t)b->n;
    }
    params ps = {.n = 0};
    par_arr(&ps, &a[0]);
    par_arr(&ps, &a[1]);
    par_text(&ps, g->now);
    for (int c = 2; c < 6; c++)
        par_arr(&ps, &a[c]);
    if (g->pipe)
        return qp(g, INSERT_KEYS, &ps, NULL);
    PGresult *res;
    int r = qp(g, INSERT_KEYS " ON CONFLICT DO NOTHING RETURNING idem_key", &ps, &res);
    if (r)
        return r;
    /* keep only the inserted, in order (RETURNING's order is not promised) */
    size_t kept = 0;
    for (size_t i = 0; i < g->n; i++) {
        int found = 0;
        for (int t = 0; t < PQntuples(res) && !found; t++)
            found = !strcmp(PQgetvalue(res, t, 0), g->b[i]->idem_key);
        if (!found) {
            g->b[i]->result = MTD_EEXIST;
            continue;
        }
        g->first[kept] = g->first[i];
        g->b[kept++] = g->b[i];
    }
    PQclear(res);
    g->n = kept;
    return 0;
}

static int audit(group_tx *g, const char *actor, const char *action, const char *device,
                 const char *detail)
{
    const char *p[] = {g->now, actor, action, device, detail};
    return q(g, "INSERT INTO audit(time, actor, action, device_id, detail) VALUES($1, $2, $3, $4, $5)",
             5, p, NULL);
}

static int cmp_dev(const void *x, const void *y)
{
    char a[64], b[64];
    return strcmp(batch_device(*(mtd_store_batch *const *)x, a, sizeof a),
                  batch_device(*(mtd_store_batch *const *)y, b, sizeof b));
}

/* The stored batches' credentials are used now: in their transaction, so that a
 * revocation of the token's unused credentials spares exactly those with a batch. */
static int mark_used(group_tx *g)
{
    arr_start(&g->a[0], OID_TEXT);
    for (size_t i = 0; i < g->n; i++)
        if (g->b[i]->cred_hash && g->b[i]->cred_hash[0])
            arr_text(&g->a[0], g->b[i]->cred_hash, strlen(g->b[i]->cred_hash));
    if (g->a[0].n == 0)
        return 0;
    params ps = {.n = 0};
    par_text(&ps, g->now);
    par_arr(&ps, &g->a[0]);
    return qp(g, "UPDATE credentials SET first_used = $1 WHERE hash = ANY($2::text[]) AND first_used IS NULL",
              &ps, NULL);
}

/* Upserts each device once (its last batch's envelope), in device order. */
static int upsert_devices(group_tx *g)
{
    mtd_store_batch **bs = malloc(g->n * sizeof *bs);
    if (!bs)
        return MTD_ENOMEM;
    memcpy(bs, g->b, g->n * sizeof *bs);
    qsort(bs, g->n, sizeof *bs, cmp_dev); /* stable enough: equal devices collapse below */
    static const char *const f[] = {"device_id", "upn", "dir_user_id", "dir_device_id", "org_id"};
    for (int c = 0; c < 5; c++)
        arr_start(&g->a[c], OID_TEXT);
    for (size_t i = 0; i < g->n; i++) {
        char d1[64], d2[64];
        if (i + 1 < g->n && !strcmp(batch_device(bs[i], d1, sizeof d1), batch_device(bs[i + 1], d2, sizeof d2)))
            continue;
        for (int c = 0; c < 5; c++)
            slot_elem(&g->a[c], &bs[i]->events[0], f[c]);
    }
    free(bs);
    params ps = {.n = 0};
    par_arr(&ps, &g->a[0]);
    par_text(&ps, g->now);
    for (int c = 1; c < 5; c++)
        par_arr(&ps, &g->a[c]);
    return qp(g, "INSERT INTO devices(device_id, first_seen, last_seen, upn, dir_user_id, dir_device_id,"
                " org_id) SELECT d, $2::bigint, $2::bigint, u, du, dd, o FROM unnest($1::text[], $3::text[],"
                " $4::text[], $5::text[], $6::text[]) AS x(d, u, du, dd, o) ON CONFLICT(device_id) DO UPDATE"
                " SET last_seen = excluded.last_seen, upn = coalesce(excluded.upn, devices.upn),"
                " dir_user_id = coalesce(excluded.dir_user_id, devices.dir_user_id),"
                " dir_device_id = coalesce(excluded.dir_device_id, devices.dir_device_id),"
                " org_id = coalesce(excluded.org_id, devices.org_id)", &ps, NULL);
}

/* Every row of one event type in the group, in one INSERT. */
static int insert_type(group_tx *g, const mtd_event_type *ev)
{
    int ncol = mtd_event_ncolumns(ev);
    size_t rows = 0;
    arr_start(&g->a[0], OID_INT8);
    for (int c = 0; c < ncol; c++) {
        const mtd_field *f = mtd_event_column_field(ev, c);
        arr_start(&g->a[c + 1], f->type == MTD_T_INT || f->type == MTD_T_BOOL ? OID_INT8 : OID_TEXT);
    }
    for (size_t i = 0; i < g->n; i++)
        for (size_t j = 0; j < g->b[i]->n; j++) {
            const mtd_event *e = &g->b[i]->events[j];
            if (e->type != ev)
                continue;
            arr_int(&g->a[0], g->first[i] + (int64_t)j);
            for (int c = 0; c < ncol; c++)
                arr_value(&g->a[c + 1], &e->v[c]);
            rows++;
        }
    if (!rows)
        return 0;
    char t[96];
    mtd_pg_table(ev->name, t, sizeof t);
    mtd_buf sql;
    mtd_buf_init(&sql, 0);
    mtd_buf_printf(&sql, "INSERT INTO %s(\"row\", received_at", t);
    for (int c = 0; c < ncol; c++)
        mtd_buf_printf(&sql, ", \"%s\"", mtd_event_column_field(ev, c)->name);
    /* unnest() in the select list, not in FROM: the arrays are read in step as the
     * rows are inserted, where a FROM function's rows were first all written to a
     * tuplestore and read back (a quarter of the backends' CPU in bench_scale) */
    mtd_buf_puts(&sql, ") SELECT base + unnest($1::bigint[]), $2::bigint");
    for (int c = 0; c < ncol; c++) {
        const mtd_field *f = mtd_event_column_field(ev, c);
        mtd_buf_printf(&sql, ", unnest($%d::%s[])", c + 3,
                       f->type == MTD_T_INT || f->type == MTD_T_BOOL ? "bigint" : "text");
    }
    mtd_buf_append(&sql, " FROM " BASE, sizeof " FROM " BASE);
    params ps = {.n = 0};
    par_arr(&ps, &g->a[0]);
    par_text(&ps, g->now);
    for (int c = 0; c < ncol; c++)
        par_arr(&ps, &g->a[c + 1]);
    int r = qp(g, (char *)sql.data, &ps, NULL);
    mtd_buf_free(&sql);
    return r;
}

/* Each device's latest device.info row, for the devices report. */
static int note_info(group_tx *g)
{
    const mtd_event_type *info = mtd_schema_event("device.info");
    arr_start(&g->a[0], OID_TEXT);
    arr_start(&g->a[1], OID_INT8);
    int any = 0;
    for (size_t i = 0; i < g->n; i++)
        for (size_t j = 0; j < g->b[i]->n; j++)
            if (g->b[i]->events[j].type == info) {
                slot_elem(&g->a[0], &g->b[i]->events[j], "device_id");
                arr_int(&g->a[1], g->first[i] + (int64_t)j);
                any = 1;
            }
    if (!any)
        return 0;
    params ps = {.n = 0};
    par_arr(&ps, &g->a[0]);
    par_arr(&ps, &g->a[1]);
    return qp(g, "UPDATE devices d SET info_row = u.r FROM (SELECT dev, base + max(r) AS r FROM"
                " unnest($1::text[], $2::bigint[]) AS x(dev, r), " BASE " GROUP BY dev, base) u"
                " WHERE d.device_id = u.dev",
              &ps, NULL);
}

/* Optional data of one device: what a consent revocation deletes. */
static const char *const optional_events[] = {"diag.bundle", "feedback.submission"};

/* A consent.change: the device's consent; a revocation with delete_optional deletes
 * the device's optional rows stored before it (the policy refuses any after it in the
 * same batch) and says so in the audit log. */
static int apply_consent(group_tx *g, const mtd_event *e, int64_t row)
{
    char dev[64], state[16], rs[24];
    mtd_store_slot(e, "device_id", dev, sizeof dev);
    int grant = !strcmp(mtd_store_slot(e, "state", state, sizeof state) ?: "", "granted");
    const char *p[] = {grant ? "1" : "0", g->now, dev};
    int r = q(g, "UPDATE devices SET consent = $1::bigint, consent_time = $2::bigint WHERE device_id = $3",
              3, p, NULL);
    if (r || grant)
        return r;
    int deleted = 0;
    snprintf(rs, sizeof rs, "%lld", (long long)row);
    for (size_t i = 0; mtd_event_is_true(e, "delete_optional") && i < 2; i++) {
        char t[96], rows[320], sql[512];
        mtd_pg_table(optional_events[i], t, sizeof t);
        mtd_pg_device_rows(rows, sizeof rows, optional_events[i]);
        snprintf(sql, sizeof sql, "DELETE FROM %s WHERE \"row\" < $2::bigint + currval('event_rows')%s", t, rows);
        const char *pd[] = {dev, rs};
        PGresult *res;
        if ((r = q(g, sql, 2, pd, &res)) != 0)
            return r;
        deleted += atoi(PQcmdTuples(res));
        PQclear(res);
    }
    char detail[160];
    snprintf(detail, sizeof detail, "consent revoked by a device; deleted its %d optional %s",
             deleted, mtd_plural(deleted, "record", "records"));
    return audit(g, "device", "consent.revoke", NULL, detail);
}

static int consents(group_tx *g)
{
    const mtd_event_type *consent = mtd_schema_event("consent.change");
    int r = 0;
    for (size_t i = 0; i < g->n && r == 0; i++)
        for (size_t j = 0; j < g->b[i]->n && r == 0; j++)
            if (g->b[i]->events[j].type == consent)
                r = apply_consent(g, &g->b[i]->events[j], g->first[i] + (int64_t)j);
    return r;
}

static int store_group(group_tx *g)
{
    int r = q(g, "BEGIN", 0, NULL, NULL);
    if (r == 0)
        r = q(g, "SELECT nextval('event_rows')", 0, NULL, NULL);
    if (r)
        return r;
    if ((r = insert_keys(g)) != 0 || g->n == 0)
        return r ? r : q(g, "COMMIT", 0, NULL, NULL);
    if ((r = mark_used(g)) != 0 || (r = upsert_devices(g)) != 0)
        return r;
    for (size_t t = 0; t < mtd_event_ntypes && r == 0; t++)
        r = insert_type(g, &mtd_event_types[t]);
    if (r == 0)
        r = note_info(g);
    if (r == 0)
        r = consents(g);
    if (r == 0)
        r = q(g, "COMMIT", 0, NULL, NULL);
    return r;
}

static int has_consent(const group_tx *g)
{
    const mtd_event_type *consent = mtd_schema_event("consent.change");
    for (size_t i = 0; i < g->n; i++)
        for (size_t j = 0; j < g->b[i]->n; j++)
            if (g->b[i]->events[j].type == consent)
                return 1;
    return 0;
}

/* The group in one round trip: every statement pipelined, the answers read after the
 * COMMIT. When a key was there already (a batch sent again) that transaction failed
 * whole, and the group is stored again statement by statement, the repeats left out;
 * so is a group with a consent change, whose audit line needs the count of rows its
 * DELETE took. */
static int store_pipelined(group_tx *g)
{
    if (has_consent(g))
        return store_group(g);
    int64_t t0 = mtd_monotonic_ns();
    int r = mtd_pg_pipe_begin(g->k);
    if (r)
        return r;
    g->pipe = 1;
    r = store_group(g);
    int e = mtd_pg_pipe_end(g->s->cl, g->k, t0);
    g->pipe = 0;
    r = r ? r : e;
    if (r != MTD_EEXIST || !g->k->c)
        return r;
    if ((r = q(g, "ROLLBACK", 0, NULL, NULL)) != 0)
        return r;
    return store_group(g);
}

/* Commits the batches of a list as one transaction; each one's result is set. */
static int commit_list(mtd_pg_store *s, mtd_store_batch *head)
{
    group_tx g = {.s = s};
    size_t n = 0;
    for (mtd_store_batch *b = head; b; b = b->next) {
        b->stored = 0;
        b->result = b->n ? 0 : MTD_EINVAL;
        n += b->n > 0;
    }
    g.b = calloc(n + 1, sizeof *g.b);
    g.first = calloc(n + 1, sizeof *g.first);
    if (!g.b || !g.first) {
        free(g.b);
        free(g.first);
        return MTD_ENOMEM;
    }
    for (mtd_store_batch *b = head; b; b = b->next)
        if (b->n) {
            /* a key twice in one group: the later copy is the repeat */
            int dup = 0;
            for (size_t i = 0; i < g.n && !dup; i++)
                dup = !strcmp(g.b[i]->idem_key, b->idem_key);
            if (dup)
                b->result = MTD_EEXIST;
            else
                g.b[g.n++] = b;
        }
    qsort(g.b, g.n, sizeof *g.b, cmp_key);
    snprintf(g.now, sizeof g.now, "%lld", (long long)time(NULL));
    for (size_t c = 0; c < MTD_EVENT_MAX_COLUMNS + 2; c++)
        mtd_buf_init(&g.a[c].b, 0);
    int r = mtd_pg_acquire(s->cl, s->id, &g.k);
    if (r == 0) {
        r = store_pipelined(&g);
        mtd_pg_release(s->cl, g.k); /* rolls back a failed one */
    }
    for (size_t i = 0; r == 0 && i < g.n; i++)
        g.b[i]->stored = (int)g.b[i]->n;
    for (size_t c = 0; c < MTD_EVENT_MAX_COLUMNS + 2; c++)
        mtd_buf_free(&g.a[c].b);
    free(g.b);
    free(g.first);
    return r;
}

/* If the commit fails, none of the group is stored or acknowledged (not even a
 * repeat: its first copy may have been in this same group). A failure that is not the
 * database's state (MTD_EBUSY, MTD_EUNAVAIL) may be one batch's doing: each is then
 * tried alone, so that it does not take the others down with it on every retry. */
void mtd_pg_ingest_group(mtd_store *st, mtd_store_batch *head)
{
    mtd_pg_store *s = mtd_pg_of(st);
    int r = commit_list(s, head);
    if (r && r != MTD_EBUSY && r != MTD_EUNAVAIL && head->next) {
        for (mtd_store_batch *b = head; b; b = b->next) {
            mtd_store_batch *next = b->next;
            b->next = NULL;
            int one = commit_list(s, b);
            b->next = next;
            if (one) {
                b->result = one;
                b->stored = 0;
            }
        }
        return;
    }
    for (mtd_store_batch *b = head; b && r; b = b->next) {
        b->result = r;
        b->stored = 0;
    }
}

int mtd_pg_ingest(mtd_store *st, const char *cred_hash, const char *idem_key, const mtd_event *events,
                  size_t n, int *stored)
{
    mtd_pg_store *s = mtd_pg_of(st);
    return mtd_store_group_ingest(&s->group, st, mtd_pg_ingest_group, cred_hash, idem_key, events, n, stored);
}

int mtd_pg_device_consent(mtd_store *st, const char *device_id, int *consent)
{
    char v[24];
    int r = mtd_pg_read(mtd_pg_of(st), "SELECT consent FROM devices WHERE device_id=$1", device_id, v, sizeof v);
    *consent = r == 0 && !strcmp(v, "1");
    return r == MTD_ENOENT ? 0 : r;
}

/* The policy row, the device's group's overrides and its consent in one statement. */
int mtd_pg_device_state(mtd_store *st, const char *device_id, mtd_policy *p, int *consent)
{
    const char *prm[] = {device_id};
    PGresult *res;
    *consent = 0;
    int r = mtd_pg_run_prepared(mtd_pg_of(st), "SELECT (SELECT json FROM policy WHERE id=1), (SELECT g.policy FROM"
                       " device_groups d JOIN groups g ON g.name = d.grp WHERE d.device_id=$1),"
                       " (SELECT consent FROM devices WHERE device_id=$1)", 1, prm, &res);
    if (r) { /* the tenant's default, as mtd_pg_policy_get gives on a failed read */
        mtd_store_policy_parse(NULL, p);
        return r;
    }
    r = mtd_store_policy_parse(PQgetisnull(res, 0, 0) ? NULL : PQgetvalue(res, 0, 0), p);
    if (r == 0 && !PQgetisnull(res, 0, 1))
        mtd_store_policy_override(p, PQgetvalue(res, 0, 1));
    *consent = !PQgetisnull(res, 0, 2) && !strcmp(PQgetvalue(res, 0, 2), "1");
    PQclear(res);
    return r;
}

/* Runs the statements of a delete in one transaction on the tenant's role, each one's
 * changed rows added to *rows, then (on the collector's own role, the tables' owner)
 * vacuums the tenant's tables, so that the deleted rows leave the tables' pages now,
 * not at the next autovacuum. */
static int delete_tx(mtd_pg_store *s, const char *const *sql, size_t nsql, int np, const char *const *p,
                     int *rows, const char *actor, const char *action, const char *detail_fmt)
{
    mtd_pg_conn *k;
    int r = mtd_pg_acquire(s->cl, s->id, &k);
    if (r)
        return r;
    *rows = 0;
    r = mtd_pg_query(s->cl, k, "BEGIN", 0, NULL, NULL);
    for (size_t i = 0; i < nsql && r == 0; i++) {
        PGresult *res;
        if ((r = mtd_pg_query(s->cl, k, sql[i], np, p, &res)) == 0) {
            if (sql[i][0] == 'D' && strstr(sql[i], " ev_")) /* event rows, not the bookkeeping */
                *rows += atoi(PQcmdTuples(res));
            PQclear(res);
        }
    }
    if (r == 0 && detail_fmt) {
        char detail[200], now[24];
        snprintf(detail, sizeof detail, detail_fmt, *rows, mtd_plural(*rows, "record", "records"));
        snprintf(now, sizeof now, "%lld", (long long)time(NULL));
        const char *pa[] = {now, actor, action, detail};
        r = mtd_pg_query(s->cl, k, "INSERT INTO audit(time, actor, action, detail) VALUES($1, $2, $3, $4)",
                         4, pa, NULL);
    }
    if (r == 0)
        r = mtd_pg_query(s->cl, k, "COMMIT", 0, NULL, NULL);
    mtd_pg_release(s->cl, k);
    if (r == 0 && mtd_pg_acquire(s->cl, NULL, &k) == 0) {
        char v[64];
        snprintf(v, sizeof v, "SET search_path TO t_%s", s->id);
        mtd_pg_query(s->cl, k, v, 0, NULL, NULL);
        for (size_t i = 0; i < mtd_event_ntypes; i++) {
            char t[96], sql2[160];
            mtd_pg_table(mtd_event_types[i].name, t, sizeof t);
            snprintf(sql2, sizeof sql2, "VACUUM t_%s.%s", s->id, t);
            mtd_pg_query(s->cl, k, sql2, 0, NULL, NULL);
        }
        mtd_pg_query(s->cl, k, "SET search_path TO mtd", 0, NULL, NULL);
        mtd_pg_release(s->cl, k);
    }
    return r;
}

/* The SQL condition that selects a user's rows in an event table. */
static const char user_rows[] =
    "device_id IN (SELECT device_id FROM devices WHERE upn IN ($1, $2)) OR upn IN ($1, $2)";

int mtd_pg_user_delete(mtd_store *st, const char *upn, const char *alt, const char *actor, int *rows)
{
    mtd_pg_store *s = mtd_pg_of(st);
    const char *sql[64];
    char bufs[32][256];
    size_t n = 0;
    for (size_t i = 0; i < mtd_event_ntypes && i < 32; i++) {
        char t[96];
        mtd_pg_table(mtd_event_types[i].name, t, sizeof t);
        snprintf(bufs[i], sizeof bufs[i], "DELETE FROM %s WHERE %s", t, user_rows);
        sql[n++] = bufs[i];
    }
    sql[n++] = "DELETE FROM threat_notes WHERE device_id IN (SELECT device_id FROM devices"
               " WHERE upn IN ($1, $2) UNION SELECT device_id FROM credentials WHERE upn IN ($1, $2))";
    sql[n++] = "UPDATE audit SET device_id = NULL WHERE device_id IN (SELECT device_id FROM devices"
               " WHERE upn IN ($1, $2) UNION SELECT device_id FROM credentials WHERE upn IN ($1, $2))";
    sql[n++] = "DELETE FROM reenroll_approvals WHERE device_id IN (SELECT device_id FROM devices"
               " WHERE upn IN ($1, $2) UNION SELECT device_id FROM credentials WHERE upn IN ($1, $2))";
    sql[n++] = "DELETE FROM device_groups WHERE device_id IN (SELECT device_id FROM devices"
               " WHERE upn IN ($1, $2) UNION SELECT device_id FROM credentials WHERE upn IN ($1, $2))";
    sql[n++] = "DELETE FROM suppressions WHERE device_id IN (SELECT device_id FROM devices"
               " WHERE upn IN ($1, $2) UNION SELECT device_id FROM credentials WHERE upn IN ($1, $2))";
    sql[n++] = "DELETE FROM credentials WHERE upn IN ($1, $2) OR device_id IN (SELECT device_id FROM devices"
               " WHERE upn IN ($1, $2))";
    sql[n++] = "DELETE FROM batches WHERE device_id IN (SELECT device_id FROM devices WHERE upn IN ($1, $2))";
    sql[n++] = "DELETE FROM devices WHERE upn IN ($1, $2)";
    const char *p[] = {upn, alt};
    return delete_tx(s, sql, n, 2, p, rows, actor, "user.delete", "deleted %d event %s of one user");
}

int mtd_pg_retention(mtd_store *st, const mtd_policy *pol, int64_t now, int *deleted)
{
    mtd_pg_store *s = mtd_pg_of(st);
    const char *sql[40];
    char bufs[33][256];
    size_t n = 0;
    for (size_t i = 0; i < mtd_event_ntypes && i < 32; i++) {
        const mtd_event_type *ev = &mtd_event_types[i];
        int days = ev->category == MTD_CAT_DIAGNOSTIC ? pol->retention_diagnostic_days
                   : ev->category == MTD_CAT_FEEDBACK ? pol->retention_feedback_days
                                                      : pol->retention_required_days;
        char t[96];
        mtd_pg_table(ev->name, t, sizeof t);
        snprintf(bufs[i], sizeof bufs[i], "DELETE FROM %s WHERE received_at < %lld", t,
                 (long long)(now - (int64_t)days * 86400));
        sql[n++] = bufs[i];
    }
    int days = pol->retention_required_days;
    days = pol->retention_diagnostic_days > days ? pol->retention_diagnostic_days : days;
    days = pol->retention_feedback_days > days ? pol->retention_feedback_days : days;
    /* batch records past the longest period (mtd_store_events.c says why) */
    snprintf(bufs[32], sizeof bufs[32], "DELETE FROM batches WHERE received_at < %lld",
             (long long)(now - (int64_t)days * 86400));
    sql[n++] = bufs[32];
    /* the counts go to the audit log only when something was deleted: done here */
    mtd_pg_conn *k;
    int r = mtd_pg_acquire(s->cl, s->id, &k);
    if (r)
        return r;
    int events = 0, batches = 0;
    r = mtd_pg_query(s->cl, k, "BEGIN", 0, NULL, NULL);
    for (size_t i = 0; i < n && r == 0; i++) {
        PGresult *res;
        if ((r = mtd_pg_query(s->cl, k, sql[i], 0, NULL, &res)) == 0) {
            *(i + 1 < n ? &events : &batches) += atoi(PQcmdTuples(res));
            PQclear(res);
        }
    }
    if (r == 0 && (events || batches)) {
        char detail[200], t[24];
        snprintf(detail, sizeof detail, "retention: deleted %d %s and %d batch %s past their"
                 " retention period", events, mtd_plural(events, "record", "records"), batches,
                 mtd_plural(batches, "record", "records"));
        snprintf(t, sizeof t, "%lld", (long long)time(NULL));
        const char *pa[] = {t, "retention", "retention.delete", detail};
        r = mtd_pg_query(s->cl, k, "INSERT INTO audit(time, actor, action, detail) VALUES($1, $2, $3, $4)",
                         4, pa, NULL);
    }
    if (r == 0)
        r = mtd_pg_query(s->cl, k, "COMMIT", 0, NULL, NULL);
    mtd_pg_release(s->cl, k);
    *deleted = r == 0 ? events : 0;
    return r;
}

json_t *mtd_pg_user_export(mtd_store *st, const char *upn, const char *alt)
{
    mtd_pg_store *s = mtd_pg_of(st);
    mtd_pg_conn *k;
    if (mtd_pg_acquire(s->cl, s->id, &k) != 0)
        return NULL;
    const char *p[] = {upn, alt};
    PGresult *res = NULL;
    json_t *out = NULL;
    /* one snapshot for the whole export */
    if (mtd_pg_query(s->cl, k, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL, NULL) == 0 &&
        mtd_pg_query(s->cl, k, "SELECT device_id, first_seen, last_seen, upn, dir_user_id, dir_device_id,"
                               " org_id, consent FROM devices WHERE upn IN ($1, $2)", 2, p, &res) == 0) {
        out = json_pack("{s:s,s:o,s:o}", "upn", upn, "devices", mtd_pg_json(res), "events", json_object());
        PQclear(res);
    }
    json_t *events = json_object_get(out, "events");
    for (size_t i = 0; out && i < mtd_event_ntypes; i++) {
        char t[96], sql[256];
        mtd_pg_table(mtd_event_types[i].name, t, sizeof t);
        snprintf(sql, sizeof sql, "SELECT * FROM %s WHERE %s ORDER BY \"row\"", t, user_rows);
        if (mtd_pg_query(s->cl, k, sql, 2, p, &res) != 0) { /* whole or not given */
            json_decref(out);
            out = NULL;
            break;
        }
        if (PQntuples(res))
            json_object_set_new(events, mtd_event_types[i].name, mtd_pg_json(res));
        PQclear(res);
    }
    mtd_pg_query(s->cl, k, "COMMIT", 0, NULL, NULL);
    mtd_pg_release(s->cl, k);
    return out;
}

json_t *mtd_pg_event_rows(mtd_store *st, const char *event, const char *device_id, mtd_page *pg)
{
    const mtd_event_type *ev = mtd_schema_event(event);
    if (!ev)
        return NULL;
    char t[96], join[256], sql[384];
    mtd_pg_table(ev->name, t, sizeof t);
    mtd_pg_device_join(join, sizeof join, ev->name);
    if (device_id)
        snprintf(sql, sizeof sql, "SELECT e.* FROM %s", join);
    else
        snprintf(sql, sizeof sql, "SELECT * FROM %s", t);
    const char *p[] = {device_id};
    return mtd_pg_report_keyed(mtd_pg_of(st), sql, &mtd_row_keys, device_id ? 1 : 0, p, pg);
}

json_t *mtd_pg_event_rows_after(mtd_store *st, const char *event, int64_t after, int limit)
{
    const mtd_event_type *ev = mtd_schema_event(event);
    if (!ev)
        return NULL;
    char t[96], sql[256], a[24];
    mtd_pg_table(ev->name, t, sizeof t);
    snprintf(sql, sizeof sql, "SELECT * FROM %s WHERE \"row\" > $1::bigint ORDER BY \"row\" LIMIT %d", t, limit);
    snprintf(a, sizeof a, "%lld", (long long)after);
    const char *p[] = {a};
    return mtd_pg_report(mtd_pg_of(st), sql, 1, p, NULL);
}

/* The rows come as objects from the PostgreSQL reader anyway: their columns from
 * those, the same values by construction. */
int mtd_pg_event_cols_after(mtd_store *st, const char *event, int64_t after, int limit, const char *const *cols,
                            size_t ncols, mtd_store_cols *out)
{
    if (!mtd_store_cols_start(event, cols, ncols, out))
        return MTD_EINVAL;
    json_t *rows = mtd_pg_event_rows_after(st, event, after, limit);
    if (!rows)
        return MTD_EIO;
    int r = mtd_store_cols_from_rows(rows, cols, ncols, out);
    json_decref(rows);
    if (r)
        mtd_store_cols_free(out);
    return r;
}

/* The export's lines are the rows as the API types them, one compact object a line:
 * the same values as mtd_pg_event_rows_after by construction. */
int mtd_pg_event_lines_after(mtd_store *st, const char *event, int64_t after, int limit, mtd_buf *out,
                             int64_t *last)
{
    if (!mtd_schema_event(event))
        return MTD_EINVAL;
    json_t *rows = mtd_pg_event_rows_after(st, event, after, limit), *r;
    if (!rows)
        return MTD_EIO;
    size_t i;
    int rc = (int)json_array_size(rows);
    json_array_foreach(rows, i, r) {
        char *line = json_dumps(r, JSON_COMPACT);
        *last = json_integer_value(json_object_get(r, "row"));
        if (!line || mtd_buf_puts(out, line) || mtd_buf_puts(out, "\n"))
            rc = MTD_ENOMEM;
        free(line);
        if (rc < 0)
            break;
    }
    json_decref(rows);
    return rc;
}
