/* mtd_alert_derive: the tenant's new threat.detection rows become alerts.
 *
 * A pass reads the rows after the cursor kept in the alert file, and in one transaction
 * of that file writes the alerts and the cursor (each alert destination reads the
 * alerts after a cursor of its own, so a pass writes no row per destination, which was
 * a seventh of its time): a crash before the commit repeats the pass, after it the pass is done, so a
 * detection makes its alert exactly once. A detection whose (device, threat) already
 * has an open alert (new or acknowledged) counts as one more occurrence of it; a
 * resolved detection marks the alert's threat resolved and leaves its triage state to
 * the analyst. A detection matching a suppression rule (the store's, mtd_store_supp_match)
 * makes no alert and counts in the rule's hits. Each device whose threats changed is
 * marked (table risk_dirty, in the pass's transaction); mtd_alert_risk_flush reads the
 * marked devices' risk from the store, which leaves suppressed findings out, once after
 * a run of passes rather than once a pass (a device's risk is a query over all its
 * threats), and a change of it is recorded (table risk, for GET
 * /v1/admin/devices/risk) and goes to risk-push destinations; mtd_alert_risk_recheck
 * does the same for every device when the rules changed.
 *
 * What an alert carries is the stored detection's declared fields (the schema's list,
 * nothing else) as the tenant's policy lets reports show them: report_app_details
 * minimal drops the app's package and digest. */
#include "alerts/mtd_alert_int.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"
#include "schema/mtd_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Detections a pass derives, in one transaction. Each pass also pays for its own
 * commit (the alerts_open index pages it touched written to the WAL again), its
 * statements' preparing, the tenant's rules and policy read from the store and a
 * delivery start: with 500, a batch of 1,000 uploaded made two passes, and those were
 * a quarter of the engine thread's CPU per alert (bench_alerts, 2,000 against 500:
 * 0.088 -> 0.065 s per 10,000 alerts, p99 no worse; 5,000 gained less). */
#define PASS_ROWS 2000
#define STMT_CACHE 24

/* The columns a pass reads of each detection (beside the schema's fields, which the
 * payload carries): their indices in the pass's column list. */
enum { C_EVENT_ID, C_DEVICE_ID, C_TIME, C_RECEIVED_AT, C_HEAD };
static const char *const head_cols[C_HEAD] = {"event_id", "device_id", "time", "received_at"};
enum { K_STATUS, K_SEVERITY, K_THREAT_ID, K_THREAT_NAME, K_SOURCE, K_PACKAGE, K_CATEGORY, K_EVIDENCE,
       K_APP_SHA256, K_N };
static const char *const field_cols[K_N] = {"status", "severity", "threat_id", "threat_name", "source", "package",
                                            "category", "evidence", "app_sha256"};

typedef struct {
    sqlite3 *db;
    mtd_tenant *tn;
    mtd_policy pol;
    int rules;         /* the tenant has an active suppression rule */
    int64_t *riskdest; /* risk-push destinations */
    size_t nriskdest;
    json_t *devices;   /* devices whose threats changed: {device: true} */
    int64_t now;
    int64_t next_id;   /* the next alert's ID (0: not read yet) */
    struct { const char *sql; sqlite3_stmt *st; } sc[STMT_CACHE]; /* prepared once a pass */
    int nsc;
    mtd_buf payload;   /* the alert being written, as JSON (alert_payload) */
    const mtd_event_type *ev;
    const char *cols[MTD_STORE_COLS_MAX]; /* head_cols, then the schema's fields in its order */
    size_t ncols;
    int fidx[K_N];        /* field_cols' indices in cols (-1: not a field of the schema) */
    mtd_store_cols rows;  /* the detections of the pass, as the store's text */
    size_t at;            /* the row being derived */
} pass;

/* A column of the row being derived (its text, NULL when null or no such field). */
static const char *col(const pass *p, int i)
{
    return i < 0 ? NULL : p->rows.val[p->at * p->ncols + (size_t)i];
}

static const char *str(const pass *p, int k)
{
    return col(p, p->fidx[k]);
}

