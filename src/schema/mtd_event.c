/* mtd_event: schema-driven JSON event parser and the one set of value checks. */
#include "schema/mtd_event.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"
#include "privacy/mtd_pseudo.h"

#include <stdio.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define MAX_ENTRIES 64
#define MAX_DEPTH 32

int mtd_event_ncolumns(const mtd_event_type *t)
{
    return (int)(mtd_envelope_nfields + t->nfields);
}

const mtd_field *mtd_event_column_field(const mtd_event_type *t, int col)
{
    if (col < (int)mtd_envelope_nfields)
        return &mtd_envelope_fields[col];
    return &t->fields[col - (int)mtd_envelope_nfields];
}

/* name[0..len) is exactly f's name (bounded: this runs for every field of every event) */
static int name_is(const mtd_field *f, const char *name, size_t len)
{
    return f->name[0] == name[0] && strnlen(f->name, len + 1) == len && !memcmp(f->name, name, len);
}

/* The column of a key, trying `hint` first: a device writes an event's keys in one
 * order, mostly the schema's, so the column after the last key's is usually the next
 * key's, and a whole scan of the envelope and the type's fields per key (~4% of the
 * collector's CPU under bench_ingest) is left for the others. The same exact match of
 * the name decides either way. */
static int column_hinted(const mtd_event_type *t, const char *name, size_t len, int hint)
{
    if (len && hint >= 0 && hint < mtd_event_ncolumns(t) && name_is(mtd_event_column_field(t, hint), name, len))
        return hint;
    return mtd_event_column(t, name, len);
}

int mtd_event_column(const mtd_event_type *t, const char *name, size_t len)
{
    if (len == 0)
        return -1;
    for (size_t i = 0; i < mtd_envelope_nfields; i++)
        if (name_is(&mtd_envelope_fields[i], name, len))
            return (int)i;
    for (size_t i = 0; t && i < t->nfields; i++)
        if (name_is(&t->fields[i], name, len))
            return (int)(mtd_envelope_nfields + i);
    return -1;
}

/* ---- value checks: the schema's rules, once for both parsers ---- */

/* The string token as a C string in buf, or NULL when it does not fit. (memcpy, not
 * snprintf: this runs for every time and pseudonym of every event.) */
static const char *token_str(const mtd_token *tk, char *buf, size_t size)
{
    if (tk->len >= size)
        return NULL;
    memcpy(buf, tk->s, tk->len);
    buf[tk->len] = 0;
    return buf;
}

/* An email address as a person would check it: name@domain.tld, nothing that could not
 * be in one (a space, a control character, a quote, a second @). */
static int email_ok(const char *s, size_t n)
{
    const char *at = memchr(s, '@', n);
    if (!at || at == s || memchr(at + 1, '@', n - (size_t)(at + 1 - s)))
        return 0;
    const char *dom = at + 1, *end = s + n;
    const char *dot = memchr(dom, '.', (size_t)(end - dom));
    if (!dot || dot == dom || end[-1] == '.')
        return 0;
    for (const char *p = s; p < end; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f || strchr("\"'`<>()[],;:\\", *p))
            return 0;
    return 1;
}

static int check_str(const mtd_field *f, const mtd_token *tk, const char **why)
{
    if (tk->t != MTD_TK_STR) {
        *why = "must be a string";
        return MTD_EINVAL;
    }
    if (tk->len > f->max_len) {
        *why = "too long";
        return MTD_ETOOBIG;
    }
    if (tk->has_nul) {
        *why = "contains a NUL byte";
        return MTD_EINVAL;
    }
    if (f->type == MTD_T_TIME) {
        char tmp[40];
        time_t t;
        if (!token_str(tk, tmp, sizeof tmp) || mtd_time_parse(tmp, &t) != 0) {
            *why = "must be an RFC 3339 UTC time";
            return MTD_EINVAL;
        }
    } else if (f->type == MTD_T_ENUM) {
        for (const char *const *e = f->enum_values; *e; e++)
            if (strlen(*e) == tk->len && !memcmp(*e, tk->s, tk->len))
                return 0;
        *why = "is not one of the allowed values";
        return MTD_EINVAL;
    }
    if (f->kind == MTD_DK_EMAIL && !email_ok(tk->s, tk->len)) {
        *why = "is not an email address";
        return MTD_EINVAL;
    }
    if (f->xf == MTD_X_PSEUDONYMIZE) {
        char tmp[MTD_PSEUDO_LEN + 1];
        if (tk->len != MTD_PSEUDO_LEN || !token_str(tk, tmp, sizeof tmp) || !mtd_pseudo_is_valid(tmp)) {
            *why = "must be a pseudonym (a raw identifier was sent)";
            return MTD_EINVAL;
        }
    }
    return 0;
}

