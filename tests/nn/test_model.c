/* tests/nn/test_model.c — model composition: counts, receptive field, wiring of backward through
 * a graph with branches (finite differences over the whole model), JSON round trip, errors. */
#include "mn_test.h"

#include <string.h>

#include "mimonet/nn.h"
#include "mimonet/pim.h"
#include "util.h" /* randn, rel_diff */

MN_TEST(model_light_counts)
{
    mn_model m;
    mn_model_init(&m);
    mn_pim_model_light(&m, 32, 16);
    mn_rng r;
    mn_rng_seed(&r, t->seed);
    MN_CHECK_OK(t, mn_model_build(&m, 2, 64, &r));
    /* DESIGN.md: 11,835 params, 11,424 MAC/sample (counted there by hand from the layer list). */
    MN_CHECK(t, mn_params_count_trainable(&m.params) == 11835);
    MN_CHECK(t, mn_model_macs_per_sample(&m) == 11424);
    int l, rr;
    mn_model_receptive_field(&m, &l, &rr);
    MN_CHECK(t, l == 8 && rr == 8); /* k3 dilations 1+2+4+1 on each side */
    MN_CHECK(t, mn_model_in_channels(&m) == 64 && mn_model_out_channels(&m) == 32);
    MN_CHECK(t, mn_params_find(&m.params, "l1.dw.weight") >= 0);
    MN_CHECK(t, mn_params_find(&m.params, "l3.bn.running_var") >= 0);
    MN_CHECK(t, mn_params_find(&m.params, "fc2.bias") >= 0);
    mn_model_free(&m);
}

/* A small graph exercising every node kind, including a residual branch and a valid conv.
 * Layer norm sits on 16 channels: over very few channels a position can have near-zero
 * variance, where the function is too sharply curved for finite differences. */
static int small_graph(mn_model *m)
{
    int x = mn_model_input(m, 4);
    int a = mn_model_conv1d(m, x, "c1", &(mn_conv1d_cfg){.cin = 4, .cout = 4, .k = 3, .dil = 2, .groups = 2,
                                                        .pad = MN_PAD_SAME, .bias = true});
    a = mn_model_act(m, a, MN_ACT_TANH, 0);
    int s = mn_model_add(m, a, x); /* residual */
    s = mn_model_batchnorm(m, s, "bn", true);
    s = mn_model_lut(m, s, "lut", 9, -6.0f, 6.0f); /* wide: batch-normed inputs never clamp */
    s = mn_model_linear(m, s, "fc", 16);
    s = mn_model_layernorm(m, s, "ln", true);
    s = mn_model_act(m, s, MN_ACT_SIGMOID, 0);
    s = mn_model_conv1d(m, s, "out", &(mn_conv1d_cfg){.cin = 16, .cout = 2, .k = 2, .dil = 1, .groups = 1,
                                                     .pad = MN_PAD_VALID, .bias = true});
    return s;
}

typedef struct {
    mn_model *m;
    float *x, *r;
    int B, T;
} fd_ctx;

/* L = sum(r * model(x)) in double. */
static double fd_loss(void *vc)
{
    fd_ctx *c = vc;
    mn_model_forward(c->m, c->x, c->B, c->T, true);
    int C, T;
    const float *y = mn_model_output(c->m, &C, &T);
    double s = 0;
    for (size_t i = 0; i < (size_t)c->B * C * T; i++) s += (double)c->r[i] * (double)y[i];
    return s;
}

/* Three random directions per trainable tensor of c->m, and for the input x (its analytic
 * gradient in dx), against the analytic parameter gradients g. */
static void check_directions(mn_test_ctx *t, fd_ctx *c, const float *g, const float *dx, size_t nx, mn_rng *rng,
                             const char *label)
{
    mn_params *p = &c->m->params;
    for (int i = 0; i < p->n; i++) {
        const mn_param_def *d = &p->defs[i];
        if (!d->trainable) continue;
        for (int k = 0; k < 3; k++) {
            double err = mn_gradcheck_dir(fd_loss, c, p->w + d->offset, g + d->offset, d->numel, 1e-2, rng, NULL);
            MN_CHECK_MSG(t, err < 3e-3, "%s: param %s direction %d: rel err %.3g", label, d->name, k, err);
        }
    }
    for (int k = 0; k < 3; k++) {
        double err = mn_gradcheck_dir(fd_loss, c, c->x, dx, nx, 1e-2, rng, NULL);
        MN_CHECK_MSG(t, err < 3e-3, "%s: input direction %d: rel err %.3g", label, k, err);
    }
}

