/* mtd_crashlog: iOS .ips and Android tombstone parsing, and the snapshot's crash logs
 * as a source (see mtd_crashlog.h). jansson reads the .ips JSON; the tombstone text
 * is read line by line, each line bounded. */
#include "usage/mtd_crashlog.h"
#include "common/mtd_err.h"
#include "common/mtd_file.h"
#include "common/mtd_log.h"
#include "common/mtd_util.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static void copy(char *dst, size_t cap, const char *s)
{
    snprintf(dst, cap, "%s", s ? s : "");
}

/* "2022-01-21 18:14:26.00 +0200" (either log's timestamp) as RFC 3339 UTC. */
static void log_time(const char *s, char out[32])
{
    struct tm tm = {0};
    int y, mo, d, h, mi, sec, tz = 0;
    char sign = '+';
    out[0] = 0;
    if (!s || sscanf(s, "%4d-%2d-%2d %2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) != 6)
        return;
    const char *z = strpbrk(s + 19, "+-");
    if (z && isdigit((unsigned char)z[1]) && strlen(z) >= 5) {
        sign = *z;
        tz = ((z[1] - '0') * 10 + (z[2] - '0')) * 60 + (z[3] - '0') * 10 + (z[4] - '0');
    }
    tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d;
    tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = sec;
    time_t t = timegm(&tm) - (sign == '-' ? -tz : tz) * 60;
    if (y >= 1970 && y < 10000 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31)
        mtd_time_rfc3339(t, out);
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* --- iOS .ips --- */

static void ips_frames(mtd_crash *c, const json_t *body)
{
    json_t *threads = json_object_get(body, "threads"), *images = json_object_get(body, "usedImages");
    json_t *th = json_array_get(threads, (size_t)json_integer_value(json_object_get(body, "faultingThread")));
    size_t i;
    json_t *t;
    json_array_foreach(threads, i, t) /* the triggered thread, when faultingThread is absent */
        if (!json_is_integer(json_object_get(body, "faultingThread")) && json_is_true(json_object_get(t, "triggered")))
            th = t;
    /* the app's own images lie in its bundle: the directory of its executable */
    char bundle[256] = "";
    copy(bundle, sizeof bundle, json_string_value(json_object_get(body, "procPath")));
    char *slash = strrchr(bundle, '/');
    if (slash)
        slash[1] = 0;
    else
        bundle[0] = 0;
    json_t *f;
    json_array_foreach(json_object_get(th, "frames"), i, f) {
        if (c->nframes >= MTD_CRASH_FRAMES)
            break;
        json_t *img = json_array_get(images, (size_t)json_integer_value(json_object_get(f, "imageIndex")));
        json_int_t off = json_integer_value(json_object_get(f, "imageOffset"));
        const char *path = json_string_value(json_object_get(img, "path"));
        const char *name = json_string_value(json_object_get(img, "name"));
        if (!img || off < 0)
            continue;
        mtd_crash_frame *fr = &c->frames[c->nframes++];
        copy(fr->path, sizeof fr->path, path);
        copy(fr->module, sizeof fr->module, name ? name : path ? base_name(path) : "?");
        copy(fr->build_id, sizeof fr->build_id, json_string_value(json_object_get(img, "uuid")));
        fr->offset = (uint64_t)off;
        fr->own = bundle[0] && path && !strncmp(path, bundle, strlen(bundle));
    }
}

static void ips_fault(mtd_crash *c, const json_t *exc)
{
    const char *sub = json_string_value(json_object_get(exc, "subtype"));
    const char *at = sub ? strstr(sub, " at 0x") : NULL;
    if (!at)
        return;
    size_t n = strspn(at + 6, "0123456789abcdefABCDEF");
    if (n && n <= 16)
        snprintf(c->fault, sizeof c->fault, "0x%.*s", (int)n, at + 6);
}

int mtd_crashlog_ips(const uint8_t *buf, size_t len, mtd_crash *c, char *why, size_t wl)
{
    memset(c, 0, sizeof *c);
    copy(c->origin, sizeof c->origin, "ios");
    const uint8_t *nl = memchr(buf, '\n', len);
    json_error_t e;
    json_t *hdr = nl ? json_loadb((const char *)buf, (size_t)(nl - buf), 0, &e) : NULL;
    if (!json_is_object(hdr)) {
        json_decref(hdr);
        snprintf(why, wl, "not an .ips crash log: the first line is not a JSON header");
        return MTD_EINVAL;
    }
    json_t *body = json_loadb((const char *)nl + 1, len - (size_t)(nl + 1 - buf), 0, &e);
    if (!json_is_object(body)) {
        snprintf(why, wl, "the .ips body is not JSON (line %d: %s); crash logs before iOS 15 are text",
                 e.line + 1, e.text);
        json_decref(hdr);
        json_decref(body);
        return MTD_EINVAL;
    }
    json_t *bi = json_object_get(body, "bundleInfo"), *exc = json_object_get(body, "exception");
    const char *id = json_string_value(json_object_get(hdr, "bundleID"));
    copy(c->process, sizeof c->process, id ? id : json_string_value(json_object_get(bi, "CFBundleIdentifier")));
    const char *ver = json_string_value(json_object_get(hdr, "app_version"));
    copy(c->version, sizeof c->version, ver ? ver : json_string_value(json_object_get(bi, "CFBundleShortVersionString")));
    copy(c->build_id, sizeof c->build_id, json_string_value(json_object_get(hdr, "slice_uuid")));
    const char *sig = json_string_value(json_object_get(exc, "signal"));
    copy(c->signal, sizeof c->signal, sig && !strncmp(sig, "SIG", 3) ? sig : "");
    ips_fault(c, exc);
    log_time(json_string_value(json_object_get(body, "captureTime")), c->time);
    ips_frames(c, body);
    int no_exception = !c->signal[0] && !json_is_object(exc);
    json_decref(hdr);
    json_decref(body);
    if (no_exception) {
        snprintf(why, wl, "the .ips body has no exception: not a crash report");
        return MTD_EINVAL;
    }
    return 0;
}

/* --- Android tombstones --- */

/* "#00 pc 000603ca  /apex/.../libc.so (abort+166) (BuildId: 320f...)" */
static void tomb_frame(mtd_crash *c, const char *l)
{
    unsigned long long pc;
    int n = 0;
    char path[256];
    if (c->nframes >= MTD_CRASH_FRAMES || sscanf(l, " #%*d pc %llx %255s%n", &pc, path, &n) != 2)
        return;
    mtd_crash_frame *f = &c->frames[c->nframes++];
    copy(f->path, sizeof f->path, path);
    copy(f->module, sizeof f->module, base_name(path));
    f->offset = pc;
    const char *b = strstr(l + n, "(BuildId: ");
    if (b)
        snprintf(f->build_id, sizeof f->build_id, "%.*s", (int)strspn(b + 10, "0123456789abcdef"), b + 10);
}

/* "signal 11 (SIGSEGV), code 1 (SEGV_MAPERR), fault addr 0x10" */
static void tomb_signal(mtd_crash *c, const char *l)
{
    const char *p = strstr(l, "(SIG");
    if (p)
        snprintf(c->signal, sizeof c->signal, "%.*s", (int)strspn(p + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), p + 1);
    const char *f = strstr(l, "fault addr ");
    if (f) {
        f += 11;
        if (!strncmp(f, "0x", 2))
            f += 2;
        size_t n = strspn(f, "0123456789abcdefABCDEF");
        if (n && n <= 16)
            snprintf(c->fault, sizeof c->fault, "0x%.*s", (int)n, f);
    }
}

static void tomb_line(mtd_crash *c, const char *l, int *bt)
{
    const char *p;
    if (!strncmp(l, "pid: ", 5) && (p = strstr(l, ">>> ")) && strstr(p, " <<<"))
        snprintf(c->process, sizeof c->process, "%.*s", (int)(strstr(p, " <<<") - p - 4), p + 4);
    else if (!strncmp(l, "signal ", 7))
        tomb_signal(c, l);
    else if (!strncmp(l, "Timestamp: ", 11))
        log_time(l + 11, c->time);
    else if (!strncmp(l, "backtrace:", 10))
        *bt = *bt == 0 ? 1 : 2; /* only the first backtrace: the crashing thread's */
    else if (*bt == 1 && l[strspn(l, " ")] == '#')
        tomb_frame(c, l);
    else if (*bt == 1 && !l[strspn(l, " ")])
        *bt = 2;
}

int mtd_crashlog_tombstones(const uint8_t *buf, size_t len, mtd_crash *c, int max, int *n,
                            char *why, size_t wl)
{
    *n = 0;
    int bt = 0;
    const char *p = (const char *)buf, *end = p + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char line[1024];
        snprintf(line, sizeof line, "%.*s", (int)(ll < sizeof line ? ll : sizeof line - 1), p);
        if (!strncmp(line, "*** *** ***", 11)) {
            if (*n >= max)
                break;
            memset(&c[*n], 0, sizeof c[0]);
            copy(c[*n].origin, sizeof c[0].origin, "android");
            (*n)++;
            bt = 0;
        } else if (*n > 0) {
            tomb_line(&c[*n - 1], line, &bt);
        }
        p = nl ? nl + 1 : end;
    }
    for (int i = 0; i < *n; i++)
        if (!c[i].process[0] || !c[i].signal[0]) {
            snprintf(why, wl, "tombstone %d has no process line or no signal line", i + 1);
            return MTD_EINVAL;
        }
    if (*n == 0) {
        snprintf(why, wl, "not a tombstone: no \"*** *** ***\" header line");
        return MTD_EINVAL;
    }
    return 0;
}

int mtd_crashlog_reduce(mtd_crash *c, const char *package)
{
    size_t pl = strlen(package);
    int ours = !strncmp(c->process, package, pl) && (c->process[pl] == 0 || c->process[pl] == ':');
    if (!ours)
        return 0;
    if (!strcmp(c->origin, "android")) { /* images under the app's install directory */
        char a[300], b[300];
        snprintf(a, sizeof a, "/%s-", package);
        snprintf(b, sizeof b, "/%s/", package);
        for (int i = 0; i < c->nframes; i++) {
            c->frames[i].own = strstr(c->frames[i].path, a) || strstr(c->frames[i].path, b);
            if (c->frames[i].own && !c->build_id[0])
                copy(c->build_id, sizeof c->build_id, c->frames[i].build_id);
        }
    }
    return 1;
}

/* --- the snapshot's crash logs as a source --- */

static int remembered(const mtd_sources_cfg *cfg, const char *digest)
{
    char p[1200];
    uint8_t *data;
    size_t len;
    snprintf(p, sizeof p, "%s/crashlogs.sent", cfg->state_dir);
    if (mtd_file_read(p, 1 << 20, &data, &len) != 0)
        return 0;
    int hit = memmem(data, len, digest, 64) != NULL;
    free(data);
    return hit;
}

void mtd_crashlog_remember(const mtd_sources_cfg *cfg, char (*digests)[65], int n)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/crashlogs.sent", cfg->state_dir);
    FILE *f = fopen(p, "a");
    for (int i = 0; f && i < n; i++)
        fprintf(f, "%s\n", digests[i]);
    if (f)
        fclose(f);
}

typedef struct {
    const mtd_sources_cfg *cfg;
    mtd_emit_fn emit;
    void *ctx;
    char (*digests)[65];
    int max, *n, r;
} scan_ctx;

/* One crash log file: parsed, the app's own reports emitted, its digest noted. */
static void one_log(scan_ctx *x, const char *path, int ios)
{
    uint8_t *data;
    size_t len;
    char digest[65], why[300];
    if (*x->n >= x->max || x->r || mtd_file_read(path, MTD_CRASHLOG_MAX_BYTES, &data, &len) != 0)
        return;
    mtd_sha256_hex(data, len, digest);
    if (remembered(x->cfg, digest)) {
        free(data);
        return;
    }
    snprintf(x->digests[(*x->n)++], 65, "%s", digest);
    mtd_crash *c = calloc(8, sizeof *c);
    int n = 0;
    int r = !c ? MTD_ENOMEM : ios ? mtd_crashlog_ips(data, len, c, why, sizeof why)
                                  : mtd_crashlog_tombstones(data, len, c, 8, &n, why, sizeof why);
    free(data);
    if (r == 0 && ios)
        n = 1;
    if (r)
        mtd_log(MTD_LOG_WARN, "crash", "%s: %s", path, c ? why : "out of memory");
    for (int i = 0; r == 0 && i < n && x->r == 0; i++)
        if (mtd_crashlog_reduce(&c[i], x->cfg->agent_package))
            x->r = x->emit(x->ctx, "usage.crash", mtd_crash_fields(&c[i]));
    free(c);
}

/* Files of dir (and its sub-directories, depth levels) whose name starts with prefix
 * (tombstones) or ends in suffix (.ips). */
static void scan_dir(scan_ctx *x, const char *dir, const char *prefix, const char *suffix, int depth)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[2300];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        size_t nl = strlen(e->d_name);
        if (lstat(p, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode) && depth > 0)
            scan_dir(x, p, prefix, suffix, depth - 1);
        else if (S_ISREG(st.st_mode) && (prefix ? !strncmp(e->d_name, prefix, strlen(prefix)) && !strstr(e->d_name, ".pb")
                                                : nl > strlen(suffix) && !strcmp(e->d_name + nl - strlen(suffix), suffix)))
            one_log(x, p, suffix != NULL);
    }
    if (d)
        closedir(d);
}

int mtd_crashlog_collect_snapshot(const mtd_sources_cfg *cfg, mtd_emit_fn emit, void *ctx,
                                  char (*digests)[65], int max, int *n)
{
    scan_ctx x = {cfg, emit, ctx, digests, max, n, 0};
    char dir[1200];
    *n = 0;
    if (cfg->ios_backup && cfg->ios_backup[0]) {
        snprintf(dir, sizeof dir, "%s/crashes", cfg->ios_backup);
        scan_dir(&x, dir, NULL, ".ips", 2);
    } else if (cfg->android_root && cfg->android_root[0]) {
        snprintf(dir, sizeof dir, "%s/data/tombstones", cfg->android_root);
        scan_dir(&x, dir, "tombstone_", NULL, 0);
    }
    return x.r;
}
