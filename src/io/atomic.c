/*
 * io/atomic.c — atomic file replacement and whole-file reads.
 *
 * A writer never touches the destination until the new content is durable:
 *   1. mkstemp("<path>.tmp.XXXXXX") in the destination's own folder (rename(2) is atomic only
 *      within one file system);
 *   2. write through stdio;
 *   3. commit: fflush, fsync(file), fclose, rename(tmp, path), fsync(folder) so the rename
 *      itself survives a crash;
 *   abort (or any failure on the way): unlink the temporary.
 * A crash therefore leaves either the old file or the new one, plus at worst a stray
 * "<path>.tmp.XXXXXX".  The new file gets the old file's permission bits when it replaces
 * one, 0644 otherwise (mkstemp's 0600 would surprise users; reading the umask is not
 * thread-safe).
 */
#include "mimonet/io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void atomic_release(mn_atomic_file *af)
{
    mn_free(af->path);
    mn_free(af->tmp_path);
    af->path = af->tmp_path = NULL;
    af->f = NULL;
}

mn_status mn_atomic_open(mn_atomic_file *af, const char *path)
{
    af->f = NULL;
    af->path = af->tmp_path = NULL;
    if (!path || !*path) return af->status = mn_error(MN_ERR_INVALID, "atomic write: empty path");
    static const char suffix[] = ".tmp.XXXXXX";
    size_t n = strlen(path);
    af->path = mn_strdup(path);
    af->tmp_path = mn_malloc(n + sizeof suffix);
    if (!af->path || !af->tmp_path) {
        atomic_release(af);
        return af->status = mn_error(MN_ERR_NOMEM, "%s: atomic write: path buffers", path);
    }
    memcpy(af->tmp_path, path, n);
    memcpy(af->tmp_path + n, suffix, sizeof suffix);
    int fd = mkstemp(af->tmp_path);
    if (fd < 0) {
        int e = errno;
        atomic_release(af);
        return af->status = mn_error(MN_ERR_IO, "%s: cannot create a temporary file beside it: %s",
                                     path, strerror(e));
    }
    struct stat st;
    mode_t mode = stat(path, &st) == 0 ? (st.st_mode & 07777) : 0644;
    (void)fchmod(fd, mode); /* best effort: the content is what matters */
    af->f = fdopen(fd, "wb");
    if (!af->f) {
        int e = errno;
        close(fd);
        unlink(af->tmp_path);
        atomic_release(af);
        return af->status = mn_error(MN_ERR_IO, "%s: fdopen: %s", path, strerror(e));
    }
    return af->status = MN_OK;
}

mn_status mn_atomic_write(mn_atomic_file *af, const void *data, size_t bytes)
{
    if (af->status != MN_OK) return af->status; /* the first failure sticks */
    if (!af->f) return af->status = mn_error(MN_ERR_INVALID, "atomic write: file is not open");
    if (bytes == 0) return MN_OK;
    if (fwrite(data, 1, bytes, af->f) != bytes)
        return af->status = mn_error(MN_ERR_IO, "%s: write failed: %s", af->path, strerror(errno));
    return MN_OK;
}

/* fsync the folder holding af->path, so the rename is durable.  Edits af->path in place and
 * restores it (no allocation here, so commit cannot fail for lack of memory). */
static mn_status fsync_folder(mn_atomic_file *af)
{
    char *slash = strrchr(af->path, '/');
    const char *dir = ".";
    char saved = 0;
    if (slash) {
        char *cut = slash == af->path ? slash + 1 : slash; /* "/x" -> "/" */
        saved = *cut;
        *cut = '\0';
        dir = af->path;
        slash = cut;
    }
    mn_status st = MN_OK;
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
        st = mn_error(MN_ERR_IO, "%s: cannot open folder '%s' to sync it: %s", af->tmp_path, dir,
                      strerror(errno));
    } else {
        /* Some file systems cannot fsync a folder (EINVAL); nothing more can be done there. */
        if (fsync(fd) != 0 && errno != EINVAL)
            st = mn_error(MN_ERR_IO, "folder '%s': fsync: %s", dir, strerror(errno));
        close(fd);
    }
    if (slash) *slash = saved;
    return st;
}

