#!/usr/bin/env bash
# Many tenants on one collector (issue 20.3). The least recently used idle store is
# closed when --max-open-stores are open, and only that one, or when descriptors run
# short however few are open; then 150 tenants of 5
# devices each upload through a collector holding at most 16 stores, with 512 file
# descriptors (ulimit -n): threads and descriptors stay bounded, stores are evicted
# thousands of times, and every event is stored once, in its own tenant's store
# (bench_tenants checks each store file after the collector stops).
source "$(dirname "$0")/lib.sh"

expect_fail "--max-open-stores 0" "$BIN/mtd-collector" --data "$WORK/x" --listen 127.0.0.1:0 --max-open-stores 0
grep -q -- "--max-open-stores" <<<"$LAST_ERR" || fail "the refusal does not name --max-open-stores: $LAST_ERR"
ok "--max-open-stores 0 is refused, naming the option"

DATA=$WORK/data
start_collector "$DATA" --max-open-stores 2
m() { # m NAME: one value of the operator's /metrics
    local all
    all=$(curl -sf -H "Authorization: Bearer $OPERATOR_TOKEN" "$URL/metrics")
    awk -v n="$1" '$1 == n { print $2 }' <<<"$all"
}
declare -A ADM
for n in a b c; do
    new_tenant "lru $n"
    ADM[$n]=$ADMIN
done
use() { # use TENANT: an admin call, which opens the tenant's store if it is closed
    [ "$(http_status GET /v1/admin/devices "${ADM[$1]}")" = 200 ] || fail "admin call of tenant $1"
}
assert_eq 2 "$(m mtd_stores_max_open)" "mtd_stores_max_open"
use a; use b; use a # a is now the more recently used of the two open
opens=$(m mtd_store_opens_total); ev=$(m mtd_store_evictions_total)
use c # evicts b, the least recently used
assert_eq $((ev + 1)) "$(m mtd_store_evictions_total)" "evictions after opening a third store"
assert_eq 2 "$(m mtd_stores_open)" "stores open"
use a
assert_eq $((opens + 1)) "$(m mtd_store_opens_total)" "store opens after using a again (it stayed open)"
use b
assert_eq $((opens + 2)) "$(m mtd_store_opens_total)" "store opens after using b again (it was evicted)"
threads=$(m mtd_process_threads); fds=$(m mtd_process_open_fds)
[ "$threads" -ge 5 ] && [ "$threads" -le 40 ] || fail "mtd_process_threads $threads"
[ "$fds" -ge 10 ] && [ "$fds" -le 200 ] || fail "mtd_process_open_fds $fds"
[ -n "$(m mtd_process_resident_bytes)" ] && [ -n "$(m mtd_store_checkpointer_threads)" ] ||
    fail "/metrics lacks the process's memory or the checkpointer pool's threads"
ok "with --max-open-stores 2 the least recently used store is closed, the more recent stays open; threads, fds and RSS in /metrics"
stop_collector

# Few descriptors (150, set on the running collector, which raised its soft limit to
# the hard one at start): the stores give way to them, however few are open, where
# --max-open-stores 64 alone would hold 20 stores of ~10 descriptors each and fail
# calls on "too many open files".
start_collector "$WORK/few" --max-open-stores 64
prlimit --pid "$COLLECTOR_PID" --nofile=150:150
ev=$(m mtd_store_evictions_total)
for n in $(seq 1 20); do
    new_tenant "few $n"
    [ "$(http_status GET /v1/admin/devices "$ADMIN")" = 200 ] || fail "admin call of tenant $n under 150 descriptors: $(cat "$WORK/body")"
    [ "$(http_status GET /v1/admin/apps "$ADMIN")" = 200 ] || fail "apps report of tenant $n under 150 descriptors: $(cat "$WORK/body")"
done
open=$(m mtd_stores_open); fds=$(m mtd_process_open_fds)
[ "$open" -ge 2 ] && [ "$open" -le 12 ] || fail "$open stores open under 150 descriptors"
[ "$(m mtd_store_evictions_total)" -ge $((ev + 8)) ] || fail "only $(( $(m mtd_store_evictions_total) - ev )) evictions under 150 descriptors"
[ "$fds" -lt 150 ] || fail "$fds descriptors open"
ok "under 150 descriptors and --max-open-stores 64, 20 tenants used in turn: $open stores open, $fds descriptors, every call answered"
stop_collector

OUT=$WORK/bench.out
(ulimit -n 512; MTD_BENCH_DATA=$WORK/scale "$MTD_BUILD/bench/bench_tenants" 150 5 16 2 20 >"$OUT" 2>"$WORK/bench.err") ||
    fail "bench_tenants 150 5 16: $(tail -5 "$WORK/bench.err") $(cat "$OUT")"
cat "$OUT"
grep -q "every event stored once in its own tenant: yes (30000 rows of 30000; 0 tenants wrong)" "$OUT" ||
    fail "events not stored once per tenant"
grep -q ", 0 failed$" "$OUT" || fail "batches failed"
read -r threads fds < <(sed -n 's/.*collector peak threads \([0-9]*\) .*file descriptors \([0-9]*\),.*/\1 \2/p' "$OUT")
evictions=$(sed -n 's/.*evictions \([0-9]*\),.*/\1/p' "$OUT")
[ "$threads" -le 48 ] || fail "collector peak threads $threads (8-16 HTTP threads, 16 ingest threads, at most 4 checkpointers, a few more)"
[ "$fds" -lt 512 ] || fail "collector peak fds $fds"
[ "$evictions" -ge 134 ] || fail "only $evictions evictions: the bound of 16 open stores was not reached"
ok "150 tenants x 5 devices through 16 open stores under ulimit -n 512: $threads threads, $fds fds, $evictions evictions, every event once in its own tenant"
finish
