#!/usr/bin/env bash
# Nothing lost, nothing twice (issue 5), with real processes: the agent killed with
# SIGKILL at random points while it collects and uploads (100 rounds), the collector
# killed with SIGKILL during ingest (50 rounds), the collector down for a while. The
# agent logs "spooled event_id=..." only after the spool commit that made an event
# durable; afterwards every such event is stored exactly once.
source "$(dirname "$0")/lib.sh"
ROUNDS_AGENT=${MTD_DURABILITY_AGENT_ROUNDS:-100}
ROUNDS_COLLECTOR=${MTD_DURABILITY_COLLECTOR_ROUNDS:-50}

DATA=$WORK/data
start_collector "$DATA"
PORT=${URL##*:}
TOK=$("$BIN/mtdctl" --server "$URL" --token "$OPERATOR_TOKEN" tenant create durable --json)
T=$(jq -r .tenant_id <<<"$TOK")
ST=$WORK/agent
"$BIN/mtd-agent" enroll --state "$ST" --server "$URL" --token "$(jq -r .enroll_token <<<"$TOK")" >/dev/null
LOG=$WORK/agent.log
DB=$DATA/tenants/$T/store.sqlite
agent_round() { MTD_LOG=debug "$BIN/mtd-agent" run --state "$ST" --once >/dev/null 2>>"$LOG"; }

# check_exactly_once: every event the agent said it spooled is stored, and once
check_exactly_once() {
    grep -o 'spooled event_id=[A-Za-z0-9_-]*' "$LOG" | cut -d= -f2 | sort -u >"$WORK/spooled"
    : >"$WORK/stored"
    for t in $(sqlite3 "$DB" "select name from sqlite_master where type='table' and name like 'ev_%'"); do
        sqlite3 "$DB" "select event_id from $t" >>"$WORK/stored"
    done
    sort "$WORK/stored" >"$WORK/stored.sorted"
    [ "$(uniq -d "$WORK/stored.sorted" | wc -l)" = 0 ] || fail "events stored twice: $(uniq -d "$WORK/stored.sorted" | head -3)"
    missing=$(comm -23 "$WORK/spooled" "$WORK/stored.sorted" | wc -l)
    [ "$missing" = 0 ] || fail "$missing spooled events were lost: $(comm -23 "$WORK/spooled" "$WORK/stored.sorted" | head -3)"
    echo "$(wc -l <"$WORK/spooled")"
}

# how long one round takes here: kills land uniformly within it
t0=$(date +%s%N); agent_round || fail "first round: $(tail -1 "$LOG")"; t1=$(date +%s%N)
RUN_MS=$(( (t1 - t0) / 1000000 + 1 ))
delay() { printf '%d.%03d' $(( $1 / 1000 )) $(( $1 % 1000 )); }

# 1. the agent killed at random points
killed=0
for i in $(seq 1 "$ROUNDS_AGENT"); do
    MTD_LOG=debug "$BIN/mtd-agent" run --state "$ST" --once >/dev/null 2>>"$LOG" &
    pid=$!
    # uniformly within the first three quarters of a round: most kills land mid-round
    d=$((RANDOM % (RUN_MS * 3 / 4 + 1)))
    sleep "$(delay "$d")"
    if kill -9 "$pid" 2>/dev/null; then
        killed=$((killed + 1))
    elif [ "$d" -gt 10 ]; then
        # the round ended within d ms: the first round was timed slow (a busy machine),
        # so the window shrinks to this round's length, or the kills stop landing
        RUN_MS=$((d * 4 / 3))
    fi
    wait "$pid" 2>/dev/null || true
done
agent_round || fail "the agent could not drain its spool after the kills: $(tail -2 "$LOG")"
n=$(check_exactly_once)
[ "$n" -gt 0 ] || fail "no event was spooled"
[ "$killed" -ge $((ROUNDS_AGENT * 3 / 10)) ] || fail "only $killed of $ROUNDS_AGENT kills landed while the agent ran"
ok "agent killed $killed times in $ROUNDS_AGENT rounds (one round takes ${RUN_MS} ms): all $n spooled events stored exactly once"

# 2. the collector killed during ingest; the agent queues more before each round
kill_collector() { kill -9 "$COLLECTOR_PID" 2>/dev/null; wait "$COLLECTOR_PID" 2>/dev/null || true; COLLECTOR_PID=""; }
restart_collector() {
    "$BIN/mtd-collector" --data "$DATA" --listen "127.0.0.1:$PORT" >/dev/null 2>>"$WORK/collector.log" &
    COLLECTOR_PID=$!
    for _ in $(seq 1 100); do curl -s -o /dev/null "$URL/healthz" && return 0; sleep 0.02; done
    fail "collector did not restart on port $PORT"
}
for i in $(seq 1 "$ROUNDS_COLLECTOR"); do
    MTD_LOG=debug "$BIN/mtd-agent" run --state "$ST" --once --no-upload >/dev/null 2>>"$LOG"
    MTD_LOG=debug "$BIN/mtd-agent" run --state "$ST" --once >/dev/null 2>>"$LOG" &
    pid=$!
    sleep "$(delay $((RANDOM % RUN_MS)))"
    kill_collector
    wait "$pid" 2>/dev/null || true
    restart_collector
done
agent_round || fail "the agent could not drain after the collector kills: $(tail -2 "$LOG")"
sqlite3 "$DB" "pragma integrity_check" | grep -qx ok || fail "the store is damaged"
n=$(check_exactly_once)
ok "collector killed $ROUNDS_COLLECTOR times during ingest: all $n spooled events stored exactly once, store intact"

# 3. the collector down for a while
kill_collector
for i in 1 2 3 4 5; do
    if MTD_LOG=debug "$BIN/mtd-agent" run --state "$ST" --once >/dev/null 2>>"$LOG"; then
        fail "run --once succeeded with the collector down"
    fi
done
"$BIN/mtd-agent" privacy queued --state "$ST" | grep -c '"event":"device.info"' | grep -qx 5 || fail "privacy queued does not show the 5 queued device records"
restart_collector
agent_round || fail "drain after the outage"
n=$(check_exactly_once)
[ "$("$BIN/mtd-agent" privacy queued --state "$ST")" = "nothing is waiting to be sent" ] || fail "the spool is not empty after the drain"
ok "collector down for 5 rounds: 15 events queued (privacy queued shows them), then all $n stored once"
finish
