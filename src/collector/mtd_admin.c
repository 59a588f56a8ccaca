/* mtd_admin: /v1/admin/... for a tenant's admins, analysts and privacy officers.
 * Every call is answered from the caller's own tenant store and recorded in its
 * append-only audit log. Roles: admin does everything; analyst only reads; the privacy
 * officer reads and handles user export and delete. */
#include "collector/mtd_admin_console.h"
#include "collector/mtd_admin_groups.h"
#include "collector/mtd_signin.h"
#include "collector/mtd_auth.h"
#include "collector/mtd_collector.h"
#include "common/mtd_args.h"
#include "collector/mtd_guard.h"
#include "common/mtd_util.h"
#include "common/mtd_err.h"
#include "privacy/mtd_ldp.h"
#include "common/mtd_util.h"
#include "privacy/mtd_ident.h"
#include "privacy/mtd_pseudo.h"
#include "schema/mtd_ocsf.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    mtd_collector *c;
    mtd_req *rq;
    mtd_resp *rs;
    mtd_tenant *tn;
    mtd_role role;
    char actor[64];
    mtd_page page; /* of a list report: ?limit=N&offset=K */
} admin_call;

#define PAGE_DEFAULT 1000
#define PAGE_MAX 10000

/* "limit" and "offset" of a list report; 0, or a 400 answered. A list report answers
 * one page: a fleet's apps are millions of rows, ~4 KiB each as JSON in memory. */
static int parse_page(admin_call *a)
{
    static const struct { const char *name; int64_t min, max, def; } args[] = {
        {"limit", 1, PAGE_MAX, PAGE_DEFAULT}, {"offset", 0, INT64_MAX / 2, 0}};
    long long v[2];
    for (int i = 0; i < 2; i++) {
        const char *s = mtd_req_arg(a->rq, args[i].name);
        char why[128];
        v[i] = args[i].def;
        if (s && mtd_parse_int(s, args[i].min, args[i].max, &v[i], args[i].name, why, sizeof why) != 0) {
            mtd_resp_error(a->rs, 400, "bad_request", "%s", why);
            return -1;
        }
    }
    a->page = (mtd_page){.limit = v[0], .offset = v[1], .cursor = mtd_req_arg(a->rq, "cursor")};
    if (a->page.cursor && (!a->page.cursor[0] || strlen(a->page.cursor) >= MTD_CURSOR_MAX)) {
        mtd_resp_error(a->rs, 400, "bad_request", "cursor must be a next_cursor of this report");
        return -1;
    }
    return 0;
}


/* {key: rows} of a list report, with "next_offset" and "next_cursor" when more rows
 * follow (the cursor: null when the last row's keys are too long for one); NULL when
 * the rows could not be read. */
static json_t *page_of(admin_call *a, const char *key, json_t *rows)
{
    if (!rows)
        return NULL;
    json_t *o = json_pack("{s:o}", key, rows);
    if (a->page.more) {
        json_object_set_new(o, "next_offset", json_integer(a->page.offset + a->page.limit));
        json_object_set_new(o, "next_cursor", a->page.next_cursor[0] ? json_string(a->page.next_cursor) : json_null());
    }
    return o;
}

/* A report's answer, or a 500 when its rows could not be read (a 400 for a cursor
 * the store refused). */
static void answer(admin_call *a, json_t *body)
{
    if (!body && a->page.bad_cursor)
        mtd_resp_error(a->rs, 400, "bad_request", "cursor must be a next_cursor of this report");
    else if (body)
        mtd_resp_json(a->rs, 200, body);
    else
        mtd_resp_error(a->rs, 500, "store_error", "the report could not be read; retry");
}

/* A refused call (403), also recorded in the audit log (summarized, mtd_guard). */
static void forbid(admin_call *a, const char *why)
{
    char what[160];
    snprintf(what, sizeof what, "%s %.120s", a->rq->method, a->rq->path);
    mtd_guard_refused(a->c->guard, a->rq, what, why);
    mtd_resp_error(a->rs, 403, "forbidden", "%s", why);
}

static int require_admin(admin_call *a)
{
    return mtd_require_admin(a->c, a->rq, a->rs);
}

