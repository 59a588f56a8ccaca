/* mtd_ctl: what mtdctl's command files share with its main.c: the invocation (server,
 * token, options) and the request and print helpers main.c implements. */
#ifndef MTD_CTL_H
#define MTD_CTL_H

#include "common/mtd_args.h"
#include "ctl/mtd_table.h"

#include <jansson.h>

typedef struct {
    const char *server, *token, *ca;
    int json;
    mtd_args a;
} mtd_ctl;

/* One error line on stderr (escaped); returns 1. */
int mtd_ctl_fail(const char *msg);
/* A JSON request; *out gets the 2xx answer, else an error line is printed (1). */
int mtd_ctl_call(mtd_ctl *c, const char *method, const char *path, const char *body, json_t **out);
/* A list report, paged as --limit/--offset/--all say, printed as a table or JSON. */
int mtd_ctl_list(mtd_ctl *c, const char *path, const char *key, const mtd_column *cols, size_t n);
/* Prints j (consumed): JSON with --json or when cols is NULL, else a table of j[key]. */
int mtd_ctl_print(mtd_ctl *c, json_t *j, const char *key, const mtd_column *cols, size_t n);
/* Appends ?key=value (percent-encoded) from option opt, when given. */
void mtd_ctl_query(mtd_ctl *c, char *q, size_t len, const char *opt, const char *key);

/* alerts, alert, suppress, integration, risk-changes (mtd_ctl_alerts.c): the exit code,
 * or -1 when pos[0] is none of them. */
int mtd_ctl_alerts(mtd_ctl *c, int np, const char **pos);
/* group list, device group|ungroup (mtd_ctl_groups.c): the exit code, or -1. */
int mtd_ctl_groups(mtd_ctl *c, int np, const char **pos);
/* oidc set|show|remove (mtd_ctl_oidc.c): the exit code, or -1. */
int mtd_ctl_oidc(mtd_ctl *c, int np, const char **pos);
/* {KEY: VALUE} of KEY=VALUE words (VALUE as JSON when it parses); NULL when a word has
 * no '='. */
json_t *mtd_ctl_policy_keys(int n, const char **words);

#endif
