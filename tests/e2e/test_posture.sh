#!/usr/bin/env bash
# Device posture (issue 18): `mtd-agent posture` on Android snapshots assembled here
# from real files: the fdroidserver APK set with a locked, patched user build and MVT's
# clean dumps is the clean snapshot, which must give no finding; then each piece of
# real evidence (MVT's root_binaries.json, dumpsys adb, the Android 2.3.3 build.prop
# with test-keys, ...) or one changed property or setting is added to a copy of it,
# and exactly the checks that read that evidence must fire, with the evidence named.
# OSV records with SEMVER and ECOSYSTEM ranges against the snapshot's apps.
source "$(dirname "$0")/lib.sh"
SHARED=${MTD_SHARED_DATA:-}
agent() { "$BIN/mtd-agent" "$@"; }

if [ -z "$SHARED" ] || [ ! -d "$SHARED/mvt" ] || [ ! -d "$SHARED/android/fdroidserver" ]; then
    echo "skip: ../shared/data (mvt, android/fdroidserver) is absent: the snapshots are made of its files"
    exit 0
fi
MVT=$SHARED/mvt
PATCH=$(date -u -d '-10 days' +%F) # patched ten days ago: within the default 90

# The clean snapshot: real APKs, real clean dumps, a production build's properties.
C=$WORK/clean
for apk in "$SHARED"/android/fdroidserver/*.apk; do
    n=$(basename "$apk" .apk)
    case $n in com.politedroid_3 | com.politedroid_6) continue ;; esac # one version installed
    mkdir -p "$C/data/app/$n-1"
    cp "$apk" "$C/data/app/$n-1/base.apk"
done
cat >"$C/getprop.txt" <<EOF
[ro.build.version.release]: [15]
[ro.build.version.sdk]: [35]
[ro.build.version.security_patch]: [$PATCH]
[ro.build.tags]: [release-keys]
[ro.build.type]: [user]
[ro.build.fingerprint]: [google/husky/husky:15/AP4A.250105.002/12701944:user/release-keys]
[ro.debuggable]: [0]
[ro.secure]: [1]
[ro.boot.flash.locked]: [1]
[ro.boot.vbmeta.device_state]: [locked]
[ro.boot.verifiedbootstate]: [green]
[ro.boot.selinux]: [enforcing]
[persist.sys.usb.config]: [mtp]
[ro.product.model]: [Pixel 8 Pro]
EOF
cp "$MVT/android_data/dumpsys_accessibility.txt" "$C/dumpsys_accessibility.txt" # none enabled
cp "$MVT/androidqf/files.json" "$C/files.json"                                   # no root path
cp "$MVT/androidqf/settings_random.txt" "$C/settings_global.txt"                # settings list format
echo Enforcing >"$C/getenforce.txt"

checks() { agent posture --android-root "$@" --json | jq -r .check | paste -sd, -; }
# variant NAME: a fresh copy of the clean snapshot
variant() { rm -rf "$WORK/$1"; cp -a "$C" "$WORK/$1"; V=$WORK/$1; }
setprop() { # KEY VALUE in $V/getprop.txt
    if grep -q "^\[$1\]:" "$V/getprop.txt"; then
        sed -i "s|^\[$1\]: \[.*\]\$|[$1]: [$2]|" "$V/getprop.txt"
    else
        echo "[$1]: [$2]" >>"$V/getprop.txt"
    fi
}
# expect_checks NAME EXPECTED [posture args]: the variant's findings are exactly EXPECTED
expect_checks() {
    local what=$1 want=$2
    shift 2
    assert_eq "$want" "$(checks "$V" "$@")" "$what"
}
evidence() { agent posture --android-root "$V" --json | jq -r "select(.check==\"$1\") | .evidence"; }

agent posture --android-root "$C" --json >"$WORK/clean.jsonl" 2>"$WORK/clean.err"
assert_eq 0 "$(wc -l <"$WORK/clean.jsonl")" "findings on the clean snapshot: $(cat "$WORK/clean.jsonl")"
[ "$(agent inventory apps --android-root "$C" --json 2>/dev/null | wc -l)" -eq 11 ] || fail "the clean snapshot does not hold the 11 APKs"
ok "the clean snapshot (fdroidserver APKs, locked patched user build, MVT's clean dumps) gives no finding"

# --- root ---
variant rootbin
cp "$MVT/androidqf/root_binaries.json" "$V/"
expect_checks "MVT's root_binaries.json" "android.su_binary,android.busybox,android.root_manager_files"
assert_eq "/system/bin/su (root_binaries.json)" "$(evidence android.su_binary)" "su evidence"
assert_eq "/system/xbin/busybox (root_binaries.json)" "$(evidence android.busybox)" "busybox evidence"
assert_eq "/data/local/tmp/magisk (root_binaries.json), /system/bin/magiskhide (root_binaries.json)" \
    "$(evidence android.root_manager_files)" "Magisk evidence"
agent posture --android-root "$V" --json >"$WORK/r.jsonl"
assert_eq "Rooted: Magisk files present|high|integrity" \
    "$(jq -r 'select(.check=="android.root_manager_files") | [.threat_name,.severity,.category] | join("|")' "$WORK/r.jsonl")" "Magisk finding"
jq -se 'map(select(.check=="android.su_binary"))[0].explanation | test("become root")' "$WORK/r.jsonl" >/dev/null || fail "no explanation"
ok "MVT's root_binaries.json: su, busybox and Magisk, each named with its path"
# the privacy statement explains each check as its finding does, and says what it reads
agent privacy statement >"$WORK/statement.md"
for c in android.su_binary android.busybox android.root_manager_files; do
    x=$(jq -r "select(.check==\"$c\") | .explanation" "$WORK/r.jsonl")
    grep -F -- "(\`$c\`, severity " "$WORK/statement.md" | grep -qF -- "$x" ||
        fail "the statement lacks $c with its finding's explanation"
done
grep -F -- '(`android.wifi_insecure`' "$WORK/statement.md" | grep -qF "the network names are not reported" ||
    fail "the statement does not say what the Wi-Fi check reads"
ok "the privacy statement explains each check as its finding does, with what it reads"

variant treesu
mkdir -p "$V/system/xbin" && cp /bin/true "$V/system/xbin/su"
expect_checks "an su binary pulled into the snapshot tree" "android.su_binary"
assert_eq "/system/xbin/su" "$(evidence android.su_binary)" "su in the tree"
variant filesjson
jq '. + [{"path": "/data/adb/magisk/magisk64"}, {"path": "/data/adb/ksud"}]' "$MVT/androidqf/files.json" >"$V/files.json"
expect_checks "Magisk and KernelSU in AndroidQF's files.json" "android.root_manager_files"
assert_eq "/data/adb/magisk (files.json), /data/adb/ksud (files.json)" "$(evidence android.root_manager_files)" "files.json evidence"
variant managers
printf 'package:/data/app/com.topjohnwu.magisk-1/base.apk=com.topjohnwu.magisk  installer=null uid:10201\npackage:/data/app/org.lsposed.manager-1/base.apk=org.lsposed.manager  installer=null uid:10202\n' >"$V/pm_list_packages.txt"
expect_checks "Magisk and LSPosed among the packages" "android.root_manager_app,android.hooking_framework"
agent posture --android-root "$V" --json >"$WORK/m.jsonl"
assert_eq "Rooted: Magisk installed|com.topjohnwu.magisk;Hooking framework: LSPosed installed|org.lsposed.manager" \
    "$(jq -r '[.threat_name,.package] | join("|")' "$WORK/m.jsonl" | paste -sd';' -)" "root manager apps"
ok "su in the snapshot tree, Magisk and KernelSU in files.json, Magisk and LSPosed packages"

# --- build and boot ---
variant ginger
rm "$V/getprop.txt"
mkdir -p "$V/system" && cp "$SHARED/android/packages_xml/jet-ginger-2.3.3_build.prop" "$V/system/build.prop"
expect_checks "the real Android 2.3.3 build.prop" \
    "android.test_keys,android.debuggable,android.insecure_build,android.dev_build,android.os_end_of_support"
assert_eq "ro.build.type=eng" "$(evidence android.dev_build)" "build type evidence"
assert_eq "Android 2.3.3 (API 10), release 2.3: security support ended (the source gives no date) (table of 2026-12-02, endoflife.date)" \
    "$(evidence android.os_end_of_support)" "end of support evidence"
ok "the real Android 2.3.3 build.prop: test-keys, debuggable, ro.secure=0, eng build, out of support"

for c in "ro.build.tags dev-keys android.test_keys" "ro.debuggable 1 android.debuggable" \
         "ro.secure 0 android.insecure_build" "ro.build.type userdebug android.dev_build" \
         "ro.boot.flash.locked 0 android.bootloader_unlocked" \
         "ro.boot.vbmeta.device_state unlocked android.bootloader_unlocked" \
         "ro.boot.verifiedbootstate yellow android.verified_boot" \
         "ro.boot.selinux permissive android.selinux_permissive" \
         "service.adb.tcp.port 5555 android.adb_network" \
         "ro.build.version.security_patch 2024-01-05 android.patch_level"; do
    set -- $c
    variant prop
    setprop "$1" "$2"
    expect_checks "$1=$2" "$3"
done
variant orange
setprop ro.boot.verifiedbootstate orange
setprop ro.boot.flash.locked 0
expect_checks "verified boot orange" "android.bootloader_unlocked"
assert_eq "ro.boot.flash.locked=0, ro.boot.verifiedbootstate=orange" "$(evidence android.bootloader_unlocked)" "unlocked evidence"
variant red
setprop ro.boot.verifiedbootstate red
assert_eq "high" "$(agent posture --android-root "$V" --json | jq -r .severity)" "verified boot red is high"
variant permissive
echo Permissive >"$V/getenforce.txt"
expect_checks "getenforce Permissive" "android.selinux_permissive"
assert_eq "getenforce: Permissive" "$(evidence android.selinux_permissive)" "getenforce evidence"
variant android12
setprop ro.build.version.release 12
setprop ro.build.version.sdk 31
expect_checks "Android 12" "android.os_end_of_support"
assert_eq "Android 12 (API 31), release 12: last security update 2025-03-03 (table of 2026-12-02, endoflife.date)" \
    "$(evidence android.os_end_of_support)" "Android 12 evidence"
variant oldpatch
setprop ro.build.version.security_patch "$(date -u -d '-91 days' +%F)"
assert_eq "security patch level $(date -u -d '-91 days' +%F) is 91 days old; the policy allows 90" \
    "$(evidence android.patch_level)" "patch level evidence"
ok "each build, boot, SELinux and patch property fires its own check alone"

# --- debugging, accessibility, network ---
variant adb
cp "$MVT/android_data/dumpsys_adb.txt" "$V/dumpsys_adb.txt"
expect_checks "MVT's dumpsys adb" "android.adb_authorized"
assert_eq "adb on: a computer is connected now (dumpsys adb); 1 computer key authorized (dumpsys adb)" \
    "$(evidence android.adb_authorized)" "adb evidence"
agent posture --android-root "$V" --json | grep -q "QAAAA\|user@linux" && fail "the adb key or its comment is in a finding"
variant fulldump
cp "$MVT/androidqf/dumpsys.txt" "$V/dumpsys.txt"
rm "$V/dumpsys_accessibility.txt"
expect_checks "AndroidQF's full dumpsys.txt (its adb section)" "android.adb_authorized"
variant settings
printf 'development_settings_enabled=1\nhttp_proxy=203.0.113.7:3128\nadb_wifi_enabled=1\n' >>"$V/settings_global.txt"
expect_checks "developer options, proxy and wireless debugging settings" \
    "android.developer_options,android.adb_network,android.global_proxy"
assert_eq "http_proxy=203.0.113.7:3128" "$(evidence android.global_proxy)" "proxy evidence"
variant a11y
sed 's|^  enabled services: {$|&\n    0 : com.politedroid/com.politedroid.Watcher|' "$MVT/android_data/dumpsys_accessibility.txt" >"$V/dumpsys_accessibility.txt"
grep -q "0 : com.politedroid/com.politedroid.Watcher" "$V/dumpsys_accessibility.txt" || fail "the accessibility sample was not edited"
expect_checks "an accessibility service of com.politedroid" "android.accessibility_third_party"
assert_eq "enabled accessibility service .Watcher (dumpsys accessibility)|com.politedroid" \
    "$(agent posture --android-root "$V" --json | jq -r '[.evidence,.package] | join("|")')" "accessibility finding"
variant ca
mkdir -p "$V/data/misc/user/0/cacerts-added"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=interception CA" -keyout "$WORK/ca.key" \
    -out "$WORK/ca.pem" 2>/dev/null
h=$(openssl x509 -in "$WORK/ca.pem" -noout -subject_hash_old)
cp "$WORK/ca.pem" "$V/data/misc/user/0/cacerts-added/$h.0"
expect_checks "a user-added CA" "android.user_ca"
assert_eq "1 certificate in /data/misc/user/0/cacerts-added: $h.0" "$(evidence android.user_ca)" "CA evidence"
variant wifi
mkdir -p "$V/data/misc/apexdata/com.android.wifi"
# the layout of Android 11+'s WifiConfigStore (WifiConfigStoreData, NetworkList, one
# Network per saved network: its WifiConfiguration and SecurityParamsList)
wifi_net() {
    printf '<Network>\n<WifiConfiguration>\n<string name="ConfigKey">&quot;%s&quot;%s</string>\n<string name="SSID">&quot;%s&quot;</string>\n</WifiConfiguration>\n<SecurityParamsList>\n<SecurityParams>\n<int name="SecurityType" value="%s" />\n</SecurityParams>\n</SecurityParamsList>\n</Network>\n' "$1" "$2" "$1" "$3"
}
{ printf "<?xml version='1.0' encoding='utf-8' standalone='yes' ?>\n<WifiConfigStoreData>\n<int name=\"Version\" value=\"3\" />\n<NetworkList>\n"
  wifi_net HomeNet WPA_PSK 2; wifi_net AirportFreeWiFi NONE 0; wifi_net OldRouter WEP 1; wifi_net CafeOWE OWE 6
  printf '</NetworkList>\n</WifiConfigStoreData>\n'; } >"$V/data/misc/apexdata/com.android.wifi/WifiConfigStore.xml"
expect_checks "saved open and WEP networks" "android.wifi_insecure"
assert_eq "1 open network, 1 WEP network saved in WifiConfigStore.xml" "$(evidence android.wifi_insecure)" "Wi-Fi evidence"
agent posture --android-root "$V" --json | grep -q "AirportFreeWiFi\|OldRouter" && fail "a network name is in a finding"
sed -i '/AirportFreeWiFi/,/<\/Network>/d; /OldRouter/,/<\/Network>/d' "$V/data/misc/apexdata/com.android.wifi/WifiConfigStore.xml"
expect_checks "only WPA and OWE networks saved" ""
ok "adb with a key, the full dump's adb section, developer options, proxy, wireless adb, a third-party accessibility service, a user CA, open and WEP Wi-Fi"

# --- OSV records against the clean snapshot's apps ---
cat >"$WORK/vulns.json" <<'EOF'
{"vulns": [
 {"id": "GHSA-test-0001", "aliases": ["CVE-2099-1001"], "summary": "Calendar data exposed",
  "affected": [{"package": {"ecosystem": "Android", "name": "com.politedroid"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "1.0.0"}, {"fixed": "1.4.0"}]}]}],
  "database_specific": {"severity": "HIGH"}},
 {"id": "GHSA-test-0002", "affected": [{"package": {"ecosystem": "Android", "name": "com.politedroid"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.3.0"}]}]}]},
 {"id": "OSV-TEST-0003", "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"}],
  "affected": [{"package": {"ecosystem": "Android", "name": "org.dyndns.fules.ck"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "21"}]}]}]}
]}
EOF
agent posture --android-root "$C" --vulns "$WORK/vulns.json" --json >"$WORK/v.jsonl"
assert_eq "app.vulnerable|Vulnerable app: GHSA-test-0001 (CVE-2099-1001)|high|app|com.politedroid;app.vulnerable|Vulnerable app: OSV-TEST-0003|medium|app|org.dyndns.fules.ck" \
    "$(jq -r '[.check,.threat_name,.severity,.category,.package] | join("|")' "$WORK/v.jsonl" | paste -sd';' -)" "OSV findings"
assert_eq "OSV-TEST-0003: version v1.6pre2 code 20 is in the ECOSYSTEM range introduced 0, fixed 21; CVSS 6.1 (CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N)" \
    "$(jq -r 'select(.threat_name|test("0003")) | .evidence' "$WORK/v.jsonl")" "ECOSYSTEM evidence"
echo '{"id": "BAD-1", "affected": [{"ranges": [{"type": "SEMVER", "events": [{"fixed": 3}]}]}]}' >"$WORK/bad.json"
expect_fail "a bad OSV file" agent posture --android-root "$C" --vulns "$WORK/vulns.json" "$WORK/bad.json" --json
assert_eq "mtd-agent: --vulns $WORK/bad.json: OSV record BAD-1: an event that is not one of introduced, fixed, last_affected, limit" \
    "$LAST_ERR" "bad OSV message"
ok "OSV records: SEMVER and ECOSYSTEM ranges matched against the apps, advisory and severity named; a bad record refused by name"

# --- iOS: MVT's real backup (iOS 14.3), then with jailbreak traces in its Manifest.db ---
I=$WORK/ios
cp -r "$MVT/ios_backup" "$I"
assert_eq "ios.os_end_of_support" "$(agent posture --ios-backup "$I" --json | jq -r .check | paste -sd, -)" "the real iOS 14.3 backup"
plistutil -i "$I/Info.plist" -f xml -o "$WORK/info.xml"
python3 - "$WORK/info.xml" <<'PY'
import plistlib, sys
p = sys.argv[1]
d = plistlib.load(open(p, "rb"))
d["Product Version"] = "26.1"
plistlib.dump(d, open(p, "wb"))
PY
IC=$WORK/ios-current
cp -r "$I" "$IC"
plistutil -i "$WORK/info.xml" -f bin -o "$IC/Info.plist"
assert_eq "" "$(agent posture --ios-backup "$IC" --json | jq -r .check | paste -sd, -)" "the backup as iOS 26.1"
sqlite3 "$IC/Manifest.db" "INSERT INTO Files VALUES ('f00d0001', 'AppDomain-org.coolstar.SileoStore', 'Library/Preferences', 2, NULL);
    INSERT INTO Files VALUES ('f00d0002', 'HomeDomain', 'Library/Preferences/xyz.willy.Zebra.plist', 1, NULL);
    INSERT INTO Files VALUES ('f00d0003', 'AppDomain-org.coolstar.SileoStore', 'Documents', 2, NULL);"
agent posture --ios-backup "$IC" --json >"$WORK/jb.jsonl"
assert_eq "ios.jailbreak_app|Jailbroken: Sileo installed|org.coolstar.SileoStore;ios.jailbreak_files|Jailbroken: jailbreak files present|" \
    "$(jq -r '[.check,.threat_name,.package // ""] | join("|")' "$WORK/jb.jsonl" | paste -sd';' -)" "jailbreak traces"
assert_eq "/var/mobile/Library/Preferences/xyz.willy.Zebra.plist" \
    "$(jq -r 'select(.check=="ios.jailbreak_files") | .evidence' "$WORK/jb.jsonl")" "jailbreak file evidence"
ok "iOS: the real backup is out of support; as 26.1 it is clean; Sileo's container and Zebra's preferences in Manifest.db are found"

# --- the command's edges ---
agent posture --json >"$WORK/host.out" 2>"$WORK/host.err" || fail "posture without a device failed"
assert_eq 0 "$(wc -c <"$WORK/host.out")" "findings without a device"
grep -q "none was given" "$WORK/host.err" || fail "no note that no device was given"
expect_fail "both device options" agent posture --android-root "$C" --ios-backup "$C" --json
expect_fail "a missing snapshot" agent posture --android-root "$WORK/nonexistent" --json
agent posture --android-root "$WORK/ginger" --json >/dev/null || fail "posture with findings does not exit 0"
ok "exit 0 with or without findings; one-line errors for bad options"

# --- end to end: a rooted snapshot's findings reach the tenant, then a clean one resolves them ---
start_collector "$WORK/data"
T=$("$BIN/mtdctl" --server "$URL" --token "$OPERATOR_TOKEN" tenant create posture --json)
ADMIN=$(jq -r .admin_token <<<"$T")
ctl() { "$BIN/mtdctl" --server "$URL" --token "$ADMIN" "$@"; }
ctl feed push vulns "$WORK/vulns.json" >/dev/null
# the app scanner would report the shared APKs (janus.apk...) as app threats: this test
# is about the device's posture, so the tenant turns app scanning off
echo '{"app_scanning": false}' >"$WORK/noscan.json"
ctl policy set "$WORK/noscan.json" >/dev/null
D=$WORK/device # the enrolled device's snapshot: rooted now, clean next round
cp -a "$C" "$D"
cp "$MVT/androidqf/root_binaries.json" "$MVT/android_data/dumpsys_adb.txt" "$D/"
agent enroll --state "$WORK/agent" --server "$URL" --token "$(jq -r .enroll_token <<<"$T")" --android-root "$D" >/dev/null
agent run --state "$WORK/agent" --once >/dev/null
ctl threats --status active --json >"$WORK/t1.json"
# the report orders by severity, then time: compared sorted
assert_eq "BusyBox present/integrity/medium/device;Rooted: Magisk files present/integrity/high/device;Rooted: su binary present/integrity/high/device;USB debugging on, computers authorized/integrity/medium/device;Vulnerable app: GHSA-test-0001 (CVE-2099-1001)/app/high/device;Vulnerable app: OSV-TEST-0003/app/medium/device" \
    "$(jq -r '.threats[] | "\(.threat_name)/\(.category)/\(.severity)/\(.source)"' "$WORK/t1.json" | sort | paste -sd';' -)" "active threats at the tenant"
assert_eq "com.politedroid org.dyndns.fules.ck" "$(jq -r '.threats[] | .package // empty' "$WORK/t1.json" | sort | paste -sd' ' -)" "packages of the app findings"
DEV=$(ctl devices --json | jq -r '.devices[0].device_id')
assert_eq high "$(ctl risk "$DEV" --json | jq -r .risk)" "device risk with a rooted snapshot"
assert_eq high "$(ctl devices --json | jq -r '.devices[0].risk')" "risk in the devices report"
grep -q "QAAAA\|user@linux" "$WORK/agent/ledger.jsonl" && fail "an adb key left the device"
grep -c '"threat.detection"' "$WORK/agent/ledger.jsonl" >"$WORK/n1"
assert_eq 6 "$(cat "$WORK/n1")" "detections sent in the first round"
ok "a rooted snapshot and the tenant's OSV feed: six detections (source device) reach the tenant, risk high, no adb key sent"

agent run --state "$WORK/agent" --once >/dev/null
assert_eq 6 "$(grep -c '"threat.detection"' "$WORK/agent/ledger.jsonl")" "detections sent again for unchanged findings"
rm -rf "$D" && cp -a "$C" "$D"     # the device is clean now
ctl feed remove vulns >/dev/null    # and the organization withdraws its records
agent run --state "$WORK/agent" --once >/dev/null
assert_eq 0 "$(ctl threats --status active --json | jq '.threats | length')" "active threats after the clean round"
ctl threats --status resolved --json >"$WORK/t2.json"
assert_eq 6 "$(jq '.threats | length' "$WORK/t2.json")" "resolved threats"
assert_eq none "$(ctl risk "$DEV" --json | jq -r .risk)" "device risk once clean"
assert_eq 12 "$(grep -c '"threat.detection"' "$WORK/agent/ledger.jsonl")" "six resolutions sent, once"
[ ! -e "$WORK/agent/feeds/vulns" ] || fail "the withdrawn records stay on the device"
ok "an unchanged round sends nothing; the clean snapshot next round resolves all six, risk none"

# the tenant's policy sets the patch level's maximum age: 5 days makes the clean snapshot's
# ten-day-old patch level a finding at the next round
echo '{"security_patch_max_age_days": 5, "app_scanning": false}' >"$WORK/policy.json"
ctl policy set "$WORK/policy.json" >/dev/null
assert_eq 5 "$(ctl policy get --json | jq -r .security_patch_max_age_days)" "policy key stored"
agent run --state "$WORK/agent" --once >/dev/null
assert_eq "Security patch level too old|os|medium|security patch level $PATCH is 10 days old; the policy allows 5" \
    "$(ctl threats --status active --json | jq -r '.threats[] | [.threat_name,.category,.severity,.evidence] | join("|")')" "patch level against the policy"
assert_eq medium "$(ctl risk "$DEV" --json | jq -r .risk)" "risk with an old patch level"
ok "the policy's security_patch_max_age_days reaches the device and sets the patch level check"

stop_collector
finish
