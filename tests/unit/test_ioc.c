/* Unit tests of the scanner's indicator set (scan/mtd_ioc.c, scan/mtd_stix.c): plain
 * lists of digests, certificate digests and packages with version ranges; STIX 2.1
 * bundles (the mvt bundles load with the counts SOURCES.md gives); errors that name
 * the file and line and leave nothing of the refused file behind; and a 100,000-entry
 * set answering every member and no stranger. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/mtd_err.h"
#include "scan/mtd_ioc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define H1 "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define H2 "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"
#define CERT_COLONS "32:A2:36:24:C2:01:B9:49:F0:85:99:6B:A5:ED:53:D4:0F:70:3A:CA:49:89:47:69:49:CA:E8:91:02:2E:0E:D6"

static void hex32(const char *h, uint8_t d[32])
{
    assert_int_equal(mtd_ioc_hex32(h, strlen(h), strchr(h, ':') != NULL, d), 0);
}

static int load(mtd_ioc *s, const char *name, const char *text, mtd_ioc_stats *st, char *why)
{
    return mtd_ioc_load_buf(s, name, (const uint8_t *)text, strlen(text), st, why, 300);
}

static const char *digest_hit(const mtd_ioc *s, const char *hex, unsigned mask)
{
    static char b[300];
    uint8_t d[32];
    mtd_ioc_match m;
    hex32(hex, d);
    if (!mtd_ioc_find_digest(s, d, mask, &m))
        return "-";
    char o[200];
    mtd_ioc_origin(&m, o, sizeof o);
    snprintf(b, sizeof b, "%s|%s", m.ref->threat_name, o);
    return b;
}

static const char *pkg_hit(const mtd_ioc *s, const char *pkg, int64_t vc)
{
    static char b[300];
    mtd_ioc_match m;
    if (!mtd_ioc_find_package(s, pkg, vc, &m))
        return "-";
    snprintf(b, sizeof b, "%s:%u", m.ref->threat_name, m.line);
    return b;
}

static void plain_lists_load_every_kind(void **state)
{
    mtd_ioc *s = mtd_ioc_new();
    mtd_ioc_stats st;
    char why[300];
    const char *list = "# tenant list\n"
                       H1 "\n"
                       "  sha256:" H2 "   Android.Trojan.Fake  # from the SOC\n"
                       "\n"
                       "cert:" CERT_COLONS " Stolen.Key\n"
                       "com.evil.app\n"
                       "package:org.bad@100-199 Bad.Range\n"
                       "package:org.bad@300 Bad.Exact\n"
                       "package:org.open@-5\n";
    assert_int_equal(load(s, "/feeds/tenant.txt", list, &st, why), 0);
    assert_int_equal(st.indicators, 7);
    assert_int_equal(st.digests, 2);
    assert_int_equal(st.certs, 1);
    assert_int_equal(st.packages, 4);
    assert_string_equal(digest_hit(s, H1, MTD_IOC_FILE), "Known malicious app (tenant.txt)|tenant.txt:2");
    assert_string_equal(digest_hit(s, H1, MTD_IOC_CERT), "Known malicious app (tenant.txt)|tenant.txt:2");
    assert_string_equal(digest_hit(s, H2, MTD_IOC_FILE), "Android.Trojan.Fake|tenant.txt:3");
    assert_string_equal(digest_hit(s, H2, MTD_IOC_CERT), "-"); /* sha256: is files only */
    const char *cert = "32a23624c201b949f085996ba5ed53d40f703aca4989476949cae891022e0ed6";
    assert_string_equal(digest_hit(s, cert, MTD_IOC_CERT), "Stolen.Key|tenant.txt:5");
    assert_string_equal(digest_hit(s, cert, MTD_IOC_FILE), "-");
    assert_string_equal(pkg_hit(s, "com.evil.app", -1), "Known malicious app (tenant.txt):6");
    assert_string_equal(pkg_hit(s, "org.bad", 99), "-");
    assert_string_equal(pkg_hit(s, "org.bad", 100), "Bad.Range:7");
    assert_string_equal(pkg_hit(s, "org.bad", 199), "Bad.Range:7");
    assert_string_equal(pkg_hit(s, "org.bad", 200), "-");
    assert_string_equal(pkg_hit(s, "org.bad", 300), "Bad.Exact:8");
    assert_string_equal(pkg_hit(s, "org.bad", -1), "-"); /* unknown version: only open ranges */
    assert_string_equal(pkg_hit(s, "org.open", 5), "Known malicious app (tenant.txt):9");
    assert_string_equal(pkg_hit(s, "org.open", 6), "-");
    assert_string_equal(pkg_hit(s, "com.evil", -1), "-");
    mtd_ioc_free(s);
}