static void policy_put(admin_call *a)
{
    if (!require_admin(a))
        return;
    json_t *j = mtd_req_json(a->rq, a->rs);
    if (!j)
        return;
    mtd_policy p;
    char why[256];
    if (mtd_store_policy_get(a->tn->store, &p) != 0) {
        mtd_resp_error(a->rs, 500, "store_error", "could not read the policy");
    } else if (mtd_policy_from_json(&p, j, why, sizeof why) != 0) {
        mtd_resp_error(a->rs, 400, "bad_policy", "%s", why);
    } else if (mtd_store_policy_set(a->tn->store, &p) != 0) {
        mtd_resp_error(a->rs, 500, "store_error", "could not store the policy");
    } else {
        char *txt = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        mtd_store_audit(a->tn->store, a->actor, "policy.set", txt);
        free(txt);
        mtd_resp_json(a->rs, 200, mtd_policy_to_json(&p));
    }
    json_decref(j);
}

static void tokens_post(admin_call *a)
{
    if (!require_admin(a))
        return;
    json_t *j = mtd_req_json(a->rq, a->rs);
    if (!j)
        return;
    mtd_role role;
    const char *rname = json_string_value(json_object_get(j, "role"));
    const char *label = json_string_value(json_object_get(j, "label"));
    static const char *kinds[] = {"adm", "ana", "prv", "enr"};
    char tok[160], hash[65];
    json_t *exp = json_object_get(j, "expires_in"), *uses = json_object_get(j, "max_uses");
    json_int_t expires_in = json_integer_value(exp), max_uses = json_integer_value(uses);
    json_t *g = json_object_get(j, "group");
    const char *grp = json_string_value(g);
    if (!rname || mtd_role_parse(rname, &role) != 0) {
        mtd_resp_error(a->rs, 400, "bad_request", "\"role\" must be admin, analyst, privacy or enroll");
    } else if (label && (strlen(label) > 128 || !mtd_text_is_plain(label))) {
        mtd_resp_error(a->rs, 400, "bad_request", "\"label\" is at most 128 bytes, without a control character");
    } else if (exp && (!json_is_integer(exp) || expires_in < 60 || expires_in > 31536000)) {
        mtd_resp_error(a->rs, 400, "bad_request", "\"expires_in\" must be an integer of seconds from 60 to 31536000");
    } else if (uses && (!json_is_integer(uses) || max_uses < 1 || max_uses > 1000000 || role != MTD_ROLE_ENROLL)) {
        mtd_resp_error(a->rs, 400, "bad_request", "\"max_uses\" must be an integer from 1 to 1000000, for an enroll token");
    } else if (g && (!mtd_group_name_valid(grp) || role != MTD_ROLE_ENROLL)) {
        mtd_resp_error(a->rs, 400, "bad_request", "\"group\" must be a group name (1 to %d characters of"
                       " A-Z a-z 0-9 . _ -), for an enroll token", MTD_GROUP_NAME_MAX);
    } else if (mtd_token_new(kinds[role], a->tn->id, tok, sizeof tok, hash) != 0 ||
               /* the group first: a token is usable only once added, and then has it */
               (grp && mtd_store_token_group_set(a->tn->store, hash, grp) != 0) ||
               mtd_store_token_add_limited(a->tn->store, hash, role, label ? label : "",
                                           exp ? (int64_t)time(NULL) + expires_in : 0, max_uses) != 0) {
        mtd_resp_error(a->rs, 500, "store_error", "could not create the token");
    } else {
        char d[200];
        snprintf(d, sizeof d, "role=%s id=%.12s expires_in=%lld max_uses=%lld%s%s", rname, hash,
                 (long long)expires_in, (long long)max_uses, grp ? " group=" : "", grp ? grp : "");
        mtd_store_audit(a->tn->store, a->actor, "token.create", d);
        json_t *out = json_pack("{s:s,s:s,s:s%}", "token", tok, "role", rname, "id", hash, (size_t)12);
        if (grp)
            json_object_set_new(out, "group", json_string(grp));
        mtd_resp_json(a->rs, 201, out);
    }
    json_decref(j);
}

