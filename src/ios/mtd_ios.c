/* mtd_ios: reading an iOS backup or ios-pull snapshot (see mtd_ios.h). */
#include "ios/mtd_ios.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"
#include "ios/mtd_plist.h"

#include <ctype.h>
#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int exists(const char *dir, const char *name)
{
    char p[1300];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0;
}

static int is_backup_dir(const char *dir)
{
    return exists(dir, "Info.plist") || exists(dir, "Manifest.plist") || exists(dir, "Manifest.db");
}

/* The backup inside a snapshot: DIR itself, or the one directory under DIR/backup/
 * (idevicebackup2 names it after the device's UDID, which goes no further). */
static void find_backup(mtd_ios_backup *b)
{
    if (is_backup_dir(b->dir)) {
        snprintf(b->backup, sizeof b->backup, "%s", b->dir);
        return;
    }
    char sub[1100];
    snprintf(sub, sizeof sub, "%s/backup", b->dir);
    DIR *d = opendir(sub);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') {
            char cand[1100];
            snprintf(cand, sizeof cand, "%s/%s", sub, e->d_name);
            if (is_backup_dir(cand)) {
                snprintf(b->backup, sizeof b->backup, "%s", cand);
                break;
            }
        }
    if (d)
        closedir(d);
}

static void note_missing(mtd_ios_backup *b, const char *what)
{
    size_t n = strlen(b->missing);
    snprintf(b->missing + n, sizeof b->missing - n, "%s%s", n ? ", " : "", what);
}

/* A plist source: absent is noted, present must parse. */
static int load_plist(mtd_ios_backup *b, const char *dir, const char *name, json_t **out,
                      char *why, size_t wl)
{
    char p[1300];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    int r = dir[0] ? mtd_plist_read_file(p, out, why, wl) : MTD_ENOENT;
    if (r == MTD_ENOENT) {
        note_missing(b, name);
        return 0;
    }
    if (r == 0 && !json_is_object(*out)) {
        snprintf(why, wl, "%s: the property list is not a dictionary", p);
        json_decref(*out);
        *out = NULL;
        return MTD_EINVAL;
    }
    return r;
}

/* Opens Manifest.db read-only and immutable: a backup is never written, and the
 * shared copy may sit on a read-only file system (no journal or -shm file). */
static int db_open(const mtd_ios_backup *b, sqlite3 **db, char *why, size_t wl)
{
    char path[1300], uri[4000];
    snprintf(path, sizeof path, "%s/Manifest.db", b->backup);
    size_t n = (size_t)snprintf(uri, sizeof uri, "file:");
    for (const char *s = path; *s && n + 4 < sizeof uri; s++) /* URI-escape the path */
        n += strchr("%?#", *s) ? (size_t)snprintf(uri + n, sizeof uri - n, "%%%02X", (unsigned char)*s)
                               : (uri[n] = *s, 1);
    snprintf(uri + n, sizeof uri - n, "?mode=ro&immutable=1");
    if (sqlite3_open_v2(uri, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) != SQLITE_OK) {
        snprintf(why, wl, "%s: %s", path, *db ? sqlite3_errmsg(*db) : "cannot open");
        sqlite3_close(*db);
        *db = NULL;
        return MTD_EIO;
    }
    return 0;
}

int mtd_ios_files(const mtd_ios_backup *b, mtd_ios_file_fn fn, void *ctx, char *why, size_t wl)
{
    if (!b->backup[0] || !exists(b->backup, "Manifest.db")) {
        snprintf(why, wl, "%s: the backup has no Manifest.db", b->dir);
        return MTD_ENOENT;
    }
    sqlite3 *db;
    int r = db_open(b, &db, why, wl);
    if (r)
        return r;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "SELECT domain, relativePath, flags FROM Files", -1, &st, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *dom = (const char *)sqlite3_column_text(st, 0);
        const char *rel = (const char *)sqlite3_column_text(st, 1);
        if ((r = fn(ctx, dom ? dom : "", rel ? rel : "", sqlite3_column_int(st, 2))) != 0)
            break;
        rc = SQLITE_OK;
    }
    if (r == 0 && rc != SQLITE_DONE) {
        const char *m = sqlite3_errmsg(db);
        snprintf(why, wl, "%s/Manifest.db: %s%s", b->backup, m,
                 rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB ? " (truncated or damaged)"
                 : strstr(m, "no such table") ? " (not the file index of an iOS backup)" : "");
        r = rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB ? MTD_ECORRUPT : MTD_EINVAL;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return r;
}

