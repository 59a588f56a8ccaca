/* mtdctl: the admin's and operator's command line for the collector API. Every
 * command is one HTTP request; --json prints the API's answer as it came, otherwise a
 * table for people. Errors are one line on stderr and a non-zero exit. */
#include "common/mtd_args.h"
#include "common/mtd_err.h"
#include "common/mtd_file.h"
#include "common/mtd_usage.h"
#include "common/mtd_util.h"
#include "ctl/mtd_ctl.h"
#include "ctl/mtd_table.h"
#include "uplink/mtd_http.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>

/* Every command, as `mtdctl --help` lists them and `mtdctl COMMAND --help` shows one;
 * docs/man/mtdctl.1 and README.md follow it (test_docs compares them). */
#define OPERATOR "Operator (operator token, from the collector's DATA/operator.token):"
#define ADMIN "Tenant admin (admin, analyst or privacy-officer token):"
static const mtd_usage_cmd commands[] = {
    {OPERATOR, "tenant create", "tenant create NAME [--org ID]", "prints tenant_id, enroll_token, admin_token"},
    {OPERATOR, "tenant list", "tenant list", "every tenant: ID, name, organization, created"},
    {OPERATOR, "tenant delete", "tenant delete TENANT_ID", "deletes the tenant's key and store"},
    {ADMIN, "devices", "devices [--group G]", "enrolled devices: OS, model, last seen, risk"},
    {ADMIN, "apps", "apps [--device D] [--group G] [--package P] [--permission P] [--sideloaded]",
     "current apps per device and across the fleet"},
    {ADMIN, "apps history", "apps history [--device D]",
     "apps installed, updated and removed, with the versions, as the agents saw it"},
    {ADMIN, "threats", "threats [--status active|resolved] [--device D] [--group G]",
     "threats found on the devices, active or resolved"},
    {ADMIN, "risk", "risk DEVICE_ID", "none, low, medium or high, from active threats\n"
                                    "that no suppression rule matches"},
    {ADMIN, "retire", "retire DEVICE_ID", "revoke a lost device's credentials (admin)"},
    {ADMIN, "connections", "connections [--device D]", "blocked web pages, connections, DNS lookups"},
    {ADMIN, "usage", "usage [--events [--device D]]",
     "counts per agent action (exact, and fleet estimates with 95% intervals\n"
     "under usage_privacy=ldp); --events: agent versions, actions, memory use"},
    {ADMIN, "crashes", "crashes [--device D]", "crash reports grouped by signature, with counts"},
    {ADMIN, "diagnostics", "diagnostics [--device D]", "diagnostic bundles sent with feedback"},
    {ADMIN, "feedback", "feedback [--device D]", "feedback the users sent"},
    {ADMIN, "policy get", "policy get [--group G]", "the tenant's privacy policy, or a group's"},
    {ADMIN, "policy set", "policy set [--group G] FILE|KEY=VALUE...",
     "(admin) a JSON object of policy keys, or keys given\n"
     "one by one; with --group, the group's overrides of the\n"
     "tenant's (KEY=null removes one)"},
    {ADMIN, "group list", "group list", "device groups: devices, policy overrides"},
    {ADMIN, "device group", "device group DEVICE_ID GROUP", "put a device in a group (admin)"},
    {ADMIN, "device ungroup", "device ungroup DEVICE_ID", "take a device out of its group (admin)"},
    {ADMIN, "audit", "audit", "the tenant's audit log"},
    {ADMIN, "statement", "statement [--format md|xcprivacy|datasafety|schema]",
     "the tenant's privacy statement for its policy now; in\n"
     "Markdown it names each alert destination (kind, host)"},
    {ADMIN, "user export", "user export UPN", "everything linked to that user, as JSON"},
    {ADMIN, "user delete", "user delete UPN", "delete it from every file of the tenant"},
    {ADMIN, "export", "export [--ocsf]", "every stored event, JSON lines (--ocsf: OCSF)"},
    {ADMIN, "token create", "token create ROLE [--label L] [--expires DAYS] [--uses N] [--group G]",
     "ROLE: admin, analyst, privacy, enroll (admin); an\n"
     "enroll token may be limited to N enrollments, and put\n"
     "the devices it enrolls in group G"},
    {ADMIN, "token list", "token list", "the tenant's tokens (admin)"},
    {ADMIN, "token revoke", "token revoke ID [--unused-credentials]",
     "(admin) with the option, also the credentials the\n"
     "token issued that never sent a batch"},
    {ADMIN, "credential list", "credential list [--device D]", "device credentials, used or not (admin)"},
    {ADMIN, "credential revoke", "credential revoke ID", "revoke one; its device may enroll again (admin)"},
    {ADMIN, "credential approve", "credential approve DEVICE_ID", "let a retired device enroll once more (admin)"},
    {ADMIN, "feed push", "feed push NAME FILE",
     "distribute a file to every device (admin): web (the\n"
     "reputation database), indicators, yara, vulns"},
    {ADMIN, "feed list", "feed list", "the files distributed to the devices"},
    {ADMIN, "feed remove", "feed remove NAME", "(admin)"},
    {ADMIN, "alerts", "alerts [--state S] [--severity S] [--device D] [--group G]",
     "the alert queue, newest first; S: new, acknowledged,\n"
     "resolved, dismissed; severity info ... critical"},
    {ADMIN, "alert show", "alert show ID", "one alert with its notes"},
    {ADMIN, "alert ack", "alert ack ID [--note TEXT]", "acknowledge a new alert (admin or analyst)"},
    {ADMIN, "alert assign", "alert assign ID WHO [--note TEXT]", "assign it to an admin or analyst"},
    {ADMIN, "alert note", "alert note ID TEXT", "add a note"},
    {ADMIN, "alert resolve", "alert resolve ID [--note TEXT]", "close it: the threat was dealt with"},
    {ADMIN, "alert dismiss", "alert dismiss ID [--note TEXT]", "close it: a false positive"},
    {ADMIN, "suppress add", "suppress add KIND VALUE [--device D | --group G] [--expires N[s|m|h|d]] [--reason TEXT]",
     "(admin) KIND: package, signer, domain, check; keeps\n"
     "matching findings out of the queue and out of every\n"
     "risk (reports, console, risk pull and push), for the\n"
     "tenant, one device or one group's devices, until it\n"
     "expires (N alone: days)"},
    {ADMIN, "suppress list", "suppress list", "the suppression rules, with their hits"},
    {ADMIN, "suppress remove", "suppress remove ID", "(admin)"},
    {ADMIN, "integration add", "integration add KIND TARGET [--secret S] [--batch-max N] [--hec-token T] [--tls] [--dest-ca PEM] [--index I]",
     "(admin) webhook URL --secret S [--batch-max N] (N > 1:\n"
     "a POST carries up to N events as {\"events\": [...]}),\n"
     "syslog HOST:PORT [--tls], splunk-hec URL --hec-token T,\n"
     "elastic URL [--index I], risk-push URL --secret S"},
    {ADMIN, "integration list", "integration list", "destinations: batch, sent, pending, dead letters, last error\n(admin)"},
    {ADMIN, "integration test", "integration test ID", "send a test alert now (admin)"},
    {ADMIN, "integration remove", "integration remove ID", "(admin) its pending deliveries go with it"},
    {ADMIN, "oidc set", "oidc set --issuer URL --client-id ID [--client-secret S] --role-claim CLAIM --role-map VALUE=ROLE[,VALUE=ROLE...] [--redirect-uri URL] [--scope SCOPES]",
     "(admin) sign-in through an OpenID Connect provider:\n"
     "an ID-token claim's values mapped to admin, analyst,\n"
     "privacy; the provider registers the collector's\n"
     "/v1/auth/oidc/callback (or URL) for client ID; CLAIM\n"
     "may be a path (realm_access.roles); SCOPES default:\n"
     "\"openid email profile\""},
    {ADMIN, "oidc show", "oidc show", "the tenant's sign-in configuration (admin)"},
    {ADMIN, "oidc remove", "oidc remove", "(admin) no more sign-ins; its sessions revoked"},
    {ADMIN, "risk-changes", "risk-changes [--since SEQ]", "devices whose risk changed after SEQ (what an MDM polls)"},
};

