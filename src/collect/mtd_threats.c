/* mtd_threats: active findings of one source across rounds (see mtd_threats.h).
 *
 * Three sets: prev (active before this round, from the state file), seen (this
 * round's findings, as emitted) and gone (prev findings that finish_where resolved).
 * Sets are JSON objects keyed by threat_id so a look-up is a hash probe. */
#include "collect/mtd_threats.h"
#include "common/mtd_err.h"
#include "common/mtd_file.h"
#include "common/mtd_log.h"
#include "schema/mtd_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mtd_threats {
    char path[1200];
    char source[16];
    json_t *prev, *seen, *gone;
    int finished;
};

/* The source is one of the schema's threat.detection sources (it also names a file). */
static int source_ok(const char *source)
{
    const mtd_field *f = mtd_schema_field(mtd_schema_event("threat.detection"), "source");
    json_t *v = json_string(source);
    const char *why;
    int ok = f && v && strlen(source) < 16 && mtd_schema_check_value(f, v, &why) == 0;
    json_decref(v);
    return ok;
}

int mtd_threats_open(const char *state_dir, const char *source, mtd_threats **out)
{
    *out = NULL;
    if (!source || !source_ok(source))
        return MTD_EINVAL;
    mtd_threats *t = calloc(1, sizeof *t);
    if (!t)
        return MTD_ENOMEM;
    snprintf(t->source, sizeof t->source, "%s", source);
    snprintf(t->path, sizeof t->path, "%s/threats-%s.json", state_dir, source);
    json_error_t err;
    FILE *f = fopen(t->path, "r");
    if (f) {
        t->prev = json_loadf(f, JSON_REJECT_DUPLICATES, &err);
        fclose(f);
        if (!json_is_object(t->prev)) {
            mtd_log(MTD_LOG_WARN, "threats", "%s unreadable (%s): its findings will be reported again",
                    t->path, t->prev ? "not an object" : err.text);
            json_decref(t->prev);
            t->prev = NULL;
        }
    }
    if (!t->prev)
        t->prev = json_object();
    t->seen = json_object();
    t->gone = json_object();
    if (!t->prev || !t->seen || !t->gone) {
        mtd_threats_close(t);
        return MTD_ENOMEM;
    }
    *out = t;
    return 0;
}

static int id_ok(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > MTD_THREAT_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)id[i] <= 0x20 || (unsigned char)id[i] >= 0x7f)
            return 0;
    return 1;
}

/* Emits a copy of a stored finding with the given status. */
static int emit_as(json_t *stored, const char *status, mtd_emit_fn emit, void *ctx)
{
    json_t *e = json_deep_copy(stored);
    if (!e)
        return MTD_ENOMEM;
    json_object_set_new(e, "status", json_string(status));
    return emit(ctx, "threat.detection", e);
}

int mtd_threats_seen(mtd_threats *t, const char *threat_id, json_t *fields, mtd_emit_fn emit,
                     void *ctx)
{
    if (!id_ok(threat_id) || !json_is_object(fields)) {
        json_decref(fields);
        return MTD_EINVAL;
    }
    /* what is compared is what is emitted, so a change of any field is reported */
    json_object_set_new(fields, "source", json_string(t->source));
    json_object_set_new(fields, "threat_id", json_string(threat_id));
    json_object_set_new(fields, "status", json_string("active"));
    json_t *before = json_object_get(t->seen, threat_id);
    if (!before)
        before = json_object_get(t->prev, threat_id);
    int changed = !before || !json_equal(before, fields);
    int r = changed ? emit_as(fields, "active", emit, ctx) : 0;
    json_object_set_new(t->seen, threat_id, fields);
    return r;
}

/* Resolves the unseen prev findings for which match(stored) holds. */
static int resolve(mtd_threats *t, const char *key, const char *value, mtd_emit_fn emit, void *ctx)
{
    const char *id;
    json_t *stored;
    json_object_foreach(t->prev, id, stored) {
        if (json_object_get(t->seen, id) || json_object_get(t->gone, id))
            continue;
        const char *v = key ? json_string_value(json_object_get(stored, key)) : NULL;
        if (key && (!v || strcmp(v, value)))
            continue;
        int r = emit_as(stored, "resolved", emit, ctx);
        if (r)
            return r;
        json_object_set_new(t->gone, id, json_true());
    }
    return 0;
}

int mtd_threats_finish(mtd_threats *t, mtd_emit_fn emit, void *ctx)
{
    int r = resolve(t, NULL, NULL, emit, ctx);
    if (r == 0)
        t->finished = 1;
    return r;
}

int mtd_threats_finish_where(mtd_threats *t, const char *key, const char *value,
                             mtd_emit_fn emit, void *ctx)
{
    return key && value ? resolve(t, key, value, emit, ctx) : MTD_EINVAL;
}

/* The active set after this round (a new object). */
static json_t *next_set(const mtd_threats *t)
{
    if (t->finished)
        return json_copy(t->seen);
    json_t *next = json_copy(t->prev);
    const char *id;
    json_t *v;
    json_object_foreach(t->gone, id, v)
        json_object_del(next, id);
    json_object_update(next, t->seen);
    return next;
}

size_t mtd_threats_active(const mtd_threats *t)
{
    json_t *n = next_set(t);
    size_t k = json_object_size(n);
    json_decref(n);
    return k;
}

int mtd_threats_commit(mtd_threats *t)
{
    json_t *next = next_set(t);
    char *s = next ? json_dumps(next, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    int r = s ? mtd_file_write_atomic(t->path, s, strlen(s), 0600) : MTD_ENOMEM;
    free(s);
    if (r == 0) { /* a later round of the same tracker starts from what was persisted */
        json_decref(t->prev);
        t->prev = next;
        json_object_clear(t->seen);
        json_object_clear(t->gone);
        t->finished = 0;
    } else {
        json_decref(next);
    }
    return r;
}

void mtd_threats_close(mtd_threats *t)
{
    if (!t)
        return;
    json_decref(t->prev);
    json_decref(t->seen);
    json_decref(t->gone);
    free(t);
}
