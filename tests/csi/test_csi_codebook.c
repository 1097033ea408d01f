/* tests/csi/test_csi_codebook.c — 3GPP Type I / Type II PMI payload sizes against the TS 38.214 /
 * 38.212 formulas evaluated by hand, codeword selection on exactly representable channels, and
 * the SRS-only (UL -> DL) beams across a duplex gap. */
#include "mn_test.h"

#include <complex.h>
#include <stdlib.h>
#include <string.h>

#include "mimonet/csi.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static double complex ej(double x) { return CMPLX(cos(x), sin(x)); }

/* unit-norm DFT beam v_{l,m} of TS 38.214 5.2.2.2.1, index ih * N2 + iv (written here, not
 * taken from the library) */
static void ref_beam(double complex *v, int l, int m, int n1, int n2, int o1, int o2)
{
    for (int ih = 0; ih < n1; ih++)
        for (int iv = 0; iv < n2; iv++)
            v[ih * n2 + iv] = ej(2 * M_PI * ((double)l * ih / (n1 * o1) + (double)m * iv / (n2 * o2))) / sqrt(n1 * n2);
}

MN_TEST(csi_type1_bits)
{
    struct { int n1, n2, o1, o2, mode, npol, ni2, want; } c[] = {
        /* mode 1: ceil(log2 N1O1) + ceil(log2 N2O2) + 2 per i2 report (dual-pol) */
        {8, 2, 4, 4, 1, 2, 1, 5 + 3 + 2},   /* 32 ports: the 10-bit example */
        {4, 1, 4, 1, 1, 2, 1, 4 + 0 + 2},   /* 8 ports (4,1) */
        {2, 1, 4, 1, 1, 2, 1, 3 + 0 + 2},   /* 4 ports */
        {4, 4, 4, 4, 1, 2, 1, 4 + 4 + 2},   /* 32 ports (4,4) */
        {16, 1, 4, 1, 1, 2, 1, 6 + 0 + 2},  /* 32 ports (16,1) */
        {3, 2, 4, 4, 1, 2, 1, 4 + 3 + 2},   /* 12 ports: ceil(log2 12) = 4 */
        {6, 2, 4, 4, 1, 2, 1, 5 + 3 + 2},   /* 24 ports: ceil(log2 24) = 5 */
        {8, 2, 4, 4, 1, 2, 10, 5 + 3 + 10 * 2}, /* subband i2 over 10 subbands */
        /* mode 2: ceil(log2 N1O1/2) + ceil(log2 N2O2/2) (0 if N2 = 1) + 4 per i2 */
        {8, 2, 4, 4, 2, 2, 1, 4 + 2 + 4},
        {4, 1, 4, 1, 2, 2, 1, 3 + 0 + 4},
        {4, 2, 4, 4, 2, 2, 5, 3 + 2 + 5 * 4},
        /* single polarization (this module): no co-phasing */
        {8, 4, 4, 4, 1, 1, 1, 5 + 4},
        {8, 4, 4, 4, 2, 1, 3, 4 + 3 + 3 * 2},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        mn_csi_type1_cfg cfg = {c[i].n1, c[i].n2, c[i].o1, c[i].o2, c[i].mode};
        int b = mn_csi_type1_bits(&cfg, c[i].npol, c[i].ni2);
        MN_CHECK_MSG(t, b == c[i].want, "case %zu: (N1,N2,O1,O2)=(%d,%d,%d,%d) mode %d pol %d: %d bits, want %d", i,
                     c[i].n1, c[i].n2, c[i].o1, c[i].o2, c[i].mode, c[i].npol, b, c[i].want);
    }
    mn_csi_type1_cfg bad = {8, 2, 4, 4, 3};
    MN_CHECK(t, mn_csi_type1_bits(&bad, 2, 1) == -1);
    bad.mode = 1;
    MN_CHECK(t, mn_csi_type1_bits(&bad, 3, 1) == -1);
}

