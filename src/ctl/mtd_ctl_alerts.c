/* mtd_ctl_alerts: mtdctl's alert commands: the queue and its triage, suppression rules,
 * outbound integrations and the device risk changes (collector: alerts/mtd_alert_api.c). */
#include "common/mtd_err.h"
#include "common/mtd_file.h"
#include "common/mtd_util.h"
#include "ctl/mtd_ctl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
    char m[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    return mtd_ctl_fail(m);
}

/* POSTs obj (consumed) to path; prints the answer with --json, else line (a format
 * with one %s: the answer's "id" or the word given). */
static int post(mtd_ctl *c, const char *method, const char *path, json_t *obj, json_t **out)
{
    char *body = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    int r = mtd_ctl_call(c, method, path, body, out);
    free(body);
    return r;
}

static const mtd_column alert_cols[] = {
    {"id", "ID", 0, 0, 1}, {"severity", "SEVERITY", 8, 0, 0}, {"state", "STATE", 12, 0, 0},
    {"threat_name", "THREAT", 36, 0, 0}, {"device_id", "DEVICE", 0, 0, 1}, {"created_at", "CREATED", 0, 1, 1},
    {"assignee", "ASSIGNEE", 20, 0, 0}, {"threat_status", "THREAT NOW", 10, 0, 0},
    {"occurrences", "SEEN", 5, 0, 0}, {"package", "APP", 32, 0, 0}};

static int cmd_alerts(mtd_ctl *c)
{
    char path[600] = "/v1/admin/alerts";
    mtd_ctl_query(c, path, sizeof path, "--state", "state");
    mtd_ctl_query(c, path, sizeof path, "--severity", "severity");
    mtd_ctl_query(c, path, sizeof path, "--device", "device");
    mtd_ctl_query(c, path, sizeof path, "--group", "group");
    return mtd_ctl_list(c, path, "alerts", alert_cols, sizeof alert_cols / sizeof alert_cols[0]);
}

static int show_alert(mtd_ctl *c, json_t *a)
{
    if (c->json)
        return mtd_ctl_print(c, a, NULL, NULL, 0);
    static const char *const keys[] = {"state", "severity", "threat_name", "category", "source", "device_id",
                                       "assignee", "threat_status", "occurrences", "package", "evidence",
                                       "threat_id", "event_id", "detected_time", "created_at", "updated_at", NULL};
    printf("alert %lld\n", (long long)json_integer_value(json_object_get(a, "id")));
    for (const char *const *k = keys; *k; k++) {
        json_t *v = json_object_get(a, *k);
        char cell[2100], esc[2100];
        if (!v || json_is_null(v))
            continue;
        if (json_is_integer(v))
            snprintf(cell, sizeof cell, "%lld", (long long)json_integer_value(v));
        else
            snprintf(cell, sizeof cell, "%s", json_string_value(v) ?: "");
        mtd_escape_ctl(cell, strlen(cell), esc, sizeof esc);
        printf("  %-14s %s\n", *k, esc);
    }
    json_t *notes = json_object_get(a, "notes");
    if (json_array_size(notes)) {
        static const mtd_column cols[] = {{"created_at", "NOTE TIME", 0, 1, 1}, {"actor", "BY", 24, 0, 0},
                                          {"text", "NOTE", 0, 0, 0}};
        mtd_table_print(stdout, notes, cols, 3);
    }
    json_decref(a);
    return 0;
}

/* alert show|ack|assign|note|resolve|dismiss ID ... */
static int cmd_alert(mtd_ctl *c, int np, const char **pos)
{
    char path[200];
    json_t *j;
    if (np < 3)
        return fail("alert needs show ID, ack ID, assign ID WHO, note ID TEXT, resolve ID or dismiss ID");
    snprintf(path, sizeof path, "/v1/admin/alerts/%.40s", pos[2]);
    if (!strcmp(pos[1], "show") && np == 3)
        return mtd_ctl_call(c, "GET", path, NULL, &j) ? 1 : show_alert(c, j);
    const char *note = mtd_args_get(&c->a, "--note");
    json_t *body;
    if ((!strcmp(pos[1], "ack") || !strcmp(pos[1], "resolve") || !strcmp(pos[1], "dismiss")) && np == 3)
        body = json_pack("{s:s}", "action", pos[1]);
    else if (!strcmp(pos[1], "assign") && np == 4)
        body = json_pack("{s:s,s:s}", "action", "assign", "assignee", pos[3]);
    else if (!strcmp(pos[1], "note") && np == 4 && !note)
        body = json_pack("{s:s,s:s}", "action", "note", "note", pos[3]);
    else
        return fail("alert needs show ID, ack ID, assign ID WHO, note ID TEXT, resolve ID or dismiss ID");
    if (note)
        json_object_set_new(body, "note", json_string(note));
    if (post(c, "POST", path, body, &j))
        return 1;
    if (c->json)
        return mtd_ctl_print(c, j, NULL, NULL, 0);
    printf("alert %s: %s%s%s\n", pos[2], json_string_value(json_object_get(j, "state")) ?: "?",
           json_is_string(json_object_get(j, "assignee")) ? ", assigned to " : "",
           json_string_value(json_object_get(j, "assignee")) ?: "");
    json_decref(j);
    return 0;
}

