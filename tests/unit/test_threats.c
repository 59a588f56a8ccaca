/* Unit tests of the threat tracker (collect/mtd_threats.c): a finding is emitted once
 * when new or changed and once more as resolved when gone; the active set persists only
 * on commit; a round over one subject resolves only that subject's findings. And the
 * whole path a finding takes: tracker -> privacy gate -> the collector's store, where
 * the device's risk rises with the detection and falls back when it resolves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "collect/mtd_threats.h"
#include "common/mtd_err.h"
#include "common/mtd_file.h"
#include "privacy/mtd_gate.h"
#include "schema/mtd_event.h"
#include "store/mtd_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEV "ps_3BFya3ttFnaUX3D61iaoEQ"

typedef struct {
    char dir[64];
    json_t *out; /* what the tracker emitted, in order */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/mtd-threats-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    f->out = json_array();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    mtd_rm_rf(f->dir);
    json_decref(f->out);
    free(f);
    return 0;
}

static int collect(void *ctx, const char *type, json_t *fields)
{
    fixture *f = ctx;
    assert_string_equal(type, "threat.detection");
    json_array_append_new(f->out, fields);
    return 0;
}

static json_t *finding(const char *name, const char *severity, const char *pkg)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s}", "threat_name", name, "category", "malware",
                     "severity", severity, "evidence", "test rule", "package", pkg);
}

/* "id:status" of each emitted event, then clears the list. */
static const char *emitted(fixture *f)
{
    static char b[512];
    size_t len = 0, i;
    json_t *e;
    b[0] = 0;
    json_array_foreach(f->out, i, e)
        len += (size_t)snprintf(b + len, sizeof b - len, "%s%s:%s", i ? " " : "",
                                json_string_value(json_object_get(e, "threat_id")),
                                json_string_value(json_object_get(e, "status")));
    json_array_clear(f->out);
    return b;
}

static mtd_threats *open_app(fixture *f)
{
    mtd_threats *t;
    assert_int_equal(mtd_threats_open(f->dir, "app", &t), 0);
    return t;
}

static void findings_are_emitted_when_new_changed_or_gone(void **state)
{
    fixture *f = *state;
    mtd_threats *t = open_app(f);
    assert_int_equal(mtd_threats_seen(t, "app-x", finding("X", "high", "com.x"), collect, f), 0);
    assert_int_equal(mtd_threats_seen(t, "app-y", finding("Y", "low", "com.y"), collect, f), 0);
    assert_int_equal(mtd_threats_finish(t, collect, f), 0);
    assert_string_equal(emitted(f), "app-x:active app-y:active");
    assert_int_equal(mtd_threats_commit(t), 0);
    mtd_threats_close(t);

    json_t *e = NULL; /* the emitted event carries the source */
    t = open_app(f);
    assert_int_equal(mtd_threats_seen(t, "app-x", finding("X", "high", "com.x"), collect, f), 0);
    assert_int_equal(mtd_threats_seen(t, "app-z", finding("Z", "medium", "com.z"), collect, f), 0);
    e = json_incref(json_array_get(f->out, 0));
    assert_int_equal(mtd_threats_finish(t, collect, f), 0);
    assert_string_equal(emitted(f), "app-z:active app-y:resolved");
    assert_string_equal(json_string_value(json_object_get(e, "source")), "app");
    assert_string_equal(json_string_value(json_object_get(e, "package")), "com.z");
    json_decref(e);
    assert_int_equal(mtd_threats_active(t), 2);
    assert_int_equal(mtd_threats_commit(t), 0);
    mtd_threats_close(t);

    t = open_app(f); /* a changed severity is a change; the same finding twice is one */
    assert_int_equal(mtd_threats_seen(t, "app-x", finding("X", "critical", "com.x"), collect, f), 0);
    assert_int_equal(mtd_threats_seen(t, "app-x", finding("X", "critical", "com.x"), collect, f), 0);
    assert_int_equal(mtd_threats_seen(t, "app-z", finding("Z", "medium", "com.z"), collect, f), 0);
    assert_int_equal(mtd_threats_finish(t, collect, f), 0);
    assert_string_equal(emitted(f), "app-x:active");
    mtd_threats_close(t);
}

