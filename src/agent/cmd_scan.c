/* cmd_scan: `mtd-agent scan [--indicators FILE]... [--rules FILE]... PATH...`: the app
 * scanner over APK files, directories of them, or an Android snapshot
 * (--android-root DIR), shown locally: nothing is sent. One JSON object per finding
 * (DESIGN.md section 4): path, package, threat_name, category, severity, evidence,
 * and the finding's fixed rule identifier. Exit 0 whether or not something was found;
 * a bad indicator or rule file stops the command before any scan, naming file and
 * line; an unreadable APK is named at the end, after every other was scanned.
 *
 * With --state DIR the scan is the enrolled device's, asked for by its user: its
 * snapshot when no PATH is given, the tenant's feeds (indicators, yara) besides the
 * files given, its trusted_stores policy unless --trusted-store is given; it still
 * sends nothing (the next `run` reports what the device's scans find), but it counts
 * as a scan_requested action in the usage the next round reports. */
#include "agent/mtd_agent.h"
#include "android/mtd_snapshot.h"
#include "common/mtd_util.h"
#include "scan/mtd_appscan.h"
#include "scan/mtd_scan.h"
#include "usage/mtd_actions.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    const char *path;  /* the APK on this host (or the record's device path) */
    int json;
    json_t *versions;  /* package -> [{version, signers, path}] for heur.signer_change */
    size_t findings;
} out_ctx;

static void print_finding(out_ctx *o, const char *path, const char *package, const mtd_finding *f)
{
    o->findings++;
    if (!o->json) {
        printf("%s: %s %s [%s] %s\n", path, f->severity, f->threat_name, f->rule, f->evidence);
        return;
    }
    json_t *j = json_pack("{s:s,s:s?,s:s,s:s,s:s,s:s,s:s}", "path", path, "package", package,
                          "threat_name", f->threat_name, "category", f->category, "severity",
                          f->severity, "evidence", f->evidence, "rule", f->rule);
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (s)
        puts(s);
    free(s);
    json_decref(j);
}

typedef struct {
    out_ctx *o;
    const char *path;
    const char *package;
} finding_ctx;

static int on_finding(void *ctx, const mtd_finding *f)
{
    finding_ctx *x = ctx;
    print_finding(x->o, x->path, x->package, f);
    return 0;
}

/* A file path finding is shown at its place in the snapshot. */
static int on_path(void *ctx, const mtd_finding *f)
{
    finding_ctx *x = ctx;
    char host[4200];
    snprintf(host, sizeof host, "%s%s", x->path, f->subject);
    print_finding(x->o, host, NULL, f);
    return 0;
}

/* Findings arrive before the package is known to the printer: buffer per APK. */
typedef struct {
    mtd_finding f[128];
    int n;
} pending;

static int collect(void *ctx, const mtd_finding *f)
{
    pending *p = ctx;
    if (p->n < 128)
        p->f[p->n++] = *f;
    return 0;
}

static void remember_version(out_ctx *o, const mtd_appinfo *a, const char *path)
{
    if (!a->m.package || a->sig.nsigners == 0 || a->m.version_code < 0)
        return;
    json_t *list = json_object_get(o->versions, a->m.package);
    if (!list)
        json_object_set_new(o->versions, a->m.package, list = json_array());
    json_t *signers = json_array();
    for (int i = 0; i < a->sig.nsigners; i++)
        json_array_append_new(signers, json_string(a->sig.signer_sha256[i]));
    json_array_append_new(list, json_pack("{s:I,s:o,s:s}", "version", (json_int_t)a->m.version_code,
                                          "signers", signers, "path", path));
}

typedef struct {
    mtd_scanner *sc;
    out_ctx *o;
    const char *const *trusted;
    const char *root;      /* for --android-root: the snapshot */
    unsigned apks, records, entries, skipped, timed_out;
    uint64_t bytes;
    int64_t inflate_ns, yara_ns;
    int failed;
    char first_error[600];
} run_ctx;

