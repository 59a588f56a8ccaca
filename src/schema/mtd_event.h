/* mtd_event: one event decoded against the schema, without a general JSON tree.
 *
 * The collector's hot path: a batch line is parsed in place (strings unescaped inside
 * the line's own bytes, which the caller keeps alive), each key looked up in the
 * schema, each value checked exactly as mtd_schema_validate() checks it, and the
 * result kept as one value slot per declared column (envelope fields first, then the
 * event's own). The store binds those slots straight into its INSERT.
 *
 * Why hand-written: jansson builds a tree of heap objects per event and the validator
 * then looks every key up again; measured at ~40% of the collector's ingest time
 * (bench_ingest under perf). The events are flat objects of a known schema, so a
 * schema-driven parser does one pass and no allocation. Strict JSON (RFC 8259) and
 * strict UTF-8, duplicate keys rejected, as jansson with JSON_REJECT_DUPLICATES. */
#ifndef MTD_EVENT_H
#define MTD_EVENT_H

#include "schema/mtd_schema.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define MTD_EVENT_MAX_COLUMNS 48

typedef enum { MTD_V_NONE, MTD_V_STR, MTD_V_INT, MTD_V_BOOL, MTD_V_LIST } mtd_vkind;

typedef struct {
    uint8_t kind;
    uint32_t len;   /* STR, LIST: bytes at s (LIST: the array's JSON text) */
    const char *s;
    int64_t i;      /* INT, BOOL */
} mtd_value;

typedef struct {
    const mtd_event_type *type;
    mtd_value v[MTD_EVENT_MAX_COLUMNS]; /* column order: mtd_event_column() */
} mtd_event;

/* A JSON value as the validator sees it, whichever parser produced it. */
typedef enum { MTD_TK_STR, MTD_TK_NUM, MTD_TK_TRUE, MTD_TK_FALSE, MTD_TK_NULL, MTD_TK_ARR,
               MTD_TK_OBJ } mtd_tkind;

typedef struct {
    uint8_t t;
    const char *s;       /* STR: decoded bytes; ARR: the array's JSON text */
    size_t len;
    int64_t i;           /* NUM with is_int */
    uint8_t is_int;      /* NUM: an integer that fits int64 */
    uint8_t has_nul;     /* STR: contains U+0000 */
    uint8_t all_str;     /* ARR: every item a string without NUL */
    size_t items;        /* ARR */
    size_t max_item;     /* ARR: longest item, decoded bytes */
} mtd_token;

typedef struct {
    const char *key;
    size_t klen;
    mtd_token tok;
} mtd_entry;

/* Checks one value against its declaration; *why says what is wrong. */
int mtd_field_check(const mtd_field *f, const mtd_token *tk, const char **why);
/* The one-line reason for a failed mtd_field_check (rc, w), the limit named:
 * "field \"comment\" too long (at most 4000 bytes)". */
void mtd_field_why(const mtd_field *f, int rc, const char *w, char *out, size_t len);
/* Validates the entries of one event (every key declared, once; every value fits;
 * required fields present). Fills ev when not NULL. */
int mtd_event_check_entries(const mtd_entry *e, size_t n, mtd_event *ev,
                            const mtd_event_type **type, char *why, size_t whylen);

/* Column of a field: envelope fields 0.., then the type's fields. -1 if undeclared. */
int mtd_event_column(const mtd_event_type *t, const char *name, size_t len);
const mtd_field *mtd_event_column_field(const mtd_event_type *t, int col);
int mtd_event_ncolumns(const mtd_event_type *t);

/* Parses and validates one JSON object in buf[0..len) (modified in place). Returns 0,
 * or MTD_EINVAL / MTD_ETOOBIG / MTD_ESCHEMA / MTD_EUNSUP with a reason in why that
 * reads like mtd_schema_validate's. */
int mtd_event_parse(char *buf, size_t len, mtd_event *ev, char *why, size_t whylen);

/* Encodes a jansson object and parses it into ev; *text (free() it) holds the bytes
 * the slots point into. For tests and tools; the hot path parses wire bytes. */
int mtd_event_from_json(const json_t *obj, mtd_event *ev, char **text, char *why, size_t whylen);

/* Value of a field by name, NULL when absent or not a string/bool ("true"/"false"). */
const char *mtd_event_str(const mtd_event *ev, const char *name, size_t *len);
int mtd_event_is_true(const mtd_event *ev, const char *name);
int mtd_event_has(const mtd_event *ev, const char *name);

#endif
