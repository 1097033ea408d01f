/* src/csi/codebook.c — 3GPP NR Type I single-panel and Type II (Rel-15) PMI feedback, rank 1,
 * as baselines for learned CSI feedback: payload bit counts per TS 38.214 5.2.2.2.1 / 5.2.2.2.3
 * and TS 38.212 6.3.1.1.2 / 6.3.2.1.2, PMI selection at the UE from a noisy DL channel
 * estimate, and ZF across users at the BS on the reported vectors.
 *
 * DFT beams (38.214 5.2.2.2.1): u_m[iv] = exp(j 2 pi m iv / (O2 N2)),
 * v_l,m[ih N2 + iv] = exp(j 2 pi l ih / (O1 N1)) u_m[iv], here scaled to unit norm.
 *
 * Single-polarization simplification (this module's arrays are single-polarized): Type I keeps
 * the beam index i1 = (i1,1, i1,2) and drops the co-phasing i2; Type II combines L beams of one
 * polarization (L coefficients instead of 2L).  The bit-count functions give both the spec's
 * dual-polarized count (n_pol = 2) and this module's (n_pol = 1). */
#include "csi_internal.h"

#include <string.h>

static int clog2(uint64_t x) /* ceil(log2 x), x >= 1 */
{
    int b = 0;
    while (((uint64_t)1 << b) < x) b++;
    return b;
}

static uint64_t binom(int n, int k)
{
    if (k < 0 || k > n) return 0;
    uint64_t r = 1;
    for (int i = 1; i <= k; i++) r = r * (uint64_t)(n - k + i) / (uint64_t)i; /* exact */
    return r;
}

static mn_status check_grid(const char *fn, int n1, int n2, int o1, int o2)
{
    if (n1 < 1 || n2 < 1 || o1 < 1 || o2 < 1 || n1 * n2 > 4096 || o1 > 64 || o2 > 64)
        return mn_error(MN_ERR_INVALID, "%s: N1 = %d, N2 = %d, O1 = %d, O2 = %d (need >= 1)", fn, n1, n2, o1, o2);
    return MN_OK;
}

int mn_csi_type1_bits(const mn_csi_type1_cfg *c, int n_pol, int n_i2)
{
    if (!c) return mn_error(MN_ERR_INVALID, "mn_csi_type1_bits: NULL cfg"), -1;
    if (check_grid("mn_csi_type1_bits", c->n1, c->n2, c->o1, c->o2) != MN_OK) return -1;
    if (n_pol != 1 && n_pol != 2)
        return mn_error(MN_ERR_INVALID, "mn_csi_type1_bits: n_pol = %d (1 or 2)", n_pol), -1;
    if (n_i2 < 1) return mn_error(MN_ERR_INVALID, "mn_csi_type1_bits: n_i2 = %d (need >= 1)", n_i2), -1;
    int n1o1 = c->n1 * c->o1, n2o2 = c->n2 * c->o2;
    if (c->mode == 1) /* Table 5.2.2.2.1-5, codebookMode = 1: i1,1 < N1O1, i1,2 < N2O2, i2 < 4 */
        return clog2((uint64_t)n1o1) + clog2((uint64_t)n2o2) + n_i2 * (n_pol == 2 ? 2 : 0);
    if (c->mode == 2) { /* codebookMode = 2: i1,1 < N1O1/2, i1,2 < N2O2/2 (0 if N2 = 1), i2 < 16 */
        if (n1o1 % 2 || (c->n2 > 1 && n2o2 % 2))
            return mn_error(MN_ERR_INVALID, "mn_csi_type1_bits: mode 2 needs even N1 O1 and N2 O2"), -1;
        int b = clog2((uint64_t)(n1o1 / 2)) + (c->n2 > 1 ? clog2((uint64_t)(n2o2 / 2)) : 0);
        return b + n_i2 * (n_pol == 2 ? 4 : 2);
    }
    return mn_error(MN_ERR_INVALID, "mn_csi_type1_bits: mode = %d (1 or 2)", c->mode), -1;
}

static int k2_of(int L) { return L == 4 ? 6 : 4; } /* K^(2) of 38.214 Table 5.2.2.2.3-4 */

