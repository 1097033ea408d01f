/*
 * src/io/sigmf.c — SigMF recordings (https://github.com/sigmf/SigMF, spec v1.0.0): a JSON
 * <base>.sigmf-meta beside the raw samples in <base>.sigmf-data.
 *
 * Supported datatypes: "cf32_le" (complex float32, little-endian) and "ci16_le" (complex int16,
 * little-endian).  Several channels (global "core:num_channels") are interleaved per sample:
 * sample 0 of channel 0, sample 0 of channel 1, ..., then sample 1 of channel 0, ...
 *
 * ci16 scaling: value = int16 * scale.  The writer scales to full range: scale = peak / 32767,
 * where peak is the largest |I| or |Q| of the signal, and records it in the global member
 * "mimonet:scale" (an extension declared in "core:extensions").  A reader without that member
 * uses scale = 1/32768 (the usual Q15 convention), so values lie in [-1, 1).  The quantization
 * error of a written ci16 file is therefore at most scale/2 per part.
 *
 * "core:sample_rate" becomes mn_signal.sample_rate (0 when absent).  The number of samples is
 * the data file's size divided by (bytes per complex sample x channels); a size that is not a
 * multiple of that is reported as truncated.  Non-conforming datasets ("core:dataset") and
 * capture header bytes are not supported and say so.  SigMF archives (.sigmf tar files) must be
 * extracted first.
 *
 * The writer writes the data and the meta file each atomically (data first, so a meta file
 * never describes a data file that is not yet complete).
 */
#include "source_internal.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include <cjson/cJSON.h>

#define SIGMF_CHUNK (64u * 1024u) /* bytes; a multiple of 8 */


/* base, meta and data names from any of "<base>.sigmf-meta", "<base>.sigmf-data", "<base>". */
static mn_status sigmf_names(const char *path, char *meta, char *data)
{
    size_t len = strlen(path);
    if (mn_io_ends_with(path, ".sigmf-meta") || mn_io_ends_with(path, ".sigmf-data")) len -= strlen(".sigmf-meta");
    else if (mn_io_ends_with(path, ".sigmf"))
        return mn_error(MN_ERR_UNSUPPORTED, "%s: SigMF archives (.sigmf) are not supported; extract it (tar xf) and "
                        "give the .sigmf-meta file", path);
    if (len + strlen(".sigmf-meta") + 1 > MN_IO_PATH_MAX)
        return mn_error(MN_ERR_INVALID, "%s: path longer than %d bytes", path, MN_IO_PATH_MAX);
    snprintf(meta, MN_IO_PATH_MAX, "%.*s.sigmf-meta", (int)len, path);
    snprintf(data, MN_IO_PATH_MAX, "%.*s.sigmf-data", (int)len, path);
    return MN_OK;
}

static int datatype_bytes(const char *dt)
{
    if (!strcmp(dt, "cf32_le")) return 8;
    if (!strcmp(dt, "ci16_le")) return 4;
    return 0;
}