static int count_file(void *ctx, const char *dom, const char *rel, int flags)
{
    (*(long *)ctx)++;
    return 0;
}

/* The Wi-Fi MAC, from the lockdown values of an ios-pull snapshot (ideviceinfo's
 * WiFiAddress) or, where a backup has it, its Manifest.plist Lockdown dictionary. */
static void wifi_mac(mtd_ios_backup *b)
{
    json_t *lock = json_object_get(b->manifest, "Lockdown");
    const char *m = json_string_value(json_object_get(b->lockdown, "WiFiAddress"));
    if (!m)
        m = json_string_value(json_object_get(lock, "WiFiAddress"));
    if (!m || strlen(m) != 17)
        return;
    for (int i = 0; i < 17; i++)
        if (i % 3 == 2 ? m[i] != ':' : !isxdigit((unsigned char)m[i]))
            return;
    for (int i = 0; i < 17; i++)
        b->wifi_mac[i] = (char)tolower((unsigned char)m[i]);
    b->wifi_mac[17] = 0;
}

int mtd_ios_open(const char *dir, mtd_ios_backup *b, char *why, size_t wl)
{
    memset(b, 0, sizeof *b);
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(why, wl, "--ios-backup %s: not a directory", dir);
        return MTD_ENOENT;
    }
    snprintf(b->dir, sizeof b->dir, "%s", dir);
    find_backup(b);
    int snapshot = !b->backup[0] || strcmp(b->backup, b->dir) != 0;
    int r = 0;
    if (snapshot) /* only ios-pull writes it; a plain backup never has it */
        r = load_plist(b, b->dir, "ideviceinfo.plist", &b->lockdown, why, wl);
    if (r == 0)
        r = load_plist(b, b->backup, "Info.plist", &b->info, why, wl);
    if (r == 0)
        r = load_plist(b, b->backup, "Manifest.plist", &b->manifest, why, wl);
    if (r == 0 && !b->lockdown && !b->info && !b->manifest && !(b->backup[0] && exists(b->backup, "Manifest.db"))) {
        snprintf(why, wl, "--ios-backup %s: not an iOS backup (no Info.plist, Manifest.plist or"
                          " Manifest.db, nor an ios-pull snapshot)", dir);
        r = MTD_ENOENT;
    }
    if (r == 0 && json_is_true(json_object_get(b->manifest, "IsEncrypted"))) {
        note_missing(b, "Manifest.db (the backup is encrypted)"); /* its index is unreadable */
    } else if (r == 0 && b->backup[0] && exists(b->backup, "Manifest.db")) {
        r = mtd_ios_files(b, count_file, &b->nfiles, why, wl); /* read whole: damage shows now */
        b->has_db = r == 0;
    } else if (r == 0) {
        note_missing(b, "Manifest.db");
    }
    if (r) {
        mtd_ios_close(b);
        return r;
    }
    wifi_mac(b);
    return 0;
}

void mtd_ios_close(mtd_ios_backup *b)
{
    json_decref(b->info);
    json_decref(b->manifest);
    json_decref(b->lockdown);
    b->info = b->manifest = b->lockdown = NULL;
}

/* A lockdown value: from ideviceinfo (lockdown key), else Manifest.plist's Lockdown
 * dictionary (same key), else Info.plist (its own spelling, e.g. "Product Type"). */
