/*
 * src/io/mat.c — MATLAB .mat files (v5 and v7.3/HDF5) through matio, addressed on the command
 * line as file.mat:VAR.
 *
 * Reading: a real or complex double/single variable of 1 or 2 dimensions (trailing singleton
 * dimensions are ignored).  Orientation rule: a [rows x cols] matrix is read as
 * [channels = rows, samples = cols] when rows <= cols, otherwise as
 * [channels = cols, samples = rows] (transposed) — recordings have more samples than
 * channels, so either orientation a user saved is read the same way.  Consequence: a signal
 * with more channels than samples does not round-trip.  Real data is read with Im = 0; doubles
 * are rounded to float32 (a value beyond float32 range is an error, as is NaN/Inf).  Without VAR,
 * the file must hold exactly one variable.
 *
 * The declared size is checked before anything is allocated: its bytes must not exceed 1032
 * times the file size (zlib's largest possible compression ratio; v5 and v7.3 may compress).
 *
 * Writing (mn_mat_write, for round trips and for users who want MAT): one complex double
 * variable of size [nch, n], uncompressed, v5 or v7.3; float32 -> double is exact.  matio
 * writes to a temporary beside the destination, which mn_atomic_commit then renames.
 *
 * matio allocates with the C library's malloc (not mn_malloc), and its diagnostics are routed
 * to mn_log at debug level instead of stderr.  Without matio (MN_HAVE_MATIO undefined) every
 * entry point returns MN_ERR_UNSUPPORTED.
 *
 * Hostile files.  Before matio sees a file we check its version mark (v4 files are refused:
 * matio's v4 reader allocates from unchecked header fields) and, for v5, the whole element tree,
 * compressed variables included (mat_v5_check_elements).  Before that check, fuzzed files of a
 * few hundred bytes made matio allocate gigabytes; with it, 1.9 million mutated v5 files under
 * ASan+UBSan found nothing.  v7.3 files are parsed by the system HDF5 library, which we cannot
 * check beforehand: the same fuzzing found HDF5 1.10.8 (Debian 12) making 2^56-byte
 * allocation requests, leaking on error paths, and one heap-buffer-overflow inside
 * H5Aopen_by_name on a corrupted file.  Treat v7.3 files from untrusted sources as unsafe.
 */
#include "source_internal.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#ifndef MN_HAVE_MATIO

mn_status mn_io_mat_read(mn_signal *s, const char *path, const char *var)
{
    (void)var;
    memset(s, 0, sizeof *s);
    return mn_error(MN_ERR_UNSUPPORTED, "%s: this build of mimonet lacks matio, so it cannot read MAT files; install "
                    "libmatio-dev and rebuild, or save the data as .npy", path);
}

mn_status mn_io_mat_describe(const char *path, mn_io_text *t)
{
    (void)t;
    return mn_error(MN_ERR_UNSUPPORTED, "%s: this build of mimonet lacks matio, so it cannot read MAT files; install "
                    "libmatio-dev and rebuild", path);
}

mn_status mn_mat_write(const char *path, const char *var, const mn_signal *s, bool v73)
{
    (void)var;
    (void)s;
    (void)v73;
    return mn_error(MN_ERR_UNSUPPORTED, "%s: this build of mimonet lacks matio, so it cannot write MAT files; install "
                    "libmatio-dev and rebuild, or write .npy", path ? path : "(null)");
}

#else

#include <matio.h>
#ifdef MN_HAVE_ZLIB
#include <zlib.h>
#endif

/* A MATLAB identifier: a letter, then letters, digits or '_', at most 63 characters. */
static bool valid_var_name(const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n > 63) return false;
    if (!((v[0] >= 'a' && v[0] <= 'z') || (v[0] >= 'A' && v[0] <= 'Z'))) return false;
    for (size_t i = 1; i < n; i++) {
        char c = v[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
    }
    return true;
}

static void quiet_log(int level, char *msg)
{
    (void)level;
    mn_log(MN_LOG_DEBUG, "matio: %s", msg);
}

static void matio_quiet(void) { Mat_LogInitFunc("mimonet", quiet_log); }

static const char *class_name(enum matio_classes c)
{
    static const char *const names[] = {"empty",  "cell",   "struct", "object", "char",   "sparse",
                                        "double", "single", "int8",   "uint8",  "int16",  "uint16",
                                        "int32",  "uint32", "int64",  "uint64", "function", "opaque"};
    return (unsigned)c < sizeof names / sizeof *names ? names[c] : "unknown";
}

