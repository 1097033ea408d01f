/* core/params.c — the parameter table.  Each learnable tensor is defined once (name, shape,
 * initializer); sizes, pointer carving, initialization and checkpoints all read this table.
 * Weights w, gradients g and Adam moments m, v share one layout, so per-tensor offsets are
 * valid in all four buffers. */
#include "mimonet/core.h"

#include <math.h>
#include <string.h>

void mn_params_init_table(mn_params *p) { memset(p, 0, sizeof *p); }

int mn_params_add(mn_params *p, const char *name, int ndim, const int64_t *shape, mn_init init,
                  float scale, int64_t fan_in, bool trainable)
{
    if (p->w) {
        mn_error(MN_ERR_INVALID, "parameter '%s' added after allocation", name);
        return -MN_ERR_INVALID;
    }
    if (ndim < 1 || ndim > MN_MAX_DIMS || strlen(name) >= MN_NAME_MAX) {
        mn_error(MN_ERR_INVALID, "parameter '%s': bad rank %d or name too long", name, ndim);
        return -MN_ERR_INVALID;
    }
    if (mn_params_find(p, name) >= 0) {
        mn_error(MN_ERR_INVALID, "parameter '%s' defined twice", name);
        return -MN_ERR_INVALID;
    }
    size_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] <= 0 || (size_t)shape[i] > ((size_t)1 << 40) / numel) {
            mn_error(MN_ERR_INVALID, "parameter '%s': bad dimension %d = %lld", name, i,
                     (long long)shape[i]);
            return -MN_ERR_INVALID;
        }
        numel *= (size_t)shape[i];
    }
    if (p->n == p->cap) {
        int cap = p->cap ? 2 * p->cap : 16;
        mn_param_def *d = mn_realloc(p->defs, (size_t)cap * sizeof *d);
        if (!d) {
            mn_error(MN_ERR_NOMEM, "parameter table");
            return -MN_ERR_NOMEM;
        }
        p->defs = d;
        p->cap = cap;
    }
    mn_param_def *d = &p->defs[p->n];
    memset(d, 0, sizeof *d);
    strcpy(d->name, name);
    d->ndim = ndim;
    memcpy(d->shape, shape, (size_t)ndim * sizeof *shape);
    d->numel = numel;
    /* Keep every tensor 16-float (64-byte) aligned so kernels may use aligned vector loads. */
    d->offset = (p->total + 15) & ~(size_t)15;
    d->init = init;
    d->scale = scale;
    d->fan_in = fan_in > 0 ? fan_in : 1;
    d->trainable = trainable;
    p->total = d->offset + numel;
    return p->n++;
}

mn_status mn_params_alloc(mn_params *p)
{
    size_t n = p->total ? p->total : 1;
    p->w = mn_calloc(n, sizeof(float));
    p->g = mn_calloc(n, sizeof(float));
    p->m = mn_calloc(n, sizeof(float));
    p->v = mn_calloc(n, sizeof(float));
    if (!p->w || !p->g || !p->m || !p->v) {
        mn_free(p->w);
        mn_free(p->g);
        mn_free(p->m);
        mn_free(p->v);
        p->w = p->g = p->m = p->v = NULL;
        return mn_error(MN_ERR_NOMEM, "parameters: 4 x %zu floats", n);
    }
    return MN_OK;
}

void mn_params_randomize(mn_params *p, mn_rng *rng)
{
    for (int i = 0; i < p->n; i++) {
        const mn_param_def *d = &p->defs[i];
        float *w = p->w + d->offset;
        double s = (double)d->scale;
        switch (d->init) {
        case MN_INIT_ZEROS: memset(w, 0, d->numel * sizeof *w); break;
        case MN_INIT_ONES:
            for (size_t j = 0; j < d->numel; j++) w[j] = 1.0f;
            break;
        case MN_INIT_UNIFORM:
            for (size_t j = 0; j < d->numel; j++) w[j] = (float)(s * (2.0 * mn_rng_uniform(rng) - 1.0));
            break;
        case MN_INIT_NORMAL:
            for (size_t j = 0; j < d->numel; j++) w[j] = (float)(s * mn_rng_normal(rng));
            break;
        case MN_INIT_KAIMING_UNIF: {
            double b = 1.0 / sqrt((double)d->fan_in);
            for (size_t j = 0; j < d->numel; j++) w[j] = (float)(b * (2.0 * mn_rng_uniform(rng) - 1.0));
            break;
        }
        case MN_INIT_LINSPACE: {
            size_t row = (size_t)d->shape[d->ndim - 1];
            for (size_t j = 0; j < d->numel; j++) {
                size_t k = j % row;
                w[j] = row > 1 ? (float)(-s + 2.0 * s * (double)k / (double)(row - 1)) : 0.0f;
            }
            break;
        }
        }
    }
}

void mn_params_zero_grad(mn_params *p)
{
    if (p->g) memset(p->g, 0, p->total * sizeof(float));
}

int mn_params_find(const mn_params *p, const char *name)
{
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->defs[i].name, name) == 0) return i;
    return -1;
}

size_t mn_params_count_trainable(const mn_params *p)
{
    size_t n = 0;
    for (int i = 0; i < p->n; i++)
        if (p->defs[i].trainable) n += p->defs[i].numel;
    return n;
}

void mn_params_free(mn_params *p)
{
    mn_free(p->defs);
    mn_free(p->w);
    mn_free(p->g);
    mn_free(p->m);
    mn_free(p->v);
    memset(p, 0, sizeof *p);
}
