/* mtd_store_pg_creds: the PostgreSQL backend's device credentials, bound to their
 * device at enrollment, as mtd_store_creds.c does on SQLite (which says the rules).
 *
 * An enrollment is one transaction on one connection of the tenant. Several
 * collectors may enroll at once, so where SQLite has its one writer, PostgreSQL has
 * locks: the token's row is locked by the UPDATE that takes one of its uses (two uses
 * of a token's last use cannot both pass), and the device by a transaction-scoped
 * advisory lock on its pseudonym (two enrollments of one device, through two tokens
 * or two collectors, are made one after the other, so the second sees the first's
 * credential). */
#include "store/mtd_store_pg_int.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define APPROVAL_TTL_S (7 * 86400)

typedef struct {
    mtd_pg_store *s;
    mtd_pg_conn *k;
    char now[24];
} enroll_tx;

static int q(enroll_tx *t, const char *sql, int n, const char *const *p, PGresult **res)
{
    return mtd_pg_query(t->s->cl, t->k, sql, n, p, res);
}

/* Rows a command changed, or a negative code. */
static int changes(enroll_tx *t, const char *sql, int n, const char *const *p)
{
    PGresult *res;
    int r = q(t, sql, n, p, &res);
    if (r)
        return r;
    r = atoi(PQcmdTuples(res));
    PQclear(res);
    return r;
}

/* The first column of the first row ("" when NULL), or MTD_ENOENT. */
static int text_of(enroll_tx *t, const char *sql, int n, const char *const *p, char *out, size_t len)
{
    PGresult *res;
    int r = q(t, sql, n, p, &res);
    if (r)
        return r;
    r = PQntuples(res) ? 0 : MTD_ENOENT;
    if (r == 0)
        mtd_strlcpy(out, PQgetisnull(res, 0, 0) ? "" : PQgetvalue(res, 0, 0), len);
    PQclear(res);
    return r;
}

static int may_return(enroll_tx *t, const char *dev, int policy_approval, mtd_enroll_out *out)
{
    const char *p[] = {dev, t->now};
    int r = changes(t, "DELETE FROM reenroll_approvals WHERE device_id=$1 AND expires_at>$2::bigint", 2, p);
    if (r < 0)
        return r;
    if (r > 0) {
        out->how = "approved";
        return 0;
    }
    if (policy_approval)
        return MTD_EPERM;
    char why[32];
    if ((r = text_of(t, "SELECT coalesce(revoked_reason, '') FROM credentials WHERE device_id=$1"
                        " ORDER BY created_at DESC, seq DESC LIMIT 1", 1, p, why, sizeof why)) != 0)
        return r;
    if (!strcmp(why, "retired"))
        return MTD_EPERM;
    out->how = "after_revoke";
    return 0;
}

static int enroll_in(enroll_tx *t, const mtd_enroll_req *e, mtd_enroll_out *out)
{
    const char *pt[] = {t->now, e->token_hash};
    int r = changes(t, "UPDATE tokens SET uses=uses+1 WHERE hash=$2 AND role='enroll' AND revoked_at IS NULL"
                       " AND (expires_at IS NULL OR expires_at>$1::bigint) AND (max_uses IS NULL OR uses<max_uses)",
                    2, pt);
    if (r <= 0)
        return r < 0 ? r : MTD_EAUTH;
    const char *pd[] = {e->device_id};
    if ((r = q(t, "SELECT pg_advisory_xact_lock(hashtext('enroll:' || $1))", 1, pd, NULL)) != 0)
        return r;
    char live[16] = "";
    r = text_of(t, "SELECT substr(hash, 1, 12) FROM credentials WHERE device_id=$1 AND revoked_at IS NULL"
                   " LIMIT 1", 1, pd, live, sizeof live);
    if (r && r != MTD_ENOENT)
        return r;
    out->how = "new";
    if (live[0] && e->replaces_hash && !strncmp(e->replaces_hash, live, 12)) {
        const char *pr[] = {t->now, e->replaces_hash, e->device_id};
        if ((r = changes(t, "UPDATE credentials SET revoked_at=$1, revoked_reason='replaced' WHERE hash=$2"
                            " AND device_id=$3 AND revoked_at IS NULL", 3, pr)) < 0)
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
    char had[8] = "";
    if (strcmp(out->how, "replaced") &&
        (r = text_of(t, "SELECT 1 FROM credentials WHERE device_id=$1 LIMIT 1", 1, pd, had, sizeof had)) == 0 &&
        (r = may_return(t, e->device_id, e->approval_policy, out)) != 0)
        return r;
    if (r && r != MTD_ENOENT)
        return r;
    char tid[16];
    snprintf(tid, sizeof tid, "%.12s", e->token_hash);
    const char *pc[] = {e->cred_hash, e->device_id, t->now, e->upn[0] ? e->upn : NULL,
                        e->dir_user_id[0] ? e->dir_user_id : NULL,
                        e->dir_device_id[0] ? e->dir_device_id : NULL, e->org_id, tid};
    r = changes(t, "INSERT INTO credentials(hash, device_id, created_at, upn, dir_user_id, dir_device_id,"
                   " org_id, token_id) VALUES($1, $2, $3, $4, $5, $6, $7, $8)", 8, pc);
    return r < 0 ? r : 0;
}

int mtd_pg_enroll(mtd_store *st, const mtd_enroll_req *e, mtd_enroll_out *out)
{
    memset(out, 0, sizeof *out);
    enroll_tx t = {.s = mtd_pg_of(st)};
    snprintf(t.now, sizeof t.now, "%lld", (long long)time(NULL));
    int r = mtd_pg_acquire(t.s->cl, t.s->id, &t.k);
    if (r)
        return r;
    if ((r = q(&t, "BEGIN", 0, NULL, NULL)) == 0) {
        r = enroll_in(&t, e, out);
        if (r == 0)
            r = q(&t, "COMMIT", 0, NULL, NULL);
        else
            q(&t, "ROLLBACK", 0, NULL, NULL);
    }
    mtd_pg_release(t.s->cl, t.k);
    return r;
}

int mtd_pg_cred_lookup(mtd_store *st, const char *hash, mtd_cred_binding *b)
{
    memset(b, 0, sizeof *b);
    const char *p[] = {hash};
    PGresult *res;
    int r = mtd_pg_run_prepared(mtd_pg_of(st), "SELECT coalesce(device_id, ''), coalesce(upn, ''), coalesce(dir_user_id, ''),"
                                      " coalesce(dir_device_id, ''), coalesce(org_id, ''), first_used IS NOT NULL"
                                      " FROM credentials WHERE hash=$1 AND revoked_at IS NULL", 1, p, &res);
    if (r)
        return r;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return MTD_EAUTH;
    }
    char *dst[] = {b->device_id, b->upn, b->dir_user_id, b->dir_device_id, b->org_id};
    size_t len[] = {sizeof b->device_id, sizeof b->upn, sizeof b->dir_user_id, sizeof b->dir_device_id,
                    sizeof b->org_id};
    for (int i = 0; i < 5; i++)
        mtd_strlcpy(dst[i], PQgetvalue(res, 0, i), len[i]);
    b->used = PQgetvalue(res, 0, 5)[0] == 't';
    PQclear(res);
    return 0;
}

