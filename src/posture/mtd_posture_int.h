/* mtd_posture_int: what the check families share inside src/posture/. Each family
 * file defines its table of checks and one run function that reads the input and adds
 * findings; mtd_posture.c lists the families in the order their findings come out. */
#ifndef MTD_POSTURE_INT_H
#define MTD_POSTURE_INT_H

#include "posture/mtd_posture.h"

typedef struct {
    const mtd_posture_check *checks;
    size_t n;
    /* Adds the family's findings; returns 0, or an error with why naming the source
     * that could not be read (a source that is absent is no error). */
    int (*run)(const mtd_posture_input *in, mtd_posture_findings *out, char *why, size_t whylen);
} mtd_posture_family;

extern const mtd_posture_family mtd_posture_root_family, mtd_posture_build_family,
    mtd_posture_debug_family, mtd_posture_net_family, mtd_posture_ios_family,
    mtd_posture_os_family, mtd_posture_osv_family;

/* Appends a finding of check c (threat name and severity its defaults) with the
 * evidence printf makes; subject tells it apart from others of that check. Returns the
 * finding, for a family to name it more precisely, or NULL when out of memory. */
mtd_posture_finding *mtd_posture_add(mtd_posture_findings *out, const mtd_posture_check *c,
                                     const char *subject, const char *package,
                                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* A check of the family's table by identifier (the tables are static: never NULL for
 * an identifier of that table). */
const mtd_posture_check *mtd_posture_family_check(const mtd_posture_family *f, const char *id);

/* Appends ", text" (or text first) to a fixed buffer unless it is there already,
 * cutting at the buffer's end. */
void mtd_posture_list_add(char *buf, size_t len, const char *text);

/* Reads a JSON file of the snapshot at a device path: 0 with *out, MTD_ENOENT when
 * absent, or an error with why naming the file and the position. */
int mtd_posture_snapshot_json(const mtd_snapshot *s, const char *rel, json_t **out, char *why,
                              size_t whylen);

/* The snapshot's global settings; absent ones read as none (0, *out empty). */
int mtd_posture_global_settings(const mtd_snapshot *s, mtd_props *out, char *why, size_t whylen);

/* Whether an inventory app is a system app; -1 when the package is not in it. */
int mtd_posture_app_is_system(const json_t *apps, const char *package);

/* The saved networks of a WifiConfigStore.xml (text XML or ABX) that are open or use
 * WEP; 0, or the parser's code with err naming what was wrong. */
int mtd_posture_wifi_count(const uint8_t *buf, size_t len, int *open, int *wep, char *err, size_t el);

#endif
