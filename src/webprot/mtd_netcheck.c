/* mtd_netcheck: certificate probes for the names the agent can check (see
 * mtd_netcheck.h). */
#include "webprot/mtd_netcheck.h"
#include "common/mtd_log.h"
#include "common/mtd_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_NAMES 64
#define QUEUE 64
#define SEEN 256
#define AGAIN_MS (10 * 60 * 1000)

typedef struct {
    char name[256];
    uint32_t ip;
    uint16_t port;
} probe;

struct mtd_netcheck {
    mtd_webevents *we;
    char *names[MAX_NAMES];
    int nnames;
    char *trust;
    int mark;
    pthread_mutex_t mu;
    pthread_cond_t cv, idle;
    pthread_t thread;
    int stop, busy;
    probe q[QUEUE];
    int qn;
    struct { uint64_t key; int64_t at; } seen[SEEN];
    unsigned probes, failed;
};

int mtd_netcheck_wants(const mtd_netcheck *nc, const char *name)
{
    for (int i = 0; nc && i < nc->nnames; i++)
        if (!strcasecmp(nc->names[i], name))
            return 1;
    return 0;
}

static void report(mtd_netcheck *nc, const probe *p, const char *ip, const char *err)
{
    char evidence[700], key[300], hex[65], id[40];
    snprintf(evidence, sizeof evidence,
             "the certificate chain presented for %s at %s:%u does not verify against %s: %s", p->name, ip,
             p->port, nc->trust ? "the configured trust store" : "the system's trust store", err);
    int kl = snprintf(key, sizeof key, "%s|%s", p->name, ip);
    mtd_sha256_hex(key, (size_t)kl, hex);
    snprintf(id, sizeof id, "net_tls_%.24s", hex);
    json_t *f = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "threat_name", "Suspected TLS interception",
                          "category", "network", "severity", "high", "source", "network", "evidence", evidence,
                          "status", "active", "threat_id", id);
    mtd_log(MTD_LOG_WARN, "vpn", "TLS interception suspected: %s", evidence);
    if (nc->we)
        mtd_webevents_queue(nc->we, "threat.detection", f, id);
    else
        json_decref(f);
}

/* A TCP connection to ip:port, marked so that it bypasses the tunnel, within timeout_ms;
 * then blocking with that timeout on each read and write. -1 when it cannot connect. */
static int probe_connect(const mtd_netcheck *nc, const probe *p, int timeout_ms)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    if (nc->mark)
        setsockopt(fd, SOL_SOCKET, SO_MARK, &nc->mark, sizeof nc->mark);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(p->port), .sin_addr.s_addr = p->ip};
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    struct pollfd pf = {.fd = fd, .events = POLLOUT};
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 &&
        (errno != EINPROGRESS || poll(&pf, 1, timeout_ms) != 1 ||
         getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0)) {
        close(fd);
        return -1;
    }
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return fd;
}

/* A TLS handshake with p->name at p->ip, verifying the chain against the trust store
 * and the certificate against the name. With OpenSSL itself rather than libcurl: all
 * a probe needs is the handshake, and libcurl (with the libraries it loads) was the
 * largest part of the VPN's resident memory. */
