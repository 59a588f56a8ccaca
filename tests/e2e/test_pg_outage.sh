#!/usr/bin/env bash
# PostgreSQL down, then back (issue 21, item 4): while the cluster is stopped every
# route that needs it answers 503 with Retry-After, never the 401 that made an agent
# set its batch aside in rejected.jsonl for good; the agent keeps its spool; once the
# cluster is started again the same collector (no restart) serves again, and every
# event the agent spooled is stored exactly once. The pool's metrics show it.
# It needs a cluster it may stop: run alone, it starts one (tests/with-postgres.sh).
[ -n "${MTD_PG_URL:-}" ] ||
    exec bash "$(dirname "$0")/../with-postgres.sh" env MTD_TEST_STORE=postgresql bash "$0" "$@"
source "$(dirname "$0")/lib.sh"
[ "$MTD_TEST_STORE" = postgresql ] || fail "test_pg_outage runs on PostgreSQL only (MTD_TEST_STORE=$MTD_TEST_STORE)"

DATA=$WORK/data
start_collector "$DATA" --store-pool 4
PID=$COLLECTOR_PID
new_tenant Outage
ST=$WORK/agent
"$BIN/mtd-agent" enroll --state "$ST" --server "$URL" --token "$ENR" >/dev/null
LOG=$WORK/agent.log
agent_round() { MTD_LOG=debug "$BIN/mtd-agent" run --state "$ST" --once >>"$WORK/agent.out" 2>>"$LOG"; }
agent_round || fail "first round with the cluster up: $(tail -2 "$LOG")"
metric() { curl -s -H "Authorization: Bearer $OPERATOR_TOKEN" "$URL/metrics" | awk -v n="$1" '$1 == n {print $2}'; }
RECONNECTS0=$(metric mtd_store_reconnects_total)
UNAVAIL0=$(metric mtd_store_unavailable_total)
QUERIES0=$(metric mtd_store_query_seconds_count)
[ -n "$RECONNECTS0" ] && [ -n "$UNAVAIL0" ] || fail "the operator's /metrics lacks the pool's reconnect and unavailable counters"

# the cluster goes away (a fast shutdown closes every connection the pool holds)
$MTD_PG_CTL -m fast -w stop >/dev/null
DEV_CRED=$(cat "$ST/credential")
OTHER="adm.0123456789abcdef.$(printf 'x%.0s' $(seq 43))" # names no tenant: the cluster cannot tell either
echo '{"state":"granted"}' | zstd -q -c >"$WORK/batch.zst"
# route: METHOD PATH TOKEN [curl args]
while IFS='|' read -r method path tok args; do
    code=$(curl -s -D "$WORK/h" -o "$WORK/body" -w '%{http_code}' -X "$method" -H "Authorization: Bearer ${!tok}" \
        $args "$URL$path")
    assert_eq 503 "$code" "$method $path as $tok with the cluster down ($(cat "$WORK/body"))"
    ra=$(tr -d '\r' <"$WORK/h" | awk -F': ' 'tolower($1) == "retry-after" {print $2}')
    assert_eq 5 "$ra" "Retry-After of $method $path as $tok"
    assert_eq unavailable "$(jq -r .error "$WORK/body")" "error of $method $path as $tok"
done <<EOF
POST|/v1/batches|DEV_CRED|-H Content-Type:application/x-ndjson -H Idempotency-Key:outage-0001 --data-binary @$WORK/batch.zst
GET|/v1/policy|DEV_CRED|
GET|/v1/feeds|DEV_CRED|
GET|/v1/enroll|ENR|
POST|/v1/enroll|ENR|-d {"device_id":"ps_AAAAAAAAAAAAAAAAAAAAAA"}
GET|/v1/admin/devices|ADMIN|
GET|/v1/admin/threats|ADMIN|
GET|/v1/admin/audit|ADMIN|
GET|/v1/admin/policy|ADMIN|
GET|/v1/admin/feeds|ADMIN|
GET|/v1/admin/summary|ADMIN|
GET|/v1/admin/session|ADMIN|
GET|/v1/admin/groups|ADMIN|
GET|/v1/admin/devices|OTHER|
GET|/v1/operator/tenants|OPERATOR_TOKEN|
POST|/v1/operator/tenants|OPERATOR_TOKEN|-d {"name":"during"}
EOF
ok "with the cluster stopped, device, enrollment, admin, console, feed and operator routes answer 503 unavailable with Retry-After: 5"