/* Parse the meta file into `info` (all but n). */
static mn_status sigmf_parse_meta(const char *mp, mn_io_sigmf_info *info)
{
    char *text = NULL;
    size_t len = 0;
    mn_status st = mn_file_read_all(mp, MN_IO_SIGMF_META_MAX, &text, &len);
    if (st) return st; /* the message names the meta file and the reason */
    const char *end = NULL;
    long failed = mn_alloc_failures();
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (!root) {
        long at = end ? (long)(end - text) : -1;
        mn_free(text);
        if (mn_alloc_failures() != failed) return mn_error(MN_ERR_NOMEM, "%s: parsing the SigMF meta JSON", mp);
        return mn_error(MN_ERR_FORMAT, "%s: not valid JSON (error near byte %ld); expected a SigMF meta object", mp, at);
    }
    mn_free(text);
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(root, "global");
    const cJSON *it;
    if (!cJSON_IsObject(root) || !cJSON_IsObject(g)) {
        st = mn_error(MN_ERR_FORMAT, "%s: field 'global' is missing or not an object; expected a SigMF meta file", mp);
        goto done;
    }
    it = cJSON_GetObjectItemCaseSensitive(g, "core:datatype");
    if (!cJSON_IsString(it)) {
        st = mn_error(MN_ERR_FORMAT, "%s: field 'global.core:datatype' is missing or not a string; expected \"cf32_le\" "
                      "or \"ci16_le\"", mp);
        goto done;
    }
    snprintf(info->datatype, sizeof info->datatype, "%s", it->valuestring);
    if (!datatype_bytes(it->valuestring)) {
        st = mn_error(MN_ERR_FORMAT, "%s: field 'global.core:datatype' is \"%s\"; this reader supports \"cf32_le\" and "
                      "\"ci16_le\"", mp, info->datatype);
        goto done;
    }
    info->nch = 1;
    it = cJSON_GetObjectItemCaseSensitive(g, "core:num_channels");
    if (it) {
        double v = cJSON_IsNumber(it) ? it->valuedouble : -1;
        if (!(v >= 1 && v <= MN_IO_MAX_CHANNELS && v == floor(v))) {
            st = mn_error(MN_ERR_FORMAT, "%s: field 'global.core:num_channels' must be an integer from 1 to %d",
                          mp, MN_IO_MAX_CHANNELS);
            goto done;
        }
        info->nch = (int)v;
    }
    it = cJSON_GetObjectItemCaseSensitive(g, "core:sample_rate");
    if (it) {
        double v = cJSON_IsNumber(it) ? it->valuedouble : -1;
        if (!(isfinite(v) && v > 0)) {
            st = mn_error(MN_ERR_FORMAT, "%s: field 'global.core:sample_rate' must be a positive number of Hz", mp);
            goto done;
        }
        info->sample_rate = v;
    }
    info->scale = 1.0 / 32768.0;
    it = cJSON_GetObjectItemCaseSensitive(g, "mimonet:scale");
    if (it) {
        double v = cJSON_IsNumber(it) ? it->valuedouble : -1;
        if (!(isfinite(v) && v > 0)) {
            st = mn_error(MN_ERR_FORMAT, "%s: field 'global.mimonet:scale' must be a positive number", mp);
            goto done;
        }
        info->scale = v;
        info->scale_recorded = true;
    }
    it = cJSON_GetObjectItemCaseSensitive(g, "core:version");
    if (cJSON_IsString(it)) snprintf(info->version, sizeof info->version, "%s", it->valuestring);
    it = cJSON_GetObjectItemCaseSensitive(g, "core:description");
    if (cJSON_IsString(it)) snprintf(info->description, sizeof info->description, "%s", it->valuestring);
    if (cJSON_GetObjectItemCaseSensitive(g, "core:dataset")) {
        st = mn_error(MN_ERR_UNSUPPORTED, "%s: non-conforming datasets ('global.core:dataset') are not supported; "
                      "expected the samples in the .sigmf-data file beside it", mp);
        goto done;
    }
    const cJSON *caps = cJSON_GetObjectItemCaseSensitive(root, "captures");
    if (caps && !cJSON_IsArray(caps)) {
        st = mn_error(MN_ERR_FORMAT, "%s: field 'captures' must be an array", mp);
        goto done;
    }
    cJSON_ArrayForEach(it, caps)
    {
        const cJSON *hb = cJSON_GetObjectItemCaseSensitive(it, "core:header_bytes");
        if (hb && !(cJSON_IsNumber(hb) && hb->valuedouble == 0)) {
            st = mn_error(MN_ERR_UNSUPPORTED, "%s: field 'captures[%d].core:header_bytes' is set; data files with "
                          "headers are not supported", mp, info->n_captures);
            goto done;
        }
        info->n_captures++;
    }
    const cJSON *ann = cJSON_GetObjectItemCaseSensitive(root, "annotations");
    if (ann && !cJSON_IsArray(ann)) {
        st = mn_error(MN_ERR_FORMAT, "%s: field 'annotations' must be an array", mp);
        goto done;
    }
    info->n_annotations = cJSON_GetArraySize(ann);
done:
    cJSON_Delete(root);
    return st;
}

