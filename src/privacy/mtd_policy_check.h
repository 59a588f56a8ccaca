/* mtd_policy_check: does an already-gated event obey the tenant's policy and the
 * device's consent? The collector asks this of every event it receives (defence in
 * depth: a modified agent may skip its gate). The rules are the gate's, stated as
 * checks instead of transforms; both live in privacy/ so they change together. */
#ifndef MTD_POLICY_CHECK_H
#define MTD_POLICY_CHECK_H

#include "privacy/mtd_policy.h"
#include "schema/mtd_schema.h"

#include <jansson.h>
#include <stddef.h>

/* The event-level rules only (optional data and consent, report_connections): what
 * the gate asks before it transforms fields. */
int mtd_policy_event_allowed(const mtd_policy *p, int consent, const mtd_event_type *ev,
                             const json_t *e, const char **reason, char *why, size_t whylen);
/* All rules, fields included. Returns 0, or MTD_EPOLICY with *reason (a short metric label such as
 * "optional_data_forbidden") and why (one line naming the field). */
int mtd_policy_check_event(const mtd_policy *p, int consent, const mtd_event_type *ev,
                           const json_t *e, const char **reason, char *why, size_t whylen);

#endif
