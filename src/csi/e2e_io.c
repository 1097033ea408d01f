/* src/csi/e2e_io.c — checkpoints of the end-to-end CSI system: one safetensors file holding the
 * tensors of all five networks (their parameter names already carry the network prefix:
 * "proj.", "enc.", "fb.", "srs.", "fus."), with the configuration, the trained scheme and each
 * network's architecture (nn.h mn_model_to_json) in the metadata.  Loading rebuilds the
 * system from the configuration and refuses a file whose stored architecture differs from the
 * rebuilt one (a file written by an incompatible version). */
#include "mimonet/csi_e2e.h"
#include "mimonet/io.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A table holding every network's definitions in order (w allocated, zero). */
static mn_status merged_table(mn_params *all, mn_e2e *e)
{
    mn_params_init_table(all);
    for (int i = 0; i < MN_E2E_NETS; i++) {
        const mn_params *p = &mn_e2e_net(e, i, NULL)->params;
        for (int j = 0; j < p->n; j++) {
            const mn_param_def *d = &p->defs[j];
            int r = mn_params_add(all, d->name, d->ndim, d->shape, d->init, d->scale, d->fan_in, d->trainable);
            if (r < 0) {
                mn_params_free(all);
                return (mn_status)-r;
            }
        }
    }
    mn_status st = mn_params_alloc(all);
    if (st != MN_OK) mn_params_free(all);
    return st;
}

/* Copy weights between the merged table and the networks (to_all: nets -> all), tensor by
 * tensor (each table aligns its tensors, so offsets differ between them). */
static void copy_weights(mn_params *all, mn_e2e *e, bool to_all)
{
    int idx = 0;
    for (int i = 0; i < MN_E2E_NETS; i++) {
        mn_params *p = &mn_e2e_net(e, i, NULL)->params;
        for (int j = 0; j < p->n; j++, idx++) {
            float *mine = p->w + p->defs[j].offset, *theirs = all->w + all->defs[idx].offset;
            size_t bytes = p->defs[j].numel * sizeof(float);
            if (to_all) memcpy(theirs, mine, bytes);
            else memcpy(mine, theirs, bytes);
        }
    }
}

static char *cfg_json(const mn_e2e_cfg *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "K", c->K);
    cJSON_AddNumberToObject(o, "M", c->M);
    cJSON_AddNumberToObject(o, "F", c->F);
    cJSON_AddNumberToObject(o, "pilots", c->pilots);
    cJSON_AddNumberToObject(o, "subbands", c->subbands);
    cJSON_AddNumberToObject(o, "beams", c->beams);
    cJSON_AddNumberToObject(o, "bits", c->bits);
    cJSON_AddNumberToObject(o, "q", c->q);
    cJSON_AddBoolToObject(o, "srs_pilots", c->srs_pilots);
    cJSON_AddNumberToObject(o, "P", c->P);
    cJSON_AddNumberToObject(o, "sigma2", c->sigma2);
    cJSON_AddNumberToObject(o, "srs_noise", c->srs_noise);
    cJSON_AddNumberToObject(o, "width", c->width);
    cJSON_AddNumberToObject(o, "blocks", c->blocks);
    cJSON_AddNumberToObject(o, "hidden", c->hidden);
    cJSON_AddStringToObject(o, "head", mn_e2e_head_name(c->head));
    char *t = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    char *r = t ? mn_strdup(t) : NULL;
    cJSON_free(t);
    return r;
}

static bool jnum(const cJSON *o, const char *k, double *v)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsNumber(x)) return false;
    *v = x->valuedouble;
    return true;
}

static mn_status cfg_parse(mn_e2e_cfg *c, const char *txt, const char *path)
{
    cJSON *o = cJSON_Parse(txt);
    double v[13];
    static const char *const keys[13] = {"K", "M", "F", "pilots", "beams", "bits", "q", "P", "sigma2", "srs_noise",
                                         "width", "blocks", "hidden"};
    bool ok = o != NULL;
    for (int i = 0; ok && i < 13; i++) ok = jnum(o, keys[i], &v[i]);
    const cJSON *sp = o ? cJSON_GetObjectItemCaseSensitive(o, "srs_pilots") : NULL;
    ok = ok && cJSON_IsBool(sp);
    if (!ok) {
        cJSON_Delete(o);
        return mn_error(MN_ERR_FORMAT, "%s: metadata csi.cfg is missing or malformed", path);
    }
    memset(c, 0, sizeof *c);
    c->K = (int)v[0];
    c->M = (int)v[1];
    c->F = (int)v[2];
    c->pilots = (int)v[3];
    c->beams = (int)v[4];
    c->bits = (int)v[5];
    c->q = (int)v[6];
    c->P = v[7];
    c->sigma2 = v[8];
    c->srs_noise = v[9];
    c->width = (int)v[10];
    c->blocks = (int)v[11];
    c->hidden = (int)v[12];
    c->srs_pilots = cJSON_IsTrue(sp);
    double nc = 1;
    c->subbands = jnum(o, "subbands", &nc) ? (int)nc : 1; /* absent in older files: 1 */
    const cJSON *hd = cJSON_GetObjectItemCaseSensitive(o, "head"); /* absent in older files: direct */
    int head = hd ? mn_e2e_head_from_name(cJSON_IsString(hd) ? hd->valuestring : NULL) : MN_E2E_HEAD_DIRECT;
    cJSON_Delete(o);
    if (head < 0) return mn_error(MN_ERR_FORMAT, "%s: metadata csi.cfg has an unknown precoder head", path);
    c->head = (mn_e2e_head)head;
    return MN_OK;
}

