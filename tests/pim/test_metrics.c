/* tests/pim/test_metrics.c — DESIGN.md's metrics on a case computed by hand, and the split. */
#include "mn_test.h"

#include <string.h>

#include "mimonet/pim.h"

MN_TEST(pim_metrics_hand_case)
{
    /* Two channels of 4 samples, border 1: only samples 1 and 2 count.
     * ch0: y = (1, 2j), yhat = (0, 2j): sum|y|^2 = 5, sum|e|^2 = 1 -> APE0 = 10 log10 5
     * ch1: y = (3, 4),  yhat = (2, 4):  sum|y|^2 = 25, sum|e|^2 = 1 -> APE1 = 10 log10 25
     * pooled = 10 log10(30 / 2) = 10 log10 15; mean = (APE0 + APE1) / 2; NMSE = -pooled.
     * The border samples carry large errors that must not count. */
    float complex y[8] = {9, 1, 2 * I, 9, 9, 3, 4, 9};
    float complex h[8] = {0, 0, 2 * I, 0, 0, 2, 4, 0};
    mn_pim_metrics m;
    double per[2];
    MN_CHECK_OK(t, mn_pim_metrics_compute(&m, per, y, h, 2, 4, 4, 1));
    MN_CHECK_NEAR(t, per[0], 10 * log10(5.0), 1e-9);
    MN_CHECK_NEAR(t, per[1], 10 * log10(25.0), 1e-9);
    MN_CHECK_NEAR(t, m.ape_db, 10 * log10(15.0), 1e-9);
    MN_CHECK_NEAR(t, m.ape_mean_db, 0.5 * (10 * log10(5.0) + 10 * log10(25.0)), 1e-9);
    MN_CHECK_NEAR(t, m.nmse_db, -10 * log10(15.0), 1e-9);
    MN_CHECK_NEAR(t, m.power_y, 30.0 / 4, 1e-12);
    MN_CHECK_NEAR(t, m.power_err, 2.0 / 4, 1e-12);
    MN_CHECK(t, m.samples == 2);
    /* A row stride larger than n: same numbers from a padded layout. */
    float complex y2[10] = {9, 1, 2 * I, 9, 77, 9, 3, 4, 9, 77}, h2[10] = {0, 0, 2 * I, 0, -5, 0, 2, 4, 0, -5};
    mn_pim_metrics m2;
    MN_CHECK_OK(t, mn_pim_metrics_compute(&m2, NULL, y2, h2, 2, 4, 5, 1));
    MN_CHECK_NEAR(t, m2.ape_db, m.ape_db, 1e-12);
    /* Noise ceiling: P(y) = 2, P(noise) = 0.02 -> 20 dB. */
    MN_CHECK_NEAR(t, mn_pim_noise_ceiling_db(2.0, 0.02), 20.0, 1e-12);
    /* Bad arguments: border eating the whole segment. */
    MN_CHECK(t, mn_pim_metrics_compute(&m, NULL, y, h, 2, 4, 4, 2) == MN_ERR_INVALID);
}

MN_TEST(pim_split_fractions)
{
    mn_span s[3];
    MN_CHECK_OK(t, mn_pim_split(s, 1000, (const double[3]){0.7, 0.1, 0.2}, 10));
    MN_CHECK(t, s[0].begin == 0 && s[0].end == 700 && s[1].begin == 700 && s[1].end == 800 &&
                    s[2].begin == 800 && s[2].end == 1000);
    /* Unnormalized fractions mean the same split. */
    mn_span u[3];
    MN_CHECK_OK(t, mn_pim_split(u, 1000, (const double[3]){7, 1, 2}, 10));
    MN_CHECK(t, memcmp(s, u, sizeof s) == 0);
    /* No validation: train then test. */
    MN_CHECK_OK(t, mn_pim_split(u, 1000, (const double[3]){0.8, 0, 0.2}, 10));
    MN_CHECK(t, u[1].begin == u[1].end && u[0].end == 800 && u[2].begin == 800);
    /* Too short a part is refused, naming it. */
    MN_CHECK(t, mn_pim_split(u, 1000, (const double[3]){0.7, 0.1, 0.2}, 150) == MN_ERR_SHAPE);
    MN_CHECK(t, strstr(mn_error_msg(), "validation") != NULL);
    MN_CHECK(t, mn_pim_split(u, 1000, (const double[3]){-1, 1, 1}, 1) == MN_ERR_INVALID);
}
