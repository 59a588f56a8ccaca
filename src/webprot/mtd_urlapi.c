/* mtd_urlapi: the browsers' URL check API over a Unix socket and loopback HTTP
 * (libmicrohttpd). */
#include "webprot/mtd_urlapi.h"
#include "common/mtd_err.h"
#include "webprot/mtd_dns.h"

#include <errno.h>
#include <microhttpd.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct mtd_urlapi {
    pthread_rwlock_t lock;
    const mtd_rep *rep;
    mtd_webevents *events;
    int unix_fd;
    char path[108];
    pthread_t t_unix;
    int has_thread;
    volatile int stop;
    struct MHD_Daemon *d;
    unsigned port;
    char host_ok[2][64]; /* Host headers accepted: "127.0.0.1:PORT", "localhost:PORT" */
};

json_t *mtd_urlapi_verdict_json(const char *url, const mtd_rep_result *res)
{
    json_t *o = json_pack("{s:s,s:s}", "url", url, "verdict", res->block ? "block" : "allow");
    json_object_set_new(o, "threat_name", res->block ? json_stringn(res->rec.name, res->rec.name_len) : json_null());
    json_object_set_new(o, "category", res->block ? json_string(res->rec.category) : json_null());
    json_object_set_new(o, "matched", res->listed && res->matched[0] ? json_string(res->matched) : json_null());
    return o;
}

/* One check: the JSON line to answer (malloc'd), or an error object. */
static char *check(mtd_urlapi *a, const char *url, const char *browser)
{
    mtd_rep_result *res = malloc(sizeof *res);
    const char *why;
    json_t *o;
    if (!res)
        return NULL;
    pthread_rwlock_rdlock(&a->lock);
    int r = mtd_rep_check_url(a->rep, url, strlen(url), res, &why);
    pthread_rwlock_unlock(&a->lock);
    if (r) {
        o = json_pack("{s:s,s:s}", "error", "bad_url", "detail", why);
    } else {
        o = mtd_urlapi_verdict_json(url, res);
        if (res->block && a->events)
            mtd_webevents_url_block(a->events, url, res, browser);
    }
    free(res);
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

/* ---- Unix socket ---- */

static void serve_unix_conn(mtd_urlapi *a, int fd)
{
    char line[MTD_URL_MAX + 2];
    size_t n = 0;
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 2000) <= 0)
            return; /* a client that says nothing for 2 s is let go */
        ssize_t r = recv(fd, line + n, sizeof line - 1 - n, 0);
        if (r <= 0)
            return;
        n += (size_t)r;
        char *nl;
        while ((nl = memchr(line, '\n', n)) != NULL) {
            *nl = 0;
            size_t l = (size_t)(nl - line);
            if (l && line[l - 1] == '\r')
                line[l - 1] = 0;
            char *ans = check(a, line, NULL);
            if (!ans || send(fd, ans, strlen(ans), MSG_NOSIGNAL) < 0 || send(fd, "\n", 1, MSG_NOSIGNAL) < 0) {
                free(ans);
                return;
            }
            free(ans);
            n -= l + 1;
            memmove(line, nl + 1, n);
        }
        if (n == sizeof line - 1)
            return; /* a line longer than any URL we read */
    }
}

