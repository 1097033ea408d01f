/* src/csi/e2e_nets.c — the five networks of the end-to-end CSI system, declared with the
 * model-composition API of nn.h (no hand-wired layers):
 *
 *   proj  CSI-RS projection: SRS [2K, M F] -> [A (2Nb x M) | Phi (2L x F) | Pi (2 Nb L)] as one
 *         column [2 Nb M + 2 L F + 2 Nb L, 1]; or, without SRS, a learned constant (a linear
 *         layer fed zeros: its bias is the pilot design, as the SAY / D3L-HB pilots).
 *   enc   UE encoder: y [2 L Nc, 1] -> MLP -> tanh -> q-bit quantizer (STE) -> [B / q, 1].
 *   fb    feedback-only precoder: all users' features [K B / q, 1] -> MLP -> [2K, M F].
 *   srs   SRS-only precoder: SRS [2K, M F] -> gated blocks -> [2K, M F].
 *   fus   fusion: [W_fb~ | W_srs~ | SRS | feedback] [6K + K B/q, M F] (the K B/q received
 *         feedback levels repeated at every position) -> gated blocks -> per-position gates
 *         g_fb, g_srs and a correction c:  W = g_fb * W_fb~ + g_srs * W_srs~ + c  (the gates start
 *         at 1/2, so fusion starts from the mean of the two candidates and learns to weigh them).
 *
 * The SRS-reading nets are MAXIM-style multi-axis gated MLPs (Tu et al., CVPR 2022, built on
 * gMLP: Liu et al., NeurIPS 2021).  A feature map [d, M, F] is held as C = d, T = M F.  One
 * block:
 *     z = LeakyReLU(W_in LayerNorm(x))                  [4h], h = d / 2
 *     u1, g1, u2, g2 = the four h-channel slices of z
 *     a1 = u1 * (mixing of g1 along the antenna axis M)    (permute -> linear M->M -> back)
 *     a2 = u2 * (mixing of g2 along the subcarrier axis F)
 *     x  = x + W_out [a1 | a2]
 * As in gMLP, the axis-mixing weights start near zero with bias 1, so each gate starts near 1
 * and a block starts as a plain per-position MLP (see e2e_init_gates).
 * Heads of the projection net pool an axis away with a linear map of that axis to size 1. */
#include "e2e_internal.h"

#include <stdio.h>
#include <string.h>

/* name = prefix + suffix (node names are short, see nn.h) */
static const char *nm(char *buf, size_t n, const char *prefix, const char *suffix)
{
    snprintf(buf, n, "%s%s", prefix, suffix);
    return buf;
}

/* Permute a C = dims[0] map [dims[0], dims[1], dims[2]]; wrapper for readability. */
static int perm3(mn_model *m, int x, int d0, int d1, int d2, int p0, int p1, int p2, int split)
{
    return mn_model_permute(m, x, (const int[3]){d0, d1, d2}, (const int[3]){p0, p1, p2}, split);
}

/* One multi-axis gated block on a [d, M, F] map (see the file comment). */
static int gated_block(mn_model *m, int x, const char *prefix, int d, int M, int F)
{
    char b[48];
    const int h = d / 2;
    int z = mn_model_layernorm(m, x, nm(b, sizeof b, prefix, ".ln"), true);
    z = mn_model_linear(m, z, nm(b, sizeof b, prefix, ".in"), 4 * h);
    z = mn_model_act(m, z, MN_ACT_LEAKY, 0.1f);
    int u1 = mn_model_slice(m, z, 0, h), g1 = mn_model_slice(m, z, h, h);
    int u2 = mn_model_slice(m, z, 2 * h, h), g2 = mn_model_slice(m, z, 3 * h, h);
    /* antenna axis: [h, M, F] -> [M, h F] -> linear over M -> [h, M F] */
    int p = perm3(m, g1, h, M, F, 1, 0, 2, 1);
    p = mn_model_linear(m, p, nm(b, sizeof b, prefix, ".mixM"), M);
    p = perm3(m, p, M, h, F, 1, 0, 2, 1);
    int a1 = mn_model_mul(m, u1, p);
    /* subcarrier axis: [h, M, F] -> [F, h M] -> linear over F -> [h, M F] */
    int q = perm3(m, g2, h, M, F, 2, 0, 1, 1);
    q = mn_model_linear(m, q, nm(b, sizeof b, prefix, ".mixF"), F);
    q = perm3(m, q, F, h, M, 1, 2, 0, 1);
    int a2 = mn_model_mul(m, u2, q);
    int c = mn_model_concat(m, a1, a2);
    c = mn_model_linear(m, c, nm(b, sizeof b, prefix, ".out"), d);
    return mn_model_add(m, c, x);
}

