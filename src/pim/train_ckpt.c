/* pim/train_ckpt.c — the training-state checkpoint (issue 7, crash-safe training).
 *
 * One safetensors file, written atomically (io/atomic.c: temporary, fsync, rename), holds
 *   tensors   model/<name>, adam_m/<name>, adam_v/<name>, best/<name> for every model tensor;
 *   metadata  the canceller's own keys (format "pim-train-state", kind, shapes, architecture),
 *             the position (train.*) and the run's fingerprint (run.*).
 * Doubles are stored as C99 hex floats ("%a") and the RNG words in hex, so a reload is exact:
 * a resumed run repeats an uninterrupted one bit for bit.  Loading validates everything (the
 * safetensors reader checks every offset, shape and name; the metadata is parsed strictly)
 * before the live model is touched. */
#include "train_internal.h"

#include "mimonet/io.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const GROUP[4] = {"model/", "adam_m/", "adam_v/", "best/"};

mn_status pim_state_init(pim_state *s, const mn_params *p)
{
    memset(s, 0, sizeof *s);
    mn_params_init_table(&s->tab);
    s->n = p->n;
    for (int g = 0; g < 4; g++)
        for (int i = 0; i < p->n; i++) {
            const mn_param_def *d = &p->defs[i];
            char name[MN_NAME_MAX + 8];
            snprintf(name, sizeof name, "%s%s", GROUP[g], d->name);
            if (strlen(name) >= MN_NAME_MAX) {
                pim_state_free(s);
                return mn_error(MN_ERR_INVALID, "checkpoint: tensor name '%s' is too long", name);
            }
            int k = mn_params_add(&s->tab, name, d->ndim, d->shape, MN_INIT_ZEROS, 0, 0, false);
            if (k < 0) {
                pim_state_free(s);
                return (mn_status)-k;
            }
        }
    /* Only the staging buffer is needed (no gradients or moments of the checkpoint itself). */
    s->tab.w = mn_calloc(s->tab.total ? s->tab.total : 1, sizeof(float));
    if (!s->tab.w) {
        pim_state_free(s);
        return mn_error(MN_ERR_NOMEM, "checkpoint: %zu-float staging buffer", s->tab.total);
    }
    return MN_OK;
}

void pim_state_free(pim_state *s) { mn_params_free(&s->tab); }

uint64_t pim_signal_hash(uint64_t h, const float complex *x, int nch, int64_t n)
{
    /* Four independent multiply-xor lanes over the 8-byte samples, folded at the end. */
    uint64_t a[4] = {h ^ 0x9E3779B97F4A7C15ULL, h ^ 0xC2B2AE3D27D4EB4FULL, h ^ 0x165667B19E3779F9ULL,
                     h ^ 0x27D4EB2F165667C5ULL};
    const uint64_t P = 0x100000001B3ULL * 0xFF51AFD7ED558CCDULL | 1;
    size_t total = (size_t)nch * (size_t)n, i = 0;
    for (; i + 4 <= total; i += 4)
        for (int l = 0; l < 4; l++) {
            uint64_t w;
            memcpy(&w, &x[i + (size_t)l], sizeof w);
            a[l] = (a[l] ^ w) * P;
            a[l] ^= a[l] >> 29;
        }
    for (; i < total; i++) {
        uint64_t w;
        memcpy(&w, &x[i], sizeof w);
        a[0] = (a[0] ^ w) * P;
        a[0] ^= a[0] >> 29;
    }
    uint64_t r = (uint64_t)total;
    for (int l = 0; l < 4; l++) {
        r = (r ^ a[l]) * 0x9E3779B97F4A7C15ULL;
        r ^= r >> 31;
    }
    return r;
}

/* ---------------------------------------------------------------- metadata */

enum { MAX_KV = 40, VAL_LEN = 96 };

typedef struct {
    const char *k[MAX_KV];
    const char *v[MAX_KV];
    char buf[MAX_KV][VAL_LEN];
    int n;
} kv_list;

static void kv_str(kv_list *l, const char *k, const char *v)
{
    l->k[l->n] = k;
    l->v[l->n++] = v;
}

