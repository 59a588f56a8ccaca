#!/usr/bin/env bash
# Alerts (issue 22): threat detections become alerts that are triaged, suppressed and
# delivered to each tenant's own webhook, verified by a receiver started here that
# checks the signature and deduplicates on the event ID. Also: one tenant's alerts
# never reach another's destination, hostile destinations are refused, an alert carries
# only declared fields as the policy allows, every change is audited, and the outbox
# survives kill -9 of the collector with nothing lost.
source "$(dirname "$0")/lib.sh"
RECV_PID=""
stop_receiver() { if [ -n "$RECV_PID" ]; then kill "$RECV_PID" 2>/dev/null || true; wait "$RECV_PID" 2>/dev/null || true; fi; RECV_PID=""; }
trap 'stop_receiver; cleanup' EXIT

OUT=$WORK/recv; mkdir -p "$OUT"
SECA=secret-of-tenant-a-0123456789; SECB=secret-of-tenant-b-9876543210
python3 "$(dirname "$0")/alert_receiver.py" --out "$OUT" --port-file "$WORK/recv.port" \
    --secret "A=$SECA" --secret "B=$SECB" --hec-token hec-token-0123456789abcdef &
RECV_PID=$!
for _ in $(seq 100); do [ -s "$WORK/recv.port" ] && break; sleep 0.05; done
RPORT=$(cat "$WORK/recv.port")
HOOK=http://127.0.0.1:$RPORT/hook

DATA=$WORK/data
start_collector "$DATA" --alert-allow-net 127.0.0.1/32 --alert-retry-cap 1
new_tenant Acme; TA=$T; ADMA=$ADMIN; ENRA=$ENR
new_tenant Globex; TB=$T; ADMB=$ADMIN; ENRB=$ENR

DA=ps_AAAAAAAAAAAAAAAAAAAAAA; DB=ps_BBBBBBBBBBBBBBBBBBBBBB; UA=ps_UUUUUUUUUUUUUUUUUUUUUU
enroll() { curl -s -X POST -H "Authorization: Bearer $1" -d "$2" "$URL/v1/enroll" | jq -r .device_credential; }
CREDA=$(enroll "$ENRA" "{\"device_id\":\"$DA\",\"upn\":\"$UA\"}"); CREDB=$(enroll "$ENRB" "{\"device_id\":\"$DB\"}")
echo 0 >"$WORK/n"
# detection TENANT DEVICE FIELDS: one threat.detection line with a fresh event_id (the
# counter is a file: detection runs in pipelines' subshells); device A's carries its UPN pseudonym
detection() {
    local N=$(($(cat "$WORK/n") + 1))
    echo "$N" >"$WORK/n"
    printf '{"event":"threat.detection","schema":1,"event_id":"ev%020d","time":"2026-12-01T10:00:00Z","tenant_id":"%s","device_id":"%s"%s,%s}\n' \
        "$N" "$1" "$2" "$( [ "$2" = "$DA" ] && printf ',"upn":"%s"' "$UA")" "$3"
}
post() { zstd -q -c | http_status POST /v1/batches "$1" -H 'Content-Type: application/x-ndjson' -H "Idempotency-Key: $2" --data-binary @-; }
# wait_lines FILE N: until FILE has N lines (10 s)
wait_lines() {
    for _ in $(seq 200); do [ "$(cat "$1" 2>/dev/null | wc -l)" -ge "$2" ] && return 0; sleep 0.05; done
    fail "waited for $2 lines in $(basename "$1"), got $(cat "$1" 2>/dev/null | wc -l)"
}
TROJAN='"threat_name":"Android.Trojan.SMSThief","category":"malware","severity":"high","source":"app","evidence":"sha256 match","status":"active","package":"com.evil.flashlight","threat_id":"thr-1"'

