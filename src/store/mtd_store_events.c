/* mtd_store_events: the SQLite backend's event side: batch ingest (all-or-nothing,
 * idempotent), consent changes with the deletions they ask for, and the reports. */
#include "store/mtd_store_sqlite_int.h"
#include "store/mtd_store_group.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"
#include "schema/mtd_event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Binds one event's row number and value slots to the type's prepared INSERT: every
 * parameter, an absent value as NULL (cheaper than clearing them all first). */
static void bind_event(sqlite3_stmt *st, const mtd_event *e, int64_t row, int64_t now)
{
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, row);
    sqlite3_bind_int64(st, 2, now);
    int ncol = mtd_event_ncolumns(e->type);
    for (int c = 0; c < ncol; c++) {
        const mtd_value *v = &e->v[c];
        switch (v->kind) {
        case MTD_V_STR:
        case MTD_V_LIST: /* a list is stored as its JSON text */
            sqlite3_bind_text(st, c + 3, v->s, (int)v->len, SQLITE_STATIC);
            break;
        case MTD_V_INT:
        case MTD_V_BOOL:
            sqlite3_bind_int64(st, c + 3, v->i);
            break;
        default:
            sqlite3_bind_null(st, c + 3);
            break;
        }
    }
}


static int upsert_device(mtd_store *s, const mtd_event *e, const char *dev, const char *now)
{
    char upn[64], du[64], dd[64], org[160];
    const char *g[] = {dev, now, now, mtd_store_slot(e, "upn", upn, sizeof upn),
                       mtd_store_slot(e, "dir_user_id", du, sizeof du), mtd_store_slot(e, "dir_device_id", dd, sizeof dd),
                       mtd_store_slot(e, "org_id", org, sizeof org)};
    int r = mtd_sq_exec_hot(s, MTD_SQ_HOT_DEVICE, "INSERT INTO devices(device_id, first_seen, last_seen, upn, dir_user_id,"
                           " dir_device_id, org_id) VALUES(?,?,?,?,?,?,?) ON CONFLICT(device_id) DO"
                           " UPDATE SET last_seen=excluded.last_seen, upn=coalesce(excluded.upn, upn),"
                           " dir_user_id=coalesce(excluded.dir_user_id, dir_user_id),"
                           " dir_device_id=coalesce(excluded.dir_device_id, dir_device_id),"
                           " org_id=coalesce(excluded.org_id, org_id)", 7, g);
    return r < 0 ? r : 0;
}

/* Optional data of one device: what a consent revocation deletes. */
static const char *const optional_events[] = {"diag.bundle", "feedback.submission"};

static int delete_optional(mtd_store *s, const char *dev, int *deleted)
{
    *deleted = 0;
    for (size_t i = 0; i < sizeof optional_events / sizeof optional_events[0]; i++) {
        char t[96], rows[320], sql[448];
        mtd_sq_table(optional_events[i], t, sizeof t);
        mtd_sq_device_rows(rows, sizeof rows, optional_events[i]);
        snprintf(sql, sizeof sql, "DELETE FROM %s WHERE 1%s", t, rows);
        const char *p[] = {dev};
        int r = mtd_sq_exec(s, sql, 1, p);
        if (r < 0)
            return r;
        *deleted += r;
    }
    return 0;
}

/* A consent.change event: record the device's consent; a revocation with
 * delete_optional deletes its optional data now and says so in the audit log. */
static int apply_consent(mtd_store *s, const mtd_event *e, const char *now)
{
    char dev[64], state[16];
    mtd_store_slot(e, "device_id", dev, sizeof dev);
    int grant = !strcmp(mtd_store_slot(e, "state", state, sizeof state) ?: "", "granted");
    const char *p[] = {grant ? "1" : "0", now, dev};
    int r = mtd_sq_exec(s, "UPDATE devices SET consent=?, consent_time=? WHERE device_id=?", 3, p);
    if (r < 0 || grant)
        return r < 0 ? r : 0;
    int deleted = 0;
    if (mtd_event_is_true(e, "delete_optional") && (r = delete_optional(s, dev, &deleted)) != 0)
        return r;
    s->scrub = deleted > 0;
    /* the audit log is append-only and outlives a user delete, so it names no device */
    char detail[160];
    snprintf(detail, sizeof detail, "consent revoked by a device; deleted its %d optional %s",
             deleted, mtd_plural(deleted, "record", "records"));
    return mtd_sq_audit(s, "device", "consent.revoke", detail);
}

