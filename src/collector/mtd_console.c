/* mtd_console: the admin console's files under /console (mtd_console.h). Written here
 * rather than with libmicrohttpd's file responses because what matters is what is
 * refused: the table of files is made once, from the build's output directory, and a
 * request path is only ever compared with it. */
#include "collector/mtd_console.h"
#include "common/mtd_err.h"
#include "common/mtd_file.h"
#include "common/mtd_util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_FILES 512
#define MAX_FILE (8u << 20)
#define MAX_TOTAL (64u << 20)
#define MAX_DEPTH 4

typedef struct {
    char name[200];   /* relative to the directory, e.g. "assets/index-1a2b.js" */
    const char *type; /* Content-Type */
    uint8_t *data, *gz;
    size_t len, gz_len;
    char etag[40], gz_etag[44];
    int immutable; /* under assets/: the name holds the content's hash */
} con_file;

struct mtd_console {
    con_file *f;
    size_t n;
    size_t total;
};

/* The types the console is made of; a file of any other kind is not served. */
static const struct { const char *ext, *type; } types[] = {
    {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},   {".svg", "image/svg+xml"},
    {".png", "image/png"},                 {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},              {".json", "application/json"},
    {".txt", "text/plain; charset=utf-8"},
};

static const char *type_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(dot, types[i].ext))
            return types[i].type;
    return NULL;
}

/* A name component as the build writes them: letters, digits, '.', '_', '-', not
 * starting with a dot (no hidden files, no "." or ".."). */
static int plain_component(const char *s)
{
    if (!s[0] || s[0] == '.')
        return 0;
    for (; *s; s++)
        if (!(('a' <= *s && *s <= 'z') || ('A' <= *s && *s <= 'Z') || ('0' <= *s && *s <= '9') ||
              *s == '.' || *s == '_' || *s == '-'))
            return 0;
    return 1;
}

static con_file *find(const mtd_console *con, const char *name)
{
    for (size_t i = 0; i < con->n; i++)
        if (!strcmp(con->f[i].name, name))
            return &con->f[i];
    return NULL;
}

static void etag_of(const uint8_t *d, size_t n, const char *suffix, char *out, size_t outlen)
{
    char hex[65];
    mtd_sha256_hex(d, n, hex);
    snprintf(out, outlen, "\"%.32s%s\"", hex, suffix);
}

static int add_file(mtd_console *con, const char *path, const char *name, char *why, size_t wl)
{
    size_t nl = strlen(name);
    int gz = nl > 3 && !strcmp(name + nl - 3, ".gz");
    char base[200];
    snprintf(base, sizeof base, "%.*s", (int)(gz ? nl - 3 : nl), name);
    if (!type_of(base))
        return 0; /* not a kind of file the console serves */
    if (con->n == MAX_FILES && !(gz && find(con, base))) {
        snprintf(why, wl, "more than %d files", MAX_FILES);
        return MTD_ETOOBIG;
    }
    uint8_t *data;
    size_t len;
    int r = mtd_file_read(path, MAX_FILE, &data, &len);
    if (r == 0 && (con->total += len) > MAX_TOTAL)
        r = MTD_ETOOBIG;
    if (r) {
        snprintf(why, wl, "%s: %s", path, mtd_strerror(r));
        return r;
    }
    con_file *f = find(con, base);
    if (!f) {
        f = &con->f[con->n++];
        memset(f, 0, sizeof *f);
        snprintf(f->name, sizeof f->name, "%s", base);
        f->type = type_of(base);
        f->immutable = !strncmp(base, "assets/", 7);
    }
    if (gz) {
        free(f->gz);
        f->gz = data;
        f->gz_len = len;
        etag_of(data, len, "-gz", f->gz_etag, sizeof f->gz_etag);
    } else {
        free(f->data);
        f->data = data;
        f->len = len;
        etag_of(data, len, "", f->etag, sizeof f->etag);
    }
    return 0;
}

static int load_dir(mtd_console *con, const char *dir, const char *prefix, int depth, char *why, size_t wl)
{
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(why, wl, "cannot read %s", dir);
        return depth ? MTD_EIO : MTD_ENOENT;
    }
    int r = 0;
    struct dirent *e;
    while (r == 0 && (e = readdir(d))) {
        char path[1200], name[200];
        if (!plain_component(e->d_name) || strlen(prefix) + strlen(e->d_name) + 2 > sizeof name)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        snprintf(name, sizeof name, "%s%s", prefix, e->d_name);
        struct stat st;
        if (lstat(path, &st) != 0) /* symbolic links are not followed */
            continue;
        if (S_ISDIR(st.st_mode) && depth < MAX_DEPTH) {
            char sub[220];
            snprintf(sub, sizeof sub, "%s/", name);
            r = load_dir(con, path, sub, depth + 1, why, wl);
        } else if (S_ISREG(st.st_mode)) {
            r = add_file(con, path, name, why, wl);
        }
    }
    closedir(d);
    return r;
}

int mtd_console_load(const char *dir, mtd_console **out, char *why, size_t whylen)
{
    mtd_console *con = calloc(1, sizeof *con);
    if (!con || !(con->f = calloc(MAX_FILES, sizeof *con->f))) {
        free(con);
        return MTD_ENOMEM;
    }
    int r = load_dir(con, dir, "", 0, why, whylen);
    if (r == 0 && !find(con, "index.html")) {
        snprintf(why, whylen, "%s has no index.html", dir);
        r = MTD_ENOENT;
    }
    for (size_t i = 0; r == 0 && i < con->n; i++)
        if (!con->f[i].data) { /* NAME.gz without NAME */
            snprintf(why, whylen, "%s.gz has no %s beside it", con->f[i].name, con->f[i].name);
            r = MTD_EINVAL;
        }
    if (r) {
        mtd_console_free(con);
        return r;
    }
    *out = con;
    return 0;
}

