/* mtd_listen: pre-flight checks of the listening address and the TLS files, with
 * OpenSSL's PEM readers (GnuTLS, which libmicrohttpd uses, only says "failed"). */
#include "collector/mtd_listen.h"
#include "common/mtd_err.h"

#include <errno.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int mtd_listen_check(const struct sockaddr_storage *ss, const char *listen, char *why, size_t wl)
{
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(why, wl, "--listen %s: cannot make a socket: %s", listen, strerror(errno));
        return MTD_EIO;
    }
    int one = 1; /* as libmicrohttpd binds: a port in TIME_WAIT is free */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    socklen_t len = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    int r = bind(fd, (const struct sockaddr *)ss, len) == 0 ? 0 : errno;
    close(fd);
    if (r == 0)
        return 0;
    snprintf(why, wl, "--listen %s: %s", listen,
             r == EADDRINUSE      ? "address already in use (another collector or program listens there)"
             : r == EACCES        ? "permission denied (ports below 1024 need privileges)"
             : r == EADDRNOTAVAIL ? "not an address of this machine"
                                  : strerror(r));
    return r == EACCES ? MTD_EACCES : r == EADDRINUSE ? MTD_EBUSY : MTD_EINVAL;
}

int mtd_listen_tls_check(const char *cert, const char *cert_path, const char *key, const char *key_path,
                         char *why, size_t wl)
{
    BIO *cb = BIO_new_mem_buf(cert, -1), *kb = BIO_new_mem_buf(key, -1);
    X509 *x = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
    EVP_PKEY *k = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
    int r = 0;
    if (!x) {
        snprintf(why, wl, "--tls-cert %s: not a PEM certificate", cert_path);
        r = MTD_EINVAL;
    } else if (!k) {
        snprintf(why, wl, "--tls-key %s: not a PEM private key (or one with a passphrase)", key_path);
        r = MTD_EINVAL;
    } else if (X509_check_private_key(x, k) != 1) {
        snprintf(why, wl, "--tls-key %s: not the key of the certificate %s", key_path, cert_path);
        r = MTD_EINVAL;
    }
    X509_free(x);
    EVP_PKEY_free(k);
    BIO_free(cb);
    BIO_free(kb);
    return r;
}
