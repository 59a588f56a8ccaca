/* mtd_state: the agent's state directory (mode 0700).
 *
 *   agent.json    server URL, tenant ID, org ID, the device and user pseudonyms, the
 *                 device-ID source, the CA file to trust; no raw identifier
 *   credential    the device credential given at enrollment (0600)
 *   tenant.key    the tenant's pseudonymization key, hex (0600)
 *   policy.json   the tenant policy last fetched from the collector
 *   consent.json  the user's consent to optional data
 *   spool/        queued events (mtd_spool)
 *   ledger.jsonl  every record that left the device, as sent (mtd_ledger)
 *   device.guid   random device GUID, only when no MAC or machine-id exists
 *
 * mtd_state_load() fills an mtd_state; the struct owns no heap memory. */
#ifndef MTD_STATE_H
#define MTD_STATE_H

#include "privacy/mtd_gate.h"
#include "privacy/mtd_policy.h"
#include "privacy/mtd_pseudo.h"

#include <stddef.h>

typedef struct {
    char dir[1024];
    char server[512];
    char ca_file[1024];       /* PEM to trust for https (demo's self-signed cert) */
    char pin_sha256[128];     /* optional libcurl pinned public key "sha256//..." */
    char tenant_id[64];
    char org_id[128];
    char device_id[MTD_PSEUDO_LEN + 1];
    char device_id_source[16];
    char dir_device_id[MTD_PSEUDO_LEN + 1];
    char dir_user_id[MTD_PSEUDO_LEN + 1];
    char upn[MTD_PSEUDO_LEN + 1];
    char android_root[1024];  /* snapshot directory this agent reports, "" = host */
    char ios_backup[1024];    /* or the iOS backup / ios-pull snapshot it reports */
    char credential[128];
    mtd_tenant_key key;
    mtd_policy policy;
    int consent;              /* 1 granted, 0 not granted or revoked */
} mtd_state;

/* Loads an enrolled state; MTD_ENOENT when the directory was never enrolled. why gets
 * a line naming the file at fault. */
int mtd_state_load(const char *dir, mtd_state *st, char *why, size_t whylen);
/* Writes agent.json, credential and tenant.key (atomically, 0600; dir 0700). */
int mtd_state_save(const mtd_state *st);
int mtd_state_save_policy(const mtd_state *st);
int mtd_state_save_consent(const mtd_state *st);
/* Fills a gate context from the state. */
void mtd_state_gate_ctx(const mtd_state *st, mtd_gate_ctx *ctx);
/* Path of a file in the state directory. */
void mtd_state_path(const mtd_state *st, const char *name, char *out, size_t outlen);

#endif
