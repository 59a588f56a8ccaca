/* mtd_store_pg_ddl: the PostgreSQL backend's schemas, roles and migrations, and the
 * tenant registry.
 *
 * The cluster holds one schema of its own, `mtd` (the tenants, their keys, the
 * operator token's hash, the migrations applied), readable only by the collector's
 * login role, and per tenant:
 *   - a role mtd_t_<id> (NOLOGIN), which the collector's role is a member of and SETs
 *     before it runs any of the tenant's SQL; it may use its own schema only;
 *   - a schema t_<id> owned by the collector's role, with the same tables as a SQLite
 *     store (derived from the one schema table: one table per event type, one column
 *     per field), on which the tenant's role has SELECT, INSERT, UPDATE, DELETE;
 *   - row-level security on every table, forced (it binds the owner too): a row is
 *     visible and writable only while the current role is the tenant's, and an event
 *     row only with the tenant's ID in tenant_id. A second fence behind the grants: a
 *     grant made too widely by mistake still shows another role nothing.
 *
 * Migrations run at start under an advisory lock, so collectors starting together
 * migrate once: the numbered steps of `mtd` (global_steps), then every tenant whose
 * schema was made by other DDL than this build's (its digest differs), brought up by
 * the tenant DDL, which is idempotent (IF NOT EXISTS throughout). */
#include "store/mtd_store_pg_int.h"
#include "common/mtd_err.h"
#include "common/mtd_log.h"
#include "common/mtd_util.h"
#include "schema/mtd_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* pg_advisory_lock key of the migrations ("mtd-migr") */
#define MIGRATION_LOCK "7885668739591221874"

void mtd_pg_table(const char *ev, char *out, size_t outlen)
{
    snprintf(out, outlen, "ev_%s", ev);
    for (char *p = out; *p; p++)
        if (*p == '.')
            *p = '_';
}

int mtd_pg_device_join(char *out, size_t len, const char *event)
{
    const mtd_event_type *ev = mtd_schema_event(event);
    char t[96];
    mtd_pg_table(event, t, sizeof t);
    return snprintf(out, len, "batches b JOIN %s e ON e.\"row\" BETWEEN b.first_row AND b.last_row"
                              " WHERE b.device_id=$1 AND b.types & %lld <> 0 AND e.device_id=$1",
                    t, ev ? (long long)((int64_t)1 << (ev - mtd_event_types)) : 0LL);
}

int mtd_pg_device_rows(char *out, size_t len, const char *event)
{
    char join[256];
    mtd_pg_device_join(join, sizeof join, event);
    return snprintf(out, len, " AND \"row\" IN (SELECT e.\"row\" FROM %s)", join);
}

/* The tables that are not event tables, as on SQLite (mtd_store_sqlite.c). */
/* Text compares and sorts byte by byte, as on SQLite, whatever the database's locale. */
#define T "text COLLATE \"C\""

