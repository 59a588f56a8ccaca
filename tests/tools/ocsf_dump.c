/* ocsf_dump: prints, as JSON lines, the OCSF event the exporter makes of a stored row of
 * every event type the schema declares: one with every field set, one for each value of
 * each enum field, and one with only the required fields; rows are shaped as the store
 * returns them (lists as JSON text, booleans as 0/1). test_ocsf checks each line against
 * the OCSF required-attribute table, so that an event type added to the schema cannot be
 * exported without what its OCSF class requires. */
#include "schema/mtd_ocsf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *sample(const mtd_field *f, const char *enum_value)
{
    switch (f->type) {
    case MTD_T_STR: return json_string(f->xf == MTD_X_PSEUDONYMIZE ? "ps_AAAAAAAAAAAAAAAAAAAAAA" : "example");
    case MTD_T_INT: return json_integer(7);
    case MTD_T_BOOL: return json_integer(1);
    case MTD_T_TIME: return json_string("2026-11-24T10:00:00Z");
    case MTD_T_ENUM: return json_string(enum_value ? enum_value : f->enum_values[0]);
    case MTD_T_STRLIST: return json_string("[\"one\",\"two\"]");
    }
    return json_null();
}

/* A stored row; with only_required, just the fields the event cannot lack. */
static json_t *row(const mtd_event_type *ev, int only_required, const mtd_field *vary, const char *value)
{
    json_t *r = json_pack("{s:I}", "row", (json_int_t)1);
    for (size_t i = 0; i < mtd_envelope_nfields; i++) {
        const mtd_field *f = &mtd_envelope_fields[i];
        if (!only_required || f->required)
            json_object_set_new(r, f->name, sample(f, NULL));
    }
    json_object_set_new(r, "event", json_string(ev->name));
    for (size_t i = 0; i < ev->nfields; i++) {
        const mtd_field *f = &ev->fields[i];
        if (!only_required || f->required || f == vary)
            json_object_set_new(r, f->name, sample(f, f == vary ? value : NULL));
    }
    return r;
}

static void print(const mtd_event_type *ev, json_t *r, const mtd_ocsf_device *dev)
{
    json_t *o = mtd_ocsf_event(ev, r, dev);
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    printf("%s\n", s);
    free(s);
    json_decref(o);
    json_decref(r);
}

int main(void)
{
    const mtd_ocsf_device android = {"Android", "14", "0.1.0"}, unknown = {0};
    for (size_t i = 0; i < mtd_event_ntypes; i++) {
        const mtd_event_type *ev = &mtd_event_types[i];
        print(ev, row(ev, 0, NULL, NULL), &android);
        print(ev, row(ev, 1, NULL, NULL), &unknown);
        for (size_t j = 0; j < ev->nfields; j++)
            for (const char *const *v = ev->fields[j].enum_values; v && *v; v++)
                print(ev, row(ev, 0, &ev->fields[j], *v), &android);
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
