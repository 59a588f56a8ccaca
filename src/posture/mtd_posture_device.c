/* mtd_posture_device: the device a posture round looks at, read into the checks'
 * input: an Android snapshot with its app inventory, or an iOS backup. */
#include "posture/mtd_posture.h"
#include "common/mtd_err.h"

#include <stdio.h>
#include <string.h>

static int assess_android(const mtd_posture_device *d, mtd_posture_findings *out, char *why, size_t wl)
{
    mtd_snapshot snap;
    int r = mtd_snapshot_open(d->android_root, &snap, why, wl);
    if (r)
        return r;
    json_t *apps = mtd_snapshot_apps(&snap);
    mtd_posture_input in = {.android = &snap, .apps = apps, .vulns = d->vulns,
                            .patch_max_age_days = d->patch_max_age_days, .now = time(NULL)};
    r = apps ? mtd_posture_run(&in, out, why, wl) : MTD_ENOMEM;
    json_decref(apps);
    mtd_snapshot_close(&snap);
    return r;
}

int mtd_posture_assess(const mtd_posture_device *d, mtd_posture_findings *out, int *applies, char *why,
                       size_t wl)
{
    memset(out, 0, sizeof *out);
    if (applies)
        *applies = d->android_root || d->ios_backup;
    if (d->android_root)
        return assess_android(d, out, why, wl);
    if (d->ios_backup) {
        /* the checks are ready (mtd_posture_ios); the backup reader is src/ios/'s */
        snprintf(why, wl, "--ios-backup %s: reading iOS backups is not available in this build yet",
                 d->ios_backup);
        return MTD_EUNSUP;
    }
    return 0;
}
