/* Unit tests of the tenant store, run against each backend: SQLite (the default) and,
 * with MTD_TEST_STORE=postgresql, the PostgreSQL cluster of tests/with-postgres.sh
 * (MTD_PG_URL). Tokens stored as hashes, idempotent and all-or-nothing ingest, group
 * commit (batches stored together, each on its own, from many threads), consent
 * revocation deleting optional data, reports, retention, export, and a user delete
 * that leaves nothing of the user in the tenant's store. Tests of one backend's
 * machinery (SQLite's WAL and old-store migration; PostgreSQL's roles, row-level
 * security and exactly-once across collectors) run only on that backend. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/mtd_err.h"
#include "common/mtd_file.h"
#include "store/mtd_store.h"
#include "store/mtd_store_sqlite_int.h"

#include <dirent.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEV "ps_3BFya3ttFnaUX3D61iaoEQ"
#define UPN "ps_JDUA4_fHcSTK62MKaDrE4Q"

/* The tenant of every test event (ev), and a second one on PostgreSQL. */
#define TENANT "0123456789abcdef"
#define TENANT2 "fedcba9876543210"
#define KEY_HEX "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

typedef struct {
    char dir[64];
    mtd_store *s;
    mtd_store_cluster *pg; /* PostgreSQL: the cluster the store is in */
} fixture;

static int on_pg(void)
{
    const char *b = getenv("MTD_TEST_STORE");
    return b && !strcmp(b, "postgresql");
}

static const char *pg_url(void)
{
    const char *u = getenv("MTD_PG_URL");
    if (!u)
        fail_msg("MTD_TEST_STORE=postgresql runs under tests/with-postgres.sh (no MTD_PG_URL)");
    return u;
}

/* (Re)opens the fixture's store: the tenant's handle on PostgreSQL. */
static int open_store(fixture *f)
{
    char why[256];
    if (f->pg)
        return mtd_store_pg_open_tenant(f->pg, TENANT, &f->s);
    return mtd_store_open(f->dir, &f->s, why, sizeof why);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/mtd-store-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    char why[256];
    if (on_pg()) {
        if (mtd_store_pg_open(pg_url(), 4, &f->pg, why, sizeof why) != 0)
            fail_msg("%s", why);
        mtd_store_pg_tenant_delete(f->pg, TENANT); /* a test that failed left it */
        if (mtd_store_pg_tenant_create(f->pg, TENANT, "test", TENANT, KEY_HEX, time(NULL)) != 0)
            fail_msg("tenant not created");
    }
    if (open_store(f) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    mtd_store_close(f->s);
    if (f->pg) {
        assert_int_equal(mtd_store_pg_tenant_delete(f->pg, TENANT), 0);
        mtd_store_pg_tenant_delete(f->pg, TENANT2);
        mtd_store_pg_close(f->pg);
    }
    mtd_rm_rf(f->dir);
    free(f);
    return 0;
}

/* A connection of the test's own to the cluster, as the collector's login role. */
static PGconn *pg_raw(void)
{
    PGconn *c = PQconnectdb(pg_url());
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("cannot connect: %s", PQerrorMessage(c));
    return c;
}

/* Runs sql on c; NULL when it failed (the error in *err when given). */
static PGresult *pg_sql(PGconn *c, const char *sql, char *err, size_t errlen)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return r;
    if (err)
        snprintf(err, errlen, "%s", PQresultErrorField(r, PG_DIAG_SQLSTATE) ?: "?");
    PQclear(r);
    return NULL;
}

static json_t *ev(const char *type, const char *id)
{
    return json_pack("{s:s,s:i,s:s,s:s,s:s,s:s,s:s}", "event", type, "schema", 1, "event_id", id,
                     "time", "2026-11-24T10:00:00Z", "tenant_id", "0123456789abcdef",
                     "device_id", DEV, "upn", UPN);
}

/* A test event as the store takes it (value slots into *txt); takes e. */
static void to_slots(json_t *e, mtd_event *ev, char **txt)
{
    char why[256];
    if (mtd_event_from_json(e, ev, txt, why, sizeof why) != 0)
        fail_msg("test event is invalid: %s", why);
    json_decref(e);
}

/* Stores a JSON array of events as one batch. */
static int ingest(fixture *f, const char *cred, const char *key, json_t *arr, int *stored)
{
    size_t n = json_array_size(arr);
    mtd_event *ev = calloc(n, sizeof *ev);
    char **txt = calloc(n, sizeof *txt);
    for (size_t i = 0; i < n; i++)
        to_slots(json_incref(json_array_get(arr, i)), &ev[i], &txt[i]);
    int r = mtd_store_ingest(f->s, cred, key, ev, n, stored);
    for (size_t i = 0; i < n; i++)
        free(txt[i]);
    free(txt);
    free(ev);
    return r;
}

static int count(fixture *f, const char *type)
{
    json_t *rows = mtd_store_event_rows(f->s, type, NULL, NULL);
    int n = (int)json_array_size(rows);
    json_decref(rows);
    return n;
}

/* Rows of one device in an event list whose event_id starts with prefix; -1 if any
 * row listed belongs to another device. */
static int device_rows(fixture *f, const char *type, const char *dev, const char *prefix)
{
    json_t *rows = mtd_store_event_rows(f->s, type, dev, NULL), *r;
    size_t i;
    int n = 0;
    json_array_foreach(rows, i, r) {
        if (strcmp(json_string_value(json_object_get(r, "device_id")), dev) != 0)
            n = -1000000;
        n += !strncmp(json_string_value(json_object_get(r, "event_id")), prefix, strlen(prefix));
    }
    json_decref(rows);
    return n < 0 ? -1 : n;
}

/* Threads of this process. */
/* The process's threads but the summaries' maintainer (which an earlier test's
 * inventory rows may have started, and which ends after 30 s idle). */
static int threads(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/task");
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        char path[300], comm[32] = "";
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        FILE *c = e->d_name[0] != '.' ? fopen(path, "r") : NULL;
        if (c && fgets(comm, sizeof comm, c) && strcmp(comm, "mtd-summaries\n") != 0)
            n++;
        if (c)
            fclose(c);
    }
    if (d)
        closedir(d);
    return n;
}

static void tokens_are_found_by_hash_and_revocable(void **state)
{
    fixture *f = *state;
    const char *h = "aaaabbbbccccddddeeeeffff0000111122223333444455556666777788889999";
    mtd_role role;
    assert_int_equal(mtd_store_token_add(f->s, h, MTD_ROLE_ANALYST, "reader"), 0);
    assert_int_equal(mtd_store_token_role(f->s, h, &role), 0);
    assert_int_equal(role, MTD_ROLE_ANALYST);
    assert_int_equal(mtd_store_token_role(f->s, "00", &role), MTD_EAUTH);
    assert_int_equal(mtd_store_token_revoke(f->s, "aaaabbbbcccc"), 0);
    assert_int_equal(mtd_store_token_role(f->s, h, &role), MTD_EAUTH);
    assert_int_equal(mtd_store_token_revoke(f->s, "aaaabbbbcccc"), MTD_ENOENT);
}

/* The OpenID Connect configuration is one text, kept and removed; a sign-in begun is
 * taken once, and not after it expires; past MTD_OIDC_PENDING_MAX live ones, none more. */
static void oidc_sign_ins_are_taken_once(void **state)
{
    fixture *f = *state;
    char txt[64], v[MTD_OIDC_SECRET_LEN], n[MTD_OIDC_SECRET_LEN];
    assert_int_equal(mtd_store_oidc_get(f->s, txt, sizeof txt), MTD_ENOENT);
    assert_int_equal(mtd_store_oidc_set(f->s, NULL), MTD_ENOENT);
    assert_int_equal(mtd_store_oidc_set(f->s, "{\"a\":1}"), 0);
    assert_int_equal(mtd_store_oidc_set(f->s, "{\"a\":2}"), 0);
    assert_int_equal(mtd_store_oidc_get(f->s, txt, sizeof txt), 0);
    assert_string_equal(txt, "{\"a\":2}");
    assert_int_equal(mtd_store_oidc_set(f->s, NULL), 0);
    assert_int_equal(mtd_store_oidc_get(f->s, txt, sizeof txt), MTD_ENOENT);

    int64_t now = (int64_t)time(NULL);
    mtd_oidc_login live = {"h1", "verifier-1", "nonce-1", now + 600}, old = {"h2", "verifier-2", "nonce-2", now - 1};
    assert_int_equal(mtd_store_oidc_login_add(f->s, &live), 0);
    assert_int_equal(mtd_store_oidc_login_add(f->s, &old), 0);
    assert_int_equal(mtd_store_oidc_login_take(f->s, "h2", v, n), MTD_ENOENT); /* expired */
    assert_int_equal(mtd_store_oidc_login_take(f->s, "h1", v, n), 0);
    assert_string_equal(v, "verifier-1");
    assert_string_equal(n, "nonce-1");
    assert_int_equal(mtd_store_oidc_login_take(f->s, "h1", v, n), MTD_ENOENT); /* taken */
    char h[16];
    for (int i = 0; i < MTD_OIDC_PENDING_MAX; i++) {
        snprintf(h, sizeof h, "p%d", i);
        mtd_oidc_login l = {h, "v", "n", now + 600};
        assert_int_equal(mtd_store_oidc_login_add(f->s, &l), 0);
    }
    mtd_oidc_login more = {"over", "v", "n", now + 600};
    assert_int_equal(mtd_store_oidc_login_add(f->s, &more), MTD_ENOSPC);
    assert_int_equal(mtd_store_oidc_login_take(f->s, "p7", v, n), 0);
    assert_int_equal(mtd_store_oidc_login_add(f->s, &more), 0); /* one taken, one place */
}

