#!/usr/bin/env bash
# Android device state (issue 4): the real Android 2.3.3 packages.xml and build.prop;
# the ABX files of ../shared/data decoded to the XML they were made from; a modern
# snapshot made here (ABX packages.xml written by tests/tools/abx_write.py, runtime
# permissions, package restrictions, dumpsys, pm list, getprop, APKs built by aapt);
# and an enrolled agent reporting that snapshot's apps, then their updates and removals.
source "$(dirname "$0")/lib.sh"
SRC=${MTD_SRC:?}
SHARED=${MTD_SHARED_DATA:-}
agent() { "$BIN/mtd-agent" "$@"; }

if [ -z "$SHARED" ] || [ ! -d "$SHARED/android" ]; then
    echo "skip: ../shared/data/android is absent: the real-file half of this test cannot run"
else
    S=$WORK/ginger; mkdir -p "$S/data/system" "$S/system"
    cp "$SHARED/android/packages_xml/jet-ginger-2.3.3_packages.xml" "$S/data/system/packages.xml"
    cp "$SHARED/android/packages_xml/jet-ginger-2.3.3_build.prop" "$S/system/build.prop"
    agent inventory apps --android-root "$S" --json >"$WORK/g.jsonl" 2>"$WORK/g.err"
    assert_eq 52 "$(wc -l <"$WORK/g.jsonl")" "packages in the Android 2.3.3 packages.xml"
    assert_eq 52 "$(jq -r .package "$WORK/g.jsonl" | sort -u | wc -l)" "distinct packages"
    jq -c 'select(.package=="com.google.android.location") | [.apk_path, .version_code, .first_install_time, .is_system]' "$WORK/g.jsonl" >"$WORK/loc"
    assert_eq '["/system/app/NetworkLocation.apk",100,"2011-02-03T23:13:35Z",true]' "$(cat "$WORK/loc")" "com.google.android.location (it=12dedcd5d18)"
    grep -q "dumpsys_package.txt" "$WORK/g.err" || fail "missing sources are not reported: $(cat "$WORK/g.err")"
    agent inventory device --android-root "$S" --json >"$WORK/gd.json"
    assert_eq "Android|2.3.3|GT-S8000|generic/google_sdk/generic:2.3.3/GRI34/101070:eng/test-keys" \
        "$(jq -r '[.os_name,.os_version,.model,.build] | join("|")' "$WORK/gd.json")" "device from build.prop"
    ok "the real Android 2.3.3 packages.xml: its 52 packages, times, paths; build.prop device info"

    for f in "$SHARED"/android/ccl_abx/*.abx; do
        python3 - "$f" "${f%.abx}" "$BIN" <<'PY' || fail "ABX $(basename "$f") does not decode to $(basename "${f%.abx}")"
import subprocess, sys, xml.etree.ElementTree as ET
abx, xmlf, bindir = sys.argv[1:4]
# the agent's ABX decoder, as the unit under test, through a tiny driver: inventory
# cannot print arbitrary XML, so the test links nothing and uses abx_dump
out = subprocess.run([bindir + "/../tests/abx_dump", abx], capture_output=True, check=True).stdout
def norm(e):
    return (e.tag, sorted(e.attrib.items()), (e.text or "").strip(), [norm(c) for c in e])
got, want = ET.fromstring(out), ET.parse(xmlf).getroot()
if norm(got) != norm(want):
    print("got:", out[:300], file=sys.stderr); sys.exit(1)
PY
    done
    ok "every ABX file of ../shared/data decodes to the XML it was made from"
fi

# a modern snapshot, made here
M=$WORK/modern; mkdir -p "$M/data/system/users/0" "$M/data/app"
FW=/usr/share/android-framework-res/framework-res.apk
keytool -genkeypair -keystore "$WORK/ks.jks" -storepass testpass -keypass testpass -alias k \
    -keyalg RSA -keysize 2048 -validity 30 -dname "CN=snapshot test" >/dev/null 2>&1
build_apk() { # pkg versionCode versionName out
    local d=$WORK/src.$1.$2; mkdir -p "$d/res/values"
    echo '<resources><string name="l">L</string></resources>' >"$d/res/values/s.xml"
    cat >"$d/AndroidManifest.xml" <<XML
<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="$1" android:versionCode="$2" android:versionName="$3">
  <uses-sdk android:minSdkVersion="26" android:targetSdkVersion="33"/>
  <uses-permission android:name="android.permission.CAMERA"/><uses-permission android:name="android.permission.INTERNET"/>
  <application android:label="@string/l"/>
</manifest>
XML
    aapt package -f -M "$d/AndroidManifest.xml" -S "$d/res" -I "$FW" -F "$d/u.apk" >/dev/null
    mkdir -p "$(dirname "$4")"
    apksigner sign --ks "$WORK/ks.jks" --ks-pass pass:testpass --min-sdk-version 26 --out "$4" "$d/u.apk"
}
build_apk org.corp.mail 41 4.1 "$M/data/app/~~AbC==/org.corp.mail-XyZ==/base.apk"
build_apk com.sideload.game 7 0.7 "$M/data/app/~~DeF==/com.sideload.game-UvW==/base.apk"
build_apk org.stray.app 1 1.0 "$M/data/app/org.stray.app-1/base.apk"   # on disk, in no record
cat >"$WORK/packages.xml" <<XML
<packages>
<package name="org.corp.mail" codePath="/data/app/~~AbC==/org.corp.mail-XyZ==" flags="0" ft="18c2a3b4000" it="18c2a3b4000" ut="18c3a3b4000" version="41" userId="10101" installer="com.android.vending">
<perms><item name="android.permission.INTERNET" granted="true" flags="0" /></perms>
</package>
<package name="com.sideload.game" codePath="/data/app/~~DeF==/com.sideload.game-UvW==" flags="0" ft="18c4a3b4000" it="18c4a3b4000" ut="18c4a3b4000" version="7" userId="10102" installer="com.google.android.packageinstaller" />
<package name="com.android.settings" codePath="/system/priv-app/Settings" flags="1" ft="1" it="0" ut="1" version="34" userId="1000" />
<updated-package name="com.android.chrome" codePath="/system/app/Chrome" ft="1" it="1" ut="1" version="500" />
</packages>
XML
python3 "$SRC/tests/tools/abx_write.py" "$WORK/packages.xml" "$M/data/system/packages.xml"
[ "$(head -c 3 "$M/data/system/packages.xml")" = ABX ] || fail "the test's packages.xml is not ABX"
cat >"$WORK/rt.xml" <<XML
<runtime-permissions fingerprint="x"><pkg name="org.corp.mail"><item name="android.permission.CAMERA" granted="true" flags="0" /></pkg>
<pkg name="com.sideload.game"><item name="android.permission.CAMERA" granted="false" flags="0" /></pkg></runtime-permissions>
XML
python3 "$SRC/tests/tools/abx_write.py" "$WORK/rt.xml" "$M/data/system/users/0/runtime-permissions.xml"
echo '<package-restrictions><pkg name="com.android.settings" first-install-time="17f3c1a2b00" /></package-restrictions>' >"$M/data/system/users/0/package-restrictions.xml"
cat >"$M/getprop.txt" <<'TXT'
[ro.build.fingerprint]: [google/husky/husky:14/AP2A.240805.005/12025142:user/release-keys]
[ro.build.version.release]: [14]
[ro.product.manufacturer]: [Google]
[ro.product.model]: [Pixel 8 Pro]
[ro.product.cpu.abi]: [arm64-v8a]
[ro.board.platform]: [zuma]
[persist.sys.multiline]: [first line
second line]
TXT
cat >"$M/dumpsys_package.txt" <<'TXT'
Activity Resolver Table:
  Non-Data Actions:
Packages:
  Package [com.android.chrome] (1a2b3c):
    userId=10150
    pkg=Package{1a2b3c com.android.chrome}
    codePath=/data/app/~~Chr==/com.android.chrome-Abc==
    versionCode=500 minSdk=29 targetSdk=34
    versionName=120.0.6099.43
    flags=[ SYSTEM HAS_CODE ALLOW_CLEAR_USER_DATA UPDATED_SYSTEM_APP ]
    timeStamp=2024-01-10 08:30:00
    firstInstallTime=2023-12-01 09:00:00
    lastUpdateTime=2024-01-10 08:30:05
    installerPackageName=com.android.vending
    requested permissions:
      android.permission.INTERNET
      android.permission.CAMERA
    install permissions:
      android.permission.INTERNET: granted=true
    User 0: ceDataInode=1 installed=true hidden=false
      runtime permissions:
        android.permission.CAMERA: granted=true, flags=[ USER_SET ]

Shared users:
TXT
printf 'package:/data/app/~~AbC==/org.corp.mail-XyZ==/base.apk=org.corp.mail  installer=com.android.vending uid:10101\npackage:/system/priv-app/Settings/Settings.apk=com.android.settings  installer=null uid:1000\n' >"$M/pm_list_packages.txt"

agent inventory apps --android-root "$M" --json >"$WORK/m.jsonl" 2>"$WORK/m.err" || fail "inventory of the modern snapshot: $(cat "$WORK/m.err")"
[ ! -s "$WORK/m.err" ] || fail "a complete snapshot reported missing sources: $(cat "$WORK/m.err")"
app() { jq -c --arg p "$1" "select(.package==\$p) | $2" "$WORK/m.jsonl"; }
hexms() { date -u -d "@$(( 0x$1 / 1000 ))" +%Y-%m-%dT%H:%M:%SZ; } # packages.xml times: hex ms
assert_eq '[41,"4.1","com.android.vending","/data/app/~~AbC==/org.corp.mail-XyZ==/base.apk",false,["android.permission.CAMERA","android.permission.INTERNET"],["android.permission.INTERNET","android.permission.CAMERA"],"'"$(hexms 18c2a3b4000)"'"]' \
    "$(app org.corp.mail '[.version_code,.version_name,.install_source,.apk_path,.is_system,.permissions,.granted_permissions,.first_install_time]')" "org.corp.mail from ABX packages.xml, runtime permissions and its APK"
[ "$(app org.corp.mail '.signer_sha256 | length')" = 1 ] || fail "org.corp.mail signer"
assert_eq '["com.google.android.packageinstaller",[]]' "$(app com.sideload.game '[.install_source,.granted_permissions]')" "a sideloaded app with a denied runtime permission"
assert_eq '[true,"'"$(hexms 17f3c1a2b00)"'"]' "$(app com.android.settings '[.is_system,.first_install_time]')" "a system app's first-install-time from package-restrictions.xml"
assert_eq '[500,"120.0.6099.43",true,true,"2023-12-01T09:00:00Z","2024-01-10T08:30:05Z",["android.permission.INTERNET","android.permission.CAMERA"]]' \
    "$(app com.android.chrome '[.version_code,.version_name,.is_system,.is_updated_system,.first_install_time,.last_update_time,.granted_permissions]')" "an updated system app from packages.xml and dumpsys"
assert_eq '"/data/app/org.stray.app-1/base.apk"' "$(app org.stray.app '.apk_path')" "an APK on disk in no record is still reported"
assert_eq "Android|14|Google|Pixel 8 Pro|arm64-v8a (zuma)" "$(agent inventory device --android-root "$M" --json | jq -r '[.os_name,.os_version,.manufacturer,.model,.cpu] | join("|")')" "device from getprop"
ok "a modern snapshot: ABX packages.xml, runtime permissions, restrictions, dumpsys, pm list, getprop and APKs merged"

# an agent enrolled for that snapshot reports its apps, then the changes
DATA=$WORK/data
start_collector "$DATA"
T=$("$BIN/mtdctl" --server "$URL" --token "$OPERATOR_TOKEN" tenant create snap --json)
ADMIN=$(jq -r .admin_token <<<"$T")
agent enroll --state "$WORK/agent" --server "$URL" --token "$(jq -r .enroll_token <<<"$T")" --android-root "$M" >/dev/null
agent run --state "$WORK/agent" --once >/dev/null
ctl() { "$BIN/mtdctl" --server "$URL" --token "$ADMIN" "$@"; }
assert_eq "com.android.chrome com.android.settings com.sideload.game org.corp.mail org.stray.app" \
    "$(ctl apps --json | jq -r '[.apps[].package] | sort | join(" ")')" "apps reported from the snapshot"
assert_eq "Android 14 Pixel 8 Pro" "$(ctl devices --json | jq -r '.devices[0] | "\(.os_name) \(.os_version) \(.model)"')" "device reported from the snapshot"
assert_eq "com.sideload.game" "$(ctl apps --sideloaded --json | jq -r '[.apps[].package] | join(" ")')" "sideloaded apps in the fleet report: installed by no trusted store (org.stray.app has no recorded installer: not sideloaded, as the agent judges it)"
# org.corp.mail is updated to 42, the stray app is removed
build_apk org.corp.mail 42 4.2 "$M/data/app/~~AbC==/org.corp.mail-XyZ==/base.apk"
rm -r "$M/data/app/org.stray.app-1"
sleep 1 # the lifecycle events carry a later second than the first inventory
agent run --state "$WORK/agent" --once >/dev/null
assert_eq "4.2" "$(ctl apps --package org.corp.mail --json | jq -r '.apps[0].version_name')" "current version after the update"
assert_eq "" "$(ctl apps --package org.stray.app --json | jq -r '.apps[].package')" "removed app is no longer current"
curl -s -H "Authorization: Bearer $ADMIN" "$URL/v1/admin/apps/history" >"$WORK/h.json"
assert_eq "org.corp.mail update 4.1 4.2|org.stray.app remove 1.0 null" \
    "$(jq -r '[.["app.lifecycle"][] | "\(.package) \(.action) \(.old_version) \(.new_version)"] | join("|")' "$WORK/h.json")" "app history"
agent run --state "$WORK/agent" --once >/dev/null
assert_eq 2 "$(jq '.["app.lifecycle"] | length' <(curl -s -H "Authorization: Bearer $ADMIN" "$URL/v1/admin/apps/history"))" "no new events when nothing changed"
assert_eq "$(jq -S . "$WORK/h.json")" "$(ctl apps history --json | jq -S .)" "mtdctl apps history --json is the route's answer"
ctl apps history >"$WORK/h.txt"
grep -q "org.corp.mail *update *4.1" "$WORK/h.txt" || fail "apps history table lacks the update: $(cat "$WORK/h.txt")"
grep -q "org.stray.app *remove *1.0" "$WORK/h.txt" || fail "apps history table lacks the removal: $(cat "$WORK/h.txt")"
ok "the agent reports the snapshot's apps through the gate, then updates and removals as lifecycle events"

expect_fail "adb-pull without a device" "$BIN/mtd-agent" adb-pull "$WORK/pulled"
grep -q "no Android device is connected" <<<"$LAST_ERR" || fail "$LAST_ERR"
adb kill-server >/dev/null 2>&1 || true # adb devices starts a server: stop it
expect_fail "a snapshot that is not a directory" "$BIN/mtd-agent" inventory apps --android-root /etc/hostname --json
ok "adb-pull and --android-root fail with one clear line"
stop_collector
finish
