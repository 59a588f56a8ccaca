/* mtd-collector: receives gated events from devices, keeps each tenant in its own
 * store, and serves the admin API (DESIGN.md section 4). */
#include "collector/mtd_collector.h"
#include "collector/mtd_lifecycle.h"
#include "collector/mtd_server.h"
#include "common/mtd_err.h"
#include "common/mtd_file.h"
#include "common/mtd_log.h"

#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define VERSION "0.1.0"

static const char usage[] =
    "usage: mtd-collector --data DIR --listen ADDR:PORT [--tls-cert FILE --tls-key FILE]\n"
    "                     [--store URL] [--threads N] [--max-inflight N]\n"
    "                     [--conn-timeout SECONDS] [--retention-interval SECONDS]\n"
    "\n"
    "Receives events from enrolled mtd-agent devices and keeps each tenant in its own\n"
    "store: one SQLite file per tenant under DIR/tenants/. On first start it writes the\n"
    "operator token to DIR/operator.token (mode 0600); use it with `mtdctl tenant create`.\n"
    "\n"
    "  --data DIR         data directory (created 0700)\n"
    "  --listen ADDR:PORT address to serve on; port 0 picks a free port. A non-loopback\n"
    "                     address requires TLS.\n"
    "  --tls-cert FILE    PEM certificate (with --tls-key): serve HTTPS\n"
    "  --tls-key FILE     PEM private key\n"
    "  --store URL        store backend; default: SQLite file per tenant\n"
    "  --threads N        HTTP worker threads (default: 8 per CPU, at least 16)\n"
    "  --max-inflight N   batches ingested at once before answering 429 (default 64)\n"
    "  --conn-timeout SECONDS\n"
    "                     close connections idle this long (default 30)\n"
    "  --retention-interval SECONDS\n"
    "                     how often the retention job runs (default 3600)\n"
    "\n"
    "The URL it serves is printed on stdout and written to DIR/collector.url.\n"
    "SIGTERM or SIGINT stops it after the requests in flight have finished.\n";

typedef struct {
    const char *data, *store;
    mtd_server_opts srv;
    unsigned retention_s;
    int max_inflight;
} opts;

static int die(const char *fmt, const char *a)
{
    fprintf(stderr, "mtd-collector: ");
    fprintf(stderr, fmt, a);
    fprintf(stderr, "\n");
    return 2;
}

static int parse(int argc, char **argv, opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            exit(0);
        }
        if (!strcmp(a, "--version")) {
            puts("mtd-collector " VERSION);
            exit(0);
        }
        const char **dst = !strcmp(a, "--data")       ? &o->data
                           : !strcmp(a, "--listen")   ? &o->srv.listen
                           : !strcmp(a, "--tls-cert") ? &o->srv.tls_cert
                           : !strcmp(a, "--tls-key")  ? &o->srv.tls_key
                           : !strcmp(a, "--store")    ? &o->store
                                                      : NULL;
        if (!strcmp(a, "--threads") && i + 1 < argc) {
            o->srv.threads = (unsigned)atoi(argv[++i]);
            continue;
        }
        if (!strcmp(a, "--max-inflight") && i + 1 < argc) {
            o->max_inflight = atoi(argv[++i]);
            continue;
        }
        if (!strcmp(a, "--conn-timeout") && i + 1 < argc) {
            o->srv.conn_timeout = (unsigned)atoi(argv[++i]);
            continue;
        }
        if (!strcmp(a, "--retention-interval") && i + 1 < argc) {
            o->retention_s = (unsigned)atoi(argv[++i]);
            continue;
        }
        if (!dst)
            return die("unknown option %s (see --help)", a);
        if (i + 1 >= argc)
            return die("%s needs a value", a);
        *dst = argv[++i];
    }
    if (!o->data)
        return die("%s", "--data DIR is required (see --help)");
    if (!o->srv.listen)
        return die("%s", "--listen ADDR:PORT is required (see --help)");
    if (o->store && strncmp(o->store, "sqlite:", 7) != 0)
        return die("--store %s: only the embedded SQLite store is available in this build "
                   "(the PostgreSQL backend is not implemented yet)", o->store);
    return 0;
}

int main(int argc, char **argv)
{
    opts o = {.max_inflight = 64};
    int r = parse(argc, argv, &o);
    if (r)
        return r;
    mtd_log_init();
    /* batch buffers (a few hundred KiB) come from the heap and are reused, instead of a
     * fresh mmap, zeroed page by page, for every request */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    umask(077); /* stores, keys and WAL files are the tenant's alone */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* worker threads inherit the mask */
    signal(SIGPIPE, SIG_IGN);

    mtd_collector c = {.max_inflight = o.max_inflight};
    char why[512];
    mtd_metrics_init(&c.metrics);
    if ((r = mtd_tenants_open(o.data, &c.tenants, why, sizeof why)) != 0)
        return die("%s", why);
    mtd_server *s;
    if ((r = mtd_server_start(&c, &o.srv, &s, why, sizeof why)) != 0) {
        mtd_tenants_close(c.tenants);
        return die("%s", why);
    }
    mtd_lifecycle *life = NULL;
    if (mtd_lifecycle_start(c.tenants, o.retention_s, &life) != 0)
        mtd_log(MTD_LOG_ERROR, "main", "retention job not started");
    char path[1200], line[400];
    snprintf(path, sizeof path, "%s/collector.url", o.data);
    snprintf(line, sizeof line, "%s\n", mtd_server_url(s));
    mtd_file_write_atomic(path, line, strlen(line), 0644);
    printf("mtd-collector %s listening on %s (data %s)\n", VERSION, mtd_server_url(s), o.data);
    fflush(stdout);
    int sig;
    sigwait(&set, &sig);
    mtd_log(MTD_LOG_INFO, "main", "signal=%d stopping", sig);
    mtd_server_stop(s);
    mtd_lifecycle_stop(life);
    mtd_tenants_close(c.tenants);
    mtd_metrics_destroy(&c.metrics);
    return 0;
}