int mn_csi_type2_bits(const mn_csi_type2_cfg *c, int n_pol, int n_subbands, int n_nz)
{
    if (!c) return mn_error(MN_ERR_INVALID, "mn_csi_type2_bits: NULL cfg"), -1;
    if (check_grid("mn_csi_type2_bits", c->n1, c->n2, c->o1, c->o2) != MN_OK) return -1;
    if (c->L < 2 || c->L > 4 || c->L > c->n1 * c->n2)
        return mn_error(MN_ERR_INVALID, "mn_csi_type2_bits: L = %d (2..4, <= N1 N2 = %d)", c->L, c->n1 * c->n2), -1;
    if (c->n_psk != 4 && c->n_psk != 8)
        return mn_error(MN_ERR_INVALID, "mn_csi_type2_bits: n_psk = %d (4 or 8)", c->n_psk), -1;
    if (n_pol != 1 && n_pol != 2)
        return mn_error(MN_ERR_INVALID, "mn_csi_type2_bits: n_pol = %d (1 or 2)", n_pol), -1;
    int C = n_pol * c->L;
    if (n_subbands < 1 || n_nz < 1 || n_nz > C)
        return mn_error(MN_ERR_INVALID, "mn_csi_type2_bits: n_subbands = %d, n_nz = %d (1..%d)", n_subbands, n_nz, C), -1;
    int bits = clog2((uint64_t)C);                                     /* part 1: n_nz indicator */
    bits += clog2((uint64_t)c->o1 * (uint64_t)c->o2);                  /* i1,1 */
    bits += clog2(binom(c->n1 * c->n2, c->L));                         /* i1,2 */
    bits += clog2((uint64_t)C);                                        /* i1,3 */
    bits += 3 * (C - 1);                                               /* i1,4 */
    int lp = c->n_psk == 8 ? 3 : 2, sb;
    if (!c->sb_amp) {
        sb = (n_nz - 1) * lp;                                          /* i2,1 */
    } else {
        int k2 = n_nz < k2_of(c->L) ? n_nz : k2_of(c->L);
        sb = (k2 - 1) * lp + (n_nz - k2) * 2 + (k2 - 1);               /* i2,1 + i2,2 */
    }
    return bits + n_subbands * sb;
}

/* Wideband power of every oversampled DFT beam: pw[l * N2O2 + m] = sum_f |g_f v_l,m|^2. */
static void beam_powers(double *pw, const float complex *Gh, int F, int n1, int n2, int o1, int o2,
                        double complex *eh, double complex *ev)
{
    const int n1o1 = n1 * o1, n2o2 = n2 * o2, M = n1 * n2;
    const double sc = 1.0 / M;
    for (int l = 0; l < n1o1; l++) {
        for (int ih = 0; ih < n1; ih++) eh[ih] = csi_expj(2.0 * M_PI * l * ih / n1o1);
        for (int m = 0; m < n2o2; m++) {
            for (int iv = 0; iv < n2; iv++) ev[iv] = csi_expj(2.0 * M_PI * m * iv / n2o2);
            double p = 0;
            for (int f = 0; f < F; f++) {
                double complex s = 0;
                for (int ih = 0; ih < n1; ih++) {
                    double complex t = 0;
                    for (int iv = 0; iv < n2; iv++) t += csi_c2d(Gh[(size_t)(ih * n2 + iv) * F + f]) * ev[iv];
                    s += t * eh[ih];
                }
                p += csi_abs2(s) * sc;
            }
            pw[l * n2o2 + m] = p;
        }
    }
}

static void dft_beam(double complex *v, int l, int m, int n1, int n2, int o1, int o2)
{
    double sc = 1.0 / sqrt((double)n1 * n2);
    for (int ih = 0; ih < n1; ih++)
        for (int iv = 0; iv < n2; iv++)
            v[ih * n2 + iv] = sc * csi_expj(2.0 * M_PI * ((double)l * ih / (n1 * o1) + (double)m * iv / (n2 * o2)));
}

mn_status mn_csi_type1_select(int *i11, int *i12, float complex *w, const float complex *Ghat,
                              int M, int F, const mn_csi_type1_cfg *c)
{
    if (!c || !Ghat || !w) return mn_error(MN_ERR_INVALID, "mn_csi_type1_select: NULL argument");
    mn_status st = check_grid("mn_csi_type1_select", c->n1, c->n2, c->o1, c->o2);
    if (st != MN_OK) return st;
    if (c->n1 * c->n2 != M || F < 1)
        return mn_error(MN_ERR_INVALID, "mn_csi_type1_select: N1 N2 = %d != M = %d (or F = %d < 1)", c->n1 * c->n2, M, F);
    const int nb = c->n1 * c->o1 * c->n2 * c->o2;
    double *pw = mn_malloc(sizeof(double) * (size_t)nb);
    double complex *v = mn_malloc(sizeof(double complex) * ((size_t)M + (size_t)c->n1 + (size_t)c->n2));
    if (!pw || !v) {
        mn_free(pw);
        mn_free(v);
        return mn_error(MN_ERR_NOMEM, "mn_csi_type1_select: out of memory");
    }
    beam_powers(pw, Ghat, F, c->n1, c->n2, c->o1, c->o2, v + M, v + M + c->n1);
    int best = 0;
    for (int b = 1; b < nb; b++)
        if (pw[b] > pw[best]) best = b;
    int l = best / (c->n2 * c->o2), m = best % (c->n2 * c->o2);
    dft_beam(v, l, m, c->n1, c->n2, c->o1, c->o2);
    for (int s = 0; s < M; s++) w[s] = csi_d2c(v[s]);
    if (i11) *i11 = l;
    if (i12) *i12 = m;
    mn_free(pw);
    mn_free(v);
    return MN_OK;
}

