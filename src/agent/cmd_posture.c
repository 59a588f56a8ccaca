/* cmd_posture: `mtd-agent posture`: whether the device can be trusted (rooted or
 * jailbroken, integrity weakened, OS out of support or unpatched, vulnerable apps),
 * shown locally as one JSON object per finding. Nothing is sent and nothing passes
 * the gate here; `mtd-agent run` reports the same findings as threat detections. */
#include "agent/mtd_agent.h"
#include "common/mtd_err.h"
#include "common/mtd_log.h"
#include "posture/mtd_posture.h"
#include "uplink/mtd_feedsync.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* The records of the --vulns files, then of the tenant's feed "vulns" (which the
 * collector distributes, STATE/feeds/vulns) when st is given. strict: a file that
 * cannot be read fails (posture); otherwise it is logged and skipped, so that one bad
 * file never stops a round of run. Returns 0 or 1 (after saying why). */
int mtd_agent_posture_vulns(const mtd_args *a, const mtd_state *st, int strict, mtd_posture_vulns *v)
{
    const char *files[MTD_ARGS_MAX + 1];
    char feed[1200], why[600];
    int n = mtd_args_all(a, "--vulns", files, MTD_ARGS_MAX);
    if (st) {
        mtd_feedsync_path(st, "vulns", feed, sizeof feed);
        if (access(feed, F_OK) == 0)
            files[n++] = feed;
    }
    for (int i = 0; i < n; i++) {
        if (mtd_posture_vulns_load(v, files[i], why, sizeof why) == 0)
            continue;
        if (strict)
            return mtd_agent_fail("%s%s", files[i] == feed ? "" : "--vulns ", why);
        mtd_log(MTD_LOG_WARN, "posture", "vulnerability records not read: %s", why);
    }
    return 0;
}

int mtd_agent_posture_round(const mtd_state *st, const mtd_args *a, mtd_emit_fn emit, void *ctx,
                            mtd_threats **tracker)
{
    *tracker = NULL;
    mtd_posture_vulns *v = mtd_posture_vulns_new();
    if (!v)
        return MTD_ENOMEM;
    mtd_agent_posture_vulns(a, st, 0, v);
    mtd_posture_device d = {.android_root = st->android_root[0] ? st->android_root : NULL,
                            .ios_backup = st->ios_backup[0] ? st->ios_backup : NULL,
                            .vulns = v, .patch_max_age_days = st->policy.security_patch_max_age_days};
    int r = mtd_posture_round(&d, st->dir, emit, ctx, tracker);
    mtd_posture_vulns_free(v);
    return r;
}

int mtd_cmd_posture(int argc, char **argv)
{
    static const mtd_optspec specs[] = {{"--android-root", MTD_ARG_ONE}, {"--ios-backup", MTD_ARG_ONE},
                                        {"--vulns", MTD_ARG_MANY},       {"--state", MTD_ARG_ONE},
                                        {"--json", MTD_ARG_FLAG},        {NULL, 0}};
    mtd_args a;
    mtd_state st;
    if (mtd_agent_args(argc, argv, specs, &a))
        return 1;
    if (a.npos)
        return mtd_agent_fail("posture: unexpected argument \"%s\"", a.pos[0]);
    mtd_posture_device d = {.android_root = mtd_args_get(&a, "--android-root"),
                            .ios_backup = mtd_args_get(&a, "--ios-backup"),
                            .patch_max_age_days = 90};
    if (d.android_root && d.ios_backup)
        return mtd_agent_fail("posture takes --android-root or --ios-backup, not both");
    int stateful = mtd_args_get(&a, "--state") != NULL;
    if (stateful && mtd_agent_state(&a, &st))
        return 1;
    if (stateful) { /* the enrolled device's own source and its tenant's policy */
        d.patch_max_age_days = st.policy.security_patch_max_age_days;
        if (!d.android_root && !d.ios_backup && st.android_root[0])
            d.android_root = st.android_root;
        if (!d.android_root && !d.ios_backup && st.ios_backup[0])
            d.ios_backup = st.ios_backup;
    }
    mtd_posture_vulns *v = mtd_posture_vulns_new();
    if (!v)
        return mtd_agent_fail("out of memory");
    if (mtd_agent_posture_vulns(&a, stateful ? &st : NULL, 1, v)) {
        mtd_posture_vulns_free(v);
        return 1;
    }
    d.vulns = v;
    mtd_posture_findings f;
    int applies;
    char why[600];
    int r = mtd_posture_assess(&d, &f, &applies, why, sizeof why);
    mtd_posture_vulns_free(v);
    if (r)
        return mtd_agent_fail("%s", why);
    for (size_t i = 0; i < f.n; i++) {
        json_t *o = mtd_posture_finding_json(&f.v[i]);
        char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(o);
        if (s)
            puts(s);
        free(s);
    }
    mtd_posture_findings_free(&f);
    if (!applies)
        fprintf(stderr, "mtd-agent: note: the posture checks read an Android snapshot (--android-root)"
                        " or an iOS backup (--ios-backup); none was given\n");
    return 0;
}