/* A credential of device dev enrolled with a token of its own (any number of uses). */
static int enroll_dev(fixture *f, const char *cred, const char *dev, const char *upn)
{
    char tok[80];
    snprintf(tok, sizeof tok, "enr-for-%s", cred);
    assert_int_equal(mtd_store_token_add(f->s, tok, MTD_ROLE_ENROLL, "test"), 0);
    mtd_enroll_req e = {.token_hash = tok, .cred_hash = cred, .device_id = dev, .upn = upn ? upn : "",
                        .dir_user_id = "", .dir_device_id = "", .org_id = "org"};
    mtd_enroll_out out;
    return mtd_store_enroll(f->s, &e, &out);
}

static void ingest_is_idempotent(void **state)
{
    fixture *f = *state;
    assert_int_equal(enroll_dev(f, "cred1", DEV, NULL), 0);
    json_t *batch = json_array();
    json_t *e = ev("usage.action", "EVENT0000000000000001");
    json_object_set_new(e, "action", json_string("enroll"));
    json_array_append_new(batch, e);
    int stored;
    mtd_cred_binding b;
    assert_int_equal(mtd_store_cred_lookup(f->s, "cred1", &b), 0);
    assert_int_equal(b.used, 0);
    assert_int_equal(ingest(f, "cred1", "key-0001", batch, &stored), 0);
    assert_int_equal(stored, 1);
    assert_int_equal(mtd_store_cred_lookup(f->s, "cred1", &b), 0);
    assert_int_equal(b.used, 1); /* marked by the batch's own transaction */
    assert_int_equal(ingest(f, "cred1", "key-0001", batch, &stored), MTD_EEXIST);
    assert_int_equal(stored, 0);
    /* the key, not the event ID, makes a batch a repeat: the agent resends a batch
     * over the same records under the same key (mtd_uplink.c) */
    assert_int_equal(ingest(f, "cred1", "key-0002", batch, &stored), 0);
    assert_int_equal(stored, 1);
    assert_int_equal(count(f, "usage.action"), 2);
    json_decref(batch);
}

static int enroll_with(fixture *f, const char *tok, const char *cred, const char *dev, int approval, mtd_enroll_out *out)
{
    mtd_enroll_req e = {.token_hash = tok, .cred_hash = cred, .device_id = dev, .upn = "ps_UUUUUUUUUUUUUUUUUUUUUU",
                        .dir_user_id = "", .dir_device_id = "ps_DDDDDDDDDDDDDDDDDDDDDD", .org_id = "org-1",
                        .approval_policy = approval};
    return mtd_store_enroll(f->s, &e, out);
}

/* Issue 14.3: a credential is bound at enrollment, once; a device with a live
 * credential cannot be enrolled again; one that had a credential comes back only after
 * a revocation or an approval; tokens run out of uses and expire. */