static const mtd_usage usage = {
    .prog = "mtdctl",
    .head = "usage: mtdctl --server URL --token TOKEN [--ca-file PEM] [--json] COMMAND\n"
            "       mtdctl COMMAND --help    that command's usage\n",
    .common = "[OPTIONS] ",
    .foot = "OPTIONS: --server URL --token TOKEN [--ca-file PEM] [--json]; --server and\n"
            "--token may also come from MTD_SERVER and MTD_TOKEN, --ca-file from MTD_CA.\n"
            "--server is an http:// or https:// URL. --json prints the\n"
            "collector's answer as it came; without it, a table.\n"
            "\n"
            "The lists (devices, apps, threats, connections ... feedback, audit) come a page\n"
            "at a time: the first 1,000 rows, or --limit N (at most 10,000) from --offset K;\n"
            "--all fetches every page, following each page's next_cursor.\n",
    .cmds = commands,
    .ncmds = sizeof commands / sizeof commands[0],
};

typedef mtd_ctl ctl;

/* One line on stderr, escaped: the collector's answer may quote what a device sent. */
static int fail(const char *fmt, ...)
{
    char raw[2048], line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    mtd_escape_ctl(raw, strlen(raw), line, sizeof line);
    fprintf(stderr, "mtdctl: %s\n", line);
    return 1;
}

/* One request; *out gets the JSON answer of a 2xx (or, with text, the body goes to
 * stdout as it arrives, an export of any size), else an error line is printed. The
 * body is len bytes of type ctype. */
static int request_bytes(ctl *c, const char *method, const char *path, const char *ctype,
                         const void *body, size_t len, json_t **out, int text)
{
    char url[1200], why[512], ct[128];
    snprintf(url, sizeof url, "%s%s", c->server, path);
    snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
    mtd_http_opts o = {.ca_file = c->ca, .bearer = c->token, .timeout_s = text ? 86400 : 300,
                       .sink = text ? stdout : NULL};
    const char *hdrs[] = {ct, NULL};
    mtd_http_resp r;
    if (mtd_http_request(&o, method, url, hdrs, body, len, &r, why, sizeof why))
        return fail("cannot reach the collector: %s", why);
    if (r.status < 200 || r.status > 299) {
        mtd_http_error_text(&r, why, sizeof why);
        mtd_http_resp_free(&r);
        return fail("%s %s: %s", method, path, why);
    }
    if (text) {
        mtd_http_resp_free(&r);
        return fflush(stdout) == 0 ? 0 : fail("%s %s: cannot write the answer to standard output", method, path);
    }
    json_error_t e;
    *out = json_loadb((const char *)r.body.data, r.body.len, 0, &e);
    mtd_http_resp_free(&r);
    return *out ? 0 : fail("%s %s: the answer is not JSON (%s)", method, path, e.text);
}

