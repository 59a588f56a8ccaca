/* mtd_sni: the TLS ClientHello server_name and the HTTP Host header of a flow's first
 * bytes (see mtd_sni.h; the QUIC Initial is in mtd_sni_quic.c). Written by hand: the
 * libraries that parse TLS (OpenSSL, GnuTLS) do so only as one end of a connection,
 * never over bytes seen in passing, and this is a few fields at known places. */
#include "webprot/mtd_sni.h"
#include "webprot/mtd_sni_int.h"

#include <string.h>
#include <strings.h>

const char *mtd_sni_result_name(mtd_sni_result r)
{
    switch (r) {
    case MTD_SNI_FOUND: return "ok";
    case MTD_SNI_MORE: return "truncated";
    case MTD_SNI_NONE: return "no_sni";
    default: return "invalid";
    }
}

static int host_byte(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
}

mtd_sni_result mtd_sni__name(const uint8_t *p, size_t n, char name[MTD_SNI_NAME_MAX + 1])
{
    if (n && p[n - 1] == '.')
        n--; /* the root label */
    if (n == 0 || n > MTD_SNI_NAME_MAX)
        return MTD_SNI_INVALID;
    int v6 = p[0] == '[' && p[n - 1] == ']';
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (!host_byte(c) && !(v6 && (c == ':' || c == '[' || c == ']')))
            return MTD_SNI_INVALID;
        name[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    name[n] = 0;
    return MTD_SNI_FOUND;
}

/* ---- TLS ---- */

typedef struct {
    const uint8_t *p;
    size_t n;
} span;

static int take(span *s, size_t k, span *out)
{
    if (s->n < k)
        return -1;
    if (out)
        *out = (span){s->p, k};
    s->p += k;
    s->n -= k;
    return 0;
}

static int take_u8(span *s, size_t *v)
{
    if (s->n < 1)
        return -1;
    *v = s->p[0];
    return take(s, 1, NULL);
}

static int take_u16(span *s, size_t *v)
{
    if (s->n < 2)
        return -1;
    *v = (size_t)s->p[0] << 8 | s->p[1];
    return take(s, 2, NULL);
}

/* A vector with a length prefix of w bytes (1 or 2). */
static int take_vec(span *s, int w, span *out)
{
    size_t len;
    if ((w == 1 ? take_u8(s, &len) : take_u16(s, &len)) != 0)
        return -1;
    return take(s, len, out);
}

/* The server_name extension's body: the first host_name entry. */
static mtd_sni_result server_name(span ext, char *name)
{
    span list;
    if (take_vec(&ext, 2, &list) != 0)
        return MTD_SNI_INVALID;
    while (list.n) {
        size_t type;
        span host;
        if (take_u8(&list, &type) != 0 || take_vec(&list, 2, &host) != 0)
            return MTD_SNI_INVALID;
        if (type == 0)
            return mtd_sni__name(host.p, host.n, name);
    }
    return MTD_SNI_NONE;
}

mtd_sni_result mtd_sni__client_hello(const uint8_t *buf, size_t len, int complete, char *name)
{
    span s = {buf, len}, body, skip;
    size_t type, hlen, extlen;
    if (len < 4)
        return complete ? MTD_SNI_INVALID : MTD_SNI_MORE;
    type = buf[0];
    hlen = (size_t)buf[1] << 16 | (size_t)buf[2] << 8 | buf[3];
    if (type != 1 || hlen > MTD_SNI_TLS_MAX)
        return MTD_SNI_INVALID;
    take(&s, 4, NULL);
    /* Bounded by the bytes at hand rather than the declared length: clients (and
     * sniproxy's test files) are seen to declare a length short of their extensions. */
    int whole = s.n >= hlen;
    if (!whole && complete)
        return MTD_SNI_INVALID;
    body = s;
    /* version, random, session_id, cipher_suites, compression_methods */
    if (take(&body, 2 + 32, NULL) != 0 || take_vec(&body, 1, &skip) != 0 || take_vec(&body, 2, &skip) != 0 ||
        take_vec(&body, 1, &skip) != 0)
        return whole ? MTD_SNI_INVALID : MTD_SNI_MORE;
    if (body.n == 0)
        return whole ? MTD_SNI_NONE : MTD_SNI_MORE; /* SSL 3.0 style: no extensions */
    if (take_u16(&body, &extlen) != 0)
        return whole ? MTD_SNI_INVALID : MTD_SNI_MORE;
    if (extlen < body.n)
        body.n = extlen;
    while (body.n) {
        size_t etype;
        span ext;
        if (take_u16(&body, &etype) != 0 || take_vec(&body, 2, &ext) != 0)
            return whole ? MTD_SNI_INVALID : MTD_SNI_MORE;
        if (etype == 0)
            return server_name(ext, name);
    }
    return whole ? MTD_SNI_NONE : MTD_SNI_MORE;
}

mtd_sni_result mtd_sni_tls(const uint8_t *buf, size_t len, char name[MTD_SNI_NAME_MAX + 1])
{
    /* the handshake bytes of the records, joined: a ClientHello may span records */
    static __thread uint8_t hs[MTD_SNI_TLS_MAX + 4];
    size_t have = 0;
    if (len >= 1 && (buf[0] & 0x80))
        return MTD_SNI_NONE; /* an SSL 2.0 compatible hello: it has no extensions */
    if (len >= 1 && buf[0] != 22)
        return MTD_SNI_INVALID;
    while (len) {
        if (len < 5)
            return MTD_SNI_MORE;
        size_t rlen = (size_t)buf[3] << 8 | buf[4];
        if (buf[0] != 22 || buf[1] != 3 || rlen == 0 || rlen > 16384 + 2048)
            return MTD_SNI_INVALID;
        if (len - 5 < rlen)
            return MTD_SNI_MORE;
        size_t k = rlen < sizeof hs - have ? rlen : sizeof hs - have;
        memcpy(hs + have, buf + 5, k);
        have += k;
        buf += 5 + rlen;
        len -= 5 + rlen;
        mtd_sni_result r = mtd_sni__client_hello(hs, have, 0, name);
        if (r != MTD_SNI_MORE || have == sizeof hs)
            return r == MTD_SNI_MORE ? MTD_SNI_INVALID : r;
    }
    return MTD_SNI_MORE;
}

/* ---- HTTP ---- */

static const char *const methods[] = {"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS",
                                      "PATCH", "CONNECT", "TRACE", NULL};

/* 1: buf starts a known method and a space; 0: it could still (a prefix); -1: it cannot. */
static int method(const uint8_t *buf, size_t len)
{
    int prefix = 0;
    for (int i = 0; methods[i]; i++) {
        size_t m = strlen(methods[i]);
        size_t k = len < m + 1 ? len : m + 1;
        if (memcmp(buf, methods[i], k < m ? k : m) != 0 || (k == m + 1 && buf[m] != ' '))
            continue;
        if (k == m + 1)
            return 1;
        prefix = 1;
    }
    return prefix ? 0 : -1;
}

int mtd_sni_sniff(const uint8_t *buf, size_t len)
{
    if (len >= 3 && buf[0] == 22 && buf[1] == 3 && buf[2] <= 4)
        return 1;
    if (len >= 4 && method(buf, len) == 1)
        return 2;
    return 0;
}

/* The Host header's value without the port. */
static mtd_sni_result host_value(const uint8_t *v, size_t n, char *name)
{
    while (n && (*v == ' ' || *v == '\t'))
        v++, n--;
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r'))
        n--;
    size_t end = n;
    if (n && v[0] == '[') {
        const uint8_t *close = memchr(v, ']', n);
        if (!close)
            return MTD_SNI_INVALID;
        end = (size_t)(close - v) + 1;
    } else {
        const uint8_t *colon = memchr(v, ':', n);
        if (colon)
            end = (size_t)(colon - v);
    }
    return end ? mtd_sni__name(v, end, name) : MTD_SNI_NONE;
}

mtd_sni_result mtd_sni_http(const uint8_t *buf, size_t len, char name[MTD_SNI_NAME_MAX + 1])
{
    int m = method(buf, len);
    if (m < 0)
        return MTD_SNI_INVALID;
    if (m == 0)
        return MTD_SNI_MORE;
    size_t cap = len < MTD_SNI_HTTP_MAX ? len : MTD_SNI_HTTP_MAX;
    const uint8_t *p = buf, *end = buf + cap;
    const uint8_t *nl = memchr(p, '\n', cap);
    if (!nl)
        return cap == MTD_SNI_HTTP_MAX ? MTD_SNI_INVALID : MTD_SNI_MORE;
    for (p = nl + 1; p < end; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        size_t n = (size_t)(nl - p);
        if (n && p[n - 1] == '\r')
            n--;
        if (n == 0)
            return MTD_SNI_NONE; /* the blank line: the headers ended without a Host */
        if (n >= 5 && !strncasecmp((const char *)p, "host:", 5))
            return host_value(p + 5, n - 5, name);
    }
    return cap == MTD_SNI_HTTP_MAX ? MTD_SNI_INVALID : MTD_SNI_MORE;
}