static const char *version_name(enum mat_ft v)
{
    return v == MAT_FT_MAT73 ? "v7.3 (HDF5)" : v == MAT_FT_MAT5 ? "v5" : v == MAT_FT_MAT4 ? "v4" : "unknown version";
}

static void dims_str(char *buf, size_t cap, const matvar_t *mv)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int d = 0; d < mv->rank && len < cap; d++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%zu", d ? "x" : "", mv->dims[d]);
}

/* MAT v5 structure check (MATLAB "MAT-File Format", 2021, ch. 1), done before matio parses
 * anything.  matio trusts the byte counts in a file: it allocates a dims array, a name, a cell
 * table or a data buffer from them (one 16-KB fuzzed file made it allocate and zero 1 GB), and
 * it does not notice a variable cut short at the end of the file.  So:
 *   - after the 128-byte header the file is a sequence of top-level data elements, each an
 *     8-byte tag (type, byte count) and its bytes, which must tile the file exactly
 *     (miMATRIX = 14 is padded to 8 bytes, miCOMPRESSED = 15 is not);
 *   - a miCOMPRESSED element is inflated (zlib, streaming, nothing kept) and must hold one
 *     complete miMATRIX, checked like an uncompressed one;
 *   - inside a miMATRIX every sub-element must fit in its parent (small data elements — a
 *     nonzero upper half in the type word — hold at most 4 bytes), recursively for nested
 *     matrices (cells, struct fields), at most 16 deep;
 *   - the first three sub-elements have the types the format prescribes: array flags (miUINT32,
 *     8 bytes), dimensions (miINT32, 1 to 64 of them, none negative), name (miINT8 or miUTF8);
 *   - the data of a numeric array (class double ... uint64) is a numeric element whose byte
 *     count is exactly (product of the dimensions) x (its element size): the declared size can
 *     never exceed the bytes that are really there;
 *   - the class is one the format defines (1 to 17);
 *   - a cell, struct, object, function-handle or opaque array may not declare more elements
 *     (times fields, for a struct or object) than its bytes can hold, each being at least an
 *     8-byte tag: matio allocates a pointer per element up front (a fuzzed 352-byte
 *     function-handle array of 67108866 x 5 made it ask for 2.7 GB).
 * The reads only move forward, so the same code walks the file or an inflating stream.
 * Header bytes 126-127 are "IM" for a little-endian file, "MI" for big-endian. */
typedef struct {
    FILE *f;
    const char *path;
    bool big;
#ifdef MN_HAVE_ZLIB
    z_stream *z;        /* non-NULL: offsets are into the inflated stream of a miCOMPRESSED element */
    uint64_t cur;       /* inflated bytes consumed so far */
    uint64_t in_left;   /* compressed bytes of the element not yet read from the file */
    unsigned char in[16384];
    unsigned char scratch[16384];
#endif
} v5ctx;

static uint32_t v5_u32(const v5ctx *c, const unsigned char *q)
{
    return c->big ? (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3]
                  : (uint32_t)q[3] << 24 | (uint32_t)q[2] << 16 | (uint32_t)q[1] << 8 | q[0];
}

#ifdef MN_HAVE_ZLIB
/* Inflate exactly n bytes into dst; false when the stream is corrupt or ends first. */
static bool v5_inflate(v5ctx *c, unsigned char *dst, size_t n)
{
    z_stream *z = c->z;
    z->next_out = dst;
    z->avail_out = (uInt)n;
    while (z->avail_out > 0) {
        if (z->avail_in == 0 && c->in_left > 0) {
            size_t want = c->in_left < sizeof c->in ? (size_t)c->in_left : sizeof c->in;
            if (fread(c->in, 1, want, c->f) != want) return false;
            c->in_left -= want;
            z->next_in = c->in;
            z->avail_in = (uInt)want;
        }
        uInt before = z->avail_out;
        int rc = inflate(z, Z_NO_FLUSH);
        if (rc == Z_STREAM_END) break;
        if (rc != Z_OK && !(rc == Z_BUF_ERROR && (z->avail_in > 0 || c->in_left > 0))) return false;
        if (z->avail_out == before && z->avail_in == 0 && c->in_left == 0) return false;
    }
    c->cur += n - z->avail_out;
    return z->avail_out == 0;
}
#endif

