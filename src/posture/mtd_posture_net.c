/* mtd_posture_net: an Android device's settings that expose it, or its traffic, on
 * the network: adb listening on the network (properties, the wireless debugging
 * setting), a global HTTP proxy (global settings), CA certificates the user added
 * (/data/misc/user/0/cacerts-added/), which let whoever holds their keys read TLS
 * traffic, and saved Wi-Fi networks without encryption or with WEP (WifiConfigStore.xml,
 * text XML or ABX), which the device joins again by itself wherever their name is
 * broadcast. The network names are never reported: they tell where the user has been.
 * (The VPN's check of TLS chains on the wire is in webprot/mtd_netcheck.c.) */
#include "posture/mtd_posture_int.h"
#include "android/mtd_xmlev.h"
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
    {"android.wifi_insecure", "network", "medium", "Open or WEP Wi-Fi networks saved",
     "the security type of each saved network in WifiConfigStore.xml (the network names are "
     "not reported)",
     "The device joins a saved network again by itself whenever a network of that name is "
     "in range. Anyone can broadcast the name of an open network, and WEP is broken in "
     "minutes, so a saved open or WEP network lets a nearby attacker bring the device onto "
     "a network they control and watch or redirect its unencrypted traffic."},
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

/* ---- saved Wi-Fi networks ---- */

typedef struct {
    int in_key;           /* inside <string name="ConfigKey"> */
    char key[512];
    size_t keylen;
    int types, open_types, wep_types; /* SecurityType values of the network */
    int open, wep;        /* networks found */
} wifi_scan;

static const char *attr(const char **a, const char *name)
{
    for (; a && a[0]; a += 2)
        if (!strcmp(a[0], name))
            return a[1];
    return NULL;
}

static void wifi_start(void *ctx, const char *name, const char **a)
{
    wifi_scan *w = ctx;
    const char *n = attr(a, "name");
    if (!strcmp(name, "Network")) {
        w->keylen = 0, w->key[0] = 0;
        w->types = w->open_types = w->wep_types = 0;
    } else if (!strcmp(name, "string") && n && !strcmp(n, "ConfigKey")) {
        w->in_key = 1;
    } else if (!strcmp(name, "int") && n && !strcmp(n, "SecurityType")) {
        const char *v = attr(a, "value");
        w->types++;
        w->open_types += v && !strcmp(v, "0"); /* SECURITY_TYPE_OPEN */
        w->wep_types += v && !strcmp(v, "1");  /* SECURITY_TYPE_WEP */
    }
}

static void wifi_text(void *ctx, const char *s, size_t len)
{
    wifi_scan *w = ctx;
    if (!w->in_key || w->keylen + len >= sizeof w->key)
        return;
    memcpy(w->key + w->keylen, s, len);
    w->keylen += len;
    w->key[w->keylen] = 0;
}

/* ConfigKey is the quoted SSID and the key management: "\"name\"NONE", "...WEP",
 * "...WPA_PSK", "...SAE", "...OWE" (WifiConfiguration.getKey()). Android 11 and later
 * also list SecurityParams, and a network that accepts any open type is joined open:
 * an open network saved on a device that supports OWE lists OPEN and an OWE type added
 * by the auto-upgrade (isAddedByAutoUpgrade), and still joins a plain open network of
 * its name. */
static void wifi_end(void *ctx, const char *name)
{
    wifi_scan *w = ctx;
    if (!strcmp(name, "string"))
        w->in_key = 0;
    if (strcmp(name, "Network"))
        return;
    const char *q = strrchr(w->key, '"');
    const char *mgmt = q ? q + 1 : "";
    if (!strcmp(mgmt, "WEP") || w->wep_types)
        w->wep++;
    else if (w->open_types || (!w->types && !strcmp(mgmt, "NONE")))
        w->open++;
}

int mtd_posture_wifi_count(const uint8_t *buf, size_t len, int *open, int *wep, char *err, size_t el)
{
    wifi_scan w = {0};
    mtd_xmlev cb = {&w, wifi_start, wifi_end, wifi_text};
    int r = mtd_xmlev_parse(buf, len, &cb, err, el);
    *open = r ? 0 : w.open;
    *wep = r ? 0 : w.wep;
    return r;
}

static int wifi(const mtd_snapshot *s, mtd_posture_findings *out, char *why, size_t wl)
{
    static const char *const paths[] = {"/data/misc/apexdata/com.android.wifi/WifiConfigStore.xml",
                                        "/data/misc/wifi/WifiConfigStore.xml"};
    for (int i = 0; i < 2; i++) {
        uint8_t *buf;
        size_t len;
        if (mtd_snapshot_read(s, paths[i], &buf, &len) != 0)
            continue;
        int open, wep;
        char err[300];
        int r = mtd_posture_wifi_count(buf, len, &open, &wep, err, sizeof err);
        free(buf);
        if (r != 0) {
            snprintf(why, wl, "%s: %s", paths[i], err);
            return r;
        }
        if (!open && !wep)
            return 0;
        char ev[300] = "", item[100];
        if (open) {
            snprintf(item, sizeof item, "%d open network%s", open, open == 1 ? "" : "s");
            mtd_posture_list_add(ev, sizeof ev, item);
        }
        if (wep) {
            snprintf(item, sizeof item, "%d WEP network%s", wep, wep == 1 ? "" : "s");
            mtd_posture_list_add(ev, sizeof ev, item);
        }
        return mtd_posture_add(out, check("android.wifi_insecure"), NULL, NULL, "%s saved in %s", ev,
                               strrchr(paths[i], '/') + 1)
                   ? 0
                   : MTD_ENOMEM;
    }
    return 0;
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
    if (r == 0)
        r = user_ca(in->android, out);
    return r ? r : wifi(in->android, out, why, wl);
}

const mtd_posture_family mtd_posture_net_family = {checks, sizeof checks / sizeof checks[0], run};

static const mtd_posture_family *self(void) { return &mtd_posture_net_family; }