/* A gated-MLP trunk: linear in -> blocks -> layer norm; returns the [d, M F] map. */
static int trunk(mn_model *m, int x, const char *net, const mn_e2e_cfg *c)
{
    char b[48], p[40];
    int h = mn_model_linear(m, x, nm(b, sizeof b, net, ".in"), c->width);
    for (int i = 0; i < c->blocks; i++) {
        snprintf(p, sizeof p, "%s.b%d", net, i);
        h = gated_block(m, h, p, c->width, c->M, c->F);
    }
    return mn_model_layernorm(m, h, nm(b, sizeof b, net, ".ln"), true);
}

int csi_e2e_proj_out_len(int M, int F, int L, int Nb) { return 2 * Nb * M + 2 * L * F + 2 * Nb * L; }

void csi_e2e_declare_proj(mn_model *m, const mn_e2e_cfg *c, int L, int Nb)
{
    const int K = c->K, M = c->M, F = c->F, d = c->width;
    if (!c->srs_pilots) {
        int x = mn_model_input(m, 1);
        mn_model_linear(m, x, "proj.const", csi_e2e_proj_out_len(M, F, L, Nb));
        return;
    }
    int x = mn_model_input(m, 2 * K);
    int z = trunk(m, x, "proj", c);
    /* beam domain A: pool F away -> [d, M] -> [2Nb, M] -> one column */
    int a = perm3(m, z, d, M, F, 2, 0, 1, 1); /* [F, d M] */
    a = mn_model_linear(m, a, "proj.poolF", 1);
    a = perm3(m, a, d, M, 1, 0, 1, 2, 1);     /* [d, M] */
    a = mn_model_linear(m, a, "proj.A", 2 * Nb);
    a = perm3(m, a, 2 * Nb, M, 1, 0, 1, 2, 2); /* [2Nb M, 1] */
    /* frequency domain Phi: pool M away -> [d, F] -> [2L, F] -> one column */
    int pf = perm3(m, z, d, M, F, 1, 0, 2, 1); /* [M, d F] */
    pf = mn_model_linear(m, pf, "proj.poolM", 1);
    pf = perm3(m, pf, d, F, 1, 0, 1, 2, 1);    /* [d, F] */
    int ph = mn_model_linear(m, pf, "proj.Phi", 2 * L);
    ph = perm3(m, ph, 2 * L, F, 1, 0, 1, 2, 2); /* [2L F, 1] */
    /* port domain Pi: pool F away from [d, F] -> [d, 1] -> [2 Nb L, 1] */
    int pi = perm3(m, pf, d, F, 1, 1, 0, 2, 1); /* [F, d] */
    pi = mn_model_linear(m, pi, "proj.poolF2", 1);
    pi = perm3(m, pi, 1, d, 1, 1, 0, 2, 1);    /* [d, 1] */
    pi = mn_model_linear(m, pi, "proj.Pi", 2 * Nb * L);
    int o = mn_model_concat(m, a, ph);
    mn_model_concat(m, o, pi);
}