MN_TEST(model_graph_gradcheck)
{
    mn_model m;
    mn_model_init(&m);
    MN_CHECK(t, small_graph(&m) > 0);
    mn_rng rng;
    mn_rng_seed(&rng, t->seed);
    const int B = 3, T = 12;
    MN_CHECK_OK(t, mn_model_build(&m, B, T, &rng));
    /* An affine table (slope 0.8, offset 0.1) has no kinks for a difference step to straddle;
     * the table gradient (the interpolation weights) does not depend on its values. */
    float *tab = mn_params_w(&m.params, mn_params_find(&m.params, "lut.table"));
    for (int c = 0; c < 4; c++)
        for (int k = 0; k < 9; k++) tab[c * 9 + k] = 0.8f * (-6.0f + 1.5f * (float)k) + 0.1f;
    float x[3 * 4 * 12], r[3 * 2 * 11];
    for (size_t i = 0; i < sizeof x / sizeof *x; i++) x[i] = (float)mn_rng_normal(&rng);
    for (size_t i = 0; i < sizeof r / sizeof *r; i++) r[i] = (float)mn_rng_normal(&rng);
    MN_CHECK_OK(t, mn_model_forward(&m, x, B, T, true));
    int C, To;
    mn_model_output(&m, &C, &To);
    MN_CHECK(t, C == 2 && To == 11);
    mn_params_zero_grad(&m.params);
    MN_CHECK_OK(t, mn_model_backward(&m, r));
    float dx[3 * 4 * 12];
    memcpy(dx, m.nodes[0].dy, sizeof dx);
    float *g = mn_malloc(m.params.total * sizeof *g);
    memcpy(g, m.params.g, m.params.total * sizeof *g);
    fd_ctx c = {&m, x, r, B, T};
    check_directions(t, &c, g, dx, sizeof x / sizeof *x, &rng, "graph");
    /* And the check can fail: a gradient off by a factor of two (a classic missed "+=" or a
     * doubled path) is caught along at least one of three directions. */
    int ip = mn_params_find(&m.params, "fc.weight");
    const mn_param_def *d = &m.params.defs[ip];
    for (size_t j = 0; j < d->numel; j++) g[d->offset + j] *= 0.5f;
    double bad = 0;
    for (int k = 0; k < 3; k++) bad = fmax(bad, mn_gradcheck_dir(fd_loss, &c, m.params.w + d->offset, g + d->offset, d->numel, 1e-2, &rng, NULL));
    MN_CHECK_MSG(t, bad > 1e-2, "a halved gradient passed: rel err %.3g", bad);
    mn_free(g);
    mn_model_free(&m);
}

/* The physics-shaped PIM models end to end at 2 Tx -> 1 Rx: every trainable tensor and the input
 * along three random directions.  junction squares a node (mul(a, a)), consumes nodes many times
 * and multiplies five factors, so its backward exercises gradient accumulation that the small
 * graph above does not; pa squares its input node and slices a node into a swapped concat. */
MN_TEST(model_pim_physics_gradcheck)
{
    static const char *const kinds[] = {"junction", "poly", "pa"};
    for (size_t kk = 0; kk < sizeof kinds / sizeof *kinds; kk++) {
        mn_model m;
        mn_model_init(&m);
        MN_CHECK(t, mn_pim_model_declare(&m, kinds[kk], 2, 1) > 0);
        mn_rng rng;
        mn_rng_seed(&rng, t->seed + kk);
        enum { B = 2, T = 40 };
        MN_CHECK_OK(t, mn_model_build(&m, B, T, &rng));
        float x[B * 4 * T], r[B * 2 * T], dx[B * 4 * T];
        for (size_t i = 0; i < sizeof x / sizeof *x; i++) x[i] = (float)mn_rng_normal(&rng);
        for (size_t i = 0; i < sizeof r / sizeof *r; i++) r[i] = (float)mn_rng_normal(&rng);
        MN_CHECK_OK(t, mn_model_forward(&m, x, B, T, true));
        int C, To;
        mn_model_output(&m, &C, &To);
        MN_CHECK(t, C == 2 && To == T);
        mn_params_zero_grad(&m.params);
        MN_CHECK_OK(t, mn_model_backward(&m, r));
        memcpy(dx, m.nodes[0].dy, sizeof dx);
        float *g = mn_malloc(m.params.total * sizeof *g);
        MN_CHECK(t, g != NULL);
        if (!g) {
            mn_model_free(&m);
            return;
        }
        memcpy(g, m.params.g, m.params.total * sizeof *g);
        fd_ctx c = {&m, x, r, B, T};
        check_directions(t, &c, g, dx, sizeof x / sizeof *x, &rng, kinds[kk]);
        mn_free(g);
        mn_model_free(&m);
    }
}

/* mn_model_set_input_grad(m, false), as training runs: the weights' gradients are bitwise those
 * of a backward that also computes d loss / d x, whether the input feeds only convolutions (the
 * PIM models) or also another node (a tanh here), and switching it back on restores dx. */
MN_TEST(model_input_grad_off_same_weight_grads)
{
    for (int kk = 0; kk < 4; kk++) {
        mn_model m;
        mn_model_init(&m);
        if (kk < 3) {
            static const char *const kinds[] = {"light", "junction", "poly"};
            MN_CHECK(t, mn_pim_model_declare(&m, kinds[kk], 2, 1) > 0);
        } else {
            int x0 = mn_model_input(&m, 4);
            const mn_conv1d_cfg cv = {.cin = 4, .cout = 2, .k = 3, .dil = 1, .groups = 1, .pad = MN_PAD_SAME, .bias = true};
            int a = mn_model_conv1d(&m, x0, "a", &cv);
            int b = mn_model_conv1d(&m, mn_model_act(&m, x0, MN_ACT_TANH, 0), "b", &cv);
            MN_CHECK(t, mn_model_add(&m, a, b) > 0);
        }
        mn_rng rng;
        mn_rng_seed(&rng, t->seed + (uint64_t)kk);
        enum { B = 2, T = 40 };
        MN_CHECK_OK(t, mn_model_build(&m, B, T, &rng));
        float x[B * 4 * T], r[B * 2 * T], dx[B * 4 * T];
        for (size_t i = 0; i < sizeof x / sizeof *x; i++) x[i] = (float)mn_rng_normal(&rng);
        for (size_t i = 0; i < sizeof r / sizeof *r; i++) r[i] = (float)mn_rng_normal(&rng);
        float *g = mn_malloc(m.params.total * sizeof *g);
        MN_CHECK(t, g != NULL);
        for (int pass = 0; pass < 3 && g; pass++) {
            mn_model_set_input_grad(&m, pass != 1);
            MN_CHECK_OK(t, mn_model_forward(&m, x, B, T, true));
            mn_params_zero_grad(&m.params);
            MN_CHECK_OK(t, mn_model_backward(&m, r));
            if (pass == 0) {
                memcpy(g, m.params.g, m.params.total * sizeof *g);
                memcpy(dx, m.nodes[0].dy, sizeof dx);
                double n2 = 0;
                for (size_t i = 0; i < sizeof dx / sizeof *dx; i++) n2 += (double)dx[i] * (double)dx[i];
                MN_CHECK_MSG(t, n2 > 0, "model %d: no input gradient", kk);
            } else {
                MN_CHECK_MSG(t, !memcmp(g, m.params.g, m.params.total * sizeof *g), "model %d pass %d: weight gradients differ", kk, pass);
                if (pass == 2) MN_CHECK_MSG(t, !memcmp(dx, m.nodes[0].dy, sizeof dx), "model %d: dx not restored", kk);
            }
        }
        mn_free(g);
        mn_model_free(&m);
    }
}

