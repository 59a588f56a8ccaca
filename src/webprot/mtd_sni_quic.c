/* mtd_sni_quic: the server_name of a QUIC v1 client Initial (RFC 9000 17.2.2). Initial
 * packets are protected with keys every observer can derive from the packet's
 * destination connection ID (RFC 9001 5.2), so the VPN removes the header protection
 * (AES-128-ECB of a ciphertext sample), decrypts the payload (AES-128-GCM) with
 * OpenSSL's libcrypto, and reads the ClientHello from the CRYPTO frames, which a client
 * may send out of order within the packet (Chrome does). Frames are read only as far
 * as the ones an Initial may carry (PADDING, PING, ACK, CRYPTO, CONNECTION_CLOSE). */
#include "webprot/mtd_sni.h"
#include "webprot/mtd_sni_int.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#define CRYPTO_MAX MTD_SNI_QUIC_CRYPTO /* the ClientHello bytes gathered */

static const uint8_t initial_salt[20] = {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
                                         0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a};

/* A variable-length integer (RFC 9000 16); -1 when it runs past the end. */
static int varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    if (*p >= end)
        return -1;
    size_t n = (size_t)1 << (**p >> 6);
    if ((size_t)(end - *p) < n)
        return -1;
    *v = **p & 0x3f;
    for (size_t i = 1; i < n; i++)
        *v = *v << 8 | (*p)[i];
    *p += n;
    return 0;
}

/* HKDF-Expand-Label (RFC 8446 7.1) for outputs of at most one SHA-256 block. */
static void expand_label(const uint8_t prk[32], const char *label, uint8_t *out, size_t outlen)
{
    uint8_t info[64], mac[32];
    size_t ll = strlen(label), n = 0;
    info[n++] = 0;
    info[n++] = (uint8_t)outlen;
    info[n++] = (uint8_t)(6 + ll);
    memcpy(info + n, "tls13 ", 6);
    memcpy(info + n + 6, label, ll);
    n += 6 + ll;
    info[n++] = 0; /* no context */
    info[n++] = 1; /* HKDF-Expand's first block counter */
    unsigned ml = 0;
    HMAC(EVP_sha256(), prk, 32, info, n, mac, &ml);
    memcpy(out, mac, outlen);
}

typedef struct {
    uint8_t key[16], iv[12], hp[16];
} keys;

static void client_keys(const uint8_t *dcid, size_t dlen, keys *k)
{
    uint8_t initial[32], client[32];
    unsigned l = 0;
    HMAC(EVP_sha256(), initial_salt, sizeof initial_salt, dcid, dlen, initial, &l); /* HKDF-Extract */
    expand_label(initial, "client in", client, 32);
    expand_label(client, "quic key", k->key, 16);
    expand_label(client, "quic iv", k->iv, 12);
    expand_label(client, "quic hp", k->hp, 16);
}

static int aes_ecb(const uint8_t key[16], const uint8_t in[16], uint8_t out[16])
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int l = 0, ok = c && EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), NULL, key, NULL) == 1 &&
                    EVP_CIPHER_CTX_set_padding(c, 0) == 1 && EVP_EncryptUpdate(c, out, &l, in, 16) == 1;
    EVP_CIPHER_CTX_free(c);
    return ok && l == 16 ? 0 : -1;
}

static int gcm_open(const keys *k, const uint8_t nonce[12], const uint8_t *aad, size_t alen,
                    const uint8_t *ct, size_t clen, uint8_t *out)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int l = 0, l2 = 0;
    int ok = c && clen >= 16 && EVP_DecryptInit_ex(c, EVP_aes_128_gcm(), NULL, NULL, NULL) == 1 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1 &&
             EVP_DecryptInit_ex(c, NULL, NULL, k->key, nonce) == 1 &&
             EVP_DecryptUpdate(c, NULL, &l, aad, (int)alen) == 1 &&
             EVP_DecryptUpdate(c, out, &l, ct, (int)(clen - 16)) == 1 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, (void *)(ct + clen - 16)) == 1 &&
             EVP_DecryptFinal_ex(c, out + l, &l2) == 1;
    EVP_CIPHER_CTX_free(c);
    return ok ? 0 : -1;
}

/* The CRYPTO frames of a decrypted payload into crypto[]; *have gets the length of the
 * run that starts at offset 0. -1 for a frame an Initial may not carry. */
