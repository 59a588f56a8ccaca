/* mtd_alert_rules: what a tenant's admin may configure, checked before it is kept:
 * destinations (kind, URL or HOST:PORT, secret, certificate), suppression rules, and the
 * address policy every connection to a destination passes. A tenant's admin is not
 * trusted with the collector's network: a destination on a loopback, private,
 * link-local (cloud metadata) or multicast address is refused, when it is written as
 * one and again at connect time on the address it resolved to, unless the operator
 * allowed that network (--alert-allow-net). */
#include "alerts/mtd_alert_int.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int mtd_alert_nets_parse(const char *s, mtd_alert_nets *out, char *why, size_t whylen)
{
    memset(out, 0, sizeof *out);
    if (!s || !*s)
        return 0;
    char buf[1024];
    mtd_strlcpy(buf, s, sizeof buf);
    for (char *save, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (out->n == (int)(sizeof out->net / sizeof out->net[0])) {
            snprintf(why, whylen, "--alert-allow-net: at most 16 networks");
            return MTD_EINVAL;
        }
        char *slash = strchr(tok, '/');
        int v6 = strchr(tok, ':') != NULL, max = v6 ? 128 : 32;
        long bits = max;
        if (slash) {
            *slash = 0;
            char *end;
            bits = strtol(slash + 1, &end, 10);
            if (*end || end == slash + 1 || bits < 0 || bits > max) {
                snprintf(why, whylen, "--alert-allow-net %s: the prefix length must be 0 to %d", tok, max);
                return MTD_EINVAL;
            }
        }
        if (inet_pton(v6 ? AF_INET6 : AF_INET, tok, out->net[out->n].addr) != 1) {
            snprintf(why, whylen, "--alert-allow-net %s: not an IPv4 or IPv6 network (e.g. 127.0.0.1/32)", tok);
            return MTD_EINVAL;
        }
        out->net[out->n].v6 = v6;
        out->net[out->n].bits = (int)bits;
        out->n++;
    }
    return 0;
}

static int prefix_eq(const uint8_t *a, const uint8_t *b, int bits)
{
    int bytes = bits / 8, rest = bits % 8;
    if (memcmp(a, b, (size_t)bytes) != 0)
        return 0;
    return !rest || ((a[bytes] ^ b[bytes]) & (0xff << (8 - rest))) == 0;
}

/* Loopback, unspecified, private, shared, link-local, benchmark, reserved, multicast. */
static int v4_special(const uint8_t *a)
{
    static const struct { uint8_t p[4]; int bits; } nets[] = {
        {{0, 0, 0, 0}, 8},     {{10, 0, 0, 0}, 8},   {{100, 64, 0, 0}, 10}, {{127, 0, 0, 0}, 8},
        {{169, 254, 0, 0}, 16}, {{172, 16, 0, 0}, 12}, {{192, 0, 0, 0}, 24}, {{192, 168, 0, 0}, 16},
        {{198, 18, 0, 0}, 15}, {{224, 0, 0, 0}, 3}};
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++)
        if (prefix_eq(a, nets[i].p, nets[i].bits))
            return 1;
    return 0;
}

static int v6_special(const uint8_t *a)
{
    static const uint8_t zero[16], mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (!memcmp(a, mapped, 12))
        return v4_special(a + 12);
    if (prefix_eq(a, zero, 96)) /* ::, ::1 and the old IPv4-compatible ones */
        return 1;
    return (a[0] & 0xfe) == 0xfc /* fc00::/7 */ || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) /* fe80::/10 */ ||
           a[0] == 0xff;
}

int mtd_alert_addr_allowed(const mtd_alert_nets *allow, const struct sockaddr *sa)
{
    const uint8_t *a;
    int v6;
    if (sa->sa_family == AF_INET) {
        a = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
        v6 = 0;
    } else if (sa->sa_family == AF_INET6) {
        a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
        v6 = 1;
    } else {
        return 0;
    }
    for (int i = 0; allow && i < allow->n; i++)
        if (allow->net[i].v6 == v6 && prefix_eq(a, allow->net[i].addr, allow->net[i].bits))
            return 1;
    return v6 ? !v6_special(a) : !v4_special(a);
}

