/* mtd_threats: the threat tracker: which findings of one source are active, across
 * collection rounds, so that each finding reaches the tenant once when it appears (or
 * changes) and once more, as "resolved", when it is gone.
 *
 * STATE/threats-<source>.json keeps the findings of one source that are active:
 * threat_id -> the fields last emitted. A round calls mtd_threats_seen() for every
 * finding it makes, then mtd_threats_finish() (resolves what was not seen), and, only
 * after the spool has committed what was emitted, mtd_threats_commit(), so a crash
 * between the two re-emits rather than loses a change. The collector keeps threats by
 * (device, threat_id) with the latest state and derives the device's risk from the
 * most severe active one (store/mtd_store_reports.c).
 *
 * A round that looked at only some subjects (the apps just installed or updated) calls
 * mtd_threats_finish_where() for each subject it looked at instead of
 * mtd_threats_finish(): findings of other subjects stay as they were.
 *
 * Events go to emit (the privacy gate in mtd-agent run); the tracker owns its sets. */
#ifndef MTD_THREATS_H
#define MTD_THREATS_H

#include "collect/mtd_sources.h"

#define MTD_THREAT_ID_MAX 64

typedef struct mtd_threats mtd_threats;

/* Opens the tracker of one source ("app", "web", "network", "device") in state_dir. A
 * missing state file is an empty set; an unreadable one is logged and read as empty
 * (its findings are emitted again rather than the source stopping). */
int mtd_threats_open(const char *state_dir, const char *source, mtd_threats **out);

/* One finding of this round. threat_id: stable across rounds (derived from source +
 * rule/check id + subject, e.g. package), 1 to 64 printable ASCII characters without
 * spaces; fields: the threat.detection fields (threat_name, category, severity,
 * evidence, package, app_sha256...), ownership taken. Emits a threat.detection with
 * status "active" (and source and threat_id) through emit when the finding is new or
 * its fields changed; nothing when unchanged. MTD_EINVAL for a bad threat_id or
 * fields that are not an object; otherwise what emit returned. */
int mtd_threats_seen(mtd_threats *t, const char *threat_id, json_t *fields, mtd_emit_fn emit,
                     void *ctx);

/* Emits status "resolved" for each finding active before this round and not seen in
 * it (with the fields it was last reported with). */
int mtd_threats_finish(mtd_threats *t, mtd_emit_fn emit, void *ctx);

/* For a round that looked at one subject only: resolves the findings active before
 * this round whose field key equals value (e.g. "package", "com.example") and that
 * were not seen in it. Findings of other subjects are kept. */
int mtd_threats_finish_where(mtd_threats *t, const char *key, const char *value,
                             mtd_emit_fn emit, void *ctx);

/* After the spool commit only: persists the new active set (atomic write). After
 * mtd_threats_finish() the set is what this round saw; otherwise the previous set with
 * this round's findings added and what finish_where resolved removed. */
int mtd_threats_commit(mtd_threats *t);

/* The number of findings active after this round (seen, or kept). */
size_t mtd_threats_active(const mtd_threats *t);

void mtd_threats_close(mtd_threats *t);

#endif
