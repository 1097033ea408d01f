/* examples/csi_e2e_bench.c — benchmark numbers for the end-to-end learned CSI system (a
 * measurement, not a test; docs/csi_e2e.md section 6 records the results).
 *
 *   say: the Sohrabi–Attiah–Yu setting (64-antenna ULA, K = 2 single-antenna users, 2-path SV,
 *        flat, L = 8 learned constant pilots, 10 dB): feedback-only E2E sum SE at each --bits,
 *        to compare with the D3L-HB training logs 3.81 / 8.72 / 11.62 at B = 1 / 8 / 64.
 *   cdl: the CDL FDD pair (CDL-C, 8x4 UPA = 32 antennas, K users, 5 % gap, 48 subcarriers,
 *        10 dB, 3 km/h, data 5 ms after CSI): the learned schemes (--schemes) at each --bits
 *        against perfect-CSI RZF, SRS-only and Type I/II on the same test drops.
 *
 * Build and run from the repository root:
 *     make BUILD=build-csi2 all examples
 *     OMP_NUM_THREADS=1 ./build-csi2/csi_e2e_bench --setting say --bits 1,8,64
 *     OMP_NUM_THREADS=1 ./build-csi2/csi_e2e_bench --setting cdl --bits 8 --schemes srs,feedback,fusion
 * Options: --steps N (stage 1; stages 2, 3 get half), --batch N, --drops N, --test N,
 *          --users K, --pilots L, --subbands Nc (default 1), --hidden N, --width N,
 *          --blocks N, --lr X, --seed S, --fixed-pilots 0|1 (default: 1 for say, 0 for cdl). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mimonet/csi_e2e.h"

static int die(const char *what)
{
    fprintf(stderr, "csi_e2e_bench: %s: %s\n", what, mn_error_msg());
    return 1;
}

static int progress(const mn_e2e_progress *p, void *u)
{
    (void)u;
    if (p->step == p->steps || p->step % 500 == 0)
        fprintf(stderr, "  stage %d step %ld/%ld  SE %.3f  val %.3f\n", p->stage, p->step, p->steps, p->se, p->val_se);
    return 0;
}

static int parse_list(const char *s, int *v, int max)
{
    int n = 0;
    while (*s && n < max) {
        v[n++] = atoi(s);
        const char *c = strchr(s, ',');
        if (!c) break;
        s = c + 1;
    }
    return n;
}

int main(int argc, char **argv)
{
    const char *setting = "say", *bits_s = NULL, *schemes_s = NULL;
    long steps = -1;
    int batch = -1, drops = -1, ntest = -1, K = 2, hidden = 256, width = 16, blocks = 2, subbands = -1, pilots = 8;
    int fixed = -1;
    double lr = -1;
    unsigned long long seed = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (!strcmp(a, "--setting")) setting = v;
        else if (!strcmp(a, "--bits")) bits_s = v;
        else if (!strcmp(a, "--schemes")) schemes_s = v;
        else if (!strcmp(a, "--steps")) steps = atol(v);
        else if (!strcmp(a, "--batch")) batch = atoi(v);
        else if (!strcmp(a, "--drops")) drops = atoi(v);
        else if (!strcmp(a, "--test")) ntest = atoi(v);
        else if (!strcmp(a, "--users")) K = atoi(v);
        else if (!strcmp(a, "--hidden")) hidden = atoi(v);
        else if (!strcmp(a, "--width")) width = atoi(v);
        else if (!strcmp(a, "--blocks")) blocks = atoi(v);
        else if (!strcmp(a, "--subbands")) subbands = atoi(v);
        else if (!strcmp(a, "--pilots")) pilots = atoi(v);
        else if (!strcmp(a, "--fixed-pilots")) fixed = atoi(v);
        else if (!strcmp(a, "--lr")) lr = atof(v);
        else if (!strcmp(a, "--seed")) seed = strtoull(v, NULL, 0);
        else return fprintf(stderr, "csi_e2e_bench: unknown option %s\n", a), 2;
    }
    const bool say = !strcmp(setting, "say");
    if (!say && strcmp(setting, "cdl")) return fprintf(stderr, "csi_e2e_bench: --setting say|cdl\n"), 2;
    int bits[16], nb = parse_list(bits_s ? bits_s : (say ? "1,8,64" : "8"), bits, 16);
    int schemes[3], ns = 0;
    {
        char buf[64];
        snprintf(buf, sizeof buf, "%s", schemes_s ? schemes_s : (say ? "feedback" : "srs,feedback,fusion"));
        for (char *t = strtok(buf, ","); t && ns < 3; t = strtok(NULL, ",")) {
            int s = mn_e2e_scheme_from_name(t);
            if (s < 0) return fprintf(stderr, "csi_e2e_bench: unknown scheme %s\n", t), 2;
            schemes[ns++] = s;
        }
    }
    if (steps < 0) steps = say ? 3000 : 600;
    if (batch < 0) batch = say ? 256 : 32;
    if (drops < 0) drops = say ? 20000 : 2048;
    if (ntest < 0) ntest = say ? 2000 : 256;
    if (lr < 0) lr = say ? 1e-3 : 2e-3;

    mn_csi_chan_cfg cc;
    if (say) mn_csi_chan_cfg_say(&cc);
    else {
        mn_csi_chan_cfg_default(&cc);
        cc.users = K;
    }
    mn_csi_chan *ch = mn_csi_chan_create(&cc);
    if (!ch) return die("channel");
    const int M = mn_csi_chan_bs_ant(ch), F = cc.n_sc;
    const double t_data = say ? 0.0 : 5e-3;
    mn_e2e_data tr, va, te;
    double t0 = mn_time_sec();
    if (mn_e2e_data_alloc(&tr, drops, cc.users, M, F) || mn_e2e_data_alloc(&va, 256, cc.users, M, F) ||
        mn_e2e_data_alloc(&te, ntest, cc.users, M, F))
        return die("data");
    if (mn_e2e_data_simulate(&tr, ch, seed, t_data, 2) || mn_e2e_data_simulate(&va, ch, seed + 1, t_data, 2) ||
        mn_e2e_data_simulate(&te, ch, seed + 2, t_data, 2))
        return die("simulate");
    printf("%s: %s, M = %d, K = %d, F = %d, SNR 10 dB; %d training / %d test drops (%.1f s to simulate)\n", setting,
           say ? "SAY preset (SV 2 paths, ULA)" : "CDL-C, 8x4 UPA, 5 % gap, 3 km/h, data at 5 ms", M, cc.users, F, drops, ntest,
           mn_time_sec() - t0);

    mn_e2e_result res[MN_E2E_BL_COUNT];
    mn_e2e_baseline_cfg bc = {.bs_nh = cc.bs_nh, .bs_nv = cc.bs_nv, .fc_dl_hz = cc.fc_dl_hz, .fc_ul_hz = cc.fc_ul_hz,
                              .P = 1.0, .sigma2 = 0.1, .srs_noise = 0.1, .sb_size = 4, .wmmse = false};
    mn_rng br;
    mn_rng_seed(&br, seed + 3);
    if (mn_e2e_baselines(res, &te, &bc, &br)) return die("baselines");
    printf("\n%-28s %8s %7s %8s\n", "scheme", "sum SE", "+-s.e.", "bits/UE");
    for (int i = 0; i < MN_E2E_BL_COUNT; i++)
        if (res[i].valid) {
            char b[16] = "-";
            if (isfinite(res[i].bits_per_ue)) snprintf(b, sizeof b, "%.1f", res[i].bits_per_ue);
            printf("%-28s %8.3f %7.3f %8s\n", res[i].name, res[i].se, res[i].se_stderr, b);
        }
    fflush(stdout);

    for (int a = 0; a < ns; a++)
        for (int j = 0; j < nb; j++) {
            if (schemes[a] == MN_E2E_SRS && j > 0) continue; /* bit-free */
            mn_e2e_cfg ec;
            mn_e2e_cfg_default(&ec, cc.users, M, F);
            ec.bits = bits[j];
            ec.pilots = pilots;
            ec.subbands = subbands > 0 ? subbands : 1;
            ec.srs_pilots = fixed >= 0 ? !fixed : !say;
            ec.hidden = hidden;
            ec.width = width;
            ec.blocks = blocks;
            mn_rng r;
            mn_rng_seed(&r, seed + 10);
            mn_e2e e;
            if (mn_e2e_init(&e, &ec, batch > 64 ? batch : 64, &r)) return die("init");
            mn_e2e_train_cfg tc;
            mn_e2e_train_cfg_default(&tc);
            tc.steps[0] = steps;
            tc.steps[1] = steps / 2;
            tc.steps[2] = steps / 2;
            tc.batch = batch;
            tc.lr[0] = tc.lr[1] = (float)lr;
            tc.lr[2] = (float)(lr / 4);
            tc.eval_every = steps / 6 > 0 ? steps / 6 : 1;
            double t1 = mn_time_sec();
            fprintf(stderr, "%s, B = %d:\n", mn_e2e_scheme_name((mn_e2e_scheme)schemes[a]), bits[j]);
            if (mn_e2e_train(&e, (mn_e2e_scheme)schemes[a], &tr, &va, &tc, progress, NULL, &r)) return die("train");
            double se, sd;
            mn_rng er;
            mn_rng_seed(&er, seed + 4);
            if (mn_e2e_eval(&e, (mn_e2e_scheme)schemes[a], &te, &er, &se, &sd)) return die("eval");
            char name[48];
            snprintf(name, sizeof name, "learned %s", mn_e2e_scheme_name((mn_e2e_scheme)schemes[a]));
            printf("%-28s %8.3f %7.3f %8d   (%.0f s training, %.0f%% of perfect RZF)\n", name, se, sd,
                   schemes[a] == MN_E2E_SRS ? 0 : bits[j], mn_time_sec() - t1, 100.0 * se / res[MN_E2E_BL_RZF].se);
            fflush(stdout);
            mn_e2e_free(&e);
        }
    mn_e2e_data_free(&tr);
    mn_e2e_data_free(&va);
    mn_e2e_data_free(&te);
    mn_csi_chan_destroy(ch);
    return 0;
}
