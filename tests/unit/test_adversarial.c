/* The collector against hostile devices, in process: a real mtd_server on a loopback
 * port, fed over HTTP by libcurl. For every event type and every declared field it
 * sends SQL metacharacters (stored verbatim, nothing executed), values at the length
 * cap (accepted) and one byte over it (rejected whole with a 4xx that names the field),
 * and checks afterwards that the store holds exactly what was accepted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "collector/mtd_collector.h"
#include "collector/mtd_server.h"
#include "common/mtd_err.h"
#include "common/mtd_file.h"
#include "common/mtd_log.h"
#include "common/mtd_util.h"
#include "schema/mtd_event.h"
#include "schema/mtd_schema.h"
#include "uplink/mtd_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define DEV "ps_AAAAAAAAAAAAAAAAAAAAAA"
static const char meta[] = "'; DROP TABLE devices; -- \" OR 1=1 /* \\\\ %s %n ${x} \xe2\x80\xae";

typedef struct {
    char dir[64];
    mtd_collector c;
    mtd_server *srv;
    char tenant[32], cred[200], admin[200];
    int seq;
} world;

static int post_json(world *w, const char *path, const char *tok, const char *body, mtd_http_resp *r)
{
    char url[300], why[256];
    snprintf(url, sizeof url, "%s%s", mtd_server_url(w->srv), path);
    mtd_http_opts o = {.bearer = tok};
    return mtd_http_request(&o, body ? "POST" : "GET", url, NULL, body, body ? strlen(body) : 0, r, why, sizeof why);
}

static long post_batch(world *w, const char *ndjson, char *detail, size_t dlen)
{
    size_t bound = ZSTD_compressBound(strlen(ndjson));
    void *z = malloc(bound);
    size_t zn = ZSTD_compress(z, bound, ndjson, strlen(ndjson), 1);
    char url[300], why[256], key[64];
    snprintf(url, sizeof url, "%s/v1/batches", mtd_server_url(w->srv));
    snprintf(key, sizeof key, "Idempotency-Key: adversarial-%06d", ++w->seq);
    const char *h[] = {"Content-Type: application/x-ndjson", key, NULL};
    mtd_http_opts o = {.bearer = w->cred};
    mtd_http_resp r;
    long status = 0;
    if (mtd_http_request(&o, "POST", url, h, z, zn, &r, why, sizeof why) == 0) {
        status = r.status;
        snprintf(detail, dlen, "%s", r.body.data ? (char *)r.body.data : "");
        mtd_http_resp_free(&r);
    }
    free(z);
    return status;
}

static int setup(void **state)
{
    setenv("MTD_LOG", "warn", 1); /* one log line per request would drown the report */
    mtd_log_init();
    world *w = calloc(1, sizeof *w);
    strcpy(w->dir, "/tmp/mtd-adv-XXXXXX");
    if (!mkdtemp(w->dir))
        return -1;
    char why[256], enr[200];
    mtd_metrics_init(&w->c.metrics);
    w->c.max_inflight = 8;
    if (mtd_tenants_open(w->dir, &w->c.tenants, why, sizeof why) != 0 ||
        mtd_tenants_create(w->c.tenants, "adv", NULL, w->tenant, enr, w->admin, sizeof w->admin) != 0)
        return -1;
    mtd_server_opts o = {.listen = "127.0.0.1:0", .threads = 2};
    if (mtd_server_start(&w->c, &o, &w->srv, why, sizeof why) != 0)
        return -1;
    mtd_http_resp r;
    if (post_json(w, "/v1/enroll", enr, "{\"device_id\":\"" DEV "\"}", &r) != 0 || r.status != 200)
        return -1;
    json_t *j = json_loadb((char *)r.body.data, r.body.len, 0, NULL);
    snprintf(w->cred, sizeof w->cred, "%s", json_string_value(json_object_get(j, "device_credential")));
    json_decref(j);
    mtd_http_resp_free(&r);
    /* everything allowed, so only the schema decides */
    if (post_json(w, "/v1/admin/policy", w->admin, "{\"optional_data\":true,\"report_urls\":\"full\","
                  "\"report_connections\":\"all\",\"report_app_details\":\"full\"}", &r) != 0 || r.status != 200)
        return -1;
    mtd_http_resp_free(&r);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    mtd_server_stop(w->srv);
    mtd_tenants_close(w->c.tenants);
    mtd_metrics_destroy(&w->c.metrics);
    mtd_rm_rf(w->dir);
    free(w);
    return 0;
}

