/* mtd_statement: the privacy statement as a product privacy page (Markdown), and the
 * choice of format. The page is written for the employee whose device it is: first what
 * matters most (the organization can find all of a person's records; what depends on
 * its settings), then every item, each with whether it could identify them and how it
 * is handled. Its data types, conditions and current effects come from the same account
 * as the store formats (mtd_statement_int.h), so the formats tell one story. */
#include "privacy/mtd_statement.h"
#include "common/mtd_err.h"
#include "privacy/mtd_statement_int.h"

#include <stdlib.h>
#include <string.h>

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

/* Sensitivity in the words an employee would use. A pseudonym identifies its person to
 * the organization, which holds the key: it is not anonymous. */
static const char *identifies(const mtd_field *f)
{
    switch (f->sens) {
    case MTD_SENS_NONE: return "No";
    case MTD_SENS_QUASI:
        return f->kind == MTD_DK_INSTALLED_APPS
                   ? "Possibly: your list of apps, taken together, can single you out"
                   : "Possibly, combined with other data";
    case MTD_SENS_PSEUDO: return "Not by itself (a random or organization ID)";
    case MTD_SENS_DIRECT:
        return f->xf == MTD_X_PSEUDONYMIZE
                   ? "Yes, to your organization, which can compute this pseudonym"
                   : "Yes";
    }
    return "?";
}

static void handling(mtd_buf *o, const mtd_event_type *ev, const mtd_field *f, const mtd_policy *p)
{
    mtd_stmt_when w = mtd_stmt_item_when(ev, f);
    if (f->xf == MTD_X_PSEUDONYMIZE)
        mtd_buf_puts(o, "replaced on the device by a pseudonym (a keyed hash); the raw value never leaves it");
    else if (f->xf == MTD_X_TRUNCATE)
        mtd_buf_puts(o, "cut on the device as `report_urls` says: the full URL, the domain only, or nothing");
    else if (w == MTD_WHEN_APP_DETAILS)
        mtd_buf_puts(o, "sent only when `report_app_details` is `full`");
    else if (f->sens == MTD_SENS_DIRECT)
        mtd_buf_puts(o, "sent as you typed it, only if you type it; not a pseudonym");
    else if (f->kind == MTD_DK_FEEDBACK)
        mtd_buf_puts(o, f->type == MTD_T_ENUM ? "sent as you chose it" : "sent as you typed it");
    else
        mtd_buf_puts(o, "sent as read");
    if (p && (w == MTD_WHEN_URL || w == MTD_WHEN_APP_DETAILS))
        mtd_buf_printf(o, ". **Now:** %s", mtd_stmt_now_text(w, p));
}

static void md_table_head(mtd_buf *o)
{
    mtd_buf_puts(o, "| Item | Could it identify you? | How it is handled |\n|---|---|---|\n");
}

static void md_row(mtd_buf *o, const mtd_event_type *ev, const mtd_field *f, const mtd_policy *p)
{
    mtd_buf_printf(o, "| %s | %s | ", f->label, identifies(f));
    handling(o, ev, f, p);
    mtd_buf_puts(o, " |\n");
}

static void md_event(mtd_buf *o, const mtd_event_type *ev, const mtd_policy *p)
{
    mtd_buf_printf(o, "\n**%s** (`%s`): collected %s.\n", ev->title, ev->name, ev->why);
    mtd_stmt_when w = ev->nfields ? mtd_stmt_item_when(ev, &ev->fields[0]) : MTD_WHEN_ALWAYS;
    int event_level = w == MTD_WHEN_CONNECTIONS || w == MTD_WHEN_USAGE; /* the whole event */
    if (event_level)
        mtd_buf_printf(o, "Sent only %s%s.\n", mtd_stmt_when_text(w),
                       w == MTD_WHEN_CONNECTIONS ? " (and if `network_reporting` is on)" : "");
    if (p && (event_level || w == MTD_WHEN_OPTIONAL))
        mtd_buf_printf(o, "**Now:** %s.\n", mtd_stmt_now_text(w, p));
    mtd_buf_puts(o, "\n");
    md_table_head(o);
    for (size_t i = 0; i < ev->nfields; i++)
        if (ev->fields[i].xf != MTD_X_DROP)
            md_row(o, ev, &ev->fields[i], p);
}

