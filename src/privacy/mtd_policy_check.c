/* mtd_policy_check: policy and consent rules checked on events that arrive. */
#include "privacy/mtd_policy_check.h"
#include "common/mtd_err.h"
#include "privacy/mtd_gate.h"

#include <stdio.h>
#include <string.h>

static int fail(const char **reason, const char *r, char *why, size_t wl, const char *ev,
                const char *what)
{
    *reason = r;
    snprintf(why, wl, "%s: %s", ev, what);
    return MTD_EPOLICY;
}

static int check_fields(const mtd_policy *p, const mtd_event_type *ev, const json_t *e,
                        const char **reason, char *why, size_t wl)
{
    for (size_t i = 0; i < ev->nfields; i++) {
        const mtd_field *f = &ev->fields[i];
        const json_t *v = json_object_get(e, f->name);
        if (!v || json_is_null(v))
            continue;
        if (f->policy == MTD_POL_APP_DETAILS && p->report_app_details == MTD_APPDET_MINIMAL)
            return fail(reason, "app_details_forbidden", why, wl, ev->name,
                        "app details sent under report_app_details=minimal");
        if (f->policy != MTD_POL_URL || p->report_urls == MTD_URLS_FULL)
            continue;
        if (p->report_urls == MTD_URLS_NONE)
            return fail(reason, "url_forbidden", why, wl, ev->name,
                        "a URL was sent under report_urls=none");
        char dom[300];
        mtd_gate_url_to_domain(json_string_value(v), dom, sizeof dom);
        if (strcmp(dom, json_string_value(v)) != 0)
            return fail(reason, "url_forbidden", why, wl, ev->name,
                        "a full URL was sent under report_urls=domain");
    }
    return 0;
}

int mtd_policy_event_allowed(const mtd_policy *p, int consent, const mtd_event_type *ev,
                             const json_t *e, const char **reason, char *why, size_t wl)
{
    if (ev->policy == MTD_EPOL_OPTIONAL && !p->optional_data)
        return fail(reason, "optional_data_forbidden", why, wl, ev->name,
                    "the tenant's policy does not allow optional data");
    if (ev->policy == MTD_EPOL_OPTIONAL && !consent)
        return fail(reason, "no_consent", why, wl, ev->name,
                    "optional data without the user's consent");
    if (ev->policy == MTD_EPOL_CONNECTIONS) {
        int threat = json_is_true(json_object_get(e, "threat")) ||
                     !strcmp(json_string_value(json_object_get(e, "verdict")) ?: "", "block");
        if (!p->network_reporting || p->report_connections == MTD_CONN_OFF ||
            (p->report_connections == MTD_CONN_THREATS && !threat))
            return fail(reason, "connections_forbidden", why, wl, ev->name,
                        "connection record not allowed by report_connections");
    }
    return 0;
}

int mtd_policy_check_event(const mtd_policy *p, int consent, const mtd_event_type *ev,
                           const json_t *e, const char **reason, char *why, size_t wl)
{
    int r = mtd_policy_event_allowed(p, consent, ev, e, reason, why, wl);
    return r ? r : check_fields(p, ev, e, reason, why, wl);
}
