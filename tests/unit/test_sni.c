/* test_sni: the names a flow's first bytes ask for: TLS ClientHello server_name and
 * HTTP Host against sniproxy's test files and the results listed for them in
 * ../shared/data/webprot/tls_cases.tsv and http_cases.tsv (see SOURCES.md there), and
 * the QUIC Initial of RFC 9001 Appendix A.2 (tests/data/webprot/). */
#include "common/mtd_file.h"
#include "webprot/mtd_sni.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static char g_data[1024], g_src[1024];

static uint8_t *load(const char *dir, const char *name, size_t *len)
{
    char path[2200];
    uint8_t *buf = NULL;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (mtd_file_read(path, 1 << 20, &buf, len) != 0)
        fail_msg("cannot read %s", path);
    return buf;
}

/* Runs every data row of a case table: file, expected name, expected result. */
static int run_table(const char *table, mtd_sni_result (*parse)(const uint8_t *, size_t, char *),
                     const char *(*label)(mtd_sni_result))
{
    char path[1200], line[2048], dir[1100];
    snprintf(dir, sizeof dir, "%s/webprot", g_data);
    snprintf(path, sizeof path, "%s/%s", dir, table);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int rows = 0, header = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (line[0] == '#' || !line[0] || !header) {
            header |= line[0] && line[0] != '#';
            continue;
        }
        char *file = strtok(line, "\t"), *want_name = strtok(NULL, "\t"), *want = strtok(NULL, "\t");
        assert_non_null(want);
        size_t len;
        uint8_t *buf = load(dir, file, &len);
        char name[MTD_SNI_NAME_MAX + 1] = "";
        mtd_sni_result r = parse(buf, len, name);
        free(buf);
        if (strcmp(label(r), want) != 0)
            fail_msg("%s: %s, expected %s", file, label(r), want);
        if (r == MTD_SNI_FOUND && strcmp(name, want_name) != 0)
            fail_msg("%s: name %s, expected %s", file, name, want_name);
        rows++;
    }
    fclose(f);
    return rows;
}

static const char *http_label(mtd_sni_result r)
{
    return r == MTD_SNI_FOUND ? "ok" : r == MTD_SNI_MORE ? "incomplete" : r == MTD_SNI_NONE ? "no_host" : "invalid";
}

static void tls_server_names_match_the_sniproxy_cases(void **st)
{
    assert_int_equal(run_table("tls_cases.tsv", mtd_sni_tls, mtd_sni_result_name), 18);
}

static void http_hosts_match_the_sniproxy_cases(void **st)
{
    assert_int_equal(run_table("http_cases.tsv", mtd_sni_http, http_label), 11);
}

/* A ClientHello arriving a byte at a time: every prefix asks for more, never a name. */
static void every_prefix_of_a_client_hello_asks_for_more(void **st)
{
    char dir[1100], name[MTD_SNI_NAME_MAX + 1];
    size_t len;
    snprintf(dir, sizeof dir, "%s/webprot", g_data);
    uint8_t *buf = load(dir, "clienthello_sniproxy_good_data_2.bin", &len);
    for (size_t i = 0; i < len; i++)
        if (mtd_sni_tls(buf, i, name) != MTD_SNI_MORE)
            fail_msg("prefix of %zu bytes: %s", i, mtd_sni_result_name(mtd_sni_tls(buf, i, name)));
    assert_int_equal(mtd_sni_tls(buf, len, name), MTD_SNI_FOUND);
    assert_string_equal(name, "localhost");
    assert_int_equal(mtd_sni_sniff(buf, len), 1);
    /* the same hello split over two records */
    uint8_t two[1024];
    size_t body = len - 5, first = 40;
    assert_true(len + 5 <= sizeof two);
    memcpy(two, buf, 5);
    two[3] = 0, two[4] = (uint8_t)first;
    memcpy(two + 5, buf + 5, first);
    memcpy(two + 5 + first, buf, 5);
    two[5 + first + 3] = (uint8_t)((body - first) >> 8), two[5 + first + 4] = (uint8_t)(body - first);
    memcpy(two + 10 + first, buf + 5 + first, body - first);
    assert_int_equal(mtd_sni_tls(two, len + 5, name), MTD_SNI_FOUND);
    assert_string_equal(name, "localhost");
    free(buf);
}

