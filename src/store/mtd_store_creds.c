/* mtd_store_creds: device credentials, bound to their device at enrollment.
 *
 * A credential row is written once, at enrollment, with the device pseudonym and the
 * directory and UPN pseudonyms and organization the agent presented; nothing binds it
 * later. The enrollment is one transaction on the writer connection (under s->mu, as
 * every write): the enrollment token's use is taken, the device's earlier credentials
 * are looked at, and the new row written, so two enrollments of one device, or two
 * uses of a token's last use, cannot both pass. A device that has a live credential is
 * refused; one that had a credential comes back only after that credential was revoked
 * (policy reenroll=after_revoke), or with an admin's approval (always under
 * reenroll=approval, and after a retirement). */
#include "store/mtd_store_sqlite_int.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define APPROVAL_TTL_S (7 * 86400)

static int has_column(mtd_store *s, const char *table, const char *col)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT 1 FROM pragma_table_info('%s') WHERE name=?", table);
    int r = 0; /* at open, before any other thread has the store */
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, col, -1, SQLITE_STATIC);
        r = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
    }
    return r;
}

int mtd_sq_creds_migrate(mtd_store *s)
{
    static const char *const cols[][2] = {
        {"credentials", "upn TEXT"}, {"credentials", "dir_user_id TEXT"},
        {"credentials", "dir_device_id TEXT"}, {"credentials", "org_id TEXT"},
        {"credentials", "token_id TEXT"}, {"credentials", "first_used INTEGER"},
        {"credentials", "revoked_reason TEXT"},
        {"tokens", "expires_at INTEGER"}, {"tokens", "max_uses INTEGER"},
        {"tokens", "uses INTEGER NOT NULL DEFAULT 0"}};
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
        char name[32], sql[200];
        sscanf(cols[i][1], "%31s", name);
        if (has_column(s, cols[i][0], name))
            continue;
        snprintf(sql, sizeof sql, "ALTER TABLE %s ADD COLUMN %s", cols[i][0], cols[i][1]);
        if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
            return MTD_EIO;
    }
    return sqlite3_exec(s->db, "CREATE INDEX IF NOT EXISTS credentials_device ON credentials(device_id);"
                               "CREATE TABLE IF NOT EXISTS reenroll_approvals(device_id TEXT PRIMARY KEY,"
                               " approved_at INTEGER NOT NULL, approved_by TEXT, expires_at INTEGER NOT NULL)",
                        NULL, NULL, NULL) == SQLITE_OK ? 0 : MTD_EIO;
}

