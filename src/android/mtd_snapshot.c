/* mtd_snapshot: read a snapshot directory into device info and an app inventory. */
#include "android/mtd_snapshot.h"
#include "android/mtd_appinfo.h"
#include "android/mtd_dumpsys.h"
#include "android/mtd_xmlev.h"
#include "common/mtd_err.h"
#include "common/mtd_file.h"
#include "common/mtd_util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FILE (256u << 20)

typedef int (*reader)(mtd_pkgdb *, const uint8_t *, size_t, char *, size_t);

static void note_missing(mtd_snapshot *s, const char *rel)
{
    size_t n = strlen(s->missing);
    snprintf(s->missing + n, sizeof s->missing - n, "%s%s", n ? ", " : "", rel);
}

/* Reads one optional source; a missing file is noted, a bad one is an error. */
static int source(mtd_snapshot *s, const char *rel, reader fn, char *why, size_t wl)
{
    char p[1400];
    snprintf(p, sizeof p, "%s/%s", s->root, rel);
    uint8_t *d;
    size_t n;
    int r = mtd_file_read(p, MAX_FILE, &d, &n);
    if (r == MTD_ENOENT) {
        note_missing(s, rel);
        return 0;
    }
    if (r) {
        snprintf(why, wl, "%s: %s", p, mtd_strerror(r));
        return r;
    }
    char inner[300] = "";
    r = fn(&s->db, d, n, inner, sizeof inner);
    free(d);
    if (r)
        snprintf(why, wl, "%s: %s", p, inner);
    return r;
}

static int props(mtd_snapshot *s, char *why, size_t wl)
{
    const char *rels[] = {"getprop.txt", "system/build.prop"};
    for (int i = 0; i < 2; i++) {
        char p[1400];
        snprintf(p, sizeof p, "%s/%s", s->root, rels[i]);
        uint8_t *d;
        size_t n;
        if (mtd_file_read(p, MAX_FILE, &d, &n) != 0)
            continue;
        char inner[200];
        int r = mtd_props_parse(d, n, &s->props, inner, sizeof inner);
        free(d);
        if (r)
            snprintf(why, wl, "%s: %s", p, inner);
        return r;
    }
    note_missing(s, "getprop.txt and system/build.prop");
    return 0;
}

int mtd_snapshot_read(const mtd_snapshot *s, const char *devpath, uint8_t **out, size_t *len)
{
    char p[2400];
    if (strstr(devpath, "..")) /* a path from outside data stays inside the snapshot */
        return MTD_EINVAL;
    snprintf(p, sizeof p, "%s/%s", s->root, devpath[0] == '/' ? devpath + 1 : devpath);
    return mtd_file_read(p, MAX_FILE, out, len);
}

int mtd_snapshot_has(const mtd_snapshot *s, const char *devpath)
{
    char p[2400];
    struct stat st;
    if (strstr(devpath, ".."))
        return 0;
    snprintf(p, sizeof p, "%s/%s", s->root, devpath[0] == '/' ? devpath + 1 : devpath);
    return lstat(p, &st) == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int mtd_snapshot_list(const mtd_snapshot *s, const char *devpath, mtd_strlist *out)
{
    char p[2400];
    if (strstr(devpath, ".."))
        return MTD_ENOENT;
    snprintf(p, sizeof p, "%s/%s", s->root, devpath[0] == '/' ? devpath + 1 : devpath);
    DIR *d = opendir(p);
    if (!d)
        return MTD_ENOENT;
    size_t first = out->n;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && out->n < 10000)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            mtd_strlist_add(out, e->d_name, strlen(e->d_name));
    closedir(d);
    qsort(out->v + first, out->n - first, sizeof *out->v, cmp_str);
    return 0;
}