static void md_section(mtd_buf *o, mtd_category cat, const char *section, const mtd_policy *p)
{
    int first = 1;
    for (size_t i = 0; i < mtd_event_ntypes; i++) {
        const mtd_event_type *ev = &mtd_event_types[i];
        if (ev->category != cat || strcmp(ev->section, section) != 0)
            continue;
        if (first)
            mtd_buf_printf(o, "\n### %s\n", section);
        first = 0;
        md_event(o, ev, p);
    }
}

static void md_envelope(mtd_buf *o, const mtd_policy *p)
{
    mtd_buf_puts(o, "\n### Tenant, device and user information\n\nEvery record carries these, so "
                    "your organization can tell which of its devices, and whose, it came from.\n\n");
    md_table_head(o);
    for (size_t i = 0; i < mtd_envelope_nfields; i++)
        if (mtd_envelope_fields[i].xf != MTD_X_DROP)
            md_row(o, NULL, &mtd_envelope_fields[i], p);
}

/* Items with a given property, found by walking the schema. */
typedef struct {
    mtd_buf list;
    int when;     /* items sent under this condition (-1: any) */
    int typed;    /* direct identifiers sent as typed */
    int events;   /* list event titles rather than item labels */
    int apps;     /* set when an installed-apps item identifies in combination */
} item_query;

static void query_item(const mtd_event_type *ev, const mtd_field *f, void *vq)
{
    item_query *q = vq;
    mtd_stmt_when w = mtd_stmt_item_when(ev, f);
    if (f->kind == MTD_DK_INSTALLED_APPS && f->sens == MTD_SENS_QUASI && w == MTD_WHEN_ALWAYS)
        q->apps = 1;
    if ((q->when >= 0 && (int)w != q->when) || (q->typed && !(f->sens == MTD_SENS_DIRECT && f->xf == MTD_X_KEEP)))
        return;
    char item[400];
    if (q->events && ev)
        snprintf(item, sizeof item, "%s (`%s`)", ev->title, ev->name);
    else
        snprintf(item, sizeof item, "%s%s%s%s", f->label, ev ? " (`" : "", ev ? ev->name : "", ev ? "`)" : "");
    mtd_stmt_list_add(&q->list, item);
}

static void query(item_query *q)
{
    mtd_buf_init(&q->list, 0);
    mtd_stmt_each_item(query_item, q);
}

static const char *list_text(const item_query *q)
{
    return q->list.len ? (const char *)q->list.data : "nothing";
}

static void md_short(mtd_buf *o, const mtd_policy *p)
{
    mtd_buf_puts(o,
        "\n## In short\n\n"
        "- **Your organization can find every record about you by your user name.** Your user "
        "name, your directory IDs and this device's identifiers are replaced on the device by "
        "pseudonyms: keyed hashes made with a key unique to your organization. Pseudonymized "
        "is not anonymous. Every record carries the pseudonym of this device and, when your "
        "organization enrolled it with your user name, the pseudonym of that name; your "
        "organization holds the key, so it can compute the pseudonym of your user name and "
        "find all your records (its admins do so with `mtdctl user export`, for instance to "
        "answer a request for your data). Without that key nobody can link a pseudonym to you.\n");
    item_query typed = {.when = -1, .typed = 1};
    query(&typed);
    if (typed.list.len)
        mtd_buf_printf(o, "- **Sent as you typed it, not as a pseudonym:** %s.\n", list_text(&typed));
    if (typed.apps)
        mtd_buf_puts(o, "- **The list of your installed apps is sent from every enrolled device.** "
                        "No single app name identifies you, but the list taken together, with "
                        "install times, can single out one person: it is a quasi-identifier, and "
                        "like every record it is linked to your pseudonyms.\n");
    mtd_buf_free(&typed.list);
    mtd_buf_puts(o, "- **Web and network activity:** the content of the pages you visit is never "
                    "collected. What your organization learns of the sites and servers you use "
                    "depends on its settings (below): the address of a page blocked as a threat, "
                    "as `report_urls` allows, and, with `report_connections` set to `all`, every "
                    "background connection and DNS lookup of this device, which comes close to a "
                    "browsing history.");
    if (p)
        mtd_buf_printf(o, " **Now:** a blocked page's address: %s; background connections: %s.",
                       mtd_stmt_now_text(MTD_WHEN_URL, p), mtd_stmt_now_text(MTD_WHEN_CONNECTIONS, p));
    mtd_buf_puts(o, "\n- **Who receives it:** only your organization's collector, over an encrypted "
                    "connection. Your organization may copy it into its own security tools. "
                    "Nothing is sent to track you across other companies' apps or websites, or "
                    "for advertising.\n");
}

