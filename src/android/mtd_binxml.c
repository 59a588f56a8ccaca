/* mtd_binxml: AXML chunk walker and the manifest fields the inventory reports. */
#include "common/mtd_bytes.h"
#include "android/mtd_binxml.h"
#include "common/mtd_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RES_STRING_POOL 0x0001
#define RES_XML 0x0003
#define RES_XML_START_ELEMENT 0x0102
#define RES_XML_END_ELEMENT 0x0103
#define RES_XML_RESOURCE_MAP 0x0180
#define UTF8_FLAG (1u << 8)

#define TYPE_REFERENCE 0x01
#define TYPE_STRING 0x03
#define TYPE_INT_DEC 0x10
#define TYPE_INT_HEX 0x11
#define TYPE_INT_BOOLEAN 0x12

#define ATTR_NAME 0x01010003u
#define ATTR_VERSION_CODE 0x0101021bu
#define ATTR_VERSION_NAME 0x0101021cu
#define ATTR_MIN_SDK 0x0101020cu
#define ATTR_TARGET_SDK 0x01010270u
#define ATTR_PERMISSION 0x01010006u
#define ATTR_DEBUGGABLE 0x0101000fu
#define ATTR_TEST_ONLY 0x01010272u
#define ATTR_APP_CATEGORY 0x01010545u


int mtd_strpool_init(mtd_strpool *p, const uint8_t *c, size_t avail)
{
    memset(p, 0, sizeof *p);
    if (avail < 28 || mtd_le16(c) != RES_STRING_POOL)
        return MTD_EINVAL;
    uint16_t hs = mtd_le16(c + 2);
    uint32_t size = mtd_le32(c + 4);
    if (size > avail || hs < 28 || hs > size)
        return MTD_EINVAL;
    p->chunk = c;
    p->size = size;
    p->count = mtd_le32(c + 8);
    p->flags = mtd_le32(c + 16);
    p->strings_start = mtd_le32(c + 20);
    if (p->count > (size - hs) / 4 || p->strings_start > size) {
        memset(p, 0, sizeof *p); /* an unusable pool answers nothing */
        return MTD_EINVAL;
    }
    p->offsets = c + hs;
    return 0;
}

/* UTF-16LE to UTF-8 (surrogate pairs joined; a lone surrogate becomes U+FFFD). */
static char *utf16_to_utf8(const uint8_t *s, size_t n)
{
    char *out = malloc(n * 3 + 1);
    size_t o = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = mtd_le16(s + 2 * i);
        if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && mtd_le16(s + 2 * i + 2) >= 0xdc00 &&
            mtd_le16(s + 2 * i + 2) <= 0xdfff) {
            c = 0x10000 + ((c - 0xd800) << 10) + (mtd_le16(s + 2 * i + 2) - 0xdc00);
            i++;
        } else if (c >= 0xd800 && c <= 0xdfff) {
            c = 0xfffd;
        }
        if (c < 0x80) {
            out[o++] = (char)c;
        } else if (c < 0x800) {
            out[o++] = (char)(0xc0 | c >> 6);
            out[o++] = (char)(0x80 | (c & 63));
        } else if (c < 0x10000) {
            out[o++] = (char)(0xe0 | c >> 12);
            out[o++] = (char)(0x80 | ((c >> 6) & 63));
            out[o++] = (char)(0x80 | (c & 63));
        } else {
            out[o++] = (char)(0xf0 | c >> 18);
            out[o++] = (char)(0x80 | ((c >> 12) & 63));
            out[o++] = (char)(0x80 | ((c >> 6) & 63));
            out[o++] = (char)(0x80 | (c & 63));
        }
    }
    out[o] = 0;
    return out;
}

char *mtd_strpool_get(const mtd_strpool *p, uint32_t i)
{
    if (!p->chunk || i >= p->count)
        return NULL;
    uint64_t off = (uint64_t)p->strings_start + mtd_le32(p->offsets + 4 * (size_t)i);
    const uint8_t *s = p->chunk + off, *end = p->chunk + p->size;
    if (off + 2 > p->size)
        return NULL;
    if (p->flags & UTF8_FLAG) {
        /* u16 length (1-2 bytes), then u8 length (1-2 bytes), then the bytes */
        size_t k = (s[0] & 0x80) ? 2 : 1;
        if (s + k + 2 > end)
            return NULL;
        size_t n = s[k];
        if (n & 0x80) {
            n = ((n & 0x7f) << 8) | s[k + 1];
            k += 2;
        } else {
            k += 1;
        }
        if (s + k + n > end)
            return NULL;
        char *out = malloc(n + 1);
        if (out) {
            memcpy(out, s + k, n);
            out[n] = 0;
        }
        return out;
    }
    size_t n = mtd_le16(s), k = 2;
    if (n & 0x8000) {
        if (s + 4 > end)
            return NULL;
        n = ((n & 0x7fff) << 16) | mtd_le16(s + 2);
        k = 4;
    }
    if (n > (size_t)(end - s - (ptrdiff_t)k) / 2)
        return NULL;
    return utf16_to_utf8(s + k, n);
}

