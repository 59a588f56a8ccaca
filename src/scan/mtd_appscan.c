/* mtd_appscan: scheduled and change-driven app scans in `mtd-agent run` (see header). */
#include "scan/mtd_appscan.h"
#include "collect/mtd_threats.h"
#include "common/mtd_err.h"
#include "common/mtd_file.h"
#include "common/mtd_log.h"
#include "common/mtd_util.h"
#include "scan/mtd_scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_FEED ((size_t)256 << 20)

struct mtd_appscan {
    mtd_threats *t;
    json_t *next;   /* STATE/scan.json to write on commit */
    char path[1200];
};

/* The round's inputs: indicators, rules, trusted stores; their digest decides a rescan. */
typedef struct {
    mtd_ioc *ioc;
    mtd_yara *yara;
    const char *trusted[MTD_APPSCAN_MAX_STORES + 1];
    char stores[MTD_POLICY_LIST_BYTES];
    char digest[200];
    char problem[700];  /* a feed that was refused, for the status */
} inputs;

static void feed_path(const mtd_appscan_cfg *c, const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/feeds/%s", c->state_dir, name);
}

/* Adds "name:<sha256 or ->" of a file to the digest; returns 1 when it exists. */
static int digest_file(const char *path, const char *name, char *dig, size_t n)
{
    uint8_t *buf;
    size_t len;
    char hex[65] = "-";
    int there = mtd_file_read(path, MAX_FEED, &buf, &len) == 0;
    if (there) {
        mtd_sha256_hex(buf, len, hex);
        free(buf);
    }
    size_t l = strlen(dig);
    snprintf(dig + l, n - l, "%s:%.12s ", name, hex);
    return there;
}

void mtd_appscan_trusted(const mtd_policy *p, char buf[MTD_POLICY_LIST_BYTES],
                         const char *out[MTD_APPSCAN_MAX_STORES + 1])
{
    snprintf(buf, MTD_POLICY_LIST_BYTES, "%s", p->trusted_stores);
    size_t n = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, "\n", &save); t && n < MTD_APPSCAN_MAX_STORES; t = strtok_r(NULL, "\n", &save))
        out[n++] = t;
    out[n] = NULL;
}

static void load_inputs(const mtd_appscan_cfg *c, inputs *in)
{
    memset(in, 0, sizeof *in);
    char path[1300], why[600];
    feed_path(c, "indicators", path, sizeof path);
    if (digest_file(path, "indicators", in->digest, sizeof in->digest)) {
        in->ioc = mtd_ioc_new();
        if (in->ioc && mtd_ioc_load_file(in->ioc, path, NULL, why, sizeof why) != 0) {
            snprintf(in->problem, sizeof in->problem, "indicators feed refused (%s)", why);
            mtd_ioc_free(in->ioc);
            in->ioc = NULL;
        }
    }
    feed_path(c, "yara", path, sizeof path);
    if (digest_file(path, "yara", in->digest, sizeof in->digest)) {
        const char *files[] = {path};
        if (mtd_yara_compile(files, 1, &in->yara, why, sizeof why) != 0) {
            size_t l = strlen(in->problem);
            snprintf(in->problem + l, sizeof in->problem - l, "%syara feed refused (%s)", l ? "; " : "", why);
            in->yara = NULL;
        }
    }
    const char *s = c->policy->trusted_stores;
    mtd_appscan_trusted(c->policy, in->stores, in->trusted);
    char h[65];
    mtd_sha256_hex(s, strlen(s), h);
    size_t l = strlen(in->digest);
    snprintf(in->digest + l, sizeof in->digest - l, "stores:%.12s", h);
}

static void free_inputs(inputs *in)
{
    mtd_ioc_free(in->ioc);
    mtd_yara_free(in->yara);
}

typedef struct {
    const mtd_appscan_cfg *c;
    mtd_threats *t;
    mtd_emit_fn emit;
    void *ctx;
    const char *package, *sha256;
    size_t findings;
    int err; /* what emit returned when it stopped the round */
} finding_ctx;

