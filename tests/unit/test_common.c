/* Unit tests of the common helpers: capped buffers, strict option parsing, RFC 3339
 * times, encodings, atomic file writes, and the uplink's backoff bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/mtd_args.h"
#include "common/mtd_buf.h"
#include "common/mtd_crc32c.h"
#include "common/mtd_err.h"
#include "common/mtd_file.h"
#include "common/mtd_util.h"
#include "uplink/mtd_uplink.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void buffer_never_grows_past_its_cap(void **st)
{
    mtd_buf b;
    mtd_buf_init(&b, 10);
    assert_int_equal(mtd_buf_puts(&b, "0123456789"), 0);
    assert_int_equal(mtd_buf_puts(&b, "x"), MTD_ETOOBIG);
    assert_int_equal(b.len, 10);
    assert_string_equal((char *)b.data, "0123456789");
    mtd_buf_reset(&b);
    assert_int_equal(mtd_buf_printf(&b, "%d-%s", 42, "ab"), 0);
    assert_string_equal((char *)b.data, "42-ab");
    mtd_buf_free(&b);
}

static void options_are_strict(void **st)
{
    static const mtd_optspec specs[] = {{"--state", MTD_ARG_ONE}, {"--once", MTD_ARG_FLAG},
                                        {"--apk", MTD_ARG_MANY}, {NULL, 0}};
    char *argv1[] = {"--state", "/s", "--apk", "a.apk", "b.apk", "--once", "pos"};
    mtd_args a;
    char why[128];
    assert_int_equal(mtd_args_parse(7, argv1, specs, &a, why, sizeof why), 0);
    assert_string_equal(mtd_args_get(&a, "--state"), "/s");
    assert_true(mtd_args_has(&a, "--once"));
    const char *apks[4];
    assert_int_equal(mtd_args_all(&a, "--apk", apks, 4), 2);
    assert_string_equal(apks[1], "b.apk");
    assert_int_equal(a.npos, 1);
    assert_string_equal(a.pos[0], "pos");
    char *argv2[] = {"--stat", "/s"};
    assert_int_equal(mtd_args_parse(2, argv2, specs, &a, why, sizeof why), MTD_EINVAL);
    assert_string_equal(why, "unknown option --stat (see --help)");
    char *argv3[] = {"--state"};
    assert_int_equal(mtd_args_parse(1, argv3, specs, &a, why, sizeof why), MTD_EINVAL);
    assert_string_equal(why, "--state needs a value");
    char *argv4[] = {"--once=yes"};
    assert_int_equal(mtd_args_parse(1, argv4, specs, &a, why, sizeof why), MTD_EINVAL);
    assert_string_equal(why, "--once takes no value");
    char *argv5[] = {"--state=/x"};
    assert_int_equal(mtd_args_parse(1, argv5, specs, &a, why, sizeof why), 0);
    assert_string_equal(mtd_args_get(&a, "--state"), "/x");
}

/* Issue 13.12: "mtd-agent run --help" said "unknown option". --help and -h ask for help
 * in every command, declared or not, unless they are an option's value. */
static void help_is_asked_for_anywhere(void **st)
{
    static const mtd_optspec specs[] = {{"--state", MTD_ARG_ONE}, {"--comment", MTD_ARG_ONE}, {NULL, 0}};
    mtd_args a;
    char why[128];
    char *argv1[] = {"grant", "--state", "/s", "--help", "later"};
    assert_int_equal(mtd_args_parse(5, argv1, specs, &a, why, sizeof why), MTD_ARGS_HELP);
    assert_true(a.help);
    assert_int_equal(a.npos, 1); /* the command's words before it are kept */
    assert_string_equal(a.pos[0], "grant");
    char *argv2[] = {"-h"};
    assert_int_equal(mtd_args_parse(1, argv2, specs, &a, why, sizeof why), MTD_ARGS_HELP);
    char *argv3[] = {"--bogus", "--help"}; /* a mistake before it: the help wins */
    assert_int_equal(mtd_args_parse(2, argv3, specs, &a, why, sizeof why), MTD_ARGS_HELP);
    char *argv4[] = {"--comment", "-h"}; /* an option's value is a value */
    assert_int_equal(mtd_args_parse(2, argv4, specs, &a, why, sizeof why), 0);
    assert_false(a.help);
    assert_string_equal(mtd_args_get(&a, "--comment"), "-h");
    char *argv5[] = {"--bogus"};
    assert_int_equal(mtd_args_parse(1, argv5, specs, &a, why, sizeof why), MTD_EINVAL);
    assert_false(a.help);
}

