#!/usr/bin/env bash
# The collector as a security team uses it (issues 3 and 6): roles, reports, device
# risk, policy enforcement at ingest, OCSF export, consent deletion, user export and
# delete, retention and the audit log. Devices are driven by hand-made batches posted
# with curl, so every field is known and every answer can be checked exactly.
source "$(dirname "$0")/lib.sh"

DATA=$WORK/data
start_collector "$DATA"
new_tenant Acme

# two devices enrolled through the API, as an agent does
# (each credential bound at enrollment to the device and user pseudonyms it presents)
D1=ps_AAAAAAAAAAAAAAAAAAAAAA; D2=ps_BBBBBBBBBBBBBBBBBBBBBB
U1=ps_UUUUUUUUUUUUUUUUUUUUUU
enroll() { curl -s -X POST -H "Authorization: Bearer $ENR" -d "$1" "$URL/v1/enroll" | jq -r .device_credential; }
CRED1=$(enroll "{\"device_id\":\"$D1\",\"upn\":\"$U1\"}"); CRED2=$(enroll "{\"device_id\":\"$D2\"}")
N=0
# event TYPE DEVICE JSON-FIELDS: one event line with a fresh event_id
event() {
    N=$((N + 1))
    printf '{"event":"%s","schema":1,"event_id":"ev%020d","time":"%s","tenant_id":"%s","device_id":"%s"%s,%s}\n' \
        "$1" "$N" "${TIME:-2026-11-24T10:00:00Z}" "$T" "$2" "$( [ "$2" = "$D1" ] && printf ',"upn":"%s"' "$U1")" "$3"
}
# post CRED KEY < lines: prints the HTTP status
post() { zstd -q -c | http_status POST /v1/batches "$1" -H 'Content-Type: application/x-ndjson' -H "Idempotency-Key: $2" --data-binary @-; }

{
    event device.info "$D1" '"os_name":"Android","os_version":"14","manufacturer":"Google","model":"Pixel 8","device_id_source":"android_id"'
    event app.inventory "$D1" '"package":"com.whatsapp","version_code":241,"version_name":"2.24.1","install_source":"com.android.vending","permissions":["android.permission.CAMERA","android.permission.INTERNET"],"is_system":false'
    event app.inventory "$D1" '"package":"com.evil.flashlight","version_code":1,"version_name":"1.0","install_source":"com.android.chrome","permissions":["android.permission.READ_SMS","android.permission.INTERNET"],"is_system":false'
    event app.inventory "$D1" '"package":"com.old.game","version_code":5,"version_name":"5","install_source":"com.android.vending","permissions":[],"is_system":false'
    event threat.detection "$D1" '"threat_name":"Android.Trojan.SMSThief","category":"malware","severity":"high","source":"app","evidence":"sha256 match","status":"active","package":"com.evil.flashlight","threat_id":"thr-1"'
    event threat.detection "$D1" '"threat_name":"Adware.Generic","category":"adware","severity":"low","source":"app","evidence":"rule","status":"active","package":"com.old.game","threat_id":"thr-2"'
} >"$WORK/b1"
assert_eq 200 "$(post "$CRED1" batch-d1-0001 <"$WORK/b1")" "first batch of device 1 ($(cat "$WORK/body"))"
assert_eq 6 "$(jq -r .stored "$WORK/body")" "events stored from the first batch"
TIME=2026-11-24T11:00:00Z
{
    event app.lifecycle "$D1" '"package":"com.old.game","action":"remove","old_version":"5"'
    event threat.detection "$D1" '"threat_name":"Adware.Generic","category":"adware","severity":"low","source":"app","evidence":"app removed","status":"resolved","package":"com.old.game","threat_id":"thr-2"'
} | post "$CRED1" batch-d1-0002 >/dev/null
event device.info "$D2" '"os_name":"Android","os_version":"13","model":"Galaxy S22","device_id_source":"mac"' | post "$CRED2" batch-d2-0001 >/dev/null
ok "two devices reported inventory, threats and a removal"

