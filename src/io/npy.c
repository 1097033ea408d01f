/*
 * src/io/npy.c — NumPy .npy files: a careful reader for complex signals and writers for
 * complex64 signals and float32 arrays.
 *
 * Format (numpy/lib/format.py, "NEP 1"): the 6-byte magic "\x93NUMPY", a major and a minor
 * version byte, the header length (uint16 LE for v1.0, uint32 LE for v2.0 and v3.0), then the
 * header: a Python dict literal {'descr': '<c8', 'fortran_order': False, 'shape': (2, 3), }
 * padded with spaces and ended by '\n'; the raw data follows.
 *
 * What the reader accepts as a signal (see mn_source_read):
 *   complex64 / complex128 ('c8', 'c16'): shape (n,) -> 1 channel, or (nch, n);
 *   float32 / float64 ('f4', 'f8'):       shape (n, 2) -> 1 channel, or (nch, n, 2), with
 *                                         I and Q in the last axis;
 * either byte order ('<', '>', '=' is the host's), C or Fortran order (Fortran data is
 * transposed into our row-major layout).  float64/complex128 values are rounded to float32; a
 * value beyond float32 range is an error, as is any NaN or Inf (MN_ERR_NUMERIC with channel and
 * sample).  The declared shape is never trusted: its byte count must equal what the file holds
 * after the header before anything is allocated.  The header parser is a small recursive-
 * descent parser of the dict literal, not an evaluator: strings without escapes, True/False,
 * tuples of non-negative integers.
 */
#include "source_internal.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <string.h>

static const unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

#define NPY_CHUNK (64u * 1024u) /* bytes per read/convert step; a multiple of 16 */

static bool host_little(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* ---------------------------------------------------------------- header parser */

typedef struct {
    const char *p, *end;
    const char *path;
} hparser;

static void skip_ws(hparser *h)
{
    while (h->p < h->end && (*h->p == ' ' || *h->p == '\t' || *h->p == '\n' || *h->p == '\r')) h->p++;
}

static mn_status hp_err(const hparser *h, const char *start, const char *what)
{
    return mn_error(MN_ERR_FORMAT, "%s: npy header, at byte %ld of the dict: %s", h->path,
                    (long)(h->p - start), what);
}

/* A quoted string (single or double quotes, no escapes) into out[cap]. */
static bool parse_str(hparser *h, char *out, size_t cap)
{
    if (h->p >= h->end || (*h->p != '\'' && *h->p != '"')) return false;
    char q = *h->p++;
    size_t len = 0;
    while (h->p < h->end && *h->p != q) {
        if (*h->p == '\\' || len + 1 >= cap) return false;
        out[len++] = *h->p++;
    }
    if (h->p >= h->end) return false;
    h->p++; /* closing quote */
    out[len] = '\0';
    return true;
}

static bool parse_word(hparser *h, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(h->end - h->p) < n || memcmp(h->p, w, n) != 0) return false;
    h->p += n;
    return true;
}

/* A non-negative integer (Python 2 files may append 'L'). */
static bool parse_int(hparser *h, int64_t *v)
{
    if (h->p >= h->end || *h->p < '0' || *h->p > '9') return false;
    int64_t x = 0;
    while (h->p < h->end && *h->p >= '0' && *h->p <= '9') {
        int d = *h->p++ - '0';
        if (x > (INT64_MAX - d) / 10) return false;
        x = x * 10 + d;
    }
    if (h->p < h->end && *h->p == 'L') h->p++;
    *v = x;
    return true;
}

/* '(' [int (',' int)* [',']] ')' — "(3)" is accepted as (3,). */
static mn_status parse_shape(hparser *h, const char *start, mn_io_npy_header *hd)
{
    if (h->p >= h->end || *h->p != '(') return hp_err(h, start, "'shape' must be a tuple such as (2, 1000)");
    h->p++;
    hd->ndim = 0;
    skip_ws(h);
    while (h->p < h->end && *h->p != ')') {
        if (hd->ndim >= MN_IO_NPY_MAX_DIMS) return hp_err(h, start, "'shape' has more than 32 dimensions");
        int64_t v;
        if (!parse_int(h, &v)) return hp_err(h, start, "'shape' entries must be non-negative integers below 2^63");
        hd->shape[hd->ndim++] = v;
        skip_ws(h);
        if (h->p < h->end && *h->p == ',') {
            h->p++;
            skip_ws(h);
        } else if (h->p < h->end && *h->p != ')') {
            return hp_err(h, start, "expected ',' or ')' in 'shape'");
        }
    }
    if (h->p >= h->end) return hp_err(h, start, "'shape' tuple is not closed");
    h->p++;
    return MN_OK;
}

