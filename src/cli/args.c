/* cli/args.c — option parsing and error reporting shared by every command (see args.h). */
#include "args.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mimonet/core.h"

int mn_cli_fail(int code, const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "mimonet %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

int mn_cli_exit_code(int status)
{
    switch ((mn_status)status) {
    case MN_OK: return MN_EXIT_OK;
    case MN_ERR_INVALID:
    case MN_ERR_FORMAT:
    case MN_ERR_SHAPE:
    case MN_ERR_NUMERIC:
    case MN_ERR_UNSUPPORTED: return MN_EXIT_USAGE;
    default: return MN_EXIT_RUNTIME;
    }
}

int mn_cli_input_exit_code(int status)
{
    return status == MN_ERR_IO ? MN_EXIT_USAGE : mn_cli_exit_code(status);
}

bool mn_cli_out_dir_ok(const char *cmd, const char *out)
{
    char dir[4096];
    if (snprintf(dir, sizeof dir, "%s", out) >= (int)sizeof dir) {
        mn_cli_fail(MN_EXIT_USAGE, cmd, "--out path is too long: %s", out);
        return false;
    }
    char *slash = strrchr(dir, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == dir) dir[1] = '\0';
    else *slash = '\0';
    struct stat sb;
    if (stat(dir, &sb) != 0) {
        mn_cli_fail(MN_EXIT_USAGE, cmd, "cannot write '%s': folder '%s' %s; create it or choose another --out", out, dir,
                    errno == ENOTDIR ? "is under a file, not a folder" : "does not exist");
        return false;
    }
    if (!S_ISDIR(sb.st_mode)) {
        mn_cli_fail(MN_EXIT_USAGE, cmd, "cannot write '%s': '%s' is a file, not a folder; choose another --out", out, dir);
        return false;
    }
    if (access(dir, W_OK) != 0) {
        mn_cli_fail(MN_EXIT_USAGE, cmd, "cannot write '%s': folder '%s' is not writable (%s); choose another --out", out, dir,
                    strerror(errno));
        return false;
    }
    if (stat(out, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        mn_cli_fail(MN_EXIT_USAGE, cmd, "--out '%s' is a folder; give a file name inside it", out);
        return false;
    }
    return true;
}

bool mn_cli_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

bool mn_cli_mkdirs(const char *cmd, const char *dir)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) {
        mn_cli_fail(MN_EXIT_USAGE, cmd, "folder name too long: %s", dir);
        return false;
    }
    for (char *p = buf + 1;; p++) {
        char c = *p;
        if (c == '/' || c == '\0') {
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
                mn_cli_fail(MN_EXIT_USAGE, cmd, "cannot create folder '%s': %s", buf, strerror(errno));
                return false;
            }
            *p = c;
            if (c == '\0') break;
        }
    }
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        mn_cli_fail(MN_EXIT_USAGE, cmd, "'%s' exists and is not a folder", dir);
        return false;
    }
    return true;
}

static const char *type_hint(mn_opt_type t)
{
    switch (t) {
    case MN_OPT_INT:
    case MN_OPT_I64:
    case MN_OPT_U64: return "an integer";
    case MN_OPT_DOUBLE: return "a number";
    default: return "a value";
    }
}

bool mn_args_parse(const char *cmd, int argc, char **argv, int first, mn_opt *opts, bool *help)
{
    if (help) *help = false;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            if (help) *help = true;
            return false;
        }
        mn_opt *o = NULL;
        for (mn_opt *p = opts; p->name; p++)
            if (!strcmp(p->name, a)) o = p;
        if (!o) {
            mn_cli_fail(MN_EXIT_USAGE, cmd, "unknown option '%s' (see 'mimonet %s --help')", a, cmd);
            return false;
        }
        o->seen = true;
        if (o->type == MN_OPT_FLAG) {
            *(bool *)o->dest = true;
            continue;
        }
        if (i + 1 >= argc) {
            mn_cli_fail(MN_EXIT_USAGE, cmd, "%s needs %s", a, type_hint(o->type));
            return false;
        }
        const char *v = argv[++i];
        if (o->type == MN_OPT_STR) {
            if (!*v) {
                mn_cli_fail(MN_EXIT_USAGE, cmd, "%s needs a non-empty value", a);
                return false;
            }
            /* "--out --force": the value is missing, not a file named "--force" */
            if (!strncmp(v, "--", 2)) {
                mn_cli_fail(MN_EXIT_USAGE, cmd, "%s needs a value, got the option '%s' (write ./%s for a file of that name)", a, v, v);
                return false;
            }
            *(const char **)o->dest = v;
            continue;
        }
        char *end = NULL;
        errno = 0;
        double d;
        if (o->type == MN_OPT_DOUBLE) d = strtod(v, &end);
        else if (o->type == MN_OPT_U64) {
            if (strchr(v, '-')) end = (char *)v; /* refuse negatives for unsigned (strtoull skips
                                                    leading blanks, then negates " -1") */
            else d = (double)strtoull(v, &end, 0);
        } else
            d = (double)strtoll(v, &end, 10);
        if (end == v || !end || *end || errno == ERANGE || !isfinite(d)) {
            mn_cli_fail(MN_EXIT_USAGE, cmd, "%s expects %s, got '%s'", a, type_hint(o->type), v);
            return false;
        }
        if (o->type == MN_OPT_INT && (d < INT_MIN || d > INT_MAX)) { /* never wrap into an int */
            mn_cli_fail(MN_EXIT_USAGE, cmd, "%s expects an integer between %d and %d, got '%s'", a, INT_MIN, INT_MAX, v);
            return false;
        }
        if (o->min <= o->max && (d < o->min || d > o->max)) {
            mn_cli_fail(MN_EXIT_USAGE, cmd, "%s must be between %g and %g, got %s", a, o->min, o->max, v);
            return false;
        }
        switch (o->type) {
        case MN_OPT_INT: *(int *)o->dest = (int)strtoll(v, NULL, 10); break;
        case MN_OPT_I64: *(int64_t *)o->dest = (int64_t)strtoll(v, NULL, 10); break;
        case MN_OPT_U64: *(uint64_t *)o->dest = (uint64_t)strtoull(v, NULL, 0); break;
        case MN_OPT_DOUBLE: *(double *)o->dest = d; break;
        default: break;
        }
    }
    return true;
}

void mn_args_usage(const char *cmd, const char *synopsis, const mn_opt *opts)
{
    printf("usage: mimonet %s %s\n\noptions:\n", cmd, synopsis);
    for (const mn_opt *o = opts; o->name; o++) printf("  %-16s %s\n", o->name, o->help ? o->help : "");
    printf("  %-16s %s\n", "--help", "show this help");
}
