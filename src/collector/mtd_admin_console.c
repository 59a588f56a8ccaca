/* mtd_admin_console: session, summary, devices/ID, privacy/statement and threat notes
 * (mtd_admin_console.h). */
#include "collector/mtd_admin_console.h"
#include "common/mtd_args.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"
#include "posture/mtd_posture.h"
#include "privacy/mtd_statement.h"
#include "alerts/mtd_alerts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ?name=N within [min, max], def when absent; 0, or -1 with a 400 answered. */
static int int_arg(const mtd_admin_ctx *x, const char *name, long long min, long long max, long long def,
                   long long *v)
{
    const char *s = mtd_req_arg(x->rq, name);
    char why[128];
    *v = def;
    if (s && mtd_parse_int(s, min, max, v, name, why, sizeof why) != 0) {
        mtd_resp_error(x->rs, 400, "bad_request", "%s", why);
        return -1;
    }
    return 0;
}

/* Records the read (against its device when it has one, with what was asked) and
 * answers it, or a 500 when it could not be read. */
static void audited(const mtd_admin_ctx *x, const char *action, const char *device, const char *detail,
                    json_t *body)
{
    mtd_store_audit_device(x->tn->store, x->actor, action, device, detail);
    if (body)
        mtd_resp_json(x->rs, 200, body);
    else
        mtd_resp_error(x->rs, 500, "store_error", "the report could not be read; retry");
}

/* The console asks who its token is before it shows anything: the role decides which
 * controls it offers (the API checks the role again on every call). */
static void session(const mtd_admin_ctx *x)
{
    mtd_resp_json(x->rs, 200, json_pack("{s:s,s:s,s:s}", "tenant_id", x->tn->id, "org_id", x->tn->org_id,
                                        "role", mtd_role_name(x->role)));
}

static void summary(const mtd_admin_ctx *x)
{
    long long stale, days;
    if (int_arg(x, "stale_days", 1, 3650, 7, &stale) || int_arg(x, "days", 1, 366, 30, &days))
        return;
    char d[64];
    snprintf(d, sizeof d, "stale_days=%lld days=%lld", stale, days);
    audited(x, "report.summary", NULL, d, mtd_store_summary(x->tn->store, (int64_t)time(NULL), (int)stale, (int)days));
}

typedef struct {
    const char *time, *event, *credential, *reason;
    size_t seq; /* ties: in the order they were made */
} life_entry;

/* The store answers times as RFC 3339 UTC strings of one width: their order is the
 * order of time. */
