/* mtd_table: prints a JSON array of objects as an aligned text table for people at a
 * terminal (mtdctl without --json). Columns are chosen by the caller.
 *
 * A table fits the width it is given (mtd_table_width: the terminal's, or 80 columns
 * when standard output is not a terminal). Callers order columns by importance: each in
 * turn gets its full width while it fits, else what is left if that holds its title and
 * ~10 columns (its long cells cut with an ellipsis), else it is left out (the caller
 * is told how many, to point at --json). Columns
 * marked keep (identifiers an admin copies into the next command, times) are never
 * cut. Every cell is escaped (mtd_escape_ctl): text from devices cannot break a row or
 * send escape sequences to the terminal. Widths are display widths (libunistring), so
 * "é" or "漢" line up. */
#ifndef MTD_TABLE_H
#define MTD_TABLE_H

#include <jansson.h>
#include <stdio.h>

typedef struct {
    const char *key;    /* JSON key */
    const char *title;  /* column heading; a time column's gets " (UTC)" */
    int max;            /* widest cell, in columns (0: as wide as its cells) */
    int is_time;        /* RFC 3339 or integer seconds: shown as "YYYY-MM-DD HH:MM" */
    int keep;           /* never cut nor left out */
} mtd_column;

/* The width tables are fitted to: the terminal's when out is one, else 80. */
int mtd_table_width(FILE *out);

/* Prints the table; returns how many of the columns were left out to fit. */
int mtd_table_print(FILE *out, const json_t *rows, const mtd_column *cols, size_t ncols);

/* A report of events ({"web.detection": [rows], ...}): for each event type, its title,
 * how many rows are shown (and whether more follow: the types named in more), and a
 * table of device, time and the type's own fields, as many as fit. */
void mtd_table_print_events(FILE *out, const json_t *by_type, const json_t *more);

#endif
