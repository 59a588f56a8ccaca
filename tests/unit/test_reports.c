/* The fleet reports against plain queries over the event tables, on each backend
 * (SQLite, and with MTD_TEST_STORE=postgresql the cluster of tests/with-postgres.sh).
 *
 * The reports read summary tables kept behind the writer (mtd_store_sum.c); a plain
 * query finds the same rows the way the reports did before them: an app's latest
 * inventory row by GROUP BY max(row), unless a later removal; a threat's latest
 * detection; a device's latest device.info. Every report is paged through by its
 * cursor (pages of 250; 2,500 on PostgreSQL) and must equal the plain query in the report's order, row for
 * row and column for column, on a fleet of 3,000 devices with reinstalls, removals
 * older than the app's row, changed permissions, resolved threats, a group and
 * suppression rules; and again after a user's deletion and a retention run (the
 * summaries keep no row of what they deleted). Also: a report paged through while
 * devices keep uploading neither skips nor repeats a row. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "collector/mtd_batch.h"
#include "common/mtd_buf.h"
#include "common/mtd_file.h"
#include "privacy/mtd_policy.h"
#include "store/mtd_store.h"
#include "store/mtd_store_pg_int.h"
#include "store/mtd_store_sqlite_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TENANT "0123456789abcdef"
#define KEY_HEX "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define N_DEV 3000
#define N_APP 15
#define N_PKG 40
#define PAGE 250
/* PostgreSQL's reports still group the event tables for every page (mtd_store_pg_reports.c):
 * pages of 250 took the test past ten minutes there */
#define PG_PAGE 2500

typedef struct {
    char dir[64];
    mtd_store *s;
    mtd_store_cluster *pg;
} fixture;

static int on_pg(void)
{
    const char *b = getenv("MTD_TEST_STORE");
    return b && !strcmp(b, "postgresql");
}

/* The integer sql finds in summary.sqlite (SQLite; -1 on PostgreSQL, with no
 * summaries, or none found), read on a connection of its own: what the store
 * committed. */
static int64_t sum_int(fixture *f, const char *sql)
{
    if (on_pg())
        return -1;
    sqlite3 *db;
    int64_t v = -1;
    if (sqlite3_open_v2(((struct mtd_store *)f->s)->sum_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
            if (sqlite3_step(st) == SQLITE_ROW)
                v = sqlite3_column_int64(st, 0);
            sqlite3_finalize(st);
        }
    }
    sqlite3_close(db);
    return v;
}

/* The watermark, while the summaries' version is set. */
#define SUM_W "SELECT w FROM sum_state WHERE version > 0"
/* The summary rows of devices the user's deletion leaves alone: neither the user's
 * (d % 10 == 3, ids ending in 3) nor the ones with rows naming the user (d % 50 == 7) */
#define SUM_OTHERS "SELECT count(*) FROM sum_app WHERE device_id NOT GLOB '*3' AND device_id NOT GLOB '*[05]7'"
/* The summary rows that name one of the user's devices */
#define SUM_USERS "SELECT (SELECT count(*) FROM sum_app WHERE device_id GLOB '*3') + (SELECT count(*) FROM" \
    " sum_app_perm WHERE device_id GLOB '*3') + (SELECT count(*) FROM sum_rm WHERE device_id GLOB '*3') +" \
    " (SELECT count(*) FROM sum_threat WHERE device_id GLOB '*3')"

static void dev_id(int d, char out[32])
{
    snprintf(out, 32, "ps_dev%019d", d);
}

/* Parses and stores one batch of JSON lines. */
static void store_lines(mtd_store *s, const char *key, const mtd_buf *raw)
{
    mtd_batch bt;
    mtd_batch_error err;
    mtd_batch_init(&bt);
    mtd_buf_append(&bt.raw, raw->data, raw->len);
    if (mtd_batch_parse(&bt, &err) != 0)
        fail_msg("batch %s: %s", key, err.detail);
    int stored;
    assert_int_equal(mtd_store_ingest(s, "", key, bt.ev, bt.n, &stored), 0);
    assert_int_equal(stored, (int)bt.n);
    mtd_batch_free(&bt);
}

static void env(mtd_buf *b, const char *type, const char *dev, const char *t, const char *id)
{
    mtd_buf_printf(b, "{\"event\":\"%s\",\"schema\":1,\"time\":\"%s\",\"tenant_id\":\"" TENANT "\","
                      "\"event_id\":\"%s\",\"device_id\":\"%s\"", type, t, id, dev);
}

/* side: the installer: 0 Google Play, 1 a browser (sideloaded), 2 none recorded (not
 * sideloaded: the agent's rule), 3 a store only the policy's default list has (the
 * reports' own list once lacked it) */
static void app(mtd_buf *b, const char *dev, const char *t, const char *id, int pkg, int ver, int side,
                const char *perms)
{
    static const char *const by[] = {",\"install_source\":\"com.android.vending\"",
                                     ",\"install_source\":\"com.android.chrome\"", "",
                                     ",\"install_source\":\"com.xiaomi.mipicks\""};
    env(b, "app.inventory", dev, t, id);
    mtd_buf_printf(b, ",\"package\":\"com.example.app%d\",\"version_code\":%d,\"version_name\":\"1.%d\""
                      "%s,\"permissions\":%s,\"is_system\":%s}\n",
                   pkg, ver, ver, by[side], perms, pkg == 0 ? "true" : "false");
}

static void removal(mtd_buf *b, const char *dev, const char *t, const char *id, int pkg)
{
    env(b, "app.lifecycle", dev, t, id);
    mtd_buf_printf(b, ",\"package\":\"com.example.app%d\",\"action\":\"remove\"}\n", pkg);
}

