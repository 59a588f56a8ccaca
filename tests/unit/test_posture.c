/* Unit tests of the posture checks' parsers and rules: dumpsys sections and the adb
 * and accessibility services (on MVT's real dumps, and on AOSP's one-line format),
 * SemVer and scheme-free version order, CVSS v3 scores (FIRST's examples), OSV
 * records with SEMVER, ECOSYSTEM and versions-list matches and the errors of bad
 * records, the iOS jailbreak checks on lists, the saved Wi-Fi networks counted open or
 * WEP (WifiConfigStore.xml of Android 10 and of 11+), and the check table itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "android/mtd_dumpsys.h"
#include "common/mtd_err.h"
#include "common/mtd_file.h"
#include "posture/mtd_posture.h"
#include "posture/mtd_posture_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *shared(void) { return getenv("MTD_SHARED_DATA"); }

/* Reads a file of ../shared/data, or skips the test when that folder is absent. */
static int read_shared(const char *rel, uint8_t **d, size_t *n)
{
    char p[1024];
    if (!shared()) {
        fprintf(stderr, "skip: MTD_SHARED_DATA is not set (../shared/data absent)\n");
        return -1;
    }
    snprintf(p, sizeof p, "%s/%s", shared(), rel);
    if (mtd_file_read(p, 1 << 24, d, n) != 0) {
        fprintf(stderr, "skip: %s is absent\n", p);
        return -1;
    }
    return 0;
}

static void dumpsys_sections_of_a_full_dump(void **state)
{
    uint8_t *d;
    size_t n;
    const uint8_t *sec;
    size_t sl;
    if (read_shared("mvt/androidqf/dumpsys.txt", &d, &n))
        skip();
    assert_int_equal(mtd_dumpsys_section(d, n, "adb", &sec, &sl), 0);
    assert_non_null(memmem(sec, sl, "connected_to_adb=true", 21));
    assert_null(memmem(sec, sl, "DUMP OF SERVICE", 15));
    assert_null(memmem(sec, sl, "was the duration", 16)); /* the section ends before it */
    assert_memory_equal(sec, "ADB MANAGER STATE (dumpsys adb):\n", 33);
    assert_int_equal(mtd_dumpsys_section(d, n, "accessibility", &sec, &sl), 0);
    assert_memory_equal(sec, "ACCESSIBILITY MANAGER (dumpsys accessibility)\n", 46);
    assert_int_equal(mtd_dumpsys_section(d, n, "wifi", &sec, &sl), MTD_ENOENT);
    assert_int_equal(mtd_dumpsys_section(d, n, "ad", &sec, &sl), MTD_ENOENT); /* whole names only */
    free(d);
    /* a file of one service without a header is that service's output */
    static const char one[] = "ACCESSIBILITY MANAGER (dumpsys accessibility)\n  enabled services: {\n  }\n";
    assert_int_equal(mtd_dumpsys_section((const uint8_t *)one, sizeof one - 1, "accessibility", &sec, &sl), 0);
    assert_ptr_equal(sec, (const uint8_t *)one);
    assert_int_equal(sl, sizeof one - 1);
}

static void dumpsys_adb_counts_the_authorized_keys(void **state)
{
    uint8_t *d;
    size_t n;
    const uint8_t *sec;
    size_t sl;
    if (read_shared("mvt/android_data/dumpsys_adb.txt", &d, &n))
        skip();
    assert_int_equal(mtd_dumpsys_section(d, n, "adb", &sec, &sl), 0);
    mtd_dumpsys_adb a;
    assert_int_equal(mtd_dumpsys_adb_parse(sec, sl, &a), 0);
    assert_int_equal(a.connected, 1);
    assert_int_equal(a.user_keys, 1);  /* one key, "... user@linux"; the keystore blob is not one */
    assert_int_equal(a.system_keys, 0);
    free(d);
    static const char two[] = "{\n  debugging_manager={\n    connected_to_adb=false\n    user_keys=\n"
        "QAAAAPUBsVijHeceeK3bETuudn5I+S+ndOZDsxQDvkjKqSZrM+35YWU+U1d7mayQoh5fghnSIChrg0UxNOjc a@b\n"
        "QAAAAPUBsVijHeceeK3bETuudn5I+S+ndOZDsxQDvkjKqSZrM+35YWU+U1d7mayQoh5fghnSIChrg0UxNOjd c@d\n"
        "    system_keys=\n  }\n}\n";
    assert_int_equal(mtd_dumpsys_adb_parse((const uint8_t *)two, sizeof two - 1, &a), 0);
    assert_int_equal(a.connected, 0);
    assert_int_equal(a.user_keys, 2);
    static const char none[] = "Battery service state:\n  AC powered: false\n";
    assert_int_equal(mtd_dumpsys_adb_parse((const uint8_t *)none, sizeof none - 1, &a), MTD_ENOENT);
}