ctl --token "$ADMIN" apps --json >"$WORK/apps.json"
assert_eq "com.evil.flashlight com.whatsapp" "$(jq -r '[.apps[].package] | join(" ")' "$WORK/apps.json")" "current apps (the removed game is gone)"
assert_eq com.whatsapp "$(ctl --token "$ADMIN" apps --permission android.permission.CAMERA --json | jq -r '[.apps[].package] | join(" ")')" "apps holding CAMERA"
assert_eq com.evil.flashlight "$(ctl --token "$ADMIN" apps --sideloaded --json | jq -r '[.apps[].package] | join(" ")')" "sideloaded apps"
assert_eq "$D1" "$(ctl --token "$ADMIN" apps --package com.whatsapp --json | jq -r '[.apps[].device_id] | join(" ")')" "who has com.whatsapp"
assert_eq 200 "$(http_status GET /v1/admin/apps/history "$ADMIN")" "app history"
assert_eq "com.old.game remove" "$(jq -r '.["app.lifecycle"][] | "\(.package) \(.action)"' "$WORK/body")" "app history rows"
ok "app reports: current, by permission, sideloaded, by package, history"

ctl --token "$ADMIN" apps --limit 1 --json >"$WORK/page1.json"
assert_eq "com.evil.flashlight 1" "$(jq -r '"\(.apps[0].package) \(.next_offset)"' "$WORK/page1.json")" "first page of one app"
assert_eq "com.whatsapp null" "$(ctl --token "$ADMIN" apps --limit 1 --offset 1 --json | jq -r '"\([.apps[].package] | join(" ")) \(.next_offset)"')" "last page"
assert_eq "com.evil.flashlight com.whatsapp null" "$(ctl --token "$ADMIN" apps --all --limit 1 --json | jq -r '"\([.apps[].package] | join(" ")) \(.next_offset)"')" "--all follows the pages"
assert_eq "com.whatsapp null" "$(ctl --token "$ADMIN" apps --all --limit 1 --offset 1 --json | jq -r '"\([.apps[].package] | join(" ")) \(.next_offset)"')" "--all from --offset"
assert_eq "(more rows follow: --offset 1 for the next page, or --all)" "$(ctl --token "$ADMIN" apps --limit 1 | tail -n 1)" "table of a page says where the next starts"
for bad in 0 10001 -1 abc 1x %205 99999999999999999999; do
    assert_eq 400 "$(http_status GET "/v1/admin/apps?limit=$bad" "$ADMIN")" "limit=$bad"
done
jq -r .detail "$WORK/body" | grep -qx 'limit must be an integer from 1 to 10000' || fail "bad limit answered: $(cat "$WORK/body")"
assert_eq 400 "$(http_status GET "/v1/admin/usage?offset=-5" "$ADMIN")" "offset=-5"
ok "list reports come in pages: --limit, --offset, next_offset, --all; bad page arguments are a 400"

# keyset pages: next_cursor, given back as ?cursor=, starts the next page after the last
# row; a cursor that is not one of the report's own is a 400 naming it
b64url() { printf '%s' "$1" | base64 -w0 | tr '+/' '-_' | tr -d '='; }
http_status GET "/v1/admin/apps?limit=1" "$ADMIN" >/dev/null
C1=$(jq -r .next_cursor "$WORK/body")
assert_eq "com.evil.flashlight 1 true" "$(jq -r '"\([.apps[].package] | join(" ")) \(.next_offset) \(.next_cursor | test("^[A-Za-z0-9_-]+$"))"' "$WORK/body")" "first page has a base64url next_cursor"
assert_eq 200 "$(http_status GET "/v1/admin/apps?limit=1&cursor=$C1" "$ADMIN")" "page after the cursor"
assert_eq "com.whatsapp null null" "$(jq -r '"\([.apps[].package] | join(" ")) \(.next_cursor) \(.next_offset)"' "$WORK/body")" "the page after the cursor is the last"
for bad in x AAAA "$(b64url '["apps","com.whatsapp"]')" "$(b64url '["threats","com.whatsapp","x"]')" \
           "$(b64url '["apps",1,2]')" "$(b64url '["apps","a","b","c"]')" "$(b64url '{"apps":1}')" \
           "%27%29%20OR%201%3D1%20--" "$(head -c 2000 /dev/zero | tr '\0' A)"; do
    assert_eq 400 "$(http_status GET "/v1/admin/apps?limit=1&cursor=$bad" "$ADMIN")" "cursor=${bad:0:40}"
    assert_eq "cursor must be a next_cursor of this report" "$(jq -r .detail "$WORK/body")" "bad cursor named"