/* A finding to the tracker: its ID a pseudonym of what identifies it. */
static int on_finding(void *vctx, const mtd_finding *f)
{
    finding_ctx *x = vctx;
    char raw[1200], id[MTD_PSEUDO_LEN + 1];
    int n = snprintf(raw, sizeof raw, "app%c%s%c%s%c%s", 0, f->rule, 0, f->threat_name, 0,
                     x->package ? x->package : f->subject ? f->subject : "");
    if (n < 0 || (size_t)n >= sizeof raw || mtd_pseudo(x->c->key, "threat", raw, (size_t)n, id))
        return 0;
    json_t *fields = json_pack("{s:s,s:s,s:s,s:s,s:s?,s:s?}", "threat_name", f->threat_name,
                               "category", f->category, "severity", f->severity, "evidence",
                               f->evidence, "package", x->package, "app_sha256", x->sha256);
    x->findings++;
    return x->err = fields ? mtd_threats_seen(x->t, id, fields, x->emit, x->ctx) : MTD_ENOMEM;
}

static json_t *signers_of(const mtd_appinfo *a)
{
    json_t *s = json_array();
    for (int i = 0; i < a->sig.nsigners; i++)
        json_array_append_new(s, json_string(a->sig.signer_sha256[i]));
    return s;
}

/* One app: scanned when new, changed or in a full scan; its record for next. */
static int one_app(finding_ctx *x, mtd_scanner *sc, const inputs *in, const json_t *app,
                   const json_t *rec, int full, json_t *next_apps, unsigned *scanned)
{
    const char *pkg = json_string_value(json_object_get(app, "package"));
    json_t *sha = json_object_get(app, "apk_sha256"), *ver = json_object_get(app, "version_code");
    int changed = !rec || !json_equal(json_object_get(rec, "sha256") ?: json_null(), sha ?: json_null()) ||
                  !json_equal(json_object_get(rec, "version") ?: json_null(), ver ?: json_null());
    if (!full && !changed) {
        json_object_set(next_apps, pkg, (json_t *)rec);
        return 0;
    }
    const char *before[MTD_APKSIGN_MAX_SIGNERS + 1] = {0};
    json_t *prev = json_object_get(rec, "signers");
    for (size_t i = 0; i < json_array_size(prev) && i < MTD_APKSIGN_MAX_SIGNERS; i++)
        before[i] = json_string_value(json_array_get(prev, i));
    mtd_heur_app h = {.trusted = in->trusted, .prev_signers = before[0] ? before : NULL,
                      .prev_version = json_integer_value(json_object_get(rec, "version")),
                      .prev_where = "the version scanned before"};
    x->package = pkg;
    x->sha256 = json_string_value(sha);
    mtd_appinfo a;
    mtd_scan_stats st;
    int had_apk;
    char why[600];
    int r = mtd_scan_inventory_app(sc, x->c->android_root, app, &h, &a, &had_apk, &st, on_finding, x,
                                   why, sizeof why);
    if (x->err) {
        mtd_appinfo_free(&a);
        return x->err;
    }
    if (r) { /* an APK that cannot be read: said, left as it was, and tried again */
        mtd_log(MTD_LOG_WARN, "scan", "%s", why);
        mtd_appinfo_free(&a);
        if (rec)
            json_object_set(next_apps, pkg, (json_t *)rec);
        return 0;
    }
    (*scanned)++;
    r = full ? 0 : mtd_threats_finish_where(x->t, "package", pkg, x->emit, x->ctx);
    /* the signers of the first version seen stay the reference across updates */
    json_t *keep = json_array_size(prev) ? json_incref(prev) : signers_of(&a);
    json_object_set_new(next_apps, pkg, json_pack("{s:O?,s:O?,s:o}", "sha256", sha, "version", ver, "signers", keep));
    mtd_appinfo_free(&a);
    return r;
}

static json_t *load_state(const char *path)
{
    json_t *s = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(s) || !json_is_object(json_object_get(s, "apps"))) {
        json_decref(s);
        s = json_pack("{s:I,s:s,s:{}}", "last_full", (json_int_t)0, "inputs", "", "apps");
    }
    return s;
}

