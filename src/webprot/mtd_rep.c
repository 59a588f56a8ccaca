/* mtd_rep: compiling feeds into databases and looking URLs and names up in them. */
#include "webprot/mtd_rep.h"
#include "common/mtd_err.h"
#include "common/mtd_file.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MTD_REP_MAX_DBS 16
#define MTD_FEED_MAX_BYTES (512u << 20)

struct mtd_rep {
    mtd_repdb *db[MTD_REP_MAX_DBS];
    int n;
};

typedef struct {
    mtd_repdb_builder *b;
    mtd_rep_compile_opts *o;
    const char *path;
    size_t bad;
    int err;
} feed_ctx;

static int on_indicator(void *vctx, const mtd_indicator *ind, size_t line)
{
    feed_ctx *x = vctx;
    mtd_url_expr e = mtd_url_entry(ind->url);
    int r = mtd_repdb_builder_add(x->b, ind->url->buf + e.off, e.len, ind->threat_name,
                                  ind->category, ind->allow);
    if (r == MTD_ETOOBIG) { /* kept, under its category's name */
        x->o->folded++;
        r = 0;
    }
    return r;
}

static void on_bad_line(void *vctx, size_t line, const char *why)
{
    feed_ctx *x = vctx;
    size_t max = x->o->max_bad_lines ? x->o->max_bad_lines : 20;
    if (x->o->log && x->bad < max)
        fprintf(x->o->log, "%s:%zu: %s (line skipped)\n", x->path, line, why);
    else if (x->o->log && x->bad == max)
        fprintf(x->o->log, "%s: more bad lines not shown\n", x->path);
    x->bad++;
}

static void log_counts(FILE *log, const char *path, const mtd_feed_stats *st)
{
    static const char *const types[] = {"domain-name", "url", "ipv4-addr", "ipv6-addr"};
    if (!log)
        return;
    fprintf(log, "%s: %s, %zu indicators", path, mtd_feed_format_name(st->format), st->indicators);
    if (st->format == MTD_FEED_STIX)
        for (int i = 0; i < 4; i++)
            if (st->stix_by_type[i])
                fprintf(log, ", %zu %s", st->stix_by_type[i], types[i]);
    for (size_t i = 0; i < st->nskipped; i++)
        fprintf(log, "%s %zu %s skipped", i ? "," : ";", st->skipped[i].count, st->skipped[i].type);
    if (st->bad_lines)
        fprintf(log, "; %zu bad lines", st->bad_lines);
    fputc('\n', log);
}

int mtd_rep_add_feed(mtd_repdb_builder *b, const char *path, const uint8_t *buf, size_t len,
                     mtd_rep_compile_opts *o, char *why, size_t wl)
{
    feed_ctx x = {.b = b, .o = o, .path = path};
    mtd_feed_sink sink = {on_indicator, on_bad_line, &x};
    mtd_feed_stats st;
    char w[300];
    size_t before = mtd_repdb_builder_count(b);
    int r = mtd_feed_parse(buf, len, path, &sink, &st, w, sizeof w);
    o->bad_lines += st.bad_lines;
    if (r) {
        snprintf(why, wl, "%s: %s", path, r == MTD_ENOMEM ? "out of memory" : w);
        return r;
    }
    o->entries += mtd_repdb_builder_count(b) - before;
    log_counts(o->log, path, &st);
    return 0;
}

