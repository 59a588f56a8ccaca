/* mtd_props: getprop output and build.prop files. */
#include "android/mtd_props.h"
#include "common/mtd_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PROPS 20000

static int add(mtd_props *p, const char *k, size_t kl, const char *v, size_t vl)
{
    if (p->n >= MAX_PROPS)
        return MTD_ETOOBIG;
    char **nk = realloc(p->k, (p->n + 1) * sizeof *nk), **nv;
    if (!nk)
        return MTD_ENOMEM;
    p->k = nk;
    nv = realloc(p->v, (p->n + 1) * sizeof *nv);
    if (!nv)
        return MTD_ENOMEM;
    p->v = nv;
    p->k[p->n] = strndup(k, kl);
    p->v[p->n] = strndup(v, vl);
    if (!p->k[p->n] || !p->v[p->n])
        return MTD_ENOMEM;
    p->n++;
    return 0;
}

static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t'))
        (*s)++, (*n)--;
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\r'))
        (*n)--;
}

/* "[key]: [value]" where value may contain newlines up to the closing "]\n". */
static int getprop_format(const char *s, const char *end, mtd_props *p)
{
    while (s < end) {
        if (*s != '[') {
            const char *nl = memchr(s, '\n', (size_t)(end - s));
            s = nl ? nl + 1 : end;
            continue;
        }
        const char *ke = memchr(s, ']', (size_t)(end - s));
        if (!ke || ke + 3 >= end || memcmp(ke, "]: [", 4) != 0)
            return MTD_EINVAL;
        const char *vs = ke + 4, *ve = vs;
        while (ve < end && !(*ve == ']' && (ve + 1 == end || ve[1] == '\n' || ve[1] == '\r')))
            ve++;
        if (ve >= end)
            return MTD_ETRUNC;
        int r = add(p, s + 1, (size_t)(ke - s - 1), vs, (size_t)(ve - vs));
        if (r)
            return r;
        s = ve + 1;
    }
    return 0;
}

static int buildprop_format(const char *s, const char *end, mtd_props *p)
{
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *le = nl ? nl : end;
        const char *eq = memchr(s, '=', (size_t)(le - s));
        const char *k = s;
        size_t kl = eq ? (size_t)(eq - s) : 0;
        trim(&k, &kl);
        if (eq && kl && *k != '#') {
            const char *v = eq + 1;
            size_t vl = (size_t)(le - v);
            trim(&v, &vl);
            int r = add(p, k, kl, v, vl);
            if (r)
                return r;
        }
        s = nl ? nl + 1 : end;
    }
    return 0;
}

int mtd_props_parse(const uint8_t *buf, size_t len, mtd_props *p, char *why, size_t wl)
{
    memset(p, 0, sizeof *p);
    const char *s = (const char *)buf, *end = s + len;
    while (s < end && (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t'))
        s++;
    int r = s < end && *s == '[' ? getprop_format(s, end, p) : buildprop_format(s, end, p);
    if (r) {
        snprintf(why, wl, "properties: %s after %zu properties",
                 r == MTD_ETRUNC ? "a value is not closed" : r == MTD_ETOOBIG ? "too many" : "a line is not [key]: [value]",
                 p->n);
        mtd_props_free(p);
    }
    return r;
}

int mtd_props_set(mtd_props *p, const char *key, const char *value)
{
    return add(p, key, strlen(key), value, strlen(value));
}

const char *mtd_props_get(const mtd_props *p, const char *key)
{
    for (size_t i = p->n; i-- > 0;)
        if (!strcmp(p->k[i], key))
            return p->v[i];
    return NULL;
}

void mtd_props_free(mtd_props *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->k[i]);
        free(p->v[i]);
    }
    free(p->k);
    free(p->v);
    memset(p, 0, sizeof *p);
}
