/* mtd_ioc: the indicator set (open-addressing hash tables) and the plain-list reader.
 *
 * Hand-written rather than a general hash map: digests are already uniform, so their
 * first eight bytes index the table directly, and the entries are plain arrays (44
 * bytes a digest) that a failed load truncates back to where it started. A table slot
 * holds an entry's index + 1 (0 = empty), at a load factor of at most one half. */
#include "scan/mtd_ioc.h"
#include "common/mtd_err.h"
#include "common/mtd_file.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILE ((size_t)256 << 20)
#define MAX_LINE 4096
#define MAX_NAME 200

typedef struct {
    uint8_t d[32];
    uint32_t ref, line;
    uint8_t kind;
} dig_t;

typedef struct {
    char *name;
    int64_t vmin, vmax;
    uint32_t ref, line;
} pkg_t;

typedef struct {
    char *path;
    uint32_t ref;
} path_t;

struct mtd_ioc {
    dig_t *dig;
    size_t ndig, capdig;
    uint32_t *dtab;
    size_t dslots;
    pkg_t *pkg;
    size_t npkg, cappkg;
    uint32_t *ptab;
    size_t pslots;
    path_t *path;
    size_t npath, cappath;
    mtd_ioc_ref *refs;
    size_t nref, capref;
};

mtd_ioc *mtd_ioc_new(void)
{
    return calloc(1, sizeof(mtd_ioc));
}

static void free_ref(mtd_ioc_ref *r)
{
    free((char *)r->threat_name);
    free((char *)r->category);
    free((char *)r->severity);
    free((char *)r->file);
    free((char *)r->stix_id);
}

/* Drops every entry and reference past the given counts (a failed load). */
static void truncate_to(mtd_ioc *s, size_t ndig, size_t npkg, size_t npath, size_t nref)
{
    for (size_t i = npkg; i < s->npkg; i++)
        free(s->pkg[i].name);
    for (size_t i = npath; i < s->npath; i++)
        free(s->path[i].path);
    for (size_t i = nref; i < s->nref; i++)
        free_ref(&s->refs[i]);
    s->ndig = ndig, s->npkg = npkg, s->npath = npath, s->nref = nref;
}

void mtd_ioc_free(mtd_ioc *s)
{
    if (!s)
        return;
    truncate_to(s, 0, 0, 0, 0);
    free(s->dig);
    free(s->dtab);
    free(s->pkg);
    free(s->ptab);
    free(s->path);
    free(s->refs);
    free(s);
}

static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 64;
    void *p = realloc(*arr, nc * elem);
    if (!p)
        return MTD_ENOMEM;
    *arr = p;
    *cap = nc;
    return 0;
}

static uint64_t dig_hash(const uint8_t d[32])
{
    uint64_t h;
    memcpy(&h, d, sizeof h);
    return h;
}

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

/* Rebuilds a table of n entries into at least 2n slots. */
static int rebuild(uint32_t **tab, size_t *slots, size_t n, uint64_t (*hash)(const mtd_ioc *, size_t),
                   const mtd_ioc *s)
{
    size_t want = 64;
    while (want < 2 * (n + 1))
        want *= 2;
    uint32_t *t = calloc(want, sizeof *t);
    if (!t)
        return MTD_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        size_t k = hash(s, i) & (want - 1);
        while (t[k])
            k = (k + 1) & (want - 1);
        t[k] = (uint32_t)i + 1;
    }
    free(*tab);
    *tab = t;
    *slots = want;
    return 0;
}

static uint64_t dig_at(const mtd_ioc *s, size_t i) { return dig_hash(s->dig[i].d); }
static uint64_t pkg_at(const mtd_ioc *s, size_t i) { return str_hash(s->pkg[i].name); }

uint32_t mtd_ioc_ref_add(mtd_ioc *s, const char *threat_name, const char *category,
                         const char *severity, const char *file, const char *stix_id)
{
    if (grow((void **)&s->refs, &s->capref, s->nref, sizeof *s->refs))
        return UINT32_MAX;
    mtd_ioc_ref *r = &s->refs[s->nref];
    r->threat_name = strdup(threat_name);
    r->category = strdup(category);
    r->severity = strdup(severity);
    r->file = strdup(file);
    r->stix_id = stix_id ? strdup(stix_id) : NULL;
    if (!r->threat_name || !r->category || !r->severity || !r->file || (stix_id && !r->stix_id)) {
        free_ref(r);
        return UINT32_MAX;
    }
    return (uint32_t)s->nref++;
}

