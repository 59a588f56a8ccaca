#!/usr/bin/env bash
# What an admin's terminal shows (issue 13, items 6 and 7): text from devices is escaped
# in every mtdctl table and in the collector's request log while --json stays exact;
# tables fit 80 columns with an ellipsis and hold no escape codes; an unknown device or
# package is a 404 everywhere; counts say what they count, in the right number.
source "$(dirname "$0")/lib.sh"

DATA=$WORK/data
start_collector "$DATA"
new_tenant Acme
D=ps_AAAAAAAAAAAAAAAAAAAAAA
CRED=$(curl -s -X POST -H "Authorization: Bearer $ENR" -d "{\"device_id\":\"$D\"}" "$URL/v1/enroll" | jq -r .device_credential)
N=0
event() {
    N=$((N + 1))
    printf '{"event":"%s","schema":1,"event_id":"ev%020d","time":"2026-11-24T10:00:00Z","tenant_id":"%s","device_id":"%s",%s}\n' "$1" "$N" "$T" "$D" "$2"
}
post() { zstd -q -c | http_status POST /v1/batches "$CRED" -H 'Content-Type: application/x-ndjson' -H "Idempotency-Key: $1" --data-binary @-; }
echo '{"optional_data": true}' >"$WORK/p.json"; ctl --token "$ADMIN" policy set "$WORK/p.json" >/dev/null
EVIL='line one\nFAKE ROW ps_ZZZZ\u001b[31mred\u001b[0m\u009b2J\ttab'
{
    event device.info '"os_name":"Android","os_version":"14","manufacturer":"Google","model":"Pix\u001b]0;owned\u0007el 8 Pro with a very long model name that goes on","cpu":"arm64","device_id_source":"android_id"'
    event app.inventory '"package":"com.example.a.package.name.that.is.much.longer.than.any.column","version_code":3,"version_name":"3.0","install_source":"com.android.vending","permissions":["android.permission.CAMERA"],"is_system":false'
    event threat.detection '"threat_name":"Android.Trojan.A.Name.Long.Enough.To.Be.Cut.In.Eighty.Columns","category":"malware","severity":"high","source":"app","evidence":"x","status":"active","package":"com.example.a.package.name.that.is.much.longer.than.any.column","threat_id":"t1"'
    event consent.change '"state":"granted"'
    event feedback.submission "\"type\":\"frown\",\"comment\":\"$EVIL\",\"feedback_id\":\"fb1\""
} >"$WORK/b1"
assert_eq 200 "$(post batch-0001 <"$WORK/b1")" "batch ($(cat "$WORK/body"))"

# item 6: escaped in tables, exact in --json
ctl --token "$ADMIN" feedback >"$WORK/fb.txt"
assert_eq 3 "$(wc -l <"$WORK/fb.txt")" "feedback table lines (title, heading, one row)"
grep -q "$(printf '\033')" "$WORK/fb.txt" && fail "the feedback table holds a raw escape character"
grep -q "$(printf '\302\233')" "$WORK/fb.txt" && fail "the feedback table holds a raw C1 control"
grep -qF 'line one\nFAKE ROW' "$WORK/fb.txt" || fail "the newline is not shown escaped: $(cat "$WORK/fb.txt")"
COMMENT=$(ctl --token "$ADMIN" feedback --json | jq -j '.["feedback.submission"][0].comment')
assert_eq "$(printf 'line one\nFAKE ROW ps_ZZZZ\033[31mred\033[0m\302\2332J\ttab')" "$COMMENT" "--json keeps the comment exact"
ctl --token "$ADMIN" devices >"$WORK/dev.txt"
grep -q "$(printf '\033')\|$(printf '\007')" "$WORK/dev.txt" && fail "the devices table holds raw control characters"
grep -qF 'Pix\x1b]0' "$WORK/dev.txt" || fail "the model is not shown escaped: $(cat "$WORK/dev.txt")"
curl -s -o /dev/null "$URL/v1/admin/devices%0a2026-01-01T00:00:00Z%20info%20http%20forged%1b%5b2J" -H "Authorization: Bearer $ADMIN"
sleep 0.2
grep -q "$(printf '\033')" "$WORK/collector.log" && fail "the request log holds a raw escape character"
grep -c 'forged' "$WORK/collector.log" | grep -qx 1 || fail "the forged path is not on one line"
grep -q 'path=/v1/admin/devices\\n2026-01-01T00:00:00Z info http forged\\x1b\[2J' "$WORK/collector.log" || fail "request log line: $(grep forged "$WORK/collector.log")"
ok "device text and request paths are escaped in tables, errors and the request log; --json is exact"

