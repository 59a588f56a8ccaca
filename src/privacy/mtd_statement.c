/* mtd_statement: Markdown, PrivacyInfo.xcprivacy and Data safety CSV from the schema. */
#include "privacy/mtd_statement.h"
#include "common/mtd_err.h"
#include "schema/mtd_schema.h"

#include <stdlib.h>
#include <string.h>

/* How each data kind is named by Apple and by Google Play. */
static const struct {
    const char *apple;          /* NSPrivacyCollectedDataType... */
    const char *apple_purpose;  /* NSPrivacyCollectedDataTypePurpose... */
    const char *gp_category, *gp_type;
    const char *gp_purpose;
} kinds[MTD_DK__COUNT] = {
    [MTD_DK_NONE] = {NULL, NULL, NULL, NULL, NULL},
    [MTD_DK_DEVICE_ID] = {"DeviceID", "AppFunctionality", "Device or other IDs", "Device or other IDs",
                          "App functionality; Fraud prevention, security, and compliance"},
    [MTD_DK_USER_ID] = {"UserID", "AppFunctionality", "Personal info", "User IDs",
                        "App functionality; Account management"},
    [MTD_DK_DEVICE_INFO] = {"OtherDiagnosticData", "AppFunctionality", "App info and performance",
                            "Diagnostics", "App functionality; Fraud prevention, security, and compliance"},
    [MTD_DK_INSTALLED_APPS] = {"OtherDataTypes", "AppFunctionality", "App activity", "Installed apps",
                               "App functionality; Fraud prevention, security, and compliance"},
    [MTD_DK_BROWSING] = {"BrowsingHistory", "AppFunctionality", "Web browsing", "Web browsing history",
                         "Fraud prevention, security, and compliance"},
    [MTD_DK_NETWORK] = {"OtherDataTypes", "AppFunctionality", "Device or other IDs", "Device or other IDs",
                        "Fraud prevention, security, and compliance"},
    [MTD_DK_SECURITY] = {"OtherDataTypes", "AppFunctionality", "App activity", "Other actions",
                         "Fraud prevention, security, and compliance"},
    [MTD_DK_INTERACTION] = {"ProductInteraction", "Analytics", "App activity", "App interactions",
                            "Analytics"},
    [MTD_DK_CRASH] = {"CrashData", "AppFunctionality", "App info and performance", "Crash logs",
                      "App functionality; Analytics"},
    [MTD_DK_PERFORMANCE] = {"PerformanceData", "Analytics", "App info and performance",
                            "Other app performance data", "Analytics"},
    [MTD_DK_DIAGNOSTICS] = {"OtherDiagnosticData", "Analytics", "App info and performance",
                            "Diagnostics", "Analytics"},
    [MTD_DK_FEEDBACK] = {"CustomerSupport", "AppFunctionality", "App activity",
                         "Other user-generated content", "App functionality"},
    [MTD_DK_EMAIL] = {"EmailAddress", "AppFunctionality", "Personal info", "Email address",
                      "App functionality"},
};

int mtd_statement_format_parse(const char *s, mtd_stmt_format *f)
{
    if (!s || !strcmp(s, "md"))
        *f = MTD_STMT_MD;
    else if (!strcmp(s, "xcprivacy"))
        *f = MTD_STMT_XCPRIVACY;
    else if (!strcmp(s, "datasafety"))
        *f = MTD_STMT_DATASAFETY;
    else if (!strcmp(s, "schema"))
        *f = MTD_STMT_SCHEMA;
    else
        return MTD_EINVAL;
    return 0;
}

static const char *handling(const mtd_field *f)
{
    switch (f->xf) {
    case MTD_X_PSEUDONYMIZE:
        return "pseudonymized on the device (keyed hash); the raw value never leaves it";
    case MTD_X_TRUNCATE:
        return "cut on the device as your organization's policy says (full URL, domain only, or nothing)";
    case MTD_X_DROP:
        return "never sent";
    case MTD_X_KEEP:
        break;
    }
    if (f->policy == MTD_POL_APP_DETAILS)
        return "sent only when the organization's report_app_details policy is \"full\"";
    if (f->sens == MTD_SENS_DIRECT)
        return "sent only if you type it";
    return "sent as read";
}

