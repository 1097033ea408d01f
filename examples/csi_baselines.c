/* examples/csi_baselines.c — sum spectral efficiency of the classical FDD precoding / CSI
 * feedback baselines of module csi on the same multi-user CDL drops (a measurement, not a
 * test).
 *
 * Build and run (from the repository root):
 *     make BUILD=build-csi all
 *     cc -std=c11 -O2 -Iinclude -o build-csi/csi_baselines examples/csi_baselines.c \
 *        build-csi/libmimonet.a $(sed -n 's/^Libs.private: //p' build-csi/mimonet.pc)
 *     ./build-csi/csi_baselines [--model C] [--drops 10] [--bs 8x4] [--users 4] [--snr 10]
 *                               [--gap 5] [--sc 48] [--speed 3] [--delay 0] [--seed 1]
 *                               [--bs-reg zf|mmse]
 *
 * Per drop: the DL channel at CSI time t = 0 (CSI-RS), the UL channel at t = 0 (SRS, on the UL
 * carrier), and the DL channel at data time t = delay (channel aging).  Every scheme's precoder
 * is scored with DESIGN.md's sum SE on the data-time DL channel, normalized to total power P on
 * each subcarrier; P / sigma^2 = SNR.  Perfect-CSI schemes use the data-time channel itself.
 * CSI-RS: M orthogonal ports, LS estimate with noise sigma^2 / P per element; SRS: per-antenna
 * noise sigma^2 / P. */
#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mimonet/csi.h"

enum { S_MRT, S_ZF, S_RZF, S_WMMSE, S_SRS_ANG, S_SRS_COV, S_SRS_NAIVE, S_T1, S_T2L2, S_T2L4,
       S_ANALOG, S_COUNT };
static const char *names[S_COUNT] = {
    "MRT (perfect CSI)", "ZF (perfect CSI)", "RZF (perfect CSI)", "WMMSE (perfect CSI)",
    "SRS-only, angle", "SRS-only, cov. map", "SRS-only, naive eig", "Type I (mode 1)",
    "Type II L=2 8PSK", "Type II L=4 8PSK", "analog feedback"};

static int die(const char *what)
{
    fprintf(stderr, "csi_baselines: %s: %s\n", what, mn_error_msg());
    return 1;
}

