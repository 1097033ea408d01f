/* tests/pim/test_adapt.c — online adaptation (mn_pim_adapt): with no steps it is plain
 * prediction; by Adam and by least squares it never looks at a received sample before
 * predicting it, and it tracks a coupling that changes under a trained model. */
#include "mn_test.h"

#include <complex.h>
#include <math.h>
#include <string.h>

#include "mimonet/pim.h"

enum { N_TX = 2, N_RX = 1 };

/* A junction net for N_TX -> N_RX with scaling 1 (the weights from rng, starting filters on). */
static mn_status make_net(mn_pim_net *q, uint64_t seed)
{
    mn_rng r;
    mn_rng_seed(&r, seed);
    mn_status st = mn_pim_net_create(q, "junction", N_TX, N_RX, 4, 1024, &r);
    if (st == MN_OK) q->in_scale = q->out_scale = 1.0f;
    return st;
}

static void copy_net(mn_pim_net *dst, const mn_pim_net *src)
{
    memcpy(dst->model.params.w, src->model.params.w, src->model.params.total * sizeof(float));
    dst->in_scale = src->in_scale;
    dst->out_scale = src->out_scale;
}

static void white(float complex *x, int64_t len, mn_rng *r)
{
    for (int64_t i = 0; i < len; i++) x[i] = CMPLXF((float)mn_rng_normal(r), (float)mn_rng_normal(r));
}

/* APE (dB) of yhat against y over samples [a, b) of one row. */
static double ape_db(const float complex *y, const float complex *yhat, int64_t a, int64_t b)
{
    double p = 0, e = 0;
    for (int64_t i = a; i < b; i++) {
        p += (double)crealf(y[i] * conjf(y[i]));
        e += (double)crealf((y[i] - yhat[i]) * conjf(y[i] - yhat[i]));
    }
    return 10 * log10(p / e);
}

static mn_pim_adapt_cfg small_cfg(void)
{
    mn_pim_adapt_cfg c = mn_pim_adapt_default();
    c.block = 512;
    c.steps = 2;
    c.batch = 2;
    c.window = 512;
    c.history = 4096;
    c.lr = 3e-3f;
    return c;
}

MN_TEST(pim_adapt_without_steps_is_prediction)
{
    const int64_t n = 5000, lo = 700, hi = 4321;
    mn_pim_net q;
    MN_CHECK_OK(t, make_net(&q, t->seed));
    mn_rng r;
    mn_rng_seed(&r, t->seed + 1);
    float complex *tx = mn_malloc(sizeof *tx * N_TX * n), *rx = mn_malloc(sizeof *rx * N_RX * n);
    float complex *whole = mn_malloc(sizeof *whole * N_RX * n), *out = mn_malloc(sizeof *out * N_RX * (hi - lo));
    white(tx, N_TX * n, &r);
    white(rx, N_RX * n, &r);
    MN_CHECK_OK(t, mn_pim_net_predict(&q, whole, tx, n));
    mn_pim_adapt_cfg c = small_cfg();
    c.steps = 0;
    mn_pim_adapt_result res;
    MN_CHECK_OK(t, mn_pim_adapt(&q, out, tx, rx, n, lo, hi, &c, &res));
    double worst = 0, scale = 0;
    for (int64_t i = lo; i < hi; i++) {
        double d = cabs((double complex)(out[i - lo] - whole[i])), s = cabs((double complex)whole[i]);
        worst = d > worst ? d : worst;
        scale = s > scale ? s : scale;
    }
    MN_CHECK(t, scale > 0 && res.updates == 0);
    MN_CHECK_MSG(t, worst <= 1e-5 * scale, "blockwise vs whole prediction: max diff %.3g (scale %.3g)", worst, scale);
    mn_free(tx);
    mn_free(rx);
    mn_free(whole);
    mn_free(out);
    mn_pim_net_free(&q);
}

/* Adapt twice over outputs [lo, hi) = [1000, 6000) of white signals, the second time with rx
 * on [from, to) turned into gain rx + add: the outputs must be bit-identical before `same` and
 * differ somewhere in [same, upto) (so that the check can fail). */