MN_TEST(model_json_round_trip)
{
    mn_model a, b;
    mn_model_init(&a);
    mn_model_init(&b);
    small_graph(&a);
    mn_rng rng;
    mn_rng_seed(&rng, t->seed);
    MN_CHECK_OK(t, mn_model_build(&a, 2, 16, &rng));
    char *js = mn_model_to_json(&a);
    MN_CHECK(t, js != NULL);
    MN_CHECK_OK(t, mn_model_from_json(&b, js));
    MN_CHECK_OK(t, mn_model_build(&b, 2, 16, NULL));
    MN_CHECK(t, a.params.n == b.params.n && a.params.total == b.params.total);
    for (int i = 0; i < a.params.n && i < b.params.n; i++)
        MN_CHECK(t, strcmp(a.params.defs[i].name, b.params.defs[i].name) == 0 &&
                        a.params.defs[i].numel == b.params.defs[i].numel);
    memcpy(b.params.w, a.params.w, a.params.total * sizeof(float));
    float x[2 * 4 * 16];
    for (size_t i = 0; i < sizeof x / sizeof *x; i++) x[i] = (float)mn_rng_normal(&rng);
    mn_model_forward(&a, x, 2, 16, false);
    mn_model_forward(&b, x, 2, 16, false);
    int C, T;
    const float *ya = mn_model_output(&a, &C, &T), *yb = mn_model_output(&b, NULL, NULL);
    MN_CHECK(t, memcmp(ya, yb, (size_t)2 * C * T * sizeof(float)) == 0);
    /* A damaged description is refused with a message, not a crash. */
    mn_model bad;
    mn_model_init(&bad);
    MN_CHECK(t, mn_model_from_json(&bad, "{\"format\":\"mimonet-model\",\"nodes\":[{\"op\":\"input\",\"channels\":4},"
                                         "{\"op\":\"warp\",\"in\":0}]}") == MN_ERR_FORMAT);
    MN_CHECK(t, strstr(mn_error_msg(), "warp") != NULL);
    mn_model_free(&bad);
    mn_model_init(&bad);
    MN_CHECK(t, mn_model_from_json(&bad, "{\"format\":\"mimonet-model\",\"nodes\":[{\"op\":\"input\",\"channels\":4},"
                                         "{\"op\":\"linear\",\"in\":5,\"out\":3}]}") == MN_ERR_FORMAT);
    mn_model_free(&bad);
    mn_model_init(&bad);
    MN_CHECK(t, mn_model_from_json(&bad, "not json") == MN_ERR_FORMAT);
    mn_model_free(&bad);
    /* Found by fuzz/fuzz_model_json.c: a layer with parameters and an empty name (its JSON would
     * not load again), and a concat whose channel count overflows int. */
    mn_model_init(&bad);
    MN_CHECK(t, mn_model_from_json(&bad, "{\"format\":\"mimonet-model\",\"nodes\":[{\"op\":\"input\",\"channels\":4},"
                                         "{\"op\":\"linear\",\"in\":0,\"name\":\"\",\"out\":3}]}") != MN_OK);
    MN_CHECK_MSG(t, strstr(mn_error_msg(), "non-empty name") != NULL, "%s", mn_error_msg());
    mn_model_free(&bad);
    mn_model_init(&bad);
    MN_CHECK(t, mn_model_from_json(&bad, "{\"format\":\"mimonet-model\",\"nodes\":[{\"op\":\"input\",\"channels\":2147483647},"
                                         "{\"op\":\"concat\",\"in\":0,\"in1\":0}]}") != MN_OK);
    MN_CHECK_MSG(t, strstr(mn_error_msg(), "too many channels") != NULL, "%s", mn_error_msg());
    mn_model_free(&bad);
    mn_free(js);
    mn_model_free(&a);
    mn_model_free(&b);
}

