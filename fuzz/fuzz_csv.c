/*
 * fuzz/fuzz_csv.c — libFuzzer target for the CSV reader (mn_source_read on x.csv) and the CSV
 * branch of mn_describe_file.  The input is the whole file.
 */
#include "fuzz_common.h"

#include "mimonet/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[128];
    if (!path[0]) fz_path(path, sizeof path, "in.csv");
    fz_write(path, data, size);
    long live = mn_alloc_live();
    mn_signal s = {0};
    if (mn_source_read(&s, path) == MN_OK) mn_signal_free(&s);
    fz_check_live(live, "mn_source_read(csv)");
    char buf[512];
    (void)mn_describe_file(path, buf, sizeof buf);
    fz_check_live(live, "mn_describe_file(csv)");
    return 0;
}