MN_TEST(csi_type2_bits)
{
    struct { int n1, n2, o1, o2, L, npsk, sbamp, npol, nsb, nnz, want; } c[] = {
        /* (4,2), L = 4, 8PSK, no SB amplitude, dual-pol, 10 subbands, all 8 non-zero:
         * part1 ceil(log2 8) = 3, i1,1 ceil(log2 16) = 4, i1,2 ceil(log2 C(8,4) = 70) = 7,
         * i1,3 3, i1,4 3 * 7 = 21 -> 38; per subband (8 - 1) * 3 = 21 */
        {4, 2, 4, 4, 4, 8, 0, 2, 10, 8, 38 + 10 * 21},
        /* (8,1), L = 2, QPSK, 1 subband, 4 non-zero: 2 + ceil(log2 4) = 2 + ceil(log2 28) = 5
         * + 2 + 9 = 20; subband 3 * 2 = 6 */
        {8, 1, 4, 1, 2, 4, 0, 2, 1, 4, 20 + 6},
        /* as the first with subbandAmplitude: K2 = 6: (6-1) 3 + (8-6) 2 + (6-1) = 24 */
        {4, 2, 4, 4, 4, 8, 1, 2, 10, 8, 38 + 10 * 24},
        /* n_nz = 5 < K2: (5-1) 3 + 0 + (5-1) = 16 per subband */
        {4, 2, 4, 4, 4, 8, 1, 2, 2, 5, 38 + 2 * 16},
        /* L = 3, (4,4): part1 ceil(log2 6) = 3, i1,1 4, i1,2 ceil(log2 C(16,3) = 560) = 10,
         * i1,3 3, i1,4 15 -> 35; QPSK with SB amp, n_nz = 6 > K2 = 4: (4-1) 2 + 2 * 2 + 3 = 13 */
        {4, 4, 4, 4, 3, 4, 1, 2, 4, 6, 35 + 4 * 13},
        /* single-pol, L = 2, (8,4): part1 1, i1,1 4, i1,2 ceil(log2 C(32,2) = 496) = 9, i1,3 1,
         * i1,4 3 -> 18; 8PSK, n_nz = 2: 3 per subband, 12 subbands */
        {8, 4, 4, 4, 2, 8, 0, 1, 12, 2, 18 + 12 * 3},
        /* single-pol, n_nz = 1: only wideband bits */
        {8, 4, 4, 4, 2, 8, 0, 1, 12, 1, 18},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        mn_csi_type2_cfg cfg = {.n1 = c[i].n1, .n2 = c[i].n2, .o1 = c[i].o1, .o2 = c[i].o2, .L = c[i].L,
                                .n_psk = c[i].npsk, .sb_amp = c[i].sbamp, .sb_size = 4};
        int b = mn_csi_type2_bits(&cfg, c[i].npol, c[i].nsb, c[i].nnz);
        MN_CHECK_MSG(t, b == c[i].want, "case %zu: %d bits, want %d", i, b, c[i].want);
    }
    mn_csi_type2_cfg bad = {.n1 = 4, .n2 = 2, .o1 = 4, .o2 = 4, .L = 5, .n_psk = 8, .sb_size = 4};
    MN_CHECK(t, mn_csi_type2_bits(&bad, 2, 1, 1) == -1);
    bad.L = 4;
    bad.n_psk = 16;
    MN_CHECK(t, mn_csi_type2_bits(&bad, 2, 1, 1) == -1);
    bad.n_psk = 8;
    MN_CHECK(t, mn_csi_type2_bits(&bad, 2, 1, 9) == -1); /* n_nz > 2L */
}