MN_TEST(model_declaration_errors)
{
    mn_model m;
    mn_model_init(&m);
    int x = mn_model_input(&m, 4);
    /* cin disagrees with the input: the error sticks and build reports it. */
    int y = mn_model_conv1d(&m, x, "c", &(mn_conv1d_cfg){.cin = 3, .cout = 2, .k = 1, .dil = 1, .groups = 1});
    MN_CHECK(t, y == -1);
    MN_CHECK(t, mn_model_linear(&m, x, "fc", 3) == -1); /* later calls refuse too */
    mn_rng r;
    mn_rng_seed(&r, 1);
    MN_CHECK(t, mn_model_build(&m, 1, 8, &r) == MN_ERR_SHAPE);
    mn_model_free(&m);

    /* Windows too short for a valid conv. */
    mn_model_init(&m);
    x = mn_model_input(&m, 1);
    mn_model_conv1d(&m, x, "c", &(mn_conv1d_cfg){.cin = 1, .cout = 1, .k = 5, .dil = 2, .groups = 1,
                                                 .pad = MN_PAD_VALID});
    MN_CHECK(t, mn_model_build(&m, 1, 8, &r) == MN_ERR_SHAPE);
    mn_model_free(&m);

    mn_model_init(&m);
    x = mn_model_input(&m, 2);
    mn_model_linear(&m, x, "fc", 2);
    MN_CHECK_OK(t, mn_model_build(&m, 2, 8, &r));
    float buf[3 * 2 * 8] = {0};
    MN_CHECK(t, mn_model_forward(&m, buf, 3, 8, false) == MN_ERR_SHAPE); /* batch above the built max */
    MN_CHECK(t, mn_model_forward(&m, buf, 1, 9, false) == MN_ERR_SHAPE);
    mn_model_free(&m);
}

MN_TEST(model_build_alloc_failure_sweep)
{
    /* Every allocation of declaring + building the light model can fail cleanly. */
    long live0 = mn_alloc_live();
    int ok = 0;
    for (long n = 1; n < 200 && !ok; n++) {
        mn_model m;
        mn_model_init(&m);
        mn_alloc_fail_at(n);
        mn_pim_model_light(&m, 4, 2);
        mn_rng r;
        mn_rng_seed(&r, 1);
        mn_status st = mn_model_build(&m, 2, 32, &r);
        mn_alloc_fail_at(0);
        if (st == MN_OK) ok = 1;
        else MN_CHECK_MSG(t, st == MN_ERR_NOMEM, "n=%ld status %d", n, (int)st);
        mn_model_free(&m);
        MN_CHECK_MSG(t, mn_alloc_live() == live0, "leak after failing allocation %ld", n);
    }
    MN_CHECK(t, ok);
}

MN_TEST(model_pim_budgets)
{
    /* The budgets: light <= 11,856 and large <= 25,632 parameters for 32 -> 16.
     * poly by hand: split dw 64 ch x 2 filters x 5 taps + 128 biases = 768; mix 128 x 28 + 28 =
     * 3,612; five 1x1 projections 5 x (28 x 32 + 32) = 4,640; output dw 32 x 31 + 32 = 1,024 and
     * pw 32 x 32 + 32 = 1,056: 11,100.
     * junction by hand (J 8, K 15, H 48, P 63): drive 64 x 16 = 1,024; four split filters
     * 4 x 8 x 2 x 15 = 960; two 1x1 maps of the 48 monomials 2 x 48 x 8 = 768; envelope gain
     * 16 x 48 + 48 = 816 and 48 x 8 + 8 = 392; post filters 32 x 63 = 2,016; output 32 x 32 +
     * 32 = 1,056: 7,032.
     * pa by hand (C 4, Kb 3, E 8, L 9, H 24, M 31): basis 64 x 8 x 3 = 1,536; envelope 64 x 8 x 9
     * + 8 = 4,616; gain 8 x 24 + 24 = 216 and 24 x 8 + 8 = 200; output 16 x 32 x 31 + 32 =
     * 15,904: 22,472 at 32 -> 16.  At 1 -> 1 (its use): 48 + 152 + 216 + 200 + 994 = 1,610,
     * under the 2.7k of the OpenDPD models it is compared with. */
    static const struct { const char *kind; size_t want, budget; } cases[] = {
        {"light", 11835, 11856}, {"poly", 11100, 11856}, {"junction", 7032, 11856}, {"poly-large", 24972, 25632}, {"large", 22688, 25632}};
    static const struct { const char *kind; int n_tx, n_rx; size_t want, budget; } few[] = {{"pa", 1, 1, 1610, 2700},
                                                                                            {"pa", 32, 16, 22472, 25632}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        mn_model m;
        mn_model_init(&m);
        MN_CHECK(t, mn_pim_model_declare(&m, cases[i].kind, 32, 16) > 0);
        MN_CHECK_OK(t, mn_model_build(&m, 1, 128, NULL));
        size_t got = mn_params_count_trainable(&m.params);
        MN_CHECK_MSG(t, got == cases[i].want && got <= cases[i].budget, "%s: %zu params (want %zu, budget %zu)",
                     cases[i].kind, got, cases[i].want, cases[i].budget);
        mn_model_free(&m);
    }
    for (size_t i = 0; i < sizeof few / sizeof *few; i++) {
        mn_model m;
        mn_model_init(&m);
        MN_CHECK(t, mn_pim_model_declare(&m, few[i].kind, few[i].n_tx, few[i].n_rx) > 0);
        MN_CHECK_OK(t, mn_model_build(&m, 1, 128, NULL));
        size_t got = mn_params_count_trainable(&m.params);
        MN_CHECK_MSG(t, got == few[i].want && got <= few[i].budget, "%s %d -> %d: %zu params (want %zu)", few[i].kind,
                     few[i].n_tx, few[i].n_rx, got, few[i].want);
        mn_model_free(&m);
    }
    /* junction with --sources 16 (J 16) by hand: drive 64 x 32 = 2,048; split 4 x 16 x 2 x 15 =
     * 1,920; product maps 2 x 96 x 16 = 3,072; envelope gain 32 x 48 + 48 = 1,584 and 48 x 16 +
     * 16 = 784; post filters 64 x 63 = 4,032; output 64 x 32 + 32 = 2,080: 15,520.  Sources 0
     * keeps the default (7,032); a kind without sources, or 65 of them, is refused. */
    static const struct { const char *kind; int sources; size_t want; } sized[] = {
        {"junction", 16, 15520}, {"junction", 0, 7032}, {"light", 4, 0}, {"junction", 65, 0}, {"junction", -1, 0}};
    for (size_t i = 0; i < sizeof sized / sizeof *sized; i++) {
        mn_model m;
        mn_model_init(&m);
        const mn_pim_model_opts o = {.sources = sized[i].sources};
        const int y = mn_pim_model_declare_opts(&m, sized[i].kind, 32, 16, &o);
        if (sized[i].want) {
            MN_CHECK(t, y > 0);
            MN_CHECK_OK(t, mn_model_build(&m, 1, 128, NULL));
            size_t got = mn_params_count_trainable(&m.params);
            MN_CHECK_MSG(t, got == sized[i].want, "%s, %d sources: %zu params (want %zu)", sized[i].kind,
                         sized[i].sources, got, sized[i].want);
        } else {
            MN_CHECK_MSG(t, y == -1 && m.status == MN_ERR_INVALID && strstr(mn_error_msg(), "sources"),
                         "%s with %d sources: %d, '%s'", sized[i].kind, sized[i].sources, y, mn_error_msg());
        }
        mn_model_free(&m);
    }
    mn_model m;
    mn_model_init(&m);
    MN_CHECK(t, mn_pim_model_declare(&m, "nope", 2, 1) == -1 && m.status == MN_ERR_INVALID);
    mn_model_free(&m);
    /* The listed names (help and messages) are exactly the declarable ones. */
    char list[256];
    snprintf(list, sizeof list, "%s", mn_pim_model_kinds());
    int listed = 0;
    for (char *save = NULL, *k = strtok_r(list, ", ", &save); k; k = strtok_r(NULL, ", ", &save), listed++) {
        mn_model_init(&m);
        MN_CHECK_MSG(t, mn_pim_model_known(k) && mn_pim_model_declare(&m, k, 2, 1) > 0, "'%s' is listed", k);
        mn_model_free(&m);
    }
    MN_CHECK(t, listed == 8);
    static const char *const unknown[] = {"", "nope", "poly-", "light,", "Light", "junction ", "gmp"};
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++)
        MN_CHECK_MSG(t, !mn_pim_model_known(unknown[i]), "'%s' is not a neural model", unknown[i]);
    MN_CHECK(t, !mn_pim_model_known(NULL));
}

