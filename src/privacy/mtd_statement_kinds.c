/* mtd_statement_kinds: what each schema item is, in the words of the stores' privacy
 * declarations, when it is sent, and what a tenant's policy does to it now. */
#include "privacy/mtd_statement_int.h"

#include <stdio.h>
#include <string.h>

/* How each data kind is named by Apple (NSPrivacyCollectedDataType..., with its
 * NSPrivacyCollectedDataTypePurpose...) and by Google Play's Data safety form. */
static const struct {
    const char *apple, *apple_purpose;
    const char *gp_category, *gp_type;
    const char *gp_purpose[3];
} kinds[MTD_DK__COUNT] = {
    [MTD_DK_NONE] = {NULL, NULL, NULL, NULL, {NULL}},
    [MTD_DK_DEVICE_ID] = {"DeviceID", "AppFunctionality", "Device or other IDs", "Device or other IDs",
                          {"App functionality", "Fraud prevention, security, and compliance"}},
    [MTD_DK_USER_ID] = {"UserID", "AppFunctionality", "Personal info", "User IDs",
                        {"App functionality", "Account management"}},
    [MTD_DK_DEVICE_INFO] = {"OtherDiagnosticData", "AppFunctionality", "App info and performance",
                            "Diagnostics", {"App functionality", "Fraud prevention, security, and compliance"}},
    [MTD_DK_INSTALLED_APPS] = {"OtherDataTypes", "AppFunctionality", "App activity", "Installed apps",
                               {"App functionality", "Fraud prevention, security, and compliance"}},
    [MTD_DK_BROWSING] = {"BrowsingHistory", "AppFunctionality", "Web browsing", "Web browsing history",
                         {"Fraud prevention, security, and compliance"}},
    /* the servers a device connects to are a history of what it contacted: declared as
     * browsing history by both stores, not as a device ID (a remote IP is none) */
    [MTD_DK_NETWORK] = {"BrowsingHistory", "AppFunctionality", "Web browsing", "Web browsing history",
                        {"Fraud prevention, security, and compliance"}},
    [MTD_DK_SECURITY] = {"OtherDataTypes", "AppFunctionality", "App activity", "Other actions",
                         {"Fraud prevention, security, and compliance"}},
    [MTD_DK_INTERACTION] = {"ProductInteraction", "Analytics", "App activity", "App interactions",
                            {"Analytics"}},
    [MTD_DK_CRASH] = {"CrashData", "AppFunctionality", "App info and performance", "Crash logs",
                      {"App functionality", "Analytics"}},
    [MTD_DK_PERFORMANCE] = {"PerformanceData", "Analytics", "App info and performance",
                            "Other app performance data", {"Analytics"}},
    [MTD_DK_DIAGNOSTICS] = {"OtherDiagnosticData", "Analytics", "App info and performance",
                            "Diagnostics", {"Analytics"}},
    [MTD_DK_FEEDBACK] = {"CustomerSupport", "AppFunctionality", "App activity",
                         "Other user-generated content", {"App functionality"}},
    [MTD_DK_EMAIL] = {"EmailAddress", "AppFunctionality", "Personal info", "Email address",
                      {"App functionality"}},
};

mtd_stmt_when mtd_stmt_item_when(const mtd_event_type *ev, const mtd_field *f)
{
    if (ev && ev->category != MTD_CAT_REQUIRED) /* optional by category, whatever its policy */
        return MTD_WHEN_OPTIONAL;
    /* no default: a policy switch added to the schema must be described here (-Wswitch) */
    switch (ev ? ev->policy : MTD_EPOL_NONE) {
    case MTD_EPOL_OPTIONAL: return MTD_WHEN_OPTIONAL;
    case MTD_EPOL_CONNECTIONS: return MTD_WHEN_CONNECTIONS;
    case MTD_EPOL_USAGE_EXACT: return MTD_WHEN_USAGE;
    case MTD_EPOL_NONE: break;
    }
    switch (f->policy) {
    case MTD_POL_URL: return MTD_WHEN_URL;
    case MTD_POL_APP_DETAILS: return MTD_WHEN_APP_DETAILS;
    case MTD_POL_NONE: break;
    }
    return MTD_WHEN_ALWAYS;
}