int mtd_snapshot_dumpsys(const mtd_snapshot *s, const char *service, uint8_t **out, size_t *len,
                         char *why, size_t wl)
{
    char rel[200];
    snprintf(rel, sizeof rel, "dumpsys_%s.txt", service);
    int r = mtd_snapshot_read(s, rel, out, len);
    if (r != MTD_ENOENT) {
        if (r)
            snprintf(why, wl, "%s/%s: %s", s->root, rel, mtd_strerror(r));
        return r;
    }
    uint8_t *all;
    size_t n;
    const uint8_t *sec;
    size_t seclen;
    if ((r = mtd_snapshot_read(s, "dumpsys.txt", &all, &n)) != 0) {
        if (r != MTD_ENOENT)
            snprintf(why, wl, "%s/dumpsys.txt: %s", s->root, mtd_strerror(r));
        return r;
    }
    /* a full dump always has headers: one without is no answer for this service */
    r = mtd_dumpsys_section(all, n, service, &sec, &seclen);
    if (r == 0 && sec == all)
        r = MTD_ENOENT;
    if (r == 0) {
        *out = malloc(seclen + 1);
        if (*out) {
            memcpy(*out, sec, seclen);
            (*out)[seclen] = 0;
            *len = seclen;
        } else
            r = MTD_ENOMEM;
    }
    free(all);
    return r;
}

/* <setting name="adb_enabled" value="1" .../> of settings_<ns>.xml */
static void setting_start(void *ctx, const char *name, const char **a)
{
    const char *n = NULL, *v = NULL;
    for (int i = 0; a[i]; i += 2) {
        if (!strcmp(a[i], "name")) n = a[i + 1];
        if (!strcmp(a[i], "value")) v = a[i + 1];
    }
    if (!strcmp(name, "setting") && n && v)
        mtd_props_set(ctx, n, v);
}

static void noop_end(void *ctx, const char *name) { (void)ctx; (void)name; }

int mtd_snapshot_settings(const mtd_snapshot *s, const char *ns, mtd_props *out, char *why, size_t wl)
{
    char rel[200], inner[200] = "";
    uint8_t *d = NULL;
    size_t n = 0;
    int xml = 0;
    memset(out, 0, sizeof *out);
    snprintf(rel, sizeof rel, "settings_%s.txt", ns);
    int r = mtd_snapshot_read(s, rel, &d, &n);
    if (r == MTD_ENOENT) {
        snprintf(rel, sizeof rel, "data/system/users/0/settings_%s.xml", ns);
        xml = 1;
        if ((r = mtd_snapshot_read(s, rel, &d, &n)) == MTD_ENOENT)
            return r;
    }
    if (r == 0 && xml) {
        mtd_xmlev cb = {out, setting_start, noop_end, NULL};
        r = mtd_xmlev_parse(d, n, &cb, inner, sizeof inner);
    } else if (r == 0) {
        r = mtd_props_parse(d, n, out, inner, sizeof inner);
    } else {
        snprintf(inner, sizeof inner, "%s", mtd_strerror(r));
    }
    free(d);
    if (r) {
        snprintf(why, wl, "%s/%s: %s", s->root, rel, inner);
        mtd_props_free(out);
    }
    return r;
}

/* android_id from the secure settings (Android up to 7; later it is per app). */
static void android_id(mtd_snapshot *s)
{
    mtd_props set;
    char why[300];
    if (mtd_snapshot_settings(s, "secure", &set, why, sizeof why) != 0)
        return;
    const char *v = mtd_props_get(&set, "android_id");
    if (v)
        snprintf(s->android_id, sizeof s->android_id, "%s", v);
    mtd_props_free(&set);
}

/* `dumpsys package`, alone or as a section of the full dump. */
static int dumpsys_package(mtd_snapshot *s, char *why, size_t wl)
{
    uint8_t *d;
    size_t n;
    int r = mtd_snapshot_dumpsys(s, "package", &d, &n, why, wl);
    if (r == MTD_ENOENT) {
        note_missing(s, "dumpsys_package.txt");
        return 0;
    }
    if (r)
        return r;
    char inner[300] = "";
    r = mtd_pkgdb_dumpsys(&s->db, d, n, inner, sizeof inner);
    free(d);
    if (r)
        snprintf(why, wl, "%s/dumpsys: %s", s->root, inner);
    return r;
}

