#!/usr/bin/env bash
# The APK readers against real APKs (issue 4): every APK of ../shared/data/android
# against the values its origin project asserts (EXPECTED.txt), and APKs built here
# with Debian's aapt and signed with apksigner, each compared field by field with
# `aapt dump badging` and `apksigner verify --print-certs`.
source "$(dirname "$0")/lib.sh"
SHARED=${MTD_SHARED_DATA:-}
inv() { "$BIN/mtd-agent" inventory apps --apk "$1" --json; }

if [ -z "$SHARED" ] || [ ! -d "$SHARED/android" ]; then
    echo "skip: ../shared/data/android is absent: the shared-APK half of this test cannot run"
else
    A=$SHARED/android
    # Values the origin projects assert (EXPECTED.txt); "*" = not asserted there, so
    # Debian's aapt (package, versions, SDKs, permissions) or apksigner (signer) decide;
    # "-" = nobody can say (aapt refuses Janus outright, EXPECTED asserts no SDKs for
    # it): not compared.
    # file|package|versionCode|versionName|minSdk|targetSdk|signer|permissions (MANIFEST-ONLY, in order)
    while IFS='|' read -r f pkg vc vn mn tg signer perms; do
        [ -n "$f" ] || continue
        inv "$A/$f" >"$WORK/o.json" || fail "$f: $(cat "$WORK/o.json")"
        aapt dump badging "$A/$f" >"$WORK/b" 2>/dev/null || true
        oracle() { # field -> aapt's value
            case $1 in
            pkg) sed -n "s/^package: name='\([^']*\)'.*/\1/p" "$WORK/b" ;;
            vc) sed -n "s/^package: .*versionCode='\([^']*\)'.*/\1/p" "$WORK/b" ;;
            vn) sed -n "s/^package: .*versionName='\([^']*\)'.*/\1/p" "$WORK/b" ;;
            mn) sed -n "s/^sdkVersion:'\([^']*\)'/\1/p" "$WORK/b" ;;
            tg) sed -n "s/^targetSdkVersion:'\([^']*\)'/\1/p" "$WORK/b" ;;
            perms) sed -n "s/^uses-permission\(-sdk-23\)\?: name='\([^']*\)'.*/\2/p" "$WORK/b" | awk '!seen[$0]++' | paste -sd, ;;
            signer) apksigner verify --print-certs "$A/$f" 2>/dev/null | sed -n 's/^Signer #1 certificate SHA-256 digest: //p' ;;
            esac
        }
        got=$(jq -r '[.package, (.version_code|tostring), (.version_name // ""), (.min_sdk // "" |tostring), (.target_sdk // "" |tostring), (.signer_sha256[0] // ""), (.permissions|join(","))] | join("|")' "$WORK/o.json")
        IFS='|' read -r g_pkg g_vc g_vn g_mn g_tg g_signer g_perms <<<"$got"
        for k in pkg vc vn mn tg signer perms; do
            [ "${!k}" = "*" ] && printf -v "$k" '%s' "$(oracle $k)"
            g=g_$k
            [ "${!k}" = "-" ] && printf -v "$k" '%s' "${!g}"
        done
        assert_eq "$pkg|$vc|$vn|$mn|$tg|$signer|$perms" "$got" "$f"
        assert_eq "$(stat -c %s "$A/$f")" "$(jq -r .apk_size "$WORK/o.json")" "$f size"
        assert_eq "$(sha256sum "$A/$f" | cut -d' ' -f1)" "$(jq -r .apk_sha256 "$WORK/o.json")" "$f sha256"
    done <<'EXPECTED'