typedef struct {
    mtd_strpool pool;
    const uint8_t *resmap;
    uint32_t resmap_n;
    mtd_manifest *m;
    int depth;
    int in_manifest, in_application;
} walker;

/* Does attribute name index `name` stand for resource id (or, lacking a map entry,
 * for the plain name)? */
static int attr_is(const walker *w, uint32_t name, uint32_t id, const char *plain)
{
    if (name < w->resmap_n)
        return mtd_le32(w->resmap + 4 * (size_t)name) == id;
    char *s = mtd_strpool_get(&w->pool, name);
    int eq = s && !strcmp(s, plain);
    free(s);
    return eq;
}

/* An attribute's value as a string (string type or raw value), or NULL. */
static char *attr_string(const walker *w, const uint8_t *a)
{
    uint32_t raw = mtd_le32(a + 8), data = mtd_le32(a + 16);
    uint8_t type = a[15];
    if (type == TYPE_STRING)
        return mtd_strpool_get(&w->pool, data);
    if (raw != 0xffffffffu)
        return mtd_strpool_get(&w->pool, raw);
    if (type == TYPE_INT_DEC || type == TYPE_INT_HEX) {
        char buf[24];
        snprintf(buf, sizeof buf, "%d", (int32_t)data);
        return strdup(buf);
    }
    return NULL;
}

/* An integer attribute (int types, or a decimal string), -1 when neither. */
static int64_t attr_int(const walker *w, const uint8_t *a)
{
    uint8_t type = a[15];
    if (type == TYPE_INT_DEC || type == TYPE_INT_HEX)
        return (int64_t)(uint32_t)mtd_le32(a + 16);
    char *s = attr_string(w, a);
    char *end = NULL;
    long long v = s ? strtoll(s, &end, 10) : -1;
    int ok = s && *s && end && *end == 0;
    free(s);
    return ok ? v : -1;
}

/* A boolean attribute: the boolean type, or "true" when it was left a string. */
static int attr_bool(const walker *w, const uint8_t *a)
{
    if (a[15] == TYPE_INT_BOOLEAN || a[15] == TYPE_INT_DEC)
        return mtd_le32(a + 16) != 0;
    char *s = attr_string(w, a);
    int t = s && !strcmp(s, "true");
    free(s);
    return t;
}

/* <application> attributes, and the components inside it that only the system may
 * bind as an accessibility service or a device administrator (the platform requires
 * exactly these permissions on them). */
static void application_attr(walker *w, const char *tag, uint32_t name, const uint8_t *a)
{
    mtd_manifest *m = w->m;
    if (w->depth == 2 && !strcmp(tag, "application")) {
        if (attr_is(w, name, ATTR_DEBUGGABLE, "debuggable"))
            m->debuggable = attr_bool(w, a);
        else if (attr_is(w, name, ATTR_TEST_ONLY, "testOnly"))
            m->test_only = attr_bool(w, a);
        else if (attr_is(w, name, ATTR_APP_CATEGORY, "appCategory"))
            m->app_category = (int)attr_int(w, a);
        return;
    }
    if (w->depth != 3 || !w->in_application || !attr_is(w, name, ATTR_PERMISSION, "permission"))
        return;
    char *p = attr_string(w, a);
    if (p && !strcmp(tag, "service") && !strcmp(p, "android.permission.BIND_ACCESSIBILITY_SERVICE"))
        m->accessibility_services++;
    else if (p && !strcmp(tag, "receiver") && !strcmp(p, "android.permission.BIND_DEVICE_ADMIN"))
        m->device_admins++;
    free(p);
}

static void add_perm(mtd_manifest *m, char *name)
{
    for (size_t i = 0; i < m->nperms; i++)
        if (!strcmp(m->perms[i], name)) {
            free(name);
            return;
        }
    if (m->nperms >= MTD_MANIFEST_MAX_PERMS) {
        free(name);
        return;
    }
    char **p = realloc(m->perms, (m->nperms + 1) * sizeof *p);
    if (!p) {
        free(name);
        return;
    }
    m->perms = p;
    m->perms[m->nperms++] = name;
}

