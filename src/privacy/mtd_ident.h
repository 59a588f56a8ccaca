/* mtd_ident: identifiers normalized before they are pseudonymized, the same on the
 * agent and the collector (DESIGN.md section 3).
 *
 * A pseudonym is a keyed hash of the exact bytes it is given, so two spellings of one
 * identifier would be two people or two devices: "Demo.User@Example.com" and
 * "demo.user@example.com" are one user (UPNs are case-insensitive), and an admin's
 * `user export` must find the devices enrolled under either. Every pseudonym of an
 * identifier therefore goes through mtd_ident_pseudo, which normalizes by purpose:
 *
 *   upn     Unicode NFC, then lowercase (libunistring's full case mapping), after the
 *           checks of mtd_ident_upn
 *   device  a MAC address (device_id_source "mac"): 12 lowercase hex digits, without
 *           ":", "-" or "." (mtd_ident_mac, applied where the MAC is read)
 *   others  as given
 *
 * Pseudonyms made before normalization existed cannot be recomputed: the raw value was
 * never kept. docs/architecture.md ("Identifier normalization") says what the
 * collector's look-up and the agent do about them. */
#ifndef MTD_IDENT_H
#define MTD_IDENT_H

#include "privacy/mtd_pseudo.h"

#include <stddef.h>

#define MTD_UPN_MAX 512 /* bytes, as the schema's limit for the field */

/* A UPN as typed -> its normal form in out (NUL-terminated). Refused (MTD_EINVAL, why
 * says what is wrong): empty, over MTD_UPN_MAX bytes, not UTF-8, or holding a space,
 * a control character or a quote (" ' `), or not of the form local@domain. */
int mtd_ident_upn(const char *in, char *out, size_t outlen, char *why, size_t whylen);
/* A MAC address in any usual spelling -> "aabbccddeeff"; MTD_EINVAL otherwise. */
int mtd_ident_mac(const char *in, char *out, size_t outlen);
/* The pseudonym of a raw identifier for purpose, after its normalization. */
int mtd_ident_pseudo(const mtd_tenant_key *k, const char *purpose, const char *raw, size_t len,
                     char out[MTD_PSEUDO_LEN + 1], char *why, size_t whylen);

#endif