static void check_rx_change(mn_test_ctx *t, const mn_pim_adapt_cfg *c, uint64_t seed, int64_t from, int64_t to,
                            float gain, float add, int64_t same, int64_t upto, const char *what)
{
    const int64_t n = 6000, lo = 1000, hi = 6000;
    mn_pim_net a, b;
    MN_CHECK_OK(t, make_net(&a, t->seed));
    MN_CHECK_OK(t, make_net(&b, t->seed));
    mn_rng r;
    mn_rng_seed(&r, seed);
    float complex *tx = mn_malloc(sizeof *tx * N_TX * n), *rx = mn_malloc(sizeof *rx * N_RX * n);
    float complex *oa = mn_malloc(sizeof *oa * (hi - lo)), *ob = mn_malloc(sizeof *ob * (hi - lo));
    white(tx, N_TX * n, &r);
    white(rx, N_RX * n, &r);
    MN_CHECK_OK(t, mn_pim_adapt(&a, oa, tx, rx, n, lo, hi, c, NULL));
    for (int64_t i = from; i < to; i++) rx[i] = gain * rx[i] + add;
    MN_CHECK_OK(t, mn_pim_adapt(&b, ob, tx, rx, n, lo, hi, c, NULL));
    MN_CHECK_MSG(t, !memcmp(oa, ob, sizeof *oa * (size_t)(same - lo)), "%s: outputs before %lld changed", what,
                 (long long)same);
    bool later = false;
    for (int64_t i = same; i < upto && !later; i++) later = oa[i - lo] != ob[i - lo];
    MN_CHECK_MSG(t, later, "%s: outputs [%lld, %lld) ignore the change", what, (long long)same, (long long)upto);
    mn_free(tx);
    mn_free(rx);
    mn_free(oa);
    mn_free(ob);
    mn_pim_net_free(&a);
    mn_pim_net_free(&b);
}

/* Block k is predicted by weights that saw rx before it only: changing rx from block 3 on leaves
 * blocks 0..3 bit-identical, and changes later ones. */
MN_TEST(pim_adapt_is_causal)
{
    for (int k = 0; k < 2; k++) {
        mn_pim_adapt_cfg c = small_cfg();
        c.method = k ? MN_PIM_ADAPT_LS : MN_PIM_ADAPT_ADAM;
        const int64_t cut = 1000 + 3 * c.block; /* the start of block 3 */
        check_rx_change(t, &c, t->seed + 2, cut, 6000, -3.0f, 0.0f, cut + c.block, 6000,
                        k ? "least squares" : "Adam");
    }
}

/* The newest received sample is learned from before the next block: the windows' Tx side runs
 * past the block (the canceller's latency), so their loss reaches its last sample.  Changing rx
 * at block 2's last sample alone leaves blocks 0..2 bit-identical and changes block 3. */
MN_TEST(pim_adapt_learns_the_newest_sample)
{
    mn_pim_adapt_cfg c = small_cfg();
    c.history = c.window; /* every window is the newest */
    const int64_t cut = 1000 + 3 * c.block;
    check_rx_change(t, &c, t->seed + 4, cut - 1, cut, 1.0f, 5.0f, cut, cut + c.block, "block 2's last sample");
}

/* Squared distance of q's weights from w0. */
static double dist2(const mn_pim_net *q, const float *w0)
{
    double d = 0;
    for (size_t i = 0; i < q->model.params.total; i++) {
        const double e = (double)q->model.params.w[i] - (double)w0[i];
        d += e * e;
    }
    return d;
}

/* The anchor pulls toward the trained weights: at lr x anchor = 1 every step ends on them (the
 * output is the fixed model's blockwise prediction, to rounding), and at 1/2 the weights end
 * nearer them than without it. */