/* Sensitivity in the words an employee would use. */
static const char *identifies(const mtd_field *f)
{
    switch (f->sens) {
    case MTD_SENS_NONE: return "No";
    case MTD_SENS_QUASI: return "Possibly, combined with other data";
    case MTD_SENS_PSEUDO: return "Only through a pseudonym";
    case MTD_SENS_DIRECT: return "Yes";
    }
    return "?";
}

static void md_fields(mtd_buf *o, const mtd_event_type *ev)
{
    mtd_buf_printf(o, "\n**%s** (`%s`): collected %s.\n\n| Item | Could it identify you? | How it is handled |\n|---|---|---|\n",
                   ev->title, ev->name, ev->why);
    for (size_t i = 0; i < ev->nfields; i++) {
        const mtd_field *f = &ev->fields[i];
        if (f->xf == MTD_X_DROP)
            continue;
        mtd_buf_printf(o, "| %s | %s | %s |\n", f->label, identifies(f), handling(f));
    }
}

static void md_section(mtd_buf *o, mtd_category cat, const char *section)
{
    int first = 1;
    for (size_t i = 0; i < mtd_event_ntypes; i++) {
        const mtd_event_type *ev = &mtd_event_types[i];
        if (ev->category != cat || strcmp(ev->section, section) != 0)
            continue;
        if (first)
            mtd_buf_printf(o, "\n### %s\n", section);
        first = 0;
        md_fields(o, ev);
    }
}

static void md_envelope(mtd_buf *o)
{
    mtd_buf_puts(o, "\n### Tenant, device and user information\n\nEvery record carries these, so "
                    "your organization can tell which of its devices it came from.\n\n"
                    "| Item | Could it identify you? | How it is handled |\n|---|---|---|\n");
    for (size_t i = 0; i < mtd_envelope_nfields; i++) {
        const mtd_field *f = &mtd_envelope_fields[i];
        mtd_buf_printf(o, "| %s | %s | %s |\n", f->label, identifies(f), handling(f));
    }
}

static void md_policy(mtd_buf *o, const mtd_policy *p)
{
    mtd_buf_printf(o, "\n## Your organization's current settings\n\n"
                      "- Optional data (diagnostics, feedback): %s\n"
                      "- Web threat reports carry: %s\n"
                      "- Background connection records: %s\n"
                      "- App threat alerts carry app details: %s\n"
                      "- Web protection: %s; app scanning: %s; network reporting: %s\n"
                      "- Kept by your organization: required data %d days, diagnostic data %d"
                      " days, feedback %d days after it arrives; then it is deleted\n",
                   p->optional_data ? "allowed, if you consent" : "not allowed",
                   p->report_urls == MTD_URLS_FULL ? "the full URL"
                   : p->report_urls == MTD_URLS_DOMAIN ? "the domain only" : "no URL",
                   p->report_connections == MTD_CONN_ALL ? "all" :
                   p->report_connections == MTD_CONN_THREATS ? "only connections to threats" : "none",
                   p->report_app_details == MTD_APPDET_FULL ? "yes" : "no",
                   p->web_protection ? "on" : "off", p->app_scanning ? "on" : "off",
                   p->network_reporting ? "on" : "off", p->retention_required_days,
                   p->retention_diagnostic_days, p->retention_feedback_days);
}

