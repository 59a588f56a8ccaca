/* mtd_batch: zstd frame -> JSON lines -> schema-valid events, under hard caps. */
#include "collector/mtd_batch.h"
#include "collector/mtd_collector.h"
#include "common/mtd_err.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

static int fail(mtd_batch_error *e, int code, int status, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail(mtd_batch_error *e, int code, int status, const char *reason, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->detail, sizeof e->detail, fmt, ap);
    va_end(ap);
    e->status = status;
    e->reason = reason;
    return code;
}

/* One decoder per thread, kept: a new one per batch costs its window allocation and
 * the page faults of touching it, a tenth of the collector's time under load. */
static pthread_key_t dctx_key;
static pthread_once_t dctx_once = PTHREAD_ONCE_INIT;

static void dctx_free(void *d) { ZSTD_freeDCtx(d); }
static void dctx_init(void) { pthread_key_create(&dctx_key, dctx_free); }

static ZSTD_DCtx *thread_dctx(void)
{
    pthread_once(&dctx_once, dctx_init);
    ZSTD_DCtx *d = pthread_getspecific(dctx_key);
    if (!d) {
        if (!(d = ZSTD_createDCtx()))
            return NULL;
        ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, 23); /* bound decoder memory to 8 MiB */
        pthread_setspecific(dctx_key, d);
    }
    ZSTD_DCtx_reset(d, ZSTD_reset_session_only); /* a failed frame leaves nothing behind */
    return d;
}

int mtd_batch_decompress(const uint8_t *in, size_t len, mtd_buf *out, mtd_batch_error *e)
{
    static const uint8_t magic[4] = {0x28, 0xb5, 0x2f, 0xfd};
    if (len < 4 || memcmp(in, magic, 4) != 0)
        return fail(e, MTD_EINVAL, 400, "bad_zstd", "body is not a zstd frame");
    ZSTD_DCtx *d = thread_dctx();
    if (!d)
        return fail(e, MTD_ENOMEM, 503, "busy", "out of memory");
    ZSTD_inBuffer ib = {in, len, 0};
    int r = 0;
    size_t ret = 1;
    while (r == 0 && ret != 0) {
        if (mtd_buf_reserve(out, 1 << 16) != 0) {
            r = fail(e, MTD_ETOOBIG, 413, "too_large", "batch decompresses to more than %zu bytes",
                     out->limit);
            break;
        }
        ZSTD_outBuffer ob = {out->data + out->len, out->cap - out->len - 1, 0};
        ret = ZSTD_decompressStream(d, &ob, &ib);
        out->len += ob.pos;
        if (ZSTD_isError(ret))
            r = fail(e, MTD_EINVAL, 400, "bad_zstd", "corrupt zstd data: %s", ZSTD_getErrorName(ret));
        else if (ret != 0 && ib.pos == ib.size && ob.pos == 0)
            r = fail(e, MTD_ETRUNC, 400, "bad_zstd", "truncated zstd frame");
    }
    if (r == 0 && ib.pos != ib.size)
        r = fail(e, MTD_EINVAL, 400, "bad_zstd", "trailing bytes after the zstd frame");
    if (out->data)
        out->data[out->len] = 0;
    return r;
}

void mtd_batch_init(mtd_batch *b)
{
    memset(b, 0, sizeof *b);
    mtd_buf_init(&b->raw, MTD_MAX_BATCH_RAW);
}

void mtd_batch_free(mtd_batch *b)
{
    mtd_buf_free(&b->raw);
    free(b->ev);
    b->ev = NULL;
    b->n = b->cap = 0;
}

static mtd_event *next_slot(mtd_batch *b)
{
    if (b->n == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 64;
        mtd_event *p = realloc(b->ev, ncap * sizeof *p);
        if (!p)
            return NULL;
        b->ev = p;
        b->cap = ncap;
    }
    return &b->ev[b->n];
}

/* One line: parsed in place and validated against the schema. */
static int parse_line(mtd_batch *b, char *p, size_t len, size_t line, mtd_batch_error *e)
{
    if (b->n >= MTD_MAX_BATCH_EVENTS)
        return fail(e, MTD_ETOOBIG, 413, "too_many_events", "line %zu: more than %d events", line,
                    MTD_MAX_BATCH_EVENTS);
    mtd_event *ev = next_slot(b);
    if (!ev)
        return fail(e, MTD_ENOMEM, 503, "busy", "out of memory");
    char why[300];
    int r = mtd_event_parse(p, len, ev, why, sizeof why);
    if (r)
        return fail(e, r, r == MTD_ESCHEMA ? 422 : 400,
                    r == MTD_ESCHEMA ? "undeclared" : strncmp(why, "invalid JSON", 12) ? "invalid" : "bad_json",
                    "line %zu: %s", line, why);
    b->n++;
    return 0;
}

int mtd_batch_parse(mtd_batch *b, mtd_batch_error *e)
{
    char *p = (char *)b->raw.data, *end = p + b->raw.len;
    size_t line = 0;
    e->nevents = 0;
    /* lines, for the count a rejection reports (memchr: a byte loop here was ~4% of
     * the collector's CPU under bench_ingest) */
    for (const char *q = p; (q = memchr(q, '\n', (size_t)(end - q))) != NULL; q++)
        e->nevents++;
    int r = 0;
    while (r == 0 && p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        line++;
        if (n && p[n - 1] == '\r')
            n--;
        if (n)
            r = parse_line(b, p, n, line, e);
        p = nl ? nl + 1 : end;
    }
    if (r == 0 && b->n == 0)
        r = fail(e, MTD_EINVAL, 400, "empty", "batch holds no events");
    if (r && !e->nevents)
        e->nevents = 1;
    return r;
}

int mtd_batch_decode(const uint8_t *body, size_t len, mtd_batch *b, mtd_batch_error *e)
{
    int r = mtd_batch_decompress(body, len, &b->raw, e);
    return r ? r : mtd_batch_parse(b, e);
}
