/* mtd_store: the store interface's dispatch. Each mtd_store_* call goes to the
 * operation of the handle's backend (mtd_store_int.h): the SQLite files of
 * mtd_store_sqlite.c, or PostgreSQL. What does not depend on a backend lives here:
 * role names, the --store URL, the audit call without a device, the unfiltered
 * devices and threats reports. */
#include "store/mtd_store_int.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"
#include "schema/mtd_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const mtd_store_ops *ops_of(mtd_store *s)
{
    return ((const mtd_store_hdr *)(const void *)s)->ops;
}

#define MTD_STORE_DISPATCH(ret, name, params, args) \
    ret mtd_store_##name params { return ops_of(s)->name args; }
MTD_STORE_OPS(MTD_STORE_DISPATCH)
#undef MTD_STORE_DISPATCH

void mtd_store_ingest_group(mtd_store *s, mtd_store_batch *head)
{
    ops_of(s)->ingest_group(s, head);
}

void mtd_store_close(mtd_store *s)
{
    if (s)
        ops_of(s)->close(s);
}

int mtd_store_token_add(mtd_store *s, const char *hash, mtd_role role, const char *label)
{
    return mtd_store_token_add_limited(s, hash, role, label, 0, 0);
}

json_t *mtd_store_devices(mtd_store *s, mtd_page *pg)
{
    return mtd_store_devices_where(s, NULL, pg);
}

json_t *mtd_store_threats(mtd_store *s, const char *status, const char *device_id, mtd_page *pg)
{
    mtd_threat_query q = {.status = status, .device_id = device_id};
    return mtd_store_threats_where(s, &q, pg);
}

/* {key: count} of a two-column (key, count) query, every key of keys present. */
static json_t *counts(json_t *rows, const char *const *keys)
{
    json_t *o = json_object(), *row;
    for (; keys && *keys; keys++)
        json_object_set_new(o, *keys, json_integer(0));
    size_t i;
    json_array_foreach(rows, i, row) {
        const char *k = json_string_value(json_object_get(row, "k"));
        if (k)
            json_object_set(o, k, json_object_get(row, "n"));
    }
    return o;
}

void mtd_store_summary_bounds(int64_t now, int stale_days, int days, char before[24], char since[MTD_TIME_LEN])
{
    snprintf(before, 24, "%lld", (long long)(now - (int64_t)stale_days * 86400));
    /* the first day shown starts at midnight UTC, days - 1 days ago */
    mtd_time_rfc3339((time_t)((now / 86400 - (days - 1)) * 86400), since);
}

json_t *mtd_store_summary_json(json_t *by_risk, json_t *stale, json_t *open, json_t *per_day, int stale_days,
                               int days)
{
    static const char *const risks[] = {"none", "low", "medium", "high", NULL};
    static const char *const severities[] = {"low", "medium", "high", "critical", NULL};
    json_t *out = NULL;
    if (by_risk && stale && open && per_day) {
        json_t *r = counts(by_risk, risks), *v;
        json_int_t total = 0;
        const char *k;
        json_object_foreach(r, k, v)
            total += json_integer_value(v);
        out = json_pack("{s:I,s:o,s:i,s:O,s:o,s:i,s:O}", "devices", total, "by_risk", r,
                        "stale_days", stale_days, "stale_devices",
                        json_object_get(json_array_get(stale, 0), "n"), "open_threats",
                        counts(open, severities), "days", days, "threats_by_day", per_day);
    }
    json_decref(by_risk);
    json_decref(stale);
    json_decref(open);
    json_decref(per_day);
    return out;
}

int mtd_store_audit(mtd_store *s, const char *actor, const char *action, const char *detail)
{
    return mtd_store_audit_device(s, actor, action, NULL, detail);
}

static const char *role_names[] = {"admin", "analyst", "privacy", "enroll"};

const char *mtd_role_name(mtd_role r) { return (unsigned)r < 4 ? role_names[r] : "?"; }

int mtd_role_parse(const char *s, mtd_role *r)
{
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, role_names[i])) {
            *r = (mtd_role)i;
            return 0;
        }
    return MTD_EINVAL;
}

int mtd_store_url_kind(const char *url, mtd_store_kind *kind, char *why, size_t whylen)
{
    if (!url || !strcmp(url, "sqlite:")) {
        *kind = MTD_STORE_SQLITE;
        return 0;
    }
    if (!strncmp(url, "postgresql://", 13) || !strncmp(url, "postgres://", 11)) {
        *kind = MTD_STORE_POSTGRESQL;
        return 0;
    }
    if (!strncmp(url, "sqlite:", 7))
        snprintf(why, whylen, "--store %.200s: the SQLite files live under --data DIR; write"
                 " --store sqlite: (or leave --store out)", url);
    else
        snprintf(why, whylen, "--store %.200s: not a store URL (sqlite: or postgresql://...)", url);
    return MTD_EINVAL;
}

