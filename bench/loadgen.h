/* loadgen: the load generator of the ingest benchmarks (bench_ingest, pg_scale). */
#ifndef MTD_BENCH_LOADGEN_H
#define MTD_BENCH_LOADGEN_H
#include "common/mtd_buf.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdint.h>
#include <sys/time.h>

typedef struct {
    char cred[200];
    char device[32];
    char src[32];    /* its own loopback address, as devices come from many */
    const char *url; /* the collector (or load balancer) it uploads to */
    char answer[256]; /* the start of the last answer's body */
    size_t alen;
    int sent;
    int tried;       /* a transfer of this run has ended (its connection is open) */
    CURL *h;
    struct curl_slist *hdrs;
    /* its own host name for the collector, resolved to the url's address: libcurl's
     * connection cache is the multi handle's, one list per host name, and a transfer
     * looking for a connection to reuse checks every idle one of its host's list with
     * a poll() before it compares the source address (lg_submit) */
    char host_url[96];
    struct curl_slist *resolve;
    int waiting;     /* its next batch waits for due (paced, or after a Retry-After) */
    int64_t due;
    int64_t t0;      /* the first attempt of the batch being sent: a batch answered 429
                      * and sent again waits from there */
    int64_t t_try;   /* the attempt being sent */
} lg_device;

typedef struct {
    void *z;
    size_t zn;
} lg_blob;

/* devices, batches per device, events per batch */
extern int lg_n_dev, lg_n_batch, lg_n_ev;
extern long lg_reconnects; /* connections opened past each device's first */
extern char lg_tenant[32];
/* the batch latencies (ms) of the last upload, room for lg_n_dev * lg_n_batch */
extern double *lg_lat;
extern size_t lg_nlat;
/* when not NULL (room as lg_lat): the latency (ms) of each batch's attempt answered
 * 200 alone, from that attempt's start: what a batch the collector took waited there */
extern double *lg_lat_try;
/* 0: every device sends its next batch at once (the collector's capacity); else each
 * waits a pause uniform in [0, this] first (a given load, for its latency) */
extern double lg_think_ms;
extern int lg_round; /* in every batch key: a second upload to one tenant is new batches */

/* answers other than 200 by status and error word (status 0: the connection closed
 * without an answer), so that a retry says which limit sent it */
#define LG_NWHY 16
typedef struct {
    long code, n;
    char error[40];
} lg_why;
extern lg_why lg_retry_why[LG_NWHY];

double lg_tv_s(struct timeval t);
int lg_cmp_d(const void *a, const void *b);
/* METHOD URL PATH with a bearer token and an optional body: the answer's JSON or NULL */
json_t *lg_http_json(const char *url, const char *method, const char *path, const char *tok, const char *body);
/* A batch of device d: lg_n_ev app.inventory events of about 600 bytes each. */
void lg_make_batch(const lg_device *d, mtd_buf *raw);
/* A tenant (lg_tenant) made with the operator token of the collector whose data
 * directory is data, and every device enrolled in it at url. */
int lg_enroll_all(lg_device *d, const char *url, const char *data);
/* Uploads every batch of every device (bl[device * lg_n_batch + k]), all devices at
 * once, each to its own url; returns seconds; counts answers other than 200. */
double lg_upload(lg_device *d, lg_blob *bl, long *errors);
#endif
