/* mtd_xmlev: one event interface for Android's two XML encodings of device state:
 * text XML (Android 11 and earlier, read with expat) and ABX binary XML (Android 12
 * and later, mtd_abx). Readers of packages.xml and its siblings are written once
 * against these callbacks and read either encoding (picked by the "ABX\0" magic).
 * Attribute names and values are NUL-terminated and valid only during the call. */
#ifndef MTD_XMLEV_H
#define MTD_XMLEV_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    void *ctx;
    void (*start)(void *ctx, const char *name, const char **attrs); /* attrs: k, v, ..., NULL */
    void (*end)(void *ctx, const char *name);
    void (*text)(void *ctx, const char *s, size_t len);           /* may be NULL */
} mtd_xmlev;

/* Parses text XML or ABX; why names the offset or line on failure. */
int mtd_xmlev_parse(const uint8_t *buf, size_t len, const mtd_xmlev *cb, char *why, size_t whylen);
/* Parses ABX only. */
int mtd_abx_parse(const uint8_t *buf, size_t len, const mtd_xmlev *cb, char *why, size_t whylen);
/* Re-emits an ABX document as text XML (malloc'd, NUL-terminated). */
int mtd_abx_to_xml(const uint8_t *buf, size_t len, char **xml, size_t *xmllen, char *why, size_t whylen);

#endif