/* (Regularized) ZF over reported unit vectors Wr[K][M][F] (g_k ~ w_k^H), normalized to P, into
 * W: W = Ghat^H (Ghat Ghat^H + reg I)^-1. */
static mn_status zf_on_reports(float complex *W, const float complex *Wr, int K, int M, int F,
                               double P, double reg, const char *fn)
{
    size_t km = (size_t)K * M;
    double complex *buf = mn_malloc(sizeof(double complex) * (2 * km + 2 * (size_t)K * K));
    if (!buf) return mn_error(MN_ERR_NOMEM, "%s: out of memory", fn);
    double complex *g = buf, *wd = buf + km, *ws = wd + km;
    mn_status st = MN_OK;
    for (int f = 0; f < F; f++) {
        csi_gather_rows(g, Wr, K, M, F, f);
        for (size_t i = 0; i < km; i++) g[i] = conj(g[i]);
        if (csi_rzf_one(wd, g, K, M, reg, ws) != 0) {
            st = mn_error(MN_ERR_NUMERIC, "%s: reported vectors are linearly dependent on subcarrier %d "
                          "(two users reported the same codeword? use reg > 0)", fn, f);
            break;
        }
        csi_normalize_one(wd, M, K, P);
        csi_scatter_cols(W, wd, K, M, F, f);
    }
    mn_free(buf);
    return st;
}

mn_status mn_csi_fb_type1(float complex *W, int *bits, const float complex *Ghat, int K, int M,
                          int F, double P, double reg, const mn_csi_type1_cfg *c)
{
    mn_status st = csi_check_dims("mn_csi_fb_type1", W, Ghat, K, M, F, P);
    if (st != MN_OK) return st;
    if (!(reg >= 0) || !isfinite(reg)) return mn_error(MN_ERR_INVALID, "mn_csi_fb_type1: reg = %g must be >= 0", reg);
    if (!c) return mn_error(MN_ERR_INVALID, "mn_csi_fb_type1: NULL cfg");
    int b = mn_csi_type1_bits(&(mn_csi_type1_cfg){c->n1, c->n2, c->o1, c->o2, 1}, 1, 1);
    if (b < 0) return MN_ERR_INVALID;
    float complex *Wr = mn_malloc(sizeof(float complex) * (size_t)K * M * F);
    float complex *w = mn_malloc(sizeof(float complex) * (size_t)M);
    if (!Wr || !w) {
        mn_free(Wr);
        mn_free(w);
        return mn_error(MN_ERR_NOMEM, "mn_csi_fb_type1: out of memory");
    }
    for (int k = 0; k < K && st == MN_OK; k++) {
        st = mn_csi_type1_select(NULL, NULL, w, Ghat + (size_t)k * M * F, M, F, c);
        for (int m = 0; m < M; m++)
            for (int f = 0; f < F; f++) Wr[((size_t)k * M + m) * F + f] = w[m];
        if (bits) bits[k] = b;
    }
    if (st == MN_OK) st = zf_on_reports(W, Wr, K, M, F, P, reg, "mn_csi_fb_type1");
    mn_free(Wr);
    mn_free(w);
    return st;
}

