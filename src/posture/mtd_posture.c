/* mtd_posture: the families of checks, how a round runs them, and how a finding is
 * shown locally and reported as a threat detection. */
#include "posture/mtd_posture_int.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Integrity first, then the OS, then the apps: the order findings come out in. */
static const mtd_posture_family *const families[] = {
    &mtd_posture_root_family, &mtd_posture_build_family, &mtd_posture_debug_family,
    &mtd_posture_net_family,  &mtd_posture_ios_family,   &mtd_posture_os_family,
    &mtd_posture_osv_family,
};
#define NFAM (sizeof families / sizeof families[0])

size_t mtd_posture_check_count(void)
{
    size_t n = 0;
    for (size_t i = 0; i < NFAM; i++)
        n += families[i]->n;
    return n;
}

const mtd_posture_check *mtd_posture_check_at(size_t i)
{
    for (size_t f = 0; f < NFAM; f++) {
        if (i < families[f]->n)
            return &families[f]->checks[i];
        i -= families[f]->n;
    }
    return NULL;
}

void mtd_posture_statement_md(mtd_buf *o)
{
    static const char *const cats[][2] = {{"integrity", "Integrity: rooting, jailbreaks, debugging"},
                                          {"os", "The operating system's support and patches"},
                                          {"network", "Network settings"},
                                          {"app", "Apps with known vulnerabilities"}};
    mtd_buf_puts(o, "\n## The checks of your device's security\n\n"
                    "The agent checks whether this device can be trusted, on the device itself. "
                    "Each check reads only what it names below, and what it reads is not sent. "
                    "When a check finds something, your organization gets one threat detection: "
                    "the check's name, its category and severity, and the evidence (such as the "
                    "path of a file or the name of an app); when it finds nothing, nothing is "
                    "sent about it. The detection sets your device's risk level, which your "
                    "organization may use to allow or refuse access to its services.\n");
    for (size_t k = 0; k < sizeof cats / sizeof cats[0]; k++) {
        mtd_buf_printf(o, "\n### %s\n\n", cats[k][1]);
        const mtd_posture_check *c;
        for (size_t i = 0; (c = mtd_posture_check_at(i)) != NULL; i++)
            if (!strcmp(c->category, cats[k][0]))
                mtd_buf_printf(o, "- **%s** (`%s`, severity %s). Reads: %s. %s\n", c->threat_name, c->id,
                               c->severity, c->reads, c->explanation);
    }
}

const mtd_posture_check *mtd_posture_check_find(const char *id)
{
    const mtd_posture_check *c;
    for (size_t i = 0; (c = mtd_posture_check_at(i)) != NULL; i++)
        if (!strcmp(c->id, id))
            return c;
    return NULL;
}

const mtd_posture_check *mtd_posture_family_check(const mtd_posture_family *f, const char *id)
{
    for (size_t i = 0; i < f->n; i++)
        if (!strcmp(f->checks[i].id, id))
            return &f->checks[i];
    return NULL;
}

mtd_posture_finding *mtd_posture_add(mtd_posture_findings *out, const mtd_posture_check *c,
                                     const char *subject, const char *package, const char *fmt, ...)
{
    mtd_posture_finding *v = realloc(out->v, (out->n + 1) * sizeof *v);
    if (!v)
        return NULL;
    out->v = v;
    mtd_posture_finding *f = &v[out->n++];
    memset(f, 0, sizeof *f);
    f->check = c;
    snprintf(f->threat_name, sizeof f->threat_name, "%s", c->threat_name);
    snprintf(f->severity, sizeof f->severity, "%s", c->severity);
    snprintf(f->subject, sizeof f->subject, "%s", subject ? subject : "");
    snprintf(f->package, sizeof f->package, "%s", package ? package : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->evidence, sizeof f->evidence, fmt, ap);
    va_end(ap);
    return f;
}

void mtd_posture_list_add(char *buf, size_t len, const char *text)
{
    size_t n = strlen(buf), tl = strlen(text);
    if (!tl)
        return;
    for (const char *p = buf; (p = strstr(p, text)) != NULL; p += tl)
        if ((p == buf || p[-1] == ' ') && (p[tl] == 0 || p[tl] == ','))
            return;
    if (n + 1 < len)
        snprintf(buf + n, len - n, "%s%s", n ? ", " : "", text);
}

int mtd_posture_snapshot_json(const mtd_snapshot *s, const char *rel, json_t **out, char *why,
                              size_t wl)
{
    uint8_t *d;
    size_t n;
    int r = mtd_snapshot_read(s, rel, &d, &n);
    if (r) {
        if (r != MTD_ENOENT)
            snprintf(why, wl, "%s/%s: %s", s->root, rel, mtd_strerror(r));
        return r;
    }
    json_error_t e;
    *out = json_loadb((const char *)d, n, JSON_REJECT_DUPLICATES, &e);
    free(d);
    if (!*out) {
        snprintf(why, wl, "%s/%s: line %d: %s", s->root, rel, e.line, e.text);
        return MTD_EINVAL;
    }
    return 0;
}

int mtd_posture_app_is_system(const json_t *apps, const char *package)
{
    size_t i;
    json_t *a;
    json_array_foreach((json_t *)apps, i, a) {
        const char *p = json_string_value(json_object_get(a, "package"));
        if (p && !strcmp(p, package))
            return json_is_true(json_object_get(a, "is_system"));
    }
    return -1;
}

int mtd_posture_global_settings(const mtd_snapshot *s, mtd_props *out, char *why, size_t wl)
{
    int r = mtd_snapshot_settings(s, "global", out, why, wl);
    return r == MTD_ENOENT ? 0 : r;
}

int mtd_posture_run(const mtd_posture_input *in, mtd_posture_findings *out, char *why, size_t wl)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < NFAM; i++) {
        int r = families[i]->run(in, out, why, wl);
        if (r) {
            if (r == MTD_ENOMEM)
                snprintf(why, wl, "posture checks: %s", mtd_strerror(r));
            mtd_posture_findings_free(out);
            return r;
        }
    }
    return 0;
}

void mtd_posture_findings_free(mtd_posture_findings *f)
{
    free(f->v);
    memset(f, 0, sizeof *f);
}

json_t *mtd_posture_finding_json(const mtd_posture_finding *f)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "check", f->check->id, "threat_name",
                          f->threat_name, "category", f->check->category, "severity", f->severity,
                          "evidence", f->evidence, "explanation", f->check->explanation);
    if (o && f->package[0])
        json_object_set_new(o, "package", json_string(f->package));
    return o;
}

json_t *mtd_posture_detection(const mtd_posture_finding *f, char *threat_id, size_t idlen)
{
    if (f->subject[0]) {
        char hex[65];
        mtd_sha256_hex(f->subject, strlen(f->subject), hex);
        snprintf(threat_id, idlen, "%s/%.16s", f->check->id, hex);
    } else {
        snprintf(threat_id, idlen, "%s", f->check->id);
    }
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s}", "threat_name", f->threat_name, "category",
                          f->check->category, "severity", f->severity, "source", "device",
                          "evidence", f->evidence);
    if (o && f->package[0])
        json_object_set_new(o, "package", json_string(f->package));
    return o;
}
