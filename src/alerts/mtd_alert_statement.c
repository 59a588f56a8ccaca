/* mtd_alert_statement: the part of a tenant's privacy statement that names where its
 * alerts go. Each configured destination by its kind and host (never its path, secret
 * or token: the statement is for the people whose devices report), and what it gets:
 * an alert carries the detection's declared fields as the policy lets reports show
 * them (mtd_alert_derive.c), a risk push the device's pseudonym and risk level. */
#include "alerts/mtd_alert_int.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"

#include <stdio.h>
#include <string.h>

/* The host of a destination: of an http(s) URL, or of HOST:PORT ([v6]:PORT). */
static void dest_host(const char *target, char *out, size_t len)
{
    const char *h = strstr(target, "://");
    h = h ? h + 3 : target;
    size_t n = *h == '[' ? strcspn(h, "]") + 1 : strcspn(h, ":/?#");
    snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), h);
    /* a name or an address, nothing that could be Markdown */
    for (char *c = out; *c; c++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]", *c))
            *c = '?';
}

static void dest_line(mtd_buf *o, const char *kind, const char *host, int tls, const mtd_policy *p)
{
    const char *app = p->report_app_details == MTD_APPDET_MINIMAL ? "" : ", the app's package and digest";
    if (!strcmp(kind, "risk-push")) {
        mtd_buf_printf(o, "- **Risk push** to `%s`: this device's pseudonym and its risk level (none, low, medium,"
                          " high) each time it changes.\n", host);
        return;
    }
    const char *what = !strcmp(kind, "webhook")      ? "Webhook"
                       : !strcmp(kind, "syslog")     ? (tls ? "Syslog over TLS" : "Syslog over TCP (not encrypted)")
                       : !strcmp(kind, "splunk-hec") ? "Splunk HTTP Event Collector"
                                                     : "Elasticsearch";
    mtd_buf_printf(o, "- **%s** at `%s`: each alert: the threat's name, category, severity, source, evidence,"
                      " status and ID%s, this device's pseudonym and the detection's times.\n", what, host, app);
}

int mtd_alerts_statement_md(const char *data_dir, const char *tenant_id, const mtd_policy *p, mtd_buf *out)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    /* a tenant with no alert file has no destination: no file is made for a read */
    if (!mtd_alert_db_exists(data_dir, tenant_id))
        return 0;
    int r = mtd_alert_db_open(data_dir, tenant_id, &db);
    if (r)
        return r;
    if (sqlite3_prepare_v2(db, "SELECT kind, target, tls FROM integrations ORDER BY id", -1, &st, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return MTD_EIO;
    }
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        char host[300];
        if (!n++)
            mtd_buf_puts(out, "\n## Where your organization sends alerts\n\nBesides its own openmtd service, your"
                              " organization has these systems receive threat alerts about this device. They"
                              " get nothing else: never your user name, and only what the settings above let"
                              " reports show.\n\n");
        dest_host((const char *)sqlite3_column_text(st, 1), host, sizeof host);
        dest_line(out, (const char *)sqlite3_column_text(st, 0), host, sqlite3_column_int(st, 2), p);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return 0;
}