/* One policy list; its entries are reported by position ("web_block[3]"). */
static int add_list(mtd_repdb_builder *b, const char *list, const char *key, int allow,
                    mtd_rep_compile_opts *o, char *why, size_t wl)
{
    feed_ctx x = {.b = b, .o = o, .path = key};
    mtd_feed_sink sink = {on_indicator, NULL, &x};
    size_t i = 0;
    for (const char *s = list; *s; i++) {
        size_t l = strcspn(s, "\n");
        const char *w = "";
        int r = mtd_feed_value(s, l, allow ? "Allowed by the organization" : "Blocked by the organization",
                               "policy", allow, &sink, i + 1, &w);
        if (r == MTD_EINVAL && o->log)
            fprintf(o->log, "policy %s[%zu] \"%.*s\": %s (skipped)\n", key, i, (int)l, s, w);
        else if (r) {
            snprintf(why, wl, "policy %s: out of memory", key);
            return r;
        } else
            o->entries++;
        s += l + (s[l] == '\n');
    }
    return 0;
}

int mtd_rep_add_policy(mtd_repdb_builder *b, const mtd_policy *pol, mtd_rep_compile_opts *o,
                       char *why, size_t wl)
{
    int r = add_list(b, pol->web_allow, "web_allow", 1, o, why, wl);
    return r ? r : add_list(b, pol->web_block, "web_block", 0, o, why, wl);
}

static int read_feed(const char *path, uint8_t **buf, size_t *len, char *why, size_t wl)
{
    int r = mtd_file_read(path, MTD_FEED_MAX_BYTES, buf, len);
    if (r)
        snprintf(why, wl, "%s: %s", path, r == MTD_ETOOBIG ? "over 512 MiB" : mtd_strerror(r));
    return r;
}

/* Feeds (not databases) and the policy into a finished database in memory. */
static int build(const char *const *feeds, int n, const mtd_policy *pol, mtd_rep_compile_opts *o,
                 uint8_t **out, size_t *olen, char *why, size_t wl)
{
    mtd_repdb_builder *b = mtd_repdb_builder_new();
    if (!b)
        return MTD_ENOMEM;
    int r = 0;
    for (int i = 0; r == 0 && i < n; i++) {
        uint8_t *buf;
        size_t len;
        if ((r = read_feed(feeds[i], &buf, &len, why, wl)) != 0)
            break;
        if (mtd_repdb_is_db(buf, len)) {
            snprintf(why, wl, "%s: a compiled database cannot be compiled again (give its feeds)", feeds[i]);
            r = MTD_EINVAL;
        } else {
            r = mtd_rep_add_feed(b, feeds[i], buf, len, o, why, wl);
        }
        free(buf);
    }
    if (r == 0 && pol)
        r = mtd_rep_add_policy(b, pol, o, why, wl);
    if (r == 0 && (r = mtd_repdb_builder_finish(b, out, olen)) != 0)
        snprintf(why, wl, "out of memory");
    mtd_repdb_builder_free(b);
    return r;
}

int mtd_rep_compile(const char *out, const char *const *feeds, int nfeeds, const mtd_policy *pol,
                    mtd_rep_compile_opts *o, char *why, size_t wl)
{
    uint8_t *db;
    size_t len;
    int r = build(feeds, nfeeds, pol, o, &db, &len, why, wl);
    if (r)
        return r;
    if ((r = mtd_file_write_atomic(out, db, len, 0644)) != 0)
        snprintf(why, wl, "--out %s: %s", out, mtd_strerror(r));
    free(db);
    return r;
}

static int add_db(mtd_rep *rep, mtd_repdb *db, char *why, size_t wl)
{
    if (rep->n == MTD_REP_MAX_DBS) {
        mtd_repdb_close(db);
        snprintf(why, wl, "more than %d databases", MTD_REP_MAX_DBS);
        return MTD_ETOOBIG;
    }
    rep->db[rep->n++] = db;
    return 0;
}

/* A raw feed given where a database is expected: compiled in memory, quietly. */
static int open_feed(mtd_rep *rep, const char *path, char *why, size_t wl)
{
    mtd_rep_compile_opts o = {0};
    uint8_t *db;
    size_t len;
    char w[300];
    int r = build(&path, 1, NULL, &o, &db, &len, why, wl);
    if (r == 0 && (r = mtd_repdb_open_mem(db, len, &rep->db[rep->n], w, sizeof w)) != 0)
        snprintf(why, wl, "%s: %s", path, w);
    if (r == 0)
        rep->n++;
    return r;
}