/* A device.info event: the device's latest, for the devices report. */
static int note_info(mtd_store *s, const char *dev, int64_t row)
{
    char r[24];
    snprintf(r, sizeof r, "%lld", (long long)row);
    const char *p[] = {r, dev};
    int n = mtd_sq_exec_hot(s, MTD_SQ_HOT_INFO, "UPDATE devices SET info_row=CAST(? AS INTEGER)"
                                               " WHERE device_id=?", 2, p);
    return n < 0 ? n : 0;
}

/* The batch's events take the next n row numbers: one range, which the batch's
 * record keeps with the bits of the event types it holds, to find the device's rows
 * (mtd_sq_device_join). */
static int ingest_locked(mtd_store *s, const char *cred_hash, const char *idem_key,
                         const mtd_event *ev, size_t n, int *stored)
{
    char now[32], devbuf[64], nev[32], first[24], last[24];
    mtd_sq_now(now, sizeof now);
    const char *dev = mtd_store_slot(&ev[0], "device_id", devbuf, sizeof devbuf); /* the schema requires it */
    int64_t row = s->next_row, types = 0;
    for (size_t i = 0; i < n; i++)
        types |= mtd_sq_type_bit(ev[i].type);
    char ty[24];
    snprintf(ty, sizeof ty, "%lld", (long long)types);
    if (types & s->sum_types)
        s->sum_dirty = 1; /* a batch undone after leaves at most a needless catch-up */
    snprintf(nev, sizeof nev, "%zu", n);
    snprintf(first, sizeof first, "%lld", (long long)row);
    snprintf(last, sizeof last, "%lld", (long long)(row + (int64_t)n - 1));
    const char *pb[] = {idem_key, dev, now, nev, first, last, ty};
    int r = mtd_sq_exec_hot(s, MTD_SQ_HOT_BATCH, "INSERT INTO batches(idem_key, device_id, received_at,"
                           " events, first_row, last_row, types) VALUES(?,?,?,?,CAST(? AS INTEGER),"
                           " CAST(? AS INTEGER), CAST(? AS INTEGER))", 7, pb);
    if (r < 0)
        return r; /* MTD_EEXIST: a repeated key */
    const char *pc[] = {now, cred_hash};
    if (cred_hash && cred_hash[0] &&
        (r = mtd_sq_exec_hot(s, MTD_SQ_HOT_CRED_USED, "UPDATE credentials SET first_used=? WHERE hash=?"
                             " AND first_used IS NULL", 2, pc)) < 0)
        return r;
    if ((r = upsert_device(s, &ev[0], dev, now)) != 0)
        return r;
    int64_t t = (int64_t)time(NULL);
    for (size_t i = 0; i < n; i++, row++) {
        size_t idx = (size_t)(ev[i].type - mtd_event_types);
        bind_event(s->ins[idx], &ev[i], row, t);
        if (sqlite3_step(s->ins[idx]) != SQLITE_DONE)
            return MTD_EIO;
        *stored += 1;
        if (ev[i].type == s->info_type && (r = note_info(s, dev, row)) != 0)
            return r;
        if (ev[i].type == s->consent_type && (r = apply_consent(s, &ev[i], now)) != 0)
            return r;
    }
    s->next_row = row; /* a failed batch leaves it; a failed COMMIT leaves a gap */
    return 0;
}

int mtd_sqlite_device_consent(mtd_store *s, const char *device_id, int *consent)
{
    char v[8];
    int r = mtd_sq_read(s, "SELECT consent FROM devices WHERE device_id=?", device_id, v, sizeof v);
    *consent = r == 0 && !strcmp(v, "1");
    return r == MTD_ENOENT ? 0 : r;
}

int mtd_sqlite_device_state(mtd_store *s, const char *device_id, mtd_policy *p, int *consent)
{
    int r = mtd_store_policy_of_device(s, device_id, p, NULL, 0);
    int rc = mtd_sqlite_device_consent(s, device_id, consent);
    return r ? r : rc;
}

/* One batch inside the group's transaction, under its own savepoint: a batch that
 * fails (a repeated key, a bad row) is rolled back alone. */
