/* mtd_stix: STIX 2.1 bundles into the indicator set (mtd_ioc.h).
 *
 * The bundle is JSON (jansson); each indicator's pattern is read by a small recursive-
 * descent parser of the STIX patterning grammar (no C library parses it; the OASIS
 * reference implementation is Python/ANTLR). A pattern becomes a disjunction of
 * conjunctions of comparisons; each conjunction that pins an app indicator (a file or
 * certificate SHA-256, an app:id with optional app:version_code bounds, a file:path)
 * is loaded, every other one is counted by its object type. Observation-level AND and
 * FOLLOWEDBY need several observations to correlate, which a scan of one app does not
 * have: such patterns are counted, not loaded. A pattern that does not parse refuses
 * the bundle, naming the indicator, its line and the column in the pattern. */
#include "scan/mtd_ioc.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_TERMS 32   /* comparisons in one conjunction */
#define MAX_CONJ 256   /* conjunctions in one pattern */
#define MAX_PATTERN 65536

typedef struct {
    char type[64];   /* object type: "file" */
    char path[96];   /* property path, quotes removed: "hashes.SHA-256" */
    char op[12];     /* "=", "<=", "LIKE", ... */
    char value[300];
    int negated, is_int;
    int64_t num;
} term;

typedef struct {
    term t[MAX_TERMS];
    int n;
} conj;

typedef struct {
    conj *c;
    int n;
    int compound; /* observation-level AND / FOLLOWEDBY somewhere */
} dnf;

typedef struct {
    const char *s;
    size_t pos, len;
    char err[160];
} lexer;

/* ---- the pattern grammar ---- */

static void skip_ws(lexer *x)
{
    while (x->pos < x->len && isspace((unsigned char)x->s[x->pos]))
        x->pos++;
}

static int perr(lexer *x, const char *what)
{
    if (!x->err[0])
        snprintf(x->err, sizeof x->err, "%s at column %zu", what, x->pos + 1);
    return MTD_EINVAL;
}

static int peek_char(lexer *x, char c)
{
    skip_ws(x);
    return x->pos < x->len && x->s[x->pos] == c;
}

/* Case-sensitive keyword (STIX keywords are upper case) followed by a non-name byte. */
static int keyword(lexer *x, const char *kw)
{
    skip_ws(x);
    size_t n = strlen(kw);
    if (x->pos + n > x->len || memcmp(x->s + x->pos, kw, n))
        return 0;
    if (x->pos + n < x->len && (isalnum((unsigned char)x->s[x->pos + n]) || x->s[x->pos + n] == '_'))
        return 0;
    x->pos += n;
    return 1;
}

/* A quoted string literal into out (\' and \\ unescaped). */
static int string_lit(lexer *x, char *out, size_t outlen)
{
    size_t o = 0, start = x->pos;
    x->pos++; /* the opening quote */
    while (x->pos < x->len && x->s[x->pos] != '\'') {
        char c = x->s[x->pos++];
        if (c == '\\') {
            if (x->pos >= x->len || (x->s[x->pos] != '\'' && x->s[x->pos] != '\\'))
                return perr(x, "bad escape in string");
            c = x->s[x->pos++];
        }
        if (o + 1 >= outlen)
            return perr(x, "string too long");
        out[o++] = c;
    }
    if (x->pos >= x->len) {
        x->pos = start;
        return perr(x, "unterminated string");
    }
    x->pos++;
    out[o] = 0;
    return 0;
}

static int name_char(int c)
{
    return isalnum(c) || c == '_' || c == '-';
}