/* Regression (fuzz/fuzz_model_json.c): a conv whose span dil*(k-1) does not fit an int made
 * the geometry overflow (UBSan: 2147483647 * 8 in mn_conv1d_out_len at forward).  The span is
 * now bounded at declaration, 2^20 samples: the bound itself is accepted, one more is refused. */
MN_TEST(model_conv_span_bounded)
{
    mn_model m;
    mn_model_init(&m);
    MN_CHECK(t, mn_model_from_json(&m, "{\"format\":\"mimonet-model\",\"nodes\":[{\"op\":\"input\",\"channels\":2},"
                                       "{\"op\":\"conv1d\",\"in\":0,\"cout\":2,\"k\":9,"
                                       "\"dil\":1333333333333333333333333333,\"pad\":\"same\"}]}") == MN_ERR_INVALID);
    MN_CHECK(t, strstr(mn_error_msg(), "span") != NULL);
    mn_model_free(&m);

    mn_model_init(&m);
    int x = mn_model_input(&m, 1);
    MN_CHECK(t, mn_model_conv1d(&m, x, "c", &(mn_conv1d_cfg){.cin = 1, .cout = 1, .k = 2, .dil = 1 << 20,
                                                            .groups = 1, .pad = MN_PAD_SAME}) == 1);
    MN_CHECK(t, mn_model_conv1d(&m, 1, "d", &(mn_conv1d_cfg){.cin = 1, .cout = 1, .k = 3, .dil = (1 << 19) + 1,
                                                            .groups = 1, .pad = MN_PAD_SAME}) == -1);
    MN_CHECK(t, m.status == MN_ERR_INVALID);
    mn_model_free(&m);

    mn_model_init(&m); /* dil * (k - 1) = 2^31 - 1 + ... overflows int: refused, not wrapped */
    x = mn_model_input(&m, 1);
    MN_CHECK(t, mn_model_conv1d(&m, x, "e", &(mn_conv1d_cfg){.cin = 1, .cout = 1, .k = 9, .dil = 2147483647,
                                                            .groups = 1, .pad = MN_PAD_VALID}) == -1);
    MN_CHECK(t, m.status == MN_ERR_INVALID);
    mn_model_free(&m);
}

/* Regression: the receptive field used to be a recursive walk that revisits shared inputs, so
 * it took 2^n steps for n chained add(x, x) nodes (30 took 4 s; the 48 here would take days).
 * Expected by hand: same conv k=3 dil=2 reaches 2 left and 2 right; adds take the max of their
 * inputs (the input node reaches 0); a valid conv k=5 adds its span 4 on the right only. */