/* The data types of the store declarations (Data safety rows), in one table. */
static void md_glance(mtd_buf *o, const mtd_policy *p)
{
    mtd_stmt_row rows[MTD_DK__COUNT];
    size_t n = mtd_stmt_rows(0, p, rows);
    mtd_buf_printf(o, "\n## Kinds of data at a glance\n\nAs declared to Google Play (Data "
                      "safety) and, in the same terms, to Apple (`--format datasafety`, "
                      "`--format xcprivacy`).\n\n| Kind of data | Required or optional | "
                      "Depends on these settings |%s\n|---|---|---|%s\n",
                   p ? " Now |" : "", p ? "---|" : "");
    for (size_t i = 0; i < n; i++) {
        char dep[200];
        mtd_stmt_row_depends(&rows[i], dep, sizeof dep);
        mtd_buf_printf(o, "| %s: %s | %s | %s |", rows[i].category, rows[i].type,
                       rows[i].optional_only          ? "optional"
                       : rows[i].optional_items.len ? "required; some items optional"
                                                      : "required",
                       dep[0] ? dep : "none");
        if (p)
            mtd_buf_printf(o, " %s |", mtd_stmt_now_name(rows[i].now));
        mtd_buf_puts(o, "\n");
    }
    mtd_stmt_rows_free(rows, n);
}

/* Every setting of a tenant's policy (mtd_policy.c): what each value sends, and which
 * items it governs ("when", or -1 with the items named in "applies"). A setting with no
 * effect here does not change what a device sends; one missing from this table is
 * still listed, as not described, and test_statement fails on it. */
static const struct {
    const char *key;
    int when; /* mtd_stmt_when, or -1 */
    int events;
    const char *effect; /* NULL: does not change what is sent */
    const char *applies;
} settings[] = {
    {"report_urls", MTD_WHEN_URL, 0,
     "`full`: the full address of a blocked page, which can hold search terms, names or "
     "account numbers; `domain`: only its scheme and site (`https://example.com/`); `none`: "
     "no address. The blocked page's domain is sent in every case.", NULL},
    {"report_connections", MTD_WHEN_CONNECTIONS, 1,
     "`off`: no record of background connections or DNS lookups; `threats`: only those of "
     "known threats; `all`: every one, that is the servers and sites this device contacts, "
     "close to a browsing history.", NULL},
    {"network_reporting", MTD_WHEN_CONNECTIONS, 1,
     "`false` turns connection and DNS records off, whatever `report_connections` says.", NULL},
    {"web_protection", -1, 0,
     "`false`: pages and DNS lookups are no longer checked on the device, and no blocked page "
     "is reported.", "Blocked web pages (`web.detection`)"},
    {"web_block", -1, 0,
     "sites your organization blocks besides the threat feeds: a visit to one is blocked and "
     "reported like a threat, so your organization learns which device tried to reach a site "
     "it listed.", "Blocked web pages (`web.detection`)"},
    {"web_allow", -1, 0, "sites never blocked, so never reported.", "Blocked web pages (`web.detection`)"},
    {"tls_canaries", -1, 0,
     "host names whose TLS certificates must verify: when this device connects to one, the "
     "agent checks the certificate itself, and a certificate that does not verify is "
     "reported as a suspected interception with the name and the server's address.",
     "Threats found (`threat.detection`)"},
    {"report_app_details", MTD_WHEN_APP_DETAILS, 0,
     "`full`: an alert about a threatening app names the app and its SHA-256; `minimal`: it "
     "does not. Your installed apps are listed in the app inventory either way.", NULL},
    {"optional_data", MTD_WHEN_OPTIONAL, 1,
     "`true`: you may choose to send feedback, with diagnostics if you wish; `false`: "
     "optional data is never sent.", NULL},
    {"usage_privacy", MTD_WHEN_USAGE, 1,
     "`exact`: each action you take in the agent is counted and sent as it is; `ldp`: only "
     "one randomized report a day, from which your organization can estimate how many "
     "devices used each feature, but not what one device did (local differential privacy).",
     NULL},
    {"usage_epsilon", -1, 0,
     "how much one randomized report may reveal (0.1 to 10): the smaller, the more private.",
     "Agent actions, under local differential privacy (`usage.ldp`)"},
    {"retention_required_days", -1, 0,
     "how many days your organization keeps required data after it arrives; then it is deleted.",
     "all data of that kind"},
    {"retention_diagnostic_days", -1, 0, "the same for diagnostic data.", "all data of that kind"},
    {"retention_feedback_days", -1, 0, "the same for feedback.", "all data of that kind"},
    {"trusted_stores", -1, 0,
     "the app stores your organization trusts: an app installed from any other source is "
     "reported as a sideloaded app, with its package unless `report_app_details` is `minimal`.",
     "Threats found (`threat.detection`)"},
    {"app_scanning", -1, 0, NULL, NULL},
    {"dns_block_answer", -1, 0, NULL, NULL},
    {"security_patch_max_age_days", -1, 0, NULL, NULL},
    {"reenroll", -1, 0, NULL, NULL}, /* the collector's enrollment rule, nothing the device sends */
    {"spool_max_mb", -1, 0, NULL, NULL},
};
#define NSETTINGS (sizeof settings / sizeof settings[0])

