#!/usr/bin/env bash
# Crash reports (issue 19): the agent built with its test-only trigger
# (build/tests/mtd-agent-crashtest) crashes in its own code; the report holds the
# signal, fault address, own frames, version and build ID and nothing of the command
# line, environment or files; the next round sends it once as usage.crash; mtdctl
# crashes groups reports by signature with counts. The shipped binary has no trigger.
# Crash logs of the agent's app in Android and iOS snapshots are sent once, those of
# other apps never, and a garbage .ips changes nothing.
source "$(dirname "$0")/lib.sh"
BUILD=${MTD_BUILD:?}
SRC=${MTD_SRC:?}
CRASHTEST=$BUILD/tests/mtd-agent-crashtest
agent() { "$BIN/mtd-agent" "$@"; }

# the shipped agent: no trigger in it
if grep -a -q MTD_TEST_CRASH "$BIN/mtd-agent"; then fail "the shipped mtd-agent holds the test crash trigger"; fi
grep -a -q MTD_TEST_CRASH "$CRASHTEST" || fail "the test build lacks its trigger: the check above proves nothing"

start_collector "$WORK/data"
T=$("$BIN/mtdctl" --server "$URL" --token "$OPERATOR_TOKEN" tenant create crash --json)
ADMIN=$(jq -r .admin_token <<<"$T"); ENR=$(jq -r .enroll_token <<<"$T")
ctl() { "$BIN/mtdctl" --server "$URL" --token "$ADMIN" "$@"; }
S=$WORK/state-SECRETPATHX
agent enroll --state "$S" --server "$URL" --token "$ENR" --user crash.user@example.org >/dev/null

MTD_TEST_CRASH=none agent run --state "$S" --no-upload --once >/dev/null || fail "MTD_TEST_CRASH must do nothing to the shipped agent"
set +e
MTD_TEST_CRASH=segv MTD_SECRET_ENV=ENVSECRETX "$CRASHTEST" run --state "$S" --once --no-upload >/dev/null 2>&1
rc=$?
set -e
assert_eq 139 "$rc" "the test build died of SIGSEGV (128+11)"
R=$(ls "$S"/crash/crash-*.txt)
assert_eq 1 "$(echo "$R" | wc -l)" "one report written"
assert_eq "openmtd-crash 1|signal SIGSEGV|fault 0x10|version 0.1.0" "$(head -4 "$R" | paste -sd'|')" "report header"
assert_eq "$(readelf -n "$CRASHTEST" | awk '/Build ID/ {print $3}')" "$(awk '$1=="build_id" {print $2}' "$R")" "build ID of the binary that crashed"
first=$(awk '$1=="frame" {print $2; exit}' "$R")
assert_eq test_crash_segv "$(addr2line -f -e "$CRASHTEST" "$first" | head -1)" "the first frame is the function that faulted"
assert_eq "" "$(grep -v -E '^(openmtd-crash 1|signal SIG[A-Z]+|fault 0x[0-9a-f]+|version [0-9.]+|build_id [0-9a-f]+|time [0-9]+|frame 0x[0-9a-f]+)$' "$R")" \
    "the report holds only its declared lines"
ok "a crash of the test build: a report of signal, fault address, own frames, version and build ID only"

agent run --state "$S" --once >/dev/null
ctl crashes --json >"$WORK/c1.json"
assert_eq "1 1 SIGSEGV 0.1.0" "$(jq -r '.crashes[] | "\(.count) \(.devices) \(.signal) \(.version)"' "$WORK/c1.json")" "the crash arrived"
ctl export >"$WORK/export.jsonl"
jq -c 'select(.event=="usage.crash") | [.origin, .fault_address, .frames[0]]' "$WORK/export.jsonl" >"$WORK/ev"
assert_eq "[\"agent\",\"0x10\",\"mtd-agent+$first\"]" "$(cat "$WORK/ev")" "the stored usage.crash event"
agent run --state "$S" --once >/dev/null
assert_eq 1 "$(ctl crashes --json | jq '[.crashes[].count] | add')" "sent once: a second round sends it no more"
ok "the next round sends it once as usage.crash"

for how in segv segv abort; do
    MTD_TEST_CRASH=$how "$CRASHTEST" run --state "$S" --once --no-upload >/dev/null 2>&1 || true
