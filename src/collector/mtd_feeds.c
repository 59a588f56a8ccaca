/* mtd_feeds: a tenant's feed files: upload, list, delete, and serving them to devices
 * (see mtd_feeds.h for the routes and the layout on disk). */
#include "collector/mtd_feeds.h"
#include "collector/mtd_auth.h"
#include "common/mtd_err.h"
#include "common/mtd_file.h"
#include "common/mtd_util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One lock for every tenant's index: pushes are rare, and it keeps two pushes of one
 * name from each deleting the other's file. */
static pthread_mutex_t g_index_lock = PTHREAD_MUTEX_INITIALIZER;

/* On PostgreSQL the feeds live in the tenant's schema (mtd_store_pg_feeds.c), and
 * this collector's directory keeps only copies of the versions it serves. */
static int in_cluster(mtd_collector *c)
{
    return mtd_tenants_cluster(c->tenants) != NULL;
}

static void feeds_dir(mtd_collector *c, const mtd_tenant *tn, char *out, size_t len)
{
    if (in_cluster(c))
        snprintf(out, len, "%s/feedcache/%s", mtd_tenants_data_dir(c->tenants), tn->id);
    else
        snprintf(out, len, "%s/tenants/%s/feeds", mtd_tenants_data_dir(c->tenants), tn->id);
}

static json_t *index_load_dir(const char *dir);

/* The index as a JSON object ({} when there is none yet); NULL when it is unreadable. */
static json_t *index_load(mtd_collector *c, mtd_tenant *tn, const char *dir)
{
    return in_cluster(c) ? mtd_store_pg_feed_index(tn->store) : index_load_dir(dir);
}

static json_t *index_load_dir(const char *dir)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/index.json", dir);
    uint8_t *data;
    size_t len;
    int r = mtd_file_read(path, 4u << 20, &data, &len);
    if (r == MTD_ENOENT)
        return json_object();
    if (r)
        return NULL;
    json_t *j = json_loadb((const char *)data, len, 0, NULL);
    free(data);
    if (!json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static int index_save_dir(const char *dir, const json_t *idx)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/index.json", dir);
    char *s = json_dumps(idx, JSON_COMPACT | JSON_SORT_KEYS);
    if (!s)
        return MTD_ENOMEM;
    int r = mtd_file_write_atomic(path, s, strlen(s), 0600);
    free(s);
    return r;
}

/* In the cluster the put or delete itself changed the index. */
static int index_save(mtd_collector *c, const char *dir, const json_t *idx)
{
    return in_cluster(c) ? 0 : index_save_dir(dir, idx);
}

/* {"feeds": [{name, sha256, size, updated}, ...]} in name order. */
static json_t *index_list(const json_t *idx)
{
    json_t *arr = json_array();
    const char **names = calloc(json_object_size(idx) + 1, sizeof *names);
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)idx, k, v)
        if (names)
            names[n++] = k;
    for (size_t i = 1; i < n; i++) /* insertion sort: a tenant has a handful of feeds */
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            const char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_object_get(idx, names[i]);
        json_array_append_new(arr, json_pack("{s:s,s:O,s:O,s:O}", "name", names[i], "sha256",
                                             json_object_get(e, "sha256"), "size",
                                             json_object_get(e, "size"), "updated",
                                             json_object_get(e, "updated")));
    }
    free(names);
    return json_pack("{s:o}", "feeds", arr);
}

static void answer_list(mtd_collector *c, mtd_tenant *tn, mtd_resp *rs)
{
    char dir[1100];
    feeds_dir(c, tn, dir, sizeof dir);
    pthread_mutex_lock(&g_index_lock);
    json_t *idx = index_load(c, tn, dir);
    pthread_mutex_unlock(&g_index_lock);
    if (!idx) {
        mtd_resp_error(rs, 500, "store_error", "the feed index could not be read");
        return;
    }
    mtd_resp_json(rs, 200, index_list(idx));
    json_decref(idx);
}

