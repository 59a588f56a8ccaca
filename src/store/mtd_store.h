/* mtd_store: one tenant's segregated store, behind one interface.
 *
 * Each tenant has its own store: by default a SQLite file (WAL) under
 * DATA/tenants/<tenant_id>/store.sqlite, so tenants are physically apart; a handle only
 * ever reaches its own tenant, and no call takes two tenants. The event tables are
 * derived from the schema (mtd_schema.h): one table per event type, one column per
 * declared field, so a field that is not declared has nowhere to be stored.
 *
 * Stores know nothing of HTTP. They take validated events and return JSON for reports.
 * A handle is safe to use from several threads (calls are serialized inside).
 * Returned json_t objects belong to the caller. */
#ifndef MTD_STORE_H
#define MTD_STORE_H

#include "common/mtd_buf.h"
#include "privacy/mtd_policy.h"
#include "schema/mtd_event.h"

#include <jansson.h>
#include <semaphore.h>
#include <stdint.h>

typedef struct mtd_store mtd_store;

/* One page of a list report (see "Reports" below). A page starts after the row that a
 * cursor names (the previous page's next_cursor: opaque to clients, the last row's
 * sort key), then skips offset rows; a cursor never makes the store run the whole
 * report, an offset does. */
#define MTD_CURSOR_MAX 1024
typedef struct {
    int64_t limit, offset; /* in */
    const char *cursor;    /* in: a next_cursor of the same report, or NULL */
    int more;              /* out */
    int bad_cursor;        /* out: the cursor was not one of this report's (rows: NULL) */
    char next_cursor[MTD_CURSOR_MAX]; /* out: where the next page starts; "" when none */
} mtd_page;

typedef enum {
    MTD_ROLE_ADMIN,   /* everything in the tenant */
    MTD_ROLE_ANALYST, /* read only */
    MTD_ROLE_PRIVACY, /* privacy officer: user export and delete */
    MTD_ROLE_ENROLL,  /* enrollment token: may only enroll devices */
} mtd_role;

const char *mtd_role_name(mtd_role r);
int mtd_role_parse(const char *s, mtd_role *r);

/* The backends, chosen by mtd-collector --store URL: "sqlite:" or none, the default
 * (a SQLite file per tenant); "postgresql://..." (or "postgres://..."), a PostgreSQL
 * cluster. MTD_EINVAL, with why naming the URL, for anything else. */
typedef enum { MTD_STORE_SQLITE, MTD_STORE_POSTGRESQL } mtd_store_kind;
int mtd_store_url_kind(const char *url, mtd_store_kind *kind, char *why, size_t whylen);

/* PostgreSQL (mtd_store_pg*.c): a cluster that several collectors share, each tenant
 * in its own schema reached through its own role (docs/architecture.md). A collector
 * holds at most pool connections; the tenants themselves (name, org, key), the
 * operator token's hash and the feeds live in the cluster, so that every collector
 * serves every tenant the same.
 * mtd_store_pg_open connects and migrates the cluster's schemas to this build's,
 * under an advisory lock (collectors starting together migrate once). Every call
 * answers MTD_EUNAVAIL while the database cannot be reached, MTD_EBUSY when no
 * connection of the pool came free in time: both mean retry later, neither says
 * anything about the tenant, token or row asked for. */
typedef struct mtd_store_cluster mtd_store_cluster;
int mtd_store_pg_open(const char *url, int pool, mtd_store_cluster **out, char *why, size_t whylen);
void mtd_store_pg_close(mtd_store_cluster *c);
/* 1 while the database cannot be reached: the last attempt to connect failed, or a
 * connection broke, and none has been made since. */
int mtd_store_pg_down(mtd_store_cluster *c);
/* A tenant's schema, role and registry row; its key as 64 hex digits. */
int mtd_store_pg_tenant_create(mtd_store_cluster *c, const char *id, const char *name,
                               const char *org, const char *key_hex, int64_t created_at);
/* [{tenant_id, name, org_id, created_at}], NULL when it could not be read. */
json_t *mtd_store_pg_tenant_list(mtd_store_cluster *c);
int mtd_store_pg_tenant_load(mtd_store_cluster *c, const char *id, char key_hex[65], char *org,
                             size_t orglen);