/* A policy value as the table shows it: `domain`, `true`, `365`, `[...]`. */
static void md_value(mtd_buf *o, const json_t *v)
{
    char *val = json_is_string(v) ? strdup(json_string_value(v)) : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    mtd_buf_printf(o, "`%s`", val && val[0] ? val : "\"\"");
    free(val);
}

static void md_setting_row(mtd_buf *o, const char *key, const char *effect, const char *applies,
                           const json_t *v)
{
    mtd_buf_printf(o, "| `%s` | %s | %s | ", key, effect, applies);
    md_value(o, v);
    mtd_buf_puts(o, " |\n");
}

static void md_settings(mtd_buf *o, const mtd_policy *p)
{
    mtd_policy def;
    mtd_policy_default(&def);
    json_t *vals = mtd_policy_to_json(p ? p : &def);
    mtd_buf_printf(o, "\n## What your organization's settings change\n\nYour organization's "
                      "admins choose these (`mtdctl policy set`); the device applies them before "
                      "anything leaves it, and the collector refuses what they do not allow. "
                      "This page lists everything the settings could send.\n\n"
                      "| Setting | What each value sends | Applies to | %s |\n|---|---|---|---|\n",
                   p ? "Your organization now" : "Default");
    mtd_buf others;
    mtd_buf_init(&others, 0);
    for (size_t i = 0; i < NSETTINGS; i++) {
        if (!settings[i].effect) {
            mtd_buf_printf(&others, "%s`%s`", others.len ? ", " : "", settings[i].key);
            continue;
        }
        item_query q = {.when = settings[i].when, .events = settings[i].events};
        if (q.when >= 0)
            query(&q);
        md_setting_row(o, settings[i].key, settings[i].effect,
                       q.when >= 0 ? list_text(&q) : settings[i].applies,
                       json_object_get(vals, settings[i].key));
        if (q.when >= 0)
            mtd_buf_free(&q.list);
    }
    const char *key;
    json_t *v;
    json_object_foreach(vals, key, v) { /* a setting this page has not learnt yet: said so */
        size_t i = 0;
        while (i < NSETTINGS && strcmp(settings[i].key, key))
            i++;
        if (i == NSETTINGS)
            md_setting_row(o, key, "not described by this statement: ask your organization", "?", v);
    }
    if (others.len)
        mtd_buf_printf(o, "\nThese settings do not change what this device sends: %s.\n",
                       (const char *)others.data);
    mtd_buf_free(&others);
    json_decref(vals);
}