#define KV_FMT(l, key, ...)                                                \
    do {                                                                   \
        snprintf((l)->buf[(l)->n], VAL_LEN, __VA_ARGS__);                  \
        kv_str((l), (key), (l)->buf[(l)->n]);                              \
    } while (0)

static void put_run_id(kv_list *l, const pim_run_id *id)
{
    KV_FMT(l, "run.batch", "%d", id->batch);
    KV_FMT(l, "run.window", "%d", id->window);
    KV_FMT(l, "run.seed", "%" PRIu64, id->seed);
    KV_FMT(l, "run.samples", "%" PRId64, id->n);
    KV_FMT(l, "run.train", "%" PRId64 ",%" PRId64, id->train.begin, id->train.end);
    KV_FMT(l, "run.val", "%" PRId64 ",%" PRId64, id->val.begin, id->val.end);
    KV_FMT(l, "run.data_hash", "%016" PRIx64, id->data_hash);
    KV_FMT(l, "run.steps", "%ld", id->steps);
    KV_FMT(l, "run.clr_half", "%ld", id->clr_half);
    KV_FMT(l, "run.eval_every", "%ld", id->eval_every);
    KV_FMT(l, "run.patience", "%d", id->patience);
    KV_FMT(l, "run.sched", "%d", id->sched);
    KV_FMT(l, "run.lr_min", "%a", (double)id->lr_min);
    KV_FMT(l, "run.lr_max", "%a", (double)id->lr_max);
    KV_FMT(l, "run.weight_decay", "%a", (double)id->weight_decay);
    KV_FMT(l, "run.clip", "%a", (double)id->clip);
}

mn_status pim_state_save(pim_state *s, const char *path, const mn_pim_net *q, const float *best,
                         const pim_train_pos *pos, const pim_run_id *id)
{
    const mn_params *p = &q->model.params;
    /* Stage: model weights (checked finite: a checkpoint is only ever a good state), moments, best. */
    for (int i = 0; i < p->n; i++) {
        const mn_param_def *d = &p->defs[i];
        const float *src[4] = {p->w + d->offset, p->m + d->offset, p->v + d->offset, best + d->offset};
        for (size_t j = 0; j < d->numel; j++)
            if (!isfinite(src[0][j]))
                return mn_error(MN_ERR_NUMERIC, "tensor '%s' has a non-finite weight at index %zu", d->name, j);
        for (int g = 0; g < 4; g++)
            memcpy(s->tab.w + s->tab.defs[g * s->n + i].offset, src[g], d->numel * sizeof(float));
    }
    char *arch = mn_model_to_json(&q->model);
    if (!arch) return mn_error(MN_ERR_NOMEM, "checkpoint metadata");
    kv_list l = {.n = 0};
    kv_str(&l, "mimonet.format", "pim-train-state");
    kv_str(&l, "mimonet.version", MN_VERSION_STRING);
    kv_str(&l, "mimonet.kind", q->kind);
    KV_FMT(&l, "mimonet.n_tx", "%d", q->n_tx);
    KV_FMT(&l, "mimonet.n_rx", "%d", q->n_rx);
    KV_FMT(&l, "mimonet.in_scale", "%.9g", (double)q->in_scale);
    KV_FMT(&l, "mimonet.out_scale", "%.9g", (double)q->out_scale);
    kv_str(&l, "mimonet.architecture", arch);
    KV_FMT(&l, "train.step", "%ld", pos->step);
    KV_FMT(&l, "train.rng", "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64, pos->rng.s[0], pos->rng.s[1],
           pos->rng.s[2], pos->rng.s[3]);
    KV_FMT(&l, "train.rng_spare", "%d %a", pos->rng.has_spare, pos->rng.spare);
    KV_FMT(&l, "train.best_val_ape_db", "%a", pos->best_ape);
    KV_FMT(&l, "train.best_step", "%ld", pos->best_step);
    KV_FMT(&l, "train.since_best", "%d", pos->since_best);
    KV_FMT(&l, "train.val_ape_db", "%a", pos->val_ape);
    KV_FMT(&l, "train.loss", "%a", pos->loss);
    put_run_id(&l, id);
    mn_status st = mn_safetensors_save(path, &s->tab, l.k, l.v, l.n);
    mn_free(arch);
    return st;
}

