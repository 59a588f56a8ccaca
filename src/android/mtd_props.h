/* mtd_props: Android system properties, from `adb shell getprop` output
 * ("[ro.product.model]: [Pixel 7]", values may span lines) or a build.prop file
 * ("key=value", # comments). The set owns its strings (mtd_props_free). */
#ifndef MTD_PROPS_H
#define MTD_PROPS_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char **k, **v;
    size_t n;
} mtd_props;

int mtd_props_parse(const uint8_t *buf, size_t len, mtd_props *p, char *why, size_t whylen);
/* The last value of key (later lines override, as init does), or NULL. */
const char *mtd_props_get(const mtd_props *p, const char *key);
/* Adds key=value (a later value overrides an earlier one, as in a file). */
int mtd_props_set(mtd_props *p, const char *key, const char *value);
void mtd_props_free(mtd_props *p);

#endif
