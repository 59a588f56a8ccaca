/* mtd_resources: resource table walk for one reference. */
#include "common/mtd_bytes.h"
#include "android/mtd_resources.h"
#include "android/mtd_binxml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RES_TABLE 0x0002
#define RES_STRING_POOL 0x0001
#define RES_PACKAGE 0x0200
#define RES_TYPE 0x0201
#define FLAG_COMPLEX 0x0001
#define TYPE_SPARSE 0x01
#define TYPE_OFFSET16 0x02
#define TYPE_REFERENCE 0x01
#define TYPE_STRING 0x03


typedef struct {
    const uint8_t *buf;
    size_t len;
    mtd_strpool values;
} table;

/* Offset of entry `e` inside a type chunk, or -1. */
static long entry_offset(const uint8_t *c, uint32_t size, uint16_t hs, uint32_t e)
{
    uint8_t flags = c[9];
    uint32_t count = mtd_le32(c + 12), start = mtd_le32(c + 16);
    if (start > size)
        return -1;
    if (flags & TYPE_SPARSE) { /* pairs of u16 index, u16 offset/4, sorted by index */
        if ((uint64_t)hs + (uint64_t)count * 4 > size)
            return -1;
        for (uint32_t i = 0; i < count; i++)
            if (mtd_le16(c + hs + 4 * i) == e)
                return (long)start + 4L * mtd_le16(c + hs + 4 * i + 2);
        return -1;
    }
    if (e >= count)
        return -1;
    if (flags & TYPE_OFFSET16) {
        if ((uint64_t)hs + (uint64_t)count * 2 > size)
            return -1;
        uint16_t o = mtd_le16(c + hs + 2 * e);
        return o == 0xffff ? -1 : (long)start + 4L * o;
    }
    if ((uint64_t)hs + (uint64_t)count * 4 > size)
        return -1;
    uint32_t o = mtd_le32(c + hs + 4 * e);
    return o == 0xffffffffu ? -1 : (long)start + (long)o;
}

/* Is the chunk's configuration the default one (every qualifier zero)? */
static int default_config(const uint8_t *c, uint16_t hs)
{
    uint32_t csize = mtd_le32(c + 20);
    if (20 + (uint64_t)csize > hs || csize < 4)
        return 0;
    for (uint32_t i = 4; i < csize; i++)
        if (c[20 + i])
            return 0;
    return 1;
}

/* The value (type, data) of entry e of type t in one package chunk. */
static int package_value(const uint8_t *p, uint32_t psize, uint8_t t, uint16_t e, uint8_t *vt, uint32_t *vd)
{
    uint16_t phs = mtd_le16(p + 2);
    int found = 0;
    for (uint64_t off = phs; off + 8 <= psize;) {
        const uint8_t *c = p + off;
        uint16_t type = mtd_le16(c), hs = mtd_le16(c + 2);
        uint32_t size = mtd_le32(c + 4);
        if (size < 8 || size > psize - off || hs > size)
            return 0;
        long eo;
        if (type == RES_TYPE && hs >= 20 && c[8] == t && (eo = entry_offset(c, size, hs, e)) >= 0 &&
            (uint64_t)eo + 8 <= size) {
            const uint8_t *ent = c + eo;
            uint16_t esize = mtd_le16(ent), eflags = mtd_le16(ent + 2);
            if (!(eflags & FLAG_COMPLEX) && (uint64_t)eo + esize + 8 <= size) {
                int def = default_config(c, hs);
                if (!found || def) {
                    *vt = ent[esize + 3];
                    *vd = mtd_le32(ent + esize + 4);
                    found = 1;
                    if (def)
                        return 1;
                }
            }
        }
        off += size;
    }
    return found;
}

static int lookup(const table *tb, uint32_t id, uint8_t *vt, uint32_t *vd)
{
    uint16_t hs = mtd_le16(tb->buf + 2);
    for (uint64_t off = hs; off + 8 <= tb->len;) {
        const uint8_t *c = tb->buf + off;
        uint32_t size = mtd_le32(c + 4);
        if (size < 8 || size > tb->len - off)
            return 0;
        if (mtd_le16(c) == RES_PACKAGE && size >= 12 && mtd_le32(c + 8) == (id >> 24) &&
            package_value(c, size, (uint8_t)(id >> 16), (uint16_t)id, vt, vd))
            return 1;
        off += size;
    }
    return 0;
}

char *mtd_res_string(const uint8_t *buf, size_t len, uint32_t id, char *why, size_t wl)
{
    table tb = {buf, len, {0}};
    if (len < 12 || mtd_le16(buf) != RES_TABLE || mtd_le16(buf + 2) < 12 || mtd_le32(buf + 4) > len) {
        snprintf(why, wl, "resources.arsc is not a resource table");
        return NULL;
    }
    tb.len = mtd_le32(buf + 4);
    uint16_t hs = mtd_le16(buf + 2);
    if (hs + 8u <= tb.len && mtd_le16(buf + hs) == RES_STRING_POOL)
        mtd_strpool_init(&tb.values, buf + hs, tb.len - hs);
    for (int depth = 0; depth < 8; depth++) {
        uint8_t vt = 0;
        uint32_t vd = 0;
        if (!lookup(&tb, id, &vt, &vd)) {
            snprintf(why, wl, "resource @0x%08x is not in resources.arsc", id);
            return NULL;
        }
        if (vt == TYPE_STRING) {
            char *s = mtd_strpool_get(&tb.values, vd);
            if (!s)
                snprintf(why, wl, "resource @0x%08x: bad string index %u", id, vd);
            return s;
        }
        if (vt != TYPE_REFERENCE) {
            snprintf(why, wl, "resource @0x%08x is not a string (type 0x%02x)", id, vt);
            return NULL;
        }
        id = vd;
    }
    snprintf(why, wl, "resource references nest too deeply");
    return NULL;
}