static void tokens_delete(admin_call *a, const char *id)
{
    if (!require_admin(a))
        return;
    const char *creds = mtd_req_arg(a->rq, "credentials");
    if (creds && strcmp(creds, "unused") != 0) {
        mtd_resp_error(a->rs, 400, "bad_request", "credentials must be \"unused\" (the token's never-used credentials)");
        return;
    }
    if (mtd_store_token_revoke(a->tn->store, id) != 0) {
        mtd_resp_error(a->rs, 404, "not_found", "no live token with id %.20s", id);
        return;
    }
    int n = 0;
    char d[120];
    if (creds && mtd_store_token_revoke_unused(a->tn->store, id, &n) != 0) {
        mtd_resp_error(a->rs, 500, "store_error", "token %.12s revoked, its unused credentials not", id);
        return;
    }
    snprintf(d, sizeof d, "%.12s%s", id, creds ? " and its unused credentials" : "");
    mtd_store_audit(a->tn->store, a->actor, "token.revoke", d);
    mtd_resp_json(a->rs, 200, json_pack("{s:s,s:b,s:i}", "id", id, "revoked", 1, "credentials_revoked", n));
}

/* The audit entry of a user export: how much it gave, under a request ID the answer
 * carries too (a privacy officer's ticket can name it). */
static void export_audit(admin_call *a, json_t *out)
{
    uint8_t rnd[6];
    char id[13], d[200];
    mtd_random(rnd, sizeof rnd);
    mtd_hex(rnd, sizeof rnd, id);
    size_t rows = 0, ndev = json_array_size(json_object_get(out, "devices"));
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(out, "events"), k, v)
        rows += json_array_size(v);
    snprintf(d, sizeof d, "request %s: exported %zu %s and %zu event %s of one user", id, ndev,
             mtd_plural((long long)ndev, "device", "devices"), rows, mtd_plural((long long)rows, "record", "records"));
    mtd_store_audit(a->tn->store, a->actor, "user.export", d);
    json_object_set_new(out, "request_id", json_string(id));
}

/* user export / delete: the UPN comes in the body, never in a URL, so it cannot land in
 * a request log; the collector turns it into the tenant's pseudonym at once. */
static void user_call(admin_call *a, int del)
{
    if (a->role == MTD_ROLE_ANALYST) {
        forbid(a, "user export and delete need an admin or privacy-officer token");
        return;
    }
    json_t *j = mtd_req_json(a->rq, a->rs);
    if (!j)
        return;
    const char *upn = json_string_value(json_object_get(j, "upn"));
    /* the normalized form finds what agents send since identifiers are normalized
     * (mtd_ident.h); the form as typed, when it differs, what an older agent sent */
    char ps[MTD_PSEUDO_LEN + 1], typed[MTD_PSEUDO_LEN + 1], why[160] = "\"upn\" must be a string";
    int r = upn ? mtd_ident_pseudo(&a->tn->key, "upn", upn, json_string_length(json_object_get(j, "upn")),
                                   ps, why, sizeof why)
                : MTD_EINVAL;
    const char *alt = NULL;
    if (r == 0 && mtd_pseudo(&a->tn->key, "upn", upn, strlen(upn), typed) == 0 && strcmp(typed, ps))
        alt = typed;
    if (r) {
        mtd_resp_error(a->rs, 400, "bad_request", "upn: %s", why);
    } else if (!del) {
        json_t *out = mtd_store_user_export(a->tn->store, ps, alt);
        if (out) /* the UPN is not recorded: the log outlives the user's deletion; the
                  * request ID, also in the answer, ties the entry to the request */
            export_audit(a, out);
        answer(a, out);
    } else {
        int rows = 0;
        r = mtd_store_user_delete(a->tn->store, ps, alt, a->actor, &rows);
        if (r)
            mtd_resp_error(a->rs, 500, "store_error", "user not deleted: %s", mtd_strerror(r));
        else
            mtd_resp_json(a->rs, 200, json_pack("{s:s,s:b,s:i}", "upn", ps, "deleted", 1, "records", rows));
    }
    json_decref(j);
}

/* GET export?format=ocsf|raw: every stored event as JSON lines, made while they are
 * sent: a chunk of rows of one type at a time (each a short read of its own, so a slow
 * client holds no snapshot and no lock), where the whole export used to be built in
 * memory first, as a JSON tree per row (a large tenant's export could take the
 * collector's memory). The stream holds its own reference to the tenant. */