/* DROP SCHEMA, DROP ROLE and the registry row with the key, in one transaction. */
int mtd_store_pg_tenant_delete(mtd_store_cluster *c, const char *id);
/* A handle on one tenant (no round trip: the tenant is known to exist). */
int mtd_store_pg_open_tenant(mtd_store_cluster *c, const char *id, mtd_store **out);
/* Operator tokens: each collector's (its DATA/operator.token) is added to the cluster,
 * and any of them is good on every collector. known: 0, MTD_ENOENT or an error. */
int mtd_store_pg_operator_add(mtd_store_cluster *c, const char *hash);
int mtd_store_pg_operator_known(mtd_store_cluster *c, const char *hash);
/* A tenant's feeds on PostgreSQL (mtd_store_pg_feeds.c): the index as
 * collector/mtd_feeds.c keeps it ({NAME: {sha256, size, updated}}, NULL when it could
 * not be read), a version put or removed (MTD_ENOENT: none), and the bytes of one
 * version (MTD_ENOENT: not that version, or none). */
json_t *mtd_store_pg_feed_index(mtd_store *s);
int mtd_store_pg_feed_put(mtd_store *s, const char *name, const char *sha256, const uint8_t *data,
                          size_t len, const char *updated);
int mtd_store_pg_feed_remove(mtd_store *s, const char *name);
int mtd_store_pg_feed_data(mtd_store *s, const char *name, const char *sha256, mtd_buf *out);

/* Pool use, query latency and errors, in Prometheus text format. */
void mtd_store_pg_metrics(mtd_store_cluster *c, mtd_buf *out);

/* Opens (creating if needed) the SQLite tenant store in dir. */
int mtd_store_open(const char *dir, mtd_store **out, char *why, size_t whylen);
void mtd_store_close(mtd_store *s);
/* Threads running now in the SQLite stores' shared checkpointer pool (at most 4, for
 * every store of the process; started when a WAL first needs copying, ended when idle). */
int mtd_store_checkpointer_threads(void);

/* Tokens and credentials, stored only as SHA-256 hashes of their secret part. An
 * enrollment token may expire (expires_at, epoch seconds; 0: never) and have a number
 * of uses (max_uses; 0: any). */
int mtd_store_token_add(mtd_store *s, const char *hash, mtd_role role, const char *label);
int mtd_store_token_add_limited(mtd_store *s, const char *hash, mtd_role role, const char *label,
                                int64_t expires_at, int64_t max_uses);
/* The role of a live token: not revoked, not expired, uses left. */
int mtd_store_token_role(mtd_store *s, const char *hash, mtd_role *role);
/* Revokes by ID: the first 12 hex digits of the hash, as mtd_store_token_list shows. */
int mtd_store_token_revoke(mtd_store *s, const char *id);
json_t *mtd_store_token_list(mtd_store *s);

/* An enrollment: a device credential bound, in the one row written for it, to the
 * pseudonyms and organization the agent presented. */
typedef struct {
    const char *token_hash;     /* the enrollment token's: one of its uses is taken */
    const char *cred_hash;      /* the new credential's */
    const char *device_id;      /* pseudonyms; "" where the agent has none */
    const char *upn, *dir_user_id, *dir_device_id;
    const char *org_id;
    int approval_policy;        /* reenroll=approval: a returning device needs approval */
    const char *replaces_hash;  /* the device's own live credential, presented to be
                                   replaced (the agent enrolling its state again), or NULL */
} mtd_enroll_req;

typedef struct {
    char live_id[16];           /* MTD_EEXIST: the device's live credential */
    const char *how;            /* "new", "replaced", "after_revoke", "approved" */
} mtd_enroll_out;

/* 0; MTD_EAUTH: the token is revoked, expired or used up; MTD_EEXIST: the device has a
 * live credential (out->live_id), and it was not the one presented to be replaced; MTD_EPERM: the device had credentials and may come
 * back only with an admin's approval. Nothing is written unless 0. */
int mtd_store_enroll(mtd_store *s, const mtd_enroll_req *e, mtd_enroll_out *out);

