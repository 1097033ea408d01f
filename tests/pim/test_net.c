/* tests/pim/test_net.c — the canceller object: windowed prediction equals one pass over the
 * whole signal, checkpoints round-trip, and training learns, reproducibly across thread counts. */
#include "mn_test.h"

#include <complex.h>
#include <math.h>
#include <string.h>

#include "mimonet/pim.h"

static void randomize_bn(mn_pim_net *q, mn_rng *r)
{
    /* Non-trivial running statistics so eval-mode batch norm is not the identity. */
    for (int i = 0; i < q->model.params.n; i++) {
        const mn_param_def *d = &q->model.params.defs[i];
        float *w = q->model.params.w + d->offset;
        if (strstr(d->name, "running_mean"))
            for (size_t j = 0; j < d->numel; j++) w[j] = 0.2f * (float)mn_rng_normal(r);
        if (strstr(d->name, "running_var"))
            for (size_t j = 0; j < d->numel; j++) w[j] = 0.5f + (float)mn_rng_uniform(r);
    }
}

MN_TEST(pim_net_predict_equals_whole_signal)
{
    const int n_tx = 3, n_rx = 2;
    const int64_t n = 437;
    mn_rng r;
    mn_rng_seed(&r, t->seed);
    mn_pim_net a, b;
    MN_CHECK_OK(t, mn_pim_net_create(&a, "light", n_tx, n_rx, 3, 64, &r));
    MN_CHECK_OK(t, mn_pim_net_create(&b, "light", n_tx, n_rx, 1, (int)n, NULL));
    randomize_bn(&a, &r);
    a.in_scale = 0.7f;
    a.out_scale = 2.5f;
    memcpy(b.model.params.w, a.model.params.w, a.model.params.total * sizeof(float));
    b.in_scale = a.in_scale;
    b.out_scale = a.out_scale;
    float complex *tx = mn_malloc(sizeof *tx * n_tx * n), *ya = mn_malloc(sizeof *ya * n_rx * n),
                  *yb = mn_malloc(sizeof *yb * n_rx * n);
    for (int64_t i = 0; i < n_tx * n; i++) tx[i] = CMPLXF((float)mn_rng_normal(&r), (float)mn_rng_normal(&r));
    MN_CHECK(t, a.border == 8 && a.window == 64);
    MN_CHECK_OK(t, mn_pim_net_predict(&a, ya, tx, n)); /* 64-sample windows, batches of 3 */
    MN_CHECK_OK(t, mn_pim_net_predict(&b, yb, tx, n)); /* one window: the whole signal */
    double worst = 0, scale = 0;
    for (int64_t i = 0; i < n_rx * n; i++) {
        double d = cabs((double complex)(ya[i] - yb[i]));
        if (d > worst) worst = d;
        if (cabs((double complex)yb[i]) > scale) scale = cabs((double complex)yb[i]);
    }
    /* Same inputs reach every kept output through the same arithmetic: expect equality up to
     * the GEMM's blocking (which may reorder a sum when the window length differs). */
    MN_CHECK_MSG(t, worst <= 1e-6 * scale, "windowed vs whole: max diff %.3g (scale %.3g)", worst, scale);
    MN_CHECK(t, scale > 0);
    mn_free(tx);
    mn_free(ya);
    mn_free(yb);
    mn_pim_net_free(&a);
    mn_pim_net_free(&b);
}

