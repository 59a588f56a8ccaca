/* mtd_feed: threat feed readers. Each takes the whole file (buf, len), detects its
 * format by content, and hands every indicator it reads to a sink: a host (domain or
 * IP address) or a URL, with the threat name and category a detection will carry and
 * whether it allows rather than blocks.
 *
 * Formats: hosts files ("0.0.0.0 name..."), plain lists of domains and/or URLs one a
 * line (OpenPhish's text feed is such a list; "||name^" and "*.name" are read as the
 * name), URLhaus CSV, PhishTank CSV and JSON, STIX 2.1 bundles (domain-name, url,
 * ipv4-addr and ipv6-addr comparisons of an indicator's pattern; other object types
 * are counted by name as skipped). A line it cannot read goes to sink->bad_line with
 * its number and the reason, and the rest of the feed is still read; a feed with
 * nothing readable is an error (MTD_EINVAL).
 *
 * A list's threat name is its "# threat: NAME" comment line, else the file's base name;
 * its category its "# category: CAT" line, else "phishing" when the file name has
 * "phish" in it, else "malware". The readers keep nothing: strings handed to the sink
 * are valid during the call only. */
#ifndef MTD_FEED_H
#define MTD_FEED_H

#include "webprot/mtd_url.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
    MTD_FEED_LIST, MTD_FEED_HOSTS, MTD_FEED_URLHAUS, MTD_FEED_PHISHTANK_CSV,
    MTD_FEED_PHISHTANK_JSON, MTD_FEED_STIX, MTD_FEED_NFORMATS
} mtd_feed_format;

typedef enum { MTD_IND_HOST, MTD_IND_URL } mtd_ind_kind;

typedef struct {
    mtd_ind_kind kind;
    const mtd_url *url;      /* canonical: a host as "http://host/" */
    const char *threat_name; /* NUL-terminated */
    const char *category;    /* one of the schema's threat categories */
    int allow;
} mtd_indicator;

typedef struct {
    /* 0 to go on; non-zero stops the reader, which returns it */
    int (*indicator)(void *ctx, const mtd_indicator *ind, size_t line);
    void (*bad_line)(void *ctx, size_t line, const char *why);
    void *ctx;
} mtd_feed_sink;

#define MTD_FEED_SKIP_TYPES 8

typedef struct {
    mtd_feed_format format;
    size_t indicators;       /* handed to the sink */
    size_t bad_lines;
    size_t stix_by_type[4];  /* domain-name, url, ipv4-addr, ipv6-addr indicators */
    struct {
        char type[48];
        size_t count;
    } skipped[MTD_FEED_SKIP_TYPES]; /* STIX indicators of other types, by type */
    size_t nskipped;
} mtd_feed_stats;

const char *mtd_feed_format_name(mtd_feed_format f);
mtd_feed_format mtd_feed_detect(const uint8_t *buf, size_t len);

/* Reads a feed; name is the file's name (threat name and category defaults). Returns 0,
 * MTD_EINVAL with why when nothing in it is readable, or what the sink returned. */
int mtd_feed_parse(const uint8_t *buf, size_t len, const char *name, const mtd_feed_sink *sink,
                   mtd_feed_stats *st, char *why, size_t whylen);

/* The same, read as format f whatever its content (the fuzz target tries each). */
int mtd_feed_parse_format(mtd_feed_format f, const uint8_t *buf, size_t len, const char *name,
                          const mtd_feed_sink *sink, mtd_feed_stats *st, char *why, size_t whylen);

/* The JSON readers (mtd_feed_json.c), called by mtd_feed_parse. */
int mtd_feed_parse_stix(const uint8_t *buf, size_t len, const char *name, const mtd_feed_sink *sink,
                        mtd_feed_stats *st, char *why, size_t whylen);
int mtd_feed_parse_phishtank_json(const uint8_t *buf, size_t len, const mtd_feed_sink *sink,
                                  mtd_feed_stats *st, char *why, size_t whylen);
/* Counts one skipped STIX indicator of type t. */
void mtd_feed_skip(mtd_feed_stats *st, const char *t, size_t tlen);

/* One indicator given as text (a list's line, a policy list's entry, a STIX value):
 * a URL when it has "://" or a '/', else a host name or IP address; canonicalized and
 * handed to the sink. Returns 0, what the sink returned, or MTD_EINVAL with why (the
 * caller reports the bad line). */
int mtd_feed_value(const char *v, size_t len, const char *threat, const char *category, int allow,
                   const mtd_feed_sink *sink, size_t line, const char **why);

#endif