static void scan_one(run_ctx *r, const char *path, const json_t *record)
{
    pending p = {.n = 0};
    mtd_appinfo a;
    mtd_scan_stats st;
    char why[600];
    mtd_heur_app h = {.trusted = r->trusted};
    int scanned = 1, rc;
    if (record)
        rc = mtd_scan_inventory_app(r->sc, r->root, record, &h, &a, &scanned, &st, collect, &p, why, sizeof why);
    else
        rc = mtd_scan_apk(r->sc, path, &h, &a, &st, collect, &p, why, sizeof why);
    if (rc) {
        if (!r->failed++)
            snprintf(r->first_error, sizeof r->first_error, "%s", why);
        return;
    }
    char shown[4200];
    snprintf(shown, sizeof shown, "%s%s", record && scanned ? r->root : "", path);
    for (int i = 0; i < p.n; i++)
        print_finding(r->o, shown, a.m.package, &p.f[i]);
    if (scanned)
        remember_version(r->o, &a, shown);
    r->apks += scanned;
    r->records += !scanned;
    r->entries += st.entries;
    r->skipped += st.skipped;
    r->timed_out += st.timed_out;
    r->bytes += st.bytes;
    r->inflate_ns += st.inflate_ns;
    r->yara_ns += st.yara_ns;
    mtd_appinfo_free(&a);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every *.apk under dir (regular files, no symlinks followed), sorted. */
static void walk(run_ctx *r, const char *dir, int depth)
{
    DIR *d = depth < 16 ? opendir(dir) : NULL;
    if (!d)
        return;
    char **names = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
            continue;
        if (n == cap) {
            char **p = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof *p);
            if (!p)
                break;
            names = p;
        }
        if ((names[n] = malloc(strlen(dir) + strlen(e->d_name) + 2)) != NULL)
            sprintf(names[n++], "%s/%s", dir, e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        size_t l = strlen(names[i]);
        if (lstat(names[i], &st) == 0 && S_ISDIR(st.st_mode))
            walk(r, names[i], depth + 1);
        else if (S_ISREG(st.st_mode) && l > 4 && !strcasecmp(names[i] + l - 4, ".apk"))
            scan_one(r, names[i], NULL);
        free(names[i]);
    }
    free(names);
}

static int android_root(run_ctx *r, const char *root, const mtd_ioc *ioc)
{
    mtd_snapshot snap;
    char why[600];
    if (mtd_snapshot_open(root, &snap, why, sizeof why) != 0)
        return mtd_agent_fail("%s", why);
    json_t *apps = mtd_snapshot_apps(&snap), *app;
    size_t i;
    r->root = root;
    json_array_foreach(apps, i, app) {
        const char *apk = json_string_value(json_object_get(app, "apk_path"));
        scan_one(r, apk ? apk : "", app);
    }
    json_decref(apps);
    mtd_snapshot_close(&snap);
    r->root = NULL;
    /* file path indicators: files the device should not have */
    finding_ctx x = {.o = r->o, .path = root};
    mtd_scan_file_paths(ioc, root, on_path, &x);
    return 0;
}

static int by_version(const void *a, const void *b)
{
    json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "version"));
    json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "version"));
    return (x > y) - (x < y);
}

/* heur.signer_change between the versions of one package that this scan saw. */
static void signer_changes(out_ctx *o)
{
    const char *pkg;
    json_t *list;
    json_object_foreach(o->versions, pkg, list) {
        size_t n = json_array_size(list);
        if (n < 2 || n > 4096)
            continue;
        json_t **v = malloc(n * sizeof *v);
        if (!v)
            continue;
        for (size_t i = 0; i < n; i++)
            v[i] = json_array_get(list, i);
        qsort(v, n, sizeof *v, by_version);
        for (size_t i = 1; i < n; i++) {
            const char *now[MTD_APKSIGN_MAX_SIGNERS + 1] = {0}, *before[MTD_APKSIGN_MAX_SIGNERS + 1] = {0};
            for (size_t k = 0; k < MTD_APKSIGN_MAX_SIGNERS; k++) {
                now[k] = json_string_value(json_array_get(json_object_get(v[i], "signers"), k));
                before[k] = json_string_value(json_array_get(json_object_get(v[i - 1], "signers"), k));
            }
            finding_ctx x = {.o = o, .path = json_string_value(json_object_get(v[i], "path")), .package = pkg};
            mtd_scan_signer_change(now, before, json_integer_value(json_object_get(v[i - 1], "version")),
                                   json_string_value(json_object_get(v[i - 1], "path")), on_finding, &x);
        }
        free(v);
    }
}