static void markdown(mtd_buf *o, const mtd_policy *p)
{
    mtd_buf_puts(o,
        "# openmtd privacy statement\n\n"
        "<!-- Generated from src/schema/mtd_schema_table.c by `mtd-agent privacy statement`."
        " Do not edit: a test fails when this file differs from the schema. -->\n\n"
        "openmtd protects this device from malicious apps and web threats. This page lists "
        "every item of data it can send to your organization: the product's code cannot "
        "send anything that is not listed here. Direct identifiers (your user name, "
        "device identifiers, email) are replaced on the device by pseudonyms made with a "
        "key unique to your organization.\n\n"
        "## What is never collected\n\n"
        "- Your browsing history: web protection inspects traffic on the device itself; "
        "only a blocked threat is reported.\n"
        "- The content of your messages, files, photos or other apps' data.\n"
        "- Your raw device identifiers, user name or directory IDs.\n"
        "- Your location.\n\n"
        "## Required data\n\nCollected from every enrolled device: the service cannot "
        "protect the device without it.\n");
    static const char *sections[] = {"App information", "Web page / network information",
                                     "Device and account information", "Product and service usage"};
    for (size_t i = 0; i < 4; i++) {
        md_section(o, MTD_CAT_REQUIRED, sections[i]);
        if (i == 2)
            md_envelope(o);
    }
    mtd_buf_puts(o, "\n## Optional data\n\nSent only when you choose to, and only if your "
                    "organization allows optional data at all. You can revoke consent at any "
                    "time (`mtd-agent consent revoke`): queued optional data is deleted on the "
                    "device and your organization's copy is deleted.\n");
    md_section(o, MTD_CAT_DIAGNOSTIC, "Optional: diagnostic");
    md_section(o, MTD_CAT_FEEDBACK, "Optional: feedback");
    mtd_buf_puts(o, "\n## See for yourself\n\n"
                    "- `mtd-agent privacy ledger` shows every record that left this device, as sent.\n"
                    "- `mtd-agent privacy queued` shows what waits to be sent.\n");
    if (p)
        md_policy(o, p);
}

/* Which data kinds the schema uses, and whether every use is optional. */
static void kinds_used(int used[MTD_DK__COUNT], int optional_only[MTD_DK__COUNT])
{
    for (int k = 0; k < MTD_DK__COUNT; k++)
        used[k] = 0, optional_only[k] = 1;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < (pass ? mtd_event_ntypes : 1); i++) {
            const mtd_field *fs = pass ? mtd_event_types[i].fields : mtd_envelope_fields;
            size_t n = pass ? mtd_event_types[i].nfields : mtd_envelope_nfields;
            int opt = pass && mtd_event_types[i].category != MTD_CAT_REQUIRED;
            for (size_t j = 0; j < n; j++) {
                if (fs[j].xf == MTD_X_DROP)
                    continue;
                used[fs[j].kind] = 1;
                if (!opt)
                    optional_only[fs[j].kind] = 0;
            }
        }
}

static void xcprivacy(mtd_buf *o)
{
    int used[MTD_DK__COUNT], opt[MTD_DK__COUNT];
    kinds_used(used, opt);
    mtd_buf_puts(o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
                    "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
                    "<plist version=\"1.0\">\n<dict>\n"
                    "\t<key>NSPrivacyTracking</key>\n\t<false/>\n"
                    "\t<key>NSPrivacyTrackingDomains</key>\n\t<array/>\n"
                    "\t<key>NSPrivacyCollectedDataTypes</key>\n\t<array>\n");
    const char *done[MTD_DK__COUNT] = {0};
    for (int k = 1; k < MTD_DK__COUNT; k++) {
        if (!used[k])
            continue;
        /* several of our kinds map to one Apple type: list each type once */
        int dup = 0;
        for (int j = 1; j < k; j++)
            dup |= done[j] && !strcmp(done[j], kinds[k].apple);
        done[k] = kinds[k].apple;
        if (dup)
            continue;
        mtd_buf_printf(o, "\t\t<dict>\n"
                          "\t\t\t<key>NSPrivacyCollectedDataType</key>\n"
                          "\t\t\t<string>NSPrivacyCollectedDataType%s</string>\n"
                          "\t\t\t<key>NSPrivacyCollectedDataTypeLinked</key>\n\t\t\t<true/>\n"
                          "\t\t\t<key>NSPrivacyCollectedDataTypeTracking</key>\n\t\t\t<false/>\n"
                          "\t\t\t<key>NSPrivacyCollectedDataTypePurposes</key>\n\t\t\t<array>\n"
                          "\t\t\t\t<string>NSPrivacyCollectedDataTypePurpose%s</string>\n"
                          "\t\t\t</array>\n\t\t</dict>\n",
                       kinds[k].apple, kinds[k].apple_purpose);
    }
    mtd_buf_puts(o, "\t</array>\n\t<key>NSPrivacyAccessedAPITypes</key>\n\t<array/>\n</dict>\n</plist>\n");
}