static void dumpsys_accessibility_enabled_services(void **state)
{
    uint8_t *d;
    size_t n;
    mtd_strlist l = {0};
    if (read_shared("mvt/android_data/dumpsys_accessibility.txt", &d, &n))
        skip();
    /* the real dump lists four installed services and enables none */
    assert_int_equal(mtd_dumpsys_accessibility_enabled(d, n, &l), 0);
    assert_int_equal(l.n, 0);
    free(d);
    static const char oem[] = "  installed services: {\n    0 : com.a/.X\n  }\n  enabled services: {\n"
                              "    0 : com.evil.app/.Spy\n    1 : org.x/org.x.Svc\n  }\n";
    assert_int_equal(mtd_dumpsys_accessibility_enabled((const uint8_t *)oem, sizeof oem - 1, &l), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0], "com.evil.app/.Spy");
    assert_string_equal(l.v[1], "org.x/org.x.Svc");
    mtd_strlist_free(&l);
    /* AOSP's AccessibilityUserState.dump: ComponentName.toShortString() on one line */
    static const char aosp[] = "User state[\n     Bound services:{}\n"
        "     Enabled services:{{com.google.android.marvin.talkback/com.google.android.marvin.talkback.TalkBackService}, {com.evil/.A11y}}\n"
        "     Binding services:{}\n";
    assert_int_equal(mtd_dumpsys_accessibility_enabled((const uint8_t *)aosp, sizeof aosp - 1, &l), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0], "com.google.android.marvin.talkback/com.google.android.marvin.talkback.TalkBackService");
    assert_string_equal(l.v[1], "com.evil/.A11y");
    mtd_strlist_free(&l);
    static const char junk[] = "enabled services: {\n  0 : not a component\n  1 : ../../etc\n}\n";
    assert_int_equal(mtd_dumpsys_accessibility_enabled((const uint8_t *)junk, sizeof junk - 1, &l), 0);
    assert_int_equal(l.n, 0);
}

static int semver(const char *a, const char *b)
{
    int c = 99;
    assert_int_equal(mtd_posture_semver_cmp(a, b, &c), 0);
    return c;
}

static void semver_precedence_as_semver_org_orders_it(void **state)
{
    /* semver.org 2.0.0, section 11: each one before the next */
    static const char *const order[] = {"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
                                        "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1",
                                        "1.1.0", "2.0.0", "10.0.0"};
    for (size_t i = 0; i + 1 < sizeof order / sizeof order[0]; i++) {
        assert_int_equal(semver(order[i], order[i + 1]), -1);
        assert_int_equal(semver(order[i + 1], order[i]), 1);
    }
    assert_int_equal(semver("1.3", "1.3.0"), 0);        /* a missing patch is 0 */
    assert_int_equal(semver("v2.1.0", "2.1.0+build.7"), 0);
    assert_int_equal(semver("1.2.10", "1.2.9"), 1);
    assert_int_equal(semver("99999999999999999999.0.0", "99999999999999999998.0.0"), 1);
    int c;
    assert_int_equal(mtd_posture_semver_cmp("v1.6pre2", "1.0.0", &c), MTD_EINVAL);
    assert_int_equal(mtd_posture_semver_cmp("", "1.0.0", &c), MTD_EINVAL);
    assert_int_equal(mtd_posture_semver_cmp("1.0.0-", "1.0.0", &c), MTD_EINVAL);
}

static void versions_without_a_scheme(void **state)
{
    assert_int_equal(mtd_posture_version_cmp("1.10", "1.9"), 1);
    assert_int_equal(mtd_posture_version_cmp("2.0-beta", "2.0"), -1);
    assert_int_equal(mtd_posture_version_cmp("2.0.1", "2.0"), 1);
    assert_int_equal(mtd_posture_version_cmp("v1.6pre2", "v1.6pre10"), -1);
    assert_int_equal(mtd_posture_version_cmp("1.2-fake", "1.2-fake"), 0);
    assert_int_equal(mtd_posture_version_cmp("12L", "12"), -1);
}

