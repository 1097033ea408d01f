/* core/status.c — status strings, the per-thread error message, and the log hook. */
#include "mimonet/core.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const status_names[MN_STATUS_COUNT] = {
    [MN_OK] = "ok",
    [MN_ERR_NOMEM] = "out of memory",
    [MN_ERR_INVALID] = "invalid argument",
    [MN_ERR_IO] = "I/O error",
    [MN_ERR_FORMAT] = "malformed file",
    [MN_ERR_SHAPE] = "shape mismatch",
    [MN_ERR_NUMERIC] = "numerical error",
    [MN_ERR_UNSUPPORTED] = "unsupported in this build",
    [MN_ERR_INTERRUPTED] = "interrupted",
};

const char *mn_status_str(mn_status s)
{
    if ((int)s < 0 || s >= MN_STATUS_COUNT) return "unknown status";
    return status_names[s];
}

static _Thread_local char err_buf[1024];

mn_status mn_error(mn_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_buf, sizeof err_buf, fmt, ap);
    va_end(ap);
    mn_log(MN_LOG_DEBUG, "%s: %s", mn_status_str(s), err_buf);
    return s;
}

const char *mn_error_msg(void) { return err_buf; }
void mn_error_clear(void) { err_buf[0] = '\0'; }

static mn_log_fn log_fn;
static void *log_user;

void mn_log_set(mn_log_fn fn, void *user)
{
    log_fn = fn;
    log_user = user;
}

void mn_log(mn_log_level level, const char *fmt, ...)
{
    if (!log_fn) return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    log_fn(level, buf, log_user);
}
