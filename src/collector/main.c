/* mtd-collector: receives gated events from devices, keeps each tenant in its own
 * store, and serves the admin API (DESIGN.md section 4). */
#include "alerts/mtd_alerts.h"
#include "collector/mtd_collector.h"
#include "collector/mtd_guard.h"
#include "collector/mtd_signin.h"
#include "collector/mtd_console.h"
#include "collector/mtd_lifecycle.h"
#include "collector/mtd_server.h"
#include "common/mtd_args.h"
#include "common/mtd_err.h"
#include "common/mtd_file.h"
#include "common/mtd_log.h"
#include "store/mtd_migrate.h"

#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#define VERSION "0.1.0"
#ifndef MTD_CONSOLE_DIR /* set by the build: where it bundles console/ */
#define MTD_CONSOLE_DIR "/usr/share/openmtd/console"
#endif

static const char usage[] =
    "usage: mtd-collector --data DIR --listen ADDR:PORT\n"
    "                     [--tls-cert FILE --tls-key FILE] [--store URL]\n"
    "                     [--store-pool N] [--threads N] [--ingest-threads N]\n"
    "                     [--max-inflight N]\n"
    "                     [--conn-timeout SECONDS] [--retention-interval SECONDS]\n"
    "                     [--body-budget MIB] [--max-connections N]\n"
    "                     [--max-conn-per-ip N] [--head-timeout SECONDS]\n"
    "                     [--body-timeout SECONDS] [--cold-opens N]\n"
    "                     [--console DIR] [--alert-allow-net CIDR,...]\n"
    "                     [--alert-retry-cap SECONDS] [--alert-dead-after SECONDS]\n"
    "                     [--max-open-stores N]\n"
    "\n"
    "Receives events from enrolled mtd-agent devices and keeps each tenant in its own\n"
    "store: one SQLite file per tenant under DIR/tenants/, or with --store\n"
    "postgresql://... a schema per tenant in PostgreSQL. On first start it writes\n"
    "the operator token to DIR/operator.token (mode 0600); use it with\n"
    "`mtdctl tenant create`.\n"
    "\n"
    "  --data DIR         data directory (created 0700)\n"
    "  --listen ADDR:PORT address to serve on; port 0 picks a free port. A\n"
    "                     non-loopback address requires TLS.\n"
    "  --tls-cert FILE    PEM certificate (with --tls-key): serve HTTPS\n"
    "  --tls-key FILE     PEM private key\n"
    "  --store URL        sqlite: (the default: a SQLite file per tenant under DIR)\n"
    "                     or postgresql://USER@HOST/DB: a PostgreSQL cluster that\n"
    "                     several collectors share (tenants, keys, feeds live there)\n"
    "  --store-pool N     connections to PostgreSQL this collector holds, 1 to 1024\n"
    "                     (default 8); while the database cannot be reached every\n"
    "                     request that needs it is answered 503 with Retry-After\n"
    "  --max-open-stores N\n"
    "                     tenant stores open at once, 1 to 100000 (default 256);\n"
    "                     opening one more closes the least recently used one that\n"
    "                     no request is using, as does an open when descriptors near\n"
    "                     the limit (ulimit -n). An open SQLite store holds about 10\n"
    "                     file descriptors (12 once its WAL was checkpointed)\n"
    "  --threads N        HTTP threads (they read requests and answer them), 1 to\n"
    "                     1024 (default, or 0: 4 per CPU, 8 to 16)\n"
    "  --ingest-threads N threads that store batches (parse, check, commit), 1 to 256\n"
    "                     (default 16): more than CPUs, as each waits for its commit\n"
    "  --max-inflight N   batches queued or being stored at once before answering\n"
    "                     429, 0 to 100000 (default 2048); a tenant may hold half of\n"
    "                     them (7/8 while it is the only one), a device 2. A batch\n"
    "                     is also answered 429 while the queued ones have waited\n"
    "                     over 1.5 s\n"
    "  --conn-timeout SECONDS\n"
    "                     close connections idle this long, 1 to 3600 (default 30)\n"
    "  --retention-interval SECONDS\n"
    "                     how often the retention job runs, 1 to 2678400\n"
    "                     (default 3600)\n"
    "  --body-budget MIB  memory all request bodies may hold at once, 1 to 1048576;\n"
    "                     past it a request is answered 503 with Retry-After\n"
    "                     (default 512)\n"
    "  --max-connections N\n"
    "                     connections open at once, 16 to 1000000 (default 4000);\n"
    "                     a tenth is kept for requests already authenticated: past\n"
    "                     the rest, the oldest connection still sending its request\n"
    "                     head is closed\n"
    "  --max-conn-per-ip N\n"
    "                     connections from one address that have not authenticated,\n"
    "                     0 (no limit) to 1000000 (default 256): when connections\n"
    "                     still sending their head fill half the slots, a new one\n"
    "                     from an address past this closes its oldest such one.\n"
    "                     None is refused at the door: a fleet behind one NAT gets in\n"
    "  --head-timeout SECONDS\n"
    "                     a request head must arrive within this, 1 to 3600\n"
    "                     (default 10)\n"
    "  --body-timeout SECONDS\n"
    "                     an authenticated request body must arrive within this, 1 to\n"
    "                     86400 (default 60)\n"
    "  --cold-opens N     tenant stores that requests not yet authenticated may make\n"
    "                     the collector open per second, 0 (no limit) to 100000\n"
    "                     (default 32, a burst of twice that); past it they are\n"
    "                     answered 503 with Retry-After\n"
    "  --console DIR      the admin console's files, served at /console (default: the\n"
    "                     build's, " MTD_CONSOLE_DIR ")\n"
    "  --alert-allow-net CIDR,...\n"
    "                     networks alert destinations may be in although\n"
    "                     loopback, private or link-local (refused otherwise),\n"
    "                     e.g. 127.0.0.1/32\n"
    "  --alert-retry-cap SECONDS\n"
    "                     longest wait before a failed destination is tried\n"
    "                     again, 1 to 3600 (default 30)\n"
    "  --alert-dead-after SECONDS\n"
    "                     a delivery still failing after this becomes a dead\n"
    "                     letter, 1 to 2678400 (default 86400)\n"
    "\n"
    "The URL it serves is printed on stdout and written to DIR/collector.url.\n"
    "SIGTERM or SIGINT stops it after the requests in flight have finished.\n"
    "\n"
    "mtd-collector migrate --tenant ID --from URL --to URL [--replace]\n"
    "                     moves one tenant between stores (see migrate --help)\n";

