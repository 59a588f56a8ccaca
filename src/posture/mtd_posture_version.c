/* mtd_posture_version: ordering versions the way OSV ranges need (SEMVER ranges by
 * SemVer 2.0 precedence, ECOSYSTEM ranges of app versions by a scheme-free order) and
 * the CVSS v3 base score of a vector, for records that give no severity word.
 * Written here because no Debian C library does either; both follow their specs
 * (semver.org 2.0.0 section 11, FIRST's CVSS v3.1 specification section 7). */
#include "posture/mtd_posture.h"
#include "common/mtd_err.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Compares two digit runs of any length as numbers. */
static int num_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    while (al > 1 && *a == '0')
        a++, al--;
    while (bl > 1 && *b == '0')
        b++, bl--;
    if (al != bl)
        return al < bl ? -1 : 1;
    int c = memcmp(a, b, al);
    return c < 0 ? -1 : c > 0;
}

typedef struct {
    const char *num[3];
    size_t len[3];
    const char *pre; /* after '-', up to '+' or the end; NULL when none */
    size_t prelen;
} semver;

static int semver_parse(const char *s, semver *v)
{
    static const char zero[] = "0";
    if (*s == 'v' || *s == 'V')
        s++;
    memset(v, 0, sizeof *v);
    for (int i = 0; i < 3; i++) {
        v->num[i] = zero, v->len[i] = 1;
        if (i > 0 && *s != '.')
            continue; /* "1" and "1.2" read as 1.0.0 and 1.2.0 */
        if (i > 0)
            s++;
        size_t n = strspn(s, "0123456789");
        if (!n)
            return MTD_EINVAL;
        v->num[i] = s, v->len[i] = n;
        s += n;
    }
    if (*s == '-') {
        v->pre = ++s;
        v->prelen = strcspn(s, "+");
        if (!v->prelen)
            return MTD_EINVAL;
        for (size_t i = 0; i < v->prelen; i++)
            if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.')
                return MTD_EINVAL;
        s += v->prelen;
    }
    if (*s == '+')
        return s[1] ? 0 : MTD_EINVAL; /* build metadata has no precedence */
    return *s ? MTD_EINVAL : 0;
}

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    return n > 0;
}

/* Pre-release precedence: dot-separated identifiers, numeric ones numerically and
 * below alphanumeric ones, a shorter list first when all else is equal. */
static int pre_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    while (al && bl) {
        size_t x = 0, y = 0;
        while (x < al && a[x] != '.')
            x++;
        while (y < bl && b[y] != '.')
            y++;
        int an = all_digits(a, x), bn = all_digits(b, y), c;
        if (an && bn)
            c = num_cmp(a, x, b, y);
        else if (an != bn)
            c = an ? -1 : 1;
        else {
            c = memcmp(a, b, x < y ? x : y);
            c = c ? (c < 0 ? -1 : 1) : (x == y ? 0 : x < y ? -1 : 1);
        }
        if (c)
            return c;
        a += x, al -= x, b += y, bl -= y;
        if (al)
            a++, al--;
        if (bl)
            b++, bl--;
    }
    return al ? 1 : bl ? -1 : 0;
}

int mtd_posture_semver_cmp(const char *a, const char *b, int *cmp)
{
    semver x, y;
    if (semver_parse(a, &x) != 0 || semver_parse(b, &y) != 0)
        return MTD_EINVAL;
    for (int i = 0; i < 3; i++)
        if ((*cmp = num_cmp(x.num[i], x.len[i], y.num[i], y.len[i])) != 0)
            return 0;
    if (!x.pre || !y.pre)
        *cmp = x.pre ? -1 : y.pre ? 1 : 0; /* a pre-release comes before its release */
    else
        *cmp = pre_cmp(x.pre, x.prelen, y.pre, y.prelen);
    return 0;
}

static int is_sep(char c) { return c == '.' || c == '-' || c == '_' || c == '+' || c == '~' || c == ' '; }

/* The next run of digits or of other characters; *s skips separators first. */
static size_t token(const char **s)
{
    while (**s && is_sep(**s))
        (*s)++;
    const char *p = *s;
    int digits = isdigit((unsigned char)*p) != 0;
    while (*p && !is_sep(*p) && (isdigit((unsigned char)*p) != 0) == digits)
        p++;
    return (size_t)(p - *s);
}

int mtd_posture_version_cmp(const char *a, const char *b)
{
    for (;;) {
        size_t x = token(&a), y = token(&b);
        if (!x || !y) {
            /* one ran out: a number after it makes the other newer ("2.0.1" > "2.0"),
             * a word older ("2.0-beta" < "2.0") */
            if (!x && !y)
                return 0;
            if (!x)
                return isdigit((unsigned char)*b) ? -1 : 1;
            return isdigit((unsigned char)*a) ? 1 : -1;
        }
        int an = isdigit((unsigned char)*a) != 0, bn = isdigit((unsigned char)*b) != 0, c;
        if (an && bn)
            c = num_cmp(a, x, b, y);
        else if (an != bn)
            c = an ? 1 : -1;
        else {
            c = strncmp(a, b, x < y ? x : y);
            c = c ? (c < 0 ? -1 : 1) : (x == y ? 0 : x < y ? -1 : 1);
        }
        if (c)
            return c;
        a += x, b += y;
    }
}

/* One metric of a v3 vector: its value letter, or 0 when absent. */
static char metric(const char *v, const char *name)
{
    char key[8];
    snprintf(key, sizeof key, "/%s:", name);
    const char *p = strstr(v, key);
    return p ? p[strlen(key)] : 0;
}

/* Roundup as CVSS v3.1 defines it (exact to one decimal, without float drift). */
static double roundup(double x)
{
    long i = lround(x * 100000);
    return i % 10000 == 0 ? i / 100000.0 : (floor(i / 10000.0) + 1) / 10.0;
}

double mtd_posture_cvss3_score(const char *v)
{
    if (strncmp(v, "CVSS:3.", 7) != 0)
        return -1;
    char av = metric(v, "AV"), ac = metric(v, "AC"), pr = metric(v, "PR"), ui = metric(v, "UI"),
         sc = metric(v, "S"), c = metric(v, "C"), in = metric(v, "I"), a = metric(v, "A");
    const char *avs = "NALP", *cia = "HLN";
    static const double avw[] = {0.85, 0.62, 0.55, 0.2}, ciaw[] = {0.56, 0.22, 0};
    if (!av || !strchr(avs, av) || (ac != 'L' && ac != 'H') || !pr || !strchr("NLH", pr) ||
        (ui != 'N' && ui != 'R') || (sc != 'U' && sc != 'C') || !c || !strchr(cia, c) || !in ||
        !strchr(cia, in) || !a || !strchr(cia, a))
        return -1;
    int changed = sc == 'C';
    double prw = pr == 'N' ? 0.85 : pr == 'L' ? (changed ? 0.68 : 0.62) : (changed ? 0.5 : 0.27);
    double iss = 1 - (1 - ciaw[strchr(cia, c) - cia]) * (1 - ciaw[strchr(cia, in) - cia]) *
                         (1 - ciaw[strchr(cia, a) - cia]);
    double impact = changed ? 7.52 * (iss - 0.029) - 3.25 * pow(iss - 0.02, 15) : 6.42 * iss;
    double expl = 8.22 * avw[strchr(avs, av) - avs] * (ac == 'L' ? 0.77 : 0.44) * prw * (ui == 'N' ? 0.85 : 0.62);
    if (impact <= 0)
        return 0;
    double base = changed ? 1.08 * (impact + expl) : impact + expl;
    return roundup(base < 10 ? base : 10);
}