int mtd_snapshot_open(const char *root, mtd_snapshot *s, char *why, size_t wl)
{
    memset(s, 0, sizeof *s);
    struct stat st;
    if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(why, wl, "--android-root %s: not a directory", root);
        return MTD_ENOENT;
    }
    snprintf(s->root, sizeof s->root, "%s", root);
    mtd_pkgdb_init(&s->db);
    int r = source(s, "data/system/packages.xml", mtd_pkgdb_packages_xml, why, wl);
    if (r == 0) {
        char p[1400];
        snprintf(p, sizeof p, "%s/data/misc_de/0/apexdata/com.android.permission/runtime-permissions.xml", root);
        r = source(s, access(p, R_OK) == 0 ? "data/misc_de/0/apexdata/com.android.permission/runtime-permissions.xml"
                                           : "data/system/users/0/runtime-permissions.xml",
                   mtd_pkgdb_runtime_perms, why, wl);
    }
    if (r == 0)
        r = source(s, "data/system/users/0/package-restrictions.xml", mtd_pkgdb_restrictions, why, wl);
    if (r == 0)
        r = dumpsys_package(s, why, wl);
    if (r == 0)
        r = source(s, "pm_list_packages.txt", mtd_pkgdb_pm_list, why, wl);
    if (r == 0)
        r = props(s, why, wl);
    if (r) {
        mtd_snapshot_close(s);
        return r;
    }
    android_id(s);
    return 0;
}

void mtd_snapshot_close(mtd_snapshot *s)
{
    mtd_pkgdb_free(&s->db);
    mtd_props_free(&s->props);
}

static void set_prop(json_t *o, const char *key, const mtd_snapshot *s, const char *const *props)
{
    for (; *props; props++) {
        const char *v = mtd_props_get(&s->props, *props);
        if (v && *v) {
            json_object_set_new(o, key, json_string(v));
            return;
        }
    }
}

json_t *mtd_snapshot_device(const mtd_snapshot *s)
{
    json_t *o = json_pack("{s:s}", "os_name", "Android");
    static const char *const ver[] = {"ro.build.version.release", NULL};
    static const char *const man[] = {"ro.product.manufacturer", "ro.product.vendor.manufacturer", "ro.product.brand", NULL};
    static const char *const mod[] = {"ro.product.model", "ro.product.vendor.model", NULL};
    static const char *const cpu[] = {"ro.product.cpu.abi", "ro.product.cpu.abilist", NULL};
    static const char *const bld[] = {"ro.build.fingerprint", "ro.build.display.id", NULL};
    set_prop(o, "os_version", s, ver);
    set_prop(o, "manufacturer", s, man);
    set_prop(o, "model", s, mod);
    set_prop(o, "cpu", s, cpu);
    set_prop(o, "build", s, bld);
    const char *hw = mtd_props_get(&s->props, "ro.board.platform");
    if (hw && json_object_get(o, "cpu")) {
        char both[300];
        snprintf(both, sizeof both, "%s (%s)", json_string_value(json_object_get(o, "cpu")), hw);
        json_object_set_new(o, "cpu", json_string(both));
    }
    return o;
}

static json_t *time_or_null(int64_t ms)
{
    if (ms < 0)
        return json_null();
    char t[MTD_TIME_LEN];
    mtd_time_rfc3339((time_t)(ms / 1000), t);
    return json_string(t);
}

static json_t *strlist_json(const mtd_strlist *l)
{
    json_t *a = json_array();
    for (size_t i = 0; i < l->n; i++)
        json_array_append_new(a, json_string(l->v[i]));
    return a;
}

/* The APK of a package in the snapshot: codePath is a file (old Android) or a
 * directory holding base.apk (Android 5 and later). */