/* objtype ':' path: components by '.', quoted components, [n] or [*] indexes. */
static int object_path(lexer *x, term *t)
{
    skip_ws(x);
    size_t st = x->pos;
    while (x->pos < x->len && name_char((unsigned char)x->s[x->pos]))
        x->pos++;
    if (x->pos == st || x->pos - st >= sizeof t->type || x->pos >= x->len || x->s[x->pos] != ':')
        return perr(x, "expected object-type:property");
    snprintf(t->type, sizeof t->type, "%.*s", (int)(x->pos - st), x->s + st);
    x->pos++;
    size_t o = 0;
    for (int first = 1;; first = 0) {
        if (!first) {
            if (x->pos < x->len && x->s[x->pos] == '[') {
                size_t e = x->pos + 1;
                while (e < x->len && (isdigit((unsigned char)x->s[e]) || x->s[e] == '*'))
                    e++;
                if (e >= x->len || x->s[e] != ']' || e == x->pos + 1)
                    return perr(x, "bad list index");
                x->pos = e + 1;
                continue;
            }
            if (x->pos >= x->len || x->s[x->pos] != '.')
                break;
            x->pos++;
            if (o + 1 < sizeof t->path)
                t->path[o++] = '.';
        }
        char comp[96];
        if (x->pos < x->len && x->s[x->pos] == '\'') {
            if (string_lit(x, comp, sizeof comp))
                return MTD_EINVAL;
        } else {
            size_t cs = x->pos;
            while (x->pos < x->len && name_char((unsigned char)x->s[x->pos]))
                x->pos++;
            if (x->pos == cs)
                return perr(x, "expected a property name");
            snprintf(comp, sizeof comp, "%.*s", (int)(x->pos - cs), x->s + cs);
        }
        size_t cl = strlen(comp);
        if (o + cl + 1 >= sizeof t->path)
            return perr(x, "property path too long");
        memcpy(t->path + o, comp, cl);
        o += cl;
    }
    t->path[o] = 0;
    return 0;
}

/* A literal: 'string', t'..', h'..', b'..', integer, float, true/false, or a (list). */
static int literal(lexer *x, term *t)
{
    skip_ws(x);
    if (x->pos >= x->len)
        return perr(x, "expected a value");
    char c = x->s[x->pos];
    if (c == '(') { /* IN (...): kept as text, not loaded */
        int depth = 0;
        size_t st = x->pos;
        for (; x->pos < x->len; x->pos++) {
            if (x->s[x->pos] == '\'') {
                char tmp[300];
                if (string_lit(x, tmp, sizeof tmp))
                    return MTD_EINVAL;
                x->pos--;
            } else if (x->s[x->pos] == '(')
                depth++;
            else if (x->s[x->pos] == ')' && --depth == 0)
                break;
        }
        if (x->pos >= x->len)
            return perr(x, "unterminated list");
        x->pos++;
        snprintf(t->value, sizeof t->value, "%.*s", (int)(x->pos - st), x->s + st);
        return 0;
    }
    if ((c == 't' || c == 'h' || c == 'b') && x->pos + 1 < x->len && x->s[x->pos + 1] == '\'')
        x->pos++;
    if (x->s[x->pos] == '\'')
        return string_lit(x, t->value, sizeof t->value);
    size_t st = x->pos;
    if (x->s[x->pos] == '-' || x->s[x->pos] == '+')
        x->pos++;
    while (x->pos < x->len && (isalnum((unsigned char)x->s[x->pos]) || x->s[x->pos] == '.'))
        x->pos++;
    if (x->pos == st || x->pos - st >= sizeof t->value)
        return perr(x, "expected a value");
    snprintf(t->value, sizeof t->value, "%.*s", (int)(x->pos - st), x->s + st);
    if (!strcmp(t->value, "true") || !strcmp(t->value, "false"))
        return 0;
    char *end;
    double d = strtod(t->value, &end);
    if (*end)
        return perr(x, "bad number");
    t->is_int = !strpbrk(t->value, ".eE");
    t->num = t->is_int ? strtoll(t->value, NULL, 10) : (int64_t)d;
    return 0;
}

