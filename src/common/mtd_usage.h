/* mtd_usage: a command-line tool's usage, kept as one table of its commands, so that
 * `TOOL --help` (every command), `TOOL COMMAND --help` and `TOOL help COMMAND` (that
 * command) print the same lines, errors can quote a command's form, and a test can
 * compare every command and option with the man pages and the README.
 *
 * The tables are static data owned by each tool; nothing here allocates. */
#ifndef MTD_USAGE_H
#define MTD_USAGE_H

#include <stddef.h>
#include <stdio.h>

typedef struct {
    const char *group;    /* heading it is listed under; NULL: the previous command's */
    const char *cmd;      /* the words that name it: "inventory apps" */
    const char *synopsis; /* its form, "inventory apps (--apk PATH... | --android-root DIR)";
                           * a '\n' continues it on the next line */
    const char *about;    /* what it does, or NULL; a '\n' starts a new line */
} mtd_usage_cmd;

typedef struct {
    const char *prog;   /* "mtdctl" */
    const char *head;   /* the full usage's first line(s): "usage: mtdctl --server URL ... COMMAND" */
    const char *common; /* shown between the program and a command's form, e.g. "[OPTIONS] " */
    const char *foot;   /* the paragraph after the commands (the full usage and each command's) */
    const mtd_usage_cmd *cmds;
    size_t ncmds;
} mtd_usage;

/* Every command, under its headings. */
void mtd_usage_print(FILE *out, const mtd_usage *u);

/* The commands that words name: those whose name starts with them ({"inventory"}: both
 * inventory commands). Returns 0, or -1 when no command has that name (nothing printed). */
int mtd_usage_print_cmd(FILE *out, const mtd_usage *u, int nwords, const char *const *words);

/* `--help` given after words (argv: the words after the program's name; only the
 * leading ones that are not options count): prints on stdout the usage of the commands
 * named by the longest run of them that names any ("consent grant": consent; "tenant
 * create NAME": tenant create), or every command when there is no word. Returns the
 * exit code: 0, or 1 after a line on stderr when no command has that name. */
int mtd_usage_help(const mtd_usage *u, int argc, char *const *argv);

/* The command named exactly cmd, or NULL. */
const mtd_usage_cmd *mtd_usage_find(const mtd_usage *u, const char *cmd);
/* A command's form on one line ("PROG [common]synopsis", continuations joined), for an
 * error message that says how the command is used. */
void mtd_usage_line(const mtd_usage *u, const mtd_usage_cmd *c, char *out, size_t len);

#endif