static void enrollment_binds_a_device_once(void **state)
{
    fixture *f = *state;
    mtd_enroll_out out;
    const char *A = "ps_AAAAAAAAAAAAAAAAAAAAAA", *B = "ps_BBBBBBBBBBBBBBBBBBBBBB";
    assert_int_equal(mtd_store_token_add_limited(f->s, "tok2", MTD_ROLE_ENROLL, "two uses", 0, 2), 0);
    assert_int_equal(enroll_with(f, "tok2", "a10000000000", A, 0, &out), 0);
    assert_string_equal(out.how, "new");
    assert_int_equal(enroll_with(f, "tok2", "a20000000000", A, 0, &out), MTD_EEXIST);
    assert_string_equal(out.live_id, "a10000000000");
    assert_int_equal(enroll_with(f, "tok2", "b10000000000", B, 0, &out), 0); /* the refusal took no use */
    mtd_role role;
    assert_int_equal(mtd_store_token_role(f->s, "tok2", &role), MTD_EAUTH); /* used up */
    assert_int_equal(enroll_with(f, "tok2", "c10000000000", "ps_CCCCCCCCCCCCCCCCCCCCCC", 0, &out), MTD_EAUTH);
    mtd_cred_binding b;
    assert_int_equal(mtd_store_cred_lookup(f->s, "a10000000000", &b), 0);
    assert_string_equal(b.device_id, A);
    assert_string_equal(b.upn, "ps_UUUUUUUUUUUUUUUUUUUUUU");
    assert_string_equal(b.dir_device_id, "ps_DDDDDDDDDDDDDDDDDDDDDD");
    assert_string_equal(b.org_id, "org-1");
    assert_int_equal(b.used, 0);
    assert_int_equal(mtd_store_cred_lookup(f->s, "a20000000000", &b), MTD_EAUTH);

    assert_int_equal(mtd_store_token_add(f->s, "tokN", MTD_ROLE_ENROLL, "any"), 0);
    char dev[64];
    assert_int_equal(mtd_store_cred_revoke(f->s, "a10000000000", "revoked", dev, sizeof dev), 0);
    assert_string_equal(dev, A);
    assert_int_equal(enroll_with(f, "tokN", "a30000000000", A, 0, &out), 0); /* after_revoke */
    assert_string_equal(out.how, "after_revoke");
    int n;
    assert_int_equal(mtd_store_device_retire(f->s, A, &n), 0);
    assert_int_equal(enroll_with(f, "tokN", "a40000000000", A, 0, &out), MTD_EPERM); /* retired */
    assert_int_equal(mtd_store_reenroll_approve(f->s, A, "admin:x"), 0);
    assert_int_equal(enroll_with(f, "tokN", "a40000000000", A, 0, &out), 0);
    assert_string_equal(out.how, "approved");
    assert_int_equal(mtd_store_reenroll_approve(f->s, "ps_NEVERNEVERNEVERNEVER", "admin:x"), MTD_ENOENT);
    /* reenroll=approval: a revocation is not enough */
    assert_int_equal(mtd_store_cred_revoke(f->s, "b10000000000", "revoked", dev, sizeof dev), 0);
    assert_int_equal(enroll_with(f, "tokN", "b20000000000", B, 1, &out), MTD_EPERM);
    /* an expired token enrolls nobody */
    assert_int_equal(mtd_store_token_add_limited(f->s, "tokOld", MTD_ROLE_ENROLL, "old", 1000, 0), 0);
    assert_int_equal(mtd_store_token_role(f->s, "tokOld", &role), MTD_EAUTH);
    assert_int_equal(enroll_with(f, "tokOld", "e10000000000", "ps_EEEEEEEEEEEEEEEEEEEEEE", 0, &out), MTD_EAUTH);
    /* revoking a token revokes the credentials it issued that were never used */
    assert_int_equal(mtd_store_cred_used(f->s, "a40000000000"), 0);
    assert_int_equal(enroll_with(f, "tokN", "f10000000000", "ps_FFFFFFFFFFFFFFFFFFFFFF", 0, &out), 0);
    assert_int_equal(mtd_store_token_revoke_unused(f->s, "tokN", &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(mtd_store_cred_lookup(f->s, "f10000000000", &b), MTD_EAUTH);
    assert_int_equal(mtd_store_cred_lookup(f->s, "a40000000000", &b), 0);
    assert_int_equal(b.used, 1);
    json_t *list = mtd_store_cred_list(f->s, A, NULL);
    assert_int_equal(json_array_size(list), 3); /* A1 revoked, A3 retired, A4 live; A2 was refused */
    json_decref(list);
}

/* The policy JSON of a device by device_state, and by the calls it stands for. */
static void state_of(fixture *f, const char *dev, char **by_state, int *consent, char **by_parts, int *consent2)
{
    mtd_policy p;
    assert_int_equal(mtd_store_device_state(f->s, dev, &p, consent), 0);
    *by_state = mtd_store_policy_text(&p);
    assert_int_equal(mtd_store_policy_of_device(f->s, dev, &p, NULL, 0), 0);
    *by_parts = mtd_store_policy_text(&p);
    assert_int_equal(mtd_store_device_consent(f->s, dev, consent2), 0);
}

static void device_state_is_its_groups_policy_and_its_consent(void **state)
{
    fixture *f = *state;
    mtd_policy ten;
    mtd_policy_default(&ten);
    ten.optional_data = 1;
    ten.retention_required_days = 30;
    assert_int_equal(mtd_store_policy_set(f->s, &ten), 0);
    assert_int_equal(mtd_store_group_policy_set(f->s, "field", "{\"retention_required_days\":7}"), 0);
    assert_int_equal(mtd_store_group_set(f->s, DEV, "field"), 0);
    json_t *batch = json_array(), *c = ev("consent.change", "EVENT0000000000000020");
    json_object_set_new(c, "state", json_string("granted"));
    json_array_append_new(batch, c);
    int stored, consent, consent2;
    assert_int_equal(ingest(f, "", "key-0020", batch, &stored), 0);
    json_decref(batch);
    char *a, *b;
    state_of(f, DEV, &a, &consent, &b, &consent2);
    json_t *j = json_loads(a, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(j, "retention_required_days")), 7); /* the group's */
    assert_true(json_is_true(json_object_get(j, "optional_data")));                         /* the tenant's */
    json_decref(j);
    assert_string_equal(a, b);
    assert_int_equal(consent, 1);
    assert_int_equal(consent2, 1);
    free(a), free(b);
    /* a device in no group, never seen: the tenant's policy, no consent */
    state_of(f, "ps_nogroup0000000000000", &a, &consent, &b, &consent2);
    char *want = mtd_store_policy_text(&ten);
    assert_string_equal(a, want);
    assert_string_equal(b, want);
    assert_int_equal(consent, 0);
    assert_int_equal(consent2, 0);
    free(a), free(b), free(want);
}

static void consent_revocation_deletes_optional_data(void **state)
{
    fixture *f = *state;
    json_t *batch = json_array();
    json_t *c = ev("consent.change", "EVENT0000000000000010");
    json_object_set_new(c, "state", json_string("granted"));
    json_array_append_new(batch, c);
    json_t *fb = ev("feedback.submission", "EVENT0000000000000011");
    json_object_set_new(fb, "type", json_string("idea"));
    json_object_set_new(fb, "comment", json_string("dark mode please"));
    json_array_append_new(batch, fb);
    int stored, consent;
    assert_int_equal(ingest(f, "", "key-0010", batch, &stored), 0);
    assert_int_equal(mtd_store_device_consent(f->s, DEV, &consent), 0);
    assert_int_equal(consent, 1);
    assert_int_equal(count(f, "feedback.submission"), 1);
    json_decref(batch);
    batch = json_array();
    c = ev("consent.change", "EVENT0000000000000012");
    json_object_set_new(c, "state", json_string("revoked"));
    json_object_set_new(c, "delete_optional", json_true());
    json_array_append_new(batch, c);
    assert_int_equal(ingest(f, "", "key-0011", batch, &stored), 0);
    assert_int_equal(mtd_store_device_consent(f->s, DEV, &consent), 0);
    assert_int_equal(consent, 0);
    assert_int_equal(count(f, "feedback.submission"), 0);
    json_t *audit = mtd_store_audit_list(f->s, NULL);
    const char *detail = json_string_value(json_object_get(json_array_get(audit, json_array_size(audit) - 1), "detail"));
    assert_string_equal(detail, "consent revoked by a device; deleted its 1 optional record");
    json_decref(audit);
    json_decref(batch);
}

#define DEV2 "ps_ZZFya3ttFnaUX3D61iaoEQ"

/* One event of a device at a time, with extra fields as JSON. */
static json_t *ev_at(const char *type, const char *dev, const char *id, const char *time,
                     const char *fields)
{
    json_t *e = ev(type, id);
    json_object_set_new(e, "device_id", json_string(dev));
    json_object_set_new(e, "time", json_string(time));
    json_t *x = json_loads(fields, 0, NULL);
    json_object_update(e, x);
    json_decref(x);
    return e;
}

static const char *app(const char *pkg, int version, const char *installer, const char *perms)
{
    static char b[512];
    snprintf(b, sizeof b, "{\"package\":\"%s\",\"version_code\":%d,\"install_source\":\"%s\","
                          "\"permissions\":%s,\"is_system\":false}", pkg, version, installer, perms);
    return b;
}

static const char *threat(const char *id, const char *severity, const char *status)
{
    static char b[512];
    snprintf(b, sizeof b, "{\"threat_name\":\"T-%s\",\"category\":\"malware\",\"severity\":\"%s\","
                          "\"source\":\"app\",\"evidence\":\"rule\",\"status\":\"%s\",\"package\":"
                          "\"com.a\",\"threat_id\":\"%s\"}", id, severity, status, id);
    return b;
}

/* "pkg@device-initial:version ..." of an apps report */
static const char *apps_line(json_t *rows)
{
    static char b[512];
    size_t len = 0, i;
    json_t *r;
    b[0] = 0;
    json_array_foreach(rows, i, r) {
        len += (size_t)snprintf(b + len, sizeof b - len, "%s%s@%c:%lld", i ? " " : "",
                                json_string_value(json_object_get(r, "package")),
                                json_string_value(json_object_get(r, "device_id"))[3],
                                (long long)json_integer_value(json_object_get(r, "version_code")));
    }
    json_decref(rows);
    return b;
}

/* The devices report of DEV (Android 14, risk dev1_risk) and DEV2 (Android 13, no
 * risk), in either order (by last seen, which may be the same second). */
static void assert_devices(fixture *f, const char *dev1_risk)
{
    json_t *d = mtd_store_devices(f->s, NULL), *x;
    size_t i;
    assert_int_equal(json_array_size(d), 2);
    json_array_foreach(d, i, x) {
        int dev1 = !strcmp(json_string_value(json_object_get(x, "device_id")), DEV);
        assert_string_equal(json_string_value(json_object_get(x, "risk")), dev1 ? dev1_risk : "none");
        assert_string_equal(json_string_value(json_object_get(x, "os_version")), dev1 ? "14" : "13");
    }
    json_decref(d);
}

/* The reports take each app's and each threat's latest row: an update that drops a
 * permission, a removal, a reinstall after it, a threat resolved after it opened. */
/* The console's reads on the same rows: threats and devices by filter, the summary's
 * counts and detections per day, threat notes (reports_use_the_latest_row's data). */
static void console_reads(fixture *f)
{
    mtd_threat_query tq = {.severity = "medium", .category = "malware"};
    json_t *t = mtd_store_threats_where(f->s, &tq, NULL);
    assert_int_equal(json_array_size(t), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(t, 0), "threat_id")), "thr-2");
    json_decref(t);
    tq = (mtd_threat_query){.status = "active", .severity = "high"};
    t = mtd_store_threats_where(f->s, &tq, NULL);
    assert_int_equal(json_array_size(t), 0);
    json_decref(t);
    tq = (mtd_threat_query){.category = "integrity"};
    t = mtd_store_threats_where(f->s, &tq, NULL);
    assert_int_equal(json_array_size(t), 0);
    json_decref(t);

    mtd_device_query dq = {.risk = "none"};
    json_t *d = mtd_store_devices_where(f->s, &dq, NULL);
    assert_int_equal(json_array_size(d), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(d, 0), "device_id")), DEV2);
    json_decref(d);
    dq = (mtd_device_query){.seen_before = 1}; /* every device was seen since 1970 */
    d = mtd_store_devices_where(f->s, &dq, NULL);
    assert_int_equal(json_array_size(d), 0);
    json_decref(d);

    /* a day after the last detection (2026-11-25T12:00:00Z), over two days */
    json_t *sm = mtd_store_summary(f->s, 1795608000, 7, 2);
    assert_non_null(sm);
    char *txt = json_dumps(sm, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(txt, "{\"by_risk\":{\"high\":0,\"low\":0,\"medium\":1,\"none\":1},\"days\":2,"
                             "\"devices\":2,\"open_threats\":{\"critical\":0,\"high\":0,\"low\":0,\"medium\":1},"
                             "\"stale_days\":7,\"stale_devices\":0,\"threats_by_day\":[{\"day\":\"2026-11-24\","
                             "\"detected\":2,\"resolved\":1}]}");
    free(txt);
    json_decref(sm);

    int64_t id1, id2;
    assert_int_equal(mtd_store_threat_note_add(f->s, DEV, "thr-1", "admin:a", "called <b>alice</b>", &id1), 0);
    assert_int_equal(mtd_store_threat_note_add(f->s, DEV, "thr-2", "admin:a", "removed", &id2), 0);
    assert_true(id2 > id1);
    json_t *n = mtd_store_threat_notes(f->s, DEV, "thr-1", NULL);
    assert_int_equal(json_array_size(n), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(n, 0), "note")), "called <b>alice</b>");
    json_decref(n);
    mtd_page pg = {.limit = 1, .offset = 0};
    n = mtd_store_threat_notes(f->s, DEV, NULL, &pg);
    assert_int_equal(json_array_size(n), 1);
    assert_int_equal(pg.more, 1);
    json_decref(n);
    n = mtd_store_threat_notes(f->s, DEV2, NULL, NULL);
    assert_int_equal(json_array_size(n), 0);
    json_decref(n);
}

