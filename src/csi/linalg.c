/* src/csi/linalg.c — small dense complex linear algebra for the CSI baselines (double
 * precision): a pivoted Gaussian solve, a cyclic-Jacobi Hermitian eigensolver, (regularized)
 * zero forcing for one subcarrier, and the per-subcarrier sum rate.
 *
 * Hand-written rather than LAPACK so that the module has no optional dependency; the sizes
 * (K <= 64 users, M <= a few hundred antennas) make O(n^3) loops adequate. */
#include "csi_internal.h"

#include <string.h>

/* 1 / z without the C99 Annex G overhead of complex division (z != 0). */
static inline double complex zinv(double complex z)
{
    double a = csi_abs2(z);
    return CMPLX(creal(z) / a, -cimag(z) / a);
}

int csi_zsolve(double complex *A, double complex *B, int n, int nrhs)
{
    /* pivoting on |a|^2 (same order as |a|) */
    double amax = 0.0;
    for (int i = 0; i < n * n; i++) {
        double a = csi_abs2(A[i]);
        if (a > amax) amax = a;
    }
    double tiny = amax * 1e-28 > 1e-300 ? amax * 1e-28 : 1e-300; /* (1e-14 relative)^2 */
    for (int c = 0; c < n; c++) {
        int piv = c;
        double best = csi_abs2(A[c * n + c]);
        for (int r = c + 1; r < n; r++) {
            double a = csi_abs2(A[r * n + c]);
            if (a > best) {
                best = a;
                piv = r;
            }
        }
        if (!(best > tiny)) return -1;
        if (piv != c) {
            for (int j = 0; j < n; j++) {
                double complex t = A[c * n + j];
                A[c * n + j] = A[piv * n + j];
                A[piv * n + j] = t;
            }
            for (int j = 0; j < nrhs; j++) {
                double complex t = B[c * nrhs + j];
                B[c * nrhs + j] = B[piv * nrhs + j];
                B[piv * nrhs + j] = t;
            }
        }
        double complex inv = zinv(A[c * n + c]);
        for (int r = c + 1; r < n; r++) {
            double complex f = A[r * n + c] * inv;
            if (f == 0) continue;
            A[r * n + c] = 0;
            for (int j = c + 1; j < n; j++) A[r * n + j] -= f * A[c * n + j];
            for (int j = 0; j < nrhs; j++) B[r * nrhs + j] -= f * B[c * nrhs + j];
        }
    }
    for (int c = n - 1; c >= 0; c--) {
        double complex inv = zinv(A[c * n + c]);
        for (int j = 0; j < nrhs; j++) {
            double complex s = B[c * nrhs + j];
            for (int k = c + 1; k < n; k++) s -= A[c * n + k] * B[k * nrhs + j];
            B[c * nrhs + j] = s * inv;
        }
    }
    return 0;
}

/* Cyclic Jacobi for Hermitian matrices (Golub & Van Loan, Matrix Computations, 4th ed., 8.5,
 * extended to complex entries): for each pair (p, q) the phase of a_pq is first removed by
 * D = diag(1, exp(-j arg a_pq)) on index q, then the real symmetric 2 x 2 rotation
 * t = sign(tau) / (|tau| + sqrt(1 + tau^2)), tau = (a_qq - a_pp) / (2 |a_pq|), c = 1/sqrt(1+t^2),
 * s = t c zeroes it.  The combined unitary U = D [[c, s], [-s, c]] updates A <- U^H A U and
 * V <- V U. */
int csi_zheev(double *w, double complex *V, double complex *A, int n)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) V[i * n + j] = (i == j) ? 1.0 : 0.0;
    double total = 0.0;
    for (int i = 0; i < n * n; i++) total += csi_abs2(A[i]);
    int converged = 0;
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0.0;
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++) off += csi_abs2(A[p * n + q]);
        if (off <= 1e-30 * total || off == 0.0) {
            converged = 1;
            break;
        }
        for (int p = 0; p < n - 1; p++) {
            for (int q = p + 1; q < n; q++) {
                double complex apq = A[p * n + q];
                double b = cabs(apq);
                if (b <= 1e-300 || b * b <= 1e-34 * total) continue;
                double complex e = apq / b; /* exp(j phi) */
                double app = creal(A[p * n + p]), aqq = creal(A[q * n + q]);
                double tau = (aqq - app) / (2.0 * b);
                double t = (tau >= 0 ? 1.0 : -1.0) / (fabs(tau) + sqrt(1.0 + tau * tau));
                double c = 1.0 / sqrt(1.0 + t * t), s = t * c;
                double complex u00 = c, u01 = s, u10 = -s * conj(e), u11 = c * conj(e);
                for (int i = 0; i < n; i++) { /* columns p, q of A and V */
                    double complex aip = A[i * n + p], aiq = A[i * n + q];
                    A[i * n + p] = aip * u00 + aiq * u10;
                    A[i * n + q] = aip * u01 + aiq * u11;
                    double complex vip = V[i * n + p], viq = V[i * n + q];
                    V[i * n + p] = vip * u00 + viq * u10;
                    V[i * n + q] = vip * u01 + viq * u11;
                }
                for (int j = 0; j < n; j++) { /* rows p, q of A */
                    double complex apj = A[p * n + j], aqj = A[q * n + j];
                    A[p * n + j] = conj(u00) * apj + conj(u10) * aqj;
                    A[q * n + j] = conj(u01) * apj + conj(u11) * aqj;
                }
                A[p * n + q] = 0;
                A[q * n + p] = 0;
            }
        }
    }
    for (int i = 0; i < n; i++) w[i] = creal(A[i * n + i]);
    /* sort descending (selection sort: n is small), permuting V's columns */
    for (int i = 0; i < n; i++) {
        int best = i;
        for (int j = i + 1; j < n; j++)
            if (w[j] > w[best]) best = j;
        if (best != i) {
            double tw = w[i];
            w[i] = w[best];
            w[best] = tw;
            for (int r = 0; r < n; r++) {
                double complex tv = V[r * n + i];
                V[r * n + i] = V[r * n + best];
                V[r * n + best] = tv;
            }
        }
    }
    /* fix each eigenvector's phase: first entry above 1e-8 becomes real positive */
    for (int j = 0; j < n; j++) {
        for (int r = 0; r < n; r++) {
            double a = cabs(V[r * n + j]);
            if (a > 1e-8) {
                double complex ph = conj(V[r * n + j]) / a;
                for (int rr = 0; rr < n; rr++) V[rr * n + j] *= ph;
                break;
            }
        }
    }
    return converged ? 0 : -1;
}

