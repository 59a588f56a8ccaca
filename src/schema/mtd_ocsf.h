/* mtd_ocsf: stored events as OCSF 1.1 events, for export to a SIEM.
 *
 * The schema table gives each field its OCSF attribute path ("device.os.version");
 * this module adds what every OCSF event needs: class_uid, category_uid, activity_id,
 * type_uid (class_uid * 100 + activity_id), severity_id, time (epoch ms) and metadata
 * (product, version, uid). Events of our own extensions are OCSF Base Events
 * (class_uid 0) with their fields under "unmapped". The caller owns the result. */
#ifndef MTD_OCSF_H
#define MTD_OCSF_H

#include "schema/mtd_schema.h"

#include <jansson.h>

#define MTD_OCSF_VERSION "1.1.0"

/* row: an event as stored (keys are the schema's field names). */
json_t *mtd_ocsf_event(const mtd_event_type *ev, const json_t *row);

#endif