# item 7: 80 columns, an ellipsis, no escape codes, (UTC), yes/no
for cmd in devices apps threats feedback audit "risk $D" "tenant list" "token list"; do
    tok=$ADMIN; [ "$cmd" = "tenant list" ] && tok=$OPERATOR_TOKEN
    ctl --token "$tok" $cmd >"$WORK/table.txt"
    W=$(LC_ALL=C.UTF-8 wc -L <"$WORK/table.txt")
    [ "$W" -le 80 ] || fail "$cmd: a line is $W columns wide: $(cat "$WORK/table.txt")"
    grep -q "$(printf '\033')" "$WORK/table.txt" && fail "$cmd: escape codes written to a file"
    true
done
ctl --token "$ADMIN" threats >"$WORK/thr.txt"
head -1 "$WORK/thr.txt" | grep -q "LAST SEEN (UTC)" || fail "threats heading: $(head -1 "$WORK/thr.txt")"
grep -q "  Android\.Trojan\.A\.Name\.[A-Za-z.]*…  " "$WORK/thr.txt" || fail "a long threat name is not cut with an ellipsis: $(cat "$WORK/thr.txt")"
ctl --token "$ADMIN" apps >"$WORK/apps.txt"
assert_eq "DEVICE PACKAGE VERSION SYSTEM" "$(head -1 "$WORK/apps.txt" | tr -s ' ' | sed 's/ $//')" "apps heading"
assert_eq no "$(sed -n 2p "$WORK/apps.txt" | awk '{print $4}')" "SYSTEM column"
for t in "tenant list:$OPERATOR_TOKEN" "token list:$ADMIN" "audit:$ADMIN"; do
    ctl --token "${t#*:}" ${t%%:*} | head -1 | grep -q "(UTC)" || fail "${t%%:*}: a time column without (UTC)"
done
ok "tables fit 80 columns, cut long cells with an ellipsis, write no escape codes to a file, mark times UTC and flags yes/no"

for r in apps threats connections "usage --events" crashes diagnostics feedback; do
    expect_fail "$r --device nosuch" ctl --token "$ADMIN" $r --device nosuch
    assert_eq "mtdctl: GET /v1/admin/${r% *}?device=nosuch: HTTP 404: not_found: no device nosuch in this tenant" "$LAST_ERR" "$r --device nosuch"
done
expect_fail "usage --device without --events" ctl --token "$ADMIN" usage --device "$D"
assert_eq 404 "$(http_status GET "/v1/admin/apps/history?device=nosuch" "$ADMIN")" "app history of an unknown device"
expect_fail "apps --package nosuch" ctl --token "$ADMIN" apps --package org.nosuch
assert_eq "mtdctl: GET /v1/admin/apps?package=org.nosuch: HTTP 404: not_found: no package org.nosuch in this tenant" "$LAST_ERR" "apps --package nosuch"
assert_eq 200 "$(http_status GET "/v1/admin/apps?device=$D&permission=android.permission.NOSUCH" "$ADMIN")" "a filter that matches nothing on a known device"
assert_eq 404 "$(http_status GET "/v1/admin/devices/nosuch/risk" "$ADMIN")" "risk of an unknown device"
expect_fail "retire nosuch" ctl --token "$ADMIN" retire nosuch
expect_fail "tenant delete nosuch" ctl --token "$OPERATOR_TOKEN" tenant delete 0123456789abcdef
grep -q "HTTP 404" <<<"$LAST_ERR" || fail "tenant delete of an unknown tenant: $LAST_ERR"
ok "an unknown device, package or tenant is a 404 everywhere"

