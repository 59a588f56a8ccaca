/* fuzz_posture: the outside data the posture checks parse: OSV vulnerability records
 * (and their ranges, evaluated against a few installed apps), `dumpsys` output (the
 * section of one service, `dumpsys adb`, `dumpsys accessibility`), the saved Wi-Fi
 * networks of a WifiConfigStore.xml (text or ABX). build.prop and getprop are
 * fuzz_devstate's. */
#include "android/mtd_dumpsys.h"
#include "posture/mtd_posture.h"
#include "posture/mtd_posture_int.h"

#include <stdint.h>
#include <string.h>

static const char apps_json[] =
    "[{\"package\":\"com.politedroid\",\"version_name\":\"1.3\",\"version_code\":4},"
    " {\"package\":\"org.dyndns.fules.ck\",\"version_name\":\"v1.6pre2\",\"version_code\":20},"
    " {\"package\":\"a\",\"version_name\":\"1.0.0-rc.1+b\",\"version_code\":null},"
    " {\"package\":\"b\",\"version_name\":null,\"version_code\":9}]";

static void osv(const uint8_t *data, size_t size)
{
    char why[300];
    mtd_posture_vulns *v = mtd_posture_vulns_new();
    if (!v || mtd_posture_vulns_add(v, data, size, why, sizeof why) != 0) {
        mtd_posture_vulns_free(v);
        return;
    }
    json_t *apps = json_loads(apps_json, 0, NULL);
    mtd_posture_ios ios = {NULL, 0, NULL, 0, NULL}; /* records name their ecosystem: iOS here */
    mtd_posture_input in = {.ios = &ios, .apps = apps, .vulns = v, .patch_max_age_days = 90, .now = 1800000000};
    mtd_posture_findings f;
    if (mtd_posture_run(&in, &f, why, sizeof why) == 0)
        mtd_posture_findings_free(&f);
    json_decref(apps);
    mtd_posture_vulns_free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    osv(data, size);
    int open, wep;
    char err[300];
    mtd_posture_wifi_count(data, size, &open, &wep, err, sizeof err);
    const uint8_t *sec;
    size_t n;
    static const char *const services[] = {"adb", "accessibility", "package"};
    for (int i = 0; i < 3; i++)
        if (mtd_dumpsys_section(data, size, services[i], &sec, &n) == 0) {
            mtd_dumpsys_adb a;
            mtd_dumpsys_adb_parse(sec, n, &a);
            mtd_strlist l = {0};
            mtd_dumpsys_accessibility_enabled(sec, n, &l);
            mtd_strlist_free(&l);
        }
    return 0;
}