static void threat(mtd_buf *b, const char *dev, const char *t, const char *id, const char *name,
                   const char *sev, const char *status, int pkg)
{
    env(b, "threat.detection", dev, t, id);
    mtd_buf_printf(b, ",\"threat_name\":\"%s\",\"category\":\"malware\",\"severity\":\"%s\",\"source\":\"app\","
                      "\"evidence\":\"rule\",\"status\":\"%s\",\"package\":\"com.example.app%d\"}\n",
                   name, sev, status, pkg);
}

static const char *const perm_sets[] = {
    "[\"android.permission.INTERNET\"]",
    "[\"android.permission.INTERNET\",\"android.permission.READ_SMS\"]",
    "[\"android.permission.CAMERA\",\"android.permission.INTERNET\"]",
    "[]",
};

#define T0 "2026-11-24T10:00:00Z"
#define T1 "2026-11-24T11:00:00Z"
#define T2 "2026-11-24T12:00:00Z"
#define USER "ps_UUUUUUUUUUUUUUUUUUUUUU"

/* The batch's last line (an event) names the user: its "}\n" becomes the upn's. */
static void by_user(mtd_buf *b)
{
    b->len -= 2;
    mtd_buf_puts(b, ",\"upn\":\"" USER "\"}\n");
}

/* Device d's first batch: its info, N_APP apps, and threats on some devices. */
static void first_batch(int d, mtd_buf *b)
{
    char dev[32], id[48];
    dev_id(d, dev);
    mtd_buf_reset(b);
    snprintf(id, sizeof id, "I%d", d);
    env(b, "device.info", dev, T0, id);
    if (d % 10 == 3) /* one user's devices, deleted at the end */
        mtd_buf_puts(b, ",\"upn\":\"" USER "\"");
    mtd_buf_puts(b, ",\"os_name\":\"Android\",\"os_version\":\"14\",\"device_id_source\":\"android_id\"}\n");
    for (int a = 0; a < N_APP; a++) {
        snprintf(id, sizeof id, "A%d.%d", d, a);
        int pkg = (d * 7 + a * 3) % N_PKG;
        int k = (d + a) % 17;
        app(b, dev, T0, id, pkg, 1, k == 0 ? 1 : k == 5 ? 2 : k == 9 ? 3 : 0, perm_sets[(d + a) % 4]);
    }
    if (d % 5 == 0) {
        snprintf(id, sizeof id, "T%d.0", d);
        threat(b, dev, T0, id, "Trojan.X", "high", "active", 3);
        snprintf(id, sizeof id, "T%d.1", d);
        threat(b, dev, T0, id, "Adware.Y", "low", "active", 5);
    }
    if (d % 7 == 0) {
        snprintf(id, sizeof id, "T%d.2", d);
        threat(b, dev, T0, id, "Spy.Z", "critical", "active", 9);
    }
}

/* A later batch of some devices: changed permissions, removals, a resolve, and
 * (round 2) a reinstall and a removal older than the app's latest row. */
static int later_batch(int d, int round, mtd_buf *b)
{
    char dev[32], id[48];
    dev_id(d, dev);
    mtd_buf_reset(b);
    int p0 = (d * 7) % N_PKG, p1 = (d * 7 + 3) % N_PKG, p2 = (d * 7 + 6) % N_PKG;
    if (round == 1 && d % 3 == 0) {
        snprintf(id, sizeof id, "B%d.0", d);
        app(b, dev, T1, id, p0, 2, 0, perm_sets[(d + 1) % 4]);
        snprintf(id, sizeof id, "B%d.1", d);
        removal(b, dev, T1, id, p1);
        snprintf(id, sizeof id, "B%d.2", d);
        removal(b, dev, T1, id, p2);
        if (d % 10 == 0) {
            snprintf(id, sizeof id, "B%d.3", d);
            threat(b, dev, T1, id, "Trojan.X", "high", "resolved", 3);
        }
    }
    if (round == 2 && d % 6 == 0) {
        snprintf(id, sizeof id, "C%d.0", d);
        app(b, dev, T2, id, p1, 3, 1, perm_sets[1]);
        snprintf(id, sizeof id, "C%d.1", d);
        removal(b, dev, T0, id, p0); /* older than p0's row of T1: p0 stays */
    }
    if (round == 2 && d % 50 == 7) {
        /* another user's device (a batch's first event names its user) with rows
         * that name the user: the device stays, only those rows go */
        snprintf(id, sizeof id, "C%d.5", d);
        env(b, "device.info", dev, T2, id);
        mtd_buf_puts(b, ",\"upn\":\"ps_OOOOOOOOOOOOOOOOOOOOOO\",\"os_name\":\"Android\",\"os_version\":\"15\","
                        "\"device_id_source\":\"android_id\"}\n");
        snprintf(id, sizeof id, "C%d.3", d);
        app(b, dev, T2, id, p0, 4, 0, perm_sets[(d + 2) % 4]);
        by_user(b);
        snprintf(id, sizeof id, "C%d.4", d);
        threat(b, dev, T2, id, "Stalker.U", "high", "active", p0);
        by_user(b);
    }
    if (round == 2 && d % 4 == 1) {
        snprintf(id, sizeof id, "C%d.2", d);
        env(b, "device.info", dev, T2, id);
        mtd_buf_puts(b, ",\"os_name\":\"Android\",\"os_version\":\"15\",\"device_id_source\":\"android_id\"}\n");
    }
    return b->len > 0;
}