static void ingest_one(mtd_store *s, mtd_store_batch *b)
{
    b->stored = 0;
    if (b->n == 0) {
        b->result = MTD_EINVAL;
        return;
    }
    /* prepared once: compiling these three for every batch was a few percent of the writer */
    if (mtd_sq_exec_hot(s, MTD_SQ_HOT_SAVEPOINT, "SAVEPOINT batch", 0, NULL) < 0) {
        b->result = MTD_EIO;
        return;
    }
    int scrub = s->scrub;
    b->result = ingest_locked(s, b->cred_hash, b->idem_key, b->events, b->n, &b->stored);
    if (b->result != 0) {
        mtd_sq_exec_hot(s, MTD_SQ_HOT_ROLLBACK_TO, "ROLLBACK TO batch", 0, NULL);
        b->stored = 0;
        s->scrub = scrub; /* its deletions were undone too */
    }
    mtd_sq_exec_hot(s, MTD_SQ_HOT_RELEASE, "RELEASE batch", 0, NULL);
}

/* Stores a list of batches in one transaction. If the commit fails, none of them is
 * stored, and none may be acknowledged: not even one whose key was a repeat, since
 * the first copy may have been in this same group. */
void mtd_sqlite_ingest_group(mtd_store *s, mtd_store_batch *head)
{
    pthread_mutex_lock(&s->mu);
    int r = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK ? 0 : MTD_EBUSY;
    for (mtd_store_batch *b = head; b && r == 0; b = b->next)
        ingest_one(s, b);
    if (r == 0 && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        r = MTD_EIO;
    }
    for (mtd_store_batch *b = head; b && r != 0; b = b->next) {
        b->result = r;
        b->stored = 0;
    }
    if (r == 0 && s->scrub) {
        /* deleted rows are zeroed in the database file (secure_delete), but the WAL
         * still holds the pages as they were: fold it in and truncate it */
        mtd_sq_wal_truncate(s);
    }
    s->scrub = 0;
    int64_t rows = 0;
    for (mtd_store_batch *b = head; b && r == 0 && s->sum_dirty; b = b->next)
        rows += b->stored;
    s->sum_dirty = 0;
    pthread_mutex_unlock(&s->mu);
    if (rows) /* after the commit, not in it: the summaries follow behind (mtd_store_sum.c) */
        mtd_sq_sum_kick(s, rows);
}

int mtd_sqlite_ingest(mtd_store *s, const char *cred_hash, const char *idem_key,
                      const mtd_event *events, size_t n, int *stored)
{
    return mtd_store_group_ingest(&s->group, s, mtd_sqlite_ingest_group, cred_hash, idem_key,
                                  events, n, stored);
}

/* risk: the most severe threat whose latest detection is still active, found per
 * device of the page (sum_threat is keyed by device), and the page read in the
 * order of devices_seen: grouping every device's threats first (a LEFT JOIN of an
 * aggregate) and sorting the whole fleet made the first page of 1,000 devices 3.5x
 * the floor in bench_reports. */
int mtd_sq_devices_select(char *sql, size_t len)
{
    char latest[1024], none[2560];
    mtd_sq_latest_threats(latest, sizeof latest, 0);
    mtd_supp_none_sql(none, sizeof none, 0, "lt");
    return snprintf(sql, len,
        "SELECT d.device_id, d.upn, d.first_seen, d.last_seen, i.os_name, i.os_version,"
        " i.manufacturer, i.model, i.model_id, i.cpu, i.build, i.kernel, i.agent_version, i.device_id_source,"
        " i.time AS info_time, d.consent,"
        " CASE (SELECT min(CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END)"
        "   FROM (%s WHERE m.device_id = d.device_id) lt WHERE status = 'active'%s)"
        "  WHEN 0 THEN 'high' WHEN 1 THEN 'medium' WHEN 2 THEN 'low' ELSE 'none' END AS risk"
        " FROM devices d LEFT JOIN ev_device_info i ON i.row = d.info_row", latest, none);
}

json_t *mtd_sqlite_devices_where(mtd_store *s, const mtd_device_query *q, mtd_page *pg)
{
    char base[6144], sql[6656], before[32];
    const char *p[4];
    int n = 0;
    mtd_sq_devices_select(base, sizeof base);
    int len = snprintf(sql, sizeof sql, "SELECT * FROM (%s) WHERE 1", base);
    if (q && q->device_id) {
        len += snprintf(sql + len, sizeof sql - (size_t)len, " AND device_id=?");
        p[n++] = q->device_id;
    }
    if (q && q->risk) {
        len += snprintf(sql + len, sizeof sql - (size_t)len, " AND risk=?");
        p[n++] = q->risk;
    }
    if (q && q->seen_before) {
        snprintf(before, sizeof before, "%lld", (long long)q->seen_before);
        len += snprintf(sql + len, sizeof sql - (size_t)len, " AND last_seen < CAST(? AS INTEGER)");
        p[n++] = before;
    }
    if (q && q->group) {
        len += snprintf(sql + len, sizeof sql - (size_t)len, "%s", MTD_SQ_IN_GROUP);
        p[n++] = q->group;
    }
    return mtd_sq_sum_keyed(s, sql, &mtd_device_keys, n, p, pg);
}