void mtd_field_why(const mtd_field *f, int rc, const char *w, char *out, size_t len)
{
    if (rc == MTD_ETOOBIG && f->type == MTD_T_STRLIST && !strcmp(w, "has too many items"))
        snprintf(out, len, "field \"%s\" has too many items (at most %u)", f->name, f->max_items);
    else if (rc == MTD_ETOOBIG)
        snprintf(out, len, "field \"%s\" %s (at most %u bytes%s)", f->name, w, f->max_len,
                 f->type == MTD_T_STRLIST ? " an item" : "");
    else
        snprintf(out, len, "field \"%s\" %s", f->name, w);
}

int mtd_field_check(const mtd_field *f, const mtd_token *tk, const char **why)
{
    *why = NULL;
    switch (f->type) {
    case MTD_T_INT:
        if (tk->t != MTD_TK_NUM || !tk->is_int) {
            *why = "must be an integer";
            return MTD_EINVAL;
        }
        return 0;
    case MTD_T_BOOL:
        if (tk->t != MTD_TK_TRUE && tk->t != MTD_TK_FALSE) {
            *why = "must be true or false";
            return MTD_EINVAL;
        }
        return 0;
    case MTD_T_STRLIST:
        if (tk->t != MTD_TK_ARR || !tk->all_str) {
            *why = "must be an array of strings";
            return MTD_EINVAL;
        }
        if (tk->items > f->max_items) {
            *why = "has too many items";
            return MTD_ETOOBIG;
        }
        if (tk->max_item > f->max_len) {
            *why = "too long";
            return MTD_ETOOBIG;
        }
        return 0;
    default:
        return check_str(f, tk, why);
    }
}

static void set_slot(mtd_value *v, const mtd_token *tk)
{
    switch (tk->t) {
    case MTD_TK_STR: *v = (mtd_value){MTD_V_STR, (uint32_t)tk->len, tk->s, 0}; break;
    case MTD_TK_NUM: *v = (mtd_value){MTD_V_INT, 0, NULL, tk->i}; break;
    case MTD_TK_TRUE: *v = (mtd_value){MTD_V_BOOL, 0, NULL, 1}; break;
    case MTD_TK_FALSE: *v = (mtd_value){MTD_V_BOOL, 0, NULL, 0}; break;
    case MTD_TK_ARR: *v = (mtd_value){MTD_V_LIST, (uint32_t)tk->len, tk->s, 0}; break;
    default: v->kind = MTD_V_NONE; break;
    }
}

static const mtd_event_type *find_type(const mtd_entry *e, size_t n, char *why, size_t wl, int *rc)
{
    for (size_t i = 0; i < n; i++) {
        if (e[i].klen != 5 || memcmp(e[i].key, "event", 5))
            continue;
        if (e[i].tok.t != MTD_TK_STR)
            break;
        char name[80]; /* memcpy, not snprintf: this runs for every event */
        size_t nl = e[i].tok.len < 64 ? e[i].tok.len : 64;
        memcpy(name, e[i].tok.s, nl);
        name[nl] = 0;
        const mtd_event_type *t = e[i].tok.len < 64 ? mtd_schema_event(name) : NULL;
        if (!t) {
            snprintf(why, wl, "event type \"%s\" is not declared in the schema", name);
            *rc = MTD_ESCHEMA;
        }
        return t;
    }
    snprintf(why, wl, "event has no \"event\" type");
    *rc = MTD_EINVAL;
    return NULL;
}