/* --expires N[s|m|h|d] (N alone: days) as seconds, or 0 with a message. */
static long long expiry_seconds(const char *v)
{
    char *end;
    long long n = strtoll(v, &end, 10), unit = 86400;
    if (end == v || n < 1)
        return 0;
    if (*end && !end[1])
        unit = *end == 's' ? 1 : *end == 'm' ? 60 : *end == 'h' ? 3600 : *end == 'd' ? 86400 : 0;
    else if (*end)
        unit = 0;
    return unit && n <= 3650LL * 86400 / unit ? n * unit : 0;
}

/* suppress add KIND VALUE [--device D | --group G] [--expires N[s|m|h|d]] [--reason TEXT] | list | remove ID */
static int cmd_suppress(mtd_ctl *c, int np, const char **pos)
{
    json_t *j;
    if (np == 2 && !strcmp(pos[1], "list")) {
        static const mtd_column cols[] = {
            {"id", "ID", 0, 0, 1}, {"kind", "KIND", 8, 0, 0}, {"value", "VALUE", 40, 0, 0},
            {"device_id", "DEVICE", 0, 0, 0}, {"group", "GROUP", 16, 0, 0}, {"active", "ACTIVE", 6, 0, 0},
            {"expires_at", "EXPIRES", 0, 1, 0}, {"hits", "HITS", 6, 0, 0}, {"actor", "BY", 20, 0, 0},
            {"reason", "REASON", 30, 0, 0}};
        return mtd_ctl_call(c, "GET", "/v1/admin/suppressions", NULL, &j) ? 1
             : mtd_ctl_print(c, j, "suppressions", cols, sizeof cols / sizeof cols[0]);
    }
    if (np == 3 && !strcmp(pos[1], "remove")) {
        char path[120];
        snprintf(path, sizeof path, "/v1/admin/suppressions/%.40s", pos[2]);
        if (mtd_ctl_call(c, "DELETE", path, NULL, &j))
            return 1;
        if (c->json)
            return mtd_ctl_print(c, j, NULL, NULL, 0);
        printf("suppression %s removed\n", pos[2]);
        json_decref(j);
        return 0;
    }
    if (np != 4 || strcmp(pos[1], "add"))
        return fail("suppress needs add KIND VALUE (KIND: package, signer, domain, check), list or remove ID");
    json_t *b = json_pack("{s:s,s:s}", "kind", pos[2], "value", pos[3]);
    const char *dev = mtd_args_get(&c->a, "--device"), *why = mtd_args_get(&c->a, "--reason");
    const char *exp = mtd_args_get(&c->a, "--expires"), *grp = mtd_args_get(&c->a, "--group");
    if (dev)
        json_object_set_new(b, "device_id", json_string(dev));
    if (grp)
        json_object_set_new(b, "group", json_string(grp));
    if (why)
        json_object_set_new(b, "reason", json_string(why));
    if (exp) {
        long long secs = expiry_seconds(exp);
        if (!secs) {
            json_decref(b);
            return fail("--expires %s: a duration N[s|m|h|d] (N alone: days) up to 3650 days", exp);
        }
        json_object_set_new(b, "expires_in_seconds", json_integer(secs));
    }
    if (post(c, "POST", "/v1/admin/suppressions", b, &j))
        return 1;
    if (c->json)
        return mtd_ctl_print(c, j, NULL, NULL, 0);
    printf("suppression %lld: %s %s%s%s%s%s\n", (long long)json_integer_value(json_object_get(j, "id")), pos[2],
           pos[3], dev ? " on device " : "", dev ? dev : "", grp ? " for group " : "", grp ? grp : "");
    json_decref(j);
    return 0;
}