static mn_status parse_descr(const char *path, const char *d, mn_io_npy_header *hd)
{
    snprintf(hd->descr, sizeof hd->descr, "%s", d);
    size_t len = strlen(d);
    if (len < 3 || !strchr("<>|=", d[0]) || !((d[1] >= 'a' && d[1] <= 'z') || (d[1] >= 'A' && d[1] <= 'Z')))
        return mn_error(MN_ERR_FORMAT, "%s: npy header field 'descr' is '%s'; expected a dtype such as '<c8'",
                        path, d);
    int size = 0;
    for (size_t i = 2; i < len; i++) {
        if (d[i] < '0' || d[i] > '9' || size > 100000)
            return mn_error(MN_ERR_FORMAT, "%s: npy header field 'descr' is '%s'; expected a dtype such as '<c8'",
                            path, d);
        size = size * 10 + (d[i] - '0');
    }
    char bo = d[0];
    if (bo == '=') bo = host_little() ? '<' : '>';
    hd->byteorder = bo;
    hd->kind = d[1];
    hd->itemsize = size;
    return MN_OK;
}

static mn_status parse_dict(const char *path, const char *text, size_t len, mn_io_npy_header *hd)
{
    hparser h = {text, text + len, path};
    bool seen_descr = false, seen_order = false, seen_shape = false;
    skip_ws(&h);
    if (h.p >= h.end || *h.p != '{') return hp_err(&h, text, "expected '{' (a Python dict literal)");
    h.p++;
    for (;;) {
        skip_ws(&h);
        if (h.p < h.end && *h.p == '}') break;
        char key[32];
        if (!parse_str(&h, key, sizeof key)) return hp_err(&h, text, "expected a quoted key or '}'");
        skip_ws(&h);
        if (h.p >= h.end || *h.p != ':') return hp_err(&h, text, "expected ':' after a key");
        h.p++;
        skip_ws(&h);
        if (!strcmp(key, "descr")) {
            if (seen_descr) return hp_err(&h, text, "'descr' appears twice");
            seen_descr = true;
            char d[16];
            if (h.p < h.end && *h.p == '[')
                return mn_error(MN_ERR_FORMAT, "%s: npy header field 'descr' is a structured dtype; expected "
                                "complex64/complex128, or float32/float64 with a last axis of 2", path);
            if (!parse_str(&h, d, sizeof d)) return hp_err(&h, text, "'descr' must be a short quoted string such as '<c8'");
            mn_status st = parse_descr(path, d, hd);
            if (st) return st;
        } else if (!strcmp(key, "fortran_order")) {
            if (seen_order) return hp_err(&h, text, "'fortran_order' appears twice");
            seen_order = true;
            if (parse_word(&h, "True")) hd->fortran = true;
            else if (parse_word(&h, "False")) hd->fortran = false;
            else return hp_err(&h, text, "'fortran_order' must be True or False");
        } else if (!strcmp(key, "shape")) {
            if (seen_shape) return hp_err(&h, text, "'shape' appears twice");
            seen_shape = true;
            mn_status st = parse_shape(&h, text, hd);
            if (st) return st;
        } else {
            return mn_error(MN_ERR_FORMAT, "%s: npy header has an unknown key '%s'; expected only 'descr', "
                            "'fortran_order' and 'shape'", path, key);
        }
        skip_ws(&h);
        if (h.p < h.end && *h.p == ',') {
            h.p++;
            continue;
        }
        skip_ws(&h);
        if (h.p < h.end && *h.p == '}') break;
        return hp_err(&h, text, "expected ',' or '}' after a value");
    }
    h.p++; /* '}' */
    skip_ws(&h);
    if (h.p != h.end) return hp_err(&h, text, "unexpected text after the closing '}'");
    if (!seen_descr || !seen_order || !seen_shape)
        return mn_error(MN_ERR_FORMAT, "%s: npy header lacks '%s'; expected 'descr', 'fortran_order' and 'shape'",
                        path, !seen_descr ? "descr" : !seen_order ? "fortran_order" : "shape");
    return MN_OK;
}

