/* mtd_ocsf: map a stored event to an OCSF 1.3.0 event by the schema's attribute paths. */
#include "schema/mtd_ocsf.h"
#include "common/mtd_util.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* One step of a path: the object at key seg (created when absent); "seg[]" is an array
 * attribute, of which the first object is used. */
static json_t *step(json_t *o, const char *seg, size_t len)
{
    char key[128];
    int arr = len > 2 && seg[len - 2] == '[' && seg[len - 1] == ']';
    snprintf(key, sizeof key, "%.*s", (int)(arr ? len - 2 : len), seg);
    json_t *next = json_object_get(o, key);
    if (arr) {
        if (!json_is_array(next))
            json_object_set_new(o, key, next = json_array());
        json_t *first = json_array_get(next, 0);
        if (!json_is_object(first))
            json_array_append_new(next, first = json_object());
        return first;
    }
    if (!json_is_object(next))
        json_object_set_new(o, key, next = json_object());
    return next;
}

/* Sets v (its reference is taken) at a dotted path, creating the objects on the way. */
static void set_path(json_t *root, const char *path, json_t *v)
{
    const char *p = path;
    json_t *o = root;
    for (const char *dot; (dot = strchr(p, '.')) != NULL; p = dot + 1)
        o = step(o, p, (size_t)(dot - p));
    json_object_set_new(o, p, v);
}

static json_t *get_path(json_t *root, const char *a, const char *b)
{
    json_t *o = json_object_get(root, a);
    return b ? json_object_get(o, b) : o;
}

static const char *str(const json_t *row, const char *key)
{
    return json_string_value(json_object_get(row, key));
}

int mtd_ocsf_os_type(const char *n)
{
    static const struct {
        const char *word;
        int id;
    } os[] = {{"android", 201}, {"ipados", 302}, {"iphone os", 301}, {"macos", 300},
              {"mac os", 300},  {"os x", 300},   {"windows mobile", 101}, {"windows", 100},
              {"linux", 200},   {"solaris", 400}, {"aix", 401}, {"hp-ux", 402}};
    if (!n || !n[0])
        return 0;
    if (!strcasecmp(n, "ios"))
        return 301;
    for (size_t i = 0; i < sizeof os / sizeof os[0]; i++)
        if (strcasestr(n, os[i].word))
            return os[i].id;
    return 99;
}

/* The OCSF activity of one of our events. */
static int activity_id(int cls, const json_t *row)
{
    const char *action = str(row, "action"), *status = str(row, "status");
    switch (cls) {
    case 5001: case 5020: return 2;                     /* Collect */
    case 6002:                                          /* Install / Remove / Update */
        return !action ? 99 : !strcmp(action, "install") ? 1 : !strcmp(action, "remove") ? 2 : 8;
    case 2004: return status && !strcmp(status, "resolved") ? 3 : 1; /* Close / Create */
    case 4001: return 6;                                /* Traffic */
    case 4003: return 2;                                /* Response */
    }
    return 99;                                          /* Other */
}

static void severity(int cls, const json_t *row, json_t *o)
{
    static const char *names[] = {"Unknown", "Informational", "Low", "Medium", "High", "Critical"};
    static const char *ours[] = {NULL, "info", "low", "medium", "high", "critical"};
    const char *s = str(row, "severity");
    int id = cls == 2004 ? 0 : 1; /* a detection without a severity: unknown; the rest: informational */
    for (int i = 1; s && i < 6; i++)
        if (!strcmp(s, ours[i]))
            id = i;
    json_object_set_new(o, "severity_id", json_integer(id));
    json_object_set_new(o, "severity", json_string(names[id]));
}

/* A stored value as OCSF wants it; NULL to leave the field out. */
static json_t *value(const mtd_field *f, json_t *v, const char *path)
{
    if (!v || json_is_null(v))
        return NULL;
    if (f->type == MTD_T_STRLIST && json_is_string(v)) /* stored as JSON text */
        return json_loads(json_string_value(v), 0, NULL);
    if (f->type == MTD_T_BOOL && json_is_integer(v))
        return json_boolean(json_integer_value(v));
    const char *last = strrchr(path, '.');
    last = last ? last + 1 : path;
    size_t n = strlen(last);
    if (f->type == MTD_T_TIME && strncmp(path, "unmapped.", 9) && n >= 4 &&
        !strcmp(last + n - 4, "time")) { /* OCSF *_time attributes are epoch milliseconds */
        time_t t;
        if (!json_is_string(v) || mtd_time_parse(json_string_value(v), &t) != 0)
            return NULL;
        return json_integer((json_int_t)t * 1000);
    }
    if (!strcmp(path, "metadata.log_version") && json_is_integer(v)) { /* a string in OCSF */
        char num[24];
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        return json_string(num);
    }
    return json_incref(v);
}

/* Base Event attributes a field may land on; OCSF 1.3.0 gives a Base Event no device,
 * actor or other object, so anything else goes under "unmapped". */
static int base_attribute(const char *path)
{
    static const char *const ok[] = {"activity_name", "message", "metadata.", "time", "count",
                                     "start_time", "end_time", "status", NULL};
    for (const char *const *k = ok; *k; k++)
        if (!strncmp(path, *k, strlen(*k)) &&
            ((*k)[strlen(*k) - 1] == '.' || path[strlen(*k)] == 0))
            return 1;
    return 0;
}

static void put_fields(json_t *o, int cls, const mtd_field *fs, size_t n, const json_t *row)
{
    for (size_t i = 0; i < n; i++) {
        char path[160];
        if (cls || base_attribute(fs[i].ocsf))
            snprintf(path, sizeof path, "%s", fs[i].ocsf);
        else
            snprintf(path, sizeof path, "unmapped.%s", fs[i].name);
        json_t *v = value(&fs[i], json_object_get(row, fs[i].name), path);
        if (v)
            set_path(o, path, v);
    }
}

