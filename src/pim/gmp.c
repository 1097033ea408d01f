/* pim/gmp.c — classical PIM cancellers: linear FIR and generalized memory polynomials (Morgan
 * et al., "A generalized memory polynomial model for digital predistortion of RF power
 * amplifiers", IEEE TSP 2006) extended with neighbouring-antenna cross terms, fitted by ridge
 * least squares on unit-normalized columns.  See pim.h for the basis. */
#include "mimonet/io.h"
#include "mimonet/pim.h"

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

int mn_pim_gmp_columns(const mn_pim_gmp_cfg *c) { return c->n_tx * c->M * terms_per_tap(c); }

long mn_pim_gmp_macs_per_sample(const mn_pim_gmp_cfg *c)
{
    /* 4 real MACs per complex coefficient and Rx, plus ~2 per basis column to form it. */
    long cols = mn_pim_gmp_columns(c);
    return 4L * cols * c->n_rx + 2L * cols;
}

static mn_status check_cfg(const mn_pim_gmp_cfg *c)
{
    if (c->n_tx < 1 || c->n_rx < 1 || c->M < 1 || c->K < 0 || c->L < 0 || c->P < 0 || (c->P > 0 && c->P >= c->n_tx) ||
        terms_per_tap(c) < 1 || !(c->ridge >= 0))
        return mn_error(MN_ERR_INVALID,
                        "GMP basis: n_tx %d, n_rx %d, M %d, K %d, L %d, P %d (need M >= 1, K, L >= 0, "
                        "0 <= P < n_tx, at least one term)",
                        c->n_tx, c->n_rx, c->M, c->K, c->L, c->P);
    if (mn_pim_gmp_columns(c) > 20000) return mn_error(MN_ERR_INVALID, "GMP basis: %d columns is too many", mn_pim_gmp_columns(c));
    return MN_OK;
}

static inline double complex tap(const float complex *tx, int64_t n, int a, int64_t i)
{
    return i >= 0 ? (double complex)tx[(int64_t)a * n + i] : 0;
}

static inline double mag2(double complex z) { return creal(z) * creal(z) + cimag(z) * cimag(z); }

/* The basis row of sample i (see pim.h for the column order). */
static void basis_row(double complex *row, const mn_pim_gmp_cfg *c, const float complex *tx, int64_t n, int64_t i)
{
    int col = 0;
    for (int a = 0; a < c->n_tx; a++)
        for (int m = 0; m < c->M; m++) {
            double complex u = tap(tx, n, a, i - m);
            double p = mag2(u), pk = 1;
            if (c->linear) row[col++] = u;
            for (int k = 1; k <= c->K; k++) {
                pk *= p;
                row[col++] = u * pk;
            }
            for (int l = 1; l <= c->L; l++) row[col++] = u * mag2(tap(tx, n, a, i - m - l));
            for (int q = 1; q <= c->P; q++) row[col++] = u * mag2(tap(tx, n, (a + q) % c->n_tx, i - m));
        }
}

