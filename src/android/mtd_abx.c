/* mtd_abx: Android's binary XML (ABX), as BinaryXmlSerializer writes packages.xml and
 * its siblings since Android 12. Hand-written: no C library reads it.
 *
 * After the "ABX\0" magic comes a stream of tokens; each byte holds the token kind in
 * its low nibble and the value type in its high nibble. Names are interned: a 16-bit
 * big-endian index, or 0xFFFF followed by a new string (16-bit big-endian length and
 * UTF-8 bytes) that takes the next index. Typed attribute values are rendered as
 * Android renders them back to text (decimal, hex, shortest float, hex or base64
 * bytes). Every read is bounds-checked; tables and depths have caps. */
#include "android/mtd_xmlev.h"
#include "common/mtd_buf.h"
#include "common/mtd_err.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOK_START_DOCUMENT 0
#define TOK_END_DOCUMENT 1
#define TOK_START_TAG 2
#define TOK_END_TAG 3
#define TOK_TEXT 4
#define TOK_ATTRIBUTE 15

#define T_NULL 1
#define T_STRING 2
#define T_INTERNED 3
#define T_BYTES_HEX 4
#define T_BYTES_BASE64 5
#define T_INT 6
#define T_INT_HEX 7
#define T_LONG 8
#define T_LONG_HEX 9
#define T_FLOAT 10
#define T_DOUBLE 11
#define T_TRUE 12
#define T_FALSE 13

#define MAX_INTERNED 65535
#define MAX_ATTRS 256
#define MAX_DEPTH 256

typedef struct {
    const uint8_t *p, *end, *start;
    char **pool;
    size_t npool;
    const char *err;
} abx;

static int need(abx *a, size_t n)
{
    if ((size_t)(a->end - a->p) < n) {
        a->err = "truncated";
        return -1;
    }
    return 0;
}

static int u16(abx *a, uint16_t *v)
{
    if (need(a, 2))
        return -1;
    *v = (uint16_t)(a->p[0] << 8 | a->p[1]);
    a->p += 2;
    return 0;
}

/* A length-prefixed UTF-8 string (DataOutput.writeUTF), malloc'd. */
static char *utf(abx *a)
{
    uint16_t n;
    if (u16(a, &n) || need(a, n))
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s) {
        a->err = "out of memory";
        return NULL;
    }
    memcpy(s, a->p, n);
    s[n] = 0;
    a->p += n;
    return s;
}

/* An interned string: borrowed from the table. */
static const char *interned(abx *a)
{
    uint16_t i;
    if (u16(a, &i))
        return NULL;
    if (i != 0xffff) {
        if (i >= a->npool) {
            a->err = "interned string index out of range";
            return NULL;
        }
        return a->pool[i];
    }
    if (a->npool >= MAX_INTERNED) {
        a->err = "too many interned strings";
        return NULL;
    }
    char *s = utf(a);
    if (!s)
        return NULL;
    char **np = realloc(a->pool, (a->npool + 1) * sizeof *np);
    if (!np) {
        free(s);
        a->err = "out of memory";
        return NULL;
    }
    a->pool = np;
    a->pool[a->npool++] = s;
    return s;
}

static uint64_t be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Shortest text that reads back as the same float or double, as Java prints it. */
static void shortest(double v, int is_float, char *out, size_t len)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, len, "%.*g", prec, v);
        if (is_float ? (float)strtod(out, NULL) == (float)v : strtod(out, NULL) == v)
            break;
    }
    if (!strchr(out, '.') && !strchr(out, 'e') && !strchr(out, 'n') && !strchr(out, 'i'))
        strncat(out, ".0", len - strlen(out) - 1); /* Java writes 1.0, not 1 */
}

static void bytes_text(const uint8_t *p, size_t n, int b64, mtd_buf *o)
{
    static const char hx[] = "0123456789abcdef";
    static const char tb[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (!b64) {
        for (size_t i = 0; i < n; i++) {
            char c[2] = {hx[p[i] >> 4], hx[p[i] & 15]};
            mtd_buf_append(o, c, 2);
        }
        return;
    }
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        char c[4] = {tb[v >> 18], tb[(v >> 12) & 63], i + 1 < n ? tb[(v >> 6) & 63] : '=', i + 2 < n ? tb[v & 63] : '='};
        mtd_buf_append(o, c, 4);
    }
}

