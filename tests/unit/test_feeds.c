/* test_feeds: every feed format (tests/data/webprot/, in the formats the feeds publish,
 * each with malformed lines), the mvt STIX 2.1 bundles with the counts their SOURCES.md
 * gives, the database's verdicts (allow wins, policy lists), and databases refused
 * when truncated or bit-flipped. */
#include "common/mtd_err.h"
#include "common/mtd_file.h"
#include "webprot/mtd_feed.h"
#include "webprot/mtd_rep.h"
#include "webprot/mtd_repdb.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

static char g_src[1024], g_shared[1024], g_tmp[256];

typedef struct {
    char got[64][300]; /* "expression|threat|category" */
    int n;
    size_t bad[16];
    char bad_why[16][200];
    int nbad;
} collect;

static int on_ind(void *ctx, const mtd_indicator *ind, size_t line)
{
    collect *c = ctx;
    mtd_url_expr e = mtd_url_entry(ind->url);
    if (c->n < 64)
        snprintf(c->got[c->n++], 300, "%.*s|%s|%s", e.len, ind->url->buf + e.off, ind->threat_name,
                 ind->category);
    return 0;
}

static void on_bad(void *ctx, size_t line, const char *why)
{
    collect *c = ctx;
    if (c->nbad < 16) {
        c->bad[c->nbad] = line;
        snprintf(c->bad_why[c->nbad++], 200, "%s", why);
    }
}

