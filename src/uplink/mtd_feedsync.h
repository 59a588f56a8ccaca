/* mtd_feedsync: brings the tenant's feeds (collector/mtd_feeds.h) to this device.
 *
 * Each `mtd-agent run` round asks the collector for its list of feeds (name, sha256,
 * size) and fetches each one whose local copy STATE/feeds/NAME differs, into
 * STATE/feeds/.NAME.part; only when its size and SHA-256 are those the list promised
 * is it renamed over the old copy (and the directory fsynced). A fetch that fails or
 * does not verify leaves the previous copy in force. A feed the collector no longer
 * lists is removed. What the names carry: `web` a reputation database made by
 * `mtd-agent feed compile` (or a feed it reads), `indicators` and `yara` app-scan
 * indicators and rules, `vulns` vulnerability records. */
#ifndef MTD_FEEDSYNC_H
#define MTD_FEEDSYNC_H

#include "agent/mtd_state.h"

#include <stddef.h>

#define MTD_FEEDSYNC_MAX_BYTES (256ull << 20) /* a feed larger than this is refused */

typedef struct {
    int listed, updated, unchanged, removed, failed;
} mtd_feedsync_stats;

/* One synchronisation. Returns 0 when the list was read (failed > 0 when some feed
 * could not be fetched; why names the last one), or the error of the list request. */
int mtd_feedsync(mtd_state *st, mtd_feedsync_stats *s, char *why, size_t whylen);

/* STATE/feeds/NAME, whether or not it exists. */
void mtd_feedsync_path(const mtd_state *st, const char *name, char *out, size_t outlen);

#endif