seq 1500 | awk -v T="$T" -v D="$D" '{printf "{\"event\":\"usage.action\",\"schema\":1,\"event_id\":\"ua%020d\",\"time\":\"2026-11-24T12:00:00Z\",\"tenant_id\":\"%s\",\"device_id\":\"%s\",\"action\":\"ledger_viewed\"}\n", $1, T, D}' | post batch-usage >/dev/null
ctl --token "$ADMIN" usage --events >"$WORK/usage.txt"
grep -qx "Actions in the agent (usage.action): 1000 rows shown, more follow" "$WORK/usage.txt" || fail "usage title: $(grep usage.action "$WORK/usage.txt")"
grep -q "^Agent version (usage.agent): 0 rows$" "$WORK/usage.txt" || fail "usage.agent title: $(grep usage.agent "$WORK/usage.txt")"
assert_eq "(more rows follow: --offset 1000 for the next page, or --all)" "$(tail -1 "$WORK/usage.txt")" "where the next page starts"
grep -q "usage.action): 1500 rows$" <(ctl --token "$ADMIN" usage --events --all) || fail "usage --all title"
ok "an event report says how many rows it shows and whether more follow, not the page size as a total"

# item 4: one set of types in the API, mtdctl --json and the export
RFC='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'
ctl --token "$ADMIN" devices --json | jq -e --arg re "$RFC" '.devices[0] | (.first_seen|test($re)) and (.last_seen|test($re)) and (.info_time|test($re)) and (.consent == true)' >/dev/null || fail "devices types: $(ctl --token "$ADMIN" devices --json)"
ctl --token "$ADMIN" apps --json | jq -e '.apps[0] | (.permissions == ["android.permission.CAMERA"]) and (.signer_sha256 == null) and (.is_system == false)' >/dev/null || fail "apps types: $(ctl --token "$ADMIN" apps --json)"
ctl --token "$ADMIN" threats --json | jq -e --arg re "$RFC" '.threats[0] | (.first_seen|test($re)) and (.last_seen|test($re))' >/dev/null || fail "threat times"
ctl --token "$ADMIN" audit --json | jq -e --arg re "$RFC" 'all(.audit[]; .time|test($re))' >/dev/null || fail "audit times"
ctl --token "$ADMIN" token list --json | jq -e --arg re "$RFC" 'all(.tokens[]; (.created_at|test($re)) and .revoked_at == null)' >/dev/null || fail "token times"
ctl --token "$OPERATOR_TOKEN" tenant list --json | jq -e --arg re "$RFC" 'all(.tenants[]; .created_at|test($re))' >/dev/null || fail "tenant times"
ctl --token "$ADMIN" user export nobody@acme.example --json >/dev/null
ctl --token "$ADMIN" feedback --json | jq -e --arg re "$RFC" '.["feedback.submission"][0] | (.received_at|test($re)) and (.row|type) == "number"' >/dev/null || fail "event rows: received_at"
ctl --token "$ADMIN" export >"$WORK/raw.jsonl"
jq -e -s --arg re "$RFC" 'all(.[]; (.received_at|test($re)) and (.time|test($re)))
    and ([.[] | select(.event == "app.inventory")][0] | (.permissions == ["android.permission.CAMERA"]) and (.is_system == false))
    and ([.[] | select(.event == "consent.change")][0].delete_optional == null)' "$WORK/raw.jsonl" >/dev/null || fail "export types: $(head -3 "$WORK/raw.jsonl")"
ok "every time is RFC 3339 UTC, every list an array, every flag a boolean: API, --json and export"

# an agent's round: "1 batch", not "1 batches"
"$BIN/mtd-agent" enroll --state "$WORK/agent" --server "$URL" --token "$ENR" >/dev/null
"$BIN/mtd-agent" run --state "$WORK/agent" --once >"$WORK/run.txt"
grep -Eq '^sent [0-9]+ events in 1 batch; 0 queued$' "$WORK/run.txt" || fail "run: $(cat "$WORK/run.txt")"
DEV=$(jq -r .device_id "$WORK/agent/agent.json")
printf '{"t1":{"severity":"high","threat_name":"Evil\\nApp","evidence":"name \\u001b[2Jx"}}' >"$WORK/agent/threats-app.json"
assert_eq 'high      Evil\nApp                                 name \x1b[2Jx' "$("$BIN/mtd-agent" threats --state "$WORK/agent" | grep Evil)" "mtd-agent threats escapes what an app named"
assert_eq "device $DEV retired: 1 credential revoked" "$(ctl --token "$ADMIN" retire "$DEV")" "retire"
ok "counts are in the right number"

stop_collector
finish
