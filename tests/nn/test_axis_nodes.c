/*
 * tests/nn/test_axis_nodes.c — the node kinds added for the CSI networks: axis permutation,
 * elementwise product (gating), channel concat / slice and the straight-through quantizer.
 *
 * Each kernel's forward is checked against values derived here independently (explicit
 * coordinate loops, hand-computed quantizer levels); each backward by central finite
 * differences of L = sum r * out (r fixed random), with the tolerances argued in
 * test_layers.c (float outputs summed in double, h = 1e-3, relative error < 1e-2 with the
 * denominator floored at 0.1).  The quantizer's backward is the documented surrogate
 * (identity), so it is checked as that: exactly dout, and, inside a model, equal to the
 * gradient of the same graph with the quantizer removed, which itself matches finite
 * differences.  Then a graph using every new kind (a MAXIM-style two-axis gated block) is
 * checked end to end along random directions, serialized and rebuilt, and every declaration
 * error is provoked.
 */
#include "mn_test.h"
#include "util.h" /* randn */

#include <string.h>

#include "mimonet/nn.h"

#define FD_H 1e-3
#define FD_ATOL 1e-1
#define FD_TOL 1e-2

static double dot_rd(const float *r, const float *y, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)r[i] * (double)y[i];
    return s;
}

/* ---------------------------------------------------------------- permute */

typedef struct {
    int B, dims[3], perm[3];
    float *x, *y, *r;
} perm_fd;

static double perm_loss(void *p)
{
    perm_fd *f = p;
    mn_permute3_forward(f->y, f->x, f->B, f->dims, f->perm);
    return dot_rd(f->r, f->y, (size_t)f->B * f->dims[0] * f->dims[1] * f->dims[2]);
}

MN_TEST(nn_permute3_all_orders)
{
    mn_rng rng;
    mn_rng_seed(&rng, t->seed ^ 0x9e3);
    static const int perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    const int B = 2, d[3] = {2, 3, 4}, n = B * 24;
    for (int p = 0; p < 6; p++) {
        perm_fd f = {.B = B, .dims = {d[0], d[1], d[2]}};
        memcpy(f.perm, perms[p], sizeof f.perm);
        f.x = randn(&rng, n, 1.0);
        f.y = mn_malloc(n * sizeof(float));
        f.r = randn(&rng, n, 1.0);
        perm_loss(&f);
        /* Reference: walk input coordinates; the output coordinate along output axis i is the
         * input coordinate along axis perm[i]. */
        int e[3] = {d[perms[p][0]], d[perms[p][1]], d[perms[p][2]]};
        int bad = 0;
        for (int b = 0; b < B; b++)
            for (int x0 = 0; x0 < d[0]; x0++)
                for (int x1 = 0; x1 < d[1]; x1++)
                    for (int x2 = 0; x2 < d[2]; x2++) {
                        int xc[3] = {x0, x1, x2};
                        int i0 = xc[perms[p][0]], i1 = xc[perms[p][1]], i2 = xc[perms[p][2]];
                        float want = f.x[b * 24 + (x0 * d[1] + x1) * d[2] + x2];
                        float got = f.y[b * 24 + (i0 * e[1] + i1) * e[2] + i2];
                        bad += got != want;
                    }
        MN_CHECK_MSG(t, bad == 0, "perm {%d,%d,%d}: %d misplaced values", perms[p][0], perms[p][1], perms[p][2], bad);
        /* backward accumulates: pre-filled dx gets r's values added at the mirrored places */
        float *dx = mn_malloc(n * sizeof(float));
        for (int i = 0; i < n; i++) dx[i] = 1.0f;
        mn_permute3_backward(dx, f.r, B, f.dims, f.perm);
        for (int i = 0; i < n; i++) dx[i] -= 1.0f;
        size_t wi;
        double err = mn_gradcheck(perm_loss, &f, f.x, dx, n, FD_H, FD_ATOL, &wi);
        MN_CHECK_MSG(t, err < FD_TOL, "perm {%d,%d,%d}: dinp rel err %.3g at %zu", perms[p][0], perms[p][1],
                     perms[p][2], err, wi);
        /* and the inverse permutation restores the input exactly */
        int inv[3], ed[3] = {e[0], e[1], e[2]};
        for (int i = 0; i < 3; i++) inv[perms[p][i]] = i;
        float *back = mn_malloc(n * sizeof(float));
        perm_loss(&f); /* y of the restored x (the check left the last perturbation's y) */
        mn_permute3_forward(back, f.y, B, ed, inv);
        MN_CHECK(t, memcmp(back, f.x, n * sizeof(float)) == 0);
        mn_free(back);
        mn_free(dx);
        mn_free(f.x);
        mn_free(f.y);
        mn_free(f.r);
    }
}

