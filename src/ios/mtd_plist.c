/* mtd_plist: libplist's tree turned into jansson values, with caps. libplist does the
 * parsing (both encodings, Apple's own formats); only the conversion is ours. */
#include "ios/mtd_plist.h"
#include "common/mtd_err.h"
#include "common/mtd_file.h"
#include "common/mtd_util.h"

#include <errno.h>
#include <plist/plist.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Seconds between the Unix epoch and Apple's (2001-01-01T00:00:00Z). */
#define APPLE_EPOCH 978307200

static int convert(plist_t n, int depth, json_t **out, const char **what);

static int convert_dict(plist_t n, int depth, json_t **out, const char **what)
{
    json_t *o = json_object();
    plist_dict_iter it = NULL;
    plist_dict_new_iter(n, &it);
    for (;;) {
        char *key = NULL;
        plist_t v = NULL;
        plist_dict_next_item(n, it, &key, &v);
        if (!v) {
            free(key);
            break;
        }
        json_t *jv;
        int r = key ? convert(v, depth + 1, &jv, what) : (*what = "a dictionary key is missing", MTD_EINVAL);
        if (r == 0 && json_object_set_new(o, key, jv) != 0) /* jansson refuses non-UTF-8 keys */
            r = (*what = "a dictionary key is not UTF-8", MTD_EINVAL);
        free(key);
        if (r) {
            free(it);
            json_decref(o);
            return r;
        }
    }
    free(it);
    *out = o;
    return 0;
}

static int convert_array(plist_t n, int depth, json_t **out, const char **what)
{
    json_t *a = json_array();
    uint32_t size = plist_array_get_size(n);
    for (uint32_t i = 0; i < size; i++) {
        json_t *jv;
        int r = convert(plist_array_get_item(n, i), depth + 1, &jv, what);
        if (r) {
            json_decref(a);
            return r;
        }
        json_array_append_new(a, jv);
    }
    *out = a;
    return 0;
}

static json_t *date_json(plist_t n)
{
    int32_t sec = 0, usec = 0;
    plist_get_date_val(n, &sec, &usec);
    char t[MTD_TIME_LEN];
    mtd_time_rfc3339((time_t)sec + APPLE_EPOCH, t);
    return json_string(t);
}

static int convert(plist_t n, int depth, json_t **out, const char **what)
{
    *out = NULL;
    if (!n)
        return (*what = "an empty node", MTD_EINVAL);
    if (depth > MTD_PLIST_MAX_DEPTH)
        return (*what = "nested deeper than 64 levels", MTD_ETOOBIG);
    uint64_t u = 0;
    uint8_t b = 0;
    double d = 0;
    switch (plist_get_node_type(n)) {
    case PLIST_DICT:
        return convert_dict(n, depth, out, what);
    case PLIST_ARRAY:
        return convert_array(n, depth, out, what);
    case PLIST_STRING: {
        const char *p = plist_get_string_ptr(n, &u); /* not _val: it asserts on a NUL */
        *out = p && strlen(p) == u ? json_stringn(p, (size_t)u) : NULL; /* NULL: not UTF-8 */
        break;
    }
    case PLIST_BOOLEAN:
        plist_get_bool_val(n, &b);
        *out = json_boolean(b);
        break;
    case PLIST_UINT:
        plist_get_uint_val(n, &u);
        *out = u <= INT64_MAX ? json_integer((json_int_t)u) : json_real((double)u);
        break;
    case PLIST_UID:
        plist_get_uid_val(n, &u);
        *out = json_integer((json_int_t)(u & INT64_MAX));
        break;
    case PLIST_REAL:
        plist_get_real_val(n, &d);
        *out = json_real(d); /* NULL for NaN and infinities */
        break;
    case PLIST_DATE:
        *out = date_json(n);
        break;
    case PLIST_DATA:
        *out = json_null();
        break;
    default:
        *out = json_null();
        break;
    }
    return *out ? 0 : (*what = "a string that is not UTF-8, or a number that is not finite", MTD_EINVAL);
}

