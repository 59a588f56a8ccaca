/* Batches in flight by device and by tenant (issue 20.2): the table's bounds, and the
 * answers of a real mtd_server in process, fed over HTTP by libcurl, while the table
 * (the server's: same process) holds slots the test took: a device's third batch and a
 * tenant's batch past its share are answered 429 with Retry-After at once and store
 * nothing, another tenant is served meanwhile, and once the slots are free the refused
 * batches are stored, each once. Then, with the tenant's store locked by the test
 * (a commit that waits), on a server of one HTTP thread and one ingest thread: the
 * waiting batch holds no HTTP thread (another request is answered meanwhile), a batch
 * behind it is queued, and once the queued one has waited past the bound (1.5 s) a third is
 * answered 429 at once; unlocked, the two are stored, each once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "collector/mtd_collector.h"
#include "collector/mtd_inflight.h"
#include "collector/mtd_server.h"
#include "common/mtd_file.h"
#include "common/mtd_log.h"
#include "common/mtd_util.h"
#include "uplink/mtd_http.h"

#include <curl/curl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#define MAX_INFLIGHT 8 /* a tenant's share: 4 beside another, 7 alone */

typedef struct {
    char id[32], admin[200], enroll[200];
} tenant;

typedef struct {
    char dir[64];
    mtd_collector c;
    mtd_server *srv;
    tenant t[2];
} world;

typedef struct {
    world *w;
    const tenant *t;
    char device[32], cred[200];
    int seq;
    long status;       /* of the last batch sent */
    char body[512];
    int retry_after;   /* its Retry-After header in seconds, -1 when absent */
} device;

static world W;
static mtd_server *target; /* the server requests go to, when not W.srv */

static void url(const char *path, char *out, size_t n)
{
    snprintf(out, n, "%s%s", mtd_server_url(target ? target : W.srv), path);
}

static void enroll(device *d, const tenant *t, const char *name)
{
    char u[300], why[256], body[200];
    memset(d, 0, sizeof *d);
    url("/v1/enroll", u, sizeof u);
    snprintf(body, sizeof body, "{\"device_id\":\"%s\"}", name);
    mtd_http_opts o = {.bearer = t->enroll};
    mtd_http_resp r;
    assert_int_equal(mtd_http_request(&o, "POST", u, NULL, body, strlen(body), &r, why, sizeof why), 0);
    assert_int_equal(r.status, 200);
    json_t *j = json_loadb((char *)r.body.data, r.body.len, 0, NULL);
    mtd_strlcpy(d->cred, json_string_value(json_object_get(j, "device_credential")), sizeof d->cred);
    json_decref(j);
    mtd_http_resp_free(&r);
    mtd_strlcpy(d->device, name, sizeof d->device);
    d->t = t;
    d->w = &W;
}

/* One batch of one usage.action event. */
static void *send_batch(void *arg)
{
    device *d = arg;
    char line[400], key[80], u[300], why[256];
    snprintf(line, sizeof line, "{\"event\":\"usage.action\",\"schema\":1,\"event_id\":\"fair%c%09d\","
             "\"time\":\"2026-11-24T10:00:00Z\",\"tenant_id\":\"%s\",\"device_id\":\"%s\","
             "\"action\":\"scan_requested\"}\n", d->device[4], ++d->seq, d->t->id, d->device);
    size_t bound = ZSTD_compressBound(strlen(line));
    void *z = malloc(bound);
    size_t zn = ZSTD_compress(z, bound, line, strlen(line), 1);
    snprintf(key, sizeof key, "Idempotency-Key: fair-%s-%06d", d->device, d->seq);
    url("/v1/batches", u, sizeof u);
    const char *h[] = {"Content-Type: application/x-ndjson", key, NULL};
    mtd_http_opts o = {.bearer = d->cred};
    mtd_http_resp r;
    d->status = -1;
    d->retry_after = -1;
    if (mtd_http_request(&o, "POST", u, h, z, zn, &r, why, sizeof why) == 0) {
        d->status = r.status;
        d->retry_after = (int)r.retry_after_s;
        snprintf(d->body, sizeof d->body, "%.*s", (int)r.body.len, r.body.data ? (char *)r.body.data : "");
        mtd_http_resp_free(&r);
    }
    free(z);
    return NULL;
}