/* integration add KIND TARGET [...] | list | test ID | remove ID */
static int integration_add(mtd_ctl *c, const char *kind, const char *target)
{
    json_t *b = json_pack("{s:s,s:s}", "kind", kind, "target", target), *j;
    const char *secret = mtd_args_get(&c->a, "--secret"), *hec = mtd_args_get(&c->a, "--hec-token");
    const char *ca = mtd_args_get(&c->a, "--dest-ca"), *index = mtd_args_get(&c->a, "--index");
    if (secret || hec)
        json_object_set_new(b, "secret", json_string(secret ? secret : hec));
    if (mtd_args_has(&c->a, "--tls"))
        json_object_set_new(b, "tls", json_true());
    if (index)
        json_object_set_new(b, "index", json_string(index));
    const char *bm = mtd_args_get(&c->a, "--batch-max");
    if (bm) { /* a number goes as one; anything else as text, for the collector to name */
        char *end;
        long long v = strtoll(bm, &end, 10);
        json_object_set_new(b, "batch_max", *bm && !*end ? json_integer(v) : json_string(bm));
    }
    if (ca) {
        uint8_t *pem;
        size_t len;
        int r = mtd_file_read(ca, 1 << 16, &pem, &len);
        if (r) {
            json_decref(b);
            return fail("--dest-ca %s: %s", ca, mtd_strerror(r));
        }
        json_object_set_new(b, "ca_pem", json_stringn((const char *)pem, len));
        free(pem);
    }
    if (post(c, "POST", "/v1/admin/integrations", b, &j))
        return 1;
    if (c->json)
        return mtd_ctl_print(c, j, NULL, NULL, 0);
    printf("integration %lld: %s %s\n", (long long)json_integer_value(json_object_get(j, "id")), kind, target);
    json_decref(j);
    return 0;
}

static int cmd_integration(mtd_ctl *c, int np, const char **pos)
{
    json_t *j;
    char path[160];
    if (np == 2 && !strcmp(pos[1], "list")) {
        static const mtd_column cols[] = {
            {"id", "ID", 0, 0, 1}, {"kind", "KIND", 10, 0, 0}, {"target", "TARGET", 40, 0, 0}, {"batch_max", "BATCH", 5, 0, 0},
            {"delivered", "SENT", 8, 0, 0}, {"pending", "PENDING", 8, 0, 0}, {"dead", "DEAD", 6, 0, 0},
            {"last_ok_at", "LAST OK", 0, 1, 0}, {"failures", "FAILS", 6, 0, 0}, {"last_error", "LAST ERROR", 40, 0, 0}};
        return mtd_ctl_call(c, "GET", "/v1/admin/integrations", NULL, &j) ? 1
             : mtd_ctl_print(c, j, "integrations", cols, sizeof cols / sizeof cols[0]);
    }
    if (np == 3 && (!strcmp(pos[1], "test") || !strcmp(pos[1], "remove"))) {
        int test = !strcmp(pos[1], "test");
        snprintf(path, sizeof path, "/v1/admin/integrations/%.40s%s", pos[2], test ? "/test" : "");
        if (mtd_ctl_call(c, test ? "POST" : "DELETE", path, NULL, &j))
            return 1;
        if (c->json)
            return mtd_ctl_print(c, j, NULL, NULL, 0);
        printf(test ? "integration %s: test alert delivered\n" : "integration %s removed\n", pos[2]);
        json_decref(j);
        return 0;
    }
    if (np == 4 && !strcmp(pos[1], "add"))
        return integration_add(c, pos[2], pos[3]);
    return fail("integration needs add KIND TARGET, list, test ID or remove ID");
}

int mtd_ctl_alerts(mtd_ctl *c, int np, const char **pos)
{
    if (!strcmp(pos[0], "alerts") && np == 1)
        return cmd_alerts(c);
    if (!strcmp(pos[0], "alert"))
        return cmd_alert(c, np, pos);
    if (!strcmp(pos[0], "suppress"))
        return cmd_suppress(c, np, pos);
    if (!strcmp(pos[0], "integration"))
        return cmd_integration(c, np, pos);
    if (!strcmp(pos[0], "risk-changes") && np == 1) {
        char path[200] = "/v1/admin/devices/risk";
        static const mtd_column cols[] = {{"seq", "SEQ", 0, 0, 1}, {"device_id", "DEVICE", 0, 0, 1},
                                          {"risk", "RISK", 6, 0, 0}, {"changed_at", "CHANGED", 0, 1, 1}};
        json_t *j;
        mtd_ctl_query(c, path, sizeof path, "--since", "since");
        return mtd_ctl_call(c, "GET", path, NULL, &j) ? 1 : mtd_ctl_print(c, j, "devices", cols, 4);
    }
    return -1;
}