double csi_dominant_eigvec(double complex *v, const double complex *A, int n, double complex *ws,
                           double *wbuf)
{
    double complex *Ac = ws, *V = ws + (size_t)n * n;
    memcpy(Ac, A, sizeof(double complex) * (size_t)n * n);
    if (csi_zheev(wbuf, V, Ac, n) != 0) return -1.0;
    for (int i = 0; i < n; i++) v[i] = V[i * n];
    return wbuf[0];
}

void csi_rzf_system(double complex *Gam, double complex *X, const double complex *G, int K, int M, double reg)
{
    for (int i = 0; i < K; i++)
        for (int j = 0; j < K; j++) {
            double complex s = 0;
            for (int m = 0; m < M; m++) s += G[i * M + m] * conj(G[j * M + m]);
            Gam[i * K + j] = s + (i == j ? reg : 0.0);
            X[i * K + j] = (i == j) ? 1.0 : 0.0;
        }
}

int csi_rzf_one(double complex *W, const double complex *G, int K, int M, double reg,
                double complex *ws)
{
    double complex *Gam = ws, *X = ws + (size_t)K * K;
    csi_rzf_system(Gam, X, G, K, M, reg);
    if (csi_zsolve(Gam, X, K, K) != 0) return -1;
    for (int m = 0; m < M; m++)
        for (int k = 0; k < K; k++) {
            double complex s = 0;
            for (int j = 0; j < K; j++) s += conj(G[j * M + m]) * X[j * K + k];
            W[m * K + k] = s;
        }
    return 0;
}

void csi_normalize_one(double complex *W, int M, int K, double P)
{
    double e = 0.0;
    for (int i = 0; i < M * K; i++) e += csi_abs2(W[i]);
    if (!(e > 0.0)) return;
    double s = sqrt(P / e);
    for (int i = 0; i < M * K; i++) W[i] *= s;
}

void csi_gather_rows(double complex *G, const float complex *src, int K, int M, int F, int f)
{
    for (int k = 0; k < K; k++)
        for (int m = 0; m < M; m++) G[k * M + m] = csi_c2d(src[((size_t)k * M + m) * F + f]);
}

void csi_scatter_cols(float complex *dst, const double complex *W, int K, int M, int F, int f)
{
    for (int k = 0; k < K; k++)
        for (int m = 0; m < M; m++) dst[((size_t)k * M + m) * F + f] = csi_d2c(W[m * K + k]);
}

double csi_sum_rate_one(const double complex *G, const double complex *W, int K, int M,
                        double sigma2, double *rate_ue)
{
    double sum = 0.0;
    for (int k = 0; k < K; k++) {
        double sig = 0.0, intf = 0.0;
        for (int j = 0; j < K; j++) {
            double complex s = 0;
            for (int m = 0; m < M; m++) s += G[k * M + m] * W[m * K + j];
            if (j == k) sig = csi_abs2(s);
            else intf += csi_abs2(s);
        }
        double r = log2(1.0 + sig / (intf + sigma2));
        if (rate_ue) rate_ue[k] = r;
        sum += r;
    }
    return sum;
}

mn_status csi_check_dims(const char *fn, const void *W, const void *G, int K, int M, int F,
                         double P)
{
    if (!W || !G) return mn_error(MN_ERR_INVALID, "%s: NULL W or G", fn);
    if (K < 1 || M < 1 || F < 1)
        return mn_error(MN_ERR_INVALID, "%s: K = %d, M = %d, F = %d must be >= 1", fn, K, M, F);
    if (K > M) return mn_error(MN_ERR_INVALID, "%s: K = %d users exceed M = %d antennas", fn, K, M);
    if (!(P > 0.0) || !isfinite(P)) return mn_error(MN_ERR_INVALID, "%s: P = %g must be > 0", fn, P);
    return MN_OK;
}