/* What a device credential is bound to ("" where nothing is; a credential made before
 * binding existed has no device). */
typedef struct {
    char device_id[64];
    char upn[64], dir_user_id[64], dir_device_id[64];
    char org_id[160];
    int used;                   /* a batch has been stored with it */
} mtd_cred_binding;

/* Finds a live credential and its binding. MTD_EAUTH when unknown or revoked. */
int mtd_store_cred_lookup(mtd_store *s, const char *hash, mtd_cred_binding *b);
/* Marks a credential used (its first batch stored); mtd_store_ingest does it in the
 * batch's own transaction. */
int mtd_store_cred_used(mtd_store *s, const char *hash);
/* Credentials (of one device, or all), oldest first: id (12 hex digits of the hash),
 * the bound pseudonyms, the enrollment token's id, created_at, first_used, revoked_at,
 * revoked_reason. */
json_t *mtd_store_cred_list(mtd_store *s, const char *device_id, mtd_page *pg);
/* Revokes one live credential by id; device_id gets the device it was bound to.
 * MTD_ENOENT when there is no such live credential. */
int mtd_store_cred_revoke(mtd_store *s, const char *id, const char *reason, char *device_id, size_t dlen);
/* Revokes the credentials an enrollment token issued that never stored a batch. */
int mtd_store_token_revoke_unused(mtd_store *s, const char *token_id, int *revoked);
/* Lets a device that had credentials enroll once more (within 7 days). MTD_ENOENT
 * for a device never enrolled. */
int mtd_store_reenroll_approve(mtd_store *s, const char *device_id, const char *actor);

/* Whether the tenant knows a device (it has sent a batch) or a package (some device
 * has reported it, installed now or before): 0, MTD_ENOENT, or MTD_EIO. The admin API
 * answers 404 for an unknown one rather than an empty report that reads as "none". */
int mtd_store_device_known(mtd_store *s, const char *device_id);
int mtd_store_package_known(mtd_store *s, const char *package);

/* Revokes every live credential of a device (a lost or retired device); its agent is
 * refused from then on, and the device enrolls again only with an admin's approval.
 * MTD_ENOENT when it had none. */
int mtd_store_device_retire(mtd_store *s, const char *device_id, int *revoked);

/* Stores one batch all-or-nothing: n events already validated against the schema and
 * the policy (their value slots are bound straight into the INSERTs); the caller has
 * checked them against the credential's binding. consent.change events update the device's consent; a revocation with
 * delete_optional deletes the device's optional data in the same transaction and
 * records it in the audit log. The credential (cred_hash, "" for none) is marked used in
 * the same transaction. MTD_EEXIST: the idempotency key was seen, nothing stored
 * (acknowledge). */
int mtd_store_ingest(mtd_store *s, const char *cred_hash, const char *idem_key,
                     const mtd_event *events, size_t n, int *stored);

/* Group commit. mtd_store_ingest, called from many threads at once, does not commit
 * each batch alone: the batches that wait while one transaction commits are stored
 * together in the next (each inside its own savepoint, so each is still all-or-nothing
 * and a bad one does not undo the others), and every caller returns once its batch is
 * durable. A commit costs about as much for 5,000 rows as for 200.
 * mtd_store_ingest_group stores a list of batches so, from one thread. */
typedef struct mtd_store_batch {
    const char *cred_hash, *idem_key;
    const mtd_event *events;
    size_t n;
    int stored, result;           /* out: as mtd_store_ingest's */
    int done;                     /* internal: mtd_store_ingest's hand-over */
    sem_t wake;
    struct mtd_store_batch *next; /* the list */
} mtd_store_batch;
void mtd_store_ingest_group(mtd_store *s, mtd_store_batch *head);

/* The device's consent to optional data, as its last consent.change said (0 when it
 * never said). */
int mtd_store_device_consent(mtd_store *s, const char *device_id, int *consent);
/* What a device's batch is checked against: the policy of its group (as
 * mtd_store_policy_of_device) and its consent (as mtd_store_device_consent), read
 * together (on PostgreSQL one round trip, where the two took four). */
