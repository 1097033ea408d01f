/* dsp/special.c — modified Bessel functions I0 and I1 of real argument (Kaiser windows, the
 * tunnelling-junction describing function).
 *
 * Power series (Abramowitz & Stegun 9.6.10):
 *   I_nu(x) = (x/2)^nu sum_{k>=0} (x^2/4)^k / (k! Gamma(k + nu + 1)).
 * Every term is positive, so the sum has no cancellation and is accurate to a few ulp for any
 * |x| below the overflow of e^x (~709); the loop stops when a term no longer changes the sum. */
#include "mimonet/dsp.h"

#include <math.h>

double mn_bessel_i0(double x)
{
    double q = 0.25 * x * x, term = 1.0, sum = 1.0;
    for (int k = 1; k < 1000; k++) {
        term *= q / ((double)k * (double)k);
        double s = sum + term;
        if (s == sum) break;
        sum = s;
    }
    return sum;
}

double mn_bessel_i1(double x)
{
    double q = 0.25 * x * x, term = 1.0, sum = 1.0;
    for (int k = 1; k < 1000; k++) {
        term *= q / ((double)k * (double)(k + 1));
        double s = sum + term;
        if (s == sum) break;
        sum = s;
    }
    return 0.5 * x * sum;
}