/* The files of one option, and the enrolled device's feed of that kind when it has
 * one (feed: NULL or a path). */
static int files_of(const mtd_args *a, const char *opt, const char *feed, const char **out)
{
    int n = mtd_args_all(a, opt, out, MTD_ARGS_MAX - 1);
    if (feed && access(feed, F_OK) == 0)
        out[n++] = feed;
    return n;
}

/* With --state: what the enrolled device's own scans use. */
typedef struct {
    mtd_state st;
    int on;
    char ioc_feed[1200], yara_feed[1200];
    char stores[MTD_POLICY_LIST_BYTES];
    const char *trusted[MTD_APPSCAN_MAX_STORES + 1];
} device_ctx;

static int load_device(const mtd_args *a, device_ctx *d)
{
    d->on = mtd_args_get(a, "--state") != NULL;
    if (!d->on)
        return 0;
    if (mtd_agent_state(a, &d->st))
        return 1;
    snprintf(d->ioc_feed, sizeof d->ioc_feed, "%s/feeds/indicators", d->st.dir);
    snprintf(d->yara_feed, sizeof d->yara_feed, "%s/feeds/yara", d->st.dir);
    mtd_appscan_trusted(&d->st.policy, d->stores, d->trusted);
    if (!a->npos && !mtd_args_get(a, "--android-root") && !d->st.android_root[0])
        return mtd_agent_fail("this device was enrolled without --android-root: scan needs PATH...");
    return 0;
}

static int load_indicators(const mtd_args *a, const char *feed, mtd_ioc **ioc, int stats)
{
    const char *files[MTD_ARGS_MAX];
    int n = files_of(a, "--indicators", feed, files);
    *ioc = NULL;
    if (!n)
        return 0;
    *ioc = mtd_ioc_new();
    for (int i = 0; *ioc && i < n; i++) {
        mtd_ioc_stats st;
        char why[600];
        if (mtd_ioc_load_file(*ioc, files[i], &st, why, sizeof why) != 0) {
            mtd_ioc_free(*ioc);
            *ioc = NULL;
            return mtd_agent_fail("%s", why);
        }
        if (stats)
            fprintf(stderr, "indicators: %s: %zu indicators: %zu SHA-256, %zu certificate, %zu package, "
                    "%zu file path; %zu revoked, expired or benign; %zu not for apps%s%s%s\n", files[i],
                    st.indicators, st.digests, st.certs, st.packages, st.paths, st.skipped, st.other,
                    st.other_detail[0] ? " (" : "", st.other_detail, st.other_detail[0] ? ")" : "");
    }
    return *ioc ? 0 : mtd_agent_fail("out of memory");
}

