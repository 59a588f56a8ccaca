/* mtd_posture_osv: installed app versions against vulnerability records in the OSV
 * format (https://ossf.github.io/osv-schema/), from --vulns files and the tenant's own
 * records the collector distributes (feed "vulns").
 *
 * A record applies to an installed app when one of its `affected` entries names the
 * app's package in the device's ecosystem ("Android" for Android packages; "iOS" for
 * bundle IDs, which OSV has no ecosystem for, so tenants' own records use that name)
 * and the app's version is in one of its `ranges` or listed in its `versions`. SEMVER
 * ranges compare the app's version name by SemVer precedence. ECOSYSTEM ranges
 * compare the version code when every bound of the range is an integer (Android's own
 * order of versions) and the version name otherwise; GIT ranges name commits, which an
 * installed app does not carry, so they match nothing. Events are evaluated as the OSV
 * schema says: sorted by version, `introduced` turns the range on, `fixed` and (past
 * it) `last_affected` turn it off, `limit` bounds it. The severity is the record's own
 * word (ecosystem_specific or database_specific severity), else the CVSS v3 base
 * score of its vector, else "medium" with the evidence saying none was given. */
#include "posture/mtd_posture_int.h"
#include "common/mtd_err.h"
#include "common/mtd_file.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_RECORDS 200000

struct mtd_posture_vulns {
    json_t *records; /* array of validated OSV records */
};

static const mtd_posture_check checks[] = {
    {"app.vulnerable", "app", "medium", "Vulnerable app version",
     "package names and versions of the installed apps, against the vulnerability records "
     "the organization distributes (OSV format)",
     "An installed app's version is listed in a published vulnerability advisory as affected. "
     "Until the app is updated past the fixed version (or removed), the flaw the advisory "
     "describes can be used against the app and the data it holds. The finding names the "
     "advisory, so it names the app too, whatever the report_app_details policy says."},
};

mtd_posture_vulns *mtd_posture_vulns_new(void)
{
    mtd_posture_vulns *v = calloc(1, sizeof *v);
    if (v && !(v->records = json_array())) {
        free(v);
        v = NULL;
    }
    return v;
}

void mtd_posture_vulns_free(mtd_posture_vulns *v)
{
    if (!v)
        return;
    json_decref(v->records);
    free(v);
}

size_t mtd_posture_vulns_count(const mtd_posture_vulns *v) { return v ? json_array_size(v->records) : 0; }

/* ---- validation ---- */

static int bad(char *why, size_t wl, const char *id, const char *what)
{
    snprintf(why, wl, "OSV record %.100s: %s", id, what);
    return MTD_EINVAL;
}

static int opt_type(json_t *o, const char *key, json_type t)
{
    json_t *v = json_object_get(o, key);
    return !v || json_typeof(v) == t;
}

static int strings(json_t *a)
{
    size_t i;
    json_t *e;
    if (!json_is_array(a))
        return 0;
    json_array_foreach(a, i, e)
        if (!json_is_string(e))
            return 0;
    return 1;
}

/* events: objects with exactly one of introduced, fixed, last_affected, limit. */
static int check_range(json_t *r, const char *id, char *why, size_t wl)
{
    const char *type = json_string_value(json_object_get(r, "type"));
    json_t *ev = json_object_get(r, "events");
    if (!json_is_object(r) || !type)
        return bad(why, wl, id, "a range without a \"type\"");
    if (strcmp(type, "SEMVER") && strcmp(type, "ECOSYSTEM") && strcmp(type, "GIT"))
        return bad(why, wl, id, "a range \"type\" other than SEMVER, ECOSYSTEM or GIT");
    if (!json_is_array(ev) || !json_array_size(ev))
        return bad(why, wl, id, "a range without \"events\"");
    size_t i;
    json_t *e;
    json_array_foreach(ev, i, e) {
        if (!json_is_object(e) || json_object_size(e) != 1)
            return bad(why, wl, id, "an event that is not one of introduced, fixed, last_affected, limit");
        const char *k = json_object_iter_key(json_object_iter(e));
        if ((strcmp(k, "introduced") && strcmp(k, "fixed") && strcmp(k, "last_affected") && strcmp(k, "limit")) ||
            !json_is_string(json_object_get(e, k)))
            return bad(why, wl, id, "an event that is not one of introduced, fixed, last_affected, limit");
    }
    return 0;
}