mn_status mn_csi_type2_select(float complex *w, int *bits, const float complex *Ghat, int M, int F,
                              const mn_csi_type2_cfg *c)
{
    if (!c || !Ghat || !w) return mn_error(MN_ERR_INVALID, "mn_csi_type2_select: NULL argument");
    if (mn_csi_type2_bits(c, 1, 1, 1) < 0) return MN_ERR_INVALID;
    if (c->n1 * c->n2 != M || F < 1 || c->sb_size < 1)
        return mn_error(MN_ERR_INVALID, "mn_csi_type2_select: N1 N2 = %d != M = %d, or F = %d, sb_size = %d < 1",
                        c->n1 * c->n2, M, F, c->sb_size);
    const int n1 = c->n1, n2 = c->n2, o1 = c->o1, o2 = c->o2, L = c->L;
    const int n2o2 = n2 * o2, nb = n1 * o1 * n2o2, nsb = (F + c->sb_size - 1) / c->sb_size;
    enum { LM = 4 };
    double *pw = mn_malloc(sizeof(double) * ((size_t)nb + (size_t)nsb * LM));
    double complex *B = mn_malloc(sizeof(double complex) * ((size_t)M * LM + (size_t)n1 + (size_t)n2 +
                                                            (size_t)F * LM + (size_t)nsb * LM + (size_t)M));
    if (!pw || !B) {
        mn_free(pw);
        mn_free(B);
        return mn_error(MN_ERR_NOMEM, "mn_csi_type2_select: out of memory");
    }
    double complex *eh = B + (size_t)M * LM, *ev = eh + n1, *z = ev + n2, *cs = z + (size_t)F * LM,
                   *wv = cs + (size_t)nsb * LM;
    beam_powers(pw, Ghat, F, n1, n2, o1, o2, eh, ev);
    /* i1,1 and i1,2: the rotation (q1, q2) whose L strongest orthogonal beams carry the most
     * wideband power; beams of a rotation: l = O1 a + q1, m = O2 b + q2. */
    int sel[LM] = {0}, best_sel[LM] = {0};
    double best = -1;
    for (int q1 = 0; q1 < o1; q1++)
        for (int q2 = 0; q2 < o2; q2++) {
            double tot = 0;
            uint32_t used[4096 / 32];
            memset(used, 0, sizeof used);
            for (int i = 0; i < L; i++) { /* L strongest of the N1 N2 beams, by selection */
                int arg = -1;
                double bp = -1;
                for (int a = 0; a < n1; a++)
                    for (int b = 0; b < n2; b++) {
                        int idx = a * n2 + b;
                        if (used[idx >> 5] & (1u << (idx & 31))) continue;
                        double p = pw[(o1 * a + q1) * n2o2 + (o2 * b + q2)];
                        if (p > bp) {
                            bp = p;
                            arg = idx;
                        }
                    }
                used[arg >> 5] |= 1u << (arg & 31);
                sel[i] = (o1 * (arg / n2) + q1) * n2o2 + (o2 * (arg % n2) + q2);
                tot += bp;
            }
            if (tot > best) {
                best = tot;
                memcpy(best_sel, sel, sizeof sel);
            }
        }
    for (int i = 0; i < L; i++) dft_beam(B + (size_t)i * M, best_sel[i] / n2o2, best_sel[i] % n2o2, n1, n2, o1, o2);
    /* z_f = g_f B; per subband the dominant eigenvector c_s of sum_f z_f^H z_f */
    for (int f = 0; f < F; f++)
        for (int i = 0; i < L; i++) {
            double complex s = 0;
            for (int m = 0; m < M; m++) s += csi_c2d(Ghat[(size_t)m * F + f]) * B[(size_t)i * M + m];
            z[(size_t)f * LM + i] = s;
        }
    double complex Rs[LM * LM], ews[2 * LM * LM], cv[LM];
    double wbuf[LM];
    mn_status st = MN_OK;
    for (int s = 0; s < nsb; s++) {
        memset(Rs, 0, sizeof Rs);
        for (int f = s * c->sb_size; f < F && f < (s + 1) * c->sb_size; f++)
            for (int a = 0; a < L; a++)
                for (int b = 0; b < L; b++) Rs[a * L + b] += conj(z[(size_t)f * LM + a]) * z[(size_t)f * LM + b];
        if (csi_dominant_eigvec(cv, Rs, L, ews, wbuf) < 0) {
            st = mn_error(MN_ERR_NUMERIC, "mn_csi_type2_select: eigensolver failed on subband %d", s);
            break;
        }
        for (int i = 0; i < L; i++) cs[(size_t)s * LM + i] = cv[i];
    }
    if (st == MN_OK) {
        /* i1,3 / i1,4: wideband amplitudes relative to the strongest, 3-bit quantized:
         * amplitude^2 = 2^-q, q = 0..6, or 0 (below 2^-6.5, i.e. about -19.6 dB) */
        double a[LM], pq[LM];
        int istr = 0;
        for (int i = 0; i < L; i++) {
            double e = 0;
            for (int s = 0; s < nsb; s++) e += csi_abs2(cs[(size_t)s * LM + i]);
            a[i] = sqrt(e / nsb);
            if (a[i] > a[istr]) istr = i;
        }
        int n_nz = 0;
        for (int i = 0; i < L; i++) {
            if (i == istr || !(a[istr] > 0)) {
                pq[i] = i == istr ? 1.0 : 0.0;
            } else {
                double r2 = (a[i] / a[istr]) * (a[i] / a[istr]);
                double qr = r2 > 0 ? -log2(r2) : (double)INFINITY;
                if (qr > 6.5) pq[i] = 0.0;
                else {
                    int qq = (int)lround(qr);
                    if (qq < 0) qq = 0;
                    if (qq > 6) qq = 6;
                    pq[i] = pow(2.0, -0.5 * qq);
                }
            }
            if (pq[i] > 0) n_nz++;
        }
        /* rank of each non-strongest non-zero coefficient by wideband amplitude (for K2) */
        int rank[LM];
        for (int i = 0; i < L; i++) {
            rank[i] = 0;
            for (int j = 0; j < L; j++)
                if (j != istr && j != i && (pq[j] > pq[i] || (pq[j] == pq[i] && j < i))) rank[i]++;
        }
        int k2 = n_nz < k2_of(L) ? n_nz : k2_of(L);
        for (int s = 0; s < nsb; s++) {
            const double complex *cc = cs + (size_t)s * LM;
            double complex ref = cc[istr];
            double aref = cabs(ref);
            double complex coef[LM];
            for (int i = 0; i < L; i++) {
                if (i == istr) {
                    coef[i] = 1.0;
                    continue;
                }
                if (pq[i] == 0) {
                    coef[i] = 0;
                    continue;
                }
                bool fine = !c->sb_amp || rank[i] < k2 - 1; /* among the K2 - 1 strongest */
                int npsk = fine ? c->n_psk : 4;
                double th = aref > 0 ? carg(cc[i] * conj(ref)) : 0.0;
                double thq = 2.0 * M_PI * (double)lround(th * npsk / (2.0 * M_PI)) / npsk;
                double amp = pq[i];
                if (c->sb_amp && fine) { /* i2,2: 1 or 2^-1/2, nearest in dB */
                    double r = aref > 0 ? cabs(cc[i]) / aref / pq[i] : 1.0;
                    if (r * r < sqrt(0.5)) amp *= sqrt(0.5);
                }
                coef[i] = amp * csi_expj(thq);
            }
            double nrm = 0;
            for (int m = 0; m < M; m++) {
                double complex t = 0;
                for (int i = 0; i < L; i++) t += B[(size_t)i * M + m] * coef[i];
                wv[m] = t;
                nrm += csi_abs2(t);
            }
            nrm = nrm > 0 ? 1.0 / sqrt(nrm) : 0.0;
            for (int f = s * c->sb_size; f < F && f < (s + 1) * c->sb_size; f++)
                for (int m = 0; m < M; m++) w[(size_t)m * F + f] = csi_d2c(wv[m] * nrm);
        }
        if (bits) *bits = mn_csi_type2_bits(c, 1, nsb, n_nz);
    }
    mn_free(pw);
    mn_free(B);
    return st;
}

mn_status mn_csi_fb_type2(float complex *W, int *bits, const float complex *Ghat, int K, int M,
                          int F, double P, double reg, const mn_csi_type2_cfg *c)
{
    mn_status st = csi_check_dims("mn_csi_fb_type2", W, Ghat, K, M, F, P);
    if (st != MN_OK) return st;
    if (!(reg >= 0) || !isfinite(reg)) return mn_error(MN_ERR_INVALID, "mn_csi_fb_type2: reg = %g must be >= 0", reg);
    if (!c) return mn_error(MN_ERR_INVALID, "mn_csi_fb_type2: NULL cfg");
    float complex *Wr = mn_malloc(sizeof(float complex) * (size_t)K * M * F);
    if (!Wr) return mn_error(MN_ERR_NOMEM, "mn_csi_fb_type2: out of memory");
    for (int k = 0; k < K && st == MN_OK; k++) {
        int b = 0;
        st = mn_csi_type2_select(Wr + (size_t)k * M * F, &b, Ghat + (size_t)k * M * F, M, F, c);
        if (bits) bits[k] = b;
    }
    if (st == MN_OK) st = zf_on_reports(W, Wr, K, M, F, P, reg, "mn_csi_fb_type2");
    mn_free(Wr);
    return st;
}