static void parse_file(const char *dir, const char *name, collect *c, mtd_feed_stats *st, int want_rc)
{
    char path[1200], why[300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    uint8_t *buf;
    size_t len;
    assert_int_equal(mtd_file_read(path, 1 << 24, &buf, &len), 0);
    memset(c, 0, sizeof *c);
    mtd_feed_sink sink = {on_ind, on_bad, c};
    int r = mtd_feed_parse(buf, len, path, &sink, st, why, sizeof why);
    free(buf);
    if (r != want_rc)
        fail_msg("%s: rc %d (%s), expected %d", name, r, why, want_rc);
}

static void expect(const collect *c, const char *const *want, int n)
{
    if (c->n != n)
        fail_msg("%d indicators, expected %d (first: %s)", c->n, n, c->n ? c->got[0] : "-");
    for (int i = 0; i < n; i++)
        assert_string_equal(c->got[i], want[i]);
}

static void data_dir(char *out, size_t len)
{
    snprintf(out, len, "%s/tests/data/webprot", g_src);
}

static void urlhaus_csv_reads_urls_and_names_bad_lines(void **s)
{
    collect c;
    mtd_feed_stats st;
    char d[1100];
    data_dir(d, sizeof d);
    parse_file(d, "urlhaus.csv", &c, &st, 0);
    assert_int_equal(st.format, MTD_FEED_URLHAUS);
    const char *want[] = {
        "198.51.100.23/i|URLhaus malware_download: 32-bit|malware",
        "dl.bad-cdn.example/payload/update.exe|URLhaus malware_download: exe|malware",
        "files.example.net/a/c.sh?x=1|URLhaus malware_download|malware"};
    expect(&c, want, 3);
    assert_int_equal(st.bad_lines, 2);
    assert_int_equal(c.bad[0], 13);
    assert_string_equal(c.bad_why[0], "expected 9 CSV fields (id,dateadded,url,...)");
    assert_int_equal(c.bad[1], 14);
    assert_string_equal(c.bad_why[1], "not a domain name, IP address or URL");
}

static void phishtank_csv_and_json(void **s)
{
    collect c;
    mtd_feed_stats st;
    char d[1100];
    data_dir(d, sizeof d);
    parse_file(d, "phishtank.csv", &c, &st, 0);
    assert_int_equal(st.format, MTD_FEED_PHISHTANK_CSV);
    const char *want[] = {"secure-login.paypa1.example/signin?session=abc|PhishTank: PayPal|phishing",
                          "mail.example.org/owa/auth,login.php|PhishTank: Microsoft|phishing",
                          "bank-verify.example.com/|PhishTank: Other|phishing"};
    expect(&c, want, 3);
    assert_int_equal(st.bad_lines, 1);
    assert_int_equal(c.bad[0], 4);
    parse_file(d, "phishtank.json", &c, &st, 0);
    assert_int_equal(st.format, MTD_FEED_PHISHTANK_JSON);
    const char *want2[] = {"appleid.apple.com.verify-account.example/|PhishTank: Apple|phishing",
                           "docs-share.example/view/file.html|PhishTank: Other|phishing"};
    expect(&c, want2, 2);
    assert_int_equal(st.bad_lines, 1);
    assert_int_equal(c.bad[0], 3);
    assert_string_equal(c.bad_why[0], "no \"url\" string");
}

static void openphish_and_domain_lists(void **s)
{
    collect c;
    mtd_feed_stats st;
    char d[1100];
    data_dir(d, sizeof d);
    parse_file(d, "openphish.txt", &c, &st, 0);
    assert_int_equal(st.format, MTD_FEED_LIST);
    const char *want[] = {"login-microsoftonline.example/common/oauth2/|openphish|phishing",
                          "netflix-billing.example.com/update/index.php|openphish|phishing",
                          "steamcommunity.example.ru/tradeoffer/new/?partner=1|openphish|phishing"};
    expect(&c, want, 3);
    assert_int_equal(st.bad_lines, 1);
    assert_int_equal(c.bad[0], 4);
    assert_string_equal(c.bad_why[0], "more than one word (expected a domain or a URL)");
    parse_file(d, "domains.txt", &c, &st, 0);
    const char *want2[] = {"ads.tracker.example/|Ad and tracker domains|adware",
                           "metrics.example.org/|Ad and tracker domains|adware",
                           "beacon.example.net/|Ad and tracker domains|adware"};
    expect(&c, want2, 3);
    assert_int_equal(c.bad[0], 6);
}

static void hosts_file_skips_local_names(void **s)
{
    char path[300];
    snprintf(path, sizeof path, "%s/hosts", g_tmp);
    const char *txt = "# comment\n127.0.0.1 localhost\n::1 ip6-localhost ip6-loopback\n"
                      "0.0.0.0 Evil.Example. tracker.example # trailing comment\n"
                      "0.0.0.0\n0.0.0.0 0.0.0.0\n";
    assert_int_equal(mtd_file_write_atomic(path, txt, strlen(txt), 0600), 0);
    collect c;
    mtd_feed_stats st;
    parse_file(g_tmp, "hosts", &c, &st, 0);
    assert_int_equal(st.format, MTD_FEED_HOSTS);
    const char *want[] = {"evil.example/|hosts|malware", "tracker.example/|hosts|malware"};
    expect(&c, want, 2);
    assert_int_equal(st.bad_lines, 1); /* "0.0.0.0" alone */
    assert_int_equal(c.bad[0], 5);
}

static void a_feed_with_nothing_readable_is_an_error(void **s)
{
    char path[300], why[300];
    snprintf(path, sizeof path, "%s/junk.txt", g_tmp);
    const char *txt = "<html>\n<body>not a feed</body>\n";
    assert_int_equal(mtd_file_write_atomic(path, txt, strlen(txt), 0600), 0);
    collect c;
    mtd_feed_stats st;
    parse_file(g_tmp, "junk.txt", &c, &st, MTD_EINVAL);
    mtd_feed_sink sink = {on_ind, on_bad, &c};
    assert_int_equal(mtd_feed_parse((const uint8_t *)"{\"type\":\"report\"}", 17, "x.json", &sink, &st,
                                    why, sizeof why), MTD_EINVAL);
    assert_string_equal(why, "a JSON object that is not a STIX 2.1 bundle (\"type\": \"bundle\", \"objects\")");
    assert_int_equal(mtd_feed_parse((const uint8_t *)"[{\"url\": 1", 10, "x.json", &sink, &st, why,
                                    sizeof why), MTD_EINVAL);
    assert_non_null(strstr(why, "not JSON: "));
}

static void mvt_stix_bundles_compile_with_the_published_counts(void **s)
{
    char d[1100];
    snprintf(d, sizeof d, "%s/mvt/stix2", g_shared);
    if (access(d, R_OK) != 0) {
        fprintf(stderr, "skipped: %s is absent\n", d);
        return;
    }
    collect c;
    mtd_feed_stats st;
    parse_file(d, "cytrox.stix2", &c, &st, 0);
    assert_int_equal(st.format, MTD_FEED_STIX);
    assert_int_equal(st.indicators, 336);
    assert_int_equal(st.stix_by_type[0], 336);
    assert_int_equal(st.nskipped, 2);
    assert_string_equal(st.skipped[0].type, "file");
    assert_int_equal(st.skipped[0].count, 6);
    assert_string_equal(st.skipped[1].type, "configuration-profile");
    assert_int_equal(st.skipped[1].count, 1);
    assert_string_equal(c.got[0], "shortenurls.me/|Predator|malware");
    parse_file(d, "638cd3ee5e5f019f84f9e0ea.json", &c, &st, 0);
    assert_int_equal(st.indicators, 69);
    assert_int_equal(st.stix_by_type[1], 54);
    assert_int_equal(st.stix_by_type[0], 15);
    assert_int_equal(st.nskipped, 0);
    assert_string_equal(c.got[0], "statsads.co/2dL8ARH|OTX pulse_name=Pegasus Forensic Traces per Target "
                                  "Identified in the Aftermath of the Pegasus Project Revelations - "
                                  "Amnesty International|malware");
}

/* A database from the list feeds and a policy, checked for verdicts. */
static void compile(const char *out, mtd_policy *pol)
{
    char d[1100], f1[1200], f2[1200], why[600];
    data_dir(d, sizeof d);
    snprintf(f1, sizeof f1, "%s/urlhaus.csv", d);
    snprintf(f2, sizeof f2, "%s/domains.txt", d);
    const char *feeds[] = {f1, f2};
    mtd_rep_compile_opts o = {0};
    if (mtd_rep_compile(out, feeds, 2, pol, &o, why, sizeof why) != 0)
        fail_msg("compile: %s", why);
}

static void verdicts_follow_expressions_and_allow_wins(void **s)
{
    char db[300], why[300];
    snprintf(db, sizeof db, "%s/web.db", g_tmp);
    static mtd_policy pol;
    mtd_policy_default(&pol);
    snprintf(pol.web_allow, sizeof pol.web_allow, "metrics.example.org\n");
    snprintf(pol.web_block, sizeof pol.web_block, "intranet-leak.example/upload\n");
    compile(db, &pol);
    const char *files[] = {db};
    mtd_rep *rep;
    assert_int_equal(mtd_rep_open(files, 1, NULL, &rep, why, sizeof why), 0);
    static mtd_rep_result r;
    const char *w;
    assert_int_equal(mtd_rep_check_url(rep, "HTTP://x.ADS.tracker.example:8080/a#f", 37, &r, &w), 0);
    assert_int_equal(r.block, 1);
    assert_string_equal(r.matched, "ads.tracker.example/");
    assert_string_equal(r.rec.category, "adware");
    assert_int_equal(mtd_rep_check_url(rep, "http://files.example.net/a/c.sh?x=1", 35, &r, &w), 0);
    assert_int_equal(r.block, 1);
    assert_string_equal(r.matched, "files.example.net/a/c.sh?x=1");
    assert_int_equal(mtd_rep_check_url(rep, "http://files.example.net/a/c.sh?x=2", 35, &r, &w), 0);
    assert_int_equal(r.block, 0);
    assert_int_equal(mtd_rep_check_url(rep, "http://metrics.example.org/x", 28, &r, &w), 0);
    assert_int_equal(r.block, 0); /* listed in domains.txt, allowed by the policy */
    assert_int_equal(r.listed, 1);
    assert_int_equal(r.rec.allow, 1);
    assert_int_equal(mtd_rep_check_url(rep, "http://intranet-leak.example/upload/", 36, &r, &w), 0);
    assert_int_equal(r.block, 0); /* a URL entry blocks that URL only */
    assert_int_equal(mtd_rep_check_url(rep, "http://intranet-leak.example/upload", 35, &r, &w), 0);
    assert_int_equal(r.block, 1);
    assert_string_equal(r.rec.category, "policy");
    mtd_rep_record rec;
    assert_int_equal(mtd_rep_host_verdict(rep, "www.Beacon.example.NET", 22, &rec, NULL), 1);
    assert_int_equal(mtd_rep_host_verdict(rep, "beacon.example.net.evil", 23, &rec, NULL), 0);
    assert_int_equal(mtd_rep_host_verdict(rep, "198.51.100.23", 13, &rec, NULL), 0); /* a URL entry */
    assert_int_equal(mtd_rep_host_verdict(rep, "intranet-leak.example", 21, &rec, NULL), 0);
    /* in a batch (as the DNS filter asks), the same verdicts, unusual names included */
    const char *names[] = {"www.Beacon.example.NET", "beacon.example.net.evil", "ads.tracker.example",
                           "metrics.example.org", "x%26y.ads.tracker.example", "198.51.100.23",
                           "", "a..b", "ok.example", "deep.a.b.c.d.e.ads.tracker.example"};
    int want[] = {1, 0, 1, 0, 1, 0, -1, 0, 0, 1};
    mtd_rep_query q[10];
    for (int i = 0; i < 10; i++)
        q[i] = (mtd_rep_query){.name = names[i], .len = strlen(names[i])};
    mtd_rep_host_verdicts(rep, q, 10);
    for (int i = 0; i < 10; i++) {
        if (q[i].verdict != want[i])
            fail_msg("batched verdict of \"%s\": %d, expected %d", names[i], q[i].verdict, want[i]);
        assert_int_equal(q[i].verdict, mtd_rep_host_verdict(rep, names[i], strlen(names[i]), &rec, NULL));
    }
    assert_string_equal(names[9] + q[9].matched_off, "ads.tracker.example");
    mtd_rep_close(rep);
}

static void truncated_or_bit_flipped_databases_are_refused(void **s)
{
    char db[300], bad[300], why[300];
    snprintf(db, sizeof db, "%s/web2.db", g_tmp);
    snprintf(bad, sizeof bad, "%s/bad.db", g_tmp);
    compile(db, NULL);
    uint8_t *buf;
    size_t len;
    assert_int_equal(mtd_file_read(db, 1 << 24, &buf, &len), 0);
    mtd_repdb *d;
    assert_int_equal(mtd_repdb_open(db, &d, why, sizeof why), 0);
    mtd_repdb_close(d);
    assert_int_equal(mtd_file_write_atomic(bad, buf, len - 9, 0600), 0);
    assert_int_equal(mtd_repdb_open(bad, &d, why, sizeof why), MTD_ECORRUPT);
    assert_string_equal(why, "not a usable reputation database: truncated (the file is shorter or longer than its header says)");
    size_t positions[] = {len - 3, 128 + 5, 200, 20, 33};
    for (size_t i = 0; i < sizeof positions / sizeof *positions; i++) {
        buf[positions[i]] ^= 0x10;
        assert_int_equal(mtd_file_write_atomic(bad, buf, len, 0600), 0);
        int r = mtd_repdb_open(bad, &d, why, sizeof why);
        if (r != MTD_ECORRUPT)
            fail_msg("a flip at byte %zu was accepted (%d)", positions[i], r);
        assert_non_null(strstr(why, positions[i] < 128 ? "header checksum mismatch" : "checksum mismatch"));
        buf[positions[i]] ^= 0x10;
    }
    const char *files[] = {bad};
    mtd_rep *rep;
    buf[300] ^= 1;
    assert_int_equal(mtd_file_write_atomic(bad, buf, len, 0600), 0);
    assert_int_equal(mtd_rep_open(files, 1, NULL, &rep, why, sizeof why), MTD_ECORRUPT);
    free(buf);
}

int main(void)
{
    const char *src = getenv("MTD_SRC"), *sh = getenv("MTD_SHARED_DATA");
    snprintf(g_src, sizeof g_src, "%s", src ? src : ".");
    snprintf(g_shared, sizeof g_shared, "%s", sh ? sh : "../shared/data");
    snprintf(g_tmp, sizeof g_tmp, "/tmp/mtd-test-feeds.XXXXXX");
    if (!mkdtemp(g_tmp))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(urlhaus_csv_reads_urls_and_names_bad_lines),
        cmocka_unit_test(phishtank_csv_and_json),
        cmocka_unit_test(openphish_and_domain_lists),
        cmocka_unit_test(hosts_file_skips_local_names),
        cmocka_unit_test(a_feed_with_nothing_readable_is_an_error),
        cmocka_unit_test(mvt_stix_bundles_compile_with_the_published_counts),
        cmocka_unit_test(verdicts_follow_expressions_and_allow_wins),
        cmocka_unit_test(truncated_or_bit_flipped_databases_are_refused),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", g_tmp);
    return r;
}