/* Validate the data file against the meta; leaves it open in *fp when fp != NULL. */
static mn_status sigmf_open_data(mn_io_sigmf_info *info, FILE **fp)
{
    const char *dp = info->data_path;
    FILE *f = fopen(dp, "rb");
    if (!f)
        return mn_error(MN_ERR_IO, "%s: cannot open the SigMF data file (%s); a recording needs both %s and this file",
                        dp, strerror(errno), info->meta_path);
    uint64_t size;
    mn_status st = mn_io_file_size(f, dp, &size);
    if (st) {
        fclose(f);
        return st;
    }
    uint64_t per = (uint64_t)datatype_bytes(info->datatype) * (uint64_t)info->nch;
    if (size == 0 || size % per != 0) {
        fclose(f);
        if (size == 0)
            return mn_error(MN_ERR_FORMAT, "%s: the SigMF data file is empty; expected samples", dp);
        return mn_error(MN_ERR_FORMAT, "%s: the SigMF data file is %llu bytes, not a multiple of %llu (one %s sample of "
                        "%d channels); it is truncated or core:num_channels is wrong", dp, (unsigned long long)size,
                        (unsigned long long)per, info->datatype, info->nch);
    }
    info->n = (int64_t)(size / per);
    if (fp) *fp = f;
    else fclose(f);
    return MN_OK;
}

mn_status mn_io_sigmf_probe(const char *path, mn_io_sigmf_info *info)
{
    memset(info, 0, sizeof *info);
    mn_status st = sigmf_names(path, info->meta_path, info->data_path);
    if (!st) st = sigmf_parse_meta(info->meta_path, info);
    if (!st) st = sigmf_open_data(info, NULL);
    return st;
}

mn_status mn_io_sigmf_read(mn_signal *s, const char *path)
{
    memset(s, 0, sizeof *s);
    mn_io_sigmf_info *info = mn_malloc(sizeof *info); /* two paths: too big for a small stack */
    if (!info) return mn_error(MN_ERR_NOMEM, "%s: out of memory", path);
    memset(info, 0, sizeof *info);
    FILE *f = NULL;
    unsigned char *buf = NULL;
    mn_status st = sigmf_names(path, info->meta_path, info->data_path);
    if (!st) st = sigmf_parse_meta(info->meta_path, info);
    if (!st) st = sigmf_open_data(info, &f);
    if (st) goto done;
    buf = mn_malloc(SIGMF_CHUNK);
    if (!buf) {
        st = mn_error(MN_ERR_NOMEM, "%s: out of memory for the read buffer", info->data_path);
        goto done;
    }
    st = mn_signal_alloc(s, info->nch, info->n);
    if (st) {
        st = mn_io_error_chain(st, "%s: cannot hold %d x %lld samples", info->data_path, info->nch, (long long)info->n);
        goto done;
    }
    s->sample_rate = info->sample_rate;
    const bool cf32 = !strcmp(info->datatype, "cf32_le");
    const size_t per = cf32 ? 8 : 4; /* bytes per complex value */
    const float scale = (float)info->scale;
    float *dst = (float *)s->x;
    uint64_t left = (uint64_t)info->n * (uint64_t)info->nch; /* complex values in file order */
    int64_t i = 0;
    int c = 0;
    const size_t per_chunk = SIGMF_CHUNK / per;
    while (left > 0) {
        size_t m = left < per_chunk ? (size_t)left : per_chunk;
        if (fread(buf, per, m, f) != m) {
            st = mn_error(MN_ERR_IO, "%s: read error at sample %lld (%s); the file changed or is unreadable",
                          info->data_path, (long long)i, ferror(f) ? strerror(errno) : "short read");
            goto done;
        }
        left -= m;
        for (size_t j = 0; j < m; j++) {
            const unsigned char *b = buf + j * per;
            float re, im;
            if (cf32) {
                uint32_t u[2];
                for (int k = 0; k < 2; k++)
                    u[k] = (uint32_t)b[4 * k] | (uint32_t)b[4 * k + 1] << 8 | (uint32_t)b[4 * k + 2] << 16 |
                           (uint32_t)b[4 * k + 3] << 24;
                memcpy(&re, &u[0], 4);
                memcpy(&im, &u[1], 4);
                if (!isfinite(re) || !isfinite(im)) {
                    st = mn_error(MN_ERR_NUMERIC, "%s: channel %d, sample %lld: the %s part is %s; every value must be "
                                  "finite", info->data_path, c, (long long)i, isfinite(re) ? "imaginary" : "real",
                                  isnan(isfinite(re) ? im : re) ? "NaN" : "Inf");
                    goto done;
                }
            } else {
                int16_t q[2];
                for (int k = 0; k < 2; k++) {
                    uint16_t u = (uint16_t)(b[2 * k] | b[2 * k + 1] << 8);
                    memcpy(&q[k], &u, 2);
                }
                re = (float)q[0] * scale;
                im = (float)q[1] * scale;
            }
            dst[2 * ((int64_t)c * info->n + i)] = re;
            dst[2 * ((int64_t)c * info->n + i) + 1] = im;
            if (++c == info->nch) {
                c = 0;
                i++;
            }
        }
    }
done:
    if (f) fclose(f);
    mn_free(buf);
    mn_free(info);
    if (st) mn_signal_free(s);
    return st;
}

