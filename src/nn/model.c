/*
 * nn/model.c — declaring models as a list of nodes, and running them forward and backward.
 *
 * A model is a topologically ordered list of nodes (each node's inputs come before it), so
 * forward walks the list and backward walks it in reverse.  Each builder call registers the
 * node's parameters in the model's parameter table at declaration time; mn_model_build then
 * allocates the table (weights, gradients, Adam moments in one layout) and one activation arena
 * holding every node's output y, its gradient dy and its caches, sized for the largest batch
 * and window.  Nothing is allocated in forward or backward.
 *
 * Errors during declaration are sticky in m->status: the first one is kept, later builder
 * calls return -1, and mn_model_build reports it.
 */
#include "mimonet/nn.h"

#include "fused.h"
#include "act_epi.h"
#include "grad_into.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "pragma.h"

void mn_model_init(mn_model *m)
{
    memset(m, 0, sizeof *m);
    mn_params_init_table(&m->params);
    m->output = -1;
}

/* First error wins; returns -1 so builders can `return fail(...)`. */
static int fail(mn_model *m, mn_status s)
{
    if (m->status == MN_OK) m->status = s;
    return -1;
}

/* Largest dil*(K-1) of one convolution, in samples: far beyond any useful receptive field. */
enum { MN_MODEL_MAX_SPAN = 1 << 20 };

static bool valid_in(const mn_model *m, int in) { return in >= 0 && in < m->n_nodes; }

/* Append a node of `kind` reading `in0` (and `in1`); returns its index or -1. */
static int add_node(mn_model *m, mn_node_kind kind, int in0, int in1, const char *name)
{
    if (m->status != MN_OK) return -1;
    if (m->built) return fail(m, mn_error(MN_ERR_INVALID, "model: node added after build"));
    if (kind != MN_NODE_INPUT && !valid_in(m, in0))
        return fail(m, mn_error(MN_ERR_INVALID, "model: node '%s' reads node %d, which does not exist",
                                name ? name : "?", in0));
    if (in1 != -1 && !valid_in(m, in1))
        return fail(m, mn_error(MN_ERR_INVALID, "model: node reads node %d, which does not exist", in1));
    if (name && strlen(name) >= sizeof m->nodes[0].name)
        return fail(m, mn_error(MN_ERR_INVALID, "model: name '%s' too long", name));
    if (m->n_nodes == m->cap_nodes) {
        int cap = m->cap_nodes ? 2 * m->cap_nodes : 16;
        mn_node *nn = mn_realloc(m->nodes, (size_t)cap * sizeof *nn);
        if (!nn) return fail(m, mn_error(MN_ERR_NOMEM, "model: node list"));
        m->nodes = nn;
        m->cap_nodes = cap;
    }
    mn_node *n = &m->nodes[m->n_nodes];
    memset(n, 0, sizeof *n);
    n->kind = kind;
    n->in0 = in0;
    n->in1 = in1;
    n->p_w = n->p_b = n->p_rmean = n->p_rvar = -1;
    if (name) strcpy(n->name, name);
    if (kind != MN_NODE_INPUT) n->C = m->nodes[in0].C;
    m->output = m->n_nodes;
    return m->n_nodes++;
}

/* Register "<prefix>.<suffix>" in the parameter table; -1 on failure (sticky). */
static int add_param(mn_model *m, const char *prefix, const char *suffix, int ndim,
                     const int64_t *shape, mn_init init, float scale, int64_t fan_in, bool trainable)
{
    char full[MN_NAME_MAX];
    if (!prefix || !prefix[0]) /* ".w" would be ambiguous, and a saved model could not name it */
        return fail(m, mn_error(MN_ERR_INVALID, "model: a layer with parameters (node %d) needs a non-empty name",
                                m->n_nodes - 1));
    if ((size_t)snprintf(full, sizeof full, "%s.%s", prefix, suffix) >= sizeof full)
        return fail(m, mn_error(MN_ERR_INVALID, "model: parameter name '%s.%s' too long", prefix, suffix));
    int idx = mn_params_add(&m->params, full, ndim, shape, init, scale, fan_in, trainable);
    if (idx < 0) fail(m, (mn_status)-idx);
    return idx;
}

int mn_model_input(mn_model *m, int channels)
{
    if (channels <= 0) return fail(m, mn_error(MN_ERR_INVALID, "model: input channels %d", channels));
    /* forward copies x [B, C_in, T] into every input node, sized by the first: one input only
     * (a second, wider one read past x; found by fuzz/fuzz_model_json.c) */
    if (m->n_nodes > 0 && m->status == MN_OK)
        return fail(m, mn_error(MN_ERR_INVALID, "model: a second input node (node %d); a model has one input, "
                                "the first node", m->n_nodes));
    int i = add_node(m, MN_NODE_INPUT, -1, -1, "input");
    if (i >= 0) m->nodes[i].C = channels;
    return i;
}

int mn_model_conv1d(mn_model *m, int in, const char *name, const mn_conv1d_cfg *c)
{
    int i = add_node(m, MN_NODE_CONV1D, in, -1, name);
    if (i < 0) return -1;
    mn_node *n = &m->nodes[i];
    if (c->cin != m->nodes[in].C)
        return fail(m, mn_error(MN_ERR_SHAPE, "model: conv '%s' expects %d input channels, gets %d",
                                name, c->cin, m->nodes[in].C));
    if (c->k < 1 || c->dil < 1 || c->groups < 1 || c->cout < 1 || c->cin % c->groups ||
        c->cout % c->groups)
        return fail(m, mn_error(MN_ERR_INVALID,
                                "model: conv '%s': need k>=1, dil>=1, groups dividing cin=%d and cout=%d",
                                name, c->cin, c->cout));
    /* The span dil*(K-1) is computed in int everywhere (conv1d geometry, receptive field);
     * bounding it here keeps those sums from overflowing (found by fuzz/fuzz_model_json.c). */
    if ((int64_t)c->dil * (c->k - 1) > MN_MODEL_MAX_SPAN)
        return fail(m, mn_error(MN_ERR_INVALID, "model: conv '%s': dilation %d x (k %d - 1) exceeds the "
                                "largest supported span %d", name, c->dil, c->k, MN_MODEL_MAX_SPAN));
    n->u.conv = *c;
    n->C = c->cout;
    n->t_shrink = c->pad == MN_PAD_VALID ? c->dil * (c->k - 1) : 0;
    int64_t fan_in = (int64_t)(c->cin / c->groups) * c->k;
    int64_t ws[3] = {c->cout, c->cin / c->groups, c->k}, bs[1] = {c->cout};
    n->p_w = add_param(m, name, "weight", 3, ws, MN_INIT_KAIMING_UNIF, 0, fan_in, true);
    if (c->bias) n->p_b = add_param(m, name, "bias", 1, bs, MN_INIT_KAIMING_UNIF, 0, fan_in, true);
    return m->status == MN_OK ? i : -1;
}

int mn_model_linear(mn_model *m, int in, const char *name, int nout)
{
    int i = add_node(m, MN_NODE_LINEAR, in, -1, name);
    if (i < 0) return -1;
    mn_node *n = &m->nodes[i];
    if (nout < 1) return fail(m, mn_error(MN_ERR_INVALID, "model: linear '%s' with %d outputs", name, nout));
    n->u.lin.nin = m->nodes[in].C;
    n->u.lin.nout = nout;
    n->C = nout;
    int64_t ws[2] = {nout, n->u.lin.nin}, bs[1] = {nout};
    n->p_w = add_param(m, name, "weight", 2, ws, MN_INIT_KAIMING_UNIF, 0, n->u.lin.nin, true);
    n->p_b = add_param(m, name, "bias", 1, bs, MN_INIT_KAIMING_UNIF, 0, n->u.lin.nin, true);
    return m->status == MN_OK ? i : -1;
}