#define EXPORT_CHUNK 1000

typedef struct {
    mtd_collector *c;
    mtd_tenant *tn;
    int ocsf;
    size_t type;   /* index in mtd_event_types */
    int64_t after; /* last row sent of that type */
    mtd_buf pend;  /* lines made, not yet all handed out */
    size_t sent;
    json_t *devices; /* OCSF: device pseudonym -> its latest device.info, as read so far */
} export_stream;

/* What the OCSF export knows of a row's device. device.info is the first type exported,
 * so every other event finds its device's OS and agent version here. */
static mtd_ocsf_device export_device(export_stream *x, const mtd_event_type *ev, const json_t *row)
{
    const char *id = json_string_value(json_object_get(row, "device_id"));
    if (!id)
        return (mtd_ocsf_device){0};
    if (!strcmp(ev->name, "device.info"))
        json_object_set_new(x->devices, id,
                            json_pack("{s:O?,s:O?,s:O?}", "os_name", json_object_get(row, "os_name"),
                                      "os_version", json_object_get(row, "os_version"),
                                      "agent_version", json_object_get(row, "agent_version")));
    json_t *d = json_object_get(x->devices, id);
    return (mtd_ocsf_device){json_string_value(json_object_get(d, "os_name")),
                             json_string_value(json_object_get(d, "os_version")),
                             json_string_value(json_object_get(d, "agent_version"))};
}

/* The next chunk as JSON lines in x->pend: 1, 0 at the end, -1 when a read failed. */
static int export_fill(export_stream *x)
{
    mtd_buf_reset(&x->pend);
    x->sent = 0;
    for (; x->type < mtd_event_ntypes; x->type++, x->after = 0) {
        const mtd_event_type *ev = &mtd_event_types[x->type];
        if (!x->ocsf) { /* the stored rows as they are: JSON lines made by SQLite */
            int n = mtd_store_event_lines_after(x->tn->store, ev->name, x->after, EXPORT_CHUNK,
                                                &x->pend, &x->after);
            if (n < 0)
                return -1;
            if (n)
                return 1;
            continue;
        }
        json_t *rows = mtd_store_event_rows_after(x->tn->store, ev->name, x->after, EXPORT_CHUNK);
        if (!rows)
            return -1;
        size_t k;
        json_t *row;
        json_array_foreach(rows, k, row) {
            x->after = json_integer_value(json_object_get(row, "row"));
            mtd_ocsf_device dev = export_device(x, ev, row);
            json_t *o = mtd_ocsf_event(ev, row, &dev);
            char *line = json_dumps(o, JSON_COMPACT);
            json_decref(o);
            if (!line || mtd_buf_puts(&x->pend, line) || mtd_buf_puts(&x->pend, "\n")) {
                free(line);
                json_decref(rows);
                return -1;
            }
            free(line);
        }
        size_t n = json_array_size(rows);
        json_decref(rows);
        if (n)
            return 1;
    }
    return 0;
}

static ssize_t export_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
    export_stream *x = ctx;
    (void)pos;
    if (x->sent == x->pend.len) {
        int r = export_fill(x);
        if (r <= 0) /* a failed read cuts the answer short, so it cannot pass as whole */
            return r == 0 ? MTD_STREAM_END : MTD_STREAM_ERROR;
    }
    size_t n = x->pend.len - x->sent < max ? x->pend.len - x->sent : max;
    memcpy(buf, x->pend.data + x->sent, n);
    x->sent += n;
    return (ssize_t)n;
}

static void export_free(void *ctx)
{
    export_stream *x = ctx;
    mtd_tenants_put(x->c->tenants, x->tn);
    mtd_buf_free(&x->pend);
    json_decref(x->devices);
    free(x);
}

