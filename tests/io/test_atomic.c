/* tests/io/test_atomic.c — atomic replacement (commit, abort, failure paths, permissions) and
 * bounded whole-file reads, including an allocation-failure sweep. */
#include "mn_test.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mimonet/core.h"
#include "mimonet/io.h"

static void join(char *buf, size_t n, const char *dir, const char *name)
{
    snprintf(buf, n, "%s/%s", dir, name);
}

/* Whole file through plain stdio (independent of the code under test); -1 if unreadable. */
static long slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return (long)n;
}

MN_TEST(io_atomic_write_and_replace)
{
    const char *dir = mn_test_tmpdir(t);
    char path[4200], buf[256];
    join(path, sizeof path, dir, "a.txt");
    long live0 = mn_alloc_live();
    MN_CHECK_OK(t, mn_file_write_atomic(path, "first version", 13));
    MN_CHECK(t, slurp(path, buf, sizeof buf) == 13 && memcmp(buf, "first version", 13) == 0);
    struct stat sb;
    MN_CHECK(t, stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0644);
    /* Replacing keeps the old file's permission bits. */
    MN_CHECK(t, chmod(path, 0600) == 0);
    MN_CHECK_OK(t, mn_file_write_atomic(path, "second", 6));
    MN_CHECK(t, slurp(path, buf, sizeof buf) == 6 && memcmp(buf, "second", 6) == 0);
    MN_CHECK(t, stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
    /* Empty content is a valid file. */
    MN_CHECK_OK(t, mn_file_write_atomic(path, "", 0));
    MN_CHECK(t, slurp(path, buf, sizeof buf) == 0);
    MN_CHECK(t, mn_test_count_files(dir, ".tmp.") == 0);
    MN_CHECK(t, mn_alloc_live() == live0);
}

MN_TEST(io_atomic_abort_keeps_old_file)
{
    const char *dir = mn_test_tmpdir(t);
    char path[4200], buf[256];
    join(path, sizeof path, dir, "keep.bin");
    long live0 = mn_alloc_live();
    MN_CHECK_OK(t, mn_file_write_atomic(path, "precious", 8));

    mn_atomic_file af;
    MN_CHECK_OK(t, mn_atomic_open(&af, path));
    MN_CHECK(t, af.tmp_path != NULL && strncmp(af.tmp_path, path, strlen(path)) == 0);
    MN_CHECK_OK(t, mn_atomic_write(&af, "half a new fi", 13));
    MN_CHECK(t, mn_test_count_files(dir, ".tmp.") == 1); /* the temporary exists beside it while writing */
    mn_atomic_abort(&af);
    MN_CHECK(t, slurp(path, buf, sizeof buf) == 8 && memcmp(buf, "precious", 8) == 0);
    MN_CHECK(t, mn_test_count_files(dir, ".tmp.") == 0);
    mn_atomic_abort(&af); /* a second abort is harmless */

    /* A write failure sticks: commit then reports it, removes the temporary, keeps the old. */
    MN_CHECK_OK(t, mn_atomic_open(&af, path));
    MN_CHECK_OK(t, mn_atomic_write(&af, "doomed", 6));
    af.status = mn_error(MN_ERR_IO, "%s: simulated write failure", path);
    MN_CHECK(t, mn_atomic_write(&af, "more", 4) == MN_ERR_IO);
    MN_CHECK(t, mn_atomic_commit(&af) == MN_ERR_IO);
    MN_CHECK(t, slurp(path, buf, sizeof buf) == 8 && memcmp(buf, "precious", 8) == 0);
    MN_CHECK(t, mn_test_count_files(dir, ".tmp.") == 0);

    /* Commit through the struct API. */
    MN_CHECK_OK(t, mn_atomic_open(&af, path));
    MN_CHECK_OK(t, mn_atomic_write(&af, "new ", 4));
    MN_CHECK_OK(t, mn_atomic_write(&af, "content", 7));
    MN_CHECK(t, slurp(path, buf, sizeof buf) == 8); /* untouched until commit */
    MN_CHECK_OK(t, mn_atomic_commit(&af));
    MN_CHECK(t, slurp(path, buf, sizeof buf) == 11 && memcmp(buf, "new content", 11) == 0);
    MN_CHECK(t, af.f == NULL && af.tmp_path == NULL);
    MN_CHECK(t, mn_test_count_files(dir, ".tmp.") == 0);
    MN_CHECK(t, mn_alloc_live() == live0);
}

MN_TEST(io_atomic_bad_folder)
{
    const char *dir = mn_test_tmpdir(t);
    char path[4200];
    join(path, sizeof path, dir, "no/such/folder/x.bin");
    long live0 = mn_alloc_live();
    mn_status st = mn_file_write_atomic(path, "x", 1);
    MN_CHECK(t, st == MN_ERR_IO);
    MN_CHECK_MSG(t, strstr(mn_error_msg(), path) != NULL, "message '%s' lacks the path",
                 mn_error_msg());
    MN_CHECK(t, mn_file_write_atomic("", "x", 1) == MN_ERR_INVALID);
    MN_CHECK(t, mn_alloc_live() == live0);
}

MN_TEST(io_read_all_limits)
{
    const char *dir = mn_test_tmpdir(t);
    char path[4200], content[100];
    join(path, sizeof path, dir, "hundred.bin");
    for (int i = 0; i < 100; i++) content[i] = (char)('a' + i % 26);
    MN_CHECK_OK(t, mn_file_write_atomic(path, content, 100));
    long live0 = mn_alloc_live();
    char *data = NULL;
    size_t n = 0;
    MN_CHECK_OK(t, mn_file_read_all(path, 100, &data, &n));
    MN_CHECK(t, data && n == 100 && memcmp(data, content, 100) == 0 && data[100] == '\0');
    mn_free(data);
    MN_CHECK(t, mn_file_read_all(path, 99, &data, &n) == MN_ERR_FORMAT && data == NULL);
    MN_CHECK(t, strstr(mn_error_msg(), path) != NULL);

    char missing[4200];
    join(missing, sizeof missing, dir, "missing.bin");
    MN_CHECK(t, mn_file_read_all(missing, 100, &data, &n) == MN_ERR_IO && data == NULL);
    MN_CHECK(t, strstr(mn_error_msg(), missing) != NULL);
    MN_CHECK(t, mn_file_read_all(dir, 100, &data, &n) == MN_ERR_IO);

    /* A file whose stat size is 0 but which has content (Linux procfs): the growth path. */
    if (mn_file_read_all("/proc/self/status", 1 << 20, &data, &n) == MN_OK) {
        MN_CHECK(t, n > 0 && strncmp(data, "Name:", 5) == 0 && strlen(data) == n);
        mn_free(data);
        MN_CHECK(t, mn_file_read_all("/proc/self/status", 16, &data, &n) == MN_ERR_FORMAT);
    }
    MN_CHECK(t, mn_alloc_live() == live0);
}

MN_TEST(io_atomic_alloc_failure_sweep)
{
    const char *dir = mn_test_tmpdir(t);
    char path[4200], buf[64];
    join(path, sizeof path, dir, "sweep.bin");
    MN_CHECK_OK(t, mn_file_write_atomic(path, "old", 3));
    long live0 = mn_alloc_live();
    int failures = 0;
    mn_status st = MN_ERR_NOMEM;
    for (long k = 1; k < 100; k++) {
        mn_alloc_fail_at(k);
        st = mn_file_write_atomic(path, "new!", 4);
        mn_alloc_fail_at(0);
        if (st == MN_OK) break;
        failures++;
        MN_CHECK(t, st == MN_ERR_NOMEM);
        MN_CHECK(t, mn_alloc_live() == live0);
        MN_CHECK(t, slurp(path, buf, sizeof buf) == 3 && memcmp(buf, "old", 3) == 0);
        MN_CHECK(t, mn_test_count_files(dir, ".tmp.") == 0);
    }
    MN_CHECK(t, st == MN_OK && failures >= 1);
    MN_CHECK(t, slurp(path, buf, sizeof buf) == 4 && memcmp(buf, "new!", 4) == 0);

    failures = 0;
    for (long k = 1; k < 100; k++) {
        char *data = NULL;
        size_t n = 0;
        mn_alloc_fail_at(k);
        st = mn_file_read_all(path, 1000, &data, &n);
        mn_alloc_fail_at(0);
        if (st == MN_OK) {
            MN_CHECK(t, n == 4 && memcmp(data, "new!", 4) == 0);
            mn_free(data);
            break;
        }
        failures++;
        MN_CHECK(t, st == MN_ERR_NOMEM && data == NULL);
        MN_CHECK(t, mn_alloc_live() == live0);
    }
    MN_CHECK(t, st == MN_OK && failures >= 1);
    MN_CHECK(t, mn_alloc_live() == live0);
}