/* Read n bytes at offset off.  In the file, any offset; in an inflating stream, offsets must not
 * go back (the walk below only moves forward), and the bytes in between are inflated and
 * dropped. */
static bool v5_read(v5ctx *c, uint64_t off, void *buf, size_t n)
{
#ifdef MN_HAVE_ZLIB
    if (c->z) {
        if (off < c->cur) return false;
        while (c->cur < off) {
            uint64_t gap = off - c->cur;
            if (!v5_inflate(c, c->scratch, gap < sizeof c->scratch ? (size_t)gap : sizeof c->scratch)) return false;
        }
        return v5_inflate(c, buf, n);
    }
#endif
    return off <= (uint64_t)LONG_MAX && fseek(c->f, (long)off, SEEK_SET) == 0 && fread(buf, 1, n, c->f) == n;
}

/* Bytes per element of a numeric MAT data type, 0 for any other type. */
static unsigned v5_type_size(uint32_t type)
{
    switch (type) {
    case 1: case 2: return 1;          /* miINT8, miUINT8 */
    case 3: case 4: return 2;          /* miINT16, miUINT16 */
    case 5: case 6: case 7: return 4;  /* miINT32, miUINT32, miSINGLE */
    case 9: case 12: case 13: return 8; /* miDOUBLE, miINT64, miUINT64 */
    default: return 0;
    }
}

