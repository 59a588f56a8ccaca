/* mtd_store_int: what every store backend shares (not a public interface): the list
 * of operations behind mtd_store.h, from which the dispatch (mtd_store.c) and each
 * backend's table of them are made.
 *
 * A handle (mtd_store *) is a backend's own struct whose first member is an
 * mtd_store_hdr naming its operations: mtd_store_token_add(s, ...) calls
 * s's backend's token_add. A backend implements every operation, as
 * mtd_<backend>_<op>, or the build fails at link time (the table is made from this
 * one list, MTD_STORE_OPS). */
#ifndef MTD_STORE_INT_H
#define MTD_STORE_INT_H

#include "common/mtd_util.h"
#include "store/mtd_store.h"

/* X(return type, operation, (parameters), (arguments)): the handle is always s. */
#define MTD_STORE_OPS(X)                                                                           \
    X(int, token_add_limited, (mtd_store * s, const char *hash, mtd_role role, const char *label, \
                               int64_t expires_at, int64_t max_uses),                              \
      (s, hash, role, label, expires_at, max_uses))                                                \
    X(int, token_role, (mtd_store * s, const char *hash, mtd_role *role), (s, hash, role))         \
    X(int, token_revoke, (mtd_store * s, const char *id), (s, id))                                \
    X(json_t *, token_list, (mtd_store * s), (s))                                                  \
    X(int, token_revoke_unused, (mtd_store * s, const char *token_id, int *revoked),              \
      (s, token_id, revoked))                                                                      \
    X(int, enroll, (mtd_store * s, const mtd_enroll_req *e, mtd_enroll_out *out), (s, e, out))    \
    X(int, cred_lookup, (mtd_store * s, const char *hash, mtd_cred_binding *b), (s, hash, b))     \
    X(int, cred_used, (mtd_store * s, const char *hash), (s, hash))                               \
    X(json_t *, cred_list, (mtd_store * s, const char *device_id, mtd_page *pg),                  \
      (s, device_id, pg))                                                                          \
    X(int, cred_revoke, (mtd_store * s, const char *id, const char *reason, char *device_id,      \
                         size_t dlen),                                                             \
      (s, id, reason, device_id, dlen))                                                            \
    X(int, reenroll_approve, (mtd_store * s, const char *device_id, const char *actor),           \
      (s, device_id, actor))                                                                       \
    X(int, device_known, (mtd_store * s, const char *device_id), (s, device_id))                  \
    X(int, package_known, (mtd_store * s, const char *package), (s, package))                     \
    X(int, device_retire, (mtd_store * s, const char *device_id, int *revoked),                   \
      (s, device_id, revoked))                                                                     \
    X(int, ingest, (mtd_store * s, const char *cred_hash, const char *idem_key,                   \
                    const mtd_event *events, size_t n, int *stored),                               \
      (s, cred_hash, idem_key, events, n, stored))                                                 \
    X(int, device_consent, (mtd_store * s, const char *device_id, int *consent),                  \
      (s, device_id, consent))                                                                     \
    X(int, device_state, (mtd_store * s, const char *device_id, mtd_policy *p, int *consent),     \
      (s, device_id, p, consent))                                                                  \
    X(json_t *, devices_where, (mtd_store * s, const mtd_device_query *q, mtd_page *pg),          \
      (s, q, pg))                                                                                  \
    X(json_t *, apps, (mtd_store * s, const mtd_app_query *q, mtd_page *pg), (s, q, pg))           \
    X(json_t *, threats_where, (mtd_store * s, const mtd_threat_query *q, mtd_page *pg),          \
      (s, q, pg))                                                                                  \
    X(json_t *, summary, (mtd_store * s, int64_t now, int stale_days, int days),                  \
      (s, now, stale_days, days))                                                                  \
    X(int, threat_note_add, (mtd_store * s, const char *device_id, const char *threat,            \
                             const char *actor, const char *note, int64_t *id),                    \
      (s, device_id, threat, actor, note, id))                                                     \
    X(json_t *, threat_notes, (mtd_store * s, const char *device_id, const char *threat,          \
                               mtd_page *pg),                                                      \
      (s, device_id, threat, pg))                                                                  \
    X(int, device_risk, (mtd_store * s, const char *device_id, json_t **out), (s, device_id, out)) \
    X(json_t *, crash_groups, (mtd_store * s, const char *device_id, mtd_page *pg),               \
      (s, device_id, pg))                                                                          \
    X(json_t *, action_counts, (mtd_store * s), (s))                                               \
    X(json_t *, ldp_counts, (mtd_store * s, int k), (s, k))                                        \
    X(json_t *, event_rows, (mtd_store * s, const char *event, const char *device_id, mtd_page *pg), \
      (s, event, device_id, pg))                                                                   \
    X(json_t *, event_rows_after, (mtd_store * s, const char *event, int64_t after, int limit),   \
      (s, event, after, limit))                                                                    \
    X(int, event_lines_after, (mtd_store * s, const char *event, int64_t after, int limit,        \
                               mtd_buf *out, int64_t *last),                                       \
      (s, event, after, limit, out, last))                                                         \
    X(int, event_cols_after, (mtd_store * s, const char *event, int64_t after, int limit,         \
                              const char *const *cols, size_t ncols, mtd_store_cols *out),         \
      (s, event, after, limit, cols, ncols, out))                                                  \
    X(json_t *, user_export, (mtd_store * s, const char *upn, const char *alt), (s, upn, alt))     \
    X(int, user_delete, (mtd_store * s, const char *upn, const char *alt, const char *actor,      \
                         int *rows),                                                               \
      (s, upn, alt, actor, rows))                                                                  \
    X(int, retention, (mtd_store * s, const mtd_policy *p, int64_t now, int *deleted),            \
      (s, p, now, deleted))                                                                        \
    X(int, policy_get, (mtd_store * s, mtd_policy *p), (s, p))                                     \
    X(int, policy_set, (mtd_store * s, const mtd_policy *p), (s, p))                               \
    X(int, audit_device, (mtd_store * s, const char *actor, const char *action,                   \
                          const char *device, const char *detail),                                 \
      (s, actor, action, device, detail))                                                          \
    X(json_t *, audit_list, (mtd_store * s, mtd_page *pg), (s, pg))                              \
    X(int, group_set, (mtd_store * s, const char *device_id, const char *grp), (s, device_id, grp)) \
    X(int, group_get, (mtd_store * s, const char *device_id, char *grp, size_t len),              \
      (s, device_id, grp, len))                                                                    \
    X(int, token_group_set, (mtd_store * s, const char *hash, const char *grp), (s, hash, grp))    \
    X(int, token_group_get, (mtd_store * s, const char *hash, char *grp, size_t len),             \
      (s, hash, grp, len))                                                                         \
    X(int, group_policy_get, (mtd_store * s, const char *grp, char *json, size_t len),            \
      (s, grp, json, len))                                                                         \
    X(int, group_policy_set, (mtd_store * s, const char *grp, const char *json), (s, grp, json))   \
    X(json_t *, group_list, (mtd_store * s), (s))                                                  \
    X(json_t *, group_devices, (mtd_store * s, const char *grp), (s, grp))                        \
    X(int, supp_add, (mtd_store * s, const mtd_supp_rule *r, int64_t *id), (s, r, id))            \
    X(json_t *, supp_list, (mtd_store * s), (s))                                                   \
    X(int, supp_remove, (mtd_store * s, int64_t id), (s, id))                                      \
    X(int, supp_match, (mtd_store * s, const json_t *detection, int64_t *rule_id),                \
      (s, detection, rule_id))                                                                     \
    X(int, oidc_get, (mtd_store * s, char *json, size_t len), (s, json, len))                     \
    X(int, oidc_set, (mtd_store * s, const char *json), (s, json))                                 \
    X(int, oidc_login_add, (mtd_store * s, const mtd_oidc_login *l), (s, l))                       \
    X(int, oidc_login_take, (mtd_store * s, const char *state_hash, char *verifier, char *nonce), \
      (s, state_hash, verifier, nonce))