/* ---------------------------------------------------------------- mul, concat, slice */

typedef struct {
    int kind; /* 0 mul, 1 concat, 2 slice */
    int B, ca, cb, T, c0, n;
    float *a, *b, *y, *r;
} pair_fd;

static size_t pair_out_n(const pair_fd *f)
{
    if (f->kind == 0) return (size_t)f->B * f->ca * f->T;
    if (f->kind == 1) return (size_t)f->B * (f->ca + f->cb) * f->T;
    return (size_t)f->B * f->n * f->T;
}

static double pair_loss(void *p)
{
    pair_fd *f = p;
    if (f->kind == 0) mn_mul_forward(f->y, f->a, f->b, (size_t)f->B * f->ca * f->T);
    else if (f->kind == 1) mn_concat_forward(f->y, f->a, f->b, f->B, f->ca, f->cb, f->T);
    else mn_slice_forward(f->y, f->a, f->B, f->ca, f->c0, f->n, f->T);
    return dot_rd(f->r, f->y, pair_out_n(f));
}

MN_TEST(nn_mul_concat_slice)
{
    mn_rng rng;
    mn_rng_seed(&rng, t->seed ^ 0x51c);
    const int B = 2, ca = 3, cb = 2, T = 5;
    size_t na = (size_t)B * ca * T, nb = (size_t)B * cb * T;
    for (int kind = 0; kind < 3; kind++) {
        pair_fd f = {.kind = kind, .B = B, .ca = ca, .cb = kind == 0 ? ca : cb, .T = T, .c0 = 1, .n = 2};
        size_t nbk = kind == 0 ? na : nb;
        f.a = randn(&rng, na, 1.0);
        f.b = randn(&rng, nbk, 1.0);
        size_t no = pair_out_n(&f);
        f.y = mn_malloc(no * sizeof(float));
        f.r = randn(&rng, no, 1.0);
        pair_loss(&f);
        /* forward against the definitions */
        int bad = 0;
        for (int b = 0; b < B; b++)
            for (int tt = 0; tt < T; tt++) {
                if (kind == 0)
                    for (int c = 0; c < ca; c++) {
                        size_t i = ((size_t)b * ca + c) * T + tt;
                        bad += f.y[i] != f.a[i] * f.b[i];
                    }
                else if (kind == 1)
                    for (int c = 0; c < ca + cb; c++) {
                        float want = c < ca ? f.a[((size_t)b * ca + c) * T + tt] : f.b[((size_t)b * cb + c - ca) * T + tt];
                        bad += f.y[((size_t)b * (ca + cb) + c) * T + tt] != want;
                    }
                else
                    for (int c = 0; c < f.n; c++)
                        bad += f.y[((size_t)b * f.n + c) * T + tt] != f.a[((size_t)b * ca + f.c0 + c) * T + tt];
            }
        MN_CHECK_MSG(t, bad == 0, "kind %d: %d wrong outputs", kind, bad);
        float *da = mn_calloc(na, sizeof(float)), *db = mn_calloc(nbk, sizeof(float));
        if (kind == 0) mn_mul_backward(da, db, f.r, f.a, f.b, na);
        else if (kind == 1) mn_concat_backward(da, db, f.r, B, ca, cb, T);
        else mn_slice_backward(da, f.r, B, ca, f.c0, f.n, T);
        size_t wi;
        double e = mn_gradcheck(pair_loss, &f, f.a, da, na, FD_H, FD_ATOL, &wi);
        MN_CHECK_MSG(t, e < FD_TOL, "kind %d: da rel err %.3g at %zu", kind, e, wi);
        if (kind < 2) {
            e = mn_gradcheck(pair_loss, &f, f.b, db, nbk, FD_H, FD_ATOL, &wi);
            MN_CHECK_MSG(t, e < FD_TOL, "kind %d: db rel err %.3g at %zu", kind, e, wi);
        }
        mn_free(da);
        mn_free(db);
        mn_free(f.a);
        mn_free(f.b);
        mn_free(f.y);
        mn_free(f.r);
    }
    /* x * x through one gradient buffer: d(x^2)/dx = 2x */
    float x[3] = {0.5f, -2.0f, 3.0f}, g[3] = {0, 0, 0}, one[3] = {1, 1, 1};
    mn_mul_backward(g, g, one, x, x, 3);
    for (int i = 0; i < 3; i++) MN_CHECK(t, g[i] == 2.0f * x[i]);
}