static const char *value(const mtd_ios_backup *b, const char *key, const char *info_key)
{
    const char *v = json_string_value(json_object_get(b->lockdown, key));
    if (!v)
        v = json_string_value(json_object_get(json_object_get(b->manifest, "Lockdown"), key));
    if (!v)
        v = json_string_value(json_object_get(b->info, info_key));
    return v && v[0] ? v : NULL;
}

json_t *mtd_ios_device(const mtd_ios_backup *b)
{
    const char *type = value(b, "ProductType", "Product Type");
    const char *chip, *name = mtd_ios_model_name(type, &chip);
    const char *ver = value(b, "ProductVersion", "Product Version");
    /* iPads run iPadOS from 13 on; everything else here runs iOS */
    int ipados = type && !strncmp(type, "iPad", 4) && ver && atoi(ver) >= 13;
    json_t *o = json_pack("{s:s,s:s}", "os_name", ipados ? "iPadOS" : "iOS", "manufacturer", "Apple");
    const struct { const char *k, *v; } kv[] = {
        {"os_version", ver}, {"model", name ? name : type}, {"model_id", type},
        {"cpu", chip ? chip : value(b, "CPUArchitecture", "CPU Architecture")},
        {"build", value(b, "BuildVersion", "Build Version")},
    };
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        if (kv[i].v)
            json_object_set_new(o, kv[i].k, json_string(kv[i].v));
    return o;
}

/* Bundle ID -> its Manifest.plist (or iTunes-era Info.plist) entry, for versions. */
static json_t *app_entries(const mtd_ios_backup *b)
{
    json_t *all = json_object();
    json_t *src[] = {json_object_get(b->info, "Applications"), json_object_get(b->manifest, "Applications")};
    for (int i = 0; i < 2; i++) {
        const char *id;
        json_t *v;
        json_object_foreach(src[i], id, v)
            if (id[0] && json_is_object(v))
                json_object_set(all, id, v);
    }
    return all;
}

static int by_name(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

json_t *mtd_ios_bundle_ids(const mtd_ios_backup *b)
{
    json_t *set = app_entries(b), *list = json_object_get(b->info, "Installed Applications");
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
        if (json_string_length(v) > 0 && !json_object_get(set, json_string_value(v)))
            json_object_set_new(set, json_string_value(v), json_object());
    /* jansson's objects keep no order: the IDs are sorted for stable output */
    size_t n = 0;
    const char **names = malloc((json_object_size(set) + 1) * sizeof *names);
    const char *id;
    json_object_foreach(set, id, v)
        if (names)
            names[n++] = id;
    if (names)
        qsort(names, n, sizeof *names, by_name);
    json_t *ids = json_array();
    for (i = 0; i < n; i++)
        json_array_append_new(ids, json_string(names[i]));
    free(names);
    json_decref(set);
    return ids;
}

json_t *mtd_ios_apps(const mtd_ios_backup *b)
{
    json_t *ids = mtd_ios_bundle_ids(b), *entries = app_entries(b), *apps = json_array();
    size_t i;
    json_t *id;
    json_array_foreach(ids, i, id) {
        json_t *e = json_object_get(entries, json_string_value(id));
        json_t *ver = json_object_get(e, "CFBundleShortVersionString");
        if (!json_is_string(ver))
            ver = json_object_get(e, "CFBundleVersion");
        json_t *o = json_pack("{s:O,s:n,s:O?,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:b}",
            "package", id, "version_code", "version_name", json_is_string(ver) ? ver : NULL,
            "min_sdk", "target_sdk", "permissions", "apk_path", "apk_size", "apk_sha256",
            "signer_sha256", "signature_schemes", "install_source", "first_install_time",
            "last_update_time", "is_system", 0);
        json_array_append_new(apps, o);
    }
    json_decref(ids);
    json_decref(entries);
    return apps;
}
