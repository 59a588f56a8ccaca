#!/usr/bin/env bash
# Suppression rules out of the risk level (issue 22, item 1): a finding a rule matches
# counts in no device risk the collector answers: `mtdctl risk`, the devices report and
# its ?risk= filter, the console's summary and device page, the risk pull endpoint and
# the risk push. Real agents (snapshots of a debuggable phone) report the finding; a
# rule for one group holds for that group's devices only, and follows a device moved
# into or out of the group; a removed or expired rule stops suppressing; every kind of
# rule (check, package, domain, signer) is matched; another tenant's rule changes
# nothing here; every change is audited. Runs a second time on PostgreSQL.
source "$(dirname "$0")/lib.sh"
RECV_PID=""
stop_receiver() { if [ -n "$RECV_PID" ]; then kill "$RECV_PID" 2>/dev/null || true; wait "$RECV_PID" 2>/dev/null || true; fi; RECV_PID=""; }
trap 'stop_receiver; cleanup' EXIT
agent() { "$BIN/mtd-agent" "$@"; }

OUT=$WORK/recv; mkdir -p "$OUT"
RSEC=risk-push-secret-0123456789
python3 "$(dirname "$0")/alert_receiver.py" --out "$OUT" --port-file "$WORK/recv.port" --secret "R=$RSEC" &
RECV_PID=$!
for _ in $(seq 100); do [ -s "$WORK/recv.port" ] && break; sleep 0.05; done
[ -s "$WORK/recv.port" ] || fail "the receiver did not start"

DATA=$WORK/data
start_collector "$DATA" --alert-allow-net 127.0.0.1/32 --alert-retry-cap 1
new_tenant Acme
ctl --token "$ADMIN" integration add risk-push "http://127.0.0.1:$(cat "$WORK/recv.port")/hook/R" --secret "$RSEC" >/dev/null

# two phones with a debuggable build (check android.debuggable, severity high): A
# enrolled with a token of group "field", B put in group "office" by an admin
for s in a b; do
    mkdir -p "$WORK/phone-$s"
    printf '[ro.build.version.release]: [14]\n[ro.product.model]: [Pixel 8]\n[ro.debuggable]: [1]\n' >"$WORK/phone-$s/getprop.txt"
done
TOKF=$(ctl --token "$ADMIN" token create enroll --group field --json | jq -r .token)
agent enroll --state "$WORK/a" --server "$URL" --token "$TOKF" --android-root "$WORK/phone-a" >/dev/null
agent enroll --state "$WORK/b" --server "$URL" --token "$ENR" --android-root "$WORK/phone-b" >/dev/null
DA=$(jq -r .device_id "$WORK/a/agent.json"); DB=$(jq -r .device_id "$WORK/b/agent.json")
ctl --token "$ADMIN" device group "$DB" office >/dev/null
agent run --state "$WORK/a" --once >/dev/null
agent run --state "$WORK/b" --once >/dev/null
for d in "$DA" "$DB"; do
    assert_eq "$d: risk high (open threats: 1)" "$(ctl --token "$ADMIN" risk "$d" | head -1)" "the agent's finding sets the risk"
done
assert_eq "android.debuggable" "$(ctl --token "$ADMIN" risk "$DA" --json | jq -r '.threats[].threat_id')" "the finding"

api() { curl -s -H "Authorization: Bearer $ADMIN" "$URL/v1/admin/$1"; }
# risks: each view of both devices' risk, as "A B" (or a count where the view counts)
cli_risk() { echo "$(ctl --token "$ADMIN" risk "$DA" --json | jq -r .risk) $(ctl --token "$ADMIN" risk "$DB" --json | jq -r .risk)"; }
report_risk() { ctl --token "$ADMIN" devices --json | jq -r --arg a "$DA" --arg b "$DB" \
    '(.devices | map({(.device_id): .risk}) | add) as $m | "\($m[$a]) \($m[$b])"'; }
filter_high() { api "devices?risk=high" | jq -r '[.devices[].device_id] | sort | join(" ")'; }
admin_risk() { echo "$(api "devices/$DA" | jq -r .risk) $(api "devices/$DB" | jq -r .risk)"; }
summary_risk() { api summary | jq -r '"high=\(.by_risk.high) none=\(.by_risk.none) open_high=\(.open_threats.high // 0)"'; }
# the risk pull's latest level of each device (waits for the engine: up to 10 s)
pulled() { curl -s -H "Authorization: Bearer $ADMIN" "$URL/v1/admin/devices/risk?since=0" |
    jq -r --arg a "$DA" --arg b "$DB" '(.devices | map({(.device_id): .risk}) | add) as $m | "\($m[$a] // "none") \($m[$b] // "none")"'; }
