/* tests/core/test_cxx.c — the public headers from C++.  Runs tests/cxx/api.cpp's program
 * (MN_CXX, which `make test` builds and sets; else build/cxx_api): it includes every public
 * header and calls the library with std::complex buffers, checking each answer against one it
 * computes itself.  Its output goes to the test's folder. */
#include "mn_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

MN_TEST(cxx_api_program)
{
    const char *env = getenv("MN_CXX");
    const char *bin = env && *env ? env : "build/cxx_api";
    if (access(bin, X_OK) != 0) {
        MN_CHECK_MSG(t, 0, "no C++ program at '%s': build it (make build/cxx_api) and set MN_CXX to its path", bin);
        return;
    }
    const char *log = mn_test_path(t, "cxx_api.log");
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' > '%s' 2>&1", bin, log);
    int st = system(cmd);
    MN_CHECK_MSG(t, WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s failed (status %d): see %s", bin, st, log);
    /* it ran its checks, and says so in its last line */
    size_t n = 0;
    unsigned char *out = mn_test_read_bytes(log, &n);
    MN_CHECK(t, out != NULL);
    if (!out) return;
    int passed = -1, failed = -1;
    const char *last = strstr((const char *)out, " passed, ");
    if (last) {
        while (last > (const char *)out && last[-1] != '\n') last--;
        sscanf(last, "%d passed, %d failed", &passed, &failed);
    }
    MN_CHECK_MSG(t, passed >= 8 && failed == 0, "%d passed, %d failed (see %s)", passed, failed, log);
    free(out);
}
