/* mtd_schema: lookups in the schema table and validation of one event against it. */
#include "schema/mtd_schema.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"
#include "privacy/mtd_pseudo.h"

#include <stdio.h>
#include <string.h>

const mtd_event_type *mtd_schema_event(const char *name)
{
    for (size_t i = 0; i < mtd_event_ntypes; i++)
        if (!strcmp(mtd_event_types[i].name, name))
            return &mtd_event_types[i];
    return NULL;
}

const mtd_field *mtd_schema_field(const mtd_event_type *ev, const char *name)
{
    if (ev)
        for (size_t i = 0; i < ev->nfields; i++)
            if (!strcmp(ev->fields[i].name, name))
                return &ev->fields[i];
    for (size_t i = 0; i < mtd_envelope_nfields; i++)
        if (!strcmp(mtd_envelope_fields[i].name, name))
            return &mtd_envelope_fields[i];
    return NULL;
}

const char *mtd_category_name(mtd_category c)
{
    static const char *n[] = {"required", "diagnostic", "feedback"};
    return (unsigned)c < 3 ? n[c] : "?";
}

const char *mtd_sensitivity_name(mtd_sensitivity s)
{
    static const char *n[] = {"non-identifying", "quasi-identifier", "pseudonymous", "direct identifier"};
    return (unsigned)s < 4 ? n[s] : "?";
}

const char *mtd_transform_name(mtd_transform x)
{
    static const char *n[] = {"keep", "pseudonymize", "truncate", "drop"};
    return (unsigned)x < 4 ? n[x] : "?";
}

const char *mtd_ftype_name(mtd_ftype t)
{
    static const char *n[] = {"string", "integer", "boolean", "time", "enum", "string list"};
    return (unsigned)t < 6 ? n[t] : "?";
}

static int check_string(const mtd_field *f, const char *s, size_t len, const char **why)
{
    if (len > f->max_len) {
        *why = "too long";
        return MTD_ETOOBIG;
    }
    if (memchr(s, 0, len)) {
        *why = "contains a NUL byte";
        return MTD_EINVAL;
    }
    return 0;
}

int mtd_schema_check_value(const mtd_field *f, const json_t *v, const char **why)
{
    *why = NULL;
    switch (f->type) {
    case MTD_T_INT:
        if (!json_is_integer(v)) { *why = "must be an integer"; return MTD_EINVAL; }
        return 0;
    case MTD_T_BOOL:
        if (!json_is_boolean(v)) { *why = "must be true or false"; return MTD_EINVAL; }
        return 0;
    case MTD_T_STRLIST: {
        if (!json_is_array(v)) { *why = "must be an array of strings"; return MTD_EINVAL; }
        if (json_array_size(v) > f->max_items) { *why = "has too many items"; return MTD_ETOOBIG; }
        size_t i;
        json_t *it;
        json_array_foreach(v, i, it) {
            if (!json_is_string(it)) { *why = "must be an array of strings"; return MTD_EINVAL; }
            int r = check_string(f, json_string_value(it), json_string_length(it), why);
            if (r)
                return r;
        }
        return 0;
    }
    case MTD_T_STR:
    case MTD_T_TIME:
    case MTD_T_ENUM:
        break;
    }
    if (!json_is_string(v)) { *why = "must be a string"; return MTD_EINVAL; }
    const char *s = json_string_value(v);
    int r = check_string(f, s, json_string_length(v), why);
    if (r)
        return r;
    if (f->type == MTD_T_TIME) {
        time_t t;
        if (mtd_time_parse(s, &t) != 0) { *why = "must be an RFC 3339 UTC time"; return MTD_EINVAL; }
    } else if (f->type == MTD_T_ENUM) {
        for (const char *const *e = f->enum_values; *e; e++)
            if (!strcmp(*e, s))
                return 0;
        *why = "is not one of the allowed values";
        return MTD_EINVAL;
    }
    if (f->xf == MTD_X_PSEUDONYMIZE && !mtd_pseudo_is_valid(s)) {
        *why = "must be a pseudonym (a raw identifier was sent)";
        return MTD_EINVAL;
    }
    return 0;
}

int mtd_schema_validate(const json_t *event, const mtd_event_type **type, char *why,
                        size_t whylen)
{
    *type = NULL;
    if (!json_is_object(event)) {
        snprintf(why, whylen, "event is not a JSON object");
        return MTD_EINVAL;
    }
    const char *name = json_string_value(json_object_get(event, "event"));
    if (!name) {
        snprintf(why, whylen, "event has no \"event\" type");
        return MTD_EINVAL;
    }
    const mtd_event_type *ev = mtd_schema_event(name);
    if (!ev) {
        snprintf(why, whylen, "event type \"%.64s\" is not declared in the schema", name);
        return MTD_ESCHEMA;
    }
    json_int_t ver = json_integer_value(json_object_get(event, "schema"));
    if (ver != MTD_SCHEMA_VERSION) {
        snprintf(why, whylen, "%s: unsupported schema version", name);
        return MTD_EUNSUP;
    }
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)event, key, val) {
        const mtd_field *f = mtd_schema_field(ev, key);
        if (!f || f->xf == MTD_X_DROP) {
            snprintf(why, whylen, "%s: field \"%.64s\" is not declared in the schema", name, key);
            return MTD_ESCHEMA;
        }
        if (json_is_null(val) && !f->required)
            continue;
        const char *w;
        int r = mtd_schema_check_value(f, val, &w);
        if (r) {
            snprintf(why, whylen, "%s: field \"%s\" %s", name, key, w);
            return r;
        }
    }
    for (int pass = 0; pass < 2; pass++) {
        const mtd_field *fs = pass ? ev->fields : mtd_envelope_fields;
        size_t n = pass ? ev->nfields : mtd_envelope_nfields;
        for (size_t i = 0; i < n; i++)
            if (fs[i].required && !json_object_get(event, fs[i].name)) {
                snprintf(why, whylen, "%s: required field \"%s\" is missing", name, fs[i].name);
                return MTD_EINVAL;
            }
    }
    *type = ev;
    return 0;
}
