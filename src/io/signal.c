/*
 * src/io/signal.c — the mn_signal container (a complex multi-channel signal, row-major
 * [nch, n]) and small helpers shared by the data-source readers: the finiteness check that
 * names the first bad sample, file sizes, and suffix tests.
 */
#include "source_internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

mn_status mn_signal_alloc(mn_signal *s, int nch, int64_t n)
{
    if (!s) return mn_error(MN_ERR_INVALID, "mn_signal_alloc: signal is NULL");
    memset(s, 0, sizeof *s);
    if (nch < 1) return mn_error(MN_ERR_INVALID, "mn_signal_alloc: nch = %d; expected >= 1", nch);
    if (n < 0) return mn_error(MN_ERR_INVALID, "mn_signal_alloc: n = %lld; expected >= 0", (long long)n);
    /* nch * n * sizeof(float complex) must fit in size_t */
    if ((uint64_t)n > SIZE_MAX / sizeof(float complex) / (size_t)nch)
        return mn_error(MN_ERR_NOMEM, "mn_signal_alloc: %d x %lld complex samples do not fit in memory",
                        nch, (long long)n);
    size_t count = (size_t)nch * (size_t)n;
    s->x = mn_calloc(count, sizeof(float complex));
    if (!s->x)
        return mn_error(MN_ERR_NOMEM, "mn_signal_alloc: out of memory for %d x %lld complex samples (%zu bytes)",
                        nch, (long long)n, count * sizeof(float complex));
    s->nch = nch;
    s->n = n;
    s->sample_rate = 0.0;
    return MN_OK;
}

void mn_signal_free(mn_signal *s)
{
    if (!s) return;
    mn_free(s->x);
    memset(s, 0, sizeof *s);
}

mn_status mn_io_signal_check_finite(const mn_signal *s, const char *path)
{
    const float *v = (const float *)s->x; /* C11 6.2.5p13: a complex is an array of two reals */
    size_t count = 2 * (size_t)s->nch * (size_t)s->n;
    for (size_t k = 0; k < count; k++) {
        if (isfinite(v[k])) continue;
        size_t elem = k / 2;
        long long ch = (long long)(elem / (size_t)s->n), i = (long long)(elem % (size_t)s->n);
        return mn_error(MN_ERR_NUMERIC,
                        "%s: channel %lld, sample %lld: the %s part is %s; every value must be finite",
                        path, ch, i, (k & 1) ? "imaginary" : "real", isnan(v[k]) ? "NaN" : "Inf");
    }
    return MN_OK;
}

mn_status mn_io_file_size(FILE *f, const char *path, uint64_t *bytes)
{
    struct stat st;
    if (fstat(fileno(f), &st) != 0)
        return mn_error(MN_ERR_IO, "%s: cannot learn its size (%s)", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return mn_error(MN_ERR_IO, "%s: not a regular file; expected a data file", path);
    *bytes = (uint64_t)st.st_size;
    return MN_OK;
}

bool mn_io_ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    if (lx > ls) return false;
    const char *a = s + ls - lx;
    for (size_t i = 0; i < lx; i++)
        if (tolower((unsigned char)a[i]) != tolower((unsigned char)suffix[i])) return false;
    return true;
}

mn_status mn_io_error_chain(mn_status st, const char *fmt, ...)
{
    char prev[512], head[512];
    snprintf(prev, sizeof prev, "%s", mn_error_msg()); /* copy first: mn_error overwrites it */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    return mn_error(st, "%s: %s", head, prev);
}

bool mn_io_to_float(double d, float *out)
{
    /* Round to nearest overflows from FLT_MAX + ulp/2 = FLT_MAX + 2^103 upward (IEEE 754:
     * the midpoint rounds to the even neighbour, which is infinity). */
    const double lim = (double)FLT_MAX + 0x1p103;
    if (!isfinite(d) || fabs(d) >= lim) return false;
    if (fabs(d) > (double)FLT_MAX) d = copysign((double)FLT_MAX, d); /* avoid an out-of-range conversion */
    *out = (float)d;
    return true;
}