/* The entry index of d with exactly kind, or SIZE_MAX. */
static size_t dig_find(const mtd_ioc *s, const uint8_t d[32], unsigned mask, int exact)
{
    if (!s->dslots)
        return SIZE_MAX;
    for (size_t k = dig_hash(d) & (s->dslots - 1); s->dtab[k]; k = (k + 1) & (s->dslots - 1)) {
        const dig_t *e = &s->dig[s->dtab[k] - 1];
        if ((exact ? e->kind == mask : (e->kind & mask) != 0) && !memcmp(e->d, d, 32))
            return s->dtab[k] - 1;
    }
    return SIZE_MAX;
}

int mtd_ioc_add_digest(mtd_ioc *s, const uint8_t d[32], unsigned kind, uint32_t ref, uint32_t line)
{
    if (dig_find(s, d, kind, 1) != SIZE_MAX)
        return 0; /* the first indicator of a digest names it */
    int r;
    if ((r = grow((void **)&s->dig, &s->capdig, s->ndig, sizeof *s->dig)) != 0)
        return r;
    if (2 * (s->ndig + 1) > s->dslots &&
        (r = rebuild(&s->dtab, &s->dslots, s->ndig, dig_at, s)) != 0)
        return r;
    dig_t *e = &s->dig[s->ndig];
    memcpy(e->d, d, 32);
    e->ref = ref, e->line = line, e->kind = (uint8_t)kind;
    size_t k = dig_hash(d) & (s->dslots - 1);
    while (s->dtab[k])
        k = (k + 1) & (s->dslots - 1);
    s->dtab[k] = (uint32_t)++s->ndig;
    return 0;
}

int mtd_ioc_add_package(mtd_ioc *s, const char *pkg, int64_t vmin, int64_t vmax, uint32_t ref,
                        uint32_t line)
{
    int r;
    if ((r = grow((void **)&s->pkg, &s->cappkg, s->npkg, sizeof *s->pkg)) != 0)
        return r;
    if (2 * (s->npkg + 1) > s->pslots && (r = rebuild(&s->ptab, &s->pslots, s->npkg, pkg_at, s)) != 0)
        return r;
    pkg_t *e = &s->pkg[s->npkg];
    if (!(e->name = strdup(pkg)))
        return MTD_ENOMEM;
    e->vmin = vmin, e->vmax = vmax, e->ref = ref, e->line = line;
    size_t k = str_hash(pkg) & (s->pslots - 1);
    while (s->ptab[k])
        k = (k + 1) & (s->pslots - 1);
    s->ptab[k] = (uint32_t)++s->npkg;
    return 0;
}

int mtd_ioc_add_path(mtd_ioc *s, const char *path, uint32_t ref)
{
    int r;
    if ((r = grow((void **)&s->path, &s->cappath, s->npath, sizeof *s->path)) != 0)
        return r;
    if (!(s->path[s->npath].path = strdup(path)))
        return MTD_ENOMEM;
    s->path[s->npath++].ref = ref;
    return 0;
}

int mtd_ioc_find_digest(const mtd_ioc *s, const uint8_t d[32], unsigned mask, mtd_ioc_match *m)
{
    size_t i = dig_find(s, d, mask, 0);
    if (i == SIZE_MAX)
        return 0;
    m->ref = &s->refs[s->dig[i].ref];
    m->line = s->dig[i].line;
    return 1;
}

int mtd_ioc_find_package(const mtd_ioc *s, const char *pkg, int64_t vc, mtd_ioc_match *m)
{
    if (!s->pslots || !pkg)
        return 0;
    for (size_t k = str_hash(pkg) & (s->pslots - 1); s->ptab[k]; k = (k + 1) & (s->pslots - 1)) {
        const pkg_t *e = &s->pkg[s->ptab[k] - 1];
        if (strcmp(e->name, pkg))
            continue;
        int open = e->vmin <= 0 && e->vmax == INT64_MAX;
        if (open || (vc >= 0 && vc >= e->vmin && vc <= e->vmax)) {
            m->ref = &s->refs[e->ref];
            m->line = e->line;
            return 1;
        }
    }
    return 0;
}

const char *mtd_ioc_path(const mtd_ioc *s, size_t i, mtd_ioc_match *m)
{
    if (i >= s->npath)
        return NULL;
    m->ref = &s->refs[s->path[i].ref];
    m->line = 0;
    return s->path[i].path;
}

size_t mtd_ioc_size(const mtd_ioc *s)
{
    return s->ndig + s->npkg + s->npath;
}

size_t mtd_ioc_digests(const mtd_ioc *s)
{
    return s->ndig;
}

void mtd_ioc_origin(const mtd_ioc_match *m, char *out, size_t outlen)
{
    if (m->ref->stix_id)
        snprintf(out, outlen, "%s %s", m->ref->file, m->ref->stix_id);
    else
        snprintf(out, outlen, "%s:%u", m->ref->file, m->line);
}

