/* mtd_crc32c: CRC-32C through ISA-L. */
#include "common/mtd_crc32c.h"

#include <isa-l/crc.h>
#include <limits.h>
#include <pthread.h>

#if defined(__x86_64__)
static int have_avx;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init(void)
{
    __builtin_cpu_init();
    have_avx = __builtin_cpu_supports("avx");
}
#endif

/* ISA-L keeps the register uninverted between calls: its value for a buffer, from
 * 0xffffffff, is the complement of the standard CRC-32C (0xe3069283 for "123456789"). */
uint32_t mtd_crc32c(uint32_t crc, const void *data, size_t len)
{
    const unsigned char *p = data;
    uint32_t c = ~crc;
    while (len) {
        int n = len > INT_MAX ? INT_MAX : (int)len; /* it takes an int length */
        c = crc32_iscsi((unsigned char *)p, n, c);
        p += n;
        len -= (size_t)n;
    }
#if defined(__x86_64__)
    /* ISA-L's AVX-512 code returns with the upper halves of the vector registers
     * dirty, and every SSE instruction the caller runs next then pays for the
     * transition (perf: 84% of spool recovery on one movq after the call) */
    pthread_once(&once, init);
    if (have_avx)
        __asm__ volatile("vzeroupper" ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
                         "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
#endif
    return ~c;
}
