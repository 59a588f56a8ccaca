/* cmd_privacy: `mtd-agent privacy ledger|queued|statement`: what left this device,
 * what waits to leave, and what may ever leave. */
#include "agent/mtd_agent.h"
#include "usage/mtd_actions.h"
#include "common/mtd_err.h"
#include "common/mtd_file.h"
#include "posture/mtd_posture.h"
#include "privacy/mtd_statement.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int show_ledger(const mtd_state *st)
{
    char path[1200];
    mtd_state_path(st, "ledger.jsonl", path, sizeof path);
    uint8_t *data;
    size_t len;
    int r = mtd_file_read(path, 1u << 30, &data, &len);
    if (r == MTD_ENOENT) {
        printf("nothing has left this device yet\n");
        return 0;
    }
    if (r)
        return mtd_agent_fail("%s: %s", path, mtd_strerror(r));
    fwrite(data, 1, len, stdout);
    free(data);
    return 0;
}

static int show_queued(const mtd_state *st)
{
    mtd_spool *sp;
    if (mtd_agent_open_spool(st, &sp))
        return 1;
    mtd_spool_batch b;
    int r = mtd_spool_peek(sp, SIZE_MAX, SIZE_MAX, &b);
    if (r == 0) {
        for (size_t i = 0; i < b.n; i++)
            printf("%.*s\n", (int)b.recs[i].len, (const char *)b.recs[i].data);
        if (b.n == 0)
            printf("nothing is waiting to be sent\n");
        mtd_spool_batch_free(&b);
    }
    mtd_spool_close(sp);
    return r ? mtd_agent_fail("cannot read the spool: %s", mtd_strerror(r)) : 0;
}

/* The statement needs no enrollment; with --state it adds the tenant's settings. */
static int show_statement(const mtd_args *a)
{
    mtd_stmt_format f;
    if (mtd_statement_format_parse(mtd_args_get(a, "--format"), &f) != 0)
        return mtd_agent_fail("--format %s: expected md, xcprivacy, datasafety or schema",
                              mtd_args_get(a, "--format"));
    mtd_state st;
    if (mtd_args_get(a, "--state") && mtd_agent_state(a, &st))
        return 1;
    mtd_buf b, checks;
    mtd_buf_init(&b, 0);
    mtd_buf_init(&checks, 0);
    mtd_posture_statement_md(&checks);
    mtd_buf_append(&checks, "", 1); /* a C string */
    mtd_statement_with_checks(f, mtd_args_get(a, "--state") ? &st.policy : NULL, (const char *)checks.data, &b);
    mtd_buf_free(&checks);
    if (mtd_args_get(a, "--state")) /* opened by this enrolled device's user */
        mtd_actions_record(st.dir, MTD_ACTION_STATEMENT_VIEWED);
    fwrite(b.data, 1, b.len, stdout);
    mtd_buf_free(&b);
    return 0;
}

int mtd_cmd_privacy(int argc, char **argv)
{
    static const mtd_optspec specs[] = {{"--state", MTD_ARG_ONE}, {"--format", MTD_ARG_ONE}, {NULL, 0}};
    mtd_args a;
    if (mtd_agent_args(argc, argv, specs, &a))
        return 1;
    if (a.npos != 1)
        return mtd_agent_fail("privacy needs one of statement, ledger, queued");
    mtd_state st;
    if (!strcmp(a.pos[0], "ledger"))
        return mtd_agent_state(&a, &st) ? 1 : (mtd_actions_record(st.dir, MTD_ACTION_LEDGER_VIEWED), show_ledger(&st));
    if (!strcmp(a.pos[0], "queued"))
        return mtd_agent_state(&a, &st) ? 1 : show_queued(&st);
    if (!strcmp(a.pos[0], "statement"))
        return show_statement(&a);
    return mtd_agent_fail("privacy: unknown action \"%s\" (statement, ledger, queued)", a.pos[0]);
}
