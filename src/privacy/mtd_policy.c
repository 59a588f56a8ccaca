/* mtd_policy: strict JSON reading and writing of a tenant's privacy policy. */
#include "privacy/mtd_policy.h"
#include "common/mtd_err.h"

#include <stdio.h>
#include <string.h>

static const char *const url_names[] = {"none", "domain", "full", NULL};
static const char *const usage_names[] = {"exact", "ldp", NULL};
static const char *const conn_names[] = {"off", "threats", "all", NULL};
static const char *const appdet_names[] = {"minimal", "full", NULL};
static const char *const dnsans_names[] = {"nxdomain", "null_ip", NULL};
static const char *const reenroll_names[] = {"after_revoke", "approval", NULL};

const char *mtd_url_policy_name(mtd_url_policy v) { return url_names[v]; }
const char *mtd_conn_policy_name(mtd_conn_policy v) { return conn_names[v]; }
const char *mtd_appdet_policy_name(mtd_appdet_policy v) { return appdet_names[v]; }

const char *const mtd_policy_default_stores[] = {
    "com.android.vending",             /* Google Play */
    "com.sec.android.app.samsungapps", /* Samsung Galaxy Store */
    "com.huawei.appmarket",            /* Huawei AppGallery */
    "com.xiaomi.market", "com.xiaomi.mipicks", /* Xiaomi GetApps */
    "com.heytap.market", "com.oppo.market",    /* OPPO, OnePlus, realme */
    "com.bbk.appstore",                /* vivo */
    "com.amazon.venezia",              /* Amazon Appstore (Fire devices) */
    NULL,
};

void mtd_policy_default(mtd_policy *p)
{
    memset(p, 0, sizeof *p);
    p->optional_data = 0;
    p->report_urls = MTD_URLS_DOMAIN; /* enough to report a threat, not the full path */
    p->report_connections = MTD_CONN_THREATS;
    p->report_app_details = MTD_APPDET_FULL;
    p->web_protection = p->app_scanning = p->network_reporting = 1;
    p->retention_required_days = 365;
    p->retention_diagnostic_days = 30;
    p->retention_feedback_days = 90;
    p->spool_max_mb = 64;
    p->security_patch_max_age_days = 90; /* three monthly bulletins */
    p->usage_privacy = MTD_USAGE_EXACT;
    p->usage_epsilon_milli = 2000;
    for (size_t i = 0, n = 0; mtd_policy_default_stores[i]; i++)
        n += (size_t)snprintf(p->trusted_stores + n, sizeof p->trusted_stores - n, "%s\n",
                              mtd_policy_default_stores[i]);
}

typedef enum { K_BOOL, K_ENUM, K_DAYS, K_LIST, K_MILLI } kind;
/* what a K_LIST holds, in its errors (names[0]; domains or URLs when NULL) */
static const char *const list_packages[] = {"package names", NULL};
typedef struct {
    const char *key;
    kind k;
    size_t off;
    const char *const *names;
    int min, max;
} knob;

#define OFF(f) offsetof(mtd_policy, f)
static const knob knobs[] = {
    {"optional_data", K_BOOL, OFF(optional_data), NULL, 0, 1},
    {"report_urls", K_ENUM, OFF(report_urls), url_names, 0, 2},
    {"report_connections", K_ENUM, OFF(report_connections), conn_names, 0, 2},
    {"report_app_details", K_ENUM, OFF(report_app_details), appdet_names, 0, 1},
    {"reenroll", K_ENUM, OFF(reenroll), reenroll_names, 0, 1},
    {"web_protection", K_BOOL, OFF(web_protection), NULL, 0, 1},
    {"app_scanning", K_BOOL, OFF(app_scanning), NULL, 0, 1},
    {"network_reporting", K_BOOL, OFF(network_reporting), NULL, 0, 1},
    {"retention_required_days", K_DAYS, OFF(retention_required_days), NULL, 1, 3650},
    {"retention_diagnostic_days", K_DAYS, OFF(retention_diagnostic_days), NULL, 1, 3650},
    {"retention_feedback_days", K_DAYS, OFF(retention_feedback_days), NULL, 1, 3650},
    {"spool_max_mb", K_DAYS, OFF(spool_max_mb), NULL, 1, 4096},
    {"dns_block_answer", K_ENUM, OFF(dns_block_answer), dnsans_names, 0, 1},
    {"web_allow", K_LIST, OFF(web_allow), NULL, 0, MTD_POLICY_LIST_ITEMS},
    {"web_block", K_LIST, OFF(web_block), NULL, 0, MTD_POLICY_LIST_ITEMS},
    {"tls_canaries", K_LIST, OFF(tls_canaries), NULL, 0, 64},
    {"security_patch_max_age_days", K_DAYS, OFF(security_patch_max_age_days), NULL, 1, 3650},
    {"usage_privacy", K_ENUM, OFF(usage_privacy), usage_names, 0, 1},
    {"usage_epsilon", K_MILLI, OFF(usage_epsilon_milli), NULL, 100, 10000},
    {"trusted_stores", K_LIST, OFF(trusted_stores), list_packages, 0, 64},
};
#define NKNOBS (sizeof knobs / sizeof knobs[0])

/* A list of domains, URLs or package names, kept one a line: strings of 1 to 2048
 * printable bytes without blanks, at most kb->max of them, within the list's bytes. */