static void reports_use_the_latest_row(void **state)
{
    fixture *f = *state;
    const char *T0 = "2026-11-24T10:00:00Z", *T1 = "2026-11-24T11:00:00Z", *T2 = "2026-11-24T12:00:00Z";
    const char *CAM = "[\"android.permission.CAMERA\"]";
    json_t *b[] = {
        json_pack("[oooooo]", ev_at("app.inventory", DEV, "E01", T0, app("com.a", 1, "com.android.vending", CAM)),
                  ev_at("app.inventory", DEV, "E02", T0, app("com.b", 1, "com.android.vending", "[]")),
                  ev_at("app.inventory", DEV, "E03", T0, app("com.c", 1, "com.android.chrome", "[]")),
                  ev_at("threat.detection", DEV, "E04", T0, threat("thr-1", "high", "active")),
                  ev_at("threat.detection", DEV, "E05", T0, threat("thr-2", "medium", "active")),
                  ev_at("device.info", DEV, "E06", T0, "{\"os_name\":\"Android\",\"os_version\":\"14\",\"device_id_source\":\"android_id\"}")),
        json_pack("[oooo]", ev_at("app.inventory", DEV, "E11", T1, app("com.a", 2, "com.android.vending", "[]")),
                  ev_at("app.lifecycle", DEV, "E12", T1, "{\"package\":\"com.b\",\"action\":\"remove\"}"),
                  ev_at("app.lifecycle", DEV, "E13", T1, "{\"package\":\"com.c\",\"action\":\"remove\"}"),
                  ev_at("threat.detection", DEV, "E14", T1, threat("thr-1", "high", "resolved"))),
        json_pack("[o]", ev_at("app.inventory", DEV, "E21", T2, app("com.c", 2, "com.android.vending", "[]"))),
        json_pack("[oo]", ev_at("app.inventory", DEV2, "E31", T0, app("com.a", 1, "com.android.vending", CAM)),
                  ev_at("device.info", DEV2, "E32", T0, "{\"os_name\":\"Android\",\"os_version\":\"13\",\"device_id_source\":\"mac\"}")),
    };
    char key[16];
    int stored;
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) {
        snprintf(key, sizeof key, "key-%zu", i);
        assert_int_equal(ingest(f, "", key, b[i], &stored), 0);
        assert_int_equal(stored, (int)json_array_size(b[i]));
        json_decref(b[i]);
    }
    assert_string_equal(apps_line(mtd_store_apps(f->s, NULL, NULL)), "com.a@3:2 com.a@Z:1 com.c@3:2");
    mtd_app_query q = {.permission = "android.permission.CAMERA"};
    assert_string_equal(apps_line(mtd_store_apps(f->s, &q, NULL)), "com.a@Z:1");
    q = (mtd_app_query){.sideloaded = 1};
    assert_string_equal(apps_line(mtd_store_apps(f->s, &q, NULL)), "");
    q = (mtd_app_query){.device_id = DEV2};
    assert_string_equal(apps_line(mtd_store_apps(f->s, &q, NULL)), "com.a@Z:1");
    q = (mtd_app_query){.package = "com.c"};
    assert_string_equal(apps_line(mtd_store_apps(f->s, &q, NULL)), "com.c@3:2");
    q = (mtd_app_query){.device_id = DEV, .package = "com.b"};
    assert_string_equal(apps_line(mtd_store_apps(f->s, &q, NULL)), "");
    /* pages of the same order: two rows and "more", then the last row and no more */
    mtd_page pg = {.limit = 2, .offset = 0};
    assert_string_equal(apps_line(mtd_store_apps(f->s, NULL, &pg)), "com.a@3:2 com.a@Z:1");
    assert_int_equal(pg.more, 1);
    pg = (mtd_page){.limit = 2, .offset = 2};
    assert_string_equal(apps_line(mtd_store_apps(f->s, NULL, &pg)), "com.c@3:2");
    assert_int_equal(pg.more, 0);
    pg = (mtd_page){.limit = 3, .offset = 0};
    assert_string_equal(apps_line(mtd_store_apps(f->s, NULL, &pg)), "com.a@3:2 com.a@Z:1 com.c@3:2");
    assert_int_equal(pg.more, 0);

    json_t *t = mtd_store_threats(f->s, "resolved", NULL, NULL);
    assert_int_equal(json_array_size(t), 1);
    json_t *r = json_array_get(t, 0);
    assert_string_equal(json_string_value(json_object_get(r, "threat_id")), "thr-1");
    assert_string_equal(json_string_value(json_object_get(r, "first_seen")), T0);
    assert_string_equal(json_string_value(json_object_get(r, "last_seen")), T1);
    json_decref(t);
    t = mtd_store_threats(f->s, "active", DEV, NULL);
    assert_int_equal(json_array_size(t), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(t, 0), "threat_id")), "thr-2");
    json_decref(t);
    t = mtd_store_threats(f->s, NULL, DEV2, NULL);
    assert_int_equal(json_array_size(t), 0);
    json_decref(t);

    assert_devices(f, "medium");
    assert_int_equal(mtd_store_device_risk(f->s, DEV, &r), 0);
    assert_string_equal(json_string_value(json_object_get(r, "risk")), "medium");
    assert_int_equal(json_integer_value(json_object_get(r, "open_threats")), 1);
    json_decref(r);
    console_reads(f);
}

/* Events of n usage.action rows of one device, IDs prefix-0..n-1, as store slots. */
typedef struct {
    mtd_event ev[8];
    char *txt[8];
    size_t n;
} prepared;

static void prepare(prepared *p, const char *dev, const char *prefix, size_t n)
{
    char id[64];
    p->n = n;
    for (size_t i = 0; i < n; i++) {
        snprintf(id, sizeof id, "%s%zu", prefix, i);
        json_t *e = ev("usage.action", id);
        json_object_set_new(e, "device_id", json_string(dev));
        json_object_set_new(e, "action", json_string("enroll"));
        to_slots(e, &p->ev[i], &p->txt[i]);
    }
}

static void unprepare(prepared *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->txt[i]);
}

/* On PostgreSQL: a raw connection set to the tenant's role and schema. */
static PGconn *pg_tenant(void)
{
    PGconn *c = pg_raw();
    PGresult *r = pg_sql(c, "SET ROLE mtd_t_" TENANT "; SET search_path TO t_" TENANT, NULL, 0);
    assert_non_null(r);
    PQclear(r);
    return c;
}

