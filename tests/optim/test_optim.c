/* tests/optim/test_optim.c — Adam/AdamW against hand-written double arithmetic, every LR
 * schedule at hand-computed steps, and global-norm clipping by its defining property. */
#include "mn_test.h"

#include <string.h>

#include "mimonet/core.h"
#include "mimonet/optim.h"

/* ---------------------------------------------------------------- Adam / AdamW */

/* Three steps on a 3-element vector.  The expected values are recomputed here in double,
 * straight from the published update (Kingma & Ba 2015 Alg. 1; Loshchilov & Hutter 2019
 * Alg. 2 for the decoupled decay; eps added after the bias-corrected square root, as in
 * PyTorch 1.13):
 *   AdamW:    w = w (1 - lr wd);            g' = g
 *   Adam+L2:                                g' = g + wd w
 *   m = b1 m + (1-b1) g';  v = b2 v + (1-b2) g'^2
 *   w = w - lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)                                   */
static void adam_three_steps(mn_test_ctx *t, bool decoupled, double eps)
{
    const double lr = 0.01, wd = 0.1, b1 = 0.9, b2 = 0.999;
    const double g_steps[3][3] = {{0.1, -0.2, 0.3}, {-0.05, 0.4, 0.3}, {0.2, 0.0, -0.1}};
    double w[3] = {0.5, -1.0, 2.0}, m[3] = {0, 0, 0}, v[3] = {0, 0, 0};
    float wf[3] = {0.5f, -1.0f, 2.0f}, gf[3], mf[3] = {0, 0, 0}, vf[3] = {0, 0, 0};
    mn_adam_cfg c = {.beta1 = 0.9f, .beta2 = 0.999f, .eps = (float)eps, .weight_decay = 0.1f,
                     .decoupled = decoupled};
    for (int step = 1; step <= 3; step++) {
        double bc1 = 1.0, bc2 = 1.0; /* 1 - b^t by repeated multiplication, not pow */
        double p1 = 1.0, p2 = 1.0;
        for (int k = 0; k < step; k++) { p1 *= b1; p2 *= b2; }
        bc1 -= p1;
        bc2 -= p2;
        for (int i = 0; i < 3; i++) {
            double g = g_steps[step - 1][i];
            if (decoupled) w[i] = w[i] * (1.0 - lr * wd);
            else g = g + wd * w[i];
            m[i] = b1 * m[i] + (1.0 - b1) * g;
            v[i] = b2 * v[i] + (1.0 - b2) * g * g;
            double mhat = m[i] / bc1, vhat = v[i] / bc2;
            w[i] = w[i] - lr * mhat / (sqrt(vhat) + eps);
            gf[i] = (float)g_steps[step - 1][i];
        }
        mn_adam_update(wf, gf, mf, vf, 3, &c, (float)lr, step);
        for (int i = 0; i < 3; i++) {
            MN_CHECK_NEAR(t, wf[i], w[i], 2e-6);
            MN_CHECK_NEAR(t, mf[i], m[i], 1e-6 * fabs(m[i]) + 1e-12);
            MN_CHECK_NEAR(t, vf[i], v[i], 1e-6 * fabs(v[i]) + 1e-15);
        }
        if (step == 1 && eps < 1e-6) {
            /* At t = 1, m_hat = g' and v_hat = g'^2, so each weight moves by lr * sign(g')
             * (up to eps): an analytic check independent of the recursion above. */
            for (int i = 0; i < 3; i++) {
                double w0 = i == 0 ? 0.5 : (i == 1 ? -1.0 : 2.0);
                double gp = (double)gf[i] + (decoupled ? 0.0 : wd * w0);
                double want = (decoupled ? w0 * (1.0 - lr * wd) : w0) - lr * (gp > 0 ? 1.0 : -1.0);
                MN_CHECK_NEAR(t, wf[i], want, 2e-6);
            }
        }
    }
}

MN_TEST(optim_adamw_hand_computed) { adam_three_steps(t, true, 1e-8); }
MN_TEST(optim_adam_l2_hand_computed) { adam_three_steps(t, false, 1e-8); }
/* A large eps makes its placement matter: (sqrt(v)/sqrt(bc2) + eps) differs from
 * (sqrt(v) + eps)/sqrt(bc2) by a factor ~30 at t = 1 here. */