/* A valid event of the type, every field filled, one of them set to v. */
static json_t *full_event(world *w, const mtd_event_type *ev, const mtd_field *target, json_t *v)
{
    char id[32];
    snprintf(id, sizeof id, "adv%019d", ++w->seq);
    json_t *e = json_pack("{s:s,s:i,s:s,s:s,s:s,s:s}", "event", ev->name, "schema", 1, "event_id", id,
                          "time", "2026-11-24T10:00:00Z", "tenant_id", w->tenant, "device_id", DEV);
    for (size_t i = 0; i < ev->nfields; i++) {
        const mtd_field *f = &ev->fields[i];
        json_t *x = f->type == MTD_T_INT ? json_integer(7)
                    : f->type == MTD_T_BOOL ? json_true()
                    : f->type == MTD_T_TIME ? json_string("2026-11-24T09:00:00Z")
                    : f->type == MTD_T_ENUM ? json_string(f->enum_values[0])
                    : f->type == MTD_T_STRLIST ? json_pack("[s]", "a")
                    : f->policy == MTD_POL_URL ? json_string("https://x.example/")
                    : f->kind == MTD_DK_EMAIL  ? json_string("someone@x.example")
                                               : json_string("plain");
        json_object_set_new(e, f->name, x);
    }
    if (!strcmp(ev->name, "consent.change"))
        json_object_set_new(e, "state", json_string("granted"));
    if (target)
        json_object_set(e, target->name, v);
    return e;
}

static long send_one(world *w, json_t *e, char *detail, size_t dlen)
{
    char *line = json_dumps(e, JSON_COMPACT);
    char *nd = malloc(strlen(line) + 2);
    sprintf(nd, "%s\n", line);
    long st = post_batch(w, nd, detail, dlen);
    free(line);
    free(nd);
    return st;
}

static void metacharacters_and_caps_in_every_field(void **state)
{
    world *w = *state;
    char detail[1024];
    json_t *grant = full_event(w, mtd_schema_event("consent.change"), NULL, NULL);
    assert_int_equal(send_one(w, grant, detail, sizeof detail), 200);
    json_decref(grant);
    int accepted = 0, rejected = 0;
    for (size_t t = 0; t < mtd_event_ntypes; t++) {
        const mtd_event_type *ev = &mtd_event_types[t];
        for (size_t i = 0; i < ev->nfields; i++) {
            const mtd_field *f = &ev->fields[i];
            if (f->type != MTD_T_STR)
                continue;
            /* at the cap, full of metacharacters: accepted and stored verbatim */
            char *v = malloc(f->max_len + 2);
            for (unsigned k = 0; k < f->max_len; k++)
                v[k] = meta[k % 40];
            v[f->max_len] = 0;
            json_t *jv = json_string(v);
            if (f->xf == MTD_X_PSEUDONYMIZE) { /* must stay a pseudonym */
                json_decref(jv);
                jv = json_string("ps_'DROP--TABLE'xxxxxxxxx");
            }
            json_t *e = full_event(w, ev, f, jv);
            long st = send_one(w, e, detail, sizeof detail);
            if (f->xf == MTD_X_PSEUDONYMIZE) {
                if (st != 400 || !strstr(detail, "must be a pseudonym"))
                    fail_msg("%s.%s: a non-pseudonym got %ld %s", ev->name, f->name, st, detail);
                rejected++;
            } else if (f->kind == MTD_DK_EMAIL) { /* metacharacters are no email address */
                if (st != 400 || !strstr(detail, "is not an email address"))
                    fail_msg("%s.%s: a non-address got %ld %s", ev->name, f->name, st, detail);
                rejected++;
            } else if (st != 200) {
                fail_msg("%s.%s at its cap: %ld %s", ev->name, f->name, st, detail);
            } else {
                accepted++;
            }
            json_decref(e);
            json_decref(jv);
            /* one byte over the cap: the batch is refused, naming the field */
            v[f->max_len] = 'x';
            v[f->max_len + 1] = 0;
            jv = json_string(v);
            e = full_event(w, ev, f, jv);
            st = send_one(w, e, detail, sizeof detail);
            char want[128];
            snprintf(want, sizeof want, "field \\\"%s\\\" too long", f->name);
            if (st != 413 && !(st == 400 && strstr(detail, want)))
                fail_msg("%s.%s over its cap: %ld %s", ev->name, f->name, st, detail);
            rejected++;
            json_decref(e);
            json_decref(jv);
            free(v);
        }
    }
    /* every accepted event is stored, the tables are intact */
    mtd_tenant *tn;
    assert_int_equal(mtd_tenants_get(w->c.tenants, w->tenant, &tn), 0);
    int stored = 0;
    for (size_t t = 0; t < mtd_event_ntypes; t++) {
        json_t *rows = mtd_store_event_rows(tn->store, mtd_event_types[t].name, NULL, NULL);
        stored += (int)json_array_size(rows);
        json_decref(rows);
    }
    json_t *devs = mtd_store_devices(tn->store, NULL);
    assert_int_equal(json_array_size(devs), 1);
    json_decref(devs);
    mtd_tenants_put(w->c.tenants, tn);
    assert_int_equal(stored, accepted + 1 /* the consent event */);
    assert_true(rejected > 40);
}

