#!/usr/bin/env bash
# Privacy as a feature (issue 3): run the real agent against a real collector and look
# at what actually left the device (the ledger is the exact bytes sent) and what every
# file of the collector holds. Every field is declared; no raw identifier arrives;
# optional data needs policy and consent; revoking consent deletes it; hand-crafted
# batches that break the rules are refused; the statements match the schema.
source "$(dirname "$0")/lib.sh"
SRC=${MTD_SRC:?}

DATA=$WORK/data
start_collector "$DATA"
ctl() { "$BIN/mtdctl" --server "$URL" "$@"; }
agent() { "$BIN/mtd-agent" "$@"; }
ctl --token "$OPERATOR_TOKEN" tenant create "Privacy Co" --json >"$WORK/t.json"
T=$(jq -r .tenant_id "$WORK/t.json"); ADMIN=$(jq -r .admin_token "$WORK/t.json"); ENR=$(jq -r .enroll_token "$WORK/t.json")
UPN=carol.privacy@privacyco.example
DEVID=aad-device-7f3e2b91-private
ST=$WORK/agent
agent enroll --state "$ST" --server "$URL" --token "$ENR" --user "$UPN" --device-id "$DEVID" >/dev/null
agent run --state "$ST" --once >/dev/null

# 1. every field of every record that left the device is declared in the schema
agent privacy statement --format schema >"$WORK/schema.json"
jq -c '.record' "$ST/ledger.jsonl" >"$WORK/sent.jsonl"
[ "$(wc -l <"$WORK/sent.jsonl")" -ge 3 ] || fail "the ledger holds $(wc -l <"$WORK/sent.jsonl") records"
jq -n -e --slurpfile s "$WORK/schema.json" --slurpfile r "$WORK/sent.jsonl" '
    ($s[0].envelope | map(.name)) as $env
    | all($r[]; . as $rec | ($s[0].events[] | select(.name == $rec.event) | .fields | map(.name)) as $f
          | all($rec | keys[]; . as $k | ($env + $f) | index($k)))' >/dev/null \
    || fail "a record in the ledger has an undeclared field"
ok "every field of every record sent is declared in the schema ($(wc -l <"$WORK/sent.jsonl") records)"

