/* mtd_ocsf: map a stored event to an OCSF event by the schema's attribute paths. */
#include "schema/mtd_ocsf.h"
#include "common/mtd_util.h"

#include <stdio.h>
#include <string.h>

/* Sets a value at a dotted path, creating the objects on the way. */
static void set_path(json_t *root, const char *path, json_t *v)
{
    char key[128];
    const char *p = path;
    json_t *o = root;
    for (const char *dot; (dot = strchr(p, '.')) != NULL; p = dot + 1) {
        snprintf(key, sizeof key, "%.*s", (int)(dot - p), p);
        json_t *next = json_object_get(o, key);
        if (!json_is_object(next)) {
            next = json_object();
            json_object_set_new(o, key, next);
        }
        o = next;
    }
    json_object_set_new(o, p, v);
}

static int severity_id(const char *s)
{
    static const char *names[] = {"unknown", "info", "low", "medium", "high", "critical"};
    for (int i = 1; s && i < 6; i++)
        if (!strcmp(s, names[i]))
            return i;
    return 1; /* Informational: inventory and usage records */
}

/* The OCSF activity of one of our events. */
static int activity_id(const mtd_event_type *ev, const json_t *row)
{
    const char *action = json_string_value(json_object_get(row, "action"));
    const char *status = json_string_value(json_object_get(row, "status"));
    switch (ev->ocsf_class_uid) {
    case 5001: case 5020: return 2;                     /* Collect */
    case 6002:                                          /* Install / Remove / Update */
        return !action ? 99 : !strcmp(action, "install") ? 1 : !strcmp(action, "remove") ? 2 : 8;
    case 2004: return status && !strcmp(status, "resolved") ? 3 : 1; /* Close / Create */
    case 4001: return 6;                                /* Traffic */
    case 4002: return 3;                                /* Get */
    case 4003: return 2;                                /* Response */
    }
    return 99;                                          /* Other */
}

static json_t *metadata(const mtd_event_type *ev, const json_t *row)
{
    json_t *m = json_pack("{s:s,s:{s:s,s:s}}", "version", MTD_OCSF_VERSION, "product",
                          "name", "openmtd", "vendor_name", "openmtd");
    json_t *v;
    if ((v = json_object_get(row, "event_id")))
        json_object_set(m, "uid", v);
    if ((v = json_object_get(row, "tenant_id")))
        json_object_set(m, "tenant_uid", v);
    json_object_set_new(m, "log_name", json_string(ev->name));
    if ((v = json_object_get(row, "agent_version")) || (v = json_object_get(row, "version")))
        json_object_set(json_object_get(m, "product"), "version", v);
    return m;
}

/* Class-specific objects OCSF requires that our flat fields do not spell out. */
static void class_objects(const mtd_event_type *ev, const json_t *row, json_t *o)
{
    const json_t *v;
    if (ev->ocsf_class_uid == 5020) {
        json_t *pkg = json_object();
        if ((v = json_object_get(row, "package")))
            json_object_set(pkg, "name", (json_t *)v);
        if ((v = json_object_get(row, "version_name")) && !json_is_null(v))
            json_object_set(pkg, "version", (json_t *)v);
        json_object_set_new(o, "package", pkg);
    }
    if (ev->ocsf_class_uid == 2004 || ev->ocsf_class_uid == 4002) {
        json_t *fi = json_object_get(o, "finding_info");
        if (!fi)
            json_object_set_new(o, "finding_info", fi = json_object());
        if (!json_object_get(fi, "uid"))
            json_object_set(fi, "uid", json_object_get(row, "event_id"));
        json_t *types = json_object_get(fi, "types");
        if (json_is_string(types)) /* OCSF: an array of strings */
            json_object_set_new(fi, "types", json_pack("[O]", types));
    }
}

json_t *mtd_ocsf_event(const mtd_event_type *ev, const json_t *row)
{
    json_t *o = json_object();
    int act = activity_id(ev, row);
    int cls = ev->ocsf_class_uid;
    time_t t = 0;
    mtd_time_parse(json_string_value(json_object_get(row, "time")) ?: "", &t);
    json_object_set_new(o, "class_uid", json_integer(cls));
    json_object_set_new(o, "class_name", json_string(cls ? ev->ocsf_class : "Base Event"));
    json_object_set_new(o, "category_uid", json_integer(ev->ocsf_category_uid));
    json_object_set_new(o, "activity_id", json_integer(act));
    json_object_set_new(o, "type_uid", json_integer((json_int_t)cls * 100 + act));
    json_object_set_new(o, "severity_id",
                        json_integer(severity_id(json_string_value(json_object_get(row, "severity")))));
    json_object_set_new(o, "time", json_integer((json_int_t)t * 1000));
    json_object_set_new(o, "metadata", metadata(ev, row));
    for (size_t i = 0; i < ev->nfields; i++) {
        const mtd_field *f = &ev->fields[i];
        json_t *v = json_object_get(row, f->name);
        if (!v || json_is_null(v))
            continue;
        if (f->type == MTD_T_STRLIST && json_is_string(v)) /* stored as JSON text */
            v = json_loads(json_string_value(v), 0, NULL);
        else if (f->type == MTD_T_BOOL && json_is_integer(v))
            v = json_boolean(json_integer_value(v));
        else
            json_incref(v);
        if (!v)
            continue;
        if (cls) {
            set_path(o, f->ocsf, v);
        } else { /* a Base Event keeps our extension's fields apart */
            char path[160];
            snprintf(path, sizeof path, "unmapped.%s", f->name);
            set_path(o, path, v);
        }
    }
    json_t *dev = json_object_get(row, "device_id");
    if (dev)
        set_path(o, "device.uid", json_incref(dev));
    json_t *upn = json_object_get(row, "upn");
    if (upn && !json_is_null(upn))
        set_path(o, "actor.user.uid", json_incref(upn));
    class_objects(ev, row, o);
    return o;
}
