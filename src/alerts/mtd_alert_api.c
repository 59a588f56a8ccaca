/* mtd_alert_api: the admin routes of alerts, from the caller's own tenant only (the
 * alert file is opened from the tenant the token named):
 *
 *   GET    /v1/admin/alerts[?state=&severity=&device=&group=]   the queue, newest first
 *   GET    /v1/admin/alerts/ID                           one alert with its notes
 *   POST   /v1/admin/alerts/ID  {"action": ack|assign|note|resolve|dismiss, ...}
 *   GET|POST /v1/admin/suppressions, DELETE /v1/admin/suppressions/ID
 *   GET|POST /v1/admin/integrations, DELETE /v1/admin/integrations/ID,
 *            POST's body: {"kind", "target", "secret", "tls", "ca_pem", "index",
 *            "batch_max"} (mtd_alert_dest_parse says which kind takes which;
 *            batch_max: a webhook's events a POST, 1 to 1000, default 1)
 *   POST   /v1/admin/integrations/ID/test
 *   GET    /v1/admin/devices/risk?since=SEQ              risk changes, with an ETag
 *
 * Admins and analysts triage; suppressions and integrations are the admin's. Every
 * change goes to the tenant's audit log; secrets are write-only (the list says whether
 * one is set, never what it is). */
#include "alerts/mtd_alert_int.h"
#include "collector/mtd_collector.h"
#include "common/mtd_args.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"
#include "privacy/mtd_pseudo.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    mtd_collector *c;
    mtd_req *rq;
    mtd_resp *rs;
    sqlite3 *db;
} call;

static int one_of(const char *v, const char *const *set)
{
    for (; *set; set++)
        if (!strcmp(v, *set))
            return 1;
    return 0;
}

static int role_may(call *k, int analyst_too)
{
    if (k->rq->role == MTD_ROLE_ADMIN || (analyst_too && k->rq->role == MTD_ROLE_ANALYST))
        return 1;
    mtd_resp_error(k->rs, 403, "forbidden", "the %s role may not do this; %s token is needed",
                   mtd_role_name(k->rq->role), analyst_too ? "an admin or analyst" : "an admin");
    return 0;
}

static void store_error(call *k)
{
    mtd_resp_error(k->rs, 500, "store_error", "the tenant's alert file could not be read or written; retry");
}

/* An ID in the path: a positive integer, or a 404 answered. */
static int64_t path_id(call *k, const char *s, const char *what)
{
    long long v;
    char why[128];
    if (mtd_parse_int(s, 1, INT64_MAX / 2, &v, what, why, sizeof why) != 0) {
        mtd_resp_error(k->rs, 404, "not_found", "no %s %.40s in this tenant", what, s);
        return 0;
    }
    return (int64_t)v;
}

