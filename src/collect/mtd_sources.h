/* mtd_sources: the sources of one collection round. Each source turns what it reads
 * into typed events (a type name and raw fields) and hands them to an emit callback;
 * a source never decides what is sent: the callback is the privacy gate.
 *
 * Sources of a round: device information (this host, an Android snapshot
 * directory, or an iOS backup), the app inventory (of the snapshot), the agent's own usage (package,
 * version, upgrade status, memory). */
#ifndef MTD_SOURCES_H
#define MTD_SOURCES_H

#include <jansson.h>

/* Takes ownership of fields. A non-zero return stops the round. */
typedef int (*mtd_emit_fn)(void *ctx, const char *type, json_t *fields);

typedef struct {
    const char *state_dir;     /* where sources keep what they compare against */
    const char *android_root;  /* NULL or "" = this host */
    const char *ios_backup;    /* an iOS backup or ios-pull snapshot instead, NULL or "" = none */
    const char *agent_version;
    const char *agent_package;
    const char *device_id_source;
    int usage_ldp;             /* tenant policy usage_privacy=ldp */
    int usage_epsilon_milli;   /* and its epsilon, x1000 */
    json_t **apps_list;        /* non-NULL: gets the round's app inventory (caller frees) */
} mtd_sources_cfg;

/* Emits every source's events. *apps_next (may be NULL) gets the app inventory to
 * keep once the round is queued (mtd_apps_commit); NULL when no app source ran. */
int mtd_sources_collect(const mtd_sources_cfg *cfg, mtd_emit_fn emit, void *ctx, json_t **apps_next);

/* The device.info fields of the configured device. */
json_t *mtd_sources_device_info(const mtd_sources_cfg *cfg);

#endif
