/* tests/pim/test_sim_cli.c — `mimonet pim simulate` end to end: exit codes, refusal to clobber,
 * the files it writes, and that tx.npy / rx.npy are exactly what the library records for the
 * same configuration.  Needs the CLI binary: MN_CLI (set by `make test`), else build/mimonet. */
#include "mn_test.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mimonet/io.h"
#include "mimonet/pim.h"

static const char *cli_path(void)
{
    const char *c = getenv("MN_CLI");
    if (c && *c) return c;
    return access("build/mimonet", X_OK) == 0 ? "build/mimonet" : NULL;
}

static int run(const char *cli, const char *args)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s pim simulate %s >/dev/null 2>&1", cli, args);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

MN_TEST(pim_sim_cli_writes_dataset)
{
    const char *cli = cli_path();
    if (!cli) {
        printf("    skipped: set MN_CLI to the mimonet binary (make test does)\n");
        MN_CHECK(t, cli == NULL); /* nothing to run */
        return;
    }
    const char *dir = mn_test_tmpdir(t);
    char args[4400], path[4400];
    snprintf(args, sizeof args, "--out %s/d --tx 3 --rx 2 --samples 5000 --seed 9 --format sigmf --quiet", dir);
    MN_CHECK(t, run(cli, args) == 0);
    const char *files[] = {"tx.npy", "rx.npy", "pim.npy", "meta.json", "spectrum.svg", "tx.sigmf-meta", "rx.sigmf-data"};
    for (int i = 0; i < 7; i++) {
        snprintf(path, sizeof path, "%s/d/%s", dir, files[i]);
        MN_CHECK_MSG(t, access(path, R_OK) == 0, "missing %s", path);
    }
    /* no clobbering without --force; bad options are usage errors (exit 2) */
    MN_CHECK(t, run(cli, args) == 2);
    snprintf(args, sizeof args, "--out %s/d --tx 3 --rx 2 --samples 5000 --seed 9 --quiet --force", dir);
    MN_CHECK(t, run(cli, args) == 0);
    MN_CHECK(t, run(cli, "--tx 2") == 2); /* no --out */
    snprintf(args, sizeof args, "--out %s/e --scenario windy", dir);
    MN_CHECK(t, run(cli, args) == 2);
    snprintf(args, sizeof args, "--out %s/e --samples 0", dir);
    MN_CHECK(t, run(cli, args) == 2);
    snprintf(args, sizeof args, "--out %s/e --format mat", dir);
    MN_CHECK(t, run(cli, args) == 2);
    snprintf(args, sizeof args, "--out %s/e --oversample 6", dir);
    MN_CHECK(t, run(cli, args) == 2);
    /* the files hold exactly the library's recording for the same configuration */
    mn_pim_sim_cfg c = mn_pim_sim_default();
    c.n_tx = 3;
    c.n_rx = 2;
    c.seed = 9;
    mn_pim_sim *s = mn_pim_sim_create(&c);
    float complex *tx = mn_malloc(3 * 5000 * sizeof *tx), *pim = mn_malloc(2 * 5000 * sizeof *pim), *rx = mn_malloc(2 * 5000 * sizeof *rx);
    mn_pim_sim_info info;
    MN_CHECK_OK(t, mn_pim_sim_record(s, tx, pim, rx, 5000, &info));
    mn_signal a = {0}, b = {0};
    snprintf(path, sizeof path, "%s/d/tx.npy", dir);
    MN_CHECK_OK(t, mn_source_read(&a, path));
    snprintf(path, sizeof path, "%s/d/rx.npy", dir);
    MN_CHECK_OK(t, mn_source_read(&b, path));
    MN_CHECK(t, a.nch == 3 && a.n == 5000 && b.nch == 2 && b.n == 5000);
    if (a.x && b.x) {
        MN_CHECK(t, memcmp(a.x, tx, 3 * 5000 * sizeof *tx) == 0);
        MN_CHECK(t, memcmp(b.x, rx, 2 * 5000 * sizeof *rx) == 0);
    }
    mn_signal_free(&a);
    mn_signal_free(&b);
    /* meta.json: noise power at the top level, as `pim train` reads it */
    snprintf(path, sizeof path, "%s/d/meta.json", dir);
    char *txt = NULL;
    size_t len = 0;
    MN_CHECK_OK(t, mn_file_read_all(path, 1 << 22, &txt, &len));
    cJSON *j = txt ? cJSON_Parse(txt) : NULL;
    const cJSON *np = cJSON_GetObjectItem(j, "noise_power");
    MN_CHECK(t, cJSON_IsNumber(np) && fabs(np->valuedouble - info.noise_power) < 1e-15);
    MN_CHECK(t, cJSON_IsString(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "files"), "tx")));
    cJSON_Delete(j);
    mn_free(txt);
    mn_free(tx);
    mn_free(pim);
    mn_free(rx);
    mn_pim_sim_destroy(s);
}
