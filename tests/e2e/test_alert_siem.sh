#!/usr/bin/env bash
# Alerts to the systems that act on them (issue 22): syslog RFC 5424 over TCP and over
# TLS (RFC 5425) into Debian's rsyslog, which parses each message; Splunk HEC and
# Elasticsearch _bulk into a receiver that checks their formats and the OCSF Detection
# Finding inside; device risk changes pushed (signed) and pulled with an ETag.
source "$(dirname "$0")/lib.sh"
RS_PID=""; RECV_PID=""
stop_all() {
    for p in $RS_PID $RECV_PID; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    RS_PID=""; RECV_PID=""
}
trap 'stop_all; cleanup' EXIT
command -v rsyslogd >/dev/null || fail "rsyslogd is missing (scripts/install-deps installs rsyslog and rsyslog-gnutls)"
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

# rsyslog: a plain TCP and a TLS listener on loopback, each into its own file, as
# rsyslog parsed them (app-name, msgid, pri, structured data, msg)
RS=$WORK/rsyslog; mkdir -p "$RS"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$RS/key.pem" -out "$RS/cert.pem" -subj /CN=localhost \
    -addext subjectAltName=IP:127.0.0.1 -days 2 2>/dev/null
P1=$(free_port); P2=$(free_port)
cat >"$RS/rsyslog.conf" <<CONF
global(workDirectory="$RS" defaultNetstreamDriverCAFile="$RS/cert.pem" defaultNetstreamDriverCertFile="$RS/cert.pem" defaultNetstreamDriverKeyFile="$RS/key.pem")
module(load="imtcp")
template(name="t" type="string" string="%app-name% %msgid% %pri% %structured-data% %msg%\n")
ruleset(name="plain") { action(type="omfile" file="$RS/plain.log" template="t") }
ruleset(name="tls") { action(type="omfile" file="$RS/tls.log" template="t") }
input(type="imtcp" address="127.0.0.1" port="$P1" ruleset="plain")
input(type="imtcp" address="127.0.0.1" port="$P2" ruleset="tls" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
CONF
rsyslogd -n -f "$RS/rsyslog.conf" -i "$RS/rsyslogd.pid" >"$RS/out" 2>&1 &
RS_PID=$!
for _ in $(seq 100); do python3 -c "import socket;socket.create_connection(('127.0.0.1',$P2)).close()" 2>/dev/null && break; sleep 0.05; done

OUT=$WORK/recv; mkdir -p "$OUT"
RSEC=risk-push-secret-0123456789; HEC=hec-token-0123456789abcdef
python3 "$(dirname "$0")/alert_receiver.py" --out "$OUT" --port-file "$WORK/recv.port" --secret "R=$RSEC" --hec-token "$HEC" &
RECV_PID=$!
for _ in $(seq 100); do [ -s "$WORK/recv.port" ] && break; sleep 0.05; done
R=http://127.0.0.1:$(cat "$WORK/recv.port")

start_collector "$WORK/data" --alert-allow-net 127.0.0.1/32 --alert-retry-cap 1
new_tenant Acme
ctl --token "$ADMIN" integration add syslog "127.0.0.1:$P1" >/dev/null
ctl --token "$ADMIN" integration add syslog "127.0.0.1:$P2" --tls --dest-ca "$RS/cert.pem" >/dev/null
ctl --token "$ADMIN" integration add syslog "127.0.0.1:$P2" --tls >/dev/null # without its CA
UNTRUSTED=$(ctl --token "$ADMIN" integration list --json | jq '[.integrations[] | select(.kind=="syslog")] | .[2].id')
expect_fail "an untrusted certificate" ctl --token "$ADMIN" integration test "$UNTRUSTED"
case $LAST_ERR in *"certificate"*|*"SSL"*) ;; *) fail "untrusted certificate: $LAST_ERR" ;; esac
ctl --token "$ADMIN" integration remove "$UNTRUSTED" >/dev/null
ctl --token "$ADMIN" integration add splunk-hec "$R/hec/services/collector/event" --hec-token "$HEC" >/dev/null
ctl --token "$ADMIN" integration add elastic "$R/es" --index mtd-alerts >/dev/null
ctl --token "$ADMIN" integration add risk-push "$R/hook/R" --secret "$RSEC" >/dev/null
expect_fail "elastic with a secret" ctl --token "$ADMIN" integration add elastic "$R/es" --secret "$RSEC"
expect_fail "a bad index" ctl --token "$ADMIN" integration add elastic "$R/es" --index "_All"
ok "syslog (TCP, TLS with its CA), Splunk HEC, Elasticsearch and risk push configured; an untrusted TLS receiver fails its test"

