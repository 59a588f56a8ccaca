/* mtd_url: Safe Browsing canonicalization and expressions (see mtd_url.h). */
#include "webprot/mtd_url.h"
#include "common/mtd_err.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

static int hexv(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                          : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* One pass of percent-unescaping in place; returns 1 when something changed. */
static int unescape_once(char *s, size_t *len)
{
    size_t w = 0;
    int changed = 0;
    for (size_t r = 0; r < *len; r++) {
        if (s[r] == '%' && r + 2 < *len && hexv((unsigned char)s[r + 1]) >= 0 && hexv((unsigned char)s[r + 2]) >= 0) {
            s[w++] = (char)(hexv((unsigned char)s[r + 1]) << 4 | hexv((unsigned char)s[r + 2]));
            r += 2;
            changed = 1;
        } else {
            s[w++] = s[r];
        }
    }
    *len = w;
    return changed;
}

/* Unescapes until nothing changes (each pass shortens the text, so this ends). */
static void unescape_all(char *s, size_t *len)
{
    while (unescape_once(s, len))
        ;
}

/* Appends s[0..n) escaped (<= 0x20, >= 0x7f, '#', '%') to u->buf; MTD_ETOOBIG if full. */
static int put_escaped(mtd_url *u, const char *s, size_t n)
{
    static const char hx[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int esc = c <= 0x20 || c >= 0x7f || c == '#' || c == '%';
        if (u->len + (esc ? 3u : 1u) > MTD_URL_MAX)
            return MTD_ETOOBIG;
        if (esc) {
            u->buf[u->len++] = '%';
            u->buf[u->len++] = hx[c >> 4];
            u->buf[u->len++] = hx[c & 15];
        } else {
            u->buf[u->len++] = (char)c;
        }
    }
    u->buf[u->len] = 0;
    return 0;
}

/* An IPv4 address in any form inet_aton reads (decimal, octal, hex, 1 to 4 parts),
 * written dotted into out; 0 when host is not one. Only the characters of such forms
 * are let through: glibc's inet_aton accepts trailing junk after a space. */
static int ipv4_host(const char *h, size_t n, char out[16])
{
    char tmp[64];
    if (n == 0 || n >= sizeof tmp || strspn(h, "0123456789abcdefxABCDEFX.") < n)
        return 0;
    memcpy(tmp, h, n);
    tmp[n] = 0;
    /* a name like "cafe.be" is made of hex digits too: a part must start with a digit */
    for (const char *p = tmp; *p; p++)
        if ((p == tmp || p[-1] == '.') && !(*p >= '0' && *p <= '9'))
            return 0;
    struct in_addr a;
    if (inet_aton(tmp, &a) == 0)
        return 0;
    inet_ntop(AF_INET, &a, out, 16);
    return 1;
}

/* The host: unescaped, lowercased, dots trimmed and collapsed, IPs normalized. */
static int put_host(mtd_url *u, const char *h, size_t n, const char **why)
{
    char t[1024];
    if (n >= sizeof t) {
        *why = "host name over 1023 bytes";
        return MTD_ETOOBIG;
    }
    memcpy(t, h, n);
    unescape_all(t, &n);
    if (n && t[0] == '[') { /* an IPv6 literal */
        char a6[64], out[INET6_ADDRSTRLEN];
        struct in6_addr a;
        if (t[n - 1] != ']' || n - 2 >= sizeof a6) {
            *why = "bad IPv6 literal";
            return MTD_EINVAL;
        }
        memcpy(a6, t + 1, n - 2);
        a6[n - 2] = 0;
        if (inet_pton(AF_INET6, a6, &a) != 1) {
            *why = "bad IPv6 literal";
            return MTD_EINVAL;
        }
        inet_ntop(AF_INET6, &a, out, sizeof out);
        u->host_is_ip = 1;
        u->len = (uint16_t)snprintf(u->buf, sizeof u->buf, "[%s]", out);
        return 0;
    }
    size_t w = 0;
    for (size_t r = 0; r < n; r++) {
        char c = t[r];
        if (c == '.' && (w == 0 || t[w - 1] == '.'))
            continue; /* leading and repeated dots */
        t[w++] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
    }
    while (w && t[w - 1] == '.')
        w--;
    if (w == 0) {
        *why = "no host";
        return MTD_EINVAL;
    }
    char ip[16];
    if (ipv4_host(t, w, ip)) {
        u->host_is_ip = 1;
        return put_escaped(u, ip, strlen(ip));
    }
    return put_escaped(u, t, w);
}

/* The path: unescaped, then dot segments and runs of slashes resolved. */
static int put_path(mtd_url *u, const char *p, size_t n)
{
    char t[MTD_URL_MAX + 1];
    if (n > MTD_URL_MAX)
        return MTD_ETOOBIG;
    memcpy(t, p, n);
    unescape_all(t, &n);
    size_t seg[MTD_URL_MAX / 2 + 1], nseg = 0; /* start of each kept segment in out */
    char out[MTD_URL_MAX + 2];
    size_t w = 0;
    int trailing = 1;
    for (size_t i = 0; i < n;) {
        while (i < n && t[i] == '/')
            i++;
        size_t s = i;
        while (i < n && t[i] != '/')
            i++;
        size_t l = i - s;
        trailing = i < n || l == 0;
        if (l == 0)
            continue;
        if (l == 1 && t[s] == '.') {
            trailing = 1;
        } else if (l == 2 && t[s] == '.' && t[s + 1] == '.') {
            if (nseg)
                w = seg[--nseg];
            trailing = 1;
        } else {
            seg[nseg++] = w;
            out[w++] = '/';
            memcpy(out + w, t + s, l);
            w += l;
        }
    }
    if (w == 0 || trailing)
        out[w++] = '/';
    return put_escaped(u, out, w);
}

static int put_query(mtd_url *u, const char *q, size_t n)
{
    char t[MTD_URL_MAX + 1];
    if (n > MTD_URL_MAX || u->len + 1 > MTD_URL_MAX)
        return MTD_ETOOBIG;
    memcpy(t, q, n);
    unescape_all(t, &n);
    u->buf[u->len++] = '?';
    u->has_query = 1;
    return put_escaped(u, t, n);
}

/* Splits "scheme:" off; returns the rest after "//", or NULL for a non-web URL. A
 * missing scheme ("evil.com/x", "host:8080/x") is http. */
static const char *split_scheme(const char *s, mtd_url *u)
{
    size_t i = 0;
    snprintf(u->scheme, sizeof u->scheme, "http");
    if ((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'))
        while (s[i] && (strchr("+-.", s[i]) || (s[i] >= '0' && s[i] <= '9') ||
                        ((s[i] | 32) >= 'a' && (s[i] | 32) <= 'z')))
            i++;
    if (i == 0 || s[i] != ':')
        return s;
    if (s[i + 1] == '/' && s[i + 2] == '/') {
        if (i >= sizeof u->scheme)
            return NULL;
        for (size_t k = 0; k < i; k++)
            u->scheme[k] = (char)(s[k] >= 'A' && s[k] <= 'Z' ? s[k] + 32 : s[k]);
        u->scheme[i] = 0;
        return s + i + 3;
    }
    size_t d = strspn(s + i + 1, "0123456789"); /* host:port */
    if (d && (s[i + 1 + d] == 0 || s[i + 1 + d] == '/' || s[i + 1 + d] == '?'))
        return s;
    return NULL;
}

/* The host part of an authority: without user info and port. */
static void authority_host(const char *a, size_t n, const char **h, size_t *hl)
{
    const char *at = NULL;
    for (size_t i = 0; i < n; i++)
        if (a[i] == '@')
            at = a + i;
    if (at) {
        n -= (size_t)(at + 1 - a);
        a = at + 1;
    }
    const char *end = a + n;
    if (n && a[0] == '[') {
        const char *rb = memchr(a, ']', n);
        end = rb ? rb + 1 : end;
    } else {
        const char *colon = memrchr(a, ':', n);
        if (colon)
            end = colon;
    }
    *h = a;
    *hl = (size_t)(end - a);
}

int mtd_url_canonicalize(const char *in, size_t len, mtd_url *u, const char **why)
{
    char s[MTD_URL_MAX * 2 + 1];
    size_t n = 0;
    const char *dummy;
    why = why ? why : &dummy;
    *why = "";
    memset(u, 0, offsetof(mtd_url, buf) + 1);
    u->len = u->host_len = u->path_len = 0;
    u->has_query = u->host_is_ip = 0;
    for (size_t i = 0; i < len; i++) {
        if (in[i] == '\t' || in[i] == '\r' || in[i] == '\n')
            continue;
        if (in[i] == 0 || n >= sizeof s - 1) {
            *why = in[i] ? "URL too long" : "NUL byte in URL";
            return in[i] ? MTD_ETOOBIG : MTD_EINVAL;
        }
        s[n++] = in[i];
    }
    while (n && (unsigned char)s[n - 1] <= 0x20)
        n--;
    s[n] = 0;
    char *p = s;
    while (*p && (unsigned char)*p <= 0x20)
        p++;
    char *hash = strchr(p, '#');
    if (hash)
        *hash = 0;
    const char *rest = split_scheme(p, u);
    if (!rest) {
        *why = "not a web URL (no scheme://)";
        return MTD_EUNSUP;
    }
    size_t al = strcspn(rest, "/?\\");
    const char *h;
    size_t hl;
    authority_host(rest, al, &h, &hl);
    int r = put_host(u, h, hl, why);
    if (r)
        return r;
    u->host_len = u->len;
    const char *path = rest + al;
    size_t pl = strcspn(path, "?");
    if ((r = put_path(u, path, pl)) != 0) {
        *why = "URL too long";
        return r;
    }
    u->path_len = (uint16_t)(u->len - u->host_len);
    if (path[pl] == '?' && (r = put_query(u, path + pl + 1, strlen(path + pl + 1))) != 0) {
        *why = "URL too long";
        return r;
    }
    return 0;
}

int mtd_url_from_host(const char *host, size_t len, mtd_url *u, const char **why)
{
    char s[1100];
    if (len > 1024) {
        if (why)
            *why = "name over 1024 bytes";
        return MTD_ETOOBIG;
    }
    /* a bare IPv6 address (STIX ipv6-addr values, IP lists) is a host only in brackets */
    char a6[64];
    struct in6_addr a;
    int v6 = len && len < sizeof a6 && host[0] != '[' && memchr(host, ':', len);
    if (v6) {
        memcpy(a6, host, len);
        a6[len] = 0;
        v6 = inet_pton(AF_INET6, a6, &a) == 1;
    }
    if (!v6 && memchr(host, ':', len) && host[0] != '[') { /* "host:port" is no host */
        if (why)
            *why = "not a host name (a colon outside an IPv6 address)";
        return MTD_EINVAL;
    }
    int n = snprintf(s, sizeof s, v6 ? "http://[%.*s]/" : "http://%.*s/", (int)len, host);
    if (memchr(host, '/', len) || memchr(host, '?', len) || memchr(host, '#', len) ||
        memchr(host, '@', len)) {
        if (why)
            *why = "not a host name";
        return MTD_EINVAL;
    }
    return mtd_url_canonicalize(s, (size_t)n, u, why);
}

size_t mtd_url_format(const mtd_url *u, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%s://%.*s", u->scheme, (int)u->len, u->buf);
    return n < 0 ? 0 : (size_t)n >= outlen ? outlen - 1 : (size_t)n;
}

/* Offsets in buf of the host suffixes: the exact host, then up to four suffixes of its
 * last five components, down to two components. */
static int host_suffixes(const mtd_url *u, uint16_t off[5])
{
    off[0] = 0;
    if (u->host_is_ip)
        return 1;
    uint16_t dots[300];
    int nd = 0;
    for (uint16_t i = 0; i < u->host_len && nd < 300; i++)
        if (u->buf[i] == '.')
            dots[nd++] = i;
    int labels = nd + 1, n = 1;
    for (int k = labels < 5 ? labels : 5; k >= 2; k--)
        if (k != labels)
            off[n++] = (uint16_t)(dots[nd - k] + 1);
    return n;
}

int mtd_url_host_expressions(const mtd_url *u, mtd_url_expr out[MTD_URL_MAX_EXPR])
{
    uint16_t off[5];
    int nh = host_suffixes(u, off);
    for (int i = 0; i < nh; i++)
        out[i] = (mtd_url_expr){off[i], (uint16_t)(u->host_len + 1 - off[i])};
    return nh;
}

/* Ends (offsets in buf past the host) of the path prefixes: path with query, path, then
 * "/" and up to three more directory prefixes, without repeats. */
static int path_prefixes(const mtd_url *u, uint16_t end[6])
{
    int n = 0;
    uint16_t plen = u->path_len;
    if (u->has_query && u->len - u->host_len > plen + 1)
        end[n++] = (uint16_t)(u->len - u->host_len);
    end[n++] = plen;
    const char *p = u->buf + u->host_len;
    for (uint16_t i = 0, dirs = 0; i < plen && dirs < 4; i++)
        if (p[i] == '/') {
            dirs++;
            if (i + 1 != plen)
                end[n++] = (uint16_t)(i + 1);
        }
    return n;
}

int mtd_url_expressions(const mtd_url *u, mtd_url_expr out[MTD_URL_MAX_EXPR])
{
    uint16_t off[5], end[6];
    int nh = host_suffixes(u, off), np = path_prefixes(u, end), n = 0;
    for (int i = 0; i < nh; i++)
        for (int j = 0; j < np; j++)
            out[n++] = (mtd_url_expr){off[i], (uint16_t)(u->host_len + end[j] - off[i])};
    return n;
}

mtd_url_expr mtd_url_entry(const mtd_url *u)
{
    int q = u->has_query && u->len - u->host_len > u->path_len + 1;
    return (mtd_url_expr){0, q ? u->len : (uint16_t)(u->host_len + u->path_len)};
}
