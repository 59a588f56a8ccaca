/* cmd_inventory: `mtd-agent inventory device|apps`: what the agent reads, shown
 * locally as JSON. Nothing is sent and nothing passes the gate here. */
#include "agent/mtd_agent.h"
#include "collect/mtd_host.h"
#include "collect/mtd_sources.h"
#include "common/mtd_util.h"

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
                                        {"--state", MTD_ARG_ONE}, {NULL, 0}};
    mtd_args a;
    if (mtd_agent_args(argc, argv, specs, &a))
        return 1;
    if (a.npos)
        return mtd_agent_fail("inventory device: unexpected argument \"%s\"", a.pos[0]);
    const char *root = mtd_args_get(&a, "--android-root");
    if (root && root[0])
        return mtd_agent_fail("inventory device --android-root: Android snapshots are not"
                              " supported by this build yet");
    char raw[256];
    const char *source = "guid";
    const char *state = mtd_args_get(&a, "--state");
    if (mtd_host_device_identifier(&mtd_host_default_roots, state ? state : "/tmp", raw,
                                   sizeof raw, &source) != 0)
        source = "guid";
    mtd_sources_cfg cfg = {.device_id_source = source};
    json_t *info = mtd_sources_device_info(&cfg);
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
    json_decref(info);
    return print_json(o);
}

int mtd_cmd_inventory(int argc, char **argv)
{
    if (argc < 1)
        return mtd_agent_fail("inventory needs \"device\" or \"apps\" (see mtd-agent --help)");
    if (!strcmp(argv[0], "device"))
        return inventory_device(argc - 1, argv + 1);
    if (!strcmp(argv[0], "apps"))
        return mtd_agent_fail("inventory apps: the APK reader is not in this build yet");
    return mtd_agent_fail("inventory: unknown kind \"%s\" (device or apps)", argv[0]);
}