MN_TEST(pim_net_long_windows_same_prediction)
{
    /* mn_pim_net_long_windows: one long window at a time through mn_model_infer gives the
     * built windows' prediction (fp32 fused: the same bits), for spans shorter and longer than
     * the long window. */
    const int n_tx = 3, n_rx = 2;
    const int64_t n = 437;
    mn_rng r;
    mn_rng_seed(&r, t->seed ^ 0x10);
    mn_pim_net a;
    MN_CHECK_OK(t, mn_pim_net_create(&a, "light", n_tx, n_rx, 3, 64, &r));
    randomize_bn(&a, &r);
    a.in_scale = 0.7f;
    a.out_scale = 2.5f;
    float complex *tx = mn_malloc(sizeof *tx * n_tx * n), *yw = mn_malloc(sizeof *yw * n_rx * n),
                  *yl = mn_malloc(sizeof *yl * n_rx * n);
    for (int64_t i = 0; i < n_tx * n; i++) tx[i] = CMPLXF((float)mn_rng_normal(&r), (float)mn_rng_normal(&r));
    MN_CHECK_OK(t, mn_pim_net_predict(&a, yw, tx, n));
    MN_CHECK(t, mn_pim_net_long_windows(&a, 16) == MN_ERR_INVALID); /* not more than 2 borders */
    const int lens[] = {100, 1000};
    for (int k = 0; k < 2; k++) {
        MN_CHECK_OK(t, mn_pim_net_long_windows(&a, lens[k]));
        MN_CHECK(t, a.long_T == lens[k]);
        memset(yl, 0, sizeof *yl * n_rx * n);
        MN_CHECK_OK(t, mn_pim_net_predict(&a, yl, tx, n));
        if (mn_model_fused_usable(&a.model, 64))
            MN_CHECK_MSG(t, !memcmp(yw, yl, sizeof *yl * n_rx * n), "long windows of %d: other values", lens[k]);
        else /* layer by layer: the built windows are used (GEMM blocking may reorder sums) */
            for (int64_t i = 0; i < n_rx * n; i++) MN_CHECK_NEAR(t, crealf(yl[i]), crealf(yw[i]), 1e-5);
    }
    MN_CHECK_OK(t, mn_pim_net_long_windows(&a, 0));
    MN_CHECK(t, a.long_T == 0 && !a.jx);
    mn_free(tx);
    mn_free(yw);
    mn_free(yl);
    mn_pim_net_free(&a);
}

MN_TEST(pim_net_checkpoint_round_trip)
{
    mn_rng r;
    mn_rng_seed(&r, t->seed);
    mn_pim_net a, b;
    MN_CHECK_OK(t, mn_pim_net_create(&a, "light", 4, 2, 2, 128, &r));
    randomize_bn(&a, &r);
    a.in_scale = 0.123f;
    a.out_scale = 45.6f;
    char path[4200];
    snprintf(path, sizeof path, "%s/net.safetensors", mn_test_tmpdir(t));
    const char *k[1] = {"user.note"}, *v[1] = {"hello"};
    MN_CHECK_OK(t, mn_pim_net_save(&a, path, k, v, 1));
    MN_CHECK_OK(t, mn_pim_net_load(&b, path, 2, 128));
    MN_CHECK(t, b.n_tx == 4 && b.n_rx == 2 && strcmp(b.kind, "light") == 0);
    MN_CHECK(t, b.in_scale == a.in_scale && b.out_scale == a.out_scale);
    MN_CHECK(t, b.model.params.total == a.model.params.total &&
                    memcmp(b.model.params.w, a.model.params.w, a.model.params.total * sizeof(float)) == 0);
    /* A file that is not a canceller is refused with a message naming it. */
    mn_pim_net c;
    char bad[4200];
    snprintf(bad, sizeof bad, "%s/none.safetensors", mn_test_tmpdir(t));
    MN_CHECK(t, mn_pim_net_load(&c, bad, 2, 128) != MN_OK);
    MN_CHECK(t, strstr(mn_error_msg(), "none.safetensors") != NULL);
    mn_pim_net_free(&a);
    mn_pim_net_free(&b);
}

/* A small learnable task: rx = cubic product of a coupled tx mixture with one tap of memory. */
static void toy_task(float complex *tx, float complex *rx, int n_tx, int64_t n, uint64_t seed)
{
    mn_rng r;
    mn_rng_seed(&r, seed);
    for (int64_t i = 0; i < n_tx * n; i++)
        tx[i] = CMPLXF((float)(0.7 * mn_rng_normal(&r)), (float)(0.7 * mn_rng_normal(&r)));
    float complex prev = 0;
    for (int64_t i = 0; i < n; i++) {
        float complex v = 0.8f * tx[i] + (0.3f - 0.4f * I) * tx[n + i];
        float complex g = v * (crealf(v) * crealf(v) + cimagf(v) * cimagf(v));
        rx[i] = g + 0.5f * prev;
        prev = g;
    }
}

