/*
 * fuzz/fuzz_mat.c — libFuzzer target for the MAT reader (mn_source_read on x.mat, with and
 * without a variable name) and the MAT branch of mn_describe_file.  The input is the whole file.
 *
 * MAT v5 only by default: inputs whose header marks version 0x0200 (v7.3, i.e. HDF5) are
 * skipped, because HDF5 1.10 has known crashes and leaks on corrupted files that mimonet cannot
 * check beforehand (see src/io/mat.c).  Set MN_FUZZ_MAT_V73=1 to fuzz them anyway.
 * Without matio the reader returns MN_ERR_UNSUPPORTED and this target only checks that.
 */
#include "fuzz_common.h"

#include "mimonet/io.h"

static int allow_v73 = -1;

/* A v7.3 file: 128-byte header whose version field (bytes 124..125) is 0x0200 in either byte
 * order, or an HDF5 signature at offset 512. */
static int is_v73(const uint8_t *d, size_t n)
{
    if (n >= 128 && ((d[124] == 0x00 && d[125] == 0x02) || (d[124] == 0x02 && d[125] == 0x00))) return 1;
    if (n >= 520 && memcmp(d + 512, "\x89HDF\r\n\x1a\n", 8) == 0) return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[128], path_var[160];
    if (allow_v73 < 0) {
        const char *e = getenv("MN_FUZZ_MAT_V73");
        allow_v73 = e && *e && *e != '0';
    }
    if (!allow_v73 && is_v73(data, size)) return -1; /* keep out of the corpus */
    if (!path[0]) {
        fz_path(path, sizeof path, "in.mat");
        snprintf(path_var, sizeof path_var, "%s:x", path);
    }
    fz_write(path, data, size);
    long live = mn_alloc_live();
    mn_signal s = {0};
    if (mn_source_read(&s, path) == MN_OK) mn_signal_free(&s);
    fz_check_live(live, "mn_source_read(mat)");
    if (mn_source_read(&s, path_var) == MN_OK) mn_signal_free(&s);
    fz_check_live(live, "mn_source_read(mat:x)");
    char buf[512];
    (void)mn_describe_file(path, buf, sizeof buf);
    fz_check_live(live, "mn_describe_file(mat)");
    return 0;
}
