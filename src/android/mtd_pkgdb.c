/* mtd_pkgdb: package records from packages.xml, runtime permissions, restrictions,
 * pm list and dumpsys. */
#include "android/mtd_pkgdb.h"
#include "android/mtd_xmlev.h"
#include "common/mtd_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_PKGS 100000
#define FLAG_SYSTEM 1

void mtd_pkgdb_init(mtd_pkgdb *db) { memset(db, 0, sizeof *db); }

void mtd_strlist_free(mtd_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

void mtd_strlist_add(mtd_strlist *l, const char *s, size_t n)
{
    for (size_t i = 0; i < l->n; i++)
        if (strlen(l->v[i]) == n && !memcmp(l->v[i], s, n))
            return;
    char **p = realloc(l->v, (l->n + 1) * sizeof *p);
    if (!p)
        return;
    l->v = p;
    if ((l->v[l->n] = strndup(s, n)) != NULL)
        l->n++;
}

void mtd_pkgdb_free(mtd_pkgdb *db)
{
    for (size_t i = 0; i < db->n; i++) {
        mtd_pkg *p = &db->p[i];
        free(p->name);
        free(p->code_path);
        free(p->installer);
        free(p->version_name);
        mtd_strlist_free(&p->requested);
        mtd_strlist_free(&p->granted);
    }
    free(db->p);
    memset(db, 0, sizeof *db);
}

mtd_pkg *mtd_pkgdb_get(mtd_pkgdb *db, const char *name, int create)
{
    for (size_t i = 0; i < db->n; i++)
        if (!strcmp(db->p[i].name, name))
            return &db->p[i];
    if (!create || db->n >= MAX_PKGS)
        return NULL;
    mtd_pkg *np = realloc(db->p, (db->n + 1) * sizeof *np);
    if (!np)
        return NULL;
    db->p = np;
    mtd_pkg *p = &db->p[db->n];
    memset(p, 0, sizeof *p);
    p->name = strdup(name);
    p->version_code = p->first_install_ms = p->last_update_ms = -1;
    p->uid = -1;
    if (!p->name)
        return NULL;
    db->n++;
    return p;
}

static void set_str(char **dst, const char *v)
{
    if (!*dst && v && *v)
        *dst = strdup(v);
}

static const char *attr(const char **a, const char *k)
{
    for (int i = 0; a[i]; i += 2)
        if (!strcmp(a[i], k))
            return a[i + 1];
    return NULL;
}

static int64_t hex_ms(const char *v)
{
    if (!v || !*v)
        return -1;
    char *end;
    long long x = strtoll(v, &end, 16);
    return *end ? -1 : (int64_t)x;
}

static int64_t dec(const char *v)
{
    if (!v || !*v)
        return -1;
    char *end;
    long long x = strtoll(v, &end, 10);
    return *end ? -1 : (int64_t)x;
}

/* ---- packages.xml ---- */

typedef struct {
    mtd_pkgdb *db;
    mtd_pkg *cur;     /* inside <package> */
    int in_perms;
} px;

static void px_start(void *ctx, const char *name, const char **a)
{
    px *x = ctx;
    if (!strcmp(name, "package") && attr(a, "name")) {
        mtd_pkg *p = x->cur = mtd_pkgdb_get(x->db, attr(a, "name"), 1);
        if (!p)
            return;
        set_str(&p->code_path, attr(a, "codePath"));
        /* Android 11+ writes installer= (and installInitiator=); older ones installer= */
        set_str(&p->installer, attr(a, "installer") ? attr(a, "installer") : attr(a, "installInitiator"));
        if (p->version_code < 0)
            p->version_code = dec(attr(a, "version"));
        if (p->first_install_ms < 0)
            p->first_install_ms = hex_ms(attr(a, "it"));
        if (p->last_update_ms < 0)
            p->last_update_ms = hex_ms(attr(a, "ut"));
        int64_t flags = dec(attr(a, "flags") ? attr(a, "flags") : attr(a, "pkgFlags"));
        if (flags >= 0)
            p->is_system = (flags & FLAG_SYSTEM) != 0;
        int64_t uid = dec(attr(a, "userId") ? attr(a, "userId") : attr(a, "sharedUserId"));
        if (p->uid < 0 && uid >= 0)
            p->uid = (int)uid;
    } else if (!strcmp(name, "updated-package") && attr(a, "name")) {
        mtd_pkg *p = mtd_pkgdb_get(x->db, attr(a, "name"), 1);
        if (p)
            p->is_updated_system = p->is_system = 1;
    } else if (x->cur && !strcmp(name, "perms")) {
        x->in_perms = 1;
    } else if (x->cur && x->in_perms && !strcmp(name, "item") && attr(a, "name")) {
        const char *g = attr(a, "granted");
        if (!g || strcmp(g, "false"))
            mtd_strlist_add(&x->cur->granted, attr(a, "name"), strlen(attr(a, "name")));
    }
}

static void px_end(void *ctx, const char *name)
{
    px *x = ctx;
    if (!strcmp(name, "package"))
        x->cur = NULL;
    else if (!strcmp(name, "perms"))
        x->in_perms = 0;
}

int mtd_pkgdb_packages_xml(mtd_pkgdb *db, const uint8_t *buf, size_t len, char *why, size_t wl)
{
    px x = {db, NULL, 0};
    mtd_xmlev cb = {&x, px_start, px_end, NULL};
    return mtd_xmlev_parse(buf, len, &cb, why, wl);
}

/* runtime-permissions.xml: <pkg name=><item name= granted=/></pkg> */
typedef struct {
    mtd_pkgdb *db;
    mtd_pkg *cur;
    int restrictions;
} rx;

static void rx_start(void *ctx, const char *name, const char **a)
{
    rx *x = ctx;
    if (!strcmp(name, "pkg") && attr(a, "name")) {
        x->cur = mtd_pkgdb_get(x->db, attr(a, "name"), !x->restrictions);
        if (x->cur && x->restrictions) {
            const char *t = attr(a, "first-install-time") ? attr(a, "first-install-time") : attr(a, "firstInstallTime");
            /* recent Android keeps the per-user first install time here, and it wins
             * over packages.xml's it= (which newer versions no longer maintain) */
            if (t && hex_ms(t) >= 0)
                x->cur->first_install_ms = hex_ms(t);
        }
    } else if (x->cur && !x->restrictions && !strcmp(name, "item") && attr(a, "name")) {
        const char *g = attr(a, "granted");
        if (g && !strcmp(g, "true"))
            mtd_strlist_add(&x->cur->granted, attr(a, "name"), strlen(attr(a, "name")));
    }
}

static void rx_end(void *ctx, const char *name)
{
    rx *x = ctx;
    if (!strcmp(name, "pkg"))
        x->cur = NULL;
}

int mtd_pkgdb_runtime_perms(mtd_pkgdb *db, const uint8_t *buf, size_t len, char *why, size_t wl)
{
    rx x = {db, NULL, 0};
    mtd_xmlev cb = {&x, rx_start, rx_end, NULL};
    return mtd_xmlev_parse(buf, len, &cb, why, wl);
}

int mtd_pkgdb_restrictions(mtd_pkgdb *db, const uint8_t *buf, size_t len, char *why, size_t wl)
{
    rx x = {db, NULL, 1};
    mtd_xmlev cb = {&x, rx_start, rx_end, NULL};
    return mtd_xmlev_parse(buf, len, &cb, why, wl);
}

/* ---- pm list packages -f -i -U ---- */

/* "package:/data/app/~~a==/com.foo-b==/base.apk=com.foo  installer=com.x uid:10123":
 * the path may itself contain '=', so the package is after the last '=' of the first
 * word. */
static int pm_line(mtd_pkgdb *db, const char *s, size_t n)
{
    if (n < 9 || memcmp(s, "package:", 8) != 0)
        return 0;
    const char *w = s + 8, *we = memchr(w, ' ', n - 8);
    if (!we)
        we = s + n;
    const char *eq = NULL;
    for (const char *q = w; q < we; q++)
        if (*q == '=')
            eq = q;
    if (!eq || eq + 1 >= we)
        return MTD_EINVAL;
    char name[512], path[2048];
    snprintf(name, sizeof name, "%.*s", (int)(we - eq - 1), eq + 1);
    snprintf(path, sizeof path, "%.*s", (int)(eq - w), w);
    mtd_pkg *p = mtd_pkgdb_get(db, name, 1);
    if (!p)
        return MTD_ENOMEM;
    set_str(&p->code_path, path);
    char rest[1024];
    snprintf(rest, sizeof rest, "%.*s", (int)(s + n - we), we);
    const char *inst = strstr(rest, "installer=");
    if (inst) {
        char v[256];
        sscanf(inst + 10, "%255s", v);
        if (strcmp(v, "null"))
            set_str(&p->installer, v);
    }
    const char *uid = strstr(rest, "uid:");
    if (uid && p->uid < 0)
        p->uid = atoi(uid + 4);
    return 0;
}

int mtd_pkgdb_pm_list(mtd_pkgdb *db, const uint8_t *buf, size_t len, char *why, size_t wl)
{
    const char *s = (const char *)buf, *end = s + len;
    size_t line = 0;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t n = (size_t)((nl ? nl : end) - s);
        line++;
        if (n && s[n - 1] == '\r')
            n--;
        if (pm_line(db, s, n) != 0) {
            snprintf(why, wl, "pm list packages: line %zu is not package:PATH=NAME", line);
            return MTD_EINVAL;
        }
        s = nl ? nl + 1 : end;
    }
    return 0;
}

