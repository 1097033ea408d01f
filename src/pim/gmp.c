/* pim/gmp.c — classical PIM cancellers: linear FIR and generalized memory polynomials (Morgan
 * et al., "A generalized memory polynomial model for digital predistortion of RF power
 * amplifiers", IEEE TSP 2006) extended with neighbouring-antenna cross terms, fitted by ridge
 * least squares on unit-normalized columns.  See pim.h for the basis. */
#include "mimonet/io.h"
#include "mimonet/pim.h"

#include "../nn/pragma.h" /* OMP(): nothing without OpenMP */
#include "net_internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#ifdef MN_HAVE_CBLAS
#include <cblas.h>
#endif
#ifdef MN_HAVE_LAPACKE
#include <lapacke.h>
#endif

static int terms_per_tap(const mn_pim_gmp_cfg *c) { return (c->linear ? 1 : 0) + c->K + c->L + c->P; }

/* Taps per antenna: M looking back (x[i], ..., x[i-M+1]) and `lead` looking ahead. */
static int taps(const mn_pim_gmp_cfg *c) { return c->M + c->lead; }

int mn_pim_gmp_columns(const mn_pim_gmp_cfg *c) { return c->n_tx * taps(c) * terms_per_tap(c); }

const char *mn_pim_gmp_kind(const mn_pim_gmp_cfg *c) { return c->K == 0 ? "fir" : "gmp"; }

long mn_pim_gmp_macs_per_sample(const mn_pim_gmp_cfg *c)
{
    /* 4 real MACs per complex coefficient and Rx, plus ~2 per basis column to form it. */
    long cols = mn_pim_gmp_columns(c);
    return 4L * cols * c->n_rx + 2L * cols;
}

static mn_status check_cfg(const mn_pim_gmp_cfg *c)
{
    if (c->n_tx < 1 || c->n_rx < 1 || c->M < 1 || c->K < 0 || c->L < 0 || c->P < 0 || (c->P > 0 && c->P >= c->n_tx) ||
        c->lead < 0 || c->lead > MN_PIM_GMP_MAX_LEAD || terms_per_tap(c) < 1 || !(c->ridge >= 0))
        return mn_error(MN_ERR_INVALID,
                        "GMP basis: n_tx %d, n_rx %d, M %d, K %d, L %d, P %d, lead %d (need M >= 1, K, L >= 0, "
                        "0 <= P < n_tx, 0 <= lead <= %d, at least one term)",
                        c->n_tx, c->n_rx, c->M, c->K, c->L, c->P, c->lead, MN_PIM_GMP_MAX_LEAD);
    if (mn_pim_gmp_columns(c) > 20000) return mn_error(MN_ERR_INVALID, "GMP basis: %d columns is too many", mn_pim_gmp_columns(c));
    return MN_OK;
}

/* x_a[i]; zero outside the signal (before its start, and past its end for a lead). */
static inline double complex tap(const float complex *tx, int64_t n, int a, int64_t i)
{
    return i >= 0 && i < n ? (double complex)tx[(int64_t)a * n + i] : 0;
}

static inline double mag2(double complex z) { return creal(z) * creal(z) + cimag(z) * cimag(z); }