static void audit(call *k, const char *action, const char *device, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void audit(call *k, const char *action, const char *device, const char *fmt, ...)
{
    char d[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d, sizeof d, fmt, ap);
    va_end(ap);
    mtd_store_audit_device(k->rq->tn->store, k->rq->actor, action, device, d);
}

static int page_args(call *k, long long *limit, long long *offset)
{
    char why[128];
    const char *l = mtd_req_arg(k->rq, "limit"), *o = mtd_req_arg(k->rq, "offset");
    *limit = 1000;
    *offset = 0;
    if ((l && mtd_parse_int(l, 1, 10000, limit, "limit", why, sizeof why) != 0) ||
        (o && mtd_parse_int(o, 0, INT64_MAX / 2, offset, "offset", why, sizeof why) != 0)) {
        mtd_resp_error(k->rs, 400, "bad_request", "%s", why);
        return -1;
    }
    return 0;
}

#define ALERT_COLS "id, state, severity, threat_name, category, source, device_id, assignee, threat_status," \
                   " occurrences, package, evidence, threat_id, event_id, detected_time, created_at, updated_at"

static void alerts_list(call *k)
{
    static const char *const states[] = {"new", "acknowledged", "resolved", "dismissed", NULL};
    static const char *const sevs[] = {"info", "low", "medium", "high", "critical", NULL};
    const char *state = mtd_req_arg(k->rq, "state"), *sev = mtd_req_arg(k->rq, "severity");
    const char *dev = mtd_req_arg(k->rq, "device"), *grp = mtd_req_arg(k->rq, "group");
    long long limit, offset;
    if (grp && !mtd_group_name_valid(grp))
        return mtd_resp_error(k->rs, 400, "bad_request", "group must be 1 to %d characters of A-Z a-z 0-9 . _ -",
                              MTD_GROUP_NAME_MAX);
    if (state && !one_of(state, states))
        return mtd_resp_error(k->rs, 400, "bad_request", "state must be new, acknowledged, resolved or dismissed");
    if (sev && !one_of(sev, sevs))
        return mtd_resp_error(k->rs, 400, "bad_request", "severity must be info, low, medium, high or critical");
    if (page_args(k, &limit, &offset) != 0)
        return;
    /* the group's members come from the tenant store (an admin may move a device at
     * any time), as one JSON array that the alert file's query reads */
    char *members = NULL;
    if (grp) {
        json_t *rows = mtd_store_group_devices(k->rq->tn->store, grp), *ids = json_array(), *row;
        size_t i;
        json_array_foreach(rows, i, row)
            json_array_append(ids, json_object_get(row, "device_id"));
        members = rows ? json_dumps(ids, JSON_COMPACT) : NULL;
        json_decref(rows);
        json_decref(ids);
        if (!members)
            return store_error(k);
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(k->db, "SELECT " ALERT_COLS " FROM alerts WHERE (?1 IS NULL OR state=?1) AND"
                           " (?2 IS NULL OR severity=?2) AND (?3 IS NULL OR device_id=?3) AND (?6 IS NULL OR"
                           " device_id IN (SELECT value FROM json_each(?6))) ORDER BY id DESC"
                           " LIMIT ?4 OFFSET ?5", -1, &st, NULL) != SQLITE_OK) {
        free(members);
        return store_error(k);
    }
    sqlite3_bind_text(st, 6, members, -1, free);
    sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, sev, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, dev, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, limit + 1);
    sqlite3_bind_int64(st, 5, offset);
    json_t *rows = mtd_alert_rows(st);
    sqlite3_finalize(st);
    if (!rows)
        return store_error(k);
    json_t *o = json_object();
    if ((long long)json_array_size(rows) > limit) {
        json_array_remove(rows, (size_t)limit);
        json_object_set_new(o, "next_offset", json_integer(offset + limit));
    }
    json_object_set_new(o, "alerts", rows);
    audit(k, "report.alerts", dev && mtd_pseudo_is_valid(dev) ? dev : NULL, "limit=%lld offset=%lld%s%s%s%s%s%s",
          limit, offset, state ? " state=" : "", state ? state : "", sev ? " severity=" : "", sev ? sev : "",
          grp ? " group=" : "", grp ? grp : "");
    mtd_resp_json(k->rs, 200, o);
}

/* The alert with its notes, or NULL (a 404 answered) when the tenant has no such one. */
static json_t *alert_get(call *k, int64_t id)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(k->db, "SELECT " ALERT_COLS " FROM alerts WHERE id=?1", -1, &st, NULL) != SQLITE_OK) {
        store_error(k);
        return NULL;
    }
    sqlite3_bind_int64(st, 1, id);
    json_t *rows = mtd_alert_rows(st);
    sqlite3_finalize(st);
    json_t *a = json_incref(json_array_get(rows, 0));
    json_decref(rows);
    if (!a) {
        mtd_resp_error(k->rs, 404, "not_found", "no alert %lld in this tenant", (long long)id);
        return NULL;
    }
    if (sqlite3_prepare_v2(k->db, "SELECT created_at, actor, text FROM notes WHERE alert_id=?1 ORDER BY id", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, id);
        json_t *notes = mtd_alert_rows(st);
        json_object_set_new(a, "notes", notes ? notes : json_array());
        sqlite3_finalize(st);
    }
    return a;
}

static int add_note(call *k, int64_t id, const char *text)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(k->db, "INSERT INTO notes(alert_id, created_at, actor, text) VALUES(?1,?2,?3,?4)", -1,
                           &st, NULL) != SQLITE_OK)
        return MTD_EIO;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, (int64_t)time(NULL));
    sqlite3_bind_text(st, 3, k->rq->actor, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
    int r = sqlite3_step(st) == SQLITE_DONE ? 0 : MTD_EIO;
    sqlite3_finalize(st);
    return r;
}

