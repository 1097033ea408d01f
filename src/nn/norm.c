/*
 * nn/norm.c — batch normalization (per channel over batch and time) and layer normalization
 * (over channels at each time step), forward and backward.
 *
 * Batch norm (Ioffe & Szegedy 2015; PyTorch BatchNorm1d semantics), N = B*T per channel c:
 *     mu = (1/N) sum x,   var = (1/N) sum (x - mu)^2 (biased),   rstd = 1/sqrt(var + eps)
 *     xhat = (x - mu) rstd,   y = gamma xhat + beta          (gamma = 1, beta = 0 if NULL)
 *     running_mean = (1 - m) running_mean + m mu
 *     running_var  = (1 - m) running_var  + m var N/(N-1)    (unbiased, as PyTorch; N = 1: var)
 *   eval: mu, var := running_mean, running_var.
 *   backward (training statistics), with g = dy:
 *     dbeta += sum g,   dgamma += sum g xhat,
 *     dx += gamma rstd (g - mean(g) - xhat mean(g xhat)).
 * Layer norm (Ba et al. 2016) over the C channels at each (b, t): the same formulas with the
 * mean over c (biased variance), gamma/beta [C], caches mean/rstd [B, T]:
 *     dx += rstd (gamma g - mean_c(gamma g) - xhat mean_c(gamma g xhat)).
 *
 * Shapes: x, y, dx, dy [B, C, T].  Batch-norm caches mean, rstd [C]; layer-norm [B, T].
 * Forward caches may be NULL when no backward follows (inference); batch-norm running stats may
 * be NULL in training (no update) but are required in eval (the call does nothing without them).
 * Eval mode writes neither the caches nor the running stats.
 * Statistics of a channel are summed inside one task in a fixed order (float partial sums in 16
 * lanes per row, double across rows); two passes (mean, then squared deviations) avoid the
 * cancellation of E[x^2] - E[x]^2.  Tasks partition channels (batch norm) or (b, time chunk)
 * (layer norm), so results do not depend on the thread count.
 */
#include "mimonet/nn.h"

#include "act_epi.h"
#include "grad_into.h"
#include "lanes.h"

#include <math.h>
#include <string.h>

#include "pragma.h"

#define PAR_MIN_WORK 32768L
#define LN_CHUNK 256 /* time steps per layer-norm task */

/* sum (x - m)^2 */
MN_MULTIVERSION
static float row_sqdev(const float *restrict x, float m, int n)
{
    float acc[16];
    int i = 0;
#ifdef MN_V16
    v16f vx, vs = {0};
    for (; i + 16 <= n; i += 16) {
        memcpy(&vx, x + i, sizeof vx);
        vx = vx - m;
        vs += vx * vx;
    }
    memcpy(acc, &vs, sizeof acc);
#else
    for (int j = 0; j < 16; j++) acc[j] = 0.0f;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) {
            float d = x[i + j] - m;
            acc[j] += d * d;
        }
#endif
    for (int j = 0; i < n; i++, j++) {
        float d = x[i] - m;
        acc[j] += d * d;
    }
    return lanes_reduce(acc);
}

/* sum g (x - m) */
MN_MULTIVERSION
static float row_dotdev(const float *restrict g, const float *restrict x, float m, int n)
{
    float acc[16];
    int i = 0;
#ifdef MN_V16
    v16f vx, vg, vs = {0};
    for (; i + 16 <= n; i += 16) {
        memcpy(&vx, x + i, sizeof vx);
        memcpy(&vg, g + i, sizeof vg);
        vs += vg * (vx - m);
    }
    memcpy(acc, &vs, sizeof acc);
#else
    for (int j = 0; j < 16; j++) acc[j] = 0.0f;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) acc[j] += g[i + j] * (x[i + j] - m);
#endif
    for (int j = 0; i < n; i++, j++) acc[j] += g[i] * (x[i] - m);
    return lanes_reduce(acc);
}

