/* mtd_resources: enough of resources.arsc to resolve a manifest value that is a
 * reference (android:versionName="@string/version" compiles to @0x7f050026).
 *
 * Hand-written for the same reason as the AXML reader. It finds the package of the
 * reference, the type chunks of its type, and the entry in the default configuration
 * (no qualifiers; the first configuration that has the entry when none is default),
 * following references up to a small depth. Dense, sparse and 16-bit-offset type
 * chunks are read; every offset is checked against its chunk. */
#ifndef MTD_RESOURCES_H
#define MTD_RESOURCES_H

#include <stddef.h>
#include <stdint.h>

/* The string value of resource id, malloc'd; NULL with why when it cannot be found. */
char *mtd_res_string(const uint8_t *arsc, size_t len, uint32_t id, char *why, size_t whylen);

#endif
