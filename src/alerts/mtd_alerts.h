/* mtd_alerts: threat detections become alerts that analysts triage and that reach the
 * tenant's own destinations (webhook, syslog, Splunk HEC, Elasticsearch, risk push).
 *
 * Each tenant keeps its alerts in its own file, DATA/tenants/<id>/alerts.sqlite, beside
 * its store, so deleting the tenant deletes them and no query can cross tenants. The
 * engine (one thread) derives alerts from the store's threat.detection rows, after a
 * cursor kept in that file and moved in the same transaction that writes the alerts: a
 * collector killed at any point neither loses a detection nor makes it twice. Each alert
 * destination sends the alerts after a cursor of its own (integrations.sent_id), moved
 * once the receiver took them (at least once; receivers deduplicate on the event ID);
 * risk changes leave from an outbox of rows deleted once taken. Both go with backoff
 * and full jitter per destination, and what still fails after --alert-dead-after is a
 * dead letter (a range of alert IDs, or the outbox row's state).
 *
 * The engine and its counters belong to the collector (mtd_alerts_start/stop); the
 * admin routes (mtd_alert_api.c) open the tenant's file per call. */
#ifndef MTD_ALERTS_H
#define MTD_ALERTS_H

#include "collector/mtd_tenants.h"
#include "common/mtd_buf.h"

typedef struct mtd_alerts mtd_alerts;

typedef struct {
    unsigned retry_cap_s;   /* longest wait between two attempts (default 30) */
    unsigned dead_after_s;  /* a delivery still failing after this is dead (86400) */
    const char *allow_net;  /* comma-separated CIDRs that destinations may be in even
                             * though private or loopback (the operator's choice) */
} mtd_alerts_opts;

int mtd_alerts_start(mtd_tenants *t, const mtd_alerts_opts *o, mtd_alerts **out, char *why,
                     size_t whylen);
void mtd_alerts_stop(mtd_alerts *a);
/* A batch of tenant_id was stored: its new detections are turned into alerts soon. */
void mtd_alerts_kick(mtd_alerts *a, const char *tenant_id);
/* The tenant's suppression rules or a device's group changed: every device's risk is
 * read again soon, and each change recorded and pushed. */
void mtd_alerts_recheck(mtd_alerts *a, const char *tenant_id);
/* The Markdown section of the tenant's privacy statement that names each configured
 * destination (its kind and host, never a secret, token or path) and what it gets
 * under policy p, appended to out; nothing when the tenant has none. 0 or MTD_E*. */
int mtd_alerts_statement_md(const char *data_dir, const char *tenant_id, const mtd_policy *p, mtd_buf *out);
/* The engine's series for /metrics (no tenant named). */
void mtd_alerts_render_metrics(mtd_alerts *a, mtd_buf *out);

/* /v1/admin/alerts..., suppressions..., integrations..., devices/risk (mtd_alert_api.c). */
struct mtd_collector;
struct mtd_req;
struct mtd_resp;
void mtd_handle_alerts_admin(struct mtd_collector *c, struct mtd_req *rq, struct mtd_resp *rs);

#endif