/* ---------------------------------------------------------------- reading */

typedef struct {
    const char *path;
    cJSON *meta;
    const char *bad; /* first missing or malformed key */
} meta_reader;

static const char *get_str(meta_reader *r, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->meta, key);
    if (cJSON_IsString(v)) return v->valuestring;
    if (!r->bad) r->bad = key;
    return NULL;
}

static long long get_ll(meta_reader *r, const char *key, long long lo, long long hi)
{
    const char *s = get_str(r, key);
    if (!s) return 0;
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || end == s || *end || x < lo || x > hi) {
        if (!r->bad) r->bad = key;
        return 0;
    }
    return x;
}

static double get_double(meta_reader *r, const char *key)
{
    const char *s = get_str(r, key);
    if (!s) return 0;
    char *end;
    double x = strtod(s, &end);
    if (end == s || *end) {
        if (!r->bad) r->bad = key;
        return 0;
    }
    return x;
}

static uint64_t get_hex64(meta_reader *r, const char *key, const char *s)
{
    uint64_t x = 0;
    for (int i = 0; i < 16; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) {
            if (!r->bad) r->bad = key;
            return 0;
        }
        x = x << 4 | (uint64_t)d;
    }
    return x;
}

static void get_span(meta_reader *r, const char *key, mn_span *sp)
{
    const char *s = get_str(r, key);
    long long b, e;
    int used = 0;
    if (!s || sscanf(s, "%lld,%lld%n", &b, &e, &used) != 2 || s[used] || b < 0 || e < b) {
        if (s && !r->bad) r->bad = key;
        sp->begin = sp->end = 0;
        return;
    }
    sp->begin = b;
    sp->end = e;
}

/* The run fingerprint and position from the metadata; r->bad names the first bad key. */
static void read_meta(meta_reader *r, pim_train_pos *pos, pim_run_id *id)
{
    memset(pos, 0, sizeof *pos);
    memset(id, 0, sizeof *id);
    pos->step = (long)get_ll(r, "train.step", 0, 1000000000000LL);
    const char *rng = get_str(r, "train.rng");
    if (rng && strlen(rng) == 64)
        for (int i = 0; i < 4; i++) pos->rng.s[i] = get_hex64(r, "train.rng", rng + 16 * i);
    else if (rng && !r->bad)
        r->bad = "train.rng";
    const char *sp = get_str(r, "train.rng_spare");
    char tail[64];
    if (sp && sscanf(sp, "%d %63s", &pos->rng.has_spare, tail) == 2) {
        char *end;
        pos->rng.spare = strtod(tail, &end);
        if (*end || (pos->rng.has_spare != 0 && pos->rng.has_spare != 1)) r->bad = r->bad ? r->bad : "train.rng_spare";
    } else if (sp && !r->bad)
        r->bad = "train.rng_spare";
    pos->best_ape = get_double(r, "train.best_val_ape_db");
    pos->best_step = (long)get_ll(r, "train.best_step", 0, 1000000000000LL);
    pos->since_best = (int)get_ll(r, "train.since_best", 0, 1000000000);
    pos->val_ape = get_double(r, "train.val_ape_db");
    pos->loss = get_double(r, "train.loss");
    id->batch = (int)get_ll(r, "run.batch", 1, 1 << 20);
    id->window = (int)get_ll(r, "run.window", 1, 1 << 30);
    const char *seed = get_str(r, "run.seed");
    if (seed) {
        char *end;
        errno = 0;
        id->seed = strtoull(seed, &end, 10);
        if (errno || end == seed || *end) r->bad = r->bad ? r->bad : "run.seed";
    }
    id->n = get_ll(r, "run.samples", 1, INT64_MAX);
    get_span(r, "run.train", &id->train);
    get_span(r, "run.val", &id->val);
    const char *h = get_str(r, "run.data_hash");
    if (h && strlen(h) == 16) id->data_hash = get_hex64(r, "run.data_hash", h);
    else if (h && !r->bad)
        r->bad = "run.data_hash";
    id->steps = (long)get_ll(r, "run.steps", 1, 1000000000000LL);
    id->clr_half = (long)get_ll(r, "run.clr_half", 0, 1000000000000LL);
    id->eval_every = (long)get_ll(r, "run.eval_every", 0, 1000000000000LL);
    id->patience = (int)get_ll(r, "run.patience", 0, 1000000000);
    id->sched = (int)get_ll(r, "run.sched", 0, 100);
    id->lr_min = (float)get_double(r, "run.lr_min");
    id->lr_max = (float)get_double(r, "run.lr_max");
    id->weight_decay = (float)get_double(r, "run.weight_decay");
    id->clip = (float)get_double(r, "run.clip");
}

