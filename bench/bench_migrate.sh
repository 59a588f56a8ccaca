#!/usr/bin/env bash
# bench_migrate: mtd-collector migrate's rows/s, SQLite -> PostgreSQL and back, for a
# tenant of MTD_BENCH_MIGRATE_ROWS app.inventory rows (default 100,000, one device,
# stored through the collector's API), against PostgreSQL's own COPY of the same rows
# (psql \copy of the table's CSV into a table like it, without row-level security: what
# the cluster takes at best) and SQLite's own .import of the same CSV, in the same run;
# medians of 3. The migration's figure is its copy phase as it prints it (every table
# of the tenant, written in its destination's transaction), not its verification.
# Runs in a cluster of its own (tests/with-postgres.sh).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
[ -n "${MTD_PG_URL:-}" ] || exec bash "$SRC/tests/with-postgres.sh" bash "$0" "$@"
BIN=${MTD_BIN:-$SRC/build/bin}
ROWS=${MTD_BENCH_MIGRATE_ROWS:-100000}
W=$(mktemp -d "${TMPDIR:-/tmp}/mtd-bench-migrate.XXXXXX")
CP=""
trap '[ -n "$CP" ] && kill "$CP" 2>/dev/null; rm -rf "$W"' EXIT

"$BIN/mtd-collector" --data "$W/d1" --listen 127.0.0.1:0 >/dev/null 2>"$W/c.log" &
CP=$!
for _ in $(seq 100); do [ -s "$W/d1/collector.url" ] && break; sleep 0.05; done
URL=$(cat "$W/d1/collector.url")
"$BIN/mtdctl" --server "$URL" --token "$(cat "$W/d1/operator.token")" tenant create Bench --json >"$W/t.json"
T=$(jq -r .tenant_id "$W/t.json")
D=ps_AAAAAAAAAAAAAAAAAAAAAA
CRED=$(curl -s -X POST -H "Authorization: Bearer $(jq -r .enroll_token "$W/t.json")" -d "{\"device_id\":\"$D\"}" "$URL/v1/enroll" |
    jq -r .device_credential)
for b in $(seq 1 $(( (ROWS + 4999) / 5000 ))); do
    python3 - "$T" "$D" "$b" >"$W/b" <<'PY'
import json, sys
t, d, b = sys.argv[1], sys.argv[2], int(sys.argv[3])
for i in range(5000):
    n = b * 100000 + i
    print(json.dumps({"event": "app.inventory", "schema": 1, "event_id": "ev%020d" % n, "time": "2026-11-24T10:00:00Z",
                      "tenant_id": t, "device_id": d, "package": "com.example.app%d" % n, "version_code": i,
                      "version_name": "1.%d" % i, "install_source": "com.android.vending",
                      "permissions": ["android.permission.CAMERA", "android.permission.INTERNET"], "is_system": False}))
PY
    zstd -q -c "$W/b" | curl -sf -o /dev/null -H "Authorization: Bearer $CRED" -H 'Content-Type: application/x-ndjson' \
        -H "Idempotency-Key: bench-$b-0000" --data-binary @- "$URL/v1/batches"
done
kill "$CP"; wait "$CP" || true; CP=""
DB=$W/d1/tenants/$T/store.sqlite
N=$(sqlite3 "$DB" "select count(*) from ev_app_inventory")
sqlite3 -header -csv "$DB" "select * from ev_app_inventory" >"$W/app.csv"
COLS=$(head -1 "$W/app.csv")

ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
median() { sort -n | sed -n 2p; }
rate() { awk -v n="$1" -v ms="$2" 'BEGIN {printf "%.0f\n", n * 1000 / (ms > 0 ? ms : 1)}'; }
copied() { sed -n 's/^copied \([0-9]*\) rows in \([0-9.]*\) s .*/\1 \2/p' "$1" | awk '{printf "%.0f\n", $1 / ($2 > 0 ? $2 : 0.001)}'; }
for i in 1 2 3; do
    "$BIN/mtd-collector" migrate --tenant "$T" --from "sqlite:$W/d1" --to "$MTD_PG_URL" --replace >"$W/to.out"
    grep -q '^verdict: identical' "$W/to.out" || { tail -3 "$W/to.out" >&2; exit 1; }
    copied "$W/to.out" >>"$W/to.rates"
    rm -rf "$W/d2"
    "$BIN/mtd-collector" migrate --tenant "$T" --from "$MTD_PG_URL" --to "sqlite:$W/d2" >"$W/back.out"
    grep -q '^verdict: identical' "$W/back.out" || { tail -3 "$W/back.out" >&2; exit 1; }
    copied "$W/back.out" >>"$W/back.rates"
    # the peers: the same rows by each database's own bulk load
    psql "$MTD_PG_URL" -qAtX -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS mtd_bench_copy" \
        -c "CREATE TABLE mtd_bench_copy (LIKE t_$T.ev_app_inventory)" >/dev/null
    t0=$(date +%s%N)
    psql "$MTD_PG_URL" -qAtX -c "\\copy mtd_bench_copy($COLS) FROM '$W/app.csv' CSV HEADER" >/dev/null
    rate "$N" "$(ms "$t0")" >>"$W/copy.rates"
    rm -f "$W/peer.sqlite"
    sqlite3 "$W/peer.sqlite" "$(sqlite3 "$DB" ".schema ev_app_inventory")"
    t0=$(date +%s%N)
    sqlite3 "$W/peer.sqlite" ".import --csv --skip 1 $W/app.csv ev_app_inventory"
    rate "$N" "$(ms "$t0")" >>"$W/import.rates"
done
TO=$(median <"$W/to.rates"); BACK=$(median <"$W/back.rates")
COPY=$(median <"$W/copy.rates"); IMP=$(median <"$W/import.rates")
echo "tenant of $N app rows ($(du -h "$DB" | cut -f1) SQLite file), medians of 3, load $(cut -d' ' -f1-3 /proc/loadavg):"
echo "  migrate sqlite -> postgresql  $TO rows/s  ($(tr '\n' ' ' <"$W/to.rates"))"
echo "  psql \\copy of the same rows   $COPY rows/s  ($(tr '\n' ' ' <"$W/copy.rates"))  ratio $(awk -v a="$TO" -v b="$COPY" 'BEGIN {printf "%.2f", a / b}')"
echo "  migrate postgresql -> sqlite  $BACK rows/s  ($(tr '\n' ' ' <"$W/back.rates"))"
echo "  sqlite3 .import of the same   $IMP rows/s  ($(tr '\n' ' ' <"$W/import.rates"))  ratio $(awk -v a="$BACK" -v b="$IMP" 'BEGIN {printf "%.2f", a / b}')"
