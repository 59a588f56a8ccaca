/* mtd_sources: one collection round over every source. */
#include "collect/mtd_sources.h"
#include "android/mtd_snapshot.h"
#include "collect/mtd_apps.h"
#include "collect/mtd_host.h"
#include "common/mtd_err.h"
#include "common/mtd_file.h"
#include "common/mtd_log.h"
#include "common/mtd_util.h"
#include "ios/mtd_ios.h"
#include "usage/mtd_actions.h"
#include "usage/mtd_crash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_ios(const mtd_sources_cfg *cfg)
{
    return cfg->ios_backup && cfg->ios_backup[0];
}

/* The device's own fields: from the snapshot or backup when one is open, else this host. */
static json_t *device_fields(const mtd_sources_cfg *cfg, const mtd_snapshot *snap,
                             const mtd_ios_backup *ios)
{
    json_t *f;
    if (is_ios(cfg))
        f = ios ? mtd_ios_device(ios) : json_pack("{s:s}", "os_name", "iOS");
    else if (cfg->android_root && cfg->android_root[0])
        f = snap ? mtd_snapshot_device(snap)
                 : json_pack("{s:s}", "os_name", "Android"); /* nothing else is invented */
    else
        f = mtd_host_device_info(&mtd_host_default_roots);
    if (cfg->device_id_source)
        json_object_set_new(f, "device_id_source", json_string(cfg->device_id_source));
    if (cfg->agent_version)
        json_object_set_new(f, "agent_version", json_string(cfg->agent_version));
    return f;
}

json_t *mtd_sources_device_info(const mtd_sources_cfg *cfg)
{
    mtd_snapshot snap;
    mtd_ios_backup ios;
    char why[600];
    int open = !is_ios(cfg) && cfg->android_root && cfg->android_root[0] &&
               mtd_snapshot_open(cfg->android_root, &snap, why, sizeof why) == 0;
    int ios_open = is_ios(cfg) && mtd_ios_open(cfg->ios_backup, &ios, why, sizeof why) == 0;
    json_t *f = device_fields(cfg, open ? &snap : NULL, ios_open ? &ios : NULL);
    if (open)
        mtd_snapshot_close(&snap);
    if (ios_open)
        mtd_ios_close(&ios);
    return f;
}

/* An iOS device's round: its device info and its apps, from one reading of the
 * backup. A backup that cannot be read still reports the device, as iOS only. */
static int ios_round(const mtd_sources_cfg *cfg, mtd_emit_fn emit, void *ctx, json_t **apps_next)
{
    mtd_ios_backup b;
    char why[600];
    int open = mtd_ios_open(cfg->ios_backup, &b, why, sizeof why) == 0;
    if (!open)
        mtd_log(MTD_LOG_WARN, "sources", "%s", why);
    int r = emit(ctx, "device.info", device_fields(cfg, NULL, open ? &b : NULL));
    if (r == 0 && open && apps_next) {
        json_t *list = mtd_ios_apps(&b);
        r = mtd_apps_collect(cfg, list, emit, ctx, apps_next);
        json_decref(list);
    }
    if (open)
        mtd_ios_close(&b);
    return r;
}

/* installed / updated / unchanged, against the version the last round saw. */
static const char *agent_upgrade_status(const mtd_sources_cfg *cfg)
{
    char path[1200], prev[64] = "";
    snprintf(path, sizeof path, "%s/agent.version", cfg->state_dir);
    int had = mtd_file_read_line(path, prev, sizeof prev) == 0;
    if (had && !strcmp(prev, cfg->agent_version))
        return "unchanged";
    char line[80];
    snprintf(line, sizeof line, "%s\n", cfg->agent_version);
    mtd_file_write_atomic(path, line, strlen(line), 0600);
    return had ? "updated" : "installed";
}

/* VmRSS and VmHWM of this process, in KiB. */
static json_t *memory_fields(void)
{
    uint8_t *data;
    size_t len;
    long rss = -1, peak = -1;
    if (mtd_file_read("/proc/self/status", 1 << 16, &data, &len) == 0) {
        const char *p = strstr((char *)data, "VmRSS:");
        if (p)
            rss = strtol(p + 6, NULL, 10);
        p = strstr((char *)data, "VmHWM:");
        if (p)
            peak = strtol(p + 6, NULL, 10);
        free(data);
    }
    if (rss < 0 || peak < 0)
        return NULL;
    return json_pack("{s:I,s:I}", "rss_kb", (json_int_t)rss, "peak_kb", (json_int_t)peak);
}

/* The snapshot is read once per round, for the device and for its apps. */
int mtd_sources_collect(const mtd_sources_cfg *cfg, mtd_emit_fn emit, void *ctx, json_t **apps_next)
{
    if (apps_next)
        *apps_next = NULL;
    mtd_snapshot snap;
    char why[300];
    int open = !is_ios(cfg) && cfg->android_root && cfg->android_root[0] &&
               mtd_snapshot_open(cfg->android_root, &snap, why, sizeof why) == 0;
    int r = is_ios(cfg) ? ios_round(cfg, emit, ctx, apps_next)
                        : emit(ctx, "device.info", device_fields(cfg, open ? &snap : NULL, NULL));
    if (r == 0 && open && apps_next) { /* the apps, diffed against the previous round */
        json_t *list = mtd_snapshot_apps(&snap);
        r = mtd_apps_collect(cfg, list, emit, ctx, apps_next);
        if (cfg->apps_list) /* the app scanner reads the same list */
            *cfg->apps_list = json_incref(list);
        json_decref(list);
    }
    if (open)
        mtd_snapshot_close(&snap);
    if (r == 0) /* the agent's own crashes, and its app's in the snapshot */
        r = mtd_crash_collect(cfg, emit, ctx);
    if (r == 0) /* what the user did in the agent: counts, or the day's LDP report */
        r = mtd_actions_collect(cfg, emit, ctx);
    if (r)
        return r;
    r = emit(ctx, "usage.agent",
             json_pack("{s:s,s:s,s:s}", "package", cfg->agent_package, "version",
                       cfg->agent_version, "upgrade_status", agent_upgrade_status(cfg)));
    if (r)
        return r;
    json_t *mem = memory_fields();
    return mem ? emit(ctx, "usage.memory", mem) : 0;
}
