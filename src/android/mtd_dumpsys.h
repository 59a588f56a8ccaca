/* mtd_dumpsys: the output of Android's `dumpsys`, by service.
 *
 * A full `adb shell dumpsys` (or the dumpsys.txt of an AndroidQF acquisition, or a
 * bugreport's) concatenates every service's dump, each after a line
 * "DUMP OF SERVICE [CRITICAL |HIGH |NORMAL ]name:" and ending with a line
 * "--------- 0.001s was the duration of dumpsys name, ...". mtd_dumpsys_section() finds
 * one service's text in such a dump; a file without any such header is taken to be the
 * output of `dumpsys name` alone. The readers below parse the services the posture
 * checks need: `dumpsys adb` (whether a computer is connected, how many computers' keys
 * are authorized) and `dumpsys accessibility` (the enabled accessibility services), in
 * the formats AOSP and OEM builds print. Every function takes (buf, len) of outside
 * data, trusts no length in it and keeps no pointer into it past the call unless said. */
#ifndef MTD_DUMPSYS_H
#define MTD_DUMPSYS_H

#include "android/mtd_pkgdb.h"

#include <stddef.h>
#include <stdint.h>

/* Points *sec at the text of service in buf (inside buf, not copied). Returns 0, or
 * MTD_ENOENT when buf is a multi-service dump that does not hold that service. */
int mtd_dumpsys_section(const uint8_t *buf, size_t len, const char *service,
                        const uint8_t **sec, size_t *seclen);

typedef struct {
    int connected;    /* connected_to_adb: 1 true, 0 false, -1 not said */
    int user_keys;    /* computers' keys the user authorized (/data/misc/adb/adb_keys) */
    int system_keys;  /* keys built into the system image (/adb_keys) */
} mtd_dumpsys_adb;

/* Reads the debugging_manager state of `dumpsys adb`. Returns 0, or MTD_ENOENT when
 * the text is not a dumpsys adb output at all. */
int mtd_dumpsys_adb_parse(const uint8_t *buf, size_t len, mtd_dumpsys_adb *out);

/* Adds the enabled accessibility services of `dumpsys accessibility` to out as
 * "package/class" (class as printed, possibly ".Short"). Both shapes are read:
 * AOSP's "Enabled services:{{pkg/cls}, {pkg/cls}}" on one line, and the OEM block
 * "enabled services: {" with one "N : pkg/cls" per line up to "}". Returns 0, or
 * MTD_ENOENT when the text has no enabled-services list. */
int mtd_dumpsys_accessibility_enabled(const uint8_t *buf, size_t len, mtd_strlist *out);

#endif
