/* tests/cli/test_bad_usage.c — issue 7 §6: a table of bad invocations and bad files run through
 * the `mimonet` binary.  For every row it checks the exit code (2 bad usage / bad input, 1
 * runtime), that stderr is exactly one line starting "mimonet" and containing a given phrase
 * (what is wrong or what to do), that the process was not killed by a signal, and that nothing
 * in the fixture folder was created, replaced or changed (every file's path, inode, size, mtime
 * and bytes are hashed before and after each row; the child runs in an empty folder inside it so
 * stray relative writes are caught too).  Needs the CLI binary: MN_CLI (set by `make test`),
 * else build/mimonet; without one the test FAILS. */
#include "mn_test.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mimonet/core.h"
#include "mimonet/io.h"

enum { SKIP_NONE, SKIP_IF_ROOT_READ, SKIP_IF_ROOT_WRITE };

typedef struct {
    const char *args; /* space-separated; a token "@x" is "<fixture dir>/x"; "''" is "" */
    int code;         /* expected exit code */
    const char *want; /* a phrase the message must contain */
    int skip;         /* SKIP_IF_ROOT_*: permission rows that root bypasses */
} bad_case;

#define TX " --tx @d/tx.npy"
#define RX " --rx @d/rx.npy"

static const bad_case cases[] = {
    /* ---- the command itself */
    {"", 2, "COMMAND", SKIP_NONE},
    {"frobnicate", 2, "unknown command 'frobnicate'", 0},
    {"--bogus", 2, "unknown command '--bogus'", 0},
    {"pim", 2, "pim --help", 0},
    {"pim frobnicate", 2, "unknown subcommand 'frobnicate'", 0},
    /* ---- pim simulate: options */
    {"pim simulate", 2, "--out DIR is required", 0},
    {"pim simulate --out @s --bogus", 2, "unknown option '--bogus'", 0},
    {"pim simulate --out", 2, "--out needs", 0},
    {"pim simulate --out ''", 2, "--out needs a non-empty value", 0},
    {"pim simulate --out @s --drift-tau 1e5", 2, "applies to --scenario dynamic", 0},
    {"pim simulate --out @s --scenario dynamic --drift-tau 0.5", 2, "--drift-tau", 0},
    {"pim simulate --tx 1 --rx 1 --samples 1024 --no-plot --out --quiet", 2, "--out needs", 0},
    {"pim simulate --out @s --samples abc", 2, "--samples expects an integer, got 'abc'", 0},
    {"pim simulate --out @s --samples -5", 2, "--samples must be between", 0},
    {"pim simulate --out @s --samples 1e5", 2, "--samples expects an integer", 0},
    {"pim simulate --out @s --samples 99999999999999999999999", 2, "--samples expects an integer", 0},
    {"pim simulate --out @s --samples 100", 2, "--samples must be between", 0},
    {"pim simulate --out @s --pnr nan", 2, "--pnr expects a number, got 'nan'", 0},
    {"pim simulate --out @s --pnr inf", 2, "--pnr expects a number", 0},
    {"pim simulate --out @s --pnr 1e400", 2, "--pnr expects a number", 0},
    {"pim simulate --out @s --pnr 1000", 2, "--pnr must be between", 0},
    {"pim simulate --out @s --tx 0", 2, "--tx must be between", 0},
    {"pim simulate --out @s --rx 2000", 2, "--rx must be between", 0},
    {"pim simulate --out @s --seed -1", 2, "--seed expects an integer", 0},
    {"pim simulate --out @s --scenario windy", 2, "--scenario must be static or dynamic", 0},
    {"pim simulate --out @s --format mat", 2, "--format must be npy or sigmf", 0},
    {"pim simulate --out @s --junction-kind soft", 2, "--junction-kind must be", 0},
    {"pim simulate --out @s --oversample 6", 2, "--oversample must be", 0},
    {"pim simulate --out @s --threads -2", 2, "--threads must be between", 0},
    /* ---- pim simulate: outputs */
    {"pim simulate --out @d --samples 4000 --tx 2 --rx 1 --quiet --no-plot", 2, "--force", 0},
    {"pim simulate --out @file.txt --samples 1024 --tx 1 --rx 1", 2, "not a folder", 0},
    {"pim simulate --out @file.txt/sub --samples 1024 --tx 1 --rx 1", 2, "cannot create folder", 0},
    {"pim simulate --out @ro/sub --samples 1024 --tx 1 --rx 1", 2, "cannot create folder", SKIP_IF_ROOT_WRITE},
    /* ---- pim train: options */
    {"pim train --data @d", 2, "--out MODEL.safetensors is required", 0},
    {"pim train --out @m.safetensors", 2, "give --data DIR", 0},
    {"pim train --data @d" TX " --out @m.safetensors", 2, "not both", 0},
    {"pim train" TX " --out @m.safetensors", 2, "both --tx SRC and --rx SRC", 0},
    {"pim train --data @d --out @m.safetensors --model huge", 2, "unknown --model 'huge'", 0},
    {"pim train --data @d --out @m.safetensors --steps abc", 2, "--steps expects an integer", 0},
    {"pim train --data @d --out @m.safetensors --steps 0", 2, "--steps must be between", 0},
    {"pim train --data @d --out @m.safetensors --split 0.7,0.1", 2, "--split expects three fractions", 0},
    {"pim train --data @d --out @m.safetensors --split 0.7,0.1,0.1,0.1", 2, "--split expects three fractions", 0},
    {"pim train --data @d --out @m.safetensors --split -0.1,0.5,0.6", 2, "--split", 0},
    {"pim train --data @d --out @m.safetensors --window 512", 2, "--window must be between", 0},
    {"pim train --data @d --out @m.safetensors --lr-max 0", 2, "--lr-max must be between", 0},
    {"pim train --data @d --out @m.safetensors --batch", 2, "--batch needs an integer", 0},
    /* ---- pim train: inputs */
    {"pim train --data @missing --out @m.safetensors", 2, "missing/tx.npy", 0},
    {"pim train --tx @missing.npy" RX " --out @m.safetensors", 2, "missing.npy", 0},
    {"pim train --tx @unreadable.npy" RX " --out @m.safetensors", 2, "unreadable.npy", SKIP_IF_ROOT_READ},
    {"pim train --tx @dir.npy" RX " --out @m.safetensors", 2, "dir.npy: not a regular file", 0},
    {"pim train" TX " --rx @rx3000.npy --out @m.safetensors", 2, "tx has 4000 samples but rx has 3000", 0},
    {"pim train --tx @short_tx.npy --rx @short_rx.npy --out @m.safetensors", 2, "fewer than", 0},
    {"pim train --tx @short_tx.npy --rx @short_rx.npy --model gmp --out @m.safetensors", 2, "fewer than", 0},
    {"pim train --tx @trunc.npy" RX " --out @m.safetensors", 2, "trunc.npy", 0},
    {"pim train --tx @nan.npy" RX " --out @m.safetensors", 2, "nan.npy", 0},
    {"pim train --tx @int32.npy" RX " --out @m.safetensors", 2, "int32.npy", 0},
    {"pim train --tx @ragged.csv" RX " --out @m.safetensors", 2, "ragged.csv", 0},
    {"pim train --tx @lonely.sigmf-meta" RX " --out @m.safetensors", 2, "lonely", 0},
    /* ---- pim train: outputs */
    {"pim train --data @d --out @d/tx.npy", 2, "also an input", 0},
    {"pim train --data @d --out @d/./rx.npy --force", 2, "also an input", 0},
    {"pim train --data @d --out @existing.safetensors", 2, "--force", 0},
    {"pim train --data @d --out @file.txt/m.safetensors --model gmp", 2, "file.txt", 0},
    {"pim train --data @d --out @nofolder/m.safetensors --model gmp", 2, "nofolder", 0},
    {"pim train --data @d --out @ro/m.safetensors --model gmp", 2, "not writable", SKIP_IF_ROOT_WRITE},
    /* ---- pim train: checkpoints and --resume */
    {"pim train --data @d --out @m.safetensors --resume", 2, "no checkpoint", 0},
    {"pim train --data @d --out @existing.safetensors --resume", 2, "that run has finished", 0},
    {"pim train --data @d --out @m.safetensors --checkpoint @existing.npy", 2, "pass --resume to continue it or --force", 0},
    {"pim train --data @d --out @m.safetensors --checkpoint @d/tx.npy --force", 2, "also an input", 0},
    {"pim train --data @d --out @m.safetensors --checkpoint @m.safetensors", 2, "also an input or --out", 0},
    {"pim train --data @d --out @m.safetensors --model gmp --resume", 2, "closed-form", 0},
    /* ---- pim train: --sources (junction's size) */
    {"pim train --data @d --out @m.safetensors --model light --sources 4", 2, "--sources sizes the junction model", 0},
    {"pim train --data @d --out @m.safetensors --model gmp --sources 4", 2, "--sources sizes the junction model", 0},
    {"pim train --data @d --out @m.safetensors --model junction --sources 0", 2, "--sources must be between", 0},
    {"pim train --data @d --out @m.safetensors --model junction --sources 65", 2, "--sources must be between", 0},
    /* ---- pim train: --base (a cascade: a neural model on a gmp/fir model) */
    {"pim train --data @d --out @m.safetensors --model gmp --base @gmp.safetensors", 2, "--base puts a neural model", 0},
    {"pim train --data @d --out @m.safetensors --base @light.safetensors", 2, "not a gmp/fir model file", 0},
    {"pim train --data @d --out @m.safetensors --base @plain.safetensors", 2, "--base", 0},
    {"pim train --data @d --out @m.safetensors --base @nothere.safetensors", 2, "nothere.safetensors", 0},
    {"pim train --tx @tx3.npy --rx @d/rx.npy --out @m.safetensors --base @gmp.safetensors", 2, "a 2 x 1 model for 3 x 1 data", 0},
    {"pim train --data @d --out @m.safetensors --base @gmp_lead.safetensors", 2, "exceeds the light model's look-ahead of 8", 0},
    {"pim train --data @d --out @gmp.safetensors --base @gmp.safetensors --force", 2, "also --out", 0},
    /* ---- pim eval: --report and --compare */
    {"pim eval --model @gmp.safetensors --data @d --compare @gmp.safetensors", 2, "add --report DIR", 0},
    {"pim eval --model @gmp.safetensors --data @d --report @rep --compare @nothere.safetensors", 2, "nothere.safetensors", 0},
    {"pim eval --model @gmp.safetensors --data @d --report @rep --compare ,", 2, "comma-separated", 0},
    {"pim eval --model @gmp.safetensors --data @d --report @file.txt", 2, "file.txt", 0},
    /* ---- pim train: --lead (gmp/fir taps ahead) */
    {"pim train --data @d --out @m.safetensors --model light --lead 2", 2, "--lead sets a gmp/fir basis", 0},
    {"pim train --data @d --out @m.safetensors --model gmp --lead -1", 2, "--lead must be between", 0},
    {"pim train --data @d --out @m.safetensors --model fir --lead 65", 2, "--lead must be between", 0},
    /* ---- pim train: --restarts */
    {"pim train --data @d --out @m.safetensors --model gmp --restarts 2", 2, "applies to neural models", 0},
    {"pim train --data @d --out @m.safetensors --probe 100", 2, "add --restarts N", 0},
    {"pim train --data @d --out @m.safetensors --restarts 65", 2, "--restarts must be between", 0},
    {"pim train --data @d --out @m.safetensors --restarts 2 --steps 500 --probe 500", 2, "--probe 500 must lie in", 0},
    {"pim train --data @d --out @m.safetensors --restarts 2 --probe 50", 2, "needs a validation", 0},
    {"pim train --data @d --out @m.safetensors --restarts 2 --window 1025 --split 0.5,0,0.5", 2, "no VAL part", 0},
    {"pim train --data @d --out @m.safetensors --restarts 2 --resume", 2, "no checkpoint", 0},
    {"pim train --data @d --out @m.safetensors --model fir --checkpoint @c.ckpt", 2, "closed-form", 0},
    {"pim train --data @d --out @m.safetensors --checkpoint-every -1", 2, "--checkpoint-every must be between", 0},
    {"pim train --data @d --out @m.safetensors --eval-every 0", 2, "--eval-every must be between", 0},
    {"pim train --data @d --out @m.safetensors --window 1025 --split 0.5,0.5,0 --resume --checkpoint @garbage.safetensors", 2,
     "garbage.safetensors", 0},
    {"pim train --data @d --out @m.safetensors --window 1025 --split 0.5,0.5,0 --resume --checkpoint @light.safetensors", 2,
     "not a mimonet training checkpoint", 0},
    {"pim train --data @d --out @m.safetensors --checkpoint @nofolder/c.ckpt", 2, "nofolder", 0},
    {"pim train --data @d --out @m.safetensors --checkpoint @ro/c.ckpt", 2, "not writable", SKIP_IF_ROOT_WRITE},
    /* ---- pim eval */
    {"pim eval --data @d", 2, "--model MODEL is required", 0},
    {"pim eval --model @gmp.safetensors", 2, "give --data DIR", 0},
    {"pim eval --model @gmp.safetensors --data @d --split 0.7,0.1", 2, "--split expects three fractions", 0},
    {"pim eval --model @gmp.safetensors --data @d --threads x", 2, "--threads expects an integer", 0},
    {"pim eval --model @missing.safetensors --data @d", 2, "missing.safetensors", 0},
    {"pim eval --model @d --data @d", 2, "not a regular file", 0},
    {"pim eval --model @garbage.safetensors --data @d", 2, "garbage.safetensors", 0},
    {"pim eval --model @trunc.safetensors --data @d", 2, "trunc.safetensors", 0},
    {"pim eval --model @plain.safetensors --data @d", 2, "plain.safetensors", 0},
    {"pim eval --model @gmp.safetensors --tx @tx3.npy" RX, 2, "the model maps 2 Tx -> 1 Rx", 0},
    {"pim eval --model @gmp.safetensors" TX " --rx @tx3.npy", 2, "the model maps 2 Tx -> 1 Rx", 0},
    {"pim eval --model @gmp.safetensors" TX " --rx @rx3000.npy", 2, "tx has 4000 samples but rx has 3000", 0},
    {"pim eval --model @gmp.safetensors --tx @short_tx.npy --rx @short_rx.npy", 2, "fewer than", 0},
    {"pim eval --model @light.safetensors --tx @short_tx.npy --rx @short_rx.npy", 2, "fewer than", 0},
    {"pim eval --model @gmp.safetensors --tx @nan.npy" RX, 2, "nan.npy", 0},
    {"pim eval --model @light.safetensors --data @d --adapt-lr 1e-3", 2, "add --adapt", 0},
    {"pim eval --model @light.safetensors --data @d --adapt --precision bf16", 2, "drop --precision bf16", 0},
    {"pim eval --model @gmp.safetensors --data @d --adapt", 2, "needs a neural model", 0},
    {"pim eval --model @light.safetensors --data @d --adapt --adapt-lr 0", 2, "--adapt-lr", 0},
    {"pim eval --model @light.safetensors --data @d --adapt --adapt-method rls", 2, "adam or ls", 0},
    {"pim eval --model @light.safetensors --data @d --adapt --adapt-method ls --adapt-steps 4", 2, "tunes --adapt-method adam", 0},
    {"pim eval --model @light.safetensors --data @d --adapt --adapt-method ls --adapt-window 512", 2, "tunes --adapt-method adam", 0},
    {"pim eval --model @light.safetensors --data @d --adapt --adapt-window 8", 2, "--adapt-window", 0},
    {"pim eval --model @light.safetensors --data @d --adapt --adapt-batch 9", 2, "--adapt-batch", 0},
    {"pim eval --model @light.safetensors --data @d --adapt --adapt-method ls --adapt-batch 1", 2, "tunes --adapt-method adam", 0},
    {"pim eval --model @light.safetensors --data @d --adapt --adapt-block 0", 2, "--adapt-block", 0},
    {"pim eval --model @light.safetensors --data @d --adapt --adapt-anchor -1", 2, "--adapt-anchor", 0},
    {"pim eval --model @light.safetensors --data @d --adapt --adapt-anchor 400", 2, "lr x anchor must be at most 1", 0},
    {"pim eval --model @light.safetensors --data @d --adapt --adapt-method ls --adapt-anchor 1", 2, "tunes --adapt-method adam", 0},
    {"pim eval --model @light.safetensors --data @d --adapt --adapt-window 1024 --adapt-history 512", 2, "shorter than the training window", 0},
    {"pim eval --model @light.safetensors --data @d --adapt --adapt-window 16", 2, "window 16", 0},
    /* ---- pim cancel */
    {"pim cancel --model @gmp.safetensors" TX RX, 2, "are all required", 0},
    {"pim cancel --model @gmp.safetensors" TX RX " --out @o.npy --bogus", 2, "unknown option '--bogus'", 0},
    {"pim cancel --model @gmp.safetensors" TX RX " --out @d/rx.npy", 2, "also an input", 0},
    {"pim cancel --model @gmp.safetensors" TX RX " --out @d/./rx.npy --force", 2, "also an input", 0},
    {"pim cancel --model @gmp.safetensors" TX RX " --out @gmp.safetensors --force", 2, "also an input", 0},
    {"pim cancel --model @gmp.safetensors" TX RX " --out @existing.npy", 2, "--force", 0},
    {"pim cancel --model @gmp.safetensors" TX RX " --out @file.txt/o.npy", 2, "file.txt", 0},
    {"pim cancel --model @gmp.safetensors" TX RX " --out @nofolder/o.npy", 2, "nofolder", 0},
    {"pim cancel --model @gmp.safetensors" TX RX " --out @ro/o.npy", 2, "not writable", SKIP_IF_ROOT_WRITE},
    {"pim cancel --model @gmp.safetensors" TX RX " --out @d", 2, "folder", 0},
    {"pim cancel --model @missing.safetensors" TX RX " --out @o.npy", 2, "missing.safetensors", 0},
    {"pim cancel --model @garbage.safetensors" TX RX " --out @o.npy", 2, "garbage.safetensors", 0},
    {"pim cancel --model @trunc.safetensors" TX RX " --out @o.npy", 2, "trunc.safetensors", 0},
    {"pim cancel --model @plain.safetensors" TX RX " --out @o.npy", 2, "plain.safetensors", 0},
    {"pim cancel --model @gmp.safetensors --tx @tx3.npy" RX " --out @o.npy", 2, "the model maps 2 Tx -> 1 Rx", 0},
    {"pim cancel --model @gmp.safetensors" TX " --rx @rx3000.npy --out @o.npy", 2, "tx has 4000 samples but rx has 3000", 0},
    {"pim cancel --model @gmp.safetensors --tx @missing.npy" RX " --out @o.npy", 2, "missing.npy", 0},
    {"pim cancel --model @gmp.safetensors --tx @int32.npy" RX " --out @o.npy", 2, "int32.npy", 0},
    {"pim cancel --model @gmp.safetensors" TX " --rx @ragged.csv --out @o.npy", 2, "ragged.csv", 0},
    /* ---- info */
    {"info", 2, "no FILE given", 0},
    {"info --bogus", 2, "unknown option '--bogus'", 0},
    {"info @missing.npy", 2, "missing.npy", 0},
    {"info @garbage.bin", 2, "garbage.bin", 0},
    {"info @garbage.safetensors", 2, "garbage.safetensors", 0},
    {"info @trunc.safetensors", 2, "trunc.safetensors", 0},
    {"info @trunc.npy", 2, "trunc.npy", 0},
    {"info @d", 2, "not a regular file", 0},
    /* ---- demo (bad options fail before any work) */
    {"demo --bogus", 2, "unknown option '--bogus'", 0},
    {"demo --threads -1", 2, "--threads must be between", 0},
    {"demo --seed abc", 2, "--seed expects an integer", 0},
    {"demo --out", 2, "--out needs", 0},
    {"demo --quick --out @file.txt", 2, "not a folder", 0},
    /* ---- csi (owned by another helper; options only) */
    {"csi frobnicate", 2, "unknown subcommand 'frobnicate'", 0},
    {"csi simulate", 2, "--out DIR is required", 0},
    {"csi simulate --out @c --drops 0", 2, "--drops must be between", 0},
    {"csi train --bits abc", 2, "--bits expects an integer", 0},
    {"csi eval", 2, "--model MODEL is required", 0},
    {"csi eval --model @garbage.safetensors", 2, "garbage.safetensors", 0},
};

