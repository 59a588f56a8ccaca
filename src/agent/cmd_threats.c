/* cmd_threats: `mtd-agent threats --state DIR [--json]`: the threats active on this
 * device, as the agent last reported them (the trackers' STATE/threats-<source>.json),
 * shown to its user. Viewing them is a user action (threat_viewed); nothing else is
 * sent. */
#include "agent/mtd_agent.h"
#include "common/mtd_util.h"
#include "usage/mtd_actions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mtd_cmd_threats(int argc, char **argv)
{
    static const mtd_optspec specs[] = {{"--state", MTD_ARG_ONE}, {"--json", MTD_ARG_FLAG}, {NULL, 0}};
    static const char *const sources[] = {"device", "app", "web", "network"};
    mtd_args a;
    mtd_state st;
    if (mtd_agent_args(argc, argv, specs, &a) || mtd_agent_state(&a, &st))
        return 1;
    if (a.npos)
        return mtd_agent_fail("threats: unexpected argument \"%s\"", a.pos[0]);
    int json = mtd_args_has(&a, "--json"), n = 0;
    for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++) {
        char name[64], path[1200];
        snprintf(name, sizeof name, "threats-%s.json", sources[i]);
        mtd_state_path(&st, name, path, sizeof path);
        json_t *set = json_load_file(path, 0, NULL);
        const char *id;
        json_t *t;
        json_object_foreach(set, id, t) {
            n++;
            if (json) {
                char *s = json_dumps(t, JSON_COMPACT | JSON_SORT_KEYS);
                puts(s ? s : "{}");
                free(s);
            } else { /* a name or evidence taken from an app is escaped: one line, no codes */
                const char *nm = json_string_value(json_object_get(t, "threat_name")) ?: id;
                const char *ev = json_string_value(json_object_get(t, "evidence")) ?: "";
                char enm[1024], eev[4096];
                mtd_escape_ctl(nm, strlen(nm), enm, sizeof enm);
                mtd_escape_ctl(ev, strlen(ev), eev, sizeof eev);
                printf("%-8s  %-40s  %s\n", json_string_value(json_object_get(t, "severity")) ?: "?", enm, eev);
            }
        }
        json_decref(set);
    }
    if (!json && n == 0)
        printf("no active threats on this device\n");
    mtd_actions_record(st.dir, MTD_ACTION_THREAT_VIEWED);
    return 0;
}