MN_TEST(pim_adapt_anchor_holds_the_trained_weights)
{
    const int64_t n = 6000, lo = 1000, hi = 6000;
    mn_rng r;
    mn_rng_seed(&r, t->seed + 5);
    float complex *tx = mn_malloc(sizeof *tx * N_TX * n), *rx = mn_malloc(sizeof *rx * N_RX * n);
    float complex *o[3];
    for (int k = 0; k < 3; k++) o[k] = mn_malloc(sizeof *o[k] * (hi - lo));
    white(tx, N_TX * n, &r);
    white(rx, N_RX * n, &r);
    mn_pim_net q;
    MN_CHECK_OK(t, make_net(&q, t->seed));
    const size_t P = q.model.params.total;
    float *w0 = mn_malloc(P * sizeof *w0);
    memcpy(w0, q.model.params.w, P * sizeof *w0);
    mn_pim_adapt_cfg c = small_cfg();
    c.steps = 0;
    MN_CHECK_OK(t, mn_pim_adapt(&q, o[0], tx, rx, n, lo, hi, &c, NULL)); /* the fixed model */
    c = small_cfg();
    c.anchor = 1.0f / c.lr;
    MN_CHECK_OK(t, mn_pim_adapt(&q, o[1], tx, rx, n, lo, hi, &c, NULL));
    double worst = 0, scale = 0;
    for (int64_t i = 0; i < hi - lo; i++) {
        const double d = cabs((double complex)(o[1][i] - o[0][i])), s = cabs((double complex)o[0][i]);
        worst = d > worst ? d : worst;
        scale = s > scale ? s : scale;
    }
    MN_CHECK_MSG(t, scale > 0 && worst <= 1e-5 * scale, "anchored fully: max diff %.3g from the fixed model (scale %.3g)",
                 worst, scale);
    double d[2];
    for (int k = 0; k < 2; k++) {
        memcpy(q.model.params.w, w0, P * sizeof *w0);
        c = small_cfg();
        c.anchor = k ? 0.5f / c.lr : 0.0f;
        MN_CHECK_OK(t, mn_pim_adapt(&q, o[2], tx, rx, n, lo, hi, &c, NULL));
        d[k] = dist2(&q, w0);
    }
    MN_CHECK_MSG(t, d[0] > 0 && d[1] < 0.5 * d[0], "squared distance from the trained weights: %.3g free, %.3g anchored",
                 d[0], d[1]);
    for (int k = 0; k < 3; k++) mn_free(o[k]);
    mn_free(w0);
    mn_free(tx);
    mn_free(rx);
    mn_pim_net_free(&q);
}

/* A teacher net produces the interference; halfway through, its coupling to the Rx antenna
 * turns by 0.8 rad (a drifting connector).  The student starts as the teacher: without
 * adaptation its second half scores 2 - 2 cos 0.8 of error, 2.2 dB; adapting must recover: to
 * 20 dB with Adam, and to 35 dB by least squares, whose output layer can turn by exactly that
 * (the noise is 40 dB down). */
static void check_tracks(mn_test_ctx *t, mn_pim_adapt_method method)
{
    const int64_t n = 24576, lo = 2048, turn = 8192;
    mn_pim_net teacher, still, moving;
    MN_CHECK_OK(t, make_net(&teacher, t->seed));
    MN_CHECK_OK(t, make_net(&still, t->seed + 7));
    MN_CHECK_OK(t, make_net(&moving, t->seed + 7));
    copy_net(&still, &teacher);
    copy_net(&moving, &teacher);
    mn_rng r;
    mn_rng_seed(&r, t->seed + 3);
    float complex *tx = mn_malloc(sizeof *tx * N_TX * n), *rx = mn_malloc(sizeof *rx * n);
    float complex *o0 = mn_malloc(sizeof *o0 * (n - lo)), *o1 = mn_malloc(sizeof *o1 * (n - lo));
    white(tx, N_TX * n, &r);
    MN_CHECK_OK(t, mn_pim_net_predict(&teacher, rx, tx, n));
    double p = 0;
    for (int64_t i = 0; i < n; i++) p += (double)crealf(rx[i] * conjf(rx[i]));
    const float sigma = (float)sqrt(p / n * 1e-4 / 2); /* noise 40 dB under the interference */
    const float complex turn_by = cexpf(0.8f * I);
    for (int64_t i = 0; i < n; i++) {
        if (i >= turn) rx[i] *= turn_by;
        rx[i] += CMPLXF(sigma * (float)mn_rng_normal(&r), sigma * (float)mn_rng_normal(&r));
    }
    mn_pim_adapt_cfg c = small_cfg();
    c.steps = 0;
    MN_CHECK_OK(t, mn_pim_adapt(&still, o0, tx, rx, n, lo, n, &c, NULL));
    c = small_cfg();
    c.method = method;
    if (method == MN_PIM_ADAPT_LS) c.history = 2048; /* the memory: e^-4 of the old coupling by the last quarter */
    mn_pim_adapt_result res;
    MN_CHECK_OK(t, mn_pim_adapt(&moving, o1, tx, rx, n, lo, n, &c, &res));
    const int64_t a = n - 6144 - lo, b = n - lo; /* the last quarter */
    double before0 = ape_db(rx + lo, o0, 0, turn - lo), before1 = ape_db(rx + lo, o1, 0, turn - lo);
    double after0 = ape_db(rx + lo, o0, a, b), after1 = ape_db(rx + lo, o1, a, b);
    MN_CHECK_MSG(t, before0 > 30 && before1 > 25, "before the turn: still %.1f dB, adapting %.1f dB", before0, before1);
    MN_CHECK_MSG(t, fabs(after0 - 2.2) < 0.5, "without adaptation after the turn: %.2f dB, expected 2.2", after0);
    const double want = method == MN_PIM_ADAPT_LS ? 35 : 20;
    MN_CHECK_MSG(t, after1 > want, "adapting (method %d), the last quarter scores %.1f dB (fixed model %.1f dB)",
                 (int)method, after1, after0);
    MN_CHECK(t, res.updates > 0 && isfinite(res.last_loss));
    mn_free(tx);
    mn_free(rx);
    mn_free(o0);
    mn_free(o1);
    mn_pim_net_free(&teacher);
    mn_pim_net_free(&still);
    mn_pim_net_free(&moving);
}

