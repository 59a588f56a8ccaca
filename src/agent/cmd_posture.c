/* cmd_posture: `mtd-agent posture`: whether the device can be trusted (rooted or
 * jailbroken, integrity weakened, OS out of support or unpatched, vulnerable apps),
 * shown locally as one JSON object per finding. Nothing is sent and nothing passes
 * the gate here; `mtd-agent run` reports the same findings as threat detections. */
#include "agent/mtd_agent.h"
#include "posture/mtd_posture.h"

#include <stdio.h>
#include <stdlib.h>

/* --vulns files, then (with --state) the tenant's own records the collector sent. */
static int load_vulns(const mtd_args *a, const mtd_state *st, mtd_posture_vulns *v)
{
    const char *files[MTD_ARGS_MAX];
    int n = mtd_args_all(a, "--vulns", files, MTD_ARGS_MAX);
    char why[600];
    for (int i = 0; i < n; i++)
        if (mtd_posture_vulns_load(v, files[i], why, sizeof why) != 0)
            return mtd_agent_fail("--vulns %s", why);
    if (st && mtd_posture_state_vulns(st->dir, v, why, sizeof why) != 0)
        return mtd_agent_fail("%s", why);
    return 0;
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
    }
    mtd_posture_vulns *v = mtd_posture_vulns_new();
    if (!v)
        return mtd_agent_fail("out of memory");
    if (load_vulns(&a, stateful ? &st : NULL, v)) {
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