int mtd_event_check_entries(const mtd_entry *e, size_t n, mtd_event *ev,
                            const mtd_event_type **type, char *why, size_t wl)
{
    int rc = 0;
    const mtd_event_type *t = find_type(e, n, why, wl, &rc);
    *type = NULL;
    if (!t)
        return rc;
    uint64_t seen = 0;
    int col = -1;
    for (size_t i = 0; i < n; i++) {
        col = column_hinted(t, e[i].key, e[i].klen, col + 1);
        const mtd_field *f = col >= 0 ? mtd_event_column_field(t, col) : NULL;
        if (!f || f->xf == MTD_X_DROP) {
            snprintf(why, wl, "%s: field \"%.*s\" is not declared in the schema", t->name,
                     (int)(e[i].klen < 64 ? e[i].klen : 64), e[i].key);
            return MTD_ESCHEMA;
        }
        if (seen & (1ull << col)) {
            snprintf(why, wl, "%s: field \"%s\" appears twice", t->name, f->name);
            return MTD_EINVAL;
        }
        seen |= 1ull << col;
        if (e[i].tok.t == MTD_TK_NULL && !f->required)
            continue;
        const char *w;
        if ((rc = mtd_field_check(f, &e[i].tok, &w)) != 0) {
            char fw[200];
            mtd_field_why(f, rc, w, fw, sizeof fw);
            snprintf(why, wl, "%s: %s", t->name, fw);
            return rc;
        }
        if (f->type == MTD_T_INT && !strcmp(f->name, "schema") && e[i].tok.i != MTD_SCHEMA_VERSION) {
            snprintf(why, wl, "%s: unsupported schema version", t->name);
            return MTD_EUNSUP;
        }
        if (ev)
            set_slot(&ev->v[col], &e[i].tok);
    }
    for (int c = 0; c < mtd_event_ncolumns(t); c++)
        if (mtd_event_column_field(t, c)->required && !(seen & (1ull << c))) {
            snprintf(why, wl, "%s: required field \"%s\" is missing", t->name,
                     mtd_event_column_field(t, c)->name);
            return MTD_EINVAL;
        }
    if (ev)
        ev->type = t;
    *type = t;
    return 0;
}

/* ---- the in-place JSON reader ---- */

typedef struct {
    char *p, *start, *end;
    const char *err;
} rd;

static int fail_at(rd *r, const char *what)
{
    if (!r->err)
        r->err = what;
    return -1;
}

static void ws(rd *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

/* Length of a valid UTF-8 sequence at p (RFC 3629: no overlongs, no surrogates). */
static int utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    int n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (!n || p + n > end)
        return 0;
    for (int i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if (n == 2 && c < 0xc2) return 0;
    if (n == 3 && ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0))) return 0;
    if (n == 4 && ((c == 0xf0 && p[1] < 0x90) || c > 0xf4 || (c == 0xf4 && p[1] >= 0x90))) return 0;
    return n;
}

static size_t put_utf8(char *w, unsigned cp)
{
    if (cp < 0x80) { w[0] = (char)cp; return 1; }
    if (cp < 0x800) { w[0] = (char)(0xc0 | cp >> 6); w[1] = (char)(0x80 | (cp & 63)); return 2; }
    if (cp < 0x10000) {
        w[0] = (char)(0xe0 | cp >> 12); w[1] = (char)(0x80 | ((cp >> 6) & 63));
        w[2] = (char)(0x80 | (cp & 63)); return 3;
    }
    w[0] = (char)(0xf0 | cp >> 18); w[1] = (char)(0x80 | ((cp >> 12) & 63));
    w[2] = (char)(0x80 | ((cp >> 6) & 63)); w[3] = (char)(0x80 | (cp & 63)); return 4;
}

