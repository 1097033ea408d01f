/*
 * fuzz/fuzz_model_json.c — libFuzzer target for the model-architecture JSON loader
 * (mn_model_from_json), then, on any accepted declaration, the receptive field and MAC count,
 * and, when it is also small, mn_model_build
 * with a small batch and window, one forward pass on zeros, and mn_model_to_json +
 * mn_model_from_json (the round trip must be accepted again).
 *
 * "Small": at most 2^20 parameters and at most 2^16 channels over all nodes, so a fuzzed
 * architecture cannot ask for gigabytes (that would be an out-of-memory report, not a bug).
 */
#include "fuzz_common.h"

#include "mimonet/nn.h"

enum { FZ_B = 2, FZ_T = 16 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *txt = malloc(size + 1);
    if (!txt) return 0;
    memcpy(txt, data, size);
    txt[size] = '\0';
    long live = mn_alloc_live();

    mn_model m;
    mn_model_init(&m);
    mn_status st = mn_model_from_json(&m, txt);
    bool small = st == MN_OK && m.params.total <= ((size_t)1 << 20);
    long chans = 0;
    for (int i = 0; small && i < m.n_nodes; i++) {
        chans += m.nodes[i].C;
        if (m.nodes[i].C < 0 || chans > (1L << 16)) small = false;
        if (m.nodes[i].kind == MN_NODE_PERMUTE &&
            (long)m.nodes[i].u.perm.dims[0] * m.nodes[i].u.perm.dims[1] * m.nodes[i].u.perm.dims[2] > (1L << 16))
            small = false;
    }
    if (st == MN_OK) { /* declaration-time queries, valid on any accepted architecture */
        int l, r;
        mn_model_receptive_field(&m, &l, &r);
        (void)mn_model_macs_per_sample(&m);
        if (l < 0 || r < 0) {
            fprintf(stderr, "fuzz: negative receptive field %d, %d\n", l, r);
            abort();
        }
    }
    if (small) {
        char *again = mn_model_to_json(&m);
        if (again) {
            mn_model m2;
            mn_model_init(&m2);
            if (mn_model_from_json(&m2, again) != MN_OK) {
                fprintf(stderr, "fuzz: accepted architecture does not round-trip:\n%s\n", again);
                abort();
            }
            mn_model_free(&m2);
            mn_free(again);
        }
        mn_rng rng;
        mn_rng_seed(&rng, 1);
        if (mn_model_build(&m, FZ_B, FZ_T, &rng) == MN_OK) {
            int cin = mn_model_in_channels(&m);
            if (cin > 0 && cin <= 4096) {
                float *x = calloc((size_t)FZ_B * (size_t)cin * FZ_T, sizeof *x);
                if (x) (void)mn_model_forward(&m, x, FZ_B, FZ_T, false);
                free(x);
            }
        }
    }
    mn_model_free(&m);
    fz_check_live(live, "mn_model_from_json/build");
    free(txt);
    return 0;
}