/* ---------------------------------------------------------------- writer */

static mn_status write_data(mn_atomic_file *af, const mn_signal *s, bool cf32, float scale)
{
    unsigned char buf[16384];
    size_t len = 0;
    const float *v = (const float *)s->x;
    for (int64_t i = 0; i < s->n; i++) {
        for (int c = 0; c < s->nch; c++) {
            if (len + 8 > sizeof buf) {
                mn_status st = mn_atomic_write(af, buf, len);
                if (st) return st;
                len = 0;
            }
            const float *z = v + 2 * ((int64_t)c * s->n + i);
            for (int k = 0; k < 2; k++) {
                if (cf32) {
                    uint32_t u;
                    memcpy(&u, &z[k], 4);
                    for (int b = 0; b < 4; b++) buf[len++] = (unsigned char)(u >> (8 * b));
                } else {
                    /* round half away from zero; |z| <= peak so |q| <= 32767 */
                    float q = roundf(z[k] / scale);
                    if (q > 32767.0f) q = 32767.0f;
                    if (q < -32767.0f) q = -32767.0f;
                    uint16_t u = (uint16_t)(int16_t)q;
                    buf[len++] = (unsigned char)(u & 0xff);
                    buf[len++] = (unsigned char)(u >> 8);
                }
            }
        }
    }
    return len ? mn_atomic_write(af, buf, len) : MN_OK;
}

static const char *const writer_keys[] = {"core:datatype",   "core:version", "core:sample_rate", "core:num_channels",
                                          "core:extensions", "core:recorder", "mimonet:scale"};