/* ---------------------------------------------------------------- the fit
 *
 * Shift structure.  Every column is a delayed copy of one of U = n_tx * terms "base" sequences:
 * column (a, m, j) at sample i is s_aj[i - m], where s_aj[t] = x_a[t] w_j[t] with w_j one of
 * 1, |x_a[t]|^2k, |x_a[t - l]|^2, |x_(a+p)[t]|^2 (zero for t < 0, as pim.h's zero history).
 * Write S[t] for the row of the U base values at time t, and order the columns internally by
 * (m, a, j) (public order: (a, m, j)), so that row i of Phi is [S[i], S[i-1], ..., S[i-M+1]].
 * Over the training window [b, e) the Gram matrix G = Phi^H Phi has U x U blocks
 *
 *     G(m, m') = sum_{i=b}^{e-1} conj(S[i-m]) S[i-m']^T ,
 *
 * and substituting t = i - m shows that a block differs from its upper-left neighbour on the
 * same block diagonal only by the window edges:
 *
 *     G(m, m') = G(m-1, m'-1) + conj(S[b-m]) S[b-m']^T - conj(S[e-m]) S[e-m']^T .
 *
 * So only the first block column G(m, 0) = sum_i conj(S[i-m]) S[i]^T is accumulated over the
 * data, together with R(m) = sum_i conj(S[i-m]) Y[i]^T (the blocks of Phi^H Y): M gemms of
 * U x (U + n_rx) over the samples, 8 n M U (U + n_rx) real flops, against 4 n C (C + 1) for a
 * zherk of the whole C = M U column basis plus 8 n C n_rx for Phi^H Y — about M/2 times fewer
 * (1.0e11 against 3.3e11 for n = 100,000, 32 Tx, M 7, K 3, P 1, 16 Rx).  The other blocks
 * follow by walking down each block diagonal, two rank-one updates per step.
 *
 * A lead D is the same basis one D samples later: taps x[i + D - m], m = 0 .. M + D - 1, are the
 * causal basis of memory M + D at time t = i + D.  So the fit runs causally in t over [b + D,
 * e + D) against Y[t] = rx[t - D], with M + D in place of M below (base rows past the signal's
 * end are zeros, as for predict).
 *
 * Work split: the samples go in blocks of BLOCK rows; per block the threads build the base
 * rows (with M - 1 rows of history), then share M * nstrip independent gemm tasks (shift m,
 * column strip), handed out dynamically (on a shared machine a descheduled thread then holds
 * up at most one task at the barrier).  The strips depend on the sizes only, each task is one
 * single-threaded BLAS call, and the edge updates run on one thread, so the result is
 * bit-identical for any thread count.  OpenBLAS is pinned to one thread (as in core/blas.c)
 * so that its own threads do not compete with the OpenMP ones. */

#ifdef MN_HAVE_CBLAS
void openblas_set_num_threads(int);
#endif

/* Base row S[t] (U values, order (a, j), stride `terms` per antenna); zeros outside [0, n). */
static void base_row(double complex *S, const mn_pim_gmp_cfg *c, const float complex *tx, int64_t n, int64_t t)
{
    const int T = terms_per_tap(c), A = c->n_tx;
    if (t < 0 || t >= n) {
        memset(S, 0, (size_t)A * T * sizeof *S);
        return;
    }
    for (int a = 0; a < A; a++) {
        double complex *s = S + (size_t)a * T;
        double complex u = (double complex)tx[(int64_t)a * n + t];
        double p = mag2(u), pk = 1;
        int j = 0;
        if (c->linear) s[j++] = u;
        for (int k = 1; k <= c->K; k++) {
            pk *= p;
            s[j++] = u * pk;
        }
        for (int l = 1; l <= c->L; l++) s[j++] = u * mag2(tap(tx, n, a, t - l));
        for (int q = 1; q <= c->P; q++) s[j++] = u * mag2((double complex)tx[(int64_t)((a + q) % A) * n + t]);
    }
}

#ifdef MN_HAVE_LAPACKE /* the fit's helpers: without LAPACKE there is no fit */
/* C[U, w] += A^H B for A [rows, U] and B [rows, w], all with leading dimension ld (row-major). */
static void gemm_ah_b(double complex *C, const double complex *A, const double complex *B, int rows, int U, int w,
                      int ld)
{
#ifdef MN_HAVE_CBLAS
    const double complex one = 1;
    cblas_zgemm(CblasRowMajor, CblasConjTrans, CblasNoTrans, U, w, rows, &one, A, ld, B, ld, &one, C, ld);
#else
    for (int r = 0; r < rows; r++)
        for (int u = 0; u < U; u++) {
            double complex au = conj(A[(size_t)r * ld + u]);
            for (int v = 0; v < w; v++) C[(size_t)u * ld + v] += au * B[(size_t)r * ld + v];
        }
#endif
}

/* H [M * U, U + nrx] (row-major) += the first block column of G and the blocks of R over
 * times t in [b, e) (the lead's time, see above: Y[t] = rx[t - lead]); M here is all the taps.
 * Sbuf holds (BLOCK + M - 1) rows of U + nrx. */