wait_pulled() {
    for _ in $(seq 200); do [ "$(pulled)" = "$1" ] && return 0; sleep 0.05; done
    fail "$2: risk pull expected [$1], got [$(pulled)]"
}
# the risk push's latest level of each device (the receiver verified the signature)
pushed() { jq -rs --arg a "$DA" --arg b "$DB" 'map(.body.data) | (map(select(.device_id == $a)) | last | .risk // "none") + " " +
    (map(select(.device_id == $b)) | last | .risk // "none")' "$OUT/R.jsonl" 2>/dev/null; }
wait_pushed() {
    for _ in $(seq 200); do [ "$(pushed)" = "$1" ] && return 0; sleep 0.05; done
    fail "$2: risk push expected [$1], got [$(pushed)]"
}
# every_view "A B" HIGH_DEVICES SUMMARY WHAT
every_view() {
    assert_eq "$1" "$(cli_risk)" "$4: mtdctl risk"
    assert_eq "$1" "$(report_risk)" "$4: the devices report"
    assert_eq "$2" "$(filter_high)" "$4: devices?risk=high"
    assert_eq "$1" "$(admin_risk)" "$4: GET /v1/admin/devices/ID"
    assert_eq "$3" "$(summary_risk)" "$4: the console's summary"
    wait_pulled "$1" "$4"
    wait_pushed "$1" "$4"
}
BOTH=$(printf '%s\n' "$DA" "$DB" | sort | paste -sd' ')
every_view "high high" "$BOTH" "high=2 none=0 open_high=2" "before any rule"
ok "two agents' finding: risk high in every view (mtdctl, report, ?risk=, devices/ID, summary, pull, push)"

# --- a rule for group "field": A's risk drops, B's stays
ctl --token "$ADMIN" suppress add check android.debuggable --group field --reason "field test phones" >"$WORK/s.out"
case $(cat "$WORK/s.out") in "suppression "*": check android.debuggable for group field") ;; *) fail "suppress add: $(cat "$WORK/s.out")" ;; esac
SG=$(ctl --token "$ADMIN" suppress list --json | jq -r '.suppressions[0].id')
assert_eq "field true null" "$(ctl --token "$ADMIN" suppress list --json | jq -r '.suppressions[0] | "\(.group) \(.active) \(.expires_at)"')" "the rule as listed"
every_view "none high" "$DB" "high=1 none=1 open_high=1" "group rule"
assert_eq "$DA: risk none (open threats: 0; suppressed by a rule, not counted: 1)" "$(ctl --token "$ADMIN" risk "$DA")" "mtdctl risk of the suppressed device"
ok "a rule for group field: its device's risk none in every view, the other group's device still high"

# --- the rule follows the group's members
ctl --token "$ADMIN" device group "$DB" field >/dev/null
every_view "none none" "" "high=0 none=2 open_high=0" "B moved into field"
ctl --token "$ADMIN" device group "$DB" office >/dev/null
every_view "none high" "$DB" "high=1 none=1 open_high=1" "B moved back to office"
ok "a device moved into the group falls under its rule, and out of it when moved out"

# --- another tenant's rule changes nothing here
TA=$T; ADMA=$ADMIN
new_tenant Globex
ctl --token "$ADMIN" suppress add check android.debuggable >/dev/null
ADMIN=$ADMA; T=$TA
every_view "none high" "$DB" "high=1 none=1 open_high=1" "another tenant's tenant-wide rule"
ok "another tenant's rule does not reach this tenant's devices"

# --- removed: A high again
ctl --token "$ADMIN" suppress remove "$SG" >/dev/null
every_view "high high" "$BOTH" "high=2 none=0 open_high=2" "rule removed"
ok "a removed rule stops suppressing at once, in every view"

