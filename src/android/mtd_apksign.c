/* mtd_apksign: v1 PKCS#7 signers and the APK Signing Block (v2, v3, v3.1). */
#include "common/mtd_bytes.h"
#include "android/mtd_apksign.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"

#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ID_V2 0x7109871au
#define ID_V3 0xf05368c0u
#define ID_V31 0x1b93ad61u
#define CHUNK (1u << 20)


/* A length-prefixed slice: take the next u32-prefixed element of *s. */
typedef struct {
    const uint8_t *p;
    size_t n;
} slice;

static int take(slice *s, slice *out)
{
    if (s->n < 4 || mtd_le32(s->p) > s->n - 4)
        return -1;
    out->p = s->p + 4;
    out->n = mtd_le32(s->p);
    s->p += 4 + out->n;
    s->n -= 4 + out->n;
    return 0;
}

static void add_signer(mtd_apksign *o, const uint8_t *der, size_t len)
{
    char hex[65];
    mtd_sha256_hex(der, len, hex);
    for (int i = 0; i < o->nsigners; i++)
        if (!strcmp(o->signer_sha256[i], hex))
            return;
    if (o->nsigners < MTD_APKSIGN_MAX_SIGNERS)
        memcpy(o->signer_sha256[o->nsigners++], hex, 65);
}

static void v1_signers(const mtd_apkzip *z, mtd_apksign *o)
{
    for (size_t i = 0; i < z->n; i++) {
        const mtd_apkzip_entry *e = &z->e[i];
        if (e->name_len < 13 || memcmp(e->name, "META-INF/", 9) != 0 || memchr(e->name + 9, '/', e->name_len - 9))
            continue;
        const char *ext = e->name + e->name_len - 4;
        if (memcmp(ext, ".RSA", 4) && memcmp(ext, ".DSA", 4) && memcmp(ext + 1, ".EC", 3))
            continue;
        uint8_t *d;
        size_t n;
        char why[128];
        if (mtd_apkzip_extract(z, e, &d, &n, why, sizeof why) != 0)
            continue;
        const uint8_t *p = d;
        PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long)n);
        STACK_OF(X509) *signers = p7 && PKCS7_type_is_signed(p7) ? PKCS7_get0_signers(p7, NULL, 0) : NULL;
        for (int k = 0; signers && k < sk_X509_num(signers); k++) {
            uint8_t *der = NULL;
            int dl = i2d_X509(sk_X509_value(signers, k), &der);
            if (dl > 0)
                add_signer(o, der, (size_t)dl);
            OPENSSL_free(der);
        }
        if (signers || p7)
            o->v1 = 1;
        sk_X509_free(signers);
        PKCS7_free(p7);
        free(d);
    }
}

/* The digest of one chunk: md(0xa5 || u32 length || bytes). */
static void chunk_digest(const EVP_MD *md, const uint8_t *p, size_t n, uint8_t *out)
{
    uint8_t pre[5] = {0xa5, (uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24)};
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_DigestInit_ex(c, md, NULL);
    EVP_DigestUpdate(c, pre, 5);
    EVP_DigestUpdate(c, p, n);
    EVP_DigestFinal_ex(c, out, NULL);
    EVP_MD_CTX_free(c);
}

/* The v2/v3 content digest (chunked, SHA-256 or SHA-512) of the APK without its
 * signing block; out holds EVP_MD_get_size(md) bytes. */
static int content_digest(const mtd_apkzip *z, uint64_t block_off, const EVP_MD *md, uint8_t *out)
{
    size_t dl = (size_t)EVP_MD_get_size(md);
    uint8_t eocd[22 + 65535];
    size_t elen = z->len - z->eocd_off;
    if (elen > sizeof eocd)
        return -1;
    memcpy(eocd, z->buf + z->eocd_off, elen);
    /* the central directory offset as if the signing block were not there */
    for (int i = 0; i < 4; i++)
        eocd[16 + i] = (uint8_t)(block_off >> (8 * i));
    slice parts[3] = {{z->buf, block_off}, {z->buf + z->cd_off, z->cd_size}, {eocd, elen}};
    size_t nchunks = 0;
    for (int i = 0; i < 3; i++)
        nchunks += (parts[i].n + CHUNK - 1) / CHUNK;
    uint8_t *all = malloc(5 + dl * nchunks);
    if (!all)
        return -1;
    all[0] = 0x5a;
    for (int i = 0; i < 4; i++)
        all[1 + i] = (uint8_t)(nchunks >> (8 * i));
    size_t k = 0;
    for (int i = 0; i < 3; i++)
        for (size_t off = 0; off < parts[i].n; off += CHUNK, k++)
            chunk_digest(md, parts[i].p + off, parts[i].n - off < CHUNK ? parts[i].n - off : CHUNK, all + 5 + dl * k);
    EVP_Digest(all, 5 + dl * nchunks, out, NULL, md, NULL);
    free(all);
    return 0;
}

/* The digest of a signature algorithm (APK Signature Scheme v2 ids), or NULL. */
static const EVP_MD *alg_md(uint32_t a)
{
    switch (a) {
    case 0x0101: case 0x0103: case 0x0201: case 0x0301: return EVP_sha256();
    case 0x0102: case 0x0104: case 0x0202: return EVP_sha512();
    }
    return NULL;
}