/* Stores the body as feed `name`; replaces the previous version. */
static void feed_put(mtd_collector *c, mtd_req *rq, mtd_resp *rs, mtd_tenant *tn,
                     const char *actor, const char *name)
{
    if (rq->body.len == 0) {
        mtd_resp_error(rs, 400, "bad_request", "feed %s: the body (the file) is empty", name);
        return;
    }
    char dir[1100], path[1300], sha[65], t[MTD_TIME_LEN];
    feeds_dir(c, tn, dir, sizeof dir);
    if (in_cluster(c) ? mtd_mkdir_p(dir, 0700) != 0 : mkdir(dir, 0700) != 0 && errno != EEXIST) {
        /* never the tenant's own directory */
        mtd_resp_error(rs, 500, "store_error", "cannot create the tenant's feed directory");
        return;
    }
    mtd_sha256_hex(rq->body.data, rq->body.len, sha);
    snprintf(path, sizeof path, "%s/%s.%s", dir, name, sha);
    int r = mtd_file_write_atomic(path, rq->body.data, rq->body.len, 0600);
    if (r) {
        mtd_resp_error(rs, 500, "store_error", "feed %s not stored: %s", name, mtd_strerror(r));
        return;
    }
    mtd_time_now_rfc3339(t);
    char prev[65] = ""; /* in the cluster, the version this one replaces */
    if (in_cluster(c)) {
        json_t *pi = index_load(c, tn, dir);
        snprintf(prev, sizeof prev, "%s",
                 json_string_value(json_object_get(json_object_get(pi, name), "sha256")) ?: "");
        json_decref(pi);
    }
    if (in_cluster(c) && (r = mtd_store_pg_feed_put(tn->store, name, sha, rq->body.data, rq->body.len, t)) != 0) {
        unlink(path);
        mtd_resp_error(rs, 500, "store_error", "feed %s not stored: %s", name, mtd_strerror(r));
        return;
    }
    pthread_mutex_lock(&g_index_lock);
    json_t *idx = index_load(c, tn, dir);
    char old[65] = "";
    if (idx) {
        snprintf(old, sizeof old, "%s",
                 json_string_value(json_object_get(json_object_get(idx, name), "sha256")) ?: "");
        json_object_set_new(idx, name, json_pack("{s:s,s:I,s:s}", "sha256", sha, "size",
                                                 (json_int_t)rq->body.len, "updated", t));
        r = index_save(c, dir, idx);
    }
    pthread_mutex_unlock(&g_index_lock);
    if (!idx || r) {
        json_decref(idx);
        unlink(path);
        mtd_resp_error(rs, 500, "store_error", "feed %s not stored: the index could not be written", name);
        return;
    }
    if (in_cluster(c))
        snprintf(old, sizeof old, "%s", prev);
    if (old[0] && strcmp(old, sha) != 0) {
        snprintf(path, sizeof path, "%s/%s.%s", dir, name, old);
        unlink(path);
    }
    char d[200];
    snprintf(d, sizeof d, "name=%s size=%zu sha256=%s", name, rq->body.len, sha);
    mtd_store_audit(tn->store, actor, "feed.put", d);
    mtd_resp_json(rs, 200, json_pack("{s:s,s:s,s:I,s:s}", "name", name, "sha256", sha, "size",
                                     (json_int_t)rq->body.len, "updated", t));
    json_decref(idx);
}

static void feed_delete(mtd_collector *c, mtd_resp *rs, mtd_tenant *tn, const char *actor,
                        const char *name)
{
    char dir[1100], path[1300], sha[65] = "";
    feeds_dir(c, tn, dir, sizeof dir);
    pthread_mutex_lock(&g_index_lock);
    json_t *idx = index_load(c, tn, dir);
    json_t *e = idx ? json_object_get(idx, name) : NULL;
    int r = MTD_ENOENT;
    if (e) {
        snprintf(sha, sizeof sha, "%s", json_string_value(json_object_get(e, "sha256")) ?: "");
        json_object_del(idx, name);
        r = in_cluster(c) ? mtd_store_pg_feed_remove(tn->store, name) : index_save(c, dir, idx);
    }
    pthread_mutex_unlock(&g_index_lock);
    json_decref(idx);
    if (!idx) {
        mtd_resp_error(rs, 500, "store_error", "the feed index could not be read");
    } else if (r == MTD_ENOENT) {
        mtd_resp_error(rs, 404, "not_found", "no feed %s in this tenant", name);
    } else if (r) {
        mtd_resp_error(rs, 500, "store_error", "feed %s not deleted: %s", name, mtd_strerror(r));
    } else {
        snprintf(path, sizeof path, "%s/%s.%s", dir, name, sha);
        unlink(path);
        char d[100];
        snprintf(d, sizeof d, "name=%s", name);
        mtd_store_audit(tn->store, actor, "feed.delete", d);
        mtd_resp_json(rs, 200, json_pack("{s:s,s:b}", "name", name, "deleted", 1));
    }
}

void mtd_handle_feeds_admin(mtd_collector *c, mtd_req *rq, mtd_resp *rs, const char *sub)
{
    mtd_tenant *tn = rq->tn; /* authenticated from the request head (mtd_route_admit) */
    const char *actor = rq->actor;
    const char *name = !strncmp(sub, "feeds/", 6) ? sub + 6 : NULL;
    int write = !strcmp(rq->method, "PUT") || !strcmp(rq->method, "DELETE");
    if (!strcmp(sub, "feeds") && !strcmp(rq->method, "GET")) {
        mtd_store_audit(tn->store, actor, "feed.list", NULL);
        answer_list(c, tn, rs);
    } else if (!name || !write) {
        mtd_resp_error(rs, 404, "not_found", "no admin route %s %.100s", rq->method, sub);
    } else if (!mtd_feed_name_valid(name)) {
        mtd_resp_error(rs, 400, "bad_request",
                       "feed name \"%.40s\" must match [a-z0-9][a-z0-9_-]{0,31}", name);
    } else if (!strcmp(rq->method, "PUT")) { /* admins only: other roles refused from the head */
        feed_put(c, rq, rs, tn, actor, name);
    } else if (mtd_require_admin(c, rq, rs)) {
        feed_delete(c, rs, tn, actor, name);
    }
}