MN_TEST(optim_adamw_eps_placement) { adam_three_steps(t, true, 0.1); }
MN_TEST(optim_adam_l2_eps_placement) { adam_three_steps(t, false, 0.1); }

MN_TEST(optim_adam_defaults_and_variants_differ)
{
    mn_adam_cfg c = mn_adam_default();
    MN_CHECK(t, c.beta1 == 0.9f && c.beta2 == 0.999f && c.eps == 1e-8f);
    MN_CHECK(t, c.weight_decay == 0.01f && c.decoupled);
    /* Same data, decoupled vs L2: the results must differ (the flag is honoured). */
    float w1[2] = {1.0f, -2.0f}, w2[2] = {1.0f, -2.0f}, g[2] = {0.3f, 0.3f};
    float m1[2] = {0}, v1[2] = {0}, m2[2] = {0}, v2[2] = {0};
    c.weight_decay = 0.5f;
    for (long s = 1; s <= 3; s++) mn_adam_update(w1, g, m1, v1, 2, &c, 0.1f, s);
    c.decoupled = false;
    for (long s = 1; s <= 3; s++) mn_adam_update(w2, g, m2, v2, 2, &c, 0.1f, s);
    MN_CHECK(t, fabs((double)w1[1] - (double)w2[1]) > 1e-3);
}

MN_TEST(optim_adam_step_table_skips_buffers)
{
    mn_params p;
    mn_params_init_table(&p);
    int64_t s3[1] = {3}, s2[1] = {2};
    int ia = mn_params_add(&p, "a", 1, s3, MN_INIT_ZEROS, 0, 0, true);
    int ib = mn_params_add(&p, "buf", 1, s2, MN_INIT_ZEROS, 0, 0, false);
    int ic = mn_params_add(&p, "c", 1, s2, MN_INIT_ZEROS, 0, 0, true);
    MN_CHECK(t, ia == 0 && ib == 1 && ic == 2);
    MN_CHECK_OK(t, mn_params_alloc(&p));
    const float wa[3] = {0.5f, -1.0f, 2.0f}, wb[2] = {3.0f, 4.0f}, wc[2] = {-0.25f, 0.75f};
    memcpy(mn_params_w(&p, ia), wa, sizeof wa);
    memcpy(mn_params_w(&p, ib), wb, sizeof wb);
    memcpy(mn_params_w(&p, ic), wc, sizeof wc);
    for (int i = 0; i < 3; i++) mn_params_g(&p, ia)[i] = 0.1f * (float)(i + 1);
    for (int i = 0; i < 2; i++) mn_params_g(&p, ib)[i] = 5.0f;
    for (int i = 0; i < 2; i++) mn_params_g(&p, ic)[i] = -0.2f;

    /* The same update on raw copies, tensor by tensor. */
    float ra[3], rc[2], ga[3], gc[2], ma[3] = {0}, va[3] = {0}, mc[2] = {0}, vc[2] = {0};
    memcpy(ra, wa, sizeof ra);
    memcpy(rc, wc, sizeof rc);
    memcpy(ga, mn_params_g(&p, ia), sizeof ga);
    memcpy(gc, mn_params_g(&p, ic), sizeof gc);
    mn_adam_cfg c = mn_adam_default();
    for (long s = 1; s <= 2; s++) {
        mn_adam_step(&p, &c, 0.01f, s);
        mn_adam_update(ra, ga, ma, va, 3, &c, 0.01f, s);
        mn_adam_update(rc, gc, mc, vc, 2, &c, 0.01f, s);
    }
    MN_CHECK(t, memcmp(mn_params_w(&p, ia), ra, sizeof ra) == 0);
    MN_CHECK(t, memcmp(mn_params_w(&p, ic), rc, sizeof rc) == 0);
    MN_CHECK(t, memcmp(mn_params_w(&p, ia), wa, sizeof wa) != 0); /* it did move */
    /* The buffer: weights bit-identical, moments never written. */
    MN_CHECK(t, memcmp(mn_params_w(&p, ib), wb, sizeof wb) == 0);
    const float *mb = p.m + p.defs[ib].offset, *vb = p.v + p.defs[ib].offset;
    MN_CHECK(t, mb[0] == 0.0f && mb[1] == 0.0f && vb[0] == 0.0f && vb[1] == 0.0f);
    mn_params_free(&p);
}