static int by_time(const void *a, const void *b)
{
    const life_entry *x = a, *y = b;
    int c = strcmp(x->time, y->time);
    return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

/* A device's lifecycle from its credentials, oldest first: the first is its
 * enrollment, each later one a re-enrollment, each revocation its own entry with its
 * reason (replaced, revoked, retired: a retirement revokes them all). Sets how many
 * were issued and are live. */
static json_t *lifecycle(const json_t *creds, int *issued, int *live)
{
    size_t n = json_array_size(creds), k = 0, i;
    life_entry *v = calloc(2 * n + 1, sizeof *v);
    json_t *c, *out = json_array();
    *issued = (int)n;
    *live = 0;
    if (!v)
        return out;
    json_array_foreach(creds, i, c) {
        const char *made = json_string_value(json_object_get(c, "created_at"));
        const char *revoked = json_string_value(json_object_get(c, "revoked_at"));
        const char *id = json_string_value(json_object_get(c, "id"));
        if (made) {
            v[k] = (life_entry){made, i ? "re-enrolled" : "enrolled", id, NULL, k};
            k++;
        }
        if (revoked) {
            v[k] = (life_entry){revoked, "credential revoked", id,
                                json_string_value(json_object_get(c, "revoked_reason")), k};
            k++;
        } else {
            (*live)++;
        }
    }
    qsort(v, k, sizeof *v, by_time);
    for (i = 0; i < k; i++)
        json_array_append_new(out, json_pack("{s:s,s:s,s:s?,s:s?}", "time", v[i].time, "event", v[i].event,
                                             "credential", v[i].credential, "reason", v[i].reason));
    free(v);
    return out;
}

/* One device's row of the devices report, its lifecycle, and whether it was retired
 * (every credential it was given is revoked). */
static void device(const mtd_admin_ctx *x, const char *id)
{
    mtd_device_query q = {.device_id = id};
    json_t *rows = mtd_store_devices_where(x->tn->store, &q, NULL);
    json_t *creds = rows ? mtd_store_cred_list(x->tn->store, id, NULL) : NULL;
    if (!creds) {
        json_decref(rows);
        mtd_resp_error(x->rs, 500, "store_error", "the device could not be read; retry");
        return;
    }
    json_t *d = json_incref(json_array_get(rows, 0));
    json_decref(rows);
    if (!d) {
        json_decref(creds);
        mtd_resp_error(x->rs, 404, "not_found", "no device %.64s in this tenant", id);
        return;
    }
    int issued, live;
    json_object_set_new(d, "lifecycle", lifecycle(creds, &issued, &live));
    json_decref(creds);
    json_object_set_new(d, "credentials_issued", json_integer(issued));
    json_object_set_new(d, "credentials_live", json_integer(live));
    json_object_set_new(d, "retired", json_boolean(issued > 0 && live == 0));
    audited(x, "report.device", id, NULL, d);
}

/* The tenant's privacy statement for its policy as it is now: the same generator as
 * `mtd-agent privacy statement --state` on one of its devices (privacy/mtd_statement.c),
 * with the same account of the device checks (posture/, linked for it alone), and in
 * Markdown the systems its alerts go to (mtd_alerts_statement_md; nothing when none,
 * so a tenant without destinations gets exactly what its agents print). */
static void statement(const mtd_admin_ctx *x)
{
    static const char *const ctypes[] = {
        [MTD_STMT_MD] = "text/markdown; charset=utf-8", [MTD_STMT_XCPRIVACY] = "application/xml",
        [MTD_STMT_DATASAFETY] = "text/csv; charset=utf-8", [MTD_STMT_SCHEMA] = "application/json"};
    const char *fs = mtd_req_arg(x->rq, "format");
    mtd_stmt_format f = MTD_STMT_MD;
    mtd_policy p;
    if (fs && mtd_statement_format_parse(fs, &f) != 0) {
        mtd_resp_error(x->rs, 400, "bad_request", "format must be md, xcprivacy, datasafety or schema");
        return;
    }
    if (mtd_store_policy_get(x->tn->store, &p) != 0) {
        mtd_resp_error(x->rs, 500, "store_error", "could not read the policy");
        return;
    }
    mtd_buf b, checks;
    mtd_buf_init(&b, 0);
    mtd_buf_init(&checks, 0);
    mtd_posture_statement_md(&checks);
    int r = f == MTD_STMT_MD ? mtd_alerts_statement_md(x->data_dir, x->tn->id, &p, &checks) : 0;
    mtd_buf_append(&checks, "", 1); /* a C string */
    if (r == 0)
        r = mtd_statement_with_checks(f, &p, (const char *)checks.data, &b);
    mtd_buf_free(&checks);
    if (r != 0) {
        mtd_buf_free(&b);
        mtd_resp_error(x->rs, 500, "internal", "the statement could not be made");
        return;
    }
    mtd_store_audit(x->tn->store, x->actor, "report.statement", fs ? fs : "md");
    x->rs->status = 200;
    x->rs->ctype = ctypes[f];
    x->rs->text = mtd_buf_steal(&b, NULL);
}

#define NOTE_MAX 1000

/* GET threats/notes?device=D[&threat=T]: a device's notes, one page. */
static void notes_get(const mtd_admin_ctx *x)
{
    const char *dev = mtd_req_arg(x->rq, "device"), *thr = mtd_req_arg(x->rq, "threat");
    if (!dev) {
        mtd_resp_error(x->rs, 400, "bad_request", "device is required: the notes of one device are listed");
        return;
    }
    int r = mtd_store_device_known(x->tn->store, dev);
    if (r) {
        mtd_resp_error(x->rs, r == MTD_ENOENT ? 404 : 500, r == MTD_ENOENT ? "not_found" : "store_error",
                       "no device %.64s in this tenant", dev);
        return;
    }
    json_t *rows = mtd_store_threat_notes(x->tn->store, dev, thr, x->page);
    if (!rows && x->page->bad_cursor) {
        mtd_resp_error(x->rs, 400, "bad_request", "cursor must be a next_cursor of this report");
        return;
    }
    json_t *o = rows ? json_pack("{s:o}", "notes", rows) : NULL;
    if (o && x->page->more) {
        json_object_set_new(o, "next_offset", json_integer(x->page->offset + x->page->limit));
        json_object_set_new(o, "next_cursor", x->page->next_cursor[0] ? json_string(x->page->next_cursor) : json_null());
    }
    audited(x, "report.threat_notes", dev, thr ? "one threat" : NULL, o);
}

/* POST threats/notes {"device_id", "threat_id", "note"}: an admin's note on how a threat
 * was handled. Plain text of 1 to 1,000 bytes; the device must be the tenant's. */
static void notes_post(const mtd_admin_ctx *x)
{
    if (x->role != MTD_ROLE_ADMIN) {
        mtd_resp_error(x->rs, 403, "forbidden", "the %s role may not do this; an admin token is needed",
                       mtd_role_name(x->role));
        return;
    }
    json_t *j = mtd_req_json(x->rq, x->rs);
    if (!j)
        return;
    const char *dev = json_string_value(json_object_get(j, "device_id"));
    const char *thr = json_string_value(json_object_get(j, "threat_id"));
    const char *note = json_string_value(json_object_get(j, "note"));
    int64_t id = 0;
    int known = dev ? mtd_store_device_known(x->tn->store, dev) : MTD_EINVAL;
    if (!thr || !thr[0] || strlen(thr) > 256 || !mtd_text_is_plain(thr)) {
        mtd_resp_error(x->rs, 400, "bad_request", "\"threat_id\" must be a string of 1 to 256 bytes without a control character");
    } else if (!note || !note[0] || strlen(note) > NOTE_MAX || !mtd_text_is_plain(note)) {
        mtd_resp_error(x->rs, 400, "bad_request", "\"note\" must be a string of 1 to %d bytes without a control character", NOTE_MAX);
    } else if (known == MTD_ENOENT || known == MTD_EINVAL) {
        mtd_resp_error(x->rs, 404, "not_found", "no device %.64s in this tenant", dev ? dev : "(\"device_id\" missing)");
    } else if (known || mtd_store_threat_note_add(x->tn->store, dev, thr, x->actor, note, &id) != 0) {
        mtd_resp_error(x->rs, 500, "store_error", "the note could not be stored; retry");
    } else {
        char d[400];
        snprintf(d, sizeof d, "note %lld on threat %.256s", (long long)id, thr);
        mtd_store_audit_device(x->tn->store, x->actor, "threat.note", dev, d);
        mtd_resp_json(x->rs, 201, json_pack("{s:I,s:s,s:s,s:s,s:s}", "id", (json_int_t)id, "device_id", dev,
                                            "threat_id", thr, "actor", x->actor, "note", note));
    }
    json_decref(j);
}

int mtd_admin_console_route(const mtd_admin_ctx *x, const char *sub)
{
    size_t n = strlen(sub);
    if (!strcmp(sub, "threats/notes") && !strcmp(x->rq->method, "POST")) {
        notes_post(x);
        return 1;
    }
    if (strcmp(x->rq->method, "GET"))
        return 0;
    if (!strcmp(sub, "threats/notes"))
        notes_get(x);
    else if (!strcmp(sub, "session"))
        session(x);
    else if (!strcmp(sub, "summary"))
        summary(x);
    else if (!strcmp(sub, "privacy/statement"))
        statement(x);
    else if (!strncmp(sub, "devices/", 8) && n > 8 && !strchr(sub + 8, '/'))
        device(x, sub + 8);
    else
        return 0;
    return 1;
}