MN_TEST(model_receptive_field_shared_inputs)
{
    mn_model m;
    mn_model_init(&m);
    int in = mn_model_input(&m, 1);
    int c = mn_model_conv1d(&m, in, "c", &(mn_conv1d_cfg){.cin = 1, .cout = 1, .k = 3, .dil = 2, .groups = 1,
                                                          .pad = MN_PAD_SAME});
    int x = mn_model_add(&m, c, in);
    for (int i = 0; i < 48; i++) x = mn_model_add(&m, x, x);
    mn_model_conv1d(&m, x, "v", &(mn_conv1d_cfg){.cin = 1, .cout = 1, .k = 5, .dil = 1, .groups = 1,
                                                 .pad = MN_PAD_VALID});
    MN_CHECK_OK(t, m.status);
    int l = -1, r = -1;
    mn_model_receptive_field(&m, &l, &r);
    MN_CHECK(t, l == 2 && r == 6);
    mn_model_free(&m);
}

/* Regression (fuzz/fuzz_model_json.c): a second input node wider than the first made forward
 * copy past the end of x (heap-buffer-overflow).  A model has exactly one input, the first node;
 * a second is refused at declaration, from C and from JSON. */
MN_TEST(model_single_input)
{
    mn_model m;
    mn_model_init(&m);
    int x = mn_model_input(&m, 2);
    MN_CHECK(t, x == 0);
    MN_CHECK(t, mn_model_input(&m, 4) == -1);
    MN_CHECK(t, m.status == MN_ERR_INVALID);
    mn_model_free(&m);
    mn_model_init(&m);
    MN_CHECK(t, mn_model_from_json(&m, "{\"format\":\"mimonet-model\",\"nodes\":[{\"op\":\"input\",\"channels\":2},"
                                       "{\"op\":\"input\",\"channels\":4},{\"op\":\"linear\",\"in\":1,\"out\":1}]}") ==
                    MN_ERR_INVALID);
    MN_CHECK(t, strstr(mn_error_msg(), "input") != NULL);
    mn_model_free(&m);
}

/* Regression (fuzz/fuzz_model_json.c): a LUT range with an infinite end ("lo": -2e45 in JSON
 * rounds to -inf in float) gave NaN knot positions and an out-of-range float -> int cast in
 * forward.  lo, hi and hi - lo must be finite. */
MN_TEST(model_lut_range_finite)
{
    mn_model m;
    mn_model_init(&m);
    MN_CHECK(t, mn_model_from_json(&m, "{\"format\":\"mimonet-model\",\"nodes\":[{\"op\":\"input\",\"channels\":2},"
                                       "{\"op\":\"lut\",\"in\":0,\"knots\":8,\"lo\":-2e45,\"hi\":2}]}") == MN_ERR_INVALID);
    mn_model_free(&m);
    mn_model_init(&m);
    int x = mn_model_input(&m, 1);
    MN_CHECK(t, mn_model_lut(&m, x, "l", 4, -3e38f, 3e38f) == -1); /* hi - lo overflows to inf */
    mn_model_free(&m);
    mn_model_init(&m);
    x = mn_model_input(&m, 1);
    MN_CHECK(t, mn_model_lut(&m, x, "l", 4, -1e30f, 1e30f) == 1);
    MN_CHECK_OK(t, m.status);
    mn_model_free(&m);
}

/* One training pass (forward, then backward of r) of m; copies of the output, the weights'
 * gradients and d loss / d x into y, g, dx (sized by the caller). */
static bool train_pass(mn_model *m, const float *x, const float *r, int B, int T, float *y, size_t ny, float *g,
                       float *dx, size_t nx)
{
    if (mn_model_forward(m, x, B, T, true) != MN_OK) return false;
    memcpy(y, mn_model_output(m, NULL, NULL), ny * sizeof *y);
    mn_params_zero_grad(&m->params);
    if (mn_model_backward(m, r) != MN_OK) return false;
    memcpy(g, m->params.g, m->params.total * sizeof *g);
    memcpy(dx, m->nodes[0].dy, nx * sizeof *dx);
    return true;
}

/* The buffers of train_pass's comparisons. */
static void free_pass(float *x, float *r, float *y, float *g, float *dx)
{
    mn_free(x);
    mn_free(r);
    mn_free(y);
    mn_free(g);
    mn_free(dx);
}

/* mn_model_set_sample_split: the same output, weight gradients and input gradient as the
 * whole-batch pass up to float rounding, on graphs with batch norms between the per-sample
 * stretches (small_graph, light) and on junction, which is one stretch; and the same bits for
 * 1, 2 and 3 threads.  A per-sample gradient left out of the sum fails the comparison. */