/* ------------------------------------------------------------------ running the binary */

/* Run cli with argv; stderr to errpath, stdout discarded, cwd = cwd.  Returns the exit code,
 * or -signal when it was killed, or -1000 when it could not run. */
static int run_cli(const char *cli, char **argv, const char *errpath, const char *cwd)
{
    pid_t pid = fork();
    if (pid < 0) return -1000;
    if (pid == 0) {
        int e = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644), nul = open("/dev/null", O_RDWR);
        if (e < 0 || nul < 0 || dup2(e, 2) < 0 || dup2(nul, 1) < 0 || dup2(nul, 0) < 0 || chdir(cwd) != 0) _exit(127);
        alarm(60); /* survives exec: a hung command dies with SIGALRM and the row fails */
        execv(cli, argv);
        _exit(127);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1000;
    if (WIFSIGNALED(st)) return -WTERMSIG(st);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1000;
}

/* Split a row's arguments into argv (argv[0] = cli), expanding "@x" and "''". */
static int make_argv(char **argv, char store[][4400], int max, const char *cli, const char *args, const char *dir)
{
    int n = 0;
    argv[n++] = (char *)cli;
    const char *p = args;
    while (*p && n < max - 1) {
        while (*p == ' ') p++;
        if (!*p) break;
        size_t len = strcspn(p, " ");
        char *s = store[n];
        if (len == 2 && !strncmp(p, "''", 2)) s[0] = '\0';
        else if (*p == '@') snprintf(s, 4400, "%s/%.*s", dir, (int)len - 1, p + 1);
        else snprintf(s, 4400, "%.*s", (int)len, p);
        argv[n++] = s;
        p += len;
    }
    argv[n] = NULL;
    return n;
}