int main(int argc, char **argv)
{
    char model = 'C';
    int drops = 10, nh = 8, nv = 4, K = 4, nsc = 48;
    double snr_db = 10, gap_pct = 5, speed_kmh = 3, delay_ms = 0;
    unsigned long long seed = 1;
    int rzf = 0;
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "csi_baselines: %s needs a value\n", a);
            return 2;
        }
        if (!strcmp(a, "--model")) model = v[0];
        else if (!strcmp(a, "--drops")) drops = atoi(v);
        else if (!strcmp(a, "--bs")) {
            if (sscanf(v, "%dx%d", &nh, &nv) != 2) return fprintf(stderr, "--bs NHxNV\n"), 2;
        } else if (!strcmp(a, "--users")) K = atoi(v);
        else if (!strcmp(a, "--snr")) snr_db = atof(v);
        else if (!strcmp(a, "--gap")) gap_pct = atof(v);
        else if (!strcmp(a, "--sc")) nsc = atoi(v);
        else if (!strcmp(a, "--speed")) speed_kmh = atof(v);
        else if (!strcmp(a, "--delay")) delay_ms = atof(v);
        else if (!strcmp(a, "--seed")) seed = strtoull(v, NULL, 0);
        else if (!strcmp(a, "--bs-reg")) rzf = !strcmp(v, "mmse");
        else return fprintf(stderr, "csi_baselines: unknown option %s\n", a), 2;
    }
    if (model < 'A' || model > 'E' || drops < 1) return fprintf(stderr, "csi_baselines: bad --model/--drops\n"), 2;

    mn_csi_chan_cfg cfg;
    mn_csi_chan_cfg_default(&cfg);
    cfg.model = (mn_csi_model)(MN_CSI_CDL_A + (model - 'A'));
    cfg.bs_nh = nh;
    cfg.bs_nv = nv;
    cfg.users = K;
    cfg.n_sc = nsc;
    cfg.fc_ul_hz = cfg.fc_dl_hz * (1.0 - gap_pct / 100.0);
    cfg.speed_mps = speed_kmh / 3.6;
    mn_csi_chan *ch = mn_csi_chan_create(&cfg);
    if (!ch) return die("channel");
    const int M = nh * nv, F = nsc;
    const double P = 1.0, s2 = pow(10.0, -snr_db / 10.0);
    const size_t n = (size_t)K * M * F;
    /* the BS's linear step on the feedback / SRS schemes: ZF (a 1e-6 loading keeps it defined
     * when two users report the same unit-norm codeword or beam), or with --bs-reg mmse RZF's
     * MMSE loading (unit-norm reports scaled to norm sqrt(M); analog estimates have the
     * channel's own scale) */
    const double reg_u = rzf ? K * s2 / (P * M) : 1e-6, reg_a = rzf ? K * s2 / P : 0.0;
    float complex *Gc = malloc(n * sizeof *Gc), *Gd = malloc(n * sizeof *Gd), *Hu = malloc(n * sizeof *Hu),
                  *Gh = malloc(n * sizeof *Gh), *Hh = malloc(n * sizeof *Hh), *W = malloc(n * sizeof *W);
    if (!Gc || !Gd || !Hu || !Gh || !Hh || !W) return fprintf(stderr, "out of memory\n"), 1;
    mn_rng rng;
    mn_rng_seed(&rng, seed);
    mn_csi_type1_cfg t1 = {nh, nv, 4, nv > 1 ? 4 : 1, 1};
    mn_csi_type2_cfg t2a = {.n1 = nh, .n2 = nv, .o1 = 4, .o2 = nv > 1 ? 4 : 1, .L = 2, .n_psk = 8,
                            .sb_amp = false, .sb_size = 4};
    mn_csi_type2_cfg t2b = t2a;
    t2b.L = 4;
    mn_csi_srs_cfg srs = {.bs_nh = nh, .bs_nv = nv, .fc_dl_hz = cfg.fc_dl_hz, .fc_ul_hz = cfg.fc_ul_hz,
                          .f_design_hz = 0, .mode = MN_CSI_SRS_ANGLE, .oversample = 4};
    double sum[S_COUNT] = {0}, sum2[S_COUNT] = {0}, bits[S_COUNT] = {0}, secs[S_COUNT] = {0};
    int *b = malloc(sizeof(int) * (size_t)K);
    for (int d = 0; d < drops; d++) {
        if (mn_csi_chan_draw(ch, &rng) != MN_OK) return die("draw");
        mn_csi_chan_response(ch, Gc, MN_CSI_DL, 0.0);
        mn_csi_chan_response(ch, Hu, MN_CSI_UL, 0.0);
        mn_csi_chan_response(ch, Gd, MN_CSI_DL, delay_ms * 1e-3);
        mn_csi_csirs_estimate(Gh, Gc, n, P, s2, &rng);   /* UE's noisy DL estimate */
        mn_csi_add_noise(Hh, Hu, n, s2 / P, &rng);         /* BS's noisy SRS observation */
        for (int s = 0; s < S_COUNT; s++) {
            double t0 = mn_time_sec();
            mn_status st = MN_OK;
            for (int k = 0; k < K; k++) b[k] = 0;
            switch (s) {
            case S_MRT: st = mn_csi_precode_mrt(W, Gd, K, M, F, P); break;
            case S_ZF: st = mn_csi_precode_zf(W, Gd, K, M, F, P); break;
            case S_RZF: st = mn_csi_precode_rzf(W, Gd, K, M, F, P, K * s2 / P); break;
            case S_WMMSE: st = mn_csi_precode_wmmse(W, NULL, Gd, K, M, F, P, s2, NULL); break;
            case S_SRS_ANG: srs.mode = MN_CSI_SRS_ANGLE; st = mn_csi_srs_precode(W, NULL, Hh, K, M, F, P, reg_u, &srs); break;
            case S_SRS_COV: srs.mode = MN_CSI_SRS_COVMAP; st = mn_csi_srs_precode(W, NULL, Hh, K, M, F, P, reg_u, &srs); break;
            case S_SRS_NAIVE: srs.mode = MN_CSI_SRS_NAIVE; st = mn_csi_srs_precode(W, NULL, Hh, K, M, F, P, reg_u, &srs); break;
            case S_T1: st = mn_csi_fb_type1(W, b, Gh, K, M, F, P, reg_u, &t1); break;
            case S_T2L2: st = mn_csi_fb_type2(W, b, Gh, K, M, F, P, reg_u, &t2a); break;
            case S_T2L4: st = mn_csi_fb_type2(W, b, Gh, K, M, F, P, reg_u, &t2b); break;
            case S_ANALOG: st = mn_csi_fb_analog(W, Gc, K, M, F, M, P, s2, s2, reg_a, &rng); break;
            }
            if (st != MN_OK) return die(names[s]);
            secs[s] += mn_time_sec() - t0;
            double se = 0;
            if (mn_csi_sum_se(&se, NULL, Gd, W, K, M, F, P, s2) != MN_OK) return die("se");
            sum[s] += se;
            sum2[s] += se * se;
            for (int k = 0; k < K; k++) bits[s] += (double)b[k] / K;
        }
    }
    printf("CDL-%c, %dx%d = %d BS antennas, K = %d single-antenna UEs, SNR %.1f dB, UL/DL gap %.1f %%,\n"
           "%d subcarriers x %d drops = %d subcarrier-drops, %.1f km/h, data %.1f ms after CSI, seed %llu,\n"
           "BS step on feedback/SRS schemes: %s\n\n",
           model, nh, nv, M, K, snr_db, gap_pct, F, drops, F * drops, speed_kmh, delay_ms, seed,
           rzf ? "RZF (MMSE loading)" : "ZF");
    printf("%-26s %10s %9s %9s %9s\n", "scheme", "sum SE", "+-s.e.", "bits/UE", "ms/drop");
    for (int s = 0; s < S_COUNT; s++) {
        double m = sum[s] / drops, var = drops > 1 ? (sum2[s] / drops - m * m) * drops / (drops - 1) : 0;
        char bb[32];
        if (s == S_T1 || s == S_T2L2 || s == S_T2L4) snprintf(bb, sizeof bb, "%.1f", bits[s] / drops);
        else if (s >= S_SRS_ANG && s <= S_SRS_NAIVE) snprintf(bb, sizeof bb, "0");
        else if (s == S_ANALOG) snprintf(bb, sizeof bb, "analog");
        else snprintf(bb, sizeof bb, "-");
        printf("%-26s %10.3f %9.3f %9s %9.2f\n", names[s], m, sqrt(var > 0 ? var / drops : 0), bb,
               1e3 * secs[s] / drops);
    }
    free(b);
    free(Gc);
    free(Gd);
    free(Hu);
    free(Gh);
    free(Hh);
    free(W);
    mn_csi_chan_destroy(ch);
    return 0;
}