# 2. raw identifiers: never in what was sent, never in any collector file
MACHINE_ID=$(cat /etc/machine-id 2>/dev/null || true)
MACS=$(for i in /sys/class/net/*; do [ "$(basename "$i")" = lo ] || cat "$i/address" 2>/dev/null; done | grep -v '^00:00:00:00:00:00$' || true)
for s in $UPN $DEVID $MACHINE_ID $MACS; do
    ! grep -qiF "$s" "$WORK/sent.jsonl" || fail "raw identifier $s was sent"
    ! grep -rqiF "$s" "$DATA" || fail "raw identifier $s is in a collector file"
done
assert_eq "$(jq -r .upn "$ST/agent.json")" "$(jq -r 'select(.event=="device.info") | .upn' "$WORK/sent.jsonl")" "UPN sent as its pseudonym"
ok "no raw MAC, machine-id, UPN or directory ID was sent or stored"

# 3. optional data: refused without policy, refused without consent
expect_fail "feedback while the policy forbids optional data" agent feedback --state "$ST" --type idea --comment "x"
grep -q "policy does not allow optional data" <<<"$LAST_ERR" || fail "$LAST_ERR"
echo '{"optional_data": true, "retention_feedback_days": 45}' >"$WORK/p.json"
ctl --token "$ADMIN" policy set "$WORK/p.json" >/dev/null
agent run --state "$ST" --once >/dev/null   # fetches the new policy
expect_fail "feedback without consent" agent feedback --state "$ST" --type frown --comment "no consent" --email noconsent@privacyco.example
grep -q "not consented" <<<"$LAST_ERR" || fail "$LAST_ERR"
! grep -rqF noconsent@privacyco.example "$DATA" "$ST" || fail "an email given without consent was kept or sent"
ok "optional data needs the tenant's policy and the user's consent"

agent consent grant --state "$ST" >/dev/null
assert_eq "consent: granted" "$(agent consent status --state "$ST" | head -1)" "consent status"
agent feedback --state "$ST" --type smile --comment "Blocked a phishing page, thanks" --email carol.typed@privacyco.example --with-diagnostics >/dev/null
DB=$DATA/tenants/$T/store.sqlite
assert_eq 1 "$(sqlite3 "$DB" 'select count(*) from ev_feedback_submission')" "feedback stored"
assert_eq 1 "$(sqlite3 "$DB" 'select count(*) from ev_diag_bundle')" "diagnostics stored"
assert_eq carol.typed@privacyco.example "$(sqlite3 "$DB" 'select email from ev_feedback_submission')" "the email the user typed"
assert_eq "$(sqlite3 "$DB" 'select feedback_id from ev_feedback_submission')" "$(sqlite3 "$DB" 'select feedback_id from ev_diag_bundle')" "diagnostics attached to that feedback"
grep -q '"event":"diag.bundle"' "$ST/ledger.jsonl" || fail "the diagnostic bundle is not in the ledger"
ok "with consent, feedback and its diagnostic bundle arrive and show in the ledger"

# 4. revocation: queued optional data purged on the device, stored optional data deleted
ctl --token "$ADMIN" policy get --json >/dev/null
agent consent revoke --state "$ST" >"$WORK/revoke.out"
assert_eq 0 "$(sqlite3 "$DB" 'select count(*) from ev_feedback_submission')" "feedback rows after revocation"
assert_eq 0 "$(sqlite3 "$DB" 'select count(*) from ev_diag_bundle')" "diagnostic rows after revocation"
! grep -rqaF "Blocked a phishing page" "$DATA" || fail "the feedback comment survives in a collector file"
! grep -rqaF carol.typed@privacyco.example "$DATA" || fail "the typed email survives in a collector file"
ctl --token "$ADMIN" audit --json | jq -e '[.audit[] | select(.action=="consent.revoke")] | length == 1' >/dev/null || fail "revocation not in the audit log"
ok "after revocation no optional row, comment or email remains in any collector file; audited"

# 5. a modified agent: hand-crafted batches the gate would never send
CRED=$(cat "$ST/credential"); DEV=$(jq -r .device_id "$ST/agent.json")
post() { zstd -q -c | http_status POST /v1/batches "$CRED" -H 'Content-Type: application/x-ndjson' -H "Idempotency-Key: $1" --data-binary @-; }
base='"schema":1,"time":"2026-11-24T10:00:00Z","tenant_id":"'$T'","device_id":"'$DEV'"'
assert_eq 403 "$(echo '{"event":"diag.bundle","event_id":"crafted000000000000001",'"$base"',"model":"x"}' | post crafted-0001)" "diagnostics without consent"
assert_eq no_consent "$(jq -r .error "$WORK/body")" "reason"
assert_eq 422 "$(echo '{"event":"device.info","event_id":"crafted000000000000002",'"$base"',"os_name":"x","os_version":"1","device_id_source":"mac","serial":"R58M123"}' | post crafted-0002)" "an undeclared field"
MAC1=$(echo "$MACS" | head -1); MAC1=${MAC1:-02:42:ac:11:00:02}
assert_eq 400 "$(echo '{"event":"device.info","event_id":"crafted000000000000003","schema":1,"time":"2026-11-24T10:00:00Z","tenant_id":"'$T'","device_id":"'$MAC1'","os_name":"x","os_version":"1","device_id_source":"mac"}' | post crafted-0003)" "a raw MAC as the device ID"
jq -r .detail "$WORK/body" | grep -q "must be a pseudonym" || fail "raw MAC refusal: $(cat "$WORK/body")"
assert_eq 400 "$(echo '{"event":"usage.action","event_id":"crafted000000000000004",'"$base"',"upn":"'$UPN'","action":"enroll"}' | post crafted-0004)" "a raw UPN"
! grep -rqiF "$MAC1" "$DATA" && ! grep -rqiF "$UPN" "$DATA" || fail "a refused raw identifier reached a collector file"
ok "crafted batches with diagnostics without consent, undeclared fields, a raw MAC or UPN are refused"

# 6. the statements are generated from the schema and kept true
agent privacy statement --format md | diff -u "$SRC/docs/privacy.md" - >"$WORK/diff" || fail "docs/privacy.md is out of date; regenerate it with: build/bin/mtd-agent privacy statement > docs/privacy.md ($(head -20 "$WORK/diff"))"
agent privacy statement --format xcprivacy | python3 -c '
import plistlib, sys
d = plistlib.loads(sys.stdin.buffer.read())
assert d["NSPrivacyTracking"] is False
types = [t["NSPrivacyCollectedDataType"] for t in d["NSPrivacyCollectedDataTypes"]]
assert "NSPrivacyCollectedDataTypeDeviceID" in types and "NSPrivacyCollectedDataTypeCrashData" in types, types
assert all(t["NSPrivacyCollectedDataTypeTracking"] is False for t in d["NSPrivacyCollectedDataTypes"])
' || fail "PrivacyInfo.xcprivacy is not a valid property list with the expected types"
agent privacy statement --format datasafety | python3 -c '
import csv, sys
rows = list(csv.DictReader(sys.stdin))
kinds = {(r["data_category"], r["data_type"]): r for r in rows}
assert kinds[("Personal info", "Email address")]["required_or_optional"] == "optional"
assert kinds[("Device or other IDs", "Device or other IDs")]["required_or_optional"] == "required"
assert all(r["shared"] == "no" and r["encrypted_in_transit"] == "yes" for r in rows)
' || fail "Data safety CSV"
agent privacy statement --format md --state "$ST" >"$WORK/statement.md"
grep -q '^| `optional_data` | .* | `true` |$' "$WORK/statement.md" || fail "statement lacks the tenant's settings"
grep -qx -- '| `retention_feedback_days` | the same for feedback. | all data of that kind | `45` |' "$WORK/statement.md" || fail "statement lacks the tenant's retention periods"
ok "docs/privacy.md is current; xcprivacy and Data safety answers parse and say the right things"
stop_collector
finish
