/* test_vpn_chksum: the relay's lwip_standard_chksum (mtd_vpn.c), which takes the place
 * of lwIP's own in the agent, returns what Debian's liblwip returns, to the bit, for
 * every length up to 2,100 bytes and random lengths up to 65,535 at every alignment,
 * over random bytes and the runs of 0x00 and 0xff where one's complement sums have
 * their two zeros. lwIP's own is the library's definition, found with dlsym in it. */
#include "webprot/mtd_vpn.h"

#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

uint16_t lwip_standard_chksum(const void *dataptr, int len);
typedef uint16_t (*chksum_fn)(const void *, int);

static chksum_fn lwip_own(void)
{
    void *h = dlopen("liblwip.so.0", RTLD_NOW | RTLD_NOLOAD);
    if (!h)
        h = dlopen("liblwip.so.0", RTLD_NOW);
    assert_non_null(h);
    chksum_fn f = (chksum_fn)dlsym(h, "lwip_standard_chksum");
    assert_non_null(f);
    assert_true(f != lwip_standard_chksum); /* the library's, not ours again */
    return f;
}

static void same_at(chksum_fn theirs, const uint8_t *b, int len, int off)
{
    uint16_t want = theirs(b + off, len), got = lwip_standard_chksum(b + off, len);
    if (want != got)
        fail_msg("length %d at offset %d: lwIP 0x%04x, ours 0x%04x", len, off, want, got);
}

static void checksums_match_lwips_own(void **state)
{
    (void)state;
    chksum_fn theirs = lwip_own();
    enum { MAX = 65535 + 8 };
    uint8_t *b = malloc(MAX);
    assert_non_null(b);
    srand(17);
    for (int fill = 0; fill < 3; fill++) {
        for (int i = 0; i < MAX; i++)
            b[i] = fill == 0 ? (uint8_t)rand() : fill == 1 ? 0x00 : 0xff;
        for (int off = 0; off < 8; off++) {
            for (int len = 0; len <= 2100; len++)
                same_at(theirs, b, len, off);
            for (int k = 0; k < 200; k++)
                same_at(theirs, b, rand() % 65536, off);
            same_at(theirs, b, 65535, off);
        }
    }
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(checksums_match_lwips_own),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