/* The pass's column list: what the payload carries, in its order. 0 or MTD_EINVAL. */
static int cols_init(pass *p)
{
    p->ev = mtd_schema_event("threat.detection");
    if (!p->ev || C_HEAD + p->ev->nfields > sizeof p->cols / sizeof p->cols[0])
        return MTD_EINVAL;
    for (size_t i = 0; i < C_HEAD; i++)
        p->cols[p->ncols++] = head_cols[i];
    for (size_t i = 0; i < p->ev->nfields; i++)
        p->cols[p->ncols++] = p->ev->fields[i].name;
    for (int k = 0; k < K_N; k++) {
        p->fidx[k] = -1;
        for (size_t i = C_HEAD; i < p->ncols; i++)
            if (!strcmp(p->cols[i], field_cols[k]))
                p->fidx[k] = (int)i;
    }
    return 0;
}

/* The row being derived as an object of its columns, for the store's rule matching
 * (only when the tenant has an active rule). NULL when out of memory. */
static json_t *row_object(const pass *p)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < p->ncols; i++)
        if (col(p, (int)i))
            json_object_set_new(o, p->cols[i], json_string(col(p, (int)i)));
    return o;
}

static int64_t meta_get(sqlite3 *db, const char *k)
{
    sqlite3_stmt *st;
    int64_t v = 0;
    if (sqlite3_prepare_v2(db, "SELECT v FROM meta WHERE k=?1", -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int meta_set(sqlite3 *db, const char *k, int64_t v)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "INSERT INTO meta(k,v) VALUES(?1,?2) ON CONFLICT(k) DO UPDATE SET v=?2", -1, &st,
                           NULL) != SQLITE_OK)
        return MTD_EIO;
    sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, v);
    int r = sqlite3_step(st) == SQLITE_DONE ? 0 : MTD_EIO;
    sqlite3_finalize(st);
    return r;
}

/* The statement of sql (a string constant: its address is its key), prepared on its
 * first use in the pass and kept until the pass ends (stmts_free): a pass runs each of
 * its few statements hundreds of times, and preparing them was a good part of its cost. */