/* ------------------------------------------------------------------ fixture fingerprint */

static uint64_t fp_hash;

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

static int fp_visit(const char *path, const struct stat *sb, int type, struct FTW *f)
{
    (void)type;
    (void)f;
    uint64_t h = fnv(14695981039346656037ULL, path, strlen(path));
    int64_t meta[5] = {(int64_t)sb->st_ino, (int64_t)sb->st_size, (int64_t)sb->st_mtim.tv_sec,
                       (int64_t)sb->st_mtim.tv_nsec, (int64_t)sb->st_mode};
    h = fnv(h, meta, sizeof meta);
    if (S_ISREG(sb->st_mode)) {
        size_t n = 0;
        unsigned char *b = mn_test_read_bytes(path, &n);
        if (b) h = fnv(h, b, n);
        free(b);
    }
    fp_hash += h * 0x9E3779B97F4A7C15ULL + (h >> 29); /* order-independent sum */
    return 0;
}

static uint64_t fingerprint(const char *dir)
{
    fp_hash = 0;
    nftw(dir, fp_visit, 16, FTW_PHYS);
    return fp_hash;
}

/* ------------------------------------------------------------------ fixture files */

static int write_sig(const char *dir, const char *name, int nch, int64_t n)
{
    mn_signal s = {0};
    if (mn_signal_alloc(&s, nch, n) != MN_OK) return -1;
    for (int64_t i = 0; i < (int64_t)nch * n; i++) s.x[i] = (float)((i * 37) % 101 - 50) / 50.0f + I * (float)((i * 13) % 7) / 7.0f;
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    mn_status st = mn_npy_write_c64(path, &s, false);
    mn_signal_free(&s);
    return st == MN_OK ? 0 : -1;
}