int mtd_store_device_state(mtd_store *s, const char *device_id, mtd_policy *p, int *consent);

/* Reports. A list report answers one page of its rows: at most limit rows, after
 * skipping offset; more is set when rows follow. A NULL page: every row (for callers
 * inside the collector; the admin API always pages, so that no request can make the
 * collector hold a whole fleet's rows in memory). */

json_t *mtd_store_devices(mtd_store *s, mtd_page *pg);
/* Devices report filters; NULL/0 = any. */
typedef struct {
    const char *device_id;
    const char *risk;    /* none, low, medium or high */
    int64_t seen_before; /* last seen before this time (seconds since the epoch) */
    const char *group;   /* devices of this group */
} mtd_device_query;
json_t *mtd_store_devices_where(mtd_store *s, const mtd_device_query *q, mtd_page *pg);

/* App report filters; NULL/0 = any. */
typedef struct {
    const char *device_id;
    const char *package;     /* who has package X */
    const char *permission;  /* apps holding permission P */
    int sideloaded;          /* user apps not installed by a known app store */
    const char *group;       /* on the devices of this group */
} mtd_app_query;

/* Current apps (latest inventory per device and package, not removed since). */
json_t *mtd_store_apps(mtd_store *s, const mtd_app_query *q, mtd_page *pg);
/* Threats, one row per device and threat with its latest state; status "active" or
 * "resolved" or NULL for both; ordered by severity. */
json_t *mtd_store_threats(mtd_store *s, const char *status, const char *device_id, mtd_page *pg);
typedef struct {
    const char *status, *device_id, *category, *severity, *source; /* NULL = any */
    const char *group;       /* of the devices of this group */
    int unsuppressed;        /* only the threats no suppression rule matches */
} mtd_threat_query;
json_t *mtd_store_threats_where(mtd_store *s, const mtd_threat_query *q, mtd_page *pg);

/* The fleet at a glance, for the console's overview (NULL when a read failed):
 * {"devices", "by_risk": {none, low, medium, high}, "stale_days", "stale_devices",
 *  "open_threats": {severity: count}, "days", "threats_by_day": [{day, detected,
 *  resolved}]} over the days up to now; stale devices were last seen stale_days or
 * more before now. Every figure is counted in SQL: nothing of the fleet is loaded. */
json_t *mtd_store_summary(mtd_store *s, int64_t now, int stale_days, int days);
/* Threat notes: what an admin wrote about one device's threat (threat is its
 * threat_id, or "threat_name/package" for a detection without one). A user's deletion
 * deletes the notes on that user's devices. */
int mtd_store_threat_note_add(mtd_store *s, const char *device_id, const char *threat, const char *actor,
                              const char *note, int64_t *id);
/* Notes of a device (of one of its threats when threat is not NULL), oldest first:
 * id, time, device_id, threat_id, actor, note. */
json_t *mtd_store_threat_notes(mtd_store *s, const char *device_id, const char *threat, mtd_page *pg);
/* {"device_id", "risk": none|low|medium|high, "open_threats", "suppressed_threats",
 * "threats"}: the risk is set by the most severe active threat that no suppression
 * rule matches; threats lists those, suppressed_threats counts the active ones a rule
 * matches. MTD_ENOENT for an unknown device. */
int mtd_store_device_risk(mtd_store *s, const char *device_id, json_t **out);
const char *mtd_risk_from_severity(const char *severity);
/* usage.crash grouped by signature (signal, top three frames, version): signature,
 * signal, version, top_frames, count, devices, first_seen, last_seen; most frequent
 * first. */
json_t *mtd_store_crash_groups(mtd_store *s, const char *device_id, mtd_page *pg);
/* usage.action counts per action: action, count, devices. */
json_t *mtd_store_action_counts(mtd_store *s);
/* usage.ldp reports per day and epsilon, with the ones of each of k bits (b0...). */
json_t *mtd_store_ldp_counts(mtd_store *s, int k);

/* Every stored row of one event type (optionally of one device), oldest first; keys
 * are the schema's field names plus "row" and "received_at". NULL for an unknown type. */