static int gather(const uint8_t *p, const uint8_t *end, uint8_t *crypto, uint8_t *seen, size_t *have)
{
    while (p < end) {
        uint64_t type, a, b, n;
        if (varint(&p, end, &type) != 0)
            return -1;
        if (type == 0x00 || type == 0x01)
            continue; /* PADDING, PING */
        if (type == 0x02 || type == 0x03) { /* ACK: largest, delay, ranges, first range */
            if (varint(&p, end, &a) || varint(&p, end, &a) || varint(&p, end, &n) || varint(&p, end, &a))
                return -1;
            for (uint64_t i = 0; i < n; i++)
                if (varint(&p, end, &a) || varint(&p, end, &b))
                    return -1;
            if (type == 0x03 && (varint(&p, end, &a) || varint(&p, end, &a) || varint(&p, end, &a)))
                return -1;
        } else if (type == 0x06) { /* CRYPTO: offset, length, data */
            if (varint(&p, end, &a) || varint(&p, end, &n) || n > (uint64_t)(end - p))
                return -1;
            for (uint64_t i = 0; i < n && a + i < CRYPTO_MAX; i++) {
                crypto[a + i] = p[i];
                seen[a + i] = 1;
            }
            p += n;
        } else if (type == 0x1c) { /* CONNECTION_CLOSE: the client gives up */
            return -1;
        } else {
            return -1;
        }
    }
    *have = 0;
    while (*have < CRYPTO_MAX && seen[*have])
        (*have)++;
    return 0;
}

mtd_sni_result mtd_sni_quic(const uint8_t *buf, size_t len, char name[MTD_SNI_NAME_MAX + 1])
{
    static __thread mtd_sni_quic_ctx c;
    memset(c.seen, 0, sizeof c.seen);
    return mtd_sni_quic_add(&c, buf, len, name);
}

mtd_sni_result mtd_sni_quic_add(mtd_sni_quic_ctx *c, const uint8_t *buf, size_t len,
                                char name[MTD_SNI_NAME_MAX + 1])
{
    const uint8_t *p = buf, *end = buf + len;
    uint64_t tlen, plen;
    /* long header, fixed bit, type Initial; version 1 */
    if (len < 7 || (buf[0] & 0xf0) != 0xc0 || memcmp(buf + 1, "\0\0\0\1", 4) != 0)
        return MTD_SNI_INVALID;
    p += 5;
    size_t dlen = *p++;
    if (dlen > 20 || (size_t)(end - p) < dlen + 1)
        return MTD_SNI_INVALID;
    const uint8_t *dcid = p;
    p += dlen;
    size_t slen = *p++;
    if (slen > 20 || (size_t)(end - p) < slen)
        return MTD_SNI_INVALID;
    p += slen;
    if (varint(&p, end, &tlen) != 0 || tlen > (uint64_t)(end - p))
        return MTD_SNI_INVALID;
    p += tlen;
    if (varint(&p, end, &plen) != 0 || plen > (uint64_t)(end - p) || plen < 4 + 16 + 1)
        return MTD_SNI_INVALID;
    size_t pn_off = (size_t)(p - buf), total = pn_off + plen;
    keys k;
    client_keys(dcid, dlen, &k);
    uint8_t mask[16], hdr[64], nonce[12];
    if (pn_off + 4 + 16 > total || pn_off + 4 > sizeof hdr || aes_ecb(k.hp, buf + pn_off + 4, mask) != 0)
        return MTD_SNI_INVALID;
    memcpy(hdr, buf, pn_off + 4);
    hdr[0] ^= mask[0] & 0x0f;
    size_t pnl = (hdr[0] & 3) + 1;
    uint64_t pn = 0;
    for (size_t i = 0; i < pnl; i++) {
        hdr[pn_off + i] ^= mask[1 + i];
        pn = pn << 8 | hdr[pn_off + i];
    }
    memcpy(nonce, k.iv, 12);
    for (int i = 0; i < 8; i++)
        nonce[11 - i] ^= (uint8_t)(pn >> (8 * i));
    static __thread uint8_t plain[2048];
    size_t clen = total - pn_off - pnl, have = 0;
    if (clen > sizeof plain + 16 || gcm_open(&k, nonce, hdr, pn_off + pnl, buf + pn_off + pnl, clen, plain) != 0)
        return MTD_SNI_INVALID;
    if (gather(plain, plain + clen - 16, c->crypto, c->seen, &have) != 0)
        return MTD_SNI_INVALID;
    return mtd_sni__client_hello(c->crypto, have, 0, name);
}
