/* mtd_args: command-line options for mtd-agent and mtdctl.
 *
 * Each command declares its options; anything else is an error naming the option, so
 * a typo never silently changes what a command does. An option takes no value
 * (MTD_ARG_FLAG), one value (MTD_ARG_ONE; "--x v" or "--x=v"; repeating it collects
 * every value), or every following word up to the next option (MTD_ARG_MANY, for
 * "--apk A B C"). Words that are not options are positionals. Values point into argv.
 * "--help" and "-h" (where they are not an option's value) ask for help in every
 * command, declared or not: parsing stops there, and the caller prints the usage of
 * the command named by the words before it (mtd_usage_help). */
#ifndef MTD_ARGS_H
#define MTD_ARGS_H

#include <stddef.h>

enum { MTD_ARG_FLAG, MTD_ARG_ONE, MTD_ARG_MANY };

typedef struct {
    const char *name; /* "--state" */
    int kind;
} mtd_optspec;

#define MTD_ARGS_MAX 8192 /* --apk may name thousands of files */

typedef struct {
    const char *name[MTD_ARGS_MAX];
    const char *val[MTD_ARGS_MAX]; /* NULL for flags */
    int n;
    const char *pos[MTD_ARGS_MAX];
    int npos;
    int help; /* --help or -h was given */
} mtd_args;

#define MTD_ARGS_HELP 1 /* mtd_args_parse: help was asked for (positionals before it are kept) */

/* Parses argv[0..argc); specs end with {NULL, 0}. Returns 0, MTD_ARGS_HELP, or
 * MTD_EINVAL with why. */
int mtd_args_parse(int argc, char **argv, const mtd_optspec *specs, mtd_args *a, char *why,
                   size_t whylen);
/* The last value of an option, or NULL. */
const char *mtd_args_get(const mtd_args *a, const char *name);
int mtd_args_has(const mtd_args *a, const char *name);
/* Every value of an option, in order; returns how many (at most max). */
int mtd_args_all(const mtd_args *a, const char *name, const char **out, int max);

/* Strict integers, the one parser of every numeric option and parameter (command
 * lines, the admin API's ?limit=): optional '-', decimal digits and nothing else (no
 * space, sign '+', hex, suffix or empty string), within [min, max]. Returns 0, or
 * MTD_EINVAL with why = "<what> must be an integer from MIN to MAX" (what names the
 * option or parameter, e.g. "--interval"). */
int mtd_parse_int(const char *s, long long min, long long max, long long *out, const char *what,
                  char *why, size_t whylen);
/* The option's value by mtd_parse_int, or def when the option was not given. */
int mtd_args_int(const mtd_args *a, const char *name, long long min, long long max, long long def,
                 long long *out, char *why, size_t whylen);

#endif