# --- hostile destinations are refused with one clear line
expect_fail "metadata address" ctl --token "$ADMA" integration add webhook http://169.254.169.254/latest --secret "$SECA"
case $LAST_ERR in *"host 169.254.169.254 is a loopback, private, link-local or multicast address"*) ;; *) fail "metadata address: $LAST_ERR" ;; esac
expect_fail "loopback outside the allowed net" ctl --token "$ADMA" integration add webhook http://127.0.0.2:80/ --secret "$SECA"
expect_fail "private address" ctl --token "$ADMA" integration add syslog 10.1.2.3:514
expect_fail "credentials in the URL" ctl --token "$ADMA" integration add webhook "http://u:p@127.0.0.1:$RPORT/hook/A" --secret "$SECA"
case $LAST_ERR in *"may not carry a user name or password"*) ;; *) fail "userinfo: $LAST_ERR" ;; esac
expect_fail "another scheme" ctl --token "$ADMA" integration add webhook "file:///etc/passwd" --secret "$SECA"
expect_fail "a short secret" ctl --token "$ADMA" integration add webhook "$HOOK/A" --secret short
case $LAST_ERR in *"webhook needs \"secret\" (the HMAC key) of 16 to 256 printable characters"*) ;; *) fail "short secret: $LAST_ERR" ;; esac
expect_fail "a header in the URL" ctl --token "$ADMA" integration add webhook "$(printf 'http://127.0.0.1:%s/x\r\nX-Evil: 1' "$RPORT")" --secret "$SECA"
expect_fail "an unknown kind" ctl --token "$ADMA" integration add pager "$HOOK/A"
ok "hostile destinations refused: metadata, private and unlisted loopback addresses, userinfo, schemes, weak secrets, header injection"

# --- each tenant its own webhook
ctl --token "$ADMA" integration add webhook "$HOOK/A" --secret "$SECA" --json >"$WORK/ia.json"
ctl --token "$ADMB" integration add webhook "$HOOK/B" --secret "$SECB" >/dev/null
IA=$(jq -r .id "$WORK/ia.json")
ctl --token "$ADMA" integration test "$IA" >"$WORK/test.out"
assert_eq "integration $IA: test alert delivered" "$(cat "$WORK/test.out")" "test delivery"
wait_lines "$OUT/A.jsonl" 1
assert_eq "alert openmtd test alert" "$(jq -r '.body.type + " " + .body.data.threat_name' "$OUT/A.jsonl")" "the test alert's body"
rm "$OUT/A.jsonl"
assert_eq 200 "$(detection "$TA" "$DA" "$TROJAN" | post "$CREDA" alerts-a-0001)" "tenant A's detection ($(cat "$WORK/body"))"
assert_eq 200 "$(detection "$TB" "$DB" '"threat_name":"Phish.Kit","category":"phishing","severity":"medium","source":"web","evidence":"browser blocked: listed host login.evil.example","status":"active","threat_id":"web-1"' | post "$CREDB" alerts-b-0001)" "tenant B's detection"
wait_lines "$OUT/A.jsonl" 1; wait_lines "$OUT/B.jsonl" 1
assert_eq "$TA $DA Android.Trojan.SMSThief" "$(jq -r '.body.data | .tenant_id + " " + .device_id + " " + .threat_name' "$OUT/A.jsonl")" "A's webhook got A's alert"
assert_eq "$TB $DB Phish.Kit" "$(jq -r '.body.data | .tenant_id + " " + .device_id + " " + .threat_name' "$OUT/B.jsonl")" "B's webhook got B's alert"
[ ! -e "$OUT/rejected.jsonl" ] || fail "the receiver refused something: $(cat "$OUT/rejected.jsonl")"
# only declared fields: no UPN, directory IDs or anything the schema does not list
assert_eq "alert_id category device_id event_id evidence package received_at severity source status tenant_id threat_id threat_name time" \
    "$(jq -r '.body.data | keys | join(" ")' "$OUT/A.jsonl")" "what an alert carries"
ok "each tenant's alert reached its own webhook only, signed, with only declared fields (no UPN pseudonym)"

