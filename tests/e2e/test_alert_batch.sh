#!/usr/bin/env bash
# Batched webhooks (issue 22): an integration that opts in (--batch-max N, API key
# batch_max) gets what is pending, up to N events a POST, as one signed body
# {"type": "alert.batch", "timestamp", "count", "events": [...]}, each event as a single
# POST carries it. The receiver started here (tests/e2e/alert_receiver.py) checks the
# signature, the batch's shape and every event ID, and deduplicates per event. Also:
# bad batch_max values are refused naming the key, a one-event webhook beside it is
# unchanged, a refused batch is sent again whole and nothing is lost or taken twice,
# and a batched integration's test delivery is a batch of one.
source "$(dirname "$0")/lib.sh"
RECV_PID=""
stop_receiver() { if [ -n "$RECV_PID" ]; then kill "$RECV_PID" 2>/dev/null || true; wait "$RECV_PID" 2>/dev/null || true; fi; RECV_PID=""; }
trap 'stop_receiver; cleanup' EXIT

OUT=$WORK/recv; mkdir -p "$OUT"
SECB=secret-of-the-batch-hook-0123456789; SECS=secret-of-the-single-hook-9876543210
python3 "$(dirname "$0")/alert_receiver.py" --out "$OUT" --port-file "$WORK/recv.port" \
    --secret "B=$SECB" --secret "S=$SECS" &
RECV_PID=$!
for _ in $(seq 100); do [ -s "$WORK/recv.port" ] && break; sleep 0.05; done
HOOK=http://127.0.0.1:$(cat "$WORK/recv.port")/hook

start_collector "$WORK/data" --alert-allow-net 127.0.0.1/32 --alert-retry-cap 1
new_tenant Acme
D=ps_AAAAAAAAAAAAAAAAAAAAAA
CRED=$(curl -s -X POST -H "Authorization: Bearer $ENR" -d "{\"device_id\":\"$D\"}" "$URL/v1/enroll" | jq -r .device_credential)
# detections PREFIX N: N threat.detection lines, event IDs PREFIX0001..., each its own threat
detections() {
    seq "$2" | awk -v T="$T" -v D="$D" -v p="$1" '{ printf "{\"event\":\"threat.detection\",\"schema\":1,\"event_id\":\"%s%04d\",\"time\":\"2026-12-01T10:00:00Z\",\"tenant_id\":\"%s\",\"device_id\":\"%s\",\"threat_name\":\"Batch.%d\",\"category\":\"malware\",\"severity\":\"high\",\"source\":\"app\",\"evidence\":\"e\",\"status\":\"active\",\"threat_id\":\"%s-%d\"}\n", p, $1, T, D, $1, p, $1 }'
}
post() { zstd -q -c | http_status POST /v1/batches "$CRED" -H 'Content-Type: application/x-ndjson' -H "Idempotency-Key: alert-batch-$1" --data-binary @-; }
# distinct FILE PREFIX: how many distinct event IDs starting with PREFIX FILE holds
distinct() { jq -r .event_id "$1" 2>/dev/null | grep -c "^$2" | tr -d ' ' ; }
wait_distinct() {
    for _ in $(seq 200); do [ "$(jq -r .event_id "$1" 2>/dev/null | grep "^$2" | sort -u | wc -l)" -ge "$3" ] && return 0; sleep 0.05; done
    fail "waited for $3 distinct $2 events in $(basename "$1"), got $(jq -r .event_id "$1" 2>/dev/null | grep "^$2" | sort -u | wc -l)"
}

# --- bad values are refused, naming the key
for bad in 0 1001 -3 abc 2.5; do
    expect_fail "batch_max $bad" ctl --token "$ADMIN" integration add webhook "$HOOK/B" --secret "$SECB" --batch-max "$bad"
    case $LAST_ERR in *'"batch_max" (webhook only) is an integer from 1 (one event a POST, the default) to 1000'*) ;; *) fail "batch_max $bad: $LAST_ERR" ;; esac
done
expect_fail "batch_max on syslog" ctl --token "$ADMIN" integration add syslog 127.0.0.1:9 --batch-max 10
case $LAST_ERR in *'"batch_max" (webhook only)'*) ;; *) fail "batch_max on syslog: $LAST_ERR" ;; esac
assert_eq 400 "$(http_status POST /v1/admin/integrations "$ADMIN" -d "{\"kind\":\"webhook\",\"target\":\"$HOOK/B\",\"secret\":\"$SECB\",\"batch_max\":\"50\"}")" "batch_max as a string"
assert_eq "bad_integration" "$(jq -r .error "$WORK/body")" "the error's code"
case $(jq -r .detail "$WORK/body") in *'"batch_max"'*) ;; *) fail "the 400 does not name batch_max: $(cat "$WORK/body")" ;; esac
assert_eq 0 "$(ctl --token "$ADMIN" integration list --json | jq '.integrations | length')" "nothing added by the refused requests"
ok "batch_max 0, 1001, -3, abc, 2.5, a string, or on syslog: refused with a 400 naming batch_max"