/* sum g and sum g (x - mu[t]) rs[t] over one row (layer-norm dgamma, dbeta) */
MN_MULTIVERSION
static void row_ln_sums(const float *restrict g, const float *restrict x,
                        const float *restrict mu, const float *restrict rs, int n, float *sg,
                        float *sgx)
{
    float a1[16], a2[16];
    int i = 0;
#ifdef MN_V16
    v16f vg, vx, vm, vr, s1 = {0}, s2 = {0};
    for (; i + 16 <= n; i += 16) {
        memcpy(&vg, g + i, sizeof vg);
        memcpy(&vx, x + i, sizeof vx);
        memcpy(&vm, mu + i, sizeof vm);
        memcpy(&vr, rs + i, sizeof vr);
        s1 += vg;
        s2 += vg * ((vx - vm) * vr);
    }
    memcpy(a1, &s1, sizeof a1);
    memcpy(a2, &s2, sizeof a2);
#else
    for (int j = 0; j < 16; j++) a1[j] = 0.0f, a2[j] = 0.0f;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) {
            a1[j] += g[i + j];
            a2[j] += g[i + j] * ((x[i + j] - mu[i + j]) * rs[i + j]);
        }
#endif
    for (int j = 0; i < n; i++, j++) {
        a1[j] += g[i];
        a2[j] += g[i] * ((x[i] - mu[i]) * rs[i]);
    }
    *sg = lanes_reduce(a1);
    *sgx = lanes_reduce(a2);
}

/* ---------------------------------------------------------------- batch norm */

void mn_batchnorm_forward(float *out, float *mean, float *rstd, const float *inp,
                          const float *gamma, const float *beta, float *running_mean,
                          float *running_var, int B, int C, int T, float eps, float momentum,
                          bool training)
{
    mn_batchnorm_forward_epi(out, mean, rstd, inp, gamma, beta, running_mean, running_var, B, C, T, eps, momentum,
                             training, MN_ACT_EPI_NONE);
}

void mn_batchnorm_forward_epi(float *out, float *mean, float *rstd, const float *inp, const float *gamma,
                              const float *beta, float *running_mean, float *running_var, int B, int C, int T,
                              float eps, float momentum, bool training, mn_act_epi epi)
{
    if (B <= 0 || C <= 0 || T <= 0) return;
    if (!training && (!running_mean || !running_var)) return;
    const long N = (long)B * T, work = N * C;
    (void)work;
    OMP(parallel for schedule(static) if(work > PAR_MIN_WORK))
    for (int c = 0; c < C; c++) {
        float mf, rs;
        if (training) {
            double s = 0.0;
            for (int b = 0; b < B; b++) s += (double)mn_nn_row_sum(inp + ((size_t)b * C + c) * T, T);
            double mu = s / (double)N;
            mf = (float)mu;
            double v = 0.0;
            for (int b = 0; b < B; b++)
                v += (double)row_sqdev(inp + ((size_t)b * C + c) * T, mf, T);
            double var = v / (double)N;
            rs = (float)(1.0 / sqrt(var + (double)eps));
            if (mean) mean[c] = mf;
            if (rstd) rstd[c] = rs;
            if (running_mean && running_var) {
                double m = (double)momentum;
                double var_u = N > 1 ? var * (double)N / (double)(N - 1) : var;
                running_mean[c] = (float)((1.0 - m) * (double)running_mean[c] + m * mu);
                running_var[c] = (float)((1.0 - m) * (double)running_var[c] + m * var_u);
            }
        } else {
            mf = running_mean[c];
            rs = (float)(1.0 / sqrt((double)running_var[c] + (double)eps));
        }
        const float scale = gamma ? gamma[c] * rs : rs, shift = beta ? beta[c] : 0.0f;
        for (int b = 0; b < B; b++) {
            const float *restrict x = inp + ((size_t)b * C + c) * T;
            float *restrict y = out + ((size_t)b * C + c) * T;
            OMP(simd)
            for (int t = 0; t < T; t++) y[t] = (x[t] - mf) * scale + shift;
            mn_act_inplace(y, (size_t)T, epi);
        }
    }
}