/* ---------------------------------------------------------------- schedules */

#define LR(cfg, s) ((double)mn_sched_lr(&(cfg), (s)))

MN_TEST(optim_sched_constant)
{
    mn_sched_cfg c = {.kind = MN_SCHED_CONSTANT, .base_lr = 0.003f, .max_lr = 1.0f};
    MN_CHECK(t, mn_sched_lr(&c, 0) == 0.003f && mn_sched_lr(&c, 1000000) == 0.003f);
}

MN_TEST(optim_sched_triangular)
{
    /* base 0.1, max 1.0, half cycle 4 steps: a triangle 0.1 -> 1.0 -> 0.1 every 8 steps. */
    mn_sched_cfg c = {.kind = MN_SCHED_TRIANGULAR, .base_lr = 0.1f, .max_lr = 1.0f, .step_size = 4};
    MN_CHECK_NEAR(t, LR(c, 0), 0.1, 1e-7);
    MN_CHECK_NEAR(t, LR(c, 1), 0.325, 1e-7); /* x = 0.75: 0.1 + 0.9 * 0.25 */
    MN_CHECK_NEAR(t, LR(c, 2), 0.55, 1e-7);
    MN_CHECK_NEAR(t, LR(c, 4), 1.0, 1e-7);  /* peak */
    MN_CHECK_NEAR(t, LR(c, 6), 0.55, 1e-7);
    MN_CHECK_NEAR(t, LR(c, 8), 0.1, 1e-7);  /* cycle boundary */
    MN_CHECK_NEAR(t, LR(c, 12), 1.0, 1e-7); /* second peak, same height */
    MN_CHECK_NEAR(t, LR(c, 16), 0.1, 1e-7);
}

MN_TEST(optim_sched_triangular2)
{
    mn_sched_cfg c = {.kind = MN_SCHED_TRIANGULAR2, .base_lr = 0.1f, .max_lr = 1.0f, .step_size = 4};
    MN_CHECK_NEAR(t, LR(c, 2), 0.55, 1e-7);
    MN_CHECK_NEAR(t, LR(c, 4), 1.0, 1e-7);    /* cycle 1: full height 0.9 */
    MN_CHECK_NEAR(t, LR(c, 8), 0.1, 1e-7);
    MN_CHECK_NEAR(t, LR(c, 12), 0.55, 1e-7);  /* cycle 2: height 0.45 */
    MN_CHECK_NEAR(t, LR(c, 14), 0.325, 1e-7); /* x = 0.5: 0.1 + 0.9 * 0.5 * 0.5 */
    MN_CHECK_NEAR(t, LR(c, 20), 0.325, 1e-7); /* cycle 3: height 0.225 */
    MN_CHECK_NEAR(t, LR(c, 24), 0.1, 1e-7);
}

MN_TEST(optim_sched_exp_range)
{
    mn_sched_cfg c = {.kind = MN_SCHED_EXP_RANGE, .base_lr = 0.1f, .max_lr = 1.0f, .step_size = 4,
                      .gamma = 0.9f};
    /* gamma is the float 0.9f; its powers are written out in decimal below. */
    const double g = 0.89999997615814209; /* (double)0.9f */
    MN_CHECK_NEAR(t, LR(c, 0), 0.1, 1e-7);
    MN_CHECK_NEAR(t, LR(c, 2), 0.1 + 0.9 * 0.5 * (g * g), 1e-7);
    MN_CHECK_NEAR(t, LR(c, 2), 0.4645, 1e-6);          /* 0.1 + 0.45 * 0.81 */
    MN_CHECK_NEAR(t, LR(c, 4), 0.1 + 0.9 * 0.6561, 1e-6); /* 0.9^4 = 0.6561 */
    MN_CHECK_NEAR(t, LR(c, 12), 0.1 + 0.9 * 0.282429536481, 1e-6); /* 0.9^12 */
    MN_CHECK_NEAR(t, LR(c, 8), 0.1, 1e-7);
}