/* Runs SQL on the store behind the store's back. */
static void raw_sql(fixture *f, const char *sql)
{
    if (f->pg) {
        PGconn *c = pg_tenant();
        char err[16];
        PGresult *r = pg_sql(c, sql, err, sizeof err);
        if (!r)
            fail_msg("%s: %s", sql, err);
        PQclear(r);
        PQfinish(c);
        return;
    }
    char path[128], *err = NULL;
    sqlite3 *db;
    snprintf(path, sizeof path, "%s/store.sqlite", f->dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", sql, err);
    sqlite3_close(db);
}

/* The first column of a one-row query, on the store's file behind the store's back. */
static int raw_count(fixture *f, const char *sql)
{
    if (f->pg) {
        PGconn *c = pg_tenant();
        PGresult *r = pg_sql(c, sql, NULL, 0);
        assert_non_null(r);
        int n = atoi(PQgetvalue(r, 0, 0));
        PQclear(r);
        PQfinish(c);
        return n;
    }
    char path[128];
    sqlite3 *db;
    sqlite3_stmt *st;
    snprintf(path, sizeof path, "%s/store.sqlite", f->dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* Drops every index on batches but its primary key's. */
static void drop_batch_indexes(fixture *f)
{
    char path[128], sql[160];
    sqlite3 *db;
    sqlite3_stmt *st;
    snprintf(path, sizeof path, "%s/store.sqlite", f->dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    for (int more = 1; more;) {
        assert_int_equal(sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type='index'"
                                                " AND tbl_name='batches' AND sql IS NOT NULL", -1, &st, NULL),
                         SQLITE_OK);
        more = sqlite3_step(st) == SQLITE_ROW;
        if (more)
            snprintf(sql, sizeof sql, "DROP INDEX \"%s\"", sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        if (more)
            assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    }
    sqlite3_close(db);
}

/* A store made before batches had row ranges (an index per event table on
 * (device_id, event_id), batches without first_row/last_row, devices without
 * info_row) is migrated when opened: each device's rows, old and new, are found. */
static void a_store_without_row_ranges_is_migrated(void **state)
{
    fixture *f = *state;
    const char *T0 = "2026-11-24T10:00:00Z";
    json_t *b[] = {
        json_pack("[oo]", ev_at("usage.action", DEV, "M01", T0, "{\"action\":\"enroll\"}"),
                  ev_at("device.info", DEV, "M02", T0, "{\"os_name\":\"Android\",\"os_version\":\"14\",\"device_id_source\":\"android_id\"}")),
        json_pack("[oo]", ev_at("usage.action", DEV2, "M11", T0, "{\"action\":\"enroll\"}"),
                  ev_at("device.info", DEV2, "M12", T0, "{\"os_name\":\"Android\",\"os_version\":\"13\",\"device_id_source\":\"mac\"}")),
        json_pack("[o]", ev_at("usage.action", DEV, "M21", T0, "{\"action\":\"ledger_viewed\"}")),
        json_pack("[o]", ev_at("usage.action", DEV, "M31", T0, "{\"action\":\"ledger_viewed\"}")),
    };
    char key[16], why[256];
    int stored;
    for (size_t i = 0; i < 3; i++) {
        snprintf(key, sizeof key, "key-%zu", i);
        assert_int_equal(ingest(f, "", key, b[i], &stored), 0);
    }
    mtd_store_close(f->s);
    drop_batch_indexes(f);
    /* user_version 0: made before stores recorded their schema (mtd_store_sqlite.c) */
    raw_sql(f, "PRAGMA user_version=0; ALTER TABLE batches DROP COLUMN first_row; ALTER TABLE batches DROP COLUMN types;"
               " ALTER TABLE batches DROP COLUMN last_row; ALTER TABLE devices DROP COLUMN info_row;"
               " CREATE UNIQUE INDEX ev_usage_action_dev_event ON ev_usage_action(device_id, event_id);"
               " CREATE UNIQUE INDEX ev_device_info_dev_event ON ev_device_info(device_id, event_id);");
    assert_int_equal(mtd_store_open(f->dir, &f->s, why, sizeof why), 0);
    assert_int_equal(ingest(f, "", "key-3", b[3], &stored), 0);
    assert_int_equal(device_rows(f, "usage.action", DEV, "M"), 3);
    assert_int_equal(device_rows(f, "usage.action", DEV2, "M"), 1);
    assert_int_equal(device_rows(f, "device.info", DEV2, "M12"), 1);
    assert_devices(f, "none");
    assert_int_equal(raw_count(f, "SELECT count(*) FROM sqlite_master WHERE name LIKE '%dev_event'"), 0);
    assert_int_equal(raw_count(f, "SELECT count(*) FROM batches WHERE idem_key LIKE 'migrated:%'"), 4);
    for (size_t k = 0; k < 4; k++)
        json_decref(b[k]);
}

/* Retention deletes each category's events past its period, and the batch records
 * (which name the device) once past the longest period, not before. */
static void retention_prunes_events_then_batches(void **state)
{
    fixture *f = *state;
    const char *T0 = "2026-11-24T10:00:00Z";
    json_t *b = json_pack("[o]", ev_at("usage.action", DEV, "R01", T0, "{\"action\":\"enroll\"}"));
    int stored, deleted;
    assert_int_equal(ingest(f, "", "key-r1", b, &stored), 0);
    json_decref(b);
    mtd_policy p;
    mtd_policy_default(&p); /* required 365 days, diagnostic 30, feedback 90 */
    int64_t now = (int64_t)time(NULL), day = 86400;
    assert_int_equal(mtd_store_retention(f->s, &p, now + 100 * day, &deleted), 0);
    assert_int_equal(deleted, 0);
    assert_int_equal(raw_count(f, "SELECT count(*) FROM batches"), 1);
    p.retention_required_days = 30;
    assert_int_equal(mtd_store_retention(f->s, &p, now + 80 * day, &deleted), 0);
    assert_int_equal(deleted, 1);
    assert_int_equal(raw_count(f, "SELECT count(*) FROM batches"), 1); /* feedback: 90 days */
    p.retention_feedback_days = 60;
    assert_int_equal(mtd_store_retention(f->s, &p, now + 100 * day, &deleted), 0);
    assert_int_equal(deleted, 0);
    assert_int_equal(raw_count(f, "SELECT count(*) FROM batches"), 0);
    assert_int_equal(raw_count(f, "SELECT count(*) FROM audit WHERE detail LIKE"
                                  " '%deleted 0 records and 1 batch record past%'"), 1);
}

/* The export's JSON lines, made by SQLite, say what the rows say: every column, same
 * values (integers, text with quotes, backslashes, newlines and non-ASCII, a list kept
 * as its JSON text, NULL), in row order, chunk after chunk. */
static void export_lines_are_the_rows(void **state)
{
    fixture *f = *state;
    const char *T0 = "2026-11-24T10:00:00Z";
    json_t *b = json_pack("[ooo]",
        ev_at("app.inventory", DEV, "X01", T0, "{\"package\":\"com.a\",\"version_code\":7,"
              "\"version_name\":\"1.0 \\\"beta\\\" \\\\ \\n caf\u00e9 \u2713 \\ud83d\\ude00\","
              "\"permissions\":[\"android.permission.CAMERA\"],\"is_system\":true}"),
        ev_at("app.inventory", DEV2, "X02", T0, "{\"package\":\"com.b\",\"version_code\":-1}"),
        ev_at("app.inventory", DEV, "X03", T0, "{\"package\":\"com.c\",\"version_code\":9007199254740993}"));
    int stored;
    assert_int_equal(ingest(f, "", "key-x", b, &stored), 0);
    json_decref(b);
    json_t *rows = mtd_store_event_rows(f->s, "app.inventory", NULL, NULL);
    assert_int_equal(json_array_size(rows), 3);
    mtd_buf out;
    mtd_buf_init(&out, 0);
    int64_t after = 0;
    for (size_t i = 0; i < 3; i++) { /* chunks of 2 rows: 2, then 1, then none */
        int n = mtd_store_event_lines_after(f->s, "app.inventory", after, 2, &out, &after);
        assert_int_equal(n, i == 0 ? 2 : i == 1 ? 1 : 0);
    }
    assert_int_equal(after, json_integer_value(json_object_get(json_array_get(rows, 2), "row")));
    mtd_buf_append(&out, "", 1);
    char *line = (char *)out.data, *nl;
    assert_non_null(strstr(line, "\"version_name\":\"1.0 \\\"beta\\\" \\\\ \\n caf\u00e9"));
    for (size_t i = 0; i < 3; i++, line = nl + 1) {
        assert_non_null(nl = strchr(line, '\n'));
        *nl = 0;
        json_error_t err;
        json_t *j = json_loads(line, 0, &err);
        if (!j)
            fail_msg("line %zu is not JSON: %s: %s", i, err.text, line);
        if (!json_equal(j, json_array_get(rows, i)))
            fail_msg("line %zu differs from its row: %s", i, line);
        json_decref(j);
    }
    assert_int_equal(*line, 0);
    mtd_buf_free(&out);
    json_decref(rows);
}

/* The columns the alert derivation reads (mtd_store_event_cols_after) say what the
 * rows say: the same text (quotes, backslashes, newlines, non-ASCII), a number in
 * decimal, received_at as RFC 3339, NULL as NULL, in row order, chunk after chunk; a
 * boolean, a list or an unknown name is refused. */
static void event_cols_are_the_rows(void **state)
{
    fixture *f = *state;
    const char *T0 = "2026-11-24T10:00:00Z";
    json_t *b = json_pack("[ooo]",
        ev_at("app.inventory", DEV, "C01", T0, "{\"package\":\"com.a\",\"version_code\":7,"
              "\"version_name\":\"1.0 \\\"beta\\\" \\\\ \\n caf\u00e9 \u2713\"}"),
        ev_at("app.inventory", DEV2, "C02", T0, "{\"package\":\"com.b\",\"version_code\":-1}"),
        ev_at("app.inventory", DEV, "C03", T0, "{\"package\":\"com.c\",\"version_code\":9007199254740993}"));
    int stored;
    assert_int_equal(ingest(f, "", "key-c", b, &stored), 0);
    json_decref(b);
    json_t *rows = mtd_store_event_rows(f->s, "app.inventory", NULL, NULL);
    assert_int_equal(json_array_size(rows), 3);
    static const char *const cols[] = {"event_id", "device_id", "received_at", "package", "version_code", "version_name"};
    int64_t after = 0;
    for (size_t chunk = 0; chunk < 3; chunk++) { /* chunks of 2 rows: 2, then 1, then none */
        mtd_store_cols c;
        assert_int_equal(mtd_store_event_cols_after(f->s, "app.inventory", after, 2, cols, 6, &c), 0);
        assert_int_equal(c.nrows, chunk == 0 ? 2 : chunk == 1 ? 1 : 0);
        for (size_t r = 0; r < c.nrows; r++) {
            const json_t *row = json_array_get(rows, 2 * chunk + r);
            assert_int_equal(c.row[r], json_integer_value(json_object_get(row, "row")));
            for (size_t k = 0; k < 6; k++) {
                const json_t *v = json_object_get(row, cols[k]);
                const char *got = c.val[r * 6 + k];
                char num[32];
                snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
                const char *want = json_is_integer(v) ? num : json_string_value(v);
                if (want ? !got || strcmp(got, want) : got != NULL)
                    fail_msg("row %zu column %s: [%s], the row says [%s]", r, cols[k], got ? got : "NULL",
                             want ? want : "NULL");
            }
            after = c.row[r];
        }
        mtd_store_cols_free(&c);
    }
    assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0), "version_name")),
                        "1.0 \"beta\" \\ \n caf\u00e9 \u2713");
    mtd_store_cols c;
    static const char *const bad[][1] = {{"is_system"}, {"permissions"}, {"no_such"}, {"row\" FROM x --"}};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(mtd_store_event_cols_after(f->s, "app.inventory", 0, 2, bad[i], 1, &c), MTD_EINVAL);
    assert_int_equal(mtd_store_event_cols_after(f->s, "no.such", 0, 2, cols, 1, &c), MTD_EINVAL);
    json_decref(rows);
}

/* Row numbers are not reused inside a range a batch record still holds: the newest
 * batch's rows deleted (as consent revocation deletes feedback), the store reopened,
 * the device's next feedback is listed once. */
static void rows_of_a_deleted_batch_are_not_renumbered(void **state)
{
    fixture *f = *state;
    const char *T0 = "2026-11-24T10:00:00Z", *FB = "{\"type\":\"idea\",\"comment\":\"x\"}";
    json_t *b[] = {json_pack("[o]", ev_at("usage.action", DEV, "N01", T0, "{\"action\":\"enroll\"}")),
                   json_pack("[o]", ev_at("feedback.submission", DEV, "N02", T0, FB)),
                   json_pack("[o]", ev_at("feedback.submission", DEV, "N03", T0, FB))};
    int stored;
    char why[256];
    assert_int_equal(ingest(f, "", "key-n1", b[0], &stored), 0);
    assert_int_equal(ingest(f, "", "key-n2", b[1], &stored), 0);
    mtd_store_close(f->s);
    raw_sql(f, "DELETE FROM ev_feedback_submission");
    assert_int_equal(open_store(f), 0);
    (void)why;
    assert_int_equal(ingest(f, "", "key-n3", b[2], &stored), 0);
    assert_int_equal(device_rows(f, "feedback.submission", DEV, "N03"), 1);
    for (size_t i = 0; i < 3; i++)
        json_decref(b[i]);
}