# --- a batched webhook beside a one-event one
ctl --token "$ADMIN" integration add webhook "$HOOK/B" --secret "$SECB" --batch-max 50 --json >"$WORK/ib.json"
assert_eq 50 "$(jq .batch_max "$WORK/ib.json")" "the answer's batch_max"
ctl --token "$ADMIN" integration add webhook "$HOOK/S" --secret "$SECS" >/dev/null
assert_eq "50 1" "$(ctl --token "$ADMIN" integration list --json | jq -r '[.integrations[].batch_max] | join(" ")')" "integration list shows batch_max"
IB=$(jq -r .id "$WORK/ib.json")
ctl --token "$ADMIN" integration test "$IB" >/dev/null
for _ in $(seq 100); do [ -s "$OUT/B.jsonl" ] && break; sleep 0.05; done
assert_eq "1 alert openmtd test alert" "$(jq -r '"\(.batch) \(.body.type) \(.body.data.threat_name)"' "$OUT/B.jsonl")" "the test delivery: a batch of one"
rm "$OUT/B.jsonl"
ok "a batched integration is listed with its batch_max; its test delivery is a batch of one event"

assert_eq 200 "$(detections a 120 | post batch-a)" "120 detections ($(cat "$WORK/body"))"
wait_distinct "$OUT/B.jsonl" a 120
wait_distinct "$OUT/S.jsonl" a 120
[ ! -e "$OUT/rejected.jsonl" ] || fail "the receiver refused something: $(cat "$OUT/rejected.jsonl")"
assert_eq 120 "$(distinct "$OUT/B.jsonl" a)" "the batched webhook's deliveries"
assert_eq 0 "$(jq -r 'select(.dup) | .event_id' "$OUT/B.jsonl" | wc -l)" "deliveries seen before"
assert_eq "$(seq -f 'a%04g' 120 | tr '\n' ' ')" "$(jq -r .event_id "$OUT/B.jsonl" | sort | tr '\n' ' ')" "the events"
# 120 pending at once: POSTs of 50, 50 and 20 (never more than batch_max, never waited to fill)
assert_eq "20 50" "$(jq -r .batch "$OUT/B.jsonl" | sort -n | uniq | tr '\n' ' ' | sed 's/ $//')" "the batches' sizes"
assert_eq "1" "$(jq -r '.body.data | select(.threat_name == "Batch.1") | .alert_id' "$OUT/B.jsonl")" "an event's data is the alert"
assert_eq "$(jq -c '.body.data' "$OUT/S.jsonl" | sort)" "$(jq -c '.body.data' "$OUT/B.jsonl" | sort)" "the same alerts as the one-event webhook's"
assert_eq "" "$(jq -r 'select(.batch) | .event_id' "$OUT/S.jsonl")" "the one-event webhook got no batch"
ok "120 alerts: the batched webhook got each once in POSTs of at most 50, the same alerts as the one-event webhook's"

# --- one slow event at a time: still one event a POST, nothing waits for a batch
for i in 1 2 3; do
    assert_eq 200 "$(detections "s$i-" 1 | post "slow-$i")" "detection $i"
    wait_distinct "$OUT/B.jsonl" "s$i-" 1
done
assert_eq "1 1 1" "$(jq -r 'select(.event_id | startswith("s")) | .batch' "$OUT/B.jsonl" | tr '\n' ' ' | sed 's/ $//')" "at a low rate"
ok "at a low rate each alert leaves at once, a batch of one"

# --- a refused batch is sent again whole; nothing lost, nothing taken twice
touch "$OUT/refuse-r0030"
assert_eq 200 "$(detections r 40 | post batch-r)" "40 detections, the 30th refused"
for _ in $(seq 100); do [ "$(ctl --token "$ADMIN" integration list --json | jq -r '.integrations[0].last_error')" = "HTTP 503" ] && break; sleep 0.05; done
assert_eq "HTTP 503" "$(ctl --token "$ADMIN" integration list --json | jq -r '.integrations[0].last_error')" "the refusal recorded"
sleep 1.5 # retries (cap 1 s) are refused too
assert_eq 0 "$(distinct "$OUT/B.jsonl" r)" "none of the refused batch taken"
assert_eq 40 "$(ctl --token "$ADMIN" integration list --json | jq '.integrations[0].pending')" "all 40 pending"
rm "$OUT/refuse-r0030"
wait_distinct "$OUT/B.jsonl" r 40
wait_distinct "$OUT/S.jsonl" r 40
assert_eq 40 "$(distinct "$OUT/B.jsonl" r)" "every alert of the refused batch, once"
for _ in $(seq 50); do [ "$(ctl --token "$ADMIN" integration list --json | jq '.integrations[0].pending')" = 0 ] && break; sleep 0.1; done
assert_eq 0 "$(ctl --token "$ADMIN" integration list --json | jq '.integrations[0].pending')" "nothing pending"
assert_eq 0 "$(jq -r 'select(.dup) | .event_id' "$OUT/B.jsonl" | wc -l)" "deliveries seen before"
ok "a refused batch: nothing of it taken while refused, then all 40 once each"