/* Big-endian unsigned integer of n bytes (n <= 8). */
static uint64_t be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Whether a binary plist holds a string with a NUL in it (ASCII objects 0x5X with a
 * zero byte, UTF-16 objects 0x6X with a zero unit). libplist 2.2 asserts, aborting the
 * process, when such a string or dictionary key is read, so these inputs are refused
 * before it sees them. Only this check walks the format by hand: the object table as
 * the trailer describes it, every offset and length bounds-checked; whatever does not
 * fit is left for libplist to reject. */
static int bplist_has_nul_string(const uint8_t *b, size_t len)
{
    if (len < 40 || memcmp(b, "bplist00", 8) != 0)
        return 0;
    const uint8_t *t = b + len - 32;
    size_t osz = t[6];
    uint64_t nobj = be(t + 8, 8), table = be(t + 24, 8);
    if (osz < 1 || osz > 8 || table >= len || nobj > (len - table) / osz)
        return 0;
    for (uint64_t i = 0; i < nobj; i++) {
        uint64_t off = be(b + table + i * osz, osz), n;
        if (off >= len || (b[off] >> 4 != 5 && b[off] >> 4 != 6))
            continue;
        size_t p = (size_t)off + 1, unit = b[off] >> 4 == 6 ? 2 : 1;
        n = b[off] & 15;
        if (n == 15) { /* the length follows as an integer object 0x1N of 2^N bytes */
            if (p >= len || b[p] >> 4 != 1 || (b[p] & 15) > 3 || p + 1 + (1u << (b[p] & 15)) > len)
                continue;
            n = be(b + p + 1, 1u << (b[p] & 15));
            p += 1 + (1u << (b[p] & 15));
        }
        if (n > (len - p) / unit)
            continue;
        for (size_t k = 0; k < n; k++)
            if (unit == 1 ? b[p + k] == 0 : (b[p + 2 * k] | b[p + 2 * k + 1]) == 0)
                return 1;
    }
    return 0;
}

int mtd_plist_parse(const uint8_t *buf, size_t len, json_t **out, char *why, size_t whylen)
{
    *out = NULL;
    if (len > MTD_PLIST_MAX_BYTES) {
        snprintf(why, whylen, "property list of %zu bytes is over the %u MiB cap", len,
                 MTD_PLIST_MAX_BYTES >> 20);
        return MTD_ETOOBIG;
    }
    /* no XML holds a NUL byte, and a binary string with one would abort libplist */
    int binary = len >= 8 && !memcmp(buf, "bplist00", 8);
    if (binary ? bplist_has_nul_string(buf, len) : memchr(buf, 0, len) != NULL) {
        snprintf(why, whylen, "property list holds a NUL byte inside a string");
        return MTD_EINVAL;
    }
    plist_t root = NULL;
    if (len >= 8)
        plist_from_memory((const char *)buf, (uint32_t)len, &root);
    if (!root) {
        snprintf(why, whylen, "not a valid property list (neither binary bplist00 nor XML)");
        return MTD_EINVAL;
    }
    const char *what = "";
    int r = convert(root, 0, out, &what);
    plist_free(root);
    if (r)
        snprintf(why, whylen, "property list holds %s", what);
    return r;
}

int mtd_plist_read_file(const char *path, json_t **out, char *why, size_t whylen)
{
    uint8_t *data;
    size_t len;
    *out = NULL;
    int r = mtd_file_read(path, MTD_PLIST_MAX_BYTES, &data, &len);
    if (r) {
        snprintf(why, whylen, "%s: %s", path,
                 r == MTD_ETOOBIG ? "over the 16 MiB cap of a property list" : mtd_strerror(r));
        return r;
    }
    char w[200];
    r = mtd_plist_parse(data, len, out, w, sizeof w);
    free(data);
    if (r)
        snprintf(why, whylen, "%s: %s", path, w);
    return r;
}
