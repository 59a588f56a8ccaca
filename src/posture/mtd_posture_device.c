/* mtd_posture_device: the device a posture round looks at, read into the checks'
 * input: an Android snapshot with its app inventory, or an iOS backup with its
 * bundle IDs, its Manifest.db file list (as device paths) and its apps. */
#include "posture/mtd_posture.h"
#include "common/mtd_err.h"
#include "ios/mtd_ios.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int assess_android(const mtd_posture_device *d, mtd_posture_findings *out, char *why, size_t wl)
{
    mtd_snapshot snap;
    int r = mtd_snapshot_open(d->android_root, &snap, why, wl);
    if (r)
        return r;
    json_t *apps = mtd_snapshot_apps(&snap);
    mtd_posture_input in = {.android = &snap, .apps = apps, .vulns = d->vulns,
                            .patch_max_age_days = d->patch_max_age_days, .now = time(NULL)};
    r = apps ? mtd_posture_run(&in, out, why, wl) : MTD_ENOMEM;
    json_decref(apps);
    mtd_snapshot_close(&snap);
    return r;
}

/* Where a backup domain lies on the device (the domains of iTunes/Finder backups);
 * files of a domain not listed here have no path the checks know. */
static const struct {
    const char *domain, *root;
} domains[] = {
    {"HomeDomain", "/var/mobile"},           {"MediaDomain", "/var/mobile"},
    {"CameraRollDomain", "/var/mobile"},     {"RootDomain", "/var/root"},
    {"SystemPreferencesDomain", "/var/preferences"}, {"KeychainDomain", "/var/Keychains"},
    {"WirelessDomain", "/var/wireless"},     {"MobileDeviceDomain", "/var/MobileDevice"},
    {"DatabaseDomain", "/var/db"},           {"InstallDomain", "/var/installd"},
    {"ManagedPreferencesDomain", "/var/Managed Preferences"},
};

typedef struct {
    json_t *paths; /* array of device paths */
    json_t *ids;   /* bundle ID -> true */
} ios_lists;

static int one_file(void *ctx, const char *domain, const char *rel, int flags)
{
    ios_lists *l = ctx;
    (void)flags;
    /* an app's container names the app: AppDomain-com.saurik.Cydia */
    if (!strncmp(domain, "AppDomain-", 10) && domain[10])
        json_object_set_new(l->ids, domain + 10, json_true());
    for (size_t i = 0; i < sizeof domains / sizeof domains[0]; i++)
        if (!strcmp(domain, domains[i].domain)) {
            char p[2200];
            snprintf(p, sizeof p, "%s%s%s", domains[i].root, rel[0] ? "/" : "", rel);
            return json_array_append_new(l->paths, json_string(p)) ? MTD_ENOMEM : 0;
        }
    return 0;
}

/* The strings of a JSON array, or the keys of an object, sorted, as a C array
 * (pointing into it). */
static int by_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static const char **cstrings(json_t *a, size_t *n)
{
    *n = json_is_array(a) ? json_array_size(a) : json_object_size(a);
    const char **v = calloc(*n ? *n : 1, sizeof *v);
    size_t i = 0;
    const char *k;
    json_t *x;
    if (v && json_is_array(a))
        json_array_foreach(a, i, x)
            v[i] = json_string_value(x);
    else if (v) {
        json_object_foreach(a, k, x)
            v[i++] = k;
        qsort(v, *n, sizeof *v, by_str);
    }
    return v;
}

static int assess_ios(const mtd_posture_device *d, mtd_posture_findings *out, char *why, size_t wl)
{
    mtd_ios_backup b;
    int r = mtd_ios_open(d->ios_backup, &b, why, wl);
    if (r)
        return r;
    ios_lists l = {json_array(), json_object()};
    json_t *installed = mtd_ios_bundle_ids(&b), *x;
    size_t i;
    json_array_foreach(installed, i, x)
        json_object_set_new(l.ids, json_string_value(x), json_true());
    json_decref(installed);
    r = l.paths && l.ids ? mtd_ios_files(&b, one_file, &l, why, wl) : MTD_ENOMEM;
    if (r == MTD_ENOENT)
        r = 0; /* no Manifest.db: no file list, the app and OS checks still run */
    json_t *dev = mtd_ios_device(&b), *apps = mtd_ios_apps(&b);
    mtd_posture_ios ios = {.os_version = json_string_value(json_object_get(dev, "os_version"))};
    const char **ids = cstrings(l.ids, &ios.nbundles), **paths = cstrings(l.paths, &ios.npaths);
    ios.bundle_ids = ids;
    ios.paths = paths;
    mtd_posture_input in = {.ios = &ios, .apps = apps, .vulns = d->vulns,
                            .patch_max_age_days = d->patch_max_age_days, .now = time(NULL)};
    if (r == 0)
        r = ids && paths && apps ? mtd_posture_run(&in, out, why, wl) : MTD_ENOMEM;
    free(ids);
    free(paths);
    json_decref(l.paths);
    json_decref(l.ids);
    json_decref(dev);
    json_decref(apps);
    mtd_ios_close(&b);
    return r;
}

int mtd_posture_assess(const mtd_posture_device *d, mtd_posture_findings *out, int *applies, char *why,
                       size_t wl)
{
    memset(out, 0, sizeof *out);
    if (applies)
        *applies = d->android_root || d->ios_backup;
    if (d->android_root)
        return assess_android(d, out, why, wl);
    if (d->ios_backup)
        return assess_ios(d, out, why, wl);
    return 0;
}
