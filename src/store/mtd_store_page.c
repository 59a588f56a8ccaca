/* mtd_store_page: keyset paging of the list reports, for both backends.
 *
 * A page with LIMIT/OFFSET makes the database produce and skip every row before the
 * page: a deep page of a fleet's apps costs the whole report. A keyset page starts
 * after the last row of the previous one (WHERE (keys) > (its keys)), which an index
 * on the keys, or a summary table ordered by them, reaches directly. The cursor that
 * carries the keys is base64url of the JSON array [report tag, key...]: opaque to
 * clients, read back only as bound parameters (never as SQL), and refused (400)
 * unless it has the report's tag and the right number and types of keys. */
#include "store/mtd_store_int.h"
#include "common/mtd_buf.h"
#include "common/mtd_err.h"

#include <stdio.h>
#include <string.h>

/* An event's time is text (RFC 3339 UTC, which sorts as it reads), a device's
 * last_seen an integer. Apps by package and device; threats by severity, most recent first; crash groups
 * most frequent first; devices most recently seen first; audit entries and notes by
 * id; event rows in row order. Each ends in a key unique per row. */
const mtd_keyset mtd_apps_keys = {"apps", 2, {{"package", 0, 0}, {"device_id", 0, 0}}};
const mtd_keyset mtd_threat_keys = {
    "threats", 4,
    {{"CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END",
      0, 1},
     {"coalesce(last_seen, '')", 1, 0}, {"device_id", 0, 0}, {"_row", 0, 1}}};
const mtd_keyset mtd_crash_keys = {
    "crashes", 3, {{"count", 1, 1}, {"coalesce(last_seen, '')", 1, 0}, {"coalesce(signature, '')", 0, 0}}};
const mtd_keyset mtd_device_keys = {"devices", 2, {{"coalesce(last_seen, 0)", 1, 1}, {"device_id", 0, 0}}};
const mtd_keyset mtd_id_keys = {"id", 1, {{"id", 0, 1}}};
const mtd_keyset mtd_row_keys = {"row", 1, {{"\"row\"", 0, 1}}};

/* The cursor's keys as text parameters, checked against the report's keys. */
static int cursor_read(const char *cursor, const mtd_keyset *ks, mtd_cursor_vals *cv)
{
    uint8_t raw[MTD_CURSOR_MAX];
    size_t n = strlen(cursor);
    int len = n > MTD_CURSOR_MAX ? -1 : mtd_b64url_decode(cursor, n, raw, sizeof raw);
    if (len <= 0)
        return MTD_EINVAL;
    json_t *a = json_loadb((const char *)raw, (size_t)len, JSON_REJECT_DUPLICATES, NULL);
    int ok = json_is_array(a) && json_array_size(a) == (size_t)ks->n + 1 &&
             json_is_string(json_array_get(a, 0)) && !strcmp(json_string_value(json_array_get(a, 0)), ks->tag);
    for (int i = 0; ok && i < ks->n; i++) {
        json_t *v = json_array_get(a, (size_t)i + 1);
        if (ks->k[i].integer && json_is_integer(v))
            snprintf(cv->txt[i], sizeof cv->txt[i], "%lld", (long long)json_integer_value(v));
        else if (!ks->k[i].integer && json_is_string(v) && json_string_length(v) < sizeof cv->txt[i])
            memcpy(cv->txt[i], json_string_value(v), json_string_length(v) + 1);
        else
            ok = 0;
    }
    json_decref(a);
    return ok ? 0 : MTD_EINVAL;
}

/* Parameter i (1-based) as the dialect writes it, typed as its key. */
static void param(mtd_buf *b, int pgsql, int i, int integer)
{
    if (pgsql)
        mtd_buf_printf(b, "$%d::%s", i, integer ? "bigint" : "text");
    else if (integer)
        mtd_buf_printf(b, "CAST(?%d AS INTEGER)", i);
    else
        mtd_buf_printf(b, "?%d", i);
}

/* "after the cursor's row" in the page's order: one row-value comparison when every
 * key goes the same way (an index range), else (k0 > v0) OR (k0 = v0 AND k1 < v1) ... */
static void after(mtd_buf *b, const mtd_keyset *ks, int pgsql, int first)
{
    int same = 1;
    for (int i = 1; i < ks->n; i++)
        same &= ks->k[i].desc == ks->k[0].desc;
    if (same) {
        mtd_buf_puts(b, "(");
        for (int i = 0; i < ks->n; i++)
            mtd_buf_printf(b, "%s_k%d", i ? "," : "", i);
        mtd_buf_printf(b, ") %s (", ks->k[0].desc ? "<" : ">");
        for (int i = 0; i < ks->n; i++) {
            mtd_buf_puts(b, i ? "," : "");
            param(b, pgsql, first + i, ks->k[i].integer);
        }
        mtd_buf_puts(b, ")");
        return;
    }
    for (int i = 0; i < ks->n; i++) {
        mtd_buf_puts(b, i ? " OR (" : "(");
        for (int j = 0; j < i; j++) {
            mtd_buf_printf(b, "_k%d = ", j);
            param(b, pgsql, first + j, ks->k[j].integer);
            mtd_buf_puts(b, " AND ");
        }
        mtd_buf_printf(b, "_k%d %s ", i, ks->k[i].desc ? "<" : ">");
        param(b, pgsql, first + i, ks->k[i].integer);
        mtd_buf_puts(b, ")");
    }
}