static int comparison(lexer *x, term *t)
{
    memset(t, 0, sizeof *t);
    if (keyword(x, "EXISTS")) {
        snprintf(t->op, sizeof t->op, "EXISTS");
        return object_path(x, t);
    }
    if (object_path(x, t))
        return MTD_EINVAL;
    t->negated = keyword(x, "NOT");
    skip_ws(x);
    static const char *const ops[] = {"!=", "<=", ">=", "=", "<", ">", "LIKE", "MATCHES", "IN",
                                      "ISSUBSET", "ISSUPERSET", NULL};
    for (int i = 0; ops[i]; i++) {
        size_t n = strlen(ops[i]);
        if (isalpha((unsigned char)ops[i][0]) ? keyword(x, ops[i])
                                              : (x->pos + n <= x->len && !memcmp(x->s + x->pos, ops[i], n) && (x->pos += n))) {
            snprintf(t->op, sizeof t->op, "%s", ops[i]);
            return literal(x, t);
        }
    }
    return perr(x, "expected a comparison operator");
}

static void dnf_free(dnf *d)
{
    free(d->c);
    d->c = NULL;
    d->n = 0;
}

/* a OR b, into a (b is consumed). */
static int dnf_or(lexer *x, dnf *a, dnf *b)
{
    if (a->n + b->n > MAX_CONJ) {
        dnf_free(b);
        return perr(x, "pattern too complex");
    }
    conj *c = realloc(a->c, (size_t)(a->n + b->n) * sizeof *c);
    if (!c) {
        dnf_free(b);
        return MTD_ENOMEM;
    }
    memcpy(c + a->n, b->c, (size_t)b->n * sizeof *c);
    a->c = c;
    a->n += b->n;
    a->compound |= b->compound;
    dnf_free(b);
    return 0;
}

/* a AND b (the cross product), into a (b is consumed). */
static int dnf_and(lexer *x, dnf *a, dnf *b)
{
    int n = a->n * b->n, r = 0;
    conj *c = n <= MAX_CONJ ? calloc((size_t)(n ? n : 1), sizeof *c) : NULL;
    if (!c)
        r = n > MAX_CONJ ? perr(x, "pattern too complex") : MTD_ENOMEM;
    for (int i = 0; r == 0 && i < a->n; i++)
        for (int j = 0; r == 0 && j < b->n; j++) {
            conj *o = &c[i * b->n + j];
            if (a->c[i].n + b->c[j].n > MAX_TERMS) {
                r = perr(x, "pattern too complex");
                break;
            }
            memcpy(o->t, a->c[i].t, (size_t)a->c[i].n * sizeof(term));
            memcpy(o->t + a->c[i].n, b->c[j].t, (size_t)b->c[j].n * sizeof(term));
            o->n = a->c[i].n + b->c[j].n;
        }
    if (r) {
        free(c);
        dnf_free(b);
        return r;
    }
    free(a->c);
    a->c = c;
    a->n = n;
    a->compound |= b->compound;
    dnf_free(b);
    return 0;
}

static int cmp_or(lexer *x, dnf *out, int depth);

static int cmp_unit(lexer *x, dnf *out, int depth)
{
    memset(out, 0, sizeof *out);
    if (peek_char(x, '(')) {
        x->pos++;
        int r = cmp_or(x, out, depth + 1);
        if (r == 0 && !peek_char(x, ')'))
            r = perr(x, "expected )");
        if (r) {
            dnf_free(out);
            return r;
        }
        x->pos++;
        return 0;
    }
    out->c = calloc(1, sizeof *out->c);
    if (!out->c)
        return MTD_ENOMEM;
    out->n = 1;
    out->c[0].n = 1;
    int r = comparison(x, &out->c[0].t[0]);
    if (r)
        dnf_free(out);
    return r;
}

/* AND binds tighter than OR, within a bracket and between observations alike. */
static int cmp_and(lexer *x, dnf *out, int depth)
{
    int r = cmp_unit(x, out, depth);
    while (r == 0 && keyword(x, "AND")) {
        dnf b;
        if ((r = cmp_unit(x, &b, depth)) == 0)
            r = dnf_and(x, out, &b);
    }
    if (r)
        dnf_free(out);
    return r;
}