/* A \u escape at r->p (after the backslash-u): the code point, surrogate pairs joined. */
static int unicode_escape(rd *r, unsigned *cp)
{
    if (r->end - r->p < 4 || hex4(r->p, cp) != 0)
        return fail_at(r, "bad \\u escape");
    r->p += 4;
    if (*cp >= 0xdc00 && *cp <= 0xdfff)
        return fail_at(r, "lone low surrogate");
    if (*cp < 0xd800 || *cp > 0xdbff)
        return 0;
    unsigned lo;
    if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u' || hex4(r->p + 2, &lo) != 0 ||
        lo < 0xdc00 || lo > 0xdfff)
        return fail_at(r, "lone high surrogate");
    r->p += 6;
    *cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
    return 0;
}

/* The first byte at or after p that is not plain ASCII inside a string (a quote, a
 * backslash, a control character or a non-ASCII byte), or end. Sixteen bytes at a
 * time with SSE2 (every x86-64 has it: a signed compare below 0x20 catches the
 * control characters and every byte >= 0x80 at once), else eight at a time (SWAR:
 * the classic "has a byte less than n" and "has a zero byte" bit tricks); byte by
 * byte, this loop was ~8% of the collector's CPU under bench_ingest, whose events are
 * mostly long ASCII strings (hashes, paths, package names), and SWAR still ~3%. */
static char *plain_ascii(char *p, const char *end)
{
#ifdef __SSE2__
    const __m128i vquote = _mm_set1_epi8('"'), vbslash = _mm_set1_epi8('\\'), vspace = _mm_set1_epi8(0x20);
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i special = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, vquote), _mm_cmpeq_epi8(x, vbslash)),
                                       _mm_cmplt_epi8(x, vspace));
        unsigned m = (unsigned)_mm_movemask_epi8(special);
        if (m)
            return p + __builtin_ctz(m);
        p += 16;
    }
#endif
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    while (end - p >= 8) {
        uint64_t x;
        memcpy(&x, p, 8);
        uint64_t quote = x ^ (ones * '"'), bslash = x ^ (ones * '\\');
        uint64_t special = ((x - ones * 0x20) & ~x) |       /* a byte < 0x20 */
                           ((quote - ones) & ~quote) |      /* a '"' */
                           ((bslash - ones) & ~bslash) | x; /* a '\\', or a byte >= 0x80 */
        if (special & highs)
            break;
        p += 8;
    }
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80)
            break;
        p++;
    }
    return p;
}

/* A string at r->p (on the quote). With write, it is decoded in place and *s and *len
 * point at the result; without, only its decoded length is computed. */
static int string(rd *r, int write, const char **s, size_t *len, uint8_t *has_nul)
{
    char *w = ++r->p;
    size_t n = 0;
    *has_nul = 0;
    *s = w;
    while (r->p < r->end && *r->p != '"') {
        unsigned char c = (unsigned char)*r->p;
        if (c < 0x20)
            return fail_at(r, "control character in a string");
        if (c != '\\') {
            /* a run of plain bytes, validated, moved once (only after an escape) */
            char *run = r->p;
            /* plain ASCII in bulk; a byte >= 0x80 starts a UTF-8 sequence to check, any
             * other stop (quote, backslash, control character) ends the run */
            while ((r->p = plain_ascii(r->p, r->end)) < r->end && (unsigned char)*r->p >= 0x80) {
                int k = utf8_len((const unsigned char *)r->p, (const unsigned char *)r->end);
                if (!k)
                    return fail_at(r, "invalid UTF-8");
                r->p += k;
            }
            size_t k = (size_t)(r->p - run);
            if (write && w + n != run)
                memmove(w + n, run, k);
            n += k;
            continue;
        }
        if (++r->p >= r->end)
            return fail_at(r, "unterminated escape");
        char e = *r->p++, out = 0;
        unsigned cp;
        switch (e) {
        case '"': out = '"'; break;
        case '\\': out = '\\'; break;
        case '/': out = '/'; break;
        case 'b': out = '\b'; break;
        case 'f': out = '\f'; break;
        case 'n': out = '\n'; break;
        case 'r': out = '\r'; break;
        case 't': out = '\t'; break;
        case 'u':
            if (unicode_escape(r, &cp) != 0)
                return -1;
            if (cp == 0)
                *has_nul = 1;
            /* the encoded form is never longer than the escape it replaces */
            n += write ? put_utf8(w + n, cp) : (cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4);
            continue;
        default:
            return fail_at(r, "bad escape");
        }
        if (write)
            w[n] = out;
        n++;
    }
    if (r->p >= r->end)
        return fail_at(r, "unterminated string");
    r->p++;
    *len = n;
    return 0;
}

