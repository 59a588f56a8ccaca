/* mtd_policy_check: does an event obey the tenant's policy and the device's consent?
 * The gate asks it before it transforms a source's fields; the collector asks it of
 * every event it receives (defence in depth: a modified agent may skip its gate). The
 * rules live here once, over a small read-only view of an event, so both the agent
 * (jansson objects) and the collector (mtd_event slots) use the same code. */
#ifndef MTD_POLICY_CHECK_H
#define MTD_POLICY_CHECK_H

#include "privacy/mtd_policy.h"
#include "schema/mtd_event.h"
#include "schema/mtd_schema.h"

#include <jansson.h>
#include <stddef.h>

/* A read-only view: get() copies a field's text into buf (booleans as "true" or
 * "false") and returns buf, or NULL when the field is absent or null. */
typedef struct {
    const void *ev;
    const char *(*get)(const void *ev, const char *name, char *buf, size_t buflen);
} mtd_fieldview;

mtd_fieldview mtd_fieldview_json(const json_t *obj);
mtd_fieldview mtd_fieldview_event(const mtd_event *ev);

/* The event-level rules only (optional data and consent, report_connections). */
int mtd_policy_event_allowed(const mtd_policy *p, int consent, const mtd_event_type *ev,
                             const mtd_fieldview *e, const char **reason, char *why,
                             size_t whylen);
/* All rules, fields included. Returns 0, or MTD_EPOLICY with *reason (a short metric
 * label such as "optional_data_forbidden") and why (one line naming the field). */
int mtd_policy_check_event(const mtd_policy *p, int consent, const mtd_event_type *ev,
                           const mtd_fieldview *e, const char **reason, char *why,
                           size_t whylen);

#endif