int mn_model_lut(mn_model *m, int in, const char *name, int n_knots, float lo, float hi)
{
    int i = add_node(m, MN_NODE_LUT, in, -1, name);
    if (i < 0) return -1;
    mn_node *n = &m->nodes[i];
    /* finite range too: an infinite lo/hi or hi - lo gave NaN knot positions (fuzz_model_json) */
    if (n_knots < 2 || !(lo < hi) || !isfinite(hi - lo))
        return fail(m, mn_error(MN_ERR_INVALID, "model: LUT '%s' needs >= 2 knots and finite lo < hi", name));
    n->u.lut = (mn_lut_cfg){.channels = n->C, .n_knots = n_knots, .lo = lo, .hi = hi};
    int64_t ts[2] = {n->C, n_knots};
    /* Initialized to the identity map (see mn_model_build). */
    n->p_w = add_param(m, name, "table", 2, ts, MN_INIT_ZEROS, 0, 1, true);
    return m->status == MN_OK ? i : -1;
}

int mn_model_act(mn_model *m, int in, mn_act kind, float alpha)
{
    if ((int)kind < 0 || kind > MN_ACT_TANH)
        return fail(m, mn_error(MN_ERR_INVALID, "model: unknown activation %d", (int)kind));
    int i = add_node(m, MN_NODE_ACT, in, -1, NULL);
    if (i < 0) return -1;
    m->nodes[i].u.act.kind = kind;
    m->nodes[i].u.act.alpha = alpha;
    return i;
}

static int add_norm(mn_model *m, mn_node_kind kind, int in, const char *name, bool affine)
{
    int i = add_node(m, kind, in, -1, name);
    if (i < 0) return -1;
    mn_node *n = &m->nodes[i];
    n->u.norm.affine = affine;
    n->u.norm.eps = 1e-5f;
    n->u.norm.momentum = 0.1f;
    int64_t cs[1] = {n->C};
    if (affine) {
        n->p_w = add_param(m, name, "weight", 1, cs, MN_INIT_ONES, 0, 1, true);
        n->p_b = add_param(m, name, "bias", 1, cs, MN_INIT_ZEROS, 0, 1, true);
    }
    if (kind == MN_NODE_BATCHNORM) {
        n->p_rmean = add_param(m, name, "running_mean", 1, cs, MN_INIT_ZEROS, 0, 1, false);
        n->p_rvar = add_param(m, name, "running_var", 1, cs, MN_INIT_ONES, 0, 1, false);
    }
    return m->status == MN_OK ? i : -1;
}

int mn_model_batchnorm(mn_model *m, int in, const char *name, bool affine)
{
    return add_norm(m, MN_NODE_BATCHNORM, in, name, affine);
}

int mn_model_layernorm(mn_model *m, int in, const char *name, bool affine)
{
    return add_norm(m, MN_NODE_LAYERNORM, in, name, affine);
}

int mn_model_add(mn_model *m, int a, int b)
{
    if (m->status == MN_OK && !valid_in(m, b)) /* add_node takes in1 = -1 as "unused" */
        return fail(m, mn_error(MN_ERR_INVALID, "model: add reads node %d, which does not exist", b));
    int i = add_node(m, MN_NODE_ADD, a, b, NULL);
    if (i < 0) return -1;
    const mn_node *na = &m->nodes[a], *nb = &m->nodes[b];
    if (na->C != nb->C)
        return fail(m, mn_error(MN_ERR_SHAPE, "model: add of %d and %d channels", na->C, nb->C));
    return i;
}

int mn_model_dsconv(mn_model *m, int in, const char *name, const mn_dsconv_cfg *c)
{
    if (m->status != MN_OK) return -1;
    if (!valid_in(m, in)) return fail(m, mn_error(MN_ERR_INVALID, "model: dsconv '%s' input", name));
    char buf[64];
    int cin = m->nodes[in].C;
    float alpha = c->alpha > 0 ? c->alpha : 0.01f;
    snprintf(buf, sizeof buf, "%s.dw", name);
    int x = mn_model_conv1d(m, in, buf,
                            &(mn_conv1d_cfg){.cin = cin, .cout = cin, .k = c->k, .dil = c->dil,
                                             .groups = cin, .pad = MN_PAD_SAME, .bias = true});
    if (c->inner_act) x = mn_model_act(m, x, MN_ACT_LEAKY, alpha);
    snprintf(buf, sizeof buf, "%s.pw", name);
    x = mn_model_conv1d(m, x, buf,
                        &(mn_conv1d_cfg){.cin = cin, .cout = c->cout, .k = 1, .dil = 1, .groups = 1,
                                         .pad = MN_PAD_SAME, .bias = true});
    if (c->norm == MN_NORM_BATCH) {
        snprintf(buf, sizeof buf, "%s.bn", name);
        x = mn_model_batchnorm(m, x, buf, false);
    } else if (c->norm == MN_NORM_LAYER) {
        snprintf(buf, sizeof buf, "%s.ln", name);
        x = mn_model_layernorm(m, x, buf, true);
    }
    if (c->act != MN_ACT_NONE) x = mn_model_act(m, x, c->act, alpha);
    return x;
}

/* ------------------------------------------------------------------ plumbing and gating nodes */

int mn_model_permute(mn_model *m, int in, const int dims[3], const int perm[3], int split)
{
    int i = add_node(m, MN_NODE_PERMUTE, in, -1, NULL);
    if (i < 0) return -1;
    mn_node *n = &m->nodes[i];
    if (!dims || !perm || dims[0] < 1 || dims[1] < 1 || dims[2] < 1)
        return fail(m, mn_error(MN_ERR_INVALID, "model: permute (node %d) needs three dimensions >= 1", i));
    int seen = 0;
    for (int a = 0; a < 3; a++)
        if (perm[a] >= 0 && perm[a] < 3) seen |= 1 << perm[a];
    if (seen != 7)
        return fail(m, mn_error(MN_ERR_INVALID, "model: permute (node %d): perm {%d, %d, %d} is not a permutation of {0, 1, 2}",
                                i, perm[0], perm[1], perm[2]));
    if (split != 1 && split != 2)
        return fail(m, mn_error(MN_ERR_INVALID, "model: permute (node %d): split %d must be 1 or 2", i, split));
    long total = (long)dims[0] * dims[1] * dims[2];
    int cin = m->nodes[in].C;
    if (total > (1L << 30) || total % cin)
        return fail(m, mn_error(MN_ERR_SHAPE, "model: permute (node %d): a [%d, %d, %d] view does not fit %d input channels",
                                i, dims[0], dims[1], dims[2], cin));
    for (int a = 0; a < 3; a++) {
        n->u.perm.dims[a] = dims[a];
        n->u.perm.perm[a] = perm[a];
    }
    n->u.perm.split = split;
    n->u.perm.t_in = (int)(total / cin);
    int e0 = dims[perm[0]], e1 = dims[perm[1]], e2 = dims[perm[2]];
    n->C = split == 1 ? e0 : e0 * e1;
    n->u.perm.t_out = split == 1 ? e1 * e2 : e2;
    return i;
}

/* A two-input node whose inputs must agree in channels (mul) or not (concat). */
static int add_pair(mn_model *m, mn_node_kind kind, int a, int b, const char *what)
{
    if (m->status == MN_OK && !valid_in(m, b))
        return fail(m, mn_error(MN_ERR_INVALID, "model: %s reads node %d, which does not exist", what, b));
    int i = add_node(m, kind, a, b, NULL);
    if (i < 0) return -1;
    const mn_node *na = &m->nodes[a], *nb = &m->nodes[b];
    if (kind == MN_NODE_MUL && na->C != nb->C)
        return fail(m, mn_error(MN_ERR_SHAPE, "model: %s of %d and %d channels (node %d)", what, na->C, nb->C, i));
    if (kind == MN_NODE_CONCAT) {
        if (na->C > INT_MAX - nb->C)
            return fail(m, mn_error(MN_ERR_SHAPE, "model: %s of %d and %d channels (node %d) has too many channels",
                                    what, na->C, nb->C, i));
        m->nodes[i].C = na->C + nb->C;
    }
    return i;
}

