/* mtd_limit: the failure counter behind token authentication's and sign-in's limits.
 * Exact counts and block times at a given clock, the window, a success's reset, a
 * flood of new keys that cannot unblock a blocked one, and the client key (IPv6 by
 * its /64). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "collector/mtd_limit.h"

#include <stdio.h>
#include <string.h>

static void blocks_at_the_count_for_its_time(void **state)
{
    (void)state;
    mtd_limit_rule r = {10, 3, 60};
    mtd_limit *l;
    assert_int_equal(0, mtd_limit_create(64, &r, &l));
    assert_int_equal(1, mtd_limit_fail(l, "a", 1000));
    assert_int_equal(2, mtd_limit_fail(l, "a", 1001));
    assert_int_equal(0, mtd_limit_blocked(l, "a", 1001));
    assert_int_equal(3, mtd_limit_fail(l, "a", 1002));
    assert_int_equal(60, mtd_limit_blocked(l, "a", 1002));
    assert_int_equal(1, mtd_limit_blocked(l, "a", 1061));
    assert_int_equal(0, mtd_limit_blocked(l, "a", 1062));
    assert_int_equal(0, mtd_limit_blocked(l, "b", 1002)); /* another key is not */
    char top[MTD_LIMIT_KEY];
    mtd_limit_fail(l, "b", 1002);
    assert_int_equal(3, mtd_limit_top(l, 1002, top));
    assert_string_equal("a", top);
    assert_int_equal(1, mtd_limit_top(l, 1010, top)); /* a's window is over, b's is not */
    assert_string_equal("b", top);
    assert_int_equal(0, mtd_limit_top(l, 1020, top));
    mtd_limit_destroy(l);
}

static void counts_within_a_window_and_clears_on_success(void **state)
{
    (void)state;
    mtd_limit_rule r = {10, 3, 60};
    mtd_limit *l;
    assert_int_equal(0, mtd_limit_create(64, &r, &l));
    assert_int_equal(1, mtd_limit_fail(l, "a", 1000));
    assert_int_equal(2, mtd_limit_fail(l, "a", 1009));
    assert_int_equal(1, mtd_limit_fail(l, "a", 1010)); /* a new window */
    assert_int_equal(2, mtd_limit_fail(l, "a", 1011));
    mtd_limit_clear(l, "a", 1012);
    assert_int_equal(1, mtd_limit_fail(l, "a", 1012));
    assert_int_equal(2, mtd_limit_fail(l, "a", 1013));
    assert_int_equal(0, mtd_limit_blocked(l, "a", 1013));
    mtd_limit_destroy(l);
}

static void a_flood_of_keys_keeps_a_blocked_one(void **state)
{
    (void)state;
    mtd_limit_rule r = {10, 2, 60};
    mtd_limit *l;
    assert_int_equal(0, mtd_limit_create(16, &r, &l));
    mtd_limit_fail(l, "attacker", 1000);
    mtd_limit_fail(l, "attacker", 1000);
    char k[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(k, sizeof k, "k%d", i);
        mtd_limit_fail(l, k, 1001);
    }
    assert_int_equal(59, mtd_limit_blocked(l, "attacker", 1001));
    mtd_limit_destroy(l);
}

static void count_only_never_blocks(void **state)
{
    (void)state;
    mtd_limit_rule r = {300, 0, 0};
    mtd_limit *l;
    assert_int_equal(0, mtd_limit_create(64, &r, &l));
    for (unsigned i = 1; i <= 200; i++)
        assert_int_equal(i, mtd_limit_fail(l, "t", 1000));
    assert_int_equal(0, mtd_limit_blocked(l, "t", 1000));
    mtd_limit_destroy(l);
}

static void client_keys(void **state)
{
    (void)state;
    char a[MTD_LIMIT_KEY], b[MTD_LIMIT_KEY];
    mtd_limit_client_key("192.0.2.7", NULL, a);
    assert_string_equal("192.0.2.7", a);
    mtd_limit_client_key("192.0.2.7", "0123456789abcdef", a);
    assert_string_equal("192.0.2.7|0123456789abcdef", a);
    mtd_limit_client_key("2001:db8:1:2:aaaa::1", NULL, a);
    mtd_limit_client_key("2001:db8:1:2:ffff:1:2:3", NULL, b);
    assert_string_equal("2001:db8:1:2::/64", a);
    assert_string_equal(a, b); /* one host's /64 is one client */
    mtd_limit_client_key("2001:db8:1:3::1", "t", b);
    assert_string_equal("2001:db8:1:3::/64|t", b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(blocks_at_the_count_for_its_time),
        cmocka_unit_test(counts_within_a_window_and_clears_on_success),
        cmocka_unit_test(a_flood_of_keys_keeps_a_blocked_one),
        cmocka_unit_test(count_only_never_blocks),
        cmocka_unit_test(client_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