json_t *mtd_store_event_rows(mtd_store *s, const char *event, const char *device_id, mtd_page *pg);
/* Up to limit rows of one event type after row number after, in row order: the next
 * chunk of an export (NULL for an unknown type or a failed read). */
json_t *mtd_store_event_rows_after(mtd_store *s, const char *event, int64_t after, int limit);
/* Rows of one event type as the text of a few columns, for a reader that wants those
 * and no JSON object per row (the alert derivation: made into objects, its rows were a
 * fifth of a pass). val[r * ncols + c] is column c of row r (NULL for NULL): as the
 * API shows it, text as stored, a number in decimal, received_at in RFC 3339. */
#define MTD_STORE_COLS_MAX 64 /* columns a reader may ask for at once */
typedef struct {
    size_t nrows, ncols;
    int64_t *row;   /* each row's number */
    char **val;
    mtd_buf text;   /* holds the values */
} mtd_store_cols;
/* Up to limit rows after row number after, in row order, with the columns cols (the
 * type's or the envelope's field names, or received_at; none a boolean or a list; at
 * most MTD_STORE_COLS_MAX) into
 * out, which mtd_store_cols_free releases. 0, MTD_EINVAL for an unknown type or column,
 * MTD_EIO for a failed read, MTD_ENOMEM. */
int mtd_store_event_cols_after(mtd_store *s, const char *event, int64_t after, int limit, const char *const *cols,
                               size_t ncols, mtd_store_cols *out);
void mtd_store_cols_free(mtd_store_cols *c);
/* The same chunk as JSON lines (one object per row, keys in column order) appended to
 * out, *last set to the last row's number: the rows read, or MTD_EINVAL for an unknown
 * type, MTD_EIO for a failed read. */
int mtd_store_event_lines_after(mtd_store *s, const char *event, int64_t after, int limit,
                                mtd_buf *out, int64_t *last);

/* Everything linked to a user pseudonym: the user's devices and every event row of
 * those devices or carrying that UPN pseudonym (NULL when a read failed). alt, when
 * not NULL, is a second pseudonym of the same user (the UPN as typed, which a device
 * enrolled before identifier normalization may carry: mtd_ident.h); "upn" in the
 * answer is the first. */
json_t *mtd_store_user_export(mtd_store *s, const char *upn, const char *alt);
/* Deletes all of it (rows, devices, their credentials and batch records), records the
 * deletion in the audit log without naming the user, and checkpoints the WAL so that
 * no file of the tenant keeps the deleted data. */
int mtd_store_user_delete(mtd_store *s, const char *upn, const char *alt, const char *actor, int *rows);

/* Deletes events received before their category's retention period (policy days),
 * and batch records older than the longest period; records the counts in the audit
 * log. */
int mtd_store_retention(mtd_store *s, const mtd_policy *p, int64_t now, int *deleted);

int mtd_store_policy_get(mtd_store *s, mtd_policy *p);
int mtd_store_policy_set(mtd_store *s, const mtd_policy *p);

/* Device groups. A device is in at most one group: the one its enrollment token
 * carried, or the one an admin put it in. A group's policy is a JSON object of policy
 * keys that override the tenant's, key by key; a device's effective policy is the
 * tenant's with its group's keys applied. Names: MTD_GROUP_NAME_MAX bytes of
 * [A-Za-z0-9._-] (mtd_group_name_valid). grp NULL removes the device from its group.
 * The getters answer 0, MTD_ENOENT (no group, no such token or group) or an error. */