int mn_model_mul(mn_model *m, int a, int b) { return add_pair(m, MN_NODE_MUL, a, b, "mul"); }
int mn_model_concat(mn_model *m, int a, int b) { return add_pair(m, MN_NODE_CONCAT, a, b, "concat"); }

int mn_model_slice(mn_model *m, int in, int c0, int n_ch)
{
    int i = add_node(m, MN_NODE_SLICE, in, -1, NULL);
    if (i < 0) return -1;
    int cin = m->nodes[in].C;
    if (c0 < 0 || n_ch < 1 || c0 > cin - n_ch)
        return fail(m, mn_error(MN_ERR_SHAPE, "model: slice [%d, %lld) of %d channels (node %d)", c0, (long long)c0 + n_ch, cin, i));
    m->nodes[i].u.slice.c0 = c0;
    m->nodes[i].C = n_ch;
    return i;
}

int mn_model_quant(mn_model *m, int in, int bits)
{
    int i = add_node(m, MN_NODE_QUANT, in, -1, NULL);
    if (i < 0) return -1;
    if (bits < 1 || bits > 16)
        return fail(m, mn_error(MN_ERR_INVALID, "model: quantizer (node %d) with %d bits (1..16)", i, bits));
    m->nodes[i].u.quant.bits = bits;
    return i;
}

/* ------------------------------------------------------------------ build */

/* Largest T of node i for windows of max_T (valid convs shrink it). */
static int node_max_T(const mn_model *m, int i, int max_T)
{
    const mn_node *n = &m->nodes[i];
    if (n->kind == MN_NODE_INPUT) return max_T;
    if (n->kind == MN_NODE_PERMUTE) return n->u.perm.t_out; /* fixed: checked in build */
    int t = node_max_T(m, n->in0, max_T) - n->t_shrink;
    return t;
}

/* How many inputs of all the nodes read node i. */
static int uses_of(const mn_model *m, int i)
{
    int uses = 0;
    for (int r = 1; r < m->n_nodes; r++) uses += (m->nodes[r].in0 == i) + (m->nodes[r].in1 == i);
    return uses;
}

/* The most parts one concat joins through the concats it absorbs (cat_into). */
#define CAT_PARTS_MAX 32

/* The nodes concat k joins, through the concats it absorbs (cat_into == k), in channel order,
 * appended to leaf[n..] (leaf NULL: only counted); returns the new count. */
static int cat_leaves(const mn_model *m, int k, int *leaf, int n)
{
    for (int e = 0; e < 2; e++) {
        const int a = e ? m->nodes[k].in1 : m->nodes[k].in0;
        if (m->nodes[a].cat_into == k) n = cat_leaves(m, a, leaf, n);
        else if (leaf) leaf[n++] = a;
        else n++;
    }
    return n;
}

mn_status mn_model_build(mn_model *m, int max_B, int max_T, mn_rng *rng)
{
    if (m->status != MN_OK) return m->status;
    if (m->built) return mn_error(MN_ERR_INVALID, "model: built twice");
    if (m->n_nodes < 2 || m->nodes[0].kind != MN_NODE_INPUT)
        return mn_error(MN_ERR_INVALID, "model: needs an input node and at least one layer");
    if (max_B < 1 || max_T < 1) return mn_error(MN_ERR_INVALID, "model: max batch %d, max T %d", max_B, max_T);

    /* Size the arena: y and dy of every node, plus norm caches, each rounded to 64 bytes. */
    size_t bytes = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        const mn_node *n = &m->nodes[i];
        int t = node_max_T(m, i, max_T);
        if (t < 1)
            return mn_error(MN_ERR_SHAPE, "model: windows of %d samples are too short for node %d ('%s')",
                            max_T, i, n->name);
        if (n->kind == MN_NODE_PERMUTE && node_max_T(m, n->in0, max_T) < n->u.perm.t_in)
            return mn_error(MN_ERR_SHAPE, "model: permute (node %d) needs windows of %d at its input; built for %d",
                            i, n->u.perm.t_in, node_max_T(m, n->in0, max_T));
        size_t act = (size_t)max_B * (size_t)n->C * (size_t)t * sizeof(float);
        bytes += 2 * ((act + 63) & ~(size_t)63);
        if (n->kind == MN_NODE_BATCHNORM) bytes += 2 * (((size_t)n->C * sizeof(float) + 63) & ~(size_t)63);
        if (n->kind == MN_NODE_LAYERNORM)
            bytes += 2 * (((size_t)max_B * (size_t)t * sizeof(float) + 63) & ~(size_t)63);
    }
    mn_status st = mn_params_alloc(&m->params);
    if (st != MN_OK) return st;
    st = mn_arena_init(&m->act, bytes);
    if (st != MN_OK) {
        mn_params_free(&m->params);
        return st;
    }
    for (int i = 0; i < m->n_nodes; i++) {
        mn_node *n = &m->nodes[i];
        size_t cnt = (size_t)max_B * (size_t)n->C * (size_t)node_max_T(m, i, max_T);
        n->y = mn_arena_alloc_f(&m->act, cnt);
        n->dy = mn_arena_alloc_f(&m->act, cnt);
        if (n->kind == MN_NODE_BATCHNORM) {
            n->c0 = mn_arena_alloc_f(&m->act, n->C);
            n->c1 = mn_arena_alloc_f(&m->act, n->C);
        } else if (n->kind == MN_NODE_LAYERNORM) {
            size_t bt = (size_t)max_B * (size_t)node_max_T(m, i, max_T);
            n->c0 = mn_arena_alloc_f(&m->act, bt);
            n->c1 = mn_arena_alloc_f(&m->act, bt);
        }
    }
    m->max_B = max_B;
    m->max_T = max_T;
    /* Who reads each node's output, for backward (only nodes up to the output run there). */
    for (int i = 0; i < m->n_nodes; i++) {
        m->nodes[i].last_reader = -1;
        m->nodes[i].readers = 0;
    }
    for (int i = 1; i <= m->output; i++) {
        const mn_node *n = &m->nodes[i];
        m->nodes[n->in0].last_reader = i;
        m->nodes[n->in0].readers++;
        if (n->in1 >= 0) {
            m->nodes[n->in1].last_reader = i;
            m->nodes[n->in1].readers++;
        }
    }
    /* An activation whose input has no other reader, among all the nodes, is applied by the node
     * that makes that input, as it writes it (nn/act_epi.h): a conv, linear or batch norm. */
    for (int i = 0; i < m->n_nodes; i++) m->nodes[i].epi = -1;
    for (int j = 1; j < m->n_nodes; j++) {
        const mn_node *a = &m->nodes[j];
        const int i = a->in0;
        const mn_node_kind k = m->nodes[i].kind;
        if (a->kind != MN_NODE_ACT || i == m->output ||
            (k != MN_NODE_CONV1D && k != MN_NODE_LINEAR && k != MN_NODE_BATCHNORM))
            continue;
        if (uses_of(m, i) == 1) m->nodes[i].epi = j;
    }
    /* And in backward: a conv or linear over time whose input is an activation that nothing else
     * reads, and whose own input only that activation reads, writes the gradient of the
     * activation's input directly (nn/act_epi.h), and the activation's backward is skipped. */
    for (int i = 0; i < m->n_nodes; i++) m->nodes[i].bepi = -1;
    for (int r = 1; r <= m->output; r++) {
        mn_node *n = &m->nodes[r];
        const int a = n->in0;
        if (n->kind != MN_NODE_CONV1D && n->kind != MN_NODE_LINEAR) continue;
        if (m->nodes[a].kind != MN_NODE_ACT || m->nodes[a].readers != 1) continue;
        if (m->nodes[m->nodes[a].in0].readers != 1) continue;
        n->bepi = a;
    }
    /* And a chain of concats (junction's six-way product map is five nested ones) runs as one:
     * a concat whose only reader, among all the nodes, is another concat taking it as its first
     * input, and whose own inputs have no other reader, is absorbed by it (cat_into): the last
     * concat of the chain copies every part into its output, and gives every part its gradient,
     * and the ones before do nothing.  The same copies, so the same bits. */
    for (int i = 0; i < m->n_nodes; i++) m->nodes[i].cat_into = -1;
    for (int i = 1; i < m->output; i++) {
        mn_node *n = &m->nodes[i];
        const int r = n->last_reader;
        if (n->kind != MN_NODE_CONCAT || n->readers != 1 || uses_of(m, i) != 1 || m->nodes[r].kind != MN_NODE_CONCAT ||
            m->nodes[r].in0 != i || m->nodes[r].in1 == i || n->in0 == n->in1)
            continue;
        bool ok = cat_leaves(m, i, NULL, 0) + 1 <= CAT_PARTS_MAX;
        for (int e = 0; e < 2; e++) {
            const int a = e ? n->in1 : n->in0;
            ok = ok && (m->nodes[a].cat_into == i || (a > 0 && m->nodes[a].readers == 1 && uses_of(m, a) == 1));
        }
        if (ok) n->cat_into = r;
    }
    /* In a sample-split pass a node runs on one sample at a time, and a sample's rows of a concat
     * are contiguous, so a part that nothing else reads can write its output into the concat's
     * rows, and read its gradient from them (at): the concat then copies nothing.  Every part of
     * the concat must qualify (neither it nor the node that writes it as an epilogue couples
     * samples: those run on the whole batch), or none is a view. */
    for (int i = 0; i < m->n_nodes; i++) m->nodes[i].cat_view = m->nodes[i].cat_c0 = -1;
    for (int h = 1; h <= m->output; h++) {
        const mn_node *n = &m->nodes[h];
        if (n->kind != MN_NODE_CONCAT || n->cat_into >= 0) continue;
        int leaf[CAT_PARTS_MAX];
        const int np = cat_leaves(m, h, leaf, 0);
        bool ok = true;
        for (int j = 0; j < np && ok; j++) {
            const mn_node *l = &m->nodes[leaf[j]];
            const mn_node *w = l->kind == MN_NODE_ACT && m->nodes[l->in0].epi == leaf[j] ? &m->nodes[l->in0] : l;
            ok = leaf[j] > 0 && l->readers == 1 && uses_of(m, leaf[j]) == 1 && l->kind != MN_NODE_CONCAT &&
                 l->kind != MN_NODE_PERMUTE && w->kind != MN_NODE_BATCHNORM && w->kind != MN_NODE_LINEAR;
        }
        for (int j = 0, c0 = 0; j < np && ok; j++) {
            m->nodes[leaf[j]].cat_view = h;
            m->nodes[leaf[j]].cat_c0 = c0;
            c0 += m->nodes[leaf[j]].C;
        }
    }
    if (rng) mn_params_randomize(&m->params, rng);
    /* LUTs start as the identity on [lo, hi]. */
    for (int i = 0; i < m->n_nodes; i++) {
        const mn_node *n = &m->nodes[i];
        if (n->kind != MN_NODE_LUT) continue;
        float *tab = mn_params_w(&m->params, n->p_w);
        for (int c = 0; c < n->u.lut.channels; c++)
            for (int k = 0; k < n->u.lut.n_knots; k++)
                tab[(size_t)c * n->u.lut.n_knots + k] =
                    n->u.lut.lo + (n->u.lut.hi - n->u.lut.lo) * (float)k / (float)(n->u.lut.n_knots - 1);
    }
    st = mn_fused_plan(m); /* eval-mode fused executor, for the graphs it supports */
    if (st != MN_OK) {
        mn_params_free(&m->params);
        mn_arena_free(&m->act);
        return st;
    }
    m->built = true;
    return MN_OK;
}

