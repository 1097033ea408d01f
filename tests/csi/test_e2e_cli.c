/* tests/csi/test_e2e_cli.c — `mimonet csi simulate | train | eval | sweep` end to end: exit
 * codes, the files written, that simulate's channels are exactly the library's drops for the
 * same configuration and seed, a tiny train -> eval (JSON) -> external-channel eval round, and
 * a tiny sweep.  Needs the CLI binary: MN_CLI (set by `make test`), else build/mimonet; skipped
 * (with a message) when the binary has no `csi` command yet. */
#include "mn_test.h"

#include <cjson/cJSON.h>
#include <complex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mimonet/csi_e2e.h"
#include "mimonet/io.h"

static const char *cli_path(void)
{
    const char *c = getenv("MN_CLI");
    if (c && *c) return c;
    return access("build/mimonet", X_OK) == 0 ? "build/mimonet" : NULL;
}

/* Run `cli csi ARGS`, stdout to out_path (or /dev/null); the exit code. */
static int run(const char *cli, const char *args, const char *out_path)
{
    char cmd[20000];
    snprintf(cmd, sizeof cmd, "%s csi %s >%s 2>/dev/null", cli, args, out_path ? out_path : "/dev/null");
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *usable_cli(void)
{
    const char *cli = cli_path();
    if (!cli || run(cli, "--help", NULL) != 0) {
        printf("    skipped: no mimonet binary with the csi command (set MN_CLI; the lead wires mn_cli_csi)\n");
        return NULL;
    }
    return cli;
}

#define SMALL "--bs 2x2 --users 2 --sc 4 --sc-khz 1440"

MN_TEST(csi_cli_simulate_matches_library)
{
    const char *cli = usable_cli();
    if (!cli) {
        MN_CHECK(t, cli == NULL);
        return;
    }
    const char *dir = mn_test_tmpdir(t);
    char args[8192], path[1024];
    snprintf(args, sizeof args, "simulate --out %s/s --drops 3 --seed 5 " SMALL, dir);
    MN_CHECK(t, run(cli, args, NULL) == 0);
    /* the library's drops for the same configuration and seed */
    mn_csi_chan_cfg c;
    mn_csi_chan_cfg_default(&c);
    c.bs_nh = 2;
    c.bs_nv = 2;
    c.users = 2;
    c.n_sc = 4;
    c.sc_spacing_hz = 1.44e6;
    mn_csi_chan *ch = mn_csi_chan_create(&c);
    mn_e2e_data d;
    MN_CHECK_OK(t, mn_e2e_data_alloc(&d, 3, 2, 4, 4));
    MN_CHECK_OK(t, mn_e2e_data_simulate(&d, ch, 5, 5e-3, 1));
    mn_csi_chan_destroy(ch);
    const char *files[3] = {"h_dl.npy", "h_dl_data.npy", "h_ul.npy"};
    const float complex *want[3] = {d.csi, d.dat, d.ul};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/s/%s", dir, files[i]);
        float complex *H = NULL;
        int64_t sh[5];
        MN_CHECK_OK(t, mn_csi_npy_read(&H, sh, path));
        if (!H) continue;
        MN_CHECK(t, sh[0] == 3 && sh[1] == 2 && sh[2] == 1 && sh[3] == 4 && sh[4] == 4);
        MN_CHECK_MSG(t, memcmp(H, want[i], 3 * 2 * 4 * 4 * sizeof *H) == 0, "%s differs from the library's drops", files[i]);
        mn_free(H);
    }
    snprintf(path, sizeof path, "%s/s/meta.json", dir);
    MN_CHECK(t, access(path, R_OK) == 0);
    mn_e2e_data_free(&d);
    /* bad usage and bad input: exit 2 */
    MN_CHECK(t, run(cli, "simulate --drops 3", NULL) == 2); /* no --out */
    snprintf(args, sizeof args, "simulate --out %s/x --channel cdl-z", dir);
    MN_CHECK(t, run(cli, args, NULL) == 2);
    snprintf(args, sizeof args, "simulate --out %s/x --bs 8y4", dir);
    MN_CHECK(t, run(cli, args, NULL) == 2);
    snprintf(args, sizeof args, "simulate --out %s/x --users 9 --bs 2x2", dir);
    MN_CHECK(t, run(cli, args, NULL) == 2);
    MN_CHECK(t, run(cli, "frobnicate", NULL) == 2);
    MN_CHECK(t, run(cli, "", NULL) == 2);
}

