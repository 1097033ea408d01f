/*
 * fuzz/fuzz_common.h — shared plumbing for mimonet's libFuzzer targets (fuzz/fuzz_*.c).
 *
 * Each target writes its input to a file in one per-process temporary folder (the readers take
 * paths), calls the reader, frees everything, and checks that mn_alloc_live() is back to where
 * it started: a leak through mn_malloc aborts, so libFuzzer records it as a crash.  Allocations
 * made outside mn_malloc (cJSON, matio) are covered by LeakSanitizer instead.
 */
#ifndef MN_FUZZ_COMMON_H
#define MN_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mimonet/core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char fz_dir[64];

/* The per-process temporary folder (created on first use, removed at exit). */
__attribute__((unused)) static void fz_cleanup(void)
{
    if (!fz_dir[0]) return;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fz_dir);
    if (system(cmd) != 0) { /* nothing more to do */ }
}

__attribute__((unused)) static const char *fz_tmpdir(void)
{
    if (!fz_dir[0]) {
        /* TMPDIR (e.g. /dev/shm) when set: the readers take paths, so every input is a file */
        const char *base = getenv("TMPDIR");
        if (!base || !*base || strlen(base) > 40) base = "/tmp";
        snprintf(fz_dir, sizeof fz_dir, "%s/mnfuzz-XXXXXX", base);
        if (!mkdtemp(fz_dir)) {
            perror("mkdtemp");
            abort();
        }
        atexit(fz_cleanup);
    }
    return fz_dir;
}

/* "<tmpdir>/<name>" into buf. */
__attribute__((unused)) static const char *fz_path(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", fz_tmpdir(), name);
    return buf;
}

/* Write bytes to path (replacing it); aborts if the harness itself cannot write. */
__attribute__((unused)) static void fz_write(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

/* Abort when mimonet allocations are still live after a call that should have freed them. */
__attribute__((unused)) static void fz_check_live(long start, const char *what)
{
    long now = mn_alloc_live();
    if (now != start) {
        fprintf(stderr, "fuzz: %s leaked %ld mn_malloc allocation(s)\n", what, now - start);
        abort();
    }
}

#endif