/* ---------------------------------------------------------------- quantizer */

MN_TEST(nn_quant_levels_and_ste)
{
    /* bits = 1: the sign, with sign(0) = +1, clamped outside [-1, 1] */
    const float x1[6] = {-3.0f, -0.2f, -1e-6f, 0.0f, 1e-6f, 0.7f};
    const float w1[6] = {-1, -1, -1, 1, 1, 1};
    float y[8];
    mn_quant_forward(y, x1, 6, 1);
    for (int i = 0; i < 6; i++) MN_CHECK_MSG(t, y[i] == w1[i], "1 bit: q(%g) = %g, want %g", (double)x1[i], (double)y[i], (double)w1[i]);
    /* bits = 2: levels -1, -1/3, 1/3, 1; decision thresholds at -2/3, 0, 2/3 */
    const float x2[8] = {-1.5f, -0.7f, -0.6f, -0.01f, 0.01f, 0.6f, 0.7f, 1.0f};
    const int i2[8] = {0, 0, 1, 1, 2, 2, 3, 3};
    mn_quant_forward(y, x2, 8, 2);
    for (int i = 0; i < 8; i++) {
        float want = (float)(2 * i2[i] - 3) / 3.0f;
        MN_CHECK_MSG(t, y[i] == want && mn_quant_index(x2[i], 2) == i2[i], "2 bits: q(%g) = %g (index %d), want %g (%d)",
                     (double)x2[i], (double)y[i], mn_quant_index(x2[i], 2), (double)want, i2[i]);
    }
    /* bits = 3: step 2/7; every level reproduces itself and the ends are exact */
    for (int i = 0; i < 8; i++) {
        float lv = (float)(2 * i - 7) / 7.0f, q;
        mn_quant_forward(&q, &lv, 1, 3);
        MN_CHECK(t, q == lv && mn_quant_index(lv, 3) == i);
    }
    float ends[2] = {-1.0f, 1.0f}, qe[2];
    mn_quant_forward(qe, ends, 2, 8);
    MN_CHECK(t, qe[0] == -1.0f && qe[1] == 1.0f);
    MN_CHECK(t, mn_quant_index(NAN, 4) >= 0 && mn_quant_index(NAN, 4) < 16);
    /* The surrogate gradient is the identity, accumulated. */
    float d[3] = {1.0f, 2.0f, 3.0f};
    const float dout[3] = {0.5f, -0.25f, 4.0f};
    mn_quant_backward(d, dout, 3);
    MN_CHECK(t, d[0] == 1.5f && d[1] == 1.75f && d[2] == 7.0f);
}

/* The STE inside a model: linear -> tanh -> quant -> linear.  Its backward must equal that of
 * the surrogate graph (the same model without the quantizer, same weights, evaluated at the
 * same point) — which the finite differences of the surrogate confirm — while its forward
 * output differs (it is quantized). */
typedef struct {
    mn_model *m;
    float *x, *r;
    int B;
} model_fd;

static double model_loss(void *p)
{
    model_fd *c = p;
    mn_model_forward(c->m, c->x, c->B, 1, true);
    int C, T;
    const float *y = mn_model_output(c->m, &C, &T);
    return dot_rd(c->r, y, (size_t)c->B * C * T);
}

static void declare_enc(mn_model *m, bool quant)
{
    int x = mn_model_input(m, 6);
    x = mn_model_linear(m, x, "enc", 4);
    x = mn_model_act(m, x, MN_ACT_TANH, 0);
    if (quant) x = mn_model_quant(m, x, 2);
    mn_model_linear(m, x, "dec", 3);
}