static void cvss3_base_scores(void **state)
{
    /* examples whose scores FIRST's v3.1 calculator gives */
    assert_float_equal(mtd_posture_cvss3_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"), 9.8, 1e-9);
    assert_float_equal(mtd_posture_cvss3_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"), 6.1, 1e-9);
    assert_float_equal(mtd_posture_cvss3_score("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N"), 5.5, 1e-9);
    assert_float_equal(mtd_posture_cvss3_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"), 10.0, 1e-9);
    assert_float_equal(mtd_posture_cvss3_score("CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:N/A:N"), 3.7, 1e-9);
    assert_float_equal(mtd_posture_cvss3_score("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N"), 0.0, 1e-9);
    assert_true(mtd_posture_cvss3_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H") < 0);
    assert_true(mtd_posture_cvss3_score("AV:N/AC:L/Au:N/C:P/I:P/A:P") < 0); /* v2 */
    assert_true(mtd_posture_cvss3_score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N") < 0);
}

/* An empty snapshot (so that only the apps and records count) and its checks' run. */
static char empty_root[64];

static int setup_empty(void **state)
{
    strcpy(empty_root, "/tmp/mtd-posture-XXXXXX");
    return mkdtemp(empty_root) ? 0 : -1;
}

static int teardown_empty(void **state)
{
    mtd_rm_rf(empty_root);
    return 0;
}

static void run_checks(const char *apps_json, const char *osv, mtd_posture_findings *f)
{
    mtd_snapshot snap;
    char why[300];
    assert_int_equal(mtd_snapshot_open(empty_root, &snap, why, sizeof why), 0);
    json_t *apps = json_loads(apps_json, 0, NULL);
    assert_non_null(apps);
    mtd_posture_vulns *v = mtd_posture_vulns_new();
    assert_int_equal(mtd_posture_vulns_add(v, (const uint8_t *)osv, strlen(osv), why, sizeof why), 0);
    mtd_posture_input in = {.android = &snap, .apps = apps, .vulns = v, .patch_max_age_days = 90,
                            .now = time(NULL)};
    assert_int_equal(mtd_posture_run(&in, f, why, sizeof why), 0);
    mtd_posture_vulns_free(v);
    json_decref(apps);
    mtd_snapshot_close(&snap);
}

static const char apps[] =
    "[{\"package\":\"com.politedroid\",\"version_name\":\"1.3\",\"version_code\":4},"
    " {\"package\":\"org.dyndns.fules.ck\",\"version_name\":\"v1.6pre2\",\"version_code\":20},"
    " {\"package\":\"org.maxsdkversion\",\"version_name\":\"1.0.3\",\"version_code\":4},"
    " {\"package\":\"souch.smsbypass\",\"version_name\":\"0.9\",\"version_code\":9}]";

static void osv_ranges_match_installed_versions(void **state)
{
    static const char osv[] = "{\"vulns\":["
        /* SEMVER: 1.3 (1.3.0) is in [1.0.0, 1.4.0) */
        "{\"id\":\"OSV-TEST-1\",\"aliases\":[\"CVE-2099-0001\"],\"summary\":\"Calendar read\","
        " \"affected\":[{\"package\":{\"ecosystem\":\"Android\",\"name\":\"com.politedroid\"},"
        "  \"ranges\":[{\"type\":\"SEMVER\",\"events\":[{\"introduced\":\"1.0.0\"},{\"fixed\":\"1.4.0\"}]}]}],"
        " \"database_specific\":{\"severity\":\"HIGH\"}},"
        /* SEMVER fixed at 1.3.0: 1.3 is not affected */
        "{\"id\":\"OSV-TEST-2\",\"affected\":[{\"package\":{\"ecosystem\":\"Android\",\"name\":\"com.politedroid\"},"
        "  \"ranges\":[{\"type\":\"SEMVER\",\"events\":[{\"introduced\":\"0\"},{\"fixed\":\"1.3.0\"}]}]}]},"
        /* ECOSYSTEM with integer bounds: the version code 20 is in [0, 21) */
        "{\"id\":\"OSV-TEST-3\",\"severity\":[{\"type\":\"CVSS_V3\",\"score\":\"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\"}],"
        " \"affected\":[{\"package\":{\"ecosystem\":\"Android\",\"name\":\"org.dyndns.fules.ck\"},"
        "  \"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"fixed\":\"21\"},{\"introduced\":\"0\"}]}]}]},"
        /* versions list */
        "{\"id\":\"OSV-TEST-4\",\"affected\":[{\"package\":{\"ecosystem\":\"Android\",\"name\":\"org.maxsdkversion\"},"
        "  \"versions\":[\"1.0.2\",\"1.0.3\"]}]},"
        /* another ecosystem's package of the same name applies to nothing installed */
        "{\"id\":\"OSV-TEST-5\",\"affected\":[{\"package\":{\"ecosystem\":\"npm\",\"name\":\"souch.smsbypass\"},"
        "  \"ranges\":[{\"type\":\"SEMVER\",\"events\":[{\"introduced\":\"0\"}]}]}]},"
        /* last_affected 0.8: 0.9 is past it */
        "{\"id\":\"OSV-TEST-6\",\"affected\":[{\"package\":{\"ecosystem\":\"Android\",\"name\":\"souch.smsbypass\"},"
        "  \"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0.1\"},{\"last_affected\":\"0.8\"}]}]}]},"
        /* ECOSYSTEM by name: 0.9 in [0.5, 0.10) as numbers, not text */
        "{\"id\":\"OSV-TEST-7\",\"affected\":[{\"package\":{\"ecosystem\":\"Android\",\"name\":\"souch.smsbypass\"},"
        "  \"ecosystem_specific\":{\"severity\":\"LOW\"},"
        "  \"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0.5\"},{\"fixed\":\"0.10\"}]}]}]}"
        "]}";
    mtd_posture_findings f;
    run_checks(apps, osv, &f);
    assert_int_equal(f.n, 4);
    assert_string_equal(f.v[0].check->id, "app.vulnerable");
    assert_string_equal(f.v[0].threat_name, "Vulnerable app: OSV-TEST-1 (CVE-2099-0001)");
    assert_string_equal(f.v[0].severity, "high");
    assert_string_equal(f.v[0].package, "com.politedroid");
    assert_string_equal(f.v[0].evidence, "OSV-TEST-1: version 1.3 code 4 is in the SEMVER range introduced 1.0.0, "
                                         "fixed 1.4.0; severity HIGH (database_specific); Calendar read");
    assert_string_equal(f.v[1].threat_name, "Vulnerable app: OSV-TEST-3");
    assert_string_equal(f.v[1].severity, "critical");
    assert_string_equal(f.v[1].evidence, "OSV-TEST-3: version v1.6pre2 code 20 is in the ECOSYSTEM range fixed 21, "
                                         "introduced 0; CVSS 9.8 (CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H)");
    assert_string_equal(f.v[2].threat_name, "Vulnerable app: OSV-TEST-4");
    assert_string_equal(f.v[2].severity, "medium");
    assert_string_equal(f.v[2].evidence, "OSV-TEST-4: version 1.0.3 code 4 is listed as affected; the record gives no "
                                         "severity this agent can score; medium assumed");
    assert_string_equal(f.v[3].threat_name, "Vulnerable app: OSV-TEST-7");
    assert_string_equal(f.v[3].severity, "low");
    /* the threat ID is the check and a digest of advisory and app: stable, and no package in it */
    char id1[80], id2[80];
    json_decref(mtd_posture_detection(&f.v[0], id1, sizeof id1));
    json_t *det = mtd_posture_detection(&f.v[0], id2, sizeof id2);
    assert_string_equal(id1, id2);
    assert_int_equal(strncmp(id1, "app.vulnerable/", 15), 0);
    assert_int_equal(strlen(id1), 15 + 16);
    assert_string_equal(json_string_value(json_object_get(det, "source")), "device");
    assert_string_equal(json_string_value(json_object_get(det, "category")), "app");
    assert_string_equal(json_string_value(json_object_get(det, "package")), "com.politedroid");
    json_decref(det);
    mtd_posture_findings_free(&f);
}

static void osv_bad_records_are_refused_by_name(void **state)
{
    static const struct {
        const char *doc, *why;
    } cases[] = {
        {"[", "not OSV JSON: line 1: "},
        {"{\"summary\":\"x\"}", "OSV record ?: no \"id\" string (up to 128 characters)"},
        {"{\"id\":\"X-1\",\"affected\":{}}", "OSV record X-1: affected, severity, aliases must be arrays, summary a string, database_specific an object"},
        {"{\"id\":\"X-2\",\"affected\":[{\"ranges\":[{\"type\":\"SEMVER\",\"events\":[{\"introduced\":\"0\",\"fixed\":\"1\"}]}]}]}",
         "OSV record X-2: an event that is not one of introduced, fixed, last_affected, limit"},
        {"{\"id\":\"X-3\",\"affected\":[{\"ranges\":[{\"type\":\"NPM\",\"events\":[{\"introduced\":\"0\"}]}]}]}",
         "OSV record X-3: a range \"type\" other than SEMVER, ECOSYSTEM or GIT"},
        {"{\"id\":\"X-4\",\"affected\":[{\"versions\":[1]}]}", "OSV record X-4: \"versions\" must be an array of strings"},
        {"{\"id\":\"X-5\",\"severity\":[{\"type\":\"CVSS_V3\"}]}", "OSV record X-5: a \"severity\" entry without type and score strings"},
        {"[{\"id\":\"OK-1\"},{\"id\":\"X-6\",\"affected\":[{\"package\":\"com.a\"}]}]",
         "OSV record X-6: \"package\" must hold ecosystem and name strings"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mtd_posture_vulns *v = mtd_posture_vulns_new();
        char why[300] = "";
        assert_int_equal(mtd_posture_vulns_add(v, (const uint8_t *)cases[i].doc, strlen(cases[i].doc), why, sizeof why),
                         MTD_EINVAL);
        if (strncmp(why, cases[i].why, strlen(cases[i].why)) != 0)
            fail_msg("case %zu: got [%s], expected [%s]", i, why, cases[i].why);
        assert_int_equal(mtd_posture_vulns_count(v), 0); /* nothing of a bad document is kept */
        mtd_posture_vulns_free(v);
    }
}

static void ios_jailbreak_apps_and_files(void **state)
{
    static const char *const clean_ids[] = {"ph.telegra.Telegraph", "com.google.Gmail", "net.whatsapp.WhatsApp"};
    static const char *const clean_paths[] = {"/var/mobile/Library/Preferences/com.apple.Preferences.plist"};
    mtd_posture_ios clean = {clean_ids, 3, clean_paths, 1, "26.1"};
    mtd_posture_input in = {.ios = &clean, .now = time(NULL), .patch_max_age_days = 90};
    mtd_posture_findings f;
    char why[200];
    assert_int_equal(mtd_posture_run(&in, &f, why, sizeof why), 0);
    assert_int_equal(f.n, 0);
    static const char *const jb_ids[] = {"com.google.Gmail", "org.coolstar.SileoStore", "com.opa334.Dopamine.726YNLRKV9",
                                         "com.opa334.DopamineX", "kjc.loader"};
    static const char *const jb_paths[] = {"/private/var/jb/usr/bin/apt", "/var/mobile/Documents/x",
                                           "/Library/MobileSubstrate/DynamicLibraries/Tweak.dylib"};
    mtd_posture_ios jb = {jb_ids, 5, jb_paths, 3, "14.3"};
    in.ios = &jb;
    assert_int_equal(mtd_posture_run(&in, &f, why, sizeof why), 0);
    assert_int_equal(f.n, 5);
    assert_string_equal(f.v[0].threat_name, "Jailbroken: Sileo installed");
    assert_string_equal(f.v[0].package, "org.coolstar.SileoStore");
    assert_string_equal(f.v[1].threat_name, "Jailbroken: Dopamine installed"); /* a team suffix, not another app */
    assert_string_equal(f.v[2].threat_name, "Jailbroken: checkra1n installed");
    assert_string_equal(f.v[3].check->id, "ios.jailbreak_files");
    assert_string_equal(f.v[3].evidence, "/var/jb, /Library/MobileSubstrate/DynamicLibraries");
    assert_string_equal(f.v[4].check->id, "ios.os_end_of_support");
    assert_string_equal(f.v[4].severity, "high");
    assert_non_null(strstr(f.v[4].evidence, "iOS 14.3, release 14: last security update 2021-10-01"));
    mtd_posture_findings_free(&f);
}

static void every_check_is_declared_once_with_its_explanation(void **state)
{
    static const char *const cats[] = {"integrity", "os", "app", "network"};
    static const char *const sevs[] = {"info", "low", "medium", "high", "critical"};
    size_t n = mtd_posture_check_count();
    assert_true(n >= 20);
    for (size_t i = 0; i < n; i++) {
        const mtd_posture_check *c = mtd_posture_check_at(i);
        assert_ptr_equal(mtd_posture_check_find(c->id), c); /* identifiers are unique */
        int cat = 0, sev = 0;
        for (size_t k = 0; k < 4; k++)
            cat |= !strcmp(c->category, cats[k]);
        for (size_t k = 0; k < 5; k++)
            sev |= !strcmp(c->severity, sevs[k]);
        if (!cat || !sev || strlen(c->explanation) < 150 || !c->reads[0] || !c->threat_name[0])
            fail_msg("check %s: category, severity, explanation, reads or threat name missing", c->id);
    }
    assert_null(mtd_posture_check_at(n));
    assert_null(mtd_posture_check_find("android.nonsense"));
}

/* One saved network in the WifiConfigStore layout: its ConfigKey's key management and
 * the SecurityType values of its SecurityParamsList (none: Android 10's layout). */
static void wifi_net(char *out, size_t cap, const char *mgmt, const char *types)
{
    size_t n = strlen(out);
    n += (size_t)snprintf(out + n, cap - n,
                          "<Network><WifiConfiguration><string name=\"ConfigKey\">&quot;net&quot;%s</string>"
                          "</WifiConfiguration>", mgmt);
    if (types[0])
        n += (size_t)snprintf(out + n, cap - n, "<SecurityParamsList>");
    for (const char *t = types; *t; t++)
        n += (size_t)snprintf(out + n, cap - n,
                              "<SecurityParams><int name=\"SecurityType\" value=\"%c\" /></SecurityParams>", *t);
    if (types[0])
        n += (size_t)snprintf(out + n, cap - n, "</SecurityParamsList>");
    snprintf(out + n, cap - n, "</Network>");
}

static void wifi_expect(const char *mgmt, const char *types, int open, int wep)
{
    char xml[2000] = "<?xml version='1.0' encoding='utf-8' standalone='yes' ?><WifiConfigStoreData><NetworkList>";
    wifi_net(xml, sizeof xml, mgmt, types);
    strcat(xml, "</NetworkList></WifiConfigStoreData>");
    int o = -1, w = -1;
    char err[300];
    assert_int_equal(mtd_posture_wifi_count((const uint8_t *)xml, strlen(xml), &o, &w, err, sizeof err), 0);
    if (o != open || w != wep)
        fail_msg("%s with types \"%s\": %d open, %d WEP; expected %d, %d", mgmt, types, o, w, open, wep);
}

static void wifi_open_and_wep_networks(void **state)
{
    (void)state;
    wifi_expect("NONE", "", 1, 0);    /* Android 10: the key alone */
    wifi_expect("WEP", "", 0, 1);
    wifi_expect("WPA_PSK", "", 0, 0);
    wifi_expect("NONE", "0", 1, 0);   /* 11+: OPEN */
    wifi_expect("NONE", "06", 1, 0);  /* OPEN and the OWE its auto-upgrade adds: still joins open */
    wifi_expect("OWE", "6", 0, 0);
    wifi_expect("WEP", "1", 0, 1);
    wifi_expect("WPA_PSK", "24", 0, 0); /* PSK and SAE */
    wifi_expect("SAE", "4", 0, 0);
    wifi_expect("WPA_EAP", "3", 0, 0);
    int o, w;
    char err[300] = "";
    static const char bad[] = "<WifiConfigStoreData><NetworkList><Network>";
    assert_int_not_equal(mtd_posture_wifi_count((const uint8_t *)bad, strlen(bad), &o, &w, err, sizeof err), 0);
    assert_true(err[0] != 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dumpsys_sections_of_a_full_dump),
        cmocka_unit_test(dumpsys_adb_counts_the_authorized_keys),
        cmocka_unit_test(dumpsys_accessibility_enabled_services),
        cmocka_unit_test(semver_precedence_as_semver_org_orders_it),
        cmocka_unit_test(versions_without_a_scheme),
        cmocka_unit_test(cvss3_base_scores),
        cmocka_unit_test_setup_teardown(osv_ranges_match_installed_versions, setup_empty, teardown_empty),
        cmocka_unit_test(osv_bad_records_are_refused_by_name),
        cmocka_unit_test(ios_jailbreak_apps_and_files),
        cmocka_unit_test(wifi_open_and_wep_networks),
        cmocka_unit_test(every_check_is_declared_once_with_its_explanation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
