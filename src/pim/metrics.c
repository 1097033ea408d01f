/* pim/metrics.c — the cancellation metrics of DESIGN.md, defined once here.
 * APE pooled = 10 log10(sum|y|^2 / sum|y - yhat|^2), APE mean = channel average of per-channel
 * APE in dB, NMSE = -APE pooled, noise ceiling = 10 log10(P(y)/P(noise)).  Sums in double. */
#include "mimonet/pim.h"

#include <math.h>

mn_status mn_pim_metrics_compute(mn_pim_metrics *out, double *per_channel_db, const float complex *y,
                                 const float complex *yhat, int nch, int64_t n, int64_t stride,
                                 int64_t border)
{
    if (nch < 1 || n < 1 || stride < n || border < 0 || 2 * border >= n)
        return mn_error(MN_ERR_INVALID, "metrics: %d channels of %lld samples (stride %lld) with border %lld",
                        nch, (long long)n, (long long)stride, (long long)border);
    double sy = 0, se = 0, mean_db = 0;
    for (int c = 0; c < nch; c++) {
        const float complex *yc = y + (int64_t)c * stride, *hc = yhat + (int64_t)c * stride;
        double cy = 0, ce = 0;
        for (int64_t i = border; i < n - border; i++) {
            double yr = (double)crealf(yc[i]), yi = (double)cimagf(yc[i]);
            double er = yr - (double)crealf(hc[i]), ei = yi - (double)cimagf(hc[i]);
            cy += yr * yr + yi * yi;
            ce += er * er + ei * ei;
        }
        double db = 10.0 * log10(cy / ce);
        if (per_channel_db) per_channel_db[c] = db;
        mean_db += db;
        sy += cy;
        se += ce;
    }
    int64_t cnt = n - 2 * border;
    out->ape_db = 10.0 * log10(sy / se);
    out->ape_mean_db = mean_db / nch;
    out->nmse_db = -out->ape_db;
    out->power_y = sy / ((double)cnt * nch);
    out->power_err = se / ((double)cnt * nch);
    out->samples = cnt;
    return MN_OK;
}

double mn_pim_noise_ceiling_db(double power_y, double power_noise)
{
    return 10.0 * log10(power_y / power_noise);
}

mn_status mn_pim_split(mn_span out[3], int64_t n, const double frac[3], int64_t min_len)
{
    double sum = 0;
    for (int i = 0; i < 3; i++) {
        if (!(frac[i] >= 0) || !isfinite(frac[i]))
            return mn_error(MN_ERR_INVALID, "--split: fraction %d is %g; fractions must be >= 0", i + 1, frac[i]);
        sum += frac[i];
    }
    if (!(sum > 0)) return mn_error(MN_ERR_INVALID, "--split: fractions sum to zero");
    /* Round (not floor): 0.7 + 0.1 is 0.7999... in binary and must still give 80 %. */
    int64_t b0 = (int64_t)llround((double)n * frac[0] / sum);
    int64_t b1 = (int64_t)llround((double)n * (frac[0] + frac[1]) / sum);
    if (frac[2] == 0) b1 = n;
    if (frac[1] == 0) b1 = b0 > b1 ? b0 : b1;
    out[0] = (mn_span){0, b0};
    out[1] = (mn_span){b0, b1};
    out[2] = (mn_span){b1, n};
    static const char *const names[3] = {"train", "validation", "test"};
    for (int i = 0; i < 3; i++) {
        int64_t len = out[i].end - out[i].begin;
        if (frac[i] > 0 && len < min_len)
            return mn_error(MN_ERR_SHAPE,
                            "--split: the %s part has %lld samples, fewer than the %lld needed "
                            "(use more samples or a larger fraction)",
                            names[i], (long long)len, (long long)min_len);
    }
    return MN_OK;
}