static void nothing_persists_before_commit(void **state)
{
    fixture *f = *state;
    mtd_threats *t = open_app(f);
    mtd_threats_seen(t, "app-x", finding("X", "high", "com.x"), collect, f);
    mtd_threats_finish(t, collect, f);
    mtd_threats_commit(t);
    mtd_threats_close(t);
    emitted(f);
    /* a round whose events never reached the spool: no commit */
    t = open_app(f);
    mtd_threats_finish(t, collect, f);
    assert_string_equal(emitted(f), "app-x:resolved");
    mtd_threats_close(t);
    /* so the next round resolves it again rather than losing the resolution */
    t = open_app(f);
    mtd_threats_finish(t, collect, f);
    assert_string_equal(emitted(f), "app-x:resolved");
    mtd_threats_commit(t);
    mtd_threats_close(t);
    t = open_app(f);
    mtd_threats_finish(t, collect, f);
    assert_string_equal(emitted(f), "");
    assert_int_equal(mtd_threats_active(t), 0);
    mtd_threats_close(t);
}

static void a_round_over_one_subject_keeps_the_others(void **state)
{
    fixture *f = *state;
    mtd_threats *t = open_app(f);
    mtd_threats_seen(t, "a1", finding("A1", "high", "com.a"), collect, f);
    mtd_threats_seen(t, "a2", finding("A2", "low", "com.a"), collect, f);
    mtd_threats_seen(t, "b1", finding("B1", "high", "com.b"), collect, f);
    mtd_threats_finish(t, collect, f);
    mtd_threats_commit(t);
    mtd_threats_close(t);
    emitted(f);
    /* com.a was updated and scanned again: a2 is gone, b1 was not looked at */
    t = open_app(f);
    mtd_threats_seen(t, "a1", finding("A1", "high", "com.a"), collect, f);
    assert_int_equal(mtd_threats_finish_where(t, "package", "com.a", collect, f), 0);
    assert_string_equal(emitted(f), "a2:resolved");
    assert_int_equal(mtd_threats_commit(t), 0);
    mtd_threats_close(t);
    t = open_app(f);
    assert_int_equal(mtd_threats_active(t), 2);
    mtd_threats_finish(t, collect, f);
    assert_string_equal(emitted(f), "a1:resolved b1:resolved");
    mtd_threats_close(t);
}

static void bad_ids_sources_and_state_files(void **state)
{
    fixture *f = *state;
    mtd_threats *t;
    assert_int_equal(mtd_threats_open(f->dir, "apps", &t), MTD_EINVAL);
    assert_int_equal(mtd_threats_open(f->dir, "../x", &t), MTD_EINVAL);
    assert_int_equal(mtd_threats_open(f->dir, "device", &t), 0);
    mtd_threats_close(t);
    t = open_app(f);
    char long_id[66];
    memset(long_id, 'a', 65);
    long_id[65] = 0;
    assert_int_equal(mtd_threats_seen(t, long_id, finding("X", "high", "p"), collect, f), MTD_EINVAL);
    long_id[64] = 0;
    assert_int_equal(mtd_threats_seen(t, long_id, finding("X", "high", "p"), collect, f), 0);
    assert_int_equal(mtd_threats_seen(t, "has space", finding("X", "high", "p"), collect, f), MTD_EINVAL);
    assert_int_equal(mtd_threats_seen(t, "", finding("X", "high", "p"), collect, f), MTD_EINVAL);
    assert_int_equal(mtd_threats_seen(t, "ok", json_string("x"), collect, f), MTD_EINVAL);
    mtd_threats_close(t);
    /* a torn or foreign state file is read as empty: findings come again */
    char p[128];
    snprintf(p, sizeof p, "%s/threats-app.json", f->dir);
    mtd_file_write_atomic(p, "{\"x\":", 5, 0600);
    t = open_app(f);
    assert_int_equal(mtd_threats_active(t), 0);
    mtd_threats_close(t);
    emitted(f);
}

/* The gate as mtd-agent run applies it, then the store as the collector fills it. */
typedef struct {
    mtd_gate gate;
    json_t *batch;
} pipe_ctx;

static int gate_to_batch(void *ctx, const char *type, json_t *fields)
{
    pipe_ctx *p = ctx;
    json_t *out;
    char why[256];
    int r = mtd_gate_pass(&p->gate, type, fields, &out, why, sizeof why);
    json_decref(fields);
    if (r)
        fail_msg("gate refused %s: %s", type, why);
    json_array_append_new(p->batch, out);
    return 0;
}

