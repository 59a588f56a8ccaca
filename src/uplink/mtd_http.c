/* mtd_http: libcurl request helper with caps, TLS verification and pinning. */
#include "uplink/mtd_http.h"
#include "common/mtd_err.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MTD_HTTP_MAX_BODY (64u << 20)

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static void global_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

typedef struct {
    mtd_http_resp *r;
    CURL *c;
    FILE *sink;
} body_ctx;

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    body_ctx *x = ud;
    long status = 0;
    if (x->sink && curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK &&
        status >= 200 && status <= 299)
        return fwrite(p, 1, sz * n, x->sink);
    return mtd_buf_append(&x->r->body, p, sz * n) == 0 ? sz * n : 0;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    mtd_http_resp *r = ud;
    size_t len = sz * n;
    if (len > 12 && !strncasecmp(p, "Retry-After:", 12))
        r->retry_after_s = strtol(p + 12, NULL, 10);
    return len;
}

static struct curl_slist *make_headers(const mtd_http_opts *o, const char *const *headers)
{
    struct curl_slist *h = curl_slist_append(NULL, "Expect:"); /* no 100-continue round trip */
    for (const char *const *p = headers; p && *p; p++)
        h = curl_slist_append(h, *p);
    if (o->bearer) {
        char auth[512];
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", o->bearer);
        h = curl_slist_append(h, auth);
    }
    return h;
}

int mtd_http_request(const mtd_http_opts *o, const char *method, const char *url,
                     const char *const *headers, const void *body, size_t len,
                     mtd_http_resp *resp, char *why, size_t whylen)
{
    pthread_once(&g_once, global_init);
    memset(resp, 0, sizeof *resp);
    mtd_buf_init(&resp->body, o->max_body ? o->max_body : MTD_HTTP_MAX_BODY);
    resp->retry_after_s = -1;
    CURL *c = curl_easy_init();
    if (!c)
        return MTD_ENOMEM;
    char err[CURL_ERROR_SIZE] = "";
    struct curl_slist *h = make_headers(o, headers);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, o->timeout_s ? o->timeout_s : 30L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    body_ctx bx = {resp, c, o->sink};
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &bx);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, resp);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (o->ca_file && o->ca_file[0])
        curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
    if (o->pin && o->pin[0])
        curl_easy_setopt(c, CURLOPT_PINNEDPUBLICKEY, o->pin);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        snprintf(why, whylen, "%s: %s", url, err[0] ? err : curl_easy_strerror(rc));
        mtd_buf_free(&resp->body);
        return MTD_ENET;
    }
    return 0;
}

void mtd_http_resp_free(mtd_http_resp *r)
{
    mtd_buf_free(&r->body);
}

void mtd_http_error_text(const mtd_http_resp *r, char *out, size_t outlen)
{
    json_t *j = r->body.len ? json_loadb((const char *)r->body.data, r->body.len, 0, NULL) : NULL;
    const char *e = json_string_value(json_object_get(j, "error"));
    const char *d = json_string_value(json_object_get(j, "detail"));
    if (e)
        snprintf(out, outlen, "HTTP %ld: %s%s%s", r->status, e, d ? ": " : "", d ? d : "");
    else
        snprintf(out, outlen, "HTTP %ld", r->status);
    json_decref(j);
}
