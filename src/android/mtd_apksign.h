/* mtd_apksign: who signed an APK, and whether the signature holds.
 *
 *   v1 (JAR): each .RSA, .DSA or .EC file directly in META-INF is a PKCS#7 SignedData; the signer
 *       certificates come from OpenSSL (PKCS7_get0_signers).
 *   v2, v3, v3.1: the APK Signing Block before the central directory. Hand-parsed
 *       (no library reads it): signers, their certificates, and for SHA-256 based
 *       algorithms the content digest over the APK (1 MiB chunks, as in the APK
 *       Signature Scheme v2 specification) and the signature over the signed data,
 *       both verified with OpenSSL.
 *
 * Results: the schemes present, the SHA-256 of each distinct signer certificate (DER)
 * in first-seen order, and whether every v2/v3 signer verified. v1 signatures are not
 * verified against the JAR manifest here (reported as present, not verified). */
#ifndef MTD_APKSIGN_H
#define MTD_APKSIGN_H

#include "android/mtd_apkzip.h"

#define MTD_APKSIGN_MAX_SIGNERS 16

typedef struct {
    int v1, v2, v3, v31;            /* schemes present */
    char signer_sha256[MTD_APKSIGN_MAX_SIGNERS][65];
    int nsigners;
    int verified;                   /* the newest scheme present: 1 every signer verified,
                                       0 one failed, -1 not checked (v1 only) */
    int duplicate_blocks;           /* a v2/v3 block ID appears twice (only the first counts) */
    char detail[200];               /* why verification failed */
} mtd_apksign;

int mtd_apksign_read(const mtd_apkzip *z, mtd_apksign *out);

#endif