done
assert_eq 400 "$(http_status GET "/v1/admin/usage?cursor=$C1" "$ADMIN")" "an apps cursor given to the usage report"
assert_eq 400 "$(http_status GET "/v1/admin/audit?cursor=$C1" "$ADMIN")" "an apps cursor given to the audit log"
ok "keyset pages: next_cursor, ?cursor= continues after the last row, a bad cursor is a 400"

ctl --token "$ADMIN" threats --status active --json >"$WORK/thr.json"
assert_eq "Android.Trojan.SMSThief" "$(jq -r '[.threats[].threat_name] | join(" ")' "$WORK/thr.json")" "active threats"
assert_eq "resolved" "$(ctl --token "$ADMIN" threats --status resolved --json | jq -r '.threats[0].status')" "resolved threats"
assert_eq high "$(ctl --token "$ADMIN" risk "$D1" --json | jq -r .risk)" "risk of device 1"
assert_eq none "$(ctl --token "$ADMIN" risk "$D2" --json | jq -r .risk)" "risk of device 2"
ctl --token "$ADMIN" risk "$D1" >"$WORK/risk.txt"
assert_eq "$D1: risk high (open threats: 1)" "$(head -1 "$WORK/risk.txt")" "risk on a terminal"
assert_eq "SEVERITY THREAT CATEGORY STATUS LAST SEEN (UTC) SOURCE" "$(sed -n 2p "$WORK/risk.txt" | tr -s ' ' | sed 's/ $//')" "risk table columns"
assert_eq "high Android.Trojan.SMSThief malware active" "$(sed -n 3p "$WORK/risk.txt" | tr -s ' ' | cut -d' ' -f1-4)" "the threat that sets it"
assert_eq 404 "$(http_status GET "/v1/admin/devices/ps_CCCCCCCCCCCCCCCCCCCCCC/risk" "$ADMIN")" "risk of an unknown device"
TIME=2026-11-24T12:00:00Z
event threat.detection "$D1" '"threat_name":"Android.Trojan.SMSThief","category":"malware","severity":"high","source":"app","evidence":"app removed","status":"resolved","package":"com.evil.flashlight","threat_id":"thr-1"' | post "$CRED1" batch-d1-0003 >/dev/null
assert_eq none "$(ctl --token "$ADMIN" risk "$D1" --json | jq -r .risk)" "risk after the threat was resolved"
assert_eq "none none" "$(ctl --token "$ADMIN" devices --json | jq -r '[.devices[].risk] | join(" ")')" "risk column of the device report"
expect_fail "risk without a device" ctl --token "$ADMIN" risk
assert_eq "mtdctl: usage: mtdctl [OPTIONS] risk DEVICE_ID" "$LAST_ERR" "risk without a device"
expect_fail "apps with a stray word" ctl --token "$ADMIN" apps com.evil.flashlight
assert_eq "mtdctl: usage: mtdctl [OPTIONS] apps [--device D] [--group G] [--package P] [--permission P] [--sideloaded]" "$LAST_ERR" "apps with a stray word"
expect_fail "a made-up command" ctl --token "$ADMIN" frobnicate
assert_eq 'mtdctl: unknown command "frobnicate" (see mtdctl --help)' "$LAST_ERR" "a made-up command"
ok "threats open and resolved; risk follows the most severe active threat"