static void metadata(json_t *o, const mtd_event_type *ev, const json_t *row, const mtd_ocsf_device *dev)
{
    json_t *product = get_path(o, "metadata", "product");
    if (!json_is_object(product))
        set_path(o, "metadata.product", product = json_object());
    json_object_set_new(json_object_get(o, "metadata"), "version", json_string(MTD_OCSF_VERSION));
    json_object_set_new(product, "name", json_string("openmtd"));
    json_object_set_new(product, "vendor_name", json_string("openmtd"));
    if (!json_object_get(product, "version")) {
        const char *v = !strncmp(ev->name, "usage.", 6) ? str(row, "version") : NULL;
        if (!v && dev)
            v = dev->agent_version;
        if (v)
            json_object_set_new(product, "version", json_string(v));
    }
}

/* device.type_id (required) and the OS, from the event itself or the exporter's
 * knowledge of the device. */
static void device(json_t *o, const json_t *row, const mtd_ocsf_device *dev)
{
    json_t *d = json_object_get(o, "device");
    if (!json_is_object(d))
        return;
    const char *os = str(row, "os_name") ?: (dev ? dev->os_name : NULL);
    int os_type = mtd_ocsf_os_type(os);
    int type = os_type == 201 || os_type == 301 || os_type == 101 ? 5 : os_type == 302 ? 4 : 0;
    json_object_set_new(d, "type_id", json_integer(type));
    json_object_set_new(d, "type", json_string(type == 5 ? "Mobile" : type == 4 ? "Tablet" : "Unknown"));
    if (!os)
        return;
    json_t *jos = json_object_get(d, "os");
    if (!json_is_object(jos)) {
        json_object_set_new(d, "os", jos = json_object());
        json_object_set_new(jos, "name", json_string(os));
        if (dev && dev->os_version)
            json_object_set_new(jos, "version", json_string(dev->os_version));
    }
    json_object_set_new(jos, "type_id", json_integer(os_type));
}

/* Class-specific attributes OCSF requires or expects that our flat fields do not spell out. */
static void class_objects(json_t *o, int cls, const mtd_event_type *ev, const json_t *row)
{
    json_t *x;
    if (cls == 5020 && (x = json_object_get(o, "package"))) {
        json_object_set_new(x, "type_id", json_integer(1)); /* Application */
        if (!json_object_get(x, "version") && json_is_integer(json_object_get(row, "version_code"))) {
            char num[24]; /* an app without a version name still has its version code */
            snprintf(num, sizeof num, "%lld", (long long)json_integer_value(json_object_get(row, "version_code")));
            json_object_set_new(x, "version", json_string(num));
        }
        if (!json_object_get(x, "version")) /* required; said unknown rather than invented */
            json_object_set_new(x, "version", json_string("unknown"));
        if ((x = json_object_get(x, "hash"))) {
            json_object_set_new(x, "algorithm_id", json_integer(3));
            json_object_set_new(x, "algorithm", json_string("SHA-256"));
        }
    }
    if (cls == 6002 && (x = json_object_get(o, "app")) && !json_object_get(x, "vendor_name"))
        /* required; the agent does not know who published an app */
        json_object_set_new(x, "vendor_name", json_string("unknown"));
    if (cls == 2004) {
        json_t *fi = json_object_get(o, "finding_info");
        if (!fi)
            json_object_set_new(o, "finding_info", fi = json_object());
        if (!json_object_get(fi, "uid") && json_object_get(row, "event_id"))
            json_object_set(fi, "uid", json_object_get(row, "event_id"));
        json_t *types = json_object_get(fi, "types");
        if (json_is_string(types)) /* OCSF: an array of strings */
            json_object_set_new(fi, "types", json_pack("[O]", types));
        const char *status = str(row, "status");
        int resolved = status && !strcmp(status, "resolved");
        json_object_set_new(o, "status_id", json_integer(resolved ? 4 : 1));
        json_object_set_new(o, "status", json_string(resolved ? "Resolved" : "New"));
    }
    if (cls == 4001) { /* background connections are made by the device */
        json_t *ci = json_object_get(o, "connection_info");
        if (!ci)
            json_object_set_new(o, "connection_info", ci = json_object());
        json_object_set_new(ci, "direction_id", json_integer(2));
        json_object_set_new(ci, "direction", json_string("Outbound"));
    }
    if (cls == 5001 && !strcmp(ev->name, "usage.agent") &&
        (x = json_array_get(get_path(o, "device", "agent_list"), 0))) {
        json_object_set_new(x, "vendor_name", json_string("openmtd"));
        json_object_set_new(x, "type_id", json_integer(1)); /* Endpoint Detection and Response */
    }
}

json_t *mtd_ocsf_event(const mtd_event_type *ev, const json_t *row, const mtd_ocsf_device *dev)
{
    json_t *o = json_object();
    int cls = ev->ocsf_class_uid;
    int act = activity_id(cls, row);
    json_object_set_new(o, "class_uid", json_integer(cls));
    json_object_set_new(o, "class_name", json_string(cls ? ev->ocsf_class : "Base Event"));
    json_object_set_new(o, "category_uid", json_integer(ev->ocsf_category_uid));
    json_object_set_new(o, "activity_id", json_integer(act));
    json_object_set_new(o, "type_uid", json_integer((json_int_t)cls * 100 + act));
    severity(cls, row, o);
    put_fields(o, cls, mtd_envelope_fields, mtd_envelope_nfields, row);
    put_fields(o, cls, ev->fields, ev->nfields, row);
    metadata(o, ev, row, dev);
    device(o, row, dev);
    class_objects(o, cls, ev, row);
    return o;
}