void mtd_console_free(mtd_console *con)
{
    if (!con)
        return;
    for (size_t i = 0; i < con->n; i++) {
        free(con->f[i].data);
        free(con->f[i].gz);
    }
    free(con->f);
    free(con);
}

size_t mtd_console_count(const mtd_console *con)
{
    return con ? con->n : 0;
}

/* 1 when Accept-Encoding accepts gzip: the token "gzip" (or "*") not given q=0. */
static int accepts_gzip(const char *ae)
{
    while (ae && *ae) {
        while (*ae == ' ' || *ae == ',')
            ae++;
        size_t n = strcspn(ae, ",;");
        int match = (n == 4 && !strncasecmp(ae, "gzip", 4)) || (n == 1 && *ae == '*');
        const char *end = ae + strcspn(ae, ",");
        const char *q = strstr(ae, "q=");
        int zero = q && q < end && strtod(q + 2, NULL) == 0;
        if (match && !zero)
            return 1;
        ae = end;
    }
    return 0;
}

typedef struct {
    const uint8_t *data;
    size_t len;
} body_ref;

static ssize_t read_body(void *ctx, uint64_t pos, char *buf, size_t max)
{
    body_ref *b = ctx;
    if (pos >= b->len)
        return MTD_STREAM_END;
    size_t n = b->len - pos < max ? b->len - (size_t)pos : max;
    memcpy(buf, b->data + pos, n);
    return (ssize_t)n;
}

/* If-None-Match holding tag (or "*"): the client's copy is current. */
static int not_modified(const char *inm, const char *tag)
{
    return inm && (strstr(inm, tag) || !strcmp(inm, "*"));
}

static void send_file(mtd_req *rq, mtd_resp *rs, const con_file *f)
{
    int gz = f->gz && accepts_gzip(mtd_req_header(rq, "Accept-Encoding"));
    const char *tag = gz ? f->gz_etag : f->etag;
    rs->ctype = f->type;
    rs->cache = f->immutable ? "public, max-age=31536000, immutable" : "no-cache";
    rs->vary = f->gz ? "Accept-Encoding" : NULL;
    rs->console = 1;
    snprintf(rs->etag, sizeof rs->etag, "%s", tag);
    if (not_modified(mtd_req_header(rq, "If-None-Match"), tag)) {
        rs->status = 304;
        rs->text = strdup("");
        return;
    }
    body_ref *b = malloc(sizeof *b);
    if (!b) {
        mtd_resp_error(rs, 503, "busy", "out of memory; retry");
        return;
    }
    *b = (body_ref){gz ? f->gz : f->data, gz ? f->gz_len : f->len};
    rs->encoding = gz ? "gzip" : NULL;
    rs->status = 200;
    rs->stream = read_body;
    rs->stream_free = free;
    rs->stream_ctx = b;
    rs->stream_size = b->len;
}

void mtd_handle_console(mtd_collector *c, mtd_req *rq, mtd_resp *rs)
{
    const char *p = rq->path;
    if (strcmp(rq->method, "GET") && strcmp(rq->method, "HEAD")) {
        rs->allow = "GET, HEAD";
        mtd_resp_error(rs, 405, "method_not_allowed", "the console's files are read with GET");
        return;
    }
    if (!strcmp(p, "/")) {
        rs->location = "/console/";
        mtd_resp_error(rs, 302, "found", "the admin console is at /console/");
        return;
    }
    if (!c->console) {
        mtd_resp_error(rs, 404, "not_found", "the admin console is not installed: build it (make build) or"
                                             " start the collector with --console DIR");
        return;
    }
    /* "/console" and "/console/" are the page; "/console/NAME" one of its files */
    const char *name = !strcmp(p, "/console") || !strcmp(p, "/console/") ? "index.html" : p + 9;
    const con_file *f = find(c->console, name);
    if (!f) {
        mtd_resp_error(rs, 404, "not_found", "no console file %.200s", p);
        return;
    }
    send_file(rq, rs, f);
}

/* The console's pages may load scripts, styles and images from the collector only,
 * and talk to it only; no inline script or style, no frame, no plug-in, no form
 * posted elsewhere. Trusted Types: no string ever becomes markup or script. */
static const char console_csp[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self';"
    " connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none';"
    " frame-ancestors 'none'; require-trusted-types-for 'script'; trusted-types 'none'";
/* An API answer is data: nothing in it may run or be framed, whatever opens it. */
static const char api_csp[] = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

void mtd_security_headers(const mtd_resp *rs, void (*add)(void *ctx, const char *name, const char *value),
                          void *ctx)
{
    add(ctx, "Content-Security-Policy", rs->console ? console_csp : api_csp);
    add(ctx, "X-Content-Type-Options", "nosniff");
    add(ctx, "X-Frame-Options", "DENY");
    add(ctx, "Referrer-Policy", "no-referrer");
    add(ctx, "Cross-Origin-Opener-Policy", "same-origin");
    add(ctx, "Cross-Origin-Resource-Policy", "same-origin");
    add(ctx, "Permissions-Policy", "camera=(), microphone=(), geolocation=(), usb=(), payment=()");
    add(ctx, "Cache-Control", rs->cache ? rs->cache : "no-store");
    if (rs->encoding)
        add(ctx, "Content-Encoding", rs->encoding);
    if (rs->vary)
        add(ctx, "Vary", rs->vary);
    if (rs->location)
        add(ctx, "Location", rs->location);
    if (rs->allow)
        add(ctx, "Allow", rs->allow);
}