/* ---- dumpsys package ---- */

/* "2023-01-05 10:11:12" (device-local, read as UTC) to ms, -1 if not that shape. */
static int64_t dumpsys_time(const char *v)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (sscanf(v, "%d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) != 6 || tm.tm_year < 1970)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000;
}

typedef enum { DS_NONE, DS_REQUESTED, DS_INSTALL, DS_RUNTIME } ds_list;

/* One indented line inside a "Package [name]" block. */
static void ds_field(mtd_pkg *p, const char *t, ds_list *list)
{
    char v[1024];
    if (!strncmp(t, "requested permissions:", 22)) { *list = DS_REQUESTED; return; }
    if (!strncmp(t, "install permissions:", 20)) { *list = DS_INSTALL; return; }
    if (!strncmp(t, "runtime permissions:", 20)) { *list = DS_RUNTIME; return; }
    if (*list != DS_NONE && !strchr(t, '=') && strchr(t, '.') && !strchr(t, ' ')) {
        if (*list == DS_REQUESTED)
            mtd_strlist_add(&p->requested, t, strcspn(t, ":"));
        return;
    }
    if (*list == DS_INSTALL || *list == DS_RUNTIME) {
        const char *g = strstr(t, ": granted=");
        if (g) {
            if (!strncmp(g + 10, "true", 4))
                mtd_strlist_add(&p->granted, t, (size_t)(g - t));
            return;
        }
    }
    *list = DS_NONE;
    if (sscanf(t, "versionCode=%1023s", v) == 1 && p->version_code < 0)
        p->version_code = dec(v);
    else if (!strncmp(t, "versionName=", 12))
        set_str(&p->version_name, t + 12);
    else if (!strncmp(t, "codePath=", 9))
        set_str(&p->code_path, t + 9);
    else if (!strncmp(t, "installerPackageName=", 21) && strcmp(t + 21, "null"))
        set_str(&p->installer, t + 21);
    else if (!strncmp(t, "firstInstallTime=", 17) && p->first_install_ms < 0)
        p->first_install_ms = dumpsys_time(t + 17);
    else if (!strncmp(t, "lastUpdateTime=", 15) && p->last_update_ms < 0)
        p->last_update_ms = dumpsys_time(t + 15);
    else if (!strncmp(t, "pkgFlags=[", 10) || !strncmp(t, "flags=[", 7)) {
        if (strstr(t, " SYSTEM "))
            p->is_system = 1;
        if (strstr(t, " UPDATED_SYSTEM_APP "))
            p->is_updated_system = 1;
    }
}

int mtd_pkgdb_dumpsys(mtd_pkgdb *db, const uint8_t *buf, size_t len, char *why, size_t wl)
{
    const char *s = (const char *)buf, *end = s + len;
    mtd_pkg *cur = NULL;
    ds_list list = DS_NONE;
    int in_packages = 0;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t n = (size_t)((nl ? nl : end) - s);
        char line[2048];
        snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line ? n : sizeof line - 1), s);
        line[strcspn(line, "\r")] = 0;
        s = nl ? nl + 1 : end;
        if (!strcmp(line, "Packages:")) {
            in_packages = 1;
            continue;
        }
        if (line[0] && line[0] != ' ') { /* another top-level section */
            in_packages = 0;
            cur = NULL;
            continue;
        }
        if (!in_packages)
            continue;
        if (!strncmp(line, "  Package [", 11)) {
            char *e = strchr(line + 11, ']');
            if (!e)
                continue;
            *e = 0;
            cur = mtd_pkgdb_get(db, line + 11, 1);
            list = DS_NONE;
        } else if (cur) {
            char *t = line;
            while (*t == ' ')
                t++;
            if (*t)
                ds_field(cur, t, &list);
        }
    }
    (void)why;
    (void)wl;
    return 0;
}
