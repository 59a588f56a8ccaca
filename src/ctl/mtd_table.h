/* mtd_table: prints a JSON array of objects as an aligned text table for people at a
 * terminal (mtdctl without --json). Columns are chosen by the caller; long cells are
 * cut with an ellipsis so a row stays on one line. */
#ifndef MTD_TABLE_H
#define MTD_TABLE_H

#include <jansson.h>
#include <stdio.h>

typedef struct {
    const char *key;    /* JSON key */
    const char *title;  /* column heading */
    int max;            /* widest cell, in characters */
    int is_time;        /* integer seconds or RFC 3339: shown as "YYYY-MM-DD HH:MM" */
} mtd_column;

void mtd_table_print(FILE *out, const json_t *rows, const mtd_column *cols, size_t ncols);

/* A report of events ({"web.detection": [rows], ...}): for each event type, its title
 * and a table of device, time and the type's own fields, as the schema declares them. */
void mtd_table_print_events(FILE *out, const json_t *by_type);

#endif