MN_TEST(nn_quant_ste_in_model)
{
    mn_rng rng;
    mn_rng_seed(&rng, t->seed ^ 0x57e);
    mn_model q, s;
    mn_model_init(&q);
    mn_model_init(&s);
    declare_enc(&q, true);
    declare_enc(&s, false);
    const int B = 5;
    MN_CHECK_OK(t, mn_model_build(&q, B, 1, &rng));
    MN_CHECK_OK(t, mn_model_build(&s, B, 1, NULL));
    memcpy(s.params.w, q.params.w, q.params.total * sizeof(float));
    float *x = randn(&rng, B * 6, 1.0), *r = randn(&rng, B * 3, 1.0);
    model_fd cq = {&q, x, r, B}, cs = {&s, x, r, B};
    double lq = model_loss(&cq), ls = model_loss(&cs);
    MN_CHECK_MSG(t, fabs(lq - ls) > 1e-4, "the quantizer changed nothing (%g vs %g)", lq, ls);
    /* quantized hidden values lie on the 2-bit grid */
    const float *h = q.nodes[3].y;
    for (int i = 0; i < B * 4; i++) {
        float k = (h[i] * 3.0f + 3.0f) / 2.0f;
        MN_CHECK(t, k == floorf(k) && k >= 0 && k <= 3);
    }
    mn_params_zero_grad(&q.params);
    mn_params_zero_grad(&s.params);
    MN_CHECK_OK(t, mn_model_backward(&q, r));
    MN_CHECK_OK(t, mn_model_backward(&s, r));
    /* the encoder's gradients (before the quantizer) agree exactly with the surrogate's */
    int pe = mn_params_find(&q.params, "enc.weight");
    const mn_param_def *d = &q.params.defs[pe];
    double e = 0;
    for (size_t i = 0; i < d->numel; i++)
        e = fmax(e, fabs((double)q.params.g[d->offset + i] - (double)s.params.g[d->offset + i]));
    /* the decoder sees different (quantized) inputs, so only the encoder side is compared;
     * the encoder gradient depends on the decoder weights only, which are shared */
    MN_CHECK_MSG(t, e == 0.0, "STE gradient differs from the surrogate's by %.3g", e);
    /* and the surrogate's gradient is the true gradient of the unquantized graph */
    size_t wi;
    double err = mn_gradcheck(model_loss, &cs, s.params.w + d->offset, s.params.g + d->offset, d->numel, FD_H,
                              FD_ATOL, &wi);
    MN_CHECK_MSG(t, err < FD_TOL, "surrogate enc.weight rel err %.3g at %zu", err, wi);
    mn_free(x);
    mn_free(r);
    mn_model_free(&q);
    mn_model_free(&s);
}

/* ---------------------------------------------------------------- a two-axis gated block */

/* Feature map [d = 3, M = 4, F = 5] held as C = 3, T = 20.  u = W_u z; v gated along M
 * (permute to [M, d F], linear M -> M, permute back) and along F; the two halves are
 * concatenated, one channel is sliced off, and a residual add closes the block. */
static int gated_block(mn_model *m)
{
    const int d = 3, M = 4, F = 5;
    int x = mn_model_input(m, d);
    int z = mn_model_layernorm(m, x, "ln", true);
    int u = mn_model_linear(m, z, "u", 2);
    int v = mn_model_linear(m, z, "v", 2);
    int p = mn_model_permute(m, v, (const int[3]){2, M, F}, (const int[3]){1, 0, 2}, 1); /* [M, 2 F] */
    p = mn_model_linear(m, p, "mixM", M);
    p = mn_model_permute(m, p, (const int[3]){M, 2, F}, (const int[3]){1, 0, 2}, 1); /* [2, M F] */
    int g1 = mn_model_mul(m, u, p);
    int q = mn_model_permute(m, v, (const int[3]){2, M, F}, (const int[3]){2, 0, 1}, 1); /* [F, 2 M] */
    q = mn_model_linear(m, q, "mixF", F);
    q = mn_model_act(m, q, MN_ACT_TANH, 0);
    q = mn_model_permute(m, q, (const int[3]){F, 2, M}, (const int[3]){1, 2, 0}, 1); /* [2, M F] */
    int g2 = mn_model_mul(m, u, q);
    int c = mn_model_concat(m, g1, g2);      /* 4 channels */
    c = mn_model_slice(m, c, 1, 3);          /* channels 1..3 */
    c = mn_model_linear(m, c, "out", d);
    int y = mn_model_add(m, c, x);
    /* a reshape that folds two axes into channels: [d M, F] */
    return mn_model_permute(m, y, (const int[3]){d, M, F}, (const int[3]){0, 1, 2}, 2);
}