static int set_col(call *k, int64_t id, const char *sql, const char *v)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(k->db, sql, -1, &st, NULL) != SQLITE_OK)
        return MTD_EIO;
    sqlite3_bind_text(st, 1, v, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)time(NULL));
    sqlite3_bind_int64(st, 3, id);
    int r = sqlite3_step(st) == SQLITE_DONE ? 0 : MTD_EIO;
    sqlite3_finalize(st);
    return r;
}

/* POST /v1/admin/alerts/ID: one triage action. */
static void alert_act(call *k, int64_t id)
{
    static const char *const actions[] = {"ack", "assign", "note", "resolve", "dismiss", NULL};
    static const char *const to[] = {"acknowledged", NULL, NULL, "resolved", "dismissed"};
    if (!role_may(k, 1))
        return;
    json_t *j = mtd_req_json(k->rq, k->rs);
    if (!j)
        return;
    const char *act = json_string_value(json_object_get(j, "action"));
    const char *who = json_string_value(json_object_get(j, "assignee"));
    const char *note = json_string_value(json_object_get(j, "note"));
    json_t *a = NULL;
    int ai = -1;
    for (int i = 0; act && actions[i]; i++)
        if (!strcmp(act, actions[i]))
            ai = i;
    if (ai < 0) {
        mtd_resp_error(k->rs, 400, "bad_request", "\"action\" must be ack, assign, note, resolve or dismiss");
    } else if (ai == 1 && (!who || !*who || strlen(who) > 128 || !mtd_text_is_plain(who))) {
        mtd_resp_error(k->rs, 400, "bad_request", "assign needs \"assignee\": 1 to 128 bytes, no control character");
    } else if ((ai == 2 && !note) || (note && (!*note || strlen(note) > MTD_ALERT_NOTE_MAX || !mtd_text_is_plain(note)))) {
        mtd_resp_error(k->rs, 400, "bad_request", "\"note\" is 1 to %d bytes without a control character%s",
                       MTD_ALERT_NOTE_MAX, ai == 2 ? " (note needs one)" : "");
    } else if ((a = alert_get(k, id))) {
        const char *state = json_string_value(json_object_get(a, "state"));
        const char *dev = json_string_value(json_object_get(a, "device_id"));
        int closed = !strcmp(state, "resolved") || !strcmp(state, "dismissed");
        int r = 0;
        if (to[ai] && (closed || (ai == 0 && strcmp(state, "new")))) {
            mtd_resp_error(k->rs, 409, "bad_state", "alert %lld is %s; %s needs %s", (long long)id, state, act,
                           ai == 0 ? "a new alert" : "an open (new or acknowledged) alert");
            json_decref(a);
            json_decref(j);
            return;
        }
        mtd_alert_exec(k->db, "BEGIN IMMEDIATE");
        if (to[ai])
            r = set_col(k, id, "UPDATE alerts SET state=?1, updated_at=?2 WHERE id=?3", to[ai]);
        if (r == 0 && ai == 1)
            r = set_col(k, id, "UPDATE alerts SET assignee=?1, updated_at=?2 WHERE id=?3", who);
        if (r == 0 && note)
            r = add_note(k, id, note);
        r = r == 0 ? mtd_alert_exec(k->db, "COMMIT") : (mtd_alert_exec(k->db, "ROLLBACK"), r);
        if (r) {
            store_error(k);
        } else {
            char action[32];
            snprintf(action, sizeof action, "alert.%s", act);
            audit(k, action, dev, "alert %lld%s%s%s%s%s", (long long)id, to[ai] ? ": " : "", to[ai] ? state : "",
                  to[ai] ? " -> " : "", to[ai] ? to[ai] : ai == 1 ? " assigned to " : "", ai == 1 ? who : "");
            json_decref(a);
            a = alert_get(k, id);
            if (a)
                mtd_resp_json(k->rs, 200, json_incref(a));
        }
        json_decref(a);
    }
    json_decref(j);
}

