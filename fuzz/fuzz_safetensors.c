/*
 * fuzz/fuzz_safetensors.c — libFuzzer target for the safetensors readers: mn_safetensors_load_new
 * (header, offsets, shapes, data), mn_safetensors_read_meta, mn_safetensors_load into a small
 * fixed table (shape/name matching), and the safetensors branch of mn_describe_file.
 */
#include "fuzz_common.h"

#include "mimonet/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[128];
    if (!path[0]) fz_path(path, sizeof path, "in.safetensors");
    fz_write(path, data, size);
    long live = mn_alloc_live();

    mn_params p;
    mn_params_init_table(&p);
    char *meta = NULL;
    if (mn_safetensors_load_new(&p, path, &meta) == MN_OK) {
        mn_params_free(&p);
        mn_free(meta);
    }
    fz_check_live(live, "mn_safetensors_load_new");

    meta = NULL;
    if (mn_safetensors_read_meta(path, &meta) == MN_OK) mn_free(meta);
    fz_check_live(live, "mn_safetensors_read_meta");

    /* A fixed table like the seeds': "a" [2, 3] and "b" [4]. */
    mn_params q;
    mn_params_init_table(&q);
    const int64_t sa[2] = {2, 3}, sb[1] = {4};
    if (mn_params_add(&q, "a", 2, sa, MN_INIT_ZEROS, 0.0f, 1, true) >= 0 &&
        mn_params_add(&q, "b", 1, sb, MN_INIT_ZEROS, 0.0f, 1, true) >= 0 && mn_params_alloc(&q) == MN_OK) {
        meta = NULL;
        if (mn_safetensors_load(&q, path, &meta) == MN_OK) mn_free(meta);
    }
    mn_params_free(&q);
    fz_check_live(live, "mn_safetensors_load");

    char buf[512];
    (void)mn_describe_file(path, buf, sizeof buf);
    fz_check_live(live, "mn_describe_file(safetensors)");
    return 0;
}