# --- the queue and its triage
ctl --token "$ADMA" alerts --json >"$WORK/al.json"
assert_eq "1 new high Android.Trojan.SMSThief" "$(jq -r '(.alerts|length|tostring) + " " + (.alerts[0] | .state + " " + .severity + " " + .threat_name)' "$WORK/al.json")" "A's queue"
assert_eq 0 "$(ctl --token "$ADMB" alerts --json | jq '[.alerts[] | select(.device_id == "'"$DA"'")] | length')" "B's queue holds none of A's"
AL=$(jq -r '.alerts[0].id' "$WORK/al.json")
assert_eq 404 "$(http_status GET "/v1/admin/alerts/999" "$ADMB")" "another tenant's alert ID"
# the same finding again is one more occurrence, not a second alert
detection "$TA" "$DA" "$TROJAN" | post "$CREDA" alerts-a-0002 >/dev/null
for _ in $(seq 100); do [ "$(ctl --token "$ADMA" alert show "$AL" --json | jq .occurrences)" = 2 ] && break; sleep 0.05; done
assert_eq 2 "$(ctl --token "$ADMA" alert show "$AL" --json | jq .occurrences)" "a repeated detection"
assert_eq 1 "$(ctl --token "$ADMA" alerts --json | jq '.alerts|length')" "still one alert"
ANA=$(ctl --token "$ADMA" token create analyst --json | jq -r .token)
PRV=$(ctl --token "$ADMA" token create privacy --json | jq -r .token)
assert_eq "alert $AL: acknowledged" "$(ctl --token "$ANA" alert ack "$AL")" "an analyst acknowledges"
assert_eq "alert $AL: acknowledged, assigned to alice@example.com" "$(ctl --token "$ANA" alert assign "$AL" alice@example.com)" "assign"
ctl --token "$ADMA" alert note "$AL" "called the user; app removed" >/dev/null
expect_fail "ack twice" ctl --token "$ADMA" alert ack "$AL"
case $LAST_ERR in *"alert $AL is acknowledged; ack needs a new alert"*) ;; *) fail "ack twice: $LAST_ERR" ;; esac
expect_fail "a privacy officer triages" ctl --token "$PRV" alert resolve "$AL"
case $LAST_ERR in *"the privacy role may not do this"*) ;; *) fail "privacy triage: $LAST_ERR" ;; esac
expect_fail "a bad state filter" ctl --token "$ADMA" alerts --state open
ctl --token "$ADMA" alert resolve "$AL" --note "wiped" >/dev/null
ctl --token "$ADMA" alert show "$AL" --json >"$WORK/a1.json"
assert_eq "resolved alice@example.com 2" "$(jq -r '.state + " " + .assignee + " " + (.notes|length|tostring)' "$WORK/a1.json")" "after triage"
assert_eq "called the user; app removed|wiped" "$(jq -r '[.notes[].text] | join("|")' "$WORK/a1.json")" "notes"
assert_eq 1 "$(ctl --token "$ADMA" alerts --state resolved --json | jq '.alerts|length')" "filter by state"
assert_eq 0 "$(ctl --token "$ADMA" alerts --severity low --json | jq '.alerts|length')" "filter by severity"
ctl --token "$ADMA" audit --json >"$WORK/audit.json"
assert_eq "alert.ack alert.assign alert.note alert.resolve" "$(jq -r '[.audit[] | select(.action | startswith("alert.")) | .action] | join(" ")' "$WORK/audit.json")" "triage audited"
assert_eq "$DA" "$(jq -r '[.audit[] | select(.action == "alert.resolve")][0].device_id' "$WORK/audit.json")" "the audit names the device"
assert_eq "integration.add integration.test" "$(jq -r '[.audit[] | select(.action | startswith("integration.")) | .action] | join(" ")' "$WORK/audit.json")" "integrations audited"
ok "queue, occurrences, ack/assign/note/resolve by role, state rules, filters, audit"

