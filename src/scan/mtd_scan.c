/* mtd_scan: one APK through indicators, YARA and heuristics (see mtd_scan.h). */
#include "scan/mtd_scan.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_HITS 64 /* distinct entry findings kept per APK; more are counted in the last */

struct mtd_scanner {
    mtd_scan_cfg cfg;
    mtd_yara_scanner *ys;
};

int mtd_scanner_new(const mtd_scan_cfg *cfg, mtd_scanner **out)
{
    mtd_scanner *s = calloc(1, sizeof *s);
    if (!s)
        return MTD_ENOMEM;
    s->cfg = *cfg;
    if (!s->cfg.timeout_s)
        s->cfg.timeout_s = 10;
    if (!s->cfg.max_entry)
        s->cfg.max_entry = 32u << 20;
    if (!s->cfg.max_total)
        s->cfg.max_total = 256u << 20;
    int r = cfg->yara ? mtd_yara_scanner_new(cfg->yara, &s->ys) : 0;
    if (r) {
        free(s);
        return r;
    }
    *out = s;
    return 0;
}

void mtd_scanner_free(mtd_scanner *s)
{
    if (!s)
        return;
    mtd_yara_scanner_free(s->ys);
    free(s);
}

int mtd_scan_entry_wanted(const char *name, size_t n)
{
    return (n > 4 && !memcmp(name + n - 4, ".dex", 4)) || (n > 4 && !memcmp(name, "lib/", 4)) ||
           (n > 7 && !memcmp(name, "assets/", 7));
}

/* A finding about entries, kept until every entry was seen, then reported once with
 * the first entry it was found in and how many more. */
typedef struct {
    char rule[160];
    const char *threat_name, *category, *severity;
    char origin[200]; /* the indicator's, for ioc.entry_sha256 */
    char first[128];
    unsigned count;
} hit;

typedef struct {
    mtd_scanner *s;
    const mtd_appinfo *a;
    mtd_scan_fn fn;
    void *ctx;
    int r;
    const char *entry;
    hit hits[MAX_HITS];
    int nhits;
} scan_ctx;

static int emit(scan_ctx *x, const char *rule, const char *name, const char *cat, const char *sev,
                const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int emit(scan_ctx *x, const char *rule, const char *name, const char *cat, const char *sev,
                const char *fmt, ...)
{
    if (x->r)
        return x->r;
    mtd_finding f = {.rule = rule, .threat_name = name, .category = cat, .severity = sev};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f.evidence, sizeof f.evidence, fmt, ap);
    va_end(ap);
    return x->r = x->fn(x->ctx, &f);
}

static void add_hit(scan_ctx *x, const char *rule, const char *name, const char *cat, const char *sev,
                    const char *origin)
{
    for (int i = 0; i < x->nhits; i++)
        if (!strcmp(x->hits[i].rule, rule) && !strcmp(x->hits[i].threat_name, name)) {
            x->hits[i].count++;
            return;
        }
    hit *h = &x->hits[x->nhits < MAX_HITS ? x->nhits++ : MAX_HITS - 1];
    snprintf(h->rule, sizeof h->rule, "%s", rule);
    h->threat_name = name, h->category = cat, h->severity = sev;
    snprintf(h->origin, sizeof h->origin, "%s", origin ? origin : "");
    snprintf(h->first, sizeof h->first, "%s", x->entry);
    h->count = 1;
}

static int on_yara(void *ctx, const mtd_yara_hit *y)
{
    scan_ctx *x = ctx;
    char rule[160];
    snprintf(rule, sizeof rule, "yara.%s.%s", y->ns, y->rule);
    add_hit(x, rule, y->threat_name, y->category, y->severity, NULL);
    return 0;
}

static void report_hits(scan_ctx *x)
{
    for (int i = 0; i < x->nhits; i++) {
        const hit *h = &x->hits[i];
        char more[48] = "";
        if (h->count > 1)
            snprintf(more, sizeof more, " and %u more", h->count - 1);
        if (!strncmp(h->rule, "yara.", 5))
            emit(x, h->rule, h->threat_name, h->category, h->severity, "YARA rule %s matched entry %s%s",
                 h->rule + 5, h->first, more);
        else
            emit(x, h->rule, h->threat_name, h->category, h->severity,
                 "the SHA-256 of entry %s%s is an indicator (%s)", h->first, more, h->origin);
    }
}