/* A host written as an address literal is checked now; a name is checked on the
 * addresses it resolves to, at each connection. */
static int literal_allowed(const char *host, const mtd_alert_nets *allow)
{
    struct sockaddr_in s4 = {.sin_family = AF_INET};
    struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};
    char h[300];
    mtd_strlcpy(h, host, sizeof h);
    size_t n = strlen(h);
    if (h[0] == '[' && n > 2 && h[n - 1] == ']') {
        memmove(h, h + 1, n - 2);
        h[n - 2] = 0;
    }
    if (inet_pton(AF_INET, h, &s4.sin_addr) == 1)
        return mtd_alert_addr_allowed(allow, (struct sockaddr *)&s4);
    if (inet_pton(AF_INET6, h, &s6.sin6_addr) == 1)
        return mtd_alert_addr_allowed(allow, (struct sockaddr *)&s6);
    return 1; /* a name: checked on what it resolves to, at connect time */
}

static int host_chars_ok(const char *h, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)h[i]) && !strchr(".-:[]_", h[i]))
            return 0;
    return n > 0 && n <= 253;
}

/* http(s)://host[:port][/path], no user or password, no fragment, printable ASCII. */
static int check_url(const char *u, const mtd_alert_nets *allow, char *why, size_t whylen)
{
    size_t n = strlen(u);
    const char *rest = !strncmp(u, "https://", 8) ? u + 8 : !strncmp(u, "http://", 7) ? u + 7 : NULL;
    if (!rest) {
        snprintf(why, whylen, "\"url\" must be an http:// or https:// URL");
        return MTD_EINVAL;
    }
    if (n > 1024) {
        snprintf(why, whylen, "\"url\" is at most 1024 bytes");
        return MTD_EINVAL;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)u[i] <= ' ' || (unsigned char)u[i] >= 0x7f || u[i] == '#' || u[i] == '\\') {
            snprintf(why, whylen, "\"url\" may not hold a space, a control or non-ASCII character, '#' or '\\'");
            return MTD_EINVAL;
        }
    size_t hl = strcspn(rest, "/?");
    char host[300];
    snprintf(host, sizeof host, "%.*s", (int)(hl < 299 ? hl : 299), rest);
    if (strchr(host, '@')) {
        snprintf(why, whylen, "\"url\" may not carry a user name or password (use --secret or --token)");
        return MTD_EINVAL;
    }
    char *colon = host[0] == '[' ? strstr(host, "]:") : strrchr(host, ':');
    if (colon) {
        char *p = colon + (host[0] == '[' ? 2 : 1), *end;
        long port = strtol(p, &end, 10);
        if (*end || port < 1 || port > 65535) {
            snprintf(why, whylen, "\"url\" has a bad port");
            return MTD_EINVAL;
        }
        colon[host[0] == '[' ? 1 : 0] = 0;
    }
    if (!host_chars_ok(host, strlen(host))) {
        snprintf(why, whylen, "\"url\" has no valid host");
        return MTD_EINVAL;
    }
    if (!literal_allowed(host, allow)) {
        snprintf(why, whylen, "\"url\" host %s is a loopback, private, link-local or multicast address,"
                 " which a destination may not be unless the operator allows it (--alert-allow-net)", host);
        return MTD_EPERM;
    }
    return 0;
}

/* HOST:PORT of a syslog receiver. */
static int check_hostport(const char *t, const mtd_alert_nets *allow, char *why, size_t whylen)
{
    const char *colon = t[0] == '[' ? strstr(t, "]:") : strrchr(t, ':');
    char host[300], *end;
    if (!colon || strlen(t) > 300) {
        snprintf(why, whylen, "\"target\" must be HOST:PORT");
        return MTD_EINVAL;
    }
    long port = strtol(colon + (t[0] == '[' ? 2 : 1), &end, 10);
    size_t hl = (size_t)(colon - t) + (t[0] == '[');
    snprintf(host, sizeof host, "%.*s", (int)hl, t);
    if (*end || port < 1 || port > 65535 || !host_chars_ok(host, strlen(host))) {
        snprintf(why, whylen, "\"target\" must be HOST:PORT, with a port from 1 to 65535");
        return MTD_EINVAL;
    }
    if (!literal_allowed(host, allow)) {
        snprintf(why, whylen, "\"target\" host %s is a loopback, private, link-local or multicast address,"
                 " which a destination may not be unless the operator allows it (--alert-allow-net)", host);
        return MTD_EPERM;
    }
    return 0;
}

