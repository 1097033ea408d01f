/*
 * src/io/describe.c — mn_describe_file: a short text saying what a file holds, for
 * `mimonet info`.  The kind comes from the extension (.npy, .csv, .sigmf-meta/.sigmf-data,
 * .mat, .safetensors), or, failing that, from the first bytes (npy magic, MATLAB text header,
 * safetensors header).  Each kind is probed with the same validation its reader applies, so a
 * file that describes cleanly is one that reads cleanly (npy: dtype and shape are reported even
 * when they are not a signal, since info is also used on float32 arrays and references).
 */
#include "source_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include <cjson/cJSON.h>

void mn_io_text_printf(mn_io_text *t, const char *fmt, ...)
{
    if (t->truncated || t->cap == 0) return;
    size_t room = t->cap - t->len;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(t->buf + t->len, room, fmt, ap);
    va_end(ap);
    if (k < 0) return;
    if ((size_t)k >= room) {
        t->truncated = true;
        t->len = t->cap - 1;
        if (t->cap >= 4) memcpy(t->buf + t->cap - 4, "...", 4);
    } else {
        t->len += (size_t)k;
    }
}

static const char *npy_dtype_name(char kind, int size)
{
    switch (kind) {
    case 'c': return size == 8 ? "complex64" : size == 16 ? "complex128" : size == 32 ? "complex256" : "complex";
    case 'f': return size == 2 ? "float16" : size == 4 ? "float32" : size == 8 ? "float64" : "float";
    case 'i': return size == 1 ? "int8" : size == 2 ? "int16" : size == 4 ? "int32" : size == 8 ? "int64" : "int";
    case 'u': return size == 1 ? "uint8" : size == 2 ? "uint16" : size == 4 ? "uint32" : size == 8 ? "uint64" : "uint";
    case 'b': return "bool";
    case 'U': return "unicode string";
    case 'S': return "byte string";
    case 'O': return "Python object";
    default: return "unknown";
    }
}

static mn_status describe_npy(const char *path, mn_io_text *t)
{
    mn_io_npy_header h;
    mn_status st = mn_io_npy_probe(path, &h);
    if (st) return st;
    mn_io_text_printf(t, "NumPy .npy v%d.%d: dtype '%s' (%s, %s), shape (", h.major, h.minor, h.descr,
                      npy_dtype_name(h.kind, h.itemsize),
                      h.byteorder == '<' ? "little-endian" : h.byteorder == '>' ? "big-endian" : "no byte order");
    for (int i = 0; i < h.ndim; i++) mn_io_text_printf(t, "%s%lld", i ? ", " : "", (long long)h.shape[i]);
    mn_io_text_printf(t, "%s), %s order, %llu data bytes\n", h.ndim == 1 ? "," : "", h.fortran ? "Fortran" : "C",
                      (unsigned long long)h.data_bytes);
    bool cplx = h.kind == 'c' && (h.itemsize == 8 || h.itemsize == 16);
    bool real = h.kind == 'f' && (h.itemsize == 4 || h.itemsize == 8);
    long long nch = 0, n = 0;
    if (cplx && h.ndim == 1) nch = 1, n = h.shape[0];
    else if (cplx && h.ndim == 2) nch = h.shape[0], n = h.shape[1];
    else if (real && h.ndim == 2 && h.shape[1] == 2) nch = 1, n = h.shape[0];
    else if (real && h.ndim == 3 && h.shape[2] == 2) nch = h.shape[0], n = h.shape[1];
    if (nch > 0 && n > 0)
        mn_io_text_printf(t, "as a signal: %lld channel%s x %lld samples%s", nch, nch == 1 ? "" : "s", n,
                          real ? " (I/Q in the last axis)" : "");
    else
        mn_io_text_printf(t, "not a signal (a signal is complex [channels, samples] or float [..., 2])");
    return MN_OK;
}

static mn_status describe_csv(const char *path, mn_io_text *t)
{
    mn_io_csv_info info;
    mn_status st = mn_io_csv_probe(path, &info);
    if (st) return st;
    mn_io_text_printf(t, "CSV: %lld data rows x %d columns = %d channel%s x %lld samples; ", (long long)info.rows,
                      info.cols, info.cols / 2, info.cols == 2 ? "" : "s", (long long)info.rows);
    if (info.has_header) mn_io_text_printf(t, "header \"%s\"", info.header);
    else mn_io_text_printf(t, "no header");
    return MN_OK;
}

static mn_status describe_sigmf(const char *path, mn_io_text *t)
{
    mn_io_sigmf_info *info = mn_malloc(sizeof *info);
    if (!info) return mn_error(MN_ERR_NOMEM, "%s: out of memory", path);
    mn_status st = mn_io_sigmf_probe(path, info);
    if (!st) {
        mn_io_text_printf(t, "SigMF recording%s%s%s: datatype %s, %d channel%s x %lld samples, sample rate ",
                          info->version[0] ? " (core:version " : "", info->version, info->version[0] ? ")" : "",
                          info->datatype, info->nch, info->nch == 1 ? "" : "s", (long long)info->n);
        if (info->sample_rate > 0) mn_io_text_printf(t, "%.10g Hz\n", info->sample_rate);
        else mn_io_text_printf(t, "not given\n");
        if (!strcmp(info->datatype, "ci16_le"))
            mn_io_text_printf(t, "ci16 scale %.6g per LSB (%s)\n", info->scale,
                              info->scale_recorded ? "mimonet:scale" : "default 1/32768");
        if (info->description[0]) mn_io_text_printf(t, "description: %s\n", info->description);
        mn_io_text_printf(t, "%d capture%s, %d annotation%s; meta %s, data %s", info->n_captures,
                          info->n_captures == 1 ? "" : "s", info->n_annotations, info->n_annotations == 1 ? "" : "s",
                          info->meta_path, info->data_path);
    }
    mn_free(info);
    return st;
}