/* A short training run for the toy tasks here: windows of 1,100 samples, 4 a step, a
 * validation every 100 steps and an LR half-cycle of 100, seed 3. */
static mn_pim_train_cfg short_cfg(long steps)
{
    mn_pim_train_cfg c = mn_pim_train_default();
    c.steps = steps;
    c.batch = 4;
    c.window = 1100;
    c.eval_every = 100;
    c.clr_half = 100;
    c.seed = 3;
    return c;
}

static double train_once(mn_test_ctx *t, int threads, float *weights_out, size_t *nw)
{
    const int n_tx = 2, n_rx = 1;
    const int64_t n = 24000;
    float complex *tx = mn_malloc(sizeof *tx * n_tx * n), *rx = mn_malloc(sizeof *rx * n_rx * n);
    toy_task(tx, rx, n_tx, n, 7);
    mn_threads_set(threads);
    mn_rng r;
    mn_rng_seed(&r, 11);
    mn_pim_train_cfg c = short_cfg(600);
    mn_pim_net q;
    double ape = (double)NAN;
    mn_span sp[3];
    MN_CHECK_OK(t, mn_pim_split(sp, n, (const double[3]){0.7, 0.15, 0.15}, 1100));
    MN_CHECK_OK(t, mn_pim_net_create(&q, "light", n_tx, n_rx, c.batch, c.window, &r));
    mn_pim_train_result res;
    MN_CHECK_OK(t, mn_pim_train(&q, tx, rx, n, sp[0], sp[1], &c, &res));
    ape = res.best_val_ape_db;
    *nw = q.model.params.total;
    memcpy(weights_out, q.model.params.w, *nw * sizeof(float));
    mn_pim_net_free(&q);
    mn_free(tx);
    mn_free(rx);
    mn_threads_set(0);
    return ape;
}

MN_TEST(pim_train_learns_and_is_reproducible)
{
    static float w1[20000], w2[20000];
    size_t n1 = 0, n2 = 0;
    double a1 = train_once(t, 1, w1, &n1);
    double a2 = train_once(t, 2, w2, &n2);
    /* Predicting zero scores 0 dB; a linear-only fit of a cubic with this input power stays
     * within a few dB.  600 steps of the light model must clearly beat that. */
    MN_CHECK_MSG(t, a1 > 12.0, "validation APE after training: %.2f dB", a1);
    /* Same seed: bit-identical weights with 1 and 2 threads. */
    MN_CHECK(t, n1 == n2 && n1 > 0 && n1 < 20000);
    MN_CHECK_MSG(t, memcmp(w1, w2, n1 * sizeof(float)) == 0 && a1 == a2,
                 "1 vs 2 threads differ: APE %.6f vs %.6f", a1, a2);
}

/* The node of m named name (a conv's parameter prefix), or NULL. */
static const mn_node *node_named(const mn_model *m, const char *name)
{
    for (int i = 0; i < m->n_nodes; i++)
        if (!strcmp(m->nodes[i].name, name)) return &m->nodes[i];
    return NULL;
}

/* The product maps' prior: on any input, "pre" and "pim" are s Re and s Im of u1^2 conj(u2),
 * computed here in complex double from the split filters' outputs (s = 1/4, models.c). */