typedef struct {
    mn_model *m;
    float *x, *r;
    int B, T;
} graph_fd;

static double graph_loss(void *p)
{
    graph_fd *c = p;
    mn_model_forward(c->m, c->x, c->B, c->T, true);
    int C, T;
    const float *y = mn_model_output(c->m, &C, &T);
    return dot_rd(c->r, y, (size_t)c->B * C * T);
}

MN_TEST(nn_axis_nodes_graph_gradcheck)
{
    mn_model m;
    mn_model_init(&m);
    MN_CHECK(t, gated_block(&m) > 0);
    mn_rng rng;
    mn_rng_seed(&rng, t->seed ^ 0x6a7);
    const int B = 2, T = 20;
    MN_CHECK_OK(t, mn_model_build(&m, B, T, &rng));
    float *x = randn(&rng, (size_t)B * 3 * T, 1.0), *r = randn(&rng, (size_t)B * 3 * T, 1.0);
    MN_CHECK_OK(t, mn_model_forward(&m, x, B, T, true));
    int C, To;
    mn_model_output(&m, &C, &To);
    MN_CHECK(t, C == 12 && To == 5);
    mn_params_zero_grad(&m.params);
    MN_CHECK_OK(t, mn_model_backward(&m, r));
    float *g = mn_malloc(m.params.total * sizeof *g), *dx = mn_malloc((size_t)B * 3 * T * sizeof *dx);
    memcpy(g, m.params.g, m.params.total * sizeof *g);
    memcpy(dx, m.nodes[0].dy, (size_t)B * 3 * T * sizeof *dx);
    graph_fd c = {&m, x, r, B, T};
    for (int i = 0; i < m.params.n; i++) {
        const mn_param_def *d = &m.params.defs[i];
        if (!d->trainable) continue;
        for (int k = 0; k < 3; k++) {
            double err = mn_gradcheck_dir(graph_loss, &c, m.params.w + d->offset, g + d->offset, d->numel, 1e-2, &rng, NULL);
            MN_CHECK_MSG(t, err < 3e-3, "param %s direction %d: rel err %.3g", d->name, k, err);
        }
    }
    for (int k = 0; k < 3; k++) {
        double err = mn_gradcheck_dir(graph_loss, &c, x, dx, (size_t)B * 3 * T, 1e-2, &rng, NULL);
        MN_CHECK_MSG(t, err < 3e-3, "input direction %d: rel err %.3g", k, err);
    }
    /* the check bites: a halved gradient of the M-axis mixer is caught */
    int ip = mn_params_find(&m.params, "mixM.weight");
    const mn_param_def *d = &m.params.defs[ip];
    for (size_t j = 0; j < d->numel; j++) g[d->offset + j] *= 0.5f;
    double bad = 0;
    for (int k = 0; k < 3; k++) bad = fmax(bad, mn_gradcheck_dir(graph_loss, &c, m.params.w + d->offset, g + d->offset, d->numel, 1e-2, &rng, NULL));
    MN_CHECK_MSG(t, bad > 1e-2, "a halved gradient passed: rel err %.3g", bad);
    int l, rr;
    mn_model_receptive_field(&m, &l, &rr);
    MN_CHECK(t, l >= 19 && rr >= 19); /* a permute sees its whole window */
    mn_free(g);
    mn_free(dx);
    mn_free(x);
    mn_free(r);
    mn_model_free(&m);
}

