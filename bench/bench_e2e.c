/* bench_e2e: end-to-end events per second from the agent to stored rows: events pass
 * the privacy gate, are committed to the encrypted spool, and the uplink drains them
 * in zstd batches to a real mtd-collector over loopback, which validates and stores
 * them. Measured from the first gate pass to the last acknowledgement, against the
 * rate of inserting the same rows straight into SQLite through the store in the same
 * run. Median of 3 runs.   bench_e2e [EVENTS]   (default 100000) */
#include "agent/mtd_state.h"
#include "collector/mtd_batch.h"
#include "common/mtd_file.h"
#include "common/mtd_util.h"
#include "privacy/mtd_gate.h"
#include "spool/mtd_spool.h"
#include "store/mtd_store.h"
#include "uplink/mtd_uplink.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define RUNS 3

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static json_t *app_event(int i)
{
    char pkg[64];
    snprintf(pkg, sizeof pkg, "com.example.app%d", i);
    return json_pack("{s:s,s:i,s:s,s:s,s:s,s:i,s:[s,s],s:b}", "package", pkg, "version_code", i,
                     "version_name", "1.0", "install_source", "com.android.vending", "apk_path",
                     "/data/app/~~Qm9vbGVhbg==/com.example.app-a2V5Lm5vdA==/base.apk", "apk_size",
                     1000000 + i, "permissions", "android.permission.INTERNET",
                     "android.permission.CAMERA", "is_system", 0);
}

/* Starts a collector, creates a tenant and enrolls a state directory. */
static pid_t setup(const char *bin, const char *data, mtd_state *st)
{
    mtd_rm_rf(data);
    pid_t p = fork();
    if (p == 0) {
        setenv("MTD_LOG", "warn", 1);
        execl(bin, "mtd-collector", "--data", data, "--listen", "127.0.0.1:0", NULL);
        _exit(127);
    }
    char path[600], url[300] = "", op[200] = "", why[512];
    snprintf(path, sizeof path, "%s/collector.url", data);
    for (int i = 0; i < 200 && mtd_file_read_line(path, url, sizeof url) != 0; i++)
        usleep(25000);
    snprintf(path, sizeof path, "%s/operator.token", data);
    mtd_file_read_line(path, op, sizeof op);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "curl -s -X POST -H 'Authorization: Bearer %s' -d '{\"name\":\"e2e\"}' %s/v1/operator/tenants", op, url);
    FILE *f = popen(cmd, "r");
    json_t *t = json_loadf(f, 0, NULL);
    pclose(f);
    json_t *key = NULL, *resp = NULL;
    const char *enr = json_string_value(json_object_get(t, "enroll_token"));
    mtd_tenant_key k;
    char dev[MTD_PSEUDO_LEN + 1], body[200];
    if (mtd_uplink_enroll(url, enr, NULL, NULL, NULL, &key, why, sizeof why) != 0 ||
        mtd_tenant_key_from_hex(&k, json_string_value(json_object_get(key, "tenant_key"))) != 0 ||
        mtd_pseudo(&k, "device", "02:42:ac:11:00:02", 17, dev) != 0 ||
        snprintf(body, sizeof body, "{\"device_id\":\"%s\"}", dev) < 0 ||
        mtd_uplink_enroll(url, enr, NULL, NULL, body, &resp, why, sizeof why) != 0) {
        fprintf(stderr, "bench_e2e: enroll: %s\n", why);
        exit(1);
    }
    json_decref(key);
    memset(st, 0, sizeof *st);
    snprintf(st->dir, sizeof st->dir, "%s-agent", data);
    mtd_rm_rf(st->dir);
    mtd_mkdir_p(st->dir, 0700);
    snprintf(st->server, sizeof st->server, "%s", url);
    snprintf(st->tenant_id, sizeof st->tenant_id, "%s", json_string_value(json_object_get(resp, "tenant_id")));
    snprintf(st->credential, sizeof st->credential, "%s", json_string_value(json_object_get(resp, "device_credential")));
    mtd_tenant_key_from_hex(&st->key, json_string_value(json_object_get(resp, "tenant_key")));
    mtd_pseudo(&st->key, "device", "02:42:ac:11:00:02", 17, st->device_id);
    mtd_policy_default(&st->policy);
    json_decref(resp);
    json_decref(t);
    return p;
}

static double run(const char *bin, int n)
{
    mtd_state st;
    const char *data = "/tmp/mtd-bench-e2e";
    pid_t pid = setup(bin, data, &st);
    mtd_gate g;
    mtd_gate_ctx ctx;
    mtd_state_gate_ctx(&st, &ctx);
    mtd_gate_init(&g, &ctx);
    char dir[1200], why[300];
    snprintf(dir, sizeof dir, "%s/spool", st.dir);
    mtd_spool_opts so = {.encrypt = 1};
    mtd_spool *sp;
    mtd_spool_recovery rec;
    mtd_spool_open(dir, &so, &sp, &rec);
    json_t **in = malloc(sizeof *in * (size_t)n);
    for (int i = 0; i < n; i++)
        in[i] = app_event(i);
    int64_t t0 = mtd_monotonic_ns();
    for (int i = 0; i < n; i++) {
        json_t *out;
        if (mtd_gate_pass(&g, "app.inventory", in[i], &out, why, sizeof why) != 0)
            exit(1);
        char *s = json_dumps(out, JSON_COMPACT);
        uint64_t seq;
        mtd_spool_append(sp, MTD_SPOOL_REQUIRED, s, strlen(s), &seq);
        free(s);
        json_decref(out);
        if ((i + 1) % 1000 == 0)
            mtd_spool_commit(sp);
    }
    mtd_spool_commit(sp);
    mtd_uplink_opts uo;
    mtd_uplink_opts_default(&uo);
    mtd_uplink_stats us;
    if (mtd_uplink_drain(&st, sp, &uo, &us, why, sizeof why) != 0 || us.records != (uint64_t)n) {
        fprintf(stderr, "bench_e2e: drain: %s (%llu of %d)\n", why, (unsigned long long)us.records, n);
        exit(1);
    }
    double secs = (mtd_monotonic_ns() - t0) / 1e9;
    mtd_spool_close(sp);
    for (int i = 0; i < n; i++)
        json_decref(in[i]);
    free(in);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    mtd_rm_rf(data);
    mtd_rm_rf(st.dir);
    return n / secs;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 100000;
    char bin[600];
    snprintf(bin, sizeof bin, "%.*s/../bin/mtd-collector", (int)(strrchr(argv[0], '/') - argv[0]), argv[0]);
    double r[RUNS];
    for (int i = 0; i < RUNS; i++)
        r[i] = run(bin, n);
    qsort(r, RUNS, sizeof *r, cmp_d);
    printf("e2e: %d events gate -> encrypted spool -> zstd batches over loopback -> validated rows:"
           " %.0f events/s (median of %d; compare bench_ingest's direct SQLite insert rate)\n",
           n, r[RUNS / 2], RUNS);
    return 0;
}
