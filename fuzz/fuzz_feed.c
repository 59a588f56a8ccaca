/* fuzz_feed: every threat feed reader (hosts, lists, URLhaus CSV, PhishTank CSV and
 * JSON, STIX 2.1) on the same input, each forced, then compiled into a database that
 * is opened and looked up in. */
#include "common/mtd_err.h"
#include "webprot/mtd_feed.h"
#include "webprot/mtd_repdb.h"

#include <stdint.h>
#include <stdlib.h>

static int on_ind(void *ctx, const mtd_indicator *ind, size_t line)
{
    mtd_url_expr e = mtd_url_entry(ind->url);
    return mtd_repdb_builder_add(ctx, ind->url->buf + e.off, e.len, ind->threat_name, ind->category,
                                 ind->allow) == MTD_ENOMEM;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mtd_repdb_builder *b = mtd_repdb_builder_new();
    if (!b)
        return 0;
    mtd_feed_sink sink = {on_ind, NULL, b};
    mtd_feed_stats st;
    char why[300];
    for (int f = 0; f < MTD_FEED_NFORMATS; f++)
        mtd_feed_parse_format((mtd_feed_format)f, data, size, "fuzz/phish.txt", &sink, &st, why, sizeof why);
    mtd_feed_parse(data, size, "fuzz", &sink, &st, why, sizeof why);
    uint8_t *db;
    size_t len;
    mtd_repdb *r;
    if (mtd_repdb_builder_finish(b, &db, &len) == 0 && mtd_repdb_open_mem(db, len, &r, why, sizeof why) == 0) {
        mtd_repdb_find(r, mtd_repdb_hash(r, "a/", 2));
        mtd_repdb_close(r);
    }
    mtd_repdb_builder_free(b);
    return 0;
}