#define MTD_GROUP_NAME_MAX 64
int mtd_group_name_valid(const char *name);
int mtd_store_group_set(mtd_store *s, const char *device_id, const char *grp);
int mtd_store_group_get(mtd_store *s, const char *device_id, char *grp, size_t len);
int mtd_store_token_group_set(mtd_store *s, const char *hash, const char *grp);
int mtd_store_token_group_get(mtd_store *s, const char *hash, char *grp, size_t len);
int mtd_store_group_policy_get(mtd_store *s, const char *grp, char *json, size_t len);
int mtd_store_group_policy_set(mtd_store *s, const char *grp, const char *json);
/* [{name, devices, policy}] of every group with a policy or a device, by name. */
json_t *mtd_store_group_list(mtd_store *s);
/* [{device_id}] of one group's devices. */
json_t *mtd_store_group_devices(mtd_store *s, const char *grp);
/* Suppression rules: known-good findings kept out of the alert queue and out of every
 * device risk the store answers (the devices report and its ?risk=, a device's risk,
 * the console's summary). A rule names a package, a signer (the app's certificate
 * SHA-256 in its latest inventory), a domain (the host a web or network detection's
 * evidence ends with, or a sub-domain of it) or a check (a threat ID, one of its
 * "ID/..." children, or a threat name); it holds for the tenant, one device or the
 * devices of one group, until expires_at (Unix seconds, 0: never). A rule is matched
 * when a report is read, against the database's clock, so a rule added, removed or
 * expired changes every risk at once. At most MTD_SUPP_MAX rules (MTD_ENOSPC). */
#define MTD_SUPP_MAX 1000
typedef struct {
    const char *kind, *value;
    const char *device_id, *group; /* NULL: any */
    int64_t expires_at;
    const char *reason, *actor;
} mtd_supp_rule;
int mtd_store_supp_add(mtd_store *s, const mtd_supp_rule *r, int64_t *id);
/* [{id, kind, value, device_id, group, reason, actor, created_at, expires_at, active}] by id. */
json_t *mtd_store_supp_list(mtd_store *s);
/* 0, MTD_ENOENT or an error. */
int mtd_store_supp_remove(mtd_store *s, int64_t id);
/* The first active rule a detection (a threat.detection row: device_id, package,
 * threat_id, threat_name, source, evidence) matches: *rule_id, 0 when none. */
int mtd_store_supp_match(mtd_store *s, const json_t *detection, int64_t *rule_id);
/* The policy of a group (the tenant's with its overrides; grp NULL: the tenant's). */
int mtd_store_policy_of_group(mtd_store *s, const char *grp, mtd_policy *p);
/* The policy a device gets and is checked against: its group's (grp, when not NULL,
 * gets the group's name, "" when none). */
int mtd_store_policy_of_device(mtd_store *s, const char *device_id, mtd_policy *p, char *grp, size_t len);

/* The tenant's OpenID Connect sign-in (collector/mtd_signin.c): its configuration, one
 * JSON text the store keeps as given (at most MTD_OIDC_CFG_MAX bytes); get answers 0 or
 * MTD_ENOENT (none), set with NULL removes it (MTD_ENOENT: there was none). And the
 * sign-ins begun and not yet finished: the SHA-256 of each one's state with its PKCE
 * verifier and nonce, taken once (the row deleted as it is read), and only before it
 * expires: take answers 0 or MTD_ENOENT (unknown, taken or expired). add drops the
 * expired rows and refuses with MTD_ENOSPC past MTD_OIDC_PENDING_MAX live ones (the
 * sign-in page is public: a flood of starts cannot grow the store). */
#define MTD_OIDC_CFG_MAX 8192
#define MTD_OIDC_PENDING_MAX 1000
#define MTD_OIDC_SECRET_LEN 64 /* verifier and nonce: base64url, under this */
typedef struct {
    const char *state_hash, *verifier, *nonce;
    int64_t expires_at;
} mtd_oidc_login;
int mtd_store_oidc_get(mtd_store *s, char *json, size_t len);
int mtd_store_oidc_set(mtd_store *s, const char *json);
int mtd_store_oidc_login_add(mtd_store *s, const mtd_oidc_login *l);
/* verifier and nonce: MTD_OIDC_SECRET_LEN bytes each. */
int mtd_store_oidc_login_take(mtd_store *s, const char *state_hash, char *verifier, char *nonce);

/* Appends to the audit log: who (actor) did what (action) to which device (device_id,
 * NULL when none; a user's deletion erases it from the entry) and how (detail). */
int mtd_store_audit(mtd_store *s, const char *actor, const char *action, const char *detail);
int mtd_store_audit_device(mtd_store *s, const char *actor, const char *action, const char *device,
                           const char *detail);
json_t *mtd_store_audit_list(mtd_store *s, mtd_page *pg);

#endif
