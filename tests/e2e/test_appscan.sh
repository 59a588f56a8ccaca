#!/usr/bin/env bash
# App scanning in `mtd-agent run` (issue 16), end to end: the tenant pushes indicators
# and YARA rules as feeds; the enrolled device (an Android snapshot of APKs built by
# aapt) reports its threats; an app installed later is scanned in the round that sees
# it; a removed or cleaned app's threat resolves and the device's risk falls; the
# trusted stores policy decides what is sideloaded; report_app_details=minimal stores
# the threat without the app; a refused feed resolves nothing; the scan's status reaches
# the diagnostic bundle.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/apks.sh"
SRC=${MTD_SRC:?}
agent() { "$BIN/mtd-agent" "$@"; }

python3 "$SRC/tests/tools/mkdex.py" "$WORK/marker.dex" OPENMTD-TEST-MARKER Lcom/x/Main\;
python3 "$SRC/tests/tools/mkdex.py" "$WORK/plain.dex" Lcom/y/Main\;
dexdump -f "$WORK/marker.dex" >/dev/null 2>&1 || fail "dexdump refuses the marker dex"
build good org.t.good 1 a ""
build evil org.t.evil 3 a "" classes.dex="$WORK/plain.dex"
build side org.t.side 1 a ""
build marked org.t.marked 1 a "" classes.dex="$WORK/marker.dex"
build marked2 org.t.marked 2 a "" classes.dex="$WORK/plain.dex"

