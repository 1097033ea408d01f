/* src/csi/e2e_npy.c — channel tensors as .npy files (NumPy format 1.0 / 2.0): the external
 * channel format of issue 5, complex [drops, ue, ue_ant, bs_ant, subcarriers], and turning such
 * tensors into drops for the end-to-end system.
 *
 * io.h's readers handle 2-D signals; this file handles the 5-D (or 4-D) channel layout.  The
 * header is parsed strictly: 'descr' must be '<c8' or '<c16' (little-endian complex64 /
 * complex128), 'fortran_order' False, 'shape' a tuple of 4 or 5 positive integers, and the
 * file must hold exactly that many elements after the header.  Writes are atomic. */
#include "mimonet/csi_e2e.h"
#include "mimonet/io.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool host_little(void)
{
    const uint16_t one = 1;
    unsigned char c;
    memcpy(&c, &one, 1);
    return c == 1;
}

mn_status mn_csi_npy_write(const char *path, const float complex *H, const int64_t shape[5])
{
    if (!host_little()) return mn_error(MN_ERR_UNSUPPORTED, "%s: npy writing needs a little-endian host", path);
    uint64_t count = 1;
    for (int i = 0; i < 5; i++) {
        if (shape[i] < 1 || shape[i] > (1LL << 40)) return mn_error(MN_ERR_INVALID, "%s: shape[%d] = %lld", path, i, (long long)shape[i]);
        count *= (uint64_t)shape[i];
    }
    if (count > (1ULL << 40)) return mn_error(MN_ERR_INVALID, "%s: %llu elements is too many", path, (unsigned long long)count);
    char dict[256];
    int len = snprintf(dict, sizeof dict, "{'descr': '<c8', 'fortran_order': False, 'shape': (%lld, %lld, %lld, %lld, %lld), }",
                       (long long)shape[0], (long long)shape[1], (long long)shape[2], (long long)shape[3], (long long)shape[4]);
    size_t total = 10 + (size_t)len + 1, pad = (64 - total % 64) % 64, hlen = (size_t)len + pad + 1;
    memset(dict + len, ' ', pad);
    dict[(size_t)len + pad] = '\n';
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff), (unsigned char)(hlen >> 8)};
    mn_atomic_file af;
    mn_status st = mn_atomic_open(&af, path);
    if (st != MN_OK) return st;
    st = mn_atomic_write(&af, pre, sizeof pre);
    if (st == MN_OK) st = mn_atomic_write(&af, dict, hlen);
    if (st == MN_OK) st = mn_atomic_write(&af, H, (size_t)count * sizeof *H);
    if (st != MN_OK) {
        mn_atomic_abort(&af);
        return st;
    }
    return mn_atomic_commit(&af);
}

/* The value text after 'key': in the header dict (NULL if absent). */
static const char *dict_value(const char *hdr, const char *key)
{
    char pat[32];
    snprintf(pat, sizeof pat, "'%s'", key);
    const char *p = strstr(hdr, pat);
    if (!p) return NULL;
    p += strlen(pat);
    while (*p == ' ') p++;
    if (*p != ':') return NULL;
    p++;
    while (*p == ' ') p++;
    return p;
}