/* The SQL condition that selects a user's rows in an event table. */
static const char user_rows[] =
    "device_id IN (SELECT device_id FROM devices WHERE upn IN (?1, ?2)) OR upn IN (?1, ?2)";

json_t *mtd_sqlite_user_export(mtd_store *s, const char *upn, const char *alt)
{
    const char *p[] = {upn, alt};
    mtd_sq_snapshot_begin(s);
    json_t *out = json_pack("{s:s,s:o,s:o}", "upn", upn, "devices",
                            mtd_sq_rows(s, "SELECT device_id, first_seen, last_seen, upn,"
                                           " dir_user_id, dir_device_id, org_id, consent"
                                           " FROM devices WHERE upn IN (?1, ?2)", 2, p),
                            "events", json_object());
    json_t *events = json_object_get(out, "events");
    for (size_t i = 0; out && i < mtd_event_ntypes; i++) {
        char t[96], sql[256];
        mtd_sq_table(mtd_event_types[i].name, t, sizeof t);
        snprintf(sql, sizeof sql, "SELECT * FROM %s WHERE %s ORDER BY row", t, user_rows);
        json_t *rows = mtd_sq_rows(s, sql, 2, p);
        if (!rows) { /* a user's export is whole or not given */
            json_decref(out);
            out = NULL;
        } else if (json_array_size(rows))
            json_object_set_new(events, mtd_event_types[i].name, rows);
        else
            json_decref(rows);
    }
    mtd_sq_snapshot_end(s);
    return out;
}

static int user_delete_locked(mtd_store *s, const char *upn, const char *alt, int *rows)
{
    const char *p[] = {upn, alt};
    int r;
    for (size_t i = 0; i < mtd_event_ntypes; i++) {
        char t[96], sql[256];
        mtd_sq_table(mtd_event_types[i].name, t, sizeof t);
        snprintf(sql, sizeof sql, "DELETE FROM %s WHERE %s", t, user_rows);
        if ((r = mtd_sq_exec(s, sql, 2, p)) < 0)
            return r;
        *rows += r;
    }
    /* the devices' credentials and batch records go too: they hold the pseudonyms; the
     * audit entries about them keep what was done, not to which device */
    static const char *const rest[] = {
        "DELETE FROM threat_notes WHERE device_id IN (SELECT device_id FROM devices WHERE upn IN (?1, ?2)"
        " UNION SELECT device_id FROM credentials WHERE upn IN (?1, ?2))",
        "UPDATE audit SET device_id=NULL WHERE device_id IN (SELECT device_id FROM devices WHERE upn IN (?1, ?2)"
        " UNION SELECT device_id FROM credentials WHERE upn IN (?1, ?2))",
        "DELETE FROM reenroll_approvals WHERE device_id IN (SELECT device_id FROM devices WHERE upn IN (?1, ?2)"
        " UNION SELECT device_id FROM credentials WHERE upn IN (?1, ?2))",
        "DELETE FROM device_groups WHERE device_id IN (SELECT device_id FROM devices WHERE upn IN (?1, ?2)"
        " UNION SELECT device_id FROM credentials WHERE upn IN (?1, ?2))",
        /* a rule for one of the user's devices names it */
        "DELETE FROM suppressions WHERE device_id IN (SELECT device_id FROM devices WHERE upn IN (?1, ?2)"
        " UNION SELECT device_id FROM credentials WHERE upn IN (?1, ?2))",
        "DELETE FROM credentials WHERE upn IN (?1, ?2) OR device_id IN (SELECT device_id FROM devices WHERE upn IN (?1, ?2))",
        "DELETE FROM batches WHERE device_id IN (SELECT device_id FROM devices WHERE upn IN (?1, ?2))",
        "DELETE FROM devices WHERE upn IN (?1, ?2)"};
    for (size_t i = 0; i < sizeof rest / sizeof rest[0]; i++)
        if ((r = mtd_sq_exec(s, rest[i], 2, p)) < 0)
            return r;
    return 0;
}