static int request(ctl *c, const char *method, const char *path, const char *body, json_t **out,
                   int text)
{
    return request_bytes(c, method, path, "application/json", body, body ? strlen(body) : 0, out, text);
}

static int call(ctl *c, const char *method, const char *path, const char *body, json_t **out)
{
    return request(c, method, path, body, out, 0);
}

static int print(ctl *c, json_t *j, const char *list_key, const mtd_column *cols, size_t n)
{
    if (c->json || !cols) {
        char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        puts(s ? s : "null");
        free(s);
    } else {
        mtd_table_print(stdout, list_key ? json_object_get(j, list_key) : j, cols, n);
    }
    json_decref(j);
    return 0;
}

static int cmd_tenant(ctl *c, int np, const char **pos)
{
    json_t *j;
    if (np >= 2 && !strcmp(pos[1], "create")) {
        if (np != 3)
            return fail("tenant create needs a NAME");
        json_t *b = json_pack("{s:s}", "name", pos[2]);
        if (mtd_args_get(&c->a, "--org"))
            json_object_set_new(b, "org_id", json_string(mtd_args_get(&c->a, "--org")));
        char *body = json_dumps(b, JSON_COMPACT);
        json_decref(b);
        int r = call(c, "POST", "/v1/operator/tenants", body, &j);
        free(body);
        if (r)
            return r;
        if (!c->json) {
            printf("tenant_id     %s\nenroll_token  %s\nadmin_token   %s\n",
                   json_string_value(json_object_get(j, "tenant_id")),
                   json_string_value(json_object_get(j, "enroll_token")),
                   json_string_value(json_object_get(j, "admin_token")));
            json_decref(j);
            return 0;
        }
        return print(c, j, NULL, NULL, 0);
    }
    if (np == 2 && !strcmp(pos[1], "list")) {
        static const mtd_column cols[] = {{"tenant_id", "TENANT", 0, 0, 1}, {"name", "NAME", 40, 0, 0},
                                          {"created_at", "CREATED", 0, 1, 1}, {"org_id", "ORG", 40, 0, 0}};
        return call(c, "GET", "/v1/operator/tenants", NULL, &j) ? 1 : print(c, j, "tenants", cols, 4);
    }
    if (np == 3 && !strcmp(pos[1], "delete")) {
        char path[200];
        snprintf(path, sizeof path, "/v1/operator/tenants/%.64s", pos[2]);
        if (call(c, "DELETE", path, NULL, &j))
            return 1;
        if (!c->json) {
            printf("tenant %s deleted (its key and store are gone)\n", pos[2]);
            json_decref(j);
            return 0;
        }
        return print(c, j, NULL, NULL, 0);
    }
    return fail("tenant needs create NAME, list or delete TENANT_ID");
}

/* policy get | set FILE | set KEY=VALUE...: the tenant's, or with --group G the
 * group's overrides (get shows them with the policy they make). */
static int cmd_policy(ctl *c, int np, const char **pos)
{
    json_t *j;
    const char *grp = mtd_args_get(&c->a, "--group");
    char path[200] = "/v1/admin/policy";
    if (grp)
        snprintf(path, sizeof path, "/v1/admin/groups/%.64s/policy", grp);
    if (np == 2 && !strcmp(pos[1], "get"))
        return call(c, "GET", path, NULL, &j) ? 1 : print(c, j, NULL, NULL, 0);
    if (np < 3 || strcmp(pos[1], "set"))
        return fail("policy needs get or set FILE|KEY=VALUE...");
    char *body;
    json_t *keys = strchr(pos[2], '=') ? mtd_ctl_policy_keys(np - 2, pos + 2) : NULL;
    if (strchr(pos[2], '=') && !keys)
        return fail("policy set: give a FILE or KEY=VALUE words, each with its '='");
    if (keys) {
        body = json_dumps(keys, JSON_COMPACT);
        json_decref(keys);
    } else {
        uint8_t *data;
        size_t len;
        if (np != 3)
            return fail("policy set takes one FILE");
        int r = mtd_file_read(pos[2], 1 << 20, &data, &len);
        if (r)
            return fail("policy set %s: %s", pos[2], mtd_strerror(r));
        json_error_t e;
        json_t *chk = json_loadb((char *)data, len, 0, &e);
        if (!chk) {
            free(data);
            return fail("policy set %s: not JSON: %s at line %d", pos[2], e.text, e.line);
        }
        json_decref(chk);
        body = (char *)data; /* NUL-terminated by mtd_file_read */
    }
    int r = call(c, "PUT", path, body, &j);
    free(body);
    return r ? r : print(c, j, NULL, NULL, 0);
}
static int cmd_token(ctl *c, int np, const char **pos)
{
    json_t *j;
    if (np == 3 && !strcmp(pos[1], "create")) {
        long long days, uses;
        char why[200];
        if (mtd_args_int(&c->a, "--expires", 1, 365, 0, &days, why, sizeof why) != 0 ||
            mtd_args_int(&c->a, "--uses", 1, 1000000, 0, &uses, why, sizeof why) != 0)
            return fail("%s", why);
        json_t *b = json_pack("{s:s,s:s}", "role", pos[2], "label", mtd_args_get(&c->a, "--label") ?: "");
        if (days)
            json_object_set_new(b, "expires_in", json_integer(days * 86400));
        if (uses)
            json_object_set_new(b, "max_uses", json_integer(uses));
        if (mtd_args_get(&c->a, "--group"))
            json_object_set_new(b, "group", json_string(mtd_args_get(&c->a, "--group")));
        char *body = json_dumps(b, JSON_COMPACT);
        json_decref(b);
        int r = call(c, "POST", "/v1/admin/tokens", body, &j);
        free(body);
        return r ? r : print(c, j, NULL, NULL, 0);
    }
    if (np == 2 && !strcmp(pos[1], "list")) {
        static const mtd_column cols[] = {{"id", "ID", 0, 0, 1}, {"role", "ROLE", 10, 0, 0},
                                          {"created_at", "CREATED", 0, 1, 1}, {"revoked_at", "REVOKED", 0, 1, 0},
                                          {"label", "LABEL", 40, 0, 0}};
        return call(c, "GET", "/v1/admin/tokens", NULL, &j) ? 1 : print(c, j, "tokens", cols, 5);
    }
    if (np == 3 && !strcmp(pos[1], "revoke")) {
        char path[200];
        snprintf(path, sizeof path, "/v1/admin/tokens/%.40s%s", pos[2],
                 mtd_args_has(&c->a, "--unused-credentials") ? "?credentials=unused" : "");
        return call(c, "DELETE", path, NULL, &j) ? 1 : print(c, j, NULL, NULL, 0);
    }
    return fail("token needs create ROLE, list or revoke ID");
}

