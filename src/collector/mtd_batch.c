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

/* Decoders are pooled, not made per batch: a new one costs its window allocation and
 * the page faults of touching it, a tenth of the collector's time under load. A batch
 * holds one only while its frame streams in (mtd_batch_feed), so the pool is as large
 * as the uploads in progress at once, and at most POOL_IDLE are kept idle. */
#define POOL_IDLE 64
static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static ZSTD_DCtx *pool[POOL_IDLE];
static int pool_n;

static ZSTD_DCtx *dctx_get(void)
{
    pthread_mutex_lock(&pool_mu);
    ZSTD_DCtx *d = pool_n ? pool[--pool_n] : NULL;
    pthread_mutex_unlock(&pool_mu);
    if (!d && (d = ZSTD_createDCtx()) != NULL)
        ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, 23); /* bound decoder memory to 8 MiB */
    return d;
}

static void dctx_put(ZSTD_DCtx *d)
{
    if (!d)
        return;
    ZSTD_DCtx_reset(d, ZSTD_reset_session_only); /* a failed frame leaves nothing behind */
    pthread_mutex_lock(&pool_mu);
    if (pool_n < POOL_IDLE) {
        pool[pool_n++] = d;
        d = NULL;
    }
    pthread_mutex_unlock(&pool_mu);
    ZSTD_freeDCtx(d);
}

size_t mtd_batch_memory(const mtd_batch *b)
{
    return b->raw.cap + (b->dctx ? ZSTD_sizeof_DCtx(b->dctx) : 0);
}

static int feed_raw(mtd_batch *b, ZSTD_inBuffer *ib);

/* Feeds the next bytes of the zstd frame; the first error sticks (later bytes are
 * dropped unread, so a client still sending is not buffered). */
int mtd_batch_feed(mtd_batch *b, const uint8_t *in, size_t len)
{
    static const uint8_t magic[4] = {0x28, 0xb5, 0x2f, 0xfd};
    mtd_batch_error *e = &b->err;
    if (b->failed)
        return b->failed;
    for (; b->seen < 4 && len; b->seen++, in++, len--) { /* the magic may come split */
        if (*in != magic[b->seen])
            return b->failed = fail(e, MTD_EINVAL, 400, "bad_zstd", "body is not a zstd frame");
    }
    if (b->seen == 4 && !b->dctx && !b->ended) {
        if (!(b->dctx = dctx_get()))
            return b->failed = fail(e, MTD_ENOMEM, 503, "busy", "out of memory");
        ZSTD_inBuffer mb = {magic, 4, 0};
        b->seen = 5; /* the magic goes to the decoder once */
        int r = feed_raw(b, &mb);
        if (r)
            return r;
    }
    if (!len)
        return 0;
    if (b->ended)
        return b->failed = fail(e, MTD_EINVAL, 400, "bad_zstd", "trailing bytes after the zstd frame");
    ZSTD_inBuffer ib = {in, len, 0};
    return feed_raw(b, &ib);
}

static int feed_raw(mtd_batch *b, ZSTD_inBuffer *ib)
{
    mtd_batch_error *e = &b->err;
    mtd_buf *out = &b->raw;
    while (ib->pos < ib->size) {
        if (b->ended)
            return b->failed = fail(e, MTD_EINVAL, 400, "bad_zstd", "trailing bytes after the zstd frame");
        if (mtd_buf_reserve(out, 1 << 16) != 0)
            return b->failed = fail(e, MTD_ETOOBIG, 413, "too_large",
                                    "batch decompresses to more than %zu bytes", out->limit);
        ZSTD_outBuffer ob = {out->data + out->len, out->cap - out->len - 1, 0};
        size_t ret = ZSTD_decompressStream(b->dctx, &ob, ib);
        out->len += ob.pos;
        out->data[out->len] = 0;
        if (ZSTD_isError(ret))
            return b->failed = fail(e, MTD_EINVAL, 400, "bad_zstd", "corrupt zstd data: %s",
                                    ZSTD_getErrorName(ret));
        if (ret == 0) { /* the frame is whole: its decoder goes back at once */
            b->ended = 1;
            dctx_put(b->dctx);
            b->dctx = NULL;
        }
    }
    return 0;
}