static int number(rd *r, mtd_token *tk)
{
    char *p = r->p, *digits;
    int neg = *p == '-';
    if (neg)
        p++;
    digits = p;
    if (p >= r->end || *p < '0' || *p > '9')
        return fail_at(r, "bad number");
    if (*p == '0' && p + 1 < r->end && p[1] >= '0' && p[1] <= '9')
        return fail_at(r, "leading zero in a number");
    uint64_t v = 0;
    int overflow = 0;
    for (; p < r->end && *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - 9) / 10)
            overflow = 1;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    tk->is_int = !overflow && p > digits && v <= (uint64_t)INT64_MAX + (uint64_t)neg;
    if (p < r->end && *p == '.') {
        tk->is_int = 0;
        if (++p >= r->end || *p < '0' || *p > '9')
            return fail_at(r, "bad fraction");
        while (p < r->end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < r->end && (*p == 'e' || *p == 'E')) {
        tk->is_int = 0;
        if (++p < r->end && (*p == '+' || *p == '-'))
            p++;
        if (p >= r->end || *p < '0' || *p > '9')
            return fail_at(r, "bad exponent");
        while (p < r->end && *p >= '0' && *p <= '9')
            p++;
    }
    tk->t = MTD_TK_NUM;
    tk->i = neg ? (int64_t)(0 - v) : (int64_t)v;
    r->p = p;
    return 0;
}

static int literal(rd *r, const char *word, uint8_t t, mtd_token *tk)
{
    size_t n = strlen(word);
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n))
        return fail_at(r, "unexpected character");
    r->p += n;
    tk->t = t;
    return 0;
}

static int value(rd *r, mtd_token *tk, int depth);

/* An array; records whether it is a list of strings and its longest item. */
static int array(rd *r, mtd_token *tk, int depth)
{
    char *start = r->p++;
    tk->t = MTD_TK_ARR;
    tk->all_str = 1;
    ws(r);
    if (r->p < r->end && *r->p == ']') {
        r->p++;
    } else {
        for (;;) {
            mtd_token it = {0};
            ws(r);
            if (r->p < r->end && *r->p == '"') {
                if (string(r, 0, &it.s, &it.len, &it.has_nul) != 0)
                    return -1;
                tk->all_str &= !it.has_nul;
                if (it.len > tk->max_item)
                    tk->max_item = it.len;
            } else {
                tk->all_str = 0;
                if (value(r, &it, depth + 1) != 0)
                    return -1;
            }
            tk->items++;
            ws(r);
            if (r->p < r->end && *r->p == ',') { r->p++; continue; }
            if (r->p < r->end && *r->p == ']') { r->p++; break; }
            return fail_at(r, "expected , or ] in an array");
        }
    }
    tk->s = start;
    tk->len = (size_t)(r->p - start);
    return 0;
}

/* A nested object, which no field accepts: checked for syntax and skipped. */
static int object_skip(rd *r, mtd_token *tk, int depth)
{
    r->p++;
    tk->t = MTD_TK_OBJ;
    ws(r);
    if (r->p < r->end && *r->p == '}') {
        r->p++;
        return 0;
    }
    for (;;) {
        mtd_token k = {0}, v = {0};
        ws(r);
        if (r->p >= r->end || *r->p != '"' || string(r, 0, &k.s, &k.len, &k.has_nul) != 0)
            return fail_at(r, "expected a key");
        ws(r);
        if (r->p >= r->end || *r->p++ != ':')
            return fail_at(r, "expected :");
        ws(r);
        if (value(r, &v, depth + 1) != 0)
            return -1;
        ws(r);
        if (r->p < r->end && *r->p == ',') { r->p++; continue; }
        if (r->p < r->end && *r->p == '}') { r->p++; return 0; }
        return fail_at(r, "expected , or } in an object");
    }
}