static void md_never(mtd_buf *o, const mtd_policy *p)
{
    mtd_buf_puts(o, "\n## What is never collected\n\n"
                    "- The content of the pages you visit, of your messages, files, photos, or "
                    "other apps' data.\n"
                    "- Your user name, device identifiers or directory IDs as such: only their "
                    "pseudonyms leave the device.\n"
                    "- Your phone's serial number, UDID, IMEI, ICCID or phone number, though an "
                    "iOS backup holds them: the agent never copies them out of it.\n"
                    "- Your location.\n");
    if (p && mtd_stmt_item_now(MTD_WHEN_CONNECTIONS, p) != MTD_NOW_SENT)
        mtd_buf_printf(o, "- While your organization keeps its current settings, a record of every "
                          "site and server you use: background connections: %s.\n",
                       mtd_stmt_now_text(MTD_WHEN_CONNECTIONS, p));
}

static void markdown(mtd_buf *o, const mtd_policy *p, const char *checks_md)
{
    mtd_buf_printf(o,
        "# openmtd privacy statement\n\n"
        "<!-- Generated from src/schema/mtd_schema_table.c by `mtd-agent privacy statement`."
        " Do not edit: a test fails when this file differs from the schema. -->\n\n"
        "openmtd protects this device from malicious apps and web threats. This page lists "
        "every item of data it can send to your organization: the product's code cannot "
        "send anything that is not listed here. %s\n",
        p ? "It also says what your organization's current settings send (**Now:**)."
          : "What is sent of some items depends on your organization's settings; "
            "`mtd-agent privacy statement --state DIR` shows them for this device.");
    md_short(o, p);
    md_glance(o, p);
    md_settings(o, p);
    md_never(o, p);
    mtd_buf_puts(o, "\n## Required data\n\nCollected from every enrolled device, except where "
                    "it says it depends on a setting: the service cannot protect the device "
                    "without it.\n");
    static const char *sections[] = {"App information", "Web page / network information",
                                     "Device and account information", "Product and service usage"};
    for (size_t i = 0; i < 4; i++) {
        md_section(o, MTD_CAT_REQUIRED, sections[i], p);
        if (i == 2)
            md_envelope(o, p);
    }
    mtd_buf_printf(o, "\n## Optional data\n\nSent only when you choose to, and only if your "
                      "organization allows optional data at all%s. You can revoke consent at any "
                      "time (`mtd-agent consent revoke`): queued optional data is deleted on the "
                      "device and your organization's copy is deleted.\n",
                   !p ? "" : p->optional_data ? " (it does now)" : " (it does not now)");
    md_section(o, MTD_CAT_DIAGNOSTIC, "Optional: diagnostic", p);
    md_section(o, MTD_CAT_FEEDBACK, "Optional: feedback", p);
    if (checks_md)
        mtd_buf_puts(o, checks_md);
    mtd_buf_puts(o, "\n## See for yourself, and ask\n\n"
                    "- `mtd-agent privacy ledger` shows every record that left this device, as sent.\n"
                    "- `mtd-agent privacy queued` shows what waits to be sent.\n"
                    "- Your organization can give you a copy of every record about you, or delete "
                    "them all: it finds them by your user name (`mtdctl user export`, "
                    "`mtdctl user delete`).\n");
}

int mtd_statement(mtd_stmt_format f, const mtd_policy *policy, mtd_buf *out)
{
    return mtd_statement_with_checks(f, policy, NULL, out);
}

int mtd_statement_with_checks(mtd_stmt_format f, const mtd_policy *policy, const char *checks_md, mtd_buf *out)
{
    switch (f) {
    case MTD_STMT_MD: markdown(out, policy, checks_md); break;
    case MTD_STMT_XCPRIVACY: mtd_stmt_xcprivacy(out, policy); break;
    case MTD_STMT_DATASAFETY: mtd_stmt_datasafety(out, policy); break;
    case MTD_STMT_SCHEMA: mtd_stmt_schema_json(out); break;
    }
    return 0;
}