/* For event_cols_after, both backends: out made empty for ncols columns, and the
 * event's type when it is one and every name is a column it may give (the type's or
 * the envelope's fields, received_at; no boolean or list; at most MTD_STORE_COLS_MAX),
 * else NULL. */
const mtd_event_type *mtd_store_cols_start(const char *event, const char *const *cols, size_t ncols,
                                           mtd_store_cols *out);
/* Appends one row's values (NULL for NULL) to out, the value pointers made final by
 * mtd_store_cols_done once every row is in. 0 or MTD_ENOMEM. */
int mtd_store_cols_add(mtd_store_cols *out, int64_t row, const char *const *v, const size_t *len);
void mtd_store_cols_done(mtd_store_cols *out);
/* The columns of rows (mtd_store_event_rows_after's objects) into out: for a backend
 * whose rows come as objects anyway. 0 or MTD_ENOMEM. */
int mtd_store_cols_from_rows(const json_t *rows, const char *const *cols, size_t ncols, mtd_store_cols *out);

/* The operations that return nothing, by hand: C allows no "return f();" there. */
typedef struct mtd_store_ops {
#define MTD_STORE_OP_MEMBER(ret, name, params, args) ret(*name) params;
    MTD_STORE_OPS(MTD_STORE_OP_MEMBER)
#undef MTD_STORE_OP_MEMBER
    void (*ingest_group)(mtd_store *s, mtd_store_batch *head);
    void (*close)(mtd_store *s);
} mtd_store_ops;