static int value(rd *r, mtd_token *tk, int depth)
{
    if (depth > MAX_DEPTH)
        return fail_at(r, "nested too deeply");
    if (r->p >= r->end)
        return fail_at(r, "unexpected end of input");
    switch (*r->p) {
    case '"': tk->t = MTD_TK_STR; return string(r, 1, &tk->s, &tk->len, &tk->has_nul);
    case '[': return array(r, tk, depth);
    case '{': return object_skip(r, tk, depth);
    case 't': return literal(r, "true", MTD_TK_TRUE, tk);
    case 'f': return literal(r, "false", MTD_TK_FALSE, tk);
    case 'n': return literal(r, "null", MTD_TK_NULL, tk);
    default: return number(r, tk);
    }
}

/* The top-level object into entries. */
static int entries(rd *r, mtd_entry *e, size_t *n)
{
    *n = 0;
    ws(r);
    if (r->p >= r->end || *r->p != '{')
        return fail_at(r, "an event must be a JSON object");
    r->p++;
    ws(r);
    if (r->p < r->end && *r->p == '}') {
        r->p++;
        return 0;
    }
    for (;;) {
        if (*n >= MAX_ENTRIES)
            return fail_at(r, "too many fields");
        mtd_entry *x = &e[(*n)++];
        memset(x, 0, sizeof *x);
        ws(r);
        uint8_t nul;
        if (r->p >= r->end || *r->p != '"' || string(r, 1, &x->key, &x->klen, &nul) != 0)
            return fail_at(r, "expected a key");
        ws(r);
        if (r->p >= r->end || *r->p++ != ':')
            return fail_at(r, "expected :");
        ws(r);
        if (value(r, &x->tok, 1) != 0)
            return -1;
        ws(r);
        if (r->p < r->end && *r->p == ',') { r->p++; continue; }
        if (r->p < r->end && *r->p == '}') { r->p++; return 0; }
        return fail_at(r, "expected , or } after a field");
    }
}

int mtd_event_parse(char *buf, size_t len, mtd_event *ev, char *why, size_t wl)
{
    mtd_entry e[MAX_ENTRIES];
    size_t n;
    rd r = {buf, buf, buf + len, NULL};
    int rc = entries(&r, e, &n);
    if (rc == 0) {
        ws(&r);
        if (r.p != r.end)
            rc = fail_at(&r, "trailing characters after the object");
    }
    if (rc) {
        snprintf(why, wl, "invalid JSON: %s at byte %zu", r.err, (size_t)(r.p - r.start));
        return MTD_EINVAL;
    }
    memset(ev, 0, sizeof *ev);
    const mtd_event_type *t;
    return mtd_event_check_entries(e, n, ev, &t, why, wl);
}

const char *mtd_event_str(const mtd_event *ev, const char *name, size_t *len)
{
    int c = mtd_event_column(ev->type, name, strlen(name));
    if (c < 0)
        return NULL;
    const mtd_value *v = &ev->v[c];
    if (v->kind == MTD_V_BOOL) {
        if (len)
            *len = v->i ? 4 : 5;
        return v->i ? "true" : "false";
    }
    if (v->kind != MTD_V_STR)
        return NULL;
    if (len)
        *len = v->len;
    return v->s;
}

int mtd_event_is_true(const mtd_event *ev, const char *name)
{
    int c = mtd_event_column(ev->type, name, strlen(name));
    return c >= 0 && ev->v[c].kind == MTD_V_BOOL && ev->v[c].i;
}

int mtd_event_has(const mtd_event *ev, const char *name)
{
    int c = mtd_event_column(ev->type, name, strlen(name));
    return c >= 0 && ev->v[c].kind != MTD_V_NONE;
}

int mtd_event_from_json(const json_t *obj, mtd_event *ev, char **text, char *why, size_t wl)
{
    *text = json_dumps(obj, JSON_COMPACT);
    if (!*text) {
        snprintf(why, wl, "cannot encode the event");
        return MTD_ENOMEM;
    }
    return mtd_event_parse(*text, strlen(*text), ev, why, wl);
}