# roles
ctl --token "$ADMIN" token create analyst --label soc --json >"$WORK/an.json"
ANALYST=$(jq -r .token "$WORK/an.json"); ANALYST_ID=$(jq -r .id "$WORK/an.json")
PRIV=$(ctl --token "$ADMIN" token create privacy --json | jq -r .token)
assert_eq 2 "$(ctl --token "$ANALYST" devices --json | jq '.devices | length')" "analyst reads devices"
echo '{"optional_data": true}' >"$WORK/p.json"
expect_fail "analyst sets policy" ctl --token "$ANALYST" policy set "$WORK/p.json"
grep -q "403" <<<"$LAST_ERR" || fail "analyst policy set: $LAST_ERR"
expect_fail "analyst exports a user" ctl --token "$ANALYST" user export someone@acme.example
ctl --token "$PRIV" user export someone@acme.example --json >/dev/null
expect_fail "privacy officer sets policy" ctl --token "$PRIV" policy set "$WORK/p.json"
ctl --token "$ADMIN" token revoke "$ANALYST_ID" >/dev/null
assert_eq 401 "$(http_status GET /v1/admin/devices "$ANALYST")" "revoked analyst token"
ok "roles: analyst reads only, privacy officer exports, admins create and revoke tokens"

# policy enforced at ingest (defence in depth against a modified agent)
echo '{"report_connections": "off", "report_urls": "domain"}' >"$WORK/p.json"
assert_eq off "$(ctl --token "$ADMIN" policy set "$WORK/p.json" --json | jq -r .report_connections)" "policy set"
assert_eq off "$(curl -s -H "Authorization: Bearer $CRED1" "$URL/v1/policy" | jq -r .report_connections)" "device sees the policy"
assert_eq 403 "$(event net.connection "$D1" '"ip":"203.0.113.9","protocol":"tcp","port":443,"count":3,"threat":true' | post "$CRED1" batch-conn-0001)" "connection record under report_connections=off"
assert_eq connections_forbidden "$(jq -r .error "$WORK/body")" "reason"
assert_eq 403 "$(event web.detection "$D1" '"url":"https://phish.example.net/login/steal?u=1","domain":"phish.example.net","threat_name":"Phish.Kit","category":"phishing"' | post "$CRED1" batch-web-0001)" "full URL under report_urls=domain"
assert_eq 200 "$(event web.detection "$D1" '"url":"https://phish.example.net/","domain":"phish.example.net","threat_name":"Phish.Kit","category":"phishing","url_scope":"domain"' | post "$CRED1" batch-web-0002)" "domain-only URL"
assert_eq 403 "$(event feedback.submission "$D1" '"type":"idea","comment":"x"' | post "$CRED1" batch-fb-0001)" "feedback while optional data is off"
curl -s "$URL/metrics" >"$WORK/metrics"
grep -q '^mtd_events_rejected_total{reason="connections_forbidden"} 1$' "$WORK/metrics" || fail "metrics: $(grep rejected "$WORK/metrics")"
grep -q '^mtd_events_rejected_total{reason="url_forbidden"} 1$' "$WORK/metrics" || fail "url_forbidden not counted"
grep -q '^mtd_events_rejected_total{reason="optional_data_forbidden"} 1$' "$WORK/metrics" || fail "optional_data_forbidden not counted"
grep -q '^mtd_ingest_seconds_count ' "$WORK/metrics" || fail "metrics lack the ingest latency"
# the public endpoint names no tenant; the operator's shows each tenant's store size
! grep -q "$T" "$WORK/metrics" || fail "the public /metrics names a tenant: $(grep "$T" "$WORK/metrics")"
# whole, then grep: piped into grep -q, its early exit fails curl under pipefail (a flake in CI)
curl -s -H "Authorization: Bearer $OPERATOR_TOKEN" "$URL/metrics" >"$WORK/op-metrics"
grep -q "^mtd_store_bytes{tenant=\"$T\"} " "$WORK/op-metrics" || fail "the operator's /metrics lacks the store size"
assert_eq 401 "$(http_status GET /metrics "$ADMIN")" "/metrics with a token that is not the operator's"
ok "the collector refuses and counts what the policy forbids"

# consent: optional data only with consent; revocation deletes it
echo '{"optional_data": true}' >"$WORK/p.json"; ctl --token "$ADMIN" policy set "$WORK/p.json" >/dev/null
assert_eq 403 "$(event feedback.submission "$D1" '"type":"idea","comment":"x"' | post "$CRED1" batch-fb-0002)" "feedback without consent"
assert_eq no_consent "$(jq -r .error "$WORK/body")" "reason"
{ event consent.change "$D1" '"state":"granted"'; event feedback.submission "$D1" '"type":"smile","comment":"works great","feedback_id":"fb1"'
  event diag.bundle "$D1" '"os_version":"14","model":"Pixel 8","feedback_id":"fb1"'; } | post "$CRED1" batch-fb-0003 >/dev/null