MN_TEST(model_sample_split_same_result)
{
    const int keep = mn_threads_get();
    for (int kk = 0; kk < 3; kk++) {
        mn_model m;
        mn_model_init(&m);
        if (kk == 0) MN_CHECK(t, small_graph(&m) > 0);
        else MN_CHECK(t, mn_pim_model_declare(&m, kk == 1 ? "light" : "junction", 2, 1) > 0);
        mn_rng rng;
        mn_rng_seed(&rng, t->seed + 40 + (uint64_t)kk);
        enum { B = 5, T = 48 };
        MN_CHECK_OK(t, mn_model_build(&m, B, T, &rng));
        const int cin = mn_model_in_channels(&m), cout = mn_model_out_channels(&m);
        const int To = kk == 0 ? T - 1 : T; /* small_graph ends in a valid conv of 2 taps */
        const size_t nx = (size_t)B * cin * T, ny = (size_t)B * cout * To, P = m.params.total;
        float *x = randn(&rng, nx, 1.0), *r = randn(&rng, ny, 1.0);
        float *y = mn_malloc(4 * ny * sizeof *y), *g = mn_malloc(4 * P * sizeof *g), *dx = mn_malloc(4 * nx * sizeof *dx);
        MN_CHECK(t, x && r && y && g && dx);
        if (x && r && y && g && dx) {
            mn_threads_set(2);
            MN_CHECK(t, train_pass(&m, x, r, B, T, y, ny, g, dx, nx));
            MN_CHECK_OK(t, mn_model_set_sample_split(&m, true));
            for (int k = 1; k <= 3; k++) {
                mn_threads_set(k);
                MN_CHECK(t, train_pass(&m, x, r, B, T, y + k * ny, ny, g + k * P, dx + k * nx, nx));
            }
            double ey = rel_diff(y + ny, y, ny), eg = rel_diff(g + P, g, P), ex = rel_diff(dx + nx, dx, nx);
            MN_CHECK_MSG(t, ey < 1e-5 && eg < 1e-4 && ex < 1e-4, "model %d: split vs whole batch: y %.3g, g %.3g, dx %.3g",
                         kk, ey, eg, ex);
            for (int k = 2; k <= 3; k++) {
                MN_CHECK_MSG(t, !memcmp(y + ny, y + k * ny, ny * sizeof *y), "model %d: y differs with %d threads", kk, k);
                MN_CHECK_MSG(t, !memcmp(g + P, g + k * P, P * sizeof *g), "model %d: g differs with %d threads", kk, k);
                MN_CHECK_MSG(t, !memcmp(dx + nx, dx + k * nx, nx * sizeof *dx), "model %d: dx differs with %d threads", kk, k);
            }
            /* Every sample's share counts: the last sample's gradients left out are seen. */
            float *gl = m.split_g + (size_t)(B - 1) * P;
            for (size_t i = 0; i < P; i++) g[P + i] -= gl[i];
            MN_CHECK_MSG(t, rel_diff(g + P, g, P) > 1e-3, "model %d: a sample's gradients do not count", kk);
            MN_CHECK_OK(t, mn_model_set_sample_split(&m, false));
            MN_CHECK(t, m.split_g == NULL);
        }
        free_pass(x, r, y, g, dx);
        mn_model_free(&m);
    }
    mn_threads_set(keep);
}

/* Activation epilogues (nn/act_epi.h): a conv, linear or batch norm whose one reader is an
 * activation applies it as it writes.  A graph with every kind of producer and activation, one
 * conv whose output has a second reader (no epilogue), and the light model: the training
 * forward's output, every weight gradient and the input gradient must be the same bits as with
 * every node run apart (mn_model_set_fused(m, false)), whole-batch and sample-split. */
static int epi_graph(mn_model *m)
{
    int x = mn_model_input(m, 4);
    int a = mn_model_conv1d(m, x, "dw", &(mn_conv1d_cfg){.cin = 4, .cout = 4, .k = 3, .dil = 1, .groups = 4,
                                                        .pad = MN_PAD_SAME, .bias = true});
    a = mn_model_act(m, a, MN_ACT_LEAKY, 0.1f);
    a = mn_model_conv1d(m, a, "pw", &(mn_conv1d_cfg){.cin = 4, .cout = 16, .k = 1, .dil = 1, .groups = 1,
                                                    .pad = MN_PAD_SAME, .bias = true});
    a = mn_model_batchnorm(m, a, "bn", true);
    a = mn_model_act(m, a, MN_ACT_RELU, 0);
    a = mn_model_linear(m, a, "fc", 9);
    a = mn_model_act(m, a, MN_ACT_SIGMOID, 0);
    int g = mn_model_conv1d(m, a, "gc", &(mn_conv1d_cfg){.cin = 9, .cout = 6, .k = 3, .dil = 2, .groups = 3,
                                                        .pad = MN_PAD_SAME, .bias = false});
    int h = mn_model_act(m, g, MN_ACT_TANH, 0);
    h = mn_model_mul(m, h, g); /* g has two readers: no epilogue */
    return mn_model_conv1d(m, h, "out", &(mn_conv1d_cfg){.cin = 6, .cout = 2, .k = 1, .dil = 1, .groups = 1,
                                                        .pad = MN_PAD_SAME, .bias = true});
}

/* A concat of a part a batch norm writes (its activation as an epilogue: the batch norm runs on
 * the whole batch, also in a sample-split pass) and a part a conv writes. */
static int cat_graph(mn_model *m)
{
    int x = mn_model_input(m, 4);
    int a = mn_model_conv1d(m, x, "c1", &(mn_conv1d_cfg){.cin = 4, .cout = 6, .k = 1, .dil = 1, .groups = 1,
                                                        .pad = MN_PAD_SAME, .bias = true});
    a = mn_model_batchnorm(m, a, "bn", true);
    a = mn_model_act(m, a, MN_ACT_LEAKY, 0.1f);
    int b = mn_model_conv1d(m, x, "c2", &(mn_conv1d_cfg){.cin = 4, .cout = 3, .k = 3, .dil = 1, .groups = 1,
                                                        .pad = MN_PAD_SAME, .bias = true});
    b = mn_model_act(m, b, MN_ACT_TANH, 0);
    return mn_model_conv1d(m, mn_model_concat(m, a, b), "out", &(mn_conv1d_cfg){.cin = 9, .cout = 2, .k = 1, .dil = 1,
                                                                              .groups = 1, .pad = MN_PAD_SAME, .bias = true});
}