int mtd_cmd_scan(int argc, char **argv)
{
    static const mtd_optspec specs[] = {{"--indicators", MTD_ARG_ONE}, {"--rules", MTD_ARG_ONE},
                                        {"--android-root", MTD_ARG_ONE}, {"--trusted-store", MTD_ARG_ONE},
                                        {"--timeout", MTD_ARG_ONE}, {"--no-heuristics", MTD_ARG_FLAG},
                                        {"--stats", MTD_ARG_FLAG}, {"--json", MTD_ARG_FLAG},
                                        {"--state", MTD_ARG_ONE}, {NULL, 0}};
    mtd_args a;
    if (mtd_agent_args(argc, argv, specs, &a))
        return 1;
    static device_ctx dev; /* static: a state holds the policy's lists */
    if (load_device(&a, &dev))
        return 1;
    const char *root = mtd_args_get(&a, "--android-root");
    if (!root && !a.npos && dev.on)
        root = dev.st.android_root;
    if (!a.npos && !root)
        return mtd_agent_fail("scan needs PATH... (an APK or a directory), --android-root DIR or --state DIR");
    int stats = mtd_args_has(&a, "--stats"), timeout = 10;
    if (mtd_args_get(&a, "--timeout")) {
        char *end;
        long t = strtol(mtd_args_get(&a, "--timeout"), &end, 10);
        if (*end || t < 1 || t > 3600)
            return mtd_agent_fail("--timeout must be whole seconds from 1 to 3600");
        timeout = (int)t;
    }
    mtd_ioc *ioc;
    if (load_indicators(&a, dev.on ? dev.ioc_feed : NULL, &ioc, stats))
        return 1;
    const char *rules[MTD_ARGS_MAX];
    int nrules = files_of(&a, "--rules", dev.on ? dev.yara_feed : NULL, rules);
    mtd_yara *yara = NULL;
    char why[600];
    if (nrules && mtd_yara_compile(rules, (size_t)nrules, &yara, why, sizeof why) != 0) {
        mtd_ioc_free(ioc);
        return mtd_agent_fail("%s", why);
    }
    if (stats && yara)
        fprintf(stderr, "rules: %zu rules from %d files\n", mtd_yara_rules(yara), nrules);
    const char *trusted[MTD_ARGS_MAX + 1] = {0};
    int ntrusted = mtd_args_all(&a, "--trusted-store", trusted, MTD_ARGS_MAX);
    mtd_scan_cfg cfg = {.ioc = ioc, .yara = yara, .heuristics = !mtd_args_has(&a, "--no-heuristics"),
                        .timeout_s = timeout};
    out_ctx o = {.json = mtd_args_has(&a, "--json"), .versions = json_object()};
    run_ctx r = {.o = &o, .trusted = ntrusted ? trusted : dev.on ? dev.trusted : NULL};
    int rc = mtd_scanner_new(&cfg, &r.sc) ? mtd_agent_fail("out of memory") : 0;
    int64_t t0 = mtd_monotonic_ns();
    if (rc == 0 && root)
        rc = android_root(&r, root, ioc);
    for (int i = 0; rc == 0 && i < a.npos; i++) {
        struct stat st;
        if (stat(a.pos[i], &st) == 0 && S_ISDIR(st.st_mode))
            walk(&r, a.pos[i], 0);
        else
            scan_one(&r, a.pos[i], NULL);
    }
    if (rc == 0 && cfg.heuristics)
        signer_changes(&o);
    fflush(stdout);
    if (rc == 0 && stats)
        fprintf(stderr, "scanned %u APKs and %u records without an APK in %.1f ms (%.1f ms inflating, "
                "%.1f ms in libyara): %u entries, %llu bytes inflated, %u entries over a limit or "
                "unreadable, %u APKs out of time; %zu findings\n",
                r.apks, r.records, (double)(mtd_monotonic_ns() - t0) / 1e6, r.inflate_ns / 1e6,
                r.yara_ns / 1e6, r.entries, (unsigned long long)r.bytes, r.skipped, r.timed_out,
                o.findings);
    mtd_scanner_free(r.sc);
    mtd_yara_free(yara);
    mtd_ioc_free(ioc);
    json_decref(o.versions);
    if (rc)
        return rc;
    if (dev.on) /* the user asked this device for a scan */
        mtd_actions_record(dev.st.dir, MTD_ACTION_SCAN_REQUESTED);
    if (r.failed == 1)
        return mtd_agent_fail("%s", r.first_error);
    if (r.failed)
        return mtd_agent_fail("%d APKs could not be read; the first: %s", r.failed, r.first_error);
    return 0;
}

int mtd_agent_appscan_round(const mtd_state *st, const mtd_args *a, const json_t *apps,
                            mtd_emit_fn emit, void *ctx, mtd_appscan **scan)
{
    long long every;
    char why[300];
    /* whole-inventory scans: daily unless --scan-interval says otherwise (new and
     * updated apps are scanned in the round that sees them either way); run checked
     * the value before its first round */
    if (mtd_args_int(a, "--scan-interval", 60, 30 * 86400, 86400, &every, why, sizeof why) != 0)
        every = 86400;
    mtd_appscan_cfg c = {.state_dir = st->dir, .android_root = st->android_root, .key = &st->key,
                         .policy = &st->policy, .full_interval_s = every};
    return mtd_appscan_round(&c, apps, emit, ctx, scan);
}