int mtd_rep_open(const char *const *files, int nfiles, const mtd_policy *pol, mtd_rep **out,
                 char *why, size_t wl)
{
    mtd_rep *rep = calloc(1, sizeof *rep);
    if (!rep)
        return MTD_ENOMEM;
    int r = 0;
    for (int i = 0; r == 0 && i < nfiles; i++) {
        uint8_t head[8] = {0};
        FILE *f = fopen(files[i], "rb");
        size_t got = f ? fread(head, 1, sizeof head, f) : 0;
        if (f)
            fclose(f);
        if (!f) {
            snprintf(why, wl, "%s: cannot open: %s", files[i], strerror(errno));
            r = errno == ENOENT ? MTD_ENOENT : MTD_EIO;
        } else if (rep->n == MTD_REP_MAX_DBS) {
            snprintf(why, wl, "more than %d feeds or databases", MTD_REP_MAX_DBS);
            r = MTD_ETOOBIG;
        } else if (mtd_repdb_is_db(head, got)) {
            mtd_repdb *db;
            char w[300];
            if ((r = mtd_repdb_open(files[i], &db, w, sizeof w)) != 0)
                snprintf(why, wl, "%s: %s", files[i], w);
            else
                r = add_db(rep, db, why, wl);
        } else {
            r = open_feed(rep, files[i], why, wl);
        }
    }
    if (r == 0 && pol && (pol->web_allow[0] || pol->web_block[0]) && rep->n < MTD_REP_MAX_DBS) {
        mtd_rep_compile_opts o = {0};
        uint8_t *db;
        size_t len;
        r = build(NULL, 0, pol, &o, &db, &len, why, wl);
        if (r == 0)
            r = mtd_repdb_open_mem(db, len, &rep->db[rep->n], why, wl);
        rep->n += r == 0;
    }
    if (r) {
        mtd_rep_close(rep);
        return r;
    }
    *out = rep;
    return 0;
}

void mtd_rep_close(mtd_rep *rep)
{
    if (!rep)
        return;
    for (int i = 0; i < rep->n; i++)
        mtd_repdb_close(rep->db[i]);
    free(rep);
}

size_t mtd_rep_entries(const mtd_rep *rep)
{
    size_t n = 0;
    for (int i = 0; i < rep->n; i++) {
        mtd_repdb_info info;
        mtd_repdb_info_get(rep->db[i], &info);
        n += info.entries;
    }
    return n;
}

/* Hashes every expression under every database's seed, hinting each bucket's memory. */
static void hash_all(const mtd_rep *rep, const char *buf, const mtd_url_expr *e, int ne,
                     uint64_t h[][MTD_URL_MAX_EXPR])
{
    for (int d = 0; d < rep->n; d++)
        for (int i = 0; i < ne; i++) {
            h[d][i] = mtd_repdb_hash(rep->db[d], buf + e[i].off, e[i].len);
            mtd_repdb_prefetch(rep->db[d], h[d][i]);
        }
}

/* The verdict over hashed expressions: 1 block, 0 allow; *which gets the deciding
 * expression's index (-1 when nothing matched). An allow entry anywhere wins, else the
 * first block entry in expression order. */
static int resolve(const mtd_rep *rep, uint64_t h[][MTD_URL_MAX_EXPR], int ne, mtd_rep_record *rec,
                   int *which)
{
    int block = -1;
    *which = -1;
    for (int i = 0; i < ne; i++)
        for (int d = 0; d < rep->n; d++) {
            int idx = mtd_repdb_find(rep->db[d], h[d][i]);
            if (idx < 0)
                continue;
            mtd_rep_record r;
            mtd_repdb_record(rep->db[d], idx, &r);
            if (r.allow) {
                *rec = r;
                *which = i;
                return 0;
            }
            if (block < 0) {
                block = i;
                *rec = r;
            }
        }
    *which = block;
    return block >= 0;
}

