/* mtd_feed: format detection and the line-based readers (lists, hosts, URLhaus and
 * PhishTank CSV). The JSON formats are in mtd_feed_json.c. */
#include "webprot/mtd_feed.h"
#include "common/mtd_err.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const format_names[] = {"list", "hosts", "urlhaus-csv", "phishtank-csv",
                                           "phishtank-json", "stix2"};

const char *mtd_feed_format_name(mtd_feed_format f)
{
    return f < MTD_FEED_NFORMATS ? format_names[f] : "?";
}

/* Iterates lines (p advances); returns each line without its CR/LF. */
static int next_line(const uint8_t **p, const uint8_t *end, const char **ls, size_t *ll)
{
    if (*p >= end)
        return 0;
    const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
    const uint8_t *e = nl ? nl : end;
    *ls = (const char *)*p;
    *ll = (size_t)(e - *p);
    if (*ll && (*ls)[*ll - 1] == '\r')
        (*ll)--;
    *p = nl ? nl + 1 : end;
    return 1;
}

/* Bytes of s[0..n) before the first blank (lines are not NUL-terminated). */
static size_t word_len(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && s[i] != ' ' && s[i] != '\t')
        i++;
    return i;
}

static void trim(const char **s, size_t *n)
{
    while (*n && ((*s)[0] == ' ' || (*s)[0] == '\t'))
        (*s)++, (*n)--;
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

/* An IPv4 or IPv6 address followed by a blank: a hosts-file line. */
static int hosts_line(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (strchr("0123456789.:abcdefABCDEF", s[i]) && s[i]))
        i++;
    return i >= 2 && i < n && (s[i] == ' ' || s[i] == '\t') && (memchr(s, '.', i) || memchr(s, ':', i));
}

mtd_feed_format mtd_feed_detect(const uint8_t *buf, size_t len)
{
    size_t i = 0;
    if (len >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3))
        i = 3;
    while (i < len && strchr(" \t\r\n", buf[i]) && buf[i])
        i++;
    if (i < len && buf[i] == '{')
        return MTD_FEED_STIX;
    if (i < len && buf[i] == '[')
        return MTD_FEED_PHISHTANK_JSON;
    const uint8_t *p = buf + i, *end = buf + len;
    const char *ls;
    size_t ll;
    int seen = 0, hosts = 0, data = 0;
    while (seen < 200 && data < 20 && next_line(&p, end, &ls, &ll)) {
        seen++;
        trim(&ls, &ll);
        if (ll == 0)
            continue;
        if (ls[0] == '#') {
            if (memmem(ls, ll, "URLhaus", 7) || memmem(ls, ll, "id,dateadded,url", 16))
                return MTD_FEED_URLHAUS;
            continue;
        }
        if (data == 0 && ll >= 13 && !memcmp(ls, "phish_id,url,", 13))
            return MTD_FEED_PHISHTANK_CSV;
        data++;
        hosts += hosts_line(ls, ll);
    }
    return data && hosts * 2 > data ? MTD_FEED_HOSTS : MTD_FEED_LIST;
}

/* Host names as lists hold them: letters, digits, '-', '_', '.' (after
 * canonicalization, so lowercase), or an IP address. */