void mn_batchnorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                           const float *inp, const float *mean, const float *rstd,
                           const float *gamma, int B, int C, int T)
{
    mn_batchnorm_backward_into(dinp, dgamma, dbeta, dout, inp, mean, rstd, gamma, B, C, T, false);
}

void mn_batchnorm_backward_into(float *dinp, float *dgamma, float *dbeta, const float *dout, const float *inp,
                                const float *mean, const float *rstd, const float *gamma, int B, int C, int T,
                                bool overwrite)
{
    if (B <= 0 || C <= 0 || T <= 0) return;
    const long N = (long)B * T, work = N * C;
    (void)work;
    OMP(parallel for schedule(static) if(work > PAR_MIN_WORK))
    for (int c = 0; c < C; c++) {
        const float mf = mean[c], rs = rstd[c];
        double sg = 0.0, sgx = 0.0; /* sum g, sum g (x - mu) */
        for (int b = 0; b < B; b++) {
            const size_t row = ((size_t)b * C + c) * T;
            sg += (double)mn_nn_row_sum(dout + row, T);
            sgx += (double)row_dotdev(dout + row, inp + row, mf, T);
        }
        const double sgxhat = sgx * (double)rs; /* sum g xhat */
        if (dbeta) dbeta[c] += (float)sg;
        if (dgamma) dgamma[c] += (float)sgxhat;
        if (!dinp) continue;
        const float gm = gamma ? gamma[c] : 1.0f;
        const float k0 = gm * rs;
        const float k1 = (float)(sg / (double)N);
        const float k2 = (float)(sgxhat / (double)N) * rs; /* mean(g xhat) * rstd */
        for (int b = 0; b < B; b++) {
            const size_t row = ((size_t)b * C + c) * T;
            const float *restrict x = inp + row, *restrict g = dout + row;
            float *restrict dx = dinp + row;
            if (overwrite) {
                OMP(simd)
                for (int t = 0; t < T; t++) dx[t] = 0.0f + k0 * (g[t] - k1 - (x[t] - mf) * k2);
            } else {
                OMP(simd)
                for (int t = 0; t < T; t++) dx[t] += k0 * (g[t] - k1 - (x[t] - mf) * k2);
            }
        }
    }
}

/* ---------------------------------------------------------------- layer norm */

/* Layer norm over the C channels for time steps [0, n) of one chunk: rows x0 + c*T. */
MN_MULTIVERSION
static void ln_forward_chunk(float *y0, float *restrict mu, float *restrict rs, const float *x0,
                             const float *gamma, const float *beta, int C, int T, int n, float eps)
{
    const float inv_c = 1.0f / (float)C;
    for (int j = 0; j < n; j++) mu[j] = 0.0f, rs[j] = 0.0f;
    for (int c = 0; c < C; c++) {
        const float *restrict x = x0 + (size_t)c * T;
        OMP(simd)
        for (int j = 0; j < n; j++) mu[j] += x[j];
    }
    for (int j = 0; j < n; j++) mu[j] *= inv_c;
    for (int c = 0; c < C; c++) {
        const float *restrict x = x0 + (size_t)c * T;
        OMP(simd)
        for (int j = 0; j < n; j++) {
            float d = x[j] - mu[j];
            rs[j] += d * d;
        }
    }
    for (int j = 0; j < n; j++) rs[j] = 1.0f / sqrtf(rs[j] * inv_c + eps);
    for (int c = 0; c < C; c++) {
        const float *restrict x = x0 + (size_t)c * T;
        float *restrict y = y0 + (size_t)c * T;
        const float gm = gamma ? gamma[c] : 1.0f, bt = beta ? beta[c] : 0.0f;
        OMP(simd)
        for (int j = 0; j < n; j++) y[j] = (x[j] - mu[j]) * rs[j] * gm + bt;
    }
}

