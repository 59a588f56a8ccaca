/* mtd_agent: the mtd-agent commands (DESIGN.md section 4). Each takes the words after
 * its name and returns the process exit code: 0 on success, otherwise non-zero after
 * printing one line naming what was wrong (mtd_agent_fail). */
#ifndef MTD_AGENT_H
#define MTD_AGENT_H

#include "agent/mtd_state.h"
#include "common/mtd_args.h"

#define MTD_AGENT_VERSION "0.1.0"
#define MTD_AGENT_PACKAGE "org.openmtd.agent"

int mtd_cmd_inventory(int argc, char **argv);
int mtd_cmd_enroll(int argc, char **argv);
int mtd_cmd_run(int argc, char **argv);
int mtd_cmd_consent(int argc, char **argv);
int mtd_cmd_privacy(int argc, char **argv);
int mtd_cmd_feedback(int argc, char **argv);
int mtd_cmd_adb_pull(int argc, char **argv);
int mtd_cmd_ios_pull(int argc, char **argv);
int mtd_cmd_threats(int argc, char **argv);
int mtd_cmd_feed(int argc, char **argv);
int mtd_cmd_url_check(int argc, char **argv);
int mtd_cmd_dns_filter(int argc, char **argv);
int mtd_cmd_vpn(int argc, char **argv);
int mtd_cmd_posture(int argc, char **argv);
int mtd_cmd_scan(int argc, char **argv);
/* The device's posture in a round of run (cmd_posture.c): *tracker to commit after the
 * spool commit, NULL when nothing was assessed. */
#include "collect/mtd_threats.h"
int mtd_agent_posture_round(const mtd_state *st, const mtd_args *a, mtd_emit_fn emit, void *ctx,
                            mtd_threats **tracker);


/* The app scan of a round of run (cmd_scan.c; apps: the round's inventory, may be
 * NULL): *scan to commit after the spool commit, NULL when no scan ran. */
#include "scan/mtd_appscan.h"
int mtd_agent_appscan_round(const mtd_state *st, const mtd_args *a, const json_t *apps,
                            mtd_emit_fn emit, void *ctx, mtd_appscan **scan);

/* Opens the state's spool (cap from the policy, encrypted at rest). */
#include "spool/mtd_spool.h"
int mtd_agent_open_spool(const mtd_state *st, mtd_spool **sp);

/* The gate-then-spool path of a collection round: mtd_agent_queue_emit is the emit
 * callback of the sources (the gate, then the spool); the caller commits the spool. */
typedef struct {
    mtd_gate gate;
    mtd_spool *spool;
    int queued;
    int err;
    /* event IDs appended and not yet committed, for the debug log (the schema caps an
     * ID at 32 characters) */
    char ids[64][33];
} mtd_agent_queue;
void mtd_agent_queue_init(mtd_agent_queue *q, const mtd_state *st, mtd_spool *sp);
int mtd_agent_queue_emit(void *q, const char *type, json_t *fields);

/* Opens the spool and passes what produce() emits through the gate into it, then
 * commits (events made outside a collection round: web protection's detections). */
#include "collect/mtd_sources.h"
int mtd_agent_queue_events(mtd_state *st, size_t (*produce)(void *pctx, mtd_emit_fn emit, void *ectx),
                           void *pctx);

/* The produce() of mtd_agent_queue_events for a mtd_webevents queue. */
size_t mtd_agent_drain_events(void *webevents, mtd_emit_fn emit, void *ctx);
/* Opens the reputation engine of --feed (pol: the tenant's lists, may be NULL). */
typedef struct mtd_rep mtd_rep;
int mtd_agent_open_rep(const mtd_args *a, const mtd_policy *pol, mtd_rep **rep);

/* Prints "mtd-agent: <message>" on stderr; returns 1. */
int mtd_agent_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "mtd-agent: usage: mtd-agent <the form of cmd>" (from --help's table), e.g.
 * cmd "feed compile"; returns 1. */
int mtd_agent_usage(const char *cmd);
/* Parses a command's options; on error prints the reason and returns non-zero. */
int mtd_agent_args(int argc, char **argv, const mtd_optspec *specs, mtd_args *a);
/* Loads the state named by --state (required); prints the reason on failure. */
int mtd_agent_state(const mtd_args *a, mtd_state *st);

#endif