static void shape_str(char *buf, size_t cap, const mn_io_npy_header *h)
{
    size_t len = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < h->ndim && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%lld", i ? ", " : "", (long long)h->shape[i]);
    if (len < cap) snprintf(buf + len, cap - len, h->ndim == 1 ? ",)" : ")");
}

/* Open `path`, parse and validate its header, leave *fp positioned at the data. */
static mn_status npy_open(const char *path, FILE **fp, mn_io_npy_header *h)
{
    memset(h, 0, sizeof *h);
    *fp = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return mn_error(MN_ERR_IO, "%s: cannot open (%s)", path, strerror(errno));
    uint64_t fsize;
    mn_status st = mn_io_file_size(f, path, &fsize);
    if (st) goto fail;
    unsigned char pre[12];
    if (fsize < 10 || fread(pre, 1, 10, f) != 10) {
        st = mn_error(MN_ERR_FORMAT, "%s: %llu bytes is too short for an npy file (the preamble alone is 10 bytes)",
                      path, (unsigned long long)fsize);
        goto fail;
    }
    if (memcmp(pre, npy_magic, 6) != 0) {
        st = mn_error(MN_ERR_FORMAT, "%s: not an npy file (the first 6 bytes must be \\x93NUMPY)", path);
        goto fail;
    }
    h->major = pre[6];
    h->minor = pre[7];
    if (h->major < 1 || h->major > 3 || h->minor != 0) {
        st = mn_error(MN_ERR_FORMAT, "%s: npy format version %d.%d; expected 1.0, 2.0 or 3.0", path, h->major, h->minor);
        goto fail;
    }
    uint64_t hlen, prefix;
    if (h->major == 1) {
        hlen = (uint64_t)pre[8] | (uint64_t)pre[9] << 8;
        prefix = 10;
    } else {
        if (fsize < 12 || fread(pre + 10, 1, 2, f) != 2) {
            st = mn_error(MN_ERR_FORMAT, "%s: truncated in the npy preamble (expected 12 bytes)", path);
            goto fail;
        }
        hlen = (uint64_t)pre[8] | (uint64_t)pre[9] << 8 | (uint64_t)pre[10] << 16 | (uint64_t)pre[11] << 24;
        prefix = 12;
    }
    if (hlen > MN_IO_NPY_HEADER_MAX) {
        st = mn_error(MN_ERR_FORMAT, "%s: npy header length %llu exceeds the %u-byte limit", path,
                      (unsigned long long)hlen, MN_IO_NPY_HEADER_MAX);
        goto fail;
    }
    if (prefix + hlen > fsize) {
        st = mn_error(MN_ERR_FORMAT, "%s: truncated: the npy header declares %llu bytes but only %llu follow the preamble",
                      path, (unsigned long long)hlen, (unsigned long long)(fsize - prefix));
        goto fail;
    }
    char *text = mn_malloc((size_t)hlen + 1);
    if (!text) {
        st = mn_error(MN_ERR_NOMEM, "%s: out of memory for the npy header", path);
        goto fail;
    }
    if (fread(text, 1, (size_t)hlen, f) != (size_t)hlen) {
        mn_free(text);
        st = mn_error(MN_ERR_IO, "%s: read error in the npy header (%s)", path, strerror(errno));
        goto fail;
    }
    text[hlen] = '\0';
    if (memchr(text, '\0', (size_t)hlen)) {
        mn_free(text);
        st = mn_error(MN_ERR_FORMAT, "%s: npy header contains a NUL byte; expected ASCII text", path);
        goto fail;
    }
    st = parse_dict(path, text, (size_t)hlen, h);
    mn_free(text);
    if (st) goto fail;

    /* The byte count the shape implies, computed without overflow, against what remains. */
    uint64_t avail = fsize - prefix - hlen;
    uint64_t need = (uint64_t)h->itemsize;
    bool over = false;
    for (int i = 0; i < h->ndim; i++) {
        uint64_t d = (uint64_t)h->shape[i];
        if (d == 0) {
            need = 0;
            over = false;
            break;
        }
        if (need > avail / d) over = true; /* keep scanning: a later 0 makes it empty */
        else need *= d;
    }
    char sh[200];
    shape_str(sh, sizeof sh, h);
    if (over || need > avail) {
        char nb[48];
        if (over) snprintf(nb, sizeof nb, "more than %llu bytes", (unsigned long long)avail);
        else snprintf(nb, sizeof nb, "%llu bytes", (unsigned long long)need);
        st = mn_error(MN_ERR_FORMAT, "%s: npy header declares shape %s of '%s' (%s) but only %llu bytes of data "
                      "follow the header; the file is truncated or its header is wrong", path, sh, h->descr, nb,
                      (unsigned long long)avail);
        goto fail;
    }
    if (need < avail) {
        st = mn_error(MN_ERR_FORMAT, "%s: npy data is %llu bytes longer than shape %s of '%s' implies (%llu bytes); "
                      "the header is wrong", path, (unsigned long long)(avail - need), sh, h->descr,
                      (unsigned long long)need);
        goto fail;
    }
    h->data_offset = prefix + hlen;
    h->data_bytes = need;
    *fp = f;
    return MN_OK;
fail:
    fclose(f);
    return st;
}

