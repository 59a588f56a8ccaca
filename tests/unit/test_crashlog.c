/* Unit tests of the crash log parsers and reports: the real tombstones of
 * ../shared/data/mvt read exactly; the agent's own tombstone and .ips reduced to its
 * own frames, with nothing else of the log in the fields; another app's logs not
 * taken; garbage refused with a reason; the handler's report format read back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/mtd_file.h"
#include "usage/mtd_crash.h"
#include "usage/mtd_crashlog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t *load(const char *base, const char *rel, size_t *len)
{
    char p[1024];
    uint8_t *d = NULL;
    snprintf(p, sizeof p, "%s/%s", base, rel);
    if (mtd_file_read(p, 8 << 20, &d, len) != 0)
        return NULL;
    return d;
}

static void real_tombstones(void **state)
{
    const char *shared = getenv("MTD_SHARED_DATA");
    size_t len;
    uint8_t *d = shared ? load(shared, "mvt/android_data/bugreport/FS/data/tombstones/tombstone_00", &len) : NULL;
    if (!d) {
        fprintf(stderr, "skip: ../shared/data/mvt is absent\n");
        skip();
    }
    mtd_crash c[4];
    int n;
    char why[200];
    assert_int_equal(mtd_crashlog_tombstones(d, len, c, 4, &n, why, sizeof why), 0);
    free(d);
    assert_int_equal(n, 1);
    assert_string_equal(c[0].process, "/system/bin/adbd");
    assert_string_equal(c[0].signal, "SIGABRT");
    assert_string_equal(c[0].fault, ""); /* "fault addr --------" */
    assert_string_equal(c[0].time, "2021-09-29T15:43:49Z");
    assert_int_equal(c[0].nframes, 10);
    assert_string_equal(c[0].frames[0].module, "libc.so");
    assert_string_equal(c[0].frames[0].path, "/apex/com.android.runtime/lib/bionic/libc.so");
    assert_int_equal(c[0].frames[0].offset, 0x603ca);
    assert_string_equal(c[0].frames[0].build_id, "320fbdc2a1289fadd7dacae7f2eb77a3");
    assert_string_equal(c[0].frames[3].module, "libadbd.so");
    assert_int_equal(mtd_crashlog_reduce(&c[0], "org.openmtd.agent"), 0); /* not ours */

    d = load(shared, "mvt/android_data/tombstone_process.txt", &len);
    assert_non_null(d);
    assert_int_equal(mtd_crashlog_tombstones(d, len, c, 4, &n, why, sizeof why), 0);
    free(d);
    assert_int_equal(n, 1);
    assert_string_equal(c[0].process, "/vendor/bin/hw/android.hardware.media.c2@1.2-mediatek");
    assert_string_equal(c[0].signal, "SIGSEGV");
    assert_int_equal(c[0].nframes, 12); /* the crashing thread only, not "memory near" */
    assert_int_equal(c[0].frames[3].offset, 0x5bad);
}