static void export_events(admin_call *a)
{
    const char *fmt = mtd_req_arg(a->rq, "format");
    int ocsf = fmt && !strcmp(fmt, "ocsf");
    if (fmt && !ocsf && strcmp(fmt, "raw")) {
        mtd_resp_error(a->rs, 400, "bad_request", "format must be ocsf or raw");
        return;
    }
    export_stream *x = calloc(1, sizeof *x);
    if (!x || mtd_tenants_get(a->c->tenants, a->tn->id, &x->tn) != 0) {
        free(x);
        mtd_resp_error(a->rs, 503, "busy", "could not start the export; retry");
        return;
    }
    x->c = a->c;
    x->ocsf = ocsf;
    x->devices = json_object();
    mtd_buf_init(&x->pend, 0);
    mtd_store_audit(a->tn->store, a->actor, "export", ocsf ? "format=ocsf" : "format=raw");
    a->rs->status = 200;
    a->rs->ctype = "application/x-ndjson";
    a->rs->stream = export_read;
    a->rs->stream_free = export_free;
    a->rs->stream_ctx = x;
}

/* The cursor of several lists is theirs joined with '.', in the report's order (not
 * a character of base64url): "" for a list to read from its start, "~" for one
 * already read to its end. Piece i of cursor into out; 0, or -1 when there is none. */
static int cursor_piece(const char *cursor, int i, char *out, size_t len)
{
    for (; i > 0 && cursor; i--)
        if ((cursor = strchr(cursor, '.')))
            cursor++;
    if (!cursor)
        return -1;
    size_t n = strcspn(cursor, ".");
    if (n >= len)
        return -1;
    memcpy(out, cursor, n);
    out[n] = 0;
    return 0;
}

/* Rows of several event types under their names, e.g. {"net.dns": [...], ...}. */
static json_t *event_lists(admin_call *a, const char *const *types)
{
    json_t *o = json_object(), *more = json_array();
    const char *dev = mtd_req_arg(a->rq, "device"), *cursor = a->page.cursor;
    mtd_buf next;
    mtd_buf_init(&next, 0);
    for (int i = 0; types[i]; i++) {
        char piece[MTD_CURSOR_MAX];
        json_t *rows = NULL;
        if (cursor && cursor_piece(cursor, i, piece, sizeof piece) != 0) {
            a->page.bad_cursor = 1;
        } else if (cursor && !strcmp(piece, "~")) { /* this list ended on an earlier page */
            rows = json_array();
            a->page.more = 0;
        } else {
            a->page.cursor = cursor && piece[0] ? piece : NULL;
            rows = mtd_store_event_rows(a->tn->store, types[i], dev, &a->page);
        }
        a->page.cursor = cursor;
        if (!rows) {
            json_decref(o);
            json_decref(more);
            mtd_buf_free(&next);
            return NULL;
        }
        json_object_set_new(o, types[i], rows);
        if (a->page.more)
            json_array_append_new(more, json_string(types[i]));
        mtd_buf_printf(&next, "%s%s", i ? "." : "", a->page.more ? a->page.next_cursor : "~");
    }
    if (json_array_size(more)) { /* the next page of each list starts there; "more" says
                                  * which lists have rows past this page */
        json_object_set_new(o, "next_offset", json_integer(a->page.offset + a->page.limit));
        json_object_set_new(o, "next_cursor", json_string((const char *)next.data));
        json_object_set_new(o, "more", more);
    } else {
        json_decref(more);
    }
    mtd_buf_free(&next);
    return o;
}

/* A report, recorded with what it was asked for: the device it was about (its own
 * column, so a user's deletion can erase it), the other filters and the page. */
static void report(admin_call *a, const char *name, json_t *body)
{
    static const char *const keys[] = {"package", "permission", "sideloaded", "status", "events", "group"};
    char d[512];
    int n = snprintf(d, sizeof d, "limit=%lld offset=%lld%s", (long long)a->page.limit, (long long)a->page.offset,
                     a->page.cursor ? " cursor" : "");
    for (size_t i = 0; i < sizeof keys / sizeof keys[0] && n < (int)sizeof d; i++) {
        const char *v = mtd_req_arg(a->rq, keys[i]);
        if (v)
            n += snprintf(d + n, sizeof d - (size_t)n, " %s=%.200s", keys[i], v);
    }
    const char *dev = mtd_req_arg(a->rq, "device");
    mtd_store_audit_device(a->tn->store, a->actor, name, dev && mtd_pseudo_is_valid(dev) ? dev : NULL, d);
    answer(a, body);
}