/* The store's own columns that are not event fields: times kept as Unix seconds, and
 * flags kept as 0/1. */
static const struct {
    const char *name;
    mtd_col_kind kind;
} own_columns[] = {
    {"received_at", MTD_COL_TIME}, {"first_seen", MTD_COL_TIME}, {"last_seen", MTD_COL_TIME},
    {"created_at", MTD_COL_TIME}, {"revoked_at", MTD_COL_TIME}, {"consent_time", MTD_COL_TIME},
    {"info_time", MTD_COL_TIME}, {"consent", MTD_COL_BOOL},
};

mtd_col_kind mtd_store_column_kind(const char *name)
{
    for (size_t i = 0; i < sizeof own_columns / sizeof own_columns[0]; i++)
        if (!strcmp(own_columns[i].name, name))
            return own_columns[i].kind;
    for (size_t t = 0; t <= mtd_event_ntypes; t++) {
        const mtd_field *fs = t < mtd_event_ntypes ? mtd_event_types[t].fields : mtd_envelope_fields;
        size_t nf = t < mtd_event_ntypes ? mtd_event_types[t].nfields : mtd_envelope_nfields;
        for (size_t i = 0; i < nf; i++)
            if (!strcmp(fs[i].name, name))
                return fs[i].type == MTD_T_TIME      ? MTD_COL_TIME
                       : fs[i].type == MTD_T_BOOL    ? MTD_COL_BOOL
                       : fs[i].type == MTD_T_STRLIST ? MTD_COL_LIST
                                                     : MTD_COL_PLAIN;
    }
    return MTD_COL_PLAIN;
}


const char *mtd_store_slot(const mtd_event *e, const char *name, char *buf, size_t len)
{
    size_t n;
    const char *s = mtd_event_str(e, name, &n);
    if (!s)
        return NULL;
    snprintf(buf, len, "%.*s", (int)n, s);
    return buf;
}

int mtd_store_policy_parse(const char *txt, mtd_policy *p)
{
    mtd_policy_default(p);
    if (!txt)
        return 0;
    json_t *j = json_loads(txt, 0, NULL);
    char why[256];
    int r = j ? mtd_policy_from_json(p, j, why, sizeof why) : MTD_ECORRUPT;
    json_decref(j);
    return r;
}

char *mtd_store_policy_text(const mtd_policy *p)
{
    json_t *j = mtd_policy_to_json(p);
    char *txt = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    return txt;
}

int mtd_group_name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    return n >= 1 && n <= MTD_GROUP_NAME_MAX &&
           strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

json_t *mtd_store_group_rows(json_t *rows)
{
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        json_t *pol = json_loads(json_string_value(json_object_get(row, "policy")) ?: "{}", 0, NULL);
        json_object_set_new(row, "policy", json_is_object(pol) ? pol : json_object());
        if (pol && !json_is_object(pol))
            json_decref(pol);
    }
    return rows;
}

/* A group's overrides as kept: a policy's JSON keys; an override may hold the lists
 * (16 KiB each), so the buffer is the heap's. */
#define GROUP_POLICY_MAX (6 * MTD_POLICY_LIST_BYTES + 4096)

void mtd_store_policy_override(mtd_policy *p, const char *txt)
{
    char why[200];
    json_t *o = json_loads(txt, 0, NULL);
    /* the overrides were checked when set; a key this build no longer knows is left at
     * the tenant's value rather than failing every batch of the group */
    if (o && mtd_policy_from_json(p, o, why, sizeof why) != 0) {
        const char *k;
        json_t *v;
        json_object_foreach(o, k, v) {
            json_t *one = json_pack("{s:O}", k, v);
            mtd_policy_from_json(p, one, why, sizeof why);
            json_decref(one);
        }
    }
    json_decref(o);
}

int mtd_store_policy_of_group(mtd_store *s, const char *grp, mtd_policy *p)
{
    int r = mtd_store_policy_get(s, p);
    if (r || !grp || !grp[0])
        return r;
    char *txt = malloc(GROUP_POLICY_MAX);
    if (!txt)
        return MTD_ENOMEM;
    r = mtd_store_group_policy_get(s, grp, txt, GROUP_POLICY_MAX);
    if (r == 0)
        mtd_store_policy_override(p, txt);
    free(txt);
    return r == MTD_ENOENT ? 0 : r;
}