/* Issue 13.9: "--interval abc" was read as 0 and looped without a pause. */
static void numbers_are_strict_and_in_range(void **st)
{
    long long v = 7;
    char why[128];
    assert_int_equal(mtd_parse_int("900", 10, 604800, &v, "--interval", why, sizeof why), 0);
    assert_int_equal(v, 900);
    assert_int_equal(mtd_parse_int("-5", -10, 10, &v, "x", why, sizeof why), 0);
    assert_int_equal(v, -5);
    static const char *const bad[] = {"abc", "0", "-5", "", " 900", "900 ", "+900", "9e2", "0x10",
                                      "900s", "-", "99999999999999999999", "604801"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = 7;
        why[0] = 0;
        assert_int_equal(mtd_parse_int(bad[i], 10, 604800, &v, "--interval", why, sizeof why), MTD_EINVAL);
        assert_string_equal(why, "--interval must be an integer from 10 to 604800");
        assert_int_equal(v, 7);
    }
    static const mtd_optspec specs[] = {{"--interval", MTD_ARG_ONE}, {NULL, 0}};
    char *argv[] = {"--interval", "-5"};
    mtd_args a;
    assert_int_equal(mtd_args_parse(2, argv, specs, &a, why, sizeof why), 0);
    assert_int_equal(mtd_args_int(&a, "--interval", 10, 604800, 900, &v, why, sizeof why), MTD_EINVAL);
    assert_int_equal(mtd_args_parse(0, argv, specs, &a, why, sizeof why), 0);
    assert_int_equal(mtd_args_int(&a, "--interval", 10, 604800, 900, &v, why, sizeof why), 0);
    assert_int_equal(v, 900);
}

static void times_are_rfc3339_utc_only(void **st)
{
    time_t t;
    assert_int_equal(mtd_time_parse("2026-11-24T22:40:34Z", &t), 0);
    assert_int_equal((long long)t, 1795560034LL);
    assert_int_equal(mtd_time_parse("2026-11-24T22:40:34.123Z", &t), 0);
    assert_int_equal(mtd_time_parse("2026-11-24T22:40:34+01:00", &t), MTD_EINVAL);
    assert_int_equal(mtd_time_parse("2026-13-24T22:40:34Z", &t), MTD_EINVAL);
    assert_int_equal(mtd_time_parse("2026-11-24 22:40:34Z", &t), MTD_EINVAL);
    assert_int_equal(mtd_time_parse("2026-11-24T22:40:3xZ", &t), MTD_EINVAL);
    assert_int_equal(mtd_time_parse("", &t), MTD_EINVAL);
    char out[MTD_TIME_LEN];
    mtd_time_rfc3339(1795560034, out);
    assert_string_equal(out, "2026-11-24T22:40:34Z");
}

/* The hand-written calendar arithmetic agrees with glibc's timegm and gmtime_r:
 * every day from 1970 to 2400 (leap years, centuries, 2000), at a varying second. */