/* How a column is answered (one set of types for the API, mtdctl --json and the
 * export): a time as RFC 3339 UTC, a flag as a boolean, a list as an array; found by
 * the column's name in the schema, or among the store's own columns (devices.first_seen,
 * audit.time, ...). */
typedef enum { MTD_COL_PLAIN, MTD_COL_TIME, MTD_COL_BOOL, MTD_COL_LIST } mtd_col_kind;
mtd_col_kind mtd_store_column_kind(const char *name);

/* The console's summary's bounds: devices last seen before `before` (Unix seconds)
 * are stale; detections are counted per day from `since` (RFC 3339, midnight UTC). */
void mtd_store_summary_bounds(int64_t now, int stale_days, int days, char before[24], char since[MTD_TIME_LEN]);
/* The console's summary (mtd_store_summary) from a backend's four reads, which it
 * takes (any NULL: a read failed, and so the answer is NULL): rows (k = risk, n) of
 * devices per risk, one row (n) of stale devices, rows (k = severity, n) of open
 * threats, and rows (day, detected, resolved) per day. */
json_t *mtd_store_summary_json(json_t *by_risk, json_t *stale, json_t *open, json_t *per_day, int stale_days,
                               int days);

/* Keyset paging (mtd_store_page.c), for both backends. A report is its SELECT
 * without ORDER BY and its sort keys: expressions over the SELECT's columns, together
 * unique per row, none NULL (coalesce them), each ascending or descending, text or
 * integer. mtd_keyset_sql writes the paged query ("?N" parameters for SQLite, "$N"
 * for PostgreSQL) after the n parameters in p, adding the cursor's values to p
 * (their text in cv); MTD_EINVAL and pg->bad_cursor set for a cursor that is not
 * base64url of [tag, key...] with this report's tag and keys. A NULL pg: every row,
 * ordered. mtd_keyset_done drops the key columns from the rows and sets pg->more and
 * pg->next_cursor; a column whose name starts with _ is dropped
 * too (a report selects it only to sort by). */
typedef struct { const char *expr; int desc, integer; } mtd_sort_key;
typedef struct { const char *tag; int n; mtd_sort_key k[6]; } mtd_keyset;
typedef struct { char txt[6][512]; } mtd_cursor_vals;
/* The reports' orders, the same on both backends (mtd_store_page.c). */
extern const mtd_keyset mtd_apps_keys, mtd_threat_keys, mtd_crash_keys, mtd_device_keys, mtd_id_keys, mtd_row_keys;
int mtd_keyset_sql(mtd_buf *out, const char *sql, const mtd_keyset *ks, mtd_page *pg, int pgsql, int *n,
                   const char **p, mtd_cursor_vals *cv);
void mtd_keyset_done(json_t *rows, const mtd_keyset *ks, mtd_page *pg);
/* One page of a list report on either backend: the paged query written by
 * mtd_keyset_sql, run by run(ctx, sql, n, p) (the backend's one-read report), the
 * keys dropped by mtd_keyset_done. At most MTD_KEYSET_MAXP parameters in p: more is a
 * bug in a report and answers NULL rather than being cut short. */