static void accumulate(double complex *H, double complex *Sbuf, int block, const mn_pim_gmp_cfg *c,
                       const float complex *tx, const float complex *rx, int64_t n, int64_t b, int64_t e)
{
    const int M = taps(c), D = c->lead, U = c->n_tx * terms_per_tap(c), nrx = c->n_rx, W = U + nrx;
    /* Column strips of [S | Y] per shift: about 64 columns each, fixed by the sizes alone. */
    const int nstrip = W >= 128 ? W / 64 : 1, ntask = M * nstrip;
OMP(parallel num_threads(mn_threads_get()))
    for (int64_t s0 = b; s0 < e; s0 += block) {
        const int rows = (int)(e - s0 < block ? e - s0 : block);
        /* Sbuf row r is time t = s0 - (M - 1) + r: [S[t] | Y[t]] (Y only for the current rows). */
OMP(for schedule(dynamic, 64))
        for (int r = 0; r < rows + M - 1; r++) {
            const int64_t t = s0 - (M - 1) + r;
            double complex *row = Sbuf + (size_t)r * W;
            base_row(row, c, tx, n, t);
            for (int q = 0; q < nrx; q++) row[U + q] = t >= s0 ? (double complex)rx[(int64_t)q * n + t - D] : 0;
        }
OMP(for schedule(dynamic, 1))
        for (int task = 0; task < ntask; task++) {
            const int m = task / nstrip, s = task % nstrip;
            const int c0 = s * W / nstrip, c1 = (s + 1) * W / nstrip;
            /* H(m)[:, c0:c1] += S_{t-m}^H [S_t | Y_t][:, c0:c1] over the block's rows t. */
            gemm_ah_b(H + (size_t)m * U * W + c0, Sbuf + (size_t)(M - 1 - m) * W, Sbuf + (size_t)(M - 1) * W + c0,
                      rows, U, c1 - c0, W);
        }
    }
}

#endif

