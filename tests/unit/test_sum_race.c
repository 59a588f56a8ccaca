/* The SQLite reports while rows are deleted under them: a retention run and a user's
 * deletion in one thread, reports in a loop in another. Every report must show the
 * store either as it was before a delete or as it is after it, never a mix: no
 * summary row whose event rows are partly gone (a threat whose older detection
 * retention deleted, still showing that detection's time as its first_seen), no
 * summaries read just after they were emptied (a fleet with no apps), and, once a
 * delete has returned, nothing it deleted.
 *
 * The summaries (mtd_store_sum.c) live in their own file, beside the event tables the
 * deletes change; the reports read both. Retention ran each table's DELETE as its own
 * commit and emptied the summaries after the last; a user's deletion committed before
 * the summaries were emptied; a report that had found them up to date could read them
 * just after a delete emptied them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "collector/mtd_batch.h"
#include "common/mtd_buf.h"
#include "common/mtd_file.h"
#include "store/mtd_store.h"
#include "store/mtd_store_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TENANT "0123456789abcdef"
#define N_DEV 300
#define N_APP 8
/* usage.memory rows per device in the old batch: their DELETE comes after the
 * threats' in retention's order and keeps a window open between the two commits */
#define N_MEM 60
#define N_USER 30
#define T0 "2026-11-24T10:00:00Z"
#define T1 "2026-11-24T11:00:00Z"

typedef struct {
    char dir[64];
    mtd_store *s;
} fixture;

static void dev_id(int d, char out[32])
{
    snprintf(out, 32, "ps_dev%019d", d);
}

static void user_id(int u, char out[40])
{
    snprintf(out, 40, "ps_user%018d", u);
}

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

static void app(mtd_buf *b, const char *dev, const char *t, const char *id, int pkg, int ver)
{
    env(b, "app.inventory", dev, t, id);
    mtd_buf_printf(b, ",\"package\":\"com.example.app%d\",\"version_code\":%d,\"install_source\":"
                      "\"com.android.vending\",\"permissions\":[\"android.permission.INTERNET\"]}\n", pkg, ver);
}

static void threat(mtd_buf *b, const char *dev, const char *t, const char *id)
{
    env(b, "threat.detection", dev, t, id);
    mtd_buf_puts(b, ",\"threat_name\":\"Trojan.X\",\"category\":\"malware\",\"severity\":\"high\","
                    "\"source\":\"app\",\"evidence\":\"rule\",\"status\":\"active\",\"package\":\"com.example.app1\"}\n");
}

/* Device d's first batch: its info (of user d % N_USER), N_APP apps, a threat, and
 * N_MEM memory readings. */
static void old_batch(int d, mtd_buf *b)
{
    char dev[32], id[48], upn[40];
    dev_id(d, dev);
    user_id(d % N_USER, upn);
    mtd_buf_reset(b);
    snprintf(id, sizeof id, "I%d", d);
    env(b, "device.info", dev, T0, id);
    mtd_buf_printf(b, ",\"upn\":\"%s\",\"os_name\":\"Android\",\"os_version\":\"14\","
                      "\"device_id_source\":\"android_id\"}\n", upn);
    for (int a = 0; a < N_APP; a++) {
        snprintf(id, sizeof id, "A%d.%d", d, a);
        app(b, dev, T0, id, a, 1);
    }
    snprintf(id, sizeof id, "T%d.0", d);
    threat(b, dev, T0, id);
    for (int m = 0; m < N_MEM; m++) {
        snprintf(id, sizeof id, "M%d.%d", d, m);
        env(b, "usage.memory", dev, T0, id);
        mtd_buf_printf(b, ",\"rss_kb\":%d,\"peak_kb\":%d}\n", 1000 + m, 2000 + m);
    }
}

/* An odd device's second batch: app0 again (version 2) and the threat again. */
static void new_batch(int d, mtd_buf *b)
{
    char dev[32], id[48];
    dev_id(d, dev);
    mtd_buf_reset(b);
    snprintf(id, sizeof id, "A%d.new", d);
    app(b, dev, T1, id, 0, 2);
    snprintf(id, sizeof id, "T%d.1", d);
    threat(b, dev, T1, id);
}

/* Stores the fleet; returns the second the new batches began (every old row was
 * received before it, every new one in it or after). */