static sqlite3_stmt *prep(pass *p, const char *sql)
{
    for (int i = 0; i < p->nsc; i++)
        if (p->sc[i].sql == sql) {
            sqlite3_reset(p->sc[i].st);
            sqlite3_clear_bindings(p->sc[i].st);
            return p->sc[i].st;
        }
    sqlite3_stmt *st;
    if (p->nsc == STMT_CACHE || sqlite3_prepare_v3(p->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
        return NULL;
    p->sc[p->nsc].sql = sql;
    p->sc[p->nsc++].st = st;
    return st;
}

static void stmts_free(pass *p)
{
    for (int i = 0; i < p->nsc; i++)
        sqlite3_finalize(p->sc[i].st);
    p->nsc = 0;
}

/* Runs sql with text parameters (NULL binds NULL) and int64 parameters after them. */
static int run(pass *p, const char *sql, int ntext, const char *const *t, int nint, const int64_t *iv)
{
    sqlite3_stmt *st = prep(p, sql);
    if (!st)
        return MTD_EIO;
    for (int i = 0; i < ntext; i++)
        sqlite3_bind_text(st, i + 1, t[i], -1, SQLITE_STATIC);
    for (int i = 0; i < nint; i++)
        sqlite3_bind_int64(st, ntext + i + 1, iv[i]);
    int r = sqlite3_step(st);
    sqlite3_reset(st);
    return r == SQLITE_DONE || r == SQLITE_ROW ? 0 : MTD_EIO;
}

static int load_config(pass *p)
{
    sqlite3_stmt *st;
    json_t *rules = mtd_store_supp_list(p->tn->store), *r;
    size_t i;
    if (!rules)
        return MTD_EIO;
    json_array_foreach(rules, i, r)
        p->rules |= json_is_true(json_object_get(r, "active"));
    json_decref(rules);
    /* only risk changes get outbox rows: an alert destination reads the alerts after
     * its cursor (mtd_alert_engine.c) */
    if (sqlite3_prepare_v2(p->db, "SELECT id FROM integrations WHERE kind='risk-push' ORDER BY id", -1, &st, NULL)
        != SQLITE_OK)
        return MTD_EIO;
    p->riskdest = calloc(MTD_ALERT_MAX_INTEGRATIONS * 4, sizeof *p->riskdest);
    while (p->riskdest && sqlite3_step(st) == SQLITE_ROW && p->nriskdest < MTD_ALERT_MAX_INTEGRATIONS * 4)
        p->riskdest[p->nriskdest++] = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return p->riskdest ? 0 : MTD_ENOMEM;
}

static int64_t suppressed_by(pass *p)
{
    int64_t id = 0;
    if (!p->rules)
        return 0;
    json_t *row = row_object(p);
    int r = row ? mtd_store_supp_match(p->tn->store, row, &id) : MTD_ENOMEM;
    json_decref(row);
    return r == 0 ? id : 0;
}

/* threat_id when the device gave one, else a digest of what names the finding. */
static void threat_key(const pass *p, char out[65])
{
    const char *id = str(p, K_THREAT_ID);
    if (id) {
        mtd_strlcpy(out, id, 65);
        return;
    }
    char buf[800];
    int n = snprintf(buf, sizeof buf, "%s%c%s%c%s", str(p, K_THREAT_NAME) ?: "", 0, str(p, K_SOURCE) ?: "", 0,
                     str(p, K_PACKAGE) ?: "");
    char hex[65];
    mtd_sha256_hex(buf, (size_t)n, hex);
    snprintf(out, 65, "k:%.32s", hex);
}

/* v as a JSON string into b, escaped as jansson writes one (the payloads made before
 * were its dumps: the same bytes for the same row). Hand-written: making a json_t of
 * each value to dump it was most of what writing the payload cost. The store's text
 * is UTF-8 (ingest checked it), which JSON carries as it is. */
static int json_str(mtd_buf *b, const char *v)
{
    int r = mtd_buf_append(b, "\"", 1);
    for (const char *run = v; r == 0; v++) {
        unsigned char c = (unsigned char)*v;
        if (c && c >= 0x20 && c != '"' && c != '\\')
            continue;
        r = mtd_buf_append(b, run, (size_t)(v - run));
        if (!c || r)
            break;
        char esc[8];
        const char *e = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\b' ? "\\b" : c == '\f' ? "\\f"
                      : c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
        if (!e) {
            snprintf(esc, sizeof esc, "\\u%04X", c);
            e = esc;
        }
        r = mtd_buf_puts(b, e);
        run = v + 1;
    }
    return r ? r : mtd_buf_append(b, "\"", 1);
}

/* ,"key":value (key a constant of ours, value a column's text: a JSON string, or for
 * an integer field its digits as the store keeps them). */
static int put_member(mtd_buf *b, const char *key, const char *v, int integer)
{
    int r = mtd_buf_append(b, ",\"", 2);
    r = r ? r : mtd_buf_puts(b, key);
    r = r ? r : mtd_buf_append(b, "\":", 2);
    return r ? r : !v ? mtd_buf_puts(b, "null") : integer ? mtd_buf_puts(b, v) : json_str(b, v);
}

/* The alert as destinations get it, as JSON text into b: the alert's and the
 * detection's IDs and times, then the detection's declared fields (the schema's, which
 * names none of those) as the policy lets reports show them. Written member by member
 * from the row's columns rather than as an object made and dumped: that object, its
 * members' table and the dump's key sort were a sixth of a pass (bench_alerts). */
static int alert_payload(pass *p, int64_t alert_id, mtd_buf *b)
{
    mtd_buf_reset(b);
    /* the tenant ID is 32 hex digits (mtd_tenant_id_valid): nothing to escape */
    int r = mtd_buf_printf(b, "{\"alert_id\":%lld,\"tenant_id\":\"%s\"", (long long)alert_id, p->tn->id);
    for (int i = 0; r == 0 && i < C_HEAD; i++)
        r = put_member(b, head_cols[i], col(p, i), 0);
    for (size_t i = 0; r == 0 && i < p->ev->nfields; i++) {
        const mtd_field *f = &p->ev->fields[i];
        const char *v = col(p, (int)(C_HEAD + i));
        if (!v)
            continue;
        if (f->policy == MTD_POL_APP_DETAILS && p->pol.report_app_details == MTD_APPDET_MINIMAL)
            continue;
        r = put_member(b, f->name, v, f->type == MTD_T_INT);
    }
    return r ? r : mtd_buf_append(b, "}", 1);
}

/* One outbox row per risk-push destination for a risk change, which carries its own
 * payload. */
static int enqueue(pass *p, const int64_t *dest, size_t n, const char *event_id, const char *payload)
{
    for (size_t i = 0; i < n; i++) {
        const char *t[] = {event_id, payload};
        int64_t iv[] = {dest[i], p->now};
        if (run(p, "INSERT INTO outbox(event_id, severity, payload, integration_id, created_at)"
                " VALUES(?1,NULL,?2,?3,?4)", 2, t, 2, iv) != 0)
            return MTD_EIO;
    }
    return 0;
}

static int64_t open_alert(pass *p, const char *dev, const char *key)
{
    int64_t id = 0;
    sqlite3_stmt *st = prep(p, "SELECT id FROM alerts WHERE device_id=?1 AND threat_key=?2 AND state IN"
                               " ('new','acknowledged') ORDER BY id DESC LIMIT 1");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, dev, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return id;
}

static int new_alert(pass *p, const char *key)
{
    /* the ID is known before the row is written, so the payload (which names it) goes
     * in with it: the pass holds the file's write lock, no one else adds an alert */
    if (!p->next_id) {
        sqlite3_stmt *st = prep(p, "SELECT coalesce(max(id), 0) + 1 FROM alerts");
        if (!st || sqlite3_step(st) != SQLITE_ROW)
            return MTD_EIO;
        p->next_id = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
    }
    int64_t id = p->next_id;
    if (alert_payload(p, id, &p->payload) != 0)
        return MTD_ENOMEM;
    const char *txt = (const char *)p->payload.data;
    const char *t[] = {col(p, C_DEVICE_ID), key, col(p, C_EVENT_ID), str(p, K_THREAT_NAME),
                       str(p, K_CATEGORY), str(p, K_SEVERITY), str(p, K_SOURCE), str(p, K_EVIDENCE),
                       p->pol.report_app_details == MTD_APPDET_MINIMAL ? NULL : str(p, K_PACKAGE),
                       p->pol.report_app_details == MTD_APPDET_MINIMAL ? NULL : str(p, K_APP_SHA256),
                       str(p, K_THREAT_ID), col(p, C_TIME), txt};
    int64_t iv[] = {p->now, id};
    int r = run(p, "INSERT INTO alerts(device_id, threat_key, event_id, threat_name, category, severity, source,"
                " evidence, package, app_sha256, threat_id, detected_time, payload, created_at, updated_at, id)"
                " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?14,?15)", 13, t, 2, iv);
    if (r == 0)
        p->next_id++;
    return r;
}

static int one_row(pass *p, int *created, int *suppressed)
{
    const char *dev = col(p, C_DEVICE_ID), *status = str(p, K_STATUS), *sev = str(p, K_SEVERITY);
    if (!dev || !status)
        return 0;
    char key[65];
    threat_key(p, key);
    int active = !strcmp(status, "active");
    int64_t supp_id = active ? suppressed_by(p) : 0;
    json_object_set_new(p->devices, dev, json_true());
    int64_t open = open_alert(p, dev, key);
    if (open < 0)
        return MTD_EIO;
    if (!active) {
        int64_t iv2[] = {p->now, open};
        return open ? run(p, "UPDATE alerts SET threat_status='resolved', updated_at=?1 WHERE id=?2", 0, NULL, 2, iv2) : 0;
    }
    if (supp_id) {
        (*suppressed)++;
        int64_t iv2[] = {supp_id};
        return run(p, "INSERT INTO supp_hits(id, hits) VALUES(?1, 1) ON CONFLICT(id) DO UPDATE SET hits=hits+1",
                   0, NULL, 1, iv2);
    }
    if (open) {
        const char *t2[] = {sev, str(p, K_EVIDENCE)};
        int64_t iv2[] = {p->now, open};
        return run(p, "UPDATE alerts SET occurrences=occurrences+1, severity=coalesce(?1,severity),"
                   " evidence=coalesce(?2,evidence), threat_status='active', updated_at=?3 WHERE id=?4", 2, t2, 2, iv2);
    }
    (*created)++;
    return new_alert(p, key);
}

/* Records dev's risk when it is not the one last recorded: the next sequence number,
 * and a message to each risk-push destination. */
static int risk_record(pass *p, const char *dev, const char *risk)
{
    sqlite3_stmt *st;
    char prev[16] = "";
    if (sqlite3_prepare_v2(p->db, "SELECT risk FROM risk WHERE device_id=?1", -1, &st, NULL) != SQLITE_OK)
        return MTD_EIO;
    sqlite3_bind_text(st, 1, dev, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        mtd_strlcpy(prev, (const char *)sqlite3_column_text(st, 0), sizeof prev);
    sqlite3_finalize(st);
    if (!strcmp(risk, prev[0] ? prev : "none"))
        return 0;
    int64_t seq = meta_get(p->db, "risk_seq") + 1;
    const char *t[] = {dev, risk};
    int64_t iv[] = {seq, p->now};
    if (meta_set(p->db, "risk_seq", seq) != 0 ||
        run(p, "INSERT INTO risk(device_id, risk, seq, changed_at) VALUES(?1,?2,?3,?4) ON CONFLICT(device_id)"
            " DO UPDATE SET risk=?2, seq=?3, changed_at=?4", 2, t, 2, iv) != 0)
        return MTD_EIO;
    char at[MTD_TIME_LEN], eid[120];
    mtd_time_rfc3339((time_t)p->now, at);
    snprintf(eid, sizeof eid, "risk-%s-%lld", dev, (long long)seq);
    json_t *pl = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:s}", "type", "device.risk", "tenant_id", p->tn->id,
                           "device_id", dev, "risk", risk, "previous", prev[0] ? prev : "none", "seq",
                           (json_int_t)seq, "changed_at", at);
    char *txt = json_dumps(pl, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(pl);
    int r = txt ? enqueue(p, p->riskdest, p->nriskdest, eid, txt) : MTD_ENOMEM;
    free(txt);
    return r;
}

/* Marks each device whose threats changed in the pass for mtd_alert_risk_flush. */
static int mark_risk(pass *p)
{
    const char *dev;
    json_t *v;
    json_object_foreach(p->devices, dev, v) {
        const char *t[] = {dev};
        if (run(p, "INSERT OR IGNORE INTO risk_dirty(device_id) VALUES(?1)", 1, t, 0, NULL) != 0)
            return MTD_EIO;
    }
    return 0;
}

static int derive_rows(pass *p, int *created, int *suppressed)
{
    int r = load_config(p);
    int64_t last = 0;
    for (p->at = 0; p->at < p->rows.nrows; p->at++) {
        if (r == 0)
            r = one_row(p, created, suppressed);
        last = p->rows.row[p->at];
    }
    if (r == 0)
        r = mark_risk(p);
    if (r == 0)
        r = meta_set(p->db, "cursor", last);
    return r;
}

int mtd_alert_derive(sqlite3 *db, mtd_tenant *tn, int *created, int *suppressed, int *more)
{
    *created = *suppressed = *more = 0;
    int64_t cursor = meta_get(db, "cursor");
    pass p = {.db = db, .tn = tn, .now = (int64_t)time(NULL)};
    /* the rows as the store's text, not objects (mtd_store_event_cols_after) */
    int r = cols_init(&p);
    if (r == 0)
        r = mtd_store_event_cols_after(tn->store, "threat.detection", cursor, PASS_ROWS, p.cols, p.ncols, &p.rows);
    if (r || !p.rows.nrows) {
        mtd_store_cols_free(&p.rows);
        return r ? MTD_EIO : 0;
    }
    *more = p.rows.nrows == PASS_ROWS;
    p.devices = json_object();
    mtd_buf_init(&p.payload, 0);
    if (mtd_store_policy_get(tn->store, &p.pol) != 0)
        mtd_policy_default(&p.pol);
    r = mtd_alert_exec(db, "BEGIN IMMEDIATE");
    if (r == 0)
        r = derive_rows(&p, created, suppressed);
    r = r == 0 ? mtd_alert_exec(db, "COMMIT") : (mtd_alert_exec(db, "ROLLBACK"), r);
    stmts_free(&p);
    mtd_buf_free(&p.payload);
    mtd_store_cols_free(&p.rows);
    json_decref(p.devices);
    free(p.riskdest);
    if (r)
        *created = *suppressed = *more = 0;
    return r;
}

/* The risk of each marked device as the store answers it (suppressed findings left
 * out), recorded when changed, and the marks cleared, in one transaction. */
static int flush_marked(pass *p)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(p->db, "SELECT device_id FROM risk_dirty ORDER BY device_id", -1, &st, NULL) != SQLITE_OK)
        return MTD_EIO;
    json_t *devs = mtd_alert_rows(st), *d;
    sqlite3_finalize(st);
    size_t i;
    int r = devs ? 0 : MTD_EIO;
    json_array_foreach(devs, i, d) {
        const char *dev = json_string_value(json_object_get(d, "device_id"));
        mtd_device_query q = {.device_id = dev};
        json_t *rows = dev && r == 0 ? mtd_store_devices_where(p->tn->store, &q, NULL) : NULL;
        if (!rows) {
            r = MTD_EIO;
            break;
        }
        const char *risk = json_string_value(json_object_get(json_array_get(rows, 0), "risk"));
        r = risk_record(p, dev, risk ? risk : "none");
        json_decref(rows);
        if (r)
            break;
    }
    json_decref(devs);
    return r ? r : mtd_alert_exec(p->db, "DELETE FROM risk_dirty");
}

