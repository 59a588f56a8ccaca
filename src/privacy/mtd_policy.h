/* mtd_policy: a tenant's privacy policy (DESIGN.md section 3), as admins set it with
 * `mtdctl policy set`, the collector stores and serves at GET /v1/policy, and the agent
 * applies in its privacy gate. The collector checks every event against it again.
 *
 * Parsing is strict: an unknown key or a bad value is an error naming it, so a typo in
 * an admin's policy file never silently leaves a default in force. Keys absent from the
 * input keep their defaults (the most private setting that still protects). */
#ifndef MTD_POLICY_H
#define MTD_POLICY_H

#include <jansson.h>
#include <stddef.h>

typedef enum { MTD_URLS_NONE, MTD_URLS_DOMAIN, MTD_URLS_FULL } mtd_url_policy;
typedef enum { MTD_CONN_OFF, MTD_CONN_THREATS, MTD_CONN_ALL } mtd_conn_policy;
typedef enum { MTD_APPDET_MINIMAL, MTD_APPDET_FULL } mtd_appdet_policy;
typedef enum { MTD_DNSANS_NXDOMAIN, MTD_DNSANS_NULL_IP } mtd_dnsans_policy;
typedef enum { MTD_USAGE_EXACT, MTD_USAGE_LDP } mtd_usage_policy;

/* The tenant's own web lists: domains or URLs, one a line, as given (webprot reads
 * them as feed entries; a bigger list belongs in a pushed `web` feed). */
#define MTD_POLICY_LIST_BYTES 16384
#define MTD_POLICY_LIST_ITEMS 1000
/* How a device that had a credential enrolls again: after an admin revoked that
 * credential, or only with an admin's approval (mtdctl credential approve). */
typedef enum { MTD_REENROLL_AFTER_REVOKE, MTD_REENROLL_APPROVAL } mtd_reenroll_policy;

typedef struct {
    int optional_data;              /* diagnostic and feedback data allowed at all */
    mtd_url_policy report_urls;     /* what a web threat detection carries */
    mtd_conn_policy report_connections;
    mtd_appdet_policy report_app_details;
    int web_protection, app_scanning, network_reporting; /* feature switches */
    int retention_required_days, retention_diagnostic_days, retention_feedback_days;
    int spool_max_mb;               /* the agent's disk cap for queued data */
    mtd_dnsans_policy dns_block_answer; /* a blocked name: NXDOMAIN or 0.0.0.0 / :: */
    char web_allow[MTD_POLICY_LIST_BYTES]; /* never blocked (wins over any feed) */
    char web_block[MTD_POLICY_LIST_BYTES]; /* blocked as category "policy" */
    char tls_canaries[MTD_POLICY_LIST_BYTES]; /* host names whose TLS chains must verify:
                                             * the VPN probes them (webprot/mtd_netcheck) */
    int security_patch_max_age_days; /* older Android patch levels are a posture finding */
    mtd_usage_policy usage_privacy; /* ldp: usage counters only under local DP (mtd_ldp.h) */
    int usage_epsilon_milli;        /* its epsilon, x1000 ("usage_epsilon": 0.1 to 10) */
    /* installer packages the tenant trusts, one a line: an app installed by another is
     * sideloaded (the app scanner's heur.sideloaded); default mtd_policy_default_stores */
    char trusted_stores[MTD_POLICY_LIST_BYTES];
    mtd_reenroll_policy reenroll;   /* the collector's: who may enroll a known device */
} mtd_policy;

/* Google Play and the major OEMs' stores, NULL-terminated. */
extern const char *const mtd_policy_default_stores[];

void mtd_policy_default(mtd_policy *p);
/* Applies the keys of obj over *p. On error *p is unchanged and why names the key. */
int mtd_policy_from_json(mtd_policy *p, const json_t *obj, char *why, size_t whylen);
json_t *mtd_policy_to_json(const mtd_policy *p);

const char *mtd_url_policy_name(mtd_url_policy v);
const char *mtd_conn_policy_name(mtd_conn_policy v);
const char *mtd_appdet_policy_name(mtd_appdet_policy v);

#endif
