/*
 * src/io/source_internal.h — private glue between the data-source files of module io
 * (signal.c, npy.c, csv.c, sigmf.c, mat.c, source.c, describe.c).  Not installed.
 *
 * Each format file exports a reader (used by mn_source_read) and a probe that learns what a
 * file holds without reading its samples (used by mn_describe_file).  Every probe validates
 * the same things the reader does, so `mimonet info` reports the same error a read would.
 */
#ifndef MIMONET_IO_SOURCE_INTERNAL_H
#define MIMONET_IO_SOURCE_INTERNAL_H

#include <stdarg.h>

#include "mimonet/io.h"

/* Longest path we build (SigMF pairs derive one name from the other). */
#define MN_IO_PATH_MAX 4096
/* Largest npy header we accept [bytes].  numpy itself refuses more than 10000 by default. */
#define MN_IO_NPY_HEADER_MAX (1u << 20)
/* Most dimensions an npy header may declare (numpy's own limit is 64). */
#define MN_IO_NPY_MAX_DIMS 32
/* Longest CSV line [bytes] and most CSV columns. */
#define MN_IO_CSV_LINE_MAX (1u << 22)
#define MN_IO_MAX_CHANNELS 65536
/* Largest SigMF meta file [bytes]. */
#define MN_IO_SIGMF_META_MAX (64u << 20)

/* ---------------------------------------------------------------- signal helpers (signal.c) */

/* MN_ERR_NUMERIC naming `path`, the channel and the sample of the first NaN/Inf; MN_OK if
 * every value is finite. */
mn_status mn_io_signal_check_finite(const mn_signal *s, const char *path);

/* Round a double to float32; false for NaN/Inf and for values that would round to Inf. */
bool mn_io_to_float(double d, float *out);

/* Return `st` with the explanation "<fmt...>: <the previous explanation>". */
mn_status mn_io_error_chain(mn_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;


/* Size of an open regular file [bytes]; MN_ERR_IO naming `path` when it cannot be learned. */
mn_status mn_io_file_size(FILE *f, const char *path, uint64_t *bytes);

/* Case-insensitive "does `s` end with `suffix`". */
bool mn_io_ends_with(const char *s, const char *suffix);

/* ---------------------------------------------------------------- text building (describe.c) */

typedef struct {
    char *buf;   /* caller's buffer */
    size_t cap;  /* its size [bytes] */
    size_t len;  /* characters written so far (excluding the NUL) */
    bool truncated;
} mn_io_text;

void mn_io_text_printf(mn_io_text *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ---------------------------------------------------------------- npy (npy.c) */

typedef struct {
    int major, minor;       /* format version */
    char descr[16];         /* as written, e.g. "<c8" */
    char byteorder;         /* '<', '>' or '|' */
    char kind;              /* 'c' complex, 'f' float, other letters: unsupported */
    int itemsize;           /* bytes per element (per complex value for 'c') */
    bool fortran;           /* column-major data */
    int ndim;
    int64_t shape[MN_IO_NPY_MAX_DIMS];
    uint64_t data_offset;   /* bytes from the file start to the data */
    uint64_t data_bytes;    /* bytes the data occupies (validated against the file size) */
} mn_io_npy_header;

/* Open-and-parse: reads the header of `path`, validates the declared shape against the file
 * size (exact match) and fills `h`.  Any descr is accepted here; the reader restricts it. */
mn_status mn_io_npy_probe(const char *path, mn_io_npy_header *h);
/* A v1.0 header for `descr` and `shape`, padded so the data starts at a multiple of 64 bytes. */
mn_status mn_io_npy_write_header(mn_atomic_file *af, const char *descr, int ndim, const int64_t *shape);
mn_status mn_io_npy_read(mn_signal *s, const char *path);

/* ---------------------------------------------------------------- CSV (csv.c) */

typedef struct {
    int64_t rows;        /* data rows (header excluded) */
    int cols;            /* columns per row (2 per channel) */
    bool has_header;
    char header[256];    /* the header line, shortened, when has_header */
} mn_io_csv_info;

mn_status mn_io_csv_probe(const char *path, mn_io_csv_info *info);
mn_status mn_io_csv_read(mn_signal *s, const char *path);

/* ---------------------------------------------------------------- SigMF (sigmf.c) */

typedef struct {
    char meta_path[MN_IO_PATH_MAX];
    char data_path[MN_IO_PATH_MAX];
    char datatype[32];
    char version[32];    /* core:version, "" when absent */
    int nch;             /* core:num_channels (1 when absent) */
    int64_t n;           /* samples per channel, from the data file's size */
    double sample_rate;  /* Hz, 0 when absent */
    double scale;        /* ci16: value = int16 * scale */
    bool scale_recorded; /* mimonet:scale was present */
    int n_captures, n_annotations;
    char description[128]; /* core:description, shortened; "" when absent */
} mn_io_sigmf_info;

/* `path` is either member of the pair (or the base name). */
mn_status mn_io_sigmf_probe(const char *path, mn_io_sigmf_info *info);
mn_status mn_io_sigmf_read(mn_signal *s, const char *path);

/* ---------------------------------------------------------------- MAT (mat.c) */

/* var == NULL: the file must hold exactly one variable. */
mn_status mn_io_mat_read(mn_signal *s, const char *path, const char *var);
/* Lists the variables with class and size into `t`. */
mn_status mn_io_mat_describe(const char *path, mn_io_text *t);

#endif