mn_status mn_io_npy_probe(const char *path, mn_io_npy_header *h)
{
    FILE *f;
    mn_status st = npy_open(path, &f, h);
    if (st) return st;
    fclose(f);
    return MN_OK;
}

/* ---------------------------------------------------------------- reader */

static uint32_t bswap32(uint32_t v)
{
    return (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24);
}
static uint64_t bswap64(uint64_t v) { return (uint64_t)bswap32((uint32_t)v) << 32 | bswap32((uint32_t)(v >> 32)); }

mn_status mn_io_npy_read(mn_signal *s, const char *path)
{
    memset(s, 0, sizeof *s);
    mn_io_npy_header h;
    FILE *f;
    mn_status st = npy_open(path, &f, &h);
    if (st) return st;

    /* dtype */
    bool cplx = h.kind == 'c' && (h.itemsize == 8 || h.itemsize == 16);
    bool real = h.kind == 'f' && (h.itemsize == 4 || h.itemsize == 8);
    if ((!cplx && !real) || h.byteorder == '|') {
        fclose(f);
        return mn_error(MN_ERR_FORMAT, "%s: npy dtype '%s' is not supported; expected complex64 ('<c8'), "
                        "complex128 ('<c16'), or float32/float64 ('<f4', '<f8') with a last axis of 2",
                        path, h.descr);
    }
    int ssize = cplx ? h.itemsize / 2 : h.itemsize; /* bytes per real scalar: 4 or 8 */

    /* shape -> [nch, n] */
    char sh[200];
    shape_str(sh, sizeof sh, &h);
    int64_t nch, n;
    if (cplx && h.ndim == 1) {
        nch = 1;
        n = h.shape[0];
    } else if (cplx && h.ndim == 2) {
        nch = h.shape[0];
        n = h.shape[1];
    } else if (real && h.ndim == 2 && h.shape[1] == 2) {
        nch = 1;
        n = h.shape[0];
    } else if (real && h.ndim == 3 && h.shape[2] == 2) {
        nch = h.shape[0];
        n = h.shape[1];
    } else {
        fclose(f);
        return mn_error(MN_ERR_SHAPE, "%s: npy shape %s of '%s' is not a signal; expected %s", path, sh, h.descr,
                        cplx ? "(samples,) or (channels, samples)"
                             : "(samples, 2) or (channels, samples, 2) with I and Q in the last axis");
    }
    if (nch < 1 || nch > MN_IO_MAX_CHANNELS || n < 1) {
        fclose(f);
        return mn_error(MN_ERR_SHAPE, "%s: npy shape %s gives %lld channels of %lld samples; expected 1 to %d "
                        "channels and at least 1 sample", path, sh, (long long)nch, (long long)n, MN_IO_MAX_CHANNELS);
    }

    unsigned char *buf = mn_malloc(NPY_CHUNK);
    if (!buf) {
        fclose(f);
        return mn_error(MN_ERR_NOMEM, "%s: out of memory for the read buffer", path);
    }
    st = mn_signal_alloc(s, (int)nch, n);
    if (st) {
        mn_free(buf);
        fclose(f);
        return mn_io_error_chain(st, "%s: cannot hold %lld x %lld complex samples", path, (long long)nch,
                                 (long long)n);
    }

    /* Walk the scalars in file order with an odometer over (k = I/Q, c = channel, i = sample):
     * axes listed fastest first.  C order: k, i, c.  Fortran order: complex k, c, i (the two
     * parts of one complex stay adjacent); real [nch, n, 2]: c, i, k. */
    int64_t ext[3], cnt[3] = {0, 0, 0};
    int axis[3]; /* 0 = k, 1 = c, 2 = i */
    if (!h.fortran) {
        axis[0] = 0; axis[1] = 2; axis[2] = 1;
    } else if (cplx) {
        axis[0] = 0; axis[1] = 1; axis[2] = 2;
    } else {
        axis[0] = 1; axis[1] = 2; axis[2] = 0;
    }
    const int64_t extent_of[3] = {2, nch, n};
    for (int a = 0; a < 3; a++) ext[a] = extent_of[axis[a]];

    bool swap = (h.byteorder == '<') != host_little();
    float *dst = (float *)s->x;
    uint64_t left = h.data_bytes;
    while (left > 0) {
        size_t want = left < NPY_CHUNK ? (size_t)left : NPY_CHUNK;
        if (fread(buf, 1, want, f) != want) {
            st = mn_error(MN_ERR_IO, "%s: read error in the npy data (%s)", path, ferror(f) ? strerror(errno) : "short read");
            goto fail;
        }
        left -= want;
        for (size_t off = 0; off < want; off += (size_t)ssize) {
            int64_t idx[3];
            idx[axis[0]] = cnt[0];
            idx[axis[1]] = cnt[1];
            idx[axis[2]] = cnt[2];
            int64_t k = idx[0], c = idx[1], i = idx[2];
            float v;
            if (ssize == 4) {
                uint32_t u;
                memcpy(&u, buf + off, 4);
                if (swap) u = bswap32(u);
                memcpy(&v, &u, 4);
            } else {
                uint64_t u;
                double d;
                memcpy(&u, buf + off, 8);
                if (swap) u = bswap64(u);
                memcpy(&d, &u, 8);
                if (isfinite(d) && !mn_io_to_float(d, &v)) {
                    st = mn_error(MN_ERR_NUMERIC, "%s: channel %lld, sample %lld: the %s part is %g, beyond float32 "
                                  "range", path, (long long)c, (long long)i, k ? "imaginary" : "real", d);
                    goto fail;
                }
                if (!isfinite(d)) v = (float)d; /* NaN/Inf: reported just below */
            }
            if (!isfinite(v)) {
                st = mn_error(MN_ERR_NUMERIC, "%s: channel %lld, sample %lld: the %s part is %s; every value must be "
                              "finite", path, (long long)c, (long long)i, k ? "imaginary" : "real",
                              isnan(v) ? "NaN" : "Inf");
                goto fail;
            }
            dst[2 * (c * n + i) + k] = v;
            if (++cnt[0] == ext[0]) {
                cnt[0] = 0;
                if (++cnt[1] == ext[1]) {
                    cnt[1] = 0;
                    ++cnt[2];
                }
            }
        }
    }
    mn_free(buf);
    fclose(f);
    return MN_OK;
fail:
    mn_free(buf);
    fclose(f);
    mn_signal_free(s);
    return st;
}