/* The sub-elements of a miMATRIX body [off, off + len). */
static mn_status v5_check_matrix(v5ctx *c, uint64_t off, uint64_t len, int depth)
{
    if (depth > 16)
        return mn_error(MN_ERR_FORMAT, "%s: variables nested more than 16 deep at byte %llu; the file is corrupt",
                        c->path, (unsigned long long)off);
    uint64_t pos = off, end = off + len, count = 1;
    int k = 0, cls = -1, n_data = 0;
    bool over = false, is_complex = false;
    uint64_t fname_len = 0, n_fields = 1; /* struct/object: field-name length, field count */
    while (pos < end) {
        unsigned char tag[8];
        if (end - pos < 8 || !v5_read(c, pos, tag, 8))
            return mn_error(MN_ERR_FORMAT, "%s: truncated or corrupt: sub-element at byte %llu has no complete tag",
                            c->path, (unsigned long long)pos);
        uint32_t w0 = v5_u32(c, tag), w1 = v5_u32(c, tag + 4);
        uint32_t type, size;
        uint64_t adv, data_off;
        bool small = (w0 >> 16) != 0;
        if (small) { /* small data element: 2-byte count, 2-byte type, 4 bytes of data */
            type = w0 & 0xffff;
            size = w0 >> 16;
            if (size > 4)
                return mn_error(MN_ERR_FORMAT, "%s: corrupt small data element at byte %llu (%u bytes; at most 4)",
                                c->path, (unsigned long long)pos, size);
            adv = 8;
            data_off = pos + 4;
        } else {
            type = w0;
            size = w1;
            if (size > end - pos - 8)
                return mn_error(MN_ERR_FORMAT, "%s: truncated or corrupt: sub-element at byte %llu declares %u bytes "
                                "but its variable has %llu left", c->path, (unsigned long long)pos, size,
                                (unsigned long long)(end - pos - 8));
            adv = 8 + (((uint64_t)size + 7) & ~(uint64_t)7);
            if (adv > end - pos) adv = end - pos; /* the last one may omit its padding */
            data_off = pos + 8;
        }
        if (k == 0) { /* array flags: miUINT32, 8 bytes; class in the low byte, complex = bit 11 */
            unsigned char q[4];
            if (type != 6 || size != 8)
                return mn_error(MN_ERR_FORMAT, "%s: corrupt array flags at byte %llu (type %u, %u bytes; expected "
                                "miUINT32, 8 bytes)", c->path, (unsigned long long)pos, type, size);
            if (!v5_read(c, data_off, q, 4)) return mn_error(MN_ERR_FORMAT, "%s: truncated array flags", c->path);
            uint32_t flags = v5_u32(c, q);
            cls = (int)(flags & 0xff);
            is_complex = (flags & 0x800) != 0;
            if (cls < 1 || cls > 17)
                return mn_error(MN_ERR_FORMAT, "%s: unknown array class %d at byte %llu; the file is corrupt",
                                c->path, cls, (unsigned long long)pos);
        } else if (k == 1) { /* dimensions: miINT32 each */
            if (type != 5 || size % 4 != 0 || size / 4 < 1 || size / 4 > 64)
                return mn_error(MN_ERR_FORMAT, "%s: corrupt dimensions at byte %llu (type %u, %u bytes; expected 1 "
                                "to 64 miINT32)", c->path, (unsigned long long)pos, type, size);
            for (uint32_t d = 0; d < size / 4; d++) {
                unsigned char q[4];
                if (!v5_read(c, data_off + 4 * d, q, 4)) return mn_error(MN_ERR_FORMAT, "%s: truncated dimensions", c->path);
                uint64_t v = v5_u32(c, q);
                if (v > 0x7fffffffu) return mn_error(MN_ERR_FORMAT, "%s: negative dimension at byte %llu", c->path,
                                                     (unsigned long long)pos);
                if (v && count > UINT64_MAX / v) over = true;
                else count *= v;
            }
        } else if (k == 2) { /* name: miINT8 (or miUTF8) */
            if (type != 1 && type != 16)
                return mn_error(MN_ERR_FORMAT, "%s: corrupt array name at byte %llu (type %u; expected miINT8)",
                                c->path, (unsigned long long)pos, type);
        } else if ((cls == 2 && k == 3) || (cls == 3 && k == 4)) { /* field-name length: one miINT32 */
            unsigned char q[4];
            if (type != 5 || size != 4 || !v5_read(c, data_off, q, 4))
                return mn_error(MN_ERR_FORMAT, "%s: corrupt field-name length at byte %llu; the file is corrupt",
                                c->path, (unsigned long long)pos);
            fname_len = v5_u32(c, q);
        } else if ((cls == 2 && k == 4) || (cls == 3 && k == 5)) { /* field names, fname_len bytes each */
            if (fname_len == 0 && size > 0)
                return mn_error(MN_ERR_FORMAT, "%s: field names at byte %llu with a field-name length of 0; the "
                                "file is corrupt", c->path, (unsigned long long)pos);
            n_fields = fname_len ? size / fname_len : 0;
        } else if (cls >= 6 && cls <= 15 && n_data < 2) { /* real, then imaginary part of a numeric array */
            unsigned ts = v5_type_size(type);
            if (ts == 0 || over || count > UINT64_MAX / ts || (uint64_t)size != count * ts)
                return mn_error(MN_ERR_FORMAT, "%s: corrupt numeric data at byte %llu: %u bytes of type %u for "
                                "%s%llu elements; the file is corrupt", c->path, (unsigned long long)pos, size, type,
                                over ? "more than " : "", (unsigned long long)count);
            n_data++;
        } else if (type == 14 && !small) {
            mn_status st = v5_check_matrix(c, pos + 8, size, depth + 1);
            if (st) return st;
        }
        pos += adv;
        k++;
    }
    if (k < 3)
        return mn_error(MN_ERR_FORMAT, "%s: the variable at byte %llu lacks its flags, dimensions or name; the file is "
                        "corrupt", c->path, (unsigned long long)off);
    if (cls >= 6 && cls <= 15 && n_data < (is_complex ? 2 : 1))
        return mn_error(MN_ERR_FORMAT, "%s: the numeric variable at byte %llu lacks its %s part; the file is corrupt",
                        c->path, (unsigned long long)off, n_data ? "imaginary" : "real");
    if ((cls == 1 || cls == 2 || cls == 3 || cls >= 16) &&
        (over || (n_fields && count > len / 8 / n_fields)))
        return mn_error(MN_ERR_FORMAT, "%s: a cell/struct/object/function array at byte %llu declares more elements than its %llu "
                        "bytes can hold; the file is corrupt", c->path, (unsigned long long)off,
                        (unsigned long long)len);
    return MN_OK;
}

/* A miCOMPRESSED element of `size` bytes at file offset `off` (the tag excluded): its inflated
 * stream must begin with one complete miMATRIX.  Without zlib the inside is left to matio. */
