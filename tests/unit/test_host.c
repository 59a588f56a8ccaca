/* Unit tests of the Linux host source on fake /sys, /etc and /proc trees: device
 * information read exactly, placeholders not taken for a model, and the identifier
 * chain MAC -> machine-id -> GUID (kept across calls). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "collect/mtd_host.h"
#include "common/mtd_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char root[64];

static void put(const char *rel, const char *content)
{
    char p[512], dir[512];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    snprintf(dir, sizeof dir, "%s", p);
    *strrchr(dir, '/') = 0;
    mtd_mkdir_p(dir, 0755);
    mtd_file_write_atomic(p, content, strlen(content), 0644);
}

static mtd_host_roots roots(char *sys, char *etc, char *proc)
{
    sprintf(sys, "%s/sys", root);
    sprintf(etc, "%s/etc", root);
    sprintf(proc, "%s/proc", root);
    return (mtd_host_roots){sys, etc, proc};
}

static int setup(void **state)
{
    strcpy(root, "/tmp/mtd-host-XXXXXX");
    if (!mkdtemp(root))
        return -1;
    put("etc/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\n");
    put("proc/cpuinfo", "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz\n\n"
                        "processor\t: 1\nmodel name\t: Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz\n");
    put("sys/class/dmi/id/sys_vendor", "LENOVO\n");
    put("sys/class/dmi/id/product_name", "20L8S02D00\n");
    put("sys/class/net/lo/address", "00:00:00:00:00:00\n");
    put("sys/class/net/wlp2s0/address", "8c:16:45:aa:bb:cc\n");
    put("sys/class/net/enp0s31f6/address", "54:E1:AD:11:22:33\n");
    put("etc/machine-id", "0123456789abcdef0123456789abcdef\n");
    return 0;
}

static int teardown(void **state)
{
    mtd_rm_rf(root);
    return 0;
}

static void device_info_is_read_exactly(void **state)
{
    char a[128], b[128], c[128];
    mtd_host_roots r = roots(a, b, c);
    json_t *o = mtd_host_device_info(&r);
    assert_string_equal(json_string_value(json_object_get(o, "os_name")), "Debian GNU/Linux");
    assert_string_equal(json_string_value(json_object_get(o, "os_version")), "12");
    assert_string_equal(json_string_value(json_object_get(o, "build")), "Debian GNU/Linux 12 (bookworm)");
    assert_string_equal(json_string_value(json_object_get(o, "manufacturer")), "LENOVO");
    assert_string_equal(json_string_value(json_object_get(o, "model")), "20L8S02D00");
    assert_string_equal(json_string_value(json_object_get(o, "cpu")),
                        "Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz (2 logical CPUs)");
    json_decref(o);
}

static void placeholders_are_not_a_model(void **state)
{
    put("sys/class/dmi/id/product_name", "To Be Filled By O.E.M.\n");
    char a[128], b[128], c[128];
    mtd_host_roots r = roots(a, b, c);
    json_t *o = mtd_host_device_info(&r);
    assert_null(json_object_get(o, "model"));
    json_decref(o);
}

static void identifier_prefers_mac_then_machine_id_then_guid(void **state)
{
    char a[128], b[128], c[128], raw[128], raw2[128], st[128];
    const char *src;
    mtd_host_roots r = roots(a, b, c);
    sprintf(st, "%s/state", root);
    mtd_mkdir_p(st, 0700);
    assert_int_equal(mtd_host_device_identifier(&r, st, raw, sizeof raw, &src), 0);
    assert_string_equal(src, "mac");
    assert_string_equal(raw, "54e1ad112233"); /* enp0s31f6 sorts first; lowercase hex, no separators */
    char p[256];
    sprintf(p, "%s/sys/class/net", root);
    mtd_rm_rf(p);
    assert_int_equal(mtd_host_device_identifier(&r, st, raw, sizeof raw, &src), 0);
    assert_string_equal(src, "android_id");
    assert_string_equal(raw, "0123456789abcdef0123456789abcdef");
    sprintf(p, "%s/etc/machine-id", root);
    unlink(p);
    assert_int_equal(mtd_host_device_identifier(&r, st, raw, sizeof raw, &src), 0);
    assert_string_equal(src, "guid");
    assert_int_equal(strlen(raw), 36);
    assert_int_equal(raw[14], '4'); /* RFC 4122 version 4 */
    assert_int_equal(mtd_host_device_identifier(&r, st, raw2, sizeof raw2, &src), 0);
    assert_string_equal(raw, raw2); /* kept in the state directory */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(device_info_is_read_exactly, setup, teardown),
        cmocka_unit_test_setup_teardown(placeholders_are_not_a_model, setup, teardown),
        cmocka_unit_test_setup_teardown(identifier_prefers_mac_then_machine_id_then_guid, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