static void csv_cell(mtd_buf *o, const char *s, int last)
{
    mtd_buf_puts(o, "\"");
    for (; *s; s++)
        mtd_buf_printf(o, *s == '"' ? "\"\"" : "%c", *s);
    mtd_buf_puts(o, last ? "\"\n" : "\",");
}

/* The schema items of one Google Play data type, "label; label; ...". */
static void items_of(int kind, mtd_buf *o)
{
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < (pass ? mtd_event_ntypes : 1); i++) {
            const mtd_field *fs = pass ? mtd_event_types[i].fields : mtd_envelope_fields;
            size_t n = pass ? mtd_event_types[i].nfields : mtd_envelope_nfields;
            for (size_t j = 0; j < n; j++)
                if ((int)fs[j].kind == kind && fs[j].xf != MTD_X_DROP)
                    mtd_buf_printf(o, "%s%s", o->len ? "; " : "", fs[j].label);
        }
}

/* One row per Google Play data type; several of our kinds may share one. */
static void datasafety(mtd_buf *o)
{
    int used[MTD_DK__COUNT], opt[MTD_DK__COUNT];
    kinds_used(used, opt);
    mtd_buf_puts(o, "data_category,data_type,collected,shared,processed_ephemerally,"
                    "required_or_optional,purposes,encrypted_in_transit,deletion_request,items\n");
    for (int k = 1; k < MTD_DK__COUNT; k++) {
        int first = 1, optional = 1;
        for (int j = 1; j < k; j++)
            first &= !(used[j] && !strcmp(kinds[j].gp_type, kinds[k].gp_type));
        if (!used[k] || !first)
            continue;
        mtd_buf items;
        mtd_buf_init(&items, 0);
        for (int j = k; j < MTD_DK__COUNT; j++)
            if (used[j] && !strcmp(kinds[j].gp_type, kinds[k].gp_type)) {
                items_of(j, &items);
                optional &= opt[j];
            }
        csv_cell(o, kinds[k].gp_category, 0);
        csv_cell(o, kinds[k].gp_type, 0);
        csv_cell(o, "yes", 0);
        csv_cell(o, "no", 0);
        csv_cell(o, "no", 0);
        csv_cell(o, optional ? "optional" : "required", 0);
        csv_cell(o, kinds[k].gp_purpose, 0);
        csv_cell(o, "yes", 0);
        csv_cell(o, "yes", 0);
        csv_cell(o, (const char *)items.data, 1);
        mtd_buf_free(&items);
    }
}

static json_t *fields_json(const mtd_field *fs, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:s}", "name", fs[i].name,
                                           "type", mtd_ftype_name(fs[i].type), "sensitivity",
                                           mtd_sensitivity_name(fs[i].sens), "transform",
                                           mtd_transform_name(fs[i].xf), "label", fs[i].label,
                                           "required", fs[i].required, "ocsf", fs[i].ocsf));
    return a;
}

static void schema_json(mtd_buf *o)
{
    json_t *evs = json_array();
    for (size_t i = 0; i < mtd_event_ntypes; i++) {
        const mtd_event_type *e = &mtd_event_types[i];
        json_array_append_new(evs, json_pack("{s:s,s:s,s:i,s:s,s:o}", "name", e->name, "category",
                                             mtd_category_name(e->category), "ocsf_class_uid",
                                             e->ocsf_class_uid, "why", e->why, "fields",
                                             fields_json(e->fields, e->nfields)));
    }
    json_t *root = json_pack("{s:i,s:o,s:o}", "schema_version", MTD_SCHEMA_VERSION, "envelope",
                             fields_json(mtd_envelope_fields, mtd_envelope_nfields), "events", evs);
    char *txt = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    mtd_buf_puts(o, txt);
    mtd_buf_puts(o, "\n");
    free(txt);
}

int mtd_statement(mtd_stmt_format f, const mtd_policy *policy, mtd_buf *out)
{
    switch (f) {
    case MTD_STMT_MD: markdown(out, policy); break;
    case MTD_STMT_XCPRIVACY: xcprivacy(out); break;
    case MTD_STMT_DATASAFETY: datasafety(out); break;
    case MTD_STMT_SCHEMA: schema_json(out); break;
    }
    return 0;
}