/* ------------------------------------------------------------------ run */

static float *pw(const mn_model *m, int idx) { return idx >= 0 ? mn_params_w(&m->params, idx) : NULL; }

/* Node i's buffer p ([B, C, T]) from sample b0 on. */
static float *at(const mn_model *m, int i, float *p, int b0)
{
    const mn_node *n = &m->nodes[i];
    if (p && m->viewing && n->cat_view >= 0 && (p == n->y || p == n->dy)) { /* rows of its concat's */
        const mn_node *h = &m->nodes[n->cat_view];
        return (p == n->y ? h->y : h->dy) + ((size_t)b0 * (size_t)h->C + (size_t)n->cat_c0) * (size_t)n->T;
    }
    return p ? p + (size_t)b0 * (size_t)n->C * (size_t)n->T : NULL;
}

/* Nodes whose samples depend on each other's: a training batch norm (statistics over the batch),
 * and linears of vectors, whose whole-batch GEMMs would shrink to GEMVs per sample.  Every other
 * node maps sample b of its inputs to sample b of its output. */
static bool couples_samples(const mn_node *n)
{
    return n->kind == MN_NODE_BATCHNORM || (n->kind == MN_NODE_LINEAR && n->T == 1);
}

/* Each node's window for inputs of T samples, and the checks that need it; nothing is run. */
static mn_status plan_windows(mn_model *m, int T)
{
    m->nodes[0].T = T;
    for (int i = 1; i < m->n_nodes; i++) {
        mn_node *n = &m->nodes[i];
        const mn_node *a = &m->nodes[n->in0];
        n->T = a->T - n->t_shrink;
        if (n->kind == MN_NODE_PERMUTE) {
            if (a->T != n->u.perm.t_in)
                return mn_error(MN_ERR_SHAPE, "model: permute (node %d) views %d x %d input values as [%d, %d, %d]: "
                                "the window must be %d, got %d", i, a->C, a->T, n->u.perm.dims[0],
                                n->u.perm.dims[1], n->u.perm.dims[2], n->u.perm.t_in, a->T);
            n->T = n->u.perm.t_out;
        }
        if ((n->kind == MN_NODE_MUL || n->kind == MN_NODE_CONCAT || n->kind == MN_NODE_ADD) &&
            m->nodes[n->in1].T != a->T)
            return mn_error(MN_ERR_SHAPE, "model: %s of windows %d and %d (node %d)",
                            n->kind == MN_NODE_MUL ? "mul" : n->kind == MN_NODE_CONCAT ? "concat" : "add", a->T,
                            m->nodes[n->in1].T, i);
        if (n->T < 1)
            return mn_error(MN_ERR_SHAPE, "model: window of %d samples too short for node %d ('%s')", T, i,
                            n->name);
    }
    return MN_OK;
}