static int cmp_or(lexer *x, dnf *out, int depth)
{
    if (depth > 16)
        return perr(x, "pattern nested too deep");
    int r = cmp_and(x, out, depth);
    while (r == 0 && keyword(x, "OR")) {
        dnf b;
        if ((r = cmp_and(x, &b, depth)) == 0)
            r = dnf_or(x, out, &b);
    }
    if (r)
        dnf_free(out);
    return r;
}

/* WITHIN n SECONDS, REPEATS n TIMES, START t'..' STOP t'..': they narrow when, which
 * the scan of an app's current state cannot use; skipped. */
static int qualifiers(lexer *x)
{
    for (;;) {
        term t;
        memset(&t, 0, sizeof t);
        if (keyword(x, "WITHIN")) {
            if (literal(x, &t) || !keyword(x, "SECONDS"))
                return perr(x, "expected WITHIN n SECONDS");
        } else if (keyword(x, "REPEATS")) {
            if (literal(x, &t) || !keyword(x, "TIMES"))
                return perr(x, "expected REPEATS n TIMES");
        } else if (keyword(x, "START")) {
            if (literal(x, &t) || !keyword(x, "STOP") || literal(x, &t))
                return perr(x, "expected START t'...' STOP t'...'");
        } else {
            return 0;
        }
    }
}

static int obs_or(lexer *x, dnf *out, int depth);

static int obs_unit(lexer *x, dnf *out, int depth)
{
    memset(out, 0, sizeof *out);
    int r;
    if (peek_char(x, '[')) {
        x->pos++;
        r = cmp_or(x, out, depth + 1);
        if (r == 0 && !peek_char(x, ']'))
            r = perr(x, "expected ]");
        if (r == 0)
            x->pos++;
    } else if (peek_char(x, '(')) {
        x->pos++;
        r = obs_or(x, out, depth + 1);
        if (r == 0 && !peek_char(x, ')'))
            r = perr(x, "expected )");
        if (r == 0)
            x->pos++;
    } else {
        return perr(x, "expected [");
    }
    if (r == 0)
        r = qualifiers(x);
    if (r)
        dnf_free(out);
    return r;
}

/* Observations joined by AND or FOLLOWEDBY: parsed, marked compound. */
static int obs_and(lexer *x, dnf *out, int depth)
{
    int r = obs_unit(x, out, depth);
    while (r == 0 && (keyword(x, "AND") || keyword(x, "FOLLOWEDBY"))) {
        dnf b;
        if ((r = obs_unit(x, &b, depth)) == 0) {
            dnf_free(&b);
            out->compound = 1;
        }
    }
    if (r)
        dnf_free(out);
    return r;
}

static int obs_or(lexer *x, dnf *out, int depth)
{
    if (depth > 16)
        return perr(x, "pattern nested too deep");
    int r = obs_and(x, out, depth);
    while (r == 0 && keyword(x, "OR")) {
        dnf b;
        if ((r = obs_and(x, &b, depth)) == 0)
            r = dnf_or(x, out, &b);
    }
    if (r)
        dnf_free(out);
    return r;
}

static int parse_pattern(const char *s, dnf *out, char *err, size_t errlen)
{
    lexer x = {.s = s, .len = strlen(s)};
    int r = obs_or(&x, out, 0);
    skip_ws(&x);
    if (r == 0 && x.pos < x.len) {
        dnf_free(out);
        r = perr(&x, "unexpected text");
    }
    if (r)
        snprintf(err, errlen, "%s", x.err[0] ? x.err : "out of memory");
    return r;
}

/* ---- the bundle ---- */

typedef struct {
    const char *name;   /* the file as given */
    const char *file;   /* its base name */
    const uint8_t *buf;
    size_t len;
    json_t *byid;       /* id -> object */
    json_t *indicates;  /* indicator id -> target object */
    json_t *reported;   /* indicator id -> the threat a report pairs it with */
    struct { char label[64]; size_t n; } other[16];
    int nother;
} bundle;

