/* pg_copy: the peer of the PostgreSQL ingest benchmarks (pg_ingest, pg_scale): the
 * same rows by COPY (text format) into a table with the columns of a tenant's event
 * table, the fastest way PostgreSQL has to take them. */
#include "pg_copy.h"
#include "common/mtd_util.h"
#include "schema/mtd_schema.h"

#include <stdio.h>
#include <stdlib.h>

/* One value in COPY's text format: \N for none, backslash escapes. */
static void copy_value(mtd_buf *o, const mtd_value *v)
{
    if (v->kind == MTD_V_INT || v->kind == MTD_V_BOOL) {
        mtd_buf_printf(o, "%lld", (long long)v->i);
        return;
    }
    if (v->kind != MTD_V_STR && v->kind != MTD_V_LIST) {
        mtd_buf_puts(o, "\\N");
        return;
    }
    for (uint32_t i = 0; i < v->len; i++) {
        char c = v->s[i];
        if (c == '\\' || c == '\t' || c == '\n' || c == '\r')
            mtd_buf_printf(o, "\\%c", c == '\t' ? 't' : c == '\n' ? 'n' : c == '\r' ? 'r' : '\\');
        else
            mtd_buf_append(o, &c, 1);
    }
}

void pgc_must(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "pg_copy: %s: %s", sql, PQerrorMessage(c));
        exit(1);
    }
    PQclear(r);
}

/* The peer: the same rows by COPY, group batches per COPY (one transaction each), into
 * a table with the columns of the tenant's event table. */
double pgc_copy_peer(PGconn *c, const char *schema, mtd_batch *bs, int nb, int group)
{
    char sql[400];
    pgc_must(c, "DROP TABLE IF EXISTS public.copy_peer");
    snprintf(sql, sizeof sql, "CREATE TABLE public.copy_peer (LIKE %s.ev_app_inventory INCLUDING INDEXES)", schema);
    pgc_must(c, sql);
    const mtd_event_type *t = mtd_schema_event("app.inventory");
    int ncol = mtd_event_ncolumns(t);
    mtd_buf cmd, o;
    mtd_buf_init(&cmd, 0);
    mtd_buf_init(&o, 0);
    mtd_buf_puts(&cmd, "COPY public.copy_peer(\"row\", received_at");
    for (int k = 0; k < ncol; k++)
        mtd_buf_printf(&cmd, ", \"%s\"", mtd_event_column_field(t, k)->name);
    mtd_buf_append(&cmd, ") FROM STDIN", 13);
    int64_t row = 1, t0 = mtd_monotonic_ns();
    for (int k = 0; k < nb; k += group) {
        PGresult *r = PQexec(c, (char *)cmd.data);
        if (PQresultStatus(r) != PGRES_COPY_IN) {
            fprintf(stderr, "pg_copy: COPY: %s", PQerrorMessage(c));
            exit(1);
        }
        PQclear(r);
        for (int b = k; b < k + group && b < nb; b++) {
            mtd_buf_reset(&o);
            for (size_t e = 0; e < bs[b].n; e++) {
                mtd_buf_printf(&o, "%lld\t1764000000", (long long)row++);
                for (int col = 0; col < ncol; col++) {
                    mtd_buf_append(&o, "\t", 1);
                    copy_value(&o, &bs[b].ev[e].v[col]);
                }
                mtd_buf_append(&o, "\n", 1);
            }
            PQputCopyData(c, (char *)o.data, (int)o.len);
        }
        PQputCopyEnd(c, NULL);
        r = PQgetResult(c);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            fprintf(stderr, "pg_copy: COPY: %s", PQerrorMessage(c));
            exit(1);
        }
        PQclear(r);
        while ((r = PQgetResult(c)))
            PQclear(r);
    }
    double secs = (double)(mtd_monotonic_ns() - t0) / 1e9;
    mtd_buf_free(&cmd);
    mtd_buf_free(&o);
    size_t rows = 0;
    for (int b = 0; b < nb; b++)
        rows += bs[b].n;
    return (double)rows / secs;
}