/* The devices whose summary rows a user's deletion changes (before it): gone, the
 * user's devices, every row of which goes; kept, other devices with rows that name
 * the user (the rest of their rows stay). */
static int user_devices(mtd_store *s, const char *const p[2], json_t *gone, json_t *kept)
{
    int r = mtd_sq_sum_devices(s, "SELECT device_id FROM devices WHERE upn IN (?1, ?2)", 2, p, gone);
    static const char *const covered[] = {"app.inventory", "app.lifecycle", "threat.detection"};
    for (size_t i = 0; r == 0 && i < sizeof covered / sizeof covered[0]; i++) {
        char t[96], sql[320];
        mtd_sq_table(covered[i], t, sizeof t);
        snprintf(sql, sizeof sql, "SELECT DISTINCT device_id FROM %s WHERE upn IN (?1, ?2) AND device_id NOT IN"
                 " (SELECT device_id FROM devices WHERE upn IN (?1, ?2))", t);
        r = mtd_sq_sum_devices(s, sql, 2, p, kept);
    }
    return r;
}

int mtd_sqlite_user_delete(mtd_store *s, const char *upn, const char *alt, const char *actor, int *rows)
{
    *rows = 0;
    pthread_mutex_lock(&s->mu);
    const char *p[] = {upn, alt};
    json_t *gone = json_array(), *kept = json_array();
    int began = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK;
    int r = began ? 0 : MTD_EBUSY;
    if (r == 0)
        r = user_devices(s, p, gone, kept);
    if (r == 0)
        r = user_delete_locked(s, upn, alt, rows);
    /* the summaries name the user's devices: their rows leave with the delete, for
     * every report at once (mtd_sq_sum_delete_forget); on failure the rollback comes
     * before the unlock, so the rebuild of what was forgotten reads the restored rows */
    if (r == 0) {
        mtd_sq_sum_delete_lock(s);
        r = mtd_sq_sum_delete_forget(s, gone, kept);
        if (r == 0 && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            r = MTD_EIO;
        if (r)
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        mtd_sq_sum_delete_unlock(s, r == 0);
    } else if (began) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
    json_decref(gone);
    json_decref(kept);
    if (r == 0) {
        char detail[128];
        snprintf(detail, sizeof detail, "deleted %d event %s of one user", *rows,
                 mtd_plural(*rows, "record", "records"));
        mtd_sq_audit(s, actor, "user.delete", detail);
        /* the WAL still holds the old page images: fold it into the (securely
         * deleted) database file and truncate it, so no file keeps the user's data */
        mtd_sq_wal_truncate(s);
    }
    pthread_mutex_unlock(&s->mu);
    return r;
}

json_t *mtd_sqlite_event_rows(mtd_store *s, const char *event, const char *device_id, mtd_page *pg)
{
    const mtd_event_type *ev = mtd_schema_event(event);
    if (!ev)
        return NULL;
    char t[96], join[256], sql[384];
    mtd_sq_table(ev->name, t, sizeof t);
    mtd_sq_device_join(join, sizeof join, ev->name);
    if (device_id) /* the device's batches in row order, each batch's rows in row order */
        snprintf(sql, sizeof sql, "SELECT e.* FROM %s", join);
    else
        snprintf(sql, sizeof sql, "SELECT * FROM %s", t);
    const char *p[] = {device_id};
    return mtd_sq_report_keyed(s, sql, &mtd_row_keys, device_id ? 1 : 0, p, pg);
}

json_t *mtd_sqlite_event_rows_after(mtd_store *s, const char *event, int64_t after, int limit)
{
    const mtd_event_type *ev = mtd_schema_event(event);
    if (!ev)
        return NULL;
    char t[96], sql[256], a[24];
    mtd_sq_table(ev->name, t, sizeof t);
    snprintf(sql, sizeof sql, "SELECT * FROM %s WHERE row > CAST(? AS INTEGER) ORDER BY row LIMIT %d", t, limit);
    snprintf(a, sizeof a, "%lld", (long long)after);
    const char *p[] = {a};
    return mtd_sq_report(s, sql, 1, p);
}

int mtd_sqlite_event_cols_after(mtd_store *s, const char *event, int64_t after, int limit, const char *const *cols,
                                size_t ncols, mtd_store_cols *out)
{
    const mtd_event_type *ev = mtd_store_cols_start(event, cols, ncols, out);
    if (!ev)
        return MTD_EINVAL;
    char t[96];
    mtd_buf sql;
    mtd_buf_init(&sql, 0);
    mtd_sq_table(ev->name, t, sizeof t);
    mtd_buf_puts(&sql, "SELECT row");
    for (size_t c = 0; c < ncols; c++) /* names checked against the schema: no quote in them */
        mtd_buf_printf(&sql, ", \"%s\"", cols[c]);
    int r = mtd_buf_printf(&sql, " FROM %s WHERE row > ? ORDER BY row LIMIT ?", t) || mtd_buf_append(&sql, "", 1)
          ? MTD_ENOMEM : 0;
    int time_col[MTD_STORE_COLS_MAX];
    for (size_t c = 0; c < ncols; c++)
        time_col[c] = mtd_store_column_kind(cols[c]) == MTD_COL_TIME;
    pthread_mutex_lock(&s->pmu);
    sqlite3_stmt *st = NULL;
    if (r == 0 && sqlite3_prepare_v2(s->rp, (const char *)sql.data, -1, &st, NULL) != SQLITE_OK)
        r = MTD_EIO;
    if (r == 0) {
        sqlite3_bind_int64(st, 1, after);
        sqlite3_bind_int(st, 2, limit);
    }
    int rc = SQLITE_DONE;
    while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *v[MTD_STORE_COLS_MAX];
        size_t len[MTD_STORE_COLS_MAX];
        char tm[MTD_STORE_COLS_MAX][MTD_TIME_LEN];
        for (size_t c = 0; c < ncols; c++) {
            int ty = sqlite3_column_type(st, (int)c + 1);
            if (ty == SQLITE_INTEGER && time_col[c]) { /* as the API shows a time the store keeps in seconds */
                mtd_time_rfc3339((time_t)sqlite3_column_int64(st, (int)c + 1), tm[c]);
                v[c] = tm[c];
            } else {
                v[c] = ty == SQLITE_NULL ? NULL : (const char *)sqlite3_column_text(st, (int)c + 1);
            }
            len[c] = v[c] ? strlen(v[c]) : 0;
        }
        r = mtd_store_cols_add(out, sqlite3_column_int64(st, 0), v, len);
    }
    if (r == 0 && rc != SQLITE_DONE) /* a chunk cut short must not pass as whole */
        r = MTD_EIO;
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->pmu);
    mtd_buf_free(&sql);
    if (r) {
        mtd_store_cols_free(out);
        return r;
    }
    mtd_store_cols_done(out);
    return 0;
}