/* If-None-Match holds the digest: a list of entity tags, quoted or not, or "*". */
static int etag_matches(const char *inm, const char *sha)
{
    while (inm && *inm) {
        inm += strspn(inm, " \t,");
        if (!strncmp(inm, "W/", 2))
            inm += 2;
        size_t n = strcspn(inm, ",");
        const char *v = inm;
        size_t vl = n;
        while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
            vl--;
        if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"')
            v++, vl -= 2;
        if ((vl == 1 && v[0] == '*') || (vl == 64 && !memcmp(v, sha, 64)))
            return 1;
        inm += n;
    }
    return 0;
}

typedef struct {
    int fd;
} file_stream;

static ssize_t file_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
    file_stream *f = ctx;
    ssize_t n = pread(f->fd, buf, max, (off_t)pos);
    return n > 0 ? n : n == 0 ? MTD_STREAM_END : MTD_STREAM_ERROR;
}

static void file_free(void *ctx)
{
    file_stream *f = ctx;
    close(f->fd);
    free(f);
}

/* In the cluster: this collector's copy of one version of a feed, fetched from the
 * database the first time it is served (an fd, or -1). */
static int cache_feed(mtd_collector *c, mtd_tenant *tn, const char *name, const char *sha, const char *path)
{
    char dir[1100];
    feeds_dir(c, tn, dir, sizeof dir);
    mtd_buf b;
    mtd_buf_init(&b, MTD_FEED_MAX_BYTES);
    int fd = -1;
    if (mtd_mkdir_p(dir, 0700) == 0 && mtd_store_pg_feed_data(tn->store, name, sha, &b) == 0 &&
        mtd_file_write_atomic(path, b.data, b.len, 0600) == 0)
        fd = open(path, O_RDONLY | O_CLOEXEC);
    mtd_buf_free(&b);
    return fd;
}

/* The bytes of one feed, streamed from its file (a database can be tens of MB and
 * many devices fetch at once: none of it is held in memory). */
static void feed_get(mtd_collector *c, mtd_req *rq, mtd_resp *rs, mtd_tenant *tn, const char *name)
{
    char dir[1100], path[1300], sha[65] = "";
    feeds_dir(c, tn, dir, sizeof dir);
    pthread_mutex_lock(&g_index_lock);
    json_t *idx = index_load(c, tn, dir);
    const char *s = json_string_value(json_object_get(json_object_get(idx, name), "sha256"));
    if (s)
        snprintf(sha, sizeof sha, "%s", s);
    int fd = -1;
    if (sha[0]) { /* opened under the lock: a push cannot unlink it in between */
        snprintf(path, sizeof path, "%s/%s.%s", dir, name, sha);
        fd = open(path, O_RDONLY | O_CLOEXEC);
    }
    pthread_mutex_unlock(&g_index_lock);
    json_decref(idx);
    if (sha[0] && fd < 0 && in_cluster(c))
        fd = cache_feed(c, tn, name, sha, path);
    struct stat st;
    file_stream *f = NULL;
    if (!sha[0]) {
        mtd_resp_error(rs, 404, "not_found", "no feed %s in this tenant", name);
    } else if (fd < 0 || fstat(fd, &st) != 0 || !(f = malloc(sizeof *f))) {
        mtd_resp_error(rs, 500, "store_error", "feed %s could not be read", name);
    } else {
        snprintf(rs->etag, sizeof rs->etag, "\"%s\"", sha);
        if (etag_matches(mtd_req_header(rq, "If-None-Match"), sha)) {
            rs->status = 304;
            rs->text = strdup("");
        } else {
            f->fd = fd;
            fd = -1;
            rs->status = 200;
            rs->ctype = "application/octet-stream";
            rs->stream = file_read;
            rs->stream_free = file_free;
            rs->stream_ctx = f;
            rs->stream_size = (uint64_t)st.st_size;
            f = NULL;
        }
    }
    free(f);
    if (fd >= 0)
        close(fd);
}

void mtd_handle_feeds_device(mtd_collector *c, mtd_req *rq, mtd_resp *rs, const char *sub)
{
    mtd_tenant *tn = rq->tn; /* authenticated from the request head (mtd_route_admit) */
    if (strcmp(rq->method, "GET") != 0) {
        mtd_resp_error(rs, 405, "method_not_allowed", "feeds are read with GET");
        return;
    }
    if (!sub[0])
        answer_list(c, tn, rs);
    else if (sub[0] != '/' || !mtd_feed_name_valid(sub + 1))
        mtd_resp_error(rs, 404, "not_found", "no feed %.40s", sub[0] == '/' ? sub + 1 : sub);
    else
        feed_get(c, rq, rs, tn, sub + 1);
}