static int plausible_host(const mtd_url *u)
{
    if (u->host_is_ip)
        return 1;
    if (u->host_len > 253)
        return 0;
    size_t label = 0;
    for (uint16_t i = 0; i < u->host_len; i++) {
        char c = u->buf[i];
        if (c == '.') {
            label = 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') || ++label > 63)
            return 0;
    }
    return 1;
}

int mtd_feed_value(const char *v, size_t len, const char *threat, const char *category, int allow,
                   const mtd_feed_sink *sink, size_t line, const char **why)
{
    mtd_url u;
    int url = memmem(v, len, "://", 3) || memchr(v, '/', len);
    if (!url) { /* "||name^", "*.name", ".name": the name and everything under it */
        if (len > 2 && v[0] == '|' && v[1] == '|')
            v += 2, len -= 2;
        if (len && v[len - 1] == '^')
            len--;
        if (len > 2 && v[0] == '*' && v[1] == '.')
            v += 2, len -= 2;
        while (len && v[0] == '.')
            v++, len--;
    }
    int r = url ? mtd_url_canonicalize(v, len, &u, why) : mtd_url_from_host(v, len, &u, why);
    if (r)
        return MTD_EINVAL;
    if (!plausible_host(&u)) {
        *why = url ? "the URL's host is not a domain name or IP address"
                   : "not a domain name, IP address or URL";
        return MTD_EINVAL;
    }
    mtd_indicator ind = {url ? MTD_IND_URL : MTD_IND_HOST, &u, threat, category, allow};
    return sink->indicator(sink->ctx, &ind, line);
}

/* Hands one value to the sink, counting it or reporting its line. */
static int take(const char *v, size_t len, const char *threat, const char *cat,
                const mtd_feed_sink *sink, mtd_feed_stats *st, size_t line)
{
    const char *why = "";
    int r = mtd_feed_value(v, len, threat, cat, 0, sink, line, &why);
    if (r == MTD_EINVAL) {
        st->bad_lines++;
        if (sink->bad_line)
            sink->bad_line(sink->ctx, line, why);
        return 0;
    }
    st->indicators += r == 0;
    return r;
}

static void bad(const mtd_feed_sink *sink, mtd_feed_stats *st, size_t line, const char *why)
{
    st->bad_lines++;
    if (sink->bad_line)
        sink->bad_line(sink->ctx, line, why);
}

/* "# threat: X" / "# category: Y" in a list's comments. */
static void list_header(const char *ls, size_t ll, char *threat, size_t tl, char *cat, size_t cl)
{
    ls++, ll--;
    trim(&ls, &ll);
    if (ll > 7 && !strncasecmp(ls, "threat:", 7)) {
        const char *v = ls + 7;
        size_t vl = ll - 7;
        trim(&v, &vl);
        snprintf(threat, tl, "%.*s", (int)vl, v);
    } else if (ll > 9 && !strncasecmp(ls, "category:", 9)) {
        const char *v = ls + 9;
        size_t vl = ll - 9;
        trim(&v, &vl);
        snprintf(cat, cl, "%.*s", (int)vl, v);
        for (char *c = cat; *c; c++)
            *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
    }
}

static int parse_lines(const uint8_t *buf, size_t len, const char *name, int hosts,
                       const mtd_feed_sink *sink, mtd_feed_stats *st)
{
    char threat[200], cat[40];
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    snprintf(threat, sizeof threat, "%.*s", (int)strcspn(base, "."), base);
    snprintf(cat, sizeof cat, "%s", strcasestr(base, "phish") ? "phishing" : "malware");
    const uint8_t *p = buf, *end = buf + len;
    const char *ls;
    size_t ll, line = 0;
    int r = 0;
    while (r == 0 && next_line(&p, end, &ls, &ll)) {
        line++;
        trim(&ls, &ll);
        if (ll && ls[0] == '#' && st->indicators == 0)
            list_header(ls, ll, threat, sizeof threat, cat, sizeof cat);
        if (ll == 0 || ls[0] == '#' || ls[0] == '!' || ls[0] == ';')
            continue;
        const char *hash = memchr(ls, '#', ll);
        if (hash && hash > ls && (hash[-1] == ' ' || hash[-1] == '\t'))
            ll = (size_t)(hash - ls), trim(&ls, &ll);
        size_t tok = word_len(ls, ll);
        if (!hosts) {
            if (tok != ll)
                bad(sink, st, line, "more than one word (expected a domain or a URL)");
            else
                r = take(ls, ll, threat, cat, sink, st, line);
            continue;
        }
        if (!hosts_line(ls, ll)) {
            bad(sink, st, line, "not \"ADDRESS NAME...\"");
            continue;
        }
        for (size_t i = tok; r == 0 && i < ll;) { /* every name after the address */
            while (i < ll && (ls[i] == ' ' || ls[i] == '\t'))
                i++;
            size_t n = word_len(ls + i, ll - i);
            static const char *const local[] = {"localhost", "localhost.localdomain", "local",
                                                "broadcasthost", "ip6-localhost", "ip6-loopback",
                                                "ip6-localnet", "ip6-mcastprefix", "ip6-allnodes",
                                                "ip6-allrouters", "ip6-allhosts", "0.0.0.0", NULL};
            int skip = 0;
            for (const char *const *l = local; *l; l++)
                skip |= strlen(*l) == n && !strncasecmp(ls + i, *l, n);
            if (n && !skip)
                r = take(ls + i, n, threat, cat, sink, st, line);
            i += n;
        }
    }
    return r;
}

/* Splits a CSV line (RFC 4180 quoting) into at most max fields, copied into out. */
static int csv_split(const char *s, size_t n, char *out, size_t outlen, const char **f, int max)
{
    int nf = 0;
    size_t w = 0, i = 0;
    while (nf < max && w < outlen) {
        f[nf++] = out + w;
        if (i < n && s[i] == '"') {
            for (i++; i < n && w + 1 < outlen; i++) {
                if (s[i] == '"' && i + 1 < n && s[i + 1] == '"')
                    out[w++] = '"', i++;
                else if (s[i] == '"')
                    break;
                else
                    out[w++] = s[i];
            }
            i++;
        }
        while (i < n && s[i] != ',' && w + 1 < outlen)
            out[w++] = s[i++];
        out[w++] = 0;
        if (i >= n)
            break;
        i++; /* the comma */
    }
    return nf;
}

static int parse_csv(const uint8_t *buf, size_t len, int phishtank, const mtd_feed_sink *sink,
                     mtd_feed_stats *st)
{
    const uint8_t *p = buf, *end = buf + len;
    const char *ls;
    size_t ll, line = 0;
    int r = 0;
    char copy[8192], threat[200];
    while (r == 0 && next_line(&p, end, &ls, &ll)) {
        line++;
        trim(&ls, &ll);
        if (ll == 0 || ls[0] == '#' || (phishtank && line == 1 && ll >= 9 && !memcmp(ls, "phish_id,", 9)))
            continue;
        const char *f[10];
        int nf = csv_split(ls, ll, copy, sizeof copy, f, 10);
        if (phishtank && nf >= 8) {
            snprintf(threat, sizeof threat, "PhishTank: %s", f[7][0] ? f[7] : "Other");
            r = take(f[1], strlen(f[1]), threat, "phishing", sink, st, line);
        } else if (!phishtank && nf >= 7) {
            size_t tl = strcspn(f[6], ",");
            snprintf(threat, sizeof threat, "URLhaus %s%s%.*s", f[5][0] ? f[5] : "malware_download",
                     tl ? ": " : "", (int)tl, f[6]);
            r = take(f[2], strlen(f[2]), threat, "malware", sink, st, line);
        } else {
            bad(sink, st, line, phishtank ? "expected 8 CSV fields (phish_id,url,...,target)"
                                          : "expected 9 CSV fields (id,dateadded,url,...)");
        }
    }
    return r;
}

int mtd_feed_parse(const uint8_t *buf, size_t len, const char *name, const mtd_feed_sink *sink,
                   mtd_feed_stats *st, char *why, size_t wl)
{
    return mtd_feed_parse_format(mtd_feed_detect(buf, len), buf, len, name, sink, st, why, wl);
}

int mtd_feed_parse_format(mtd_feed_format f, const uint8_t *buf, size_t len, const char *name,
                          const mtd_feed_sink *sink, mtd_feed_stats *st, char *why, size_t wl)
{
    memset(st, 0, sizeof *st);
    if (wl)
        why[0] = 0;
    st->format = f;
    int r;
    switch (st->format) {
    case MTD_FEED_STIX:
        r = mtd_feed_parse_stix(buf, len, name, sink, st, why, wl);
        break;
    case MTD_FEED_PHISHTANK_JSON:
        r = mtd_feed_parse_phishtank_json(buf, len, sink, st, why, wl);
        break;
    case MTD_FEED_URLHAUS:
    case MTD_FEED_PHISHTANK_CSV:
        r = parse_csv(buf, len, st->format == MTD_FEED_PHISHTANK_CSV, sink, st);
        break;
    default:
        r = parse_lines(buf, len, name, st->format == MTD_FEED_HOSTS, sink, st);
    }
    if (r == 0 && st->indicators == 0) {
        if (wl && !why[0])
            snprintf(why, wl, "no readable indicator in it (read as %s; %zu bad lines)",
                     mtd_feed_format_name(st->format), st->bad_lines);
        return MTD_EINVAL;
    }
    return r;
}
