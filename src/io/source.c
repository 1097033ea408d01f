/*
 * src/io/source.c — mn_source_read: turn a data-source name from the command line into a
 * signal, dispatching on the extension (case-insensitive):
 *   x.npy                       npy.c
 *   x.mat, x.mat:VAR            mat.c (VAR omitted: the file's only variable)
 *   x.csv                       csv.c
 *   x.sigmf-meta, x.sigmf-data  sigmf.c (either member of the pair)
 * "file.mat:VAR" is split at the last ':' when the text before it ends in ".mat", so paths
 * containing ':' elsewhere still work.  On failure *s is left empty and nothing stays
 * allocated.
 */
#include "source_internal.h"

#include <string.h>

mn_status mn_source_read(mn_signal *s, const char *src)
{
    if (!s) return mn_error(MN_ERR_INVALID, "mn_source_read: signal is NULL");
    memset(s, 0, sizeof *s);
    if (!src || !*src)
        return mn_error(MN_ERR_INVALID, "empty data source name; expected x.npy, x.mat:VAR, x.csv or x.sigmf-meta");
    if (strlen(src) >= MN_IO_PATH_MAX)
        return mn_error(MN_ERR_INVALID, "data source name longer than %d bytes", MN_IO_PATH_MAX - 1);

    const char *colon = strrchr(src, ':');
    if (colon && !mn_io_ends_with(src, ".mat")) {
        char path[MN_IO_PATH_MAX];
        size_t plen = (size_t)(colon - src);
        memcpy(path, src, plen);
        path[plen] = '\0';
        if (mn_io_ends_with(path, ".mat")) return mn_io_mat_read(s, path, colon[1] ? colon + 1 : NULL);
    }
    if (mn_io_ends_with(src, ".mat")) return mn_io_mat_read(s, src, NULL);
    if (mn_io_ends_with(src, ".npy")) return mn_io_npy_read(s, src);
    if (mn_io_ends_with(src, ".csv")) return mn_io_csv_read(s, src);
    if (mn_io_ends_with(src, ".sigmf-meta") || mn_io_ends_with(src, ".sigmf-data") || mn_io_ends_with(src, ".sigmf"))
        return mn_io_sigmf_read(s, src);
    return mn_error(MN_ERR_INVALID, "%s: unknown kind of data source; expected x.npy, x.mat:VAR, x.csv, "
                    "x.sigmf-meta or x.sigmf-data", src);
}