/* G += B^H B and R += B^H Y for a block of `rows` basis rows B [rows, P] and targets Y [rows, n_rx]. */
static void accumulate(double complex *G, double complex *R, const double complex *B, const double complex *Y, int rows,
                       int P, int nrx)
{
#ifdef MN_HAVE_CBLAS
    const double complex one = 1;
    cblas_zherk(CblasRowMajor, CblasUpper, CblasConjTrans, P, rows, 1.0, B, P, 1.0, G, P);
    cblas_zgemm(CblasRowMajor, CblasConjTrans, CblasNoTrans, P, nrx, rows, &one, B, P, Y, nrx, &one, R, nrx);
#else
    for (int r = 0; r < rows; r++) {
        const double complex *b = B + (size_t)r * P;
        for (int i = 0; i < P; i++) {
            double complex bi = conj(b[i]);
            for (int j = i; j < P; j++) G[(size_t)i * P + j] += bi * b[j];
            for (int q = 0; q < nrx; q++) R[(size_t)i * nrx + q] += bi * Y[(size_t)r * nrx + q];
        }
    }
#endif
}

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
    const int P = mn_pim_gmp_columns(c), nrx = c->n_rx;
    const int64_t len = span.end - span.begin;
    if (span.begin < 0 || span.end > n || len < P)
        return mn_error(MN_ERR_SHAPE, "GMP fit: %lld training samples for %d basis columns (need at least as many)",
                        (long long)len, P);
    enum { BLOCK = 1024 };
    g->cfg = *c;
    g->ncols = P;
    double complex *G = mn_calloc((size_t)P * P, sizeof *G), *R = mn_calloc((size_t)P * nrx, sizeof *R);
    double complex *B = mn_malloc((size_t)BLOCK * P * sizeof *B), *Y = mn_malloc((size_t)BLOCK * nrx * sizeof *Y);
    double *d = mn_malloc((size_t)P * sizeof *d);
    g->coef = mn_malloc((size_t)nrx * P * sizeof *g->coef);
    if (!G || !R || !B || !Y || !d || !g->coef) {
        st = mn_error(MN_ERR_NOMEM, "GMP fit: Gram matrix of %d columns", P);
        goto done;
    }
    for (int64_t s = span.begin; s < span.end; s += BLOCK) {
        int rows = (int)(span.end - s < BLOCK ? span.end - s : BLOCK);
#pragma omp parallel for schedule(static)
        for (int r = 0; r < rows; r++) {
            basis_row(B + (size_t)r * P, c, tx, n, s + r);
            for (int q = 0; q < nrx; q++) Y[(size_t)r * nrx + q] = rx[(int64_t)q * n + s + r];
        }
        accumulate(G, R, B, Y, rows, P, nrx);
    }
    /* Unit-norm columns: G' = D^-1 G D^-1, R' = D^-1 R, with d_i = sqrt(G_ii). */
    for (int i = 0; i < P; i++) {
        double gi = creal(G[(size_t)i * P + i]);
        d[i] = gi > 0 ? sqrt(gi) : 1.0;
    }
    for (int i = 0; i < P; i++) {
        for (int j = i; j < P; j++) G[(size_t)i * P + j] /= d[i] * d[j];
        for (int q = 0; q < nrx; q++) R[(size_t)i * nrx + q] /= d[i];
    }
    /* Ridge on the unit diagonal; if Cholesky still fails, raise lambda tenfold and retry. */
    double lambda = c->ridge > 0 ? c->ridge : 1e-7;
    double complex *A = mn_malloc((size_t)P * P * sizeof *A), *X = mn_malloc((size_t)P * nrx * sizeof *X);
    if (!A || !X) {
        mn_free(A);
        mn_free(X);
        st = mn_error(MN_ERR_NOMEM, "GMP fit: solve");
        goto done;
    }
    lapack_int info = 1;
    for (int attempt = 0; attempt < 8 && info != 0; attempt++, lambda *= 10) {
        memcpy(A, G, (size_t)P * P * sizeof *A);
        memcpy(X, R, (size_t)P * nrx * sizeof *X);
        for (int i = 0; i < P; i++) A[(size_t)i * P + i] += lambda;
        info = LAPACKE_zposv(LAPACK_ROW_MAJOR, 'U', P, nrx, (lapack_complex_double *)A, P,
                             (lapack_complex_double *)X, nrx);
    }
    if (info != 0) st = mn_error(MN_ERR_NUMERIC, "GMP fit: the normal equations stay singular (LAPACK info %d)", (int)info);
    else
        for (int q = 0; q < nrx; q++)
            for (int i = 0; i < P; i++) g->coef[(size_t)q * P + i] = X[(size_t)i * nrx + q] / d[i];
    mn_free(A);
    mn_free(X);
done:
    mn_free(G);
    mn_free(R);
    mn_free(B);
    mn_free(Y);
    mn_free(d);
    if (st != MN_OK) mn_pim_gmp_free(g);
    return st;
#endif
}