/* Node i forward on samples [b0, b0 + B) (the windows are planned). */
static void node_forward(mn_model *m, int i, int b0, int B, bool training)
{
    mn_node *n = &m->nodes[i];
    const mn_node *a = &m->nodes[n->in0];
    if (n->kind == MN_NODE_ACT && a->epi == i && !m->fused_off) return; /* its input's node applied it */
    if (n->cat_into >= 0 && !m->fused_off) return;                    /* the concat it feeds copies its parts */
    /* With an epilogue the output goes, activated, to the activation's buffer (nn/act_epi.h);
     * mn_model_set_fused(m, false) runs every node apart. */
    const int e = m->fused_off ? -1 : n->epi;
    const mn_act_epi epi = e >= 0 ? (mn_act_epi){m->nodes[e].u.act.kind, m->nodes[e].u.act.alpha} : MN_ACT_EPI_NONE;
    float *y = e >= 0 ? at(m, e, m->nodes[e].y, b0) : at(m, i, n->y, b0);
    const float *x = at(m, n->in0, a->y, b0);
    const float *x1 = n->in1 >= 0 ? at(m, n->in1, m->nodes[n->in1].y, b0) : NULL;
    const size_t cnt = (size_t)B * n->C * n->T;
    switch (n->kind) {
    case MN_NODE_CONV1D: mn_conv1d_forward_epi(y, x, pw(m, n->p_w), pw(m, n->p_b), B, a->T, &n->u.conv, epi); break;
    case MN_NODE_LINEAR:
        if (n->T == 1) { /* a batch of vectors: whole-batch GEMMs (nn/dense.c) */
            mn_dense_forward(y, x, pw(m, n->p_w), pw(m, n->p_b), B, n->u.lin.nin, n->u.lin.nout);
            if (e >= 0) mn_act_forward(y, y, cnt, epi.kind, epi.alpha);
        } else
            mn_linear_forward_epi(y, x, pw(m, n->p_w), pw(m, n->p_b), B, n->u.lin.nin, n->u.lin.nout, n->T, epi);
        break;
    case MN_NODE_LUT: mn_lut_forward(y, x, pw(m, n->p_w), B, n->T, &n->u.lut); break;
    case MN_NODE_ACT: mn_act_forward(y, x, cnt, n->u.act.kind, n->u.act.alpha); break;
    case MN_NODE_BATCHNORM:
        mn_batchnorm_forward_epi(y, n->c0, n->c1, x, pw(m, n->p_w), pw(m, n->p_b), pw(m, n->p_rmean),
                                 pw(m, n->p_rvar), B, n->C, n->T, n->u.norm.eps, n->u.norm.momentum, training, epi);
        break;
    case MN_NODE_LAYERNORM: /* caches [B, T] */
        mn_layernorm_forward(y, n->c0 + (size_t)b0 * n->T, n->c1 + (size_t)b0 * n->T, x, pw(m, n->p_w),
                             pw(m, n->p_b), B, n->C, n->T, n->u.norm.eps);
        break;
    case MN_NODE_ADD: mn_add_forward(y, x, x1, cnt); break;
    case MN_NODE_PERMUTE: mn_permute3_forward(y, x, B, n->u.perm.dims, n->u.perm.perm); break;
    case MN_NODE_MUL: mn_mul_forward(y, x, x1, cnt); break;
    case MN_NODE_CONCAT:
        if (m->viewing && m->nodes[n->in1].cat_view == i) break; /* every part wrote its rows of y itself */
        if (a->cat_into == i && !m->fused_off) { /* the parts of the concats it absorbs, and its second input */
            int leaf[CAT_PARTS_MAX];
            mn_cat_part part[CAT_PARTS_MAX];
            const int np = cat_leaves(m, i, leaf, 0);
            for (int j = 0; j < np; j++)
                part[j] = (mn_cat_part){at(m, leaf[j], m->nodes[leaf[j]].y, b0), m->nodes[leaf[j]].C, false};
            mn_concat_parts_forward(y, part, np, B, n->T);
        } else
            mn_concat_forward(y, x, x1, B, a->C, m->nodes[n->in1].C, n->T);
        break;
    case MN_NODE_SLICE: mn_slice_forward(y, x, B, a->C, n->u.slice.c0, n->C, n->T); break;
    case MN_NODE_QUANT: mn_quant_forward(y, x, cnt, n->u.quant.bits); break;
    case MN_NODE_INPUT:
    case MN_NODE_KIND_COUNT: break;
    }
}

/* The end of the run of nodes from i on (up to `last`) that map samples to samples. */
static int run_end(const mn_model *m, int i, int last)
{
    int j = i;
    while (j <= last && !couples_samples(&m->nodes[j])) j++;
    return j;
}

mn_status mn_model_forward(mn_model *m, const float *x, int B, int T, bool training)
{
    if (!m->built) return mn_error(MN_ERR_INVALID, "model: forward before build");
    if (B < 1 || B > m->max_B || T < 1 || T > m->max_T)
        return mn_error(MN_ERR_SHAPE, "model: batch %d x window %d exceeds the built %d x %d", B, T,
                        m->max_B, m->max_T);
    m->fused_ran = false;
    m->viewing = false;
    if (!training && mn_fused_usable(m, T)) return mn_fused_forward(m, x, B, T);
    mn_status st = plan_windows(m, T);
    if (st != MN_OK) return st;
    m->B = B;
    if (x != m->nodes[0].y) memcpy(m->nodes[0].y, x, (size_t)B * m->nodes[0].C * T * sizeof(float));
    const bool split = training && m->split_g && B > 1;
    m->viewing = split && !m->fused_off;
    for (int i = 1; i < m->n_nodes;) {
        const int j = split ? run_end(m, i, m->n_nodes - 1) : i;
        if (j == i) { /* one node, the whole batch */
            node_forward(m, i++, 0, B, training);
            continue;
        }
        /* Nodes i..j-1 one sample at a time: every thread carries its samples through the run. */
        OMP(parallel for schedule(dynamic, 1))
        for (int b = 0; b < B; b++)
            for (int k = i; k < j; k++) node_forward(m, k, b, 1, training);
        i = j;
    }
    return MN_OK;
}

void mn_model_set_input_grad(mn_model *m, bool on) { m->no_input_grad = !on; }

/* Whether node i's gradient is written, not added to, by its reader: it has one, of a kind
 * whose backward can (nn/grad_into.h), so the buffer needs no zeroing. */
static bool grad_written(const mn_model *m, int i)
{
    const mn_node *n = &m->nodes[i];
    if (n->readers != 1) return false;
    const mn_node *r = &m->nodes[n->last_reader];
    const mn_node_kind k = r->kind;
    return k == MN_NODE_ACT || k == MN_NODE_CONV1D || k == MN_NODE_BATCHNORM || k == MN_NODE_MUL ||
           k == MN_NODE_ADD || k == MN_NODE_CONCAT || (k == MN_NODE_LINEAR && r->T > 1);
}

/* The activation node whose backward node r applies in this backward (its bepi, unless every
 * node runs apart or r is a linear over vectors, T = 1, which nn/dense.c runs), or -1. */
static int backward_epi(const mn_model *m, int r)
{
    const mn_node *n = &m->nodes[r];
    if (m->fused_off || n->bepi < 0 || (n->kind == MN_NODE_LINEAR && n->T == 1)) return -1;
    return n->bepi;
}