# --- a closed alert: the finding's next detection opens a new one
detection "$TA" "$DA" "$TROJAN" | post "$CREDA" alerts-a-0003 >/dev/null
wait_lines "$OUT/A.jsonl" 2
assert_eq 2 "$(ctl --token "$ADMA" alerts --json | jq '.alerts|length')" "a new alert after the resolved one"
ok "a finding seen again after its alert was closed opens a new alert"

# --- suppression keeps known-good findings out
ctl --token "$ADMA" suppress add package com.corp.mdmtool --reason "our own MDM agent" --expires 30 >"$WORK/s.out"
case $(cat "$WORK/s.out") in "suppression "*": package com.corp.mdmtool") ;; *) fail "suppress add: $(cat "$WORK/s.out")" ;; esac
ctl --token "$ADMA" suppress add check android.adb_enabled --device "$DA" >/dev/null
expect_fail "a bad signer" ctl --token "$ADMA" suppress add signer xyz
expect_fail "an analyst suppresses" ctl --token "$ANA" suppress add package com.x
expect_fail "an analyst adds a destination" ctl --token "$ANA" integration add webhook "$HOOK/A" --secret "$SECA"
{
    detection "$TA" "$DA" '"threat_name":"Riskware.MDM","category":"riskware","severity":"medium","source":"app","evidence":"heuristic","status":"active","package":"com.corp.mdmtool","threat_id":"thr-mdm"'
    detection "$TA" "$DA" '"threat_name":"ADB enabled","category":"integrity","severity":"low","source":"device","evidence":"adb on","status":"active","threat_id":"android.adb_enabled"'
    detection "$TA" "$DA" '"threat_name":"Adware.Generic","category":"adware","severity":"low","source":"app","evidence":"rule","status":"active","package":"com.old.game","threat_id":"thr-2"'
} | post "$CREDA" alerts-a-0004 >/dev/null
wait_lines "$OUT/A.jsonl" 3
sleep 0.3
assert_eq "Adware.Generic" "$(ctl --token "$ADMA" alerts --json | jq -r '[.alerts[] | select(.state=="new") | .threat_name] | .[0]')" "only the unsuppressed finding made an alert"
assert_eq 3 "$(ctl --token "$ADMA" alerts --json | jq '.alerts|length')" "alerts after the suppressed findings"
assert_eq 3 "$(wc -l <"$OUT/A.jsonl")" "deliveries after the suppressed findings"
ctl --token "$ADMA" suppress list --json >"$WORK/sl.json"
assert_eq "package com.corp.mdmtool 1 true|check android.adb_enabled 1 true" "$(jq -r '[.suppressions[] | "\(.kind) \(.value) \(.hits) \(.active)"] | join("|")' "$WORK/sl.json")" "rules with their hits"
SID=$(jq -r '.suppressions[1].id' "$WORK/sl.json")
ctl --token "$ADMA" suppress remove "$SID" >/dev/null
assert_eq 1 "$(ctl --token "$ADMA" suppress list --json | jq '.suppressions|length')" "after remove"
assert_eq "suppression.add suppression.add suppression.remove" "$(ctl --token "$ADMA" audit --json | jq -r '[.audit[] | select(.action | startswith("suppression.")) | .action] | join(" ")')" "suppressions audited"
ok "suppression by package and by check on one device: no alert, no delivery, hits counted, listed, removed, audited"

# --- privacy: under report_app_details=minimal an alert names no app
echo '{"report_app_details":"minimal"}' >"$WORK/pol.json"
ctl --token "$ADMA" policy set "$WORK/pol.json" >/dev/null
detection "$TA" "$DA" '"threat_name":"Spy.Stalker","category":"spyware","severity":"critical","source":"app","evidence":"yara rule stalker","status":"active","threat_id":"thr-spy"' | post "$CREDA" alerts-a-0005 >/dev/null
wait_lines "$OUT/A.jsonl" 4
assert_eq "null null" "$(tail -1 "$OUT/A.jsonl" | jq -r '.body.data | "\(.package) \(.app_sha256)"')" "no app under minimal"
ok "an alert obeys report_app_details as reports do"

