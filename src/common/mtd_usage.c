/* mtd_usage: print a tool's usage, or one command's, from its table of commands. */
#include "common/mtd_usage.h"

#include <stdio.h>
#include <string.h>

enum { WIDTH = 80 }; /* every line of a usage fits a terminal of 80 columns */

/* The length in s of its next unit: a word, or in a synopsis (groups) a bracketed
 * group with its spaces ("[--state DIR]"), so that a form is not broken inside one. */
static size_t unit(const char *s, int groups)
{
    size_t n = 0;
    int depth = 0;
    for (; s[n] && (depth > 0 || (s[n] != ' ' && s[n] != '\n')); n++) {
        if (groups && (s[n] == '[' || s[n] == '('))
            depth++;
        else if (groups && depth > 0 && (s[n] == ']' || s[n] == ')'))
            depth--;
    }
    return n;
}

/* Prints (when out) the n bytes at s with each run of spaces and line breaks as one
 * space; returns the columns it takes. */
static size_t put_unit(FILE *out, const char *s, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++, w++) {
        if (s[i] == ' ' || s[i] == '\n')
            while (i + 1 < n && (s[i + 1] == ' ' || s[i + 1] == '\n'))
                i++;
        if (out)
            fputc(s[i] == '\n' ? ' ' : s[i], out);
    }
    return w;
}

/* Prints s from column col, filled to WIDTH: the tables' texts are reflowed here, not
 * wrapped by hand (a line break in them counts as a space), so each line after a break
 * starts with indent and none passes WIDTH unless one word does. A group too long for
 * a line of its own is broken between its words. test_docs checks the widths. */
static void lines(FILE *out, const char *s, const char *indent, size_t col, int groups)
{
    size_t in = strlen(indent), start = col;
    for (;;) {
        s += strspn(s, " \n");
        if (!*s)
            return;
        size_t n = unit(s, groups);
        if (groups && in + put_unit(NULL, s, n) > WIDTH)
            n = unit(s, 0);
        size_t w = put_unit(NULL, s, n);
        if (col > start && col + 1 + w > WIDTH) {
            fprintf(out, "\n%s", indent);
            col = start = in;
        } else if (col > start) {
            fputc(' ', out);
            col++;
        }
        col += put_unit(out, s, n);
        s += n;
    }
}

/* One command in the full list: its form, and what it does beside it when both are
 * short, else on the lines below. */
static void list_cmd(FILE *out, const mtd_usage_cmd *c)
{
    enum { COL = 32 };
    fputs("  ", out);
    lines(out, c->synopsis, "    ", 2, 1);
    if (!c->about) {
        fputc('\n', out);
    } else if (!strchr(c->synopsis, '\n') && !strchr(c->about, '\n') && strlen(c->synopsis) < COL &&
               2 + COL + strlen(c->about) <= WIDTH) {
        fprintf(out, "%*s%s\n", COL - (int)strlen(c->synopsis), "", c->about);
    } else {
        fputs("\n      ", out);
        lines(out, c->about, "      ", 6, 0);
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
    for (int k = 0; k < n; k++) /* "apps" is a command, beside "apps history": that one */
        if (!strcmp(u->cmds[pick[k]].cmd, w))
            pick[0] = pick[k], n = 1;
    if (n == 0)
        return -1;
    if (n == 1) { /* its form, then what it does */
        const mtd_usage_cmd *c = &u->cmds[pick[0]];
        const char *common = u->common ? u->common : "";
        char indent[64];
        snprintf(indent, sizeof indent, "%*s", (int)(strlen("usage:  ") + strlen(u->prog) + strlen(common)), "");
        fprintf(out, "usage: %s %s", u->prog, common);
        lines(out, c->synopsis, indent, strlen(indent), 1);
        fputc('\n', out);
        if (c->about) {
            fputs("    ", out);
            lines(out, c->about, "    ", 4, 0);
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