/* Hashes first, with every bucket prefetched, so the probes' memory is fetched in
 * parallel rather than one miss after another. */
static int decide(const mtd_rep *rep, const char *buf, const mtd_url_expr *e, int ne,
                  mtd_rep_record *rec, int *which)
{
    uint64_t h[MTD_REP_MAX_DBS][MTD_URL_MAX_EXPR];
    hash_all(rep, buf, e, ne, h);
    return resolve(rep, h, ne, rec, which);
}

static void fill(const mtd_url *u, const mtd_url_expr *e, int which, int block, mtd_rep_result *res)
{
    res->block = block;
    res->listed = which >= 0;
    res->matched[0] = 0;
    if (which >= 0)
        memcpy(res->matched, u->buf + e[which].off, e[which].len), res->matched[e[which].len] = 0;
    snprintf(res->host, sizeof res->host, "%.*s", (int)u->host_len, u->buf);
}

/* The verdict over u's expressions (only its host expressions when host_only). */
static void check(const mtd_rep *rep, const mtd_url *u, int host_only, mtd_rep_result *res)
{
    mtd_url_expr e[MTD_URL_MAX_EXPR];
    int ne = host_only ? mtd_url_host_expressions(u, e) : mtd_url_expressions(u, e), which;
    int block = decide(rep, u->buf, e, ne, &res->rec, &which);
    fill(u, e, which, block, res);
}

int mtd_rep_check_url(const mtd_rep *rep, const char *url, size_t len, mtd_rep_result *res,
                      const char **why)
{
    mtd_url u;
    int r = mtd_url_canonicalize(url, len, &u, why);
    if (r == 0)
        check(rep, &u, 0, res);
    return r;
}

int mtd_rep_check_host(const mtd_rep *rep, const char *name, size_t len, mtd_rep_result *res,
                       const char **why)
{
    mtd_url u;
    int r = mtd_url_from_host(name, len, &u, why);
    if (r == 0)
        check(rep, &u, 1, res);
    return r;
}

/* A DNS name as it usually comes: lowercase-able letters, digits, '-', '_' and single
 * dots, not an IP address. Such a name is its own canonical host, so the full
 * canonicalization (which copies the name several times) is skipped: one pass copies
 * it lowercased into out (with the '/' of a host expression) and notes its dots.
 * Returns the number of dots, or -1 for a name that must go the long way. */
/* Byte classes of DNS names: 0 not in a simple name, 1 digit, 2 letter, '-' or '_',
 * 3 dot; with the lowercase of each letter. A table, because this loop is most of a
 * cached lookup's time (bench_reputation). */
static uint8_t g_class[256], g_lower[256];
static void classes_init(void)
{
    for (int c = 0; c < 256; c++) {
        g_lower[c] = (uint8_t)(c >= 'A' && c <= 'Z' ? c + 32 : c);
        g_class[c] = (c >= '0' && c <= '9') ? 1 : ((c | 32) >= 'a' && (c | 32) <= 'z') || c == '-' || c == '_' ? 2
                     : c == '.' ? 3 : 0;
    }
}
static pthread_once_t g_classes = PTHREAD_ONCE_INIT;

static int simple_name(const char *s, size_t n, char *out, uint16_t *dots)
{
    int nd = 0, letters = 0, prev = 3;
    if (n == 0 || n > 253)
        return -1;
    pthread_once(&g_classes, classes_init);
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)s[i], k = g_class[c];
        if (k == 0 || (k == 3 && prev == 3))
            return -1; /* a byte to escape, a leading dot or two dots in a row */
        if (k == 3)
            dots[nd++] = (uint16_t)i;
        letters |= k == 2;
        prev = k;
        out[i] = (char)g_lower[c];
    }
    if (prev == 3)
        return -1; /* a trailing dot */
    out[n] = '/';
    return letters ? nd : -1; /* "1.2.3.4" and "3279880203" go the long way, as IPs */
}