fdroidserver/com.politedroid_3.apk|com.politedroid|3|1.2|3|3|32a23624c201b949f085996ba5ed53d40f703aca4989476949cae891022e0ed6|android.permission.READ_CALENDAR,android.permission.RECEIVE_BOOT_COMPLETED
fdroidserver/com.politedroid_4.apk|com.politedroid|4|1.3|3|3|32a23624c201b949f085996ba5ed53d40f703aca4989476949cae891022e0ed6|android.permission.READ_CALENDAR,android.permission.RECEIVE_BOOT_COMPLETED
fdroidserver/com.politedroid_6.apk|com.politedroid|6|1.5|14|21|32a23624c201b949f085996ba5ed53d40f703aca4989476949cae891022e0ed6|android.permission.READ_CALENDAR,android.permission.RECEIVE_BOOT_COMPLETED
fdroidserver/duplicate.permisssions_9999999.apk|duplicate.permisssions|9999999|*|18|27|1355ae301394f6ce0a21976bacde65d5fbed48b96518121f52f45a31829cee76|android.permission.INTERNET,android.permission.ACCESS_NETWORK_STATE,android.permission.ACCESS_WIFI_STATE,android.permission.CHANGE_WIFI_MULTICAST_STATE,android.permission.REQUEST_IGNORE_BATTERY_OPTIMIZATIONS,android.permission.REQUEST_INSTALL_PACKAGES,android.permission.WRITE_EXTERNAL_STORAGE
fdroidserver/info.zwanenburg.caffeinetile_4.apk|info.zwanenburg.caffeinetile|4|1.3|24|25|51cfa5c8a743833ad89acf81cb755936876a5c8b8eca54d1ffdcec0cdca25d0e|android.permission.WAKE_LOCK
fdroidserver/obb.main.oldversion_1444412523.apk|obb.main.oldversion|1444412523|0.1|4|18|818e469465f96b704e27be2fee4c63ab9f83ddf30e7a34c7371a4728d83b0bc1|android.permission.INTERNET,android.permission.ACCESS_NETWORK_STATE,android.permission.ACCESS_WIFI_STATE,android.permission.CHANGE_WIFI_MULTICAST_STATE,android.permission.CHANGE_NETWORK_STATE,android.permission.CHANGE_WIFI_STATE,android.permission.BLUETOOTH,android.permission.BLUETOOTH_ADMIN,android.permission.RECEIVE_BOOT_COMPLETED,android.permission.WRITE_EXTERNAL_STORAGE,android.permission.WRITE_SETTINGS,android.permission.NFC
fdroidserver/org.maxsdkversion_4.apk|org.maxsdkversion|4|1.0.3|14|19|401a3a5843a3d5cebc22e6de5cb76d08eaa6797122d7fe1283df1d192e132f5e|android.permission.CAMERA
fdroidserver/souch.smsbypass_9.apk|souch.smsbypass|9|0.9|8|18|d3aec784b1fd71549fc22c999789122e3639895db6bd585da5835fbe3db6985c|android.permission.RECEIVE_SMS,android.permission.SEND_SMS,android.permission.READ_CONTACTS,android.permission.WRITE_EXTERNAL_STORAGE,android.permission.VIBRATE
fdroidserver/org.bitbucket.tickytacky.mirrormirror_4.apk|org.bitbucket.tickytacky.mirrormirror|4|1.0.3|14|*|feaa63df35b4635cf091513dfcd6d11209632555efdfc47e33b70d4e4eb5ba28|android.permission.CAMERA
fdroidserver/org.dyndns.fules.ck_20.apk|org.dyndns.fules.ck|20|v1.6pre2|7|*|*|android.permission.BIND_INPUT_METHOD,android.permission.READ_EXTERNAL_STORAGE,android.permission.VIBRATE
fdroidserver/issue-1128-poc2.apk|android.appsecurity.cts.tinyapp|10|1.0|29|*|*|
fdroidserver/janus.apk|com.example|1|1.0|-|-|ebb0fedf1942a099b287c3db00ff732162152481abb2b6c7cbcdb2ba5894a768|android.permission.INTERNET,android.permission.ACCESS_FINE_LOCATION,android.permission.ACCESS_NETWORK_STATE,android.permission.WRITE_EXTERNAL_STORAGE,android.permission.CALL_PHONE,android.permission.CAMERA
androguard/TestActivity.apk|tests.androguard|1|1.0|9|16|*|
androguard/AndroidManifest_ShortName.apk|com.android.galaxy4|1|1.0|14|14|*|
EXPECTED
    ok "14 shared APKs: package, version, SDKs, signer, permissions, size and SHA-256 as their projects assert"

    # a2dp.Vol: androguard asserts the permission set (set equality)
    inv "$A/androguard/a2dp.Vol_137.apk" | jq -r '.permissions[]' | sort >"$WORK/perms"
    for p in RECEIVE_BOOT_COMPLETED CHANGE_WIFI_STATE ACCESS_WIFI_STATE KILL_BACKGROUND_PROCESSES BLUETOOTH BLUETOOTH_ADMIN RECEIVE_SMS MODIFY_AUDIO_SETTINGS READ_CONTACTS ACCESS_COARSE_LOCATION ACCESS_FINE_LOCATION ACCESS_LOCATION_EXTRA_COMMANDS WRITE_EXTERNAL_STORAGE READ_PHONE_STATE BROADCAST_STICKY GET_ACCOUNTS; do echo "android.permission.$p"; done >"$WORK/want"
    echo com.android.launcher.permission.READ_SETTINGS >>"$WORK/want"
    assert_eq "$(sort "$WORK/want" | tr '\n' ' ')" "$(tr '\n' ' ' <"$WORK/perms")" "a2dp.Vol permission set"

    # Janus is flagged, and nothing else is
    for f in "$A"/fdroidserver/*.apk "$A"/androguard/*.apk; do
        an=$(inv "$f" | jq -r '.zip_anomalies | join(",")')
        case "$f" in
        */janus.apk) assert_eq prefix_data "$an" "Janus (CVE-2017-13156) flagged" ;;
        */issue-1128-poc2.apk) assert_eq duplicate_signing_block "$an" "signer-confusion PoC flagged" ;;
        *) assert_eq "" "$an" "$(basename "$f") has no container anomaly" ;;
        esac
    done
    assert_eq true "$(inv "$A/fdroidserver/issue-1128-poc2.apk" | jq -r .signature_verified)" "the PoC's first (Android's) v3 block verifies"
    ok "Janus and the signing-block confusion PoC are flagged; no other shared APK is"