void mn_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                          const float *gamma, const float *beta, int B, int C, int T, float eps)
{
    if (B <= 0 || C <= 0 || T <= 0) return;
    const int nch = (T + LN_CHUNK - 1) / LN_CHUNK;
    const long tasks = (long)B * nch, work = (long)B * C * T;
    (void)work;
    OMP(parallel for schedule(static) if(work > PAR_MIN_WORK))
    for (long task = 0; task < tasks; task++) {
        const int b = (int)(task / nch), t0 = (int)(task % nch) * LN_CHUNK;
        const int n = T - t0 < LN_CHUNK ? T - t0 : LN_CHUNK;
        float mu_buf[LN_CHUNK], rs_buf[LN_CHUNK];
        const size_t base = (size_t)b * C * T + t0;
        ln_forward_chunk(out + base, mean ? mean + (size_t)b * T + t0 : mu_buf,
                         rstd ? rstd + (size_t)b * T + t0 : rs_buf, inp + base, gamma, beta, C, T,
                         n, eps);
    }
}

/* Layer-norm input gradient for time steps [0, n) of one chunk (rows at base + c*T). */
MN_MULTIVERSION
static void ln_backward_chunk(float *dx0, const float *g0, const float *x0,
                              const float *restrict mu, const float *restrict rs,
                              const float *gamma, int C, int T, int n)
{
    float sa[LN_CHUNK], sb[LN_CHUNK]; /* mean_c(gamma g), mean_c(gamma g xhat) */
    const float inv_c = 1.0f / (float)C;
    for (int j = 0; j < n; j++) sa[j] = 0.0f, sb[j] = 0.0f;
    for (int c = 0; c < C; c++) {
        const float *restrict x = x0 + (size_t)c * T;
        const float *restrict g = g0 + (size_t)c * T;
        const float gm = gamma ? gamma[c] : 1.0f;
        OMP(simd)
        for (int j = 0; j < n; j++) {
            float gg = gm * g[j];
            sa[j] += gg;
            sb[j] += gg * ((x[j] - mu[j]) * rs[j]);
        }
    }
    for (int j = 0; j < n; j++) sa[j] *= inv_c, sb[j] *= inv_c;
    for (int c = 0; c < C; c++) {
        const float *restrict x = x0 + (size_t)c * T;
        const float *restrict g = g0 + (size_t)c * T;
        float *restrict dx = dx0 + (size_t)c * T;
        const float gm = gamma ? gamma[c] : 1.0f;
        OMP(simd)
        for (int j = 0; j < n; j++)
            dx[j] += rs[j] * (gm * g[j] - sa[j] - (x[j] - mu[j]) * rs[j] * sb[j]);
    }
}

void mn_layernorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                           const float *inp, const float *mean, const float *rstd,
                           const float *gamma, int B, int C, int T)
{
    if (B <= 0 || C <= 0 || T <= 0) return;
    const long work = (long)B * C * T;
    (void)work;
    if (dinp) {
        const int nch = (T + LN_CHUNK - 1) / LN_CHUNK;
        const long tasks = (long)B * nch;
        OMP(parallel for schedule(static) if(work > PAR_MIN_WORK))
        for (long task = 0; task < tasks; task++) {
            const int b = (int)(task / nch), t0 = (int)(task % nch) * LN_CHUNK;
            const int n = T - t0 < LN_CHUNK ? T - t0 : LN_CHUNK;
            const size_t base = (size_t)b * C * T + t0;
            ln_backward_chunk(dinp + base, dout + base, inp + base, mean + (size_t)b * T + t0,
                              rstd + (size_t)b * T + t0, gamma, C, T, n);
        }
    }
    if (dgamma || dbeta) {
        OMP(parallel for schedule(static) if(work > PAR_MIN_WORK))
        for (int c = 0; c < C; c++) {
            double sg = 0.0, sgx = 0.0;
            for (int b = 0; b < B; b++) {
                const float *restrict x = inp + ((size_t)b * C + c) * T;
                const float *restrict g = dout + ((size_t)b * C + c) * T;
                const float *restrict mu = mean + (size_t)b * T;
                const float *restrict rs = rstd + (size_t)b * T;
                float s1, s2;
                row_ln_sums(g, x, mu, rs, T, &s1, &s2);
                sg += (double)s1;
                sgx += (double)s2;
            }
            if (dbeta) dbeta[c] += (float)sg;
            if (dgamma) dgamma[c] += (float)sgx;
        }
    }
}