/* A typed attribute value as text into o. */
static int value_text(abx *a, int type, mtd_buf *o)
{
    static const int width[16] = {[T_INT] = 4, [T_INT_HEX] = 4, [T_LONG] = 8, [T_LONG_HEX] = 8,
                                  [T_FLOAT] = 4, [T_DOUBLE] = 8};
    char num[64];
    if (type == T_STRING) {
        char *s = utf(a);
        if (!s)
            return -1;
        mtd_buf_puts(o, s);
        free(s);
        return 0;
    }
    if (type == T_INTERNED) {
        const char *s = interned(a);
        return s ? mtd_buf_puts(o, s) : -1;
    }
    if (type == T_TRUE || type == T_FALSE)
        return mtd_buf_puts(o, type == T_TRUE ? "true" : "false");
    if (type == T_BYTES_HEX || type == T_BYTES_BASE64) {
        uint16_t n;
        if (u16(a, &n) || need(a, n))
            return -1;
        bytes_text(a->p, n, type == T_BYTES_BASE64, o);
        a->p += n;
        return 0;
    }
    if (type >= 16 || !width[type] || need(a, (size_t)width[type])) {
        if (!a->err)
            a->err = "unknown attribute type";
        return -1;
    }
    uint64_t v = be(a->p, width[type]);
    a->p += width[type];
    switch (type) {
    case T_INT: snprintf(num, sizeof num, "%d", (int32_t)(uint32_t)v); break;
    case T_INT_HEX: snprintf(num, sizeof num, "%x", (uint32_t)v); break;
    case T_LONG: snprintf(num, sizeof num, "%lld", (long long)(int64_t)v); break;
    case T_LONG_HEX: snprintf(num, sizeof num, "%llx", (unsigned long long)v); break;
    case T_FLOAT: {
        uint32_t u = (uint32_t)v;
        float f;
        memcpy(&f, &u, 4);
        shortest(f, 1, num, sizeof num);
        break;
    }
    default: {
        double d;
        memcpy(&d, &v, 8);
        shortest(d, 0, num, sizeof num);
        break;
    }
    }
    return mtd_buf_puts(o, num);
}

typedef struct {
    const char *name;
    char *keys[MAX_ATTRS];
    mtd_buf vals[MAX_ATTRS];
    int n;
} pending;

static void flush(pending *t, const mtd_xmlev *cb)
{
    if (!t->name)
        return;
    const char *attrs[2 * MAX_ATTRS + 1];
    for (int i = 0; i < t->n; i++) {
        attrs[2 * i] = t->keys[i];
        attrs[2 * i + 1] = t->vals[i].data ? (const char *)t->vals[i].data : "";
    }
    attrs[2 * t->n] = NULL;
    cb->start(cb->ctx, t->name, attrs);
    for (int i = 0; i < t->n; i++)
        mtd_buf_free(&t->vals[i]);
    t->n = 0;
    t->name = NULL;
}

static int token(abx *a, pending *t, const mtd_xmlev *cb, int *depth)
{
    uint8_t b = *a->p++;
    int kind = b & 15, type = b >> 4;
    if (kind == TOK_ATTRIBUTE) {
        if (!t->name || t->n >= MAX_ATTRS) {
            a->err = t->name ? "too many attributes" : "attribute outside a start tag";
            return -1;
        }
        const char *k = interned(a);
        if (!k)
            return -1;
        t->keys[t->n] = (char *)k;
        mtd_buf_init(&t->vals[t->n], 1 << 20);
        if (value_text(a, type, &t->vals[t->n]) != 0) {
            mtd_buf_free(&t->vals[t->n]);
            return -1;
        }
        t->n++;
        return 0;
    }
    flush(t, cb);
    if (kind == TOK_START_TAG || kind == TOK_END_TAG) {
        const char *name = type == T_INTERNED ? interned(a) : NULL;
        if (!name) {
            if (!a->err)
                a->err = "tag name is not an interned string";
            return -1;
        }
        if (kind == TOK_START_TAG) {
            if (++*depth > MAX_DEPTH) {
                a->err = "nested too deeply";
                return -1;
            }
            t->name = name;
        } else {
            --*depth;
            cb->end(cb->ctx, name);
        }
        return 0;
    }
    if (kind == TOK_START_DOCUMENT || kind == TOK_END_DOCUMENT)
        return 0;
    /* text-like tokens: TEXT, CDSECT, comments, ...: a string or nothing */
    if (type == T_STRING) {
        char *s = utf(a);
        if (!s)
            return -1;
        if (kind == TOK_TEXT && cb->text)
            cb->text(cb->ctx, s, strlen(s));
        free(s);
        return 0;
    }
    if (type == T_NULL)
        return 0;
    a->err = "unknown token";
    return -1;
}