int mtd_keyset_sql(mtd_buf *b, const char *sql, const mtd_keyset *ks, mtd_page *pg, int pgsql, int *n,
                   const char **p, mtd_cursor_vals *cv)
{
    if (!pg) {
        mtd_buf_printf(b, "SELECT * FROM (%s) _q ORDER BY ", sql);
        for (int i = 0; i < ks->n; i++)
            mtd_buf_printf(b, "%s%s%s", i ? ", " : "", ks->k[i].expr, ks->k[i].desc ? " DESC" : "");
        return 0;
    }
    pg->bad_cursor = 0;
    pg->next_cursor[0] = 0;
    if (pg->cursor && cursor_read(pg->cursor, ks, cv) != 0) {
        pg->bad_cursor = 1;
        return MTD_EINVAL;
    }
    mtd_buf_puts(b, "SELECT * FROM (SELECT *");
    for (int i = 0; i < ks->n; i++)
        mtd_buf_printf(b, ", %s AS _k%d", ks->k[i].expr, i);
    mtd_buf_printf(b, " FROM (%s) _q) _p", sql);
    if (pg->cursor) {
        mtd_buf_puts(b, " WHERE ");
        after(b, ks, pgsql, *n + 1);
        for (int i = 0; i < ks->n; i++)
            p[(*n)++] = cv->txt[i];
    }
    mtd_buf_puts(b, " ORDER BY ");
    for (int i = 0; i < ks->n; i++)
        mtd_buf_printf(b, "%s_k%d%s", i ? ", " : "", i, ks->k[i].desc ? " DESC" : "");
    /* one row more than the page: whether it comes says whether more follow */
    mtd_buf_printf(b, " LIMIT %lld OFFSET %lld", (long long)pg->limit + 1, (long long)pg->offset);
    return 0;
}

/* The cursor after row o: "" when its keys do not fit (the client pages by offset). */
static void cursor_write(json_t *o, const mtd_keyset *ks, mtd_page *pg)
{
    json_t *a = json_pack("[s]", ks->tag);
    for (int i = 0; i < ks->n; i++) {
        char k[8];
        snprintf(k, sizeof k, "_k%d", i);
        json_array_append(a, json_object_get(o, k));
    }
    char *txt = json_dumps(a, JSON_COMPACT);
    size_t len = txt ? strlen(txt) : 0;
    if (txt && (len + 2) / 3 * 4 < sizeof pg->next_cursor - 1 && len < 700)
        mtd_b64url((const uint8_t *)txt, len, pg->next_cursor);
    free(txt);
    json_decref(a);
}

void mtd_keyset_done(json_t *rows, const mtd_keyset *ks, mtd_page *pg)
{
    if (!rows)
        return;
    if (pg) {
        pg->more = (int64_t)json_array_size(rows) > pg->limit;
        if (pg->more) {
            json_array_remove(rows, json_array_size(rows) - 1);
            cursor_write(json_array_get(rows, json_array_size(rows) - 1), ks, pg);
        }
    }
    size_t i;
    json_t *o, *v;
    /* the keys, and columns a report selects only to sort by (a whole report, with no
     * page, too: a device's risk answered its threats' _row) */
    json_array_foreach(rows, i, o) {
        const char *name;
        void *tmp;
        json_object_foreach_safe(o, tmp, name, v)
            if (name[0] == '_')
                json_object_del(o, name);
    }
}

json_t *mtd_keyset_report(const char *sql, const mtd_keyset *ks, int n, const char *const *p, mtd_page *pg,
                          int pgsql, mtd_report_run run, void *ctx)
{
    /* the caller's parameters, then one per sort key for the cursor */
    const char *all[MTD_KEYSET_MAXP + 6];
    if (n < 0 || n > MTD_KEYSET_MAXP)
        return NULL;
    for (int i = 0; i < n; i++)
        all[i] = p[i];
    mtd_cursor_vals cv;
    mtd_buf b;
    mtd_buf_init(&b, 0);
    json_t *rows = NULL;
    if (mtd_keyset_sql(&b, sql, ks, pg, pgsql, &n, all, &cv) == 0 && b.data)
        rows = run(ctx, (const char *)b.data, n, all);
    mtd_buf_free(&b);
    mtd_keyset_done(rows, ks, pg);
    return rows;
}
