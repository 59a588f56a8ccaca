/* mtd_gate: schema lookups, policy, consent and pseudonyms between sources and spool. */
#include "privacy/mtd_gate.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"
#include "privacy/mtd_ident.h"
#include "privacy/mtd_policy_check.h"
#include "schema/mtd_event.h"

#include <stdio.h>
#include <string.h>

void mtd_gate_init(mtd_gate *g, const mtd_gate_ctx *ctx)
{
    memset(g, 0, sizeof *g);
    g->ctx = *ctx;
}

void mtd_gate_url_to_domain(const char *url, char *out, size_t outlen)
{
    out[0] = 0;
    const char *sep = strstr(url, "://");
    if (!sep || sep == url)
        return;
    const char *host = sep + 3;
    size_t hl = strcspn(host, "/?#");
    const char *at = memchr(host, '@', hl); /* never keep user:password@ */
    if (at) {
        hl -= (size_t)(at + 1 - host);
        host = at + 1;
    }
    if (hl == 0)
        return;
    snprintf(out, outlen, "%.*s://%.*s/", (int)(sep - url), url, (int)hl, host);
}

/* Applies a field-level policy to *val (a reference the caller holds, which may be
 * swapped for a transformed value); returns 1 when the field must be left out. */
static int field_policy(mtd_gate *g, const mtd_field *f, json_t **val, json_t *out)
{
    const mtd_policy *p = &g->ctx.policy;
    if (f->policy == MTD_POL_APP_DETAILS)
        return p->report_app_details == MTD_APPDET_MINIMAL;
    if (f->policy != MTD_POL_URL)
        return 0;
    json_object_set_new(out, "url_scope", json_string(mtd_url_policy_name(p->report_urls)));
    if (p->report_urls == MTD_URLS_FULL)
        return 0;
    g->stats.truncated++;
    if (p->report_urls == MTD_URLS_NONE || !json_is_string(*val))
        return 1;
    char dom[300];
    mtd_gate_url_to_domain(json_string_value(*val), dom, sizeof dom);
    if (!dom[0])
        return 1;
    json_decref(*val); /* the caller holds a reference; swap it for the cut URL */
    *val = json_string(dom);
    return 0;
}

/* Copies one source field into out, transformed; counts what it drops. A value its
 * field's declaration refuses (too long, not an email address...) refuses the event,
 * with the reason and the limit in why: dropping the field alone let "feedback
 * --comment" of 4,096 characters say "queued" and send no comment. */
static int pass_field(mtd_gate *g, const mtd_event_type *ev, const char *key, json_t *val,
                      json_t *out, char *why, size_t wl)
{
    const mtd_field *f = NULL;
    for (size_t i = 0; i < ev->nfields; i++)
        if (!strcmp(ev->fields[i].name, key))
            f = &ev->fields[i];
    if (!f || f->xf == MTD_X_DROP || json_is_null(val)) {
        g->stats.dropped_fields += f ? 0 : 1;
        return 0;
    }
    json_incref(val);
    if (field_policy(g, f, &val, out)) {
        json_decref(val);
        return 0;
    }
    if (f->xf == MTD_X_PSEUDONYMIZE) {
        char ps[MTD_PSEUDO_LEN + 1];
        const char *raw = json_string_value(val);
        char iw[160] = "must be a string";
        int r = raw ? mtd_ident_pseudo(&g->ctx.key, f->purpose, raw, json_string_length(val), ps,
                                       iw, sizeof iw)
                    : MTD_EINVAL;
        json_decref(val);
        if (r) {
            snprintf(why, wl, "%s: field \"%s\": %s", ev->name, key, iw);
            return r;
        }
        val = json_string(ps);
        g->stats.pseudonymized++;
    }
    const char *w;
    int r = mtd_schema_check_value(f, val, &w);
    if (r != 0) {
        char fw[200];
        mtd_field_why(f, r, w, fw, sizeof fw);
        snprintf(why, wl, "%s: %s", ev->name, fw);
        json_decref(val);
        return r;
    }
    json_object_set_new(out, key, val);
    return 0;
}

/* An event ID: 128 random bits (22 base64url characters). It names one event in the
 * ledger and the collector's rows; it carries nothing about the event itself. (It
 * carried the creation time for a while, to keep a collector index local; the
 * collector no longer indexes it.) */
static void event_id(char out[32])
{
    uint8_t rnd[16];
    mtd_random(rnd, sizeof rnd);
    mtd_b64url(rnd, sizeof rnd, out);
}

static void add_envelope(const mtd_gate *g, const mtd_event_type *ev, json_t *out)
{
    char t[MTD_TIME_LEN], eid[32];
    mtd_time_now_rfc3339(t);
    event_id(eid);
    json_object_set_new(out, "event", json_string(ev->name));
    json_object_set_new(out, "schema", json_integer(MTD_SCHEMA_VERSION));
    json_object_set_new(out, "event_id", json_string(eid));
    json_object_set_new(out, "time", json_string(t));
    json_object_set_new(out, "tenant_id", json_string(g->ctx.tenant_id));
    const struct { const char *k, *v; } ids[] = {
        {"org_id", g->ctx.org_id}, {"device_id", g->ctx.device_id},
        {"dir_device_id", g->ctx.dir_device_id}, {"dir_user_id", g->ctx.dir_user_id},
        {"upn", g->ctx.upn},
    };
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if (ids[i].v[0])
            json_object_set_new(out, ids[i].k, json_string(ids[i].v));
}

int mtd_gate_pass(mtd_gate *g, const char *type, const json_t *fields, json_t **out,
                  char *why, size_t whylen)
{
    *out = NULL;
    const mtd_event_type *ev = mtd_schema_event(type);
    if (!ev) {
        g->stats.refused++;
        snprintf(why, whylen, "event type \"%.64s\" is not declared in the schema", type);
        return MTD_ESCHEMA;
    }
    const char *reason;
    mtd_fieldview view = mtd_fieldview_json(fields);
    int r = mtd_policy_event_allowed(&g->ctx.policy, g->ctx.consent, ev, &view, &reason, why,
                                     whylen);
    if (r) {
        g->stats.refused++;
        return r;
    }
    json_t *o = json_object();
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)fields, key, val)
        if ((r = pass_field(g, ev, key, val, o, why, whylen)) != 0) {
            json_decref(o);
            g->stats.refused++;
            return r;
        }
    add_envelope(g, ev, o);
    const mtd_event_type *chk;
    if ((r = mtd_schema_validate(o, &chk, why, whylen)) != 0) {
        json_decref(o);
        g->stats.refused++;
        return r;
    }
    g->stats.forwarded++;
    *out = o;
    return 0;
}
