#!/usr/bin/env bash
# mtd-collector migrate (issue 21, item 4): a tenant filled by a real agent run (an
# Android snapshot of APKs built by aapt, one flagged by the tenant's indicators feed,
# feedback with diagnostics) and by its admin (policy, a token, a group, a threat note)
# moves from its SQLite files to PostgreSQL: every table's rows and SHA-256 agree, a
# collector on PostgreSQL answers every report with the JSON the SQLite one gave, the
# agent goes on uploading with its credential and pseudonyms; then back to a fresh
# SQLite directory, compared again. An existing tenant is refused without --replace;
# bad URLs, a tenant that is not there, a directory in use and a corrupt source file
# fail with one clear line and leave nothing at the destination.
# It needs a cluster: run alone, it starts one (tests/with-postgres.sh).
[ -n "${MTD_PG_URL:-}" ] ||
    exec bash "$(dirname "$0")/../with-postgres.sh" env MTD_TEST_STORE=sqlite bash "$0" "$@"
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/apks.sh"
agent() { "$BIN/mtd-agent" "$@"; }
migrate() { "$BIN/mtd-collector" migrate "$@"; }
PG=$MTD_PG_URL

# the device: three apps, one of them known bad to the tenant's indicators
build good org.m.good 1 a ""
build evil org.m.evil 3 a ""
build side org.m.side 1 a ""
R=$WORK/phone
mkdir -p "$R/data/system"
printf '[ro.build.version.release]: [14]\n[ro.product.manufacturer]: [Google]\n[ro.product.model]: [Pixel 8]\n' >"$R/getprop.txt"
{
    echo "<packages>"
    for a in good:org.m.good:com.android.vending:1 evil:org.m.evil:com.android.vending:3 side:org.m.side:org.shady.market:1; do
        IFS=: read -r f p inst v <<<"$a"
        mkdir -p "$R/data/app/$p-1" && cp "$WORK/$f.apk" "$R/data/app/$p-1/base.apk"
        echo "<package name=\"$p\" codePath=\"/data/app/$p-1\" version=\"$v\" userId=\"10$RANDOM\" installer=\"$inst\" />"
    done
    echo "</packages>"
} >"$R/data/system/packages.xml"

# on_port DATA PORT [store args]: a collector on a known port (the agent keeps its URL)
on_port() {
    local data=$1 port=$2
    shift 2
    rm -f "$data/collector.url"
    "$BIN/mtd-collector" --data "$data" --listen "127.0.0.1:$port" "$@" >"$WORK/collector.out" 2>>"$WORK/collector.log" &
    COLLECTOR_PID=$!
    for _ in $(seq 1 100); do [ -s "$data/collector.url" ] && break; sleep 0.05; done
    [ -s "$data/collector.url" ] || fail "collector on $port did not start: $(tail -3 "$WORK/collector.log")"
    URL=$(cat "$data/collector.url")
}

