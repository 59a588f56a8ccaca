/* mtd_limit: windowed failure counts by key (mtd_limit.h). */
#include "collector/mtd_limit.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROBE 8

typedef struct {
    char key[MTD_LIMIT_KEY];
    int64_t win;           /* start of its window */
    unsigned fails;        /* in that window */
    int64_t blocked_until;
} entry;

struct mtd_limit {
    mtd_limit_rule rule;
    unsigned n;
    entry e[];
};

int mtd_limit_create(unsigned slots, const mtd_limit_rule *rule, mtd_limit **out)
{
    mtd_limit *l = calloc(1, sizeof *l + (size_t)slots * sizeof(entry));
    if (!l || !slots) {
        free(l);
        return MTD_ENOMEM;
    }
    l->rule = *rule;
    l->n = slots;
    *out = l;
    return 0;
}

void mtd_limit_destroy(mtd_limit *l)
{
    free(l);
}

/* The entry of key; with create, made over the stalest of its probe slots that is not
 * blocked (NULL when all are: the flood that blocked them cannot unblock them). */
static entry *find(const mtd_limit *l, const char *key, int create, int64_t now)
{
    uint32_t h = mtd_fnv1a(key, strlen(key));
    entry *victim = NULL;
    for (int i = 0; i < PROBE; i++) {
        entry *e = (entry *)&l->e[(h + (uint32_t)i) % l->n];
        if (!strcmp(e->key, key))
            return e;
        if (e->key[0] && e->blocked_until > now)
            continue;
        if (!victim || e->win < victim->win)
            victim = e;
    }
    if (!create || !victim)
        return NULL;
    memset(victim, 0, sizeof *victim);
    mtd_strlcpy(victim->key, key, sizeof victim->key);
    victim->win = now;
    return victim;
}

long mtd_limit_blocked(const mtd_limit *l, const char *key, int64_t now)
{
    const entry *e = find(l, key, 0, now);
    return e && e->blocked_until > now ? (long)(e->blocked_until - now) : 0;
}

unsigned mtd_limit_fail(mtd_limit *l, const char *key, int64_t now)
{
    entry *e = find(l, key, 1, now);
    if (!e)
        return 0;
    if (now - e->win >= (int64_t)l->rule.window_s) {
        e->win = now;
        e->fails = 0;
    }
    if (++e->fails == l->rule.block_at)
        e->blocked_until = now + l->rule.block_s;
    return e->fails;
}

void mtd_limit_clear(mtd_limit *l, const char *key, int64_t now)
{
    entry *e = find(l, key, 0, now);
    if (e) {
        e->win = now;
        e->fails = 0;
    }
}

unsigned mtd_limit_top(const mtd_limit *l, int64_t now, char key[MTD_LIMIT_KEY])
{
    const entry *top = NULL;
    for (unsigned i = 0; i < l->n; i++) {
        const entry *e = &l->e[i];
        if (e->key[0] && now - e->win < (int64_t)l->rule.window_s && (!top || e->fails > top->fails))
            top = e;
    }
    key[0] = 0;
    if (!top)
        return 0;
    mtd_strlcpy(key, top->key, MTD_LIMIT_KEY);
    return top->fails;
}

void mtd_limit_client_key(const char *ip, const char *suffix, char out[MTD_LIMIT_KEY])
{
    struct in6_addr a;
    char net[INET6_ADDRSTRLEN + 3];
    if (strchr(ip, ':') && inet_pton(AF_INET6, ip, &a) == 1) {
        memset(a.s6_addr + 8, 0, 8);
        inet_ntop(AF_INET6, &a, net, INET6_ADDRSTRLEN);
        strcat(net, "/64");
        ip = net;
    }
    if (suffix)
        snprintf(out, MTD_LIMIT_KEY, "%s|%s", ip, suffix);
    else
        snprintf(out, MTD_LIMIT_KEY, "%s", ip);
}