static void apk_paths(const mtd_snapshot *s, const char *code, char *dev, size_t dl, char *host, size_t hl)
{
    struct stat st;
    snprintf(dev, dl, "%s", code);
    snprintf(host, hl, "%s%s", s->root, code);
    if (stat(host, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(dev, dl, "%s/base.apk", code);
        snprintf(host, hl, "%s%s/base.apk", s->root, code);
    }
}

/* One app: the APK when present, then what the device records say. */
static json_t *app_json(const mtd_snapshot *s, const mtd_pkg *p)
{
    char dev[2048] = "", host[3200] = "", why[300];
    if (p->code_path)
        apk_paths(s, p->code_path, dev, sizeof dev, host, sizeof host);
    mtd_appinfo info;
    json_t *o;
    if (host[0] && mtd_appinfo_read(host, &info, why, sizeof why) == 0) {
        o = mtd_appinfo_json(&info, dev);
        mtd_appinfo_free(&info);
    } else {
        o = json_pack("{s:s,s:o,s:o,s:n,s:n,s:o,s:o,s:n,s:n,s:[],s:[]}", "package", p->name,
                      "version_code", p->version_code >= 0 ? json_integer(p->version_code) : json_null(),
                      "version_name", p->version_name ? json_string(p->version_name) : json_null(),
                      "min_sdk", "target_sdk", "permissions", strlist_json(&p->requested),
                      "apk_path", dev[0] ? json_string(dev) : json_null(), "apk_size", "apk_sha256",
                      "signer_sha256", "signature_schemes");
    }
    json_object_set_new(o, "install_source", p->installer ? json_string(p->installer) : json_null());
    json_object_set_new(o, "first_install_time", time_or_null(p->first_install_ms));
    json_object_set_new(o, "last_update_time", time_or_null(p->last_update_ms));
    json_object_set_new(o, "is_system", json_boolean(p->is_system || !strncmp(dev, "/system/", 8)));
    json_object_set_new(o, "is_updated_system", json_boolean(p->is_updated_system));
    json_object_set_new(o, "granted_permissions", strlist_json(&p->granted));
    return o;
}

/* APK files under dir (device path rel) that no record names: add them too. */
static void scan(mtd_snapshot *s, const char *rel, int depth, json_t *apps)
{
    char host[1400];
    snprintf(host, sizeof host, "%s%s", s->root, rel);
    DIR *d = depth < 4 ? opendir(host) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char sub[1400], hsub[2900];
        snprintf(sub, sizeof sub, "%s/%s", rel, e->d_name);
        snprintf(hsub, sizeof hsub, "%s%s", s->root, sub);
        struct stat st;
        if (lstat(hsub, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            scan(s, sub, depth + 1, apps);
            continue;
        }
        size_t nl = strlen(e->d_name);
        if (!S_ISREG(st.st_mode) || nl < 5 || strcmp(e->d_name + nl - 4, ".apk"))
            continue;
        mtd_appinfo info;
        char why[300];
        if (mtd_appinfo_read(hsub, &info, why, sizeof why) != 0)
            continue;
        if (!mtd_pkgdb_get(&s->db, info.m.package, 0)) {
            json_t *o = mtd_appinfo_json(&info, sub);
            json_object_set_new(o, "is_system", json_boolean(!strncmp(sub, "/system/", 8)));
            json_array_append_new(apps, o);
        }
        mtd_appinfo_free(&info);
    }
    if (d)
        closedir(d);
}

json_t *mtd_snapshot_apps(mtd_snapshot *s)
{
    json_t *apps = json_array();
    for (size_t i = 0; i < s->db.n; i++)
        json_array_append_new(apps, app_json(s, &s->db.p[i]));
    scan(s, "/data/app", 0, apps);
    scan(s, "/system/app", 0, apps);
    scan(s, "/system/priv-app", 0, apps);
    return apps;
}