static const char base_ddl[] =
    "CREATE TABLE IF NOT EXISTS tokens(hash " T " PRIMARY KEY, role " T " NOT NULL, label " T ","
    " created_at bigint NOT NULL, revoked_at bigint, expires_at bigint, max_uses bigint,"
    " uses bigint NOT NULL DEFAULT 0);"
    /* seq: the order of two credentials made in one second (SQLite's rowid) */
    "CREATE TABLE IF NOT EXISTS credentials(hash " T " PRIMARY KEY, seq bigserial, device_id " T ","
    " created_at bigint NOT NULL, revoked_at bigint, upn " T ", dir_user_id " T ","
    " dir_device_id " T ", org_id " T ", token_id " T ", first_used bigint, revoked_reason " T ");"
    "CREATE INDEX IF NOT EXISTS credentials_device ON credentials(device_id);"
    "CREATE TABLE IF NOT EXISTS reenroll_approvals(device_id " T " PRIMARY KEY,"
    " approved_at bigint NOT NULL, approved_by " T ", expires_at bigint NOT NULL);"
    "CREATE TABLE IF NOT EXISTS devices(device_id " T " PRIMARY KEY, first_seen bigint,"
    " last_seen bigint, upn " T ", dir_user_id " T ", dir_device_id " T ", org_id " T ","
    " consent bigint NOT NULL DEFAULT 0, consent_time bigint, info_row bigint);"
    "CREATE TABLE IF NOT EXISTS batches(idem_key " T " PRIMARY KEY, device_id " T ","
    " received_at bigint NOT NULL, events bigint NOT NULL, first_row bigint, last_row bigint,"
    " types bigint NOT NULL DEFAULT -1);"
    "CREATE INDEX IF NOT EXISTS batches_device ON batches(device_id, first_row, last_row, types);"
    "CREATE TABLE IF NOT EXISTS policy(id bigint PRIMARY KEY CHECK(id=1), json " T " NOT NULL);"
    /* device groups (mtd_store_pg_groups.c) */
    "CREATE TABLE IF NOT EXISTS groups(name " T " PRIMARY KEY, policy " T " NOT NULL);"
    "CREATE TABLE IF NOT EXISTS device_groups(device_id " T " PRIMARY KEY, grp " T " NOT NULL);"
    "CREATE INDEX IF NOT EXISTS device_groups_grp ON device_groups(grp);"
    "CREATE TABLE IF NOT EXISTS token_groups(hash " T " PRIMARY KEY, grp " T " NOT NULL);"
    "CREATE TABLE IF NOT EXISTS audit(id bigserial PRIMARY KEY, time bigint NOT NULL,"
    " actor " T " NOT NULL, action " T " NOT NULL, detail " T ", device_id " T ");"
    /* what admins wrote about a device's threat (how it was handled) */
    "CREATE TABLE IF NOT EXISTS threat_notes(id bigserial PRIMARY KEY, time bigint NOT NULL,"
    " device_id " T " NOT NULL, threat_id " T " NOT NULL, actor " T " NOT NULL, note " T " NOT NULL);"
    /* suppression rules (mtd_store_pg_supp.c) */
    "CREATE TABLE IF NOT EXISTS suppressions(id bigserial PRIMARY KEY, kind " T " NOT NULL,"
    " value " T " NOT NULL, device_id " T ", grp " T ", expires_at bigint, reason " T ","
    " created_at bigint NOT NULL, actor " T " NOT NULL);"
    /* OpenID Connect sign-in (mtd_store_pg_oidc.c) */
    "CREATE TABLE IF NOT EXISTS oidc(id bigint PRIMARY KEY CHECK(id=1), json " T " NOT NULL);"
    "CREATE TABLE IF NOT EXISTS oidc_logins(state_hash " T " PRIMARY KEY, verifier " T " NOT NULL,"
    " nonce " T " NOT NULL, expires_at bigint NOT NULL);"
    /* feeds live here, not in a collector's directory, so every collector serves them */
    "CREATE TABLE IF NOT EXISTS feeds(name " T " PRIMARY KEY, sha256 " T " NOT NULL,"
    " size bigint NOT NULL, updated " T " NOT NULL, data bytea NOT NULL);"
    /* event rows are numbered across the event tables, as on SQLite, so that a batch's
     * rows are one range; each group commit takes a block of numbers (a batch holds at
     * most 50,000 events), so numbers grow with time across collectors */
    "CREATE SEQUENCE IF NOT EXISTS event_rows INCREMENT BY 65536;"
    /* the audit log is append-only, but for the one change a user's deletion makes */
    "CREATE OR REPLACE FUNCTION audit_guard() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN"
    " IF TG_OP = 'UPDATE' AND NEW.device_id IS NULL AND NEW.id = OLD.id AND NEW.time = OLD.time"
    " AND NEW.actor = OLD.actor AND NEW.action = OLD.action AND NEW.detail IS NOT DISTINCT FROM"
    " OLD.detail THEN RETURN NEW; END IF; RAISE EXCEPTION 'audit log is append-only'; END $f$;"
    "DROP TRIGGER IF EXISTS audit_append_only ON audit;"
    "CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit FOR EACH ROW"
    " EXECUTE FUNCTION audit_guard();";