MN_TEST(pim_junction_prior_forms_the_product)
{
    mn_rng r;
    mn_rng_seed(&r, t->seed);
    mn_pim_net q;
    const int T = 128;
    MN_CHECK_OK(t, mn_pim_net_create(&q, "junction", 2, 1, 1, T, &r));
    float x[4 * 128];
    for (int i = 0; i < 4 * T; i++) x[i] = (float)mn_rng_normal(&r);
    MN_CHECK_OK(t, mn_model_forward(&q.model, x, 1, T, true));
    const mn_node *ar = node_named(&q.model, "u1re"), *ai = node_named(&q.model, "u1im");
    const mn_node *br = node_named(&q.model, "u2re"), *bi = node_named(&q.model, "u2im");
    const mn_node *pr = node_named(&q.model, "pre"), *pi = node_named(&q.model, "pim");
    MN_CHECK(t, ar && ai && br && bi && pr && pi);
    if (ar && ai && br && bi && pr && pi) {
        const int J = pr->C;
        double err = 0.0, ref = 0.0;
        for (int j = 0; j < J; j++)
            for (int s = 0; s < T; s++) {
                const size_t o = (size_t)j * T + s;
                double complex u1 = CMPLX((double)ar->y[o], (double)ai->y[o]);
                double complex u2 = CMPLX((double)br->y[o], (double)bi->y[o]);
                double complex p = 0.25 * u1 * u1 * conj(u2);
                err = fmax(err, fmax(fabs((double)pr->y[o] - creal(p)), fabs((double)pi->y[o] - cimag(p))));
                ref = fmax(ref, cabs(p));
            }
        MN_CHECK_MSG(t, ref > 0 && err <= 1e-5 * ref, "max |error| %.3g against max |product| %.3g", err, ref);
    }
    mn_pim_net_free(&q);
}

/* junction's prior (mn_pim_model_prior): u1 starts on the lower carrier and u2 on the upper.
 * The default plan puts the carriers at -fs/3 and +fs/3.  The conv is a correlation,
 * y[t] = sum_m w[m] x[t + m], so a complex tap set h[m] (re from the "re" conv's w_re taps, im
 * from the "im" conv's) has the response H(f) = sum_m h[m] e^{+j 2 pi f m}; and the im conv's
 * w_im taps must equal the re conv's w_re taps (a complex filter, not a widely linear one). */
MN_TEST(pim_junction_prior_splits_the_carriers)
{
    mn_rng r;
    mn_rng_seed(&r, t->seed);
    mn_pim_net q;
    MN_CHECK_OK(t, mn_pim_net_create(&q, "junction", 2, 1, 1, 128, &r));
    static const char *const re_names[2] = {"u1re.weight", "u2re.weight"}, *const im_names[2] = {"u1im.weight", "u2im.weight"};
    for (int u = 0; u < 2; u++) {
        int ir = mn_params_find(&q.model.params, re_names[u]), ii = mn_params_find(&q.model.params, im_names[u]);
        MN_CHECK(t, ir >= 0 && ii >= 0);
        if (ir < 0 || ii < 0) break;
        const mn_param_def *d = &q.model.params.defs[ir];
        const int J = (int)d->shape[0], K = (int)d->shape[2], pl = (K - 1) / 2;
        const float *wr = mn_params_w(&q.model.params, ir), *wi = mn_params_w(&q.model.params, ii);
        for (int j = 0; j < J; j++) {
            double complex lo = 0, hi = 0;
            double dev = 0;
            for (int k = 0; k < K; k++) {
                double complex h = CMPLX((double)wr[(j * 2) * K + k], (double)wi[(j * 2) * K + k]);
                lo += h * cexp(CMPLX(0, 2 * M_PI * (-1.0 / 3) * (k - pl)));
                hi += h * cexp(CMPLX(0, 2 * M_PI * (1.0 / 3) * (k - pl)));
                dev = fmax(dev, fabs((double)wi[(j * 2 + 1) * K + k] - (double)wr[(j * 2) * K + k]));
                dev = fmax(dev, fabs((double)wr[(j * 2 + 1) * K + k] + (double)wi[(j * 2) * K + k]));
            }
            double pass = cabs(u == 0 ? lo : hi), stop = cabs(u == 0 ? hi : lo);
            MN_CHECK_MSG(t, pass > 0.8 && pass < 1.2 && 20 * log10(pass / stop) > 30 && dev == 0,
                         "u%d, junction %d: pass %.3f, rejection %.1f dB, widely-linear part %.3g", u + 1, j, pass,
                         20 * log10(pass / stop), dev);
        }
    }
    mn_pim_net_free(&q);
}

/* pa's wiring (models.c): with the gain network's weights zero, its biases are one constant
 * complex gain a + jc on basis branch 0, and that branch passing x, so the model must be the
 * complex FIR h applied to (a + jc) x.  The expected output is computed here in complex double
 * from x, a + jc and h; a swapped product channel (g_re b_im for g_im b_re, say) breaks it. */