static void hosts_are_checked_and_lowercased(void **st)
{
    char name[MTD_SNI_NAME_MAX + 1];
    const char *req = "GET / HTTP/1.1\r\nHost: WWW.Example.TEST.:443\r\n\r\n";
    assert_int_equal(mtd_sni_http((const uint8_t *)req, strlen(req), name), MTD_SNI_FOUND);
    assert_string_equal(name, "www.example.test");
    req = "POST /x HTTP/1.1\r\nhost: [2001:db8::1]:8080\r\n\r\n";
    assert_int_equal(mtd_sni_http((const uint8_t *)req, strlen(req), name), MTD_SNI_FOUND);
    assert_string_equal(name, "[2001:db8::1]");
    req = "GET / HTTP/1.1\r\nHost: a\x01.test\r\n\r\n";
    assert_int_equal(mtd_sni_http((const uint8_t *)req, strlen(req), name), MTD_SNI_INVALID);
    req = "GET / HTTP/1.1\r\nHost: a/b.test\r\n\r\n";
    assert_int_equal(mtd_sni_http((const uint8_t *)req, strlen(req), name), MTD_SNI_INVALID);
    req = "SSH-2.0-OpenSSH_9.2\r\n";
    assert_int_equal(mtd_sni_http((const uint8_t *)req, strlen(req), name), MTD_SNI_INVALID);
    assert_int_equal(mtd_sni_sniff((const uint8_t *)req, strlen(req)), 0);
    assert_int_equal(mtd_sni_tls((const uint8_t *)req, strlen(req), name), MTD_SNI_INVALID);
}

/* RFC 9001 A.2: the client Initial whose ClientHello names example.com. */
static void quic_initial_of_rfc9001_names_example_com(void **st)
{
    char dir[1100], name[MTD_SNI_NAME_MAX + 1] = "";
    size_t len;
    snprintf(dir, sizeof dir, "%s/tests/data/webprot", g_src);
    uint8_t *buf = load(dir, "quic_rfc9001_a2_client_initial.bin", &len);
    assert_int_equal(len, 1200);
    assert_int_equal(mtd_sni_quic(buf, len, name), MTD_SNI_FOUND);
    assert_string_equal(name, "example.com");
    buf[600] ^= 1; /* one bit of ciphertext: the tag no longer holds */
    assert_int_equal(mtd_sni_quic(buf, len, name), MTD_SNI_INVALID);
    buf[600] ^= 1;
    buf[0] = 0x40; /* a short header packet carries no Initial */
    assert_int_equal(mtd_sni_quic(buf, len, name), MTD_SNI_INVALID);
    for (size_t i = 0; i < 64; i++)
        assert_int_equal(mtd_sni_quic(buf, i, name), MTD_SNI_INVALID);
    free(buf);
}

int main(void)
{
    const char *d = getenv("MTD_SHARED_DATA"), *s = getenv("MTD_SRC");
    snprintf(g_data, sizeof g_data, "%s", d ? d : "../shared/data");
    snprintf(g_src, sizeof g_src, "%s", s ? s : ".");
    const struct CMUnitTest offline[] = {
        cmocka_unit_test(hosts_are_checked_and_lowercased),
        cmocka_unit_test(quic_initial_of_rfc9001_names_example_com),
    };
    const struct CMUnitTest shared[] = {
        cmocka_unit_test(tls_server_names_match_the_sniproxy_cases),
        cmocka_unit_test(http_hosts_match_the_sniproxy_cases),
        cmocka_unit_test(every_prefix_of_a_client_hello_asks_for_more),
    };
    int r = cmocka_run_group_tests(offline, NULL, NULL);
    char probe[1200];
    snprintf(probe, sizeof probe, "%s/webprot/tls_cases.tsv", g_data);
    FILE *f = fopen(probe, "r");
    if (!f) {
        fprintf(stderr, "test_sni: %s is absent: the shared test vectors are skipped\n", probe);
        return r;
    }
    fclose(f);
    return r | cmocka_run_group_tests(shared, NULL, NULL);
}