static void now_s(char *b, size_t n)
{
    snprintf(b, n, "%lld", (long long)time(NULL));
}

int mtd_pg_cred_used(mtd_store *st, const char *hash)
{
    char now[24];
    now_s(now, sizeof now);
    const char *p[] = {now, hash};
    int r = mtd_pg_exec(mtd_pg_of(st), "UPDATE credentials SET first_used=$1 WHERE hash=$2 AND first_used IS NULL",
                        2, p);
    return r < 0 ? r : 0;
}

json_t *mtd_pg_cred_list(mtd_store *st, const char *device_id, mtd_page *pg)
{
    const char *p[] = {device_id};
    return mtd_pg_report(mtd_pg_of(st), "SELECT substr(hash, 1, 12) AS id, device_id, upn, dir_user_id,"
                                        " dir_device_id, org_id, token_id, created_at, first_used, revoked_at,"
                                        " revoked_reason FROM credentials WHERE $1::text IS NULL OR device_id=$1"
                                        " ORDER BY created_at, seq", 1, p, pg);
}

/* Revokes the live credentials matching where (a condition on $3), with a reason. */
static int revoke_where(mtd_pg_store *s, const char *where, const char *param, const char *reason, int *revoked)
{
    char now[24], sql[300];
    now_s(now, sizeof now);
    snprintf(sql, sizeof sql, "UPDATE credentials SET revoked_at=$1, revoked_reason=$2 WHERE %s AND"
                              " revoked_at IS NULL", where);
    const char *p[] = {now, reason, param};
    int r = mtd_pg_exec(s, sql, 3, p);
    *revoked = r < 0 ? 0 : r;
    return r < 0 ? r : 0;
}

int mtd_pg_cred_revoke(mtd_store *st, const char *id, const char *reason, char *device_id, size_t dlen)
{
    if (strlen(id) != 12 || strspn(id, "0123456789abcdef") != 12)
        return MTD_ENOENT;
    char now[24];
    now_s(now, sizeof now);
    const char *p[] = {now, reason, id};
    PGresult *res;
    int r = mtd_pg_run(mtd_pg_of(st), "UPDATE credentials SET revoked_at=$1, revoked_reason=$2 WHERE"
                                      " substr(hash, 1, 12)=$3 AND revoked_at IS NULL"
                                      " RETURNING coalesce(device_id, '')", 3, p, &res);
    if (r)
        return r;
    r = PQntuples(res) ? 0 : MTD_ENOENT;
    if (r == 0)
        mtd_strlcpy(device_id, PQgetvalue(res, 0, 0), dlen);
    PQclear(res);
    return r;
}

int mtd_pg_device_retire(mtd_store *st, const char *device_id, int *revoked)
{
    int r = revoke_where(mtd_pg_of(st), "device_id=$3", device_id, "retired", revoked);
    return r < 0 ? r : *revoked == 0 ? MTD_ENOENT : 0;
}

int mtd_pg_token_revoke_unused(mtd_store *st, const char *token_id, int *revoked)
{
    return revoke_where(mtd_pg_of(st), "token_id=$3 AND first_used IS NULL", token_id, "token_revoked", revoked);
}

int mtd_pg_reenroll_approve(mtd_store *st, const char *device_id, const char *actor)
{
    char now[24], until[24];
    now_s(now, sizeof now);
    snprintf(until, sizeof until, "%lld", (long long)time(NULL) + APPROVAL_TTL_S);
    const char *p[] = {device_id, now, actor, until};
    /* one statement: the approval is written only for a device that had credentials */
    int r = mtd_pg_exec(mtd_pg_of(st), "INSERT INTO reenroll_approvals(device_id, approved_at, approved_by, expires_at)"
                                       " SELECT $1, $2::bigint, $3, $4::bigint WHERE EXISTS (SELECT 1 FROM credentials"
                                       " WHERE device_id=$1) ON CONFLICT(device_id) DO UPDATE SET"
                                       " approved_at=excluded.approved_at, approved_by=excluded.approved_by,"
                                       " expires_at=excluded.expires_at", 4, p);
    return r < 0 ? r : r == 0 ? MTD_ENOENT : 0;
}
