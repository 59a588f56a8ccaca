/* cmd_consent: `mtd-agent consent grant|revoke|status` and `mtd-agent feedback`.
 *
 * Consent covers optional data (diagnostics and feedback). Revoking it purges queued
 * optional data from the spool at once and queues a consent.change event asking the
 * collector to delete the optional data it already holds for this device. */
#include "agent/mtd_agent.h"
#include "usage/mtd_actions.h"
#include "collect/mtd_diag.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"
#include "uplink/mtd_uplink.h"

#include <stdio.h>
#include <string.h>

/* Gates and queues one event; returns 0, or prints why it was not sent. */
static int queue_event(const mtd_state *st, mtd_spool *sp, const char *type, json_t *fields)
{
    mtd_gate g;
    mtd_gate_ctx ctx;
    mtd_state_gate_ctx(st, &ctx);
    mtd_gate_init(&g, &ctx);
    json_t *out;
    char why[300];
    int r = mtd_gate_pass(&g, type, fields, &out, why, sizeof why);
    json_decref(fields);
    if (r)
        return mtd_agent_fail("not sent: %s", why);
    char *s = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    uint64_t seq;
    const mtd_event_type *ev = mtd_schema_event(type);
    r = mtd_spool_append(sp, ev->category == MTD_CAT_REQUIRED ? MTD_SPOOL_REQUIRED : MTD_SPOOL_OPTIONAL,
                         s, strlen(s), &seq);
    free(s);
    if (r == 0)
        r = mtd_spool_commit(sp);
    return r ? mtd_agent_fail("could not queue %s: %s", type, mtd_strerror(r)) : 0;
}

/* Tries to send what is queued now; stays queued (and says so) when offline. */
static void try_send(mtd_state *st, mtd_spool *sp)
{
    mtd_uplink_opts o;
    mtd_uplink_opts_default(&o);
    o.max_attempts = 2;
    o.cap_ms = 1000;
    mtd_uplink_stats s;
    char why[512];
    if (mtd_uplink_drain(st, sp, &o, &s, why, sizeof why) != 0)
        fprintf(stderr, "mtd-agent: collector unreachable; it will be sent on the next run\n");
}

static int consent_set(mtd_state *st, int grant)
{
    st->consent = grant;
    int r = mtd_state_save_consent(st);
    if (r)
        return mtd_agent_fail("cannot save consent in %s: %s", st->dir, mtd_strerror(r));
    mtd_spool *sp;
    if (mtd_agent_open_spool(st, &sp))
        return 1;
    uint64_t purged = 0;
    if (!grant && (r = mtd_spool_purge_optional(sp, &purged)) != 0) {
        mtd_spool_close(sp);
        return mtd_agent_fail("could not purge queued optional data: %s", mtd_strerror(r));
    }
    mtd_actions_record(st->dir, grant ? MTD_ACTION_CONSENT_GRANT : MTD_ACTION_CONSENT_REVOKE);
    r = queue_event(st, sp, "consent.change",
                    json_pack("{s:s,s:b}", "state", grant ? "granted" : "revoked",
                              "delete_optional", !grant));
    if (r == 0)
        try_send(st, sp);
    mtd_spool_close(sp);
    if (grant)
        printf("consent granted: diagnostics may be attached to feedback you send\n");
    else
        printf("consent revoked: %llu queued optional %s deleted; the collector is asked"
               " to delete optional data it holds for this device\n", (unsigned long long)purged,
               mtd_plural((long long)purged, "record", "records"));
    return r;
}

int mtd_cmd_consent(int argc, char **argv)
{
    static const mtd_optspec specs[] = {{"--state", MTD_ARG_ONE}, {NULL, 0}};
    mtd_args a;
    mtd_state st;
    if (mtd_agent_args(argc, argv, specs, &a))
        return 1;
    if (a.npos != 1)
        return mtd_agent_fail("consent needs one of grant, revoke, status");
    if (mtd_agent_state(&a, &st))
        return 1;
    if (!strcmp(a.pos[0], "grant"))
        return consent_set(&st, 1);
    if (!strcmp(a.pos[0], "revoke"))
        return consent_set(&st, 0);
    if (strcmp(a.pos[0], "status"))
        return mtd_agent_fail("consent: unknown action \"%s\" (grant, revoke, status)", a.pos[0]);
    printf("consent: %s\ntenant policy optional_data: %s\n",
           st.consent ? "granted" : "not granted",
           st.policy.optional_data ? "allowed" : "not allowed");
    return 0;
}

int mtd_cmd_feedback(int argc, char **argv)
{
    static const mtd_optspec specs[] = {
        {"--state", MTD_ARG_ONE}, {"--type", MTD_ARG_ONE}, {"--comment", MTD_ARG_ONE},
        {"--email", MTD_ARG_ONE}, {"--with-diagnostics", MTD_ARG_FLAG}, {NULL, 0}};
    mtd_args a;
    mtd_state st;
    if (mtd_agent_args(argc, argv, specs, &a) || mtd_agent_state(&a, &st))
        return 1;
    const char *type = mtd_args_get(&a, "--type");
    if (!type || (strcmp(type, "smile") && strcmp(type, "frown") && strcmp(type, "idea")))
        return mtd_agent_fail("feedback needs --type smile, frown or idea");
    if (!st.policy.optional_data)
        return mtd_agent_fail("feedback is not sent: your organization's policy does not allow"
                              " optional data");
    if (!st.consent)
        return mtd_agent_fail("feedback is not sent: you have not consented to optional data"
                              " (mtd-agent consent grant)");
    uint8_t rnd[12];
    char fid[20];
    mtd_random(rnd, sizeof rnd);
    mtd_b64url(rnd, sizeof rnd, fid);
    json_t *f = json_pack("{s:s,s:s}", "type", type, "feedback_id", fid);
    if (mtd_args_get(&a, "--comment"))
        json_object_set_new(f, "comment", json_string(mtd_args_get(&a, "--comment")));
    if (mtd_args_get(&a, "--email")) /* only ever what the user typed */
        json_object_set_new(f, "email", json_string(mtd_args_get(&a, "--email")));
    mtd_spool *sp;
    if (mtd_agent_open_spool(&st, &sp))
        return 1;
    int r = queue_event(&st, sp, "feedback.submission", f);
    if (r == 0)
        mtd_actions_record(st.dir, MTD_ACTION_FEEDBACK_SENT);
    if (r == 0 && mtd_args_has(&a, "--with-diagnostics")) {
        char ledger[1200];
        mtd_state_path(&st, "ledger.jsonl", ledger, sizeof ledger);
        r = queue_event(&st, sp, "diag.bundle",
                        mtd_diag_bundle(&st.policy, MTD_AGENT_VERSION, ledger, fid));
    }
    if (r == 0)
        try_send(&st, sp);
    mtd_spool_close(sp);
    if (r == 0)
        printf("feedback %s queued%s\n", fid, mtd_args_has(&a, "--with-diagnostics") ? " with diagnostics" : "");
    return r;
}
