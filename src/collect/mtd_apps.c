/* mtd_apps: app inventory diffs against the previous round. */
#include "collect/mtd_apps.h"
#include "common/mtd_err.h"
#include "common/mtd_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void prev_path(const mtd_sources_cfg *cfg, char *out, size_t n)
{
    snprintf(out, n, "%s/apps.json", cfg->state_dir);
}

static json_t *version_of(const json_t *app)
{
    return json_pack("{s:O?,s:O?,s:O?}", "version_code", json_object_get(app, "version_code"),
                     "version_name", json_object_get(app, "version_name"), "apk_sha256",
                     json_object_get(app, "apk_sha256"));
}

static const char *vname(const json_t *v)
{
    const char *s = json_string_value(json_object_get(v, "version_name"));
    static char buf[32];
    if (s)
        return s;
    json_int_t c = json_integer_value(json_object_get(v, "version_code"));
    snprintf(buf, sizeof buf, "%lld", (long long)c);
    return buf;
}

static int lifecycle(mtd_emit_fn emit, void *ctx, const char *pkg, const char *action,
                     const json_t *old, const json_t *cur)
{
    json_t *f = json_pack("{s:s,s:s}", "package", pkg, "action", action);
    if (old)
        json_object_set_new(f, "old_version", json_string(vname(old)));
    if (cur)
        json_object_set_new(f, "new_version", json_string(vname(cur)));
    return emit(ctx, "app.lifecycle", f);
}

int mtd_apps_collect(const mtd_sources_cfg *cfg, json_t *apps, mtd_emit_fn emit, void *ctx,
                     json_t **next)
{
    char p[1200];
    prev_path(cfg, p, sizeof p);
    json_t *prev = json_load_file(p, 0, NULL);
    int first = prev == NULL;
    *next = json_object();
    size_t i;
    json_t *app;
    int r = 0;
    json_array_foreach(apps, i, app) {
        const char *pkg = json_string_value(json_object_get(app, "package"));
        if (!pkg || r)
            continue;
        json_t *cur = version_of(app), *old = json_object_get(prev, pkg);
        json_object_set_new(*next, pkg, cur);
        const char *status = !old ? "installed" : json_equal(old, cur) ? "unchanged" : "updated";
        if (!first && strcmp(status, "unchanged"))
            r = lifecycle(emit, ctx, pkg, old ? "update" : "install", old, cur);
        if (r == 0 && (first || strcmp(status, "unchanged"))) {
            json_t *f = json_deep_copy(app);
            json_object_set_new(f, "upgrade_status", json_string(status));
            r = emit(ctx, "app.inventory", f);
        }
    }
    const char *pkg;
    json_t *old;
    json_object_foreach(prev, pkg, old)
        if (r == 0 && !json_object_get(*next, pkg))
            r = lifecycle(emit, ctx, pkg, "remove", old, NULL);
    json_decref(prev);
    return r;
}

int mtd_apps_commit(const mtd_sources_cfg *cfg, json_t *next)
{
    char p[1200];
    prev_path(cfg, p, sizeof p);
    char *s = json_dumps(next, JSON_COMPACT | JSON_SORT_KEYS);
    int r = s ? mtd_file_write_atomic(p, s, strlen(s), 0600) : MTD_ENOMEM;
    free(s);
    return r;
}
