/* mtd_plist: Apple property lists (binary "bplist00" or XML) read with libplist and
 * handed on as jansson values, so the iOS readers work on the same JSON the rest of
 * the agent does.
 *
 * Dictionaries become objects, arrays arrays, strings strings, integers and UIDs
 * integers, reals reals, booleans booleans, dates RFC 3339 UTC strings; data blobs
 * become null (no reader needs their bytes, and they must not travel by accident).
 * Input is outside data: it is capped in size and nesting depth, and strings that are
 * not UTF-8 make the whole list invalid. The caller owns the returned value. */
#ifndef MTD_PLIST_H
#define MTD_PLIST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define MTD_PLIST_MAX_BYTES (16u << 20)
#define MTD_PLIST_MAX_DEPTH 64

/* Parses buf; 0 and *out, or a negative code and a line in why (what was wrong). */
int mtd_plist_parse(const uint8_t *buf, size_t len, json_t **out, char *why, size_t whylen);

/* Reads and parses a file; why names the file. MTD_ENOENT when it does not exist. */
int mtd_plist_read_file(const char *path, json_t **out, char *why, size_t whylen);

#endif