# the agent uploads meanwhile: it is told to retry, and keeps everything
before=$(grep -c 'spooled event_id=' "$LOG" || true)
if agent_round; then fail "the agent reported success with the cluster down"; fi
grep -q 'collector answered HTTP 503 after 3 attempts' "$LOG" || fail "the agent's failure: $(tail -1 "$LOG")"
after=$(grep -c 'spooled event_id=' "$LOG")
[ "$after" -gt "$before" ] || fail "the round with the cluster down spooled nothing to keep"
[ ! -e "$ST/rejected.jsonl" ] || fail "a batch was set aside as rejected while the cluster was down: $(head -c 300 "$ST/rejected.jsonl")"
QUEUED=$("$BIN/mtd-agent" privacy queued --state "$ST" | grep -c '"event"' || true)
[ "$QUEUED" -gt 0 ] || fail "the agent's spool is empty after the failed upload"
assert_eq 0 "$(metric mtd_store_up)" "mtd_store_up with the cluster down"
kill -0 "$PID" || fail "the collector exited while the cluster was down"
ok "an agent uploading then keeps its $QUEUED queued events, writes nothing to rejected.jsonl; mtd_store_up 0"

# the cluster comes back: the same collector serves again
$MTD_PG_CTL -l "$MTD_PG_DIR/server.log" -w -t 60 start >/dev/null
for _ in $(seq 1 50); do
    [ "$(http_status GET /v1/admin/devices "$ADMIN")" = 200 ] && break
    sleep 0.2
done
assert_eq 200 "$(http_status GET /v1/admin/devices "$ADMIN")" "admin report once the cluster is back"
agent_round || fail "the round after the cluster came back: $(tail -2 "$LOG")"
assert_eq "$PID" "$COLLECTOR_PID" "collector PID"
kill -0 "$PID" || fail "the collector is gone"
[ ! -e "$ST/rejected.jsonl" ] || fail "rejected.jsonl appeared after the cluster came back"
assert_eq 0 "$("$BIN/mtd-agent" privacy queued --state "$ST" | grep -c '"event"' || true)" "events still queued"

# exactly once: every event the agent logged as spooled (after the commit that made it
# durable) is stored once, across every event table of the tenant's schema
grep -o 'spooled event_id=[A-Za-z0-9_-]*' "$LOG" | cut -d= -f2 | sort >"$WORK/spooled"
assert_eq 0 "$(uniq -d "$WORK/spooled" | wc -l)" "event IDs the agent spooled twice"
: >"$WORK/stored"
for t in $(store_event_tables "$T"); do
    store_sql "$T" "select event_id from $t" >>"$WORK/stored"
done
sort "$WORK/stored" >"$WORK/stored.sorted"
assert_eq "" "$(uniq -d "$WORK/stored.sorted" | head -3)" "events stored twice"
assert_eq "" "$(comm -23 "$WORK/spooled" "$WORK/stored.sorted" | head -3)" "spooled events not stored"
N=$(wc -l <"$WORK/spooled")
ok "after the cluster came back the same collector (PID $PID) stored all $N spooled events exactly once"

# the pool noticed: connections the server closed were made again; the outage counted
up=$(metric mtd_store_up); rc=$(metric mtd_store_reconnects_total); un=$(metric mtd_store_unavailable_total)
assert_eq 1 "$up" "mtd_store_up after the cluster came back"
[ "$rc" -gt "$RECONNECTS0" ] || fail "mtd_store_reconnects_total did not move ($RECONNECTS0 -> $rc)"
[ "$un" -gt "$UNAVAIL0" ] || fail "mtd_store_unavailable_total did not move ($UNAVAIL0 -> $un)"
q=$(metric mtd_store_query_seconds_count)
[ "$q" -gt "$QUERIES0" ] || fail "mtd_store_query_seconds_count did not move ($QUERIES0 -> $q)"
curl -s -H "Authorization: Bearer $OPERATOR_TOKEN" "$URL/metrics" >"$WORK/m"
for m in mtd_store_pool_connections mtd_store_pool_in_use mtd_store_pool_waiting mtd_store_pool_waits_total \
    mtd_store_pool_timeouts_total mtd_store_connect_failures_total mtd_store_query_errors_total \
    'mtd_store_query_seconds_bucket{le="+Inf"}' mtd_store_query_seconds_sum mtd_store_query_seconds_count; do
    grep -qF "$m " "$WORK/m" || fail "/metrics lacks $m"
done
assert_eq 4 "$(awk '$1 == "mtd_store_pool_connections" {print $2}' "$WORK/m")" "pool size (--store-pool 4)"
[ "$(awk '$1 == "mtd_store_connect_failures_total" {print $2}' "$WORK/m")" -gt 0 ] || fail "no connect failure counted"
[ "$(grep -c '^mtd_store_query_seconds_bucket' "$WORK/m")" -ge 5 ] || fail "the latency histogram has too few buckets"
ok "metrics: mtd_store_up 1 again, reconnects $RECONNECTS0 -> $rc, unavailable $UNAVAIL0 -> $un, queries $QUERIES0 -> $q, pool of 4, latency histogram"
stop_collector
finish