static void fill(fixture *f)
{
    mtd_buf b;
    mtd_buf_init(&b, 0);
    char key[32];
    for (int d = 0; d < N_DEV; d++) {
        first_batch(d, &b);
        snprintf(key, sizeof key, "a-%d", d);
        store_lines(f->s, key, &b);
    }
    for (int round = 1; round <= 2; round++)
        for (int d = 0; d < N_DEV; d++)
            if (later_batch(d, round, &b)) {
                snprintf(key, sizeof key, "r%d-%d", round, d);
                store_lines(f->s, key, &b);
            }
    mtd_buf_free(&b);
    for (int d = 0; d < N_DEV; d += 4) {
        char dev[32];
        dev_id(d, dev);
        assert_int_equal(mtd_store_group_set(f->s, dev, "g1"), 0);
    }
    int64_t id;
    mtd_supp_rule r1 = {.kind = "package", .value = "com.example.app9", .reason = "test", .actor = "admin:t"};
    assert_int_equal(mtd_store_supp_add(f->s, &r1, &id), 0);
    mtd_supp_rule r2 = {.kind = "check", .value = "Trojan.X", .group = "g1", .reason = "test", .actor = "admin:t"};
    assert_int_equal(mtd_store_supp_add(f->s, &r2, &id), 0);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/mtd-reports-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    char why[256];
    if (on_pg()) {
        const char *u = getenv("MTD_PG_URL");
        if (!u || mtd_store_pg_open(u, 4, &f->pg, why, sizeof why) != 0)
            fail_msg("MTD_TEST_STORE=postgresql needs tests/with-postgres.sh: %s", u ? why : "no MTD_PG_URL");
        mtd_store_pg_tenant_delete(f->pg, TENANT);
        if (mtd_store_pg_tenant_create(f->pg, TENANT, "test", TENANT, KEY_HEX, time(NULL)) != 0)
            fail_msg("tenant not created");
        if (mtd_store_pg_open_tenant(f->pg, TENANT, &f->s) != 0)
            return -1;
    } else if (mtd_store_open(f->dir, &f->s, why, sizeof why) != 0) {
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    mtd_store_close(f->s);
    if (f->pg) {
        assert_int_equal(mtd_store_pg_tenant_delete(f->pg, TENANT), 0);
        mtd_store_pg_close(f->pg);
    }
    mtd_rm_rf(f->dir);
    free(f);
    return 0;
}

/* The plain queries, in each backend's SQL: R is the row column. */
static int on_pg_sql; /* the plain queries are PostgreSQL's */
#define R (on_pg_sql ? "\"row\"" : "row")

/* A policy's trusted_stores as an SQL condition that a.install_source is not one. */
static int not_trusted(char *c, size_t len, const mtd_policy *p)
{
    int n = snprintf(c, len, "a.install_source NOT IN (''");
    for (const char *s = p->trusted_stores, *e; *s; s = e + 1) {
        e = strchr(s, '\n');
        if (!e)
            e = s + strlen(s);
        n += snprintf(c + n, len - (size_t)n, ",'%.*s'", (int)(e - s), s);
        if (!*e)
            break;
    }
    return n + snprintf(c + n, len - (size_t)n, ")");
}

/* The agent's rule (heur.sideloaded) in plain SQL, for app rows as a: not a system
 * app, an installer recorded, not one of the trusted_stores of the device's effective
 * policy as the agent receives it (mtd_store_policy_of_group: the tenant's, for g1's
 * devices overridden by g1's), the fixture's one group. */
static const char *sideloaded_sql(fixture *f)
{
    static char c[4096];
    char tl[1536], gl[1536];
    mtd_policy t, g;
    assert_int_equal(mtd_store_policy_of_group(f->s, NULL, &t), 0);
    assert_int_equal(mtd_store_policy_of_group(f->s, "g1", &g), 0);
    not_trusted(tl, sizeof tl, &t);
    not_trusted(gl, sizeof gl, &g);
    snprintf(c, sizeof c, "coalesce(a.is_system, 0) = 0 AND a.install_source IS NOT NULL"
                          " AND a.install_source <> '' AND CASE WHEN a.device_id IN (SELECT device_id FROM"
                          " device_groups WHERE grp = 'g1') THEN %s ELSE %s END", gl, tl);
    return c;
}

/* Rows of a plain query through the backend's own reader (so typed as a report's). */
static json_t *plain(fixture *f, const char *sql)
{
    json_t *rows = on_pg_sql ? mtd_pg_report(mtd_pg_of(f->s), sql, 0, NULL, NULL) : mtd_sq_report(f->s, sql, 0, NULL);
    if (!rows)
        fail_msg("plain query failed (%s): %.300s", on_pg_sql ? "" : sqlite3_errmsg(f->s->rp), sql);
    size_t i;
    json_t *o, *v;
    json_array_foreach(rows, i, o) { /* columns selected only to sort by */
        const char *k;
        void *tmp;
        json_object_foreach_safe(o, tmp, k, v)
            if (k[0] == '_')
                json_object_del(o, k);
    }
    return rows;
}

static json_t *plain_apps(fixture *f, const char *cond)
{
    char sql[4096];
    snprintf(sql, sizeof sql,
             "SELECT a.device_id, a.package, a.version_code, a.version_name, a.install_source, a.apk_path,"
             " a.apk_size, a.apk_sha256, a.first_install_time, a.last_update_time, a.is_system, a.permissions,"
             " a.signer_sha256 FROM (SELECT max(%s) AS r FROM ev_app_inventory GROUP BY device_id, package) m"
             " JOIN ev_app_inventory a ON a.%s = m.r LEFT JOIN (SELECT device_id, package, max(time) AS t"
             " FROM ev_app_lifecycle WHERE action = 'remove' GROUP BY device_id, package) x"
             " ON x.device_id = a.device_id AND x.package = a.package WHERE (x.t IS NULL OR x.t < a.time)%s"
             " ORDER BY a.package, a.device_id", R, R, cond);
    return plain(f, sql);
}

static void plain_latest(char *out, size_t len)
{
    snprintf(out, len,
             "SELECT t.device_id, t.threat_name, t.category, t.severity, t.source, t.evidence, t.status,"
             " t.package, t.app_sha256, t.threat_id, m.first_seen, t.time AS last_seen, t.%s AS _row"
             " FROM (SELECT max(%s) AS r, min(time) AS first_seen FROM ev_threat_detection GROUP BY device_id,"
             " coalesce(threat_id, threat_name || '/' || coalesce(package, ''))) m"
             " JOIN ev_threat_detection t ON t.%s = m.r", R, R, R);
}

static json_t *plain_threats(fixture *f, const char *cond, int unsuppressed)
{
    char latest[1024], none[2560] = "", sql[6144];
    plain_latest(latest, sizeof latest);
    if (unsuppressed)
        mtd_supp_none_sql(none, sizeof none, on_pg_sql, "lt");
    snprintf(sql, sizeof sql,
             "SELECT * FROM (%s) lt WHERE true%s%s ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'high'"
             " THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END, coalesce(last_seen, '') DESC,"
             " device_id, _row DESC", latest, none, cond);
    return plain(f, sql);
}

static json_t *plain_devices(fixture *f, const char *cond)
{
    char latest[1024], none[2560], sql[8192];
    plain_latest(latest, sizeof latest);
    mtd_supp_none_sql(none, sizeof none, on_pg_sql, "lt");
    snprintf(sql, sizeof sql,
             "SELECT * FROM (SELECT d.device_id, d.upn, d.first_seen, d.last_seen, i.os_name, i.os_version,"
             " i.manufacturer, i.model, i.model_id, i.cpu, i.build, i.kernel, i.agent_version, i.device_id_source,"
             " i.time AS info_time, d.consent, CASE k.level WHEN 0 THEN 'high' WHEN 1 THEN 'medium'"
             " WHEN 2 THEN 'low' ELSE 'none' END AS risk FROM devices d"
             " LEFT JOIN (SELECT device_id, max(%s) AS r FROM ev_device_info GROUP BY device_id) li"
             " ON li.device_id = d.device_id LEFT JOIN ev_device_info i ON i.%s = li.r"
             " LEFT JOIN (SELECT device_id, min(CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 0"
             " WHEN 'medium' THEN 1 ELSE 2 END) AS level FROM (%s) lt WHERE status = 'active'%s"
             " GROUP BY device_id) k ON k.device_id = d.device_id) dv WHERE true%s"
             " ORDER BY coalesce(last_seen, 0) DESC, device_id",
             R, R, latest, none, cond);
    return plain(f, sql);
}

typedef json_t *(*page_fn)(mtd_store *s, const void *q, mtd_page *pg);

static json_t *apps_page(mtd_store *s, const void *q, mtd_page *pg) { return mtd_store_apps(s, q, pg); }
static json_t *threats_page(mtd_store *s, const void *q, mtd_page *pg) { return mtd_store_threats_where(s, q, pg); }
static json_t *devices_page(mtd_store *s, const void *q, mtd_page *pg) { return mtd_store_devices_where(s, q, pg); }

/* Every page of a report, by its cursor, as one array. */
static json_t *paged(fixture *f, page_fn fn, const void *q)
{
    json_t *all = json_array();
    char cursor[MTD_CURSOR_MAX] = "";
    mtd_page p;
    do {
        p = (mtd_page){.limit = f->pg ? PG_PAGE : PAGE, .cursor = cursor[0] ? cursor : NULL};
        json_t *rows = fn(f->s, q, &p);
        if (!rows)
            fail_msg("a page failed");
        json_array_extend(all, rows);
        json_decref(rows);
        snprintf(cursor, sizeof cursor, "%s", p.more ? p.next_cursor : "");
    } while (cursor[0]);
    return all;
}

/* The report equals the plain query, row for row; the first difference is named. */
static void same(const char *what, json_t *got, json_t *want, size_t at_least)
{
    size_t n = json_array_size(got), m = json_array_size(want);
    for (size_t i = 0; i < n && i < m; i++)
        if (!json_equal(json_array_get(got, i), json_array_get(want, i))) {
            char *a = json_dumps(json_array_get(got, i), JSON_SORT_KEYS | JSON_COMPACT);
            char *b = json_dumps(json_array_get(want, i), JSON_SORT_KEYS | JSON_COMPACT);
            fail_msg("%s: row %zu differs:\n  report %s\n  plain  %s", what, i, a, b);
        }
    if (n != m)
        fail_msg("%s: %zu rows, the plain query %zu", what, n, m);
    if (m < at_least) /* a comparison of nothing proves nothing */
        fail_msg("%s: only %zu rows (the fleet should give at least %zu)", what, m, at_least);
    json_decref(got);
    json_decref(want);
}

/* The sideloaded report lists only the browser's installs: no app without an
 * installer, none by a store of the default list (the fixture has both). */
static void side_by(fixture *f)
{
    json_t *all = paged(f, apps_page, &(mtd_app_query){0}), *sl = paged(f, apps_page, &(mtd_app_query){.sideloaded = 1});
    size_t i, none = 0, mi = 0, other = 0;
    json_t *o;
    json_array_foreach(all, i, o) {
        const char *src = json_string_value(json_object_get(o, "install_source"));
        none += !src, mi += src && !strcmp(src, "com.xiaomi.mipicks");
    }
    json_array_foreach(sl, i, o)
        other += !json_is_string(json_object_get(o, "install_source")) ||
                 strcmp(json_string_value(json_object_get(o, "install_source")), "com.android.chrome") != 0;
    assert_true(none >= 1000 && mi >= 1000); /* the fleet has both kinds */
    assert_int_equal(other, 0);
    json_decref(all);
    json_decref(sl);
}

/* The sideloaded report against the plain query and in exact counts. */
static size_t side_same(fixture *f, const char *what, size_t at_least)
{
    char side[4200];
    snprintf(side, sizeof side, " AND %s", sideloaded_sql(f));
    json_t *want = plain_apps(f, side);
    size_t n = json_array_size(want);
    same(what, paged(f, apps_page, &(mtd_app_query){.sideloaded = 1}), want, at_least);
    return n;
}

/* How many current apps of the fleet the installer src installed, on g1's devices
 * (in_g1) or the others'. */
static size_t installs(fixture *f, const char *src, int in_g1)
{
    char c[512];
    snprintf(c, sizeof c, " AND coalesce(a.is_system, 0) = 0 AND a.install_source = '%s' AND a.device_id %s IN"
                          " (SELECT device_id FROM device_groups WHERE grp = 'g1')", src, in_g1 ? "" : "NOT");
    json_t *rows = plain_apps(f, c);
    size_t n = json_array_size(rows);
    json_decref(rows);
    return n;
}

/* Issue 20.1: the tenant's trusted_stores, and g1's override of them, decide which
 * apps are sideloaded, at the next report (the summaries are not built again). The
 * tenant trusts the browser too; g1 trusts only Google Play, so its devices' Xiaomi
 * installs are sideloaded; then g1 sets another key only, and a device leaves g1. */
static void side_by_policy(fixture *f)
{
    size_t chrome_g = installs(f, "com.android.chrome", 1), chrome_o = installs(f, "com.android.chrome", 0);
    size_t mi_g = installs(f, "com.xiaomi.mipicks", 1);
    assert_true(chrome_g >= 100 && chrome_o >= 100 && mi_g >= 100);
    assert_int_equal(side_same(f, "apps --sideloaded (default stores)", 0), chrome_g + chrome_o);

    mtd_policy p;
    char why[128];
    mtd_policy_default(&p);
    json_t *o = json_pack("{s:[s,s,s]}", "trusted_stores", "com.android.vending", "com.xiaomi.mipicks",
                          "com.android.chrome");
    assert_int_equal(mtd_policy_from_json(&p, o, why, sizeof why), 0);
    json_decref(o);
    assert_int_equal(mtd_store_policy_set(f->s, &p), 0);
    assert_int_equal(side_same(f, "apps --sideloaded (tenant trusts the browser)", 0), 0);
    assert_int_equal(mtd_store_group_policy_set(f->s, "g1", "{\"trusted_stores\":[\"com.android.vending\"]}"), 0);
    assert_int_equal(side_same(f, "apps --sideloaded (g1 trusts Google Play only)", 100), chrome_g + mi_g);

    char dev[32];
    dev_id(4, dev); /* in g1 */
    char c[256];
    snprintf(c, sizeof c, " AND a.device_id = '%s' AND coalesce(a.is_system, 0) = 0 AND a.install_source IN"
                          " ('com.android.chrome', 'com.xiaomi.mipicks')", dev);
    json_t *mine = plain_apps(f, c);
    size_t m = json_array_size(mine);
    json_decref(mine);
    assert_true(m >= 1);
    assert_int_equal(mtd_store_group_set(f->s, dev, NULL), 0);
    assert_int_equal(side_same(f, "apps --sideloaded (a device left g1)", 100), chrome_g + mi_g - m);
    assert_int_equal(mtd_store_group_set(f->s, dev, "g1"), 0);
    assert_int_equal(mtd_store_group_policy_set(f->s, "g1", "{\"web_protection\":false}"), 0);
    assert_int_equal(side_same(f, "apps --sideloaded (g1 keeps the tenant's stores)", 0), 0);
    o = json_pack("{s:[]}", "trusted_stores"); /* no store trusted */
    assert_int_equal(mtd_policy_from_json(&p, o, why, sizeof why), 0);
    json_decref(o);
    assert_int_equal(mtd_store_policy_set(f->s, &p), 0);
    assert_int_equal(side_same(f, "apps --sideloaded (no store trusted)", 1000),
                     chrome_g + chrome_o + mi_g + installs(f, "com.xiaomi.mipicks", 0) +
                         installs(f, "com.android.vending", 1) + installs(f, "com.android.vending", 0));
    mtd_policy_default(&p);
    assert_int_equal(mtd_store_policy_set(f->s, &p), 0);
    assert_int_equal(side_same(f, "apps --sideloaded (default again)", 0), chrome_g + chrome_o);
}

/* The plain query's filter for apps holding perm, after the filter before, in the
 * backend's own JSON syntax. */
static void has_permission(char *c, size_t len, const char *before, const char *perm)
{
    snprintf(c, len, on_pg_sql ? "%s AND a.permissions::jsonb ? '%s'"
                               : "%s AND EXISTS (SELECT 1 FROM json_each(a.permissions) WHERE value = '%s')",
             before, perm);
}

/* The count a plain query finds ("SELECT count(*) AS n ..."), through the report
 * connection. */
static int64_t plain_count(fixture *f, const char *sql)
{
    json_t *rows = plain(f, sql);
    int64_t n = json_integer_value(json_object_get(json_array_get(rows, 0), "n"));
    json_decref(rows);
    return n;
}

/* Rows made old (received in 1970) in an order that is not the rows': a clock set
 * back, or a restore, gives such received_at. Each table loses some apps' latest
 * rows with an older row staying, removals (an app current again) and threats'
 * first or latest detections; retention then deletes them. */
static const char *const aged_sql[] = {
    "UPDATE ev_app_inventory SET received_at = 1000 WHERE row % 3 = 0",
    "UPDATE ev_app_lifecycle SET received_at = 1000 WHERE row % 2 = 0",
    "UPDATE ev_threat_detection SET received_at = 1000 WHERE row % 2 = 1",
};
/* What of that the fixture has (the test proves nothing without it): apps whose
 * latest row goes while an older stays, removals that go, threats whose first
 * detection goes while a later stays */
static const char *const aged_kinds[] = {
    "SELECT count(*) AS n FROM (SELECT max(row) AS m, count(*) AS c FROM ev_app_inventory"
    " GROUP BY device_id, package) WHERE m % 3 = 0 AND c > 1",
    "SELECT count(*) AS n FROM ev_app_lifecycle WHERE row % 2 = 0 AND action = 'remove'",
    "SELECT count(*) AS n FROM (SELECT min(row) AS f, max(row) AS m FROM ev_threat_detection"
    " GROUP BY device_id, threat_name) WHERE f % 2 = 1 AND m % 2 = 0",
};

/* Retention of rows that are not the oldest ones (SQLite): the summaries lose only
 * the rows the deleted rows made and are built again for those (the watermark stays,
 * no report rebuilds them after), and every report equals the plain query. */
static void partial_retention(fixture *f)
{
    for (size_t i = 0; i < sizeof aged_kinds / sizeof aged_kinds[0]; i++)
        if (plain_count(f, aged_kinds[i]) < 10)
            fail_msg("the fixture has too few rows for: %s", aged_kinds[i]);
    pthread_mutex_lock(&f->s->mu);
    for (size_t i = 0; i < sizeof aged_sql / sizeof aged_sql[0]; i++)
        assert_int_equal(sqlite3_exec(f->s->db, aged_sql[i], NULL, NULL, NULL), SQLITE_OK);
    pthread_mutex_unlock(&f->s->mu);
    int64_t w = sum_int(f, SUM_W), apps = sum_int(f, "SELECT count(*) FROM sum_app");
    assert_true(w > 0);
    assert_true(sum_int(f, "SELECT count(*) FROM sum_app WHERE row % 3 = 0") > 1000);
    mtd_policy pol;
    mtd_store_policy_parse(NULL, &pol);
    int deleted;
    assert_int_equal(mtd_store_retention(f->s, &pol, time(NULL), &deleted), 0);
    assert_true(deleted > 10000);
    assert_int_equal(sum_int(f, SUM_W), w);
    /* no summary row names a deleted row; those that did name an older one now */
    assert_int_equal(sum_int(f, "SELECT count(*) FROM sum_app WHERE row % 3 = 0"), 0);
    assert_int_equal(sum_int(f, "SELECT count(*) FROM sum_threat WHERE row % 2 = 1"), 0);
    int64_t left = sum_int(f, "SELECT count(*) FROM sum_app");
    assert_true(left < apps && left > apps / 2);

    char c[4400], side[4200], dev[32];
    same("apps after retention of some rows", paged(f, apps_page, &(mtd_app_query){0}), plain_apps(f, ""), 20000);
    mtd_app_query qa = {.permission = "android.permission.READ_SMS"};
    has_permission(c, sizeof c, "", "android.permission.READ_SMS");
    same("apps --permission READ_SMS after retention of some rows", paged(f, apps_page, &qa), plain_apps(f, c),
         5000);
    snprintf(side, sizeof side, " AND %s", sideloaded_sql(f));
    same("apps --sideloaded after retention of some rows", paged(f, apps_page, &(mtd_app_query){.sideloaded = 1}),
         plain_apps(f, side), 1000);
    dev_id(42, dev);
    snprintf(c, sizeof c, " AND a.device_id = '%s'", dev);
    same("apps --device after retention of some rows", paged(f, apps_page, &(mtd_app_query){.device_id = dev}),
         plain_apps(f, c), 5);
    same("threats after retention of some rows", paged(f, threats_page, &(mtd_threat_query){0}),
         plain_threats(f, "", 0), 500);
    same("devices after retention of some rows", paged(f, devices_page, &(mtd_device_query){0}),
         plain_devices(f, ""), N_DEV - N_DEV / 10);
    assert_int_equal(sum_int(f, SUM_W), w); /* the reports rebuilt nothing */
}

static void every_report_equals_a_plain_query(void **state)
{
    fixture *f = *state;
    on_pg_sql = f->pg != NULL;
    fill(f);
    char dev[32], c[4400];
    dev_id(42, dev);

    same("apps", paged(f, apps_page, &(mtd_app_query){0}), plain_apps(f, ""), 40000);
    mtd_app_query qa = {.permission = "android.permission.READ_SMS"};
    has_permission(c, sizeof c, "", "android.permission.READ_SMS");
    same("apps --permission READ_SMS", paged(f, apps_page, &qa), plain_apps(f, c), 10000);
    char side[4200];
    snprintf(side, sizeof side, " AND %s", sideloaded_sql(f));
    same("apps --sideloaded", paged(f, apps_page, &(mtd_app_query){.sideloaded = 1}), plain_apps(f, side), 2000);
    side_by(f);
    same("apps --package", paged(f, apps_page, &(mtd_app_query){.package = "com.example.app7"}),
         plain_apps(f, " AND a.package = 'com.example.app7'"), 500);
    snprintf(c, sizeof c, " AND a.device_id = '%s'", dev);
    same("apps --device", paged(f, apps_page, &(mtd_app_query){.device_id = dev}), plain_apps(f, c), 10);
    same("apps --group", paged(f, apps_page, &(mtd_app_query){.group = "g1"}),
         plain_apps(f, " AND a.device_id IN (SELECT device_id FROM device_groups WHERE grp = 'g1')"), 10000);
    qa = (mtd_app_query){.permission = "android.permission.CAMERA", .sideloaded = 1};
    has_permission(c, sizeof c, side, "android.permission.CAMERA");
    same("apps --permission CAMERA --sideloaded", paged(f, apps_page, &qa), plain_apps(f, c), 300);
    side_by_policy(f);

    same("threats", paged(f, threats_page, &(mtd_threat_query){0}), plain_threats(f, "", 0), 1500);
    same("threats --status active", paged(f, threats_page, &(mtd_threat_query){.status = "active"}),
         plain_threats(f, " AND status = 'active'", 0), 1400);
    same("threats --status resolved", paged(f, threats_page, &(mtd_threat_query){.status = "resolved"}),
         plain_threats(f, " AND status = 'resolved'", 0), 100);
    same("threats --severity high", paged(f, threats_page, &(mtd_threat_query){.severity = "high"}),
         plain_threats(f, " AND severity = 'high'", 0), 500);
    snprintf(c, sizeof c, " AND device_id = '%s'", dev);
    dev_id(70, dev); /* threats of its own, one resolved */
    snprintf(c, sizeof c, " AND device_id = '%s'", dev);
    same("threats --device", paged(f, threats_page, &(mtd_threat_query){.device_id = dev}),
         plain_threats(f, c, 0), 3);
    same("threats unsuppressed", paged(f, threats_page, &(mtd_threat_query){.status = "active", .unsuppressed = 1}),
         plain_threats(f, " AND status = 'active'", 1), 500);
    same("threats --group", paged(f, threats_page, &(mtd_threat_query){.group = "g1"}),
         plain_threats(f, " AND device_id IN (SELECT device_id FROM device_groups WHERE grp = 'g1')", 0), 300);

    same("devices", paged(f, devices_page, &(mtd_device_query){0}), plain_devices(f, ""), N_DEV);
    same("devices --risk high", paged(f, devices_page, &(mtd_device_query){.risk = "high"}),
         plain_devices(f, " AND risk = 'high'"), 300);
    same("devices --group", paged(f, devices_page, &(mtd_device_query){.group = "g1"}),
         plain_devices(f, " AND device_id IN (SELECT device_id FROM device_groups WHERE grp = 'g1')"), N_DEV / 4);

    for (int d = 0; d < 40; d++) { /* a device's risk: its open and suppressed threats */
        dev_id(d * 7, dev);
        json_t *got;
        assert_int_equal(mtd_store_device_risk(f->s, dev, &got), 0);
        snprintf(c, sizeof c, " AND status = 'active' AND device_id = '%s'", dev);
        json_t *want = mtd_store_risk_json(dev, plain_threats(f, c, 1), plain_threats(f, c, 0));
        if (!json_equal(got, want)) {
            char *a = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT), *b = json_dumps(want, JSON_SORT_KEYS | JSON_COMPACT);
            fail_msg("risk of %s:\n  report %s\n  plain  %s", dev, a, b);
        }
        json_decref(got);
        json_decref(want);
    }

    /* a user's deletion: the apps and threats of their devices leave every report,
     * and leave the summaries by their devices: no rebuild (the watermark stays) */
    int64_t w_before = sum_int(f, SUM_W), others = sum_int(f, SUM_OTHERS);
    int rows;
    assert_int_equal(mtd_store_user_delete(f->s, USER, USER, "admin:t", &rows), 0);
    if (!on_pg()) {
        assert_true(w_before > 0);
        assert_true(others > N_DEV / 2 * N_APP / 2);
        assert_int_equal(sum_int(f, SUM_W), w_before);
        assert_int_equal(sum_int(f, SUM_OTHERS), others);
        assert_int_equal(sum_int(f, SUM_USERS), 0);
    }
    assert_true(rows >= N_DEV / 10 * N_APP);
    same("apps after a user's deletion", paged(f, apps_page, &(mtd_app_query){0}), plain_apps(f, ""), 36000);
    qa = (mtd_app_query){.permission = "android.permission.READ_SMS"};
    has_permission(c, sizeof c, "", "android.permission.READ_SMS");
    same("apps --permission READ_SMS after a user's deletion", paged(f, apps_page, &qa), plain_apps(f, c), 9000);
    same("threats after a user's deletion", paged(f, threats_page, &(mtd_threat_query){0}), plain_threats(f, "", 0),
         1300);
    same("devices after a user's deletion", paged(f, devices_page, &(mtd_device_query){0}), plain_devices(f, ""),
         N_DEV - N_DEV / 10);
    dev_id(3, dev);
    json_t *gone = mtd_store_apps(f->s, &(mtd_app_query){.device_id = dev}, NULL);
    assert_non_null(gone);
    assert_int_equal(json_array_size(gone), 0);
    json_decref(gone);

    if (!on_pg())
        partial_retention(f);

    /* retention past every row: nothing is left for a report to show */
    mtd_policy pol;
    mtd_store_policy_parse(NULL, &pol);
    int deleted;
    int64_t w = sum_int(f, SUM_W);
    assert_int_equal(mtd_store_retention(f->s, &pol, time(NULL) + 4000LL * 86400, &deleted), 0);
    assert_true(deleted > 0);
    same("apps after retention", paged(f, apps_page, &(mtd_app_query){0}), plain_apps(f, ""), 0);
    same("threats after retention", paged(f, threats_page, &(mtd_threat_query){0}), plain_threats(f, "", 0), 0);
    json_t *none = paged(f, apps_page, &(mtd_app_query){0});
    assert_int_equal(json_array_size(none), 0);
    json_decref(none);
    if (!on_pg()) { /* emptied by removing every row, not rebuilt */
        assert_int_equal(sum_int(f, SUM_W), w);
        assert_int_equal(sum_int(f, "SELECT (SELECT count(*) FROM sum_app) + (SELECT count(*) FROM sum_app_perm)"
                                    " + (SELECT count(*) FROM sum_rm) + (SELECT count(*) FROM sum_threat)"), 0);
    }
}