done
agent run --state "$S" --once >/dev/null
ctl crashes --json >"$WORK/c2.json"
assert_eq "3 1 SIGSEGV|1 1 SIGABRT" "$(jq -r '[.crashes[] | "\(.count) \(.devices) \(.signal)"] | join("|")' "$WORK/c2.json")" "grouped by signature, most frequent first"
ctl crashes >"$WORK/c2.txt"
grep -q "mtd-agent+$first" "$WORK/c2.txt" || fail "mtdctl crashes does not show the top frames: $(cat "$WORK/c2.txt")"
ok "mtdctl crashes groups by signal, top frames and version, with counts"

# crash logs in snapshots: the agent's app's only, once
A=$WORK/android; mkdir -p "$A/data/tombstones"
cp "$SRC/tests/data/tombstone_agent" "$A/data/tombstones/tombstone_01"
if [ -n "${MTD_SHARED_DATA:-}" ] && [ -f "$MTD_SHARED_DATA/mvt/android_data/bugreport/FS/data/tombstones/tombstone_00" ]; then
    cp "$MTD_SHARED_DATA/mvt/android_data/bugreport/FS/data/tombstones/tombstone_00" "$A/data/tombstones/tombstone_00"
fi
printf 'ro.build.version.release=14\nro.product.model=Pixel 8\n' >"$A/getprop.txt"
agent enroll --state "$WORK/phone" --server "$URL" --token "$ENR" --android-root "$A" >/dev/null
agent run --state "$WORK/phone" --once >/dev/null
agent run --state "$WORK/phone" --once >/dev/null
I=$WORK/ios; mkdir -p "$I/crashes/Retired"
cp "$SRC/tests/data/org.openmtd.agent-2026-11-30-101500.ips" "$I/crashes/Retired/"
sed 's/org.openmtd.agent/com.other.app/g' "$SRC/tests/data/org.openmtd.agent-2026-11-30-101500.ips" >"$I/crashes/other-2026.ips"
printf 'garbage, not a crash log\n' >"$I/crashes/garbage.ips"
printf '<?xml version="1.0"?><plist version="1.0"><dict><key>ProductType</key><string>iPhone14,5</string><key>ProductVersion</key><string>17.4.1</string></dict></plist>' >"$I/ideviceinfo.plist"
agent enroll --state "$WORK/iphone" --server "$URL" --token "$ENR" --ios-backup "$I" >/dev/null
agent run --state "$WORK/iphone" --once >/dev/null 2>"$WORK/ios.err"
agent run --state "$WORK/iphone" --once >/dev/null 2>&1
ctl crashes --json >"$WORK/c3.json"
assert_eq "1 SIGSEGV libmtd.so+0x4ec8c < libmtd.so+0x4f0a8" \
    "$(jq -r '.crashes[] | select(.top_frames | startswith("libmtd")) | "\(.count) \(.signal) \(.top_frames)"' "$WORK/c3.json")" "the app's tombstone, once, its own frames only"
assert_eq "1 SIGSEGV openmtd+0x54e4 < openmtd+0x56c8 0.1.0" \
    "$(jq -r '.crashes[] | select(.top_frames | startswith("openmtd")) | "\(.count) \(.signal) \(.top_frames) \(.version)"' "$WORK/c3.json")" "the app's .ips, once"
assert_eq 6 "$(jq '[.crashes[].count] | add' "$WORK/c3.json")" "no other app's log was sent (4 agent crashes + 2)"
ok "snapshot crash logs: the agent app's tombstone and .ips sent once; other apps' and garbage not"
stop_collector

# the other app's tombstone by its process and library names: "adbd" alone is four hex
# digits, which a stored digest holds now and then (a flake seen under load)
for v in SECRETPATHX ENVSECRETX alice private-holiday-photos com.other.app /system/bin/adbd libadbd.so UsbFfs; do
    if grep -r -a -l -F -- "$v" "$WORK/data" "$S/crash" >"$WORK/hits" 2>/dev/null; then
        fail "\"$v\" reached $(cat "$WORK/hits")"
    fi
done
ok "no path, environment, abort message or other app's data in any report or anything stored"
finish
