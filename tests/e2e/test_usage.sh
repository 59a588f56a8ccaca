#!/usr/bin/env bash
# Product usage (issue 19): the agent's user actions from the fixed list recorded where
# they happen and reported as counts (mtdctl usage); under the policy
# usage_privacy=ldp no exact count leaves the device, only one randomized report per
# day, and the collector estimates the fleet's counts with an interval.
source "$(dirname "$0")/lib.sh"
agent() { "$BIN/mtd-agent" "$@"; }
start_collector "$WORK/data"
T=$("$BIN/mtdctl" --server "$URL" --token "$OPERATOR_TOKEN" tenant create usage --json)
ADMIN=$(jq -r .admin_token <<<"$T"); ENR=$(jq -r .enroll_token <<<"$T")
ctl() { "$BIN/mtdctl" --server "$URL" --token "$ADMIN" "$@"; }

A=$WORK/a
agent enroll --state "$A" --server "$URL" --token "$ENR" >/dev/null
agent consent grant --state "$A" >/dev/null 2>&1
agent privacy ledger --state "$A" >/dev/null
agent privacy ledger --state "$A" >/dev/null
agent privacy statement --state "$A" >/dev/null
agent privacy statement >/dev/null # not enrolled context: nothing to record it in
agent threats --state "$A" >"$WORK/threats.txt"
assert_eq "no active threats on this device" "$(cat "$WORK/threats.txt")" "threats view of a clean host"
agent run --state "$A" --once >/dev/null
agent run --state "$A" --once >/dev/null
ctl usage --json >"$WORK/u1.json"
assert_eq "ledger_viewed=2/1 consent_grant=1/1 enroll=1/1 statement_viewed=1/1 threat_viewed=1/1" \
    "$(jq -r '[.actions[] | "\(.action)=\(.count)/\(.devices)"] | join(" ")' "$WORK/u1.json")" "counts per action, each sent once"
assert_eq "action count" "$(ctl export | jq -r -s '[.[] | select(.event=="usage.action") | keys[]] | unique | map(select(. == "action" or . == "count")) | join(" ")')" \
    "usage.action carries the action and its count"
ctl usage >"$WORK/u1.txt"
grep -q "ledger_viewed" "$WORK/u1.txt" || fail "mtdctl usage shows no table: $(cat "$WORK/u1.txt")"
ok "actions recorded where they happen, sent as counts once, shown by mtdctl usage"

# local differential privacy
echo '{"usage_privacy": "ldp", "usage_epsilon": 0}' >"$WORK/bad.json"
expect_fail "epsilon 0" ctl policy set "$WORK/bad.json"
assert_eq 'mtdctl: PUT /v1/admin/policy: HTTP 400: bad_policy: policy key "usage_epsilon" must be a number from 0.1 to 10' "$LAST_ERR" "epsilon out of range"
echo '{"usage_privacy": "ldp", "usage_epsilon": 4}' >"$WORK/ldp.json"
ctl policy set "$WORK/ldp.json" >/dev/null
n=0
for d in b c d; do # three devices: iOS snapshots with their own Wi-Fi MACs
    n=$((n + 1)); mkdir -p "$WORK/snap-$d"
    printf '<?xml version="1.0"?><plist version="1.0"><dict><key>ProductType</key><string>iPhone14,5</string><key>WiFiAddress</key><string>02:00:00:00:00:0%d</string></dict></plist>' "$n" >"$WORK/snap-$d/ideviceinfo.plist"
    agent enroll --state "$WORK/$d" --server "$URL" --token "$ENR" --ios-backup "$WORK/snap-$d" >/dev/null
    agent privacy ledger --state "$WORK/$d" >/dev/null
    agent run --state "$WORK/$d" --once >/dev/null
done
assert_eq "ledger_viewed=2 consent_grant=1 enroll=1 statement_viewed=1 threat_viewed=1" \
    "$(ctl usage --json | jq -r '[.actions[] | "\(.action)=\(.count)"] | join(" ")')" "no exact count came from the devices under ldp"
jq -e '.usage_privacy == "ldp" and .usage_epsilon == 4' "$WORK/b/policy.json" >/dev/null || fail "the agent did not take the policy: $(cat "$WORK/b/policy.json")"
assert_eq 0 "$(grep -c '"usage.action"' "$WORK/b/ledger.jsonl" || true)" "no usage.action in the ledger of a device under ldp"
# the day is over: each device sends that day's one report
Y=$(date -u -d yesterday +%F)
for d in b c d; do
    jq --arg y "$Y" '.day = $y' "$WORK/$d/usage_ldp.json" >"$WORK/tmp.json" && mv "$WORK/tmp.json" "$WORK/$d/usage_ldp.json"
    assert_eq "1000000001" "$(jq -r .truth "$WORK/$d/usage_ldp.json")" "the day's truth on the device: enroll and ledger_viewed"
    agent run --state "$WORK/$d" --once >/dev/null
    agent run --state "$WORK/$d" --once >/dev/null
done
ctl export | jq -c -s '[.[] | select(.event=="usage.ldp")]' >"$WORK/ldp.json"
assert_eq "3 $Y 4000 10" "$(jq -r '"\(length) \(.[0].period) \(.[0].epsilon_milli) \(.[0].bits | length)"' "$WORK/ldp.json")" \
    "one report per device for the day, ten randomized bits"
assert_eq "" "$(jq -r '.[].bits' "$WORK/ldp.json" | grep -v -E '^[01]{10}$' || true)" "bits are ten 0/1 characters"
ctl usage --json >"$WORK/u2.json"
assert_eq 10 "$(jq --arg y "$Y" '[.ldp[] | select(.period == $y and .reports == 3)] | length' "$WORK/u2.json")" "an estimate for each action of the day, over the 3 reports"
assert_eq true "$(jq '[.ldp[] | .ci_low <= .estimate and .estimate <= .ci_high and .ci_low >= 0 and .ci_high <= .reports] | all' "$WORK/u2.json")" "estimates lie in their intervals, within [0, reports]"
ctl usage >"$WORK/u2.txt"
grep -q "local differential privacy" "$WORK/u2.txt" || fail "mtdctl usage does not show the LDP estimates: $(cat "$WORK/u2.txt")"
ok "usage_privacy=ldp: no exact counts, one randomized report per device and day, fleet estimates with intervals"
finish