# --- a tenant-wide rule that expires
ctl --token "$ADMIN" suppress add check android.debuggable --expires 8s >/dev/null
SE=$(ctl --token "$ADMIN" suppress list --json | jq -r '.suppressions[-1].id')
every_view "none none" "" "high=0 none=2 open_high=0" "tenant-wide rule"
[ "$(ctl --token "$ADMIN" suppress list --json | jq -r --argjson i "$SE" '.suppressions[] | select(.id == $i) | .expires_at')" != null ] ||
    fail "the expiring rule has no expiry"
for _ in $(seq 100); do [ "$(ctl --token "$ADMIN" suppress list --json | jq -r --argjson i "$SE" '.suppressions[] | select(.id == $i) | .active')" = false ] && break; sleep 0.1; done
assert_eq false "$(ctl --token "$ADMIN" suppress list --json | jq -r --argjson i "$SE" '.suppressions[] | select(.id == $i) | .active')" "listed as inactive after its expiry"
every_view "high high" "$BOTH" "high=2 none=0 open_high=2" "rule expired"
expect_fail "a bad duration" ctl --token "$ADMIN" suppress add check x --expires 5w
case $LAST_ERR in *"--expires 5w: a duration N[s|m|h|d]"*) ;; *) fail "bad duration: $LAST_ERR" ;; esac
expect_fail "a device and a group" ctl --token "$ADMIN" suppress add check x --device "$DA" --group field
case $LAST_ERR in *"for one device or for one group, not both"*) ;; *) fail "device and group: $LAST_ERR" ;; esac
expect_fail "a bad group" ctl --token "$ADMIN" suppress add check x --group "no/such"
ok "a tenant-wide rule with an expiry: every risk none, and high again once it expired (pull and push too)"

# --- every kind of rule, on device A's findings sent as batches with its credential
post_a() { zstd -q -c | http_status POST /v1/batches "$(cat "$WORK/a/credential")" -H 'Content-Type: application/x-ndjson' \
    -H "Idempotency-Key: $1" --data-binary @-; }
SIGNER=$(printf 'corp signing key' | sha256sum | cut -c1-64)
line() { printf '{"event":"%s","schema":1,"event_id":"%s","time":"2026-12-01T10:00:00Z","tenant_id":"%s","device_id":"%s",%s}\n' "$1" "$2" "$T" "$DA" "$3"; }
{
    line app.inventory inv-1 "\"package\":\"com.corp.tool\",\"version_code\":1,\"version_name\":\"1\",\"install_source\":\"com.android.vending\",\"permissions\":[],\"is_system\":false,\"signer_sha256\":[\"$SIGNER\"]"
    line threat.detection thr-tool '"threat_name":"Riskware.Tool","category":"riskware","severity":"medium","source":"app","evidence":"heuristic","status":"active","package":"com.corp.tool","threat_id":"thr-tool"'
    line threat.detection thr-web '"threat_name":"Phish.Kit","category":"phishing","severity":"medium","source":"web","evidence":"browser blocked: listed host login.Evil.example","status":"active","threat_id":"web-1"'
} >"$WORK/kinds"
assert_eq 200 "$(post_a suppress-kinds-1 <"$WORK/kinds")" "A's findings ($(cat "$WORK/body"))"
ctl --token "$ADMIN" suppress add check android.debuggable --device "$DA" >/dev/null
assert_eq "medium 2 1" "$(ctl --token "$ADMIN" risk "$DA" --json | jq -r '"\(.risk) \(.open_threats) \(.suppressed_threats)"')" "A with the posture finding suppressed"
ctl --token "$ADMIN" suppress add domain evil.EXAMPLE >/dev/null # a parent domain, any case
assert_eq "medium thr-tool" "$(ctl --token "$ADMIN" risk "$DA" --json | jq -r '"\(.risk) \([.threats[].threat_id] | join(","))"')" "the web finding suppressed by domain"
ctl --token "$ADMIN" suppress add signer "$SIGNER" >/dev/null
assert_eq "none 0 3" "$(ctl --token "$ADMIN" risk "$DA" --json | jq -r '"\(.risk) \(.open_threats) \(.suppressed_threats)"')" "the app finding suppressed by its signer"
SS=$(ctl --token "$ADMIN" suppress list --json | jq -r '.suppressions[-1].id')
ctl --token "$ADMIN" suppress remove "$SS" >/dev/null
assert_eq "medium" "$(ctl --token "$ADMIN" risk "$DA" --json | jq -r .risk)" "signer rule removed"
ctl --token "$ADMIN" suppress add package com.corp.tool >/dev/null
assert_eq "none" "$(ctl --token "$ADMIN" risk "$DA" --json | jq -r .risk)" "the app finding suppressed by package"
ctl --token "$ADMIN" suppress add domain vil.example >/dev/null # not a parent domain of login.evil.example
assert_eq "none high" "$(report_risk)" "the devices report with rules of every kind"
wait_pulled "none high" "rules of every kind"
wait_pushed "none high" "rules of every kind"
ok "rules by check on one device, by domain (a parent, any case), by signer and by package each leave their finding out"

