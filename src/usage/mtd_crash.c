/* mtd_crash: crash reports as usage.crash events, sent once (see mtd_crash.h).
 *
 * The agent's own reports wait in STATE/crash/; a round moves them to
 * STATE/crash/queued/ before emitting them and deletes them once the round is durable
 * in the spool, so a report written while a round runs waits for the next one, and one
 * emitted by a round that fails is sent again. Snapshot crash logs stay where they are:
 * the SHA-256 of each file sent is kept in STATE/crashlogs.sent. */
#include "usage/mtd_crash.h"
#include "common/mtd_err.h"
#include "common/mtd_file.h"
#include "common/mtd_log.h"
#include "common/mtd_util.h"
#include "usage/mtd_crashlog.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ROUND_MAX 16 /* reports per round; more wait for the next */

json_t *mtd_crash_fields(const mtd_crash *c)
{
    json_t *frames = json_array();
    for (int i = 0; i < c->nframes; i++) {
        if (!c->frames[i].own)
            continue;
        char f[96];
        snprintf(f, sizeof f, "%s+0x%llx", c->frames[i].module, (unsigned long long)c->frames[i].offset);
        json_array_append_new(frames, json_string(f));
    }
    json_t *o = json_pack("{s:s,s:s,s:s,s:o}", "origin", c->origin, "signal", c->signal[0] ? c->signal : "unknown",
                          "version", c->version[0] ? c->version : "unknown", "frames", frames);
    if (c->fault[0])
        json_object_set_new(o, "fault_address", json_string(c->fault));
    if (c->build_id[0])
        json_object_set_new(o, "build_id", json_string(c->build_id));
    if (c->time[0])
        json_object_set_new(o, "crash_time", json_string(c->time));
    return o;
}

/* A value of the handler's report: [0-9a-zA-Z._x-] only, as the handler writes them. */
static int copy_token(char *dst, size_t cap, const char *s, size_t n)
{
    if (n == 0 || n >= cap)
        return MTD_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ._-+", s[i]))
            return MTD_EINVAL;
    memcpy(dst, s, n);
    dst[n] = 0;
    return 0;
}

static int report_line(mtd_crash *c, const char *k, size_t kl, const char *v, size_t vl)
{
    char num[32];
#define KEY(x) (kl == sizeof x - 1 && !memcmp(k, x, kl))
    if (KEY("signal"))
        return copy_token(c->signal, sizeof c->signal, v, vl);
    if (KEY("fault"))
        return copy_token(c->fault, sizeof c->fault, v, vl);
    if (KEY("version"))
        return copy_token(c->version, sizeof c->version, v, vl);
    if (KEY("build_id"))
        return vl == 1 && v[0] == '-' ? 0 : copy_token(c->build_id, sizeof c->build_id, v, vl);
    if (KEY("time") || KEY("frame")) {
        if (copy_token(num, sizeof num, v, vl))
            return MTD_EINVAL;
        char *end;
        unsigned long long x = strtoull(num, &end, KEY("frame") ? 16 : 10);
        if (*end)
            return MTD_EINVAL;
        if (KEY("time")) {
            mtd_time_rfc3339((time_t)x, c->time);
            return 0;
        }
        if (c->nframes >= MTD_CRASH_FRAMES)
            return MTD_EINVAL;
        mtd_crash_frame *f = &c->frames[c->nframes++];
        snprintf(f->module, sizeof f->module, "mtd-agent");
        f->offset = x;
        f->own = 1;
        return 0;
    }
#undef KEY
    return MTD_EINVAL;
}

int mtd_crash_parse_report(const uint8_t *buf, size_t len, mtd_crash *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->origin, sizeof c->origin, "agent");
    static const char magic[] = "openmtd-crash 1\n";
    if (len < sizeof magic - 1 || memcmp(buf, magic, sizeof magic - 1) || len > 8192)
        return MTD_EINVAL;
    const char *p = (const char *)buf + sizeof magic - 1, *end = (const char *)buf + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p)), *sp;
        if (!nl || !(sp = memchr(p, ' ', (size_t)(nl - p))) ||
            report_line(c, p, (size_t)(sp - p), sp + 1, (size_t)(nl - sp - 1)) != 0)
            return MTD_EINVAL;
        p = nl + 1;
    }
    return c->signal[0] && c->version[0] ? 0 : MTD_EINVAL;
}

/* What a round emitted, for mtd_crash_commit: agent reports to delete, crash log
 * digests to remember. A round runs in one thread, one at a time. */
static struct {
    char files[ROUND_MAX][300];
    int nfiles;
    char digests[ROUND_MAX][65];
    int ndigests;
} g_round;

static void crash_dir(const mtd_sources_cfg *cfg, const char *sub, char *out, size_t len)
{
    snprintf(out, len, "%s/crash%s%s", cfg->state_dir, sub ? "/" : "", sub ? sub : "");
}

/* Moves STATE/crash/crash-*.txt into queued/, then emits what queued/ holds. */
static int collect_own(const mtd_sources_cfg *cfg, mtd_emit_fn emit, void *ctx)
{
    char dir[1100], q[1100], a[1500], b[1500];
    crash_dir(cfg, NULL, dir, sizeof dir);
    crash_dir(cfg, "queued", q, sizeof q);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    mtd_mkdir_p(q, 0700);
    struct dirent *e;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, "crash-", 6) && strstr(e->d_name, ".txt")) {
            snprintf(a, sizeof a, "%s/%s", dir, e->d_name);
            snprintf(b, sizeof b, "%s/%s", q, e->d_name);
            rename(a, b);
        }
    closedir(d);
    int r = 0;
    d = opendir(q);
    while (d && r == 0 && g_round.nfiles < ROUND_MAX && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(a, sizeof a, "%s/%s", q, e->d_name);
        snprintf(g_round.files[g_round.nfiles++], sizeof g_round.files[0], "%s", a);
        uint8_t *data;
        size_t len;
        mtd_crash c;
        if (mtd_file_read(a, 8192, &data, &len) != 0)
            continue;
        int ok = mtd_crash_parse_report(data, len, &c) == 0;
        free(data);
        if (!ok) {
            mtd_log(MTD_LOG_WARN, "crash", "%s: not a crash report of this agent; dropped", a);
            continue;
        }
        r = emit(ctx, "usage.crash", mtd_crash_fields(&c));
    }
    if (d)
        closedir(d);
    return r;
}

int mtd_crash_collect(const mtd_sources_cfg *cfg, mtd_emit_fn emit, void *ctx)
{
    memset(&g_round, 0, sizeof g_round);
    int r = collect_own(cfg, emit, ctx);
    return r ? r : mtd_crashlog_collect_snapshot(cfg, emit, ctx, g_round.digests, ROUND_MAX,
                                                 &g_round.ndigests);
}

void mtd_crash_commit(const mtd_sources_cfg *cfg)
{
    for (int i = 0; i < g_round.nfiles; i++)
        unlink(g_round.files[i]);
    if (g_round.ndigests)
        mtd_crashlog_remember(cfg, g_round.digests, g_round.ndigests);
    memset(&g_round, 0, sizeof g_round);
}