static void add_query(ctl *c, char *q, size_t len, const char *opt, const char *key);

/* credential list [--device D] | revoke ID | approve DEVICE_ID: the device credentials,
 * each bound to one device at enrollment. */
static int cmd_credential(ctl *c, int np, const char **pos)
{
    json_t *j;
    char path[300];
    if (np == 2 && !strcmp(pos[1], "list")) {
        static const mtd_column cols[] = {{"id", "ID", 12, 0, 1}, {"device_id", "DEVICE", 25, 0, 1},
                                          {"token_id", "TOKEN", 12, 0, 0}, {"created_at", "CREATED", 0, 1, 0},
                                          {"first_used", "FIRST USED", 0, 1, 0}, {"revoked_at", "REVOKED", 0, 1, 0},
                                          {"revoked_reason", "WHY", 13, 0, 0}};
        snprintf(path, sizeof path, "/v1/admin/credentials");
        add_query(c, path, sizeof path, "--device", "device");
        return call(c, "GET", path, NULL, &j) ? 1 : print(c, j, "credentials", cols, 7);
    }
    if (np == 3 && !strcmp(pos[1], "revoke")) {
        snprintf(path, sizeof path, "/v1/admin/credentials/%.40s", pos[2]);
        if (call(c, "DELETE", path, NULL, &j))
            return 1;
        if (c->json)
            return print(c, j, NULL, NULL, 0);
        printf("credential %s revoked; device %s may enroll again\n", pos[2],
               json_string_value(json_object_get(j, "device_id")) ?: "?");
        json_decref(j);
        return 0;
    }
    if (np == 3 && !strcmp(pos[1], "approve")) {
        json_t *b = json_pack("{s:s}", "device_id", pos[2]);
        char *body = json_dumps(b, JSON_COMPACT);
        json_decref(b);
        int r = call(c, "POST", "/v1/admin/credentials/approve", body, &j);
        free(body);
        if (r || c->json)
            return r ? r : print(c, j, NULL, NULL, 0);
        printf("device %s may enroll once more within 7 days\n", pos[2]);
        json_decref(j);
        return 0;
    }
    return fail("credential needs list, revoke ID or approve DEVICE_ID");
}

static int cmd_user(ctl *c, int np, const char **pos)
{
    if (np != 3 || (strcmp(pos[1], "export") && strcmp(pos[1], "delete")))
        return fail("user needs export UPN or delete UPN");
    int del = !strcmp(pos[1], "delete");
    json_t *b = json_pack("{s:s}", "upn", pos[2]), *j;
    char *body = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    int r = call(c, "POST", del ? "/v1/admin/users/delete" : "/v1/admin/users/export", body, &j);
    free(body);
    if (r)
        return r;
    if (del && !c->json) {
        long long n = (long long)json_integer_value(json_object_get(j, "records"));
        printf("user %s deleted: %lld event %s, with their devices and credentials\n", pos[2], n,
               mtd_plural(n, "record", "records"));
        json_decref(j);
        return 0;
    }
    return print(c, j, NULL, NULL, 0);
}

/* Appends "?key=value" or "&key=value", the value percent-encoded. */
static void add_param(char *q, size_t len, const char *key, const char *v)
{
    size_t n = strlen(q);
    n += (size_t)snprintf(q + n, len - n, "%s%s=", strchr(q, '?') ? "&" : "?", key);
    for (; *v && n + 4 < len; v++) {
        unsigned char ch = (unsigned char)*v;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            strchr("-._~", ch))
            q[n++] = (char)ch;
        else
            n += (size_t)snprintf(q + n, len - n, "%%%02X", ch);
    }
    q[n] = 0;
}

/* add_param with the value of an option, when it was given. */
static void add_query(ctl *c, char *q, size_t len, const char *opt, const char *key)
{
    const char *v = mtd_args_get(&c->a, opt);
    if (v)
        add_param(q, len, key, v);
}

/* GET a list report: the page that --limit/--offset name (the collector's default:
 * the first 1,000 rows), or with --all every page from --offset on (of --limit rows,
 * 10,000 unless given), merged. --all follows each page's next_cursor (the collector
 * then starts the next page where this one ended, without counting the rows before
 * it), and next_offset only where a page has no cursor. */