/* The same rules the gate and the collector apply (mtd_policy_check.c, mtd_gate.c). */
mtd_stmt_now mtd_stmt_item_now(mtd_stmt_when w, const mtd_policy *p)
{
    switch (w) {
    case MTD_WHEN_ALWAYS: return MTD_NOW_SENT;
    case MTD_WHEN_URL:
        return p->report_urls == MTD_URLS_FULL     ? MTD_NOW_SENT
               : p->report_urls == MTD_URLS_DOMAIN ? MTD_NOW_LIMITED
                                                   : MTD_NOW_NOT;
    case MTD_WHEN_APP_DETAILS:
        return p->report_app_details == MTD_APPDET_FULL ? MTD_NOW_SENT : MTD_NOW_NOT;
    case MTD_WHEN_CONNECTIONS:
        if (!p->network_reporting || p->report_connections == MTD_CONN_OFF)
            return MTD_NOW_NOT;
        return p->report_connections == MTD_CONN_ALL ? MTD_NOW_SENT : MTD_NOW_LIMITED;
    case MTD_WHEN_OPTIONAL: return p->optional_data ? MTD_NOW_CHOICE : MTD_NOW_NOT;
    case MTD_WHEN_USAGE: return p->usage_privacy == MTD_USAGE_EXACT ? MTD_NOW_SENT : MTD_NOW_NOT;
    case MTD_WHEN__COUNT: break;
    }
    return MTD_NOW_NOT;
}

const char *mtd_stmt_when_text(mtd_stmt_when w)
{
    switch (w) {
    case MTD_WHEN_URL: return "as `report_urls` allows";
    case MTD_WHEN_APP_DETAILS: return "as `report_app_details` allows";
    case MTD_WHEN_CONNECTIONS: return "as `report_connections` allows";
    case MTD_WHEN_OPTIONAL: return "only if you choose to send it";
    case MTD_WHEN_USAGE: return "as `usage_privacy` allows";
    default: return "";
    }
}

const char *mtd_stmt_now_text(mtd_stmt_when w, const mtd_policy *p)
{
    mtd_stmt_now n = mtd_stmt_item_now(w, p);
    switch (w) {
    case MTD_WHEN_URL:
        return n == MTD_NOW_SENT ? "the full URL" : n == MTD_NOW_LIMITED ? "the domain only" : "not sent";
    case MTD_WHEN_CONNECTIONS:
        return n == MTD_NOW_SENT      ? "every background connection and DNS lookup"
               : n == MTD_NOW_LIMITED ? "only connections and DNS lookups of known threats"
                                      : "not sent";
    case MTD_WHEN_OPTIONAL:
        return n == MTD_NOW_CHOICE ? "only if you choose to send it"
                                   : "not sent: your organization does not allow optional data";
    case MTD_WHEN_USAGE:
        return n == MTD_NOW_SENT ? "sent" : "not sent: only a randomized daily report of the actions";
    default: return n == MTD_NOW_SENT ? "sent" : "not sent";
    }
}

const char *mtd_stmt_now_name(mtd_stmt_now n)
{
    switch (n) {
    case MTD_NOW_SENT: return "sent";
    case MTD_NOW_LIMITED: return "sent in part, as the settings limit it";
    case MTD_NOW_CHOICE: return "sent only if you choose";
    case MTD_NOW_NOT: break;
    }
    return "not sent";
}

void mtd_stmt_each_item(mtd_stmt_item_fn fn, void *ctx)
{
    for (size_t j = 0; j < mtd_envelope_nfields; j++)
        if (mtd_envelope_fields[j].xf != MTD_X_DROP)
            fn(NULL, &mtd_envelope_fields[j], ctx);
    for (size_t i = 0; i < mtd_event_ntypes; i++)
        for (size_t j = 0; j < mtd_event_types[i].nfields; j++)
            if (mtd_event_types[i].fields[j].xf != MTD_X_DROP)
                fn(&mtd_event_types[i], &mtd_event_types[i].fields[j], ctx);
}

typedef struct {
    int apple;
    const mtd_policy *p;
    mtd_stmt_row *rows;
    size_t n;
} rows_ctx;

static const char *type_of(int apple, mtd_datakind k)
{
    return apple ? kinds[k].apple : kinds[k].gp_type;
}

