/* mtd_diag: gather the diagnostic bundle on a Linux host. */
#include "collect/mtd_diag.h"
#include "collect/mtd_host.h"
#include "scan/mtd_appscan.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* Browsers we know by their executable; on Android the package list plays this part. */
static json_t *browsers(void)
{
    static const char *known[] = {"chromium", "google-chrome", "firefox", "firefox-esr",
                                  "microsoft-edge", "brave-browser", "opera", "epiphany"};
    json_t *a = json_array();
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        char path[64];
        snprintf(path, sizeof path, "/usr/bin/%s", known[i]);
        if (access(path, X_OK) == 0)
            json_array_append_new(a, json_string(known[i]));
    }
    return a;
}

static json_t *features(const mtd_policy *p)
{
    json_t *a = json_array();
    if (p->web_protection) json_array_append_new(a, json_string("web_protection"));
    if (p->app_scanning) json_array_append_new(a, json_string("app_scanning"));
    if (p->network_reporting) json_array_append_new(a, json_string("network_reporting"));
    char s[64];
    snprintf(s, sizeof s, "report_urls=%s", mtd_url_policy_name(p->report_urls));
    json_array_append_new(a, json_string(s));
    snprintf(s, sizeof s, "report_connections=%s", mtd_conn_policy_name(p->report_connections));
    json_array_append_new(a, json_string(s));
    return a;
}

json_t *mtd_diag_bundle(const mtd_policy *p, const char *agent_version, const char *ledger_path,
                        const char *feedback_id)
{
    json_t *info = mtd_host_device_info(&mtd_host_default_roots);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    struct stat st;
    long long sent = stat(ledger_path, &st) == 0 ? (long long)st.st_size : 0;
    char build[128];
    snprintf(build, sizeof build, "mtd-agent %s (built %s)", agent_version, __DATE__);
    json_t *o = json_pack("{s:s,s:I,s:I,s:s,s:o,s:o,s:o,s:s,s:s}", "build_info", build,
                          "cpu_usage_ms",
                          (json_int_t)(ru.ru_utime.tv_sec * 1000 + ru.ru_utime.tv_usec / 1000 +
                                       ru.ru_stime.tv_sec * 1000 + ru.ru_stime.tv_usec / 1000),
                          "net_tx_bytes", (json_int_t)sent, "scan_status", "no app scan has run",
                          "features", features(p), "browsers", browsers(),
                          "agent_permissions", json_array(), "upgrade_status", "unchanged",
                          "feedback_id", feedback_id);
    /* the app scanner's last round (scan.json, in the state directory beside the ledger) */
    char dir[1200], status[64];
    snprintf(dir, sizeof dir, "%s", ledger_path);
    char *slash = strrchr(dir, '/');
    int64_t ms;
    if (slash && (*slash = 0, mtd_appscan_status(dir, status, sizeof status, &ms)) == 0) {
        json_object_set_new(o, "scan_status", json_string(status));
        json_object_set_new(o, "scan_ms", json_integer(ms));
    }
    static const char *copy[] = {"os_version", "model", "cpu"};
    for (size_t i = 0; i < sizeof copy / sizeof copy[0]; i++) {
        json_t *v = json_object_get(info, copy[i]);
        if (v)
            json_object_set(o, copy[i], v);
    }
    json_decref(info);
    return o;
}