static void a_bad_line_refuses_the_file_and_names_the_line(void **state)
{
    mtd_ioc *s = mtd_ioc_new();
    char why[300];
    assert_int_equal(load(s, "good.txt", H1 "\ncom.good.one\n", NULL, why), 0);
    size_t before = mtd_ioc_size(s);
    static const struct { const char *text, *err; } bad[] = {
        {H2 "\ncom.x.y\nnot-a-package\n", "bad.txt:3: \"not-a-package\" is not a SHA-256, certificate digest or package name"},
        {"sha256:abcd\n", "bad.txt:1: \"sha256:abcd\" is not a SHA-256, certificate digest or package name"},
        {"package:org.x@9-3\n", "bad.txt:1: \"package:org.x@9-3\" is not a SHA-256, certificate digest or package name"},
        {"singleword\n", "bad.txt:1: \"singleword\" is not a SHA-256, certificate digest or package name"},
        {"com.x.y\n\x01\n", "bad.txt:2: control character in the line"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(load(s, "bad.txt", bad[i].text, NULL, why), MTD_EINVAL);
        assert_string_equal(why, bad[i].err);
        assert_int_equal(mtd_ioc_size(s), before);
    }
    /* what was loaded before stays findable; what the refused file held never is */
    assert_string_equal(digest_hit(s, H1, MTD_IOC_FILE), "Known malicious app (good.txt)|good.txt:1");
    assert_string_equal(digest_hit(s, H2, MTD_IOC_FILE), "-");
    assert_string_equal(pkg_hit(s, "com.x.y", -1), "-");
    assert_string_equal(pkg_hit(s, "com.good.one", 3), "Known malicious app (good.txt):2");
    mtd_ioc_free(s);
}

static void mvt_bundles_load_with_their_counts(void **state)
{
    const char *shared = getenv("MTD_SHARED_DATA");
    char p[1024];
    snprintf(p, sizeof p, "%s/mvt/stix2/cytrox.stix2", shared ? shared : "");
    FILE *f = fopen(p, "r");
    if (!f) {
        print_message("skip: %s is absent (../shared/data not here)\n", p);
        return;
    }
    fclose(f);
    mtd_ioc *s = mtd_ioc_new();
    mtd_ioc_stats st;
    char why[300];
    assert_int_equal(mtd_ioc_load_file(s, p, &st, why, sizeof why), 0);
    /* SOURCES.md: 343 indicators: 336 domain-name, 6 file, 1 configuration-profile */
    assert_int_equal(st.indicators, 343);
    assert_int_equal(st.paths, 6);
    assert_int_equal(st.other, 337);
    assert_string_equal(st.other_detail, "336 domain-name, 1 configuration-profile");
    mtd_ioc_match m;
    const char *path = mtd_ioc_path(s, 0, &m);
    assert_string_equal(path, "/data/local/tmp/wd/fs.db");
    assert_string_equal(m.ref->threat_name, "Predator"); /* the malware it indicates */
    snprintf(p, sizeof p, "%s/mvt/stix2/638cd3ee5e5f019f84f9e0ea.json", shared);
    assert_int_equal(mtd_ioc_load_file(s, p, &st, why, sizeof why), 0);
    /* 69 indicators: 54 url, 15 domain-name */
    assert_int_equal(st.indicators, 69);
    assert_int_equal(st.other, 69);
    assert_string_equal(st.other_detail, "54 url, 15 domain-name");
    assert_int_equal(mtd_ioc_size(s), 6);
    mtd_ioc_free(s);
}

static const char bundle_head[] = "{\"type\": \"bundle\", \"id\": \"bundle--1\", \"objects\": [\n"
    "{\"type\": \"malware\", \"id\": \"malware--1\", \"name\": \"FluBot\", \"is_family\": true, \"malware_types\": [\"spyware\"]},\n"
    "{\"type\": \"relationship\", \"id\": \"relationship--1\", \"relationship_type\": \"indicates\", \"source_ref\": \"indicator--1\", \"target_ref\": \"malware--1\"},\n"
    "{\"type\": \"relationship\", \"id\": \"relationship--2\", \"relationship_type\": \"indicates\", \"source_ref\": \"indicator--3\", \"target_ref\": \"malware--1\"},\n";

static int load_bundle(mtd_ioc *s, const char *indicators, mtd_ioc_stats *st, char *why)
{
    char b[8192];
    snprintf(b, sizeof b, "%s%s]}\n", bundle_head, indicators);
    return load(s, "t.json", b, st, why);
}

#define IND(id, pattern, extra) "{\"type\": \"indicator\", \"id\": \"" id "\", \"pattern_type\": \"stix\", \"pattern\": \"" pattern "\"" extra "}"

static void stix_patterns_load_app_indicators(void **state)
{
    mtd_ioc *s = mtd_ioc_new();
    mtd_ioc_stats st;
    char why[300];
    int r = load_bundle(s,
        IND("indicator--1", "[file:hashes.'SHA-256' = '" H1 "'] OR [file:hashes.SHA256 = '" H2 "']", "") ",\n"
        IND("indicator--2", "[x509-certificate:hashes.'SHA-256' = '32a23624c201b949f085996ba5ed53d40f703aca4989476949cae891022e0ed6']", ", \"name\": \"Leaked key\"") ",\n"
        IND("indicator--3", "[app:id = 'com.flubot' AND app:version_code >= 10 AND app:version_code < 20]", "") ",\n"
        IND("indicator--4", "[app:id = 'com.revoked']", ", \"revoked\": true") ",\n"
        IND("indicator--5", "[app:id = 'com.benign']", ", \"indicator_types\": [\"benign\"]") ",\n"
        IND("indicator--6", "[app:id = 'com.a.b'] AND [domain-name:value = 'x.example']", "") ",\n"
        IND("indicator--7", "[domain-name:value = 'evil.example' OR domain-name:value = 'bad.example'] WITHIN 300 SECONDS", "") ",\n"
        IND("indicator--8", "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']", "") ",\n"
        "{\"type\": \"indicator\", \"id\": \"indicator--9\", \"pattern_type\": \"yara\", \"pattern\": \"rule x { condition: true }\"}",
        &st, why);
    assert_int_equal(r, 0);
    assert_int_equal(st.indicators, 9);
    assert_int_equal(st.digests, 2); /* one indicator, two digests */
    assert_int_equal(st.certs, 1);
    assert_int_equal(st.packages, 1);
    assert_int_equal(st.skipped, 2);
    assert_int_equal(st.other, 4);
    assert_string_equal(st.other_detail, "1 multi-observation, 1 domain-name, 1 file, 1 yara pattern");
    assert_string_equal(digest_hit(s, H1, MTD_IOC_FILE), "FluBot|t.json indicator--1");
    assert_string_equal(digest_hit(s, H2, MTD_IOC_FILE), "FluBot|t.json indicator--1");
    assert_string_equal(digest_hit(s, H2, MTD_IOC_CERT), "-");
    assert_string_equal(digest_hit(s, "32a23624c201b949f085996ba5ed53d40f703aca4989476949cae891022e0ed6", MTD_IOC_CERT),
                        "Leaked key|t.json indicator--2");
    assert_string_equal(pkg_hit(s, "com.flubot", 9), "-");
    assert_string_equal(pkg_hit(s, "com.flubot", 10), "FluBot:0");
    assert_string_equal(pkg_hit(s, "com.flubot", 19), "FluBot:0");
    assert_string_equal(pkg_hit(s, "com.flubot", 20), "-");
    assert_string_equal(pkg_hit(s, "com.revoked", 1), "-");
    assert_string_equal(pkg_hit(s, "com.a.b", 1), "-");
    mtd_ioc_match m;
    uint8_t d[32];
    hex32(H1, d);
    mtd_ioc_find_digest(s, d, MTD_IOC_FILE, &m);
    assert_string_equal(m.ref->category, "spyware");
    mtd_ioc_free(s);
}

static void bad_bundles_name_file_line_and_column(void **state)
{
    mtd_ioc *s = mtd_ioc_new();
    char why[300];
    assert_int_equal(load_bundle(s, IND("indicator--1", "[file:hashes.'SHA-256' = '" H1 "']", "") ",\n"
                                    IND("indicator--2", "[file:hashes.'SHA-256' = 'abc' ", ""), NULL, why), MTD_EINVAL);
    assert_string_equal(why, "t.json:6: indicator--2: pattern: expected ] at column 32");
    assert_int_equal(mtd_ioc_size(s), 0);
    assert_int_equal(load_bundle(s, IND("indicator--1", "[file:hashes.'SHA-256' = 'abc']", ""), NULL, why), MTD_EINVAL);
    assert_string_equal(why, "t.json:5: indicator--1: file:hashes.SHA-256 'abc' is not 64 hex digits");
    assert_int_equal(load_bundle(s, IND("indicator--1", "[app:id = 'x y']", ""), NULL, why), MTD_EINVAL);
    assert_string_equal(why, "t.json:5: indicator--1: app:id 'x y' is not a package name");
    assert_int_equal(load_bundle(s, IND("indicator--1", "[app:id = 'unterminated]", ""), NULL, why), MTD_EINVAL);
    assert_string_equal(why, "t.json:5: indicator--1: pattern: unterminated string at column 11");
    assert_int_equal(load_bundle(s, "{\"type\": \"indicator\", \"id\": \"indicator--1\"}", NULL, why), MTD_EINVAL);
    assert_string_equal(why, "t.json:5: an indicator has no pattern");
    assert_int_equal(load(s, "t.json", "{\"type\": \"bundle\",\n \"objects\": [}", NULL, why), MTD_EINVAL);
    assert_string_equal(why, "t.json:2:14: unexpected token near '}'");
    assert_int_equal(load(s, "t.json", "{\"type\": \"report\"}", NULL, why), MTD_EINVAL);
    assert_string_equal(why, "t.json:1: not a STIX 2.1 bundle (a JSON object with \"type\": \"bundle\" and \"objects\")");
    assert_int_equal(mtd_ioc_size(s), 0);
    mtd_ioc_free(s);
}

static void a_large_set_finds_every_member_and_no_stranger(void **state)
{
    mtd_ioc *s = mtd_ioc_new();
    uint32_t ref = mtd_ioc_ref_add(s, "T", "malware", "high", "big.txt", NULL);
    uint8_t d[32];
    srand(7);
    for (uint32_t i = 0; i < 100000; i++) {
        for (int k = 0; k < 32; k++)
            d[k] = (uint8_t)rand();
        assert_int_equal(mtd_ioc_add_digest(s, d, MTD_IOC_FILE, ref, i + 1), 0);
    }
    assert_int_equal(mtd_ioc_size(s), 100000);
    srand(7);
    mtd_ioc_match m;
    for (uint32_t i = 0; i < 100000; i++) {
        for (int k = 0; k < 32; k++)
            d[k] = (uint8_t)rand();
        assert_int_equal(mtd_ioc_find_digest(s, d, MTD_IOC_FILE, &m), 1);
        assert_int_equal(m.line, i + 1);
    }
    int found = 0;
    for (uint32_t i = 0; i < 100000; i++) {
        for (int k = 0; k < 32; k++)
            d[k] = (uint8_t)rand();
        found += mtd_ioc_find_digest(s, d, MTD_IOC_FILE, &m);
    }
    assert_int_equal(found, 0);
    mtd_ioc_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_lists_load_every_kind),
        cmocka_unit_test(a_bad_line_refuses_the_file_and_names_the_line),
        cmocka_unit_test(mvt_bundles_load_with_their_counts),
        cmocka_unit_test(stix_patterns_load_app_indicators),
        cmocka_unit_test(bad_bundles_name_file_line_and_column),
        cmocka_unit_test(a_large_set_finds_every_member_and_no_stranger),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
