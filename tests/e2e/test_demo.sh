#!/usr/bin/env bash
# make demo run twice (issue 13, item 13): a second run says it keeps the previous
# collector's data and tours the same tenant with the same devices; DEMO_RESET=1 says
# it deletes the previous demo and starts afresh; written to a file, the tour holds no
# escape codes.
source "$(dirname "$0")/lib.sh"

D=$WORK/demo
trap '"$MTD_SRC/scripts/demo-stop" "$D" >/dev/null 2>&1; cleanup' EXIT
demo() { "$MTD_SRC/scripts/demo" "$MTD_BUILD" "$D" >"$WORK/$1.log" 2>&1 || fail "demo $1: $(tail -5 "$WORK/$1.log")"; }
tenant() { jq -r .tenant_id "$D/tenant.json"; }
ndev() { (. "$D/env" && "$BIN/mtdctl" devices --json | jq '.devices | length'); }

demo first
grep -q '^demo: ' "$WORK/first.log" && fail "a first demo said: $(grep '^demo: ' "$WORK/first.log")"
grep -q "$(printf '\033')" "$WORK/first.log" && fail "the demo wrote escape codes to a file"
T1=$(tenant); N1=$(ndev)
[ "$N1" -ge 2 ] || fail "devices after the first demo: $N1"
ok "a first demo: no notice, no escape codes in a file, $N1 devices"

# the app scanner's detection (issue 16): the tenant's indicator finds the flashlight
# app on the test phone, and the phone's risk in the tenant's report is high
(. "$D/env" && "$BIN/mtdctl" threats --status active --json) >"$WORK/threats.json"
assert_eq "Demo.SmsSpy/malware/high/app/com.example.flashlight" \
    "$(jq -r '.threats[] | select(.source == "app") | "\(.threat_name)/\(.category)/\(.severity)/\(.source)/\(.package)"' "$WORK/threats.json")" "the demo's app detection"
PHONE=$(jq -r '.threats[] | select(.threat_name == "Demo.SmsSpy") | .device_id' "$WORK/threats.json")
assert_eq high "$(. "$D/env" && "$BIN/mtdctl" devices --json | jq -r --arg d "$PHONE" '.devices[] | select(.device_id == $d) | .risk')" "the phone's risk in the report"
grep -q "^local scan: com.example.flashlight high Demo.SmsSpy \[ioc.apk_sha256\]$" "$WORK/first.log" || fail "the demo shows no local scan finding"
ok "the demo shows an app detection from the tenant's indicators and the phone's risk"

demo second
assert_eq "demo: keeping the previous demo's collector data in $D/data (its tenants, devices" "$(head -1 "$WORK/second.log")" "the second demo's notice"
grep -q '^== The previous demo.s tenant "Demo Org"' "$WORK/second.log" || fail "the second demo made a new tenant"
assert_eq "$T1" "$(tenant)" "the tenant of the second demo"
assert_eq "$N1" "$(ndev)" "devices after the second demo (enrolling again keeps each device)"
[ "$(grep -c '^mtd-agent: kept the stored user$' "$WORK/second.log")" -ge 2 ] || fail "re-enrollment did not keep the users"
ok "a second demo keeps the collector's data, its tenant and its devices, and says so"

DEMO_RESET=1 demo third
assert_eq "demo: deleting the previous demo in $D (DEMO_RESET=1)" "$(head -1 "$WORK/third.log")" "DEMO_RESET=1"
[ "$(tenant)" != "$T1" ] || fail "DEMO_RESET=1 kept the tenant"
assert_eq "$N1" "$(ndev)" "devices after a reset demo"
ok "DEMO_RESET=1 deletes the previous demo, and says so"
finish
