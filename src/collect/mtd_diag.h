/* mtd_diag: the optional diagnostic bundle (DESIGN.md section 1, "Optional:
 * diagnostic"): build information, OS version, model, CPU, the agent's CPU and network
 * usage, scan state, permissions granted to the agent, upgrade status, the features
 * the admin configured, and the browsers on the device. It is built only when the user
 * attaches it to feedback; the gate still checks consent and policy. */
#ifndef MTD_DIAG_H
#define MTD_DIAG_H

#include "privacy/mtd_policy.h"

#include <jansson.h>

/* Fields of a diag.bundle event. ledger_path: the ledger, whose size is the agent's
 * upload volume. Caller owns the object. */
json_t *mtd_diag_bundle(const mtd_policy *p, const char *agent_version, const char *ledger_path,
                        const char *feedback_id);

#endif