/* Metadata of `path` as a cJSON object (cJSON_Delete it), checked to be a training state. */
static mn_status open_meta(const char *path, cJSON **meta)
{
    *meta = NULL;
    char *txt = NULL;
    mn_status st = mn_safetensors_read_meta(path, &txt);
    if (st != MN_OK) return st;
    cJSON *m = txt ? cJSON_Parse(txt) : NULL;
    bool nomem = txt && !m; /* the reader has checked the JSON: a failed parse is memory */
    mn_free(txt);
    if (nomem) return mn_error(MN_ERR_NOMEM, "%s: parsing the metadata", path);
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(m, "mimonet.format");
    if (!cJSON_IsString(f) || strcmp(f->valuestring, "pim-train-state")) {
        cJSON_Delete(m);
        return mn_error(MN_ERR_FORMAT, "%s: not a mimonet training checkpoint (mimonet.format is not "
                                       "\"pim-train-state\")", path);
    }
    *meta = m;
    return MN_OK;
}

/* Append "what a -> b" to note when the two differ. */
static void note_diff(char *note, size_t size, const char *what, double a, double b)
{
    if (a == b) return;
    size_t used = strlen(note);
    if (used + 1 >= size) return;
    snprintf(note + used, size - used, "%s%s %g -> %g", used ? ", " : "", what, a, b);
}

mn_status pim_state_load(pim_state *s, const char *path, mn_pim_net *q, float *best, pim_train_pos *pos,
                         const pim_run_id *id, char *note, size_t note_size)
{
    note[0] = '\0';
    cJSON *meta;
    mn_status st = open_meta(path, &meta);
    if (st != MN_OK) return st;
    meta_reader r = {.path = path, .meta = meta, .bad = NULL};
    pim_train_pos p;
    pim_run_id f;
    read_meta(&r, &p, &f);
    const char *kind = get_str(&r, "mimonet.kind"), *arch = get_str(&r, "mimonet.architecture");
    long long ntx = get_ll(&r, "mimonet.n_tx", 1, 1 << 20), nrx = get_ll(&r, "mimonet.n_rx", 1, 1 << 20);
    char *mine = NULL;
    if (r.bad) {
        st = mn_error(MN_ERR_FORMAT, "%s: checkpoint metadata '%s' is missing or malformed", path, r.bad);
        goto done;
    }
    mine = mn_model_to_json(&q->model);
    if (!mine) {
        st = mn_error(MN_ERR_NOMEM, "checkpoint: architecture text");
        goto done;
    }
    /* What must match: otherwise the resumed run would be a different run. */
    char why[160] = "";
    if (strcmp(kind, q->kind) || ntx != q->n_tx || nrx != q->n_rx)
        snprintf(why, sizeof why, "a %s model for %lld Tx -> %lld Rx, this run a %s for %d -> %d", kind, ntx, nrx,
                 q->kind, q->n_tx, q->n_rx);
    else if (strcmp(arch, mine))
        snprintf(why, sizeof why, "another layout of the %s model (%s)", kind,
                 strcmp(kind, "junction") ? "an earlier version's" : "other --sources, or an earlier version's");
    else if (f.n != id->n || f.data_hash != id->data_hash)
        snprintf(why, sizeof why, "other data (%lld samples, hash %016" PRIx64 "; these: %lld, %016" PRIx64 ")",
                 (long long)f.n, f.data_hash, (long long)id->n, id->data_hash);
    else if (f.train.begin != id->train.begin || f.train.end != id->train.end || f.val.begin != id->val.begin ||
             f.val.end != id->val.end)
        snprintf(why, sizeof why, "another --split");
    else if (f.batch != id->batch || f.window != id->window)
        snprintf(why, sizeof why, "--batch %d --window %d (this run: %d, %d)", f.batch, f.window, id->batch,
                 id->window);
    else if (f.seed != id->seed)
        snprintf(why, sizeof why, "--seed %" PRIu64 " (this run: %" PRIu64 ")", f.seed, id->seed);
    if (why[0]) {
        st = mn_error(MN_ERR_INVALID, "%s belongs to another run: it has %s; resume with the original settings or "
                                      "start over with --force", path, why);
        goto done;
    }
    /* Every tensor, validated by the reader, into the staging buffer; then the live state. */
    st = mn_safetensors_load(&s->tab, path, NULL);
    if (st != MN_OK) goto done;
    mn_params *pp = &q->model.params;
    for (int i = 0; i < pp->n; i++) {
        const mn_param_def *d = &pp->defs[i];
        float *dst[4] = {pp->w + d->offset, pp->m + d->offset, pp->v + d->offset, best + d->offset};
        for (int g = 0; g < 4; g++)
            memcpy(dst[g], s->tab.w + s->tab.defs[g * s->n + i].offset, d->numel * sizeof(float));
    }
    *pos = p;
    note_diff(note, note_size, "steps", (double)f.steps, (double)id->steps);
    note_diff(note, note_size, "lr_min", (double)f.lr_min, (double)id->lr_min);
    note_diff(note, note_size, "lr_max", (double)f.lr_max, (double)id->lr_max);
    note_diff(note, note_size, "clip", (double)f.clip, (double)id->clip);
    note_diff(note, note_size, "weight_decay", (double)f.weight_decay, (double)id->weight_decay);
    note_diff(note, note_size, "patience", f.patience, id->patience);
    note_diff(note, note_size, "eval_every", (double)f.eval_every, (double)id->eval_every);
    note_diff(note, note_size, "clr_half", (double)f.clr_half, (double)id->clr_half);
    note_diff(note, note_size, "schedule", f.sched, id->sched);
done:
    mn_free(mine);
    cJSON_Delete(meta);
    return st;
}

