/* src/csi/wmmse.c — WMMSE sum-rate precoding, Q. Shi, M. Razaviyayn, Z.-Q. Luo, C. He, "An
 * iteratively weighted MMSE approach to distributed sum-utility maximization for a MIMO
 * broadcast channel", IEEE TSP 59(9), 2011, Algorithm 1 (Table I), for single-antenna
 * receivers, unit rate weights and the total power constraint sum_k ||v_k||^2 <= P.
 *
 * One iteration on a subcarrier, with rows g_k (y_k = g_k sum_j v_j s_j + n_k):
 *   u_k = g_k v_k / (sum_j |g_k v_j|^2 + sigma^2)                (MMSE receiver)
 *   w_k = 1 / e_k,  e_k = 1 - conj(u_k) g_k v_k                   (MSE weight)
 *   v_k = (sum_j w_j |u_j|^2 g_j^H g_j + mu I)^-1 g_k^H u_k w_k   (transmit filter)
 * with mu >= 0 the smallest value meeting the power constraint (mu = 0 if feasible), found by
 * bisection.  By the push-through identity (A^H D A + mu I)^-1 A^H = A^H (D A A^H + mu I)^-1,
 * V = G^H X with X = (D Gam + mu I)^-1 C, Gam = G G^H, D = diag(w_j |u_j|^2),
 * C = diag(u_k w_k), so every solve is K x K and the power is tr(X^H Gam X).
 * Each iteration does not decrease the weighted sum rate (Shi et al., Theorem 3). */
#include "csi_internal.h"

#include <string.h>

typedef struct {
    int K, M;
    double mu; /* the previous iteration's multiplier (warm start) */
    double complex *g, *v, *gam, *A, *X, *u;
    double *wgt;
} wm_ws;

/* X = (D Gam + mu I)^-1 C; returns the power tr(X^H Gam X), or -1 if singular. */
static double solve_mu(wm_ws *s, const double *D, const double complex *C, double mu)
{
    const int K = s->K;
    for (int i = 0; i < K; i++)
        for (int j = 0; j < K; j++) {
            s->A[i * K + j] = D[i] * s->gam[i * K + j] + (i == j ? mu : 0.0);
            s->X[i * K + j] = (i == j) ? C[i] : 0.0;
        }
    if (csi_zsolve(s->A, s->X, K, K) != 0) return -1.0;
    double p = 0.0;
    for (int k = 0; k < K; k++) /* column k: x_k^H Gam x_k */
        for (int i = 0; i < K; i++) {
            double complex t = 0;
            for (int j = 0; j < K; j++) t += s->gam[i * K + j] * s->X[j * K + k];
            p += creal(conj(s->X[i * K + k]) * t);
        }
    return p;
}

/* One WMMSE update of v (M x K columns) in place. */
static void wmmse_step(wm_ws *s, double P, double sigma2)
{
    const int K = s->K, M = s->M;
    double D[MN_CSI_MAX_USERS] = {0};
    double complex C[MN_CSI_MAX_USERS] = {0};
    for (int k = 0; k < K; k++) {
        double tot = sigma2;
        double complex sk = 0;
        for (int j = 0; j < K; j++) {
            double complex t = 0;
            for (int m = 0; m < M; m++) t += s->g[k * M + m] * s->v[m * K + j];
            tot += csi_abs2(t);
            if (j == k) sk = t;
        }
        double complex u = sk / tot;
        double e = 1.0 - creal(conj(u) * sk); /* = 1 - |s_k|^2 / tot, in (0, 1] */
        if (e < 1e-15) e = 1e-15;
        double w = 1.0 / e;
        D[k] = w * csi_abs2(u);
        C[k] = u * w;
    }
    /* mu: 0 if the unconstrained solution is feasible, else the root of power(mu) = P, which
     * is decreasing in mu: bracket it starting from the previous iteration's mu (factor-4
     * steps), then bisect until the power is within 1e-12 P below P (feasible side). */
    double p0 = -1.0;
    bool dpos = true;
    for (int k = 0; k < K; k++) dpos = dpos && D[k] > 0;
    if (dpos) p0 = solve_mu(s, D, C, 0.0);
    if (p0 >= 0.0 && p0 <= P) {
        s->mu = 0.0;
    } else {
        double tr = 0;
        for (int k = 0; k < K; k++) tr += D[k] * creal(s->gam[k * K + k]);
        double hi = s->mu > 0 ? s->mu : (tr > 0 ? tr * 1e-3 : 1e-12), lo, ph;
        int guard = 0;
        while (((ph = solve_mu(s, D, C, hi)) < 0.0 || ph > P) && guard++ < 400) hi *= 4.0;
        lo = hi / 4.0;
        double pl;
        guard = 0;
        while ((pl = solve_mu(s, D, C, lo)) >= 0.0 && pl <= P && guard++ < 400) {
            hi = lo;
            ph = pl;
            lo /= 4.0;
            if (lo < 1e-300) {
                lo = 0.0;
                break;
            }
        }
        for (int it = 0; it < 200 && P - ph > 1e-12 * P && hi - lo > 1e-15 * hi; it++) {
            double mid = 0.5 * (lo + hi);
            double pm = solve_mu(s, D, C, mid);
            if (pm < 0.0 || pm > P) lo = mid;
            else {
                hi = mid;
                ph = pm;
            }
        }
        s->mu = hi;
        solve_mu(s, D, C, hi); /* the feasible side: power <= P */
    }
    for (int m = 0; m < M; m++)
        for (int k = 0; k < K; k++) {
            double complex t = 0;
            for (int j = 0; j < K; j++) t += conj(s->g[j * M + m]) * s->X[j * K + k];
            s->v[m * K + k] = t;
        }
}

