#!/usr/bin/env bash
# bench_export: a tenant of 500,000 stored events, exported over the API
# (GET /v1/admin/export, streamed) and dumped straight from its SQLite file by the
# sqlite3 shell as JSON (the peer: the same rows read once and written as JSON, no
# HTTP, no schema), medians of 3; the collector's peak memory during the export and
# during a page of the usage report, against its memory before (VmHWM of a fresh
# process each time). Exits 1 when the export misses or repeats a row.
set -euo pipefail
BIN=${MTD_BIN:?}
BATCHES=${MTD_BENCH_EXPORT_BATCHES:-10} # of 50,000 events
W=$(mktemp -d /tmp/mtd-bench-export.XXXXXX)
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$W"' EXIT
PORT=$((20000 + RANDOM % 20000))
URL=http://127.0.0.1:$PORT

start() {
    "$BIN/mtd-collector" --data "$W/data" --listen "127.0.0.1:$PORT" >"$W/collector.log" 2>&1 &
    PID=$!
    for _ in $(seq 1 100); do curl -s -o /dev/null "$URL/metrics" && return; sleep 0.1; done
    echo "bench_export: the collector did not start"; cat "$W/collector.log"; exit 1
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=; }
hwm_mib() { awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$PID/status"; }
median() { local v; mapfile -t v < <(sort -n); echo "${v[$(( ${#v[@]} / 2 ))]}"; }
ms() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000000 )); }

start
"$BIN/mtdctl" --server "$URL" --token "$(cat "$W/data/operator.token")" tenant create Bench --json >"$W/t.json"
T=$(jq -r .tenant_id "$W/t.json"); ADMIN=$(jq -r .admin_token "$W/t.json"); ENR=$(jq -r .enroll_token "$W/t.json")
CRED=$(curl -s -X POST -H "Authorization: Bearer $ENR" -d '{"device_id":"ps_AAAAAAAAAAAAAAAAAAAAAA"}' "$URL/v1/enroll" | jq -r .device_credential)
for b in $(seq 1 "$BATCHES"); do
    seq 50000 | awk -v T="$T" -v b="$b" '{ printf "{\"event\":\"usage.action\",\"schema\":1,\"event_id\":\"u%d-%d\",\"time\":\"2026-11-24T12:00:00Z\",\"tenant_id\":\"%s\",\"device_id\":\"ps_AAAAAAAAAAAAAAAAAAAAAA\",\"action\":\"ledger_viewed\"}\n", b, $1, T }' |
        zstd -q -c >"$W/b.zst"
    code=$(curl -s -o "$W/body" -w '%{http_code}' -X POST -H "Authorization: Bearer $CRED" -H 'Content-Type: application/x-ndjson' \
        -H "Idempotency-Key: bench-batch-$b" --data-binary @"$W/b.zst" "$URL/v1/batches")
    [ "$code" = 200 ] || { echo "bench_export: batch $b answered $code: $(cat "$W/body")"; exit 1; }
done
N=$((BATCHES * 50000))
stop

export_api() { curl -sf -o "$W/export.jsonl" -H "Authorization: Bearer $ADMIN" "$URL/v1/admin/export?format=raw"; }
dump_sqlite() { sqlite3 -json "file:$W/data/tenants/$T/store.sqlite?mode=ro" "SELECT * FROM ev_usage_action ORDER BY row" >"$W/dump.json"; }
page_api() { curl -sf -o "$W/page.json" -H "Authorization: Bearer $ADMIN" "$URL/v1/admin/usage"; }

start
idle=$(hwm_mib)
t_api=$(for r in 1 2 3; do ms export_api; done | median)
export_peak=$(hwm_mib)
stop
t_peer=$(for r in 1 2 3; do ms dump_sqlite; done | median)
lines=$(wc -l <"$W/export.jsonl")
uniq=$(jq -r .event_id "$W/export.jsonl" | sort -u | wc -l)
if [ "$lines" != "$N" ] || [ "$uniq" != "$N" ]; then
    echo "bench_export: the export has $lines lines, $uniq distinct events; $N were stored"; exit 1
fi
start
t_page=$(for r in 1 2 3; do ms page_api; done | median)
page_peak=$(hwm_mib)
rows=$(jq '.["usage.action"] | length' "$W/page.json")
stop

echo "export: $N events over the API in $t_api ms ($(( N * 1000 / (t_api > 0 ? t_api : 1) )) events/s), sqlite3 -json dump of the same rows $t_peer ms; ratio to the peer $(awk -v a="$t_peer" -v b="$t_api" 'BEGIN { printf "%.2f", a / b }') (median of 3)"
echo "export: collector peak memory $export_peak MiB exporting, $page_peak MiB answering a usage page of $rows rows in $t_page ms, $idle MiB before"
