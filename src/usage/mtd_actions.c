/* mtd_actions: recording and reporting the agent's user actions (see mtd_actions.h). */
#include "usage/mtd_actions.h"
#include "common/mtd_err.h"
#include "common/mtd_file.h"
#include "common/mtd_util.h"
#include "privacy/mtd_ldp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* The LDP state to keep once the round is durable: the day being accumulated and the
 * actions that happened on it ("" when there is none to write). */
static char g_ldp_next[128];

static const char *const names[MTD_ACTION__COUNT] = {
    "enroll", "consent_grant", "consent_revoke", "feedback_sent", "scan_requested",
    "threat_viewed", "vpn_on", "vpn_off", "statement_viewed", "ledger_viewed",
};

const char *mtd_action_name(mtd_action a)
{
    return (unsigned)a < MTD_ACTION__COUNT ? names[a] : NULL;
}

static void path_of(const char *dir, const char *name, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", dir, name);
}

/* Appends under the file's lock, and again if a round renamed the file meanwhile (the
 * lock was then on the file being taken, which the round reads after locking it). */
int mtd_actions_record(const char *state_dir, mtd_action a)
{
    char p[1200], line[8];
    path_of(state_dir, "actions.pending", p, sizeof p);
    snprintf(line, sizeof line, "%d\n", (int)a);
    for (int tries = 0; tries < 3; tries++) {
        int fd = open(p, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
            return MTD_EIO;
        struct stat a_st, p_st;
        flock(fd, LOCK_EX);
        int same = fstat(fd, &a_st) == 0 && stat(p, &p_st) == 0 && a_st.st_ino == p_st.st_ino;
        ssize_t w = same ? write(fd, line, strlen(line)) : 0;
        close(fd);
        if (same)
            return w == (ssize_t)strlen(line) ? 0 : MTD_EIO;
    }
    return MTD_EBUSY;
}

static void count_file(const char *p, long counts[MTD_ACTION__COUNT])
{
    uint8_t *data;
    size_t len;
    if (mtd_file_read(p, 16 << 20, &data, &len) != 0)
        return;
    for (size_t i = 0; i < len;) {
        char *end;
        long v = strtol((const char *)data + i, &end, 10);
        size_t used = (size_t)(end - (char *)data - (long)i);
        if (used && v >= 0 && v < MTD_ACTION__COUNT)
            counts[v]++;
        i += used ? used : 1; /* a damaged byte is skipped, not fatal */
    }
    free(data);
}

int mtd_actions_take(const char *state_dir, long counts[MTD_ACTION__COUNT])
{
    char p[1200], s[1200];
    memset(counts, 0, sizeof(long) * MTD_ACTION__COUNT);
    path_of(state_dir, "actions.pending", p, sizeof p);
    path_of(state_dir, "actions.sending", s, sizeof s);
    struct stat st;
    if (stat(s, &st) != 0) { /* a round that failed left its file: it goes first */
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            flock(fd, LOCK_EX); /* no append is half done when it moves */
            rename(p, s);
            close(fd);
        }
    }
    count_file(s, counts);
    return 0;
}

void mtd_actions_commit(const char *state_dir)
{
    char s[1200];
    path_of(state_dir, "actions.sending", s, sizeof s);
    unlink(s);
    if (g_ldp_next[0]) {
        path_of(state_dir, "usage_ldp.json", s, sizeof s);
        mtd_file_write_atomic(s, g_ldp_next, strlen(g_ldp_next), 0600);
        g_ldp_next[0] = 0;
    }
}

/* --- the round: exact counts, or the day's LDP report --- */


static void today(char out[11])
{
    char t[32];
    mtd_time_now_rfc3339(t);
    snprintf(out, 11, "%.10s", t);
}

/* STATE/usage_ldp.json: {"day": "YYYY-MM-DD", "truth": "0100000001"}. */
static void ldp_load(const char *dir, char day[11], int truth[MTD_ACTION__COUNT])
{
    char p[1200];
    path_of(dir, "usage_ldp.json", p, sizeof p);
    json_t *j = json_load_file(p, 0, NULL);
    const char *d = json_string_value(json_object_get(j, "day"));
    const char *t = json_string_value(json_object_get(j, "truth"));
    memset(truth, 0, sizeof(int) * MTD_ACTION__COUNT);
    snprintf(day, 11, "%s", d && strlen(d) == 10 ? d : "");
    for (int i = 0; t && i < MTD_ACTION__COUNT && t[i]; i++)
        truth[i] = t[i] == '1';
    json_decref(j);
}

static int ldp_round(const mtd_sources_cfg *cfg, const long counts[MTD_ACTION__COUNT],
                     mtd_emit_fn emit, void *ctx)
{
    char day[11], now[11], bits[MTD_ACTION__COUNT + 1];
    int truth[MTD_ACTION__COUNT], r = 0;
    ldp_load(cfg->state_dir, day, truth);
    today(now);
    if (day[0] && strcmp(day, now) < 0) { /* a day is over: its one report, randomized */
        mtd_ldp_randomize(truth, MTD_ACTION__COUNT, cfg->usage_epsilon_milli / 1000.0, NULL, NULL, bits);
        r = emit(ctx, "usage.ldp", json_pack("{s:s,s:i,s:s}", "period", day, "epsilon_milli",
                                             cfg->usage_epsilon_milli, "bits", bits));
        memset(truth, 0, sizeof truth);
    }
    for (int i = 0; i < MTD_ACTION__COUNT; i++)
        truth[i] |= counts[i] > 0;
    for (int i = 0; i < MTD_ACTION__COUNT; i++)
        bits[i] = (char)('0' + truth[i]);
    bits[MTD_ACTION__COUNT] = 0;
    snprintf(g_ldp_next, sizeof g_ldp_next, "{\"day\": \"%s\", \"truth\": \"%s\"}\n", now, bits);
    return r;
}

int mtd_actions_collect(const mtd_sources_cfg *cfg, mtd_emit_fn emit, void *ctx)
{
    long counts[MTD_ACTION__COUNT];
    g_ldp_next[0] = 0;
    mtd_actions_take(cfg->state_dir, counts);
    if (cfg->usage_ldp)
        return ldp_round(cfg, counts, emit, ctx);
    int r = 0;
    for (int i = 0; r == 0 && i < MTD_ACTION__COUNT; i++)
        if (counts[i])
            r = emit(ctx, "usage.action", json_pack("{s:s,s:I}", "action", names[i], "count", (json_int_t)counts[i]));
    return r;
}
