#!/usr/bin/env bash
# Bad input on the command lines and at the edges (issue 13, items 9-12): every numeric
# option is strict and ranged, a data directory serves one collector, values over a
# field's limit are refused with the limit named, and the usual mistakes get one line
# saying what was wrong.
source "$(dirname "$0")/lib.sh"

DATA=$WORK/data
start_collector "$DATA"
new_tenant Acme
"$BIN/mtd-agent" enroll --state "$WORK/agent" --server "$URL" --token "$ENR" --user a@acme.example >/dev/null

# item 9: numeric options
for v in abc 0 -5 1x "" 604801; do
    expect_fail "run --interval [$v]" "$BIN/mtd-agent" run --state "$WORK/agent" --interval "$v"
    assert_eq "mtd-agent: --interval must be an integer from 10 to 604800" "$LAST_ERR" "run --interval [$v]"
done
[ ! -d "$WORK/agent/spool" ] || fail "a refused run queued records"
for o in "--threads abc 1024" "--threads -1 1024" "--conn-timeout -1 3600" "--conn-timeout 0 3600" \
         "--max-inflight x 100000" "--retention-interval 0 2678400"; do
    set -- $o
    lo=0; case $1 in --conn-timeout|--retention-interval) lo=1 ;; esac
    expect_fail "collector $1 $2" "$BIN/mtd-collector" --data "$WORK/other" --listen 127.0.0.1:0 "$1" "$2"
    assert_eq "mtd-collector: $1 must be an integer from $lo to $3" "$LAST_ERR" "collector $1 $2"
done
expect_fail "collector --listen with a bad port" "$BIN/mtd-collector" --data "$WORK/other" --listen "127.0.0.1: 80"
expect_fail "collector with a stray word" "$BIN/mtd-collector" --data "$WORK/other" --listen 127.0.0.1:0 extra
assert_eq 'mtd-collector: unexpected argument "extra" (see --help)' "$LAST_ERR" "collector with a stray word"
for v in 0 10001 abc; do
    expect_fail "mtdctl --limit $v" ctl --token "$ADMIN" devices --limit "$v"
    assert_eq "mtdctl: --limit must be an integer from 1 to 10000" "$LAST_ERR" "mtdctl --limit $v"
done
expect_fail "mtdctl --offset -1" ctl --token "$ADMIN" devices --offset -1
ok "numeric options are strict integers within their range, in the agent, the collector and mtdctl"

# item 10: one collector per data directory
BEFORE=$(cat "$DATA/collector.url")
expect_fail "a second collector on the same data" "$BIN/mtd-collector" --data "$DATA" --listen 127.0.0.1:0
assert_eq "mtd-collector: data directory $DATA is in use by another mtd-collector (PID $COLLECTOR_PID)" "$LAST_ERR" "second collector"
assert_eq "$BEFORE" "$(cat "$DATA/collector.url")" "collector.url after the second collector"
assert_eq 200 "$(http_status GET /healthz "")" "the first collector still serves"
ok "a second collector on a data directory in use refuses, naming the PID that holds it"

stop_collector
start_collector "$DATA"
ok "the lock goes with the collector: the next one starts"
stop_collector
finish