# --- the outbox survives the receiver's absence and a kill -9 of the collector
touch "$OUT/down"
seq 20 | while read -r i; do detection "$TA" "$DA" "\"threat_name\":\"Burst.$i\",\"category\":\"malware\",\"severity\":\"high\",\"source\":\"app\",\"evidence\":\"e\",\"status\":\"active\",\"threat_id\":\"burst-$i\""; done >"$WORK/burst"
assert_eq 200 "$(post "$CREDA" alerts-a-burst <"$WORK/burst")" "20 detections while the receiver is down"
# the rows are pending once derived; the failure is recorded when the first send is refused
for _ in $(seq 100); do [ "$(ctl --token "$ADMA" integration list --json | jq -r '.integrations[0] | "\(.pending) \(.last_error)"')" = "20 HTTP 503" ] && break; sleep 0.05; done
ctl --token "$ADMA" integration list --json >"$WORK/il.json"
assert_eq "20 HTTP 503" "$(jq -r '.integrations[0] | "\(.pending) \(.last_error)"' "$WORK/il.json")" "pending while the receiver is down"
for _ in $(seq 50); do grep -q '^mtd_alert_outbox_pending 20$' <(curl -s "$URL/metrics") && break; sleep 0.1; done # set after the engine's pass
grep -q '^mtd_alert_outbox_pending 20$' <(curl -s "$URL/metrics") || fail "/metrics does not show 20 pending: $(curl -s "$URL/metrics" | grep alert)"
kill -9 "$COLLECTOR_PID"; wait "$COLLECTOR_PID" 2>/dev/null || true; COLLECTOR_PID=""
rm "$OUT/down"
start_collector "$DATA" --alert-allow-net 127.0.0.1/32 --alert-retry-cap 1
wait_lines "$OUT/A.jsonl" 24
sleep 0.5
assert_eq 20 "$(grep -c '"Burst\.' "$OUT/A.jsonl")" "every alert of the burst arrived after the restart"
assert_eq 20 "$(jq -r 'select(.body.data.threat_name | startswith("Burst.")) | .event_id' "$OUT/A.jsonl" | sort -u | wc -l)" "distinct event IDs"
assert_eq 0 "$(jq -r 'select(.dup) | .event_id' "$OUT/A.jsonl" | wc -l)" "deliveries the receiver had seen before"
assert_eq 0 "$(ctl --token "$ADMA" integration list --json | jq '.integrations[0].pending')" "nothing pending"
ok "20 alerts queued while the receiver was down survived kill -9 and arrived once each"

# --- one message refused among the POSTs in flight: those before it are done, it and
# those after it are sent again (the receiver deduplicates those it had), none is lost
N0=$(cat "$WORK/n")
eid() { printf 'ev%020d' $((N0 + $1)); }
touch "$OUT/refuse-$(eid 8)"
seq 20 | while read -r i; do detection "$TA" "$DA" "\"threat_name\":\"Window.$i\",\"category\":\"malware\",\"severity\":\"high\",\"source\":\"app\",\"evidence\":\"e\",\"status\":\"active\",\"threat_id\":\"window-$i\""; done >"$WORK/window"
assert_eq 200 "$(post "$CREDA" alerts-a-window <"$WORK/window")" "20 detections, the 8th refused"
for _ in $(seq 100); do [ "$(ctl --token "$ADMA" integration list --json | jq -r '.integrations[0].last_error')" = "HTTP 503" ] && break; sleep 0.05; done
assert_eq "HTTP 503" "$(ctl --token "$ADMA" integration list --json | jq -r '.integrations[0].last_error')" "the refusal recorded"
assert_eq 0 "$(jq -r 'select(.event_id == "'"$(eid 8)"'") | .event_id' "$OUT/A.jsonl" | wc -l)" "the refused one not taken"
rm "$OUT/refuse-$(eid 8)"
for _ in $(seq 100); do [ "$(jq -r 'select(.body.data.threat_name | startswith("Window.")) | .event_id' "$OUT/A.jsonl" | sort -u | wc -l)" = 20 ] && break; sleep 0.05; done
assert_eq 20 "$(jq -r 'select(.body.data.threat_name | startswith("Window.")) | .event_id' "$OUT/A.jsonl" | sort -u | wc -l)" "every alert of the window arrived"
assert_eq 1 "$(jq -r 'select(.event_id == "'"$(eid 8)"'") | .event_id' "$OUT/A.jsonl" | wc -l)" "the refused one arrived once, after"
assert_eq 0 "$(for i in 1 2 3 4 5 6 7; do jq -r 'select(.event_id == "'"$(eid "$i")"'" and .dup) | .event_id' "$OUT/A.jsonl"; done | wc -l)" "those before it sent again"
for _ in $(seq 50); do [ "$(ctl --token "$ADMA" integration list --json | jq '.integrations[0].pending')" = 0 ] && break; sleep 0.1; done
assert_eq 0 "$(ctl --token "$ADMA" integration list --json | jq '.integrations[0].pending')" "nothing pending"
ok "a message refused among the POSTs in flight: the ones before it delivered once, it and the rest again, none lost"