static long stored(const tenant *t)
{
    char path[300];
    snprintf(path, sizeof path, "%s/tenants/%s/store.sqlite", W.dir, t->id);
    sqlite3 *db;
    sqlite3_stmt *st;
    long n = -1;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM ev_usage_action", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static void refused(device *d, const char *reason)
{
    send_batch(d);
    if (d->status != 429 || !strstr(d->body, reason))
        fail_msg("%s: %ld %s, not 429 %s (%d batches of its tenant in flight)", d->device, d->status,
                 d->body, reason, mtd_inflight_count(d->t->id, NULL));
    assert_int_equal(d->retry_after, 1);
}

static void fill(const char *tenant_id, const char *prefix, int n, int enter)
{
    char dev[32];
    for (int i = 0; i < n; i++) {
        snprintf(dev, sizeof dev, "%s%d", prefix, i);
        if (enter)
            assert_int_equal(mtd_inflight_enter(tenant_id, dev, MAX_INFLIGHT), MTD_INFLIGHT_OK);
        else
            mtd_inflight_leave(tenant_id, dev);
    }
}

/* The slots are taken straight in the table (the server's, in this process), as
 * batches in flight would take them; the server's answers are then checked. */
static void a_device_and_a_tenant_hold_only_their_share(void **state)
{
    (void)state;
    device a, c, o;
    enroll(&a, &W.t[0], "ps_fairAAAAAAAAAAAAAAAAAA");
    enroll(&c, &W.t[0], "ps_fairCCCCCCCCCCCCCCCCCC");
    enroll(&o, &W.t[1], "ps_fairOOOOOOOOOOOOOOOOOO");
    const char *t0 = W.t[0].id;

    /* device A holds two batches: its third is refused at once, nothing stored */
    for (int i = 0; i < 2; i++)
        assert_int_equal(mtd_inflight_enter(t0, a.device, MAX_INFLIGHT), MTD_INFLIGHT_OK);
    refused(&a, "device_overloaded");
    /* tenant 0 alone may hold 7 of 8: with 2 + 4 held, device C is admitted */
    fill(t0, "held", 4, 1);
    send_batch(&c);
    assert_int_equal(c.status, 200);
    assert_int_equal(stored(&W.t[0]), 1);
    /* 2 + 5 held: C finds its tenant's share taken */
    fill(t0, "more", 1, 1);
    refused(&c, "tenant_overloaded");
    /* the other tenant is served meanwhile, and once it holds a batch, tenant 0 gets
     * only half (4): with 4 held, C is still refused, with 3 it would not be */
    send_batch(&o);
    assert_int_equal(o.status, 200);
    assert_int_equal(stored(&W.t[1]), 1);
    assert_int_equal(mtd_inflight_enter(W.t[1].id, "other", MAX_INFLIGHT), MTD_INFLIGHT_OK);
    fill(t0, "held", 3, 0);
    assert_int_equal(mtd_inflight_count(t0, NULL), 4);
    refused(&c, "tenant_overloaded");
    mtd_inflight_leave(W.t[1].id, "other");
    mtd_inflight_leave(t0, "held3");
    fill(t0, "more", 1, 0);
    for (int i = 0; i < 2; i++)
        mtd_inflight_leave(t0, a.device);
    assert_int_equal(mtd_inflight_count(t0, NULL), 0);

    /* every slot free: the refused batches go through, each stored once */
    a.seq--;
    send_batch(&a);
    assert_int_equal(a.status, 200);
    c.seq--;
    send_batch(&c);
    assert_int_equal(c.status, 200);
    assert_int_equal(stored(&W.t[0]), 3);
    assert_int_equal(mtd_inflight_count(t0, NULL), 0);
}

static void wait_inflight(const device *d, int n)
{
    for (int i = 0; i < 500 && mtd_inflight_count(d->t->id, d->device) != n; i++)
        usleep(10000);
    assert_int_equal(mtd_inflight_count(d->t->id, d->device), n);
}

static void a_batch_waiting_for_its_commit_holds_no_http_thread(void **state)
{
    (void)state;
    char why[256], path[300], u[300];
    mtd_server *one;
    mtd_server_opts o = {.listen = "127.0.0.1:0", .threads = 1, .ingest_threads = 1};
    assert_int_equal(mtd_server_start(&W.c, &o, &one, why, sizeof why), 0);
    target = one;
    device a, c, x;
    enroll(&a, &W.t[0], "ps_waitAAAAAAAAAAAAAAAAAA");
    enroll(&c, &W.t[0], "ps_waitCCCCCCCCCCCCCCCCCC");
    enroll(&x, &W.t[1], "ps_waitXXXXXXXXXXXXXXXXXX");
    long before = stored(&W.t[0]);
    /* the test takes the store's write lock: the ingest thread's commit waits for it
     * (the store's busy timeout is 5 s) */
    sqlite3 *db;
    snprintf(path, sizeof path, "%s/tenants/%s/store.sqlite", W.dir, W.t[0].id);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    pthread_t ta, tc;
    pthread_create(&ta, NULL, send_batch, &a);
    wait_inflight(&a, 1);
    /* the one HTTP thread answers while the batch waits (it slept in the commit) */
    url("/healthz", u, sizeof u);
    mtd_http_opts ho = {0};
    mtd_http_resp r;
    int64_t t0 = mtd_monotonic_ns();
    assert_int_equal(mtd_http_request(&ho, "GET", u, NULL, NULL, 0, &r, why, sizeof why), 0);
    assert_int_equal(r.status, 200);
    mtd_http_resp_free(&r);
    if (mtd_monotonic_ns() - t0 > 1000000000LL)
        fail_msg("/healthz took %lld ms while a batch waited for its commit",
                 (long long)(mtd_monotonic_ns() - t0) / 1000000);
    /* C's batch is queued behind A's (the one ingest thread is A's) ... */
    pthread_create(&tc, NULL, send_batch, &c);
    wait_inflight(&c, 1);
    usleep((MTD_BATCH_QUEUE_WAIT_MS + 150) * 1000);
    /* ... and has waited past the bound: a batch now, of any tenant, is told to come back */
    refused(&x, "overloaded");
    assert_non_null(strstr(x.body, "waited too long"));
    assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    pthread_join(ta, NULL);
    pthread_join(tc, NULL);
    if (a.status != 200 || c.status != 200)
        fail_msg("after the unlock: A %ld %s, C %ld %s", a.status, a.body, c.status, c.body);
    assert_int_equal(stored(&W.t[0]), before + 2);
    send_batch(&x); /* the queue is empty again: served */
    assert_int_equal(x.status, 200);
    target = NULL;
    mtd_server_stop(one);
    W.c.server = W.srv;
}

/* Straight through the table: alone, a tenant may hold all but an eighth of the
 * slots; once another has a batch in flight, new batches past half are refused. */
static void a_tenant_alone_keeps_nearly_every_slot(void **state)
{
    (void)state;
    char dev[16];
    for (int i = 0; i < 7; i++) {
        snprintf(dev, sizeof dev, "d%d", i);
        assert_int_equal(mtd_inflight_enter("aaaaaaaaaaaaaaaa", dev, 8), MTD_INFLIGHT_OK);
    }
    assert_int_equal(mtd_inflight_enter("aaaaaaaaaaaaaaaa", "d7", 8), MTD_INFLIGHT_TENANT);
    assert_int_equal(mtd_inflight_enter("bbbbbbbbbbbbbbbb", "d0", 8), MTD_INFLIGHT_OK);
    for (int i = 6; i >= 3; i--) {
        snprintf(dev, sizeof dev, "d%d", i);
        mtd_inflight_leave("aaaaaaaaaaaaaaaa", dev);
    }
    assert_int_equal(mtd_inflight_count("aaaaaaaaaaaaaaaa", NULL), 3);
    assert_int_equal(mtd_inflight_enter("aaaaaaaaaaaaaaaa", "d3", 8), MTD_INFLIGHT_OK);
    assert_int_equal(mtd_inflight_enter("aaaaaaaaaaaaaaaa", "d4", 8), MTD_INFLIGHT_TENANT);
    mtd_inflight_leave("bbbbbbbbbbbbbbbb", "d0");
    assert_int_equal(mtd_inflight_enter("aaaaaaaaaaaaaaaa", "d4", 8), MTD_INFLIGHT_OK);
    for (int i = 0; i < 5; i++) {
        snprintf(dev, sizeof dev, "d%d", i);
        mtd_inflight_leave("aaaaaaaaaaaaaaaa", dev);
    }
    assert_int_equal(mtd_inflight_count("aaaaaaaaaaaaaaaa", NULL), 0);
    assert_int_equal(mtd_inflight_count("bbbbbbbbbbbbbbbb", NULL), 0);
}

static void a_tenants_share(void **state)
{
    (void)state;
    assert_int_equal(mtd_inflight_tenant_max(0, 1), 1);
    assert_int_equal(mtd_inflight_tenant_max(1, 1), 1);
    assert_int_equal(mtd_inflight_tenant_max(8, 1), 4);
    assert_int_equal(mtd_inflight_tenant_max(65, 1), 33);
    assert_int_equal(mtd_inflight_tenant_max(1, 0), 1);
    assert_int_equal(mtd_inflight_tenant_max(64, 0), 56);
}

static int setup(void **state)
{
    (void)state;
    setenv("MTD_LOG", getenv("FAIR_LOG") ? getenv("FAIR_LOG") : "warn", 1);
    mtd_log_init();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    strcpy(W.dir, "/tmp/mtd-fair-XXXXXX");
    if (!mkdtemp(W.dir))
        return -1;
    char why[256];
    mtd_metrics_init(&W.c.metrics);
    W.c.max_inflight = MAX_INFLIGHT;
    if (mtd_tenants_open(W.dir, &W.c.tenants, why, sizeof why) != 0)
        return -1;
    for (int i = 0; i < 2; i++)
        if (mtd_tenants_create(W.c.tenants, i ? "fair-b" : "fair-a", NULL, W.t[i].id, W.t[i].enroll,
                               W.t[i].admin, sizeof W.t[i].admin) != 0)
            return -1;
    mtd_server_opts o = {.listen = "127.0.0.1:0", .threads = 12};
    return mtd_server_start(&W.c, &o, &W.srv, why, sizeof why) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    mtd_server_stop(W.srv);
    mtd_tenants_close(W.c.tenants);
    mtd_metrics_destroy(&W.c.metrics);
    mtd_rm_rf(W.dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_tenants_share),
        cmocka_unit_test(a_tenant_alone_keeps_nearly_every_slot),
        cmocka_unit_test(a_device_and_a_tenant_hold_only_their_share),
        cmocka_unit_test(a_batch_waiting_for_its_commit_holds_no_http_thread),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