assert_eq 1 "$(ctl --token "$ADMIN" feedback --json | jq '.["feedback.submission"] | length')" "feedback stored with consent"
# on a terminal, the same report as a table whose columns the schema names
ctl --token "$ADMIN" feedback >"$WORK/fb.txt"
assert_eq "Your feedback (feedback.submission): 1 row (1 more field with --json)" "$(head -1 "$WORK/fb.txt")" "feedback table title"
assert_eq "DEVICE TIME (UTC) TYPE COMMENT EMAIL" "$(sed -n 2p "$WORK/fb.txt" | tr -s ' ' | sed 's/ $//')" "feedback table columns"
assert_eq "$D1 smile works great -" "$(sed -n 3p "$WORK/fb.txt" | tr -s ' ' | cut -d' ' -f1,4- | sed 's/ $//')" "feedback table row"
assert_eq 1 "$(ctl --token "$ADMIN" diagnostics --json | jq '.["diag.bundle"] | length')" "diagnostics stored with consent"
event consent.change "$D1" '"state":"revoked","delete_optional":true' | post "$CRED1" batch-fb-0004 >/dev/null
assert_eq 0 "$(ctl --token "$ADMIN" feedback --json | jq '.["feedback.submission"] | length')" "feedback after revocation"
assert_eq 0 "$(ctl --token "$ADMIN" diagnostics --json | jq '.["diag.bundle"] | length')" "diagnostics after revocation"
ctl --token "$ADMIN" audit --json | jq -r '.audit[].detail' | grep -q 'deleted its 2 optional records' || fail "revocation not audited"
ok "optional data needs consent; revoking it deletes the device's optional data and is audited"

# OCSF export: the attributes every class requires
ctl --token "$ADMIN" export --ocsf >"$WORK/ocsf.jsonl"
[ "$(wc -l <"$WORK/ocsf.jsonl")" -ge 10 ] || fail "OCSF export too short"
jq -e -s 'all(.[]; (.class_uid|type)=="number" and (.category_uid|type)=="number" and .type_uid == .class_uid*100+.activity_id
          and (.severity_id|type)=="number" and .time > 1700000000000 and .metadata.product.name=="openmtd" and .metadata.version=="1.3.0")' \
    "$WORK/ocsf.jsonl" >/dev/null || fail "an OCSF event lacks a required base attribute"
jq -e -s '[.[] | select(.metadata.log_name=="threat.detection")] | length == 4 and all(.[]; .finding_info.title and (.finding_info.types|type)=="array" and .finding_info.uid)' "$WORK/ocsf.jsonl" >/dev/null || fail "Detection Finding lacks finding_info"
jq -e -s '[.[] | select(.class_uid==5020)] | length == 3 and all(.[]; .package.name and .device.uid)' "$WORK/ocsf.jsonl" >/dev/null || fail "Software Inventory lacks package/device"
jq -e -s '[.[] | select(.class_uid==5001)] | all(.[]; .device.os.name and .device.uid and .activity_id==2)' "$WORK/ocsf.jsonl" >/dev/null || fail "Device Inventory lacks device"
jq -e -s '[.[] | select(.class_uid==6002)] | .[0].activity_id == 2 and .[0].app.name == "com.old.game"' "$WORK/ocsf.jsonl" >/dev/null || fail "Application Lifecycle remove"
jq -e -s '[.[] | select(.metadata.log_name=="web.detection")] | .[0].class_uid == 2004 and .[0].evidences[0].url.hostname == "phish.example.net"' "$WORK/ocsf.jsonl" >/dev/null || fail "a blocked page as a Detection Finding"
ok "OCSF export carries class, category, type, activity, severity, time and metadata"