static const char migrate_usage[] =
    "usage: mtd-collector migrate --tenant ID --from URL --to URL [--replace]\n"
    "\n"
    "Copies one tenant from one store to another and verifies the copy. A URL is\n"
    "sqlite:DIR (a collector's data directory, its tenant under DIR/tenants/ID/) or\n"
    "postgresql://... (a cluster). Every table of the store, the tenant's name,\n"
    "organization and key (so its tokens, credentials and pseudonyms stay good) and\n"
    "its feeds are copied; then each table is read back on both sides and compared\n"
    "by row count and a SHA-256 over its rows in key order: one line per table\n"
    "(table rows sha256) and a verdict are printed. Stop the collectors of both\n"
    "stores first (a SQLite data directory in use is refused). The source is not\n"
    "changed; the destination is removed again unless the copy is verified.\n"
    "\n"
    "  --tenant ID        the tenant's ID (16 hex digits)\n"
    "  --from URL         where the tenant is: sqlite:DIR or postgresql://...\n"
    "  --to URL           where it goes: sqlite:DIR or postgresql://...\n"
    "  --replace          delete the tenant at the destination first if it exists\n"
    "                     there (without it, an existing tenant is refused)\n";

/* mtd-collector migrate: exit 0 when the copy is verified, 1 otherwise. */
static int migrate_main(int argc, char **argv)
{
    static const mtd_optspec specs[] = {{"--tenant", MTD_ARG_ONE}, {"--from", MTD_ARG_ONE}, {"--to", MTD_ARG_ONE},
                                        {"--replace", MTD_ARG_FLAG}, {NULL, 0}};
    static mtd_args a;
    char why[768];
    int r = mtd_args_parse(argc - 1, argv + 1, specs, &a, why, sizeof why);
    if (r == MTD_ARGS_HELP) {
        fputs(migrate_usage, stdout);
        return 0;
    }
    if (r == 0 && a.npos)
        snprintf(why, sizeof why, "migrate: unexpected argument \"%s\" (see migrate --help)", a.pos[0]);
    else if (r == 0 && (!mtd_args_get(&a, "--tenant") || !mtd_args_get(&a, "--from") || !mtd_args_get(&a, "--to")))
        snprintf(why, sizeof why, "migrate: --tenant, --from and --to are required (see migrate --help)");
    else if (r == 0)
        why[0] = 0;
    if (why[0]) {
        fprintf(stderr, "mtd-collector: %s\n", why);
        return 1;
    }
    mtd_log_init_level(MTD_LOG_ERROR + 1); /* one line on failure; MTD_LOG=... for more */
    umask(077);
    mtd_migrate_opts o = {.tenant = mtd_args_get(&a, "--tenant"), .from = mtd_args_get(&a, "--from"),
                          .to = mtd_args_get(&a, "--to"), .replace = mtd_args_has(&a, "--replace")};
    r = mtd_migrate_run(&o, stdout, why, sizeof why);
    fflush(stdout);
    if (r)
        fprintf(stderr, "mtd-collector: migrate: %s\n", why);
    return r ? 1 : 0;
}