static int simple_exprs(const char *name, size_t len, char *buf, mtd_url_expr *e);

int mtd_rep_host_verdict(const mtd_rep *rep, const char *name, size_t len, mtd_rep_record *rec,
                         size_t *matched_off)
{
    char buf[260];
    mtd_url_expr e[MTD_URL_MAX_EXPR];
    int which, ne = simple_exprs(name, len, buf, e); /* the suffixes of mtd_url_host_expressions */
    const char *b = buf;
    static __thread mtd_url u; /* only for unusual names; too large for every call's stack */
    if (ne < 0) {
        if (mtd_url_from_host(name, len, &u, NULL) != 0)
            return -1;
        ne = mtd_url_host_expressions(&u, e);
        b = u.buf;
    }
    int block = decide(rep, b, e, ne, rec, &which);
    if (matched_off)
        *matched_off = which >= 0 ? e[which].off : 0;
    return block;
}

#define GROUP 16
#define HOST_EXPR 5 /* the exact host and at most four suffixes */

/* Expressions of a simple name into buf; -1 for a name that is not simple. */
static int simple_exprs(const char *name, size_t len, char *buf, mtd_url_expr *e)
{
    uint16_t dots[130];
    int nd = simple_name(name, len, buf, dots), ne = 1;
    if (nd < 0)
        return -1;
    e[0] = (mtd_url_expr){0, (uint16_t)(len + 1)};
    for (int k = nd + 1 < 5 ? nd + 1 : 5; k >= 2; k--)
        if (k != nd + 1)
            e[ne++] = (mtd_url_expr){(uint16_t)(dots[nd - k] + 1), (uint16_t)(len - dots[nd - k])};
    return ne;
}

/* One group: every name's hashes (buckets prefetched), then every probe's first hash
 * line prefetched, then the verdicts: the memory of the whole group is in flight at
 * once, which is where a lookup's time goes once the database outgrows the caches. */
static void verdict_group(const mtd_rep *rep, mtd_rep_query *q, size_t n)
{
    /* on the stack, not in thread-local storage: a thread's TLS is cleared when the
     * thread starts, which made these 65 KiB resident in every thread of the process,
     * most of which never look anything up */
    char buf[GROUP][260];
    uint64_t h[GROUP][MTD_REP_MAX_DBS][MTD_URL_MAX_EXPR];
    mtd_url_expr e[GROUP][HOST_EXPR];
    int ne[GROUP];
    for (size_t k = 0; k < n; k++) {
        ne[k] = simple_exprs(q[k].name, q[k].len, buf[k], e[k]);
        if (ne[k] > 0)
            hash_all(rep, buf[k], e[k], ne[k], h[k]);
    }
    for (size_t k = 0; k < n; k++)
        for (int d = 0; d < rep->n && ne[k] > 0; d++)
            for (int i = 0; i < ne[k]; i++)
                mtd_repdb_prefetch_entries(rep->db[d], h[k][d][i]);
    for (size_t k = 0; k < n; k++) {
        if (ne[k] < 0) { /* an unusual name: the long way */
            q[k].verdict = mtd_rep_host_verdict(rep, q[k].name, q[k].len, &q[k].rec, &q[k].matched_off);
            continue;
        }
        int which;
        q[k].verdict = resolve(rep, h[k], ne[k], &q[k].rec, &which);
        q[k].matched_off = which >= 0 ? e[k][which].off : 0;
    }
}

void mtd_rep_host_verdicts(const mtd_rep *rep, mtd_rep_query *q, size_t n)
{
    for (size_t i = 0; i < n; i += GROUP)
        verdict_group(rep, q + i, n - i < GROUP ? n - i : GROUP);
}