/* The line of the object whose "id" is id (ids are unique in a bundle). */
static unsigned line_of(const bundle *b, const char *id)
{
    size_t n = strlen(id);
    for (const uint8_t *p = b->buf; n && (p = memmem(p, b->len - (size_t)(p - b->buf), id, n)) != NULL; p += n) {
        const uint8_t *q = p - 1; /* "id" : "<id>" */
        while (q > b->buf && isspace(q[-1]))
            q--;
        if (q > b->buf && q[-1] == ':') {
            const uint8_t *k = q - 1;
            while (k > b->buf && isspace(k[-1]))
                k--;
            if (k - b->buf >= 4 && !memcmp(k - 4, "\"id\"", 4)) {
                unsigned line = 1;
                for (const uint8_t *c = b->buf; c < p; c++)
                    line += *c == '\n';
                return line;
            }
        }
    }
    return 0;
}

static int is_threat(const json_t *o)
{
    const char *t = json_string_value(json_object_get(o, "type"));
    return t && (!strcmp(t, "malware") || !strcmp(t, "threat-actor") || !strcmp(t, "campaign") ||
                 !strcmp(t, "intrusion-set") || !strcmp(t, "tool"));
}

/* Who each indicator indicates: relationships first, then the threat a report lists
 * beside it. */
static void index_bundle(bundle *b, json_t *objects)
{
    size_t i;
    json_t *o;
    json_array_foreach(objects, i, o) {
        const char *id = json_string_value(json_object_get(o, "id"));
        if (id)
            json_object_set(b->byid, id, o);
    }
    json_array_foreach(objects, i, o) {
        const char *t = json_string_value(json_object_get(o, "type"));
        if (t && !strcmp(t, "relationship")) {
            const char *rt = json_string_value(json_object_get(o, "relationship_type"));
            const char *src = json_string_value(json_object_get(o, "source_ref"));
            const char *dst = json_string_value(json_object_get(o, "target_ref"));
            json_t *target = dst ? json_object_get(b->byid, dst) : NULL;
            if (rt && !strcmp(rt, "indicates") && src && is_threat(target))
                json_object_set(b->indicates, src, target);
        } else if (t && !strcmp(t, "report")) {
            json_t *refs = json_object_get(o, "object_refs"), *r, *threat = NULL;
            size_t k;
            json_array_foreach(refs, k, r) {
                json_t *x = json_string_value(r) ? json_object_get(b->byid, json_string_value(r)) : NULL;
                if (!threat && is_threat(x))
                    threat = x;
            }
            json_array_foreach(refs, k, r)
                if (threat && json_string_value(r) && !json_object_get(b->reported, json_string_value(r)))
                    json_object_set(b->reported, json_string_value(r), threat);
        }
    }
}

static void count_other(bundle *b, const char *label)
{
    for (int i = 0; i < b->nother; i++)
        if (!strcmp(b->other[i].label, label)) {
            b->other[i].n++;
            return;
        }
    int i = b->nother < 15 ? b->nother++ : 15; /* the 16th counts every further kind */
    if (i == 15 && b->nother == 15)
        b->nother = 16;
    snprintf(b->other[i].label, sizeof b->other[i].label, "%s", i == 15 ? "other" : label);
    b->other[i].n++;
}

static const char *category_of(const json_t *threat, const json_t *ind)
{
    static const char *const known[] = {"spyware", "adware", "riskware", "exploit", "scam", NULL};
    const json_t *types = json_object_get(threat, "malware_types");
    size_t i;
    json_t *v;
    json_array_foreach(types, i, v)
        for (int k = 0; known[k]; k++)
            if (json_string_value(v) && !strcmp(json_string_value(v), known[k]))
                return known[k];
    json_array_foreach(json_object_get(ind, "indicator_types"), i, v)
        if (json_string_value(v) && !strcmp(json_string_value(v), "anomalous-activity"))
            return "riskware";
    return "malware";
}