/* The store's rules, each with its hits from the alert file. */
static void supp_list(call *k)
{
    json_t *rows = mtd_store_supp_list(k->rq->tn->store), *r;
    sqlite3_stmt *st;
    size_t i;
    if (!rows || sqlite3_prepare_v2(k->db, "SELECT hits FROM supp_hits WHERE id=?1", -1, &st, NULL) != SQLITE_OK) {
        json_decref(rows);
        return store_error(k);
    }
    json_array_foreach(rows, i, r) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, json_integer_value(json_object_get(r, "id")));
        json_object_set_new(r, "hits", json_integer(sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0));
    }
    sqlite3_finalize(st);
    mtd_resp_json(k->rs, 200, json_pack("{s:o}", "suppressions", rows));
}

static int64_t count_of(call *k, const char *sql)
{
    sqlite3_stmt *st;
    int64_t n = -1;
    if (sqlite3_prepare_v2(k->db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static void supp_add(call *k)
{
    if (!role_may(k, 0))
        return;
    json_t *j = mtd_req_json(k->rq, k->rs);
    if (!j)
        return;
    char kind[16], value[256], dev[64], grp[MTD_GROUP_NAME_MAX + 1], reason[300], why[200];
    int64_t exp, id = 0;
    int r;
    if (mtd_alert_supp_parse(j, kind, value, sizeof value, dev, grp, &exp, reason, sizeof reason, why,
                             sizeof why) != 0) {
        mtd_resp_error(k->rs, 400, "bad_suppression", "%s", why);
    } else if ((r = mtd_store_supp_add(k->rq->tn->store,
                                       &(mtd_supp_rule){kind, value, dev[0] ? dev : NULL, grp[0] ? grp : NULL, exp,
                                                        reason[0] ? reason : NULL, k->rq->actor},
                                       &id)) == MTD_ENOSPC) {
        mtd_resp_error(k->rs, 409, "too_many", "a tenant has at most %d suppression rules; remove one first",
                       MTD_SUPP_MAX);
    } else if (r) {
        mtd_resp_error(k->rs, 500, "store_error", "the suppression rule could not be stored; retry");
    } else {
        char until[MTD_TIME_LEN] = "";
        if (exp)
            mtd_time_rfc3339((time_t)exp, until);
        audit(k, "suppression.add", dev[0] ? dev : NULL, "suppression %lld: %s %s%s%s%s%s", (long long)id, kind,
              value, grp[0] ? " for group " : "", grp, exp ? " until " : "", until);
        /* every device's risk may have changed: the engine reads them again */
        mtd_alerts_recheck(k->c->alerts, k->rq->tn->id);
        mtd_resp_json(k->rs, 201, json_pack("{s:I,s:s,s:s}", "id", (json_int_t)id, "kind", kind, "value", value));
    }
    json_decref(j);
}

static void supp_remove(call *k, const char *idtxt)
{
    if (!role_may(k, 0))
        return;
    int64_t id = path_id(k, idtxt, "suppression");
    if (!id)
        return;
    int r = mtd_store_supp_remove(k->rq->tn->store, id);
    if (r == MTD_ENOENT)
        return mtd_resp_error(k->rs, 404, "not_found", "no suppression %lld in this tenant", (long long)id);
    if (r)
        return mtd_resp_error(k->rs, 500, "store_error", "the suppression rule could not be removed; retry");
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(k->db, "DELETE FROM supp_hits WHERE id=?1", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_step(st);
        sqlite3_finalize(st);
    }
    audit(k, "suppression.remove", NULL, "suppression %lld removed", (long long)id);
    mtd_alerts_recheck(k->c->alerts, k->rq->tn->id);
    mtd_resp_json(k->rs, 200, json_pack("{s:I,s:b}", "id", (json_int_t)id, "removed", 1));
}

/* DELETE of an integration, with its outbox rows and dead ranges. */
static void remove_row(call *k, const char *table, const char *what, const char *idtxt)
{
    if (!role_may(k, 0))
        return;
    int64_t id = path_id(k, idtxt, what);
    if (!id)
        return;
    char sql[160];
    sqlite3_stmt *st;
    mtd_alert_exec(k->db, "BEGIN IMMEDIATE");
    snprintf(sql, sizeof sql, "DELETE FROM %s WHERE id=?1", table);
    int n = -1;
    if (sqlite3_prepare_v2(k->db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, id);
        n = sqlite3_step(st) == SQLITE_DONE ? sqlite3_changes(k->db) : -1;
        sqlite3_finalize(st);
    }
    for (int t = 0; n > 0 && !strcmp(table, "integrations") && t < 2; t++)
        if (sqlite3_prepare_v2(k->db, t ? "DELETE FROM dead_alerts WHERE integration_id=?1"
                                        : "DELETE FROM outbox WHERE integration_id=?1", -1, &st, NULL) == SQLITE_OK) {
            sqlite3_bind_int64(st, 1, id);
            sqlite3_step(st);
            sqlite3_finalize(st);
        }
    mtd_alert_exec(k->db, "COMMIT");
    if (n < 0)
        return store_error(k);
    if (n == 0)
        return mtd_resp_error(k->rs, 404, "not_found", "no %s %lld in this tenant", what, (long long)id);
    char action[40];
    snprintf(action, sizeof action, "%s.remove", what);
    audit(k, action, NULL, "%s %lld removed", what, (long long)id);
    mtd_resp_json(k->rs, 200, json_pack("{s:I,s:b}", "id", (json_int_t)id, "removed", 1));
}

static void integ_list(call *k)
{
    if (!role_may(k, 0))
        return;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(k->db,
            "SELECT id, kind, target, tls, idx AS 'index', secret IS NOT NULL AND secret<>'' AS secret_set,"
            " ca_pem IS NOT NULL AS ca_set, batch_max, delivered, failures, last_error, last_ok_at, created_at, actor,"
            " " MTD_ALERT_PENDING_SQL " AS pending, " MTD_ALERT_DEAD_SQL " AS dead,"
            " CASE WHEN retry_at_ms>0 THEN retry_at_ms/1000 END AS retry_at FROM integrations i ORDER BY id",
            -1, &st, NULL) != SQLITE_OK)
        return store_error(k);
    json_t *rows = mtd_alert_rows(st);
    sqlite3_finalize(st);
    size_t i;
    json_t *r;
    static const char *const flags[] = {"tls", "secret_set", "ca_set"};
    json_array_foreach(rows, i, r)
        for (int f = 0; f < 3; f++)
            json_object_set_new(r, flags[f], json_boolean(json_integer_value(json_object_get(r, flags[f]))));
    rows ? mtd_resp_json(k->rs, 200, json_pack("{s:o}", "integrations", rows)) : store_error(k);
}

/* POST of an integration. Its cursor starts at the latest alert: a destination gets the
 * alerts made after it was added. */
static void integ_add(call *k)
{
    if (!role_may(k, 0))
        return;
    json_t *j = mtd_req_json(k->rq, k->rs);
    if (!j)
        return;
    mtd_alert_dest d;
    char why[400];
    sqlite3_stmt *st;
    int r = mtd_alert_dest_parse(j, mtd_alerts_allow(k->c->alerts), &d, why, sizeof why);
    if (r) {
        mtd_resp_error(k->rs, r == MTD_EPERM ? 403 : 400, "bad_integration", "%s", why);
    } else if (count_of(k, "SELECT count(*) FROM integrations") >= MTD_ALERT_MAX_INTEGRATIONS) {
        mtd_resp_error(k->rs, 409, "too_many", "a tenant has at most %d integrations; remove one first",
                       MTD_ALERT_MAX_INTEGRATIONS);
    } else if (sqlite3_prepare_v2(k->db, "INSERT INTO integrations(kind, target, secret, tls, ca_pem, idx, created_at,"
                                  " actor, batch_max, sent_id) VALUES(?1,?2,nullif(?3,''),?4,?5,?6,?7,?8,?9,"
                                  " (SELECT coalesce(max(id), 0) FROM alerts))", -1, &st, NULL) != SQLITE_OK) {
        store_error(k);
    } else {
        sqlite3_bind_text(st, 1, d.kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, d.target, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, d.secret, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 4, d.tls);
        sqlite3_bind_text(st, 5, d.ca_pem, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, !strcmp(d.kind, "elastic") ? d.index : NULL, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 7, (int64_t)time(NULL));
        sqlite3_bind_text(st, 8, k->rq->actor, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 9, d.batch_max);
        int ok = sqlite3_step(st) == SQLITE_DONE;
        sqlite3_finalize(st);
        if (!ok) {
            store_error(k);
        } else {
            int64_t id = sqlite3_last_insert_rowid(k->db);
            char bm[40] = "";
            if (d.batch_max > 1)
                snprintf(bm, sizeof bm, " (batches of up to %d)", d.batch_max);
            audit(k, "integration.add", NULL, "integration %lld: %s %s%s%s", (long long)id, d.kind, d.target,
                  d.tls ? " (TLS)" : "", bm);
            mtd_resp_json(k->rs, 201, json_pack("{s:I,s:s,s:s,s:i}", "id", (json_int_t)id, "kind", d.kind, "target",
                                                d.target, "batch_max", d.batch_max));
        }
    }
    mtd_alert_dest_free(&d);
    json_decref(j);
}

/* POST /v1/admin/integrations/ID/test: a made-up alert sent now, from this request,
 * so the admin sees the receiver's answer; it does not enter the outbox. */
static void integ_test(call *k, int64_t id)
{
    if (!role_may(k, 0))
        return;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(k->db, "SELECT id, kind, target, secret, tls, ca_pem, idx, batch_max FROM integrations"
                           " WHERE id=?1",
                           -1, &st, NULL) != SQLITE_OK)
        return store_error(k);
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return mtd_resp_error(k->rs, 404, "not_found", "no integration %lld in this tenant", (long long)id);
    }
    mtd_alert_dest d = {0};
    d.id = id;
    mtd_strlcpy(d.kind, (const char *)sqlite3_column_text(st, 1), sizeof d.kind);
    mtd_strlcpy(d.target, (const char *)sqlite3_column_text(st, 2), sizeof d.target);
    mtd_strlcpy(d.secret, (const char *)sqlite3_column_text(st, 3) ?: "", sizeof d.secret);
    d.tls = sqlite3_column_int(st, 4);
    d.ca_pem = sqlite3_column_text(st, 5) ? strdup((const char *)sqlite3_column_text(st, 5)) : NULL;
    mtd_strlcpy(d.index, (const char *)sqlite3_column_text(st, 6) ?: "openmtd-alerts", sizeof d.index);
    d.batch_max = sqlite3_column_int(st, 7); /* a batched webhook's test is a batch of one */
    sqlite3_finalize(st);
    char now[MTD_TIME_LEN], eid[48], rnd[24], why[300] = "";
    mtd_time_now_rfc3339(now);
    mtd_random_token(8, rnd, sizeof rnd);
    snprintf(eid, sizeof eid, "test-%s", rnd);
    json_t *pl = json_pack("{s:i,s:s,s:s,s:n,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b}", "alert_id", 0, "tenant_id",
                           k->rq->tn->id, "event_id", eid, "device_id", "time", now, "threat_name",
                           "openmtd test alert", "category", "policy", "severity", "info", "source", "device",
                           "evidence", "a test delivery an admin asked for", "status", "active", "test", 1);
    char *txt = json_dumps(pl, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(pl);
    mtd_alert_msg m = {0, txt, eid, "info", 0};
    mtd_alert_conn *conn = NULL;
    size_t sent = 0;
    int r = mtd_alert_send(&conn, &d, mtd_alerts_allow(k->c->alerts), k->rq->tn->id, &m, 1, &sent, why, sizeof why);
    mtd_alert_conn_free(conn);
    mtd_alert_dest_free(&d);
    free(txt);
    mtd_alerts_count(k->c->alerts, r == 0);
    audit(k, "integration.test", NULL, "integration %lld: %s", (long long)id, r ? why : "delivered");
    if (r)
        mtd_resp_error(k->rs, 502, "delivery_failed", "integration %lld: %s", (long long)id, why);
    else
        mtd_resp_json(k->rs, 200, json_pack("{s:I,s:b,s:s}", "id", (json_int_t)id, "delivered", 1, "event_id", eid));
}

/* GET /v1/admin/devices/risk?since=SEQ: the devices whose risk changed after SEQ. The
 * ETag is the latest sequence number, so a poller's If-None-Match costs one read. */
static void risk_changes(call *k)
{
    long long since = 0;
    char why[128], etag[40];
    const char *s = mtd_req_arg(k->rq, "since");
    if (s && mtd_parse_int(s, 0, INT64_MAX / 2, &since, "since", why, sizeof why) != 0)
        return mtd_resp_error(k->rs, 400, "bad_request", "%s", why);
    int64_t seq = count_of(k, "SELECT coalesce(max(seq),0) FROM risk");
    if (seq < 0)
        return store_error(k);
    snprintf(etag, sizeof etag, "\"%lld-%lld\"", (long long)seq, since);
    snprintf(k->rs->etag, sizeof k->rs->etag, "%s", etag);
    const char *inm = mtd_req_header(k->rq, "If-None-Match");
    if (inm && !strcmp(inm, etag)) {
        k->rs->status = 304;
        k->rs->text = strdup("");
        return;
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(k->db, "SELECT device_id, risk, seq, changed_at FROM risk WHERE seq>?1 ORDER BY seq LIMIT 10000",
                           -1, &st, NULL) != SQLITE_OK)
        return store_error(k);
    sqlite3_bind_int64(st, 1, since);
    json_t *rows = mtd_alert_rows(st);
    sqlite3_finalize(st);
    if (!rows)
        return store_error(k);
    json_t *last = json_array_get(rows, json_array_size(rows) - 1);
    json_int_t next = last ? json_integer_value(json_object_get(last, "seq")) : (json_int_t)since;
    audit(k, "report.devices.risk", NULL, "since=%lld", since);
    mtd_resp_json(k->rs, 200, json_pack("{s:o,s:I}", "devices", rows, "seq", next));
}

static void route(call *k, const char *sub)
{
    const char *m = k->rq->method;
    int get = !strcmp(m, "GET"), post = !strcmp(m, "POST"), del = !strcmp(m, "DELETE");
    if (!strcmp(sub, "alerts") && get)
        return alerts_list(k);
    if (!strncmp(sub, "alerts/", 7) && (get || post)) {
        int64_t id = path_id(k, sub + 7, "alert");
        if (!id)
            return;
        if (post)
            return alert_act(k, id);
        json_t *a = alert_get(k, id);
        if (a) {
            audit(k, "report.alert", json_string_value(json_object_get(a, "device_id")), "alert %lld", (long long)id);
            mtd_resp_json(k->rs, 200, a);
        }
        return;
    }
    if (!strcmp(sub, "suppressions") && (get || post))
        return get ? supp_list(k) : supp_add(k);
    if (!strncmp(sub, "suppressions/", 13) && del)
        return supp_remove(k, sub + 13);
    if (!strcmp(sub, "integrations") && (get || post))
        return get ? integ_list(k) : integ_add(k);
    size_t n = strlen(sub);
    if (!strncmp(sub, "integrations/", 13) && post && n > 18 && !strcmp(sub + n - 5, "/test")) {
        char id[40];
        snprintf(id, sizeof id, "%.*s", (int)(n - 18 < 39 ? n - 18 : 39), sub + 13);
        int64_t v = path_id(k, id, "integration");
        return v ? integ_test(k, v) : (void)0;
    }
    if (!strncmp(sub, "integrations/", 13) && del)
        return remove_row(k, "integrations", "integration", sub + 13);
    if (!strcmp(sub, "devices/risk") && get)
        return risk_changes(k);
    mtd_resp_error(k->rs, 404, "not_found", "no admin route %s %.100s", m, sub);
}

void mtd_handle_alerts_admin(mtd_collector *c, mtd_req *rq, mtd_resp *rs)
{
    call k = {.c = c, .rq = rq, .rs = rs};
    int r = mtd_alert_db_open(mtd_tenants_data_dir(c->tenants), rq->tn->id, &k.db);
    if (r) {
        mtd_resp_error(rs, 500, "store_error", "the tenant's alert file could not be opened: %s", mtd_strerror(r));
        return;
    }
    route(&k, rq->path + strlen("/v1/admin/"));
    sqlite3_close(k.db);
}
