/* mtd_dumpsys: service sections of a dumpsys output, and the adb and accessibility
 * services' state. */
#include "android/mtd_dumpsys.h"
#include "common/mtd_err.h"

#include <ctype.h>
#include <string.h>

/* Lines of buf without their "\n" or "\r\n"; *at advances. Returns 0 at the end. */
static int next_line(const char *buf, size_t len, size_t *at, const char **line, size_t *n)
{
    if (*at >= len)
        return 0;
    const char *s = buf + *at, *nl = memchr(s, '\n', len - *at);
    size_t l = nl ? (size_t)(nl - s) : len - *at;
    *at += l + (nl != NULL);
    if (l && s[l - 1] == '\r')
        l--;
    *line = s;
    *n = l;
    return 1;
}

static void trim(const char **s, size_t *n)
{
    while (*n && isspace((unsigned char)**s))
        (*s)++, (*n)--;
    while (*n && isspace((unsigned char)(*s)[*n - 1]))
        (*n)--;
}

static int starts(const char *s, size_t n, const char *prefix)
{
    size_t pl = strlen(prefix);
    return n >= pl && !memcmp(s, prefix, pl);
}

/* The service named by a "DUMP OF SERVICE [PRIORITY ]name:" line, or 0. */
static int header_name(const char *s, size_t n, const char **name, size_t *nl)
{
    static const char *const prio[] = {"CRITICAL ", "HIGH ", "NORMAL "};
    if (!starts(s, n, "DUMP OF SERVICE "))
        return 0;
    s += 16, n -= 16;
    for (size_t i = 0; i < 3; i++)
        if (starts(s, n, prio[i])) {
            s += strlen(prio[i]);
            n -= strlen(prio[i]);
        }
    trim(&s, &n);
    if (!n || s[n - 1] != ':')
        return 0;
    *name = s;
    *nl = n - 1;
    return 1;
}

int mtd_dumpsys_section(const uint8_t *buf, size_t len, const char *service,
                        const uint8_t **sec, size_t *seclen)
{
    const char *b = (const char *)buf, *line, *name;
    size_t at = 0, n, nl, start = 0;
    int headers = 0, inside = 0;
    while (next_line(b, len, &at, &line, &n)) {
        size_t line_at = (size_t)(line - b);
        int is_header = header_name(line, n, &name, &nl);
        int is_end = starts(line, n, "--------- ") && memmem(line, n, "was the duration of dumpsys", 27);
        if (inside && (is_header || is_end)) {
            *sec = buf + start;
            *seclen = line_at - start;
            return 0;
        }
        if (is_header) {
            headers++;
            if (nl == strlen(service) && !memcmp(name, service, nl)) {
                inside = 1;
                start = at;
            }
        }
    }
    if (inside) {
        *sec = buf + start;
        *seclen = len - start;
        return 0;
    }
    if (headers)
        return MTD_ENOENT;
    *sec = buf; /* the output of `dumpsys service` alone */
    *seclen = len;
    return 0;
}

/* An adb public key: base64 of the key struct (over 500 characters for RSA-2048),
 * then an optional " user@host" comment. */
static int is_key_line(const char *s, size_t n)
{
    size_t k = 0;
    while (k < n && (isalnum((unsigned char)s[k]) || s[k] == '+' || s[k] == '/' || s[k] == '='))
        k++;
    return k >= 64 && (k == n || s[k] == ' ');
}

/* "name=" at the start of a trimmed line: the name's length, or 0. */
static size_t key_name(const char *s, size_t n)
{
    size_t k = 0;
    while (k < n && (islower((unsigned char)s[k]) || s[k] == '_'))
        k++;
    return k && k < n && s[k] == '=' ? k : 0;
}

int mtd_dumpsys_adb_parse(const uint8_t *buf, size_t len, mtd_dumpsys_adb *out)
{
    enum { NONE, USER, SYSTEM } in = NONE;
    const char *b = (const char *)buf, *line;
    size_t at = 0, n;
    int seen = 0;
    out->connected = -1;
    out->user_keys = out->system_keys = 0;
    while (next_line(b, len, &at, &line, &n)) {
        trim(&line, &n);
        size_t k = key_name(line, n);
        if (k) {
            const char *v = line + k + 1;
            size_t vl = n - k - 1;
            in = NONE;
            if (k == 16 && starts(line, n, "connected_to_adb")) {
                out->connected = starts(v, vl, "true");
                seen = 1;
            } else if (k == 9 && starts(line, n, "user_keys")) {
                in = USER;
                seen = 1;
            } else if (k == 11 && starts(line, n, "system_keys")) {
                in = SYSTEM;
            }
            if (in == NONE || !is_key_line(v, vl))
                continue;
            line = v, n = vl;
        }
        if (in != NONE && is_key_line(line, n))
            (*(in == USER ? &out->user_keys : &out->system_keys))++;
    }
    return seen ? 0 : MTD_ENOENT;
}

/* A Java name: identifiers of letters, digits, '_' and '$' joined by single dots;
 * a class may start with '.' (ComponentName's short form, relative to the package). */
static int java_name(const char *s, size_t n, int may_start_with_dot)
{
    if (n && *s == '.' && may_start_with_dot)
        s++, n--;
    int start = 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.') {
            if (start)
                return 0;
            start = 1;
        } else if (isalpha(c) || c == '_' || c == '$' || (!start && isdigit(c))) {
            start = 0;
        } else {
            return 0;
        }
    }
    return n && !start;
}

/* A component name "package/class" as ComponentName prints it; anything else is not
 * taken (a dump is outside data). */
static void add_component(mtd_strlist *out, const char *s, size_t n)
{
    trim(&s, &n);
    const char *slash = memchr(s, '/', n);
    if (!slash || n > 512)
        return;
    size_t pl = (size_t)(slash - s);
    if (java_name(s, pl, 0) && java_name(slash + 1, n - pl - 1, 1))
        mtd_strlist_add(out, s, n);
}

/* "{{a/b}, {c/d}}" or "{a/b, c/d}": every brace-free run holding a '/'. */
static void inline_list(mtd_strlist *out, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && strchr("{}, ", s[i]))
            i++;
        size_t j = i;
        while (j < n && !strchr("{},", s[j]))
            j++;
        if (j > i)
            add_component(out, s + i, j - i);
        i = j;
    }
}

int mtd_dumpsys_accessibility_enabled(const uint8_t *buf, size_t len, mtd_strlist *out)
{
    const char *b = (const char *)buf, *line;
    size_t at = 0, n;
    int seen = 0, block = 0;
    while (next_line(b, len, &at, &line, &n)) {
        trim(&line, &n);
        if (block) {
            if (n == 1 && line[0] == '}') {
                block = 0;
                continue;
            }
            const char *colon = memmem(line, n, " : ", 3); /* "0 : pkg/cls" */
            if (colon)
                add_component(out, colon + 3, n - (size_t)(colon + 3 - line));
            else
                add_component(out, line, n);
            continue;
        }
        if (n < 17 || strncasecmp(line, "enabled services:", 17) != 0)
            continue;
        seen = 1;
        const char *v = line + 17;
        size_t vl = n - 17;
        trim(&v, &vl);
        if (vl == 1 && v[0] == '{')
            block = 1;
        else
            inline_list(out, v, vl);
    }
    return seen ? 0 : MTD_ENOENT;
}