# 2,500 usage events of one device: the export streams them in chunks of 1,000 rows,
# the usage report pages them
seq 2500 | awk -v T="$T" -v D="$D2" '{printf "{\"event\":\"usage.action\",\"schema\":1,\"event_id\":\"ua%020d\",\"time\":\"2026-11-24T12:00:00Z\",\"tenant_id\":\"%s\",\"device_id\":\"%s\",\"action\":\"ledger_viewed\"}\n", $1, T, D}' >"$WORK/usage"
assert_eq 200 "$(post "$CRED2" batch-usage-0001 <"$WORK/usage")" "2,500 usage events ($(cat "$WORK/body"))"
ctl --token "$ADMIN" export >"$WORK/raw.jsonl"
assert_eq "2500 2500 true" "$(jq -s -r '[.[] | select(.event == "usage.action")] | "\(length) \([.[].event_id] | unique | length) \([.[].row] == ([.[].row] | sort))"' "$WORK/raw.jsonl")" "usage events in the streamed export: all, once each, in order"
ROWS=0
for t in $(sqlite3 "$DATA/tenants/$T/store.sqlite" "select name from sqlite_master where type = 'table' and name like 'ev\_%' escape '\\'"); do
    ROWS=$((ROWS + $(sqlite3 "$DATA/tenants/$T/store.sqlite" "select count(*) from $t")))
done
assert_eq "$ROWS" "$(wc -l <"$WORK/raw.jsonl")" "export lines = event rows stored"
assert_eq "1000 1000" "$(ctl --token "$ADMIN" usage --events --json | jq -r '"\(.["usage.action"] | length) \(.next_offset)"')" "first page of the usage report"
assert_eq "2500 null" "$(ctl --token "$ADMIN" usage --events --all --json | jq -r '"\(.["usage.action"] | length) \(.next_offset)"')" "every page of the usage report"
ctl --token "$ADMIN" audit --all --json >"$WORK/audit.json"
assert_eq true "$(jq -r '[.audit[] | select(.action == "report.usage") | .detail] | any(endswith(" cursor"))' "$WORK/audit.json")" "--all asked for the next pages by cursor"
ok "export streams every row once, in chunks; the usage report pages 2,500 rows"

# user export of a user who has no device here: an empty answer, not an error (the
# export and delete of real users, found through their UPN, are in test_privacy.sh)
assert_eq "0 0" "$(ctl --token "$ADMIN" user export nobody@acme.example --json | jq -r '"\(.devices | length) \(.events | length)"')" "export of an unknown user"
ok "user export answers for an unknown user with nothing"

stop_collector
# retention: age every required record by 400 days and let the job run
sqlite3 "$DATA/tenants/$T/store.sqlite" "update ev_device_info set received_at = received_at - 400*86400"
start_collector "$DATA" --retention-interval 1
for _ in $(seq 1 50); do
    [ "$(sqlite3 "$DATA/tenants/$T/store.sqlite" 'select count(*) from ev_device_info')" = 0 ] && break
    sleep 0.1
done
assert_eq 0 "$(sqlite3 "$DATA/tenants/$T/store.sqlite" 'select count(*) from ev_device_info')" "device records past 365 days"
[ "$(sqlite3 "$DATA/tenants/$T/store.sqlite" 'select count(*) from ev_app_inventory')" -eq 3 ] || fail "retention deleted records still in their period"
ctl --token "$ADMIN" audit --json | jq -r '.audit[].action' | grep -q '^retention.delete$' || fail "retention not audited"
ok "retention deletes only what is past the policy's period, and is audited"

ACTIONS=$(ctl --token "$ADMIN" audit --json | jq -r '[.audit[].action] | unique | join(" ")')
for a in policy.set token.create token.revoke user.export report.apps report.threats export; do
    grep -qw "$a" <<<"$ACTIONS" || fail "audit log lacks $a: $ACTIONS"
done
sqlite3 "$DATA/tenants/$T/store.sqlite" "delete from audit" 2>"$WORK/sqlerr" && fail "the audit log allowed a delete"
grep -q 'append-only' "$WORK/sqlerr" || fail "audit delete refused for the wrong reason: $(cat "$WORK/sqlerr")"
ok "every admin action is in the append-only audit log"
stop_collector
finish
