/* mtd_webevents: what web protection reports, as source events for the privacy gate.
 *
 * A blocked URL becomes a web.detection (the URL as given: the gate cuts it to what
 * report_urls allows) and a threat.detection; a blocked DNS name a net.dns (verdict
 * block) and a threat.detection. An allowed lookup becomes nothing, except a net.dns
 * (verdict allow) when the tenant's report_connections is "all"; with the web
 * protection switch off nothing is reported. The gate checks all of it again; this
 * module only avoids making events the policy would drop anyway.
 *
 * The evidence of a threat.detection never carries a URL's path: it names the host
 * entry that matched, or says a URL entry of that host matched (the URL itself, when
 * the policy allows it, is in the web.detection).
 *
 * Detections are made on the filter's threads and queued here (bounded, under a
 * mutex; a name blocked again while queued is counted, not queued twice); whoever owns
 * the spool drains them through the gate (mtd_webevents_drain with the sources' emit
 * callback). */
#ifndef MTD_WEBEVENTS_H
#define MTD_WEBEVENTS_H

#include "collect/mtd_sources.h"
#include "privacy/mtd_policy.h"
#include "webprot/mtd_rep.h"

#define MTD_WEBEVENTS_MAX 4096 /* queued events; more are counted as dropped */

typedef struct mtd_webevents mtd_webevents;

mtd_webevents *mtd_webevents_new(const mtd_policy *pol);
void mtd_webevents_free(mtd_webevents *we);
/* The policy changed (a new round fetched it). */
void mtd_webevents_set_policy(mtd_webevents *we, const mtd_policy *pol);

/* A URL that was blocked (res from mtd_rep_check_url); browser names the asker. */
void mtd_webevents_url_block(mtd_webevents *we, const char *url, const mtd_rep_result *res,
                             const char *browser);
/* A DNS question answered: block with the deciding record and matched host entry. */
void mtd_webevents_dns(mtd_webevents *we, const char *qname, const char *qtype, int block,
                       const mtd_rep_record *rec, const char *matched);

/* A flow the VPN blocked (mtd_vpn): url as the flow named it, how it was named ("TLS
 * server_name", "HTTP Host", "QUIC server_name", "IP address") for the evidence. */
void mtd_webevents_flow_block(mtd_webevents *we, const char *url, const mtd_rep_result *res,
                              const char *how);
/* Queues an event made elsewhere in web protection (connection records, network
 * checks), taking fields; key tells repeats apart within one drain. Nothing is queued
 * with the web protection switch off. */
void mtd_webevents_queue(mtd_webevents *we, const char *type, json_t *fields, const char *key);

size_t mtd_webevents_pending(mtd_webevents *we);
/* Hands every queued event to emit (which takes the fields); returns how many. */
size_t mtd_webevents_drain(mtd_webevents *we, mtd_emit_fn emit, void *ctx);
/* Events not queued because the queue was full. */
unsigned long long mtd_webevents_dropped(mtd_webevents *we);

#endif