/* One hex digit, or -1 (two unsigned range checks: loading 100,000 digests spent 6%
 * of a scan's time here with a chain of comparisons). */
static int hexval(int c)
{
    unsigned d = (unsigned)c - '0', l = ((unsigned)c | 32) - 'a';
    return d < 10 ? (int)d : l < 6 ? (int)l + 10 : -1;
}

int mtd_ioc_hex32(const char *s, size_t n, int colons, uint8_t out[32])
{
    size_t step = colons ? 3 : 2;
    if (n != (colons ? 95 : 64))
        return MTD_EINVAL;
    for (size_t i = 0; i < 32; i++) {
        const char *p = s + i * step;
        int hi = hexval(p[0]), lo = hexval(p[1]);
        if (hi < 0 || lo < 0 || (colons && i < 31 && p[2] != ':'))
            return MTD_EINVAL;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int mtd_ioc_package_ok(const char *s, size_t n, int min_parts)
{
    int parts = 1;
    if (n == 0 || n > 255)
        return 0;
    for (size_t i = 0; i < n; i++) {
        int start = i == 0 || s[i - 1] == '.';
        unsigned char c = (unsigned char)s[i];
        if (c == '.') {
            if (start || i + 1 == n)
                return 0;
            parts++;
        } else if (!(isalpha(c) || (!start && (isdigit(c) || c == '_')))) {
            return 0;
        }
    }
    return parts >= min_parts;
}

/* "N", "N-M", "N-", "-M" -> [vmin, vmax]. */
static int parse_range(const char *s, size_t n, int64_t *vmin, int64_t *vmax)
{
    char buf[48];
    if (n == 0 || n >= sizeof buf)
        return MTD_EINVAL;
    memcpy(buf, s, n);
    buf[n] = 0;
    char *dash = strchr(buf, '-'), *end;
    if (dash)
        *dash = 0;
    const char *lo = buf, *hi = dash ? dash + 1 : buf;
    if (!*lo && !*hi)
        return MTD_EINVAL;
    *vmin = 0, *vmax = INT64_MAX;
    if (*lo) {
        if (!isdigit((unsigned char)*lo) || (*vmin = strtoll(lo, &end, 10)) < 0 || *end)
            return MTD_EINVAL;
    }
    if (*hi) {
        if (!isdigit((unsigned char)*hi) || (*vmax = strtoll(hi, &end, 10)) < 0 || *end)
            return MTD_EINVAL;
    }
    return *vmin <= *vmax ? 0 : MTD_EINVAL;
}

/* One list entry (value = [v, v+n)) under ref; *counter gets the statistic it adds to. */
static int list_value(mtd_ioc *s, const char *v, size_t n, uint32_t ref, uint32_t line,
                      mtd_ioc_stats *st, size_t **counter)
{
    uint8_t d[32];
    *counter = &st->digests;
    if (n > 7 && !strncmp(v, "sha256:", 7))
        return mtd_ioc_hex32(v + 7, n - 7, 0, d) ? MTD_EINVAL : mtd_ioc_add_digest(s, d, MTD_IOC_FILE, ref, line);
    if (mtd_ioc_hex32(v, n, 0, d) == 0)
        return mtd_ioc_add_digest(s, d, MTD_IOC_FILE | MTD_IOC_CERT, ref, line);
    *counter = &st->certs;
    int cert = n > 5 && !strncmp(v, "cert:", 5);
    if (cert && mtd_ioc_hex32(v + 5, n - 5, memchr(v + 5, ':', n - 5) != NULL, d) == 0)
        return mtd_ioc_add_digest(s, d, MTD_IOC_CERT, ref, line);
    if (cert || mtd_ioc_hex32(v, n, 1, d) == 0)
        return cert ? MTD_EINVAL : mtd_ioc_add_digest(s, d, MTD_IOC_CERT, ref, line);
    *counter = &st->packages;
    int explicit_pkg = n > 8 && !strncmp(v, "package:", 8);
    if (explicit_pkg)
        v += 8, n -= 8;
    const char *at = memchr(v, '@', n);
    size_t pn = at ? (size_t)(at - v) : n;
    int64_t vmin = 0, vmax = INT64_MAX;
    if (!mtd_ioc_package_ok(v, pn, explicit_pkg ? 1 : 2) ||
        (at && parse_range(at + 1, n - pn - 1, &vmin, &vmax)))
        return MTD_EINVAL;
    char name[256];
    memcpy(name, v, pn);
    name[pn] = 0;
    return mtd_ioc_add_package(s, name, vmin, vmax, ref, line);
}

static const char *base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

/* The reference of a threat name in this list (one per distinct name). */
static uint32_t list_ref(mtd_ioc *s, size_t first_ref, const char *file, const char *name)
{
    for (size_t i = first_ref; i < s->nref; i++)
        if (!strcmp(s->refs[i].threat_name, name))
            return (uint32_t)i;
    return mtd_ioc_ref_add(s, name, "malware", "high", file, NULL);
}

static int plain_list(mtd_ioc *s, const char *name, const uint8_t *buf, size_t len,
                      mtd_ioc_stats *st, char *why, size_t wl)
{
    const char *file = base_name(name);
    char dflt[256];
    snprintf(dflt, sizeof dflt, "Known malicious app (%s)", file);
    size_t first_ref = s->nref;
    uint32_t line = 0, dref = UINT32_MAX;
    for (size_t off = 0; off < len;) {
        const uint8_t *nl = memchr(buf + off, '\n', len - off);
        size_t n = nl ? (size_t)(nl - (buf + off)) : len - off;
        const char *l = (const char *)buf + off;
        off += n + 1;
        line++;
        if (n > MAX_LINE) {
            snprintf(why, wl, "%s:%u: line longer than %d bytes", name, line, MAX_LINE);
            return MTD_ETOOBIG;
        }
        char tmp[MAX_LINE + 1];
        memcpy(tmp, l, n);
        tmp[n] = 0;
        for (size_t i = 0; i < n; i++)
            if (tmp[i] == '#' && (i == 0 || isspace((unsigned char)tmp[i - 1])))
                tmp[i] = 0, n = i;
            else if (tmp[i] == 0 || ((unsigned char)tmp[i] < 0x20 && tmp[i] != '\t' && tmp[i] != '\r')) {
                snprintf(why, wl, "%s:%u: control character in the line", name, line);
                return MTD_EINVAL;
            }
        char *v = tmp;
        while (isspace((unsigned char)*v))
            v++;
        size_t vn = strcspn(v, " \t\r");
        if (vn == 0)
            continue;
        char *tn = v + vn;
        while (isspace((unsigned char)*tn))
            tn++;
        size_t tl = strlen(tn);
        while (tl && isspace((unsigned char)tn[tl - 1]))
            tn[--tl] = 0;
        if (tl > MAX_NAME) {
            snprintf(why, wl, "%s:%u: threat name longer than %d bytes", name, line, MAX_NAME);
            return MTD_ETOOBIG;
        }
        uint32_t ref = tl ? list_ref(s, first_ref, file, tn)
                          : dref != UINT32_MAX ? dref : (dref = list_ref(s, first_ref, file, dflt));
        if (ref == UINT32_MAX)
            return MTD_ENOMEM;
        size_t *counter;
        int r = list_value(s, v, vn, ref, line, st, &counter);
        if (r == MTD_EINVAL) {
            snprintf(why, wl, "%s:%u: \"%.*s\" is not a SHA-256, certificate digest or package name",
                     name, line, (int)(vn > 80 ? 80 : vn), v);
            return r;
        }
        if (r)
            return r;
        st->indicators++;
        (*counter)++;
    }
    return 0;
}

int mtd_ioc_load_buf(mtd_ioc *s, const char *name, const uint8_t *buf, size_t len,
                     mtd_ioc_stats *st, char *why, size_t wl)
{
    mtd_ioc_stats local;
    if (!st)
        st = &local;
    memset(st, 0, sizeof *st);
    size_t ndig = s->ndig, npkg = s->npkg, npath = s->npath, nref = s->nref;
    size_t i = 0;
    while (i < len && isspace(buf[i]))
        i++;
    int r = i < len && buf[i] == '{' ? mtd_stix_load(s, name, buf, len, st, why, wl)
                                     : plain_list(s, name, buf, len, st, why, wl);
    if (r) {
        if (r == MTD_ENOMEM)
            snprintf(why, wl, "%s: out of memory", name);
        truncate_to(s, ndig, npkg, npath, nref);
        /* the tables may index dropped entries: make them again from what stays */
        if (rebuild(&s->dtab, &s->dslots, s->ndig, dig_at, s) ||
            rebuild(&s->ptab, &s->pslots, s->npkg, pkg_at, s))
            return MTD_ENOMEM;
    }
    return r;
}

int mtd_ioc_load_file(mtd_ioc *s, const char *path, mtd_ioc_stats *st, char *why, size_t wl)
{
    uint8_t *buf;
    size_t len;
    int r = mtd_file_read(path, MAX_FILE, &buf, &len);
    if (r) {
        snprintf(why, wl, "%s: %s", path, r == MTD_ETOOBIG ? "larger than 256 MiB" : mtd_strerror(r));
        return r;
    }
    r = mtd_ioc_load_buf(s, path, buf, len, st, why, wl);
    free(buf);
    return r;
}