static void group_stores_each_batch_on_its_own(void **state)
{
    fixture *f = *state;
    prepared a, b, c, d;
    prepare(&a, DEV, "GROUPA0000000000000", 3);
    prepare(&b, DEV, "GROUPB0000000000000", 2);
    prepare(&c, DEV, "GROUPC0000000000000", 4);
    prepare(&d, "ps_otherdevice00000000000", "GROUPA0000000000000", 3);
    /* b repeats a's key: it is refused alone; a's and c's rows are stored; d reuses
     * a's event IDs from another device, which does not make them repeats */
    mtd_store_batch bd = {.cred_hash = "", .idem_key = "key-d", .events = d.ev, .n = d.n};
    mtd_store_batch bc = {.cred_hash = "", .idem_key = "key-c", .events = c.ev, .n = c.n, .next = &bd};
    mtd_store_batch bb = {.cred_hash = "", .idem_key = "key-a", .events = b.ev, .n = b.n, .next = &bc};
    mtd_store_batch ba = {.cred_hash = "", .idem_key = "key-a", .events = a.ev, .n = a.n, .next = &bb};
    mtd_store_ingest_group(f->s, &ba);
    assert_int_equal(ba.result, 0);
    assert_int_equal(ba.stored, 3);
    assert_int_equal(bb.result, MTD_EEXIST);
    assert_int_equal(bb.stored, 0);
    assert_int_equal(bc.result, 0);
    assert_int_equal(bc.stored, 4);
    assert_int_equal(bd.result, 0);
    assert_int_equal(bd.stored, 3);
    assert_int_equal(count(f, "usage.action"), 10);
    /* each device's rows through its batches' row ranges: b's rolled-back range is
     * in no batch, and d's rows are not DEV's though d's range lies between c's and
     * the next batch of DEV */
    mtd_store_batch again = {.cred_hash = "", .idem_key = "key-e", .events = a.ev, .n = a.n};
    mtd_store_ingest_group(f->s, &again);
    assert_int_equal(again.stored, 3);
    assert_int_equal(device_rows(f, "usage.action", DEV, "GROUPA0000000000000"), 6);
    assert_int_equal(device_rows(f, "usage.action", DEV, "GROUPB0000000000000"), 0);
    assert_int_equal(device_rows(f, "usage.action", DEV, "GROUPC0000000000000"), 4);
    assert_int_equal(device_rows(f, "usage.action", "ps_otherdevice00000000000", "GROUP"), 3);
    assert_int_equal(device_rows(f, "usage.action", "ps_otherdevice00000000000", "GROUPA"), 3);
    unprepare(&a);
    unprepare(&b);
    unprepare(&c);
    unprepare(&d);
}

#define WRITERS 8
#define BATCHES 25

typedef struct {
    mtd_store *s;
    int id, ok, stored;
} writer;

static void *write_batches(void *arg)
{
    writer *w = arg;
    for (int k = 0; k < BATCHES; k++) {
        prepared p;
        char prefix[40], key[40];
        snprintf(prefix, sizeof prefix, "W%02dB%03dE000000000", w->id, k);
        snprintf(key, sizeof key, "key-%02d-%03d", w->id, k);
        prepare(&p, DEV, prefix, 4);
        int stored;
        if (mtd_store_ingest(w->s, "", key, p.ev, p.n, &stored) == 0)
            w->ok++;
        w->stored += stored;
        unprepare(&p);
    }
    return NULL;
}

static void concurrent_batches_are_each_stored_once(void **state)
{
    fixture *f = *state;
    pthread_t t[WRITERS];
    writer w[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        w[i] = (writer){.s = f->s, .id = i};
        pthread_create(&t[i], NULL, write_batches, &w[i]);
    }
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].ok, BATCHES);
        assert_int_equal(w[i].stored, BATCHES * 4);
    }
    assert_int_equal(count(f, "usage.action"), WRITERS * BATCHES * 4);
    /* a store whose WAL stayed small never started a checkpointer thread */
    assert_int_equal(threads(), 1);
}

/* Does any file under dir contain needle? */
static int files_contain(const char *dir, const char *needle)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "grep -rqaF '%s' '%s'", needle, dir);
    return system(cmd) == 0;
}

/* Does the tenant's store hold needle anywhere: any file of its directory (SQLite), or
 * a dump of its schema read past row-level security (PostgreSQL). */
static int store_holds(fixture *f, const char *needle)
{
    if (!f->pg)
        return files_contain(f->dir, needle);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "runuser -u postgres -- pg_dump -h '%s' -d mtd -n t_" TENANT
             " | grep -qaF '%s'", getenv("MTD_PG_DIR"), needle);
    return system(cmd) == 0;
}

static void user_delete_leaves_nothing_in_any_file(void **state)
{
    fixture *f = *state;
    json_t *batch = json_array();
    json_t *d = ev("device.info", "EVENT0000000000000020");
    json_object_set_new(d, "os_name", json_string("Android"));
    json_object_set_new(d, "os_version", json_string("14"));
    json_object_set_new(d, "model", json_string("Pixel 8 Unique-Model-Marker"));
    json_object_set_new(d, "device_id_source", json_string("android_id"));
    json_array_append_new(batch, d);
    int stored, rows;
    assert_int_equal(enroll_dev(f, "cred-del", DEV, UPN), 0);
    assert_int_equal(ingest(f, "cred-del", "key-0020", batch, &stored), 0);
    json_decref(batch);
    json_t *exp = mtd_store_user_export(f->s, UPN, NULL);
    assert_int_equal(json_array_size(json_object_get(exp, "devices")), 1);
    assert_int_equal(json_array_size(json_object_get(json_object_get(exp, "events"), "device.info")), 1);
    json_decref(exp);
    assert_true(store_holds(f, DEV));
    assert_true(store_holds(f, "Unique-Model-Marker"));
    assert_int_equal(mtd_store_user_delete(f->s, UPN, NULL, "privacy:test", &rows), 0);
    assert_int_equal(rows, 1);
    assert_false(store_holds(f, DEV));
    assert_false(store_holds(f, UPN));
    assert_false(store_holds(f, "Unique-Model-Marker"));
    json_t *devs = mtd_store_devices(f->s, NULL);
    assert_int_equal(json_array_size(devs), 0);
    json_decref(devs);
}

/* Size of dir/name, 0 when absent. */
static long file_size(const char *dir, const char *name)
{
    char path[256];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

/* App rows with a 1 KiB apk_path: 120 batches of 1,000 are about 165 MiB of WAL frames,
 * well past the point (64 MiB) where the checkpointer rewinds the WAL. */
static void wal_is_copied_rewound_and_truncated_after_a_delete(void **state)
{
    fixture *f = *state;
    char path[1001];
    memset(path, 'p', sizeof path - 1);
    path[sizeof path - 1] = 0;
    static mtd_event evs[1000];
    static char *txt[1000];
    int before = threads();
    for (int b = 0; b < 120; b++) {
        for (int i = 0; i < 1000; i++) {
            char id[40];
            snprintf(id, sizeof id, "WAL%03dROW%04d", b, i);
            json_t *e = ev("app.inventory", id);
            json_object_set_new(e, "package", json_string("com.example.walmarker"));
            json_object_set_new(e, "apk_path", json_string(path));
            to_slots(e, &evs[i], &txt[i]);
        }
        char key[32];
        snprintf(key, sizeof key, "key-wal-%03d", b);
        mtd_store_batch bt = {.cred_hash = "", .idem_key = key, .events = evs, .n = 1000};
        mtd_store_ingest_group(f->s, &bt);
        assert_int_equal(bt.result, 0);
        assert_int_equal(bt.stored, 1000);
        for (int i = 0; i < 1000; i++)
            free(txt[i]);
        /* The checkpointer copies beside the writer; how far it gets while this loop
         * commits depends on the machine's load (under ASan on a busy machine it fell
         * behind and the file stayed under 100 MiB). Waiting for its pass after each
         * batch checks the mechanism, not the race. */
        for (int i = 0; i < 600 && !mtd_sq_wal_idle(f->s); i++)
            usleep(50 * 1000);
    }
    /* the checkpointer copied all but the last wake-up's worth (16 MiB) into the
     * database file (~140 MiB), and the WAL started over instead of holding all of it:
     * it stays near 16 MiB, where it held up to 64 MiB uncopied when the WAL's own
     * restarts left the checkpointer asleep */
    assert_true(file_size(f->dir, "store.sqlite") > 120L << 20);
    /* the checkpointer pool's thread, started when needed (one: nothing else wants a
     * pass), or an earlier test's, still idle */
    assert_int_equal(mtd_store_checkpointer_threads(), 1);
    assert_true(threads() <= before + 1);
    assert_true(file_size(f->dir, "store.sqlite-wal") < 40L << 20);
    int rows;
    assert_int_equal(mtd_store_user_delete(f->s, UPN, NULL, "privacy:test", &rows), 0);
    assert_int_equal(rows, 120000);
    assert_int_equal(file_size(f->dir, "store.sqlite-wal"), 0);
    assert_false(files_contain(f->dir, "walmarker"));
}

/* Descriptors of this process open on the file dir/name (name NULL: on any file). */
static int fds_on(const char *dir, const char *name)
{
    int n = 0;
    char want[160];
    snprintf(want, sizeof want, "%s/%s", dir, name ? name : "");
    DIR *d = opendir("/proc/self/fd");
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        char link[80], to[256];
        snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
        ssize_t len = e->d_name[0] != '.' ? readlink(link, to, sizeof to - 1) : -1;
        if (len > 0) {
            to[len] = 0;
            n += name ? !strcmp(to, want) : !strncmp(to, want, strlen(want));
        }
    }
    if (d)
        closedir(d);
    return n;
}

