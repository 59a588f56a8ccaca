/* mtd_statement_int: the one account of what is sent, which every format of the privacy
 * statement (Markdown, PrivacyInfo.xcprivacy, Data safety) is written from, so that the
 * three cannot tell different stories.
 *
 * Each item (a field of an event, or of the envelope every record carries) is sent
 * under one condition (mtd_stmt_when), read from the schema: always, as one of the
 * tenant's policy switches allows, or only if the user chooses. Given a policy, each
 * condition has a current effect (mtd_stmt_now). Items are grouped into the data types
 * of Apple's and Google Play's declarations (mtd_stmt_row). Internal to the statement
 * generators; the rows own their buffers (mtd_stmt_rows_free). */
#ifndef MTD_STATEMENT_INT_H
#define MTD_STATEMENT_INT_H

#include "common/mtd_buf.h"
#include "privacy/mtd_policy.h"
#include "schema/mtd_schema.h"

typedef enum {
    MTD_WHEN_ALWAYS,      /* from every enrolled device */
    MTD_WHEN_URL,         /* as report_urls allows */
    MTD_WHEN_APP_DETAILS, /* as report_app_details allows */
    MTD_WHEN_CONNECTIONS, /* as report_connections and network_reporting allow */
    MTD_WHEN_OPTIONAL,    /* optional data: the tenant allows it and the user chooses */
    MTD_WHEN_USAGE,       /* exact usage counts, as usage_privacy allows */
    MTD_WHEN__COUNT
} mtd_stmt_when;

/* What a policy does to an item now, ordered from least to most sent. */
typedef enum { MTD_NOW_NOT, MTD_NOW_CHOICE, MTD_NOW_LIMITED, MTD_NOW_SENT } mtd_stmt_now;

/* ev is NULL for an envelope field. */
mtd_stmt_when mtd_stmt_item_when(const mtd_event_type *ev, const mtd_field *f);
mtd_stmt_now mtd_stmt_item_now(mtd_stmt_when w, const mtd_policy *p);
/* "as `report_connections` allows"; "" for MTD_WHEN_ALWAYS. */
const char *mtd_stmt_when_text(mtd_stmt_when w);
/* What the policy's current value sends of such an item: "only connections to threats". */
const char *mtd_stmt_now_text(mtd_stmt_when w, const mtd_policy *p);
/* How a row or item is sent now, in a few words ("sent", "not sent", ...). */
const char *mtd_stmt_now_name(mtd_stmt_now n);

/* Calls fn for every item that can be sent (dropped fields are not), the envelope
 * first (ev NULL), then each event's fields in schema order. */
typedef void (*mtd_stmt_item_fn)(const mtd_event_type *ev, const mtd_field *f, void *ctx);
void mtd_stmt_each_item(mtd_stmt_item_fn fn, void *ctx);

/* Appends "; item" to a list of labels, unless the list holds it already. */
void mtd_stmt_list_add(mtd_buf *list, const char *item);

#define MTD_STMT_PURPOSES 6

/* One data type of a store's declaration, with the items it covers. */
typedef struct {
    const char *category;  /* Google Play data category; NULL in Apple rows */
    const char *type;      /* "Web browsing history", or Apple's "BrowsingHistory" */
    const char *purpose[MTD_STMT_PURPOSES];
    int npurpose;
    int optional_only;     /* every item is optional data */
    unsigned when;         /* bit (1u << mtd_stmt_when) for each condition of its items */
    mtd_stmt_now now;      /* with a policy: the most any of its items is sent */
    mtd_buf required_items; /* "label; label (as `report_urls` allows); ..." */
    mtd_buf optional_items; /* sent only if the user chooses */
} mtd_stmt_row;

/* The rows of Google Play's data types (apple = 0) or Apple's (apple = 1) that the
 * schema uses, in the order of mtd_datakind; p may be NULL (then now is MTD_NOW_SENT).
 * Returns how many rows were filled. */
size_t mtd_stmt_rows(int apple, const mtd_policy *p, mtd_stmt_row rows[MTD_DK__COUNT]);
void mtd_stmt_rows_free(mtd_stmt_row *rows, size_t n);
/* The policy keys a row depends on: "report_connections", "some items: report_urls"
 * (when its other items are always sent), "" if none. */
void mtd_stmt_row_depends(const mtd_stmt_row *r, char *out, size_t len);

/* The store formats (mtd_statement_stores.c). */
void mtd_stmt_xcprivacy(mtd_buf *o, const mtd_policy *p);
void mtd_stmt_datasafety(mtd_buf *o, const mtd_policy *p);
void mtd_stmt_schema_json(mtd_buf *o);

#endif
