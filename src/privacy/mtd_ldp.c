/* mtd_ldp: randomized response and its unbiased estimate (see mtd_ldp.h). Written
 * out here: it is a few lines of arithmetic, and no Debian library carries it. */
#include "privacy/mtd_ldp.h"
#include "common/mtd_util.h"

#include <math.h>
#include <stdint.h>

double mtd_ldp_keep(double epsilon, int k)
{
    double e = exp(epsilon / k);
    return e / (1 + e);
}

static double system_uniform(void *unused)
{
    uint64_t r = 0;
    mtd_random(&r, sizeof r);
    return (double)(r >> 11) / 9007199254740992.0; /* 53 random bits */
}

void mtd_ldp_randomize(const int *truth, int k, double epsilon,
                       double (*uniform)(void *), void *rng, char *bits)
{
    double p = mtd_ldp_keep(epsilon, k);
    if (!uniform)
        uniform = system_uniform;
    for (int i = 0; i < k; i++) {
        int keep = uniform(rng) < p;
        bits[i] = (char)('0' + (keep ? truth[i] != 0 : truth[i] == 0));
    }
    bits[k] = 0;
}

void mtd_ldp_estimate(long n, long ones, double epsilon, int k, mtd_ldp_est *out)
{
    double p = mtd_ldp_keep(epsilon, k), q = 1 - p;
    if (n <= 0) {
        out->estimate = out->low = out->high = 0;
        return;
    }
    double f = (double)ones / (double)n;
    out->estimate = ((double)ones - (double)n * q) / (p - q);
    double sd = sqrt((double)n * f * (1 - f)) / (p - q);
    /* a count lies in [0, n]: the estimate and both ends are clipped to it */
    out->low = fmin((double)n, fmax(0, out->estimate - 1.96 * sd));
    out->high = fmin((double)n, fmax(0, out->estimate + 1.96 * sd));
    out->estimate = fmin((double)n, fmax(0, out->estimate));
}