static const char *const base_tables[] = {"tokens", "credentials", "reenroll_approvals", "devices", "batches",
                                          "policy", "audit", "feeds", "threat_notes",
                                          "groups", "device_groups", "token_groups", "suppressions", "oidc",
                                          "oidc_logins"};

static const char *col_type(const mtd_field *f)
{
    return f->type == MTD_T_INT || f->type == MTD_T_BOOL ? "bigint" : T;
}

/* One event type's table, and the columns of fields added to the schema since. */
static void event_ddl(const mtd_event_type *ev, mtd_buf *out)
{
    char t[96];
    mtd_pg_table(ev->name, t, sizeof t);
    mtd_buf_printf(out, "CREATE TABLE IF NOT EXISTS %s(\"row\" bigint PRIMARY KEY,"
                        " received_at bigint NOT NULL", t);
    for (int pass = 0; pass < 2; pass++) {
        const mtd_field *fs = pass ? ev->fields : mtd_envelope_fields;
        size_t nf = pass ? ev->nfields : mtd_envelope_nfields;
        for (size_t i = 0; i < nf; i++)
            mtd_buf_printf(out, ", \"%s\" %s", fs[i].name, col_type(&fs[i]));
    }
    mtd_buf_puts(out, ");");
    for (int pass = 0; pass < 2; pass++) {
        const mtd_field *fs = pass ? ev->fields : mtd_envelope_fields;
        size_t nf = pass ? ev->nfields : mtd_envelope_nfields;
        for (size_t i = 0; i < nf; i++)
            mtd_buf_printf(out, "ALTER TABLE %s ADD COLUMN IF NOT EXISTS \"%s\" %s;", t,
                           fs[i].name, col_type(&fs[i]));
    }
}

/* Grants and row-level security of one table. The policy's test is a sub-SELECT (an
 * InitPlan, computed once per query): written as a plain per-row filter the planner
 * estimated it at 0.5% of the rows and put the reports' grouped joins in nested loops
 * (48 s for one apps page of 46,500 rows, 0.2 s without the policy). */
static void fence_ddl(const char *t, const char *id, int event, mtd_buf *out)
{
    mtd_buf_printf(out, "GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO mtd_t_%s;"
                        "ALTER TABLE %s ENABLE ROW LEVEL SECURITY; ALTER TABLE %s FORCE ROW LEVEL SECURITY;"
                        "DROP POLICY IF EXISTS tenant_only ON %s;"
                        "CREATE POLICY tenant_only ON %s USING ((SELECT current_user = 'mtd_t_%s'))"
                        " WITH CHECK ((SELECT current_user = 'mtd_t_%s')",
                   t, id, t, t, t, t, id, id);
    if (event)
        mtd_buf_printf(out, " AND tenant_id = '%s'", id);
    mtd_buf_puts(out, ");");
}