MN_TEST(pim_pa_constant_gain_is_a_complex_fir)
{
    mn_rng r;
    mn_rng_seed(&r, t->seed);
    mn_model m;
    mn_model_init(&m);
    MN_CHECK(t, mn_pim_model_declare(&m, "pa", 1, 1) > 0);
    enum { T = 96 };
    MN_CHECK_OK(t, mn_model_build(&m, 1, T, &r));
    const int ib = mn_params_find(&m.params, "basis.weight"), ig = mn_params_find(&m.params, "g2.weight");
    const int igb = mn_params_find(&m.params, "g2.bias"), io = mn_params_find(&m.params, "out.weight");
    const int iob = mn_params_find(&m.params, "out.bias");
    MN_CHECK(t, ib >= 0 && ig >= 0 && igb >= 0 && io >= 0 && iob >= 0);
    if (ib < 0 || ig < 0 || igb < 0 || io < 0 || iob < 0) {
        mn_model_free(&m);
        return;
    }
    const mn_param_def *db = &m.params.defs[ib], *dout = &m.params.defs[io];
    const int C2 = (int)db->shape[0], C = C2 / 2, Kb = (int)db->shape[2], M = (int)dout->shape[2];
    MN_CHECK(t, db->shape[1] == 2 && dout->shape[0] == 2 && dout->shape[1] == 4 * C && C >= 1);
    float *wb = mn_params_w(&m.params, ib), *wo = mn_params_w(&m.params, io);
    memset(wb, 0, db->numel * sizeof *wb);
    memset(mn_params_w(&m.params, ig), 0, m.params.defs[ig].numel * sizeof(float));
    memset(wo, 0, dout->numel * sizeof *wo);
    memset(mn_params_w(&m.params, iob), 0, m.params.defs[iob].numel * sizeof(float));
    float *gb = mn_params_w(&m.params, igb);
    memset(gb, 0, m.params.defs[igb].numel * sizeof *gb);
    const double a = 0.7, c = -0.45;
    gb[0] = (float)a; /* g_re of branch 0 */
    gb[C] = (float)c; /* g_im of branch 0 */
    const int cb = (Kb - 1) / 2;
    wb[((size_t)0 * 2 + 0) * Kb + cb] = 1.0f; /* b_re 0 = x_re */
    wb[((size_t)C * 2 + 1) * Kb + cb] = 1.0f; /* b_im 0 = x_im */
    /* Product channels: [0, C) g_re b_re, [C, 2C) g_im b_im, [2C, 3C) g_re b_im, [3C, 4C) g_im b_re. */
    double complex h[64];
    MN_CHECK(t, M <= 64);
    for (int k = 0; k < M && k < 64; k++) {
        h[k] = CMPLX(mn_rng_normal(&r), mn_rng_normal(&r)) / M;
        const float hr = (float)creal(h[k]), hi = (float)cimag(h[k]);
        const size_t S = (size_t)4 * C * M;
        const int ch[4] = {0, C, 2 * C, 3 * C};
        const float re_row[4] = {hr, -hr, -hi, -hi}, im_row[4] = {hi, -hi, hr, hr};
        for (int q = 0; q < 4; q++) {
            wo[(size_t)ch[q] * M + k] = re_row[q];
            wo[S + (size_t)ch[q] * M + k] = im_row[q];
        }
    }
    float x[2 * T];
    double complex z[T];
    for (int s = 0; s < T; s++) {
        x[s] = (float)mn_rng_normal(&r);
        x[T + s] = (float)mn_rng_normal(&r);
        z[s] = CMPLX(a, c) * CMPLX((double)x[s], (double)x[T + s]);
    }
    MN_CHECK_OK(t, mn_model_forward(&m, x, 1, T, false));
    int Co, To;
    const float *y = mn_model_output(&m, &Co, &To);
    MN_CHECK(t, y && Co == 2 && To == T);
    double err = 0.0, ref = 0.0;
    const int pl = (M - 1) / 2;
    for (int s = 0; y && Co == 2 && To == T && s < T; s++) {
        double complex want = 0.0;
        for (int k = 0; k < M; k++)
            if (s + k - pl >= 0 && s + k - pl < T) want += h[k] * z[s + k - pl];
        err = fmax(err, cabs(CMPLX((double)y[s], (double)y[T + s]) - want));
        ref = fmax(ref, cabs(want));
    }
    MN_CHECK_MSG(t, ref > 0.1 && err <= 1e-5 * ref, "max |error| %.3g against max |y| %.3g", err, ref);
    mn_model_free(&m);
}