/* Node i backward on samples [b0, b0 + B), its parameter gradients into g (the table's layout). */
static void node_backward(mn_model *m, int i, int b0, int B, float *g, bool skip_input)
{
    mn_node *n = &m->nodes[i];
    mn_node *a = &m->nodes[n->in0];
    if (n->kind == MN_NODE_ACT && n->last_reader > 0 && backward_epi(m, n->last_reader) == i)
        return; /* its reader wrote its input's gradient */
    if (n->cat_into >= 0 && !m->fused_off) return; /* the concat it feeds gave its parts their gradients */
    /* With a backward epilogue the gradient goes, through the activation, to its input's node. */
    const int e = backward_epi(m, i);
    const mn_act_epi epi = e >= 0 ? (mn_act_epi){a->u.act.kind, a->u.act.alpha} : MN_ACT_EPI_NONE;
    const int gi = e >= 0 ? a->in0 : n->in0; /* the node whose gradient this one writes */
    const bool set = grad_written(m, gi), set1 = n->in1 >= 0 && grad_written(m, n->in1);
    const size_t cnt = (size_t)B * n->C * n->T;
    /* The input node's gradient is computed too, unless turned off: callers may want d loss / d x. */
    float *da = gi == 0 && skip_input ? NULL : at(m, gi, m->nodes[gi].dy, b0);
    const float *x = at(m, n->in0, a->y, b0), *dy = at(m, i, n->dy, b0), *y = at(m, i, n->y, b0);
    float *gw = n->p_w >= 0 ? g + m->params.defs[n->p_w].offset : NULL;
    float *gb = n->p_b >= 0 ? g + m->params.defs[n->p_b].offset : NULL;
    const mn_node *b = n->in1 >= 0 ? &m->nodes[n->in1] : NULL;
    float *db = b ? at(m, n->in1, b->dy, b0) : NULL;
    switch (n->kind) {
    case MN_NODE_CONV1D:
        mn_conv1d_backward_epi(da, gw, gb, dy, x, pw(m, n->p_w), B, a->T, &n->u.conv, set, epi);
        break;
    case MN_NODE_LINEAR:
        if (n->T == 1)
            mn_dense_backward(da, gw, gb, dy, x, pw(m, n->p_w), B, n->u.lin.nin, n->u.lin.nout);
        else
            mn_linear_backward_epi(da, gw, gb, dy, x, pw(m, n->p_w), B, n->u.lin.nin, n->u.lin.nout, n->T, set, epi);
        break;
    case MN_NODE_LUT: mn_lut_backward(da, gw, dy, x, pw(m, n->p_w), B, n->T, &n->u.lut); break;
    case MN_NODE_ACT: mn_act_backward_into(da, dy, y, cnt, n->u.act.kind, n->u.act.alpha, set); break;
    case MN_NODE_BATCHNORM:
        mn_batchnorm_backward_into(da, gw, gb, dy, x, n->c0, n->c1, pw(m, n->p_w), B, n->C, n->T, set);
        break;
    case MN_NODE_LAYERNORM:
        mn_layernorm_backward(da, gw, gb, dy, x, n->c0 + (size_t)b0 * n->T, n->c1 + (size_t)b0 * n->T,
                              pw(m, n->p_w), B, n->C, n->T);
        break;
    case MN_NODE_ADD: mn_add_backward_into(da, db, dy, cnt, set, set1); break;
    case MN_NODE_PERMUTE: mn_permute3_backward(da, dy, B, n->u.perm.dims, n->u.perm.perm); break;
    case MN_NODE_MUL: mn_mul_backward_into(da, db, dy, x, at(m, n->in1, b->y, b0), cnt, set, set1); break;
    case MN_NODE_CONCAT:
        if (m->viewing && b->cat_view == i) break; /* every part reads its rows of dy itself */
        if (a->cat_into == i && !m->fused_off) { /* every part of the chain its gradient */
            int leaf[CAT_PARTS_MAX];
            mn_cat_part part[CAT_PARTS_MAX];
            const int np = cat_leaves(m, i, leaf, 0);
            for (int j = 0; j < np; j++) {
                const int l = leaf[j];
                part[j] = (mn_cat_part){l == 0 && skip_input ? NULL : at(m, l, m->nodes[l].dy, b0), m->nodes[l].C,
                                        grad_written(m, l)};
            }
            mn_concat_parts_backward_into(part, np, dy, B, n->T);
        } else
            mn_concat_backward_into(da, db, dy, B, a->C, b->C, n->T, set, set1);
        break;
    case MN_NODE_SLICE: mn_slice_backward(da, dy, B, a->C, n->u.slice.c0, n->C, n->T); break;
    case MN_NODE_QUANT: mn_quant_backward(da, dy, cnt); break;
    case MN_NODE_INPUT:
    case MN_NODE_KIND_COUNT: break;
    }
}

/* In a sample-split backward, node i's gradient slices are zeroed by its last reader when that
 * reader runs per sample (couples_samples uses the windows of the last forward). */
static bool lazy_zero(const mn_model *m, int i)
{
    const int r = m->nodes[i].last_reader;
    return r > 0 && !couples_samples(&m->nodes[r]);
}

mn_status mn_model_backward(mn_model *m, const float *dy)
{
    if (!m->built || m->B < 1) return mn_error(MN_ERR_INVALID, "model: backward before forward");
    if (m->fused_ran)
        return mn_error(MN_ERR_INVALID, "model: backward after a fused eval forward, which keeps no activations "
                        "(run forward with training = true, or mn_model_set_fused(m, false))");
    const int B = m->B;
    /* Without the input's gradient, convolutions reading the input pass dinp = NULL; any other
     * reader still accumulates into it, so then it is zeroed as usual. */
    bool skip_input = m->no_input_grad;
    for (int i = 1; i < m->n_nodes && skip_input; i++) {
        const mn_node *n = &m->nodes[i];
        if ((n->in0 == 0 && n->kind != MN_NODE_CONV1D) || n->in1 == 0)
            skip_input = false;
    }
    const bool split = m->split_g && B > 1;
    /* A forward that left concat parts in their concats' rows needs a backward that reads them there. */
    if (m->viewing && (!split || m->fused_off))
        return mn_error(MN_ERR_INVALID, "model: the sample split or the fusion was turned off between forward and backward");
    m->viewing = split && !m->fused_off;
    const size_t P = m->params.total;
    /* Each node's gradient is a sum over its readers, so it starts at zero, except where its one
     * reader writes it (grad_written).  In a sample-split stretch a node's slice is zeroed by
     * its last reader (the first to run backward), just before it accumulates there, so the
     * zeros are written in cache; every other gradient buffer is zeroed up front, in fixed
     * chunks shared by the threads. */
    enum { ZCHUNK = 1 << 16 };
    OMP(parallel if(m->n_nodes > 1))
    {
        for (int i = skip_input ? 1 : 0; i < m->n_nodes; i++) {
            const mn_node *n = &m->nodes[i];
            if (i == m->output || grad_written(m, i) || (split && lazy_zero(m, i))) continue;
            const size_t cnt = (size_t)B * n->C * n->T;
            const long nch = (long)((cnt + ZCHUNK - 1) / ZCHUNK);
            OMP(for schedule(static) nowait)
            for (long c = 0; c < nch; c++) {
                const size_t o = (size_t)c * ZCHUNK;
                memset(n->dy + o, 0, (cnt - o < ZCHUNK ? cnt - o : ZCHUNK) * sizeof(float));
            }
        }
        if (split) {
            OMP(for schedule(static) nowait)
            for (int b = 0; b < B; b++) memset(m->split_g + (size_t)b * P, 0, P * sizeof(float));
        }
    }
    mn_node *out = &m->nodes[m->output];
    if (dy != out->dy) memcpy(out->dy, dy, (size_t)B * out->C * out->T * sizeof(float));
    for (int i = m->output; i > 0;) {
        int j = i;
        while (split && j > 0 && !couples_samples(&m->nodes[j])) j--;
        if (j == i) { /* one node, the whole batch */
            node_backward(m, i--, 0, B, m->params.g, skip_input);
            continue;
        }
        /* Nodes i down to j+1 one sample at a time, each sample's parameter gradients apart. */
        OMP(parallel for schedule(dynamic, 1))
        for (int b = 0; b < B; b++)
            for (int k = i; k > j; k--) {
                const mn_node *n = &m->nodes[k];
                for (int e = 0; e < 2; e++) {
                    const int a = e ? n->in1 : n->in0;
                    if (a < 0 || (e && a == n->in0) || m->nodes[a].last_reader != k || (a == 0 && skip_input) ||
                        grad_written(m, a))
                        continue;
                    const mn_node *na = &m->nodes[a];
                    memset(at(m, a, na->dy, b), 0, (size_t)na->C * na->T * sizeof(float));
                }
                node_backward(m, k, b, 1, m->split_g + (size_t)b * P, skip_input);
            }
        i = j;
    }
    if (split) { /* sum the samples' gradients in sample order: the same bits for any thread count */
        enum { RCHUNK = 4096 };
        const long nch = (long)((P + RCHUNK - 1) / RCHUNK);
        OMP(parallel for schedule(static))
        for (long c = 0; c < nch; c++) {
            const size_t e0 = (size_t)c * RCHUNK, e1 = e0 + RCHUNK < P ? e0 + RCHUNK : P;
            for (int b = 0; b < B; b++) {
                const float *gb = m->split_g + (size_t)b * P;
                for (size_t e = e0; e < e1; e++) m->params.g[e] += gb[e];
            }
        }
    }
    return MN_OK;
}

mn_status mn_model_set_sample_split(mn_model *m, bool on)
{
    if (!on) {
        mn_free(m->split_g);
        m->split_g = NULL;
        return MN_OK;
    }
    if (!m->built) return mn_error(MN_ERR_INVALID, "model: sample split before build");
    if (m->split_g) return MN_OK;
    m->split_g = mn_malloc((size_t)m->max_B * m->params.total * sizeof(float));
    return m->split_g ? MN_OK : mn_error(MN_ERR_NOMEM, "model: per-sample gradients of %d x %zu floats", m->max_B,
                                         m->params.total);
}

