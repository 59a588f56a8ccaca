/* mtd_store_pg_oidc (PostgreSQL backend): the OpenID Connect configuration and the
 * sign-ins begun, as mtd_store_oidc.c keeps them on SQLite. A sign-in begun on one
 * collector may finish on another: both read the tenant's schema. */
#include "store/mtd_store_pg_int.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mtd_pg_oidc_get(mtd_store *st, char *json, size_t len)
{
    return mtd_pg_read(mtd_pg_of(st), "SELECT json FROM oidc WHERE id=$1::bigint", "1", json, len);
}

int mtd_pg_oidc_set(mtd_store *st, const char *json)
{
    const char *p[] = {json};
    int r = json ? mtd_pg_exec(mtd_pg_of(st), "INSERT INTO oidc(id, json) VALUES(1, $1) ON CONFLICT(id) DO UPDATE"
                                              " SET json=excluded.json", 1, p)
                 : mtd_pg_exec(mtd_pg_of(st), "DELETE FROM oidc", 0, NULL);
    return r < 0 ? r : !json && r == 0 ? MTD_ENOENT : 0;
}

int mtd_pg_oidc_login_add(mtd_store *st, const mtd_oidc_login *l)
{
    char exp[24], max[24];
    snprintf(exp, sizeof exp, "%lld", (long long)l->expires_at);
    snprintf(max, sizeof max, "%d", MTD_OIDC_PENDING_MAX);
    int r = mtd_pg_exec(mtd_pg_of(st), "DELETE FROM oidc_logins WHERE expires_at <= extract(epoch FROM now())::bigint",
                        0, NULL);
    const char *p[] = {l->state_hash, l->verifier, l->nonce, exp, max};
    /* the cap in the INSERT itself (two collectors may pass it by one, which it allows) */
    if (r >= 0)
        r = mtd_pg_exec(mtd_pg_of(st), "INSERT INTO oidc_logins(state_hash, verifier, nonce, expires_at)"
                                       " SELECT $1, $2, $3, $4::bigint WHERE (SELECT count(*) FROM oidc_logins)"
                                       " < $5::bigint", 5, p);
    return r < 0 ? r : r == 0 ? MTD_ENOSPC : 0;
}

int mtd_pg_oidc_login_take(mtd_store *st, const char *state_hash, char *verifier, char *nonce)
{
    char both[2 * MTD_OIDC_SECRET_LEN + 2];
    int r = mtd_pg_read(mtd_pg_of(st), "DELETE FROM oidc_logins WHERE state_hash=$1 AND expires_at >"
                                       " extract(epoch FROM now())::bigint RETURNING verifier || ' ' || nonce",
                        state_hash, both, sizeof both);
    return r ? r : mtd_oidc_login_split(both, verifier, nonce);
}