static int set_list(mtd_policy *p, const knob *kb, const json_t *v, char *why, size_t wl)
{
    char *dst = (char *)p + kb->off;
    size_t n = 0, i;
    json_t *e;
    const char *what = kb->names ? kb->names[0] : "domains or URLs";
    if (!json_is_array(v) || json_array_size(v) > (size_t)kb->max) {
        snprintf(why, wl, "policy key \"%s\" must be an array of at most %d %s", kb->key,
                 kb->max, what);
        return MTD_EINVAL;
    }
    memset(dst, 0, MTD_POLICY_LIST_BYTES); /* no byte of the old list stays behind */
    json_array_foreach(v, i, e) {
        const char *s = json_string_value(e);
        size_t l = s ? strlen(s) : 0;
        for (size_t k = 0; k < l && s; k++)
            if ((unsigned char)s[k] <= 0x20 || s[k] == 0x7f)
                s = NULL;
        if (!s || l == 0 || l > 2048) {
            snprintf(why, wl, "policy key \"%s\": entry %zu must be one of the %s, without blanks",
                     kb->key, i + 1, what);
            return MTD_EINVAL;
        }
        if (n + l + 1 >= MTD_POLICY_LIST_BYTES) {
            snprintf(why, wl, "policy key \"%s\" is over %d bytes (push a web feed instead)",
                     kb->key, MTD_POLICY_LIST_BYTES);
            return MTD_EINVAL;
        }
        memcpy(dst + n, s, l);
        n += l;
        dst[n++] = '\n';
    }
    dst[n] = 0;
    return 0;
}

static json_t *list_json(const char *s)
{
    json_t *a = json_array();
    while (*s) {
        size_t l = strcspn(s, "\n");
        json_array_append_new(a, json_stringn(s, l));
        s += l + (s[l] == '\n');
    }
    return a;
}

static int set_knob(mtd_policy *p, const knob *kb, const json_t *v, char *why, size_t wl)
{
    if (kb->k == K_LIST)
        return set_list(p, kb, v, why, wl);
    int *dst = (int *)((char *)p + kb->off);
    if (kb->k == K_BOOL) {
        if (!json_is_boolean(v)) {
            snprintf(why, wl, "policy key \"%s\" must be true or false", kb->key);
            return MTD_EINVAL;
        }
        *dst = json_is_true(v);
        return 0;
    }
    if (kb->k == K_MILLI) { /* a number with up to three decimals, kept x1000 */
        double x = json_number_value(v) * 1000;
        if (!json_is_number(v) || x < kb->min || x > kb->max) {
            snprintf(why, wl, "policy key \"%s\" must be a number from %g to %g", kb->key,
                     kb->min / 1000.0, kb->max / 1000.0);
            return MTD_EINVAL;
        }
        *dst = (int)(x + 0.5);
        return 0;
    }
    if (kb->k == K_DAYS) {
        json_int_t n = json_integer_value(v);
        if (!json_is_integer(v) || n < kb->min || n > kb->max) {
            snprintf(why, wl, "policy key \"%s\" must be an integer from %d to %d", kb->key,
                     kb->min, kb->max);
            return MTD_EINVAL;
        }
        *dst = (int)n;
        return 0;
    }
    const char *s = json_string_value(v);
    for (int i = 0; s && kb->names[i]; i++)
        if (!strcmp(kb->names[i], s)) {
            *dst = i;
            return 0;
        }
    char allowed[128] = "";
    for (int i = 0; kb->names[i]; i++)
        snprintf(allowed + strlen(allowed), sizeof allowed - strlen(allowed), "%s%s",
                 i ? "|" : "", kb->names[i]);
    snprintf(why, wl, "policy key \"%s\" must be one of %s", kb->key, allowed);
    return MTD_EINVAL;
}

int mtd_policy_from_json(mtd_policy *p, const json_t *obj, char *why, size_t whylen)
{
    if (!json_is_object(obj)) {
        snprintf(why, whylen, "policy must be a JSON object");
        return MTD_EINVAL;
    }
    mtd_policy tmp = *p;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        const knob *kb = NULL;
        for (size_t i = 0; i < NKNOBS; i++)
            if (!strcmp(knobs[i].key, key))
                kb = &knobs[i];
        if (!kb) {
            snprintf(why, whylen, "unknown policy key \"%.64s\"", key);
            return MTD_EINVAL;
        }
        int r = set_knob(&tmp, kb, v, why, whylen);
        if (r)
            return r;
    }
    *p = tmp;
    return 0;
}

json_t *mtd_policy_to_json(const mtd_policy *p)
{
    json_t *o = json_object();
    for (size_t i = 0; i < NKNOBS; i++) {
        if (knobs[i].k == K_LIST) {
            json_object_set_new(o, knobs[i].key, list_json((const char *)p + knobs[i].off));
            continue;
        }
        int v = *(const int *)((const char *)p + knobs[i].off);
        json_t *jv = knobs[i].k == K_BOOL    ? json_boolean(v)
                     : knobs[i].k == K_MILLI ? json_real(v / 1000.0)
                     : knobs[i].k == K_DAYS ? json_integer(v)
                                            : json_string(knobs[i].names[v]);
        json_object_set_new(o, knobs[i].key, jv);
    }
    return o;
}
