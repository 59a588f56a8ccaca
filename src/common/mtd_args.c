/* mtd_args: strict option parsing for the command-line tools. */
#include "common/mtd_args.h"
#include "common/mtd_err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const mtd_optspec *find(const mtd_optspec *s, const char *name, size_t len)
{
    for (; s->name; s++)
        if (strlen(s->name) == len && !strncmp(s->name, name, len))
            return s;
    return NULL;
}

static int add(mtd_args *a, const char *name, const char *val, char *why, size_t wl)
{
    if (a->n >= MTD_ARGS_MAX) {
        snprintf(why, wl, "too many options");
        return MTD_ETOOBIG;
    }
    a->name[a->n] = name;
    a->val[a->n++] = val;
    return 0;
}

static int is_help(const char *w)
{
    return !strcmp(w, "--help") || !strcmp(w, "-h");
}

static int parse_words(int argc, char **argv, const mtd_optspec *specs, mtd_args *a, char *why,
                       size_t wl)
{
    for (int i = 0; i < argc; i++) {
        const char *w = argv[i];
        if (is_help(w))
            return MTD_ARGS_HELP;
        if (strncmp(w, "--", 2) != 0 || w[2] == 0) {
            if (a->npos >= MTD_ARGS_MAX) {
                snprintf(why, wl, "too many arguments");
                return MTD_ETOOBIG;
            }
            a->pos[a->npos++] = w;
            continue;
        }
        const char *eq = strchr(w, '=');
        size_t nl = eq ? (size_t)(eq - w) : strlen(w);
        const mtd_optspec *s = find(specs, w, nl);
        if (!s) {
            snprintf(why, wl, "unknown option %.*s (see --help)", (int)nl, w);
            return MTD_EINVAL;
        }
        int r;
        if (s->kind == MTD_ARG_FLAG) {
            if (eq) {
                snprintf(why, wl, "%s takes no value", s->name);
                return MTD_EINVAL;
            }
            r = add(a, s->name, NULL, why, wl);
        } else if (eq) {
            r = add(a, s->name, eq + 1, why, wl);
        } else if (i + 1 >= argc || !strncmp(argv[i + 1], "--", 2)) {
            snprintf(why, wl, "%s needs a value", s->name);
            return MTD_EINVAL;
        } else {
            r = add(a, s->name, argv[++i], why, wl);
            while (r == 0 && s->kind == MTD_ARG_MANY && i + 1 < argc && strncmp(argv[i + 1], "--", 2))
                r = add(a, s->name, argv[++i], why, wl);
        }
        if (r)
            return r;
    }
    return 0;
}

int mtd_args_parse(int argc, char **argv, const mtd_optspec *specs, mtd_args *a, char *why,
                   size_t wl)
{
    /* the counts only: every reader stops at them, and clearing the arrays (192 KiB)
     * made them resident in every command, the long-running VPN's included */
    a->n = a->npos = a->help = 0;
    a->name[0] = a->val[0] = a->pos[0] = NULL;
    int r = parse_words(argc, argv, specs, a, why, wl);
    for (int i = 0; r < 0 && i < argc; i++) /* a mistake before --help: the help wins */
        if (is_help(argv[i]))
            r = MTD_ARGS_HELP;
    a->help = r == MTD_ARGS_HELP;
    return r;
}

const char *mtd_args_get(const mtd_args *a, const char *name)
{
    for (int i = a->n - 1; i >= 0; i--)
        if (!strcmp(a->name[i], name))
            return a->val[i];
    return NULL;
}

int mtd_args_has(const mtd_args *a, const char *name)
{
    for (int i = 0; i < a->n; i++)
        if (!strcmp(a->name[i], name))
            return 1;
    return 0;
}

int mtd_args_all(const mtd_args *a, const char *name, const char **out, int max)
{
    int k = 0;
    for (int i = 0; i < a->n && k < max; i++)
        if (!strcmp(a->name[i], name))
            out[k++] = a->val[i];
    return k;
}

int mtd_parse_int(const char *s, long long min, long long max, long long *out, const char *what,
                  char *why, size_t wl)
{
    const char *d = s && s[0] == '-' ? s + 1 : s;
    char *end = NULL;
    errno = 0;
    long long v = d && *d >= '0' && *d <= '9' ? strtoll(s, &end, 10) : 0;
    if (!end || *end || errno == ERANGE || v < min || v > max) {
        snprintf(why, wl, "%s must be an integer from %lld to %lld", what, min, max);
        return MTD_EINVAL;
    }
    *out = v;
    return 0;
}

int mtd_args_int(const mtd_args *a, const char *name, long long min, long long max, long long def,
                 long long *out, char *why, size_t wl)
{
    const char *v = mtd_args_get(a, name);
    if (!v) {
        *out = def;
        return 0;
    }
    return mtd_parse_int(v, min, max, out, name, why, wl);
}