#define MTD_KEYSET_MAXP 10
typedef json_t *(*mtd_report_run)(void *ctx, const char *sql, int n, const char *const *p);
json_t *mtd_keyset_report(const char *sql, const mtd_keyset *ks, int n, const char *const *p, mtd_page *pg,
                          int pgsql, mtd_report_run run, void *ctx);

/* The condition that rule r (the suppressions table as r) holds now for the threat
 * row whose columns are alias.device_id, .package, .threat_id, .threat_name, .source,
 * .evidence (mtd_store_supp.c); pgsql: PostgreSQL's dialect, else SQLite's. And
 * " AND NOT EXISTS (...)" of it, for a report's WHERE. */
int mtd_supp_match_sql(char *out, size_t len, int pgsql, const char *alias);
int mtd_supp_none_sql(char *out, size_t len, int pgsql, const char *alias);
/* The condition that an app row (columns alias.is_system, .install_source,
 * .device_id; alias not empty) is sideloaded by the agent's rule (heur.sideloaded in
 * scan/mtd_heur.c) under the device's effective policy: not a system app, an
 * installer recorded, and it not among the trusted_stores of the device's group's
 * policy if that sets them, else of the tenant's (the table trusted(scope, package),
 * SQLite keeps when a policy changes; PostgreSQL reads the same rows from the policy
 * rows, pgsql). */
int mtd_side_sql(char *out, size_t len, const char *alias, int pgsql);
/* mtd_policy_default_stores as the rows of a VALUES list: ('a'),('b'),... */
int mtd_trusted_defaults_sql(char *out, size_t len);
/* The rows of a rule list as the API answers them (active a boolean, no expiry null). */
json_t *mtd_supp_rows(json_t *rows);
/* A rule's columns as the INSERT's text parameters (kind, value, device_id, grp,
 * expires_at, reason, created_at = now, actor), and a detection's as the probe's
 * (device_id, package, threat_id, threat_name, source, evidence). */
void mtd_supp_rule_params(const mtd_supp_rule *r, char exp[24], char now[24], const char *p[8]);
void mtd_supp_probe_params(const json_t *d, const char *p[6]);

/* A sign-in's "verifier nonce" as both backends read it back, into their buffers of
 * MTD_OIDC_SECRET_LEN (mtd_store_oidc.c). */
int mtd_oidc_login_split(const char *both, char *verifier, char *nonce);

/* A device's risk (mtd_store_device_risk) from its open threats no rule suppresses
 * and all its open threats (ordered by severity), which it takes. */
json_t *mtd_store_risk_json(const char *device_id, json_t *open, json_t *all);

/* A slot's text as a C string in buf, or NULL. */
const char *mtd_store_slot(const mtd_event *e, const char *name, char *buf, size_t len);

/* The policy as the store keeps it (one JSON text), and back: NULL txt (none stored
 * yet) gives the default; the text is malloc'd, NULL when out of memory. */
int mtd_store_policy_parse(const char *txt, mtd_policy *p);
char *mtd_store_policy_text(const mtd_policy *p);
/* The rows of a backend's group_list (name, devices, policy as text), the policy made
 * an object; takes rows, NULL when it is. */
json_t *mtd_store_group_rows(json_t *rows);
/* Applies a group's overrides (its policy JSON, as kept) to p: a key this build does
 * not know is skipped. */
void mtd_store_policy_override(mtd_policy *p, const char *txt);

/* The first member of every backend's handle. */
typedef struct {
    const mtd_store_ops *ops;
} mtd_store_hdr;

/* A backend declares its implementations, mtd_<backend>_<op>, and defines its table:
 *   #define MTD_SQLITE_DECL(ret, name, params, args) ret mtd_sqlite_##name params;
 *   MTD_STORE_OPS(MTD_SQLITE_DECL)
 *   const mtd_store_ops mtd_sqlite_ops = {
 *   #define MTD_SQLITE_OP(ret, name, params, args) .name = mtd_sqlite_##name,
 *       MTD_STORE_OPS(MTD_SQLITE_OP) .ingest_group = ..., .close = ...};
 * so an operation added to the list and missing in a backend fails the build. */

#endif