/* An open store with its summaries costs at most 10 descriptors: its three
 * connections' file and WAL (the reader's WAL once it read) and one -shm, and
 * summary.sqlite's file, WAL and -shm, attached to the report connection only
 * (mtd_store_sum.c). With a connection of the summaries' own and two attachments it
 * was 14, and test_tenants_scale ran out of descriptors. */
static void an_open_store_with_summaries_holds_ten_descriptors(void **state)
{
    fixture *f = *state;
    json_t *b = json_pack("[oo]", ev_at("app.inventory", DEV, "F01", "2026-11-24T10:00:00Z",
                                        app("com.a", 1, "com.android.vending", "[\"android.permission.CAMERA\"]")),
                          ev_at("threat.detection", DEV, "F02", "2026-11-24T10:00:00Z", threat("thr-1", "high", "active")));
    int stored;
    assert_int_equal(ingest(f, "", "key-fds-1", b, &stored), 0);
    json_decref(b);
    assert_string_equal(apps_line(mtd_store_apps(f->s, NULL, NULL)), "com.a@3:1");
    mtd_threat_query q = {0};
    json_decref(mtd_store_threats_where(f->s, &q, NULL));
    for (int i = 0; i < 600 && !mtd_sq_sum_idle(f->s); i++) /* the maintainer's pass too */
        usleep(50 * 1000);
    assert_int_equal(fds_on(f->dir, "summary.sqlite"), 1);
    assert_int_equal(fds_on(f->dir, "summary.sqlite-wal"), 1);
    assert_int_equal(fds_on(f->dir, "summary.sqlite-shm"), 1);
    assert_int_equal(fds_on(f->dir, "store.sqlite"), 3);
    assert_int_equal(fds_on(f->dir, "store.sqlite-shm"), 1);
    assert_true(fds_on(f->dir, NULL) <= 10);
    mtd_store_close(f->s);
    f->s = NULL;
    assert_int_equal(fds_on(f->dir, NULL), 0);
    assert_int_equal(open_store(f), 0); /* for the teardown, and: opens again as it was */
    assert_string_equal(apps_line(mtd_store_apps(f->s, NULL, NULL)), "com.a@3:1");
}

/* PostgreSQL: a tenant's role reaches its own schema only; row-level security hides a
 * tenant's rows from every other role, even one granted them by mistake, and from the
 * collector's own role, which owns the tables. */
static void a_tenant_role_reaches_its_own_schema_only(void **state)
{
    fixture *f = *state;
    json_t *b = json_pack("[o]", ev_at("usage.action", DEV, "F01", "2026-11-24T10:00:00Z", "{\"action\":\"enroll\"}"));
    int stored;
    assert_int_equal(ingest(f, "", "key-fence", b, &stored), 0);
    json_decref(b);
    assert_int_equal(mtd_store_pg_tenant_create(f->pg, TENANT2, "other", TENANT2, KEY_HEX, time(NULL)), 0);
    PGconn *c = pg_raw();
    char err[16];
    PGresult *r;
    assert_non_null(r = pg_sql(c, "SET ROLE mtd_t_" TENANT2, err, sizeof err));
    PQclear(r);
    assert_null(pg_sql(c, "SELECT count(*) FROM t_" TENANT ".ev_usage_action", err, sizeof err));
    assert_string_equal(err, "42501"); /* permission denied for schema */
    assert_non_null(r = pg_sql(c, "RESET ROLE; SELECT count(*) FROM t_" TENANT ".ev_usage_action", err, sizeof err));
    assert_string_equal(PQgetvalue(r, 0, 0), "0"); /* the owner too: security is forced */
    PQclear(r);
    assert_non_null(r = pg_sql(c, "GRANT USAGE ON SCHEMA t_" TENANT " TO mtd_t_" TENANT2 ";"
                                  "GRANT SELECT, INSERT ON t_" TENANT ".ev_usage_action TO mtd_t_" TENANT2,
                               err, sizeof err));
    PQclear(r);
    assert_non_null(r = pg_sql(c, "SET ROLE mtd_t_" TENANT2 "; SELECT count(*) FROM t_" TENANT ".ev_usage_action",
                               err, sizeof err));
    assert_string_equal(PQgetvalue(r, 0, 0), "0"); /* granted by mistake, still no row */
    PQclear(r);
    assert_null(pg_sql(c, "INSERT INTO t_" TENANT ".ev_usage_action(\"row\", received_at, tenant_id)"
                          " VALUES(999999999, 0, '" TENANT2 "')", err, sizeof err));
    assert_string_equal(err, "42501"); /* new row violates row-level security */
    assert_non_null(r = pg_sql(c, "SET ROLE mtd_t_" TENANT "; SELECT count(*) FROM t_" TENANT ".ev_usage_action",
                               err, sizeof err));
    assert_string_equal(PQgetvalue(r, 0, 0), "1");
    PQclear(r);
    /* and the tenant's own role may not write a row naming another tenant */
    assert_null(pg_sql(c, "INSERT INTO t_" TENANT ".ev_usage_action(\"row\", received_at, tenant_id)"
                          " VALUES(999999999, 0, '" TENANT2 "')", err, sizeof err));
    assert_string_equal(err, "42501");
    PQfinish(c);
}

typedef struct {
    mtd_store *s;
    int ok, replayed, stored;
} via;

#define SAME_BATCHES 40

static void *send_same(void *arg)
{
    via *v = arg;
    for (int k = 0; k < SAME_BATCHES; k++) {
        prepared p;
        char prefix[40], key[40];
        snprintf(prefix, sizeof prefix, "SAME%03dE000000000", k);
        snprintf(key, sizeof key, "same-batch-%03d", k);
        prepare(&p, DEV, prefix, 4);
        int stored, r = mtd_store_ingest(v->s, "", key, p.ev, p.n, &stored);
        v->ok += r == 0;
        v->replayed += r == MTD_EEXIST;
        v->stored += stored;
        unprepare(&p);
    }
    return NULL;
}

/* PostgreSQL: two collectors (two pools of their own) given the same batches at the
 * same time store each one once: one of them stores it, the other acknowledges it as
 * a repeat. */
static void the_same_batch_through_two_collectors_is_stored_once(void **state)
{
    fixture *f = *state;
    mtd_store_cluster *other;
    mtd_store *s2;
    char why[256];
    assert_int_equal(mtd_store_pg_open(pg_url(), 4, &other, why, sizeof why), 0);
    assert_int_equal(mtd_store_pg_open_tenant(other, TENANT, &s2), 0);
    via a = {.s = f->s}, b = {.s = s2};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, send_same, &a);
    pthread_create(&tb, NULL, send_same, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(a.ok + b.ok, SAME_BATCHES);
    assert_int_equal(a.replayed + b.replayed, SAME_BATCHES);
    assert_int_equal(a.stored + b.stored, SAME_BATCHES * 4);
    assert_int_equal(count(f, "usage.action"), SAME_BATCHES * 4);
    assert_int_equal(raw_count(f, "SELECT count(DISTINCT event_id) FROM ev_usage_action"), SAME_BATCHES * 4);
    mtd_store_close(s2);
    mtd_store_pg_close(other);
}

/* One batch of one usage.action for tenant t (the rows carry their tenant's id). */
static int ingest_for(mtd_store *s, const char *t, const char *key, const char *id)
{
    json_t *e = ev_at("usage.action", DEV, id, "2026-11-24T10:00:00Z", "{\"action\":\"enroll\"}");
    json_object_set_new(e, "tenant_id", json_string(t));
    mtd_event one;
    char *txt;
    to_slots(e, &one, &txt);
    int stored, r = mtd_store_ingest(s, "", key, &one, 1, &stored);
    free(txt);
    return r;
}

/* PostgreSQL: the ingest path's statements are prepared on a pooled connection, which
 * serves tenant after tenant: with a pool of one, two tenants taking turns each find
 * their own rows only, a repeated key of one (the pipelined group failing, then stored
 * statement by statement) is a repeat of that tenant only, and a credential of one is
 * unknown to the other. */
