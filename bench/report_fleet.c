/* report_fleet: the fleet of the reports benchmarks. 100 apps on every device, the
 * others each from a pool of 100 packages, READ_SMS held by 1 app in 200, 1 app in 100
 * sideloaded, and 1 device in 10 with two active threats and a resolved one. */
#include "report_fleet.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int rf_n_dev = 5000, rf_n_app = 300;
char rf_tenant[32] = "t_bench";

void rf_device_id(int d, char out[32]) { snprintf(out, 32, "ps_dev%019d", d); }

void rf_fleet_batch(int d, mtd_buf *b)
{
    char dev[32], env[128];
    rf_device_id(d, dev);
    mtd_buf_reset(b);
    snprintf(env, sizeof env, "\"schema\":1,\"time\":\"2026-11-24T10:00:00Z\",\"tenant_id\":\"%s\"", rf_tenant);
    uint32_t seed = (uint32_t)d * 2654435761u + 1;
    mtd_buf_printf(b, "{\"event\":\"device.info\",%s,\"event_id\":\"I%d\",\"device_id\":\"%s\","
                      "\"os_name\":\"Android\",\"os_version\":\"14\",\"model\":\"Pixel 8\","
                      "\"device_id_source\":\"android_id\"}\n", env, d, dev);
    for (int a = 0; a < rf_n_app; a++) {
        seed = seed * 1103515245u + 12345u;
        /* the first 100 apps are on every device; the others each come from a pool of 100 */
        int pkg = a < 100 ? a : 100 + (a - 100) * 100 + (int)((seed >> 8) % 100);
        int sms = seed % 200 == 0, side = (seed >> 3) % 100 == 0;
        mtd_buf_printf(b,
            "{\"event\":\"app.inventory\",%s,\"event_id\":\"A%d.%d\",\"device_id\":\"%s\","
            "\"package\":\"com.example.app%d\",\"version_code\":%d,\"version_name\":\"1.%d\","
            "\"install_source\":\"%s\",\"apk_sha256\":\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\","
            "\"permissions\":[\"android.permission.INTERNET\"%s],\"is_system\":false}\n",
            env, d, a, dev, pkg, a, a, side ? "com.android.chrome" : "com.android.vending",
            sms ? ",\"android.permission.READ_SMS\"" : "");
    }
    if (d % 10 == 0)
        for (int t = 0; t < 3; t++)
            mtd_buf_printf(b,
                "{\"event\":\"threat.detection\",%s,\"event_id\":\"T%d.%d\",\"device_id\":\"%s\","
                "\"threat_name\":\"%s\",\"category\":\"adware\",\"severity\":\"%s\",\"source\":\"app\","
                "\"evidence\":\"rule\",\"status\":\"%s\",\"package\":\"com.example.app%d\"}\n",
                env, d, t, dev, t == 0 ? "Adware.Generic" : "Trojan.SMS", t == 0 ? "low" : "high",
                t == 2 ? "resolved" : "active", t);
}

const rf_report rf_reports[RF_NREPORTS] = {
    {"apps holding READ_SMS (fleet)", {.permission = "android.permission.READ_SMS"}, 0},
    {"sideloaded apps (fleet)", {.sideloaded = 1}, 0},
    {"who has com.example.app7", {.package = "com.example.app7"}, 0},
    {"apps of one device", {.device_id = "ps_dev0000000000000000042"}, 0},
    {"every current app (fleet)", {0}, 0},
    {"active threats (fleet)", {0}, 1},
    {"devices with risk", {0}, 2},
    {"risk of one device", {0}, 3},
};

json_t *rf_report_page(mtd_store *s, const rf_report *r, const char *cursor, int64_t limit, mtd_page *pg)
{
    *pg = (mtd_page){.limit = limit, .cursor = cursor};
    char dev[32];
    rf_device_id(10, dev);
    switch (r->kind) {
    case 0: return mtd_store_apps(s, &r->q, pg);
    case 1: return mtd_store_threats(s, "active", NULL, pg);
    case 2: return mtd_store_devices(s, pg);
    default: {
        json_t *o = NULL, *t = NULL;
        pg->more = 0;
        if (mtd_store_device_risk(s, dev, &o) == 0)
            t = json_incref(json_object_get(o, "threats"));
        json_decref(o);
        return t;
    }
    }
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double rf_median(double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, cmp_d);
    return t[n / 2];
}