/* Verifies signature sig (algorithm alg) over data with the DER public key. */
static int verify_sig(uint32_t alg, slice data, slice sig, slice key)
{
    const uint8_t *kp = key.p;
    EVP_PKEY *pk = d2i_PUBKEY(NULL, &kp, (long)key.n);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    int ok = pk && c && EVP_DigestVerifyInit(c, &pc, alg_md(alg), NULL, pk) == 1;
    if (ok && (alg == 0x0101 || alg == 0x0102)) /* RSASSA-PSS, salt as long as the digest */
        ok = EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) > 0 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, alg == 0x0101 ? 32 : 64) > 0;
    ok = ok && EVP_DigestVerify(c, sig.p, sig.n, data.p, data.n) == 1;
    EVP_MD_CTX_free(c);
    EVP_PKEY_free(pk);
    return ok;
}

/* One v2/v3 signer: certificates into o; returns 1 verified, 0 failed, -1 unchecked. */
static int signer(const mtd_apkzip *z, uint64_t block_off, slice s, int v3, mtd_apksign *o)
{
    slice sd, sigs, key, digests, certs, cert;
    if (take(&s, &sd))
        return 0;
    if (v3) { /* v3 and v3.1 signers carry minSdk and maxSdk before their signatures */
        if (s.n < 8)
            return 0;
        s.p += 8;
        s.n -= 8;
    }
    if (take(&s, &sigs) || take(&s, &key))
        return 0;
    slice sdr = sd;
    if (take(&sdr, &digests) || take(&sdr, &certs))
        return 0;
    while (certs.n && take(&certs, &cert) == 0)
        add_signer(o, cert.p, cert.n);
    int result = -1;
    slice sig, rec;
    while (sigs.n && take(&sigs, &rec) == 0) {
        if (rec.n < 4 || !alg_md(mtd_le32(rec.p)))
            continue;
        uint32_t alg = mtd_le32(rec.p);
        slice r2 = {rec.p + 4, rec.n - 4};
        if (take(&r2, &sig))
            return 0;
        if (!verify_sig(alg, sd, sig, key)) {
            snprintf(o->detail, sizeof o->detail, "signature over signed data does not verify");
            return 0;
        }
        /* the signed digest for this algorithm must equal the APK's content digest */
        uint8_t digest[64];
        const EVP_MD *md = alg_md(alg);
        size_t dsz = (size_t)EVP_MD_get_size(md);
        if (content_digest(z, block_off, md, digest) != 0)
            return 0;
        slice dl = digests, d;
        result = 0;
        while (dl.n && take(&dl, &d) == 0)
            if (d.n >= 8 && mtd_le32(d.p) == alg) {
                slice dv = {d.p + 4, d.n - 4}, v;
                if (take(&dv, &v) == 0 && v.n == dsz && !memcmp(v.p, digest, dsz))
                    result = 1;
            }
        if (result != 1)
            snprintf(o->detail, sizeof o->detail, "APK content digest does not match the signed digest");
        return result;
    }
    return result;
}

/* The pairs of the signing block that precedes the central directory. */
static void signing_block(const mtd_apkzip *z, mtd_apksign *o)
{
    if (z->cd_off < 32 || memcmp(z->buf + z->cd_off - 16, "APK Sig Block 42", 16) != 0)
        return;
    uint64_t size = mtd_le64(z->buf + z->cd_off - 24);
    if (size < 24 || size + 8 > z->cd_off)
        return;
    uint64_t block_off = z->cd_off - size - 8;
    if (mtd_le64(z->buf + block_off) != size)
        return;
    int verdict[3] = {-1, -1, -1}; /* v2, v3, v3.1 */
    const uint8_t *p = z->buf + block_off + 8, *end = z->buf + z->cd_off - 24;
    while (p + 12 <= end) {
        uint64_t len = mtd_le64(p);
        if (len < 4 || len > (uint64_t)(end - p - 8))
            break;
        uint32_t id = mtd_le32(p + 8);
        slice v = {p + 12, len - 4}, signers, one;
        if ((id == ID_V2 || id == ID_V3 || id == ID_V31) && take(&v, &signers) == 0) {
            int k = id == ID_V2 ? 0 : id == ID_V3 ? 1 : 2;
            int *seen = k == 0 ? &o->v2 : k == 1 ? &o->v3 : &o->v31;
            if (*seen) {
                /* Android reads the first block of an ID and ignores the rest; a tool
                 * that reads another one can be shown a different signer (the
                 * signer-confusion of fdroidserver issue 1128): evidence, not trust */
                o->duplicate_blocks = 1;
                p += 8 + len;
                continue;
            }
            *seen = 1;
            while (signers.n && take(&signers, &one) == 0) {
                int r = signer(z, block_off, one, id != ID_V2, o);
                if (r == 0 || (r == 1 && verdict[k] != 0))
                    verdict[k] = r; /* every signer of the scheme must verify */
            }
        }
        p += 8 + len;
    }
    /* the platform trusts the newest scheme present and ignores the older ones */
    for (int k = 2; k >= 0; k--)
        if (verdict[k] != -1 || (k == 2 ? o->v31 : k == 1 ? o->v3 : o->v2)) {
            o->verified = verdict[k];
            break;
        }
}

int mtd_apksign_read(const mtd_apkzip *z, mtd_apksign *o)
{
    memset(o, 0, sizeof *o);
    o->verified = -1;
    signing_block(z, o);
    v1_signers(z, o);
    return 0;
}