static void store_batch(mtd_store *s, json_t *batch, int n)
{
    static int k;
    char key[32];
    snprintf(key, sizeof key, "batch-%d", ++k);
    size_t len = json_array_size(batch);
    mtd_event *ev = calloc(len + 1, sizeof *ev);
    char **txt = calloc(len + 1, sizeof *txt), why[256];
    for (size_t i = 0; i < len; i++)
        if (mtd_event_from_json(json_array_get(batch, i), &ev[i], &txt[i], why, sizeof why))
            fail_msg("the collector would refuse the gate's event: %s", why);
    int stored;
    assert_int_equal(mtd_store_ingest(s, "", key, ev, len, &stored), 0);
    assert_int_equal(stored, n);
    for (size_t i = 0; i < len; i++)
        free(txt[i]);
    free(txt);
    free(ev);
    json_array_clear(batch);
}

static const char *risk(mtd_store *s)
{
    static char b[64];
    json_t *r;
    assert_int_equal(mtd_store_device_risk(s, DEV, &r), 0);
    snprintf(b, sizeof b, "%s/%lld", json_string_value(json_object_get(r, "risk")),
             (long long)json_integer_value(json_object_get(r, "open_threats")));
    json_decref(r);
    return b;
}

static void one_round(fixture *f, pipe_ctx *p, const char *const *ids, const char *const *sevs, int n)
{
    mtd_threats *t = open_app(f);
    for (int i = 0; i < n; i++)
        assert_int_equal(mtd_threats_seen(t, ids[i], finding(ids[i], sevs[i], "com.evil"),
                                          gate_to_batch, p), 0);
    assert_int_equal(mtd_threats_finish(t, gate_to_batch, p), 0);
    assert_int_equal(mtd_threats_commit(t), 0);
    mtd_threats_close(t);
}

static void device_risk_follows_the_tracker_through_gate_and_store(void **state)
{
    fixture *f = *state;
    char sdir[128], why[256];
    snprintf(sdir, sizeof sdir, "%s/store", f->dir);
    mtd_mkdir_p(sdir, 0700);
    mtd_store *s;
    assert_int_equal(mtd_store_open(sdir, &s, why, sizeof why), 0);
    pipe_ctx p = {.batch = json_array()};
    mtd_gate_ctx c;
    memset(&c, 0, sizeof c);
    for (int i = 0; i < 32; i++)
        c.key.key[i] = (uint8_t)i;
    strcpy(c.tenant_id, "0123456789abcdef");
    strcpy(c.device_id, DEV);
    mtd_policy_default(&c.policy);
    mtd_gate_init(&p.gate, &c);
    /* the device exists (device.info), no threat yet */
    gate_to_batch(&p, "device.info", json_pack("{s:s,s:s,s:s}", "os_name", "Android",
                                               "os_version", "14", "device_id_source", "guid"));
    store_batch(s, p.batch, 1);
    assert_string_equal(risk(s), "none/0");

    one_round(f, &p, (const char *[]){"t-high", "t-low"}, (const char *[]){"high", "low"}, 2);
    store_batch(s, p.batch, 2);
    assert_string_equal(risk(s), "high/2");
    one_round(f, &p, (const char *[]){"t-high", "t-low"}, (const char *[]){"high", "low"}, 2);
    assert_int_equal(json_array_size(p.batch), 0); /* unchanged: nothing sent */
    one_round(f, &p, (const char *[]){"t-low"}, (const char *[]){"low"}, 1);
    store_batch(s, p.batch, 1);
    assert_string_equal(risk(s), "low/1");
    one_round(f, &p, NULL, NULL, 0);
    store_batch(s, p.batch, 1);
    assert_string_equal(risk(s), "none/0");
    json_t *all = mtd_store_threats(s, "resolved", DEV, NULL);
    assert_int_equal(json_array_size(all), 2);
    json_decref(all);

    /* under report_app_details=minimal the threat arrives without the package */
    c.policy.report_app_details = MTD_APPDET_MINIMAL;
    mtd_gate_init(&p.gate, &c);
    one_round(f, &p, (const char *[]){"t-min"}, (const char *[]){"medium"}, 1);
    assert_null(json_object_get(json_array_get(p.batch, 0), "package"));
    assert_string_equal(json_string_value(json_object_get(json_array_get(p.batch, 0), "threat_name")), "t-min");
    store_batch(s, p.batch, 1);
    assert_string_equal(risk(s), "medium/1");
    json_decref(p.batch);
    mtd_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(findings_are_emitted_when_new_changed_or_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(nothing_persists_before_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(a_round_over_one_subject_keeps_the_others, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_ids_sources_and_state_files, setup, teardown),
        cmocka_unit_test_setup_teardown(device_risk_follows_the_tracker_through_gate_and_store, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
