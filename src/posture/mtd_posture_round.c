/* mtd_posture_round: the posture of the device in a round of `mtd-agent run`: each
 * finding reported through the threat tracker of source "device" (a threat.detection
 * when it is new or changed), and the findings of earlier rounds that are gone
 * reported as resolved. */
#include "posture/mtd_posture.h"
#include "common/mtd_err.h"
#include "common/mtd_log.h"

#include <string.h>

int mtd_posture_round(const mtd_posture_device *d, const char *state_dir, mtd_emit_fn emit, void *ctx,
                      mtd_threats **tracker)
{
    *tracker = NULL;
    mtd_posture_findings f;
    int applies;
    char why[600];
    if (mtd_posture_assess(d, &f, &applies, why, sizeof why) != 0) {
        /* nothing is resolved either: a device that could not be read is not a clean one */
        mtd_log(MTD_LOG_WARN, "posture", "not assessed this round: %s", why);
        return 0;
    }
    if (!applies)
        return 0;
    mtd_threats *t;
    int r = mtd_threats_open(state_dir, "device", &t);
    for (size_t i = 0; r == 0 && i < f.n; i++) {
        char id[MTD_THREAT_ID_MAX + 1];
        json_t *fields = mtd_posture_detection(&f.v[i], id, sizeof id);
        r = fields ? mtd_threats_seen(t, id, fields, emit, ctx) : MTD_ENOMEM;
    }
    if (r == 0)
        r = mtd_threats_finish(t, emit, ctx);
    mtd_posture_findings_free(&f);
    if (r) {
        mtd_threats_close(t);
        return r;
    }
    mtd_log(MTD_LOG_INFO, "posture", "%zu findings active", mtd_threats_active(t));
    *tracker = t;
    return 0;
}