float *mn_model_output(const mn_model *m, int *C, int *T)
{
    if (m->output < 0) return NULL;
    const mn_node *n = &m->nodes[m->output];
    if (C) *C = n->C;
    if (T) *T = n->T;
    return n->y;
}

int mn_model_in_channels(const mn_model *m) { return m->n_nodes ? m->nodes[0].C : 0; }
int mn_model_out_channels(const mn_model *m) { return m->output >= 0 ? m->nodes[m->output].C : 0; }

/* Reach of node i in input samples: output t depends on inputs [t - left, t + right]
 * (index t of a valid conv's output is aligned with input index t of its input). */
static void reach(const mn_model *m, int i, int *left, int *right)
{
    const mn_node *n = &m->nodes[i];
    if (n->kind == MN_NODE_INPUT) {
        *left = *right = 0;
        return;
    }
    int l, r;
    reach(m, n->in0, &l, &r);
    if (n->kind == MN_NODE_ADD || n->kind == MN_NODE_MUL || n->kind == MN_NODE_CONCAT) {
        int l1, r1;
        reach(m, n->in1, &l1, &r1);
        if (l1 > l) l = l1;
        if (r1 > r) r = r1;
    } else if (n->kind == MN_NODE_CONV1D) {
        int pl, pr;
        mn_conv1d_out_len(&n->u.conv, 1 << 20, &pl, &pr);
        int span = n->u.conv.dil * (n->u.conv.k - 1);
        l += pl;
        r += span - pl;
    } else if (n->kind == MN_NODE_PERMUTE) {
        /* every output value may come from any position of the input window */
        l += n->u.perm.t_in - 1;
        r += n->u.perm.t_in - 1;
    }
    *left = l;
    *right = r;
}

/* The same reach for every node up to `upto`, in one pass over the topologically ordered list:
 * the recursive walk above revisits shared inputs, so it is exponential in the number of merge
 * nodes (30 chained add(x, x) nodes took 4 s; found while fuzzing model JSON).  lr holds
 * 2 (upto + 1) values; sums saturate at INT_MAX. */
static void reach_all(const mn_model *m, int upto, long long *lr)
{
    for (int i = 0; i <= upto; i++) {
        const mn_node *n = &m->nodes[i];
        long long l = 0, r = 0;
        if (n->kind != MN_NODE_INPUT) {
            l = lr[2 * n->in0];
            r = lr[2 * n->in0 + 1];
        }
        if (n->kind == MN_NODE_ADD || n->kind == MN_NODE_MUL || n->kind == MN_NODE_CONCAT) {
            if (lr[2 * n->in1] > l) l = lr[2 * n->in1];
            if (lr[2 * n->in1 + 1] > r) r = lr[2 * n->in1 + 1];
        } else if (n->kind == MN_NODE_CONV1D) {
            int pl, pr;
            mn_conv1d_out_len(&n->u.conv, 1 << 20, &pl, &pr);
            long long span = (long long)n->u.conv.dil * (n->u.conv.k - 1);
            l += pl;
            r += span - pl;
        } else if (n->kind == MN_NODE_PERMUTE) {
            l += n->u.perm.t_in - 1;
            r += n->u.perm.t_in - 1;
        }
        lr[2 * i] = l < INT_MAX ? l : INT_MAX;
        lr[2 * i + 1] = r < INT_MAX ? r : INT_MAX;
    }
}

void mn_model_receptive_field(const mn_model *m, int *left, int *right)
{
    int l = 0, r = 0;
    if (m->output > 0) {
        long long *lr = mn_malloc(2 * ((size_t)m->output + 1) * sizeof *lr);
        if (lr) {
            reach_all(m, m->output, lr);
            l = (int)lr[2 * m->output];
            r = (int)lr[2 * m->output + 1];
            mn_free(lr);
        } else {
            reach(m, m->output, &l, &r); /* no memory: the slow walk still gives the answer */
        }
    }
    if (left) *left = l;
    if (right) *right = r;
}

long mn_model_macs_per_sample(const mn_model *m)
{
    long macs = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        const mn_node *n = &m->nodes[i];
        if (n->kind == MN_NODE_CONV1D)
            macs += (long)n->u.conv.cout * (n->u.conv.cin / n->u.conv.groups) * n->u.conv.k;
        else if (n->kind == MN_NODE_LINEAR)
            macs += (long)n->u.lin.nin * n->u.lin.nout;
    }
    return macs;
}

/* ------------------------------------------------------------------ JSON */

static const char *const kind_names[MN_NODE_KIND_COUNT] = {
    [MN_NODE_INPUT] = "input",         [MN_NODE_CONV1D] = "conv1d",   [MN_NODE_LINEAR] = "linear",
    [MN_NODE_LUT] = "lut",             [MN_NODE_ACT] = "act",         [MN_NODE_BATCHNORM] = "batchnorm",
    [MN_NODE_LAYERNORM] = "layernorm", [MN_NODE_ADD] = "add",         [MN_NODE_PERMUTE] = "permute",
    [MN_NODE_MUL] = "mul",             [MN_NODE_CONCAT] = "concat",   [MN_NODE_SLICE] = "slice",
    [MN_NODE_QUANT] = "quant",
};

static cJSON *int3_json(const int v[3])
{
    return cJSON_CreateIntArray(v, 3);
}

/* Read a 3-element integer array; false when absent or malformed. */
static bool json_int3(const cJSON *o, const char *key, int v[3])
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != 3) return false;
    for (int i = 0; i < 3; i++) {
        const cJSON *e = cJSON_GetArrayItem(a, i);
        if (!cJSON_IsNumber(e)) return false;
        v[i] = e->valueint;
    }
    return true;
}

/* Attach item to obj under key (obj may be NULL, item may be NULL); false when either is NULL
 * or attaching fails, and then item is deleted, so a failed allocation never leaks a subtree. */
static bool put(cJSON *obj, const char *key, cJSON *item)
{
    if (obj && item && cJSON_AddItemToObject(obj, key, item)) return true;
    cJSON_Delete(item);
    return false;
}