int mtd_pg_tenant_ddl(const char *id, mtd_buf *out)
{
    mtd_buf_printf(out, "DO $r$ BEGIN CREATE ROLE mtd_t_%s NOLOGIN; EXCEPTION WHEN duplicate_object"
                        " THEN NULL; END $r$;"
                        "GRANT mtd_t_%s TO CURRENT_USER;"
                        "CREATE SCHEMA IF NOT EXISTS t_%s; REVOKE ALL ON SCHEMA t_%s FROM PUBLIC;"
                        "GRANT USAGE ON SCHEMA t_%s TO mtd_t_%s;"
                        "SET LOCAL search_path TO t_%s;",
                   id, id, id, id, id, id, id);
    mtd_buf_puts(out, base_ddl);
    for (size_t i = 0; i < sizeof base_tables / sizeof base_tables[0]; i++)
        fence_ddl(base_tables[i], id, 0, out);
    for (size_t i = 0; i < mtd_event_ntypes; i++) {
        char t[96];
        event_ddl(&mtd_event_types[i], out);
        mtd_pg_table(mtd_event_types[i].name, t, sizeof t);
        fence_ddl(t, id, 1, out);
    }
    /* the apps report's (mtd_pg_apps): each app's rows in the report's order, its
     * latest last, so that a fleet page walks them from its cursor and stops; and an
     * app's removals */
    mtd_buf_puts(out, "CREATE INDEX IF NOT EXISTS ev_app_inventory_app ON ev_app_inventory(package, device_id, \"row\");"
                      "CREATE INDEX IF NOT EXISTS ev_app_lifecycle_removed ON ev_app_lifecycle(package, device_id,"
                      " \"time\") WHERE action = 'remove';");
    mtd_buf_printf(out, "GRANT USAGE ON SEQUENCE event_rows, audit_id_seq, credentials_seq_seq, threat_notes_id_seq,"
                        " suppressions_id_seq TO mtd_t_%s;", id);
    return mtd_buf_append(out, "", 1);
}

/* The digest of this build's tenant DDL: a tenant whose schema has another was made
 * or last migrated by another build. */
static void ddl_digest(char out[65])
{
    mtd_buf b;
    mtd_buf_init(&b, 0);
    mtd_pg_tenant_ddl("0000000000000000", &b);
    mtd_sha256_hex(b.data, b.len, out);
    mtd_buf_free(&b);
}

/* The numbered steps of the cluster's own schema; a step is never edited once
 * released, a change is a new step. */
static const char *const global_steps[] = {
    /* 1 */
    "CREATE TABLE mtd.tenants(id text PRIMARY KEY, name text NOT NULL, org_id text NOT NULL,"
    " created_at bigint NOT NULL, key text NOT NULL, ddl_digest text NOT NULL);"
    /* every collector's operator token is good on every collector of the cluster */
    "CREATE TABLE mtd.operator_tokens(hash text PRIMARY KEY, created_at bigint NOT NULL);",
};

/* Runs SQL on the collector's own role (no tenant). */
static int own(mtd_store_cluster *cl, mtd_pg_conn *k, const char *sql, int n, const char *const *p,
               PGresult **res)
{
    return mtd_pg_query(cl, k, sql, n, p, res);
}

static int migrate_tenant(mtd_store_cluster *cl, mtd_pg_conn *k, const char *id, const char *digest)
{
    mtd_buf b;
    mtd_buf_init(&b, 0);
    mtd_buf_puts(&b, "BEGIN;");
    mtd_pg_tenant_ddl(id, &b);
    b.len--; /* the NUL */
    mtd_buf_append(&b, "", 1);
    int r = own(cl, k, (char *)b.data, 0, NULL, NULL);
    mtd_buf_free(&b);
    const char *p[] = {digest, id};
    if (r == 0)
        r = own(cl, k, "UPDATE mtd.tenants SET ddl_digest=$1 WHERE id=$2", 2, p, NULL);
    if (r == 0)
        r = own(cl, k, "COMMIT", 0, NULL, NULL);
    if (r)
        own(cl, k, "ROLLBACK", 0, NULL, NULL);
    else
        mtd_log(MTD_LOG_INFO, "store", "tenant=%s schema migrated", id);
    return r;
}