static int printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
            return 0;
    return 1;
}

int mtd_alert_dest_parse(const json_t *j, const mtd_alert_nets *allow, mtd_alert_dest *d, char *why,
                         size_t whylen)
{
    static const char *const kinds[] = {"webhook", "syslog", "splunk-hec", "elastic", "risk-push", NULL};
    const char *kind = json_string_value(json_object_get(j, "kind"));
    const char *target = json_string_value(json_object_get(j, "target"));
    const char *secret = json_string_value(json_object_get(j, "secret"));
    const char *ca = json_string_value(json_object_get(j, "ca_pem"));
    const char *index = json_string_value(json_object_get(j, "index"));
    json_t *tls = json_object_get(j, "tls"), *bm = json_object_get(j, "batch_max");
    memset(d, 0, sizeof *d);
    int k = -1;
    for (int i = 0; kind && kinds[i]; i++)
        if (!strcmp(kind, kinds[i]))
            k = i;
    if (k < 0) {
        snprintf(why, whylen, "\"kind\" must be webhook, syslog, splunk-hec, elastic or risk-push");
        return MTD_EINVAL;
    }
    if (!target) {
        snprintf(why, whylen, "\"target\" is required: a URL, or HOST:PORT for syslog");
        return MTD_EINVAL;
    }
    int r = k == 1 ? check_hostport(target, allow, why, whylen) : check_url(target, allow, why, whylen);
    if (r)
        return r;
    int needs_secret = k == 0 || k == 2 || k == 4;
    if (needs_secret && (!secret || strlen(secret) < 16 || strlen(secret) > 256 || !printable(secret))) {
        snprintf(why, whylen, "%s needs \"secret\" (%s) of 16 to 256 printable characters, no space", kind,
                 k == 2 ? "the HEC token" : "the HMAC key");
        return MTD_EINVAL;
    }
    if (!needs_secret && secret) {
        snprintf(why, whylen, "%s takes no \"secret\"", kind);
        return MTD_EINVAL;
    }
    if (tls && (!json_is_boolean(tls) || k != 1)) {
        snprintf(why, whylen, "\"tls\" is a boolean, for syslog only (https:// URLs use TLS already)");
        return MTD_EINVAL;
    }
    if (ca && (strlen(ca) > 65536 || !strstr(ca, "-----BEGIN CERTIFICATE-----"))) {
        snprintf(why, whylen, "\"ca_pem\" must be PEM certificates (at most 64 KiB)");
        return MTD_EINVAL;
    }
    if (index && (k != 3 || !*index || strlen(index) > 100 || strspn(index, "abcdefghijklmnopqrstuvwxyz0123456789-_.") != strlen(index) || index[0] == '_' || index[0] == '-')) {
        snprintf(why, whylen, "\"index\" (elastic only) is 1 to 100 lowercase letters, digits, '-', '_', '.'");
        return MTD_EINVAL;
    }
    if (bm && (!json_is_integer(bm) || json_integer_value(bm) < 1 || json_integer_value(bm) > MTD_ALERT_BATCH_MAX ||
               (k != 0 && json_integer_value(bm) != 1))) {
        snprintf(why, whylen, "\"batch_max\" (webhook only) is an integer from 1 (one event a POST, the default)"
                 " to %d", MTD_ALERT_BATCH_MAX);
        return MTD_EINVAL;
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)j, key, v) {
        static const char *const known[] = {"kind", "target", "secret", "ca_pem", "index", "tls", "batch_max", NULL};
        int ok = 0;
        for (int i = 0; known[i]; i++)
            ok |= !strcmp(key, known[i]);
        if (!ok) {
            snprintf(why, whylen, "unknown key \"%.60s\" (kind, target, secret, tls, ca_pem, index, batch_max)", key);
            return MTD_EINVAL;
        }
    }
    mtd_strlcpy(d->kind, kind, sizeof d->kind);
    mtd_strlcpy(d->target, target, sizeof d->target);
    mtd_strlcpy(d->secret, secret ? secret : "", sizeof d->secret);
    mtd_strlcpy(d->index, index ? index : "openmtd-alerts", sizeof d->index);
    d->tls = json_is_true(tls);
    d->batch_max = bm ? (int)json_integer_value(bm) : 1;
    d->ca_pem = ca ? strdup(ca) : NULL;
    return 0;
}

