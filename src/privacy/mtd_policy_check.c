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

static const char *json_get(const void *ev, const char *name, char *buf, size_t len)
{
    const json_t *v = json_object_get(ev, name);
    if (json_is_boolean(v))
        snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
    else if (json_is_string(v))
        snprintf(buf, len, "%s", json_string_value(v));
    else if (v && !json_is_null(v))
        snprintf(buf, len, "?"); /* present, of another type */
    else
        return NULL;
    return buf;
}

static const char *event_get(const void *ev, const char *name, char *buf, size_t len)
{
    const mtd_event *e = ev;
    int c = mtd_event_column(e->type, name, strlen(name));
    if (c < 0 || e->v[c].kind == MTD_V_NONE)
        return NULL;
    const mtd_value *v = &e->v[c];
    if (v->kind == MTD_V_BOOL)
        snprintf(buf, len, "%s", v->i ? "true" : "false");
    else if (v->kind == MTD_V_STR)
        snprintf(buf, len, "%.*s", (int)v->len, v->s);
    else
        snprintf(buf, len, "?");
    return buf;
}

mtd_fieldview mtd_fieldview_json(const json_t *obj)
{
    return (mtd_fieldview){obj, json_get};
}

mtd_fieldview mtd_fieldview_event(const mtd_event *ev)
{
    return (mtd_fieldview){ev, event_get};
}

static int check_fields(const mtd_policy *p, const mtd_event_type *ev, const mtd_fieldview *e,
                        const char **reason, char *why, size_t wl)
{
    char v[2200];
    for (size_t i = 0; i < ev->nfields; i++) {
        const mtd_field *f = &ev->fields[i];
        int app = f->policy == MTD_POL_APP_DETAILS && p->report_app_details == MTD_APPDET_MINIMAL;
        int url = f->policy == MTD_POL_URL && p->report_urls != MTD_URLS_FULL;
        if (!(app || url) || !e->get(e->ev, f->name, v, sizeof v))
            continue; /* only fields the policy limits are looked at */
        if (app)
            return fail(reason, "app_details_forbidden", why, wl, ev->name,
                        "app details sent under report_app_details=minimal");
        if (p->report_urls == MTD_URLS_NONE)
            return fail(reason, "url_forbidden", why, wl, ev->name,
                        "a URL was sent under report_urls=none");
        char dom[300];
        mtd_gate_url_to_domain(v, dom, sizeof dom);
        if (strcmp(dom, v) != 0)
            return fail(reason, "url_forbidden", why, wl, ev->name,
                        "a full URL was sent under report_urls=domain");
    }
    return 0;
}

int mtd_policy_event_allowed(const mtd_policy *p, int consent, const mtd_event_type *ev,
                             const mtd_fieldview *e, const char **reason, char *why, size_t wl)
{
    if (ev->policy == MTD_EPOL_OPTIONAL && !p->optional_data)
        return fail(reason, "optional_data_forbidden", why, wl, ev->name,
                    "the tenant's policy does not allow optional data");
    if (ev->policy == MTD_EPOL_OPTIONAL && !consent)
        return fail(reason, "no_consent", why, wl, ev->name,
                    "optional data without the user's consent");
    if (ev->policy == MTD_EPOL_USAGE_EXACT && p->usage_privacy == MTD_USAGE_LDP)
        return fail(reason, "usage_ldp_only", why, wl, ev->name,
                    "exact usage counts under usage_privacy=ldp");
    if (ev->policy == MTD_EPOL_CONNECTIONS) {
        char b1[16], b2[16];
        const char *t = e->get(e->ev, "threat", b1, sizeof b1);
        const char *verdict = e->get(e->ev, "verdict", b2, sizeof b2);
        int threat = (t && !strcmp(t, "true")) || (verdict && !strcmp(verdict, "block"));
        if (!p->network_reporting || p->report_connections == MTD_CONN_OFF ||
            (p->report_connections == MTD_CONN_THREATS && !threat))
            return fail(reason, "connections_forbidden", why, wl, ev->name,
                        "connection record not allowed by report_connections");
    }
    return 0;
}

int mtd_policy_check_event(const mtd_policy *p, int consent, const mtd_event_type *ev,
                           const mtd_fieldview *e, const char **reason, char *why, size_t wl)
{
    int r = mtd_policy_event_allowed(p, consent, ev, e, reason, why, wl);
    return r ? r : check_fields(p, ev, e, reason, why, wl);
}
