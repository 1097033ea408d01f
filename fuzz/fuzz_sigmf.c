/*
 * fuzz/fuzz_sigmf.c — libFuzzer target for the SigMF reader.  The input is split at its first
 * NUL byte: the part before is in.sigmf-meta (JSON), the part after is in.sigmf-data (no NUL:
 * empty data).  Reads through the meta name, then through the data name (which must find the
 * meta), and describes the meta.
 */
#include "fuzz_common.h"

#include "mimonet/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char meta[128], dat[128];
    if (!meta[0]) {
        fz_path(meta, sizeof meta, "in.sigmf-meta");
        fz_path(dat, sizeof dat, "in.sigmf-data");
    }
    const uint8_t *nul = memchr(data, 0, size);
    size_t n_meta = nul ? (size_t)(nul - data) : size;
    fz_write(meta, data, n_meta);
    fz_write(dat, nul ? nul + 1 : data, nul ? size - n_meta - 1 : 0);
    long live = mn_alloc_live();
    mn_signal s = {0};
    if (mn_source_read(&s, meta) == MN_OK) mn_signal_free(&s);
    fz_check_live(live, "mn_source_read(sigmf-meta)");
    if (mn_source_read(&s, dat) == MN_OK) mn_signal_free(&s);
    fz_check_live(live, "mn_source_read(sigmf-data)");
    char buf[512];
    (void)mn_describe_file(meta, buf, sizeof buf);
    fz_check_live(live, "mn_describe_file(sigmf)");
    return 0;
}