static mn_status describe_safetensors(const char *path, mn_io_text *t)
{
    mn_params p;
    char *meta = NULL;
    memset(&p, 0, sizeof p);
    mn_status st = mn_safetensors_load_new(&p, path, &meta);
    if (st) return st;
    size_t total = 0;
    for (int i = 0; i < p.n; i++) total += p.defs[i].numel;
    mn_io_text_printf(t, "safetensors: %d tensor%s, %zu parameters\n", p.n, p.n == 1 ? "" : "s", total);
    for (int i = 0; i < p.n; i++) {
        if (i == 64) {
            mn_io_text_printf(t, "  ... and %d more\n", p.n - 64);
            break;
        }
        const mn_param_def *d = &p.defs[i];
        mn_io_text_printf(t, "  %s: [", d->name);
        for (int k = 0; k < d->ndim; k++) mn_io_text_printf(t, "%s%lld", k ? ", " : "", (long long)d->shape[k]);
        mn_io_text_printf(t, "] F32\n");
    }
    if (meta) {
        cJSON *root = cJSON_Parse(meta);
        if (cJSON_IsObject(root)) {
            int k = cJSON_GetArraySize(root);
            mn_io_text_printf(t, "metadata: %d key%s:", k, k == 1 ? "" : "s");
            const cJSON *m;
            cJSON_ArrayForEach(m, root) mn_io_text_printf(t, " %s", m->string ? m->string : "?");
            mn_io_text_printf(t, "\n");
            /* Every value (a model's kind, channels, scales, GMP basis, ...); long ones, such as
             * an architecture, cut at 600 characters. */
            cJSON_ArrayForEach(m, root)
            {
                if (m->string && cJSON_IsString(m))
                    mn_io_text_printf(t, "%s: %.600s%s\n", m->string, m->valuestring,
                                      strlen(m->valuestring) > 600 ? " ..." : "");
            }
        } else {
            mn_io_text_printf(t, "metadata: (not a JSON object)\n");
        }
        cJSON_Delete(root);
    } else {
        mn_io_text_printf(t, "metadata: none\n");
    }
    mn_free(meta);
    mn_params_free(&p);
    /* drop the final newline */
    if (!t->truncated && t->len > 0 && t->buf[t->len - 1] == '\n') t->buf[--t->len] = '\0';
    return MN_OK;
}

typedef enum { KIND_UNKNOWN, KIND_NPY, KIND_CSV, KIND_SIGMF, KIND_MAT, KIND_SAFETENSORS } file_kind;

static file_kind kind_from_name(const char *path)
{
    if (mn_io_ends_with(path, ".npy")) return KIND_NPY;
    if (mn_io_ends_with(path, ".csv")) return KIND_CSV;
    if (mn_io_ends_with(path, ".sigmf-meta") || mn_io_ends_with(path, ".sigmf-data") || mn_io_ends_with(path, ".sigmf"))
        return KIND_SIGMF;
    if (mn_io_ends_with(path, ".mat")) return KIND_MAT;
    if (mn_io_ends_with(path, ".safetensors")) return KIND_SAFETENSORS;
    return KIND_UNKNOWN;
}

static mn_status kind_from_bytes(const char *path, file_kind *kind)
{
    *kind = KIND_UNKNOWN;
    FILE *f = fopen(path, "rb");
    if (!f) return mn_error(MN_ERR_IO, "%s: cannot open (%s)", path, strerror(errno));
    uint64_t size;
    mn_status st = mn_io_file_size(f, path, &size);
    unsigned char b[16] = {0};
    size_t got = st ? 0 : fread(b, 1, sizeof b, f);
    fclose(f);
    if (st) return st;
    if (got >= 6 && !memcmp(b, "\x93NUMPY", 6)) *kind = KIND_NPY;
    else if (got >= 7 && !memcmp(b, "MATLAB ", 7)) *kind = KIND_MAT;
    else if (got >= 9 && b[8] == '{') *kind = KIND_SAFETENSORS;
    return MN_OK;
}

mn_status mn_describe_file(const char *path, char *buf, size_t n)
{
    if (!buf || n == 0) return mn_error(MN_ERR_INVALID, "mn_describe_file: no output buffer");
    buf[0] = '\0';
    if (!path || !*path) return mn_error(MN_ERR_INVALID, "mn_describe_file: empty path");
    mn_io_text t = {buf, n, 0, false};
    file_kind kind = kind_from_name(path);
    mn_status st = MN_OK;
    if (kind == KIND_UNKNOWN) {
        st = kind_from_bytes(path, &kind);
        if (st) return st;
    }
    switch (kind) {
    case KIND_NPY: st = describe_npy(path, &t); break;
    case KIND_CSV: st = describe_csv(path, &t); break;
    case KIND_SIGMF: st = describe_sigmf(path, &t); break;
    case KIND_MAT: st = mn_io_mat_describe(path, &t); break;
    case KIND_SAFETENSORS: st = describe_safetensors(path, &t); break;
    default:
        st = mn_error(MN_ERR_FORMAT, "%s: unrecognized kind of file; expected .npy, .csv, .sigmf-meta, .mat or "
                      ".safetensors", path);
    }
    if (st) buf[0] = '\0';
    return st;
}
