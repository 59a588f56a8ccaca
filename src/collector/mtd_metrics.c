/* mtd_metrics: counters and their Prometheus exposition. */
#include "collector/mtd_metrics.h"
#include "collector/mtd_tenants.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Upper bounds (seconds) of the ingest latency histogram. */
static const double bounds[MTD_METRICS_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                   0.1, 0.25, 0.5, 1, 2.5, 5};

void mtd_metrics_init(mtd_metrics *m)
{
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
}

void mtd_metrics_destroy(mtd_metrics *m)
{
    pthread_mutex_destroy(&m->mu);
}

void mtd_metrics_request(mtd_metrics *m, const char *route, int code)
{
    pthread_mutex_lock(&m->mu);
    for (int i = 0; i < MTD_METRICS_MAX_SERIES; i++) {
        mtd_metric_req *r = &m->req[i];
        if (r->name[0] && (strcmp(r->name, route) || r->code != code))
            continue;
        if (!r->name[0]) {
            snprintf(r->name, sizeof r->name, "%s", route);
            r->code = code;
        }
        r->n++;
        break;
    }
    pthread_mutex_unlock(&m->mu);
}

/* Adds n to the series of reason in tab (a fixed table: a new reason past its end is
 * not counted). Caller holds m->mu. */
static void count_reason(mtd_metric_rej *tab, int size, const char *reason, uint64_t n)
{
    for (int i = 0; i < size; i++) {
        mtd_metric_rej *r = &tab[i];
        if (r->reason[0] && strcmp(r->reason, reason))
            continue;
        if (!r->reason[0])
            snprintf(r->reason, sizeof r->reason, "%s", reason);
        r->n += n;
        break;
    }
}

void mtd_metrics_shed(mtd_metrics *m, const char *reason)
{
    pthread_mutex_lock(&m->mu);
    count_reason(m->shed, 16, reason, 1);
    pthread_mutex_unlock(&m->mu);
}

uint64_t mtd_metrics_shed_total(mtd_metrics *m)
{
    uint64_t n = 0;
    pthread_mutex_lock(&m->mu);
    for (int i = 0; i < 16; i++)
        n += m->shed[i].n;
    pthread_mutex_unlock(&m->mu);
    return n;
}

void mtd_metrics_rejected(mtd_metrics *m, const char *reason, uint64_t events)
{
    pthread_mutex_lock(&m->mu);
    count_reason(m->rej, MTD_METRICS_MAX_SERIES, reason, events);
    pthread_mutex_unlock(&m->mu);
}

void mtd_metrics_ingest(mtd_metrics *m, double s, uint64_t events, int replayed)
{
    pthread_mutex_lock(&m->mu);
    int b = 0;
    while (b < MTD_METRICS_BUCKETS && s > bounds[b])
        b++;
    m->lat_bucket[b]++;
    m->lat_sum += s;
    m->lat_count++;
    if (replayed)
        m->batches_replayed++;
    else {
        m->batches_stored++;
        m->events_stored += events;
    }
    pthread_mutex_unlock(&m->mu);
}

static uint64_t dir_bytes(const char *dir)
{
    uint64_t total = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        char p[1400];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (e->d_name[0] != '.' && stat(p, &st) == 0 && S_ISREG(st.st_mode))
            total += (uint64_t)st.st_size;
    }
    if (d)
        closedir(d);
    return total;
}

static void render_store_sizes(const char *data_dir, mtd_buf *out)
{
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/tenants", data_dir);
    mtd_buf_puts(out, "# HELP mtd_store_bytes Size of each tenant's store files.\n"
                      "# TYPE mtd_store_bytes gauge\n");
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (!mtd_tenant_id_valid(e->d_name))
            continue;
        char p[1400];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        mtd_buf_printf(out, "mtd_store_bytes{tenant=\"%s\"} %llu\n", e->d_name,
                       (unsigned long long)dir_bytes(p));
    }
    if (d)
        closedir(d);
}