static time_t fill(fixture *f, int with_new)
{
    mtd_buf b;
    mtd_buf_init(&b, 0);
    char key[32];
    time_t began = 0;
    for (int d = 0; d < N_DEV; d++) {
        old_batch(d, &b);
        snprintf(key, sizeof key, "old-%d", d);
        store_lines(f->s, key, &b);
    }
    if (with_new) {
        /* received_at is in seconds: the new batches in a later second than the old */
        time_t t = time(NULL);
        while (time(NULL) <= t)
            usleep(20000);
        began = time(NULL);
        for (int d = 1; d < N_DEV; d += 2) {
            new_batch(d, &b);
            snprintf(key, sizeof key, "new-%d", d);
            store_lines(f->s, key, &b);
        }
    }
    mtd_buf_free(&b);
    return began;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/mtd-sumrace-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    char why[256];
    if (mtd_store_open(f->dir, &f->s, why, sizeof why) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    mtd_store_close(f->s);
    mtd_rm_rf(f->dir);
    free(f);
    return 0;
}

static int dev_num(json_t *row)
{
    const char *d = json_string_value(json_object_get(row, "device_id"));
    return d && strlen(d) > 6 ? atoi(d + 6) : -1;
}

/* The deleting thread: what it runs, and how far it got (read by the reports). */
typedef struct {
    mtd_store *s;
    int users;   /* 0: one retention run; else delete users 0 .. users-1 in turn */
    time_t cutoff_now; /* retention's "now" */
    int started, done, rc;
    int deleted;
    int reports; /* rounds of reports the other thread finished */
} deleter;

/* Waits until the reports' thread finished a round after the deleter's last delete,
 * so that reports run between every two deletes however slow they are (ASan). */
#define REPORTS_STOPPED (1 << 30) /* the reports' loop ended (a failure): no more waits */
static void after_a_report(deleter *d, int *seen)
{
    struct timespec gap = {0, 2 * 1000000L};
    int n;
    while ((n = __atomic_load_n(&d->reports, __ATOMIC_ACQUIRE)) <= *seen && n < REPORTS_STOPPED)
        nanosleep(&gap, NULL);
    *seen = n;
}

static void *delete_run(void *arg)
{
    deleter *d = arg;
    int seen = 0;
    if (!d->users) {
        after_a_report(d, &seen);
        mtd_policy pol;
        mtd_store_policy_parse(NULL, &pol);
        pol.retention_required_days = 1;
        __atomic_store_n(&d->started, 1, __ATOMIC_RELEASE);
        d->rc = mtd_store_retention(d->s, &pol, d->cutoff_now, &d->deleted);
        __atomic_store_n(&d->done, 1, __ATOMIC_RELEASE);
        return NULL;
    }
    for (int u = 0; u < d->users && d->rc == 0; u++) {
        after_a_report(d, &seen);
        char upn[40];
        int rows;
        user_id(u, upn);
        __atomic_store_n(&d->started, u + 1, __ATOMIC_RELEASE);
        d->rc = mtd_store_user_delete(d->s, upn, upn, "admin:t", &rows);
        d->deleted += rows;
        __atomic_store_n(&d->done, u + 1, __ATOMIC_RELEASE);
    }
    return NULL;
}

/* Which state a retention-time report shows: 0 before (every device, the old rows),
 * 1 after (the odd devices' new rows only), -1 a mix (why says what). */
static int threats_state(json_t *rows, char *why, size_t wl)
{
    size_t n = json_array_size(rows), i;
    json_t *r;
    int old = 0, now = 0;
    json_array_foreach(rows, i, r) {
        const char *fs = json_string_value(json_object_get(r, "first_seen"));
        int d = dev_num(r);
        if (fs && !strcmp(fs, T0))
            old++;
        else if (fs && !strcmp(fs, T1) && d % 2 == 1)
            now++;
    }
    if (n == N_DEV && old == N_DEV)
        return 0;
    if (n == N_DEV / 2 && now == N_DEV / 2)
        return 1;
    snprintf(why, wl, "%zu threats, %d first seen at " T0 ", %d first seen at " T1 " (before: %d at " T0
             "; after: %d at " T1 ")", n, old, now, N_DEV, N_DEV / 2);
    return -1;
}

static int apps_state(json_t *rows, char *why, size_t wl)
{
    size_t n = json_array_size(rows), i;
    json_t *r;
    int renewed = 0;
    json_array_foreach(rows, i, r)
        renewed += json_integer_value(json_object_get(r, "version_code")) == 2 && dev_num(r) % 2 == 1;
    if (n == N_DEV * N_APP && renewed == N_DEV / 2)
        return 0;
    if (n == N_DEV / 2 && renewed == N_DEV / 2)
        return 1;
    snprintf(why, wl, "%zu apps, %d of them renewed (before: %d apps; after: %d, all renewed)", n, renewed,
             N_DEV * N_APP, N_DEV / 2);
    return -1;
}

static void retention_leaves_every_report_before_or_after_it(void **state)
{
    fixture *f = *state;
    /* the old rows received more than a day before "now", the new ones not (they may
     * take more than a second to store: under ASan they did) */
    deleter d = {.s = f->s, .cutoff_now = fill(f, 1) + 86400};
    pthread_t th;
    pthread_create(&th, NULL, delete_run, &d);
    char why[256] = "";
    int reports = 0, during = 0, bad = 0;
    for (int after = 0; !bad && after < 5; reports++, __atomic_store_n(&d.reports, reports, __ATOMIC_RELEASE)) {
        /* each report against whether retention ended before it, or began after it */
        for (int k = 0; !bad && k < 2; k++) {
            int done = __atomic_load_n(&d.done, __ATOMIC_ACQUIRE);
            json_t *rows = k ? mtd_store_threats_where(f->s, &(mtd_threat_query){0}, NULL)
                             : mtd_store_apps(f->s, &(mtd_app_query){0}, NULL);
            int started = __atomic_load_n(&d.started, __ATOMIC_ACQUIRE);
            const char *what = k ? "threats" : "apps";
            int st = !rows ? -2 : k ? threats_state(rows, why, sizeof why) : apps_state(rows, why, sizeof why);
            json_decref(rows);
            if (st == -2)
                snprintf(why, sizeof why, "report %d of %s failed", reports, what);
            else if (st >= 0 && done && st != 1)
                snprintf(why, sizeof why, "report %d of %s after retention returned shows the rows before it",
                         reports, what);
            else if (st >= 0 && !started && st != 0)
                snprintf(why, sizeof why, "report %d of %s before retention began shows it done", reports, what);
            else if (st < 0) {
                char mix[256];
                snprintf(mix, sizeof mix, "report %d of %s shows a mix: %s", reports, what, why);
                memcpy(why, mix, sizeof why);
            }
            bad = st < 0 || (done && st != 1) || (!started && st != 0);
            during += started && !done;
            after += k && done;
        }
    }
    __atomic_store_n(&d.reports, REPORTS_STOPPED, __ATOMIC_RELEASE); /* a failed loop ends early */
    pthread_join(th, NULL);
    assert_int_equal(d.rc, 0);
    if (bad)
        fail_msg("%s", why);
    printf("%d reports, %d of them while retention ran; %d rows deleted\n", reports, during, d.deleted);
    assert_int_equal(d.deleted, N_DEV * (1 + N_APP + 1 + N_MEM));
    if (during < 1)
        fail_msg("no report ran while retention did: the test proved nothing");
}

/* Apps of each user's devices in a report: each must be all of them or none. */
static void user_counts(json_t *rows, int *per_user)
{
    size_t i;
    json_t *r;
    memset(per_user, 0, sizeof(int) * N_USER);
    json_array_foreach(rows, i, r) {
        int d = dev_num(r);
        if (d >= 0)
            per_user[d % N_USER]++;
    }
}

static void a_users_deletion_leaves_every_report_before_or_after_it(void **state)
{
    fixture *f = *state;
    fill(f, 0);
    deleter d = {.s = f->s, .users = N_USER};
    pthread_t th;
    pthread_create(&th, NULL, delete_run, &d);
    const int full = N_DEV / N_USER; /* devices per user */
    char why[256] = "";
    int reports = 0, bad = 0, per_user[N_USER];
    for (int after = 0; !bad && after < 3; reports++, __atomic_store_n(&d.reports, reports, __ATOMIC_RELEASE)) {
        /* each report against the deletions that ended before it and began after it */
        for (int k = 0; !bad && k < 2; k++) {
            int done = __atomic_load_n(&d.done, __ATOMIC_ACQUIRE);
            json_t *rows = k ? mtd_store_threats_where(f->s, &(mtd_threat_query){0}, NULL)
                             : mtd_store_apps(f->s, &(mtd_app_query){0}, NULL);
            int started = __atomic_load_n(&d.started, __ATOMIC_ACQUIRE), each = k ? 1 : N_APP;
            if (!rows) {
                snprintf(why, sizeof why, "report %d failed", reports);
                bad = 1;
                break;
            }
            user_counts(rows, per_user);
            json_decref(rows);
            /* users deleted before the report: none of theirs; not yet begun after it: all */
            for (int u = 0; !bad && u < N_USER; u++) {
                int want = u < done ? 0 : u >= started ? full * each : -1;
                if (want >= 0 ? per_user[u] != want : per_user[u] != 0 && per_user[u] != full * each)
                    snprintf(why, sizeof why, "report %d: user %d (deleted %d, begun %d) has %d of %d %s",
                             reports, u, done, started, per_user[u], full * each, k ? "threats" : "apps"),
                        bad = 1;
            }
            after += k && done == N_USER;
        }
    }
    __atomic_store_n(&d.reports, REPORTS_STOPPED, __ATOMIC_RELEASE); /* a failed loop ends early */
    pthread_join(th, NULL);
    assert_int_equal(d.rc, 0);
    if (bad)
        fail_msg("%s", why);
    printf("%d reports during %d users' deletions\n", reports, N_USER);
    if (reports < N_USER)
        fail_msg("only %d reports for %d deletions: the test proved little", reports, N_USER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(retention_leaves_every_report_before_or_after_it, setup, teardown),
        cmocka_unit_test_setup_teardown(a_users_deletion_leaves_every_report_before_or_after_it, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
