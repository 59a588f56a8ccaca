/* mtd_statement_stores: the statement in the app stores' formats (an Apple
 * PrivacyInfo.xcprivacy, Google Play Data safety answers as CSV) and the schema as
 * JSON. The store formats declare everything the product can collect, whatever a
 * tenant's policy says now (an admin can change it); given a policy they add what it
 * sends now, in the same words as the Markdown statement (mtd_statement_int.h). */
#include "privacy/mtd_statement_int.h"

#include <stdlib.h>
#include <string.h>

void mtd_stmt_xcprivacy(mtd_buf *o, const mtd_policy *p)
{
    mtd_stmt_row rows[MTD_DK__COUNT];
    size_t n = mtd_stmt_rows(1, p, rows);
    mtd_buf_puts(o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
                    "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
                    "<plist version=\"1.0\">\n<dict>\n"
                    "\t<key>NSPrivacyTracking</key>\n\t<false/>\n"
                    "\t<key>NSPrivacyTrackingDomains</key>\n\t<array/>\n"
                    "\t<key>NSPrivacyCollectedDataTypes</key>\n\t<array>\n");
    for (size_t i = 0; i < n; i++) {
        const mtd_stmt_row *r = &rows[i];
        /* linked: every record carries the pseudonyms the organization can compute from
         * the user's name, so none of it is unlinked from the user */
        if (p)
            mtd_buf_printf(o, "\t\t<!-- your organization's current settings: %s -->\n",
                           mtd_stmt_now_name(r->now));
        mtd_buf_printf(o, "\t\t<dict>\n"
                          "\t\t\t<key>NSPrivacyCollectedDataType</key>\n"
                          "\t\t\t<string>NSPrivacyCollectedDataType%s</string>\n"
                          "\t\t\t<key>NSPrivacyCollectedDataTypeLinked</key>\n\t\t\t<true/>\n"
                          "\t\t\t<key>NSPrivacyCollectedDataTypeTracking</key>\n\t\t\t<false/>\n"
                          "\t\t\t<key>NSPrivacyCollectedDataTypePurposes</key>\n\t\t\t<array>\n",
                       r->type);
        for (int k = 0; k < r->npurpose; k++)
            mtd_buf_printf(o, "\t\t\t\t<string>NSPrivacyCollectedDataTypePurpose%s</string>\n",
                           r->purpose[k]);
        mtd_buf_puts(o, "\t\t\t</array>\n\t\t</dict>\n");
    }
    mtd_buf_puts(o, "\t</array>\n\t<key>NSPrivacyAccessedAPITypes</key>\n\t<array/>\n</dict>\n</plist>\n");
    mtd_stmt_rows_free(rows, n);
}

static void csv_cell(mtd_buf *o, const char *s, int last)
{
    mtd_buf_puts(o, "\"");
    for (; *s; s++)
        mtd_buf_printf(o, *s == '"' ? "\"\"" : "%c", *s);
    mtd_buf_puts(o, last ? "\"\n" : "\",");
}

/* One row per Google Play data type. The form asks one question per type, "required
 * or optional": optional only when users can choose for every item of it; the items
 * columns say which items are which. */
void mtd_stmt_datasafety(mtd_buf *o, const mtd_policy *p)
{
    mtd_stmt_row rows[MTD_DK__COUNT];
    size_t n = mtd_stmt_rows(0, p, rows);
    mtd_buf_printf(o, "data_category,data_type,collected,shared,processed_ephemerally,"
                      "required_or_optional,purposes,encrypted_in_transit,deletion_request,"
                      "depends_on,required_items,optional_items%s\n", p ? ",sent_now" : "");
    for (size_t i = 0; i < n; i++) {
        const mtd_stmt_row *r = &rows[i];
        char purposes[512] = "", depends[200];
        for (int k = 0; k < r->npurpose; k++)
            snprintf(purposes + strlen(purposes), sizeof purposes - strlen(purposes), "%s%s",
                     k ? "; " : "", r->purpose[k]);
        mtd_stmt_row_depends(r, depends, sizeof depends);
        csv_cell(o, r->category, 0);
        csv_cell(o, r->type, 0);
        csv_cell(o, "yes", 0);
        csv_cell(o, "no", 0); /* only to the organization's own collector */
        csv_cell(o, "no", 0);
        csv_cell(o, r->optional_only ? "optional" : "required", 0);
        csv_cell(o, purposes, 0);
        csv_cell(o, "yes", 0);
        csv_cell(o, "yes", 0);
        csv_cell(o, depends, 0);
        csv_cell(o, r->required_items.len ? (const char *)r->required_items.data : "", 0);
        csv_cell(o, r->optional_items.len ? (const char *)r->optional_items.data : "", !p);
        if (p)
            csv_cell(o, mtd_stmt_now_name(r->now), 1);
    }
    mtd_stmt_rows_free(rows, n);
}

static json_t *fields_json(const mtd_field *fs, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:s}", "name", fs[i].name,
                                           "type", mtd_ftype_name(fs[i].type), "sensitivity",
                                           mtd_sensitivity_name(fs[i].sens), "transform",
                                           mtd_transform_name(fs[i].xf), "label", fs[i].label,
                                           "required", fs[i].required, "ocsf", fs[i].ocsf));
    return a;
}

void mtd_stmt_schema_json(mtd_buf *o)
{
    json_t *evs = json_array();
    for (size_t i = 0; i < mtd_event_ntypes; i++) {
        const mtd_event_type *e = &mtd_event_types[i];
        json_array_append_new(evs, json_pack("{s:s,s:s,s:i,s:s,s:o}", "name", e->name, "category",
                                             mtd_category_name(e->category), "ocsf_class_uid",
                                             e->ocsf_class_uid, "why", e->why, "fields",
                                             fields_json(e->fields, e->nfields)));
    }
    json_t *root = json_pack("{s:i,s:o,s:o}", "schema_version", MTD_SCHEMA_VERSION, "envelope",
                             fields_json(mtd_envelope_fields, mtd_envelope_nfields), "events", evs);
    char *txt = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    mtd_buf_puts(o, txt);
    mtd_buf_puts(o, "\n");
    free(txt);
}
