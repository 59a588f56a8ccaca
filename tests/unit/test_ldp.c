/* Local differential privacy of usage counters: 10,000 simulated devices, each with
 * its own truth of which of the ten actions it used, randomized by the agent's own
 * function and estimated by the collector's; each action's estimate must fall within
 * its stated 95% interval of the true count, and over 200 repeated fleets the
 * intervals must hold the truth about 95% of the time (calibrated, not just wide). The
 * random source is seeded so the run is the same every time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "privacy/mtd_ldp.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>

#define K 10
#define DEVICES 10000

static double xorshift_uniform(void *state)
{
    uint64_t *s = state;
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (double)(*s >> 11) / 9007199254740992.0;
}

/* One fleet: the true counts, and the estimates with their intervals. */
static void fleet(uint64_t *rng, double eps, long truth[K], mtd_ldp_est est[K])
{
    static const double share[K] = {0.95, 0.02, 0.005, 0.30, 0.50, 0.10, 0.65, 0.40, 0.01, 0.25};
    long ones[K] = {0};
    for (int b = 0; b < K; b++)
        truth[b] = 0;
    for (int d = 0; d < DEVICES; d++) {
        int t[K];
        char bits[K + 1];
        for (int b = 0; b < K; b++)
            truth[b] += t[b] = xorshift_uniform(rng) < share[b];
        mtd_ldp_randomize(t, K, eps, xorshift_uniform, rng, bits);
        for (int b = 0; b < K; b++)
            ones[b] += bits[b] == '1';
    }
    for (int b = 0; b < K; b++)
        mtd_ldp_estimate(DEVICES, ones[b], eps, K, &est[b]);
}

static void estimates_hold_the_truth(void **state)
{
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    long truth[K];
    mtd_ldp_est est[K];
    fleet(&rng, 4.0, truth, est);
    for (int b = 0; b < K; b++) {
        printf("action %d: true %ld, estimate %.0f, 95%% interval [%.0f, %.0f]\n", b, truth[b],
               est[b].estimate, est[b].low, est[b].high);
        assert_true(est[b].low <= truth[b] && truth[b] <= est[b].high);
        /* the interval says something: at epsilon 4 over ten bits, well under a fleet */
        assert_true(est[b].high - est[b].low < 0.25 * DEVICES);
    }
}

static void intervals_are_calibrated(void **state)
{
    uint64_t rng = 42;
    int held = 0, trials = 200;
    for (int t = 0; t < trials; t++) {
        long truth[K];
        mtd_ldp_est est[K];
        fleet(&rng, 2.0, truth, est);
        for (int b = 0; b < K; b++)
            held += est[b].low <= truth[b] && truth[b] <= est[b].high;
    }
    double coverage = (double)held / (trials * K);
    printf("coverage of the 95%% intervals over %d fleets x %d actions: %.3f\n", trials, K, coverage);
    assert_true(coverage >= 0.93 && coverage <= 0.99);
}

static void a_single_report_says_little(void **state)
{
    /* the whole report is epsilon-LDP: any two truths give any report within e^eps */
    double eps = 2.0, p = mtd_ldp_keep(eps, K);
    double worst = pow(p / (1 - p), K); /* every bit differs */
    assert_true(fabs(log(worst) - eps) < 1e-9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(estimates_hold_the_truth), cmocka_unit_test(intervals_are_calibrated),
        cmocka_unit_test(a_single_report_says_little),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
