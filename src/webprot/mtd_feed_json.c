/* mtd_feed_json: the JSON feed readers: STIX 2.1 bundles and PhishTank's JSON dump,
 * through jansson. */
#include "common/mtd_err.h"
#include "webprot/mtd_feed.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

void mtd_feed_skip(mtd_feed_stats *st, const char *t, size_t tlen)
{
    size_t i;
    for (i = 0; i < st->nskipped; i++)
        if (strlen(st->skipped[i].type) == tlen && !strncmp(st->skipped[i].type, t, tlen))
            break;
    if (i == st->nskipped) {
        if (st->nskipped == MTD_FEED_SKIP_TYPES)
            i = MTD_FEED_SKIP_TYPES - 1, tlen = 5, t = "other"; /* the last slot gathers the rest */
        else
            st->nskipped++;
        snprintf(st->skipped[i].type, sizeof st->skipped[i].type, "%.*s", (int)tlen, t);
    }
    st->skipped[i].count++;
}

static json_t *load(const uint8_t *buf, size_t len, char *why, size_t wl)
{
    json_error_t e;
    json_t *j = json_loadb((const char *)buf, len, 0, &e);
    if (!j)
        snprintf(why, wl, "not JSON: %s at line %d column %d", e.text, e.line, e.column);
    return j;
}

/* A category from STIX words (indicator_types, malware_types, labels). */
static const char *category_of(const json_t *obj, const char *cat)
{
    static const char *const keys[] = {"indicator_types", "malware_types", "labels"};
    static const struct { const char *word, *cat; } map[] = {
        {"phishing", "phishing"}, {"spyware", "spyware"}, {"adware", "adware"},
        {"exploit", "exploit"}, {"command-and-control", "command_and_control"},
        {"remote-access-trojan", "malware"}, {"ransomware", "malware"}};
    for (size_t k = 0; k < 3; k++) {
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(obj, keys[k]), i, v)
            for (size_t m = 0; m < sizeof map / sizeof map[0]; m++)
                if (json_is_string(v) && strstr(json_string_value(v), map[m].word))
                    return map[m].cat;
    }
    return cat;
}

/* What each indicator indicates: indicator id -> the target's name and category, from
 * the bundle's "indicates" relationships to named objects (malware, threat actors,
 * campaigns, intrusion sets, tools). */
static json_t *indicated(const json_t *objs)
{
    json_t *named = json_object(), *out = json_object();
    size_t i;
    json_t *o;
    json_array_foreach(objs, i, o) {
        const char *id = json_string_value(json_object_get(o, "id"));
        const char *name = json_string_value(json_object_get(o, "name"));
        const char *type = json_string_value(json_object_get(o, "type"));
        if (id && name && type && strcmp(type, "indicator") && strcmp(type, "relationship") &&
            strcmp(type, "report") && strcmp(type, "identity"))
            json_object_set_new(named, id, json_pack("{s:s,s:s}", "name", name, "category",
                                                     category_of(o, "malware")));
    }
    json_array_foreach(objs, i, o) {
        const char *rt = json_string_value(json_object_get(o, "relationship_type"));
        const char *src = json_string_value(json_object_get(o, "source_ref"));
        const char *dst = json_string_value(json_object_get(o, "target_ref"));
        json_t *t = dst ? json_object_get(named, dst) : NULL;
        if (rt && !strcmp(rt, "indicates") && src && t)
            json_object_set(out, src, t);
    }
    json_decref(named);
    return out;
}

static const char *const stix_types[] = {"domain-name", "url", "ipv4-addr", "ipv6-addr"};

/* Reads a pattern's comparisons "[type:value = 'X' OR ...]"; each web one goes to the
 * sink. Returns the number read, -1 for a pattern it cannot read, or a sink error in
 * *err; *other gets the first other object type met. */
static int pattern_values(const char *pat, const char *threat, const char *cat,
                          const mtd_feed_sink *sink, size_t line, int *type_idx,
                          const char **other, size_t *olen, int *err, const char **why)
{
    int n = 0;
    const char *p = pat, *quote;
    *type_idx = -1;
    while ((quote = strchr(p, '\'')) != NULL) {
        const char *close = strchr(quote + 1, '\'');
        while (close && close[-1] == '\\')
            close = strchr(close + 1, '\'');
        if (!close)
            return -1;
        /* the object path before " = ": "domain-name:value" */
        const char *e = quote, *s;
        while (e > p && (e[-1] == ' ' || e[-1] == '='))
            e--;
        for (s = e; s > pat && !strchr("[( ", s[-1]); s--)
            ;
        const char *colon = memchr(s, ':', (size_t)(e - s));
        p = close + 1;
        if (!colon || e == quote) { /* another operator (LIKE, MATCHES, IN) */
            *other = "unsupported-operator", *olen = 20;
            continue;
        }
        size_t tl = (size_t)(colon - s);
        int idx = -1;
        for (int k = 0; k < 4; k++)
            if (strlen(stix_types[k]) == tl && !strncmp(stix_types[k], s, tl))
                idx = k;
        if (idx < 0 || (size_t)(e - colon - 1) != 5 || strncmp(colon + 1, "value", 5)) {
            *other = s, *olen = tl;
            continue;
        }
        int r = mtd_feed_value(quote + 1, (size_t)(close - quote - 1), threat, cat, 0, sink, line, why);
        if (r == MTD_EINVAL)
            return -1;
        if (r) {
            *err = r;
            return n;
        }
        *type_idx = *type_idx < 0 ? idx : *type_idx;
        n++;
    }
    return n;
}