static void element(walker *w, const char *tag, const uint8_t *attrs, uint16_t count, uint16_t asize)
{
    mtd_manifest *m = w->m;
    int is_manifest = w->depth == 1 && !strcmp(tag, "manifest");
    int child = w->depth == 2 && w->in_manifest;
    for (uint16_t i = 0; i < count; i++) {
        const uint8_t *a = attrs + (size_t)i * asize;
        uint32_t name = mtd_le32(a + 4);
        if (is_manifest) {
            if (attr_is(w, name, ATTR_VERSION_CODE, "versionCode"))
                m->version_code = attr_int(w, a);
            else if (attr_is(w, name, ATTR_VERSION_NAME, "versionName")) {
                free(m->version_name);
                m->version_name = NULL;
                if (a[15] == TYPE_REFERENCE)
                    m->version_name_ref = mtd_le32(a + 16);
                else
                    m->version_name = attr_string(w, a);
            } else if (name >= w->resmap_n || mtd_le32(w->resmap + 4 * (size_t)name) == 0) {
                char *n = mtd_strpool_get(&w->pool, name);
                if (n && !strcmp(n, "package")) {
                    free(m->package);
                    m->package = attr_string(w, a);
                }
                free(n);
            }
        } else if (child && !strcmp(tag, "uses-sdk")) {
            if (attr_is(w, name, ATTR_MIN_SDK, "minSdkVersion"))
                m->min_sdk = (int)attr_int(w, a);
            else if (attr_is(w, name, ATTR_TARGET_SDK, "targetSdkVersion"))
                m->target_sdk = (int)attr_int(w, a);
        } else if (child && (!strcmp(tag, "uses-permission") || !strcmp(tag, "uses-permission-sdk-23") ||
                             !strcmp(tag, "uses-permission-sdk-m"))) {
            char *v = attr_is(w, name, ATTR_NAME, "name") ? attr_string(w, a) : NULL;
            if (v)
                add_perm(m, v);
        } else if (w->in_manifest && w->depth >= 2) {
            application_attr(w, tag, name, a);
        }
    }
    if (is_manifest)
        w->in_manifest = 1;
    if (child && !strcmp(tag, "application"))
        w->in_application = 1;
}

static int start_element(walker *w, const uint8_t *c, uint32_t size, uint16_t hs, char *why, size_t wl)
{
    if (hs < 16 || size < (uint32_t)hs + 20) {
        snprintf(why, wl, "AndroidManifest.xml: start element chunk too small");
        return MTD_EINVAL;
    }
    const uint8_t *ext = c + hs;
    uint16_t astart = mtd_le16(ext + 8), asize = mtd_le16(ext + 10), count = mtd_le16(ext + 12);
    if (asize < 20 || (uint64_t)hs + astart + (uint64_t)count * asize > size) {
        snprintf(why, wl, "AndroidManifest.xml: attributes run past their element");
        return MTD_EINVAL;
    }
    w->depth++;
    char *tag = mtd_strpool_get(&w->pool, mtd_le32(ext + 4));
    if (tag)
        element(w, tag, ext + astart, count, asize);
    free(tag);
    return 0;
}

static int walk(walker *w, const uint8_t *buf, size_t len, char *why, size_t wl)
{
    size_t off = mtd_le16(buf + 2);
    while (off + 8 <= len) {
        const uint8_t *c = buf + off;
        uint16_t type = mtd_le16(c), hs = mtd_le16(c + 2);
        uint32_t size = mtd_le32(c + 4);
        if (size < 8 || hs > size || size > len - off) {
            snprintf(why, wl, "AndroidManifest.xml: chunk at offset %zu has a bad size", off);
            return MTD_EINVAL;
        }
        int r = 0;
        if (type == RES_STRING_POOL && !w->pool.chunk)
            r = mtd_strpool_init(&w->pool, c, size);
        else if (type == RES_XML_RESOURCE_MAP) {
            w->resmap = c + hs;
            w->resmap_n = (size - hs) / 4;
        } else if (type == RES_XML_START_ELEMENT)
            r = start_element(w, c, size, hs, why, wl);
        else if (type == RES_XML_END_ELEMENT && w->depth > 0 && --w->depth < 2)
            w->in_application = 0;
        if (r) {
            if (!why[0])
                snprintf(why, wl, "AndroidManifest.xml: bad string pool");
            return r;
        }
        off += size;
    }
    return 0;
}

int mtd_binxml_manifest(const uint8_t *buf, size_t len, mtd_manifest *m, char *why, size_t wl)
{
    memset(m, 0, sizeof *m);
    m->version_code = -1;
    m->min_sdk = m->target_sdk = -1;
    m->app_category = -1;
    why[0] = 0;
    if (len < 8 || mtd_le16(buf) != RES_XML || mtd_le16(buf + 2) < 8 || mtd_le32(buf + 4) > len) {
        snprintf(why, wl, "AndroidManifest.xml is not binary XML");
        return MTD_EINVAL;
    }
    walker w = {.m = m};
    int r = walk(&w, buf, mtd_le32(buf + 4), why, wl);
    if (r == 0 && !m->package) {
        snprintf(why, wl, "AndroidManifest.xml has no package name");
        r = MTD_EINVAL;
    }
    if (r)
        mtd_manifest_free(m);
    return r;
}

void mtd_manifest_free(mtd_manifest *m)
{
    free(m->package);
    free(m->version_name);
    for (size_t i = 0; i < m->nperms; i++)
        free(m->perms[i]);
    free(m->perms);
    memset(m, 0, sizeof *m);
    m->version_code = -1;
    m->min_sdk = m->target_sdk = -1;
    m->app_category = -1;
}