mn_status mn_sigmf_write(const char *base, const mn_signal *s, const char *datatype, const char *extra_global_json)
{
    if (!base || !s) return mn_error(MN_ERR_INVALID, "mn_sigmf_write: base path or signal is NULL");
    if (!datatype) datatype = "cf32_le";
    if (!datatype_bytes(datatype))
        return mn_error(MN_ERR_INVALID, "%s: SigMF datatype \"%s\"; expected \"cf32_le\" or \"ci16_le\"", base, datatype);
    if (s->nch < 1 || s->nch > MN_IO_MAX_CHANNELS || s->n < 1 || !s->x)
        return mn_error(MN_ERR_INVALID, "%s: signal has %d channels of %lld samples; expected 1 to %d channels of at "
                        "least 1 sample", base, s->nch, (long long)s->n, MN_IO_MAX_CHANNELS);
    if (!(s->sample_rate >= 0 && isfinite(s->sample_rate)))
        return mn_error(MN_ERR_INVALID, "%s: sample_rate %g; expected a positive number of Hz (or 0: unknown)", base,
                        s->sample_rate);
    mn_status st = mn_io_signal_check_finite(s, base);
    if (st) return st;

    char *mp = mn_malloc(2 * MN_IO_PATH_MAX);
    if (!mp) return mn_error(MN_ERR_NOMEM, "%s: out of memory", base);
    char *dp = mp + MN_IO_PATH_MAX;
    st = sigmf_names(base, mp, dp);
    if (st) {
        mn_free(mp);
        return st;
    }
    const bool cf32 = !strcmp(datatype, "cf32_le");
    float peak = 0;
    const float *v = (const float *)s->x;
    for (size_t k = 0; k < 2 * (size_t)s->nch * (size_t)s->n; k++) peak = fmaxf(peak, fabsf(v[k]));
    double scale = peak > 0 ? (double)peak / 32767.0 : 1.0 / 32768.0;

    /* The meta object. */
    cJSON *extra = NULL, *root = NULL;
    char *text = NULL;
    bool built = false;
    if (extra_global_json) {
        extra = cJSON_Parse(extra_global_json);
        if (!cJSON_IsObject(extra)) {
            st = mn_error(MN_ERR_INVALID, "%s: extra_global_json is not a JSON object", base);
            goto done;
        }
        const cJSON *m;
        cJSON_ArrayForEach(m, extra)
        {
            for (size_t k = 0; k < sizeof writer_keys / sizeof *writer_keys; k++)
                if (m->string && !strcmp(m->string, writer_keys[k])) {
                    st = mn_error(MN_ERR_INVALID, "%s: extra_global_json member '%s' is set by the writer; remove it",
                                  base, m->string);
                    goto done;
                }
        }
    }
    root = cJSON_CreateObject();
    cJSON *g = cJSON_AddObjectToObject(root, "global");
    if (!g) goto nomem;
    if (!cJSON_AddStringToObject(g, "core:datatype", datatype)) goto nomem;
    if (!cJSON_AddStringToObject(g, "core:version", "1.0.0")) goto nomem;
    if (s->sample_rate > 0 && !cJSON_AddNumberToObject(g, "core:sample_rate", s->sample_rate)) goto nomem;
    if (!cJSON_AddNumberToObject(g, "core:num_channels", s->nch)) goto nomem;
    if (!cJSON_AddStringToObject(g, "core:recorder", "mimonet " MN_VERSION_STRING)) goto nomem;
    cJSON *exts = cJSON_AddArrayToObject(g, "core:extensions");
    cJSON *ext = cJSON_CreateObject();
    if (!exts || !ext) {
        cJSON_Delete(ext);
        goto nomem;
    }
    cJSON_AddItemToArray(exts, ext);
    if (!cJSON_AddStringToObject(ext, "name", "mimonet") || !cJSON_AddStringToObject(ext, "version", MN_VERSION_STRING) ||
        !cJSON_AddTrueToObject(ext, "optional"))
        goto nomem;
    if (!cf32 && !cJSON_AddNumberToObject(g, "mimonet:scale", scale)) goto nomem;
    if (extra) {
        while (extra->child) {
            cJSON *m = cJSON_DetachItemViaPointer(extra, extra->child);
            if (!cJSON_AddItemToObject(g, m->string, m)) { /* copies the key, then owns m */
                cJSON_Delete(m);
                goto nomem;
            }
        }
    }
    cJSON *caps = cJSON_AddArrayToObject(root, "captures");
    cJSON *cap0 = cJSON_CreateObject();
    if (!caps || !cap0) {
        cJSON_Delete(cap0);
        goto nomem;
    }
    cJSON_AddItemToArray(caps, cap0);
    if (!cJSON_AddNumberToObject(cap0, "core:sample_start", 0)) goto nomem;
    if (!cJSON_AddArrayToObject(root, "annotations")) goto nomem;
    text = cJSON_Print(root);
    if (!text) goto nomem;
    built = true;

nomem:
    if (!built) {
        st = mn_error(MN_ERR_NOMEM, "%s: out of memory building the SigMF meta", mp);
        goto done;
    }
    {
        mn_atomic_file fd, fm;
        st = mn_atomic_open(&fd, dp);
        if (st) goto done;
        st = mn_atomic_open(&fm, mp);
        if (st) {
            mn_atomic_abort(&fd);
            goto done;
        }
        st = write_data(&fd, s, cf32, (float)scale);
        if (!st) st = mn_atomic_write(&fm, text, strlen(text));
        if (!st) st = mn_atomic_write(&fm, "\n", 1);
        if (st) {
            mn_atomic_abort(&fd);
            mn_atomic_abort(&fm);
            goto done;
        }
        st = mn_atomic_commit(&fd);
        if (st) {
            mn_atomic_abort(&fm);
            goto done;
        }
        st = mn_atomic_commit(&fm);
    }
done:
    if (text) cJSON_free(text);
    cJSON_Delete(root);
    cJSON_Delete(extra);
    mn_free(mp);
    return st;
}