static void run_probe(mtd_netcheck *nc, const probe *p)
{
    char ip[INET_ADDRSTRLEN], err[300] = "";
    inet_ntop(AF_INET, &p->ip, ip, sizeof ip);
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl = NULL;
    int fd = -1;
    long verify = X509_V_OK;
    if (!ctx || (nc->trust ? SSL_CTX_load_verify_locations(ctx, nc->trust, NULL)
                           : SSL_CTX_set_default_verify_paths(ctx)) != 1) {
        snprintf(err, sizeof err, "cannot load the trust store");
        goto out;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if ((fd = probe_connect(nc, p, 10000)) < 0) {
        snprintf(err, sizeof err, "cannot connect: %s", strerror(errno));
        goto out;
    }
    if (!(ssl = SSL_new(ctx)) || SSL_set_fd(ssl, fd) != 1 || SSL_set_tlsext_host_name(ssl, p->name) != 1 ||
        SSL_set1_host(ssl, p->name) != 1) {
        snprintf(err, sizeof err, "cannot set up TLS");
        goto out;
    }
    if (SSL_connect(ssl) != 1) {
        verify = SSL_get_verify_result(ssl);
        unsigned long e = ERR_peek_last_error();
        snprintf(err, sizeof err, "TLS handshake: %s",
                 e ? ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "failed" : "connection closed");
    }
out:
    ERR_clear_error();
    __atomic_add_fetch(&nc->probes, 1, __ATOMIC_SEQ_CST);
    /* only a chain or name that fails verification counts: an unreachable server
     * says nothing about who is on the path */
    if (verify != X509_V_OK) {
        __atomic_add_fetch(&nc->failed, 1, __ATOMIC_SEQ_CST);
        char why[400];
        snprintf(why, sizeof why, "SSL certificate problem: %s", X509_verify_cert_error_string(verify));
        report(nc, p, ip, why);
    } else if (err[0]) {
        mtd_log(MTD_LOG_INFO, "vpn", "certificate probe of %s at %s: %s", p->name, ip, err);
    }
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    if (fd >= 0)
        close(fd);
}

static void *worker(void *arg)
{
    mtd_netcheck *nc = arg;
    pthread_mutex_lock(&nc->mu);
    for (;;) {
        while (!nc->stop && nc->qn == 0)
            pthread_cond_wait(&nc->cv, &nc->mu);
        if (nc->stop)
            break;
        probe p = nc->q[0];
        memmove(nc->q, nc->q + 1, (size_t)(--nc->qn) * sizeof *nc->q);
        nc->busy = 1;
        pthread_mutex_unlock(&nc->mu);
        run_probe(nc, &p);
        pthread_mutex_lock(&nc->mu);
        nc->busy = 0;
        pthread_cond_broadcast(&nc->idle);
    }
    pthread_mutex_unlock(&nc->mu);
    return NULL;
}

mtd_netcheck *mtd_netcheck_new(mtd_webevents *we, const char *const *names, int n, const char *trust, int mark)
{
    mtd_netcheck *nc = calloc(1, sizeof *nc);
    if (!nc)
        return NULL;
    nc->we = we;
    nc->mark = mark;
    for (int i = 0; i < n && nc->nnames < MAX_NAMES; i++)
        if (names[i] && names[i][0])
            nc->names[nc->nnames++] = strdup(names[i]);
    nc->trust = trust ? strdup(trust) : NULL;
    pthread_mutex_init(&nc->mu, NULL);
    pthread_cond_init(&nc->cv, NULL);
    pthread_cond_init(&nc->idle, NULL);
    if (pthread_create(&nc->thread, NULL, worker, nc) != 0) {
        nc->stop = 1;
        mtd_netcheck_free(nc);
        return NULL;
    }
    return nc;
}

void mtd_netcheck_probe(mtd_netcheck *nc, const char *name, uint32_t ip, uint16_t port)
{
    char key[300];
    uint8_t d[32];
    int kl = snprintf(key, sizeof key, "%s|%u|%u", name, ip, port);
    mtd_sha256(key, (size_t)kl, d);
    uint64_t h;
    memcpy(&h, d, sizeof h);
    int64_t now = mtd_monotonic_ns() / 1000000;
    pthread_mutex_lock(&nc->mu);
    int slot = (int)(h % SEEN);
    if ((nc->seen[slot].key == h && now - nc->seen[slot].at < AGAIN_MS) || nc->qn == QUEUE) {
        pthread_mutex_unlock(&nc->mu);
        return;
    }
    nc->seen[slot].key = h;
    nc->seen[slot].at = now;
    probe *p = &nc->q[nc->qn++];
    snprintf(p->name, sizeof p->name, "%s", name);
    p->ip = ip;
    p->port = port;
    pthread_cond_signal(&nc->cv);
    pthread_mutex_unlock(&nc->mu);
}

void mtd_netcheck_wait(mtd_netcheck *nc)
{
    pthread_mutex_lock(&nc->mu);
    while (nc->qn || nc->busy)
        pthread_cond_wait(&nc->idle, &nc->mu);
    pthread_mutex_unlock(&nc->mu);
}

void mtd_netcheck_counts(mtd_netcheck *nc, unsigned *probes, unsigned *failed)
{
    *probes = __atomic_load_n(&nc->probes, __ATOMIC_SEQ_CST);
    *failed = __atomic_load_n(&nc->failed, __ATOMIC_SEQ_CST);
}

void mtd_netcheck_free(mtd_netcheck *nc)
{
    if (!nc)
        return;
    pthread_mutex_lock(&nc->mu);
    int joinable = !nc->stop;
    nc->stop = 1;
    pthread_cond_broadcast(&nc->cv);
    pthread_mutex_unlock(&nc->mu);
    if (joinable)
        pthread_join(nc->thread, NULL);
    for (int i = 0; i < nc->nnames; i++)
        free(nc->names[i]);
    free(nc->trust);
    pthread_mutex_destroy(&nc->mu);
    pthread_cond_destroy(&nc->cv);
    pthread_cond_destroy(&nc->idle);
    free(nc);
}