/* Revoked, expired, or only "benign": not an indicator of a threat now. */
static int skipped(const json_t *ind)
{
    if (json_is_true(json_object_get(ind, "revoked")))
        return 1;
    const char *until = json_string_value(json_object_get(ind, "valid_until"));
    char now[MTD_TIME_LEN];
    mtd_time_now_rfc3339(now);
    if (until && strlen(until) >= 19 && strncmp(until, now, 19) < 0)
        return 1;
    json_t *types = json_object_get(ind, "indicator_types"), *v;
    size_t i;
    int benign = json_array_size(types) > 0;
    json_array_foreach(types, i, v)
        benign &= json_string_value(v) && !strcmp(json_string_value(v), "benign");
    return benign;
}

static int is_sha256(const char *path)
{
    return !strcasecmp(path, "hashes.SHA-256") || !strcasecmp(path, "hashes.SHA256");
}

/* Loads the app indicators of one conjunction; *kind names what it was. */
static int load_conj(mtd_ioc *s, const conj *c, uint32_t ref, const char **kind, char *err, size_t el)
{
    const term *hash = NULL, *app = NULL, *path = NULL, *key;
    int64_t vmin = 0, vmax = INT64_MAX;
    *kind = c->n ? c->t[0].type : "empty";
    for (int i = 0; i < c->n; i++) {
        const term *t = &c->t[i];
        int eq = !strcmp(t->op, "=") && !t->negated;
        if (eq && (!strcmp(t->type, "file") || !strcmp(t->type, "x509-certificate")) && is_sha256(t->path))
            hash = t;
        else if (eq && !strcmp(t->type, "file") && !strcmp(t->path, "path"))
            path = t;
        else if (eq && !strcmp(t->type, "app") && !strcmp(t->path, "id"))
            app = t;
        else if (!strcmp(t->type, "app") && !strcmp(t->path, "version_code") && t->is_int && !t->negated) {
            if (!strcmp(t->op, "=") || !strcmp(t->op, ">=")) vmin = t->num > vmin ? t->num : vmin;
            if (!strcmp(t->op, ">")) vmin = t->num + 1 > vmin ? t->num + 1 : vmin;
            if (!strcmp(t->op, "=") || !strcmp(t->op, "<=")) vmax = t->num < vmax ? t->num : vmax;
            if (!strcmp(t->op, "<")) vmax = t->num - 1 < vmax ? t->num - 1 : vmax;
        }
    }
    /* the most specific comparison decides: a digest, then a package, then a path */
    key = hash ? hash : app ? app : path;
    if (!key)
        return 1; /* not an app indicator */
    if (!strcmp(key->path, "path")) {
        *kind = "path";
        return mtd_ioc_add_path(s, key->value, ref);
    }
    if (!strcmp(key->type, "app")) {
        *kind = "package";
        if (!mtd_ioc_package_ok(key->value, strlen(key->value), 1)) {
            snprintf(err, el, "app:id '%.64s' is not a package name", key->value);
            return MTD_EINVAL;
        }
        return vmin <= vmax ? mtd_ioc_add_package(s, key->value, vmin, vmax, ref, 0) : 0;
    }
    uint8_t d[32];
    if (mtd_ioc_hex32(key->value, strlen(key->value), 0, d)) {
        snprintf(err, el, "%s:%s '%.80s' is not 64 hex digits", key->type, key->path, key->value);
        return MTD_EINVAL;
    }
    int cert = !strcmp(key->type, "x509-certificate");
    *kind = cert ? "cert" : "digest";
    return mtd_ioc_add_digest(s, d, cert ? MTD_IOC_CERT : MTD_IOC_FILE, ref, 0);
}