# --- dead letters: a destination that never answers, past --alert-dead-after
stop_collector
start_collector "$DATA" --alert-allow-net 127.0.0.1/32 --alert-retry-cap 1 --alert-dead-after 1
ctl --token "$ADMB" integration add webhook "http://127.0.0.1:9/never" --secret "$SECB" >/dev/null
detection "$TB" "$DB" '"threat_name":"Dead.Letter","category":"malware","severity":"low","source":"app","evidence":"e","status":"active","threat_id":"dl-1"' | post "$CREDB" alerts-b-0002 >/dev/null
for _ in $(seq 100); do [ "$(ctl --token "$ADMB" integration list --json | jq '.integrations[1].dead')" = 1 ] && break; sleep 0.1; done
ctl --token "$ADMB" integration list --json >"$WORK/ilb.json"
assert_eq "1 0" "$(jq -r '.integrations[1] | "\(.dead) \(.pending)"' "$WORK/ilb.json")" "the dead letter"
case $(jq -r '.integrations[1].last_error' "$WORK/ilb.json") in *"onnect"*) ;; *) fail "last error: $(jq -r '.integrations[1].last_error' "$WORK/ilb.json")" ;; esac
wait_lines "$OUT/B.jsonl" 2
grep -q "^ID" <(ctl --token "$ADMB" integration list) || fail "integration list table"
for _ in $(seq 50); do grep -q '^mtd_alert_dead_letters 1$' <(curl -s "$URL/metrics") && break; sleep 0.1; done
grep -q '^mtd_alert_dead_letters 1$' <(curl -s "$URL/metrics") || fail "/metrics dead letters: $(curl -s "$URL/metrics" | grep alert)"
IDB=$(jq -r '.integrations[1].id' "$WORK/ilb.json")
ctl --token "$ADMB" integration remove "$IDB" >/dev/null
assert_eq 1 "$(ctl --token "$ADMB" integration list --json | jq '.integrations|length')" "after remove"
ok "a destination that never answers: dead letter after --alert-dead-after, in integration list and /metrics; the other destination unaffected"

# --- a name is checked on the address it resolves to, at connect time
stop_collector
start_collector "$DATA"
ctl --token "$ADMB" integration add webhook "http://localhost:$RPORT/hook/B" --secret "$SECB" --json >"$WORK/lh.json"
expect_fail "a name resolving to loopback" ctl --token "$ADMB" integration test "$(jq -r .id "$WORK/lh.json")"
case $LAST_ERR in *"refused to connect to "*"loopback, private or link-local"*) ;; *) fail "connect-time check: $LAST_ERR" ;; esac
ok "without --alert-allow-net, a name resolving to loopback is refused when connecting"
finish