mn_status mn_atomic_commit(mn_atomic_file *af)
{
    if (!af->f) {
        mn_status st = af->status != MN_OK
                           ? af->status
                           : mn_error(MN_ERR_INVALID, "atomic commit: file is not open");
        atomic_release(af);
        return af->status = st;
    }
    if (af->status != MN_OK) { /* a write failed: its message is already recorded */
        mn_status st = af->status;
        mn_atomic_abort(af);
        return af->status = st;
    }
    mn_status st = MN_OK;
    if (fflush(af->f) != 0)
        st = mn_error(MN_ERR_IO, "%s: flush: %s", af->path, strerror(errno));
    else if (fsync(fileno(af->f)) != 0)
        st = mn_error(MN_ERR_IO, "%s: fsync: %s", af->path, strerror(errno));
    if (st != MN_OK) {
        mn_atomic_abort(af);
        return af->status = st;
    }
    int rc = fclose(af->f);
    af->f = NULL;
    if (rc != 0) {
        st = mn_error(MN_ERR_IO, "%s: close: %s", af->path, strerror(errno));
    } else if (rename(af->tmp_path, af->path) != 0) {
        st = mn_error(MN_ERR_IO, "%s: rename from %s: %s", af->path, af->tmp_path, strerror(errno));
    } else {
        /* The new file is in place; a failure here only means the rename may not survive a
         * power cut, which is still reported. */
        st = fsync_folder(af);
        atomic_release(af);
        return af->status = st;
    }
    unlink(af->tmp_path);
    atomic_release(af);
    return af->status = st;
}

void mn_atomic_abort(mn_atomic_file *af)
{
    if (af->f) fclose(af->f);
    if (af->tmp_path) unlink(af->tmp_path);
    atomic_release(af);
}

mn_status mn_file_write_atomic(const char *path, const void *data, size_t bytes)
{
    mn_atomic_file af;
    mn_status st = mn_atomic_open(&af, path);
    if (st != MN_OK) return st;
    st = mn_atomic_write(&af, data, bytes);
    if (st != MN_OK) {
        mn_atomic_abort(&af);
        return st;
    }
    return mn_atomic_commit(&af);
}

mn_status mn_file_read_all(const char *path, size_t max_bytes, char **data, size_t *bytes)
{
    *data = NULL;
    if (bytes) *bytes = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return mn_error(MN_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        int e = errno;
        fclose(f);
        return mn_error(MN_ERR_IO, "%s: stat: %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        fclose(f);
        return mn_error(MN_ERR_IO, "%s: is a folder, not a file", path);
    }
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > (uint64_t)max_bytes) {
        fclose(f);
        return mn_error(MN_ERR_FORMAT, "%s: %lld bytes exceeds the limit of %zu bytes", path,
                        (long long)st.st_size, max_bytes);
    }
    /* Start from the size stat reports (regular files) and grow if the file is longer than
     * that (it may be growing, or a pipe); never past max_bytes + 1, which proves "too big". */
    size_t hard = max_bytes < SIZE_MAX - 1 ? max_bytes + 1 : SIZE_MAX - 1;
    size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 4096;
    if (cap > hard) cap = hard;
    size_t len = 0;
    char *buf = mn_malloc(cap + 1);
    if (!buf) {
        fclose(f);
        return mn_error(MN_ERR_NOMEM, "%s: %zu-byte read buffer", path, cap + 1);
    }
    for (;;) {
        len += fread(buf + len, 1, cap - len, f);
        if (ferror(f)) {
            int e = errno;
            mn_free(buf);
            fclose(f);
            return mn_error(MN_ERR_IO, "%s: read: %s", path, strerror(e));
        }
        if (len > max_bytes) {
            mn_free(buf);
            fclose(f);
            return mn_error(MN_ERR_FORMAT, "%s: longer than the limit of %zu bytes", path,
                            max_bytes);
        }
        if (len < cap) break; /* end of file */
        size_t ncap = cap < hard / 2 ? 2 * cap : hard;
        char *nb = mn_realloc(buf, ncap + 1);
        if (!nb) {
            mn_free(buf);
            fclose(f);
            return mn_error(MN_ERR_NOMEM, "%s: %zu-byte read buffer", path, ncap + 1);
        }
        buf = nb;
        cap = ncap;
    }
    fclose(f);
    buf[len] = '\0';
    *data = buf;
    if (bytes) *bytes = len;
    return MN_OK;
}