MN_TEST(model_act_epilogue_same_bits)
{
    const int keep = mn_threads_get();
    mn_threads_set(2);
    for (int kk = 0; kk < 4; kk++) {
        mn_model m;
        mn_model_init(&m);
        MN_CHECK(t, (kk == 0   ? epi_graph(&m)
                     : kk == 3 ? cat_graph(&m)
                               : mn_pim_model_declare(&m, kk == 1 ? "light" : "junction", 2, 1)) > 0);
        mn_rng rng;
        mn_rng_seed(&rng, t->seed + 70 + (uint64_t)kk);
        enum { B = 3, T = 200 };
        MN_CHECK_OK(t, mn_model_build(&m, B, T, &rng));
        randomize_norms(&m, &rng);
        int fused = 0;
        for (int i = 0; i < m.n_nodes; i++) fused += m.nodes[i].epi >= 0;
        /* epi_graph: dw, bn and fc apply theirs, gc does not; light: every block's depthwise conv
         * and batch norm (7), and both linears (2); junction: its gain's first layer (tanh);
         * cat_graph: bn and c2 */
        const int want[4] = {3, 9, 1, 2}, bwant[4] = {3, 9, 1, 0};
        MN_CHECK_MSG(t, fused == want[kk], "model %d: %d epilogues", kk, fused);
        /* backward: epi_graph's pw (leaky), fc (relu) and gc (sigmoid), not the mul after tanh;
         * light: every activation, each read by a conv or linear over time; junction: the tanh,
         * read by the gain's second layer */
        int bfused = 0;
        for (int i = 0; i < m.n_nodes; i++) bfused += m.nodes[i].bepi >= 0;
        MN_CHECK_MSG(t, bfused == bwant[kk], "model %d: %d backward epilogues", kk, bfused);
        /* concat chains: junction's six products are joined by five nested concats, of which
         * the last copies them all (the first four do nothing); its other two concats end no
         * chain */
        int absorbed = 0;
        for (int i = 0; i < m.n_nodes; i++) absorbed += m.nodes[i].cat_into >= 0;
        MN_CHECK_MSG(t, absorbed == (kk == 2 ? 4 : 0), "model %d: %d concats absorbed", kk, absorbed);
        /* and with the sample split, the parts that write their rows of a concat themselves:
         * junction's six products, its two envelope sums and its two gated maps; none in
         * cat_graph, whose batch norm writes its part for the whole batch at once */
        int views = 0;
        for (int i = 0; i < m.n_nodes; i++) views += m.nodes[i].cat_view >= 0;
        MN_CHECK_MSG(t, views == (kk == 2 ? 10 : 0), "model %d: %d concat parts in place", kk, views);
        if (kk == 0)
            for (int i = 0; i < m.n_nodes; i++)
                if (!strcmp(m.nodes[i].name, "gc")) MN_CHECK(t, m.nodes[i].epi == -1);
        const int cin = mn_model_in_channels(&m), cout = mn_model_out_channels(&m);
        const size_t nx = (size_t)B * cin * T, ny = (size_t)B * cout * T, P = m.params.total;
        float *x = randn(&rng, nx, 1.0), *r = randn(&rng, ny, 1.0);
        float *y = mn_malloc(2 * ny * sizeof *y), *g = mn_malloc(2 * P * sizeof *g), *dx = mn_malloc(2 * nx * sizeof *dx);
        MN_CHECK(t, x && r && y && g && dx);
        for (int split = 0; split < 2 && x && r && y && g && dx; split++) {
            MN_CHECK_OK(t, mn_model_set_sample_split(&m, split == 1));
            for (int k = 0; k < 2; k++) {
                mn_model_set_fused(&m, k == 0); /* k = 1: every node apart */
                MN_CHECK(t, train_pass(&m, x, r, B, T, y + k * ny, ny, g + k * P, dx + k * nx, nx));
            }
            MN_CHECK_MSG(t, !memcmp(y, y + ny, ny * sizeof *y), "model %d, split %d: outputs differ", kk, split);
            MN_CHECK_MSG(t, !memcmp(g, g + P, P * sizeof *g), "model %d, split %d: weight gradients differ", kk, split);
            MN_CHECK_MSG(t, !memcmp(dx, dx + nx, nx * sizeof *dx), "model %d, split %d: input gradients differ", kk, split);
        }
        if (kk == 2 && x && r) {
            /* junction's split forward leaves its concat parts in the concats' rows: a backward
             * without the split, or without fusion, would read them elsewhere, and is refused */
            for (int off = 0; off < 2; off++) {
                MN_CHECK_OK(t, mn_model_set_sample_split(&m, true));
                mn_model_set_fused(&m, true);
                MN_CHECK_OK(t, mn_model_forward(&m, x, B, T, true));
                if (off) mn_model_set_fused(&m, false);
                else MN_CHECK_OK(t, mn_model_set_sample_split(&m, false));
                MN_CHECK(t, mn_model_backward(&m, r) == MN_ERR_INVALID);
            }
            mn_model_set_fused(&m, true);
        }
        free_pass(x, r, y, g, dx);
        mn_model_free(&m);
    }
    mn_threads_set(keep);
}
