/* mtd_feedsync: fetch changed tenant feeds into STATE/feeds/, verified before use. */
#include "uplink/mtd_feedsync.h"
#include "common/mtd_err.h"
#include "common/mtd_file.h"
#include "common/mtd_log.h"
#include "common/mtd_util.h"
#include "uplink/mtd_uplink.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void mtd_feedsync_path(const mtd_state *st, const char *name, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/feeds/%s", st->dir, name);
}

/* SHA-256 (hex) and size of a local file; "" when it does not exist or is unreadable. */
static void file_digest(const char *path, char sha[65], size_t *size)
{
    uint8_t *data;
    size_t len;
    sha[0] = 0;
    *size = 0;
    if (mtd_file_read(path, MTD_FEEDSYNC_MAX_BYTES, &data, &len) != 0)
        return;
    mtd_sha256_hex(data, len, sha);
    *size = len;
    free(data);
}

static int get_list(mtd_state *st, json_t **list, char *why, size_t wl)
{
    json_t *j;
    int r = mtd_uplink_get_json(st, "/v1/feeds", 30, &j, why, wl);
    if (r)
        return r;
    *list = json_incref(json_object_get(j, "feeds"));
    json_decref(j);
    if (!json_is_array(*list)) {
        json_decref(*list);
        snprintf(why, wl, "the collector's feed list is not {\"feeds\": [...]}");
        return MTD_EPROTO;
    }
    return 0;
}

/* Fetches one feed into its .part file and moves it in place once it verifies. */
static int fetch_one(mtd_state *st, const char *name, const char *sha, size_t size,
                     const char *have, char *why, size_t wl)
{
    char url[800], part[1200], path[1200], inm[100], got[65];
    snprintf(url, sizeof url, "%s/v1/feeds/%s", st->server, name);
    snprintf(part, sizeof part, "%s/feeds/.%s.part", st->dir, name);
    mtd_feedsync_path(st, name, path, sizeof path);
    FILE *f = fopen(part, "wb");
    if (!f) {
        snprintf(why, wl, "feed %s: cannot write %s: %s", name, part, strerror(errno));
        return MTD_EIO;
    }
    snprintf(inm, sizeof inm, "If-None-Match: \"%s\"", have[0] ? have : "none");
    const char *hdrs[] = {inm, NULL};
    mtd_http_opts h;
    mtd_uplink_http_opts(st, &h);
    h.timeout_s = 600;
    h.sink = f;
    mtd_http_resp resp;
    int r = mtd_http_request(&h, "GET", url, hdrs, NULL, 0, &resp, why, wl);
    int flushed = fflush(f) == 0 && fsync(fileno(f)) == 0;
    fclose(f);
    if (r == 0 && resp.status != 200 && resp.status != 304) {
        char e[300];
        mtd_http_error_text(&resp, e, sizeof e);
        snprintf(why, wl, "feed %s: %s", name, e);
        r = MTD_EPROTO;
    }
    long status = r ? 0 : resp.status;
    if (!r)
        mtd_http_resp_free(&resp);
    if (r == 0 && status == 200) {
        size_t n;
        file_digest(part, got, &n);
        if (!flushed || n != size || strcmp(got, sha) != 0) {
            snprintf(why, wl, "feed %s: fetched %zu bytes with SHA-256 %.12s..., expected %zu and %.12s...;"
                     " the previous copy stays", name, n, got, size, sha);
            r = MTD_ECORRUPT;
        } else if (rename(part, path) != 0) {
            snprintf(why, wl, "feed %s: cannot move it into %s: %s", name, path, strerror(errno));
            r = MTD_EIO;
        } else {
            char dir[1100];
            snprintf(dir, sizeof dir, "%s/feeds", st->dir);
            mtd_fsync_dir(dir);
        }
    }
    unlink(part);
    return r ? r : status == 200 ? 1 : 0;
}

static int listed(const json_t *list, const char *name)
{
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        const char *n = json_string_value(json_object_get(e, "name"));
        if (n && !strcmp(n, name))
            return 1;
    }
    return 0;
}

/* Removes local feeds the collector no longer lists (the admin deleted them). */
static void remove_unlisted(const mtd_state *st, const json_t *list, mtd_feedsync_stats *s)
{
    char dir[1100], path[1400];
    snprintf(dir, sizeof dir, "%s/feeds", st->dir);
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        if (!mtd_feed_name_valid(de->d_name) || listed(list, de->d_name))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (unlink(path) == 0) {
            s->removed++;
            mtd_log(MTD_LOG_INFO, "feeds", "removed feed %s (no longer distributed)", de->d_name);
        }
    }
    if (d)
        closedir(d);
}

int mtd_feedsync(mtd_state *st, mtd_feedsync_stats *s, char *why, size_t wl)
{
    memset(s, 0, sizeof *s);
    json_t *list;
    int r = get_list(st, &list, why, wl);
    if (r)
        return r;
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/feeds", st->dir);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        json_decref(list);
        snprintf(why, wl, "cannot create %s: %s", dir, strerror(errno));
        return MTD_EIO;
    }
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        const char *name = json_string_value(json_object_get(e, "name"));
        const char *sha = json_string_value(json_object_get(e, "sha256"));
        json_int_t size = json_integer_value(json_object_get(e, "size"));
        uint8_t raw[32];
        s->listed++;
        if (!name || !mtd_feed_name_valid(name) || !sha || strlen(sha) != 64 ||
            mtd_unhex(sha, raw, sizeof raw) != 0 || size <= 0 ||
            (unsigned long long)size > MTD_FEEDSYNC_MAX_BYTES) {
            s->failed++;
            snprintf(why, wl, "the collector listed a feed with a bad name, digest or size");
            continue;
        }
        char path[1200], have[65];
        size_t hsize;
        mtd_feedsync_path(st, name, path, sizeof path);
        file_digest(path, have, &hsize);
        if (!strcmp(have, sha)) {
            s->unchanged++;
            continue;
        }
        r = fetch_one(st, name, sha, (size_t)size, have, why, wl);
        if (r < 0) {
            s->failed++;
            mtd_log(MTD_LOG_WARN, "feeds", "%s", why);
        } else if (r == 1) {
            s->updated++;
            mtd_log(MTD_LOG_INFO, "feeds", "feed %s updated (%lld bytes, sha256 %.12s...)", name,
                    (long long)size, sha);
        } else {
            s->unchanged++;
        }
    }
    remove_unlisted(st, list, s);
    json_decref(list);
    return 0;
}
