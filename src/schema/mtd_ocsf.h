/* mtd_ocsf: stored events as OCSF 1.3.0 events, for export to a SIEM.
 *
 * The schema table gives each field its OCSF attribute path ("device.os.version";
 * "evidences[].url.url_string" for the first object of an array attribute); this module
 * adds what OCSF requires of each class and object and our flat fields do not spell
 * out: class_uid, category_uid, activity_id, type_uid (class_uid * 100 + activity_id),
 * severity_id, time (epoch ms), metadata (OCSF version, product with its vendor and
 * version), the device's type and OS type, a finding's status, a connection's
 * direction. Events no OCSF class covers are Base Events (class_uid 0): OCSF 1.3.0 lets
 * a Base Event carry none of the objects that name a device or user, so their fields,
 * the device and user pseudonyms included, go under "unmapped".
 *
 * 1.3.0 and not 1.1.0: Software Inventory Info (5020), the class of app.inventory,
 * entered OCSF in 1.3.0 (ocsf-schema CHANGELOG), as did Application Lifecycle's
 * Update activity. tests/data/ocsf-1.3.0-required.json holds the required attributes
 * every exported event is checked against (test_ocsf). The caller owns the result. */
#ifndef MTD_OCSF_H
#define MTD_OCSF_H

#include "schema/mtd_schema.h"

#include <jansson.h>

#define MTD_OCSF_VERSION "1.3.0"

/* What the exporter knows of the device an event came from (its latest device.info),
 * for the device type, OS and product version every event carries; any member may be
 * NULL (unknown). */
typedef struct {
    const char *os_name, *os_version, *agent_version;
} mtd_ocsf_device;

/* row: an event as stored (keys are the schema's field names); dev may be NULL. */
json_t *mtd_ocsf_event(const mtd_event_type *ev, const json_t *row, const mtd_ocsf_device *dev);

/* OCSF's os.type_id for an OS name ("Android" 201, "iOS" 301, "Debian GNU/Linux" 200,
 * ...; 0 when unknown or NULL, 99 for another OS). */
int mtd_ocsf_os_type(const char *os_name);

#endif