static void time_arithmetic_matches_the_c_library(void **st)
{
    (void)st;
    char s[MTD_TIME_LEN], want[MTD_TIME_LEN];
    for (int64_t day = 0; day < 157054; day++) {
        time_t t = (time_t)(day * 86400 + (day * 7919) % 86400), back;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%SZ", &tm);
        mtd_time_rfc3339(t, s);
        if (strcmp(s, want) != 0)
            fail_msg("%lld: %s, want %s", (long long)t, s, want);
        if (mtd_time_parse(s, &back) != 0 || back != t)
            fail_msg("%s parsed to %lld, want %lld", s, (long long)back, (long long)t);
    }
    /* past the month's end and a leap second run on, as with timegm */
    time_t t;
    assert_int_equal(mtd_time_parse("2026-02-30T00:00:00Z", &t), 0);
    mtd_time_rfc3339(t, s);
    assert_string_equal(s, "2026-03-02T00:00:00Z");
    assert_int_equal(mtd_time_parse("2016-12-31T23:59:60Z", &t), 0);
    mtd_time_rfc3339(t, s);
    assert_string_equal(s, "2017-01-01T00:00:00Z");
    assert_int_equal(mtd_time_parse("9999-12-31T23:59:59Z", &t), 0);
    assert_int_equal((long long)t, 253402300799LL);
}

static void encodings_round_trip(void **st)
{
    uint8_t in[5] = {0xfb, 0xff, 0x00, 0x10, 0x7f}, back[5];
    char hex[11], b64[8];
    mtd_hex(in, 5, hex);
    assert_string_equal(hex, "fbff00107f");
    assert_int_equal(mtd_unhex(hex, back, 5), 0);
    assert_memory_equal(in, back, 5);
    assert_int_equal(mtd_unhex("zz", back, 1), MTD_EINVAL);
    mtd_b64url(in, 5, b64);
    assert_string_equal(b64, "-_8AEH8"); /* RFC 4648 section 5 alphabet, no padding */
    char sha[65];
    mtd_sha256_hex("abc", 3, sha);
    assert_string_equal(sha, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void crc32c_matches_the_standard_check_value(void **st)
{
    /* RFC 3720 appendix B.4 and the usual check value of "123456789" */
    assert_int_equal(mtd_crc32c(0, "123456789", 9), 0xe3069283);
    uint8_t zeros[32] = {0};
    assert_int_equal(mtd_crc32c(0, zeros, 32), 0x8a9136aa);
    /* incremental equals one-shot */
    assert_int_equal(mtd_crc32c(mtd_crc32c(0, "1234", 4), "56789", 5), 0xe3069283);
}

static void atomic_write_and_capped_read(void **st)
{
    char dir[] = "/tmp/mtd-common-XXXXXX", p[64];
    assert_non_null(mkdtemp(dir));
    snprintf(p, sizeof p, "%s/f", dir);
    assert_int_equal(mtd_file_write_atomic(p, "hello\n", 6, 0600), 0);
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    uint8_t *d;
    size_t n;
    assert_int_equal(mtd_file_read(p, 6, &d, &n), 0);
    assert_int_equal(n, 6);
    free(d);
    assert_int_equal(mtd_file_read(p, 5, &d, &n), MTD_ETOOBIG);
    assert_int_equal(mtd_file_read("/nonexistent/x", 5, &d, &n), MTD_ENOENT);
    assert_int_equal(mtd_file_read("/proc/self/status", 1 << 20, &d, &n), 0); /* size-0 files */
    assert_true(n > 100);
    free(d);
    mtd_rm_rf(dir);
}

static void backoff_is_full_jitter_under_the_cap(void **st)
{
    int max_seen = 0;
    for (int i = 0; i < 2000; i++) {
        int d = mtd_backoff_ms(3, 100, 30000);
        assert_in_range(d, 0, 800); /* base * 2^3 */
        if (d > max_seen)
            max_seen = d;
        assert_in_range(mtd_backoff_ms(30, 100, 5000), 0, 5000);
    }
    assert_true(max_seen > 400); /* spread over the whole range, not a fixed delay */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(buffer_never_grows_past_its_cap),
        cmocka_unit_test(options_are_strict),
        cmocka_unit_test(help_is_asked_for_anywhere),
        cmocka_unit_test(numbers_are_strict_and_in_range),
        cmocka_unit_test(times_are_rfc3339_utc_only),
        cmocka_unit_test(time_arithmetic_matches_the_c_library),
        cmocka_unit_test(encodings_round_trip),
        cmocka_unit_test(crc32c_matches_the_standard_check_value),
        cmocka_unit_test(atomic_write_and_capped_read),
        cmocka_unit_test(backoff_is_full_jitter_under_the_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
