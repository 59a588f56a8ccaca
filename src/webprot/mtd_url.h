/* mtd_url: Safe Browsing URL canonicalization and its lookup expressions.
 *
 * Google's Safe Browsing ("URLs and Hashing") defines how a URL becomes the strings a
 * threat list is matched against, and every list we read (feeds, STIX indicators, the
 * tenant's own allow and block lists) is reduced to such strings the same way, so a
 * feed's "http://EVIL.com:80/a/../b" and a browser's "http://evil.com/b#x" meet.
 *
 * Canonicalization: tabs, CR and LF removed; surrounding spaces trimmed; the fragment
 * dropped; "http" assumed when no scheme is given; user info and port dropped; host and
 * path percent-unescaped until nothing changes; host lowercased, dots trimmed and
 * collapsed, an IPv4 address in any inet_aton form (3279880203, 0x7f.1) written dotted,
 * an IPv6 literal written as inet_ntop does; "/./", "/../" and runs of slashes resolved
 * in the path (never in the query); then bytes <= 0x20, >= 0x7f, '#' and '%' escaped as
 * %XX. Schemes without "//" (data:, javascript:, mailto:) are not web URLs: MTD_EUNSUP.
 *
 * Expressions: the exact host and up to four suffixes of it made from its last five
 * components (never the top-level label alone; an IP address only as itself), each
 * with the exact path and query, the exact path, and up to four directory prefixes
 * from "/" — at most 30. Each expression is a contiguous run of one buffer,
 * host followed by path and query, so it is hashed without copying.
 *
 * Hand-written: no library we use implements this exact algorithm (libcurl's URL parser
 * keeps ports, escapes and dot segments as given; Safe Browsing wants them resolved). */
#ifndef MTD_URL_H
#define MTD_URL_H

#include <stddef.h>
#include <stdint.h>

#define MTD_URL_MAX 8192 /* bytes of host + path + query after canonicalization */
#define MTD_URL_MAX_EXPR 30

typedef struct {
    char scheme[16];
    /* buf = host, then path (starting with '/'), then "?query" when there was a '?' */
    char buf[MTD_URL_MAX + 1];
    uint16_t host_len, path_len, len; /* len: all of buf */
    uint8_t has_query, host_is_ip;
} mtd_url;

typedef struct {
    uint16_t off, len; /* a run of mtd_url.buf */
} mtd_url_expr;

/* Canonicalizes a URL. 0, MTD_EINVAL (no host, bad IPv6 literal; why says which),
 * MTD_EUNSUP (not a hierarchical URL), MTD_ETOOBIG (over MTD_URL_MAX). */
int mtd_url_canonicalize(const char *in, size_t len, mtd_url *u, const char **why);

/* A host name alone (a DNS name, a domain list's entry) as the host of "http://NAME/". */
int mtd_url_from_host(const char *host, size_t len, mtd_url *u, const char **why);

/* "scheme://host/path[?query]" into out; returns the length (cut at outlen-1). */
size_t mtd_url_format(const mtd_url *u, char *out, size_t outlen);

/* The lookup expressions of u, host-major (exact host first); returns how many. */
int mtd_url_expressions(const mtd_url *u, mtd_url_expr out[MTD_URL_MAX_EXPR]);
/* Only the host expressions ("host/"), for a name looked up by DNS. */
int mtd_url_host_expressions(const mtd_url *u, mtd_url_expr out[MTD_URL_MAX_EXPR]);

/* The expression a feed entry stands for: the exact host and path (with the query when
 * it is not empty). */
mtd_url_expr mtd_url_entry(const mtd_url *u);

#endif