static int migrate(mtd_store_cluster *cl, mtd_pg_conn *k, char *why, size_t wl)
{
    int r = own(cl, k, "CREATE SCHEMA IF NOT EXISTS mtd; REVOKE ALL ON SCHEMA mtd FROM PUBLIC;"
                       "CREATE TABLE IF NOT EXISTS mtd.migrations(version int PRIMARY KEY,"
                       " applied_at bigint NOT NULL)", 0, NULL, NULL);
    PGresult *res = NULL;
    if (r == 0)
        r = own(cl, k, "SELECT coalesce(max(version), 0) FROM mtd.migrations", 0, NULL, &res);
    if (r) {
        snprintf(why, wl, "PostgreSQL: cannot read the migrations applied (%s)", mtd_strerror(r));
        return r;
    }
    int have = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    int nsteps = (int)(sizeof global_steps / sizeof global_steps[0]);
    for (int v = have + 1; v <= nsteps && r == 0; v++) {
        char ver[16], now[24];
        snprintf(ver, sizeof ver, "%d", v);
        snprintf(now, sizeof now, "%lld", (long long)time(NULL));
        const char *p[] = {ver, now};
        r = own(cl, k, "BEGIN", 0, NULL, NULL);
        if (r == 0)
            r = own(cl, k, global_steps[v - 1], 0, NULL, NULL);
        if (r == 0)
            r = own(cl, k, "INSERT INTO mtd.migrations(version, applied_at) VALUES($1, $2)", 2, p, NULL);
        if (r == 0)
            r = own(cl, k, "COMMIT", 0, NULL, NULL);
        if (r) {
            own(cl, k, "ROLLBACK", 0, NULL, NULL);
            snprintf(why, wl, "PostgreSQL: migration %d failed", v);
            return r;
        }
        mtd_log(MTD_LOG_INFO, "store", "applied migration %d", v);
    }
    char digest[65];
    ddl_digest(digest);
    const char *p[] = {digest};
    if ((r = own(cl, k, "SELECT id FROM mtd.tenants WHERE ddl_digest <> $1 ORDER BY id", 1, p, &res)) != 0) {
        snprintf(why, wl, "PostgreSQL: cannot list the tenants");
        return r;
    }
    for (int i = 0; i < PQntuples(res) && r == 0; i++)
        if ((r = migrate_tenant(cl, k, PQgetvalue(res, i, 0), digest)) != 0)
            snprintf(why, wl, "PostgreSQL: tenant %s could not be migrated", PQgetvalue(res, i, 0));
    PQclear(res);
    return r;
}

int mtd_store_pg_open(const char *url, int pool, mtd_store_cluster **out, char *why, size_t wl)
{
    mtd_store_cluster *cl;
    int r = mtd_pg_cluster_new(url, pool, &cl);
    if (r)
        return r;
    mtd_pg_conn *k;
    if ((r = mtd_pg_acquire(cl, NULL, &k)) != 0) {
        snprintf(why, wl, "PostgreSQL: cannot connect: %s", cl->last_error[0] ? cl->last_error : mtd_strerror(r));
        mtd_store_pg_close(cl);
        return r;
    }
    r = own(cl, k, "SELECT pg_advisory_lock(" MIGRATION_LOCK ")", 0, NULL, NULL);
    if (r == 0) {
        r = migrate(cl, k, why, wl);
        own(cl, k, "SELECT pg_advisory_unlock(" MIGRATION_LOCK ")", 0, NULL, NULL);
    } else {
        snprintf(why, wl, "PostgreSQL: cannot take the migration lock");
    }
    mtd_pg_release(cl, k);
    if (r) {
        mtd_store_pg_close(cl);
        return r;
    }
    *out = cl;
    return 0;
}

/* Runs a registry statement on the collector's own role. */
static int registry(mtd_store_cluster *cl, const char *sql, int n, const char *const *p, PGresult **res)
{
    mtd_pg_conn *k;
    int r = mtd_pg_acquire(cl, NULL, &k);
    if (r)
        return r;
    r = own(cl, k, sql, n, p, res);
    mtd_pg_release(cl, k);
    return r;
}

