/* tests/runner.c — runs the registered tests (see mn_test.h). */
#include "mn_test.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <ftw.h>
#include <unistd.h>

#include "mimonet/core.h"

typedef void (*mn_test_fn)(mn_test_ctx *);
typedef struct { const char *name; mn_test_fn fn; } mn_test_entry;
extern const mn_test_entry mn_test_registry[];
extern const int mn_test_registry_count;

void mn_test_fail(mn_test_ctx *t, const char *file, int line, const char *fmt, ...)
{
    t->failures++;
    if (t->failures > 20) return; /* keep the log readable */
    va_list ap;
    va_start(ap, fmt);
    fprintf(stdout, "    %s:%d: ", file, line);
    vfprintf(stdout, fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
}

static char data_dir[4096] = "tests/data";

const char *mn_test_data_path(const char *rel)
{
    static _Thread_local char buf[4096 + 256];
    snprintf(buf, sizeof buf, "%s/%s", data_dir, rel);
    return buf;
}

static char tmp_dir[4096];

const char *mn_test_tmpdir(mn_test_ctx *t)
{
    (void)t;
    if (!tmp_dir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmp_dir, sizeof tmp_dir, "%s/mn_test_XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(tmp_dir)) {
            perror("mkdtemp");
            exit(2);
        }
    }
    return tmp_dir;
}

const char *mn_test_path(mn_test_ctx *t, const char *name)
{
    static char buf[4096 + 256];
    snprintf(buf, sizeof buf, "%s/%s", mn_test_tmpdir(t), name);
    return buf;
}

int mn_test_write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(data, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

unsigned char *mn_test_read_bytes(const char *path, size_t *n)
{
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (b) {
        *n = fread(b, 1, (size_t)len, f);
        b[*n] = 0;
    }
    fclose(f);
    return b;
}

int mn_test_count_files(const char *dir, const char *part)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, part)) n++;
    closedir(d);
    return n;
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(p);
}

static void tmpdir_cleanup(void)
{
    if (tmp_dir[0]) nftw(tmp_dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    tmp_dir[0] = '\0';
}

int main(int argc, char **argv)
{
    mn_threads_prefer_passive_wait(argv); /* as the CLI: spinning threads slow small machines */
    const char *filter = NULL;
    uint64_t seed = 1;
    int list = 0, verbose = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--filter") && i + 1 < argc) filter = argv[++i];
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) seed = strtoull(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--list")) list = 1;
        else if (!strcmp(argv[i], "--verbose") || !strcmp(argv[i], "-v")) verbose = 1;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: %s [--filter SUBSTR] [--seed N] [--list] [--verbose]\n", argv[0]);
            return 0;
        } else {
            fprintf(stderr, "unknown argument '%s' (try --help)\n", argv[i]);
            return 2;
        }
    }
    const char *env = getenv("MN_TEST_DATA");
    if (env && *env) snprintf(data_dir, sizeof data_dir, "%s", env);

    int passed = 0, failed = 0;
    double t0 = mn_time_sec();
    for (int i = 0; i < mn_test_registry_count; i++) {
        const mn_test_entry *e = &mn_test_registry[i];
        if (!e->fn) continue; /* compiled out (optional dependency missing) */
        if (filter && !strstr(e->name, filter)) continue;
        if (list) {
            puts(e->name);
            continue;
        }
        mn_test_ctx t = {.name = e->name, .seed = seed, .verbose = verbose};
        mn_error_clear();
        mn_alloc_fail_at(0);
        double ts = mn_time_sec();
        e->fn(&t);
        mn_alloc_fail_at(0);
        tmpdir_cleanup();
        double dt = mn_time_sec() - ts;
        if (t.failures == 0 && t.checks == 0) {
            printf("FAIL %-48s (no checks ran: a test must be able to fail)\n", e->name);
            failed++;
        } else if (t.failures == 0) {
            printf("ok   %-48s %5d checks %8.2fs\n", e->name, t.checks, dt);
            passed++;
        } else {
            printf("FAIL %-48s %d of %d checks failed\n", e->name, t.failures, t.checks);
            failed++;
        }
        fflush(stdout);
    }
    if (list) return 0;
    printf("# seed %llu, %.1f s\n", (unsigned long long)seed, mn_time_sec() - t0);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