mn_status mn_pim_gmp_fit(mn_pim_gmp *g, const mn_pim_gmp_cfg *c, const float complex *tx, const float complex *rx,
                         int64_t n, mn_span span)
{
    memset(g, 0, sizeof *g);
    mn_status st = check_cfg(c);
    if (st != MN_OK) return st;
#ifndef MN_HAVE_LAPACKE
    (void)tx; (void)rx; (void)n; (void)span;
    return mn_error(MN_ERR_UNSUPPORTED, "the GMP/FIR baselines need LAPACKE; rebuild with liblapacke-dev installed");
#else
    const int P = mn_pim_gmp_columns(c), nrx = c->n_rx, M = taps(c), T = terms_per_tap(c);
    const int U = c->n_tx * T, W = U + nrx;
    const int64_t len = span.end - span.begin;
    if (span.begin < 0 || span.end > n || len < P)
        return mn_error(MN_ERR_SHAPE, "GMP fit: %lld training samples for %d basis columns (need at least as many)",
                        (long long)len, P);
    const int64_t b = span.begin + c->lead, e = span.end + c->lead; /* in the lead's time */
    /* 2048 rows keep a block of [S | Y] (about 4.7 MB at U 128, n_rx 16) near the caches. */
    const int block = len < 2048 ? (int)len : 2048;
    g->cfg = *c;
    g->ncols = P;
    /* G [P, P] column-major for LAPACK: lower triangle = the Gram matrix (internal order),
     * strict upper triangle = a copy kept for the ridge retries. */
    double complex *G = mn_malloc((size_t)P * P * sizeof *G);
    double complex *H = mn_calloc((size_t)M * U * W, sizeof *H);
    double complex *Sbuf = mn_malloc((size_t)(block + M - 1) * W * sizeof *Sbuf);
    double complex *edge = mn_malloc((size_t)2 * M * U * sizeof *edge);
    double complex *R = mn_malloc((size_t)P * nrx * sizeof *R), *X = mn_malloc((size_t)P * nrx * sizeof *X);
    double *d = mn_malloc((size_t)P * sizeof *d), *gdiag = mn_malloc((size_t)P * sizeof *gdiag);
    g->coef = mn_malloc((size_t)nrx * P * sizeof *g->coef);
    if (!G || !H || !Sbuf || !edge || !R || !X || !d || !gdiag || !g->coef) {
        st = mn_error(MN_ERR_NOMEM, "GMP fit: Gram matrix of %d columns", P);
        goto done;
    }
#ifdef MN_HAVE_CBLAS
    openblas_set_num_threads(1);
#endif
    accumulate(H, Sbuf, block, c, tx, rx, n, b, e);

    /* Edge rows: head[r] = S[b - r], tail[r] = S[e - r] for r = 1 .. M-1 (index r). */
    double complex *head = edge, *tail = edge + (size_t)M * U;
    for (int r = 1; r < M; r++) {
        base_row(head + (size_t)r * U, c, tx, n, b - r);
        base_row(tail + (size_t)r * U, c, tx, n, e - r);
    }
    /* Lower block triangle of G, column-major: element (i, j) at G[j * P + i].  Block diagonal
     * delta = m' - m >= 0 (block row m + delta, block column m), walked down from G(delta, 0). */
    for (int dl = 0; dl < M; dl++) {
        for (int m = 0; m + dl < M; m++) {
            const int bi = m + dl, bj = m; /* block (row bi, column bj) */
            for (int v = 0; v < U; v++) {
                double complex *col = G + ((size_t)bj * U + v) * P + (size_t)bi * U;
                if (m == 0) {
                    for (int u = 0; u < U; u++) col[u] = H[((size_t)dl * U + u) * W + v];
                } else {
                    /* G(bi, bj) = G(bi-1, bj-1) + conj(S[b-bi]) S[b-bj]^T - conj(S[e-bi]) S[e-bj]^T */
                    const double complex *prev = G + ((size_t)(bj - 1) * U + v) * P + (size_t)(bi - 1) * U;
                    const double complex hv = head[(size_t)bj * U + v], tv = tail[(size_t)bj * U + v];
                    const double complex *hu = head + (size_t)bi * U, *tu = tail + (size_t)bi * U;
                    for (int u = 0; u < U; u++) col[u] = prev[u] + conj(hu[u]) * hv - conj(tu[u]) * tv;
                }
            }
        }
    }
    /* Right-hand sides, column-major [P, nrx]: R[q * P + i] = (Phi^H Y)[i, q]. */
    for (int i = 0; i < P; i++)
        for (int q = 0; q < nrx; q++) R[(size_t)q * P + i] = H[(size_t)i * W + U + q];

    /* Unit-norm columns: G' = D^-1 G D^-1, R' = D^-1 R, with d_i = sqrt(G_ii). */
    for (int i = 0; i < P; i++) {
        double gi = creal(G[(size_t)i * P + i]);
        d[i] = gi > 0 ? sqrt(gi) : 1.0;
    }
    for (int j = 0; j < P; j++) {
        double complex *col = G + (size_t)j * P;
        for (int i = j; i < P; i++) {
            col[i] /= d[i] * d[j];
            G[(size_t)i * P + j] = col[i]; /* the copy, at (j, i) */
        }
        gdiag[j] = creal(col[j]);
    }
    for (int q = 0; q < nrx; q++)
        for (int i = 0; i < P; i++) R[(size_t)q * P + i] /= d[i];
    /* Ridge on the unit diagonal; if Cholesky still fails, raise lambda tenfold and retry. */
    double lambda = c->ridge > 0 ? c->ridge : 1e-7;
    lapack_int info = 1;
    for (int attempt = 0; attempt < 8 && info != 0; attempt++, lambda *= 10) {
        if (attempt > 0) /* restore the lower triangle from the copy */
            for (int j = 0; j < P; j++)
                for (int i = j + 1; i < P; i++) G[(size_t)j * P + i] = G[(size_t)i * P + j];
        for (int i = 0; i < P; i++) G[(size_t)i * P + i] = gdiag[i] + lambda;
        memcpy(X, R, (size_t)P * nrx * sizeof *X);
        info = LAPACKE_zposv(LAPACK_COL_MAJOR, 'L', P, nrx, (lapack_complex_double *)G, P,
                             (lapack_complex_double *)X, P);
    }
    if (info != 0) st = mn_error(MN_ERR_NUMERIC, "GMP fit: the normal equations stay singular (LAPACK info %d)", (int)info);
    else
        /* Internal column (m, a, j) -> public column (a, m, j). */
        for (int q = 0; q < nrx; q++)
            for (int m = 0; m < M; m++)
                for (int a = 0; a < c->n_tx; a++)
                    for (int j = 0; j < T; j++) {
                        const int i = (m * c->n_tx + a) * T + j;
                        g->coef[(size_t)q * P + ((size_t)a * M + m) * T + j] = X[(size_t)q * P + i] / d[i];
                    }
done:
    mn_free(G);
    mn_free(H);
    mn_free(Sbuf);
    mn_free(edge);
    mn_free(R);
    mn_free(X);
    mn_free(d);
    mn_free(gdiag);
    if (st != MN_OK) mn_pim_gmp_free(g);
    return st;
#endif
}