mn_status mn_csi_npy_read(float complex **H, int64_t shape[5], const char *path)
{
    *H = NULL;
    if (!host_little()) return mn_error(MN_ERR_UNSUPPORTED, "%s: npy reading needs a little-endian host", path);
    FILE *f = fopen(path, "rb");
    if (!f) return mn_error(MN_ERR_IO, "%s: cannot open (%s)", path, strerror(errno));
    unsigned char pre[12];
    char *hdr = NULL;
    mn_status st = MN_OK;
    size_t hlen = 0, pre_len = 10;
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) st = mn_error(MN_ERR_FORMAT, "%s: not a .npy file", path);
    else if (pre[6] == 1) hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
    else if (pre[6] == 2 || pre[6] == 3) {
        if (fread(pre + 10, 1, 2, f) != 2) st = mn_error(MN_ERR_FORMAT, "%s: truncated header", path);
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
        pre_len = 12;
    } else st = mn_error(MN_ERR_FORMAT, "%s: npy version %d.%d is not supported", path, pre[6], pre[7]);
    if (st == MN_OK && (hlen < 16 || hlen > (1u << 20))) st = mn_error(MN_ERR_FORMAT, "%s: header length %zu", path, hlen);
    if (st == MN_OK) {
        hdr = mn_malloc(hlen + 1);
        if (!hdr) st = mn_error(MN_ERR_NOMEM, "%s: header", path);
        else if (fread(hdr, 1, hlen, f) != hlen) st = mn_error(MN_ERR_FORMAT, "%s: truncated header", path);
        else hdr[hlen] = '\0';
    }
    size_t esize = 0;
    int ndim = 0;
    int64_t dims[5] = {0};
    if (st == MN_OK) {
        const char *d = dict_value(hdr, "descr"), *fo = dict_value(hdr, "fortran_order"), *sh = dict_value(hdr, "shape");
        if (d && !strncmp(d, "'<c8'", 5)) esize = 8;
        else if (d && !strncmp(d, "'<c16'", 6)) esize = 16;
        if (!esize) st = mn_error(MN_ERR_FORMAT, "%s: dtype must be complex64 or complex128 little-endian ('<c8', '<c16')", path);
        else if (!fo || strncmp(fo, "False", 5)) st = mn_error(MN_ERR_FORMAT, "%s: Fortran-ordered arrays are not supported", path);
        else if (!sh || *sh != '(') st = mn_error(MN_ERR_FORMAT, "%s: header has no shape", path);
        else {
            const char *p = sh + 1;
            while (st == MN_OK) {
                while (*p == ' ') p++;
                if (*p == ')') break;
                if (!isdigit((unsigned char)*p) || ndim == 5) {
                    st = mn_error(MN_ERR_FORMAT, "%s: shape must be [drops, ue, ue_ant, bs_ant, subcarriers] "
                                  "(or without ue_ant)", path);
                    break;
                }
                char *end;
                long long v = strtoll(p, &end, 10);
                dims[ndim++] = v;
                p = end;
                while (*p == ' ') p++;
                if (*p == ',') p++;
            }
            if (st == MN_OK && ndim != 4 && ndim != 5)
                st = mn_error(MN_ERR_FORMAT, "%s: %d dimensions; expected [drops, ue, ue_ant, bs_ant, subcarriers] "
                              "(5) or [drops, ue, bs_ant, subcarriers] (4)", path, ndim);
        }
    }
    uint64_t count = 1;
    if (st == MN_OK) {
        if (ndim == 4) {
            dims[4] = dims[3];
            dims[3] = dims[2];
            dims[2] = 1;
        }
        for (int i = 0; i < 5 && st == MN_OK; i++) {
            if (dims[i] < 1 || dims[i] > (1LL << 32)) st = mn_error(MN_ERR_FORMAT, "%s: dimension %d is %lld", path, i, (long long)dims[i]);
            else count *= (uint64_t)dims[i];
            if (count > (1ULL << 34)) st = mn_error(MN_ERR_FORMAT, "%s: too many elements", path);
        }
        if (st == MN_OK && (dims[2] > MN_CSI_MAX_UE_ANT || dims[1] > MN_CSI_MAX_USERS))
            st = mn_error(MN_ERR_FORMAT, "%s: %lld users x %lld UE antennas (at most %d x %d)", path, (long long)dims[1],
                          (long long)dims[2], MN_CSI_MAX_USERS, MN_CSI_MAX_UE_ANT);
    }
    if (st == MN_OK) {
        long here = ftell(f);
        fseek(f, 0, SEEK_END);
        long end = ftell(f);
        fseek(f, here, SEEK_SET);
        if (here < 0 || end < 0 || (uint64_t)(end - here) != count * esize)
            st = mn_error(MN_ERR_FORMAT, "%s: holds %ld data bytes, the shape needs %llu", path, end - here,
                          (unsigned long long)(count * esize));
        (void)pre_len; /* data offset = the position after the header */
    }
    if (st == MN_OK) {
        *H = mn_malloc((size_t)count * sizeof **H);
        if (!*H) st = mn_error(MN_ERR_NOMEM, "%s: %llu elements", path, (unsigned long long)count);
    }
    if (st == MN_OK) {
        if (esize == 8) {
            if (fread(*H, 8, (size_t)count, f) != count) st = mn_error(MN_ERR_IO, "%s: short read", path);
        } else {
            double buf[2 * 512];
            for (uint64_t i = 0; i < count && st == MN_OK;) {
                size_t m = count - i < 512 ? (size_t)(count - i) : 512;
                if (fread(buf, 16, m, f) != m) st = mn_error(MN_ERR_IO, "%s: short read", path);
                for (size_t j = 0; j < m && st == MN_OK; j++) (*H)[i + j] = CMPLXF((float)buf[2 * j], (float)buf[2 * j + 1]);
                i += m;
            }
        }
        for (uint64_t i = 0; i < count && st == MN_OK; i++)
            if (!isfinite(crealf((*H)[i])) || !isfinite(cimagf((*H)[i])))
                st = mn_error(MN_ERR_FORMAT, "%s: element %llu is not finite", path, (unsigned long long)i);
    }
    fclose(f);
    mn_free(hdr);
    if (st != MN_OK) {
        mn_free(*H);
        *H = NULL;
        return st;
    }
    memcpy(shape, dims, sizeof dims);
    return MN_OK;
}

mn_status mn_e2e_data_from_channels(mn_e2e_data *d, const float complex *dl, const float complex *ul,
                                    const float complex *dat, const int64_t shape[5])
{
    const int n = (int)shape[0], K = (int)shape[1], Nr = (int)shape[2], M = (int)shape[3], F = (int)shape[4];
    mn_status st = mn_e2e_data_alloc(d, n, K, M, F);
    if (st != MN_OK) return st;
    const size_t per_in = (size_t)K * Nr * M * F, per = (size_t)K * M * F;
    const float complex *src[3] = {ul ? ul : dl, dl, dat ? dat : dl};
    float complex *dst[3] = {d->ul, d->csi, d->dat};
    for (int j = 0; j < 3 && st == MN_OK; j++)
        for (int i = 0; i < n && st == MN_OK; i++)
            st = mn_csi_combine_dominant(dst[j] + i * per, src[j] + i * per_in, K, Nr, M, F);
    if (st != MN_OK) mn_e2e_data_free(d);
    return st;
}