static int get_list(ctl *c, const char *path, json_t **out)
{
    char p[2400], cursor[2048] = "";
    if (!mtd_args_has(&c->a, "--all")) {
        snprintf(p, sizeof p, "%s", path);
        add_query(c, p, sizeof p, "--limit", "limit");
        add_query(c, p, sizeof p, "--offset", "offset");
        return call(c, "GET", p, NULL, out);
    }
    json_t *all = json_object();
    long long off = -1; /* the first page: from --offset, if given */
    for (;;) {
        json_t *j;
        char num[24];
        snprintf(p, sizeof p, "%s", path);
        add_param(p, sizeof p, "limit", mtd_args_get(&c->a, "--limit") ?: "10000");
        if (cursor[0]) {
            add_param(p, sizeof p, "cursor", cursor);
        } else if (off < 0) {
            add_query(c, p, sizeof p, "--offset", "offset");
        } else {
            snprintf(num, sizeof num, "%lld", off);
            add_param(p, sizeof p, "offset", num);
        }
        if (call(c, "GET", p, NULL, &j)) {
            json_decref(all);
            return 1;
        }
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) {
            json_t *acc = json_object_get(all, k);
            if (!strcmp(k, "more")) /* of this page, not of the whole */
                continue;
            if (json_is_array(v) && json_is_array(acc))
                json_array_extend(acc, v);
            else if (json_is_array(v))
                json_object_set(all, k, v);
        }
        json_t *next = json_object_get(j, "next_offset"), *cur = json_object_get(j, "next_cursor");
        off = json_is_integer(next) ? json_integer_value(next) : -1;
        snprintf(cursor, sizeof cursor, "%s", json_is_string(cur) ? json_string_value(cur) : "");
        json_decref(j);
        if (off < 0)
            break;
    }
    *out = all;
    return 0;
}

/* A list report as print() shows it; under a table, where the next page starts when
 * more rows follow. */
static int print_list(ctl *c, json_t *j, const char *list_key, const mtd_column *cols, size_t n)
{
    json_t *next = json_incref(json_object_get(j, "next_offset"));
    if (!c->json && !list_key) { /* event lists: a table per type */
        json_t *more = json_incref(json_object_get(j, "more"));
        json_object_del(j, "next_offset");
        json_object_del(j, "next_cursor");
        json_object_del(j, "more");
        mtd_table_print_events(stdout, j, more);
        json_decref(more);
        json_decref(j);
    } else {
        print(c, j, list_key, cols, n);
    }
    if (!c->json && json_is_integer(next))
        printf("(more rows follow: --offset %lld for the next page, or --all)\n",
               (long long)json_integer_value(next));
    json_decref(next);
    return 0;
}

/* Columns in the order they are given up when the table does not fit (mtd_table). */
static const mtd_column threat_cols[] = {
    {"device_id", "DEVICE", 0, 0, 1}, {"severity", "SEVERITY", 8, 0, 0}, {"threat_name", "THREAT", 36, 0, 0},
    {"status", "STATUS", 8, 0, 0}, {"last_seen", "LAST SEEN", 0, 1, 1}, {"category", "CATEGORY", 12, 0, 0},
    {"source", "SOURCE", 7, 0, 0}, {"package", "APP", 32, 0, 0}};
/* The same for one device's risk, whose line above names the device. */
static const mtd_column risk_cols[] = {
    {"severity", "SEVERITY", 8, 0, 0}, {"threat_name", "THREAT", 36, 0, 0}, {"category", "CATEGORY", 12, 0, 0},
    {"status", "STATUS", 8, 0, 0}, {"last_seen", "LAST SEEN", 0, 1, 1}, {"package", "APP", 32, 0, 0},
    {"source", "SOURCE", 7, 0, 0}};

static int cmd_report(ctl *c, const char *name)
{
    static const mtd_column app_cols[] = {
        {"device_id", "DEVICE", 0, 0, 1}, {"package", "PACKAGE", 32, 0, 0}, {"version_name", "VERSION", 16, 0, 0},
        {"is_system", "SYSTEM", 6, 0, 0}, {"install_source", "SOURCE", 24, 0, 0},
        {"last_update_time", "UPDATED", 0, 1, 0}};
    char path[1024];
    snprintf(path, sizeof path, "/v1/admin/%s", name);
    add_query(c, path, sizeof path, "--device", "device");
    add_query(c, path, sizeof path, "--group", "group");
    add_query(c, path, sizeof path, "--package", "package");
    add_query(c, path, sizeof path, "--permission", "permission");
    add_query(c, path, sizeof path, "--status", "status");
    if (mtd_args_has(&c->a, "--sideloaded"))
        add_param(path, sizeof path, "sideloaded", "1");
    json_t *j;
    if (get_list(c, path, &j))
        return 1;
    if (!strcmp(name, "apps"))
        return print_list(c, j, "apps", app_cols, 6);
    if (!strcmp(name, "threats"))
        return print_list(c, j, "threats", threat_cols, 8);
    if (!strcmp(name, "crashes")) {
        static const mtd_column crash_cols[] = {
            {"count", "COUNT", 6, 0, 0}, {"devices", "DEVICES", 7, 0, 0}, {"signal", "SIGNAL", 8, 0, 0},
            {"version", "VERSION", 10, 0, 0}, {"top_frames", "TOP FRAMES", 70, 0, 0},
            {"last_seen", "LAST SEEN", 0, 1, 1}};
        return print_list(c, j, "crashes", crash_cols, 6);
    }
    return print_list(c, j, NULL, NULL, 0);
}

