/* mtd_alert_int: what the files of the alerts module share: the tenant's alert file,
 * the checks of what an admin configures, the transports, the address policy. */
#ifndef MTD_ALERT_INT_H
#define MTD_ALERT_INT_H

#include "alerts/mtd_alerts.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdint.h>
#include <sys/socket.h>

#define MTD_ALERT_MAX_INTEGRATIONS 16
#define MTD_ALERT_NOTE_MAX 2000
/* The most events a batched webhook's POST carries (batch_max 1 to this). */
#define MTD_ALERT_BATCH_MAX 1000

/* Opens (creating it and its tables) DATA/tenants/<id>/alerts.sqlite. 0 or MTD_E*. */
int mtd_alert_db_open(const char *data_dir, const char *tenant_id, sqlite3 **out);
/* Whether a statement that meets the file locked waits for it (up to 10 s, the
 * default) or fails at once with SQLITE_BUSY (wait 0). */
int mtd_alert_db_lock_wait(sqlite3 *db, int wait);
/* 1 when the tenant has an alert file (it never had a detection or an integration
 * otherwise). */
int mtd_alert_db_exists(const char *data_dir, const char *tenant_id);
/* Runs sql (no rows expected); 0 or MTD_EIO. */
int mtd_alert_exec(sqlite3 *db, const char *sql);
/* The rows of a prepared statement as an array of objects, one key per column (NULL
 * columns as null; columns named *_at hold Unix seconds and come out as RFC 3339). */
json_t *mtd_alert_rows(sqlite3_stmt *st);
int64_t mtd_alert_now_ms(void);

/* The operator's list of networks that destinations may reach although private. */
typedef struct {
    struct { int v6; uint8_t addr[16]; int bits; } net[16];
    int n;
} mtd_alert_nets;
int mtd_alert_nets_parse(const char *s, mtd_alert_nets *out, char *why, size_t whylen);
/* 1 when a connection to sa may be opened: a public unicast address, or one inside the
 * operator's list. */
int mtd_alert_addr_allowed(const mtd_alert_nets *allow, const struct sockaddr *sa);

/* An integration as configured. kind: webhook, syslog, splunk-hec, elastic, risk-push. */
typedef struct {
    int64_t id;
    char kind[16];
    char target[1100];      /* URL, or HOST:PORT for syslog */
    char secret[300];       /* webhook/risk-push HMAC key, HEC token; "" when none */
    int tls;                /* syslog over TLS (RFC 5425) */
    char *ca_pem;           /* PEM the destination's certificate must chain to; NULL: system */
    char index[128];        /* elastic index */
    int batch_max;          /* webhook: events a POST may carry (1: one event, the
                             * single-event body; more: the batch body) */
    int64_t sent_id;        /* an alert destination's cursor: the last alert it took or
                             * gave up (integrations.sent_id; 0 for risk-push) */
} mtd_alert_dest;

/* What waits for, and what was given up on by, the integration of the row i (SQL of
 * the alert file, for integration list and /metrics): an alert destination's alerts
 * after its cursor and the dead ranges, with the outbox rows of either kind (risk
 * changes; an older file's dead alert rows). The alerts after a cursor are counted as
 * the highest alert ID less the cursor: IDs are dense (each alert's is the highest
 * plus one, taken under the pass's write lock, and no alert is ever deleted), and
 * count(*) over the ID range read every pending alert's page, payload and all, at the
 * end of each delivery run (18% of the collector's CPU in bench_alerts, most of its
 * pread). */
#define MTD_ALERT_PENDING_SQL                                                                                  \
    "(CASE WHEN i.kind='risk-push' THEN 0 ELSE max(0, (SELECT coalesce(max(id), 0) FROM alerts) - i.sent_id)"  \
    " END"                                                                                                   \
    " + (SELECT count(*) FROM outbox o WHERE o.integration_id=i.id AND o.state='pending'))"
#define MTD_ALERT_DEAD_SQL                                                                                     \
    "((SELECT coalesce(sum(d.n), 0) FROM dead_alerts d WHERE d.integration_id=i.id)"                          \
    " + (SELECT count(*) FROM outbox o WHERE o.integration_id=i.id AND o.state='dead'))"

/* Checks an integration an admin asks for (the JSON body of POST
 * /v1/admin/integrations) and fills d. 0, or MTD_EINVAL with why naming the key. */
int mtd_alert_dest_parse(const json_t *j, const mtd_alert_nets *allow, mtd_alert_dest *d,
                         char *why, size_t whylen);
/* The same, read back from the tenant's file (row of integrations). */
void mtd_alert_dest_free(mtd_alert_dest *d);

/* A suppression rule as an admin asks for it: kind package | signer | domain | check,
 * its value, an optional scope (device[64] or group[MTD_GROUP_NAME_MAX + 1], "" when
 * none) and expiry (Unix seconds, 0 = none). The rules live in the tenant store
 * (mtd_store_supp_*), which matches them when it answers a risk. */
int mtd_alert_supp_parse(const json_t *j, char *kind, char *value, size_t vlen, char *device, char *group,
                         int64_t *expires_at, char *reason, size_t rlen, char *why, size_t whylen);

/* One message to deliver: an alert (id: its ID), or a risk change's outbox row. */
typedef struct {
    int64_t id;
    const char *payload;    /* the alert (or risk change) as JSON */
    const char *event_id;   /* what receivers deduplicate on */
    const char *severity;
    int64_t alert_id;       /* 0 for a risk change */
} mtd_alert_msg;

typedef struct mtd_alert_conn mtd_alert_conn;

/* Sends msgs in order through d, reusing *conn (made on first use). *sent: how many of
 * them the receiver took, in order. 0 when all were, else MTD_ENET/MTD_EPROTO with why. */
int mtd_alert_send(mtd_alert_conn **conn, const mtd_alert_dest *d, const mtd_alert_nets *allow,
                   const char *tenant_id, const mtd_alert_msg *msgs, size_t n, size_t *sent,
                   char *why, size_t whylen);
void mtd_alert_conn_free(mtd_alert_conn *c);

/* Derives alerts from the tenant's new threat.detection rows (mtd_alert_derive.c).
 * *created and *suppressed count what this pass did. 0 or MTD_E*. */
int mtd_alert_derive(sqlite3 *db, mtd_tenant *tn, int *created, int *suppressed, int *more);
/* The risk of every device a pass marked read again from the store, each change
 * recorded and queued for risk-push destinations, the marks cleared. 0 or MTD_E*. */
int mtd_alert_risk_flush(sqlite3 *db, mtd_tenant *tn);
/* Every device's risk read again from the store, each change recorded and pushed as
 * a pass records it (after a rule was added, removed or expired, or a device changed
 * group). *next_expiry: when the next active rule expires (Unix seconds, 0: none). */
int mtd_alert_risk_recheck(sqlite3 *db, mtd_tenant *tn, int64_t *next_expiry);

/* The engine's address policy, for the admin routes' checks and test deliveries. */
const mtd_alert_nets *mtd_alerts_allow(const mtd_alerts *a);
/* Counts a test delivery's result in the engine's counters. */
void mtd_alerts_count(mtd_alerts *a, int ok);

#endif