static mn_status v5_check_compressed(v5ctx *c, uint64_t off, uint32_t size, int index)
{
#ifdef MN_HAVE_ZLIB
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit(&z) != Z_OK) return mn_error(MN_ERR_NOMEM, "%s: zlib cannot start inflating", c->path);
    mn_status st = MN_OK;
    unsigned char tag[8];
    if (off > (uint64_t)LONG_MAX || fseek(c->f, (long)off, SEEK_SET) != 0) {
        st = mn_error(MN_ERR_IO, "%s: cannot seek to byte %llu", c->path, (unsigned long long)off);
        goto done;
    }
    c->z = &z;
    c->cur = 0;
    c->in_left = size;
    if (!v5_read(c, 0, tag, 8)) {
        st = mn_error(MN_ERR_FORMAT, "%s: compressed variable %d at byte %llu does not inflate to a complete tag; the "
                      "file is corrupt", c->path, index, (unsigned long long)off);
        goto done;
    }
    uint32_t type = v5_u32(c, tag), len = v5_u32(c, tag + 4);
    if (type != 14) {
        st = mn_error(MN_ERR_FORMAT, "%s: compressed variable %d at byte %llu holds an element of type %u, not a "
                      "matrix; the file is corrupt", c->path, index, (unsigned long long)off, type);
        goto done;
    }
    st = v5_check_matrix(c, 8, len, 0);
    if (st) st = mn_io_error_chain(st, "%s: in compressed variable %d at byte %llu (offsets are into its inflated "
                                   "data)", c->path, index, (unsigned long long)off);
done:
    c->z = NULL;
    inflateEnd(&z);
    return st;
#else
    (void)c;
    (void)off;
    (void)size;
    (void)index;
    return MN_OK;
#endif
}

static mn_status mat_v5_check_elements(const char *path, uint64_t fsize)
{
    v5ctx *c = mn_calloc(1, sizeof *c);
    if (!c) return mn_error(MN_ERR_NOMEM, "%s: out of memory checking the MAT file", path);
    c->path = path;
    c->f = fopen(path, "rb");
    if (!c->f) {
        mn_free(c);
        return mn_error(MN_ERR_IO, "%s: cannot open (%s)", path, strerror(errno));
    }
    unsigned char hdr[128];
    mn_status st = MN_OK;
    if (!v5_read(c, 0, hdr, 128)) {
        st = mn_error(MN_ERR_FORMAT, "%s: truncated MAT header", path);
        goto done;
    }
    c->big = hdr[126] == 'M' && hdr[127] == 'I';
    uint64_t off = 128;
    int index = 0;
    while (off < fsize) {
        unsigned char tag[8];
        if (fsize - off < 8 || !v5_read(c, off, tag, 8)) {
            st = mn_error(MN_ERR_FORMAT, "%s: truncated: variable %d at byte %llu has no complete 8-byte tag", path,
                          index, (unsigned long long)off);
            goto done;
        }
        uint32_t type = v5_u32(c, tag), size = v5_u32(c, tag + 4);
        uint64_t len = type == 14 ? ((uint64_t)size + 7) & ~(uint64_t)7 : size;
        if (size > fsize - off - 8) {
            st = mn_error(MN_ERR_FORMAT, "%s: truncated: variable %d at byte %llu declares %u bytes but only %llu "
                          "remain; the file is cut short or corrupt", path, index, (unsigned long long)off, size,
                          (unsigned long long)(fsize - off - 8));
            goto done;
        }
        if (len > fsize - off - 8) len = size; /* the last one may omit its padding */
        if (type == 14) st = v5_check_matrix(c, off + 8, size, 0);
        else if (type == 15) st = v5_check_compressed(c, off + 8, size, index);
        if (st) goto done;
        off += 8 + len;
        index++;
    }
done:
    fclose(c->f);
    mn_free(c);
    return st;
}