/* ---------------------------------------------------------------- writers */

/* Write the preamble and a header dict padded so that the data starts at a multiple of 64. */
mn_status mn_io_npy_write_header(mn_atomic_file *af, const char *descr, int ndim, const int64_t *shape)
{
    char dict[64 * 24 + 128];
    size_t len = (size_t)snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int i = 0; i < ndim; i++)
        len += (size_t)snprintf(dict + len, sizeof dict - len, "%s%lld", i ? ", " : "", (long long)shape[i]);
    len += (size_t)snprintf(dict + len, sizeof dict - len, "%s), }", ndim == 1 ? "," : "");
    size_t total = 10 + len + 1; /* preamble + dict + '\n' */
    size_t pad = (64 - total % 64) % 64;
    size_t hlen = len + pad + 1;
    unsigned char pre[10];
    memcpy(pre, npy_magic, 6);
    pre[6] = 1;
    pre[7] = 0;
    pre[8] = (unsigned char)(hlen & 0xff);
    pre[9] = (unsigned char)(hlen >> 8);
    memset(dict + len, ' ', pad);
    dict[len + pad] = '\n';
    mn_status st = mn_atomic_write(af, pre, sizeof pre);
    if (!st) st = mn_atomic_write(af, dict, hlen);
    return st;
}

