#!/usr/bin/env bash
# Scale-out, nothing lost or doubled (issue 21, item 5): a real PostgreSQL
# (tests/with-postgres.sh), three mtd-collectors on it, Debian's nginx in front of them
# as the load balancer (HTTPS), and 200 real mtd-agent processes uploading through
# nginx, each a phone of its own (a snapshot directory, so its own device ID), round
# after round. During the ingest one collector is killed with SIGKILL (and started
# again later) and PostgreSQL is restarted once. Afterwards every event an agent
# spooled (it logs "spooled event_id=..." only once the spool commit made it durable)
# is stored exactly once, under that agent's device, every batch key once, and no
# agent has anything in rejected.jsonl.
#
#   with-postgres.sh bash test_scale.sh     (ctest: scale/test_scale)
#   MTD_SCALE_AGENTS (200), MTD_SCALE_ROUNDS (6): smaller for a quick look
MTD_TEST_STORE=postgresql
export LC_ALL=C # sort and comm in the order PostgreSQL (initdb --no-locale) sorts
source "$(dirname "$0")/../e2e/lib.sh"
source "$(dirname "$0")/scale.sh"
AGENTS=${MTD_SCALE_AGENTS:-200}
ROUNDS=${MTD_SCALE_ROUNDS:-6}
S=$WORK/scale
trap 'scale_stop "$S"; cleanup' EXIT

# 1. three collectors, nginx in front, a tenant; the agents enroll through nginx
mkdir -p "$S"
for i in 1 2 3; do scale_collector "$S" "$i" || fail "collector $i"; done
scale_nginx "$S" 3 || fail "nginx"
LB=$(cat "$S/lb.url")
CA=$S/tls/lb.crt
OPERATOR_TOKEN=$(cat "$S/c1/operator.token")
URL=$LB
ctl() { "$BIN/mtdctl" --server "$URL" --ca-file "$CA" "$@"; }
new_tenant scale
mkdir -p "$WORK/ag"
for a in $(seq 1 "$AGENTS"); do
    mkdir -p "$WORK/ag/phone$a"
    printf 'ro.build.version.release=14\nro.product.model=Pixel 8\n' >"$WORK/ag/phone$a/getprop.txt"
done
enroll_one() {
    "$BIN/mtd-agent" enroll --state "$WORK/ag/$1" --server "$LB" --ca-file "$CA" --token "$ENR" \
        --android-root "$WORK/ag/phone$1" >/dev/null 2>>"$WORK/ag/enroll.log" || echo "agent $1" >>"$WORK/ag/enroll.failed"
}
export -f enroll_one
export BIN WORK LB CA ENR
seq 1 "$AGENTS" | xargs -P 4 -I{} bash -c 'enroll_one {}'
[ ! -s "$WORK/ag/enroll.failed" ] || fail "enrollment failed: $(head -3 "$WORK/ag/enroll.log")"
for a in $(seq 1 "$AGENTS"); do jq -r .device_id "$WORK/ag/$a/agent.json"; done | sort -u >"$WORK/devices"
assert_eq "$AGENTS" "$(wc -l <"$WORK/devices")" "device IDs of $AGENTS agents"
ok "3 collectors on one PostgreSQL behind nginx; $AGENTS agents enrolled through it"

# 2. every agent uploads round after round; meanwhile a collector dies and PG restarts
agent_loop() {
    local a=$1 r
    for r in $(seq 1 "$ROUNDS"); do
        MTD_LOG=debug "$BIN/mtd-agent" run --state "$WORK/ag/$a" --once >/dev/null 2>>"$WORK/ag/$a.log" || true
        echo "$a $r" >>"$WORK/progress"
        sleep "0.$((RANDOM % 10))"
    done
}
: >"$WORK/progress"
pids=()
for a in $(seq 1 "$AGENTS"); do
    agent_loop "$a" &
    pids+=($!)
done
TOTAL=$((AGENTS * ROUNDS))
# wait_progress PERCENT: until that share of all rounds is done
wait_progress() {
    while [ "$(wc -l <"$WORK/progress")" -lt $((TOTAL * $1 / 100)) ]; do sleep 0.1; done
}
wait_progress 20
scale_kill9 "$S" 2
KILLED_AT=$(date +%s.%N)
echo "collector 2 killed with SIGKILL after $(wc -l <"$WORK/progress") of $TOTAL rounds"
wait_progress 40
scale_collector "$S" 2 "$(cat "$S/c2/port")" || fail "collector 2 did not start again"
echo "collector 2 started again after $(wc -l <"$WORK/progress") rounds"
wait_progress 60
$MTD_PG_CTL -m immediate -w -t 60 restart -l "$MTD_PG_DIR/server.log" >/dev/null || fail "PostgreSQL did not restart"
echo "PostgreSQL restarted (immediate: as after a crash) after $(wc -l <"$WORK/progress") rounds"
for p in "${pids[@]}"; do wait "$p"; done
ok "$TOTAL rounds of $AGENTS agents through nginx; a collector killed -9 and started again, PostgreSQL restarted"