int mtd_store_pg_tenant_create(mtd_store_cluster *cl, const char *id, const char *name,
                               const char *org, const char *key_hex, int64_t created_at)
{
    char digest[65], when[24];
    ddl_digest(digest);
    snprintf(when, sizeof when, "%lld", (long long)created_at);
    mtd_buf b;
    mtd_buf_init(&b, 0);
    /* under the migrations' lock: a collector migrating at start sees it whole */
    mtd_buf_puts(&b, "BEGIN; SELECT pg_advisory_xact_lock(" MIGRATION_LOCK ");");
    mtd_pg_tenant_ddl(id, &b);
    mtd_pg_conn *k;
    int r = mtd_pg_acquire(cl, NULL, &k);
    if (r) {
        mtd_buf_free(&b);
        return r;
    }
    r = own(cl, k, (char *)b.data, 0, NULL, NULL);
    mtd_buf_free(&b);
    const char *p[] = {id, name, org, when, key_hex, digest};
    if (r == 0)
        r = own(cl, k, "INSERT INTO mtd.tenants(id, name, org_id, created_at, key, ddl_digest)"
                       " VALUES($1, $2, $3, $4, $5, $6)", 6, p, NULL);
    if (r == 0)
        r = own(cl, k, "COMMIT", 0, NULL, NULL);
    mtd_pg_release(cl, k); /* rolls back what failed */
    return r;
}

json_t *mtd_store_pg_tenant_list(mtd_store_cluster *cl)
{
    PGresult *res;
    if (registry(cl, "SELECT id AS tenant_id, name, org_id, created_at FROM mtd.tenants ORDER BY id",
                 0, NULL, &res) != 0)
        return NULL;
    json_t *rows = mtd_pg_json(res);
    PQclear(res);
    return rows;
}

int mtd_store_pg_tenant_load(mtd_store_cluster *cl, const char *id, char key_hex[65], char *org,
                             size_t orglen)
{
    PGresult *res;
    const char *p[] = {id};
    int r = registry(cl, "SELECT key, org_id FROM mtd.tenants WHERE id=$1", 1, p, &res);
    if (r)
        return r;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return MTD_ENOENT;
    }
    mtd_strlcpy(key_hex, PQgetvalue(res, 0, 0), 65);
    mtd_strlcpy(org, PQgetvalue(res, 0, 1), orglen);
    PQclear(res);
    return 0;
}

/* The schema, the role and the registry's row (with the key) go in one transaction;
 * then the registry is vacuumed, so that the deleted row's key does not wait in the
 * table's pages for the next autovacuum. */
int mtd_store_pg_tenant_delete(mtd_store_cluster *cl, const char *id)
{
    char sql[512];
    const char *p[] = {id};
    PGresult *res;
    int r = registry(cl, "SELECT 1 FROM mtd.tenants WHERE id=$1", 1, p, &res);
    if (r)
        return r;
    int known = PQntuples(res) == 1;
    PQclear(res);
    if (!known)
        return MTD_ENOENT;
    snprintf(sql, sizeof sql, "BEGIN; DROP SCHEMA IF EXISTS t_%s CASCADE; DROP ROLE IF EXISTS mtd_t_%s;"
                              " DELETE FROM mtd.tenants WHERE id='%s'; COMMIT", id, id, id);
    mtd_pg_conn *k;
    if ((r = mtd_pg_acquire(cl, NULL, &k)) != 0)
        return r;
    /* a pooled connection still set to the dropped role fails its next statement
     * for that tenant (which is gone) and is set to another role on its next use */
    r = own(cl, k, sql, 0, NULL, NULL);
    if (r == 0)
        own(cl, k, "VACUUM mtd.tenants", 0, NULL, NULL);
    mtd_pg_release(cl, k);
    return r;
}

int mtd_store_pg_operator_add(mtd_store_cluster *cl, const char *hash)
{
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    const char *p[] = {hash, now};
    return registry(cl, "INSERT INTO mtd.operator_tokens(hash, created_at) VALUES($1, $2)"
                        " ON CONFLICT DO NOTHING", 2, p, NULL);
}

int mtd_store_pg_operator_known(mtd_store_cluster *cl, const char *hash)
{
    const char *p[] = {hash};
    PGresult *res;
    int r = registry(cl, "SELECT 1 FROM mtd.operator_tokens WHERE hash=$1", 1, p, &res);
    if (r)
        return r;
    r = PQntuples(res) == 1 ? 0 : MTD_ENOENT;
    PQclear(res);
    return r;
}