typedef struct {
    const char *data, *store, *console;
    mtd_server_opts srv;
    unsigned retention_s;
    int store_pool;
    int max_open;
    int max_inflight;
    unsigned body_budget_mib;
    unsigned cold_opens;
    mtd_alerts_opts alerts;
} opts;

static int die(const char *fmt, const char *a)
{
    fprintf(stderr, "mtd-collector: ");
    fprintf(stderr, fmt, a);
    fprintf(stderr, "\n");
    return 2;
}

/* The numeric options: each strict and within its range (mtd_parse_int). */
#define NNUM 15
static const struct {
    const char *name;
    long long min, max, def;
} numeric[NNUM] = {
    {"--threads", 0, 1024, 0},               /* 0: the default */
    /* 0: every batch is answered 429. 2048: above a fleet's one batch per device at
     * 1,000 devices uploading at once (7/8 of 1,024, a lone tenant's share, refused a
     * tenth of them in turn, each then waiting out its Retry-After), so that at that
     * size the wait bound (MTD_BATCH_QUEUE_WAIT_MS), not the count, refuses; what the
     * batches hold is bounded by --body-budget */
    {"--max-inflight", 0, 100000, 2048},
    {"--conn-timeout", 1, 3600, 30},
    {"--retention-interval", 1, 2678400, 3600}, /* at most 31 days */
    {"--body-budget", 1, 1048576, 512},
    {"--max-connections", 16, 1000000, 4000},
    {"--max-conn-per-ip", 0, 1000000, 256},
    {"--head-timeout", 1, 3600, 10},
    {"--body-timeout", 1, 86400, 60},
    {"--cold-opens", 0, 100000, 32},
    {"--alert-retry-cap", 1, 3600, 30},
    {"--alert-dead-after", 1, 2678400, 86400},
    {"--store-pool", 1, 1024, 8},
    {"--max-open-stores", 1, 100000, MTD_TENANTS_MAX_OPEN},
    {"--ingest-threads", 0, 256, 0},         /* 0: the default */
};

static int parse(int argc, char **argv, opts *o)
{
    static const mtd_optspec specs[] = {
        {"--data", MTD_ARG_ONE}, {"--listen", MTD_ARG_ONE}, {"--tls-cert", MTD_ARG_ONE},
        {"--tls-key", MTD_ARG_ONE}, {"--store", MTD_ARG_ONE}, {"--threads", MTD_ARG_ONE},
        {"--max-inflight", MTD_ARG_ONE}, {"--conn-timeout", MTD_ARG_ONE},
        {"--retention-interval", MTD_ARG_ONE}, {"--body-budget", MTD_ARG_ONE},
        {"--max-connections", MTD_ARG_ONE}, {"--max-conn-per-ip", MTD_ARG_ONE},
        {"--head-timeout", MTD_ARG_ONE}, {"--body-timeout", MTD_ARG_ONE},
        {"--cold-opens", MTD_ARG_ONE}, {"--console", MTD_ARG_ONE},
        {"--alert-allow-net", MTD_ARG_ONE}, {"--alert-retry-cap", MTD_ARG_ONE},
        {"--alert-dead-after", MTD_ARG_ONE}, {"--store-pool", MTD_ARG_ONE},
        {"--max-open-stores", MTD_ARG_ONE}, {"--ingest-threads", MTD_ARG_ONE},
        {"--version", MTD_ARG_FLAG},
        {NULL, 0}};
    static mtd_args a; /* large, and its values are kept in o */
    char why[256];
    int r = mtd_args_parse(argc - 1, argv + 1, specs, &a, why, sizeof why);
    if (r == MTD_ARGS_HELP) { /* --help or -h, anywhere an option may be */
        fputs(usage, stdout);
        exit(0);
    }
    if (r != 0)
        return die("%s", why);
    if (mtd_args_has(&a, "--version")) {
        puts("mtd-collector " VERSION);
        exit(0);
    }
    if (a.npos)
        return die("unexpected argument \"%s\" (see --help)", a.pos[0]);
    o->data = mtd_args_get(&a, "--data");
    o->srv.listen = mtd_args_get(&a, "--listen");
    o->srv.tls_cert = mtd_args_get(&a, "--tls-cert");
    o->srv.tls_key = mtd_args_get(&a, "--tls-key");
    o->store = mtd_args_get(&a, "--store");
    o->console = mtd_args_get(&a, "--console");
    long long v[NNUM];
    for (size_t i = 0; i < NNUM; i++)
        if (mtd_args_int(&a, numeric[i].name, numeric[i].min, numeric[i].max, numeric[i].def, &v[i],
                         why, sizeof why) != 0)
            return die("%s", why);
    o->srv.threads = (unsigned)v[0];
    o->max_inflight = (int)v[1];
    o->srv.conn_timeout = (unsigned)v[2];
    o->retention_s = (unsigned)v[3];
    o->body_budget_mib = (unsigned)v[4];
    o->srv.max_connections = (unsigned)v[5];
    o->srv.max_per_ip = (unsigned)v[6];
    o->srv.head_timeout = (unsigned)v[7];
    o->srv.body_timeout = (unsigned)v[8];
    o->cold_opens = (unsigned)v[9];
    o->alerts.retry_cap_s = (unsigned)v[10];
    o->alerts.dead_after_s = (unsigned)v[11];
    o->alerts.allow_net = mtd_args_get(&a, "--alert-allow-net");
    o->store_pool = (int)v[12];
    o->max_open = (int)v[13];
    o->srv.ingest_threads = (unsigned)v[14];
    if (!o->data)
        return die("%s", "--data DIR is required (see --help)");
    if (!o->srv.listen)
        return die("%s", "--listen ADDR:PORT is required (see --help)");
    mtd_store_kind kind;
    if (mtd_store_url_kind(o->store, &kind, why, sizeof why) != 0)
        return die("%s", why);
    return 0;
}