# 3. each agent drains what it still has queued (through nginx, the set-up whole again)
undrained=0
for a in $(seq 1 "$AGENTS"); do
    for try in 1 2 3 4 5; do
        MTD_LOG=debug "$BIN/mtd-agent" run --state "$WORK/ag/$a" --once >/dev/null 2>>"$WORK/ag/$a.log" &&
            [ "$("$BIN/mtd-agent" privacy queued --state "$WORK/ag/$a")" = "nothing is waiting to be sent" ] && break
        [ "$try" = 5 ] && { undrained=$((undrained + 1)); echo "agent $a: $(tail -2 "$WORK/ag/$a.log")" >&2; }
        sleep 1
    done
done
assert_eq 0 "$undrained" "agents whose spool could not be drained"
ok "every agent's spool drained"

# 4. nothing rejected (a batch a collector refused with a 4xx is in rejected.jsonl)
rejected=$(find "$WORK/ag" -name rejected.jsonl -exec cat {} + | wc -l)
[ "$rejected" = 0 ] || fail "$rejected records in the agents' rejected.jsonl: $(grep -h 'rejected:' "$WORK"/ag/*.log | sort | uniq -c | sort -rn | head -3)"

# 5. exactly once: the pairs (device, event) the agents spooled against those stored
for a in $(seq 1 "$AGENTS"); do
    d=$(jq -r .device_id "$WORK/ag/$a/agent.json")
    q=$(grep -o 'run queued=[0-9]*' "$WORK/ag/$a.log" | awk -F= '{s += $2} END {print s + 0}')
    n=$(grep -c 'spooled event_id=' "$WORK/ag/$a.log" || true)
    [ "$q" = "$n" ] || fail "agent $a queued $q events but logged $n event IDs"
    grep -o 'spooled event_id=[A-Za-z0-9_-]*' "$WORK/ag/$a.log" | sed "s/^spooled event_id=/$d /"
done | sort >"$WORK/spooled"
sql=""
for t in $(store_event_tables "$T"); do sql="$sql${sql:+ union all }select device_id || ' ' || event_id from $t"; done
store_sql "$T" "$sql" | sort >"$WORK/stored"
SPOOLED=$(wc -l <"$WORK/spooled")
[ "$SPOOLED" -ge $((AGENTS * ROUNDS)) ] || fail "only $SPOOLED events spooled by $AGENTS agents in $ROUNDS rounds"
dups=$(cut -d' ' -f2 "$WORK/stored" | sort | uniq -d | wc -l)
assert_eq 0 "$dups" "event IDs stored more than once"
lost=$(comm -23 "$WORK/spooled" "$WORK/stored" | wc -l)
extra=$(comm -13 "$WORK/spooled" "$WORK/stored" | wc -l)
[ "$lost" = 0 ] || fail "$lost of $SPOOLED spooled events not stored: $(comm -23 "$WORK/spooled" "$WORK/stored" | head -3 | tr '\n' ' ')"
[ "$extra" = 0 ] || fail "$extra stored events no agent spooled: $(comm -13 "$WORK/spooled" "$WORK/stored" | head -3 | tr '\n' ' ')"
# per device: the counts in the tenant's schema against each agent's own
sql=""
for t in $(store_event_tables "$T"); do sql="$sql${sql:+ union all }select device_id from $t"; done
store_sql "$T" "select device_id, count(*) from ($sql) e group by 1 order by 1" >"$WORK/count.stored"
cut -d' ' -f1 "$WORK/spooled" | uniq -c | awk '{print $2 "|" $1}' >"$WORK/count.spooled"
diff "$WORK/count.spooled" "$WORK/count.stored" >"$WORK/count.diff" || fail "events per device differ: $(head -4 "$WORK/count.diff")"
assert_eq "$AGENTS" "$(wc -l <"$WORK/count.stored")" "devices with events stored"
ok "all $SPOOLED spooled events stored exactly once, each under its agent's device ($AGENTS devices, counts equal)"

# every batch key once: the batches the agents' ledgers say were acknowledged
cat "$WORK"/ag/*/ledger.jsonl | jq -r .batch | sort -u >"$WORK/keys.sent"
store_sql "$T" "select idem_key from batches" | sort >"$WORK/keys.stored"
assert_eq 0 "$(uniq -d "$WORK/keys.stored" | wc -l)" "batch keys stored twice"
diff "$WORK/keys.sent" "$WORK/keys.stored" >/dev/null || fail "batch keys: $(wc -l <"$WORK/keys.sent") acknowledged, $(wc -l <"$WORK/keys.stored") stored"
ok "$(wc -l <"$WORK/keys.stored") batch keys, each stored once; nothing rejected"

# what nginx saw: batches a collector failed that went on to another (next upstream)
awk -v t="$KILLED_AT" '$1 >= t' "$S/nginx/access.log" | grep -c 'POST /v1/batches 200' >"$WORK/after" || true
[ "$(cat "$WORK/after")" -gt 0 ] || fail "no batch was stored after collector 2 was killed"
echo "nginx: $(grep -c 'POST /v1/batches' "$S/nginx/access.log") batch requests, $(grep 'POST /v1/batches' "$S/nginx/access.log" | grep -c 'up=[^ ]*, ') passed on to another collector, answers: $(grep -o 'POST /v1/batches [0-9]*' "$S/nginx/access.log" | sort | uniq -c | awk '{printf "%s %s; ", $4, $1}')"
finish