/* Prediction, by the shift structure of the fit: the output of sample i is
 *
 *     y[i] = sum over taps m of S[i + lead - m] C_m ,
 *
 * with S[t] the base row of time t (U = n_tx * terms values, base_row) and C_m [U, n_rx] the
 * coefficients of tap m.  Per block of R outputs (gmp_rows) the base rows of the block and its
 * taps - 1 samples of reach are formed once, then each tap is one GEMM of R of them with
 * C_m, accumulated.  Every GEMM of a model has the same shape (a short last block still runs
 * all its rows, zeros past the signal), so each sample's sums run through the same kernels in the
 * same order wherever its block starts: a stream's blocks give the whole signal's bits. */
/* Outputs per block: 128, or 1024 for small products (a 1 x 1 PA model: U 14, one Rx), where
 * each BLAS call costs more than its arithmetic and its buffer lock serializes the threads. */
static int gmp_rows(const mn_pim_gmp *g)
{
    return (size_t)g->cfg.n_tx * terms_per_tap(&g->cfg) * g->cfg.n_rx >= 64 ? 128 : 1024;
}

/* Workspace (complex doubles): the coefficients by tap [taps, U, n_rx], then per thread the
 * base rows of a block [rows + taps - 1, U] and its outputs [rows, n_rx]. */
static size_t ws_thread(const mn_pim_gmp *g)
{
    const size_t U = (size_t)g->cfg.n_tx * terms_per_tap(&g->cfg), R = (size_t)gmp_rows(g);
    return (R + (size_t)taps(&g->cfg) - 1) * U + R * g->cfg.n_rx;
}

size_t pim_gmp_predict_ws(const mn_pim_gmp *g, int nth)
{
    return (size_t)g->ncols * g->cfg.n_rx + (size_t)nth * ws_thread(g);
}

mn_status mn_pim_gmp_predict(mn_pim_gmp *g, float complex *out, const float complex *tx, int64_t n)
{
    if (!g->coef) return mn_error(MN_ERR_INVALID, "GMP predict: model not fitted");
    /* Allocated before the parallel region. */
    const int nth = mn_threads_get();
    double complex *ws = mn_malloc(pim_gmp_predict_ws(g, nth) * sizeof *ws);
    if (!ws) return mn_error(MN_ERR_NOMEM, "GMP predict: workspace for %d threads", nth);
    mn_status st = pim_gmp_predict_rows(g, out, tx, n, ws, nth);
    mn_free(ws);
    return st;
}

mn_status pim_gmp_predict_rows(mn_pim_gmp *g, float complex *out, const float complex *tx, int64_t n,
                               double complex *ws, int nth)
{
    const mn_pim_gmp_cfg *c = &g->cfg;
    const int nrx = c->n_rx, T = terms_per_tap(c), U = c->n_tx * T, NT = taps(c), D = c->lead, R = gmp_rows(g);
    if (!g->coef) return mn_error(MN_ERR_INVALID, "GMP predict: model not fitted");
    if (nth > mn_threads_get()) nth = mn_threads_get();
    /* C_m[u = a T + j][q] = coef[q][(a NT + m) T + j] */
    double complex *C = ws;
    for (int m = 0; m < NT; m++)
        for (int a = 0; a < c->n_tx; a++)
            for (int j = 0; j < T; j++)
                for (int q = 0; q < nrx; q++)
                    C[((size_t)m * U + (size_t)a * T + j) * nrx + q] = g->coef[(size_t)q * g->ncols + ((size_t)a * NT + m) * T + j];
    const int64_t nblk = (n + R - 1) / R;
#ifdef MN_HAVE_CBLAS
    openblas_set_num_threads(1); /* one single-threaded GEMM per OpenMP thread, as in the fit */
#endif
OMP(parallel num_threads(nth))
    {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        double complex *S = ws + (size_t)g->ncols * nrx + (size_t)tid * ws_thread(g);
        double complex *res = S + ((size_t)R + NT - 1) * U;
OMP(for schedule(static))
        for (int64_t blk = 0; blk < nblk; blk++) {
            const int64_t i0 = blk * R, t0 = i0 + D - (NT - 1);
            const int m_out = n - i0 < R ? (int)(n - i0) : R;
            /* S row k is time t0 + k (zeros outside the signal) */
            for (int k = 0; k < R + NT - 1; k++) base_row(S + (size_t)k * U, c, tx, n, t0 + k);
            /* res [R, nrx] = sum_m S[rows NT-1-m ...] C_m: outputs i0 + r use S[i0 + r + D - m] */
            for (int m = 0; m < NT; m++) {
                const double complex *A = S + (size_t)(NT - 1 - m) * U, *B = C + (size_t)m * U * nrx;
#ifdef MN_HAVE_CBLAS
                const double complex one = 1, beta = m ? 1 : 0;
                cblas_zgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, R, nrx, U, &one, A, U, B, nrx, &beta, res, nrx);
#else
                for (int r = 0; r < R; r++)
                    for (int q = 0; q < nrx; q++) {
                        double complex acc = m ? res[(size_t)r * nrx + q] : 0;
                        for (int u = 0; u < U; u++) acc += A[(size_t)r * U + u] * B[(size_t)u * nrx + q];
                        res[(size_t)r * nrx + q] = acc;
                    }
#endif
            }
            for (int q = 0; q < nrx; q++)
                for (int k = 0; k < m_out; k++) out[(int64_t)q * n + i0 + k] = (float complex)res[(size_t)k * nrx + q];
        }
    }
    return MN_OK;
}

