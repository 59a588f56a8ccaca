/* mtd_actions: the actions a person takes in the agent (DESIGN.md: "actions performed
 * in the agent"), from a fixed list and with no free text, recorded where they happen
 * and reported by the next round as usage.action counts.
 *
 * A command records an action by appending its index to STATE/actions.pending (one
 * byte-sized line under an exclusive lock; a command may run while `run` holds the
 * spool). A round takes the file (renamed to actions.sending), emits one usage.action
 * per action with how many times it happened, and deletes it once the round is
 * durable; a round that fails leaves it for the next. Under the tenant policy
 * usage_privacy=ldp the counts never leave the device as such: the round hands them
 * to the local differential privacy report instead (mtd_ldp.h). */
#ifndef MTD_ACTIONS_H
#define MTD_ACTIONS_H

#include "collect/mtd_sources.h"

/* The fixed list, in the order of the schema's usage.action enum and of the LDP
 * report's bits. */
typedef enum {
    MTD_ACTION_ENROLL,
    MTD_ACTION_CONSENT_GRANT,
    MTD_ACTION_CONSENT_REVOKE,
    MTD_ACTION_FEEDBACK_SENT,
    MTD_ACTION_SCAN_REQUESTED,
    MTD_ACTION_THREAT_VIEWED,
    MTD_ACTION_VPN_ON,
    MTD_ACTION_VPN_OFF,
    MTD_ACTION_STATEMENT_VIEWED,
    MTD_ACTION_LEDGER_VIEWED,
    MTD_ACTION__COUNT
} mtd_action;

/* The schema's name of an action ("ledger_viewed"). */
const char *mtd_action_name(mtd_action a);

/* Records one action in state_dir; 0 or a negative code (recording never stops the
 * action itself: callers ignore a failure). */
int mtd_actions_record(const char *state_dir, mtd_action a);

/* The round's actions: counts[a] set for every action (0 when none); 0 or negative.
 * mtd_actions_commit forgets them once the round is durable. */
int mtd_actions_take(const char *state_dir, long counts[MTD_ACTION__COUNT]);
void mtd_actions_commit(const char *state_dir);

/* The round's usage.action events (one per action that happened, with its count),
 * or, under usage_privacy=ldp, the day's local differential privacy report. */
int mtd_actions_collect(const mtd_sources_cfg *cfg, mtd_emit_fn emit, void *ctx);

#endif