static void own_tombstone(void **state)
{
    size_t len;
    uint8_t *d = load(getenv("MTD_SRC"), "tests/data/tombstone_agent", &len);
    assert_non_null(d);
    mtd_crash c[2];
    int n;
    char why[200];
    assert_int_equal(mtd_crashlog_tombstones(d, len, c, 2, &n, why, sizeof why), 0);
    free(d);
    assert_int_equal(n, 1);
    assert_int_equal(c[0].nframes, 4); /* the other thread's backtrace is not read */
    assert_int_equal(mtd_crashlog_reduce(&c[0], "org.openmtd.agent"), 1);
    json_t *f = mtd_crash_fields(&c[0]);
    char *s = json_dumps(f, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(s, "{\"build_id\":\"5d1e0f2a3b4c5d6e7f8091a2b3c4d5e6\",\"crash_time\":\"2026-11-29T07:30:12Z\","
                           "\"fault_address\":\"0x0000000000000010\",\"frames\":[\"libmtd.so+0x4ec8c\",\"libmtd.so+0x4f0a8\"],"
                           "\"origin\":\"android\",\"signal\":\"SIGSEGV\",\"version\":\"unknown\"}");
    assert_null(strstr(s, "alice")); /* the abort message stays on the device */
    free(s);
    json_decref(f);
}

static void own_ips(void **state)
{
    size_t len;
    uint8_t *d = load(getenv("MTD_SRC"), "tests/data/org.openmtd.agent-2026-11-30-101500.ips", &len);
    assert_non_null(d);
    mtd_crash c;
    char why[200];
    assert_int_equal(mtd_crashlog_ips(d, len, &c, why, sizeof why), 0);
    free(d);
    assert_int_equal(c.nframes, 4);
    assert_int_equal(mtd_crashlog_reduce(&c, "org.openmtd.agent"), 1);
    assert_int_equal(mtd_crashlog_reduce(&c, "org.openmtd"), 0); /* a prefix is another app */
    json_t *f = mtd_crash_fields(&c);
    char *s = json_dumps(f, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(s, "{\"build_id\":\"7a1c2e3f-0b4d-3c5e-8f6a-1b2c3d4e5f60\",\"crash_time\":\"2026-11-30T09:14:59Z\","
                           "\"fault_address\":\"0x0000000000000010\",\"frames\":[\"openmtd+0x54e4\",\"openmtd+0x56c8\"],"
                           "\"origin\":\"ios\",\"signal\":\"SIGSEGV\",\"version\":\"0.1.0\"}");
    free(s);
    json_decref(f);
}

static void garbage(void **state)
{
    mtd_crash c[2];
    char why[200];
    int n;
    const char *junk = "this is not a crash log\nat all\n";
    assert_int_equal(mtd_crashlog_ips((const uint8_t *)junk, strlen(junk), c, why, sizeof why), -4);
    assert_string_equal(why, "not an .ips crash log: the first line is not a JSON header");
    const char *half = "{\"bug_type\":\"309\"}\n{\"exception\": {\"signal\": \"SIGSEGV\"";
    assert_int_equal(mtd_crashlog_ips((const uint8_t *)half, strlen(half), c, why, sizeof why), -4);
    assert_non_null(strstr(why, "the .ips body is not JSON (line 2"));
    assert_int_equal(mtd_crashlog_tombstones((const uint8_t *)junk, strlen(junk), c, 2, &n, why, sizeof why), -4);
    assert_string_equal(why, "not a tombstone: no \"*** *** ***\" header line");
}

static void handler_report(void **state)
{
    const char *r = "openmtd-crash 1\nsignal SIGSEGV\nfault 0x10\nversion 0.1.0\nbuild_id 8031f2\n"
                    "time 1796175794\nframe 0xd4d7\nframe 0xd6c7\n";
    mtd_crash c;
    assert_int_equal(mtd_crash_parse_report((const uint8_t *)r, strlen(r), &c), 0);
    json_t *f = mtd_crash_fields(&c);
    char *s = json_dumps(f, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(s, "{\"build_id\":\"8031f2\",\"crash_time\":\"2026-12-02T01:43:14Z\",\"fault_address\":\"0x10\","
                           "\"frames\":[\"mtd-agent+0xd4d7\",\"mtd-agent+0xd6c7\"],\"origin\":\"agent\","
                           "\"signal\":\"SIGSEGV\",\"version\":\"0.1.0\"}");
    free(s);
    json_decref(f);
    const char *bad[] = {"openmtd-crash 1\nsignal SIG SEGV\nversion 1\n", "openmtd-crash 1\nversion 1\n",
                         "openmtd-crash 1\nsignal X\nversion 1\nargv /home/alice\n", "openmtd-crash 1\nsignal X\nversion 1"};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(mtd_crash_parse_report((const uint8_t *)bad[i], strlen(bad[i]), &c), -4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(real_tombstones), cmocka_unit_test(own_tombstone), cmocka_unit_test(own_ips),
        cmocka_unit_test(garbage), cmocka_unit_test(handler_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