int mtd_feed_parse_stix(const uint8_t *buf, size_t len, const char *name, const mtd_feed_sink *sink,
                        mtd_feed_stats *st, char *why, size_t wl)
{
    json_t *j = load(buf, len, why, wl);
    if (!j)
        return MTD_EINVAL;
    json_t *objs = json_object_get(j, "objects");
    const char *type = json_string_value(json_object_get(j, "type"));
    if (!type || strcmp(type, "bundle") || !json_is_array(objs)) {
        snprintf(why, wl, "a JSON object that is not a STIX 2.1 bundle (\"type\": \"bundle\", \"objects\")");
        json_decref(j);
        return MTD_EINVAL;
    }
    json_t *ind = indicated(objs);
    const char *base = strrchr(name, '/');
    char fallback[200];
    snprintf(fallback, sizeof fallback, "STIX %s", base ? base + 1 : name);
    size_t i;
    json_t *o;
    int err = 0;
    json_array_foreach(objs, i, o) {
        const char *t = json_string_value(json_object_get(o, "type"));
        const char *pat = json_string_value(json_object_get(o, "pattern"));
        const char *ptype = json_string_value(json_object_get(o, "pattern_type"));
        if (!t || strcmp(t, "indicator"))
            continue;
        if (!pat || (ptype && strcmp(ptype, "stix"))) {
            mtd_feed_skip(st, ptype ? ptype : "no-pattern", strlen(ptype ? ptype : "no-pattern"));
            continue;
        }
        json_t *target = json_object_get(ind, json_string_value(json_object_get(o, "id")) ?: "");
        char threat[200];
        snprintf(threat, sizeof threat, "%.199s",
                 json_string_value(json_object_get(target, "name")) ?:
                 json_string_value(json_object_get(o, "name")) ?: fallback);
        const char *cat = category_of(o, json_string_value(json_object_get(target, "category")) ?: "malware");
        const char *other = NULL, *bad_why = "";
        size_t olen = 0;
        int tidx;
        /* an indicator is named by its position in "objects" (JSON has no line numbers
         * jansson keeps per object) */
        int n = pattern_values(pat, threat, cat, sink, i + 1, &tidx, &other, &olen, &err, &bad_why);
        if (err)
            break;
        if (n < 0) {
            st->bad_lines++;
            if (sink->bad_line)
                sink->bad_line(sink->ctx, i + 1, bad_why[0] ? bad_why : "unreadable STIX pattern");
        } else if (n == 0) {
            mtd_feed_skip(st, other ? other : "empty", other ? olen : 5);
        } else {
            st->indicators += (size_t)n;
            st->stix_by_type[tidx]++;
        }
    }
    json_decref(ind);
    json_decref(j);
    return err;
}

int mtd_feed_parse_phishtank_json(const uint8_t *buf, size_t len, const mtd_feed_sink *sink,
                                  mtd_feed_stats *st, char *why, size_t wl)
{
    json_t *j = load(buf, len, why, wl);
    if (!j)
        return MTD_EINVAL;
    size_t i;
    json_t *o;
    int r = 0;
    json_array_foreach(j, i, o) {
        const char *url = json_string_value(json_object_get(o, "url"));
        const char *target = json_string_value(json_object_get(o, "target"));
        const char *bad_why = "no \"url\" string";
        char threat[200];
        snprintf(threat, sizeof threat, "PhishTank: %.180s", target && target[0] ? target : "Other");
        r = url ? mtd_feed_value(url, strlen(url), threat, "phishing", 0, sink, i + 1, &bad_why)
                : MTD_EINVAL;
        if (r == MTD_EINVAL) {
            st->bad_lines++;
            if (sink->bad_line)
                sink->bad_line(sink->ctx, i + 1, bad_why);
            r = 0;
        } else if (r) {
            break;
        } else {
            st->indicators++;
        }
    }
    json_decref(j);
    return r;
}