void mtd_alert_dest_free(mtd_alert_dest *d)
{
    free(d->ca_pem);
    d->ca_pem = NULL;
}

int mtd_alert_supp_parse(const json_t *j, char *kind, char *value, size_t vlen, char *device, char *group,
                         int64_t *expires_at, char *reason, size_t rlen, char *why, size_t whylen)
{
    static const char *const kinds[] = {"package", "signer", "domain", "check", NULL};
    const char *k = json_string_value(json_object_get(j, "kind"));
    const char *v = json_string_value(json_object_get(j, "value"));
    const char *dev = json_string_value(json_object_get(j, "device_id"));
    const char *why_s = json_string_value(json_object_get(j, "reason"));
    const char *grp = json_string_value(json_object_get(j, "group"));
    json_t *days = json_object_get(j, "expires_in_days"), *secs = json_object_get(j, "expires_in_seconds");
    int ok = 0;
    for (int i = 0; k && kinds[i]; i++)
        ok |= !strcmp(k, kinds[i]);
    if (!ok) {
        snprintf(why, whylen, "\"kind\" must be package, signer, domain or check");
        return MTD_EINVAL;
    }
    if (!v || !*v || strlen(v) >= vlen || !printable(v)) {
        snprintf(why, whylen, "\"value\" must be 1 to %zu printable characters without a space", vlen - 1);
        return MTD_EINVAL;
    }
    if (!strcmp(k, "signer") && (strlen(v) != 64 || strspn(v, "0123456789abcdef") != 64)) {
        snprintf(why, whylen, "a signer is the SHA-256 of its certificate: 64 lowercase hex digits");
        return MTD_EINVAL;
    }
    if (dev && (strlen(dev) > 60 || strncmp(dev, "ps_", 3) || !printable(dev))) {
        snprintf(why, whylen, "\"device_id\" must be a device pseudonym (ps_...)");
        return MTD_EINVAL;
    }
    if (json_object_get(j, "group") && !mtd_group_name_valid(grp)) {
        snprintf(why, whylen, "\"group\" must be a group name (1 to %d characters of A-Z a-z 0-9 . _ -)",
                 MTD_GROUP_NAME_MAX);
        return MTD_EINVAL;
    }
    if (dev && grp) {
        snprintf(why, whylen, "a rule is for one device or for one group, not both");
        return MTD_EINVAL;
    }
    if (days && (!json_is_integer(days) || json_integer_value(days) < 1 || json_integer_value(days) > 3650)) {
        snprintf(why, whylen, "\"expires_in_days\" must be an integer from 1 to 3650");
        return MTD_EINVAL;
    }
    if (secs && (days || !json_is_integer(secs) || json_integer_value(secs) < 1 ||
                 json_integer_value(secs) > 3650 * 86400)) {
        snprintf(why, whylen, "\"expires_in_seconds\" must be an integer from 1 to %d, without expires_in_days",
                 3650 * 86400);
        return MTD_EINVAL;
    }
    if (why_s && (strlen(why_s) >= rlen || !mtd_text_is_plain(why_s))) {
        snprintf(why, whylen, "\"reason\" is at most %zu bytes, without a control character", rlen - 1);
        return MTD_EINVAL;
    }
    strcpy(kind, k);
    mtd_strlcpy(value, v, vlen);
    mtd_strlcpy(device, dev ? dev : "", 64);
    mtd_strlcpy(group, grp ? grp : "", MTD_GROUP_NAME_MAX + 1);
    mtd_strlcpy(reason, why_s ? why_s : "", rlen);
    *expires_at = days   ? (int64_t)time(NULL) + json_integer_value(days) * 86400
                  : secs ? (int64_t)time(NULL) + json_integer_value(secs)
                         : 0;
    return 0;
}
