/* mtd_posture_os: is the device's OS still supported and patched? The OS release
 * against the end-of-support table (src/posture/os_support.json, compiled into the
 * agent: each Android and iOS release with the date of its last security update and
 * the public source of those dates), and an Android device's security patch level
 * (ro.build.version.security_patch) against the tenant policy's maximum age. */
#include "posture/mtd_posture_int.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* os_support.json as bytes (made by cmake/mtd_embed.cmake). */
extern const unsigned char mtd_posture_os_support_json[];
extern const unsigned long mtd_posture_os_support_json_len;

static const mtd_posture_check checks[] = {
    {"android.os_end_of_support", "os", "high", "Android release out of security support",
     "system properties ro.build.version.release and ro.build.version.sdk",
     "Google publishes security fixes for an Android release for a few years only. Once a "
     "release is out of support, vulnerabilities found in it are never fixed, and they are "
     "published in the Android Security Bulletins for attackers to read. A device that cannot "
     "move to a supported release stays exposed to every one of them."},
    {"android.patch_level", "os", "medium", "Security patch level too old",
     "system property ro.build.version.security_patch, and the policy's maximum age",
     "Each month the Android Security Bulletin lists the vulnerabilities fixed that month, and "
     "a device's security patch level says up to which bulletin it is patched. A patch level "
     "older than the organization allows means fixes published since then, often for "
     "vulnerabilities exploited in the wild, are missing on this device."},
    {"ios.os_end_of_support", "os", "high", "iOS release out of security support",
     "the iOS version of the backup or snapshot",
     "Apple fixes security vulnerabilities in the current iOS release and, for a while, for "
     "devices that cannot run it, in a few older ones. A release that no longer receives "
     "security updates keeps every vulnerability found since, including those used by "
     "spyware and exploit kits against iPhones."},
};

static const mtd_posture_family *self(void);

static const mtd_posture_check *check(const char *id) { return mtd_posture_family_check(self(), id); }

static json_t *table(void)
{
    return json_loadb((const char *)mtd_posture_os_support_json, mtd_posture_os_support_json_len, 0, NULL);
}

/* "12", "8.1", "2.3.3", "14.3" -> major and minor (minor -1 when absent). */
static int major_minor(const char *v, int *maj, int *min)
{
    char *end;
    long a = strtol(v, &end, 10);
    if (end == v || a < 0 || a > 1000)
        return -1;
    *maj = (int)a;
    *min = -1;
    if (*end == '.') {
        long b = strtol(end + 1, &end, 10);
        if (b >= 0 && b < 1000)
            *min = (int)b;
    }
    return 0;
}

/* The table entry for a release: by API level when known (it tells 12 from 12L),
 * else the entry with the same major and minor, else the one with the major only. */
static json_t *find_release(json_t *list, const char *version, int api)
{
    size_t i;
    json_t *e, *by_major = NULL;
    int vmaj, vmin;
    if (api > 0)
        json_array_foreach(list, i, e) {
            json_t *r = json_object_get(e, "api");
            if (api >= json_integer_value(json_array_get(r, 0)) && api <= json_integer_value(json_array_get(r, 1)))
                return e;
        }
    if (!version || major_minor(version, &vmaj, &vmin) != 0)
        return NULL;
    json_array_foreach(list, i, e) {
        int emaj, emin;
        if (major_minor(json_string_value(json_object_get(e, "release")), &emaj, &emin) != 0 || emaj != vmaj)
            continue;
        if (emin < 0 && !by_major)
            by_major = e;
        else if (emin == (vmin < 0 ? 0 : vmin))
            return e;
    }
    return by_major;
}

/* Whether the entry's support has ended by now; *ended gets its date or "". */
static int ended(json_t *e, time_t now, char *date, size_t dl)
{
    json_t *eol = json_object_get(e, "eol");
    date[0] = 0;
    if (json_is_true(eol))
        return 1;
    const char *d = json_string_value(eol);
    time_t t;
    if (!d)
        return 0;
    char iso[40];
    snprintf(iso, sizeof iso, "%sT00:00:00Z", d);
    snprintf(date, dl, "%s", d);
    return mtd_time_parse(iso, &t) == 0 && t <= now;
}

static int end_of_support(const char *os, const char *id, const char *version, int api, time_t now,
                          mtd_posture_findings *out)
{
    json_t *t = table();
    if (!t)
        return MTD_ENOMEM; /* the table is compiled in: only memory can fail here */
    json_t *e = find_release(json_object_get(t, !strcmp(os, "Android") ? "android" : "ios"), version, api);
    char date[32], apis[32] = "";
    int r = 0;
    if (e && ended(e, now, date, sizeof date)) {
        if (api > 0)
            snprintf(apis, sizeof apis, " (API %d)", api);
        char last[80];
        if (date[0])
            snprintf(last, sizeof last, "last security update %s", date);
        else
            snprintf(last, sizeof last, "security support ended (the source gives no date)");
        r = mtd_posture_add(out, check(id), NULL, NULL, "%s %s%s, release %s: %s (table of %s, %s)",
                            os, version ? version : "?", apis,
                            json_string_value(json_object_get(e, "release")), last,
                            json_string_value(json_object_get(t, "compiled")), "endoflife.date")
                ? 0
                : MTD_ENOMEM;
    }
    json_decref(t);
    return r;
}

static int patch_level(const mtd_snapshot *s, int max_days, time_t now, mtd_posture_findings *out)
{
    const char *p = mtd_props_get(&s->props, "ro.build.version.security_patch");
    char iso[40];
    time_t t;
    if (!p || strlen(p) != 10)
        return 0; /* Android before 6 has none; the release check covers those */
    snprintf(iso, sizeof iso, "%sT00:00:00Z", p);
    if (mtd_time_parse(iso, &t) != 0)
        return 0;
    long days = (long)((now - t) / 86400);
    if (days <= max_days)
        return 0;
    return mtd_posture_add(out, check("android.patch_level"), NULL, NULL,
                           "security patch level %s is %ld days old; the policy allows %d", p, days, max_days)
               ? 0
               : MTD_ENOMEM;
}

static int run(const mtd_posture_input *in, mtd_posture_findings *out, char *why, size_t wl)
{
    (void)why;
    (void)wl;
    int r = 0;
    if (in->android) {
        const mtd_props *pp = &in->android->props;
        const char *sdk = mtd_props_get(pp, "ro.build.version.sdk");
        const char *rel = mtd_props_get(pp, "ro.build.version.release");
        if (sdk || rel)
            r = end_of_support("Android", "android.os_end_of_support", rel, sdk ? atoi(sdk) : 0, in->now, out);
        if (r == 0)
            r = patch_level(in->android, in->patch_max_age_days, in->now, out);
    }
    if (r == 0 && in->ios && in->ios->os_version)
        r = end_of_support("iOS", "ios.os_end_of_support", in->ios->os_version, 0, in->now, out);
    return r;
}

const mtd_posture_family mtd_posture_os_family = {checks, sizeof checks / sizeof checks[0], run};

static const mtd_posture_family *self(void) { return &mtd_posture_os_family; }