static void *unix_loop(void *arg)
{
    mtd_urlapi *a = arg;
    while (!a->stop) {
        struct pollfd p = {a->unix_fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        int fd = accept4(a->unix_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        serve_unix_conn(a, fd);
        close(fd);
    }
    return NULL;
}

static int open_unix(mtd_urlapi *a, const char *path, char *why, size_t wl)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(why, wl, "--api-socket %s: path too long", path);
        return MTD_EINVAL;
    }
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    snprintf(a->path, sizeof a->path, "%s", path);
    unlink(path); /* a socket left by a previous run */
    a->unix_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    mode_t old = umask(077);
    int r = a->unix_fd < 0 ? -1 : bind(a->unix_fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (r != 0 || listen(a->unix_fd, 16) != 0) {
        snprintf(why, wl, "--api-socket %s: %s", path, strerror(errno));
        return MTD_EIO;
    }
    chmod(path, 0600);
    return 0;
}

/* ---- loopback HTTP ---- */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, char *body)
{
    size_t len = body ? strlen(body) : 0;
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static char *error_body(const char *e, const char *d)
{
    json_t *o = json_pack("{s:s,s:s}", "error", e, "detail", d);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static enum MHD_Result on_http(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                               const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    mtd_urlapi *a = cls;
    if (!*con_cls) { /* headers only so far */
        *con_cls = a;
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0; /* no body is read */
        return MHD_YES;
    }
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    const char *browser = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Openmtd-Browser");
    const char *target = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "url");
    if (strcmp(method, "GET") || strcmp(url, "/v1/url-check"))
        return reply(c, 404, error_body("not_found", "GET /v1/url-check?url=URL is the only route"));
    if (!host || (strcmp(host, a->host_ok[0]) && strcmp(host, a->host_ok[1])))
        return reply(c, 403, error_body("forbidden", "the Host header must name this loopback address"));
    if (!browser || !browser[0] || strlen(browser) > 128 || strspn(browser,
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != strlen(browser))
        return reply(c, 403, error_body("forbidden", "the X-Openmtd-Browser header (the browser's package name) is required"));
    if (!target || !target[0])
        return reply(c, 400, error_body("bad_request", "the url parameter is required"));
    char *ans = check(a, target, browser);
    return reply(c, 200, ans);
}

static int open_http(mtd_urlapi *a, const char *listen, char *why, size_t wl)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int loop = 0;
    /* port 0 (pick one) is allowed here, unlike the DNS filter's addresses */
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s", listen);
    char *colon = strrchr(tmp, ':');
    int zero = colon && !strcmp(colon, ":0");
    if (zero)
        snprintf(colon, 3, ":1");
    if (mtd_dns_parse_addr(tmp, &ss, &sl) == 0)
        loop = ss.ss_family == AF_INET ? (ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) == 127
                                       : IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&ss)->sin6_addr);
    if (!loop) {
        snprintf(why, wl, "--api-listen %s: must be a loopback ADDR:PORT (127.0.0.1:PORT)", listen);
        return MTD_EINVAL;
    }
    if (zero)
        ((struct sockaddr_in *)&ss)->sin_port = 0; /* the same offset for IPv6 */
    a->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
                                (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
                            0, NULL, NULL, on_http, a, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                            MHD_OPTION_CONNECTION_TIMEOUT, 5u, MHD_OPTION_CONNECTION_LIMIT, 64u,
                            MHD_OPTION_END);
    if (!a->d) {
        snprintf(why, wl, "--api-listen %s: cannot listen (address in use?)", listen);
        return MTD_EIO;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(a->d, MHD_DAEMON_INFO_BIND_PORT);
    a->port = di ? di->port : 0;
    snprintf(a->host_ok[0], sizeof a->host_ok[0], "%.*s:%u", (int)(colon - tmp), tmp, a->port);
    snprintf(a->host_ok[1], sizeof a->host_ok[1], "localhost:%u", a->port);
    return 0;
}

int mtd_urlapi_start(const mtd_urlapi_opts *o, const mtd_rep *rep, mtd_urlapi **out, char *why,
                     size_t wl)
{
    mtd_urlapi *a = calloc(1, sizeof *a);
    if (!a)
        return MTD_ENOMEM;
    a->rep = rep;
    a->events = o->events;
    a->unix_fd = -1;
    pthread_rwlock_init(&a->lock, NULL);
    int r = 0;
    if (o->socket_path && (r = open_unix(a, o->socket_path, why, wl)) == 0) {
        if (pthread_create(&a->t_unix, NULL, unix_loop, a) != 0)
            r = MTD_ENOMEM;
        a->has_thread = r == 0;
    }
    if (r == 0 && o->listen)
        r = open_http(a, o->listen, why, wl);
    if (r) {
        mtd_urlapi_stop(a);
        return r;
    }
    *out = a;
    return 0;
}

unsigned mtd_urlapi_port(const mtd_urlapi *a)
{
    return a->port;
}

const mtd_rep *mtd_urlapi_set_rep(mtd_urlapi *a, const mtd_rep *rep)
{
    pthread_rwlock_wrlock(&a->lock);
    const mtd_rep *old = a->rep;
    a->rep = rep;
    pthread_rwlock_unlock(&a->lock);
    return old;
}

void mtd_urlapi_stop(mtd_urlapi *a)
{
    if (!a)
        return;
    a->stop = 1;
    if (a->has_thread)
        pthread_join(a->t_unix, NULL);
    if (a->d)
        MHD_stop_daemon(a->d);
    if (a->unix_fd >= 0) {
        close(a->unix_fd);
        unlink(a->path);
    }
    pthread_rwlock_destroy(&a->lock);
    free(a);
}