MN_TEST(optim_sched_one_cycle)
{
    /* Defaults: initial = 1/25 = 0.04, min = 0.04 / 1e4 = 4e-6, rise over steps 0..29,
     * fall over 29..99. */
    mn_sched_cfg c = {.kind = MN_SCHED_ONE_CYCLE, .max_lr = 1.0f, .total_steps = 100};
    MN_CHECK_NEAR(t, LR(c, 0), 0.04, 1e-8);
    MN_CHECK_NEAR(t, LR(c, 29), 1.0, 1e-6);
    MN_CHECK_NEAR(t, LR(c, 64), 0.5 * (1.0 + 4e-6), 1e-6); /* halfway down: cos(pi/2) = 0 */
    MN_CHECK_NEAR(t, LR(c, 99), 4e-6, 1e-10);
    MN_CHECK_NEAR(t, LR(c, 500), 4e-6, 1e-10); /* past the end: stays at min */
    MN_CHECK(t, LR(c, 10) > 0.04 && LR(c, 10) < LR(c, 20) && LR(c, 20) < LR(c, 29));
    MN_CHECK(t, LR(c, 40) > LR(c, 60) && LR(c, 60) > LR(c, 90));

    /* Explicit fields: pct 0.25 of 40 -> rise 0..9, fall 9..39; initial 0.1, min 0.001. */
    mn_sched_cfg d = {.kind = MN_SCHED_ONE_CYCLE, .max_lr = 1.0f, .total_steps = 40,
                      .pct_start = 0.25f, .div_factor = 10.0f, .final_div = 100.0f};
    MN_CHECK_NEAR(t, LR(d, 0), 0.1, 1e-7);
    MN_CHECK_NEAR(t, LR(d, 3), 0.325, 1e-7);   /* pct 1/3: 1 + (0.1 - 1)/2 (cos(pi/3) + 1) */
    MN_CHECK_NEAR(t, LR(d, 9), 1.0, 1e-7);     /* peak */
    MN_CHECK_NEAR(t, LR(d, 24), 0.5005, 1e-7); /* pct 1/2 of the fall */
    MN_CHECK_NEAR(t, LR(d, 19), 0.001 + 0.999 * 0.75, 1e-6); /* pct 1/3: (cos(pi/3)+1)/2 */
    MN_CHECK_NEAR(t, LR(d, 39), 0.001, 1e-9);
}

MN_TEST(optim_sched_cosine)
{
    mn_sched_cfg c = {.kind = MN_SCHED_COSINE, .base_lr = 0.01f, .max_lr = 1.0f, .warmup = 10,
                      .total_steps = 110};
    MN_CHECK_NEAR(t, LR(c, 0), 0.0, 1e-9);
    MN_CHECK_NEAR(t, LR(c, 5), 0.5, 1e-7);
    MN_CHECK_NEAR(t, LR(c, 10), 1.0, 1e-7);            /* warm-up end = peak */
    MN_CHECK_NEAR(t, LR(c, 35), 0.01 + 0.99 * 0.5 * (1.0 + 0.70710678118654752), 1e-6);
    MN_CHECK_NEAR(t, LR(c, 60), 0.505, 1e-6);          /* halfway: (max + base) / 2 */
    MN_CHECK_NEAR(t, LR(c, 110), 0.01, 1e-9);          /* final value */
    MN_CHECK_NEAR(t, LR(c, 5000), 0.01, 1e-9);
    MN_CHECK(t, LR(c, 109) > 0.01 && LR(c, 109) < 0.0103);
    c.warmup = 0;
    MN_CHECK_NEAR(t, LR(c, 0), 1.0, 1e-7);
}

MN_TEST(optim_sched_names)
{
    const char *names[] = {"constant", "triangular", "triangular2", "exp_range", "one_cycle",
                           "cosine"};
    const mn_sched_kind kinds[] = {MN_SCHED_CONSTANT,  MN_SCHED_TRIANGULAR, MN_SCHED_TRIANGULAR2,
                                   MN_SCHED_EXP_RANGE, MN_SCHED_ONE_CYCLE,  MN_SCHED_COSINE};
    for (int i = 0; i < 6; i++) {
        MN_CHECK(t, strcmp(mn_sched_name(kinds[i]), names[i]) == 0);
        MN_CHECK(t, mn_sched_from_name(names[i]) == (int)kinds[i]);
    }
    MN_CHECK(t, mn_sched_from_name("cyclic") == -1);
    MN_CHECK(t, mn_sched_from_name("") == -1);
    MN_CHECK(t, mn_sched_from_name(NULL) == -1);
    MN_CHECK(t, strcmp(mn_sched_name((mn_sched_kind)42), "unknown") == 0);
}