static int check_affected(json_t *a, const char *id, char *why, size_t wl)
{
    json_t *pkg = json_object_get(a, "package"), *ranges = json_object_get(a, "ranges");
    if (!json_is_object(a))
        return bad(why, wl, id, "\"affected\" holds something other than objects");
    if (pkg && (!json_is_object(pkg) || !opt_type(pkg, "ecosystem", JSON_STRING) || !opt_type(pkg, "name", JSON_STRING)))
        return bad(why, wl, id, "\"package\" must hold ecosystem and name strings");
    if (json_object_get(a, "versions") && !strings(json_object_get(a, "versions")))
        return bad(why, wl, id, "\"versions\" must be an array of strings");
    if (ranges && !json_is_array(ranges))
        return bad(why, wl, id, "\"ranges\" must be an array");
    size_t i;
    json_t *r;
    json_array_foreach(ranges, i, r) {
        int e = check_range(r, id, why, wl);
        if (e)
            return e;
    }
    return 0;
}

static int check_record(json_t *rec, char *why, size_t wl)
{
    const char *id = json_string_value(json_object_get(rec, "id"));
    if (!json_is_object(rec))
        return bad(why, wl, "?", "not a JSON object");
    if (!id || !*id || strlen(id) > 128)
        return bad(why, wl, "?", "no \"id\" string (up to 128 characters)");
    if (!opt_type(rec, "affected", JSON_ARRAY) || !opt_type(rec, "severity", JSON_ARRAY) ||
        !opt_type(rec, "summary", JSON_STRING) || !opt_type(rec, "database_specific", JSON_OBJECT) ||
        (json_object_get(rec, "aliases") && !strings(json_object_get(rec, "aliases"))))
        return bad(why, wl, id, "affected, severity, aliases must be arrays, summary a string, database_specific an object");
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(rec, "severity"), i, e)
        if (!json_is_object(e) || !json_is_string(json_object_get(e, "type")) || !json_is_string(json_object_get(e, "score")))
            return bad(why, wl, id, "a \"severity\" entry without type and score strings");
    json_array_foreach(json_object_get(rec, "affected"), i, e) {
        int r = check_affected(e, id, why, wl);
        if (r)
            return r;
    }
    return 0;
}

int mtd_posture_vulns_add(mtd_posture_vulns *v, const uint8_t *buf, size_t len, char *why, size_t wl)
{
    json_error_t err;
    json_t *doc = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &err), *list;
    if (!doc) {
        snprintf(why, wl, "not OSV JSON: line %d: %s", err.line, err.text);
        return MTD_EINVAL;
    }
    if (json_is_object(doc) && json_is_array(json_object_get(doc, "vulns")))
        list = json_incref(json_object_get(doc, "vulns"));
    else if (json_is_array(doc))
        list = json_incref(doc);
    else
        list = json_pack("[O]", doc);
    json_decref(doc);
    size_t i;
    json_t *rec;
    int r = list ? 0 : MTD_ENOMEM;
    if (r == 0 && json_array_size(v->records) + json_array_size(list) > MAX_RECORDS) {
        snprintf(why, wl, "more than %d OSV records", MAX_RECORDS);
        r = MTD_ETOOBIG;
    }
    json_array_foreach(list, i, rec)
        if (r == 0)
            r = check_record(rec, why, wl);
    if (r == 0)
        r = json_array_extend(v->records, list) == 0 ? 0 : MTD_ENOMEM;
    json_decref(list);
    return r;
}

int mtd_posture_vulns_load(mtd_posture_vulns *v, const char *path, char *why, size_t wl)
{
    uint8_t *d;
    size_t n;
    int r = mtd_file_read(path, 256u << 20, &d, &n);
    if (r) {
        snprintf(why, wl, "%s: %s", path, mtd_strerror(r));
        return r;
    }
    char inner[300];
    r = mtd_posture_vulns_add(v, d, n, inner, sizeof inner);
    free(d);
    if (r)
        snprintf(why, wl, "%s: %s", path, inner);
    return r;
}

/* ---- matching ---- */

typedef struct {
    const char *name;    /* version name, NULL unknown */
    long long code;      /* version code, -1 unknown */
    char code_s[24];
} app_version;

typedef struct {
    int semver, by_code; /* how this range's versions compare */
} order;

