/* mtd_store_oidc: the tenant's OpenID Connect configuration and its sign-ins begun
 * (mtd_store.h), on SQLite; mtd_store_pg_oidc.c keeps the same on PostgreSQL. */
#include "store/mtd_store_sqlite_int.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int mtd_sqlite_oidc_get(mtd_store *s, char *json, size_t len)
{
    return mtd_sq_read(s, "SELECT json FROM oidc WHERE id=?", "1", json, len);
}

int mtd_sqlite_oidc_set(mtd_store *s, const char *json)
{
    const char *p[] = {json};
    pthread_mutex_lock(&s->mu);
    int r = json ? mtd_sq_exec(s, "INSERT INTO oidc(id, json) VALUES(1, ?) ON CONFLICT(id) DO UPDATE"
                                  " SET json=excluded.json", 1, p)
                 : mtd_sq_exec(s, "DELETE FROM oidc", 0, NULL);
    pthread_mutex_unlock(&s->mu);
    return r < 0 ? r : !json && r == 0 ? MTD_ENOENT : 0;
}

int mtd_sqlite_oidc_login_add(mtd_store *s, const mtd_oidc_login *l)
{
    char now[24], exp[24], n[24];
    mtd_sq_now(now, sizeof now);
    snprintf(exp, sizeof exp, "%lld", (long long)l->expires_at);
    const char *pn[] = {now}, *p[] = {l->state_hash, l->verifier, l->nonce, exp};
    pthread_mutex_lock(&s->mu);
    int r = mtd_sq_exec(s, "DELETE FROM oidc_logins WHERE expires_at <= CAST(? AS INTEGER)", 1, pn);
    if (r >= 0)
        r = mtd_sq_read(s, "SELECT count(*) FROM oidc_logins", NULL, n, sizeof n);
    if (r >= 0 && atoi(n) >= MTD_OIDC_PENDING_MAX)
        r = MTD_ENOSPC;
    if (r >= 0)
        r = mtd_sq_exec(s, "INSERT INTO oidc_logins(state_hash, verifier, nonce, expires_at)"
                           " VALUES(?, ?, ?, CAST(? AS INTEGER))", 4, p);
    pthread_mutex_unlock(&s->mu);
    return r < 0 ? r : 0;
}

/* "verifier nonce" split into the caller's buffers. */
int mtd_oidc_login_split(const char *both, char *verifier, char *nonce)
{
    const char *sp = strchr(both, ' ');
    if (!sp || (size_t)(sp - both) >= MTD_OIDC_SECRET_LEN || strlen(sp + 1) >= MTD_OIDC_SECRET_LEN)
        return MTD_ECORRUPT;
    snprintf(verifier, MTD_OIDC_SECRET_LEN, "%.*s", (int)(sp - both), both);
    snprintf(nonce, MTD_OIDC_SECRET_LEN, "%s", sp + 1);
    return 0;
}

int mtd_sqlite_oidc_login_take(mtd_store *s, const char *state_hash, char *verifier, char *nonce)
{
    char both[2 * MTD_OIDC_SECRET_LEN + 2] = "";
    sqlite3_stmt *st;
    int r = MTD_EIO;
    pthread_mutex_lock(&s->mu);
    /* one statement deletes and answers, so two callbacks with one state cannot both
     * take it */
    if (sqlite3_prepare_v2(s->db, "DELETE FROM oidc_logins WHERE state_hash=?1 AND expires_at >"
                                  " CAST(strftime('%s','now') AS INTEGER) RETURNING verifier || ' ' || nonce",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, state_hash, -1, SQLITE_TRANSIENT);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            mtd_strlcpy(both, (const char *)sqlite3_column_text(st, 0), sizeof both);
        r = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? MTD_ENOENT : MTD_EIO;
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&s->mu);
    return r ? r : mtd_oidc_login_split(both, verifier, nonce);
}