/* pa learns a link that is mostly linear with a nonlinear residue, as a PA or one antenna's
 * self-interference is: y = h1 * x + 0.05 h2 * (x |x|^2), x white circular Gaussian of unit
 * power, h1 and h2 complex 5-tap filters of unit energy.  By Bussgang, x |x|^2 = 2 x + d with d
 * uncorrelated with x at every lag and E|d|^2 = E|x|^6 - 4 = 2, so the best linear model leaves
 * 0.05^2 * 2 = 0.005 of about 1.0 + 0.05^2 * 6 + cross terms: a linear-only bound near 23 dB
 * (computed below from the filters).  pa can represent the link exactly, and 1,200 steps must
 * beat the bound by 6 dB: they beat it by 10-14 dB with --seed 1 to 8, where the light model,
 * which has no linear path, stays within 0.2 dB of it (600 steps, seed 1). */
MN_TEST(pim_pa_learns_a_nonlinear_residue)
{
    const int64_t n = 24000;
    float complex *tx = mn_malloc(sizeof *tx * n), *rx = mn_malloc(sizeof *rx * n);
    MN_CHECK(t, tx && rx);
    if (!tx || !rx) {
        mn_free(tx);
        mn_free(rx);
        return;
    }
    mn_rng r;
    mn_rng_seed(&r, t->seed);
    double complex h1[5], h2[5];
    double e1 = 0.0, e2 = 0.0;
    for (int k = 0; k < 5; k++) {
        h1[k] = CMPLX(mn_rng_normal(&r), mn_rng_normal(&r));
        h2[k] = CMPLX(mn_rng_normal(&r), mn_rng_normal(&r));
        e1 += creal(h1[k] * conj(h1[k]));
        e2 += creal(h2[k] * conj(h2[k]));
    }
    for (int k = 0; k < 5; k++) {
        h1[k] /= sqrt(e1);
        h2[k] /= sqrt(e2);
    }
    const double beta = 0.05;
    for (int64_t s = 0; s < n; s++)
        tx[s] = (float complex)(CMPLX(mn_rng_normal(&r), mn_rng_normal(&r)) / sqrt(2.0));
    double py = 0.0;
    for (int64_t s = 0; s < n; s++) {
        double complex y = 0.0;
        for (int k = 0; k < 5; k++) {
            if (s - k < 0) continue;
            const double complex x = (double complex)tx[s - k];
            y += h1[k] * x + beta * h2[k] * x * (creal(x) * creal(x) + cimag(x) * cimag(x));
        }
        rx[s] = (float complex)y;
        py += creal(y * conj(y));
    }
    const double bound_db = 10.0 * log10(py / n / (beta * beta * 2.0));
    mn_pim_train_cfg c = short_cfg(1200);
    mn_span sp[3];
    MN_CHECK_OK(t, mn_pim_split(sp, n, (const double[3]){0.7, 0.15, 0.15}, 1100));
    mn_pim_net q;
    MN_CHECK_OK(t, mn_pim_net_create(&q, "pa", 1, 1, c.batch, c.window, &r));
    mn_pim_train_result res;
    MN_CHECK_OK(t, mn_pim_train(&q, tx, rx, n, sp[0], sp[1], &c, &res));
    MN_CHECK_MSG(t, bound_db > 20.0 && bound_db < 26.0 && res.best_val_ape_db > bound_db + 6.0,
                 "validation APE %.2f dB against a linear-only bound of %.2f dB", res.best_val_ape_db, bound_db);
    mn_pim_net_free(&q);
    mn_free(tx);
    mn_free(rx);
}
