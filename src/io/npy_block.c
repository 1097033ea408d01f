/* io/npy_block.c — block access to complex64 npy signals larger than memory: read samples
 * [i0, i0 + len) of every channel, and write an [nch, n] file block by block (atomically: the
 * data goes to a temporary beside the destination, renamed over it on commit).  Only the layout
 * mimonet writes is served (little-endian complex64, C order, [nch, n] or [n]); the caller falls
 * back to mn_source_read for anything else (MN_ERR_UNSUPPORTED). */
#include "source_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool host_little(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

mn_status mn_npy_reader_open(mn_npy_reader *r, const char *path)
{
    memset(r, 0, sizeof *r);
    mn_io_npy_header h;
    mn_status st = mn_io_npy_probe(path, &h);
    if (st != MN_OK) return st;
    bool c64 = h.kind == 'c' && h.itemsize == 8 && (h.byteorder == '<' || (h.byteorder == '=' && host_little()));
    if (!c64 || !host_little() || h.fortran || h.ndim < 1 || h.ndim > 2 || (h.ndim == 2 && h.shape[0] < 1))
        return mn_error(MN_ERR_UNSUPPORTED, "%s: block reading needs little-endian complex64 [nch, n] in C order (this is "
                        "'%s'%s, %d dimensions)", path, h.descr, h.fortran ? " in Fortran order" : "", h.ndim);
    r->nch = h.ndim == 2 ? (int)h.shape[0] : 1;
    r->n = h.shape[h.ndim - 1];
    if (h.ndim == 2 && h.shape[0] > MN_IO_MAX_CHANNELS)
        return mn_error(MN_ERR_SHAPE, "%s: %lld channels (at most %d)", path, (long long)h.shape[0], MN_IO_MAX_CHANNELS);
    r->data_offset = h.data_offset;
    r->path = mn_strdup(path);
    r->f = fopen(path, "rb");
    if (!r->path || !r->f) {
        int e = errno;
        mn_npy_reader_close(r);
        return mn_error(r->path ? MN_ERR_IO : MN_ERR_NOMEM, "%s: cannot open: %s", path, strerror(e));
    }
    return MN_OK;
}

mn_status mn_npy_reader_read(mn_npy_reader *r, float complex *x, int64_t i0, int64_t len)
{
    if (i0 < 0 || len < 0 || i0 > r->n - len)
        return mn_error(MN_ERR_INVALID, "%s: samples [%lld, %lld) of %lld", r->path, (long long)i0, (long long)(i0 + len),
                        (long long)r->n);
    for (int c = 0; c < r->nch; c++) {
        float complex *row = x + (int64_t)c * len;
        off_t at = (off_t)(r->data_offset + 8 * ((uint64_t)c * (uint64_t)r->n + (uint64_t)i0));
        if (fseeko(r->f, at, SEEK_SET) != 0 || fread(row, 8, (size_t)len, r->f) != (size_t)len)
            return mn_error(MN_ERR_IO, "%s: cannot read channel %d, samples [%lld, %lld): %s", r->path, c, (long long)i0,
                            (long long)(i0 + len), ferror(r->f) ? strerror(errno) : "file shorter than its header says");
        for (int64_t i = 0; i < len; i++)
            if (!isfinite(crealf(row[i])) || !isfinite(cimagf(row[i])))
                return mn_error(MN_ERR_NUMERIC, "%s: channel %d, sample %lld is %s; every sample must be finite", r->path, c,
                                (long long)(i0 + i), isnan(crealf(row[i])) || isnan(cimagf(row[i])) ? "NaN" : "Inf");
    }
    return MN_OK;
}

void mn_npy_reader_close(mn_npy_reader *r)
{
    if (r->f) fclose(r->f);
    mn_free(r->path);
    memset(r, 0, sizeof *r);
}

mn_status mn_npy_writer_open(mn_npy_writer *w, const char *path, int nch, int64_t n)
{
    memset(w, 0, sizeof *w);
    if (nch < 1 || n < 0) return mn_error(MN_ERR_INVALID, "%s: %d channels of %lld samples", path, nch, (long long)n);
    if (!host_little()) return mn_error(MN_ERR_UNSUPPORTED, "%s: block writing needs a little-endian host", path);
    mn_status st = mn_atomic_open(&w->af, path);
    if (st != MN_OK) return st;
    int64_t shape[2] = {nch, n};
    st = mn_io_npy_write_header(&w->af, "<c8", 2, shape);
    if (st == MN_OK && fflush(w->af.f) != 0) st = mn_error(MN_ERR_IO, "%s: writing the header: %s", path, strerror(errno));
    if (st != MN_OK) {
        mn_atomic_abort(&w->af);
        return st;
    }
    w->data_offset = (uint64_t)ftello(w->af.f);
    /* Size the file now: a full disk shows up here rather than halfway (and blocks can land in any order). */
    if (ftruncate(fileno(w->af.f), (off_t)(w->data_offset + 8 * (uint64_t)nch * (uint64_t)n)) != 0) {
        int e = errno;
        mn_atomic_abort(&w->af);
        return mn_error(MN_ERR_IO, "%s: cannot size the file to %lld samples: %s", path, (long long)n * nch, strerror(e));
    }
    w->nch = nch;
    w->n = n;
    w->open = true;
    return MN_OK;
}

mn_status mn_npy_writer_write(mn_npy_writer *w, const float complex *x, int64_t stride, int64_t i0, int64_t len)
{
    if (!w->open) return mn_error(MN_ERR_INVALID, "npy writer: not open");
    if (i0 < 0 || len < 0 || i0 > w->n - len || stride < len)
        return mn_error(MN_ERR_INVALID, "%s: samples [%lld, %lld) of %lld", w->af.path, (long long)i0, (long long)(i0 + len),
                        (long long)w->n);
    for (int c = 0; c < w->nch; c++) {
        const float complex *row = x + (int64_t)c * stride;
        for (int64_t i = 0; i < len; i++)
            if (!isfinite(crealf(row[i])) || !isfinite(cimagf(row[i]))) {
                w->af.status = mn_error(MN_ERR_NUMERIC, "%s: channel %d, sample %lld is not finite; nothing written",
                                        w->af.path, c, (long long)(i0 + i));
                return w->af.status;
            }
        off_t at = (off_t)(w->data_offset + 8 * ((uint64_t)c * (uint64_t)w->n + (uint64_t)i0));
        if (fseeko(w->af.f, at, SEEK_SET) != 0) {
            w->af.status = mn_error(MN_ERR_IO, "%s: seek: %s", w->af.path, strerror(errno));
            return w->af.status;
        }
        mn_status st = mn_atomic_write(&w->af, row, 8 * (size_t)len);
        if (st != MN_OK) return st;
    }
    return MN_OK;
}

mn_status mn_npy_writer_commit(mn_npy_writer *w)
{
    if (!w->open) return mn_error(MN_ERR_INVALID, "npy writer: not open");
    w->open = false;
    return mn_atomic_commit(&w->af);
}

void mn_npy_writer_abort(mn_npy_writer *w)
{
    if (w->open) mn_atomic_abort(&w->af);
    w->open = false;
}