int mtd_alert_risk_flush(sqlite3 *db, mtd_tenant *tn)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM risk_dirty LIMIT 1", -1, &st, NULL) != SQLITE_OK)
        return MTD_EIO;
    int marked = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    if (!marked)
        return 0;
    pass p = {.db = db, .tn = tn, .now = (int64_t)time(NULL)};
    int r = load_config(&p);
    if (r == 0)
        r = mtd_alert_exec(db, "BEGIN IMMEDIATE");
    if (r == 0) {
        r = flush_marked(&p);
        r = r == 0 ? mtd_alert_exec(db, "COMMIT") : (mtd_alert_exec(db, "ROLLBACK"), r);
    }
    stmts_free(&p);
    free(p.riskdest);
    return r;
}

/* An alert file made before the rules moved to the store holds them in a table of its
 * own: they go to the store (new IDs, their hits with them) and the table is dropped.
 * A crash between the two copies a rule twice, which only doubles a rule. */
static int supp_migrate(sqlite3 *db, mtd_tenant *tn)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT kind, value, device_id, coalesce(expires_at, 0), reason, actor, hits"
                           " FROM suppressions ORDER BY id", -1, &st, NULL) != SQLITE_OK)
        return 0; /* no such table: nothing to move */
    int r = 0;
    while (r == 0 && sqlite3_step(st) == SQLITE_ROW) {
        const char *c[6];
        for (int i = 0; i < 6; i++)
            c[i] = (const char *)sqlite3_column_text(st, i);
        int64_t id = 0, hits = sqlite3_column_int64(st, 6);
        mtd_supp_rule rule = {c[0], c[1], c[2], NULL, sqlite3_column_int64(st, 3), c[4], c[5] ? c[5] : "migrated"};
        r = mtd_store_supp_add(tn->store, &rule, &id);
        sqlite3_stmt *h;
        if (r == 0 && sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO supp_hits(id, hits) VALUES(?1, ?2)", -1, &h,
                                         NULL) == SQLITE_OK) {
            sqlite3_bind_int64(h, 1, id);
            sqlite3_bind_int64(h, 2, hits);
            sqlite3_step(h);
            sqlite3_finalize(h);
        }
    }
    sqlite3_finalize(st);
    return r ? r : mtd_alert_exec(db, "DROP TABLE suppressions; DROP TABLE IF EXISTS threat_state");
}