/* Check the file is readable (MN_ERR_IO otherwise), learn its size, open it with matio. */
static mn_status mat_open(const char *path, mat_t **mat, uint64_t *fsize)
{
    *mat = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return mn_error(MN_ERR_IO, "%s: cannot open (%s)", path, strerror(errno));
    mn_status st = mn_io_file_size(f, path, fsize);
    fclose(f);
    if (st) return st;
    if (*fsize < 128)
        return mn_error(MN_ERR_FORMAT, "%s: %llu bytes is too short for a MAT file (the header alone is 128 bytes)", path,
                        (unsigned long long)*fsize);
    /* Only v5 and v7.3 reach matio: bytes 124-125 hold the version (0x0100 v5, 0x0200 v7.3) in
     * the byte order that bytes 126-127 ("IM" little-endian, "MI" big-endian) announce.  Anything
     * else would send matio down its v4 path, which allocates from unchecked header fields. */
    unsigned char hdr[128];
    f = fopen(path, "rb");
    size_t got = f ? fread(hdr, 1, sizeof hdr, f) : 0;
    if (f) fclose(f);
    if (got != sizeof hdr) return mn_error(MN_ERR_IO, "%s: cannot read the MAT header", path);
    int version = 0;
    if (hdr[126] == 'I' && hdr[127] == 'M') version = hdr[124] | hdr[125] << 8;
    else if (hdr[126] == 'M' && hdr[127] == 'I') version = hdr[124] << 8 | hdr[125];
    if (version != 0x0100 && version != 0x0200)
        return mn_error(MN_ERR_FORMAT, "%s: not a MATLAB v5 or v7.3 MAT file (no version mark at bytes 124-127; "
                        "v4 files are not supported); re-save it with save -v7 or -v7.3", path);
    matio_quiet();
    *mat = Mat_Open(path, MAT_ACC_RDONLY);
    if (!*mat)
        return mn_error(MN_ERR_FORMAT, "%s: not a readable MAT file; expected MATLAB v5 or v7.3 (save -v7 or -v7.3)",
                        path);
    if (Mat_GetVersion(*mat) == MAT_FT_MAT5) {
        st = mat_v5_check_elements(path, *fsize);
        if (st) {
            Mat_Close(*mat);
            *mat = NULL;
        }
    }
    return st;
}

/* Up to a few variable names, for "not found" messages. */
static void list_names(mat_t *mat, char *buf, size_t cap)
{
    size_t len = 0;
    int k = 0;
    buf[0] = '\0';
    Mat_Rewind(mat);
    matvar_t *mv;
    while ((mv = Mat_VarReadNextInfo(mat)) != NULL) {
        if (k < 8 && len < cap)
            len += (size_t)snprintf(buf + len, cap - len, "%s%s", k ? ", " : "", mv->name ? mv->name : "?");
        else if (k == 8 && len < cap)
            len += (size_t)snprintf(buf + len, cap - len, ", ...");
        k++;
        Mat_VarFree(mv);
    }
    if (k == 0) snprintf(buf, cap, "no variables");
}