/* Batch records past the longest retention period: their rows, all received with
 * them, are gone, and the records would keep the device's pseudonym and the times it
 * uploaded. A batch resent after that would be stored again; its records left the
 * agent's spool when it was first acknowledged. */
static int prune_batches(mtd_store *s, const mtd_policy *p, int64_t now)
{
    int days = p->retention_required_days;
    days = p->retention_diagnostic_days > days ? p->retention_diagnostic_days : days;
    days = p->retention_feedback_days > days ? p->retention_feedback_days : days;
    char cutoff[32];
    snprintf(cutoff, sizeof cutoff, "%lld", (long long)(now - (int64_t)days * 86400));
    const char *pp[] = {cutoff};
    return mtd_sq_exec(s, "DELETE FROM batches WHERE received_at < CAST(? AS INTEGER)", 1, pp);
}

int mtd_sqlite_event_lines_after(mtd_store *s, const char *event, int64_t after, int limit,
                                mtd_buf *out, int64_t *last)
{
    const mtd_event_type *ev = mtd_schema_event(event);
    if (!ev)
        return MTD_EINVAL;
    pthread_mutex_lock(&s->pmu);
    sqlite3_stmt *st;
    int n = 0, rc = SQLITE_ERROR;
    if (sqlite3_prepare_v2(s->rp, s->line_sql[ev - mtd_event_types], -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, after);
        sqlite3_bind_int(st, 2, limit);
        int64_t at = -1;
        char t[MTD_TIME_LEN] = "";
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            *last = sqlite3_column_int64(st, 0);
            if (sqlite3_column_int64(st, 1) != at) { /* a batch's rows share it */
                at = sqlite3_column_int64(st, 1);
                mtd_time_rfc3339((time_t)at, t);
            }
            const char *obj = (const char *)sqlite3_column_text(st, 2); /* "{...}" of the rest */
            char head[96], num[24];
            int nl = 0;
            for (uint64_t v = (uint64_t)*last; v || !nl; v /= 10) /* snprintf per row cost ~10% */
                num[sizeof num - 1 - nl++] = (char)('0' + v % 10);
            size_t hl = 0;
            memcpy(head, "{\"row\":", 7), hl = 7;
            memcpy(head + hl, num + sizeof num - nl, (size_t)nl), hl += (size_t)nl;
            memcpy(head + hl, ",\"received_at\":\"", 16), hl += 16;
            memcpy(head + hl, t, 20), hl += 20;
            head[hl++] = '"';
            if (obj[1] != '}')
                head[hl++] = ',';
            if (mtd_buf_append(out, head, hl) ||
                mtd_buf_append(out, obj + 1, (size_t)sqlite3_column_bytes(st, 2) - 1) ||
                mtd_buf_puts(out, "\n")) {
                rc = SQLITE_NOMEM;
                break;
            }
            n++;
        }
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&s->pmu);
    return rc == SQLITE_DONE ? n : MTD_EIO;
}

