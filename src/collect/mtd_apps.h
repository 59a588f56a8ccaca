/* mtd_apps: the app inventory source of a collection round, with upgrade status.
 *
 * The previous inventory is kept in the state directory (apps.json: package ->
 * version and APK digest). Against it, each round emits app.lifecycle install,
 * update and remove events, and app.inventory only for apps that are new or changed
 * (the first round reports every app), so an unchanged fleet costs nothing to report.
 * The new inventory replaces the old only after the caller confirms the round was
 * queued (mtd_apps_commit), so a crash never hides a change. */
#ifndef MTD_APPS_H
#define MTD_APPS_H

#include "collect/mtd_sources.h"

/* Emits the round's app events; *next gets the inventory to keep (caller frees). */
int mtd_apps_collect(const mtd_sources_cfg *cfg, json_t *apps, mtd_emit_fn emit, void *ctx,
                     json_t **next);
/* Saves next as the previous inventory. */
int mtd_apps_commit(const mtd_sources_cfg *cfg, json_t *next);

#endif
