/*
 * mimonet/io.h — files: atomic writes, safetensors checkpoints, and data sources
 * (npy, MAT, CSV, SigMF).
 *
 * Every writer is atomic: data goes to a temporary file in the destination's folder, is
 * fsync'ed, then renamed over the destination, so a crash leaves either the old file or the
 * new one, never half of one.  Every reader validates sizes, offsets, shapes and dtypes before
 * it allocates, and reports the file and field at fault through mn_error_msg().
 */
#ifndef MIMONET_IO_H
#define MIMONET_IO_H

#include <stdio.h>
#include "mimonet/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- atomic files */

typedef struct {
    FILE *f;
    char *path;     /* destination */
    char *tmp_path; /* temporary in the same folder */
    mn_status status;
} mn_atomic_file;

/* Open a temporary beside `path`.  Write with mn_atomic_write (or fwrite on af->f), then
 * mn_atomic_commit (flush, fsync, rename, fsync folder) or mn_atomic_abort (unlink).
 * The first failed write sticks in af->status and makes commit fail (and remove the
 * temporary).  Commit and abort both release the struct; abort after either is harmless.
 * The new file keeps the permission bits of the file it replaces (0644 for a new file). */
mn_status mn_atomic_open(mn_atomic_file *af, const char *path);
mn_status mn_atomic_write(mn_atomic_file *af, const void *data, size_t bytes);
mn_status mn_atomic_commit(mn_atomic_file *af);
void mn_atomic_abort(mn_atomic_file *af);
/* Whole buffer to `path`, atomically. */
mn_status mn_file_write_atomic(const char *path, const void *data, size_t bytes);
/* Read a whole file (at most max_bytes) into a new buffer (mn_free it), NUL-terminated.
 * A longer file is MN_ERR_FORMAT; *data is NULL on any failure.  bytes may be NULL. */
mn_status mn_file_read_all(const char *path, size_t max_bytes, char **data, size_t *bytes);

/* ---------------------------------------------------------------- safetensors */

/* Save every tensor of the table (F32, little-endian, the table's shapes and names), with
 * `metadata` as the "__metadata__" string map (pairs key[i] -> value[i]; may be 0 pairs).
 * Loadable by Python's safetensors and by torch through it. */
mn_status mn_safetensors_save(const char *path, const mn_params *p, const char *const *keys,
                              const char *const *values, int n_meta);

/* Load into an allocated table: every tensor of the table must be present with the same shape
 * and dtype F32; extra tensors are an error.  Every offset and size is validated against the
 * file length before use.  If meta_json != NULL, receives the "__metadata__" object as JSON
 * text (mn_free it), or NULL when absent.  On failure the table is unchanged and *meta_json
 * is NULL; malformed files give MN_ERR_FORMAT, shape mismatches MN_ERR_SHAPE. */
mn_status mn_safetensors_load(mn_params *p, const char *path, char **meta_json);

/* Read only the metadata map (as JSON text; mn_free it) — to learn the architecture before
 * building the model. */
mn_status mn_safetensors_read_meta(const char *path, char **meta_json);

/* Read every tensor of a file (F32 only) into a NEW table defined from the file's header, in
 * the file's order, and allocated; only w is filled; every tensor is marked trainable.  For
 * reference data and `mimonet info`.  On failure *p is left empty (nothing to free).  Tensors
 * of rank 0, rank > MN_MAX_DIMS or with a zero dimension give MN_ERR_UNSUPPORTED. */
mn_status mn_safetensors_load_new(mn_params *p, const char *path, char **meta_json);

/* ---------------------------------------------------------------- data sources
 * (section owned by the data-I/O work: npy, MAT, CSV, SigMF) */

/* A complex multi-channel signal: nch rows of n samples each, row-major (x[c * n + i]). */
typedef struct {
    mn_cf32 *x;
    int nch;
    int64_t n;
    double sample_rate; /* Hz; 0 when the file does not say */
} mn_signal;

mn_status mn_signal_alloc(mn_signal *s, int nch, int64_t n); /* zero-filled */
void mn_signal_free(mn_signal *s);

/* Read a data source named as on the command line:
 *   x.npy          complex64/complex128 [nch, n] or [n]; or float32/float64 [n, 2] or
 *                  [nch, n, 2] as I/Q; either byte order; C or Fortran order; v1/v2/v3 headers
 *   x.mat:VAR      MAT v5 / v7.3 through matio (double or single; real is accepted with Im = 0);
 *                  VAR may be omitted when the file holds one variable.  A rows x cols matrix
 *                  is [channels = rows, samples = cols] when rows <= cols, else transposed.
 *   x.csv          columns I,Q or I0,Q0,I1,Q1,... ; header optional (a first line with no
 *                  number in it); blank lines only at the end
 *   x.sigmf-meta   SigMF (cf32_le, ci16_le; multi-channel via core:num_channels, interleaved
 *                  per sample); .sigmf-data is accepted too and finds its meta file.  ci16 is
 *                  scaled by global "mimonet:scale" when present, else by 1/32768.
 *                  core:sample_rate -> s->sample_rate.
 * float64 values are rounded to float32.  Validates shape, dtype, size and finiteness before
 * allocating from any declared size; errors name the file and field (and the channel/sample of a
 * NaN/Inf: MN_ERR_NUMERIC; the line and column for CSV).  Statuses: MN_ERR_IO (cannot open/read),
 * MN_ERR_FORMAT (malformed, truncated, wrong dtype), MN_ERR_SHAPE (not a signal's shape),
 * MN_ERR_NUMERIC, MN_ERR_INVALID (unknown kind, bad VAR), MN_ERR_UNSUPPORTED (no matio).
 * On failure *s is empty and nothing stays allocated. */