mn_status mn_e2e_save(const mn_e2e *e, mn_e2e_scheme s, const char *path, const char *const *keys,
                      const char *const *values, int n_extra)
{
    enum { N_OWN = 4 + MN_E2E_NETS, MAX_META = 48 };
    if (n_extra < 0 || n_extra > MAX_META - N_OWN) return mn_error(MN_ERR_INVALID, "csi checkpoint: %d metadata pairs", n_extra);
    mn_e2e *ee = (mn_e2e *)e; /* mn_e2e_net is not const; nothing is modified */
    mn_params all;
    mn_status st = merged_table(&all, ee);
    if (st != MN_OK) return st;
    copy_weights(&all, ee, true);
    const char *k[MAX_META] = {"mimonet.format", "mimonet.version", "mimonet.scheme", "csi.cfg"};
    const char *v[MAX_META] = {"csi-e2e", MN_VERSION_STRING, mn_e2e_scheme_name(s), NULL};
    char *owned[1 + MN_E2E_NETS] = {0};
    char knames[MN_E2E_NETS][32];
    owned[0] = cfg_json(&e->cfg);
    v[3] = owned[0];
    bool ok = owned[0] != NULL;
    for (int i = 0; i < MN_E2E_NETS; i++) {
        const char *nm;
        mn_model *m = mn_e2e_net(ee, i, &nm);
        snprintf(knames[i], sizeof knames[i], "csi.arch.%s", nm);
        owned[1 + i] = mn_model_to_json(m);
        ok = ok && owned[1 + i];
        k[4 + i] = knames[i];
        v[4 + i] = owned[1 + i];
    }
    for (int i = 0; i < n_extra; i++) {
        k[N_OWN + i] = keys[i];
        v[N_OWN + i] = values[i];
    }
    st = ok ? mn_safetensors_save(path, &all, k, v, N_OWN + n_extra) : mn_error(MN_ERR_NOMEM, "csi checkpoint metadata");
    for (int i = 0; i < 1 + MN_E2E_NETS; i++) mn_free(owned[i]);
    mn_params_free(&all);
    return st;
}

static const char *meta_str(const cJSON *meta, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

mn_status mn_e2e_load(mn_e2e *e, mn_e2e_scheme *s, const char *path, int max_batch)
{
    memset(e, 0, sizeof *e);
    char *meta_txt = NULL;
    mn_status st = mn_safetensors_read_meta(path, &meta_txt);
    if (st != MN_OK) return st;
    cJSON *meta = meta_txt ? cJSON_Parse(meta_txt) : NULL;
    mn_free(meta_txt);
    const char *fmt = meta_str(meta, "mimonet.format"), *sch = meta_str(meta, "mimonet.scheme");
    const char *cfg = meta_str(meta, "csi.cfg");
    int si = sch ? mn_e2e_scheme_from_name(sch) : -1;
    if (!fmt || strcmp(fmt, "csi-e2e") || si < 0 || !cfg) {
        cJSON_Delete(meta);
        return mn_error(MN_ERR_FORMAT, "%s: not a mimonet CSI model (metadata mimonet.format = csi-e2e missing)", path);
    }
    mn_e2e_cfg c;
    st = cfg_parse(&c, cfg, path);
    if (st == MN_OK && mn_e2e_cfg_check(&c) != MN_OK) st = mn_error(MN_ERR_FORMAT, "%s: csi.cfg: %s", path, mn_error_msg());
    if (st == MN_OK) st = mn_e2e_init(e, &c, max_batch, NULL);
    for (int i = 0; st == MN_OK && i < MN_E2E_NETS; i++) {
        const char *nm;
        char key[32];
        mn_model *m = mn_e2e_net(e, i, &nm);
        snprintf(key, sizeof key, "csi.arch.%s", nm);
        const char *stored = meta_str(meta, key);
        char *mine = mn_model_to_json(m);
        if (!mine) st = mn_error(MN_ERR_NOMEM, "csi checkpoint: architecture");
        else if (!stored || strcmp(stored, mine))
            st = mn_error(MN_ERR_FORMAT, "%s: the stored architecture of network '%s' differs from this version's", path, nm);
        mn_free(mine);
    }
    cJSON_Delete(meta);
    if (st == MN_OK) {
        mn_params all;
        st = merged_table(&all, e);
        if (st == MN_OK) {
            st = mn_safetensors_load(&all, path, NULL);
            if (st == MN_OK) copy_weights(&all, e, false);
            mn_params_free(&all);
        }
    }
    if (st != MN_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", mn_error_msg());
        mn_e2e_free(e);
        return mn_error(st, "%s", msg);
    }
    if (s) *s = (mn_e2e_scheme)si;
    return MN_OK;
}
