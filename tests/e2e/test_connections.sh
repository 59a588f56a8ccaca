#!/usr/bin/env bash
# Slow, abandoned and replayed: a collector with a 2 s connection timeout keeps serving
# while 200 connections hang half-way through their headers, closes them, refuses a
# retired device's credential, and survives all of it.
source "$(dirname "$0")/lib.sh"

DATA=$WORK/data
start_collector "$DATA" --conn-timeout 2
PORT=${URL##*:}
TOK=$("$BIN/mtdctl" --server "$URL" --token "$OPERATOR_TOKEN" tenant create slow --json)
ENR=$(jq -r .enroll_token <<<"$TOK"); ADMIN=$(jq -r .admin_token <<<"$TOK"); T=$(jq -r .tenant_id <<<"$TOK")

# 200 slow clients: each sends half a request and then nothing
pids=()
for i in $(seq 1 200); do
    ( exec 3<>"/dev/tcp/127.0.0.1/$PORT" || exit 1
      printf 'POST /v1/batches HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n' >&3
      # wait for the server to hang up (EOF) or give up after 10 s
      if timeout 10 cat <&3 >/dev/null; then echo closed; else echo open; fi ) >"$WORK/slow.$i" 2>/dev/null &
    pids+=($!)
done
sleep 0.5
start=$(date +%s%N)
assert_eq 200 "$(http_status GET /healthz "")" "a normal request while 200 connections hang"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ms" -lt 2000 ] || fail "a normal request took $ms ms behind slow clients"
DEV=ps_RRRRRRRRRRRRRRRRRRRRRR
CRED=$(curl -s --interface 127.0.0.2 -X POST -H "Authorization: Bearer $ENR" -d "{\"device_id\":\"$DEV\"}" "$URL/v1/enroll" | jq -r .device_credential)
[[ "$CRED" == dev.* ]] || fail "enrollment failed while slow clients hang"
ok "normal requests are served while 200 slow clients hang"

for p in "${pids[@]}"; do wait "$p" || true; done
assert_eq 200 "$(cat "$WORK"/slow.* | grep -c closed)" "slow connections closed by the server"
ok "every abandoned connection was closed by the 2 s timeout"

# a retired device: its credential is refused from then on
line=$(printf '{"event":"usage.action","schema":1,"event_id":"retire00000000000000001","time":"2026-11-24T10:00:00Z","tenant_id":"%s","device_id":"%s","action":"enroll"}\n' "$T" "$DEV")
post() { printf '%s\n' "$line" | zstd -q -c | http_status POST /v1/batches "$CRED" -H 'Content-Type: application/x-ndjson' -H "Idempotency-Key: $1" --data-binary @-; }
assert_eq 200 "$(post retire-key-0001)" "batch before retirement"
assert_eq 200 "$(post retire-key-0001)" "the same batch replayed"
assert_eq true "$(jq -r .replayed "$WORK/body")" "a replay is acknowledged, not stored"
assert_eq "device $DEV retired: 1 credential revoked" "$("$BIN/mtdctl" --server "$URL" --token "$ADMIN" retire "$DEV")" "retire"
assert_eq 401 "$(post retire-key-0002)" "batch after retirement"
assert_eq 401 "$(http_status GET /v1/policy "$CRED")" "policy after retirement"
ok "a retired device's credential is refused; replays are acknowledged once"

assert_eq 200 "$(http_status GET /healthz "")" "collector alive"

# graceful shutdown: SIGTERM while a batch is still arriving; the batch completes and
# is stored, new connections are refused, and the collector exits 0
CRED2=$(curl -s -X POST -H "Authorization: Bearer $ENR" -d '{"device_id":"ps_GGGGGGGGGGGGGGGGGGGGGG"}' "$URL/v1/enroll" | jq -r .device_credential)
for i in $(seq 1 3000); do
    printf '{"event":"usage.action","schema":1,"event_id":"graceful%014d","time":"2026-11-24T10:00:00Z","tenant_id":"%s","device_id":"ps_GGGGGGGGGGGGGGGGGGGGGG","action":"scan_requested"}\n' "$i" "$T"
done | zstd -q -c --no-check -1 >"$WORK/big.zst"
size=$(stat -c %s "$WORK/big.zst")
rate=$(( size / 2 + 1 )) # about two seconds on the wire
curl -s -o "$WORK/graceful.body" -w '%{http_code}' --limit-rate "$rate" -X POST \
    -H "Authorization: Bearer $CRED2" -H 'Content-Type: application/x-ndjson' -H 'Idempotency-Key: graceful-0001' \
    --data-binary @"$WORK/big.zst" "$URL/v1/batches" >"$WORK/graceful.code" &
cpid=$!
sleep 0.5
kill -TERM "$COLLECTOR_PID"
wait "$cpid" || true
wait "$COLLECTOR_PID" || fail "collector exited with $? after SIGTERM"
COLLECTOR_PID=""
assert_eq 200 "$(cat "$WORK/graceful.code")" "the batch in flight at SIGTERM ($(cat "$WORK/graceful.body"))"
assert_eq 3000 "$(sqlite3 "$DATA/tenants/$T/store.sqlite" "select count(*) from ev_usage_action where event_id like 'graceful%'")" "events of the batch in flight"
ok "SIGTERM lets a batch in flight finish and be stored, then exits 0"
finish