MN_TEST(csi_type1_full_array_gain)
{
    /* g_f = sqrt(M) v_{l0,m0}^H exp(j psi_f): the chosen codeword is (l0, m0) and
     * |g_f w|^2 = M (full array gain) on every subcarrier, also with mild estimation noise */
    enum { N1 = 8, N2 = 4, M = N1 * N2, F = 6 };
    mn_csi_type1_cfg cfg = {N1, N2, 4, 4, 1};
    mn_rng r;
    mn_rng_seed(&r, t->seed);
    const int lm[3][2] = {{0, 0}, {13, 5}, {31, 15}};
    double complex v[M];
    float complex G[M * F], Gn[M * F], w[M];
    for (int c = 0; c < 3; c++) {
        ref_beam(v, lm[c][0], lm[c][1], N1, N2, 4, 4);
        for (int s = 0; s < M; s++)
            for (int f = 0; f < F; f++) G[s * F + f] = (float complex)(sqrt(M) * conj(v[s]) * ej(0.7 * f));
        mn_csi_add_noise(Gn, G, M * F, 0.1, &r);
        int i11 = -1, i12 = -1;
        MN_CHECK_OK(t, mn_csi_type1_select(&i11, &i12, w, Gn, M, F, &cfg));
        MN_CHECK(t, i11 == lm[c][0] && i12 == lm[c][1]);
        for (int f = 0; f < F; f++) {
            double complex s = 0;
            for (int m = 0; m < M; m++) s += (double complex)G[m * F + f] * (double complex)w[m];
            MN_CHECK_NEAR(t, creal(s * conj(s)), (double)M, 1e-3 * M);
        }
    }
    /* the same through the channel model: a single LoS ray whose direction cosines sit on the
     * DFT grid, uy = sin(zod) sin(aod) = -2 l / (O1 N1), uz = cos(zod) = -2 m / (O2 N2), so the
     * array convention (index ih N2 + iv, lambda/2) and the codebook agree */
    const int l0 = 3, m0 = 2;
    double uy = -2.0 * l0 / (4 * N1), uz = -2.0 * m0 / (4 * N2);
    double zod = acos(uz), aod = asin(uy / sin(zod));
    mn_csi_cdl_table tb;
    memset(&tb, 0, sizeof tb);
    tb.n = 1;
    tb.los = true;
    tb.aod[0] = aod * 180 / M_PI;
    tb.zod[0] = zod * 180 / M_PI;
    tb.zoa[0] = 90;
    mn_csi_chan_cfg cc;
    mn_csi_chan_cfg_default(&cc);
    cc.table = &tb;
    cc.users = 1;
    cc.bs_nh = N1;
    cc.bs_nv = N2;
    cc.n_sc = F;
    cc.user_aod_spread_deg = 0;
    mn_csi_chan *q = mn_csi_chan_create(&cc);
    MN_CHECK(t, q != NULL);
    if (!q) return;
    mn_csi_chan_draw(q, &r);
    mn_csi_chan_response(q, G, MN_CSI_DL, 0);
    int i11 = -1, i12 = -1;
    MN_CHECK_OK(t, mn_csi_type1_select(&i11, &i12, w, G, M, F, &cfg));
    MN_CHECK(t, i11 == l0 && i12 == m0);
    double complex s = 0;
    for (int m = 0; m < M; m++) s += (double complex)G[m * F] * (double complex)w[m];
    MN_CHECK_NEAR(t, creal(s * conj(s)), (double)M, 1e-3 * M);
    mn_csi_chan_destroy(q);
}

MN_TEST(csi_type2_exact_combination)
{
    /* g = (v_a + c v_b)^H with v_a, v_b orthogonal beams of rotation (1, 2), |c|^2 = 1/4 (an
     * exact 3-bit level, -6 dB) and arg c = pi/2 (on the QPSK grid): Type II (L = 2, QPSK)
     * reports exactly that direction; with c = 0 only one coefficient is non-zero. */
    enum { N1 = 4, N2 = 2, M = N1 * N2, F = 8 };
    mn_csi_type2_cfg cfg = {.n1 = N1, .n2 = N2, .o1 = 4, .o2 = 4, .L = 2, .n_psk = 4, .sb_amp = false, .sb_size = 4};
    double complex va[M], vb[M], tgt[M];
    ref_beam(va, 4 * 1 + 1, 4 * 0 + 2, N1, N2, 4, 4); /* l = O1 a + q1, m = O2 b + q2 */
    ref_beam(vb, 4 * 3 + 1, 4 * 1 + 2, N1, N2, 4, 4);
    float complex G[M * F], w[M * F];
    for (int pass = 0; pass < 2; pass++) {
        double complex c = pass == 0 ? 0.5 * ej(M_PI / 2) : 0;
        double nt = 0;
        for (int m = 0; m < M; m++) {
            tgt[m] = va[m] + c * vb[m];
            nt += creal(tgt[m] * conj(tgt[m]));
        }
        for (int m = 0; m < M; m++)
            for (int f = 0; f < F; f++) G[m * F + f] = (float complex)(conj(tgt[m]) * ej(0.3 * f) * 2.0);
        int bits = -1;
        MN_CHECK_OK(t, mn_csi_type2_select(w, &bits, G, M, F, &cfg));
        for (int f = 0; f < F; f++) {
            double complex ip = 0;
            double nw = 0;
            for (int m = 0; m < M; m++) {
                ip += conj(tgt[m]) * (double complex)w[m * F + f];
                nw += creal(conj((double complex)w[m * F + f]) * (double complex)w[m * F + f]);
            }
            MN_CHECK_NEAR(t, nw, 1.0, 1e-5);
            MN_CHECK_NEAR(t, cabs(ip) / sqrt(nt), 1.0, 1e-5);
        }
        /* single-pol bits: 1 + 4 + ceil(log2 C(8,2) = 28) = 5 + 1 + 3 = 14 wideband, plus
         * (n_nz - 1) * 2 per subband (2 subbands of 4) */
        int nnz = pass == 0 ? 2 : 1;
        MN_CHECK_MSG(t, bits == 14 + 2 * (nnz - 1) * 2, "pass %d: %d bits", pass, bits);
    }
}

