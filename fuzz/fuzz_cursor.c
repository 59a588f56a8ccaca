/* fuzz_cursor: a page's ?cursor= as a client may send it, read by every report's
 * keyset on both backends. A cursor is read only into bound parameters: when one is
 * accepted, the SQL must be exactly the SQL any other accepted cursor gives. */
#include "store/mtd_store_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void build(const mtd_keyset *ks, int pgsql, const char *cursor, mtd_buf *b, int *r)
{
    mtd_page pg = {.limit = 10, .cursor = cursor};
    const char *p[16] = {"x"};
    int n = 1;
    mtd_cursor_vals cv;
    mtd_buf_init(b, 0);
    *r = mtd_keyset_sql(b, "SELECT * FROM t WHERE a=?1", ks, &pg, pgsql, &n, p, &cv);
    if (*r == 0 && n != 1 + ks->n)
        abort(); /* every key is a parameter */
    if (*r != 0 && !pg.bad_cursor)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const mtd_keyset *const all[] = {&mtd_apps_keys, &mtd_threat_keys, &mtd_crash_keys,
                                            &mtd_device_keys, &mtd_id_keys, &mtd_row_keys};
    char *cursor = malloc(size + 1);
    memcpy(cursor, data, size);
    cursor[size] = 0;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        for (int pgsql = 0; pgsql < 2; pgsql++) {
            mtd_buf got, ref;
            int r, rr;
            build(all[i], pgsql, cursor, &got, &r);
            if (r == 0) { /* the same SQL as for a cursor made by the store */
                json_t *row = json_object();
                for (int k = 0; k < all[i]->n; k++) {
                    char name[8];
                    snprintf(name, sizeof name, "_k%d", k);
                    json_object_set_new(row, name, all[i]->k[k].integer ? json_integer(7) : json_string("a"));
                }
                json_t *rows = json_pack("[oo]", json_deep_copy(row), row);
                mtd_page pg = {.limit = 1};
                mtd_keyset_done(rows, all[i], &pg);
                json_decref(rows);
                build(all[i], pgsql, pg.next_cursor, &ref, &rr);
                if (rr != 0 || got.len != ref.len || memcmp(got.data, ref.data, got.len))
                    abort();
                mtd_buf_free(&ref);
            }
            mtd_buf_free(&got);
        }
    free(cursor);
    return 0;
}
