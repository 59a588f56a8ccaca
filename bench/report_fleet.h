/* report_fleet: the fleet and the reports of the reports benchmarks (bench_reports on
 * SQLite, pg_reports on PostgreSQL), so both measure the same rows and pages. */
#ifndef MTD_BENCH_REPORT_FLEET_H
#define MTD_BENCH_REPORT_FLEET_H
#include "common/mtd_buf.h"
#include "store/mtd_store.h"

#include <jansson.h>

#define RF_PAGE 1000 /* the API's default page */

extern int rf_n_dev, rf_n_app;
extern char rf_tenant[32]; /* the events' tenant_id (PostgreSQL checks it) */

void rf_device_id(int d, char out[32]);
/* One device's batch: device.info, its apps, and for 1 device in 10 three threats. */
void rf_fleet_batch(int d, mtd_buf *b);

typedef struct {
    const char *name;
    mtd_app_query q;
    int kind; /* 0 apps, 1 threats, 2 devices, 3 risk */
} rf_report;
#define RF_NREPORTS 8
#define RF_FLEET_APPS 4 /* rf_reports[RF_FLEET_APPS]: every current app */
extern const rf_report rf_reports[RF_NREPORTS];

/* One page of limit rows of report r after cursor (NULL: the first), through the
 * store's API (what the collector's routes call); its rows. */
json_t *rf_report_page(mtd_store *s, const rf_report *r, const char *cursor, int64_t limit, mtd_page *pg);

/* The median of n values (sorts t). */
double rf_median(double *t, int n);
#endif