mn_status mn_pim_train_ckpt_info(const char *path, mn_pim_ckpt_info *info)
{
    memset(info, 0, sizeof *info);
    cJSON *meta;
    mn_status st = open_meta(path, &meta);
    if (st != MN_OK) return st;
    meta_reader r = {.path = path, .meta = meta, .bad = NULL};
    pim_train_pos pos;
    pim_run_id id;
    read_meta(&r, &pos, &id);
    const char *kind = get_str(&r, "mimonet.kind"), *arch = get_str(&r, "mimonet.architecture");
    info->n_tx = (int)get_ll(&r, "mimonet.n_tx", 1, 1 << 20);
    info->n_rx = (int)get_ll(&r, "mimonet.n_rx", 1, 1 << 20);
    mn_model m;
    mn_model_init(&m);
    pim_state s = {0};
    mn_params_init_table(&s.tab);
    if (r.bad || strlen(kind) >= sizeof info->kind) {
        st = mn_error(MN_ERR_FORMAT, "%s: checkpoint metadata '%s' is missing or malformed", path,
                      r.bad ? r.bad : "mimonet.kind");
        goto done;
    }
    strcpy(info->kind, kind);
    if ((st = mn_model_from_json(&m, arch)) != MN_OK) goto done;
    if (mn_model_in_channels(&m) != 2 * info->n_tx || mn_model_out_channels(&m) != 2 * info->n_rx) {
        st = mn_error(MN_ERR_FORMAT, "%s: metadata disagrees with the architecture", path);
        goto done;
    }
    if ((st = pim_state_init(&s, &m.params)) != MN_OK) goto done;
    if ((st = mn_safetensors_load(&s.tab, path, NULL)) != MN_OK) goto done;
    info->step = pos.step;
    info->steps = id.steps;
    info->best_val_ape_db = isfinite(pos.best_ape) ? pos.best_ape : (double)NAN;
    info->best_step = pos.best_step;
    info->seed = id.seed;
done:
    pim_state_free(&s);
    mn_model_free(&m);
    cJSON_Delete(meta);
    return st;
}