static int write_text(const char *dir, const char *name, const char *text)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return mn_test_write_bytes(path, text, strlen(text));
}

/* A .npy v1.0 header for `descr` and `shape` padded to 64 bytes; returns its length. */
static size_t npy_header(unsigned char *h, const char *descr, const char *shape)
{
    char dict[200];
    int len = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape);
    size_t total = (10 + (size_t)len + 1 + 63) / 64 * 64;
    memcpy(h, "\x93NUMPY\x01\x00", 8);
    h[8] = (unsigned char)((total - 10) & 0xff);
    h[9] = (unsigned char)((total - 10) >> 8);
    memset(h + 10, ' ', total - 10);
    memcpy(h + 10, dict, (size_t)len);
    h[total - 1] = '\n';
    return total;
}

static int run_setup(const char *cli, const char *dir, const char *args)
{
    char *argv[64];
    static char store[64][4400];
    make_argv(argv, store, 64, cli, args, dir);
    char err[4400];
    snprintf(err, sizeof err, "%s/../cli_bad_setup.err", dir);
    return run_cli(cli, argv, err, dir);
}

/* Everything the rows refer to; 0 on success. */
static int make_fixtures(mn_test_ctx *t, const char *cli, const char *dir, int *can_read_000, int *can_write_555)
{
    char p[4400], q[4400];
    if (run_setup(cli, dir, "pim simulate --out @d --samples 4000 --tx 2 --rx 1 --seed 3 --quiet --no-plot")) return 1;
    if (run_setup(cli, dir, "pim train --data @d --out @gmp.safetensors --model gmp --quiet") ||
        run_setup(cli, dir, "pim train --data @d --out @gmp_lead.safetensors --model gmp --lead 12 --quiet"))
        return 2;
    if (run_setup(cli, dir, "pim train --data @d --out @light.safetensors --window 1025 --steps 1 --split 0.5,0.5,0 --quiet"))
        return 3;
    if (write_sig(dir, "tx3.npy", 3, 4000) || write_sig(dir, "rx3000.npy", 1, 3000) || write_sig(dir, "short_tx.npy", 2, 6) ||
        write_sig(dir, "short_rx.npy", 1, 6))
        return 4;
    /* truncated npy: a valid file less its last 10 bytes; truncated model: half of one */
    size_t n = 0;
    snprintf(p, sizeof p, "%s/d/rx.npy", dir);
    unsigned char *b = mn_test_read_bytes(p, &n);
    snprintf(q, sizeof q, "%s/trunc.npy", dir);
    if (!b || n < 200 || mn_test_write_bytes(q, b, n - 10)) return 5;
    /* NaN in the data: the reader must name the file (and the sample) */
    size_t hl = 10 + (size_t)(b[8] | b[9] << 8);
    float nanv = NAN;
    memcpy(b + hl + 8 * 37, &nanv, sizeof nanv);
    snprintf(q, sizeof q, "%s/nan.npy", dir);
    if (mn_test_write_bytes(q, b, n)) return 6;
    free(b);
    snprintf(p, sizeof p, "%s/gmp.safetensors", dir);
    b = mn_test_read_bytes(p, &n);
    snprintf(q, sizeof q, "%s/trunc.safetensors", dir);
    if (!b || n < 64 || mn_test_write_bytes(q, b, n / 2)) return 7;
    free(b);
    /* int32 npy of shape (4000, 2): the right shape for I/Q but not a float dtype */
    unsigned char buf[128 + 4000 * 2 * 4];
    size_t h = npy_header(buf, "<i4", "(4000, 2)");
    memset(buf + h, 1, 4000 * 2 * 4);
    snprintf(q, sizeof q, "%s/int32.npy", dir);
    if (h != 128 || mn_test_write_bytes(q, buf, h + 4000 * 2 * 4)) return 8;
    /* a valid safetensors file that is not a model: header length (LE u64), JSON, 8 bytes */
    const char *js = "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    size_t jl = strlen(js);
    memset(buf, 0, 8);
    buf[0] = (unsigned char)jl;
    memcpy(buf + 8, js, jl);
    memset(buf + 8 + jl, 0, 8);
    snprintf(q, sizeof q, "%s/plain.safetensors", dir);
    if (mn_test_write_bytes(q, buf, 16 + jl)) return 9;
    /* SigMF meta whose data file is gone */
    mn_signal s = {0};
    if (mn_signal_alloc(&s, 1, 4000) != MN_OK) return 10;
    snprintf(q, sizeof q, "%s/lonely", dir);
    mn_status st = mn_sigmf_write(q, &s, NULL, NULL);
    mn_signal_free(&s);
    snprintf(q, sizeof q, "%s/lonely.sigmf-data", dir);
    if (st != MN_OK || unlink(q)) return 11;
    if (write_text(dir, "ragged.csv", "I,Q\n1,2\n3\n4,5\n") || write_text(dir, "file.txt", "a plain file\n") ||
        write_text(dir, "existing.npy", "keep me\n") || write_text(dir, "existing.safetensors", "keep me too\n") ||
        write_text(dir, "garbage.safetensors", "this is not a safetensors file, just words\n") ||
        write_text(dir, "garbage.bin", "\x01\x02 not any known format \xff\xfe"))
        return 12;
    snprintf(q, sizeof q, "%s/dir.npy", dir);
    if (mkdir(q, 0755)) return 13;
    snprintf(q, sizeof q, "%s/cwd", dir);
    if (mkdir(q, 0755)) return 14;
    /* unreadable: root reads anyway, so detect that and skip the row */
    snprintf(p, sizeof p, "%s/d/tx.npy", dir);
    b = mn_test_read_bytes(p, &n);
    snprintf(q, sizeof q, "%s/unreadable.npy", dir);
    if (!b || mn_test_write_bytes(q, b, n) || chmod(q, 0)) return 15;
    free(b);
    FILE *f = fopen(q, "rb");
    *can_read_000 = f != NULL;
    if (f) fclose(f);
    /* a folder without write permission (root writes anyway: detect and skip) */
    snprintf(q, sizeof q, "%s/ro", dir);
    snprintf(p, sizeof p, "%s/ro/probe", dir);
    if (mkdir(q, 0755) || chmod(q, 0555)) return 16;
    f = fopen(p, "wb");
    *can_write_555 = f != NULL;
    if (f) {
        fclose(f);
        unlink(p);
    }
    (void)t;
    return 0;
}