int mtd_batch_finish(mtd_batch *b)
{
    if (b->failed)
        return b->failed;
    if (!b->ended && b->dctx) { /* output the decoder still holds */
        ZSTD_inBuffer ib = {NULL, 0, 0};
        mtd_buf *out = &b->raw;
        for (;;) {
            if (mtd_buf_reserve(out, 1 << 16) != 0)
                return b->failed = fail(&b->err, MTD_ETOOBIG, 413, "too_large",
                                        "batch decompresses to more than %zu bytes", out->limit);
            ZSTD_outBuffer ob = {out->data + out->len, out->cap - out->len - 1, 0};
            size_t ret = ZSTD_decompressStream(b->dctx, &ob, &ib);
            out->len += ob.pos;
            out->data[out->len] = 0;
            if (ZSTD_isError(ret))
                return b->failed = fail(&b->err, MTD_EINVAL, 400, "bad_zstd", "corrupt zstd data: %s",
                                        ZSTD_getErrorName(ret));
            if (ret == 0) {
                b->ended = 1;
                break;
            }
            if (ob.pos == 0)
                break;
        }
    }
    if (!b->ended)
        return b->failed = fail(&b->err, b->seen < 4 ? MTD_EINVAL : MTD_ETRUNC, 400, "bad_zstd",
                                b->seen < 4 ? "body is not a zstd frame" : "truncated zstd frame");
    return 0;
}

/* A batch's two large buffers, its decompressed text (~120 KiB for 200 events) and its
 * event slots (~1.1 KiB an event), are kept for the next batch when it ends: made
 * afresh, each came from new pages (mmap above glibc's threshold), so every batch paid
 * their page faults and the copies of growing them, ~8% of the collector's CPU under
 * bench_ingest. At most SPARE_IDLE are kept, none larger than SPARE_MAX_BYTES. */
#define SPARE_IDLE 32
#define SPARE_MAX_BYTES ((size_t)1 << 20)
typedef struct {
    uint8_t *raw;
    size_t raw_cap;
    mtd_event *ev;
    size_t ev_cap;
} spare;
static spare spares[SPARE_IDLE];
static int spare_n;

void mtd_batch_init(mtd_batch *b)
{
    memset(b, 0, sizeof *b);
    mtd_buf_init(&b->raw, MTD_MAX_BATCH_RAW);
    pthread_mutex_lock(&pool_mu);
    if (spare_n) {
        spare *sp = &spares[--spare_n];
        b->raw.data = sp->raw;
        b->raw.cap = sp->raw_cap;
        b->ev = sp->ev;
        b->cap = sp->ev_cap;
    }
    pthread_mutex_unlock(&pool_mu);
    mtd_buf_reserve(&b->raw, 0); /* raw.data is never NULL, even for an empty body */
    if (b->raw.data)
        b->raw.data[0] = 0;
}

void mtd_batch_free(mtd_batch *b)
{
    dctx_put(b->dctx);
    b->dctx = NULL;
    int kept = 0;
    if (b->raw.cap <= SPARE_MAX_BYTES && b->cap * sizeof *b->ev <= SPARE_MAX_BYTES) {
        pthread_mutex_lock(&pool_mu);
        if (spare_n < SPARE_IDLE) {
            spares[spare_n++] = (spare){b->raw.data, b->raw.cap, b->ev, b->cap};
            kept = 1;
        }
        pthread_mutex_unlock(&pool_mu);
    }
    if (!kept) {
        mtd_buf_free(&b->raw);
        free(b->ev);
    }
    b->raw.data = NULL;
    b->raw.len = b->raw.cap = 0;
    b->ev = NULL;
    b->n = b->cap = 0;
}

/* Room for n event slots at once (n from the line count): grown one doubling at a
 * time, the slots were copied twice per batch of 200. */
static int reserve_slots(mtd_batch *b, size_t n)
{
    if (n <= b->cap)
        return 0;
    mtd_event *p = realloc(b->ev, n * sizeof *p);
    if (!p)
        return -1;
    b->ev = p;
    b->cap = n;
    return 0;
}

static mtd_event *next_slot(mtd_batch *b)
{
    if (b->n == b->cap && reserve_slots(b, b->cap ? b->cap * 2 : 64) != 0)
        return NULL;
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
    /* a slot per line (the last may have no newline), never more than a batch may hold
     * nor than its bytes could (an event is over 64 bytes: a frame of blank lines gets
     * no more slots than its text would fill) */
    size_t want = e->nevents + 1, fit = b->raw.len / 64 + 1;
    want = want < fit ? want : fit;
    reserve_slots(b, want < MTD_MAX_BATCH_EVENTS ? want : MTD_MAX_BATCH_EVENTS);
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
    int r = mtd_batch_feed(b, body, len);
    if (r == 0)
        r = mtd_batch_finish(b);
    if (r) {
        *e = b->err;
        e->nevents = 1;
        return r;
    }
    return mtd_batch_parse(b, e);
}