/* The console's files: from --console DIR, which must hold them, else from the build's
 * directory when it has them (a collector without a console still serves devices).
 * why gets what to log once the collector is up. */
static int load_console(mtd_collector *c, const char *dir, char *why, size_t wl)
{
    int r = mtd_console_load(dir ? dir : MTD_CONSOLE_DIR, &c->console, why, wl);
    if (r && dir) {
        die("--console: %s", why);
        return r;
    }
    if (r == 0)
        snprintf(why, wl, "files=%zu dir=%s", mtd_console_count(c->console), dir ? dir : MTD_CONSOLE_DIR);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "migrate"))
        return migrate_main(argc - 1, argv + 1);
    opts o = {0};
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
    struct rlimit nofile; /* a descriptor per connection: --max-connections of them */
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        setrlimit(RLIMIT_NOFILE, &nofile);
    }

    mtd_collector c = {.max_inflight = o.max_inflight, .body_budget = (size_t)o.body_budget_mib << 20};
    char why[512];
    mtd_metrics_init(&c.metrics);
    if ((r = mtd_tenants_open_store(o.data, o.store, o.store_pool, &c.tenants, why, sizeof why)) != 0)
        return die("%s", why);
    if (mtd_tenants_set_max_open(c.tenants, o.max_open) != 0) /* no store is open yet */
        return die("%s", "out of memory for --max-open-stores");
    if (mtd_guard_create(c.tenants, o.cold_opens, &c.guard) != 0 || mtd_signin_create(&c.signin) != 0)
        return die("%s", "cannot start the authentication guard");
    if ((r = mtd_alerts_start(c.tenants, &o.alerts, &c.alerts, why, sizeof why)) != 0)
        return die("%s", why);
    char con_msg[600];
    if (load_console(&c, o.console, con_msg, sizeof con_msg) != 0) {
        mtd_alerts_stop(c.alerts);
        mtd_guard_destroy(c.guard);
        mtd_signin_destroy(c.signin);
        mtd_tenants_close(c.tenants);
        return 2;
    }
    mtd_server *s;
    if ((r = mtd_server_start(&c, &o.srv, &s, why, sizeof why)) != 0) {
        mtd_alerts_stop(c.alerts);
        mtd_guard_destroy(c.guard);
        mtd_signin_destroy(c.signin);
        mtd_tenants_close(c.tenants);
        mtd_console_free(c.console);
        return die("%s", why);
    }
    mtd_log(c.console ? MTD_LOG_INFO : MTD_LOG_WARN, "console", "%s%s", c.console ? "" : "not served: ", con_msg);
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
    mtd_alerts_stop(c.alerts);
    mtd_lifecycle_stop(life);
    mtd_guard_destroy(c.guard);
    mtd_signin_destroy(c.signin);
    mtd_tenants_close(c.tenants);
    mtd_metrics_destroy(&c.metrics);
    mtd_console_free(c.console);
    return 0;
}