# the privacy statement names each destination by kind and host, never a secret or path
WSEC=webhook-secret-0123456789abcdef
ctl --token "$ADMIN" integration add webhook "http://localhost:$(cat "$WORK/recv.port")/hook/W" --secret "$WSEC" --json >"$WORK/w.json"
ctl --token "$ADMIN" statement >"$WORK/stmt.md"
assert_eq 200 "$(http_status GET '/v1/admin/privacy/statement?format=md' "$ADMIN")" "the statement route"
cmp -s "$WORK/body" "$WORK/stmt.md" || fail "mtdctl statement is not the route's: $(diff "$WORK/body" "$WORK/stmt.md" | head -5)"
sed -n '/^## Where your organization sends alerts$/,/^## /p' "$WORK/stmt.md" | grep '^- ' | sed 's/`: each alert: .*/`/; s/`: this device.s pseudonym .*/`/' >"$WORK/dests"
assert_eq "- **Syslog over TCP (not encrypted)** at \`127.0.0.1\`
- **Syslog over TLS** at \`127.0.0.1\`
- **Splunk HTTP Event Collector** at \`127.0.0.1\`
- **Elasticsearch** at \`127.0.0.1\`
- **Risk push** to \`127.0.0.1\`
- **Webhook** at \`localhost\`" "$(cat "$WORK/dests")" "the destinations the statement names"
for secret in "$RSEC" "$HEC" "$WSEC" /hook/ services/collector "$(cat "$WORK/recv.port")"; do
    ! grep -qF -- "$secret" "$WORK/stmt.md" || fail "the statement shows $secret"
done
grep -q "^- \*\*Webhook\*\* at \`localhost\`: each alert: the threat's name, category, severity, source, evidence, status and ID, the app's package and digest, this device's pseudonym and the detection's times.$" "$WORK/stmt.md" ||
    fail "what a webhook gets: $(grep Webhook "$WORK/stmt.md")"
ctl --token "$ADMIN" integration remove "$(jq -r .id "$WORK/w.json")" >/dev/null
ctl --token "$ADMIN" statement >"$WORK/stmt2.md"
! grep -q "Webhook\|localhost" "$WORK/stmt2.md" || fail "the removed webhook is still in the statement"
assert_eq 5 "$(grep -c '^- \*\*\(Syslog\|Splunk\|Elasticsearch\|Risk push\)' "$WORK/stmt2.md")" "the destinations after the webhook's removal"
ctl --token "$ADMIN" statement --format datasafety >"$WORK/ds.csv"
! grep -q "127.0.0.1" "$WORK/ds.csv" || fail "the Data safety CSV names a destination"
ok "the privacy statement (route and mtdctl) names each destination by kind and host, never a secret, token or path; a removed one is gone"

D=ps_AAAAAAAAAAAAAAAAAAAAAA
CRED=$(curl -s -X POST -H "Authorization: Bearer $ENR" -d "{\"device_id\":\"$D\"}" "$URL/v1/enroll" | jq -r .device_credential)
echo 0 >"$WORK/n"
detection() {
    local N=$(($(cat "$WORK/n") + 1))
    echo "$N" >"$WORK/n"
    printf '{"event":"threat.detection","schema":1,"event_id":"ev%020d","time":"2026-12-01T10:00:00Z","tenant_id":"%s","device_id":"%s",%s}\n' "$N" "$T" "$D" "$1"
}
post() { zstd -q -c | http_status POST /v1/batches "$CRED" -H 'Content-Type: application/x-ndjson' -H "Idempotency-Key: $1" --data-binary @-; }
wait_lines() {
    for _ in $(seq 200); do [ "$(cat "$1" 2>/dev/null | wc -l)" -ge "$2" ] && return 0; sleep 0.05; done
    kill -0 "$COLLECTOR_PID" || echo "collector gone: $(tail -5 "$WORK/collector.log")" >&2
    fail "waited for $2 lines in $(basename "$1"), got $(cat "$1" 2>/dev/null | wc -l); destinations: $(ctl --token "$ADMIN" integration list --json | jq -c "[.integrations[] | [.kind, .delivered, .pending, .last_error]]")"
}
assert_eq 200 "$(detection '"threat_name":"Android.Trojan.SMSThief","category":"malware","severity":"high","source":"app","evidence":"sha256 \"match\" ]","status":"active","package":"com.evil.flashlight","threat_id":"thr-1"' | post siem-0001)" "a detection ($(cat "$WORK/body"))"
wait_lines "$RS/plain.log" 1; wait_lines "$RS/tls.log" 1; wait_lines "$OUT/hec.jsonl" 1; wait_lines "$OUT/es.jsonl" 1; wait_lines "$OUT/R.jsonl" 1
EID=ev00000000000000000001
for f in plain tls; do
    read -r app msgid pri sd <<<"$(cut -d' ' -f1-4 "$RS/$f.log")"
    assert_eq "openmtd alert 35" "$app $msgid $pri" "$f: app-name, msgid and PRI (security facility, error severity for high)"
    case $sd in "[openmtd@32473") ;; *) fail "$f: structured data not parsed: $(cat "$RS/$f.log")" ;; esac
    grep -q "tenant=\"$T\" alert_id=\"1\" event_id=\"$EID\" severity=\"high\"\]" "$RS/$f.log" || fail "$f: SD-PARAMs: $(cat "$RS/$f.log")"
    sed 's/^[^]]*\] //' "$RS/$f.log" | jq -e --arg d "$D" '.device_id == $d and .threat_name == "Android.Trojan.SMSThief" and .evidence == "sha256 \"match\" ]"' >/dev/null \
        || fail "$f: the message is not the alert: $(cat "$RS/$f.log")"
done
ok "rsyslog parsed the RFC 5424 messages over TCP and over TLS: app-name, msgid, PRI, structured data, the alert as JSON"
[ ! -e "$OUT/rejected.jsonl" ] || fail "the receiver refused: $(cat "$OUT/rejected.jsonl")"
assert_eq "ocsf:detection_finding 2004 Android.Trojan.SMSThief $D" "$(jq -r '.body | "\(.sourcetype) \(.event.class_uid) \(.event.finding_info.title) \(.event.device.uid)"' "$OUT/hec.jsonl")" "Splunk HEC event"
assert_eq "mtd-alerts $EID 2004" "$(jq -r '"\(.body.index) \(.event_id) \(.body.doc.class_uid)"' "$OUT/es.jsonl")" "Elasticsearch bulk action and document"
ok "Splunk HEC and Elasticsearch _bulk in their formats, each an OCSF 1.3.0 Detection Finding"

assert_eq "device.risk $D high none 1" "$(jq -r '.body | "\(.type) \(.data.device_id) \(.data.risk) \(.data.previous) \(.data.seq)"' "$OUT/R.jsonl")" "the risk push"
curl -s -D "$WORK/h1" -H "Authorization: Bearer $ADMIN" "$URL/v1/admin/devices/risk?since=0" >"$WORK/r1.json"
assert_eq "1 $D high" "$(jq -r '"\(.seq) \(.devices[0].device_id) \(.devices[0].risk)"' "$WORK/r1.json")" "risk pull"
ETAG=$(grep -i '^etag:' "$WORK/h1" | cut -d' ' -f2 | tr -d '\r')
assert_eq 304 "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $ADMIN" -H "If-None-Match: $ETAG" "$URL/v1/admin/devices/risk?since=0")" "an unchanged poll"
detection '"threat_name":"Android.Trojan.SMSThief","category":"malware","severity":"high","source":"app","evidence":"removed","status":"resolved","package":"com.evil.flashlight","threat_id":"thr-1"' | post siem-0002 >/dev/null
wait_lines "$OUT/R.jsonl" 2
assert_eq "none high 2" "$(tail -1 "$OUT/R.jsonl" | jq -r '.body.data | "\(.risk) \(.previous) \(.seq)"')" "the risk push after the threat was resolved"
assert_eq 200 "$(curl -s -o "$WORK/r2.json" -w '%{http_code}' -H "Authorization: Bearer $ADMIN" -H "If-None-Match: $ETAG" "$URL/v1/admin/devices/risk?since=0")" "a poll after a change"
assert_eq "2 none" "$(jq -r '"\(.seq) \(.devices[0].risk)"' "$WORK/r2.json")" "the change since 0"
assert_eq 0 "$(ctl --token "$ADMIN" risk-changes --since 2 --json | jq '.devices | length')" "nothing after 2"
# a suppressed finding raises no risk
ctl --token "$ADMIN" suppress add package com.corp.tool >/dev/null
detection '"threat_name":"Riskware.Tool","category":"riskware","severity":"high","source":"app","evidence":"h","status":"active","package":"com.corp.tool","threat_id":"thr-t"' | post siem-0003 >/dev/null
sleep 1
assert_eq 2 "$(wc -l <"$OUT/R.jsonl")" "no risk push for a suppressed finding"
assert_eq 0 "$(ctl --token "$ADMIN" risk-changes --since 2 --json | jq '.devices | length')" "no risk change for a suppressed finding"
ok "device risk: pushed signed on each change, pulled with since= and an ETag (304 when unchanged), suppressed findings left out"

# a syslog receiver that restarts: the connection is made again and the next alert arrives
kill "$RS_PID"; wait "$RS_PID" 2>/dev/null || true
rsyslogd -n -f "$RS/rsyslog.conf" -i "$RS/rsyslogd.pid" >>"$RS/out" 2>&1 &
RS_PID=$!
for _ in $(seq 100); do python3 -c "import socket;socket.create_connection(('127.0.0.1',$P1)).close()" 2>/dev/null && break; sleep 0.05; done
detection '"threat_name":"After.Restart","category":"malware","severity":"medium","source":"app","evidence":"e","status":"active","threat_id":"thr-r"' | post siem-0004 >/dev/null
for _ in $(seq 100); do grep -q After.Restart "$RS/plain.log" && grep -q After.Restart "$RS/tls.log" && break; sleep 0.1; done
grep -q After.Restart "$RS/plain.log" || fail "plain syslog after rsyslog restarted: $(ctl --token "$ADMIN" integration list --json)"
grep -q After.Restart "$RS/tls.log" || fail "TLS syslog after rsyslog restarted"
ok "after rsyslog restarted, the next alert arrived over a new connection (TCP and TLS)"
finish