int mtd_abx_parse(const uint8_t *buf, size_t len, const mtd_xmlev *cb, char *why, size_t wl)
{
    if (len < 4 || memcmp(buf, "ABX\0", 4) != 0) {
        snprintf(why, wl, "not ABX (no ABX magic)");
        return MTD_EINVAL;
    }
    abx a = {buf + 4, buf + len, buf, NULL, 0, NULL};
    pending t = {0};
    int depth = 0, r = 0;
    while (a.p < a.end && r == 0)
        r = token(&a, &t, cb, &depth);
    if (r == 0)
        flush(&t, cb);
    for (int i = 0; i < t.n; i++)
        mtd_buf_free(&t.vals[i]);
    for (size_t i = 0; i < a.npool; i++)
        free(a.pool[i]);
    free(a.pool);
    if (r) {
        snprintf(why, wl, "ABX: %s at byte %zu", a.err ? a.err : "bad token", (size_t)(a.p - a.start));
        return MTD_EINVAL;
    }
    return 0;
}

/* ---- ABX back to text XML ---- */

typedef struct {
    mtd_buf out;
    int open; /* a start tag awaits its '>' */
} xmlout;

static void esc(mtd_buf *o, const char *s, size_t n, int attr)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '&') mtd_buf_puts(o, "&amp;");
        else if (c == '<') mtd_buf_puts(o, "&lt;");
        else if (c == '>') mtd_buf_puts(o, "&gt;");
        else if (attr && c == '"') mtd_buf_puts(o, "&quot;");
        else mtd_buf_append(o, &c, 1);
    }
}

static void close_open(xmlout *x)
{
    if (x->open)
        mtd_buf_puts(&x->out, ">");
    x->open = 0;
}

static void x_start(void *ctx, const char *name, const char **attrs)
{
    xmlout *x = ctx;
    close_open(x);
    mtd_buf_printf(&x->out, "<%s", name);
    for (int i = 0; attrs[i]; i += 2) {
        mtd_buf_printf(&x->out, " %s=\"", attrs[i]);
        esc(&x->out, attrs[i + 1], strlen(attrs[i + 1]), 1);
        mtd_buf_puts(&x->out, "\"");
    }
    x->open = 1;
}

static void x_end(void *ctx, const char *name)
{
    xmlout *x = ctx;
    if (x->open) {
        mtd_buf_puts(&x->out, " />");
        x->open = 0;
        return;
    }
    mtd_buf_printf(&x->out, "</%s>", name);
}

static void x_text(void *ctx, const char *s, size_t n)
{
    xmlout *x = ctx;
    close_open(x);
    esc(&x->out, s, n, 0);
}

int mtd_abx_to_xml(const uint8_t *buf, size_t len, char **xml, size_t *xmllen, char *why, size_t wl)
{
    xmlout x = {.open = 0};
    mtd_buf_init(&x.out, 0);
    mtd_xmlev cb = {&x, x_start, x_end, x_text};
    int r = mtd_abx_parse(buf, len, &cb, why, wl);
    if (r) {
        mtd_buf_free(&x.out);
        return r;
    }
    *xml = mtd_buf_steal(&x.out, xmllen);
    return 0;
}