static void huge_numbers_and_wrong_types_are_refused(void **state)
{
    world *w = *state;
    char detail[1024];
    const char *bad[] = {
        "{\"event\":\"usage.memory\",\"schema\":1,\"event_id\":\"n1xxxxxxxxxxxxxxxxxxxx\",\"time\":\"2026-11-24T10:00:00Z\",\"tenant_id\":\"%s\",\"device_id\":\"" DEV "\",\"rss_kb\":1e400,\"peak_kb\":1}\n",
        "{\"event\":\"usage.memory\",\"schema\":1,\"event_id\":\"n2xxxxxxxxxxxxxxxxxxxx\",\"time\":\"2026-11-24T10:00:00Z\",\"tenant_id\":\"%s\",\"device_id\":\"" DEV "\",\"rss_kb\":\"12\",\"peak_kb\":1}\n",
        "{\"event\":\"usage.memory\",\"schema\":1,\"event_id\":\"n3xxxxxxxxxxxxxxxxxxxx\",\"time\":\"2026-11-24T10:00:00Z\",\"tenant_id\":\"%s\",\"device_id\":\"" DEV "\",\"rss_kb\":1,\"peak_kb\":1,\"rss_kb\":2}\n",
        "{\"event\":\"usage.memory\",\"schema\":1,\"event_id\":\"n4xxxxxxxxxxxxxxxxxxxx\",\"time\":\"2026-11-24T10:00:00Z\",\"tenant_id\":\"%s\",\"device_id\":\"" DEV "\",\"rss_kb\":{\"$gt\":1},\"peak_kb\":1}\n",
        "[1,2,3]\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char body[1024];
        snprintf(body, sizeof body, bad[i], w->tenant);
        long st = post_batch(w, body, detail, sizeof detail);
        if (st != 400)
            fail_msg("case %zu: %ld %s", i, st, detail);
        assert_non_null(strstr(detail, "\"error\""));
    }
    char body[1024];
    snprintf(body, sizeof body, "{\"event\":\"usage.memory\",\"schema\":1,\"event_id\":\"n5xxxxxxxxxxxxxxxxxxxx\",\"time\":\"2026-11-24T10:00:00Z\",\"tenant_id\":\"%s\",\"device_id\":\"" DEV "\",\"rss_kb\":9223372036854775807,\"peak_kb\":-1}\n", w->tenant);
    assert_int_equal(post_batch(w, body, detail, sizeof detail), 200);
}

/* The string scanner reads eight bytes at a time: an escape, a control character, a
 * multi-byte or an invalid UTF-8 sequence must be found at every offset of a value. */
static void strings_are_checked_at_every_offset(void **st)
{
    (void)st;
    static const char lo[] = "abcdefghijklmnopqrstu", hi[] = "ABCDEFGHIJKLMNOPQRSTU";
    static const struct { const char *in, *out, *err; } cases[] = {
        {"\\n", "\n", NULL}, {"\\\"", "\"", NULL}, {"\\u00e9", "\xc3\xa9", NULL},
        {"\xc3\xa9", "\xc3\xa9", NULL}, {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80", NULL},
        {"\x01", NULL, "control character"}, {"\xff", NULL, "invalid UTF-8"},
        {"\xc3(", NULL, "invalid UTF-8"}, {"\xed\xa0\x80", NULL, "invalid UTF-8"}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (int k = 0; k <= 20; k++) {
            char line[512], why[300], want[64];
            int n = snprintf(line, sizeof line,
                             "{\"event\":\"feedback.submission\",\"schema\":1,\"event_id\":\"e1\","
                             "\"time\":\"2026-11-24T10:00:00Z\",\"tenant_id\":\"t\",\"device_id\":\"%s\","
                             "\"type\":\"idea\",\"comment\":\"%.*s%s%.*s\"}",
                             DEV, k, lo, cases[c].in, 20 - k, hi);
            mtd_event ev;
            int r = mtd_event_parse(line, (size_t)n, &ev, why, sizeof why);
            if (cases[c].err) {
                assert_int_not_equal(r, 0);
                assert_non_null(strstr(why, cases[c].err));
                continue;
            }
            assert_int_equal(r, 0);
            snprintf(want, sizeof want, "%.*s%s%.*s", k, lo, cases[c].out, 20 - k, hi);
            size_t len;
            const char *got = mtd_event_str(&ev, "comment", &len);
            assert_non_null(got);
            assert_int_equal(len, strlen(want));
            assert_memory_equal(got, want, len);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strings_are_checked_at_every_offset),
        cmocka_unit_test_setup_teardown(metacharacters_and_caps_in_every_field, setup, teardown),
        cmocka_unit_test_setup_teardown(huge_numbers_and_wrong_types_are_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
