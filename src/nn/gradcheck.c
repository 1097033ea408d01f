/*
 * nn/gradcheck.c — finite-difference gradient check.
 *
 * For each i, the central difference
 *     num_i = (f(x + h_i e_i) - f(x - h_i e_i)) / (x_i^+ - x_i^-)
 * where x_i^+- = float(x_i +- h) are the perturbed values actually stored (the denominator uses
 * them, not 2h, so float rounding of the step does not bias the quotient).  f is evaluated in
 * double by the caller's callback.  The error for i is
 *     |num_i - ana_i| / max(atol_scale, |num_i| + |ana_i|)
 * and the maximum over i is returned (its index in *worst_index when not NULL).  x is restored
 * exactly.  Truncation error is O(h^2 f'''), rounding error about eps_f |f| / h, so h ~ 1e-3
 * suits float kernels whose callback sums float outputs in double.
 */
#include "mimonet/nn.h"

#include <math.h>
#include <string.h>

double mn_gradcheck(mn_gradcheck_fn f, void *ctx, float *x, const float *analytic, size_t n,
                    double h, double atol_scale, size_t *worst_index)
{
    double worst = 0.0;
    size_t wi = 0;
    for (size_t i = 0; i < n; i++) {
        const float x0 = x[i];
        const float xp = (float)((double)x0 + h), xm = (float)((double)x0 - h);
        x[i] = xp;
        const double fp = f(ctx);
        x[i] = xm;
        const double fm = f(ctx);
        x[i] = x0;
        const double num = (fp - fm) / ((double)xp - (double)xm);
        const double ana = (double)analytic[i];
        double den = fabs(num) + fabs(ana);
        if (den < atol_scale) den = atol_scale;
        double err = fabs(num - ana) / den;
        if (!(err == err)) err = (double)INFINITY; /* NaN anywhere fails the check */
        if (err > worst || (i == 0 && err == worst)) {
            worst = err;
            wi = i;
        }
    }
    if (worst_index) *worst_index = wi;
    return worst;
}

double mn_gradcheck_dir(mn_gradcheck_fn f, void *ctx, float *x, const float *g, size_t n, double h,
                        mn_rng *rng, double *gnorm)
{
    float *x0 = mn_malloc(2 * n * sizeof *x0);
    if (!x0) return (double)NAN;
    float *v = x0 + n;
    memcpy(x0, x, n * sizeof *x0);
    double gv = 0, gg = 0, vv = 0;
    for (size_t i = 0; i < n; i++) {
        v[i] = (float)mn_rng_normal(rng);
        gv += (double)g[i] * (double)v[i];
        gg += (double)g[i] * (double)g[i];
        vv += (double)v[i] * (double)v[i];
    }
    for (size_t i = 0; i < n; i++) x[i] = x0[i] + (float)h * v[i];
    double lp = f(ctx);
    for (size_t i = 0; i < n; i++) x[i] = x0[i] - (float)h * v[i];
    double lm = f(ctx);
    memcpy(x, x0, n * sizeof *x0);
    mn_free(x0);
    if (gnorm) *gnorm = sqrt(gg);
    return fabs((lp - lm) / (2 * h) - gv) / sqrt(gg * vv);
}
