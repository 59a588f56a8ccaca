/* mtd_statement: privacy statements generated from the schema table, so what the
 * product says it collects is exactly what its code can send.
 *
 *   MD          a product privacy page: required data, optional data, each item and why
 *   XCPRIVACY   an Apple PrivacyInfo.xcprivacy property list
 *   DATASAFETY  Google Play Data safety answers, as CSV
 *   SCHEMA      the schema itself as JSON, for tools and tests that check what is sent
 *
 * Every format declares everything the product can send; with a tenant's policy each
 * also says what that policy sends now (all three from one account of the schema,
 * mtd_statement_int.h). The caller owns the output buffer. */
#ifndef MTD_STATEMENT_H
#define MTD_STATEMENT_H

#include "common/mtd_buf.h"
#include "privacy/mtd_policy.h"

typedef enum { MTD_STMT_MD, MTD_STMT_XCPRIVACY, MTD_STMT_DATASAFETY, MTD_STMT_SCHEMA } mtd_stmt_format;

int mtd_statement_format_parse(const char *s, mtd_stmt_format *f);
/* policy may be NULL (the generic statement, as in docs/privacy.md). */
int mtd_statement(mtd_stmt_format f, const mtd_policy *policy, mtd_buf *out);
/* The same, with checks_md (Markdown, may be NULL) as the Markdown statement's account
 * of the device checks: the agent passes mtd_posture_statement_md's, which this
 * library cannot link (the checks live with the agent). The other formats ignore it:
 * what a finding sends is a threat.detection, declared like every event. */
int mtd_statement_with_checks(mtd_stmt_format f, const mtd_policy *policy, const char *checks_md,
                              mtd_buf *out);

#endif