static void device_risk(admin_call *a, const char *dev)
{
    json_t *out;
    int r = mtd_store_device_risk(a->tn->store, dev, &out);
    if (r == MTD_ENOENT)
        mtd_resp_error(a->rs, 404, "not_found", "no device %.40s in this tenant", dev);
    else if (r)
        mtd_resp_error(a->rs, 500, "store_error", "%s", mtd_strerror(r));
    else
    {
        mtd_store_audit_device(a->tn->store, a->actor, "report.risk", dev, NULL);
        answer(a, out);
    }
}

/* DELETE devices/<id>: revoke the device's credentials (lost or retired device). */
static void device_retire(admin_call *a, const char *dev)
{
    if (!require_admin(a))
        return;
    int n = 0;
    int r = mtd_store_device_retire(a->tn->store, dev, &n);
    if (r == MTD_ENOENT) {
        mtd_resp_error(a->rs, 404, "not_found", "no device %.40s with a live credential", dev);
        return;
    }
    if (r) {
        mtd_resp_error(a->rs, 500, "store_error", "%s", mtd_strerror(r));
        return;
    }
    char d[96];
    snprintf(d, sizeof d, "revoked %d %s", n, mtd_plural(n, "credential", "credentials"));
    mtd_store_audit_device(a->tn->store, a->actor, "device.retire", dev, d);
    mtd_resp_json(a->rs, 200, json_pack("{s:s,s:i}", "device_id", dev, "credentials_revoked", n));
}

/* Counts per action: exact ones from usage.action, and fleet estimates from the
 * usage.ldp reports of devices under usage_privacy=ldp (mtd_ldp.h), per day, each
 * with its 95% interval. */
static json_t *usage_actions(admin_call *a)
{
    const mtd_field *f = mtd_schema_field(mtd_schema_event("usage.action"), "action");
    int k = 0;
    while (f->enum_values[k])
        k++;
    json_t *exact = mtd_store_action_counts(a->tn->store), *rows = mtd_store_ldp_counts(a->tn->store, k);
    if (!exact || !rows) {
        json_decref(exact);
        json_decref(rows);
        return NULL;
    }
    json_t *ldp = json_array(), *row;
    size_t i;
    json_array_foreach(rows, i, row) {
        long n = (long)json_integer_value(json_object_get(row, "reports"));
        double eps = (double)json_integer_value(json_object_get(row, "epsilon_milli")) / 1000;
        for (int b = 0; b < k; b++) {
            char key[8];
            snprintf(key, sizeof key, "b%d", b);
            long ones = (long)json_integer_value(json_object_get(row, key));
            mtd_ldp_est e;
            mtd_ldp_estimate(n, ones, eps, k, &e);
            json_array_append_new(ldp, json_pack("{s:O,s:s,s:f,s:I,s:I,s:f,s:f,s:f}", "period",
                json_object_get(row, "period"), "action", f->enum_values[b], "epsilon", eps,
                "reports", (json_int_t)n, "reported_yes", (json_int_t)ones, "estimate", round(e.estimate * 10) / 10,
                "ci_low", round(e.low * 10) / 10, "ci_high", round(e.high * 10) / 10));
        }
    }
    json_decref(rows);
    return json_pack("{s:o,s:o}", "actions", exact, "ldp", ldp);
}

static int in_list(const char *s, const char *const *list)
{
    for (; list && *list; list++)
        if (!strcmp(s, *list))
            return 1;
    return 0;
}

/* The reports that take ?device= (risk names its device in the path). */
static int is_report(const char *sub)
{
    static const char *const names[] = {"apps", "apps/history", "threats", "connections", "usage",
                                        "crashes", "diagnostics", "feedback", NULL};
    return in_list(sub, names);
}

/* r: what mtd_store_*_known said of a device or package a report was asked for. 1 when
 * known; else answers 404 (or 500) and returns 0. */
static int known(admin_call *a, const char *what, const char *name, int r)
{
    if (r == MTD_ENOENT)
        mtd_resp_error(a->rs, 404, "not_found", "no %s %.256s in this tenant", what, name);
    else if (r)
        mtd_resp_error(a->rs, 500, "store_error", "could not look the %s up: %s", what, mtd_strerror(r));
    return r == 0;
}