/* Write `count` float32 values little-endian. */
static mn_status write_f32_le(mn_atomic_file *af, const float *x, size_t count)
{
    if (host_little()) return mn_atomic_write(af, x, count * sizeof(float));
    uint32_t tmp[1024];
    while (count > 0) {
        size_t m = count < 1024 ? count : 1024;
        memcpy(tmp, x, m * 4);
        for (size_t j = 0; j < m; j++) tmp[j] = bswap32(tmp[j]);
        mn_status st = mn_atomic_write(af, tmp, m * 4);
        if (st) return st;
        x += m;
        count -= m;
    }
    return MN_OK;
}

static mn_status npy_write(const char *path, const char *descr, int ndim, const int64_t *shape,
                           const float *x, size_t count)
{
    mn_atomic_file af;
    mn_status st = mn_atomic_open(&af, path);
    if (st) return st;
    st = mn_io_npy_write_header(&af, descr, ndim, shape);
    if (!st) st = write_f32_le(&af, x, count);
    if (st) {
        mn_atomic_abort(&af);
        return st;
    }
    return mn_atomic_commit(&af);
}

mn_status mn_npy_write_c64(const char *path, const mn_signal *s, bool squeeze)
{
    if (!path || !s) return mn_error(MN_ERR_INVALID, "mn_npy_write_c64: path or signal is NULL");
    if (s->nch < 1 || s->n < 0 || (!s->x && s->n > 0))
        return mn_error(MN_ERR_INVALID, "%s: signal has %d channels, %lld samples; expected >= 1 channel", path,
                        s->nch, (long long)s->n);
    mn_status st = mn_io_signal_check_finite(s, path);
    if (st) return st;
    int64_t shape[2] = {s->nch, s->n};
    if (squeeze && s->nch == 1)
        return npy_write(path, "<c8", 1, shape + 1, (const float *)s->x, 2 * (size_t)s->n);
    return npy_write(path, "<c8", 2, shape, (const float *)s->x, 2 * (size_t)s->nch * (size_t)s->n);
}

mn_status mn_npy_write_f32(const char *path, const float *x, int ndim, const int64_t *shape)
{
    if (!path) return mn_error(MN_ERR_INVALID, "mn_npy_write_f32: path is NULL");
    if (ndim < 0 || ndim > MN_IO_NPY_MAX_DIMS || (ndim > 0 && !shape))
        return mn_error(MN_ERR_INVALID, "%s: ndim = %d; expected 0 to %d with a shape", path, ndim, MN_IO_NPY_MAX_DIMS);
    uint64_t count = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return mn_error(MN_ERR_INVALID, "%s: shape[%d] = %lld; expected >= 0", path, i, (long long)shape[i]);
        if (shape[i] && count > SIZE_MAX / 4 / (uint64_t)shape[i])
            return mn_error(MN_ERR_INVALID, "%s: shape is too large for memory", path);
        count *= (uint64_t)shape[i];
    }
    if (count && !x) return mn_error(MN_ERR_INVALID, "%s: data is NULL", path);
    return npy_write(path, "<f4", ndim, shape, x, (size_t)count);
}
