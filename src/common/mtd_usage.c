/* mtd_usage: print a tool's usage, or one command's, from its table of commands. */
#include "common/mtd_usage.h"

#include <stdio.h>
#include <string.h>

/* Prints s, each line after the first starting with indent. */
static void lines(FILE *out, const char *s, const char *indent)
{
    for (const char *nl; (nl = strchr(s, '\n')) != NULL; s = nl + 1)
        fprintf(out, "%.*s\n%s", (int)(nl - s), s, indent);
    fputs(s, out);
}

/* One command in the full list: its form, and what it does beside it when both are
 * short, else on the lines below. */
static void list_cmd(FILE *out, const mtd_usage_cmd *c)
{
    enum { COL = 32, WIDTH = 80 };
    fputs("  ", out);
    lines(out, c->synopsis, "  ");
    if (!c->about) {
        fputc('\n', out);
    } else if (!strchr(c->synopsis, '\n') && !strchr(c->about, '\n') && strlen(c->synopsis) < COL &&
               2 + COL + strlen(c->about) <= WIDTH) {
        fprintf(out, "%*s%s\n", COL - (int)strlen(c->synopsis), "", c->about);
    } else {
        fputs("\n      ", out);
        lines(out, c->about, "      ");
        fputc('\n', out);
    }
}

void mtd_usage_print(FILE *out, const mtd_usage *u)
{
    fputs(u->head, out);
    const char *group = NULL;
    for (size_t i = 0; i < u->ncmds; i++) {
        const mtd_usage_cmd *c = &u->cmds[i];
        if (c->group && (!group || strcmp(c->group, group))) {
            fprintf(out, "\n%s\n", c->group);
            group = c->group;
        }
        list_cmd(out, c);
    }
    if (u->foot)
        fprintf(out, "\n%s", u->foot);
}

/* Does name start with the words in w (len bytes), at a word's end? */
static int starts(const char *name, const char *w, size_t len)
{
    return !strncmp(name, w, len) && (name[len] == 0 || name[len] == ' ');
}

int mtd_usage_print_cmd(FILE *out, const mtd_usage *u, int nwords, const char *const *words)
{
    char w[256] = "";
    for (int i = 0; i < nwords; i++)
        snprintf(w + strlen(w), sizeof w - strlen(w), "%s%s", i ? " " : "", words[i]);
    size_t wl = strlen(w);
    int pick[256], n = 0;
    for (size_t i = 0; i < u->ncmds && n < 256; i++)
        if (starts(u->cmds[i].cmd, w, wl))
            pick[n++] = (int)i;
    if (n == 0)
        return -1;
    if (n == 1) { /* its form, then what it does */
        const mtd_usage_cmd *c = &u->cmds[pick[0]];
        const char *common = u->common ? u->common : "";
        char indent[64];
        snprintf(indent, sizeof indent, "%*s", (int)(strlen("usage:  ") + strlen(u->prog) + strlen(common)), "");
        fprintf(out, "usage: %s %s", u->prog, common);
        lines(out, c->synopsis, indent);
        fputc('\n', out);
        if (c->about) {
            fputs("    ", out);
            lines(out, c->about, "    ");
            fputc('\n', out);
        }
    } else { /* "inventory --help": each of its commands, as the full usage lists them */
        fprintf(out, "usage: %s %sCOMMAND, with COMMAND one of:\n", u->prog, u->common ? u->common : "");
        for (int k = 0; k < n; k++)
            list_cmd(out, &u->cmds[pick[k]]);
    }
    if (u->foot)
        fprintf(out, "\n%s", u->foot);
    return 0;
}

int mtd_usage_help(const mtd_usage *u, int argc, char *const *argv)
{
    const char *words[16];
    int n = 0;
    while (n < argc && n < 16 && argv[n][0] != '-')
        words[n] = argv[n], n++;
    if (n == 0) {
        mtd_usage_print(stdout, u);
        return 0;
    }
    /* "tenant create NAME --help": the longest run of words that names commands */
    for (int k = n; k > 0; k--)
        if (mtd_usage_print_cmd(stdout, u, k, words) == 0)
            return 0;
    fprintf(stderr, "%s: unknown command \"%s\" (see %s --help)\n", u->prog, words[0], u->prog);
    return 1;
}

const mtd_usage_cmd *mtd_usage_find(const mtd_usage *u, const char *cmd)
{
    for (size_t i = 0; i < u->ncmds; i++)
        if (!strcmp(u->cmds[i].cmd, cmd))
            return &u->cmds[i];
    return NULL;
}

void mtd_usage_line(const mtd_usage *u, const mtd_usage_cmd *c, char *out, size_t len)
{
    size_t n = (size_t)snprintf(out, len, "%s %s", u->prog, u->common ? u->common : "");
    for (const char *p = c->synopsis; *p && n + 1 < len; p++) {
        if (*p == '\n') { /* a continuation: one space for the line break and its indent */
            while (p[1] == ' ')
                p++;
            out[n++] = ' ';
        } else {
            out[n++] = *p;
        }
    }
    out[n < len ? n : len - 1] = 0;
}