static int is_int(const char *s)
{
    if (!*s || strlen(s) > 18)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

/* v against bound b in the range's order: <0, 0, >0; 2 when they cannot be compared. */
static int cmp(const order *o, const app_version *v, const char *b)
{
    if (o->by_code) {
        long long bc = atoll(b);
        return v->code < bc ? -1 : v->code > bc;
    }
    if (!strcmp(b, "0"))
        return 1; /* introduced "0": every version is at or past it */
    if (!o->semver)
        return mtd_posture_version_cmp(v->name, b);
    int c;
    return mtd_posture_semver_cmp(v->name, b, &c) == 0 ? c : 2;
}

typedef struct {
    const char *kind, *ver;
} event;

static int event_cmp(const void *x, const void *y, void *ctx)
{
    const event *a = x, *b = y;
    const order *o = ctx;
    if (!strcmp(a->ver, "0") || !strcmp(b->ver, "0"))
        return strcmp(a->ver, "0") ? 1 : strcmp(b->ver, "0") ? -1 : 0;
    if (o->by_code) {
        long long p = atoll(a->ver), q = atoll(b->ver);
        return p < q ? -1 : p > q;
    }
    int c = 0;
    if (o->semver)
        mtd_posture_semver_cmp(a->ver, b->ver, &c);
    else
        c = mtd_posture_version_cmp(a->ver, b->ver);
    return c;
}

/* Whether v is in the range; the events are written to desc for the evidence. */
static int in_range(json_t *range, const app_version *v, char *desc, size_t dl)
{
    const char *type = json_string_value(json_object_get(range, "type"));
    json_t *evs = json_object_get(range, "events");
    order o = {.semver = !strcmp(type, "SEMVER")};
    if (!strcmp(type, "GIT"))
        return 0;
    size_t n = json_array_size(evs), i;
    event *e = calloc(n ? n : 1, sizeof *e);
    if (!e)
        return 0;
    int ints = 1, ok = 1;
    json_t *x;
    json_array_foreach(evs, i, x) {
        e[i].kind = json_object_iter_key(json_object_iter(x));
        e[i].ver = json_string_value(json_object_get(x, e[i].kind));
        ints &= is_int(e[i].ver);
        int dummy;
        if (o.semver && strcmp(e[i].ver, "0") && mtd_posture_semver_cmp(e[i].ver, e[i].ver, &dummy) != 0)
            ok = 0; /* a bound that is not SemVer orders nothing */
    }
    o.by_code = !o.semver && ints && v->code >= 0;
    if (!o.by_code && (!v->name || (o.semver && cmp(&o, v, "0.0.0") == 2)))
        ok = 0;
    int affected = 0;
    if (ok) {
        qsort_r(e, n, sizeof *e, event_cmp, &o);
        for (i = 0; i < n; i++) {
            int c = cmp(&o, v, e[i].ver);
            if (!strcmp(e[i].kind, "introduced") && c >= 0)
                affected = 1;
            else if (!strcmp(e[i].kind, "fixed") && c >= 0)
                affected = 0;
            else if (!strcmp(e[i].kind, "last_affected") && c > 0)
                affected = 0;
        }
        for (i = 0; i < n; i++)
            if (!strcmp(e[i].kind, "limit") && cmp(&o, v, e[i].ver) >= 0)
                affected = 0;
    }
    desc[0] = 0;
    json_array_foreach(evs, i, x) {
        char item[300];
        const char *k = json_object_iter_key(json_object_iter(x));
        snprintf(item, sizeof item, "%s %.200s", k, json_string_value(json_object_get(x, k)));
        mtd_posture_list_add(desc, dl, item);
    }
    free(e);
    return affected;
}

static const char *severity_word(const char *s)
{
    if (!s)
        return NULL;
    if (!strcasecmp(s, "critical"))
        return "critical";
    if (!strcasecmp(s, "high"))
        return "high";
    if (!strcasecmp(s, "moderate") || !strcasecmp(s, "medium"))
        return "medium";
    if (!strcasecmp(s, "low"))
        return "low";
    return NULL;
}

/* The record's severity and where it came from, for the evidence. */
static void severity(json_t *rec, json_t *aff, char *sev, size_t sl, char *src, size_t srcl)
{
    const char *w = json_string_value(json_object_get(json_object_get(aff, "ecosystem_specific"), "severity"));
    const char *from = "ecosystem_specific";
    if (!severity_word(w)) {
        w = json_string_value(json_object_get(json_object_get(rec, "database_specific"), "severity"));
        from = "database_specific";
    }
    if (severity_word(w)) {
        snprintf(sev, sl, "%s", severity_word(w));
        snprintf(src, srcl, "severity %s (%s)", w, from);
        return;
    }
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(rec, "severity"), i, s) {
        const char *vec = json_string_value(json_object_get(s, "score"));
        double score = mtd_posture_cvss3_score(vec);
        if (score < 0)
            continue;
        snprintf(sev, sl, "%s", score >= 9 ? "critical" : score >= 7 ? "high" : score >= 4 ? "medium"
                                : score > 0 ? "low" : "info");
        snprintf(src, srcl, "CVSS %.1f (%.150s)", score, vec);
        return;
    }
    snprintf(sev, sl, "medium");
    snprintf(src, srcl, "the record gives no severity this agent can score; medium assumed");
}