MN_TEST(csi_srs_beams_across_gap)
{
    /* one ray, ULA 32: with a 5 % duplex gap the angle-domain SRS beams (evaluated at the DL
     * wavelength) keep nearly full DL array gain while the naive UL eigenvector loses much of
     * it; without a gap all three are matched */
    enum { M = 32, F = 4 };
    mn_csi_cdl_table tb;
    memset(&tb, 0, sizeof tb);
    tb.n = 1;
    tb.los = true;
    tb.aod[0] = 40;
    tb.zod[0] = 90;
    tb.zoa[0] = 90;
    mn_rng r;
    mn_rng_seed(&r, t->seed);
    for (int pass = 0; pass < 2; pass++) {
        mn_csi_chan_cfg cc;
        mn_csi_chan_cfg_default(&cc);
        cc.table = &tb;
        cc.users = 1;
        cc.bs_nh = M;
        cc.bs_nv = 1;
        cc.n_sc = F;
        cc.user_aod_spread_deg = 0;
        cc.fc_ul_hz = pass == 0 ? 0.95 * cc.fc_dl_hz : cc.fc_dl_hz;
        mn_csi_chan *q = mn_csi_chan_create(&cc);
        MN_CHECK(t, q != NULL);
        if (!q) return;
        mn_csi_chan_draw(q, &r);
        float complex Hd[M * F], Hu[M * F], W[M * F], beam[M];
        mn_csi_chan_response(q, Hd, MN_CSI_DL, 0);
        mn_csi_chan_response(q, Hu, MN_CSI_UL, 0);
        const mn_csi_srs_mode modes[3] = {MN_CSI_SRS_ANGLE, MN_CSI_SRS_COVMAP, MN_CSI_SRS_NAIVE};
        double gain[3];
        for (int i = 0; i < 3; i++) {
            mn_csi_srs_cfg sc = {.bs_nh = M, .bs_nv = 1, .fc_dl_hz = cc.fc_dl_hz, .fc_ul_hz = cc.fc_ul_hz,
                                 .f_design_hz = 0, .mode = modes[i], .oversample = 16};
            MN_CHECK_OK(t, mn_csi_srs_precode(W, beam, Hu, 1, M, F, 1.0, 0.0, &sc));
            double complex s = 0;
            for (int m = 0; m < M; m++) s += (double complex)Hd[m * F] * (double complex)beam[m];
            gain[i] = creal(s * conj(s)) / M; /* 1 = full array gain (|h_s| = 1) */
            if (t->verbose) printf("    gap %s, SRS mode %d: DL gain %.3f of full\n", pass ? "0" : "5 %", (int)modes[i], gain[i]);
        }
        MN_CHECK(t, gain[0] > 0.97);
        MN_CHECK(t, gain[1] > 0.9);
        if (pass == 0) MN_CHECK(t, gain[2] < 0.7);
        else MN_CHECK(t, gain[2] > 0.999);
        mn_csi_chan_destroy(q);
    }
    /* two users in the same direction: plain ZF over identical beams is refused, a small
     * loading keeps it defined */
    enum { K2 = 2 };
    float complex Hu2[K2 * M * F], W2[K2 * M * F];
    for (int i = 0; i < M * F; i++) Hu2[i] = Hu2[M * F + i] = CMPLXF(cosf(0.3f * (float)(i / F)), sinf(0.3f * (float)(i / F)));
    mn_csi_srs_cfg sc = {.bs_nh = M, .bs_nv = 1, .fc_dl_hz = 3.5e9, .fc_ul_hz = 3.5e9, .mode = MN_CSI_SRS_ANGLE};
    MN_CHECK(t, mn_csi_srs_precode(W2, NULL, Hu2, K2, M, F, 1.0, 0.0, &sc) == MN_ERR_NUMERIC);
    MN_CHECK_OK(t, mn_csi_srs_precode(W2, NULL, Hu2, K2, M, F, 1.0, 1e-6, &sc));
}