int mtd_alert_risk_recheck(sqlite3 *db, mtd_tenant *tn, int64_t *next_expiry)
{
    *next_expiry = 0;
    if (supp_migrate(db, tn) != 0)
        return MTD_EIO;
    pass p = {.db = db, .tn = tn, .now = (int64_t)time(NULL)};
    json_t *devs = mtd_store_devices_where(tn->store, NULL, NULL), *rules = mtd_store_supp_list(tn->store), *d;
    size_t i;
    int r = devs && rules ? load_config(&p) : MTD_EIO;
    if (r == 0)
        r = mtd_alert_exec(db, "BEGIN IMMEDIATE");
    if (r == 0) {
        json_array_foreach(devs, i, d) {
            const char *risk = json_string_value(json_object_get(d, "risk"));
            if (r == 0 && json_string_value(json_object_get(d, "device_id")))
                r = risk_record(&p, json_string_value(json_object_get(d, "device_id")), risk ? risk : "none");
        }
        r = r == 0 ? mtd_alert_exec(db, "COMMIT") : (mtd_alert_exec(db, "ROLLBACK"), r);
    }
    /* the next expiry of an active rule (the list gives it as RFC 3339) */
    json_array_foreach(rules, i, d) {
        time_t t;
        const char *e = json_string_value(json_object_get(d, "expires_at"));
        if (json_is_true(json_object_get(d, "active")) && e && mtd_time_parse(e, &t) == 0 &&
            (!*next_expiry || t < *next_expiry))
            *next_expiry = t;
    }
    stmts_free(&p);
    json_decref(devs);
    json_decref(rules);
    free(p.riskdest);
    return r;
}