/* feed push NAME FILE | list | remove NAME: the tenant's distributed feeds. */
static int cmd_feed(ctl *c, int np, const char **pos)
{
    json_t *j;
    char path[200];
    if (np == 2 && !strcmp(pos[1], "list")) {
        static const mtd_column cols[] = {{"name", "NAME", 20, 0, 1}, {"updated", "UPDATED", 0, 1, 1},
                                          {"size", "SIZE", 12, 0, 0}, {"sha256", "SHA-256", 64, 0, 0}};
        return call(c, "GET", "/v1/admin/feeds", NULL, &j) ? 1 : print(c, j, "feeds", cols, 4);
    }
    if (np == 3 && !strcmp(pos[1], "remove")) {
        snprintf(path, sizeof path, "/v1/admin/feeds/%.40s", pos[2]);
        if (call(c, "DELETE", path, NULL, &j))
            return 1;
        if (c->json)
            return print(c, j, NULL, NULL, 0);
        printf("feed %s removed; devices drop it at their next round\n", pos[2]);
        json_decref(j);
        return 0;
    }
    if (np != 4 || strcmp(pos[1], "push"))
        return fail("feed needs push NAME FILE, list or remove NAME");
    uint8_t *data;
    size_t len;
    int r = mtd_file_read(pos[3], 1u << 30, &data, &len);
    if (r)
        return fail("feed push %s: %s", pos[3], mtd_strerror(r));
    snprintf(path, sizeof path, "/v1/admin/feeds/%.40s", pos[2]);
    r = request_bytes(c, "PUT", path, "application/octet-stream", data, len, &j, 0);
    free(data);
    if (r)
        return r;
    if (c->json)
        return print(c, j, NULL, NULL, 0);
    printf("feed %s: %lld bytes, sha256 %s\n", pos[2], (long long)json_integer_value(json_object_get(j, "size")),
           json_string_value(json_object_get(j, "sha256")) ?: "?");
    json_decref(j);
    return 0;
}

/* Counts per action: the exact ones, then the LDP estimates per day. */
static int cmd_usage(ctl *c)
{
    static const mtd_column acols[] = {{"action", "ACTION", 20, 0, 0}, {"count", "COUNT", 10, 0, 0},
                                       {"devices", "DEVICES", 8, 0, 0}};
    static const mtd_column lcols[] = {
        {"period", "DAY", 10, 0, 0}, {"action", "ACTION", 20, 0, 0}, {"reports", "REPORTS", 8, 0, 0},
        {"estimate", "DEVICES (ESTIMATE)", 18, 0, 0}, {"ci_low", "95% FROM", 9, 0, 0}, {"ci_high", "TO", 9, 0, 0}};
    json_t *j;
    if (call(c, "GET", "/v1/admin/usage/actions", NULL, &j))
        return 1;
    if (c->json)
        return print(c, j, NULL, NULL, 0);
    printf("Actions (exact counts):\n");
    mtd_table_print(stdout, json_object_get(j, "actions"), acols, 3);
    if (json_array_size(json_object_get(j, "ldp"))) {
        printf("\nActions under local differential privacy (devices per day, estimated):\n");
        mtd_table_print(stdout, json_object_get(j, "ldp"), lcols, 6);
    }
    json_decref(j);
    return 0;
}

/* Each device row gets "os": its OS name and version in one cell. */
static void join_os(json_t *rows)
{
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        const char *n = json_string_value(json_object_get(row, "os_name"));
        const char *v = json_string_value(json_object_get(row, "os_version"));
        char os[300];
        snprintf(os, sizeof os, "%s%s%s", n ? n : "", n && v ? " " : "", v ? v : "");
        json_object_set_new(row, "os", os[0] ? json_string(os) : json_null());
    }
}

/* A known command given the wrong words says how it is used; anything else is unknown. */
static int wrong_args(const char *cmd)
{
    const mtd_usage_cmd *u = mtd_usage_find(&usage, cmd);
    char line[512];
    if (u) {
        mtd_usage_line(&usage, u, line, sizeof line);
        return fail("usage: %s", line);
    }
    return fail("unknown command \"%s\" (see mtdctl --help)", cmd);
}

/* Does the synopsis name this option ("--device" in "[--device D]", not "--devices")? */
static int synopsis_has(const char *syn, const char *opt)
{
    size_t n = strlen(opt);
    for (const char *p = strstr(syn, opt); p; p = strstr(p + 1, opt))
        if (!p[n] || strchr(" ]|=\n", p[n]))
            return 1;
    return 0;
}

/* Every option given must be one the command takes: its synopsis names it, or it is
 * one of every command's (--server ...), or a list command's paging. mtd_args has
 * checked that each is some command's option; here an option that does nothing for
 * this command ("devices --ocsf") is refused rather than silently ignored. */