mn_status mn_source_read(mn_signal *s, const char *src);

/* Writers (all atomic).  The signal writers refuse NaN/Inf (MN_ERR_NUMERIC naming the channel
 * and sample): every file they write reads back.
 * npy: complex64, shape [nch, n] (or [n] when nch == 1 and squeeze); v1.0 header padded to 64.
 * npy_f32: any float32 array (values written as given, NaN included).
 * csv: header "I,Q" (one channel) or "I0,Q0,I1,Q1,..."; 9 significant digits, so float32
 * values read back bit-identical. */
mn_status mn_npy_write_c64(const char *path, const mn_signal *s, bool squeeze);
mn_status mn_npy_write_f32(const char *path, const float *x, int ndim, const int64_t *shape);
mn_status mn_csv_write(const char *path, const mn_signal *s);
/* SigMF pair <base>.sigmf-meta / <base>.sigmf-data (a base ending in either suffix is
 * accepted); datatype "cf32_le" (NULL means this) or "ci16_le" (scaled to full range:
 * scale = peak |I|,|Q| / 32767, recorded as global "mimonet:scale"; error <= scale / 2).
 * The meta holds core:version "1.0.0", core:datatype, core:sample_rate (when > 0),
 * core:num_channels, core:recorder, core:extensions, one capture and an empty annotations
 * array.  extra_global_json: an object whose members are added to "global" (may be NULL; a
 * member the writer sets itself is MN_ERR_INVALID).  Data is committed before meta. */
mn_status mn_sigmf_write(const char *base, const mn_signal *s, const char *datatype,
                         const char *extra_global_json);
/* MAT v5 (or v7.3 when v73) through matio: one complex double variable `var` of size
 * [nch, n], uncompressed (float32 -> double is exact); MN_ERR_UNSUPPORTED without matio.
 * Note the reader's orientation rule: a signal with nch > n reads back transposed. */
mn_status mn_mat_write(const char *path, const char *var, const mn_signal *s, bool v73);

/* Block access to npy signals larger than memory (what `pim cancel` streams through).  Only
 * little-endian complex64 in C order, [nch, n] or [n], is served; any other npy layout gives
 * MN_ERR_UNSUPPORTED from open, and the caller reads it whole with mn_source_read instead.
 * read: samples [i0, i0 + len) of every channel into x [nch, len]; NaN/Inf is MN_ERR_NUMERIC
 * naming the file, channel and sample.  The writer sizes the whole [nch, n] file at open, takes
 * blocks in any order (x: nch rows at row stride `stride`), refuses NaN/Inf, and is atomic:
 * commit renames the finished file into place, abort (or any failed write, then commit) leaves
 * the destination untouched. */
typedef struct {
    FILE *f;
    char *path;
    int nch;
    int64_t n;
    uint64_t data_offset;
} mn_npy_reader;

mn_status mn_npy_reader_open(mn_npy_reader *r, const char *path);
mn_status mn_npy_reader_read(mn_npy_reader *r, mn_cf32 *x, int64_t i0, int64_t len);
void mn_npy_reader_close(mn_npy_reader *r);

typedef struct {
    mn_atomic_file af;
    int nch;
    int64_t n;
    uint64_t data_offset;
    bool open;
} mn_npy_writer;

mn_status mn_npy_writer_open(mn_npy_writer *w, const char *path, int nch, int64_t n);
mn_status mn_npy_writer_write(mn_npy_writer *w, const mn_cf32 *x, int64_t stride, int64_t i0, int64_t len);
mn_status mn_npy_writer_commit(mn_npy_writer *w);
void mn_npy_writer_abort(mn_npy_writer *w);

/* A few lines describing what a file holds, for `mimonet info`: npy (dtype, shape, order, and
 * the signal it reads as), CSV (rows, channels, header), SigMF (datatype, channels, samples,
 * rate), MAT (variables with class and size), safetensors (tensors with shapes, parameter
 * count, metadata keys, and the values of keys naming the architecture/model/config).  The
 * kind comes from the extension, else from the first bytes.  Writes into buf (NUL-terminated;
 * truncated to n - 1 characters ending in "..."); on failure buf is "". */
mn_status mn_describe_file(const char *path, char *buf, size_t n);

#ifdef __cplusplus
}
#endif
#endif