MN_TEST(csi_cli_train_eval_sweep)
{
    const char *cli = usable_cli();
    if (!cli) {
        MN_CHECK(t, cli == NULL);
        return;
    }
    const char *dir = mn_test_tmpdir(t);
    char args[8192], path[1024], out[1024];
    const char *tiny = SMALL " --width 4 --blocks 1 --hidden 8 --batch 4 --drops 16 --val-drops 4 --threads 1 --quiet";
    snprintf(args, sizeof args, "train --out %s/m.safetensors --steps 4 --bits 2 --pilots 2 %s", dir, tiny);
    MN_CHECK(t, run(cli, args, NULL) == 0);
    MN_CHECK(t, run(cli, args, NULL) == 2); /* exists: needs --force */
    snprintf(args, sizeof args, "train --out %s/n.safetensors --scheme bogus %s", dir, tiny);
    MN_CHECK(t, run(cli, args, NULL) == 2);
    snprintf(args, sizeof args, "train --out %s/n.safetensors --bits 3 --q 2 %s", dir, tiny);
    MN_CHECK(t, run(cli, args, NULL) == 2);
    snprintf(args, sizeof args, "train --out %s/n.safetensors --head zf %s", dir, tiny);
    MN_CHECK(t, run(cli, args, NULL) == 2);
    /* the RZF head is recorded in the file and comes back with it */
    snprintf(args, sizeof args, "train --out %s/z.safetensors --steps 4 --bits 2 --pilots 2 --head rzf %s", dir, tiny);
    MN_CHECK(t, run(cli, args, NULL) == 0);
    snprintf(path, sizeof path, "%s/z.safetensors", dir);
    {
        mn_e2e z;
        mn_e2e_scheme zs;
        MN_CHECK_OK(t, mn_e2e_load(&z, &zs, path, 4));
        MN_CHECK(t, z.cfg.head == MN_E2E_HEAD_RZF && zs == MN_E2E_FUSION);
        mn_e2e_free(&z);
    }
    /* the model loads with the library */
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    mn_e2e e;
    mn_e2e_scheme s;
    MN_CHECK_OK(t, mn_e2e_load(&e, &s, path, 4));
    MN_CHECK(t, s == MN_E2E_FUSION && e.cfg.bits == 2 && e.L == 2 && e.cfg.M == 4 && e.cfg.head == MN_E2E_HEAD_DIRECT);
    mn_e2e_free(&e);
    /* eval --json: the learned scheme and the baselines, bits and pilots */
    snprintf(args, sizeof args, "eval --model %s --drops 4 --json --threads 1", path);
    snprintf(out, sizeof out, "%s/eval.json", dir);
    MN_CHECK(t, run(cli, args, out) == 0);
    char *txt = NULL;
    MN_CHECK_OK(t, mn_file_read_all(out, 1 << 20, &txt, NULL));
    cJSON *j = txt ? cJSON_Parse(txt) : NULL;
    MN_CHECK(t, j != NULL);
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "schemes");
    bool learned = false, rzf = false, type2 = false;
    const cJSON *r;
    cJSON_ArrayForEach(r, arr)
    {
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(r, "name"), *se = cJSON_GetObjectItemCaseSensitive(r, "se");
        if (!cJSON_IsString(nm) || !cJSON_IsNumber(se)) continue;
        learned |= !strcmp(nm->valuestring, "learned_fusion");
        rzf |= !strcmp(nm->valuestring, "rzf_perfect") && se->valuedouble > 0;
        if (!strcmp(nm->valuestring, "type2_l2_zf")) type2 = cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(r, "bits_per_ue"));
    }
    MN_CHECK(t, learned && rzf && type2);
    MN_CHECK(t, cJSON_GetObjectItemCaseSensitive(j, "bits_per_ue") && cJSON_GetObjectItemCaseSensitive(j, "pilot_overhead"));
    cJSON_Delete(j);
    mn_free(txt);
    /* external channels (simulate's files) */
    snprintf(args, sizeof args, "simulate --out %s/s --drops 3 " SMALL, dir);
    MN_CHECK(t, run(cli, args, NULL) == 0);
    snprintf(args, sizeof args, "eval --model %s --channels %s/s/h_dl.npy --channels-ul %s/s/h_ul.npy --threads 1", path, dir, dir);
    MN_CHECK(t, run(cli, args, NULL) == 0);
    snprintf(args, sizeof args, "eval --model %s --channels %s/eval.json", path, dir); /* not an npy */
    MN_CHECK(t, run(cli, args, NULL) == 2);
    snprintf(args, sizeof args, "eval --model %s/eval.json", dir); /* not a model */
    MN_CHECK(t, run(cli, args, NULL) == 2);
    MN_CHECK(t, run(cli, "eval --drops 3", NULL) == 2);
    /* sweep over two bit budgets */
    snprintf(args, sizeof args, "sweep --out %s/w --bits-list 1,2 --pilots-list 2 --schemes feedback --steps 3 --test-drops 4 %s",
             dir, tiny);
    MN_CHECK(t, run(cli, args, NULL) == 0);
    snprintf(path, sizeof path, "%s/w/sweep.csv", dir);
    MN_CHECK_OK(t, mn_file_read_all(path, 1 << 20, &txt, NULL));
    MN_CHECK(t, txt && strstr(txt, "learned_feedback,1,2,") && strstr(txt, "learned_feedback,2,2,") && strstr(txt, "rzf_perfect"));
    mn_free(txt);
    snprintf(path, sizeof path, "%s/w/se_vs_bits.svg", dir);
    MN_CHECK(t, access(path, R_OK) == 0);
    snprintf(args, sizeof args, "sweep --out %s/w2 --bits-list 1,x", dir);
    MN_CHECK(t, run(cli, args, NULL) == 2);
}