void csi_e2e_declare_enc(mn_model *m, const mn_e2e_cfg *c, int L, int nfeat)
{
    int x = mn_model_input(m, 2 * L * c->subbands);
    x = mn_model_linear(m, x, "enc.l1", c->hidden);
    x = mn_model_act(m, x, MN_ACT_LEAKY, 0.1f);
    x = mn_model_linear(m, x, "enc.l2", c->hidden);
    x = mn_model_act(m, x, MN_ACT_LEAKY, 0.1f);
    x = mn_model_linear(m, x, "enc.out", nfeat);
    x = mn_model_act(m, x, MN_ACT_TANH, 0);
    if (c->q > 0) mn_model_quant(m, x, c->q); /* q = 0: unquantized (analog) features */
}

void csi_e2e_declare_fb(mn_model *m, const mn_e2e_cfg *c, int nfeat)
{
    const int K = c->K, MF = c->M * c->F;
    int x = mn_model_input(m, K * nfeat);
    x = mn_model_linear(m, x, "fb.l1", c->hidden);
    x = mn_model_act(m, x, MN_ACT_LEAKY, 0.1f);
    x = mn_model_linear(m, x, "fb.l2", c->hidden);
    x = mn_model_act(m, x, MN_ACT_LEAKY, 0.1f);
    x = mn_model_linear(m, x, "fb.out", 2 * K * MF);
    perm3(m, x, 2 * K, MF, 1, 0, 1, 2, 1); /* [2K, M F] */
}

void csi_e2e_declare_srs(mn_model *m, const mn_e2e_cfg *c)
{
    int x = mn_model_input(m, 2 * c->K);
    int z = trunk(m, x, "srs", c);
    mn_model_linear(m, z, "srs.out", 2 * c->K);
}

void csi_e2e_declare_fus(mn_model *m, const mn_e2e_cfg *c)
{
    const int K = c->K;
    int x = mn_model_input(m, 6 * K + K * (c->q > 0 ? c->bits / c->q : c->bits));
    int wf = mn_model_slice(m, x, 0, 2 * K), ws = mn_model_slice(m, x, 2 * K, 2 * K);
    int z = trunk(m, x, "fus", c);
    /* per-position gates on the two candidates, plus a correction */
    int gf = mn_model_linear(m, z, "fus.gfb", 2 * K), gs = mn_model_linear(m, z, "fus.gsrs", 2 * K);
    int corr = mn_model_linear(m, z, "fus.out", 2 * K);
    int w = mn_model_add(m, mn_model_mul(m, gf, wf), mn_model_mul(m, gs, ws));
    mn_model_add(m, w, corr);
}

/* gMLP initialization of the axis-mixing gates (weights x 0.01, bias 1); the fusion's candidate
 * gates start near 1/2 (weights x 0.1, bias 1/2) and its correction small (x 0.1). */
void csi_e2e_init_gates(mn_model *m)
{
    for (int i = 0; i < m->params.n; i++) {
        const mn_param_def *d = &m->params.defs[i];
        const char *s = strrchr(d->name, '.');
        size_t n = strlen(d->name);
        float *w = mn_params_w(&m->params, i);
        bool mix = n > 12 && (strstr(d->name, ".mixM.") || strstr(d->name, ".mixF."));
        if (mix && s && !strcmp(s, ".weight"))
            for (size_t j = 0; j < d->numel; j++) w[j] *= 0.01f;
        else if (mix && s && !strcmp(s, ".bias"))
            for (size_t j = 0; j < d->numel; j++) w[j] = 1.0f;
        else if (!strcmp(d->name, "fus.out.weight") || !strcmp(d->name, "fus.out.bias") ||
                 !strcmp(d->name, "fus.gfb.weight") || !strcmp(d->name, "fus.gsrs.weight"))
            for (size_t j = 0; j < d->numel; j++) w[j] *= 0.1f;
        else if (!strcmp(d->name, "fus.gfb.bias") || !strcmp(d->name, "fus.gsrs.bias"))
            for (size_t j = 0; j < d->numel; j++) w[j] = 0.5f;
    }
}
