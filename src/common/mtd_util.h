/* mtd_util: time, randomness, hex and base64url encodings, SHA-256.
 *
 * Time is RFC 3339 UTC everywhere on the wire ("2026-11-24T22:40:34Z"). Random bytes
 * come from getrandom(2), which blocks only until the kernel pool is first seeded. */
#ifndef MTD_UTIL_H
#define MTD_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define MTD_TIME_LEN 32 /* enough for RFC 3339 with milliseconds */

void mtd_time_rfc3339(time_t t, char out[MTD_TIME_LEN]);
void mtd_time_now_rfc3339(char out[MTD_TIME_LEN]);
/* Parses "YYYY-MM-DDTHH:MM:SS[.fff]Z"; returns 0 and sets *t, or MTD_EINVAL. */
int mtd_time_parse(const char *s, time_t *t);
int64_t mtd_monotonic_ns(void);

int mtd_random(void *buf, size_t len);
void mtd_hex(const uint8_t *in, size_t len, char *out); /* out: 2*len+1 */
int mtd_unhex(const char *in, uint8_t *out, size_t outlen);
/* base64url without padding; out needs 4*ceil(len/3)+1 bytes. */
void mtd_b64url(const uint8_t *in, size_t len, char *out);
/* base64url without padding back to bytes (at most outlen): their count, or -1 for a
 * character outside the alphabet, a length no encoding has, non-zero unused bits, or
 * more than outlen bytes. */
int mtd_b64url_decode(const char *in, size_t len, uint8_t *out, size_t outlen);
/* Random token of nbytes, base64url encoded into out (size >= 4*nbytes/3+4). */
int mtd_random_token(size_t nbytes, char *out, size_t outlen);
void mtd_sha256(const void *data, size_t len, uint8_t out[32]);
void mtd_sha256_hex(const void *data, size_t len, char out[65]);
/* Constant-time comparison of equal-length byte strings. */
int mtd_ct_equal(const void *a, const void *b, size_t len);
/* Text from outside (a device, a request) made safe for a terminal or a log line:
 * control characters (C0, DEL, and C1 in UTF-8) become \n, \r, \t or \xNN / \u00NN,
 * so a newline cannot forge a table row or log line and an escape sequence cannot
 * colour or rewrite the screen. Writes at most outlen-1 bytes and NUL-terminates; a
 * cut never splits an escape. Returns the length written. */
size_t mtd_escape_ctl(const char *in, size_t len, char *out, size_t outlen);
/* 1 when s holds no control character (C0, DEL, C1 in UTF-8): names and labels people
 * give (a tenant's name, a token's label), shown in tables and logs as they are. */
int mtd_text_is_plain(const char *s);
/* The word for a count people read: one if n is 1, else many ("1 batch", "2 batches"). */
const char *mtd_plural(long long n, const char *one, const char *many);
/* FNV-1a of the bytes: the slot of a key in a fixed table (not a defence against
 * chosen keys: every table using it bounds its probes or chains by other means). */
uint32_t mtd_fnv1a(const void *data, size_t len);
/* Copies at most outlen-1 bytes and NUL-terminates; returns MTD_ETOOBIG if cut. */
int mtd_strlcpy(char *out, const char *in, size_t outlen);

/* 1 when name is a feed name the collector distributes: [a-z0-9][a-z0-9_-]{0,31}
 * (collector/mtd_feeds.h). Checked on both sides before a name becomes a path. */
int mtd_feed_name_valid(const char *name);

/* Full-jitter exponential backoff: a uniform delay in [0, min(cap, base * 2^attempt)].
 * The one place retries are spaced (the uplink's, the alert outbox's). */
int mtd_backoff_ms(int attempt, int base_ms, int cap_ms);

#endif
