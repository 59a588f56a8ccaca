/* mtd_ctl_groups: mtdctl's device groups: the list, a device put in a group or taken
 * out, and a group's policy (collector: collector/mtd_admin_groups.c). */
#include "common/mtd_err.h"
#include "common/mtd_file.h"
#include "ctl/mtd_ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int device_group(mtd_ctl *c, const char *dev, const char *grp)
{
    char path[200];
    json_t *b = json_pack("{s:s?}", "group", grp), *j;
    char *body = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    snprintf(path, sizeof path, "/v1/admin/devices/%.64s/group", dev);
    int r = mtd_ctl_call(c, "PUT", path, body, &j);
    free(body);
    if (r || c->json)
        return r ? r : mtd_ctl_print(c, j, NULL, NULL, 0);
    if (grp)
        printf("device %s is in group %s; its agent gets the group's policy at its next round\n", dev, grp);
    else
        printf("device %s is in no group; its agent gets the tenant's policy at its next round\n", dev);
    json_decref(j);
    return 0;
}

/* The policy keys of KEY=VALUE words: VALUE as JSON when it is JSON (true, 30,
 * "x", null: the key's override removed), else as a string. NULL when a word has no
 * '='. */
json_t *mtd_ctl_policy_keys(int n, const char **words)
{
    json_t *o = json_object();
    for (int i = 0; i < n; i++) {
        const char *eq = strchr(words[i], '=');
        if (!eq || eq == words[i]) {
            json_decref(o);
            return NULL;
        }
        char key[128];
        snprintf(key, sizeof key, "%.*s", (int)(eq - words[i]), words[i]);
        json_t *v = json_loads(eq + 1, JSON_DECODE_ANY, NULL);
        json_object_set_new(o, key, v ? v : json_string(eq + 1));
    }
    return o;
}

int mtd_ctl_groups(mtd_ctl *c, int np, const char **pos)
{
    json_t *j;
    if (!strcmp(pos[0], "group") && np == 2 && !strcmp(pos[1], "list")) {
        static const mtd_column cols[] = {{"name", "GROUP", 0, 0, 1}, {"devices", "DEVICES", 8, 0, 0},
                                          {"policy", "POLICY OVERRIDES", 0, 0, 0}};
        return mtd_ctl_call(c, "GET", "/v1/admin/groups", NULL, &j) ? 1 : mtd_ctl_print(c, j, "groups", cols, 3);
    }
    if (!strcmp(pos[0], "device") && np == 4 && !strcmp(pos[1], "group"))
        return device_group(c, pos[2], pos[3]);
    if (!strcmp(pos[0], "device") && np == 3 && !strcmp(pos[1], "ungroup"))
        return device_group(c, pos[2], NULL);
    if (!strcmp(pos[0], "group") || !strcmp(pos[0], "device"))
        return mtd_ctl_fail(!strcmp(pos[0], "group") ? "group needs list"
                                                     : "device needs group DEVICE_ID GROUP or ungroup DEVICE_ID");
    return -1;
}