static void two_tenants_taking_turns_on_one_connection_stay_apart(void **state)
{
    fixture *f = *state;
    mtd_store_cluster *one;
    mtd_store *a, *b;
    char why[256];
    assert_int_equal(mtd_store_pg_tenant_create(f->pg, TENANT2, "other", TENANT2, KEY_HEX, time(NULL)), 0);
    assert_int_equal(mtd_store_pg_open(pg_url(), 1, &one, why, sizeof why), 0);
    assert_int_equal(mtd_store_pg_open_tenant(one, TENANT, &a), 0);
    assert_int_equal(mtd_store_pg_open_tenant(one, TENANT2, &b), 0);
    assert_int_equal(enroll_dev(f, "cred-a", DEV, NULL), 0);
    for (int i = 0; i < 3; i++) {
        char key[16], id[32];
        snprintf(key, sizeof key, "turn-%d", i);
        snprintf(id, sizeof id, "EVENTA%015d", i);
        assert_int_equal(ingest_for(a, TENANT, key, id), 0);
        id[5] = 'B';
        assert_int_equal(ingest_for(b, TENANT2, key, id), 0); /* the same key: another tenant's */
    }
    assert_int_equal(ingest_for(b, TENANT2, "turn-1", "EVENTB999999999999999"), MTD_EEXIST);
    assert_int_equal(ingest_for(a, TENANT, "turn-9", "EVENTA000000000000009"), 0);
    assert_int_equal(ingest_for(b, TENANT2, "turn-9", "EVENTB000000000000009"), 0);
    mtd_cred_binding cb;
    assert_int_equal(mtd_store_cred_lookup(b, "cred-a", &cb), MTD_EAUTH);
    assert_int_equal(mtd_store_cred_lookup(a, "cred-a", &cb), 0);
    assert_string_equal(cb.device_id, DEV);
    assert_int_equal(mtd_store_cred_lookup(b, "cred-a", &cb), MTD_EAUTH);
    json_t *ra = mtd_store_event_rows(a, "usage.action", NULL, NULL), *rb = mtd_store_event_rows(b, "usage.action", NULL, NULL), *r;
    size_t i;
    assert_int_equal(json_array_size(ra), 4);
    assert_int_equal(json_array_size(rb), 4);
    json_array_foreach(ra, i, r)
        assert_memory_equal(json_string_value(json_object_get(r, "event_id")), "EVENTA", 6);
    json_array_foreach(rb, i, r)
        assert_memory_equal(json_string_value(json_object_get(r, "event_id")), "EVENTB", 6);
    json_decref(ra);
    json_decref(rb);
    mtd_store_close(a);
    mtd_store_close(b);
    mtd_store_pg_close(one);
}

/* PostgreSQL: deleting a tenant drops its schema and role and its registry row, which
 * holds its key. */
static void a_deleted_tenant_leaves_no_schema_role_or_key(void **state)
{
    fixture *f = *state;
    assert_int_equal(mtd_store_pg_tenant_create(f->pg, TENANT2, "other", TENANT2, KEY_HEX, time(NULL)), 0);
    const char *q = "SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = 't_" TENANT2 "') || ' ' ||"
                    " (SELECT count(*) FROM pg_roles WHERE rolname = 'mtd_t_" TENANT2 "') || ' ' ||"
                    " (SELECT count(*) FROM mtd.tenants WHERE id = '" TENANT2 "')";
    PGconn *c = pg_raw();
    PGresult *r = pg_sql(c, q, NULL, 0);
    assert_string_equal(PQgetvalue(r, 0, 0), "1 1 1");
    PQclear(r);
    char key[65], org[64];
    assert_int_equal(mtd_store_pg_tenant_load(f->pg, TENANT2, key, org, sizeof org), 0);
    assert_string_equal(key, KEY_HEX);
    assert_int_equal(mtd_store_pg_tenant_delete(f->pg, TENANT2), 0);
    r = pg_sql(c, q, NULL, 0);
    assert_string_equal(PQgetvalue(r, 0, 0), "0 0 0");
    PQclear(r);
    assert_int_equal(mtd_store_pg_tenant_load(f->pg, TENANT2, key, org, sizeof org), MTD_ENOENT);
    assert_int_equal(mtd_store_pg_tenant_delete(f->pg, TENANT2), MTD_ENOENT);
    PQfinish(c);
}

/* The API types a column by its name (mtd_store_column_kind): two fields of one name
 * must not be of two kinds, or one of them would be answered as the other. */
static void a_field_name_has_one_kind(void **st)
{
    for (size_t t = 0; t <= mtd_event_ntypes; t++) {
        const mtd_field *fs = t < mtd_event_ntypes ? mtd_event_types[t].fields : mtd_envelope_fields;
        size_t nf = t < mtd_event_ntypes ? mtd_event_types[t].nfields : mtd_envelope_nfields;
        for (size_t i = 0; i < nf; i++) {
            mtd_col_kind k = fs[i].type == MTD_T_TIME      ? MTD_COL_TIME
                             : fs[i].type == MTD_T_BOOL    ? MTD_COL_BOOL
                             : fs[i].type == MTD_T_STRLIST ? MTD_COL_LIST
                                                           : MTD_COL_PLAIN;
            if (mtd_store_column_kind(fs[i].name) != k)
                fail_msg("field %s of %s is typed as another field of its name",
                         fs[i].name, t < mtd_event_ntypes ? mtd_event_types[t].name : "the envelope");
        }
    }
    assert_int_equal(mtd_store_column_kind("received_at"), MTD_COL_TIME);
    assert_int_equal(mtd_store_column_kind("consent"), MTD_COL_BOOL);
    assert_int_equal(mtd_store_column_kind("row"), MTD_COL_PLAIN);
}

static json_t *run_never(void *ctx, const char *sql, int n, const char *const *p)
{
    (void)ctx, (void)sql, (void)n, (void)p;
    fail_msg("a report with too many parameters was run");
    return NULL;
}

static json_t *run_count(void *ctx, const char *sql, int n, const char *const *p)
{
    (void)sql, (void)p;
    *(int *)ctx = n;
    return json_array();
}

/* A report passing more parameters than a page holds is a bug: refused, not cut short. */
static void a_page_of_too_many_parameters_is_refused(void **st)
{
    (void)st;
    const char *p[MTD_KEYSET_MAXP + 1];
    for (int i = 0; i <= MTD_KEYSET_MAXP; i++)
        p[i] = "x";
    mtd_page pg = {.limit = 10};
    assert_null(mtd_keyset_report("SELECT 1 AS id", &mtd_id_keys, MTD_KEYSET_MAXP + 1, p, &pg, 0, run_never, NULL));
    int seen = -1;
    json_t *rows = mtd_keyset_report("SELECT 1 AS id", &mtd_id_keys, MTD_KEYSET_MAXP, p, &pg, 0, run_count, &seen);
    assert_non_null(rows);
    assert_int_equal(seen, MTD_KEYSET_MAXP);
    json_decref(rows);
}

int main(void)
{
    /* every backend */
    const struct CMUnitTest common[] = {
        cmocka_unit_test(a_field_name_has_one_kind),
        cmocka_unit_test(a_page_of_too_many_parameters_is_refused),
        cmocka_unit_test_setup_teardown(tokens_are_found_by_hash_and_revocable, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_is_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(enrollment_binds_a_device_once, setup, teardown),
        cmocka_unit_test_setup_teardown(group_stores_each_batch_on_its_own, setup, teardown),
        cmocka_unit_test_setup_teardown(retention_prunes_events_then_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(export_lines_are_the_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(event_cols_are_the_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(rows_of_a_deleted_batch_are_not_renumbered, setup, teardown),
        cmocka_unit_test_setup_teardown(concurrent_batches_are_each_stored_once, setup, teardown),
        cmocka_unit_test_setup_teardown(consent_revocation_deletes_optional_data, setup, teardown),
        cmocka_unit_test_setup_teardown(device_state_is_its_groups_policy_and_its_consent, setup, teardown),
        cmocka_unit_test_setup_teardown(reports_use_the_latest_row, setup, teardown),
        cmocka_unit_test_setup_teardown(user_delete_leaves_nothing_in_any_file, setup, teardown),
    };
    /* SQLite's own machinery: stores of older versions, the WAL */
    const struct CMUnitTest sqlite[] = {
        cmocka_unit_test_setup_teardown(a_store_without_row_ranges_is_migrated, setup, teardown),
        cmocka_unit_test_setup_teardown(wal_is_copied_rewound_and_truncated_after_a_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(an_open_store_with_summaries_holds_ten_descriptors, setup, teardown),
    };
    /* PostgreSQL's: roles and row-level security, collectors sharing a cluster */
    const struct CMUnitTest pg[] = {
        cmocka_unit_test_setup_teardown(a_tenant_role_reaches_its_own_schema_only, setup, teardown),
        cmocka_unit_test_setup_teardown(the_same_batch_through_two_collectors_is_stored_once, setup, teardown),
        cmocka_unit_test_setup_teardown(two_tenants_taking_turns_on_one_connection_stay_apart, setup, teardown),
        cmocka_unit_test_setup_teardown(a_deleted_tenant_leaves_no_schema_role_or_key, setup, teardown),
    };
    int failed = cmocka_run_group_tests_name("store", common, NULL, NULL);
    if (on_pg())
        failed += cmocka_run_group_tests_name("postgresql", pg, NULL, NULL);
    else
        failed += cmocka_run_group_tests_name("sqlite", sqlite, NULL, NULL);
    /* last: its thousand commits wake the WAL checkpointer pool, whose threads the
     * tests above count */
    const struct CMUnitTest last[] = {
        cmocka_unit_test_setup_teardown(oidc_sign_ins_are_taken_once, setup, teardown),
    };
    failed += cmocka_run_group_tests_name("oidc", last, NULL, NULL);
    return failed;
}