/* Every table's expired rows, the batch records and the audit entry in one
 * transaction: a report sees the store before the run or after it, never some tables
 * pruned and others not (each DELETE was its own commit). */
static int retention_locked(mtd_store *s, const mtd_policy *p, int64_t now, int *deleted, int64_t *cut,
                            int *summarized, int *batches)
{
    int r = 0;
    for (size_t i = 0; i < mtd_event_ntypes && r == 0; i++) {
        const mtd_event_type *ev = &mtd_event_types[i];
        int days = ev->category == MTD_CAT_DIAGNOSTIC ? p->retention_diagnostic_days
                   : ev->category == MTD_CAT_FEEDBACK ? p->retention_feedback_days
                                                      : p->retention_required_days;
        char t[96], sql[200], cutoff[32];
        mtd_sq_table(ev->name, t, sizeof t);
        snprintf(sql, sizeof sql, "DELETE FROM %s WHERE received_at < ?", t);
        snprintf(cutoff, sizeof cutoff, "%lld", (long long)(now - (int64_t)days * 86400));
        const char *pp[] = {cutoff};
        int n = mtd_sq_exec(s, sql, 1, pp);
        if (n < 0)
            r = n;
        else
            *deleted += n;
        cut[i] = n > 0 ? now - (int64_t)days * 86400 : INT64_MIN;
        if (n > 0 && (mtd_sq_type_bit(ev) & s->sum_types))
            *summarized = 1;
    }
    *batches = r == 0 ? prune_batches(s, p, now) : 0;
    if (*batches < 0)
        return *batches;
    if (r == 0 && (*deleted > 0 || *batches > 0)) {
        char detail[160];
        snprintf(detail, sizeof detail, "retention: deleted %d %s and %d batch %s past their"
                 " retention period", *deleted, mtd_plural(*deleted, "record", "records"), *batches,
                 mtd_plural(*batches, "record", "records"));
        r = mtd_sq_audit(s, "retention", "retention.delete", detail);
    }
    return r;
}

int mtd_sqlite_retention(mtd_store *s, const mtd_policy *p, int64_t now, int *deleted)
{
    *deleted = 0;
    pthread_mutex_lock(&s->mu);
    int summarized = 0, batches = 0;
    int64_t cut[64]; /* per event type (a type is a bit of batches.types) */
    int r = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK ? 0 : MTD_EBUSY;
    if (r == 0)
        r = retention_locked(s, p, now, deleted, cut, &summarized, &batches);
    if (r == 0) {
        /* an app's latest row may now be an older one (or none): the summary rows
         * the deleted rows made leave with the delete, for every report at once
         * (mtd_sq_sum_delete_expired), and are built again from what stays */
        mtd_sq_sum_delete_lock(s);
        if (summarized)
            r = mtd_sq_sum_delete_expired(s, cut);
        if (r == 0 && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            r = MTD_EIO;
        mtd_sq_sum_delete_unlock(s, r == 0);
    }
    if (r) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        *deleted = 0; /* rolled back: nothing was */
    } else if (*deleted > 0 || batches > 0) {
        mtd_sq_wal_truncate(s);
    }
    pthread_mutex_unlock(&s->mu);
    return r;
}