# --- a detection a rule matches makes no alert, and counts in the rule's hits
line threat.detection thr-tool-2 '"threat_name":"Riskware.Tool","category":"riskware","severity":"medium","source":"app","evidence":"heuristic again","status":"active","package":"com.corp.tool","threat_id":"thr-tool"' >"$WORK/again"
assert_eq 200 "$(post_a suppress-kinds-2 <"$WORK/again")" "the app finding again"
SP=$(ctl --token "$ADMIN" suppress list --json | jq -r '.suppressions[] | select(.kind == "package") | .id')
for _ in $(seq 100); do [ "$(ctl --token "$ADMIN" suppress list --json | jq --argjson i "$SP" '.suppressions[] | select(.id == $i) | .hits')" = 1 ] && break; sleep 0.05; done
assert_eq 1 "$(ctl --token "$ADMIN" suppress list --json | jq --argjson i "$SP" '.suppressions[] | select(.id == $i) | .hits')" "the package rule's hits"
ok "a detection under a rule counts in its hits"

# --- audited: every rule added and removed, naming its scope and expiry
ctl --token "$ADMIN" audit --all --json >"$WORK/audit.json"
assert_eq 7 "$(jq '[.audit[] | select(.action == "suppression.add")] | length' "$WORK/audit.json")" "rules added, audited"
assert_eq 2 "$(jq '[.audit[] | select(.action == "suppression.remove")] | length' "$WORK/audit.json")" "rules removed, audited"
jq -r '.audit[] | select(.action == "suppression.add") | .detail' "$WORK/audit.json" >"$WORK/adds"
grep -qx "suppression $SG: check android.debuggable for group field" "$WORK/adds" || fail "the group rule's audit: $(cat "$WORK/adds")"
grep -q "^suppression $SE: check android.debuggable until 20" "$WORK/adds" || fail "the expiring rule's audit: $(cat "$WORK/adds")"
assert_eq "$DA" "$(jq -r '[.audit[] | select(.action == "suppression.add" and .device_id != null) | .device_id] | join(" ")' "$WORK/audit.json")" "a device rule's audit names the device"
ok "every rule added and removed is audited, with its scope and expiry"

# --- an alert file from before the rules moved to the store: its rules move at start
stop_collector
sqlite3 "$DATA/tenants/$T/alerts.sqlite" "CREATE TABLE suppressions(id INTEGER PRIMARY KEY, kind TEXT NOT NULL,
  value TEXT NOT NULL, device_id TEXT, expires_at INTEGER, reason TEXT, created_at INTEGER NOT NULL,
  actor TEXT NOT NULL, hits INTEGER NOT NULL DEFAULT 0);
  INSERT INTO suppressions(kind, value, reason, created_at, actor, hits) VALUES('check', 'android.debuggable', 'old rule', 1, 'admin:old', 5)"
start_collector "$DATA" --alert-allow-net 127.0.0.1/32 --alert-retry-cap 1
for _ in $(seq 100); do ctl --token "$ADMIN" suppress list --json | jq -e '.suppressions[] | select(.reason == "old rule")' >/dev/null && break; sleep 0.1; done
assert_eq "check android.debuggable 5 admin:old" "$(ctl --token "$ADMIN" suppress list --json | jq -r '.suppressions[] | select(.reason == "old rule") | "\(.kind) \(.value) \(.hits) \(.actor)"')" "the old file's rule, moved"
assert_eq "" "$(sqlite3 "$DATA/tenants/$T/alerts.sqlite" "SELECT name FROM sqlite_master WHERE name = 'suppressions'")" "the old table dropped"
assert_eq "none none" "$(report_risk)" "the moved rule holds"
ok "rules an older alert file held move to the store at start, with their hits"
finish