/* One integer of a one-row query with text parameters; -1 when no row. */
static int64_t int_of(mtd_store *s, const char *sql, int n, const char *const *p)
{
    sqlite3_stmt *st;
    int64_t v = -1;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return -2;
    for (int i = 0; i < n; i++)
        sqlite3_bind_text(st, i + 1, p[i], -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_type(st, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* May this device (which had credentials, none live) enroll again? Takes an approval
 * when one is waiting. */
static int may_return(mtd_store *s, const char *dev, int policy_approval, const char *now, mtd_enroll_out *out)
{
    const char *p[] = {dev, now};
    if (int_of(s, "SELECT 1 FROM reenroll_approvals WHERE device_id=? AND expires_at>CAST(? AS INTEGER)", 2, p) == 1) {
        mtd_sq_exec(s, "DELETE FROM reenroll_approvals WHERE device_id=?", 1, p);
        out->how = "approved";
        return 0;
    }
    if (policy_approval)
        return MTD_EPERM;
    /* after_revoke: the device's last credential was revoked by an admin, not retired */
    const char *q[] = {dev};
    int64_t retired = int_of(s, "SELECT revoked_reason='retired' FROM credentials WHERE device_id=?"
                                " ORDER BY created_at DESC, rowid DESC LIMIT 1", 1, q);
    if (retired == 1)
        return MTD_EPERM;
    out->how = "after_revoke";
    return 0;
}

static int enroll_locked(mtd_store *s, const mtd_enroll_req *e, mtd_enroll_out *out)
{
    char now[32];
    mtd_sq_now(now, sizeof now);
    const char *pt[] = {now, e->token_hash};
    int r = mtd_sq_exec(s, "UPDATE tokens SET uses=uses+1 WHERE hash=?2 AND role='enroll' AND revoked_at IS NULL"
                           " AND (expires_at IS NULL OR expires_at>CAST(?1 AS INTEGER))"
                           " AND (max_uses IS NULL OR uses<max_uses)", 2, pt);
    if (r < 0)
        return r;
    if (r == 0)
        return MTD_EAUTH; /* revoked, expired or used up since the request was admitted */
    const char *pd[] = {e->device_id};
    char live[16] = "";
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT substr(hash,1,12) FROM credentials WHERE device_id=? AND"
                                  " revoked_at IS NULL LIMIT 1", -1, &st, NULL) != SQLITE_OK)
        return MTD_EIO;
    sqlite3_bind_text(st, 1, e->device_id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        mtd_strlcpy(live, (const char *)sqlite3_column_text(st, 0), sizeof live);
    sqlite3_finalize(st);
    out->how = "new";
    if (live[0] && e->replaces_hash && !strncmp(e->replaces_hash, live, 12)) {
        /* the holder of the device's credential trades it for a new one */
        const char *pr[] = {now, e->replaces_hash, e->device_id};
        if ((r = mtd_sq_exec(s, "UPDATE credentials SET revoked_at=?, revoked_reason='replaced' WHERE hash=?"
                                " AND device_id=? AND revoked_at IS NULL", 3, pr)) < 0)
            return r;
        if (r == 1) {
            live[0] = 0;
            out->how = "replaced";
        }
    }
    if (live[0]) {
        mtd_strlcpy(out->live_id, live, sizeof out->live_id);
        return MTD_EEXIST;
    }
    if (strcmp(out->how, "replaced") && int_of(s, "SELECT count(*) FROM credentials WHERE device_id=?", 1, pd) > 0 &&
        (r = may_return(s, e->device_id, e->approval_policy, now, out)) != 0)
        return r;
    char tid[16];
    snprintf(tid, sizeof tid, "%.12s", e->token_hash);
    const char *pc[] = {e->cred_hash, e->device_id, now, e->upn[0] ? e->upn : NULL,
                        e->dir_user_id[0] ? e->dir_user_id : NULL,
                        e->dir_device_id[0] ? e->dir_device_id : NULL, e->org_id, tid};
    r = mtd_sq_exec(s, "INSERT INTO credentials(hash, device_id, created_at, upn, dir_user_id, dir_device_id,"
                       " org_id, token_id) VALUES(?,?,?,?,?,?,?,?)", 8, pc);
    return r < 0 ? r : 0;
}

int mtd_sqlite_enroll(mtd_store *s, const mtd_enroll_req *e, mtd_enroll_out *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&s->mu);
    int r = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK ? 0 : MTD_EBUSY;
    if (r == 0) {
        r = enroll_locked(s, e, out);
        if (sqlite3_exec(s->db, r == 0 ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK && r == 0) {
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            r = MTD_EIO;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return r;
}

int mtd_sqlite_cred_lookup(mtd_store *s, const char *hash, mtd_cred_binding *b)
{
    memset(b, 0, sizeof *b);
    pthread_mutex_lock(&s->rmu);
    sqlite3_stmt *st = mtd_sq_cached(s->rd, &s->rd_cache,
                                     "SELECT coalesce(device_id,''), coalesce(upn,''), coalesce(dir_user_id,''),"
                                     " coalesce(dir_device_id,''), coalesce(org_id,''), first_used IS NOT NULL"
                                     " FROM credentials WHERE hash=? AND revoked_at IS NULL");
    int r = MTD_EIO;
    if (st) {
        sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            char *dst[] = {b->device_id, b->upn, b->dir_user_id, b->dir_device_id, b->org_id};
            size_t len[] = {sizeof b->device_id, sizeof b->upn, sizeof b->dir_user_id,
                            sizeof b->dir_device_id, sizeof b->org_id};
            for (int i = 0; i < 5; i++)
                mtd_strlcpy(dst[i], (const char *)sqlite3_column_text(st, i) ?: "", len[i]);
            b->used = sqlite3_column_int(st, 5);
            r = 0;
        } else {
            r = rc == SQLITE_DONE ? MTD_EAUTH : MTD_EIO;
        }
        mtd_sq_done(st);
    }
    pthread_mutex_unlock(&s->rmu);
    return r;
}

int mtd_sqlite_cred_used(mtd_store *s, const char *hash)
{
    char now[32];
    mtd_sq_now(now, sizeof now);
    const char *p[] = {now, hash};
    pthread_mutex_lock(&s->mu);
    int r = mtd_sq_exec(s, "UPDATE credentials SET first_used=? WHERE hash=? AND first_used IS NULL", 2, p);
    pthread_mutex_unlock(&s->mu);
    return r < 0 ? r : 0;
}

json_t *mtd_sqlite_cred_list(mtd_store *s, const char *device_id, mtd_page *pg)
{
    const char *p[] = {device_id};
    return mtd_sq_report_page(s, "SELECT substr(hash,1,12) AS id, device_id, upn, dir_user_id, dir_device_id,"
                                 " org_id, token_id, created_at, first_used, revoked_at, revoked_reason"
                                 " FROM credentials WHERE ?1 IS NULL OR device_id=?1 ORDER BY created_at, rowid",
                              1, p, pg);
}

int mtd_sqlite_cred_revoke(mtd_store *s, const char *id, const char *reason, char *device_id, size_t dlen)
{
    if (strlen(id) != 12 || strspn(id, "0123456789abcdef") != 12)
        return MTD_ENOENT;
    char now[32];
    mtd_sq_now(now, sizeof now);
    const char *p[] = {now, reason, id};
    pthread_mutex_lock(&s->mu);
    int r = mtd_sq_read(s, "SELECT coalesce(device_id,'') FROM credentials WHERE substr(hash,1,12)=?"
                           " AND revoked_at IS NULL", id, device_id, dlen);
    if (r == 0)
        r = mtd_sq_exec(s, "UPDATE credentials SET revoked_at=?, revoked_reason=? WHERE substr(hash,1,12)=?"
                           " AND revoked_at IS NULL", 3, p);
    pthread_mutex_unlock(&s->mu);
    return r < 0 ? r : r == 0 ? MTD_ENOENT : 0;
}

int mtd_sq_creds_revoke(mtd_store *s, const char *where, const char *param, const char *reason, int *revoked)
{
    char now[32], sql[300];
    mtd_sq_now(now, sizeof now);
    snprintf(sql, sizeof sql, "UPDATE credentials SET revoked_at=?1, revoked_reason=?2 WHERE %s AND"
                              " revoked_at IS NULL", where);
    const char *p[] = {now, reason, param};
    pthread_mutex_lock(&s->mu);
    int r = mtd_sq_exec(s, sql, 3, p);
    pthread_mutex_unlock(&s->mu);
    *revoked = r < 0 ? 0 : r;
    return r < 0 ? r : 0;
}

int mtd_sqlite_token_revoke_unused(mtd_store *s, const char *token_id, int *revoked)
{
    return mtd_sq_creds_revoke(s, "token_id=?3 AND first_used IS NULL", token_id, "token_revoked", revoked);
}

int mtd_sqlite_reenroll_approve(mtd_store *s, const char *device_id, const char *actor)
{
    char now[32], until[32];
    mtd_sq_now(now, sizeof now);
    snprintf(until, sizeof until, "%lld", (long long)time(NULL) + APPROVAL_TTL_S);
    const char *p[] = {device_id, now, actor, until};
    pthread_mutex_lock(&s->mu);
    int r = int_of(s, "SELECT count(*) FROM credentials WHERE device_id=?", 1, p) > 0 ? 0 : MTD_ENOENT;
    if (r == 0)
        r = mtd_sq_exec(s, "INSERT INTO reenroll_approvals(device_id, approved_at, approved_by, expires_at)"
                           " VALUES(?,?,?,CAST(? AS INTEGER)) ON CONFLICT(device_id) DO UPDATE SET"
                           " approved_at=excluded.approved_at, approved_by=excluded.approved_by,"
                           " expires_at=excluded.expires_at", 4, p);
    pthread_mutex_unlock(&s->mu);
    return r < 0 ? r : 0;
}