fi

# APKs built here: random names, versions, permission sets, a versionName that is a
# resource reference, unicode labels; signed v1+v2+v3; compared with aapt and apksigner
FW=/usr/share/android-framework-res/framework-res.apk
keytool -genkeypair -keystore "$WORK/ks.jks" -storepass testpass -keypass testpass -alias k \
    -keyalg RSA -keysize 2048 -validity 30 -dname "CN=openmtd test" >/dev/null 2>&1 || fail "keytool"
for i in $(seq 1 8); do
    d=$WORK/app$i; mkdir -p "$d/res/values"
    pkg="org.openmtd.t$RANDOM.app$i"; vc=$((RANDOM * 7 + i)); vn="$i.$RANDOM-β"
    perms=""
    for p in CAMERA INTERNET READ_SMS ACCESS_FINE_LOCATION; do [ $((RANDOM % 2)) = 0 ] && perms="$perms <uses-permission android:name=\"android.permission.$p\"/>"; done
    [ $((i % 2)) = 0 ] && perms="$perms <uses-permission-sdk-23 android:name=\"android.permission.READ_CONTACTS\"/>"
    perms="$perms <permission android:name=\"$pkg.permission.OWN\"/> <uses-permission android:name=\"$pkg.permission.OWN\"/>"
    if [ $((i % 2)) = 1 ]; then vattr='@string/ver'; else vattr=$vn; fi
    cat >"$d/res/values/strings.xml" <<XML
<?xml version="1.0" encoding="utf-8"?>
<resources><string name="ver">$vn</string><string name="label">Привет 日本 ✓ $i</string></resources>
XML
    cat >"$d/AndroidManifest.xml" <<XML