void mtd_stmt_list_add(mtd_buf *list, const char *item)
{
    size_t il = strlen(item);
    for (const char *s = list->len ? (const char *)list->data : NULL; s;) {
        const char *end = strstr(s, "; ");
        size_t n = end ? (size_t)(end - s) : strlen(s);
        if (n == il && !memcmp(s, item, il))
            return;
        s = end ? end + 2 : NULL;
    }
    mtd_buf_printf(list, "%s%s", list->len ? "; " : "", item);
}

static void add_purpose(mtd_stmt_row *r, const char *purpose)
{
    for (int i = 0; i < r->npurpose; i++)
        if (!strcmp(r->purpose[i], purpose))
            return;
    if (r->npurpose < MTD_STMT_PURPOSES)
        r->purpose[r->npurpose++] = purpose;
}

static void row_item(const mtd_event_type *ev, const mtd_field *f, void *vctx)
{
    rows_ctx *c = vctx;
    const char *type = type_of(c->apple, f->kind);
    if (!type)
        return;
    mtd_stmt_row *r = NULL;
    for (size_t i = 0; i < c->n && !r; i++)
        if (!strcmp(c->rows[i].type, type))
            r = &c->rows[i];
    if (!r) {
        r = &c->rows[c->n++];
        memset(r, 0, sizeof *r);
        r->type = type;
        r->category = c->apple ? NULL : kinds[f->kind].gp_category;
        r->optional_only = 1;
        r->now = MTD_NOW_NOT;
        mtd_buf_init(&r->required_items, 0);
        mtd_buf_init(&r->optional_items, 0);
    }
    if (c->apple)
        add_purpose(r, kinds[f->kind].apple_purpose);
    else
        for (int i = 0; i < 3 && kinds[f->kind].gp_purpose[i]; i++)
            add_purpose(r, kinds[f->kind].gp_purpose[i]);
    mtd_stmt_when w = mtd_stmt_item_when(ev, f);
    r->when |= 1u << w;
    mtd_stmt_now now = c->p ? mtd_stmt_item_now(w, c->p) : MTD_NOW_SENT;
    if (now > r->now)
        r->now = now;
    if (w == MTD_WHEN_OPTIONAL) {
        mtd_stmt_list_add(&r->optional_items, f->label);
        return;
    }
    r->optional_only = 0;
    char item[400];
    if (w == MTD_WHEN_ALWAYS)
        snprintf(item, sizeof item, "%s", f->label);
    else
        snprintf(item, sizeof item, "%s (%s)", f->label, mtd_stmt_when_text(w));
    mtd_stmt_list_add(&r->required_items, item);
}

size_t mtd_stmt_rows(int apple, const mtd_policy *p, mtd_stmt_row rows[MTD_DK__COUNT])
{
    rows_ctx c = {.apple = apple, .p = p, .rows = rows};
    mtd_stmt_each_item(row_item, &c);
    return c.n;
}

void mtd_stmt_rows_free(mtd_stmt_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        mtd_buf_free(&rows[i].required_items);
        mtd_buf_free(&rows[i].optional_items);
    }
}

void mtd_stmt_row_depends(const mtd_stmt_row *r, char *out, size_t len)
{
    static const char *const keys[MTD_WHEN__COUNT] = {
        [MTD_WHEN_URL] = "report_urls", [MTD_WHEN_APP_DETAILS] = "report_app_details",
        [MTD_WHEN_CONNECTIONS] = "report_connections", [MTD_WHEN_OPTIONAL] = "optional_data",
        [MTD_WHEN_USAGE] = "usage_privacy"};
    size_t n = 0;
    out[0] = 0;
    /* a row whose other items are always sent depends on its settings only in part */
    if ((r->when & (1u << MTD_WHEN_ALWAYS)) && (r->when & ~(1u << MTD_WHEN_ALWAYS)))
        n = (size_t)snprintf(out, len, "some items: ");
    size_t start = n;
    for (int w = 1; w < MTD_WHEN__COUNT && n < len; w++)
        if (r->when & (1u << w))
            n += (size_t)snprintf(out + n, len - n, "%s%s", n > start ? ", " : "", keys[w]);
}