static int check_options(ctl *c)
{
    static const char *const common[] = {"--server", "--token", "--ca-file", "--json", NULL};
    static const char *const lists[] = {"devices", "apps", "apps history", "threats", "connections", "usage", "crashes",
                                        "diagnostics", "feedback", "audit", NULL};
    char cmd[128];
    const mtd_usage_cmd *u = NULL;
    if (c->a.npos >= 2) { /* two words name it ("token create"), else one */
        snprintf(cmd, sizeof cmd, "%s %s", c->a.pos[0], c->a.pos[1]);
        u = mtd_usage_find(&usage, cmd);
    }
    if (!u)
        u = mtd_usage_find(&usage, c->a.pos[0]);
    if (!u)
        return 0; /* an unknown command: dispatch says so */
    int paged = 0;
    for (const char *const *l = lists; *l; l++)
        paged |= !strcmp(u->cmd, *l);
    for (int i = 0; i < c->a.n; i++) {
        const char *o = c->a.name[i];
        int ok = synopsis_has(u->synopsis, o);
        for (const char *const *g = common; *g && !ok; g++)
            ok = !strcmp(o, *g);
        if (paged && (!strcmp(o, "--limit") || !strcmp(o, "--offset") || !strcmp(o, "--all")))
            ok = 1;
        if (!ok) {
            char line[512];
            mtd_usage_line(&usage, u, line, sizeof line);
            return fail("%s does not take %s (usage: %s)", u->cmd, o, line);
        }
    }
    return 0;
}

static int dispatch(ctl *c)
{
    int np = c->a.npos;
    const char **pos = c->a.pos;
    json_t *j;
    if (np == 0)
        return fail("no command (see mtdctl --help)");
    if (check_options(c))
        return 1;
    if (!strcmp(pos[0], "tenant"))
        return cmd_tenant(c, np, pos);
    if (!strcmp(pos[0], "policy"))
        return cmd_policy(c, np, pos);
    if (!strcmp(pos[0], "token"))
        return cmd_token(c, np, pos);
    if (!strcmp(pos[0], "credential"))
        return cmd_credential(c, np, pos);
    if (!strcmp(pos[0], "user"))
        return cmd_user(c, np, pos);
    if (!strcmp(pos[0], "feed"))
        return cmd_feed(c, np, pos);
    int ar = mtd_ctl_alerts(c, np, pos);
    if (ar < 0)
        ar = mtd_ctl_groups(c, np, pos);
    if (ar < 0)
        ar = mtd_ctl_oidc(c, np, pos);
    if (ar >= 0)
        return ar;
    if (!strcmp(pos[0], "usage") && np == 1 && !mtd_args_has(&c->a, "--events")) {
        if (mtd_args_has(&c->a, "--device")) /* the counts are fleet-wide: not silently */
            return fail("usage: --device D goes with --events (the action counts are the fleet's)");
        return cmd_usage(c);
    }
    static const char *const reports[] = {"apps", "threats", "connections", "usage", "crashes",
                                          "diagnostics", "feedback", NULL};
    for (const char *const *r = reports; *r; r++)
        if (!strcmp(pos[0], *r) && np == 1)
            return cmd_report(c, *r);
    if (!strcmp(pos[0], "apps") && np == 2 && !strcmp(pos[1], "history"))
        return cmd_report(c, "apps/history");
    if (!strcmp(pos[0], "retire") && np == 2) {
        char path[256];
        snprintf(path, sizeof path, "/v1/admin/devices/%.64s", pos[1]);
        if (call(c, "DELETE", path, NULL, &j))
            return 1;
        if (c->json)
            return print(c, j, NULL, NULL, 0);
        long long n = (long long)json_integer_value(json_object_get(j, "credentials_revoked"));
        printf("device %s retired: %lld %s revoked\n", pos[1], n, mtd_plural(n, "credential", "credentials"));
        json_decref(j);
        return 0;
    }
    if (!strcmp(pos[0], "risk") && np == 2) {
        char path[256];
        snprintf(path, sizeof path, "/v1/admin/devices/%.64s/risk", pos[1]);
        if (call(c, "GET", path, NULL, &j))
            return 1;
        if (c->json)
            return print(c, j, NULL, NULL, 0);
        /* a person gets the level in a line, then the open threats that set it */
        long long supp = json_integer_value(json_object_get(j, "suppressed_threats"));
        printf("%s: risk %s (open threats: %lld", pos[1], json_string_value(json_object_get(j, "risk")) ?: "?",
               (long long)json_integer_value(json_object_get(j, "open_threats")));
        if (supp)
            printf("; suppressed by a rule, not counted: %lld", supp);
        printf(")\n");
        if (json_array_size(json_object_get(j, "threats")))
            mtd_table_print(stdout, json_object_get(j, "threats"), risk_cols, 7);
        json_decref(j);
        return 0;
    }
    if (!strcmp(pos[0], "statement") && np == 1) {
        char path[160] = "/v1/admin/privacy/statement";
        add_query(c, path, sizeof path, "--format", "format");
        return request(c, "GET", path, NULL, &j, 1);
    }
    if (!strcmp(pos[0], "export") && np == 1)
        return request(c, "GET", mtd_args_has(&c->a, "--ocsf") ? "/v1/admin/export?format=ocsf"
                                                               : "/v1/admin/export?format=raw",
                       NULL, &j, 1);
    if (!strcmp(pos[0], "devices") && np == 1) {
        static const mtd_column cols[] = {
            {"device_id", "DEVICE", 0, 0, 1}, {"risk", "RISK", 6, 0, 0}, {"last_seen", "LAST SEEN", 0, 1, 1},
            {"model", "MODEL", 14, 0, 0}, {"os", "OS", 14, 0, 0}, {"manufacturer", "MAKER", 16, 0, 0},
            {"agent_version", "AGENT", 8, 0, 0}, {"cpu", "CPU", 40, 0, 0}};
        char path[200] = "/v1/admin/devices";
        add_query(c, path, sizeof path, "--group", "group");
        if (get_list(c, path, &j))
            return 1;
        if (!c->json) /* one column for people: "Android 14" */
            join_os(json_object_get(j, "devices"));
        return print_list(c, j, "devices", cols, 8);
    }
    if (!strcmp(pos[0], "audit") && np == 1) {
        static const mtd_column cols[] = {{"id", "#", 0, 0, 1}, {"time", "TIME", 0, 1, 1},
                                          {"actor", "ACTOR", 24, 0, 0}, {"action", "ACTION", 20, 0, 0},
                                          {"device_id", "DEVICE", 25, 0, 0}, {"detail", "DETAIL", 0, 0, 0}};
        return get_list(c, "/v1/admin/audit", &j) ? 1 : print_list(c, j, "audit", cols, 6);
    }
    return wrong_args(pos[0]);
}

