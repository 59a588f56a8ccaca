/* fuzz_alertcfg: what a tenant's admin configures for alerts (a destination, a
 * suppression rule, as JSON bodies) and the operator's --alert-allow-net list: each is
 * accepted whole or refused with a reason, never read past its end. */
#include "alerts/mtd_alert_int.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[400];
    mtd_alert_nets nets;
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    mtd_alert_nets_parse(s, &nets, why, sizeof why);
    json_t *j = json_loadb((const char *)data, size, 0, NULL);
    if (json_is_object(j)) {
        mtd_alert_dest d;
        if (mtd_alert_dest_parse(j, &nets, &d, why, sizeof why) == 0) {
            if (!d.kind[0] || !d.target[0])
                abort(); /* accepted without what every destination needs */
            mtd_alert_dest_free(&d);
        }
        char kind[16], value[256], dev[64], group[MTD_GROUP_NAME_MAX + 1], reason[300];
        int64_t exp;
        mtd_alert_supp_parse(j, kind, value, sizeof value, dev, group, &exp, reason, sizeof reason, why, sizeof why);
    }
    json_decref(j);
    free(s);
    return 0;
}