mn_status mn_io_mat_read(mn_signal *s, const char *path, const char *var)
{
    memset(s, 0, sizeof *s);
    if (var && !valid_var_name(var))
        return mn_error(MN_ERR_INVALID, "%s: '%s' is not a MATLAB variable name; expected file.mat:NAME with NAME a "
                        "letter followed by letters, digits or '_'", path, var);
    mat_t *mat;
    uint64_t fsize;
    mn_status st = mat_open(path, &mat, &fsize);
    if (st) return st;
    matvar_t *mv = NULL;
    void *re = NULL, *im = NULL;
    char names[256];
    if (var) {
        mv = Mat_VarReadInfo(mat, var);
        if (!mv) {
            list_names(mat, names, sizeof names);
            st = mn_error(MN_ERR_INVALID, "%s: no variable '%s'; the file holds: %s", path, var, names);
            goto done;
        }
    } else {
        int count = 0;
        matvar_t *v;
        while ((v = Mat_VarReadNextInfo(mat)) != NULL) {
            if (count++ == 0) mv = v;
            else Mat_VarFree(v);
        }
        if (count != 1) {
            Mat_VarFree(mv);
            mv = NULL;
            list_names(mat, names, sizeof names);
            st = mn_error(MN_ERR_INVALID, "%s: holds %d variables (%s); name one as %s:VAR", path, count, names, path);
            goto done;
        }
    }
    const char *vn = mv->name ? mv->name : "?";
    char dims[128];
    dims_str(dims, sizeof dims, mv);
    if ((mv->class_type != MAT_C_DOUBLE && mv->class_type != MAT_C_SINGLE) || mv->isLogical) {
        st = mn_error(MN_ERR_FORMAT, "%s: variable '%s' is of class %s%s; expected a double or single (real or "
                      "complex) matrix", path, vn, mv->isLogical ? "logical " : "", class_name(mv->class_type));
        goto done;
    }
    /* dims: at most 2 that are not 1 after the first two */
    bool bad_rank = mv->rank < 1 || !mv->dims;
    for (int d = 2; !bad_rank && d < mv->rank; d++)
        if (mv->dims[d] != 1) bad_rank = true;
    size_t rows = bad_rank ? 0 : mv->dims[0], cols = (bad_rank || mv->rank < 2) ? 1 : mv->dims[1];
    if (bad_rank || rows == 0 || cols == 0 || rows > INT_MAX || cols > INT_MAX) {
        st = mn_error(MN_ERR_SHAPE, "%s: variable '%s' has size %s; expected a non-empty vector or 2-D matrix "
                      "[channels x samples]", path, vn, dims);
        goto done;
    }
    size_t nch = rows <= cols ? rows : cols, n = rows <= cols ? cols : rows;
    if (nch > MN_IO_MAX_CHANNELS) {
        st = mn_error(MN_ERR_SHAPE, "%s: variable '%s' of size %s has %zu channels; expected at most %d", path, vn, dims,
                      nch, MN_IO_MAX_CHANNELS);
        goto done;
    }
    size_t esize = mv->class_type == MAT_C_DOUBLE ? 8 : 4;
    /* the declared bytes against the file: elements * esize * (1 or 2) <= 1032 * file size */
    uint64_t limit = fsize > UINT64_MAX / 1032 ? UINT64_MAX : fsize * 1032;
    uint64_t parts = mv->isComplex ? 2 : 1;
    if ((uint64_t)rows > limit / cols / esize / parts) {
        st = mn_error(MN_ERR_FORMAT, "%s: variable '%s' declares size %s of %s, more data than a %llu-byte file can "
                      "hold; the file is corrupt", path, vn, dims, class_name(mv->class_type),
                      (unsigned long long)fsize);
        goto done;
    }
    size_t count = rows * cols;
    re = mn_malloc(count * esize);
    im = mv->isComplex ? mn_malloc(count * esize) : NULL;
    if (!re || (mv->isComplex && !im)) {
        st = mn_error(MN_ERR_NOMEM, "%s: out of memory for variable '%s' (%s)", path, vn, dims);
        goto done;
    }
    int start[2] = {0, 0}, stride[2] = {1, 1}, edge[2] = {(int)rows, (int)cols};
    mat_complex_split_t split = {re, im};
    int rc;
    if (mv->rank == 2) {
        rc = Mat_VarReadData(mat, mv, mv->isComplex ? (void *)&split : re, start, stride, edge);
    } else {
        rc = Mat_VarReadDataLinear(mat, mv, mv->isComplex ? (void *)&split : re, 0, 1, (int)count);
    }
    if (rc != 0) {
        st = mn_error(MN_ERR_FORMAT, "%s: cannot read the data of variable '%s' (%s %s); the file is truncated or "
                      "corrupt", path, vn, dims, class_name(mv->class_type));
        goto done;
    }
    st = mn_signal_alloc(s, (int)nch, (int64_t)n);
    if (st) {
        st = mn_io_error_chain(st, "%s: variable '%s'", path, vn);
        goto done;
    }
    float *dst = (float *)s->x;
    /* MATLAB is column-major: element (r, c) is at r + rows * c. */
    for (size_t c = 0; c < cols; c++) {
        for (size_t r = 0; r < rows; r++) {
            size_t src = r + rows * c;
            size_t ch = rows <= cols ? r : c, i = rows <= cols ? c : r;
            for (int k = 0; k < 2; k++) {
                const void *part = k ? im : re;
                double d = 0;
                if (part) d = esize == 8 ? ((const double *)part)[src] : (double)((const float *)part)[src];
                float fv;
                if (!mn_io_to_float(d, &fv)) {
                    st = mn_error(MN_ERR_NUMERIC, "%s: variable '%s', channel %zu, sample %zu: the %s part is %s; every "
                                  "value must be finite and within float32 range", path, vn, ch, i,
                                  k ? "imaginary" : "real", isnan(d) ? "NaN" : isinf(d) ? "Inf" : "too large");
                    mn_signal_free(s);
                    goto done;
                }
                dst[2 * (ch * n + i) + (size_t)k] = fv;
            }
        }
    }
done:
    mn_free(re);
    mn_free(im);
    Mat_VarFree(mv);
    Mat_Close(mat);
    return st;
}