/* ---------------------------------------------------------------- clipping */

/* Trainable grads {3, 4} and {12} (norm 13); a non-trainable buffer with a huge gradient
 * that must be ignored by the norm and left alone by the scaling. */
static void clip_table(mn_params *p)
{
    mn_params_init_table(p);
    int64_t s2[1] = {2}, s1[1] = {1}, s3[1] = {3};
    mn_params_add(p, "a", 1, s2, MN_INIT_ZEROS, 0, 0, true);
    mn_params_add(p, "buf", 1, s3, MN_INIT_ZEROS, 0, 0, false);
    mn_params_add(p, "b", 1, s1, MN_INIT_ZEROS, 0, 0, true);
    mn_params_alloc(p);
    float *ga = mn_params_g(p, 0), *gbuf = mn_params_g(p, 1), *gb = mn_params_g(p, 2);
    ga[0] = 3.0f;
    ga[1] = 4.0f;
    gbuf[0] = gbuf[1] = gbuf[2] = 1000.0f;
    gb[0] = 12.0f;
}

MN_TEST(optim_clip_scales_to_tau)
{
    mn_params p;
    clip_table(&p);
    MN_CHECK(t, p.g != NULL);
    if (!p.g) return;
    MN_CHECK_NEAR(t, mn_grad_norm(&p), 13.0, 1e-12);
    double pre = mn_clip_grad_norm(&p, 1.0);
    MN_CHECK_NEAR(t, pre, 13.0, 1e-12); /* the pre-clip norm is returned */
    MN_CHECK_NEAR(t, mn_grad_norm(&p) / 1.0, 1.0, 1e-6);
    MN_CHECK_NEAR(t, mn_params_g(&p, 0)[0], 3.0 / 13.0, 1e-7);
    MN_CHECK_NEAR(t, mn_params_g(&p, 2)[0], 12.0 / 13.0, 1e-7);
    MN_CHECK(t, mn_params_g(&p, 1)[0] == 1000.0f && mn_params_g(&p, 1)[2] == 1000.0f);
    /* A second threshold, not 1: the norm afterwards is tau, not 1 (kann's bug). */
    mn_params_free(&p);
    clip_table(&p);
    pre = mn_clip_grad_norm(&p, 2.5);
    MN_CHECK_NEAR(t, pre, 13.0, 1e-12);
    MN_CHECK_NEAR(t, mn_grad_norm(&p) / 2.5, 1.0, 1e-6);
    mn_params_free(&p);
}

MN_TEST(optim_clip_below_tau_is_identity)
{
    mn_params p;
    clip_table(&p);
    float before[64];
    memcpy(before, p.g, p.total * sizeof(float));
    MN_CHECK_NEAR(t, mn_clip_grad_norm(&p, 20.0), 13.0, 1e-12);
    MN_CHECK(t, memcmp(before, p.g, p.total * sizeof(float)) == 0);
    MN_CHECK_NEAR(t, mn_clip_grad_norm(&p, 13.0), 13.0, 1e-12); /* equal: not scaled either */
    MN_CHECK(t, memcmp(before, p.g, p.total * sizeof(float)) == 0);
    mn_params_free(&p);
}

MN_TEST(optim_clip_nonfinite_untouched)
{
    mn_params p;
    clip_table(&p);
    float before[64];
    mn_params_g(&p, 2)[0] = NAN;
    memcpy(before, p.g, p.total * sizeof(float));
    double n = mn_clip_grad_norm(&p, 1.0);
    MN_CHECK(t, isnan(n));
    MN_CHECK(t, memcmp(before, p.g, p.total * sizeof(float)) == 0);
    mn_params_g(&p, 2)[0] = INFINITY;
    memcpy(before, p.g, p.total * sizeof(float));
    n = mn_clip_grad_norm(&p, 1.0);
    MN_CHECK(t, isinf(n) && n > 0);
    MN_CHECK(t, memcmp(before, p.g, p.total * sizeof(float)) == 0);
    /* A NaN in a buffer's gradient does not count. */
    mn_params_g(&p, 2)[0] = 12.0f;
    mn_params_g(&p, 1)[1] = NAN;
    MN_CHECK_NEAR(t, mn_grad_norm(&p), 13.0, 1e-12);
    mn_params_free(&p);
}