R=$WORK/phone
# device PKG APK INSTALLER VERSION...: the snapshot holds exactly these apps
device() {
    rm -rf "$R"; mkdir -p "$R/data/system"
    echo "<packages>" >"$WORK/pk.xml"
    while [ $# -gt 0 ]; do
        mkdir -p "$R/data/app/$1-1"; cp "$WORK/$2.apk" "$R/data/app/$1-1/base.apk"
        echo "<package name=\"$1\" codePath=\"/data/app/$1-1\" version=\"$4\" userId=\"10$RANDOM\" installer=\"$3\" />" >>"$WORK/pk.xml"
        shift 4
    done
    echo "</packages>" >>"$WORK/pk.xml"
    cp "$WORK/pk.xml" "$R/data/system/packages.xml"
}
PLAY=com.android.vending
device org.t.good good $PLAY 1 org.t.evil evil $PLAY 3 org.t.side side org.shady.market 1

start_collector "$WORK/data"
T=$("$BIN/mtdctl" --server "$URL" --token "$OPERATOR_TOKEN" tenant create scans --json)
ADMIN=$(jq -r .admin_token <<<"$T")
DB=$WORK/data/tenants/$(jq -r .tenant_id <<<"$T")/store.sqlite
ctl() { "$BIN/mtdctl" --server "$URL" --token "$ADMIN" "$@"; }
echo "$(sha256sum "$WORK/evil.apk" | cut -d' ' -f1) Test.Evil" >"$WORK/iocs.txt"
printf 'rule Marker {\n meta:\n  threat_name = "Test.DexMarker"\n  severity = "critical"\n strings:\n  $m = "OPENMTD-TEST-MARKER"\n condition:\n  $m\n}\n' >"$WORK/rules.yar"
ctl feed push indicators "$WORK/iocs.txt" >/dev/null
ctl feed push yara "$WORK/rules.yar" >/dev/null
S=$WORK/agent
agent enroll --state "$S" --server "$URL" --token "$(jq -r .enroll_token <<<"$T")" --android-root "$R" >/dev/null
round() { agent run --state "$S" --once >/dev/null || fail "run: exit $?"; }
active() { ctl threats --status active --json | jq -r '.threats[] | "\(.threat_name)/\(.severity)/\(.source)/\(.package // "-")"' | sort | paste -sd';'; }
risk() { ctl risk "$DEV" --json | jq -r .risk; }
sent() { grep -c '"threat.detection"' "$S/ledger.jsonl" || true; }

round
DEV=$(ctl devices --json | jq -r '.devices[0].device_id')
assert_eq "Sideloaded app/low/app/org.t.side;Test.Evil/high/app/org.t.evil" "$(active)" "threats after the first round"
assert_eq high "$(risk)" "device risk with a known malicious app"
assert_eq 2 "$(sent)" "detections sent"
ids=$(sqlite3 "$DB" "select threat_id from ev_threat_detection" | sort -u)
for id in $ids; do [[ $id =~ ^ps_[A-Za-z0-9_-]{22}$ ]] || fail "threat_id $id is not a pseudonym"; done
sqlite3 "$DB" "select evidence from ev_threat_detection" | grep -q "org.t." && fail "evidence names an app"
assert_eq "full scan of 3 apps" "$(jq -r '.status.text' "$S/scan.json" | cut -d: -f1)" "the first round scans everything"
ok "the tenant's indicators reach the device as a feed; a detection reaches the tenant and the risk is high"

# the user asks the device for a scan: its snapshot, the tenant's feeds and trusted
# stores, shown locally; the next round reports it as a scan_requested action
agent scan --state "$S" --json >"$WORK/asked.jsonl" || fail "scan --state: exit $?"
assert_eq "heur.sideloaded/org.t.side ioc.apk_sha256/org.t.evil/Test.Evil" \
    "$(jq -r '[.rule, .package, (select(.rule | startswith("ioc.")) | .threat_name)] | join("/")' "$WORK/asked.jsonl" | sort | paste -sd' ')" "the device's own scan"
round
assert_eq "scan_requested=1" "$(ctl usage --json | jq -r '.actions[] | select(.action == "scan_requested") | "\(.action)=\(.count)"')" "usage"
ok "a scan the user asks for uses the device's snapshot, feeds and policy, and is counted as scan_requested"

assert_eq 2 "$(sent)" "an unchanged round sends no detection"
assert_eq "no app changed; scan of 0 apps" "$(jq -r '.status.text' "$S/scan.json" | cut -d: -f1)" "nothing rescanned"
device org.t.good good $PLAY 1 org.t.evil evil $PLAY 3 org.t.side side org.shady.market 1 org.t.marked marked $PLAY 1
round
assert_eq "scan of new or updated apps of 1 apps" "$(jq -r '.status.text' "$S/scan.json" | cut -d: -f1)" "only the new app is scanned"
assert_eq "Sideloaded app/low/app/org.t.side;Test.DexMarker/critical/app/org.t.marked;Test.Evil/high/app/org.t.evil" "$(active)" "a YARA rule's detection in the round that sees the install"
ok "an app installed since the last round is scanned in that round, and only it"

# every app once a day, or per --scan-interval: the last full scan made older
age() { jq ".last_full -= $1" "$S/scan.json" >"$WORK/s.json" && cat "$WORK/s.json" >"$S/scan.json"; }
kind() { jq -r '.status.text' "$S/scan.json" | cut -d: -f1; }
age 86400; round
assert_eq "full scan of 4 apps" "$(kind)" "a day after the last full scan"
assert_eq 3 "$(sent)" "a full scan sends nothing already reported"
age 120; agent run --state "$S" --once --scan-interval 60 >/dev/null || fail "run --scan-interval"
assert_eq "full scan of 4 apps" "$(kind)" "two minutes after, with --scan-interval 60"
age 30; agent run --state "$S" --once --scan-interval 60 >/dev/null || fail "run --scan-interval"
assert_eq "no app changed; scan of 0 apps" "$(kind)" "30 s after, with --scan-interval 60"
ok "the whole inventory is scanned once a day, or every --scan-interval seconds; reported findings are not sent again"

device org.t.good good $PLAY 1 org.t.side side org.shady.market 1 org.t.marked marked $PLAY 1
round
assert_eq "Sideloaded app/low/app/org.t.side;Test.DexMarker/critical/app/org.t.marked" "$(active)" "the removed app's threat"
assert_eq "Test.Evil" "$(ctl threats --status resolved --json | jq -r '.threats[].threat_name')" "resolved"
device org.t.good good $PLAY 1 org.t.side side org.shady.market 1 org.t.marked marked2 $PLAY 2
round
assert_eq "Sideloaded app/low/app/org.t.side" "$(active)" "the updated app's threat"
assert_eq low "$(risk)" "risk once the malware is gone"
ok "a removed app and an app updated without the marker: their threats resolve and the risk falls"

printf '{"trusted_stores": ["%s", "org.shady.market"]}\n' "$PLAY" >"$WORK/p1.json"
ctl policy set "$WORK/p1.json" >/dev/null
round
assert_eq "" "$(active)" "with the shady market trusted"
assert_eq none "$(risk)" "risk with nothing active"
ok "the tenant's trusted_stores decide what is sideloaded (a change rescans every app)"

printf '{"report_app_details": "minimal", "trusted_stores": ["%s"]}\n' "$PLAY" >"$WORK/p2.json"
ctl policy set "$WORK/p2.json" >/dev/null
round
assert_eq "Sideloaded app/low/app/-" "$(active)" "the sideloaded app again, without its package"
row=$(sqlite3 "$DB" "select coalesce(package,'-') || '|' || coalesce(app_sha256,'-') || '|' || status from ev_threat_detection order by row desc limit 1")
assert_eq "-|-|active" "$row" "stored without package or SHA-256"
grep -q org.t.side <<<"$(sqlite3 "$DB" 'select evidence, threat_id from ev_threat_detection order by row desc limit 1')" && fail "the stored threat names the app"
assert_eq low "$(risk)" "risk under minimal app details"
ok "report_app_details=minimal: the threat is stored without the app's package or SHA-256"

echo "not-an-indicator" >"$WORK/bad.txt"
ctl feed push indicators "$WORK/bad.txt" >/dev/null
printf 'rule Broken {\n  condition:\n    $nowhere\n}\n' >"$WORK/bad.yar"
ctl feed push yara "$WORK/bad.yar" >/dev/null
device org.t.good good $PLAY 1 org.t.side side org.shady.market 1 org.t.marked marked2 $PLAY 2 org.t.evil evil $PLAY 3
round
assert_eq "Sideloaded app/low/app/-" "$(active)" "a refused feed finds nothing and resolves nothing"
jq -r '.status.text' "$S/scan.json" | grep -q "indicators feed refused (.*feeds/indicators:1: \"not-an-indicator\" is not a SHA-256" \
    || fail "status: $(jq -r .status.text "$S/scan.json")"
jq -r '.status.text' "$S/scan.json" | grep -qF "; yara feed refused ($S/feeds/yara:4: undefined string \"\$nowhere\"); " \
    || fail "status: $(jq -r .status.text "$S/scan.json")"
ok "a refused indicator or YARA feed is said in the scan status (file, line, libyara's message) and resolves nothing"

echo '{"report_app_details": "minimal", "optional_data": true}' >"$WORK/p3.json"
ctl policy set "$WORK/p3.json" >/dev/null
round
agent consent grant --state "$S" >/dev/null
agent feedback --state "$S" --type idea --comment "scan" --with-diagnostics >/dev/null
status=$(sqlite3 "$DB" "select scan_status || '|' || (scan_ms >= 0) from ev_diag_bundle")
case "$status" in "indicators feed refused"*"|1") ;; *) fail "diagnostic scan status: $status" ;; esac
ok "the scan's status and duration are in the diagnostic bundle"

stop_collector
finish