# --- the outbox survives kill -9 with the receiver down
touch "$OUT/down"
assert_eq 200 "$(detections k 30 | post batch-k)" "30 detections while the receiver is down"
for _ in $(seq 100); do [ "$(ctl --token "$ADMIN" integration list --json | jq '.integrations[0].pending')" = 30 ] && break; sleep 0.05; done
assert_eq 30 "$(ctl --token "$ADMIN" integration list --json | jq '.integrations[0].pending')" "pending while down"
kill -9 "$COLLECTOR_PID"; wait "$COLLECTOR_PID" 2>/dev/null || true; COLLECTOR_PID=""
rm "$OUT/down"
start_collector "$WORK/data" --alert-allow-net 127.0.0.1/32 --alert-retry-cap 1
wait_distinct "$OUT/B.jsonl" k 30
wait_distinct "$OUT/S.jsonl" k 30
assert_eq 30 "$(distinct "$OUT/B.jsonl" k)" "every alert once after the restart"
assert_eq 0 "$(jq -r 'select(.dup) | .event_id' "$OUT/B.jsonl" | wc -l)" "deliveries seen before"
ok "30 alerts queued while the receiver was down survived kill -9 and arrived once each, batched"
[ ! -e "$OUT/rejected.jsonl" ] || fail "the receiver refused something: $(cat "$OUT/rejected.jsonl")"

# --- an alert file made before batches (no integrations.batch_max) gets the column:
# every destination one event a POST, as before, and a new one may be batched
stop_collector
sqlite3 "$WORK/data/tenants/$T/alerts.sqlite" "ALTER TABLE integrations DROP COLUMN batch_max"
start_collector "$WORK/data" --alert-allow-net 127.0.0.1/32 --alert-retry-cap 1
assert_eq "1 1" "$(ctl --token "$ADMIN" integration list --json | jq -r '[.integrations[].batch_max] | join(" ")')" "after the column was added"
assert_eq 200 "$(detections o 3 | post batch-o)" "3 detections"
wait_distinct "$OUT/B.jsonl" o 3
assert_eq "" "$(jq -r 'select(.event_id | startswith("o")) | .batch // empty' "$OUT/B.jsonl")" "one-event bodies to the old file's destination"
ok "an alert file made before batches: batch_max added as 1, its destinations get one-event bodies"

# --- an alert file made before the cursors (an outbox row per alert and destination)
# gets integrations.sent_id: a destination's pending rows are sent (here the batched
# webhook's 3 "o" alerts, queued again), the others' cursors start after the last alert,
# and the alert rows leave the outbox
stop_collector
sqlite3 "$WORK/data/tenants/$T/alerts.sqlite" "ALTER TABLE integrations DROP COLUMN sent_id;
    INSERT INTO outbox(integration_id, alert_id, event_id, severity, payload, created_at)
    SELECT $IB, id, event_id, severity, '', created_at FROM alerts WHERE event_id LIKE 'o%' ORDER BY id"
start_collector "$WORK/data" --alert-allow-net 127.0.0.1/32 --alert-retry-cap 1
for _ in $(seq 200); do [ "$(jq -r 'select(.event_id | startswith("o")) | .event_id' "$OUT/B.jsonl" | wc -l)" -ge 6 ] && break; sleep 0.05; done
assert_eq 6 "$(jq -r 'select(.event_id | startswith("o")) | .event_id' "$OUT/B.jsonl" | wc -l)" "the old file's pending rows sent"
assert_eq 3 "$(jq -r 'select((.event_id | startswith("o")) and .dup) | .event_id' "$OUT/B.jsonl" | wc -l)" "as the 3 queued again"
assert_eq 200 "$(detections q 2 | post batch-q)" "2 detections after"
wait_distinct "$OUT/B.jsonl" q 2
wait_distinct "$OUT/S.jsonl" q 2
assert_eq "2 2" "$(distinct "$OUT/B.jsonl" q) $(distinct "$OUT/S.jsonl" q)" "each once after the old file's rows"
assert_eq 3 "$(distinct "$OUT/S.jsonl" o)" "nothing sent again to the destination with none pending"
for _ in $(seq 50); do [ "$(ctl --token "$ADMIN" integration list --json | jq -r '[.integrations[].pending] | join(" ")')" = "0 0" ] && break; sleep 0.1; done
assert_eq "0 0" "$(ctl --token "$ADMIN" integration list --json | jq -r '[.integrations[].pending] | join(" ")')" "nothing pending"
assert_eq 0 "$(sqlite3 "$WORK/data/tenants/$T/alerts.sqlite" "SELECT count(*) FROM outbox")" "the alert rows gone from the outbox"
ok "an alert file made before the cursors: its pending rows sent once more, then each alert once to each destination"
finish