/* The helpers the command files beside this one use (mtd_ctl.h). */
int mtd_ctl_fail(const char *msg)
{
    return fail("%s", msg);
}

int mtd_ctl_call(mtd_ctl *c, const char *method, const char *path, const char *body, json_t **out)
{
    return call(c, method, path, body, out);
}

int mtd_ctl_list(mtd_ctl *c, const char *path, const char *key, const mtd_column *cols, size_t n)
{
    json_t *j;
    return get_list(c, path, &j) ? 1 : print_list(c, j, key, cols, n);
}

int mtd_ctl_print(mtd_ctl *c, json_t *j, const char *key, const mtd_column *cols, size_t n)
{
    return print(c, j, key, cols, n);
}

void mtd_ctl_query(mtd_ctl *c, char *q, size_t len, const char *opt, const char *key)
{
    add_query(c, q, len, opt, key);
}

int main(int argc, char **argv)
{
    static const mtd_optspec specs[] = {
        {"--server", MTD_ARG_ONE}, {"--token", MTD_ARG_ONE}, {"--ca-file", MTD_ARG_ONE},
        {"--json", MTD_ARG_FLAG},  {"--org", MTD_ARG_ONE},   {"--label", MTD_ARG_ONE},
        {"--ocsf", MTD_ARG_FLAG},  {"--device", MTD_ARG_ONE},
        {"--package", MTD_ARG_ONE}, {"--permission", MTD_ARG_ONE}, {"--status", MTD_ARG_ONE},
        {"--sideloaded", MTD_ARG_FLAG}, {"--events", MTD_ARG_FLAG}, {"--limit", MTD_ARG_ONE}, {"--offset", MTD_ARG_ONE},
        {"--all", MTD_ARG_FLAG}, {"--expires", MTD_ARG_ONE}, {"--uses", MTD_ARG_ONE},
        {"--unused-credentials", MTD_ARG_FLAG}, {"--state", MTD_ARG_ONE}, {"--severity", MTD_ARG_ONE},
        {"--note", MTD_ARG_ONE}, {"--reason", MTD_ARG_ONE}, {"--secret", MTD_ARG_ONE},
        {"--hec-token", MTD_ARG_ONE}, {"--tls", MTD_ARG_FLAG}, {"--dest-ca", MTD_ARG_ONE},
        {"--index", MTD_ARG_ONE}, {"--batch-max", MTD_ARG_ONE}, {"--since", MTD_ARG_ONE}, {"--group", MTD_ARG_ONE},
        {"--format", MTD_ARG_ONE}, {"--issuer", MTD_ARG_ONE}, {"--client-id", MTD_ARG_ONE},
        {"--client-secret", MTD_ARG_ONE}, {"--role-claim", MTD_ARG_ONE}, {"--role-map", MTD_ARG_ONE},
        {"--redirect-uri", MTD_ARG_ONE}, {"--scope", MTD_ARG_ONE}, {NULL, 0}};
    ctl c = {0};
    char why[256];
    if (argc < 2) {
        mtd_usage_print(stderr, &usage);
        return 2;
    }
    int r = mtd_args_parse(argc - 1, argv + 1, specs, &c.a, why, sizeof why);
    if (r == MTD_ARGS_HELP) /* COMMAND --help: the words before it name the command */
        return mtd_usage_help(&usage, c.a.npos, (char *const *)c.a.pos);
    if (r == 0 && c.a.npos && !strcmp(c.a.pos[0], "help")) /* help [COMMAND] */
        return mtd_usage_help(&usage, c.a.npos - 1, (char *const *)c.a.pos + 1);
    if (r)
        return fail("%s", why);
    long long n;
    if (mtd_args_int(&c.a, "--limit", 1, 10000, 1000, &n, why, sizeof why) != 0 ||
        mtd_args_int(&c.a, "--offset", 0, INT64_MAX / 2, 0, &n, why, sizeof why) != 0)
        return fail("%s", why);
    c.server = mtd_args_get(&c.a, "--server") ?: getenv("MTD_SERVER");
    c.token = mtd_args_get(&c.a, "--token") ?: getenv("MTD_TOKEN");
    c.ca = mtd_args_get(&c.a, "--ca-file") ?: getenv("MTD_CA"); /* as the demo's env file sets it */
    c.json = mtd_args_has(&c.a, "--json");
    if (!c.server || !c.token)
        return fail("--server URL and --token TOKEN are required (or MTD_SERVER, MTD_TOKEN)");
    if (strncmp(c.server, "http://", 7) && strncmp(c.server, "https://", 8))
        return fail("--server %s: expected an http:// or https:// URL, e.g. https://127.0.0.1:8443", c.server);
    if (c.ca && access(c.ca, R_OK) != 0)
        return fail("%s %s: %s", mtd_args_get(&c.a, "--ca-file") ? "--ca-file" : "MTD_CA", c.ca,
                    mtd_strerror(mtd_errno_code(errno)));
    return dispatch(&c);
}
