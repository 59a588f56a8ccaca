/* mtd_table: aligned text tables from JSON rows. */
#include "ctl/mtd_table.h"
#include "schema/mtd_schema.h"

#include <string.h>
#include <time.h>

static void cell(const json_t *v, const mtd_column *c, char *out, size_t len)
{
    out[0] = 0;
    if (!v || json_is_null(v)) {
        snprintf(out, len, "-");
    } else if (c->is_time && json_is_integer(v)) {
        time_t t = (time_t)json_integer_value(v);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(out, len, "%Y-%m-%d %H:%M", &tm);
    } else if (json_is_string(v)) {
        snprintf(out, len, "%s", json_string_value(v));
        if (c->is_time && strlen(out) >= 16) {
            out[10] = ' ';
            out[16] = 0;
        }
    } else if (json_is_integer(v)) {
        snprintf(out, len, "%lld", (long long)json_integer_value(v));
    } else if (json_is_boolean(v)) {
        snprintf(out, len, "%s", json_is_true(v) ? "yes" : "no");
    } else {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        snprintf(out, len, "%s", s ? s : "?");
        free(s);
    }
    if (c->max > 3 && (int)strlen(out) > c->max)
        snprintf(out + c->max - 3, len - (size_t)c->max + 3, "...");
}

void mtd_table_print(FILE *out, const json_t *rows, const mtd_column *cols, size_t ncols)
{
    int w[32];
    char buf[1024];
    for (size_t c = 0; c < ncols && c < 32; c++)
        w[c] = (int)strlen(cols[c].title);
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
        for (size_t c = 0; c < ncols && c < 32; c++) {
            cell(json_object_get(row, cols[c].key), &cols[c], buf, sizeof buf);
            if ((int)strlen(buf) > w[c])
                w[c] = (int)strlen(buf);
        }
    for (size_t c = 0; c < ncols && c < 32; c++)
        fprintf(out, "%-*s%s", w[c], cols[c].title, c + 1 < ncols ? "  " : "\n");
    json_array_foreach(rows, i, row)
        for (size_t c = 0; c < ncols && c < 32; c++) {
            cell(json_object_get(row, cols[c].key), &cols[c], buf, sizeof buf);
            fprintf(out, "%-*s%s", w[c], buf, c + 1 < ncols ? "  " : "\n");
        }
    if (json_array_size(rows) == 0)
        fprintf(out, "(none)\n");
}

/* Columns beyond device and time: all of most types (net.connection has nine); a wider
 * one (diag.bundle) says how many more --json shows. */
#define EVENT_FIELDS 10

void mtd_table_print_events(FILE *out, const json_t *by_type)
{
    const char *name;
    const json_t *rows;
    int first = 1;
    json_object_foreach((json_t *)by_type, name, rows) {
        const mtd_event_type *ev = mtd_schema_event(name);
        mtd_column cols[2 + EVENT_FIELDS] = {{"device_id", "DEVICE", 25, 0}, {"time", "TIME (UTC)", 0, 1}};
        char titles[EVENT_FIELDS][40];
        size_t n = 2;
        for (size_t f = 0; ev && f < ev->nfields && n < 2 + EVENT_FIELDS; f++, n++) {
            /* "threat_name" -> "THREAT NAME" */
            snprintf(titles[n - 2], sizeof titles[0], "%s", ev->fields[f].name);
            for (char *p = titles[n - 2]; *p; p++)
                *p = *p == '_' ? ' ' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
            cols[n] = (mtd_column){ev->fields[f].name, titles[n - 2], 32,
                                   ev->fields[f].type == MTD_T_TIME};
        }
        fprintf(out, "%s%s (%s): %zu", first ? "" : "\n", ev ? ev->title : name, name,
                json_array_size(rows));
        if (ev && ev->nfields > EVENT_FIELDS)
            fprintf(out, " (%zu more fields with --json)", ev->nfields - EVENT_FIELDS);
        fputc('\n', out);
        mtd_table_print(out, rows, cols, n);
        first = 0;
    }
}
