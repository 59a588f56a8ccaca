/* mtd_pkgdb: what a device says about its installed packages, from the files a
 * snapshot holds: /data/system/packages.xml (text or ABX), runtime-permissions.xml and
 * package-restrictions.xml (granted runtime permissions, first-install-time), the
 * output of `pm list packages -f -i -U` and of `dumpsys package`.
 *
 * Each reader adds to one list of records keyed by package name and fills only what
 * is still unknown, so the caller's order of reading is the precedence:
 * packages.xml first (the package manager's own record), then dumpsys (derived from
 * it plus runtime state), then pm list (path, installer and uid only). Times are
 * milliseconds since the epoch, -1 when unknown; dumpsys prints device-local time
 * without a zone, which is read as UTC. The list owns everything (mtd_pkgdb_free). */
#ifndef MTD_PKGDB_H
#define MTD_PKGDB_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char **v;
    size_t n;
} mtd_strlist;

typedef struct {
    char *name;
    char *code_path;       /* as on the device */
    char *installer;
    char *version_name;
    int64_t version_code;  /* -1 unknown */
    int64_t first_install_ms, last_update_ms;
    int is_system, is_updated_system;
    int uid;               /* -1 unknown */
    mtd_strlist requested, granted;
} mtd_pkg;

typedef struct {
    mtd_pkg *p;
    size_t n;
} mtd_pkgdb;

void mtd_pkgdb_init(mtd_pkgdb *db);
void mtd_pkgdb_free(mtd_pkgdb *db);
mtd_pkg *mtd_pkgdb_get(mtd_pkgdb *db, const char *name, int create);

int mtd_pkgdb_packages_xml(mtd_pkgdb *db, const uint8_t *buf, size_t len, char *why, size_t whylen);
int mtd_pkgdb_runtime_perms(mtd_pkgdb *db, const uint8_t *buf, size_t len, char *why, size_t whylen);
int mtd_pkgdb_restrictions(mtd_pkgdb *db, const uint8_t *buf, size_t len, char *why, size_t whylen);
int mtd_pkgdb_pm_list(mtd_pkgdb *db, const uint8_t *buf, size_t len, char *why, size_t whylen);
int mtd_pkgdb_dumpsys(mtd_pkgdb *db, const uint8_t *buf, size_t len, char *why, size_t whylen);

/* Adds a copy of s[0..n) unless the list holds it already. */
void mtd_strlist_add(mtd_strlist *l, const char *s, size_t n);
void mtd_strlist_free(mtd_strlist *l);

#endif
