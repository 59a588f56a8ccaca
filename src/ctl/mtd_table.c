/* mtd_table: aligned text tables from JSON rows, fitted to the terminal. */
#include "ctl/mtd_table.h"
#include "common/mtd_util.h"
#include "schema/mtd_schema.h"

#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <unistr.h>
#include <uniwidth.h>

#define MAXCOLS 32
#define CELL 1024
#define MINCELL 10

int mtd_table_width(FILE *out)
{
    struct winsize ws;
    int fd = fileno(out);
    if (fd >= 0 && isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
        return ws.ws_col;
    return 80;
}

/* Display width of UTF-8 text (a wide character counts two, a combining mark none). */
static int width(const char *s)
{
    return u8_strwidth((const uint8_t *)s, "UTF-8");
}

/* Cuts s to at most w columns, its last one an ellipsis when anything was cut. */
static void cut(char *s, int w)
{
    if (width(s) <= w)
        return;
    const uint8_t *p = (const uint8_t *)s, *end = p + strlen(s);
    int used = 0;
    while (p < end) {
        ucs4_t uc;
        int n = u8_mbtouc(&uc, p, (size_t)(end - p));
        int cw = uc_width(uc, "UTF-8");
        if (cw < 0)
            cw = 1;
        if (used + cw > w - 1)
            break;
        used += cw;
        p += n;
    }
    snprintf((char *)p, CELL - (size_t)(p - (const uint8_t *)s), "\u2026");
}

/* One cell as people read it, escaped: "-" for none, yes/no, a time to the minute. */
static void cell(const json_t *v, const mtd_column *c, char *out)
{
    char raw[CELL];
    raw[0] = 0;
    if (!v || json_is_null(v)) {
        snprintf(raw, sizeof raw, "-");
    } else if (c->is_time && json_is_integer(v)) {
        char t[MTD_TIME_LEN];
        mtd_time_rfc3339((time_t)json_integer_value(v), t);
        snprintf(raw, sizeof raw, "%.10s %.5s", t, t + 11);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (c->is_time && strlen(s) >= 16 && s[10] == 'T')
            snprintf(raw, sizeof raw, "%.10s %.5s", s, s + 11);
        else
            snprintf(raw, sizeof raw, "%s", s);
    } else if (json_is_integer(v)) {
        snprintf(raw, sizeof raw, "%lld", (long long)json_integer_value(v));
    } else if (json_is_boolean(v)) {
        snprintf(raw, sizeof raw, "%s", json_is_true(v) ? "yes" : "no");
    } else if (json_is_array(v)) { /* a list: its items, comma-separated */
        size_t i, n = 0;
        const json_t *x;
        json_array_foreach(v, i, x) {
            const char *s = json_string_value(x);
            n += (size_t)snprintf(raw + n, sizeof raw - n, "%s%s", i ? "," : "", s ? s : "?");
            if (n >= sizeof raw)
                break;
        }
    } else {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        snprintf(raw, sizeof raw, "%s", s ? s : "?");
        free(s);
    }
    mtd_escape_ctl(raw, strlen(raw), out, CELL);
}

/* Column titles, a time column's marked (UTC). */
static void titles(const mtd_column *cols, size_t n, char t[][64])
{
    for (size_t c = 0; c < n; c++)
        snprintf(t[c], 64, "%s%s", cols[c].title,
                 cols[c].is_time && !strstr(cols[c].title, "(UTC)") ? " (UTC)" : "");
}

/* Widths that fit the budget: w[c] for each column shown (show[c]); returns how many
 * columns were left out. The kept columns are never cut, so a table of only those may
 * still be wider than the budget. */
static int layout(const json_t *rows, const mtd_column *cols, size_t n, char t[][64], int budget,
                  int *w, int *show)
{
    char buf[CELL];
    int minw[MAXCOLS];
    for (size_t c = 0; c < n; c++) {
        w[c] = minw[c] = width(t[c]);
        show[c] = 1;
    }
    size_t i;
    const json_t *row;
    json_array_foreach(rows, i, row)
        for (size_t c = 0; c < n; c++) {
            cell(json_object_get(row, cols[c].key), &cols[c], buf);
            int cw = width(buf);
            if (cw > w[c])
                w[c] = cw;
        }
    for (size_t c = 0; c < n; c++) {
        if (!cols[c].keep && cols[c].max > 0 && w[c] > cols[c].max)
            w[c] = cols[c].max > minw[c] ? cols[c].max : minw[c];
        /* a column is shown only if it keeps its title and ~10 columns of its cells */
        int least = w[c] < MINCELL ? w[c] : MINCELL;
        if (cols[c].keep)
            minw[c] = w[c];
        else if (least > minw[c])
            minw[c] = least;
    }
    /* Each column costs its width and two spaces. The kept ones are paid first; then
     * the others, in order of importance (the callers' order), get their full width
     * while it fits, or the rest if that is at least their least, or are left out. */
    int avail = budget + 2, dropped = 0;
    for (size_t c = 0; c < n; c++)
        if (cols[c].keep)
            avail -= w[c] + 2;
    for (size_t c = 0; c < n; c++) {
        if (cols[c].keep)
            continue;
        if (avail < minw[c] + 2) {
            show[c] = 0;
            dropped++;
            continue;
        }
        if (w[c] > avail - 2)
            w[c] = avail - 2;
        avail -= w[c] + 2;
    }
    return dropped;
}

static void pad(FILE *out, const char *s, int w, int last)
{
    fputs(s, out);
    if (last) {
        fputc('\n', out);
        return;
    }
    for (int k = width(s); k < w + 2; k++)
        fputc(' ', out);
}

static void emit(FILE *out, const json_t *rows, const mtd_column *cols, size_t n, char t[][64],
                 const int *w, const int *show)
{
    int lastc = -1;
    for (size_t c = 0; c < n; c++)
        if (show[c])
            lastc = (int)c;
    for (size_t c = 0; c < n; c++)
        if (show[c])
            pad(out, t[c], w[c], (int)c == lastc);
    char buf[CELL];
    size_t i;
    const json_t *row;
    json_array_foreach(rows, i, row)
        for (size_t c = 0; c < n; c++) {
            if (!show[c])
                continue;
            cell(json_object_get(row, cols[c].key), &cols[c], buf);
            cut(buf, w[c]);
            pad(out, buf, w[c], (int)c == lastc);
        }
    if (json_array_size(rows) == 0)
        fprintf(out, "(none)\n");
}

int mtd_table_print(FILE *out, const json_t *rows, const mtd_column *cols, size_t ncols)
{
    size_t n = ncols < MAXCOLS ? ncols : MAXCOLS;
    char t[MAXCOLS][64];
    int w[MAXCOLS], show[MAXCOLS];
    titles(cols, n, t);
    int dropped = layout(rows, cols, n, t, mtd_table_width(out), w, show);
    emit(out, rows, cols, n, t, w, show);
    return dropped;
}

/* Is name in the array of type names more? */
static int has_more(const json_t *more, const char *name)
{
    size_t i;
    const json_t *x;
    json_array_foreach(more, i, x)
        if (json_is_string(x) && !strcmp(json_string_value(x), name))
            return 1;
    return 0;
}

void mtd_table_print_events(FILE *out, const json_t *by_type, const json_t *more)
{
    const char *name;
    const json_t *rows;
    int first = 1;
    json_object_foreach((json_t *)by_type, name, rows) {
        if (!json_is_array(rows))
            continue;
        const mtd_event_type *ev = mtd_schema_event(name);
        mtd_column cols[MAXCOLS] = {{"device_id", "DEVICE", 0, 0, 1}, {"time", "TIME", 0, 1, 1}};
        char names[MAXCOLS][40];
        size_t n = 2;
        for (size_t f = 0; ev && f < ev->nfields && n < MAXCOLS; f++, n++) {
            /* "threat_name" -> "THREAT NAME" */
            snprintf(names[n], sizeof names[0], "%s", ev->fields[f].name);
            for (char *p = names[n]; *p; p++)
                *p = *p == '_' ? ' ' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
            cols[n] = (mtd_column){ev->fields[f].name, names[n], 32, ev->fields[f].type == MTD_T_TIME, 0};
        }
        char t[MAXCOLS][64];
        int w[MAXCOLS], show[MAXCOLS];
        titles(cols, n, t);
        int dropped = layout(rows, cols, n, t, mtd_table_width(out), w, show);
        char nm[256];
        mtd_escape_ctl(name, strlen(name), nm, sizeof nm);
        size_t k = json_array_size(rows);
        fprintf(out, "%s%s (%s): %zu %s%s", first ? "" : "\n", ev ? ev->title : nm, nm, k,
                k == 1 ? "row" : "rows", has_more(more, name) ? " shown, more follow" : "");
        if (dropped)
            fprintf(out, " (%d more %s with --json)", dropped, dropped == 1 ? "field" : "fields");
        fputc('\n', out);
        emit(out, rows, cols, n, t, w, show);
        first = 0;
    }
}