/* The APK, its signers and its package against the indicators. */
static void whole_app(scan_ctx *x)
{
    const mtd_ioc *ioc = x->s->cfg.ioc;
    const mtd_appinfo *a = x->a;
    mtd_ioc_match m;
    char o[200];
    uint8_t d[32];
    if (mtd_ioc_hex32(a->sha256, 64, 0, d) == 0 && mtd_ioc_find_digest(ioc, d, MTD_IOC_FILE, &m)) {
        mtd_ioc_origin(&m, o, sizeof o);
        emit(x, "ioc.apk_sha256", m.ref->threat_name, m.ref->category, m.ref->severity,
             "the APK's SHA-256 is an indicator (%s)", o);
    }
    for (int i = 0; i < a->sig.nsigners; i++)
        if (mtd_ioc_hex32(a->sig.signer_sha256[i], 64, 0, d) == 0 && mtd_ioc_find_digest(ioc, d, MTD_IOC_CERT, &m)) {
            mtd_ioc_origin(&m, o, sizeof o);
            emit(x, "ioc.signer", m.ref->threat_name, m.ref->category, m.ref->severity,
                 "signer certificate SHA-256 %s is an indicator (%s)", a->sig.signer_sha256[i], o);
            break;
        }
    if (mtd_ioc_find_package(ioc, a->m.package, a->m.version_code, &m)) {
        mtd_ioc_origin(&m, o, sizeof o);
        emit(x, "ioc.package", m.ref->threat_name, m.ref->category, m.ref->severity,
             "the package name at version %lld is an indicator (%s)", (long long)a->m.version_code, o);
    }
}

/* One entry's bytes: its digest, then the rules, within the time left. */
static void entry(scan_ctx *x, const uint8_t *d, size_t n, int64_t deadline, mtd_scan_stats *st)
{
    const mtd_ioc *ioc = x->s->cfg.ioc;
    mtd_ioc_match m;
    if (ioc && mtd_ioc_digests(ioc)) {
        uint8_t h[32];
        char o[200];
        mtd_sha256(d, n, h);
        if (mtd_ioc_find_digest(ioc, h, MTD_IOC_FILE, &m)) {
            mtd_ioc_origin(&m, o, sizeof o);
            add_hit(x, "ioc.entry_sha256", m.ref->threat_name, m.ref->category, m.ref->severity, o);
        }
    }
    if (!x->s->ys || st->timed_out)
        return;
    int64_t t0 = mtd_monotonic_ns(), left = deadline - t0;
    int r = left > 0 ? mtd_yara_scan(x->s->ys, d, n, x->entry, x->a->m.package,
                                     (int)((left + 999999999) / 1000000000), on_yara, x)
                     : MTD_EBUSY;
    st->yara_ns += mtd_monotonic_ns() - t0;
    if (r == MTD_EBUSY)
        st->timed_out = 1;
    else if (r)
        st->skipped++;
}

static void entries(scan_ctx *x, const uint8_t *buf, size_t len, mtd_scan_stats *st)
{
    mtd_apkzip z;
    char why[256];
    if (mtd_apkzip_open(&z, buf, len, why, sizeof why) != 0)
        return; /* mtd_appinfo_parse read it a moment ago */
    int64_t deadline = mtd_monotonic_ns() + (int64_t)x->s->cfg.timeout_s * 1000000000;
    for (size_t i = 0; i < z.n && x->r == 0 && !st->timed_out; i++) {
        const mtd_apkzip_entry *e = &z.e[i];
        if (!mtd_scan_entry_wanted(e->name, e->name_len))
            continue;
        if (e->usize > x->s->cfg.max_entry || st->bytes + e->usize > x->s->cfg.max_total) {
            st->skipped++;
            continue;
        }
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)e->name_len, e->name);
        x->entry = name;
        if (e->method == 0 && e->csize == e->usize) { /* stored: read in place */
            entry(x, buf + e->data_off, e->usize, deadline, st);
        } else {
            uint8_t *d;
            size_t n;
            int64_t t0 = mtd_monotonic_ns();
            int r = mtd_apkzip_extract(&z, e, &d, &n, why, sizeof why);
            st->inflate_ns += mtd_monotonic_ns() - t0;
            if (r != 0) {
                st->skipped++;
                continue;
            }
            entry(x, d, n, deadline, st);
            free(d);
        }
        st->entries++;
        st->bytes += e->usize;
    }
    mtd_apkzip_close(&z);
    report_hits(x);
}

static int on_heur(void *ctx, const mtd_heur_def *def, const char *specifics)
{
    scan_ctx *x = ctx;
    return emit(x, def->id, def->threat_name, def->category, def->severity, "The app %s (%s)",
                def->explanation, specifics);
}