static int indicator(mtd_ioc *s, bundle *b, const json_t *ind, mtd_ioc_stats *st, char *why, size_t wl)
{
    const char *id = json_string_value(json_object_get(ind, "id"));
    const char *pattern = json_string_value(json_object_get(ind, "pattern"));
    const char *ptype = json_string_value(json_object_get(ind, "pattern_type"));
    st->indicators++;
    if (!id || !pattern || strlen(pattern) > MAX_PATTERN) {
        snprintf(why, wl, "%s:%u: an indicator %s", b->name, id ? line_of(b, id) : 0,
                 !id ? "has no id" : !pattern ? "has no pattern" : "pattern is longer than 64 KiB");
        return MTD_EINVAL;
    }
    if (ptype && strcmp(ptype, "stix")) { /* yara, sigma, snort...: not STIX patterns */
        char label[64];
        snprintf(label, sizeof label, "%.40s pattern", ptype);
        count_other(b, label);
        st->other++;
        return 0;
    }
    dnf d = {0};
    char err[200];
    if (parse_pattern(pattern, &d, err, sizeof err)) {
        snprintf(why, wl, "%s:%u: %s: pattern: %s", b->name, line_of(b, id), id, err);
        return MTD_EINVAL;
    }
    if (skipped(ind)) {
        st->skipped++;
        dnf_free(&d);
        return 0;
    }
    const json_t *threat = json_object_get(b->indicates, id);
    if (!threat)
        threat = json_object_get(b->reported, id);
    const char *tn = json_string_value(json_object_get(threat, "name"));
    if (!tn)
        tn = json_string_value(json_object_get(ind, "name"));
    char name[201];
    snprintf(name, sizeof name, "%s", tn && *tn ? tn : "STIX indicator");
    uint32_t ref = mtd_ioc_ref_add(s, name, category_of(threat, ind), "high", b->file, id);
    int r = ref == UINT32_MAX ? MTD_ENOMEM : 0, loaded = 0;
    const char *kind = d.n ? d.c[0].t[0].type : "empty";
    for (int i = 0; r == 0 && !d.compound && i < d.n; i++) {
        const char *k;
        int x = load_conj(s, &d.c[i], ref, &k, err, sizeof err);
        if (x < 0) {
            if (x == MTD_EINVAL)
                snprintf(why, wl, "%s:%u: %s: %s", b->name, line_of(b, id), id, err);
            r = x;
        } else if (x == 0) {
            loaded = 1;
            size_t *c = !strcmp(k, "path") ? &st->paths : !strcmp(k, "package") ? &st->packages
                      : !strcmp(k, "cert") ? &st->certs : &st->digests;
            (*c)++;
        } else {
            kind = k;
        }
    }
    if (r == 0 && !loaded) {
        st->other++;
        count_other(b, d.compound ? "multi-observation" : kind);
    }
    dnf_free(&d);
    return r;
}

int mtd_stix_load(mtd_ioc *s, const char *name, const uint8_t *buf, size_t len,
                  mtd_ioc_stats *st, char *why, size_t wl)
{
    json_error_t e;
    json_t *root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &e);
    if (!root) {
        snprintf(why, wl, "%s:%d:%d: %s", name, e.line, e.column, e.text);
        return MTD_EINVAL;
    }
    const char *type = json_string_value(json_object_get(root, "type"));
    json_t *objects = json_object_get(root, "objects");
    if (!type || strcmp(type, "bundle") || !json_is_array(objects)) {
        snprintf(why, wl, "%s:1: not a STIX 2.1 bundle (a JSON object with \"type\": \"bundle\" and \"objects\")", name);
        json_decref(root);
        return MTD_EINVAL;
    }
    const char *file = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
    bundle b = {.name = name, .file = file, .buf = buf, .len = len, .byid = json_object(),
                .indicates = json_object(), .reported = json_object()};
    index_bundle(&b, objects);
    size_t i;
    json_t *o;
    int r = 0;
    json_array_foreach(objects, i, o) {
        const char *t = json_string_value(json_object_get(o, "type"));
        if (r == 0 && t && !strcmp(t, "indicator"))
            r = indicator(s, &b, o, st, why, wl);
    }
    size_t n = 0;
    st->other_detail[0] = 0;
    for (int k = 0; k < b.nother && n + 1 < sizeof st->other_detail; k++)
        n += (size_t)snprintf(st->other_detail + n, sizeof st->other_detail - n, "%s%zu %s",
                              k ? ", " : "", b.other[k].n, b.other[k].label);
    json_decref(b.byid);
    json_decref(b.indicates);
    json_decref(b.reported);
    json_decref(root);
    return r;
}
