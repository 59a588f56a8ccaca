/* mtd_posture_net: an Android device's settings that expose it, or its traffic, on
 * the network: adb listening on the network (properties, the wireless debugging
 * setting), a global HTTP proxy (global settings), and CA certificates the user added
 * (/data/misc/user/0/cacerts-added/), which let whoever holds their keys read TLS
 * traffic. */
#include "posture/mtd_posture_int.h"
#include "common/mtd_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const mtd_posture_check checks[] = {
    {"android.adb_network", "network", "high", "adb reachable over the network",
     "system properties service.adb.tcp.port and persist.adb.tcp.port, global setting adb_wifi_enabled",
     "adb normally listens only on USB. With adb over TCP or wireless debugging on, any "
     "computer on the same network that holds an authorized key (or that the user approves "
     "once) gets a shell on the device, and on old Android versions no key is needed at all."},
    {"android.global_proxy", "network", "medium", "Global HTTP proxy set",
     "global settings http_proxy, global_http_proxy_host and global_http_proxy_port",
     "A global HTTP proxy sends the web traffic of every app through one server. Set by an "
     "organization it is a deliberate choice; set by anyone else it lets that server see, "
     "block or alter the device's traffic (and, with a CA certificate of its own, read it)."},
    {"android.user_ca", "network", "medium", "User-added CA certificates",
     "the names of the files in /data/misc/user/0/cacerts-added/ (certificate hashes)",
     "A CA certificate the user installs makes the device trust any TLS certificate its "
     "owner issues, so whoever holds its key can read and change the encrypted traffic of "
     "apps that trust user certificates. Interception tools, some monitoring apps and "
     "stalkerware install one."},
};

static const mtd_posture_family *self(void);

static const mtd_posture_check *check(const char *id) { return mtd_posture_family_check(self(), id); }

static int adb_network(const mtd_snapshot *s, const mtd_props *global, mtd_posture_findings *out)
{
    char ev[400] = "", item[200];
    static const char *const ports[] = {"service.adb.tcp.port", "persist.adb.tcp.port"};
    for (int i = 0; i < 2; i++) {
        const char *v = mtd_props_get(&s->props, ports[i]);
        if (v && atoi(v) > 0) {
            snprintf(item, sizeof item, "%s=%d", ports[i], atoi(v));
            mtd_posture_list_add(ev, sizeof ev, item);
        }
    }
    const char *w = mtd_props_get(global, "adb_wifi_enabled");
    if (w && !strcmp(w, "1"))
        mtd_posture_list_add(ev, sizeof ev, "adb_wifi_enabled=1");
    if (!ev[0])
        return 0;
    return mtd_posture_add(out, check("android.adb_network"), NULL, NULL, "%s", ev) ? 0 : MTD_ENOMEM;
}

/* http_proxy is "host:port" (":0" when cleared); the global_http_proxy_* pair is
 * what a device owner or the settings app set. */
static int proxy(const mtd_props *global, mtd_posture_findings *out)
{
    const char *hp = mtd_props_get(global, "http_proxy");
    const char *host = mtd_props_get(global, "global_http_proxy_host");
    const char *port = mtd_props_get(global, "global_http_proxy_port");
    char ev[600] = "", item[300];
    if (hp && hp[0] && strcmp(hp, ":0") && strcmp(hp, "null")) {
        snprintf(item, sizeof item, "http_proxy=%.200s", hp);
        mtd_posture_list_add(ev, sizeof ev, item);
    }
    if (host && host[0] && strcmp(host, "null")) {
        snprintf(item, sizeof item, "global_http_proxy_host=%.200s%s%.16s", host, port ? " port " : "",
                 port ? port : "");
        mtd_posture_list_add(ev, sizeof ev, item);
    }
    if (!ev[0])
        return 0;
    return mtd_posture_add(out, check("android.global_proxy"), NULL, NULL, "%s", ev) ? 0 : MTD_ENOMEM;
}

static int user_ca(const mtd_snapshot *s, mtd_posture_findings *out)
{
    mtd_strlist l = {0};
    if (mtd_snapshot_list(s, "/data/misc/user/0/cacerts-added", &l) != 0 || l.n == 0) {
        mtd_strlist_free(&l);
        return 0;
    }
    char names[600] = "";
    for (size_t i = 0; i < l.n; i++)
        mtd_posture_list_add(names, sizeof names, l.v[i]);
    int r = mtd_posture_add(out, check("android.user_ca"), NULL, NULL,
                            "%zu certificate%s in /data/misc/user/0/cacerts-added: %s", l.n,
                            l.n == 1 ? "" : "s", names)
                ? 0
                : MTD_ENOMEM;
    mtd_strlist_free(&l);
    return r;
}

static int run(const mtd_posture_input *in, mtd_posture_findings *out, char *why, size_t wl)
{
    if (!in->android)
        return 0;
    mtd_props global;
    int r = mtd_posture_global_settings(in->android, &global, why, wl);
    if (r == 0)
        r = adb_network(in->android, &global, out);
    if (r == 0)
        r = proxy(&global, out);
    mtd_props_free(&global);
    return r ? r : user_ca(in->android, out);
}

const mtd_posture_family mtd_posture_net_family = {checks, sizeof checks / sizeof checks[0], run};

static const mtd_posture_family *self(void) { return &mtd_posture_net_family; }