<?xml version="1.0" encoding="utf-8"?>
<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="$pkg"
    android:versionCode="$vc" android:versionName="$vattr">
  <uses-sdk android:minSdkVersion="$((14 + i))" android:targetSdkVersion="$((24 + i))"/>
  $perms
  <application android:label="@string/label"/>
</manifest>
XML
    aapt package -f -M "$d/AndroidManifest.xml" -S "$d/res" -I "$FW" -F "$d/u.apk" >/dev/null 2>"$d/aapt.err" || fail "aapt: $(cat "$d/aapt.err")"
    apksigner sign --ks "$WORK/ks.jks" --ks-pass pass:testpass --v1-signing-enabled true --v2-signing-enabled true \
        --v3-signing-enabled true --min-sdk-version 24 --out "$d/s.apk" "$d/u.apk" 2>"$d/sign.err" || fail "apksigner: $(cat "$d/sign.err")"
    inv "$d/s.apk" >"$d/o.json" || fail "inventory of built APK $i: $(cat "$d/o.json")"
    aapt dump badging "$d/s.apk" >"$d/badging" 2>/dev/null
    b_pkg=$(sed -n "s/^package: name='\([^']*\)'.*/\1/p" "$d/badging")
    b_vc=$(sed -n "s/^package: .*versionCode='\([^']*\)'.*/\1/p" "$d/badging")
    b_vn=$(sed -n "s/^package: .*versionName='\([^']*\)'.*/\1/p" "$d/badging")
    b_min=$(sed -n "s/^sdkVersion:'\([^']*\)'/\1/p" "$d/badging")
    b_tgt=$(sed -n "s/^targetSdkVersion:'\([^']*\)'/\1/p" "$d/badging")
    b_perms=$(sed -n "s/^uses-permission\(-sdk-23\)\?: name='\([^']*\)'.*/\2/p" "$d/badging" | paste -sd,)
    assert_eq "$b_pkg|$b_vc|$b_vn|$b_min|$b_tgt|$b_perms" \
        "$(jq -r '[.package, (.version_code|tostring), .version_name, (.min_sdk|tostring), (.target_sdk|tostring), (.permissions|join(","))] | join("|")' "$d/o.json")" \
        "built APK $i against aapt dump badging"
    apksigner verify --min-sdk-version 18 --print-certs -v "$d/s.apk" >"$d/verify" 2>&1 || fail "apksigner verify: $(cat "$d/verify")"
    s_cert=$(sed -n 's/^Signer #1 certificate SHA-256 digest: //p' "$d/verify")
    s_schemes=$(for v in 1 2 3; do grep -q "Verified using v$v scheme.*: true" "$d/verify" && printf 'v%s,' $v; done)
    assert_eq "${s_schemes%,}|$s_cert|true" "$(jq -r '[(.signature_schemes|join(",")), .signer_sha256[0], (.signature_verified|tostring)] | join("|")' "$d/o.json")" \
        "built APK $i against apksigner verify"
    # a tampered copy: one byte of the signed content changed, v2/v3 must fail
    cp "$d/s.apk" "$d/t.apk"; printf 'X' | dd of="$d/t.apk" bs=1 seek=40 conv=notrunc 2>/dev/null
    tv=$(inv "$d/t.apk" 2>/dev/null | jq -r '.signature_verified' || echo unreadable)
    [ "$tv" = false ] || [ "$tv" = unreadable ] || fail "tampered APK $i: signature_verified=$tv"
done
ok "8 APKs built by aapt and signed by apksigner agree field by field with aapt dump badging and apksigner verify"

expect_fail "a file that is not an APK" "$BIN/mtd-agent" inventory apps --apk /etc/hostname --json
grep -q "/etc/hostname" <<<"$LAST_ERR" || fail "$LAST_ERR"
expect_fail "a missing APK" "$BIN/mtd-agent" inventory apps --apk "$WORK/none.apk" --json
ok "bad input: one clear line naming the file"
finish