void mtd_metrics_render(mtd_metrics *m, const char *data_dir, mtd_buf *out)
{
    pthread_mutex_lock(&m->mu);
    mtd_buf_puts(out, "# HELP mtd_http_requests_total HTTP requests by route and status code.\n"
                      "# TYPE mtd_http_requests_total counter\n");
    for (int i = 0; i < MTD_METRICS_MAX_SERIES && m->req[i].name[0]; i++)
        mtd_buf_printf(out, "mtd_http_requests_total{route=\"%s\",code=\"%d\"} %llu\n",
                       m->req[i].name, m->req[i].code, (unsigned long long)m->req[i].n);
    mtd_buf_puts(out, "# HELP mtd_events_rejected_total Events rejected at ingest, by reason.\n"
                      "# TYPE mtd_events_rejected_total counter\n");
    for (int i = 0; i < MTD_METRICS_MAX_SERIES && m->rej[i].reason[0]; i++)
        mtd_buf_printf(out, "mtd_events_rejected_total{reason=\"%s\"} %llu\n", m->rej[i].reason,
                       (unsigned long long)m->rej[i].n);
    mtd_buf_printf(out, "# HELP mtd_events_stored_total Events stored.\n"
                        "# TYPE mtd_events_stored_total counter\nmtd_events_stored_total %llu\n"
                        "# HELP mtd_batches_total Batches acknowledged, by outcome.\n"
                        "# TYPE mtd_batches_total counter\n"
                        "mtd_batches_total{outcome=\"stored\"} %llu\n"
                        "mtd_batches_total{outcome=\"replayed\"} %llu\n",
                   (unsigned long long)m->events_stored, (unsigned long long)m->batches_stored,
                   (unsigned long long)m->batches_replayed);
    mtd_buf_puts(out, "# HELP mtd_shed_total Requests and connections shed to keep the collector"
                      " serving the others, by reason.\n# TYPE mtd_shed_total counter\n");
    for (int i = 0; i < 16 && m->shed[i].reason[0]; i++)
        mtd_buf_printf(out, "mtd_shed_total{reason=\"%s\"} %llu\n", m->shed[i].reason,
                       (unsigned long long)m->shed[i].n);
    mtd_buf_puts(out, "# HELP mtd_ingest_seconds Batch ingest latency.\n"
                      "# TYPE mtd_ingest_seconds histogram\n");
    uint64_t cum = 0;
    for (int b = 0; b < MTD_METRICS_BUCKETS; b++) {
        cum += m->lat_bucket[b];
        mtd_buf_printf(out, "mtd_ingest_seconds_bucket{le=\"%g\"} %llu\n", bounds[b],
                       (unsigned long long)cum);
    }
    cum += m->lat_bucket[MTD_METRICS_BUCKETS];
    mtd_buf_printf(out, "mtd_ingest_seconds_bucket{le=\"+Inf\"} %llu\nmtd_ingest_seconds_sum %g\n"
                        "mtd_ingest_seconds_count %llu\n",
                   (unsigned long long)cum, m->lat_sum, (unsigned long long)m->lat_count);
    pthread_mutex_unlock(&m->mu);
    if (data_dir)
        render_store_sizes(data_dir, out);
}

/* "Threads:" and "VmRSS:" (KiB) of /proc/self/status. */
static void proc_status(long *threads, long *rss_kib)
{
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");
    *threads = *rss_kib = -1;
    while (f && fgets(line, sizeof line, f)) {
        sscanf(line, "Threads: %ld", threads);
        sscanf(line, "VmRSS: %ld", rss_kib);
    }
    if (f)
        fclose(f);
}

void mtd_process_render(mtd_buf *out)
{
    long threads, rss, fds = 0;
    proc_status(&threads, &rss);
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        fds += e->d_name[0] != '.';
    if (d) {
        closedir(d);
        fds--; /* the directory's own */
    }
    mtd_buf_printf(out, "# HELP mtd_process_threads Threads of the collector process.\n"
                        "# TYPE mtd_process_threads gauge\nmtd_process_threads %ld\n"
                        "# HELP mtd_process_open_fds File descriptors the collector holds open.\n"
                        "# TYPE mtd_process_open_fds gauge\nmtd_process_open_fds %ld\n"
                        "# HELP mtd_process_resident_bytes Resident memory of the collector.\n"
                        "# TYPE mtd_process_resident_bytes gauge\nmtd_process_resident_bytes %lld\n",
                   threads, fds, rss < 0 ? -1LL : (long long)rss * 1024);
}