char *mn_model_to_json(const mn_model *m)
{
    /* Every allocation is checked: a text missing a part would be a wrong architecture. */
    cJSON *root = cJSON_CreateObject();
    cJSON *nodes = cJSON_CreateArray();
    bool ok = put(root, "nodes", nodes) && put(root, "format", cJSON_CreateString("mimonet-model")) &&
              put(root, "version", cJSON_CreateNumber(1));
    for (int i = 0; ok && i < m->n_nodes; i++) {
        const mn_node *n = &m->nodes[i];
        cJSON *j = cJSON_CreateObject();
        if (!j || !cJSON_AddItemToArray(nodes, j)) {
            cJSON_Delete(j);
            ok = false;
            break;
        }
        ok = put(j, "op", cJSON_CreateString(kind_names[n->kind]));
        if (n->kind == MN_NODE_INPUT) {
            ok = ok && put(j, "channels", cJSON_CreateNumber(n->C));
            continue;
        }
        ok = ok && put(j, "in", cJSON_CreateNumber(n->in0));
        if (n->in1 >= 0) ok = ok && put(j, "in1", cJSON_CreateNumber(n->in1));
        if (n->name[0]) ok = ok && put(j, "name", cJSON_CreateString(n->name));
        switch (n->kind) {
        case MN_NODE_CONV1D:
            ok = ok && put(j, "cout", cJSON_CreateNumber(n->u.conv.cout)) && put(j, "k", cJSON_CreateNumber(n->u.conv.k)) &&
                 put(j, "dil", cJSON_CreateNumber(n->u.conv.dil)) &&
                 put(j, "groups", cJSON_CreateNumber(n->u.conv.groups)) &&
                 put(j, "pad", cJSON_CreateString(n->u.conv.pad == MN_PAD_SAME ? "same" : "valid")) &&
                 put(j, "bias", cJSON_CreateBool(n->u.conv.bias));
            break;
        case MN_NODE_LINEAR: ok = ok && put(j, "out", cJSON_CreateNumber(n->u.lin.nout)); break;
        case MN_NODE_LUT:
            ok = ok && put(j, "knots", cJSON_CreateNumber(n->u.lut.n_knots)) &&
                 put(j, "lo", cJSON_CreateNumber((double)n->u.lut.lo)) && put(j, "hi", cJSON_CreateNumber((double)n->u.lut.hi));
            break;
        case MN_NODE_ACT:
            ok = ok && put(j, "act", cJSON_CreateString(mn_act_name(n->u.act.kind))) &&
                 put(j, "alpha", cJSON_CreateNumber((double)n->u.act.alpha));
            break;
        case MN_NODE_BATCHNORM:
        case MN_NODE_LAYERNORM: ok = ok && put(j, "affine", cJSON_CreateBool(n->u.norm.affine)); break;
        case MN_NODE_PERMUTE:
            ok = ok && put(j, "dims", int3_json(n->u.perm.dims)) && put(j, "perm", int3_json(n->u.perm.perm)) &&
                 put(j, "split", cJSON_CreateNumber(n->u.perm.split));
            break;
        case MN_NODE_SLICE:
            ok = ok && put(j, "c0", cJSON_CreateNumber(n->u.slice.c0)) && put(j, "channels", cJSON_CreateNumber(n->C));
            break;
        case MN_NODE_QUANT: ok = ok && put(j, "bits", cJSON_CreateNumber(n->u.quant.bits)); break;
        default: break;
        }
    }
    ok = ok && put(root, "output", cJSON_CreateNumber(m->output));
    if (!ok) {
        cJSON_Delete(root);
        return NULL;
    }
    char *txt = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!txt) return NULL;
    char *out = mn_strdup(txt); /* hand out memory the caller frees with mn_free */
    cJSON_free(txt);
    return out;
}

static int jint(const cJSON *o, const char *key, int dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valueint : dflt;
}

static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

mn_status mn_model_from_json(mn_model *m, const char *json)
{
    long failed = mn_alloc_failures();
    cJSON *root = cJSON_Parse(json);
    if (!root && mn_alloc_failures() != failed) return mn_error(MN_ERR_NOMEM, "model architecture: parsing");
    if (!root) return mn_error(MN_ERR_FORMAT, "model architecture: not valid JSON");
    mn_status st = MN_OK;
    const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(root, "nodes");
    const char *fmt = jstr(root, "format");
    if (!fmt || strcmp(fmt, "mimonet-model") != 0 || !cJSON_IsArray(nodes)) {
        st = mn_error(MN_ERR_FORMAT, "model architecture: expected {\"format\": \"mimonet-model\", \"nodes\": [...]}");
        goto done;
    }
    int idx = 0;
    const cJSON *j;
    cJSON_ArrayForEach(j, nodes)
    {
        const char *op = jstr(j, "op");
        const char *name = jstr(j, "name");
        int in = jint(j, "in", -1);
        int got = -1;
        if (!op) {
            st = mn_error(MN_ERR_FORMAT, "model architecture: node %d has no \"op\"", idx);
            goto done;
        }
        if (in >= idx) {
            st = mn_error(MN_ERR_FORMAT, "model architecture: node %d reads a later node %d", idx, in);
            goto done;
        }
        if (!strcmp(op, "input")) got = mn_model_input(m, jint(j, "channels", 0));
        else if (!strcmp(op, "conv1d")) {
            const char *pad = jstr(j, "pad");
            const cJSON *bias = cJSON_GetObjectItemCaseSensitive(j, "bias");
            int cin = in >= 0 && in < m->n_nodes ? m->nodes[in].C : 0;
            got = mn_model_conv1d(m, in, name ? name : "conv",
                                  &(mn_conv1d_cfg){.cin = cin, .cout = jint(j, "cout", 0), .k = jint(j, "k", 0),
                                                   .dil = jint(j, "dil", 1), .groups = jint(j, "groups", 1),
                                                   .pad = pad && !strcmp(pad, "valid") ? MN_PAD_VALID : MN_PAD_SAME,
                                                   .bias = !cJSON_IsFalse(bias)});
        } else if (!strcmp(op, "linear"))
            got = mn_model_linear(m, in, name ? name : "linear", jint(j, "out", 0));
        else if (!strcmp(op, "lut")) {
            const cJSON *lo = cJSON_GetObjectItemCaseSensitive(j, "lo");
            const cJSON *hi = cJSON_GetObjectItemCaseSensitive(j, "hi");
            got = mn_model_lut(m, in, name ? name : "lut", jint(j, "knots", 0),
                               cJSON_IsNumber(lo) ? (float)lo->valuedouble : 0.0f,
                               cJSON_IsNumber(hi) ? (float)hi->valuedouble : 0.0f);
        } else if (!strcmp(op, "act")) {
            const char *a = jstr(j, "act");
            int kind = a ? mn_act_from_name(a) : -1;
            const cJSON *alpha = cJSON_GetObjectItemCaseSensitive(j, "alpha");
            if (kind < 0) {
                st = mn_error(MN_ERR_FORMAT, "model architecture: node %d: unknown activation '%s'", idx,
                              a ? a : "(none)");
                goto done;
            }
            got = mn_model_act(m, in, (mn_act)kind, cJSON_IsNumber(alpha) ? (float)alpha->valuedouble : 0.0f);
        } else if (!strcmp(op, "batchnorm") || !strcmp(op, "layernorm")) {
            bool affine = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "affine"));
            got = op[0] == 'b' ? mn_model_batchnorm(m, in, name ? name : "bn", affine)
                               : mn_model_layernorm(m, in, name ? name : "ln", affine);
        } else if (!strcmp(op, "add"))
            got = mn_model_add(m, in, jint(j, "in1", -1));
        else if (!strcmp(op, "mul") || !strcmp(op, "concat")) {
            int in1 = jint(j, "in1", -1);
            if (in1 >= idx) {
                st = mn_error(MN_ERR_FORMAT, "model architecture: node %d reads a later node %d", idx, in1);
                goto done;
            }
            got = op[0] == 'm' ? mn_model_mul(m, in, in1) : mn_model_concat(m, in, in1);
        } else if (!strcmp(op, "permute")) {
            int dims[3], perm[3];
            if (!json_int3(j, "dims", dims) || !json_int3(j, "perm", perm)) {
                st = mn_error(MN_ERR_FORMAT, "model architecture: node %d: permute needs \"dims\" and \"perm\" "
                              "arrays of 3 integers", idx);
                goto done;
            }
            got = mn_model_permute(m, in, dims, perm, jint(j, "split", 0));
        } else if (!strcmp(op, "slice"))
            got = mn_model_slice(m, in, jint(j, "c0", -1), jint(j, "channels", 0));
        else if (!strcmp(op, "quant"))
            got = mn_model_quant(m, in, jint(j, "bits", 0));
        else {
            st = mn_error(MN_ERR_FORMAT, "model architecture: node %d: unknown op '%s'", idx, op);
            goto done;
        }
        if (got != idx) {
            st = m->status != MN_OK ? m->status : mn_error(MN_ERR_FORMAT, "model architecture: node %d", idx);
            goto done;
        }
        idx++;
    }
    int out = jint(root, "output", m->n_nodes - 1);
    if (out < 1 || out >= m->n_nodes) {
        st = mn_error(MN_ERR_FORMAT, "model architecture: output node %d out of range", out);
        goto done;
    }
    m->output = out;
done:
    cJSON_Delete(root);
    return st;
}

void mn_model_free(mn_model *m)
{
    mn_fused_free(m);
    mn_free(m->split_g);
    mn_params_free(&m->params);
    mn_arena_free(&m->act);
    mn_free(m->nodes);
    memset(m, 0, sizeof *m);
    m->output = -1;
}