MN_TEST(nn_axis_nodes_json_round_trip)
{
    mn_model a, b;
    mn_model_init(&a);
    mn_model_init(&b);
    gated_block(&a);
    int q = mn_model_act(&a, a.output, MN_ACT_TANH, 0);
    mn_model_quant(&a, q, 3);
    mn_rng rng;
    mn_rng_seed(&rng, t->seed);
    MN_CHECK_OK(t, mn_model_build(&a, 2, 20, &rng));
    char *js = mn_model_to_json(&a);
    MN_CHECK(t, js != NULL && strstr(js, "\"permute\"") && strstr(js, "\"quant\"") && strstr(js, "\"slice\"") &&
                    strstr(js, "\"concat\"") && strstr(js, "\"mul\""));
    MN_CHECK_OK(t, mn_model_from_json(&b, js));
    MN_CHECK_OK(t, mn_model_build(&b, 2, 20, NULL));
    MN_CHECK(t, a.n_nodes == b.n_nodes && a.params.total == b.params.total);
    for (int i = 0; i < a.n_nodes && i < b.n_nodes; i++) MN_CHECK(t, a.nodes[i].kind == b.nodes[i].kind && a.nodes[i].C == b.nodes[i].C);
    memcpy(b.params.w, a.params.w, a.params.total * sizeof(float));
    float *x = randn(&rng, 2 * 3 * 20, 1.0);
    MN_CHECK_OK(t, mn_model_forward(&a, x, 2, 20, false));
    MN_CHECK_OK(t, mn_model_forward(&b, x, 2, 20, false));
    int C, T;
    const float *ya = mn_model_output(&a, &C, &T), *yb = mn_model_output(&b, NULL, NULL);
    MN_CHECK(t, C == 12 && T == 5 && memcmp(ya, yb, (size_t)2 * C * T * sizeof(float)) == 0);
    /* damaged descriptions are refused with a message */
    static const char *const bad[] = {
        "{\"format\":\"mimonet-model\",\"nodes\":[{\"op\":\"input\",\"channels\":4},{\"op\":\"permute\",\"in\":0,\"dims\":[2,2],\"perm\":[0,1,2],\"split\":1}]}",
        "{\"format\":\"mimonet-model\",\"nodes\":[{\"op\":\"input\",\"channels\":4},{\"op\":\"permute\",\"in\":0,\"dims\":[2,2,2],\"perm\":[0,0,2],\"split\":1}]}",
        "{\"format\":\"mimonet-model\",\"nodes\":[{\"op\":\"input\",\"channels\":4},{\"op\":\"mul\",\"in\":0,\"in1\":3}]}",
        "{\"format\":\"mimonet-model\",\"nodes\":[{\"op\":\"input\",\"channels\":4},{\"op\":\"concat\",\"in\":0}]}",
        "{\"format\":\"mimonet-model\",\"nodes\":[{\"op\":\"input\",\"channels\":4},{\"op\":\"slice\",\"in\":0,\"c0\":3,\"channels\":2}]}",
        "{\"format\":\"mimonet-model\",\"nodes\":[{\"op\":\"input\",\"channels\":4},{\"op\":\"quant\",\"in\":0,\"bits\":0}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        mn_model z;
        mn_model_init(&z);
        mn_status st = mn_model_from_json(&z, bad[i]);
        MN_CHECK_MSG(t, st != MN_OK && mn_error_msg()[0], "bad description %zu accepted", i);
        mn_model_free(&z);
    }
    mn_free(x);
    mn_free(js);
    mn_model_free(&a);
    mn_model_free(&b);
}