/* Devices upload while a report is paged through: new versions of their apps, and
 * new devices with apps of their own. */
typedef struct {
    mtd_store *s;
    volatile int stop;
    int batches;
} uploader;

static void *upload(void *arg)
{
    uploader *u = arg;
    mtd_buf b;
    mtd_buf_init(&b, 0);
    for (int i = 0; !u->stop && i < 3000; i++) {
        char dev[32], id[48], key[32];
        int d = i % 2 ? (i * 37) % N_DEV : N_DEV + i; /* an old device, or a new one */
        dev_id(d, dev);
        mtd_buf_reset(&b);
        for (int a = 0; a < 5; a++) {
            snprintf(id, sizeof id, "U%d.%d", i, a);
            app(&b, dev, T2, id, (i + a * 7) % N_PKG, 10 + i, a == 0, perm_sets[(i + a) % 4]);
        }
        snprintf(key, sizeof key, "u-%d", i);
        store_lines(u->s, key, &b);
        u->batches++;
    }
    mtd_buf_free(&b);
    return NULL;
}

/* The apps report (by package and device) and an event list (by row) paged through
 * while devices upload: each key comes after the one before (none repeated), and
 * every row there before the first page is on some page (none skipped). */
static void a_report_paged_during_uploads_skips_and_repeats_nothing(void **state)
{
    fixture *f = *state;
    on_pg_sql = f->pg != NULL;
    fill(f);
    json_t *before = paged(f, apps_page, &(mtd_app_query){0});
    mtd_page p0 = {.limit = 100000};
    json_t *rows_before = mtd_store_event_rows(f->s, "app.inventory", NULL, &p0);
    assert_non_null(rows_before);
    uploader u = {.s = f->s};
    pthread_t th;
    pthread_create(&th, NULL, upload, &u);

    json_t *seen = json_object(); /* "package device" -> true */
    char cursor[MTD_CURSOR_MAX] = "", last[128] = "";
    int pages = 0;
    mtd_page p;
    do {
        p = (mtd_page){.limit = f->pg ? 2497 : 97, .cursor = cursor[0] ? cursor : NULL};
        json_t *rows = mtd_store_apps(f->s, NULL, &p);
        assert_non_null(rows);
        size_t i;
        json_t *r;
        json_array_foreach(rows, i, r) {
            char k[128];
            snprintf(k, sizeof k, "%s %s", json_string_value(json_object_get(r, "package")),
                     json_string_value(json_object_get(r, "device_id")));
            if (strcmp(k, last) <= 0)
                fail_msg("apps page %d: %s came after %s (repeated or out of order)", pages, k, last);
            snprintf(last, sizeof last, "%s", k);
            json_object_set_new(seen, k, json_true());
        }
        json_decref(rows);
        snprintf(cursor, sizeof cursor, "%s", p.more ? p.next_cursor : "");
        pages++;
    } while (cursor[0]);

    int64_t last_row = 0, end = json_integer_value(json_object_get(json_array_get(rows_before,
                                                    json_array_size(rows_before) - 1), "row"));
    size_t n_rows = 0;
    cursor[0] = 0;
    do { /* the inventory's rows, by row, to the last there before (uploads add more) */
        p = (mtd_page){.limit = 997, .cursor = cursor[0] ? cursor : NULL};
        json_t *rows = mtd_store_event_rows(f->s, "app.inventory", NULL, &p);
        assert_non_null(rows);
        size_t i;
        json_t *r;
        json_array_foreach(rows, i, r) {
            int64_t row = json_integer_value(json_object_get(r, "row"));
            if (row <= last_row)
                fail_msg("inventory rows: %lld came after %lld", (long long)row, (long long)last_row);
            if (n_rows < json_array_size(rows_before) &&
                json_integer_value(json_object_get(json_array_get(rows_before, n_rows), "row")) != row)
                fail_msg("inventory rows: row %lld where %lld was (skipped)", (long long)row,
                         (long long)json_integer_value(json_object_get(json_array_get(rows_before, n_rows), "row")));
            n_rows++;
            last_row = row;
        }
        json_decref(rows);
        snprintf(cursor, sizeof cursor, "%s", p.more && last_row < end ? p.next_cursor : "");
    } while (cursor[0]);
    u.stop = 1;
    pthread_join(th, NULL);
    if (u.batches < 3)
        fail_msg("only %d batches uploaded while paging: the test proved little", u.batches);
    assert_true(n_rows >= json_array_size(rows_before));

    /* every app current before the first page: uploads only add apps or renew them */
    size_t i;
    json_t *r;
    json_array_foreach(before, i, r) {
        char k[128];
        snprintf(k, sizeof k, "%s %s", json_string_value(json_object_get(r, "package")),
                 json_string_value(json_object_get(r, "device_id")));
        if (!json_object_get(seen, k))
            fail_msg("apps: %s was current before paging and on no page (skipped)", k);
    }
    printf("paged %d pages of apps (%zu keys) during %d uploaded batches\n", pages, json_object_size(seen),
           u.batches);
    json_decref(seen);
    json_decref(before);
    json_decref(rows_before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(every_report_equals_a_plain_query, setup, teardown),
        cmocka_unit_test_setup_teardown(a_report_paged_during_uploads_skips_and_repeats_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
