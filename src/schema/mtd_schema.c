/* mtd_schema: lookups in the schema table and validation of one event against it. */
#include "schema/mtd_schema.h"
#include "schema/mtd_event.h"
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

/* A jansson value as the shared validator's token. */
static void json_token(const json_t *v, mtd_token *tk)
{
    memset(tk, 0, sizeof *tk);
    if (json_is_string(v)) {
        tk->t = MTD_TK_STR;
        tk->s = json_string_value(v);
        tk->len = json_string_length(v);
        tk->has_nul = memchr(tk->s, 0, tk->len) != NULL;
    } else if (json_is_integer(v)) {
        tk->t = MTD_TK_NUM;
        tk->is_int = 1;
        tk->i = json_integer_value(v);
    } else if (json_is_real(v)) {
        tk->t = MTD_TK_NUM;
    } else if (json_is_true(v)) {
        tk->t = MTD_TK_TRUE;
    } else if (json_is_false(v)) {
        tk->t = MTD_TK_FALSE;
    } else if (json_is_null(v)) {
        tk->t = MTD_TK_NULL;
    } else if (json_is_array(v)) {
        tk->t = MTD_TK_ARR;
        tk->all_str = 1;
        tk->items = json_array_size(v);
        size_t i;
        json_t *it;
        json_array_foreach(v, i, it) {
            size_t n = json_string_length(it);
            if (!json_is_string(it) || memchr(json_string_value(it), 0, n))
                tk->all_str = 0;
            else if (n > tk->max_item)
                tk->max_item = n;
        }
    } else {
        tk->t = MTD_TK_OBJ;
    }
}

int mtd_schema_check_value(const mtd_field *f, const json_t *v, const char **why)
{
    mtd_token tk;
    json_token(v, &tk);
    return mtd_field_check(f, &tk, why);
}

int mtd_schema_validate(const json_t *event, const mtd_event_type **type, char *why,
                        size_t whylen)
{
    *type = NULL;
    if (!json_is_object(event)) {
        snprintf(why, whylen, "event is not a JSON object");
        return MTD_EINVAL;
    }
    mtd_entry e[64];
    size_t n = 0;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)event, key, val) {
        if (n == 64) {
            snprintf(why, whylen, "event has too many fields");
            return MTD_EINVAL;
        }
        e[n].key = key;
        e[n].klen = strlen(key);
        json_token(val, &e[n].tok);
        n++;
    }
    return mtd_event_check_entries(e, n, NULL, type, why, whylen);
}