mn_status mn_csi_precode_wmmse(float complex *W, double *trace, const float complex *G, int K,
                               int M, int F, double P, double sigma2, const mn_csi_wmmse_cfg *cfg)
{
    mn_status st = csi_check_dims("mn_csi_precode_wmmse", W, G, K, M, F, P);
    if (st != MN_OK) return st;
    if (K > MN_CSI_MAX_USERS)
        return mn_error(MN_ERR_INVALID, "mn_csi_precode_wmmse: K = %d > %d", K, MN_CSI_MAX_USERS);
    if (!(sigma2 > 0) || !isfinite(sigma2))
        return mn_error(MN_ERR_INVALID, "mn_csi_precode_wmmse: sigma2 = %g must be > 0", sigma2);
    mn_csi_wmmse_cfg c = {.iters = 100, .tol = 1e-7, .init_mrt = false};
    if (cfg) c = *cfg;
    if (c.iters < 0 || !(c.tol >= 0))
        return mn_error(MN_ERR_INVALID, "mn_csi_precode_wmmse: iters = %d, tol = %g", c.iters, c.tol);
    size_t km = (size_t)K * M, kk = (size_t)K * K;
    double complex *buf = mn_malloc(sizeof(double complex) * (2 * km + 3 * kk + 2 * kk));
    double *rates = mn_malloc(sizeof(double) * ((size_t)c.iters + 1) * (size_t)F);
    if (!buf || !rates) {
        mn_free(buf);
        mn_free(rates);
        return mn_error(MN_ERR_NOMEM, "mn_csi_precode_wmmse: out of memory");
    }
    wm_ws s = {.K = K, .M = M, .g = buf, .v = buf + km, .gam = buf + 2 * km};
    s.A = s.gam + kk;
    s.X = s.A + kk;
    double complex *rzf_ws = s.X + kk;
    int used = 0; /* trace entries filled, common to all subcarriers */
    int *last = mn_malloc(sizeof(int) * (size_t)F);
    if (!last) {
        mn_free(buf);
        mn_free(rates);
        return mn_error(MN_ERR_NOMEM, "mn_csi_precode_wmmse: out of memory");
    }
    st = MN_OK;
    for (int f = 0; f < F && st == MN_OK; f++) {
        csi_gather_rows(s.g, G, K, M, F, f);
        for (int i = 0; i < K; i++)
            for (int j = 0; j < K; j++) {
                double complex t = 0;
                for (int m = 0; m < M; m++) t += s.g[i * M + m] * conj(s.g[j * M + m]);
                s.gam[i * K + j] = t;
            }
        if (c.init_mrt) {
            for (int m = 0; m < M; m++)
                for (int k = 0; k < K; k++) s.v[m * K + k] = conj(s.g[k * M + m]);
        } else if (csi_rzf_one(s.v, s.g, K, M, K * sigma2 / P, rzf_ws) != 0) {
            st = mn_error(MN_ERR_NUMERIC, "mn_csi_precode_wmmse: RZF init singular on subcarrier %d", f);
            break;
        }
        csi_normalize_one(s.v, M, K, P);
        s.mu = 0.0;
        double prev = csi_sum_rate_one(s.g, s.v, K, M, sigma2, NULL);
        rates[f] = prev;
        int it = 0;
        for (; it < c.iters; it++) {
            wmmse_step(&s, P, sigma2);
            double r = csi_sum_rate_one(s.g, s.v, K, M, sigma2, NULL);
            rates[(size_t)(it + 1) * F + f] = r;
            double gain = r - prev;
            prev = r;
            if (gain < c.tol * (fabs(r) > 1e-12 ? fabs(r) : 1e-12)) {
                it++;
                break;
            }
        }
        last[f] = it;
        if (it > used) used = it;
        for (size_t i = 0; i < km; i++)
            if (!isfinite(creal(s.v[i])) || !isfinite(cimag(s.v[i])))
                st = mn_error(MN_ERR_NUMERIC, "mn_csi_precode_wmmse: non-finite precoder on subcarrier %d", f);
        csi_normalize_one(s.v, M, K, P); /* power <= P -> = P: the rate does not decrease */
        csi_scatter_cols(W, s.v, K, M, F, f);
    }
    if (st == MN_OK && trace) {
        /* entry t: mean over subcarriers of the rate of iterate t (a converged subcarrier keeps
         * its last value) */
        for (int t = 0; t <= c.iters; t++) {
            if (t > used) {
                trace[t] = (double)NAN;
                continue;
            }
            double m = 0;
            for (int f = 0; f < F; f++) m += rates[(size_t)(t < last[f] ? t : last[f]) * F + f];
            trace[t] = m / F;
        }
    }
    mn_free(last);
    mn_free(buf);
    mn_free(rates);
    return st;
}