/* ---------------------------------------------------------------- files
 * A GMP file holds "coef.hi" and "coef.lo" [n_rx, ncols, 2] and the basis as JSON in the
 * metadata ("mimonet.basis"); a neural model with a GMP base holds the same under "base."
 * and "mimonet.base" (pim/net.c). */

int pim_gmp_basis_json(const mn_pim_gmp_cfg *c, char *buf, size_t n)
{
    return snprintf(buf, n,
                    "{\"n_tx\":%d,\"n_rx\":%d,\"M\":%d,\"K\":%d,\"L\":%d,\"P\":%d,\"lead\":%d,\"linear\":%s,"
                    "\"ridge\":%.17g}",
                    c->n_tx, c->n_rx, c->M, c->K, c->L, c->P, c->lead, c->linear ? "true" : "false", c->ridge);
}

mn_status pim_gmp_cfg_from_json(mn_pim_gmp_cfg *out, const char *json)
{
    cJSON *b = json ? cJSON_Parse(json) : NULL;
    if (!b) return mn_error(MN_ERR_FORMAT, "GMP basis: not JSON");
    mn_pim_gmp_cfg c = {0};
    const char *keys[6] = {"n_tx", "n_rx", "M", "K", "L", "P"};
    int *dst[6] = {&c.n_tx, &c.n_rx, &c.M, &c.K, &c.L, &c.P};
    for (int i = 0; i < 6; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(b, keys[i]);
        *dst[i] = cJSON_IsNumber(v) ? v->valueint : -1;
    }
    /* Files written before the lead existed have none: a causal basis. */
    const cJSON *lj = cJSON_GetObjectItemCaseSensitive(b, "lead");
    c.lead = !lj ? 0 : cJSON_IsNumber(lj) ? lj->valueint : -1;
    c.linear = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b, "linear"));
    const cJSON *rj = cJSON_GetObjectItemCaseSensitive(b, "ridge");
    c.ridge = cJSON_IsNumber(rj) ? rj->valuedouble : 0;
    cJSON_Delete(b);
    mn_status st = check_cfg(&c);
    if (st == MN_OK) *out = c;
    return st;
}

void pim_gmp_coef_to_f32(const mn_pim_gmp *g, float *hi, float *lo)
{
    for (size_t i = 0; i < (size_t)g->cfg.n_rx * g->ncols; i++) {
        double re = creal(g->coef[i]), im = cimag(g->coef[i]);
        hi[2 * i] = (float)re;
        hi[2 * i + 1] = (float)im;
        lo[2 * i] = (float)(re - (double)hi[2 * i]);
        lo[2 * i + 1] = (float)(im - (double)hi[2 * i + 1]);
    }
}