int mtd_appscan_round(const mtd_appscan_cfg *c, const json_t *apps, mtd_emit_fn emit, void *ctx,
                      mtd_appscan **out)
{
    *out = NULL;
    if (!c->android_root || !c->android_root[0] || !apps || !c->policy->app_scanning)
        return 0; /* the findings already reported stay as they are */
    int64_t t0 = mtd_monotonic_ns(), now = c->now ? c->now : (int64_t)time(NULL);
    mtd_appscan *a = calloc(1, sizeof *a);
    if (!a)
        return MTD_ENOMEM;
    snprintf(a->path, sizeof a->path, "%s/scan.json", c->state_dir);
    json_t *prev = load_state(a->path);
    inputs in;
    load_inputs(c, &in);
    int64_t interval = c->full_interval_s > 0 ? c->full_interval_s : 86400;
    int64_t last = json_integer_value(json_object_get(prev, "last_full"));
    const char *old = json_string_value(json_object_get(prev, "inputs"));
    /* a refused feed makes no full scan: it would resolve what the feed found before */
    int full = !in.problem[0] && (now - last >= interval || !old || strcmp(old, in.digest));
    mtd_scan_cfg sc_cfg = {.ioc = in.ioc, .yara = in.yara, .heuristics = 1};
    mtd_scanner *sc = NULL;
    int r = mtd_threats_open(c->state_dir, "app", &a->t);
    if (r == 0)
        r = mtd_scanner_new(&sc_cfg, &sc);
    finding_ctx x = {.c = c, .t = a->t, .emit = emit, .ctx = ctx};
    json_t *prev_apps = json_object_get(prev, "apps"), *next_apps = json_object(), *app;
    unsigned scanned = 0;
    size_t i;
    json_array_foreach(apps, i, app) {
        const char *pkg = json_string_value(json_object_get(app, "package"));
        if (r == 0 && pkg)
            r = one_app(&x, sc, &in, app, json_object_get(prev_apps, pkg), full, next_apps, &scanned);
    }
    const char *pkg;
    json_t *rec;
    json_object_foreach(prev_apps, pkg, rec) /* removed: its findings are resolved */
        if (r == 0 && !full && !json_object_get(next_apps, pkg))
            r = mtd_threats_finish_where(a->t, "package", pkg, emit, ctx);
    if (r == 0 && full) {
        x.package = x.sha256 = NULL;
        r = mtd_scan_file_paths(in.ioc, c->android_root, on_finding, &x);
        if (r == 0)
            r = mtd_threats_finish(a->t, emit, ctx);
    }
    mtd_scanner_free(sc);
    char status[1000];
    snprintf(status, sizeof status, "%s%s%s of %u apps: %zu findings, %zu threats active",
             in.problem, in.problem[0] ? "; " : "", full ? "full scan" : scanned ? "scan of new or updated apps" : "no app changed; scan",
             scanned, x.findings, a->t ? mtd_threats_active(a->t) : 0);
    char t[MTD_TIME_LEN];
    mtd_time_rfc3339((time_t)now, t);
    a->next = json_pack("{s:I,s:s,s:o,s:{s:s,s:I,s:s,s:b}}", "last_full",
                        (json_int_t)(full ? now : last), "inputs", full ? in.digest : old ? old : "",
                        "apps", next_apps, "status", "text", status, "ms",
                        (json_int_t)((mtd_monotonic_ns() - t0) / 1000000), "time", t, "full", full);
    free_inputs(&in);
    json_decref(prev);
    if (r) {
        mtd_appscan_close(a);
        return r;
    }
    mtd_log(MTD_LOG_INFO, "scan", "%s", status);
    *out = a;
    return 0;
}

int mtd_appscan_commit(mtd_appscan *a)
{
    int r = mtd_threats_commit(a->t);
    char *s = r == 0 ? json_dumps(a->next, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (r == 0)
        r = s ? mtd_file_write_atomic(a->path, s, strlen(s), 0600) : MTD_ENOMEM;
    free(s);
    return r;
}

void mtd_appscan_close(mtd_appscan *a)
{
    if (!a)
        return;
    mtd_threats_close(a->t);
    json_decref(a->next);
    free(a);
}

int mtd_appscan_status(const char *state_dir, char *status, size_t n, int64_t *ms)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/scan.json", state_dir);
    json_t *s = json_load_file(path, 0, NULL), *st = json_object_get(s, "status");
    const char *text = json_string_value(json_object_get(st, "text"));
    if (!text) {
        json_decref(s);
        return MTD_ENOENT;
    }
    snprintf(status, n, "%s", text);
    *ms = json_integer_value(json_object_get(st, "ms"));
    json_decref(s);
    return 0;
}