int mtd_store_policy_of_device(mtd_store *s, const char *device_id, mtd_policy *p, char *grp, size_t len)
{
    char g[MTD_GROUP_NAME_MAX + 1] = "";
    int r = device_id && device_id[0] ? mtd_store_group_get(s, device_id, g, sizeof g) : MTD_ENOENT;
    if (r && r != MTD_ENOENT) {
        mtd_store_policy_get(s, p);
        return r;
    }
    if (grp)
        mtd_strlcpy(grp, g, len);
    return mtd_store_policy_of_group(s, g[0] ? g : NULL, p);
}

/* 0 when every name is a column event_cols_after may give, else MTD_EINVAL. */
static int cols_check(const mtd_event_type *ev, const char *const *cols, size_t ncols)
{
    for (size_t c = 0; c < ncols; c++) {
        int known = !strcmp(cols[c], "received_at");
        for (size_t i = 0; !known && i < ev->nfields; i++)
            known = !strcmp(ev->fields[i].name, cols[c]);
        for (size_t i = 0; !known && i < mtd_envelope_nfields; i++)
            known = !strcmp(mtd_envelope_fields[i].name, cols[c]);
        mtd_col_kind k = mtd_store_column_kind(cols[c]);
        if (!known || k == MTD_COL_BOOL || k == MTD_COL_LIST)
            return MTD_EINVAL;
    }
    return 0;
}

const mtd_event_type *mtd_store_cols_start(const char *event, const char *const *cols, size_t ncols,
                                           mtd_store_cols *out)
{
    const mtd_event_type *ev = mtd_schema_event(event);
    memset(out, 0, sizeof *out);
    mtd_buf_init(&out->text, 0);
    out->ncols = ncols;
    return ev && ncols <= MTD_STORE_COLS_MAX && cols_check(ev, cols, ncols) == 0 ? ev : NULL;
}

/* While rows are added, val[] holds each value's offset in text plus one (0 for NULL):
 * text moves as it grows, so the pointers are made once it is whole. */
int mtd_store_cols_add(mtd_store_cols *out, int64_t row, const char *const *v, const size_t *len)
{
    size_t n = out->nrows, nc = out->ncols;
    if (!(n & (n + 1))) { /* n + 1 a power of two: room for twice as many rows */
        size_t cap = 2 * (n + 1);
        int64_t *r = realloc(out->row, cap * sizeof *r);
        if (r)
            out->row = r;
        char **vals = r ? realloc(out->val, cap * (nc ? nc : 1) * sizeof *vals) : NULL;
        if (!vals)
            return MTD_ENOMEM;
        out->val = vals;
    }
    out->row[n] = row;
    for (size_t c = 0; c < nc; c++) {
        out->val[n * nc + c] = v[c] ? (char *)(uintptr_t)(out->text.len + 1) : NULL;
        if (v[c] && (mtd_buf_append(&out->text, v[c], len[c]) || mtd_buf_append(&out->text, "", 1)))
            return MTD_ENOMEM;
    }
    out->nrows++;
    return 0;
}

void mtd_store_cols_done(mtd_store_cols *out)
{
    for (size_t i = 0; i < out->nrows * out->ncols; i++)
        if (out->val[i])
            out->val[i] = (char *)out->text.data + ((uintptr_t)out->val[i] - 1);
}

void mtd_store_cols_free(mtd_store_cols *c)
{
    free(c->row);
    free(c->val);
    mtd_buf_free(&c->text);
    memset(c, 0, sizeof *c);
}

int mtd_store_cols_from_rows(const json_t *rows, const char *const *cols, size_t ncols, mtd_store_cols *out)
{
    size_t i;
    const json_t *r;
    const char *v[MTD_STORE_COLS_MAX];
    size_t len[MTD_STORE_COLS_MAX];
    char num[MTD_STORE_COLS_MAX][32];
    if (ncols > MTD_STORE_COLS_MAX)
        return MTD_EINVAL;
    json_array_foreach(rows, i, r) {
        for (size_t c = 0; c < ncols; c++) {
            const json_t *x = json_object_get(r, cols[c]);
            v[c] = json_string_value(x);
            if (json_is_integer(x))
                snprintf(num[c], sizeof num[c], "%lld", (long long)json_integer_value(x));
            else if (json_is_real(x))
                snprintf(num[c], sizeof num[c], "%.17g", json_real_value(x));
            if (json_is_number(x))
                v[c] = num[c];
            len[c] = v[c] ? strlen(v[c]) : 0;
        }
        if (mtd_store_cols_add(out, json_integer_value(json_object_get(r, "row")), v, len) != 0)
            return MTD_ENOMEM;
    }
    mtd_store_cols_done(out);
    return 0;
}