mn_status mn_io_mat_describe(const char *path, mn_io_text *t)
{
    mat_t *mat;
    uint64_t fsize;
    mn_status st = mat_open(path, &mat, &fsize);
    if (st) return st;
    int k = 0;
    matvar_t *mv;
    mn_io_text_printf(t, "MAT file %s, %llu bytes\n", version_name(Mat_GetVersion(mat)), (unsigned long long)fsize);
    while ((mv = Mat_VarReadNextInfo(mat)) != NULL) {
        char dims[128];
        dims_str(dims, sizeof dims, mv);
        mn_io_text_printf(t, "  %s: %s%s%s %s\n", mv->name ? mv->name : "?", mv->isComplex ? "complex " : "",
                          mv->isLogical ? "logical " : "", class_name(mv->class_type), dims);
        Mat_VarFree(mv);
        k++;
    }
    mn_io_text_printf(t, "%d variable%s; read one as %s:NAME", k, k == 1 ? "" : "s", path);
    Mat_Close(mat);
    return MN_OK;
}

mn_status mn_mat_write(const char *path, const char *var, const mn_signal *s, bool v73)
{
    if (!path || !var || !s) return mn_error(MN_ERR_INVALID, "mn_mat_write: path, variable name or signal is NULL");
    if (!valid_var_name(var))
        return mn_error(MN_ERR_INVALID, "%s: '%s' is not a MATLAB variable name (a letter, then letters, digits or '_', "
                        "at most 63)", path, var);
    if (s->nch < 1 || s->n < 1 || !s->x || (uint64_t)s->n > INT_MAX)
        return mn_error(MN_ERR_INVALID, "%s: signal has %d channels of %lld samples; expected at least 1 of 1", path,
                        s->nch, (long long)s->n);
    mn_status st = mn_io_signal_check_finite(s, path);
    if (st) return st;
    size_t count = (size_t)s->nch * (size_t)s->n;
    double *re = mn_calloc(count, sizeof(double)), *im = mn_calloc(count, sizeof(double));
    if (!re || !im) {
        mn_free(re);
        mn_free(im);
        return mn_error(MN_ERR_NOMEM, "%s: out of memory for %zu complex doubles", path, count);
    }
    /* [nch, n] column-major: (c, i) at c + nch * i */
    const float *v = (const float *)s->x;
    for (int c = 0; c < s->nch; c++)
        for (int64_t i = 0; i < s->n; i++) {
            re[(size_t)c + (size_t)s->nch * (size_t)i] = (double)v[2 * ((size_t)c * (size_t)s->n + (size_t)i)];
            im[(size_t)c + (size_t)s->nch * (size_t)i] = (double)v[2 * ((size_t)c * (size_t)s->n + (size_t)i) + 1];
        }
    mn_atomic_file af;
    st = mn_atomic_open(&af, path);
    if (st) {
        mn_free(re);
        mn_free(im);
        return st;
    }
    matio_quiet();
    mat_t *mat = Mat_CreateVer(af.tmp_path, NULL, v73 ? MAT_FT_MAT73 : MAT_FT_MAT5);
    if (!mat) {
        st = mn_error(MN_ERR_IO, "%s: matio cannot create the MAT %s file%s", path, v73 ? "v7.3" : "v5",
                      v73 ? " (is matio built with HDF5?)" : "");
    } else {
        size_t dims[2] = {(size_t)s->nch, (size_t)s->n};
        mat_complex_split_t split = {re, im};
        matvar_t *mv = Mat_VarCreate(var, MAT_C_DOUBLE, MAT_T_DOUBLE, 2, dims, &split,
                                     MAT_F_COMPLEX | MAT_F_DONT_COPY_DATA);
        if (!mv) st = mn_error(MN_ERR_NOMEM, "%s: matio cannot create variable '%s'", path, var);
        else if (Mat_VarWrite(mat, mv, MAT_COMPRESSION_NONE) != 0)
            st = mn_error(MN_ERR_IO, "%s: matio failed writing variable '%s' (disk full?)", path, var);
        Mat_VarFree(mv);
        if (Mat_Close(mat) != 0 && !st) st = mn_error(MN_ERR_IO, "%s: matio failed closing the file", path);
    }
    mn_free(re);
    mn_free(im);
    if (st) {
        mn_atomic_abort(&af);
        return st;
    }
    return mn_atomic_commit(&af);
}

#endif
