/* cli/args.c — option parsing and error reporting shared by every command (see args.h). */
#include "args.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
            *(const char **)o->dest = v;
            continue;
        }
        char *end = NULL;
        errno = 0;
        double d;
        if (o->type == MN_OPT_DOUBLE) d = strtod(v, &end);
        else if (o->type == MN_OPT_U64) {
            if (*v == '-') end = (char *)v; /* refuse negatives for unsigned */
            else d = (double)strtoull(v, &end, 0);
        } else
            d = (double)strtoll(v, &end, 10);
        if (end == v || !end || *end || errno == ERANGE || !isfinite(d)) {
            mn_cli_fail(MN_EXIT_USAGE, cmd, "%s expects %s, got '%s'", a, type_hint(o->type), v);
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