/* ------------------------------------------------------------------ the test */

MN_TEST(cli_bad_usage_table)
{
    const char *env = getenv("MN_CLI");
    const char *rel = env && *env ? env : "build/mimonet";
    char cli[PATH_MAX];
    if (!realpath(rel, cli) || access(cli, X_OK) != 0) {
        MN_CHECK_MSG(t, 0, "no mimonet binary at '%s': build it (make) and set MN_CLI to its path", rel);
        return;
    }
    char dir[4200], err[4400], cwd[4400];
    snprintf(dir, sizeof dir, "%s/cli_bad", mn_test_tmpdir(t));
    snprintf(err, sizeof err, "%s/cli_bad.err", mn_test_tmpdir(t)); /* outside the fingerprinted folder */
    snprintf(cwd, sizeof cwd, "%s/cwd", dir);
    MN_CHECK(t, mkdir(dir, 0755) == 0);
    int can_read_000 = 0, can_write_555 = 0;
    int fx = make_fixtures(t, cli, dir, &can_read_000, &can_write_555);
    MN_CHECK_MSG(t, fx == 0, "fixture step %d failed (see %s/cli_bad_setup.err)", fx, mn_test_tmpdir(t));
    if (fx) return;
    /* the skip detection itself: as root both succeed, otherwise both must fail */
    MN_CHECK(t, can_read_000 == (geteuid() == 0));
    MN_CHECK(t, can_write_555 == (geteuid() == 0));

    static char store[64][4400];
    char *argv[64];
    const int ncase = (int)(sizeof cases / sizeof *cases);
    int tried = 0, skipped = 0;
    uint64_t before = fingerprint(dir);
    for (int i = 0; i < ncase; i++) {
        const bad_case *c = &cases[i];
        if ((c->skip == SKIP_IF_ROOT_READ && can_read_000) || (c->skip == SKIP_IF_ROOT_WRITE && can_write_555)) {
            skipped++; /* running as root: permissions do not stop it (the detection was checked above) */
            continue;
        }
        make_argv(argv, store, 64, cli, c->args, dir);
        int code = run_cli(cli, argv, err, cwd);
        tried++;
        size_t n = 0;
        unsigned char *e = mn_test_read_bytes(err, &n);
        const char *msg = e ? (const char *)e : "";
        size_t nl = 0;
        for (size_t k = 0; k < n; k++) nl += msg[k] == '\n';
        MN_CHECK_MSG(t, code == c->code, "row %d 'mimonet %s': exit %d, want %d (stderr: %s)", i, c->args, code, c->code, msg);
        MN_CHECK_MSG(t, n > 0 && msg[n - 1] == '\n' && nl == 1 && !strncmp(msg, "mimonet", 7),
                     "row %d 'mimonet %s': stderr is not one line starting 'mimonet': [%s]", i, c->args, msg);
        MN_CHECK_MSG(t, strstr(msg, c->want) != NULL, "row %d 'mimonet %s': message lacks '%s': %s", i, c->args, c->want, msg);
        uint64_t after = fingerprint(dir);
        MN_CHECK_MSG(t, after == before, "row %d 'mimonet %s': files in the fixture folder changed", i, c->args);
        before = after;
        if (t->verbose) printf("    [%3d] exit %d  %s", i, code, msg);
        free(e);
    }
    snprintf(err, sizeof err, "%s/ro", dir);
    chmod(err, 0755); /* so the runner can remove the folder */
    printf("    %d bad invocations tried (%d permission rows skipped as root)\n", tried, skipped);
    MN_CHECK(t, tried >= 50);
}