MN_TEST(nn_axis_nodes_declaration_errors)
{
    mn_rng r;
    mn_rng_seed(&r, 1);
    const int id[3] = {0, 1, 2};
    struct {
        const char *what;
        mn_status want;
    } cases[] = {
        {"perm not a permutation", MN_ERR_INVALID}, {"split 3", MN_ERR_INVALID},     {"dims 0", MN_ERR_INVALID},
        {"view not fitting channels", MN_ERR_SHAPE}, {"mul channel mismatch", MN_ERR_SHAPE},
        {"mul of a missing node", MN_ERR_INVALID},   {"concat of a missing node", MN_ERR_INVALID},
        {"slice out of range", MN_ERR_SHAPE},        {"slice of 0 channels", MN_ERR_SHAPE},
        {"quant 0 bits", MN_ERR_INVALID},            {"quant 17 bits", MN_ERR_INVALID},
        {"add of a missing node", MN_ERR_INVALID},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        mn_model m;
        mn_model_init(&m);
        int x = mn_model_input(&m, 4);
        int y = mn_model_linear(&m, x, "fc", 3);
        int got = 0;
        switch (k) {
        case 0: got = mn_model_permute(&m, x, (const int[3]){4, 2, 3}, (const int[3]){0, 2, 2}, 1); break;
        case 1: got = mn_model_permute(&m, x, (const int[3]){4, 2, 3}, id, 3); break;
        case 2: got = mn_model_permute(&m, x, (const int[3]){4, 0, 3}, id, 1); break;
        case 3: got = mn_model_permute(&m, x, (const int[3]){3, 1, 3}, id, 1); break; /* 9 values, 4 channels */
        case 4: got = mn_model_mul(&m, x, y); break;
        case 5: got = mn_model_mul(&m, x, 7); break;
        case 6: got = mn_model_concat(&m, x, -1); break;
        case 7: got = mn_model_slice(&m, x, 2, 3); break;
        case 8: got = mn_model_slice(&m, x, 0, 0); break;
        case 9: got = mn_model_quant(&m, x, 0); break;
        case 10: got = mn_model_quant(&m, x, 17); break;
        case 11: got = mn_model_add(&m, x, -1); break;
        }
        MN_CHECK_MSG(t, got == -1, "%s: declared anyway", cases[k].what);
        MN_CHECK_MSG(t, mn_model_build(&m, 1, 6, &r) == cases[k].want, "%s: build did not report %d",
                     cases[k].what, (int)cases[k].want);
        MN_CHECK_MSG(t, mn_error_msg()[0] != '\0', "%s: no message", cases[k].what);
        mn_model_free(&m);
    }
    /* Run-time shape checks: a permute's fixed window, and mul/concat of unequal windows. */
    mn_model m;
    mn_model_init(&m);
    int x = mn_model_input(&m, 2);
    mn_model_permute(&m, x, (const int[3]){2, 3, 4}, (const int[3]){2, 1, 0}, 1); /* needs T = 12 */
    MN_CHECK(t, mn_model_build(&m, 1, 8, &r) == MN_ERR_SHAPE);                   /* built too short */
    mn_model_free(&m);
    mn_model_init(&m);
    x = mn_model_input(&m, 2);
    mn_model_permute(&m, x, (const int[3]){2, 3, 4}, (const int[3]){2, 1, 0}, 1);
    MN_CHECK_OK(t, mn_model_build(&m, 1, 16, &r));
    float buf[32] = {0};
    MN_CHECK(t, mn_model_forward(&m, buf, 1, 16, false) == MN_ERR_SHAPE);
    MN_CHECK_OK(t, mn_model_forward(&m, buf, 1, 12, false));
    mn_model_free(&m);
    mn_model_init(&m);
    x = mn_model_input(&m, 2);
    int a = mn_model_conv1d(&m, x, "c", &(mn_conv1d_cfg){.cin = 2, .cout = 2, .k = 3, .dil = 1, .groups = 1,
                                                         .pad = MN_PAD_VALID, .bias = true});
    mn_model_mul(&m, a, x);
    MN_CHECK_OK(t, mn_model_build(&m, 1, 8, &r));
    MN_CHECK(t, mn_model_forward(&m, buf, 1, 8, false) == MN_ERR_SHAPE);
    mn_model_free(&m);
    mn_model_init(&m);
    x = mn_model_input(&m, 2);
    a = mn_model_conv1d(&m, x, "c", &(mn_conv1d_cfg){.cin = 2, .cout = 2, .k = 3, .dil = 1, .groups = 1,
                                                     .pad = MN_PAD_VALID, .bias = true});
    mn_model_concat(&m, x, a);
    MN_CHECK_OK(t, mn_model_build(&m, 1, 8, &r));
    MN_CHECK(t, mn_model_forward(&m, buf, 1, 8, false) == MN_ERR_SHAPE);
    mn_model_free(&m);
}

/* ---------------------------------------------------------------- dense (window-1 linear) */

typedef struct {
    int B, nin, nout;
    float *x, *w, *b, *y, *r;
} dense_fd;

static double dense_loss(void *p)
{
    dense_fd *f = p;
    mn_dense_forward(f->y, f->x, f->w, f->b, f->B, f->nin, f->nout);
    return dot_rd(f->r, f->y, (size_t)f->B * f->nout);
}

/* The model runs window-1 linear nodes through nn/dense.c: it must compute what the
 * per-time-step linear layer computes, over several GEMM blocks (B = 45 > 32 rows), and its
 * backward must match finite differences and accumulate. */