int mtd_scan_apk(mtd_scanner *s, const char *path, const mtd_heur_app *app, mtd_appinfo *a,
                 mtd_scan_stats *st, mtd_scan_fn fn, void *ctx, char *why, size_t wl)
{
    memset(st, 0, sizeof *st);
    memset(a, 0, sizeof *a);
    const uint8_t *buf;
    size_t len;
    int r = mtd_appinfo_map(path, &buf, &len, why, wl);
    if (r)
        return r;
    char inner[300] = "";
    if ((r = mtd_appinfo_parse(buf, len, a, inner, sizeof inner)) != 0) {
        snprintf(why, wl, "%s: %s", path, inner);
        mtd_appinfo_unmap(buf, len);
        return r;
    }
    scan_ctx x = {.s = s, .a = a, .fn = fn, .ctx = ctx};
    if (s->cfg.ioc)
        whole_app(&x);
    if (x.r == 0 && ((s->cfg.ioc && mtd_ioc_digests(s->cfg.ioc)) || s->ys))
        entries(&x, buf, len, st);
    mtd_appinfo_unmap(buf, len);
    if (x.r == 0 && s->cfg.heuristics)
        mtd_heur_run(a, app, on_heur, &x);
    return x.r;
}

/* The app as its record says, for an APK that is not in the snapshot. */
static int from_record(const json_t *app, mtd_appinfo *a)
{
    memset(a, 0, sizeof *a);
    a->m.version_code = json_is_integer(json_object_get(app, "version_code"))
                            ? json_integer_value(json_object_get(app, "version_code")) : -1;
    a->m.min_sdk = a->m.target_sdk = a->m.app_category = -1;
    a->sig.verified = -1;
    const char *pkg = json_string_value(json_object_get(app, "package"));
    if (!pkg || !(a->m.package = strdup(pkg)))
        return MTD_EINVAL;
    json_t *perms = json_object_get(app, "permissions"), *v;
    size_t i;
    a->m.perms = calloc(json_array_size(perms) + 1, sizeof *a->m.perms);
    if (!a->m.perms)
        return MTD_ENOMEM;
    json_array_foreach(perms, i, v)
        if (json_string_value(v) && a->m.nperms < MTD_MANIFEST_MAX_PERMS &&
            (a->m.perms[a->m.nperms] = strdup(json_string_value(v))) != NULL)
            a->m.nperms++;
    return 0;
}

int mtd_scan_inventory_app(mtd_scanner *s, const char *root, const json_t *app, mtd_heur_app *h,
                           mtd_appinfo *a, int *scanned, mtd_scan_stats *st, mtd_scan_fn fn,
                           void *ctx, char *why, size_t wl)
{
    h->install_source = json_string_value(json_object_get(app, "install_source"));
    h->is_system = json_is_true(json_object_get(app, "is_system"));
    const char *apk = json_string_value(json_object_get(app, "apk_path"));
    char path[4096];
    snprintf(path, sizeof path, "%s%s", root ? root : "", apk ? apk : "");
    *scanned = 0;
    if (apk && access(path, R_OK) == 0) {
        *scanned = 1;
        return mtd_scan_apk(s, path, h, a, st, fn, ctx, why, wl);
    }
    memset(st, 0, sizeof *st);
    int r = from_record(app, a);
    if (r) {
        mtd_appinfo_free(a);
        snprintf(why, wl, "an inventory record without a package");
        return r;
    }
    scan_ctx x = {.s = s, .a = a, .fn = fn, .ctx = ctx};
    if (s->cfg.ioc)
        whole_app(&x);
    if (x.r == 0 && s->cfg.heuristics)
        mtd_heur_run(a, h, on_heur, &x);
    return x.r;
}

int mtd_scan_signer_change(const char *const *now, const char *const *before, int64_t prev_version,
                           const char *prev_where, mtd_scan_fn fn, void *ctx)
{
    scan_ctx x = {.fn = fn, .ctx = ctx};
    mtd_heur_signer_change(now, before, prev_version, prev_where, on_heur, &x);
    return x.r;
}

int mtd_scan_file_paths(const mtd_ioc *ioc, const char *root, mtd_scan_fn fn, void *ctx)
{
    mtd_ioc_match m;
    const char *p;
    for (size_t k = 0; ioc && (p = mtd_ioc_path(ioc, k, &m)) != NULL; k++) {
        char host[4200], o[200];
        struct stat st;
        snprintf(host, sizeof host, "%s%s", root, p);
        if (lstat(host, &st) != 0)
            continue;
        mtd_ioc_origin(&m, o, sizeof o);
        mtd_finding f = {.rule = "ioc.file_path", .threat_name = m.ref->threat_name,
                         .category = m.ref->category, .severity = m.ref->severity, .subject = p};
        snprintf(f.evidence, sizeof f.evidence, "the device has %s, an indicator (%s)", p, o);
        int r = fn(ctx, &f);
        if (r)
            return r;
    }
    return 0;
}
