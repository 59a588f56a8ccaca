/* mtd_util: time, randomness, encodings and hashing helpers. */
#include "common/mtd_util.h"
#include "common/mtd_err.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

/* UTC calendar arithmetic by hand (H. Hinnant's days_from_civil / civil_from_days):
 * glibc's timegm and gmtime_r take the process-wide time zone lock on every call, and
 * the collector's workers, parsing three times per event, queued on it. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

void mtd_time_rfc3339(time_t t, char out[MTD_TIME_LEN])
{
    int64_t days = (int64_t)t / 86400, secs = (int64_t)t % 86400;
    if (secs < 0) {
        secs += 86400;
        days--;
    }
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    snprintf(out, MTD_TIME_LEN, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)y, m, d,
             (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
}

void mtd_time_now_rfc3339(char out[MTD_TIME_LEN])
{
    mtd_time_rfc3339(time(NULL), out);
}

/* Digits at s[0..n) as a number, or -1. (Hand-written: sscanf was a measurable share
 * of the collector's ingest time.) */
static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int mtd_time_parse(const char *s, time_t *t)
{
    if (strlen(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
        return MTD_EINVAL;
    int year = digits(s, 4), mon = digits(s + 5, 2), mday = digits(s + 8, 2);
    int hour = digits(s + 11, 2), min = digits(s + 14, 2), sec = digits(s + 17, 2);
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return MTD_EINVAL;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (strcmp(p, "Z") != 0)
        return MTD_EINVAL;
    if (year < 1970 || year > 9999 || mon < 1 || mon > 12 || mday < 1 || mday > 31 ||
        hour < 0 || hour > 23 || min < 0 || min > 59 || sec < 0 || sec > 60)
        return MTD_EINVAL;
    /* like timegm, a day past the month's end runs into the next month (02-30 is 03-02) */
    *t = (time_t)(days_from_civil(year, mon, mday) * 86400 + hour * 3600 + min * 60 + sec);
    return 0;
}

int64_t mtd_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int mtd_random(void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len) {
        ssize_t r = getrandom(p, len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return MTD_EIO;
        p += r;
        len -= (size_t)r;
    }
    return 0;
}

void mtd_hex(const uint8_t *in, size_t len, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = hx[in[i] >> 4];
        out[2 * i + 1] = hx[in[i] & 15];
    }
    out[2 * len] = 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int mtd_unhex(const char *in, uint8_t *out, size_t outlen)
{
    if (strlen(in) != 2 * outlen)
        return MTD_EINVAL;
    for (size_t i = 0; i < outlen; i++) {
        int h = hexval(in[2 * i]), l = hexval(in[2 * i + 1]);
        if (h < 0 || l < 0)
            return MTD_EINVAL;
        out[i] = (uint8_t)(h << 4 | l);
    }
    return 0;
}

void mtd_b64url(const uint8_t *in, size_t len, char *out)
{
    static const char tb[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0, i = 0;
    for (; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = tb[v >> 18];
        out[o++] = tb[(v >> 12) & 63];
        out[o++] = tb[(v >> 6) & 63];
        out[o++] = tb[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = tb[v >> 18];
        out[o++] = tb[(v >> 12) & 63];
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = tb[v >> 18];
        out[o++] = tb[(v >> 12) & 63];
        out[o++] = tb[(v >> 6) & 63];
    }
    out[o] = 0;
}

static int b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '-' ? 62 : c == '_' ? 63 : -1;
}

/* Strict: the alphabet only (no padding, no whitespace), and the unused low bits of
 * the last character zero, so that each byte string has exactly one encoding (a
 * signature or key that decodes the same from two texts is a way to slip one past a
 * cache or a comparison). */
int mtd_b64url_decode(const char *in, size_t len, uint8_t *out, size_t outlen)
{
    if (len % 4 == 1 || len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0) > outlen || len > INT32_MAX)
        return -1;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64url_value((unsigned char)in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6 | (uint32_t)v) & 0xffffff;
        if ((bits += 6) >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    if (bits && (acc & ((1u << bits) - 1)))
        return -1;
    return (int)o;
}

int mtd_random_token(size_t nbytes, char *out, size_t outlen)
{
    uint8_t raw[64];
    if (nbytes > sizeof raw || outlen < (nbytes * 4 + 2) / 3 + 1)
        return MTD_EINVAL;
    int r = mtd_random(raw, nbytes);
    if (r)
        return r;
    mtd_b64url(raw, nbytes, out);
    return 0;
}

void mtd_sha256(const void *data, size_t len, uint8_t out[32])
{
    SHA256(data, len, out);
}

void mtd_sha256_hex(const void *data, size_t len, char out[65])
{
    uint8_t d[32];
    SHA256(data, len, d);
    mtd_hex(d, 32, out);
}

int mtd_ct_equal(const void *a, const void *b, size_t len)
{
    const uint8_t *x = a, *y = b;
    uint8_t acc = 0;
    for (size_t i = 0; i < len; i++)
        acc |= x[i] ^ y[i];
    return acc == 0;
}

uint32_t mtd_fnv1a(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

int mtd_strlcpy(char *out, const char *in, size_t outlen)
{
    size_t n = strlen(in);
    if (outlen == 0)
        return MTD_ETOOBIG;
    if (n >= outlen) {
        memcpy(out, in, outlen - 1);
        out[outlen - 1] = 0;
        return MTD_ETOOBIG;
    }
    memcpy(out, in, n + 1);
    return 0;
}

int mtd_feed_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 32 || !((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= '0' && name[0] <= '9')))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
              name[i] == '_' || name[i] == '-'))
            return 0;
    return 1;
}

size_t mtd_escape_ctl(const char *in, size_t len, char *out, size_t outlen)
{
    size_t o = 0;
    if (outlen == 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        char esc[8];
        size_t n;
        if (c == '\n' || c == '\r' || c == '\t') {
            n = (size_t)snprintf(esc, sizeof esc, "\\%c", c == '\n' ? 'n' : c == '\r' ? 'r' : 't');
        } else if (c < 0x20 || c == 0x7f) {
            n = (size_t)snprintf(esc, sizeof esc, "\\x%02x", c);
        } else if (c == 0xc2 && i + 1 < len && (unsigned char)in[i + 1] >= 0x80 &&
                   (unsigned char)in[i + 1] <= 0x9f) { /* C1 control, e.g. U+009B (CSI) */
            n = (size_t)snprintf(esc, sizeof esc, "\\u%04x", (unsigned char)in[++i]);
        } else {
            esc[0] = (char)c;
            n = 1;
        }
        if (o + n >= outlen)
            break;
        memcpy(out + o, esc, n);
        o += n;
    }
    out[o] = 0;
    return o;
}

const char *mtd_plural(long long n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

int mtd_text_is_plain(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f || (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))
            return 0;
    return 1;
}

int mtd_backoff_ms(int attempt, int base_ms, int cap_ms)
{
    long long ceiling = base_ms;
    for (int i = 0; i < attempt && ceiling < cap_ms; i++)
        ceiling *= 2;
    if (ceiling > cap_ms)
        ceiling = cap_ms;
    uint32_t r;
    mtd_random(&r, sizeof r);
    return (int)(r % (uint32_t)(ceiling + 1));
}