MN_TEST(pim_adapt_tracks_a_coupling_change)
{
    check_tracks(t, MN_PIM_ADAPT_ADAM);
    check_tracks(t, MN_PIM_ADAPT_LS);
}

MN_TEST(pim_adapt_refuses_bad_settings)
{
    mn_pim_net q;
    MN_CHECK_OK(t, make_net(&q, t->seed));
    float complex buf[4096] = {0};
    mn_pim_adapt_cfg c = small_cfg();
    MN_CHECK(t, mn_pim_adapt(&q, buf, buf, buf, 2048, 100, 50, &c, NULL) == MN_ERR_INVALID);  /* empty range */
    MN_CHECK(t, mn_pim_adapt(&q, buf, buf, buf, 2048, 0, 3000, &c, NULL) == MN_ERR_INVALID);  /* past the end */
    c.batch = 5; /* the net takes 4 windows */
    MN_CHECK(t, mn_pim_adapt(&q, buf, buf, buf, 2048, 0, 1024, &c, NULL) == MN_ERR_INVALID);
    c = small_cfg();
    c.window = 2 * q.border; /* no sample left to learn from */
    MN_CHECK(t, mn_pim_adapt(&q, buf, buf, buf, 2048, 0, 1024, &c, NULL) == MN_ERR_INVALID);
    c = small_cfg();
    c.history = c.window - 1;
    MN_CHECK(t, mn_pim_adapt(&q, buf, buf, buf, 2048, 0, 1024, &c, NULL) == MN_ERR_INVALID);
    c = small_cfg();
    c.lr = NAN;
    MN_CHECK(t, mn_pim_adapt(&q, buf, buf, buf, 2048, 0, 1024, &c, NULL) == MN_ERR_INVALID);
    const float anchors[] = {-1.0f, NAN, 1.01f / c.lr}; /* negative, not a number, past the trained weights */
    for (int k = 0; k < 3; k++) {
        c = small_cfg();
        c.anchor = anchors[k];
        MN_CHECK(t, mn_pim_adapt(&q, buf, buf, buf, 2048, 0, 1024, &c, NULL) == MN_ERR_INVALID);
    }
    c = small_cfg();
    c.method = MN_PIM_ADAPT_LS;
    c.block = q.window - 2 * q.border + 1; /* a block and its receptive field exceed the window */
    MN_CHECK(t, mn_pim_adapt(&q, buf, buf, buf, 2048, 0, 2048, &c, NULL) == MN_ERR_INVALID);
    c.block = q.window - 2 * q.border;
    MN_CHECK_OK(t, mn_pim_adapt(&q, buf, buf, buf, 2048, 0, 2048, &c, NULL)); /* the longest block */
    mn_pim_net_free(&q);
}
