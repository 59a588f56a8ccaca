/* cmd_inventory: `mtd-agent inventory device|apps`: what the agent reads, shown
 * locally as JSON. Nothing is sent and nothing passes the gate here. */
#include "agent/mtd_agent.h"
#include "android/mtd_appinfo.h"
#include "android/mtd_snapshot.h"
#include "collect/mtd_host.h"
#include "collect/mtd_sources.h"
#include "common/mtd_util.h"
#include "ios/mtd_ios.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int print_json(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!s)
        return mtd_agent_fail("out of memory");
    puts(s);
    free(s);
    return 0;
}

static int inventory_device(int argc, char **argv)
{
    static const mtd_optspec specs[] = {{"--android-root", MTD_ARG_ONE}, {"--json", MTD_ARG_FLAG},
                                        {"--state", MTD_ARG_ONE}, {"--ios-backup", MTD_ARG_ONE},
                                        {NULL, 0}};
    mtd_args a;
    if (mtd_agent_args(argc, argv, specs, &a))
        return 1;
    if (a.npos)
        return mtd_agent_fail("inventory device: unexpected argument \"%s\"", a.pos[0]);
    const char *root = mtd_args_get(&a, "--android-root"), *ios = mtd_args_get(&a, "--ios-backup");
    char raw[256];
    const char *source = "guid";
    const char *state = mtd_args_get(&a, "--state");
    json_t *info;
    if (root && ios)
        return mtd_agent_fail("inventory device takes --android-root or --ios-backup, not both");
    if (ios) {
        mtd_ios_backup b;
        char why[512];
        if (mtd_ios_open(ios, &b, why, sizeof why) != 0)
            return mtd_agent_fail("%s", why);
        info = mtd_ios_device(&b);
        source = b.wifi_mac[0] ? "mac" : "guid";
        if (b.missing[0])
            json_object_set_new(info, "missing", json_string(b.missing));
        mtd_ios_close(&b);
    } else if (root) {
        mtd_snapshot snap;
        char why[512];
        if (mtd_snapshot_open(root, &snap, why, sizeof why) != 0)
            return mtd_agent_fail("%s", why);
        info = mtd_snapshot_device(&snap);
        source = snap.android_id[0] ? "android_id" : "guid";
        if (snap.missing[0])
            json_object_set_new(info, "missing", json_string(snap.missing));
        mtd_snapshot_close(&snap);
    } else {
        if (mtd_host_device_identifier(&mtd_host_default_roots, state ? state : "/tmp", raw,
                                       sizeof raw, &source) != 0)
            source = "guid";
        mtd_sources_cfg cfg = {.device_id_source = source};
        info = mtd_sources_device_info(&cfg);
    }
    /* the contract's keys, in its order; absent values are null, never invented */
    static const char *keys[] = {"os_name", "os_version", "manufacturer", "model", "cpu",
                                 "build", "kernel"};
    json_t *o = json_object();
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        json_t *v = json_object_get(info, keys[i]);
        json_object_set(o, keys[i], v ? v : json_null());
    }
    char t[MTD_TIME_LEN];
    mtd_time_now_rfc3339(t);
    json_object_set_new(o, "time", json_string(t));
    json_object_set_new(o, "device_id_source", json_string(source));
    if (json_object_get(info, "model_id")) /* an iOS product type, beside its marketing name */
        json_object_set(o, "model_id", json_object_get(info, "model_id"));
    if (json_object_get(info, "missing")) /* what the snapshot lacks, said rather than invented */
        json_object_set(o, "missing", json_object_get(info, "missing"));
    json_decref(info);
    return print_json(o);
}

/* One JSON line per app (takes apps), then a note of the sources the device lacks. */
static void print_apps(json_t *apps, const char *what, const char *missing)
{
    size_t i;
    json_t *app;
    json_array_foreach(apps, i, app)
        print_json(json_incref(app));
    json_decref(apps);
    if (missing[0])
        fprintf(stderr, "mtd-agent: note: the %s has no %s\n", what, missing);
}

static int inventory_ios_apps(const char *dir)
{
    mtd_ios_backup b;
    char why[512];
    if (mtd_ios_open(dir, &b, why, sizeof why) != 0)
        return mtd_agent_fail("%s", why);
    print_apps(mtd_ios_apps(&b), "backup", b.missing);
    mtd_ios_close(&b);
    return 0;
}

/* One JSON line per APK; a file that cannot be read is named on stderr and makes the
 * command fail, after every other APK has been listed. */
static int inventory_apps(int argc, char **argv)
{
    static const mtd_optspec specs[] = {{"--apk", MTD_ARG_MANY}, {"--android-root", MTD_ARG_ONE},
                                        {"--json", MTD_ARG_FLAG}, {"--ios-backup", MTD_ARG_ONE},
                                        {NULL, 0}};
    mtd_args a;
    if (mtd_agent_args(argc, argv, specs, &a))
        return 1;
    const char *apks[MTD_ARGS_MAX];
    int n = mtd_args_all(&a, "--apk", apks, MTD_ARGS_MAX);
    if (a.npos)
        return mtd_agent_fail("inventory apps: unexpected argument \"%s\"", a.pos[0]);
    const char *root = mtd_args_get(&a, "--android-root");
    const char *ios = mtd_args_get(&a, "--ios-backup");
    if (!!root + !!ios + !!n > 1)
        return mtd_agent_fail("inventory apps takes one of --apk, --android-root or --ios-backup");
    if (ios)
        return inventory_ios_apps(ios);
    if (root) {
        mtd_snapshot snap;
        char why[512];
        if (mtd_snapshot_open(root, &snap, why, sizeof why) != 0)
            return mtd_agent_fail("%s", why);
        json_t *apps = mtd_snapshot_apps(&snap);
        mtd_snapshot_close(&snap);
        if (json_array_size(apps) == 0) { /* an empty or wrong directory is no device */
            json_decref(apps);
            return mtd_agent_fail("--android-root %s: no app found: not an Android snapshot (no"
                                  " packages.xml, dumpsys or pm list output, no APK; see adb-pull)", root);
        }
        print_apps(apps, "snapshot", snap.missing);
        return 0;
    }
    if (n == 0)
        return mtd_agent_fail("inventory apps needs --apk PATH..., --android-root DIR or --ios-backup DIR");
    int failed = 0;
    char first[600] = "";
    for (int i = 0; i < n; i++) {
        mtd_appinfo info;
        char why[512];
        if (mtd_appinfo_read(apks[i], &info, why, sizeof why) != 0) {
            if (!failed++)
                snprintf(first, sizeof first, "%s", why);
            continue;
        }
        print_json(mtd_appinfo_json(&info, apks[i]));
        mtd_appinfo_free(&info);
    }
    fflush(stdout);
    if (failed == 1)
        return mtd_agent_fail("%s", first);
    if (failed)
        return mtd_agent_fail("%d APKs could not be read; the first: %s", failed, first);
    return 0;
}

int mtd_cmd_inventory(int argc, char **argv)
{
    if (argc < 1)
        return mtd_agent_fail("inventory needs \"device\" or \"apps\" (see mtd-agent --help)");
    if (!strcmp(argv[0], "device"))
        return inventory_device(argc - 1, argv + 1);
    if (!strcmp(argv[0], "apps"))
        return inventory_apps(argc - 1, argv + 1);
    return mtd_agent_fail("inventory: unknown kind \"%s\" (device or apps)", argv[0]);
}
