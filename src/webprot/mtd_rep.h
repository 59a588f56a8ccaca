/* mtd_rep: the reputation engine: the databases a command was given (compiled files,
 * mapped; raw feeds, compiled in memory at start), plus the tenant's own allow and
 * block lists from its policy, answering "allow or block, and why" for a URL or a host
 * name. Every expression of the URL (mtd_url.h) is looked up in every database; an
 * allow entry anywhere wins, else the first block entry in expression order (exact
 * host first, then its parents; the longest path first) is the verdict.
 *
 * mtd_rep_compile() is `mtd-agent feed compile`: it reads feeds, reports their bad
 * lines and per-format counts, and writes one database file. The engine owns its
 * databases; results point into them and live as long as the engine. Lookups do not
 * change the engine: any number of threads may share one. */
#ifndef MTD_REP_H
#define MTD_REP_H

#include "privacy/mtd_policy.h"
#include "webprot/mtd_feed.h"
#include "webprot/mtd_repdb.h"

#include <stdio.h>

typedef struct mtd_rep mtd_rep;

typedef struct {
    int block;                /* 0 allow, 1 block */
    int listed;               /* an entry matched (an allow entry when block is 0) */
    mtd_rep_record rec;       /* the entry that decided, when listed */
    char matched[MTD_URL_MAX + 1]; /* the expression that decided, "" when none */
    char host[1100];          /* the canonical host looked up */
} mtd_rep_result;

/* How a compile went, feed by feed (printed by `feed compile`). */
typedef struct {
    FILE *log;                /* bad lines and per-feed counts go here (NULL: nowhere) */
    size_t max_bad_lines;     /* per feed; 0 = 20 */
    size_t entries, bad_lines, folded;
} mtd_rep_compile_opts;

/* Reads feeds (and, when pol is not NULL, its web_allow and web_block lists) into a
 * builder. A feed with nothing readable is an error naming it. */
int mtd_rep_add_feed(mtd_repdb_builder *b, const char *path, const uint8_t *buf, size_t len,
                     mtd_rep_compile_opts *o, char *why, size_t whylen);
int mtd_rep_add_policy(mtd_repdb_builder *b, const mtd_policy *pol, mtd_rep_compile_opts *o,
                       char *why, size_t whylen);
/* `feed compile`: the feeds (and the policy's lists) into the database file out
 * (written atomically, 0644). */
int mtd_rep_compile(const char *out, const char *const *feeds, int nfeeds, const mtd_policy *pol,
                    mtd_rep_compile_opts *o, char *why, size_t whylen);

/* Opens each file as a database, or reads it as a feed; pol (may be NULL) adds the
 * tenant's lists. */
int mtd_rep_open(const char *const *files, int nfiles, const mtd_policy *pol, mtd_rep **out,
                 char *why, size_t whylen);
void mtd_rep_close(mtd_rep *r);
/* Entries over all databases. */
size_t mtd_rep_entries(const mtd_rep *r);

/* The verdict for a URL: 0, or the canonicalization error with why. */
int mtd_rep_check_url(const mtd_rep *r, const char *url, size_t len, mtd_rep_result *res,
                      const char **why);
/* The verdict for a host name (a DNS query): only whole-host entries apply. */
int mtd_rep_check_host(const mtd_rep *r, const char *name, size_t len, mtd_rep_result *res,
                       const char **why);
/* The same, without filling matched/host: the fast path of the DNS filter. Returns 1
 * block, 0 allow, negative for a name that is not one; *rec gets the deciding record. */
int mtd_rep_host_verdict(const mtd_rep *r, const char *name, size_t len, mtd_rep_record *rec,
                         size_t *matched_off);

/* Many host names at once (a batch of DNS queries): the same verdicts as
 * mtd_rep_host_verdict, with the memory of a group of lookups fetched in parallel. */
typedef struct {
    const char *name;
    size_t len;
    int verdict;          /* out: 1 block, 0 allow, negative for a name that is not one */
    mtd_rep_record rec;   /* out: the deciding record */
    size_t matched_off;   /* out: where in the name the deciding host entry starts */
} mtd_rep_query;
void mtd_rep_host_verdicts(const mtd_rep *rep, mtd_rep_query *q, size_t n);

#endif