static int version_listed(json_t *aff, const app_version *v)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(aff, "versions"), i, s) {
        const char *x = json_string_value(s);
        if ((v->name && !strcmp(x, v->name)) || (v->code >= 0 && !strcmp(x, v->code_s)))
            return 1;
    }
    return 0;
}

static int report(json_t *rec, json_t *aff, const char *pkg, const app_version *v, const char *why_in,
                  mtd_posture_findings *out)
{
    const char *id = json_string_value(json_object_get(rec, "id"));
    const char *alias = json_string_value(json_array_get(json_object_get(rec, "aliases"), 0));
    const char *summary = json_string_value(json_object_get(rec, "summary"));
    char subject[400], sev[16], src[300], ver[300];
    snprintf(subject, sizeof subject, "%s\n%s", id, pkg);
    severity(rec, aff, sev, sizeof sev, src, sizeof src);
    snprintf(ver, sizeof ver, "%.120s%s%s", v->name ? v->name : "", v->code >= 0 ? " code " : "",
             v->code >= 0 ? v->code_s : "");
    mtd_posture_finding *f = mtd_posture_add(out, &checks[0], subject, pkg, "%s: version %s %s; %s%s%.200s",
                                             id, ver, why_in, src, summary ? "; " : "", summary ? summary : "");
    if (!f)
        return MTD_ENOMEM;
    snprintf(f->threat_name, sizeof f->threat_name, "Vulnerable app: %s%s%.60s%s", id, alias ? " (" : "",
             alias ? alias : "", alias ? ")" : "");
    snprintf(f->severity, sizeof f->severity, "%s", sev);
    return 0;
}

/* Every record's verdict on one installed app. */
static int match_app(const mtd_posture_vulns *vl, const char *eco, const char *pkg, const app_version *v,
                     mtd_posture_findings *out)
{
    size_t i, j, k;
    json_t *rec, *aff, *range;
    json_array_foreach(vl->records, i, rec) {
        json_array_foreach(json_object_get(rec, "affected"), j, aff) {
            json_t *p = json_object_get(aff, "package");
            const char *e = json_string_value(json_object_get(p, "ecosystem")),
                       *n = json_string_value(json_object_get(p, "name"));
            if (!e || !n || strcmp(e, eco) || strcmp(n, pkg))
                continue;
            char desc[700] = "", why_in[800] = "";
            if (version_listed(aff, v))
                snprintf(why_in, sizeof why_in, "is listed as affected");
            json_array_foreach(json_object_get(aff, "ranges"), k, range)
                if (!why_in[0] && in_range(range, v, desc, sizeof desc))
                    snprintf(why_in, sizeof why_in, "is in the %s range %s",
                             json_string_value(json_object_get(range, "type")), desc);
            if (why_in[0]) {
                int r = report(rec, aff, pkg, v, why_in, out);
                if (r)
                    return r;
                break; /* one finding per record and app */
            }
        }
    }
    return 0;
}

static int run(const mtd_posture_input *in, mtd_posture_findings *out, char *why, size_t wl)
{
    (void)why;
    (void)wl;
    if (!in->vulns || !in->apps || !mtd_posture_vulns_count(in->vulns))
        return 0;
    const char *eco = in->android ? "Android" : "iOS";
    size_t i;
    json_t *a;
    json_array_foreach((json_t *)in->apps, i, a) {
        const char *pkg = json_string_value(json_object_get(a, "package"));
        json_t *code = json_object_get(a, "version_code");
        app_version v = {.name = json_string_value(json_object_get(a, "version_name")),
                         .code = json_is_integer(code) ? (long long)json_integer_value(code) : -1};
        snprintf(v.code_s, sizeof v.code_s, "%lld", v.code);
        if (!pkg)
            continue;
        int r = match_app(in->vulns, eco, pkg, &v, out);
        if (r)
            return r;
    }
    return 0;
}

const mtd_posture_family mtd_posture_osv_family = {checks, sizeof checks / sizeof checks[0], run};
