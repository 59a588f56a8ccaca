/* mtd_bytes: little-endian integers in byte buffers, as ZIP, AXML, resources.arsc, the
 * APK Signing Block and the spool's record headers store them. Byte by byte, so any
 * alignment and any host byte order work. The caller checks the bounds. */
#ifndef MTD_BYTES_H
#define MTD_BYTES_H

#include <stdint.h>

static inline uint16_t mtd_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t mtd_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t mtd_le64(const uint8_t *p)
{
    return (uint64_t)mtd_le32(p) | (uint64_t)mtd_le32(p + 4) << 32;
}

static inline void mtd_put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void mtd_put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

#endif