mn_status mn_pim_gmp_predict(mn_pim_gmp *g, float complex *out, const float complex *tx, int64_t n)
{
    const int P = g->ncols, nrx = g->cfg.n_rx;
    if (!g->coef) return mn_error(MN_ERR_INVALID, "GMP predict: model not fitted");
    /* One basis row per thread, allocated before the parallel region. */
    int nth = mn_threads_get();
    double complex *rows = mn_malloc((size_t)nth * P * sizeof *rows);
    if (!rows) return mn_error(MN_ERR_NOMEM, "GMP predict: %d basis rows", nth);
#pragma omp parallel num_threads(nth)
    {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        double complex *row = rows + (size_t)tid * P;
#pragma omp for schedule(static)
        for (int64_t i = 0; i < n; i++) {
            basis_row(row, &g->cfg, tx, n, i);
            for (int q = 0; q < nrx; q++) {
                const double complex *w = g->coef + (size_t)q * P;
                double complex acc = 0;
                for (int k = 0; k < P; k++) acc += w[k] * row[k];
                out[(int64_t)q * n + i] = (float complex)acc;
            }
        }
    }
    mn_free(rows);
    return MN_OK;
}

/* Metadata helpers for the checkpoint. */
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
    float *hi = mn_params_w(&p, ih), *lo = mn_params_w(&p, il);
    for (size_t i = 0; i < (size_t)c->n_rx * g->ncols; i++) {
        double re = creal(g->coef[i]), im = cimag(g->coef[i]);
        hi[2 * i] = (float)re;
        hi[2 * i + 1] = (float)im;
        lo[2 * i] = (float)(re - (double)hi[2 * i]);
        lo[2 * i + 1] = (float)(im - (double)hi[2 * i + 1]);
    }
    char cfg[256];
    snprintf(cfg, sizeof cfg, "{\"n_tx\":%d,\"n_rx\":%d,\"M\":%d,\"K\":%d,\"L\":%d,\"P\":%d,\"linear\":%s,\"ridge\":%.17g}",
             c->n_tx, c->n_rx, c->M, c->K, c->L, c->P, c->linear ? "true" : "false", c->ridge);
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
    cJSON *b = basis ? cJSON_Parse(basis) : NULL;
    cJSON_Delete(meta);
    if (!fmt || !b) {
        cJSON_Delete(b);
        return mn_error(MN_ERR_FORMAT, "%s: not a mimonet GMP/FIR model (metadata mimonet.basis missing)", path);
    }
    mn_pim_gmp_cfg c = {0};
    const char *keys[6] = {"n_tx", "n_rx", "M", "K", "L", "P"};
    int *dst[6] = {&c.n_tx, &c.n_rx, &c.M, &c.K, &c.L, &c.P};
    for (int i = 0; i < 6; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(b, keys[i]);
        *dst[i] = cJSON_IsNumber(v) ? v->valueint : -1;
    }
    c.linear = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b, "linear"));
    const cJSON *rj = cJSON_GetObjectItemCaseSensitive(b, "ridge");
    c.ridge = cJSON_IsNumber(rj) ? rj->valuedouble : 0;
    cJSON_Delete(b);
    st = check_cfg(&c);
    if (st != MN_OK) return mn_error(st, "%s: %s", path, mn_error_msg());
    g->cfg = c;
    g->ncols = mn_pim_gmp_columns(&c);
    mn_params p;
    mn_params_init_table(&p);
    int64_t shape[3] = {c.n_rx, g->ncols, 2};
    int ih = mn_params_add(&p, "coef.hi", 3, shape, MN_INIT_ZEROS, 0, 1, false);
    int il = mn_params_add(&p, "coef.lo", 3, shape, MN_INIT_ZEROS, 0, 1, false);
    st = ih < 0 || il < 0 ? MN_ERR_NOMEM : mn_params_alloc(&p);
    if (st == MN_OK) st = mn_safetensors_load(&p, path, NULL);
    g->coef = st == MN_OK ? mn_malloc((size_t)c.n_rx * g->ncols * sizeof *g->coef) : NULL;
    if (st == MN_OK && !g->coef) st = mn_error(MN_ERR_NOMEM, "%s: GMP coefficients", path);
    if (st == MN_OK) {
        const float *hi = mn_params_w(&p, ih), *lo = mn_params_w(&p, il);
        for (size_t i = 0; i < (size_t)c.n_rx * g->ncols; i++)
            g->coef[i] = CMPLX((double)hi[2 * i] + (double)lo[2 * i], (double)hi[2 * i + 1] + (double)lo[2 * i + 1]);
    }
    mn_params_free(&p);
    if (st != MN_OK) mn_pim_gmp_free(g);
    return st;
}

void mn_pim_gmp_free(mn_pim_gmp *g)
{
    mn_free(g->coef);
    g->coef = NULL;
}
