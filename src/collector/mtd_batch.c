/* mtd_batch: zstd frame -> JSON lines -> schema-valid events, under hard caps. */
#include "collector/mtd_batch.h"
#include "collector/mtd_collector.h"
#include "common/mtd_err.h"
#include "schema/mtd_schema.h"

#include <stdarg.h>
#include <stdio.h>
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

int mtd_batch_decompress(const uint8_t *in, size_t len, mtd_buf *out, mtd_batch_error *e)
{
    static const uint8_t magic[4] = {0x28, 0xb5, 0x2f, 0xfd};
    if (len < 4 || memcmp(in, magic, 4) != 0)
        return fail(e, MTD_EINVAL, 400, "bad_zstd", "body is not a zstd frame");
    ZSTD_DCtx *d = ZSTD_createDCtx();
    if (!d)
        return fail(e, MTD_ENOMEM, 503, "busy", "out of memory");
    ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, 23); /* bound decoder memory to 8 MiB */
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
    ZSTD_freeDCtx(d);
    if (out->data)
        out->data[out->len] = 0;
    return r;
}

/* One line: JSON object, then the schema. */
static int parse_line(const char *p, size_t len, size_t line, json_t *events, mtd_batch_error *e)
{
    json_error_t je;
    json_t *ev = json_loadb(p, len, JSON_REJECT_DUPLICATES, &je);
    if (!ev)
        return fail(e, MTD_EINVAL, 400, "bad_json", "line %zu: %s", line, je.text);
    json_array_append_new(events, ev);
    if (json_array_size(events) > MTD_MAX_BATCH_EVENTS)
        return fail(e, MTD_ETOOBIG, 413, "too_many_events", "line %zu: more than %d events", line,
                    MTD_MAX_BATCH_EVENTS);
    char why[300];
    const mtd_event_type *t;
    int r = mtd_schema_validate(ev, &t, why, sizeof why);
    if (r)
        return fail(e, r, r == MTD_ESCHEMA ? 422 : 400, r == MTD_ESCHEMA ? "undeclared" : "invalid",
                    "line %zu: %s", line, why);
    return 0;
}

int mtd_batch_parse(const uint8_t *raw, size_t len, json_t **events, mtd_batch_error *e)
{
    const char *p = (const char *)raw, *end = p + len;
    size_t line = 0;
    e->nevents = 0;
    for (const char *q = p; q < end; q++)
        e->nevents += *q == '\n';
    *events = json_array();
    int r = 0;
    while (r == 0 && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        line++;
        if (n && p[n - 1] == '\r')
            n--;
        if (n)
            r = parse_line(p, n, line, *events, e);
        p = nl ? nl + 1 : end;
    }
    if (r == 0 && json_array_size(*events) == 0)
        r = fail(e, MTD_EINVAL, 400, "empty", "batch holds no events");
    if (r) {
        json_decref(*events);
        *events = NULL;
        if (!e->nevents)
            e->nevents = 1;
    }
    return r;
}

int mtd_batch_decode(const uint8_t *body, size_t len, json_t **events, mtd_batch_error *e)
{
    mtd_buf raw;
    mtd_buf_init(&raw, MTD_MAX_BATCH_RAW);
    *events = NULL;
    int r = mtd_batch_decompress(body, len, &raw, e);
    if (r == 0)
        r = mtd_batch_parse(raw.data, raw.len, events, e);
    mtd_buf_free(&raw);
    return r;
}
