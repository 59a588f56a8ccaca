/* cmd_webprot: `mtd-agent feed compile` and `mtd-agent url-check` (DESIGN.md section
 * 4): threat feeds into the reputation database, and verdicts for URLs. With --state,
 * url-check applies the tenant's own lists and reports a block as a detection through
 * the privacy gate into the spool (webprot/mtd_webevents.h). */
#include "agent/mtd_agent.h"
#include "common/mtd_err.h"
#include "common/mtd_file.h"
#include "webprot/mtd_rep.h"
#include "webprot/mtd_urlapi.h"
#include "webprot/mtd_webevents.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A policy file (the JSON of `mtdctl policy get`) for its web_allow / web_block. */
static int load_policy(const char *path, mtd_policy *p)
{
    uint8_t *data;
    size_t len;
    char why[300];
    mtd_policy_default(p);
    int r = mtd_file_read(path, 1u << 20, &data, &len);
    if (r)
        return mtd_agent_fail("--policy %s: %s", path, mtd_strerror(r));
    json_error_t e;
    json_t *j = json_loadb((const char *)data, len, 0, &e);
    free(data);
    if (!j)
        return mtd_agent_fail("--policy %s: not JSON: %s at line %d", path, e.text, e.line);
    r = mtd_policy_from_json(p, j, why, sizeof why);
    json_decref(j);
    return r ? mtd_agent_fail("--policy %s: %s", path, why) : 0;
}

static int feed_compile(int argc, char **argv)
{
    static const mtd_optspec specs[] = {{"--out", MTD_ARG_ONE}, {"--policy", MTD_ARG_ONE},
                                        {"--quiet", MTD_ARG_FLAG}, {NULL, 0}};
    static mtd_args a;
    if (mtd_agent_args(argc, argv, specs, &a))
        return 1;
    const char *out = mtd_args_get(&a, "--out");
    if (!out || a.npos == 0)
        return mtd_agent_usage("feed compile");
    static mtd_policy pol;
    if (mtd_args_get(&a, "--policy") && load_policy(mtd_args_get(&a, "--policy"), &pol))
        return 1;
    mtd_rep_compile_opts o = {.log = mtd_args_has(&a, "--quiet") ? NULL : stderr};
    char why[600];
    if (mtd_rep_compile(out, a.pos, a.npos, mtd_args_get(&a, "--policy") ? &pol : NULL, &o, why,
                        sizeof why) != 0)
        return mtd_agent_fail("feed compile: %s", why);
    mtd_repdb *db;
    mtd_repdb_info info;
    if (mtd_repdb_open(out, &db, why, sizeof why) != 0)
        return mtd_agent_fail("feed compile: %s: %s", out, why);
    mtd_repdb_info_get(db, &info);
    mtd_repdb_close(db);
    printf("%s: %u entries (%u block, %u allow), %u threat names, %llu bytes\n", out, info.entries,
           info.block, info.allow, info.records, (unsigned long long)info.file_size);
    return 0;
}

int mtd_cmd_feed(int argc, char **argv)
{
    if (argc >= 1 && !strcmp(argv[0], "compile"))
        return feed_compile(argc - 1, argv + 1);
    return mtd_agent_usage("feed compile");
}

/* url-check's --feed takes every word up to the next option, URLs included: the words
 * that name files are feeds, and the URLs start at the first that does not. The first
 * word is a feed whatever it names, so that a mistyped feed is reported as the file
 * it is, not taken for a URL (which left "--feed is required"). */
static void split_feeds(mtd_args *a)
{
    int seen = 0, first = 1;
    for (int i = 0; i < a->n; i++) {
        if (strcmp(a->name[i], "--feed") || !a->val[i])
            continue;
        if (first) {
            first = 0;
            continue;
        }
        FILE *f = seen ? NULL : fopen(a->val[i], "rb");
        if (f) {
            fclose(f);
            continue;
        }
        seen = 1;
        if (a->npos < MTD_ARGS_MAX)
            a->pos[a->npos++] = a->val[i];
        a->name[i] = "--url";
    }
}

int mtd_cmd_url_check(int argc, char **argv)
{
    static const mtd_optspec specs[] = {{"--feed", MTD_ARG_MANY}, {"--json", MTD_ARG_FLAG},
                                        {"--state", MTD_ARG_ONE}, {NULL, 0}};
    static mtd_args a;
    static mtd_state st;
    if (mtd_agent_args(argc, argv, specs, &a))
        return 1;
    split_feeds(&a);
    if (a.npos == 0)
        return mtd_agent_usage("url-check");
    int with_state = mtd_args_get(&a, "--state") != NULL;
    if (with_state && mtd_agent_state(&a, &st))
        return 1;
    mtd_rep *rep;
    if (mtd_agent_open_rep(&a, with_state ? &st.policy : NULL, &rep))
        return 1;
    mtd_webevents *we = with_state ? mtd_webevents_new(&st.policy) : NULL;
    int rc = 0;
    static mtd_rep_result res;
    for (int i = 0; i < a.npos; i++) {
        const char *why;
        if (mtd_rep_check_url(rep, a.pos[i], strlen(a.pos[i]), &res, &why) != 0) {
            rc = mtd_agent_fail("url-check: \"%.200s\": %s", a.pos[i], why);
            continue;
        }
        json_t *o = mtd_urlapi_verdict_json(a.pos[i], &res);
        char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (mtd_args_has(&a, "--json"))
            puts(s);
        else
            printf("%s  %s%s%.*s\n", res.block ? "BLOCK" : "allow", a.pos[i], res.block ? "  " : "",
                   res.block ? (int)res.rec.name_len : 0, res.block ? res.rec.name : "");
        free(s);
        json_decref(o);
        if (we && res.block)
            mtd_webevents_url_block(we, a.pos[i], &res, "mtd-agent url-check");
    }
    if (we && mtd_webevents_pending(we) && mtd_agent_queue_events(&st, mtd_agent_drain_events, we) != 0)
        rc = 1;
    mtd_webevents_free(we);
    mtd_rep_close(rep);
    return rc;
}