MN_TEST(nn_dense_matches_linear)
{
    mn_rng rng;
    mn_rng_seed(&rng, t->seed ^ 0xde5);
    dense_fd f = {.B = 45, .nin = 7, .nout = 37};
    const size_t nx = (size_t)f.B * f.nin, ny = (size_t)f.B * f.nout, nw = (size_t)f.nin * f.nout;
    f.x = randn(&rng, nx, 1.0);
    f.w = randn(&rng, nw, 0.5);
    f.b = randn(&rng, f.nout, 0.5);
    f.y = mn_malloc(ny * sizeof(float));
    f.r = randn(&rng, ny, 1.0);
    float *yl = mn_malloc(ny * sizeof(float));
    dense_loss(&f);
    mn_linear_forward(yl, f.x, f.w, f.b, f.B, f.nin, f.nout, 1);
    double e = 0;
    for (size_t i = 0; i < ny; i++) e = fmax(e, fabs((double)f.y[i] - (double)yl[i]));
    MN_CHECK_MSG(t, e < 1e-5, "dense vs linear forward: %.3g", e);
    float *dx = mn_calloc(nx, sizeof(float)), *dw = mn_calloc(nw, sizeof(float)), *db = mn_calloc(f.nout, sizeof(float));
    float *dxl = mn_calloc(nx, sizeof(float)), *dwl = mn_calloc(nw, sizeof(float)), *dbl = mn_calloc(f.nout, sizeof(float));
    mn_dense_backward(dx, dw, db, f.r, f.x, f.w, f.B, f.nin, f.nout);
    mn_linear_backward(dxl, dwl, dbl, f.r, f.x, f.w, f.B, f.nin, f.nout, 1);
    e = 0;
    for (size_t i = 0; i < nx; i++) e = fmax(e, fabs((double)dx[i] - (double)dxl[i]));
    for (size_t i = 0; i < nw; i++) e = fmax(e, fabs((double)dw[i] - (double)dwl[i]));
    for (int i = 0; i < f.nout; i++) e = fmax(e, fabs((double)db[i] - (double)dbl[i]));
    MN_CHECK_MSG(t, e < 1e-4, "dense vs linear backward: %.3g", e);
    size_t wi;
    double err = mn_gradcheck(dense_loss, &f, f.x, dx, nx, FD_H, FD_ATOL, &wi);
    MN_CHECK_MSG(t, err < FD_TOL, "dense dinp rel err %.3g at %zu", err, wi);
    err = mn_gradcheck(dense_loss, &f, f.w, dw, nw, FD_H, FD_ATOL, &wi);
    MN_CHECK_MSG(t, err < FD_TOL, "dense dw rel err %.3g at %zu", err, wi);
    err = mn_gradcheck(dense_loss, &f, f.b, db, f.nout, FD_H, FD_ATOL, &wi);
    MN_CHECK_MSG(t, err < FD_TOL, "dense db rel err %.3g at %zu", err, wi);
    /* accumulation: a second backward doubles everything */
    mn_dense_backward(dx, dw, db, f.r, f.x, f.w, f.B, f.nin, f.nout);
    e = 0;
    for (size_t i = 0; i < nw; i++) e = fmax(e, fabs((double)dw[i] - 2.0 * (double)dwl[i]));
    MN_CHECK_MSG(t, e < 2e-4, "dense backward does not accumulate (%.3g)", e);
    /* thread count does not change the result */
    int keep = mn_threads_get();
    float *y1 = mn_malloc(ny * sizeof(float));
    mn_threads_set(1);
    mn_dense_forward(y1, f.x, f.w, f.b, f.B, f.nin, f.nout);
    mn_threads_set(2);
    mn_dense_forward(f.y, f.x, f.w, f.b, f.B, f.nin, f.nout);
    mn_threads_set(keep);
    MN_CHECK(t, memcmp(y1, f.y, ny * sizeof(float)) == 0);
    mn_free(y1);
    mn_free(dx); mn_free(dw); mn_free(db); mn_free(dxl); mn_free(dwl); mn_free(dbl);
    mn_free(f.x); mn_free(f.w); mn_free(f.b); mn_free(f.y); mn_free(f.r); mn_free(yl);
}
