/* mtd_ldp: local differential privacy for usage counters (tenant policy
 * usage_privacy=ldp, epsilon usage_epsilon).
 *
 * Each device sends, once per UTC day it ran, one report: a bit per action of the
 * fixed list (mtd_actions.h), "did this happen on this device that day", each bit
 * passed through randomized response (kept with probability p = e^(e/k) / (1 + e^(e/k)),
 * flipped otherwise, k bits, e the policy's epsilon). Two days of one device that
 * differ in any or all actions give any report with probabilities within a factor
 * e^epsilon of each other: the whole report is epsilon-LDP, not each bit. The
 * collector never learns whether one device used a feature, only, across the fleet,
 * how many did: n reports with y ones estimate the count as (y - n q) / (p - q),
 * q = 1 - p, with a normal-approximation confidence interval whose variance bound is
 * n f (1 - f) / (p - q)^2, f = y / n.
 *
 * Both sides use this file: the agent to randomize, the collector to estimate. */
#ifndef MTD_LDP_H
#define MTD_LDP_H

#include <stddef.h>

/* Probability that a bit is reported as it is. */
double mtd_ldp_keep(double epsilon, int k);

/* bits[i] = truth[i] kept or flipped, as '0'/'1' characters (k of them, NUL after).
 * uniform returns a double in [0, 1); NULL: the system's random source. */
void mtd_ldp_randomize(const int *truth, int k, double epsilon,
                       double (*uniform)(void *), void *rng, char *bits);

typedef struct {
    double estimate, low, high; /* devices, and the 95% interval; each clipped to [0, n] */
} mtd_ldp_est;

void mtd_ldp_estimate(long n, long ones, double epsilon, int k, mtd_ldp_est *out);

#endif
