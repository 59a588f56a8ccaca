/* mtd_limit: failures counted per key in a window, and keys blocked past a count: the
 * one mechanism behind token authentication's limits (mtd_guard: per client address
 * and per token prefix) and OpenID Connect sign-in's (mtd_signin: per client address
 * and tenant, and per tenant).
 *
 * A table of a fixed size, addressed by the key's hash over a few probe slots: a flood
 * of new keys evicts the stalest entries and cannot grow memory, but it never evicts a
 * key while it is blocked. Not locked: each user holds its own lock around its calls.
 * Times are Unix seconds, passed in (tests give their own). */
#ifndef MTD_LIMIT_H
#define MTD_LIMIT_H

#include <stddef.h>
#include <stdint.h>

#define MTD_LIMIT_KEY 96

typedef struct mtd_limit mtd_limit;

typedef struct {
    unsigned window_s; /* failures count within a window that starts at the first */
    unsigned block_at; /* the failure that blocks the key (0: count only, never block) */
    unsigned block_s;  /* for this long from that failure */
} mtd_limit_rule;

int mtd_limit_create(unsigned slots, const mtd_limit_rule *rule, mtd_limit **out);
void mtd_limit_destroy(mtd_limit *l);

/* Seconds the key stays blocked, 0 when it is not. */
long mtd_limit_blocked(const mtd_limit *l, const char *key, int64_t now);
/* Counts a failure of key: how many it has had in its window, this one included; the
 * key is blocked when that reaches the rule's block_at. */
unsigned mtd_limit_fail(mtd_limit *l, const char *key, int64_t now);
/* A success: the key's count starts afresh (a block stays until it ends). */
void mtd_limit_clear(mtd_limit *l, const char *key, int64_t now);

/* The key with the most failures in a window still open at now, and that count (0:
 * none), for a summary line. */
unsigned mtd_limit_top(const mtd_limit *l, int64_t now, char key[MTD_LIMIT_KEY]);

/* The key a client address is counted by: IPv4 as it is, IPv6 by its /64, the block
 * one host is given (by its whole address, one host could try as often as it has
 * addresses), each with suffix appended after a '|' when suffix is not NULL. */
void mtd_limit_client_key(const char *ip, const char *suffix, char out[MTD_LIMIT_KEY]);

#endif