mn_status pim_gmp_coef_from_f32(mn_pim_gmp *g, const mn_pim_gmp_cfg *c, const float *hi, const float *lo)
{
    g->cfg = *c;
    g->ncols = mn_pim_gmp_columns(c);
    g->coef = mn_malloc((size_t)c->n_rx * g->ncols * sizeof *g->coef);
    if (!g->coef) return mn_error(MN_ERR_NOMEM, "GMP coefficients");
    for (size_t i = 0; i < (size_t)c->n_rx * g->ncols; i++)
        g->coef[i] = CMPLX((double)hi[2 * i] + (double)lo[2 * i], (double)hi[2 * i + 1] + (double)lo[2 * i + 1]);
    return MN_OK;
}

mn_status pim_gmp_copy(mn_pim_gmp *dst, const mn_pim_gmp *src)
{
    memset(dst, 0, sizeof *dst);
    if (!src->coef) return mn_error(MN_ERR_INVALID, "GMP: model not fitted");
    const size_t n = (size_t)src->cfg.n_rx * src->ncols;
    dst->coef = mn_malloc(n * sizeof *dst->coef);
    if (!dst->coef) return mn_error(MN_ERR_NOMEM, "GMP coefficients");
    memcpy(dst->coef, src->coef, n * sizeof *dst->coef);
    dst->cfg = src->cfg;
    dst->ncols = src->ncols;
    return MN_OK;
}

static const char *meta_str(const cJSON *m, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

mn_status mn_pim_gmp_save(const mn_pim_gmp *g, const char *path)
{
    const mn_pim_gmp_cfg *c = &g->cfg;
    mn_params p;
    mn_params_init_table(&p);
    int64_t shape[3] = {c->n_rx, g->ncols, 2};
    int ih = mn_params_add(&p, "coef.hi", 3, shape, MN_INIT_ZEROS, 0, 1, false);
    int il = mn_params_add(&p, "coef.lo", 3, shape, MN_INIT_ZEROS, 0, 1, false);
    mn_status st = ih < 0 || il < 0 ? (mn_status)-(ih < 0 ? ih : il) : mn_params_alloc(&p);
    if (st != MN_OK) {
        mn_params_free(&p);
        return st;
    }
    pim_gmp_coef_to_f32(g, mn_params_w(&p, ih), mn_params_w(&p, il));
    char cfg[256];
    pim_gmp_basis_json(c, cfg, sizeof cfg);
    const char *k[3] = {"mimonet.format", "mimonet.version", "mimonet.basis"};
    const char *v[3] = {"pim-gmp", MN_VERSION_STRING, cfg};
    st = mn_safetensors_save(path, &p, k, v, 3);
    mn_params_free(&p);
    return st;
}

mn_status mn_pim_gmp_load(mn_pim_gmp *g, const char *path)
{
    memset(g, 0, sizeof *g);
    char *meta_txt = NULL;
    mn_status st = mn_safetensors_read_meta(path, &meta_txt);
    if (st != MN_OK) return st;
    cJSON *meta = meta_txt ? cJSON_Parse(meta_txt) : NULL;
    mn_free(meta_txt);
    const char *fmt = meta_str(meta, "mimonet.format"), *basis = meta_str(meta, "mimonet.basis");
    mn_pim_gmp_cfg c;
    if (!fmt || !basis) st = mn_error(MN_ERR_FORMAT, "%s: not a mimonet GMP/FIR model (metadata mimonet.basis missing)", path);
    else if ((st = pim_gmp_cfg_from_json(&c, basis)) != MN_OK) st = mn_error(st, "%s: %s", path, mn_error_msg());
    cJSON_Delete(meta);
    if (st != MN_OK) return st;
    mn_params p;
    mn_params_init_table(&p);
    int64_t shape[3] = {c.n_rx, mn_pim_gmp_columns(&c), 2};
    int ih = mn_params_add(&p, "coef.hi", 3, shape, MN_INIT_ZEROS, 0, 1, false);
    int il = mn_params_add(&p, "coef.lo", 3, shape, MN_INIT_ZEROS, 0, 1, false);
    st = ih < 0 || il < 0 ? MN_ERR_NOMEM : mn_params_alloc(&p);
    if (st == MN_OK) st = mn_safetensors_load(&p, path, NULL);
    if (st == MN_OK) st = pim_gmp_coef_from_f32(g, &c, mn_params_w(&p, ih), mn_params_w(&p, il));
    mn_params_free(&p);
    if (st != MN_OK) mn_pim_gmp_free(g);
    return st;
}

void mn_pim_gmp_free(mn_pim_gmp *g)
{
    mn_free(g->coef);
    g->coef = NULL;
}