/* GET threats[?status=][&category=][&severity=][&source=][&device=]: the values the schema
 * declares for threat.detection, anything else a 400 naming them. */
static void threats(admin_call *a, const char *dev)
{
    static const char *const statuses[] = {"active", "resolved", NULL};
    const mtd_event_type *ev = mtd_schema_event("threat.detection");
    mtd_threat_query q = {mtd_req_arg(a->rq, "status"), dev, mtd_req_arg(a->rq, "category"),
                          mtd_req_arg(a->rq, "severity"), mtd_req_arg(a->rq, "source"), mtd_req_arg(a->rq, "group"), 0};
    const struct { const char *name, *val; const char *const *allowed; } args[] = {
        {"status", q.status, statuses},
        {"category", q.category, mtd_schema_field(ev, "category")->enum_values},
        {"severity", q.severity, mtd_schema_field(ev, "severity")->enum_values},
        {"source", q.source, mtd_schema_field(ev, "source")->enum_values}};
    for (size_t i = 0; i < 4; i++)
        if (args[i].val && !in_list(args[i].val, args[i].allowed)) {
            char list[512] = "";
            for (const char *const *v = args[i].allowed; *v; v++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", list[0] ? ", " : "", *v);
            mtd_resp_error(a->rs, 400, "bad_request", "%s must be one of: %s", args[i].name, list);
            return;
        }
    report(a, "report.threats", page_of(a, "threats", mtd_store_threats_where(a->tn->store, &q, &a->page)));
}

/* The read-only reports. Returns 0 when sub is not one of them. */
static int reports(admin_call *a, const char *sub)
{
    static const char *const connections[] = {"web.detection", "net.connection", "net.dns", NULL};
    static const char *const usage[] = {"usage.agent", "usage.action", "usage.memory", NULL};
    static const char *const diagnostics[] = {"diag.bundle", NULL};
    static const char *const feedback[] = {"feedback.submission", NULL};
    static const char *const lifecycle[] = {"app.lifecycle", NULL};
    const char *dev = mtd_req_arg(a->rq, "device"), *grp;
    if (dev && is_report(sub) && !known(a, "device", dev, mtd_store_device_known(a->tn->store, dev)))
        return 1;
    if (is_report(sub) && mtd_admin_group_arg(a->rq, a->rs, &grp) != 0)
        return 1;
    if (!strcmp(sub, "apps")) {
        const char *side = mtd_req_arg(a->rq, "sideloaded");
        mtd_app_query q = {dev, mtd_req_arg(a->rq, "package"), mtd_req_arg(a->rq, "permission"),
                           side && !strcmp(side, "1"), mtd_req_arg(a->rq, "group")};
        json_t *rows = mtd_store_apps(a->tn->store, &q, &a->page);
        if (rows && !json_array_size(rows) && q.package &&
            !known(a, "package", q.package, mtd_store_package_known(a->tn->store, q.package))) {
            json_decref(rows);
            return 1;
        }
        report(a, "report.apps", page_of(a, "apps", rows));
    } else if (!strcmp(sub, "apps/history")) {
        report(a, "report.apps.history", event_lists(a, lifecycle));
    } else if (!strcmp(sub, "threats")) {
        threats(a, dev);
    } else if (!strncmp(sub, "devices/", 8) && strlen(sub) > 13 && !strcmp(sub + strlen(sub) - 5, "/risk")) {
        char id[64];
        snprintf(id, sizeof id, "%.*s", (int)(strlen(sub) - 13), sub + 8);
        device_risk(a, id);
    } else if (!strcmp(sub, "connections")) {
        report(a, "report.connections", event_lists(a, connections));
    } else if (!strcmp(sub, "usage/actions")) {
        report(a, "report.usage.actions", usage_actions(a));
    } else if (!strcmp(sub, "usage")) {
        report(a, "report.usage", event_lists(a, usage));
    } else if (!strcmp(sub, "crashes")) {
        report(a, "report.crashes", page_of(a, "crashes", mtd_store_crash_groups(a->tn->store, dev, &a->page)));
    } else if (!strcmp(sub, "diagnostics")) {
        report(a, "report.diagnostics", event_lists(a, diagnostics));
    } else if (!strcmp(sub, "feedback")) {
        report(a, "report.feedback", event_lists(a, feedback));
    } else {
        return 0;
    }
    return 1;
}

/* GET devices[?risk=LEVEL][&not_seen_days=N] */
static void devices(admin_call *a)
{
    static const char *const levels[] = {"none", "low", "medium", "high", NULL};
    mtd_device_query q = {.risk = mtd_req_arg(a->rq, "risk")};
    if (mtd_admin_group_arg(a->rq, a->rs, &q.group) != 0)
        return;
    const char *ns = mtd_req_arg(a->rq, "not_seen_days");
    long long days = 0;
    char why[128];
    if (q.risk && !in_list(q.risk, levels)) {
        mtd_resp_error(a->rs, 400, "bad_request", "risk must be none, low, medium or high");
        return;
    }
    if (ns && mtd_parse_int(ns, 1, 3650, &days, "not_seen_days", why, sizeof why) != 0) {
        mtd_resp_error(a->rs, 400, "bad_request", "%s", why);
        return;
    }
    if (ns)
        q.seen_before = (int64_t)time(NULL) - days * 86400;
    report(a, "report.devices", page_of(a, "devices", mtd_store_devices_where(a->tn->store, &q, &a->page)));
}

static void dispatch(admin_call *a, const char *sub)
{
    const char *m = a->rq->method;
    if (!strcmp(m, "GET") && parse_page(a) != 0)
        return;
    if (!strcmp(m, "GET") && reports(a, sub))
        return;
    mtd_admin_ctx x = {a->rq, a->rs, a->tn, a->role, a->actor, &a->page, mtd_tenants_data_dir(a->c->tenants)};
    if (mtd_admin_console_route(&x, sub) || mtd_admin_groups_route(a->c, &x, sub) ||
        mtd_signin_admin_route(a->c, &x, sub))
        return;
    if (!strcmp(sub, "devices") && !strcmp(m, "GET")) {
        devices(a);
    } else if (!strcmp(sub, "policy") && !strcmp(m, "GET")) {
        mtd_policy p;
        if (mtd_store_policy_get(a->tn->store, &p) == 0)
            mtd_resp_json(a->rs, 200, mtd_policy_to_json(&p));
        else
            mtd_resp_error(a->rs, 500, "store_error", "could not read the policy");
    } else if (!strcmp(sub, "policy") && (!strcmp(m, "PUT") || !strcmp(m, "POST"))) {
        policy_put(a);
    } else if (!strcmp(sub, "audit") && !strcmp(m, "GET")) {
        answer(a, page_of(a, "audit", mtd_store_audit_list(a->tn->store, &a->page)));
    } else if (!strncmp(sub, "devices/", 8) && !strcmp(m, "DELETE")) {
        device_retire(a, sub + 8);
    } else if (!strcmp(sub, "export") && !strcmp(m, "GET")) {
        export_events(a);
    } else if (!strcmp(sub, "users/export") && !strcmp(m, "POST")) {
        user_call(a, 0);
    } else if (!strcmp(sub, "users/delete") && !strcmp(m, "POST")) {
        user_call(a, 1);
    } else if (!strcmp(sub, "tokens") && !strcmp(m, "GET")) {
        if (require_admin(a))
            mtd_resp_json(a->rs, 200, json_pack("{s:o}", "tokens", mtd_store_token_list(a->tn->store)));
    } else if (!strcmp(sub, "tokens") && !strcmp(m, "POST")) {
        tokens_post(a);
    } else if (!strncmp(sub, "tokens/", 7) && !strcmp(m, "DELETE")) {
        tokens_delete(a, sub + 7);
    } else {
        mtd_resp_error(a->rs, 404, "not_found", "no admin route %s %.100s", m, sub);
    }
}

void mtd_handle_admin(mtd_collector *c, mtd_req *rq, mtd_resp *rs)
{
    admin_call a = {.c = c, .rq = rq, .rs = rs, .tn = rq->tn, .role = rq->role};
    mtd_strlcpy(a.actor, rq->actor, sizeof a.actor);
    dispatch(&a, rq->path + strlen("/v1/admin/"));
}