D1=$WORK/sqlite1
start_collector "$D1"
PORT=${URL##*:}
new_tenant Migrated
ctl --token "$ADMIN" policy set optional_data=true >/dev/null
echo "$(sha256sum "$WORK/evil.apk" | cut -d' ' -f1) Test.Evil" >"$WORK/iocs.txt"
ctl --token "$ADMIN" feed push indicators "$WORK/iocs.txt" >/dev/null
ST=$WORK/agent
agent enroll --state "$ST" --server "$URL" --token "$ENR" --android-root "$R" --user alice@example.com >/dev/null
agent run --state "$ST" --once >/dev/null || fail "first agent round"
agent consent grant --state "$ST" >/dev/null
agent feedback --state "$ST" --type idea --comment "moved with care" --with-diagnostics >/dev/null
agent run --state "$ST" --once >/dev/null || fail "second agent round"
DEV=$(ctl --token "$ADMIN" devices --json | jq -r '.devices[0].device_id')
ctl --token "$ADMIN" token create analyst --label "night shift" >/dev/null
ctl --token "$ADMIN" policy set --group field report_urls=domain >/dev/null
ctl --token "$ADMIN" device group "$DEV" field >/dev/null
# the group trusts the device's third store: the sideloaded report follows it on each side
assert_eq org.m.side "$(ctl --token "$ADMIN" apps --sideloaded --json | jq -r '[.apps[].package] | join(",")')" "sideloaded before the group's policy"
ctl --token "$ADMIN" policy set --group field 'trusted_stores=["com.android.vending","org.shady.market"]' >/dev/null
assert_eq "" "$(ctl --token "$ADMIN" apps --sideloaded --json | jq -r '[.apps[].package] | join(",")')" "sideloaded under the group's policy"
ctl --token "$ADMIN" suppress add package org.m.side --reason "our own test app" >/dev/null
THR=$(ctl --token "$ADMIN" threats --json | jq -r '[.threats[] | select(.threat_name == "Test.Evil")][0].threat_id')
[ -n "$THR" ] && [ "$THR" != null ] || fail "the agent reported no Test.Evil threat"
assert_eq 201 "$(http_status POST /v1/admin/threats/notes "$ADMIN" -d "{\"device_id\":\"$DEV\",\"threat_id\":\"$THR\",\"note\":\"uninstalled\"}")" "threat note ($(cat "$WORK/body"))"

# reports DIR: every report as JSON, sorted keys; the audit log first, before the reads
# that this adds to it
reports() {
    mkdir -p "$1"
    ctl --token "$ADMIN" audit --json | jq -S . >"$1/audit.json"
    local r
    for r in devices apps "apps --sideloaded" "apps history" threats feedback diagnostics crashes "usage --events" "policy get" \
        "policy get --group field" "group list" "token list" "credential list" "feed list" "risk $DEV"; do
        ctl --token "$ADMIN" $r --json | jq -S . >"$1/${r// /_}.json" || fail "report $r"
    done
    curl -sf -H "Authorization: Bearer $ADMIN" "$URL/v1/admin/threats/notes?device=$DEV" | jq -S . >"$1/notes.json"
    ctl --token "$ADMIN" export >"$1/export.jsonl" || fail "export"
    curl -sf -H "Authorization: Bearer $DEVCRED" "$URL/v1/feeds/indicators" | sha256sum >"$1/feed.sha"
}
# same A B: every report of B as in A; B's audit log begins with A's
same() {
    local f n
    for f in "$1"/*; do
        n=$(basename "$f")
        if [ "$n" = audit.json ]; then
            n=$(jq '.audit | length' "$f")
            assert_eq "$(jq -c '.audit' "$f")" "$(jq -c ".audit[:$n]" "$2/audit.json")" "the audit log at $2"
        else
            cmp -s "$f" "$2/$n" || fail "report $n differs at $2: $(diff "$f" "$2/$n" | head -5)"
        fi
    done
}
DEVCRED=$(cat "$ST/credential")
reports "$WORK/r1"
[ "$(wc -l <"$WORK/r1/export.jsonl")" -ge 8 ] || fail "the tenant holds too little to prove anything: $(wc -l <"$WORK/r1/export.jsonl") rows"
assert_eq 1 "$(jq '.threats | map(select(.threat_name == "Test.Evil")) | length' "$WORK/r1/threats.json")" "Test.Evil in the threats report"
stop_collector

# sqlite -> postgresql
migrate --tenant "$T" --from "sqlite:$D1" --to "$PG" >"$WORK/m1.out" 2>"$WORK/m1.err" ||
    fail "migrate to PostgreSQL: $(cat "$WORK/m1.err")"
[ ! -s "$WORK/m1.err" ] || fail "migrate wrote to stderr: $(cat "$WORK/m1.err")"
grep -q "^verdict: identical: tenant $T, " "$WORK/m1.out" || fail "verdict: $(tail -2 "$WORK/m1.out")"
# a line for every table of the store, whatever added it (the tool lists them from it),
# but trusted: the store derives it from the policy rows (the sideloaded report shows it)
sqlite3 "$D1/tenants/$T/store.sqlite" "select name from sqlite_master where type='table' and name not like 'sqlite\_%' escape '\\' and name <> 'trusted' order by name" >"$WORK/tables"
grep -q '^ev_app_inventory$' "$WORK/tables" && grep -q '^suppressions$' "$WORK/tables" || fail "the store's tables: $(cat "$WORK/tables")"
assert_eq "$(cat "$WORK/tables")" "$(grep -E '^[a-z_]+ +[0-9]+ [0-9a-f]{64}$' "$WORK/m1.out" | awk '$1 != "tenant" && $1 != "feeds" {print $1}' | sort)" "tables in the verdict"
bad=$(grep -v '^verdict: \|^copied ' "$WORK/m1.out" | grep -Evc '^[a-z_]+ +[0-9]+ [0-9a-f]{64}$' || true)
assert_eq 0 "$bad" "table lines that are not 'table rows sha256'"
rows() { awk -v t="$2" '$1 == t {print $2}' "$1"; }
for t in tokens credentials devices batches audit threat_notes groups device_groups suppressions ev_app_inventory ev_threat_detection ev_feedback_submission ev_diag_bundle; do
    assert_eq "$(sqlite3 "$D1/tenants/$T/store.sqlite" "select count(*) from $t")" "$(rows "$WORK/m1.out" $t)" "rows of $t"
done
assert_eq 1 "$(rows "$WORK/m1.out" feeds)" "feeds"
assert_eq "$(cat "$D1/tenants/$T/tenant.key")" "$(psql "$PG" -qAtX -c "select key from mtd.tenants where id = '$T'")" "tenant key in the cluster"
# the rows in the cluster, counted behind the tool's back
assert_eq "$(sqlite3 "$D1/tenants/$T/store.sqlite" "select count(*) from ev_app_inventory")" \
    "$(psql "$PG" -qAtX -c "SET ROLE mtd_t_$T" -c "select count(*) from t_$T.ev_app_inventory")" "app rows in the cluster"
ok "sqlite -> postgresql: $(( $(grep -Ec '^[a-z_]+ +[0-9]+ [0-9a-f]{64}$' "$WORK/m1.out") - 1 )) tables and the tenant, $(grep -o '[0-9]* rows,' "$WORK/m1.out" | head -1) identical by count and SHA-256; the key kept"

D2=$WORK/pgdata
on_port "$D2" "$PORT" --store "$PG"
reports "$WORK/r2"
same "$WORK/r1" "$WORK/r2"
ok "a collector on PostgreSQL answers every report, the export and the feed as the SQLite one did"

# the agent goes on as before: same credential, same pseudonyms, one device
sleep 1
agent run --state "$ST" --once >/dev/null || fail "agent round against the collector on PostgreSQL"
assert_eq 1 "$(ctl --token "$ADMIN" devices --json | jq '.devices | length')" "devices after the agent's round on PostgreSQL"
assert_eq "$DEV" "$(ctl --token "$ADMIN" devices --json | jq -r '.devices[0].device_id')" "the device's pseudonym"
n2=$(ctl --token "$ADMIN" export | wc -l)
[ "$n2" -gt "$(wc -l <"$WORK/r1/export.jsonl")" ] || fail "the round on PostgreSQL stored nothing new"
# IDs PostgreSQL hands out go on after the copied ones (its sequences were moved)
ctl --token "$ADMIN" suppress add package org.m.good --reason "second rule" >/dev/null || fail "a new suppression on PostgreSQL"
assert_eq 201 "$(http_status POST /v1/admin/threats/notes "$ADMIN" -d "{\"device_id\":\"$DEV\",\"threat_id\":\"$THR\",\"note\":\"again\"}")" "a new note on PostgreSQL ($(cat "$WORK/body"))"
assert_eq "uninstalled again" "$(curl -sf -H "Authorization: Bearer $ADMIN" "$URL/v1/admin/threats/notes?device=$DEV" | jq -r '[.notes[].note] | join(" ")')" "notes, in order"
reports "$WORK/r3"
stop_collector
ok "the agent uploads to the collector on PostgreSQL with its credential; still one device ($DEV); new rules and notes get new IDs"

# postgresql -> a fresh sqlite directory
D3=$WORK/sqlite2
migrate --tenant "$T" --from "$PG" --to "sqlite:$D3" >"$WORK/m2.out" 2>"$WORK/m2.err" ||
    fail "migrate back to SQLite: $(cat "$WORK/m2.err")"
grep -q "^verdict: identical: tenant $T, " "$WORK/m2.out" || fail "verdict back: $(tail -2 "$WORK/m2.out")"
assert_eq "$(cat "$D1/tenants/$T/tenant.key")" "$(cat "$D3/tenants/$T/tenant.key")" "tenant key in the new directory"
assert_eq 600 "$(stat -c %a "$D3/tenants/$T/tenant.key")" "tenant.key mode"
on_port "$D3" "$PORT"
reports "$WORK/r4"
same "$WORK/r3" "$WORK/r4"
sqlite3 "$D3/tenants/$T/store.sqlite" "pragma integrity_check" | grep -qx ok || fail "the new SQLite store is damaged"
agent run --state "$ST" --once >/dev/null || fail "agent round against the new SQLite collector"
assert_eq 1 "$(ctl --token "$ADMIN" devices --json | jq '.devices | length')" "devices after the round on the new SQLite store"
ok "postgresql -> a fresh sqlite directory: identical, the same reports again, the agent uploads there too"

# refusals: a directory in use, a tenant already there, bad URLs, no such tenant
expect_fail "migrate from a directory a collector runs on" migrate --tenant "$T" --from "sqlite:$D3" --to "sqlite:$WORK/x"
assert_eq "mtd-collector: migrate: sqlite:$D3 is in use by a running mtd-collector: stop it first" "$LAST_ERR" "directory in use"

# volume: a second device's 6,000 app rows, more than a 1,000-row INSERT or a 5,000-row
# read of the cursor holds, with
# text that needs care (quotes, backslashes, a tab, a newline, non-ASCII)
B=ps_BBBBBBBBBBBBBBBBBBBBBB
BCRED=$(curl -s -X POST -H "Authorization: Bearer $ENR" -d "{\"device_id\":\"$B\"}" "$URL/v1/enroll" | jq -r .device_credential)
python3 - "$T" "$B" >"$WORK/big" <<'PY'
import json, sys
t, d = sys.argv[1], sys.argv[2]
for i in range(6000):
    print(json.dumps({"event": "app.inventory", "schema": 1, "event_id": "big%017d" % i, "time": "2026-11-24T10:00:00Z",
                      "tenant_id": t, "device_id": d, "package": "com.example.app%d" % i, "version_code": i,
                      "version_name": "1.%d \"q\" \\ back\tslash\nline é" % i, "install_source": "com.android.vending",
                      "permissions": ["android.permission.CAMERA"], "is_system": i % 2 == 0}))
PY
assert_eq 200 "$(zstd -q -c "$WORK/big" | http_status POST /v1/batches "$BCRED" -H 'Content-Type: application/x-ndjson' -H 'Idempotency-Key: big-batch-0001' --data-binary @-)" "the big batch ($(cat "$WORK/body"))"
stop_collector
migrate --tenant "$T" --from "sqlite:$D3" --to "$PG" --replace >"$WORK/m4.out" 2>&1 || fail "the big tenant to PostgreSQL: $(cat "$WORK/m4.out")"
grep -q "^verdict: identical" "$WORK/m4.out" || fail "big verdict: $(tail -2 "$WORK/m4.out")"
NAPP=$(sqlite3 "$D3/tenants/$T/store.sqlite" "select count(*) from ev_app_inventory")
[ "$NAPP" -gt 6000 ] || fail "app rows in the big tenant: $NAPP"
assert_eq "$NAPP" "$(rows "$WORK/m4.out" ev_app_inventory)" "app rows in the big verdict"
assert_eq "$(sqlite3 "$D3/tenants/$T/store.sqlite" "select version_name from ev_app_inventory where package = 'com.example.app7'")" \
    "$(psql "$PG" -qAtX -c "SET ROLE mtd_t_$T" -c "select version_name from t_$T.ev_app_inventory where package = 'com.example.app7'")" "a value with quotes, a tab and a newline"
migrate --tenant "$T" --from "$PG" --to "sqlite:$WORK/bigdir" >"$WORK/m5.out" 2>&1 || fail "the big tenant back: $(cat "$WORK/m5.out")"
grep -q "^verdict: identical" "$WORK/m5.out" || fail "big verdict back: $(tail -2 "$WORK/m5.out")"
assert_eq "$(awk '$1 == "ev_app_inventory"' "$WORK/m4.out")" "$(awk '$1 == "ev_app_inventory"' "$WORK/m5.out")" "the app table's line, there and back"
ok "$NAPP app rows (6,000 of one device, in 1,000-row INSERTs, read back 5,000 at a time) identical there and back: $(grep '^copied' "$WORK/m4.out")"
expect_fail "migrate onto an existing tenant" migrate --tenant "$T" --from "sqlite:$D1" --to "$PG"
assert_eq "mtd-collector: migrate: tenant $T already exists in postgresql: nothing copied (--replace deletes it first)" "$LAST_ERR" "existing tenant"
assert_eq "$NAPP" "$(psql "$PG" -qAtX -c "SET ROLE mtd_t_$T" -c "select count(*) from t_$T.ev_app_inventory")" "app rows in the cluster after the refusal"
migrate --tenant "$T" --from "sqlite:$D1" --to "$PG" --replace >"$WORK/m3.out" 2>&1 || fail "--replace: $(cat "$WORK/m3.out")"
grep -q "^verdict: identical" "$WORK/m3.out" || fail "--replace verdict: $(tail -2 "$WORK/m3.out")"
expect_fail "an unknown URL" migrate --tenant "$T" --from "mysql://db/x" --to "$PG"
assert_eq 'mtd-collector: migrate: "mysql://db/x" is not a store URL: sqlite:DIR or postgresql://...' "$LAST_ERR" "unknown URL"
expect_fail "sqlite: without a directory" migrate --tenant "$T" --from "sqlite:" --to "$PG"
assert_eq 'mtd-collector: migrate: "sqlite:": sqlite: needs the collector'"'"'s data directory (sqlite:DIR)' "$LAST_ERR" "sqlite: alone"
expect_fail "a directory that is no collector's" migrate --tenant "$T" --from "sqlite:$WORK/nosuch" --to "sqlite:$WORK/y"
assert_eq "mtd-collector: migrate: sqlite:$WORK/nosuch: no collector data directory there (no $WORK/nosuch/tenants)" "$LAST_ERR" "no data directory"
expect_fail "a cluster that cannot be reached" migrate --tenant "$T" --from "postgresql:///nosuchdb?host=$MTD_PG_DIR&user=mtd" --to "sqlite:$WORK/y"
grep -q '^mtd-collector: migrate: PostgreSQL: cannot connect: .*database "nosuchdb" does not exist' <<<"$LAST_ERR" || fail "unreachable cluster: $LAST_ERR"
expect_fail "a tenant that is not there" migrate --tenant 0123456789abcdef --from "sqlite:$D1" --to "sqlite:$WORK/y"
assert_eq "mtd-collector: migrate: no tenant 0123456789abcdef in sqlite:$D1" "$LAST_ERR" "unknown tenant"
expect_fail "a tenant ID that is none" migrate --tenant ../etc --from "sqlite:$D1" --to "sqlite:$WORK/y"
assert_eq 'mtd-collector: migrate: --tenant "../etc" is not a tenant ID (16 hex digits)' "$LAST_ERR" "bad tenant ID"
expect_fail "no --to" migrate --tenant "$T" --from "sqlite:$D1"
# a source file that is not what its index says: nothing is left at the destination
FEED=$(ls "$D1/tenants/$T/feeds/" | grep '^indicators\.')
echo tampered >>"$D1/tenants/$T/feeds/$FEED"
expect_fail "a corrupt feed at the source" migrate --tenant "$T" --from "sqlite:$D1" --to "sqlite:$WORK/y"
assert_eq "mtd-collector: migrate: feed indicators: the source's data does not match its sha256 ${FEED#indicators.}" "$LAST_ERR" "corrupt feed"
[ ! -e "$WORK/y/tenants/$T" ] || fail "a failed migration left the tenant at the destination: $(ls "$WORK/y/tenants/$T")"
ok "refused with one line: a directory in use, an existing tenant (--replace replaces it), unknown and empty URLs, no data directory, an unreachable cluster, no such tenant, a corrupt feed (nothing left behind)"
finish
