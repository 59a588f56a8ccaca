#!/usr/bin/env bash
# The app scanner (issue 16) through `mtd-agent scan`, on APKs built here by aapt and
# signed by apksigner: one fixture per indicator type (APK SHA-256, entry SHA-256,
# signer certificate, package and version range, file path) in plain lists and STIX
# bundles, one per heuristic, a YARA rule matching a marker inside a dex (made by
# tests/tools/mkdex.py and checked by dexdump), the time and size limits, the shared
# APKs (janus.apk flagged), the mvt bundles' counts, and bad files named by line.
source "$(dirname "$0")/lib.sh"
SRC=${MTD_SRC:?}
SHARED=${MTD_SHARED_DATA:-}
scan() { "$BIN/mtd-agent" scan "$@"; }
# "rule@file" of every finding, sorted: what the scan found where
found() { jq -r '"\(.rule)@\(.path | split("/") | last)"' | sort | paste -sd' '; }
# check FILE SELECT COND [jq args...]: some finding matches SELECT and every such one COND
check() { local f=$1 sel=$2 cond=$3; shift 3; jq -s -e "$@" "[.[] | select($sel)] | length > 0 and all(.[]; $cond)" "$f" >/dev/null; }

source "$(dirname "$0")/apks.sh"

python3 "$SRC/tests/tools/mkdex.py" "$WORK/marker.dex" OPENMTD-TEST-MARKER Lcom/x/Main\;
python3 "$SRC/tests/tools/mkdex.py" "$WORK/plain.dex" Lcom/y/Main\; hello
python3 "$SRC/tests/tools/mkdex.py" "$WORK/evil.dex" Lcom/evil/Payload\; steal
for x in marker plain evil; do
    dexdump -f "$WORK/$x.dex" >/dev/null 2>"$WORK/dexdump.err" || fail "dexdump refuses $x.dex: $(cat "$WORK/dexdump.err")"
done
head -c 4096 /dev/urandom >"$WORK/libnative.so"
head -c 8192 /dev/urandom >"$WORK/libevil.so"
echo "notes" >"$WORK/note.txt"

ACC='<service android:name=".A" android:permission="android.permission.BIND_ACCESSIBILITY_SERVICE"/>'
ADMIN='<receiver android:name=".D" android:permission="android.permission.BIND_DEVICE_ADMIN"/>'
perm() { for p in "$@"; do printf '<uses-permission android:name="android.permission.%s"/>' "$p"; done; }

build clean org.t.clean 1 a "$(perm INTERNET CAMERA)" classes.dex="$WORK/plain.dex" lib/arm64-v8a/libnative.so="$WORK/libnative.so"
build byhash org.t.byhash 1 a "" classes.dex="$WORK/plain.dex"
build byentry org.t.byentry 1 a "" classes.dex="$WORK/evil.dex"
build bydex2 org.t.bydex2 1 a "" classes.dex="$WORK/plain.dex" classes2.dex="$WORK/evil.dex"
build bylib org.t.bylib 1 a "" classes.dex="$WORK/plain.dex" lib/armeabi-v7a/libevil.so="$WORK/libevil.so"
build bycert org.t.bycert 1 b ""
build bypkg com.t.bypkg 15 a ""
build marked org.t.marked 1 a "" classes.dex="$WORK/marker.dex"
build smsacc org.t.smsacc 1 a "$(perm READ_SMS SEND_SMS)<application>$ACC</application>"
build smsadmin org.t.smsadmin 1 a "$(perm RECEIVE_SMS SEND_SMS)<application>$ADMIN</application>"
build overlay org.t.overlay 1 a "$(perm SYSTEM_ALERT_WINDOW)<application>$ACC</application>"
build dropper org.t.dropper 1 a "$(perm REQUEST_INSTALL_PACKAGES)<application>$ACC</application>"
build debug org.t.debug 1 a '<application android:debuggable="true"/>'
build testonly org.t.testonly 1 a '<application android:testOnly="true"/>'
build game org.t.game 1 a "<application android:appCategory=\"game\">$ACC</application>"
build social org.t.social 1 a "<application android:appCategory=\"social\">$ADMIN</application>"
build prod org.t.prod 1 a "<application android:appCategory=\"productivity\">$ACC</application>"
build v1 org.t.swap 1 a ""
build v2 org.t.swap 2 b ""
build v3 org.t.keep 1 a ""
build v4 org.t.keep 2 a ""
build tamper org.t.tamper 1 a "" assets/note.txt="$WORK/note.txt"
# the tampered copy: one byte of the stored-or-deflated asset's data changed after signing
python3 - "$WORK/tamper.apk" <<'PY'
import sys, zipfile
p = sys.argv[1]
with zipfile.ZipFile(p) as z:
    i = z.getinfo("assets/note.txt")
data = bytearray(open(p, "rb").read())
name_len, extra_len = int.from_bytes(data[i.header_offset + 26:i.header_offset + 28], "little"), int.from_bytes(data[i.header_offset + 28:i.header_offset + 30], "little")
off = i.header_offset + 30 + name_len + extra_len
data[off] ^= 0x01
open(p, "wb").write(bytes(data))
PY
# Janus: a dex before a v1-signed ZIP, every offset moved by its length (as the PoC
# does; a v1 signature does not cover the bytes before the ZIP, so it still holds)
apksigner sign --ks "$WORK/a.jks" --ks-pass pass:testpass --v1-signing-enabled true --v2-signing-enabled false \
    --v3-signing-enabled false --min-sdk-version 14 --out "$WORK/jbase.apk" "$WORK/src/v3/u.apk" || fail "apksigner v1"
python3 - "$WORK/jbase.apk" "$WORK/marker.dex" "$WORK/janus_built.apk" <<'PY'
import struct, sys
apk, dex, out = sys.argv[1:4]
z, d = bytearray(open(apk, "rb").read()), open(dex, "rb").read()
eocd = z.rfind(b"PK\x05\x06")
n, cd_size, cd_off = struct.unpack_from("<HII", z, eocd + 10)
p = cd_off
for _ in range(n):
    struct.pack_into("<I", z, p + 42, struct.unpack_from("<I", z, p + 42)[0] + len(d))
    p += 46 + sum(struct.unpack_from("<HHH", z, p + 28))
struct.pack_into("<I", z, eocd + 16, cd_off + len(d))
open(out, "wb").write(d + z)
PY
# duplicate entries: a second AndroidManifest.xml appended by Python's zipfile
cp "$WORK/clean.apk" "$WORK/dup.apk"
python3 -W ignore - "$WORK/dup.apk" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "a") as z:
    z.writestr("classes.dex", b"dex\n035\0second")
PY

H_BYHASH=$(sha256sum "$WORK/byhash.apk" | cut -d' ' -f1)
H_EVIL=$(sha256sum "$WORK/evil.dex" | cut -d' ' -f1)
H_LIB=$(sha256sum "$WORK/libevil.so" | cut -d' ' -f1)
C_B=$(cert_of "$WORK/bycert.apk")
[ ${#C_B} = 64 ] || fail "apksigner gave no certificate digest"
C_B_COLONS=$(echo "$C_B" | tr a-f A-F | sed 's/../&:/g; s/:$//')
cat >"$WORK/list.txt" <<EOF
# a tenant's own list
$H_BYHASH Test.ByHash
sha256:$H_EVIL   Test.EvilDex
cert:$C_B_COLONS Test.StolenKey
package:com.t.bypkg@10-19 Test.BadVersions
$H_LIB Test.EvilLib
EOF
cat >"$WORK/rules.yar" <<'EOF'
rule Marker {
  meta:
    threat_name = "Test.DexMarker"
    category = "spyware"
    severity = "critical"
  strings:
    $m = "OPENMTD-TEST-MARKER"
  condition:
    $m
}
rule NativeLib { condition: entry_name matches /^lib\/.*\.so$/ and package == "org.t.clean" and filesize == 4096 }
EOF
ALL=(clean byhash byentry bydex2 bylib bycert bypkg marked smsacc smsadmin overlay dropper debug testonly game social prod v1 v2 v3 v4 tamper janus_built dup)
scan --indicators "$WORK/list.txt" --rules "$WORK/rules.yar" --json $(for a in "${ALL[@]}"; do echo "$WORK/$a.apk"; done) >"$WORK/all.jsonl" || fail "scan: exit $?"
want="heur.apk.duplicate_entry@dup.apk heur.apk.janus@janus_built.apk heur.apk.signature_invalid@tamper.apk"
want="$want heur.debuggable@debug.apk heur.perm.installer_accessibility@dropper.apk heur.perm.overlay_accessibility@overlay.apk"
want="$want heur.perm.sms_accessibility@smsacc.apk heur.perm.sms_device_admin@smsadmin.apk heur.signer_change@v2.apk"
want="$want heur.test_only@testonly.apk heur.unneeded_accessibility@game.apk heur.unneeded_device_admin@social.apk"
want="$want ioc.apk_sha256@byhash.apk ioc.entry_sha256@bydex2.apk ioc.entry_sha256@byentry.apk ioc.entry_sha256@bylib.apk ioc.package@bypkg.apk ioc.signer@bycert.apk"
want="$want ioc.signer@v2.apk yara.rules.yar.Marker@marked.apk yara.rules.yar.NativeLib@clean.apk yara.rules.yar.NativeLib@dup.apk"
assert_eq "$want" "$(found <"$WORK/all.jsonl")" "findings over the built APKs"
ok "each indicator type, each heuristic and the YARA rules find their fixture and nothing else"

# the keys of the contract, and what each finding says
check "$WORK/all.jsonl" '.rule=="ioc.apk_sha256"' '.package=="org.t.byhash" and .threat_name=="Test.ByHash" and .category=="malware" and .severity=="high" and (.evidence|test("list.txt:2"))' || fail "APK hash finding: $(grep apk_sha256 "$WORK/all.jsonl")"
check "$WORK/all.jsonl" '.rule=="ioc.entry_sha256" and .package=="org.t.byentry"' '.threat_name=="Test.EvilDex" and (.evidence|test("entry classes.dex ")) and (.evidence|test("list.txt:3"))' || fail "entry hash finding"
check "$WORK/all.jsonl" '.rule=="ioc.entry_sha256" and .package=="org.t.bydex2"' '.threat_name=="Test.EvilDex" and (.evidence|test("entry classes2.dex "))' || fail "classes2.dex hash finding: $(grep bydex2 "$WORK/all.jsonl")"
check "$WORK/all.jsonl" '.rule=="ioc.entry_sha256" and .package=="org.t.bylib"' '.threat_name=="Test.EvilLib" and (.evidence|test("entry lib/armeabi-v7a/libevil.so ")) and (.evidence|test("list.txt:6"))' || fail "native library hash finding: $(grep bylib "$WORK/all.jsonl")"
check "$WORK/all.jsonl" '.rule=="ioc.signer" and .package=="org.t.bycert"' '.threat_name=="Test.StolenKey" and (.evidence|contains($c))' --arg c "$C_B" || fail "signer finding"
check "$WORK/all.jsonl" '.rule=="ioc.package"' '.threat_name=="Test.BadVersions" and (.evidence|test("version 15"))' || fail "package finding"
check "$WORK/all.jsonl" '.rule=="yara.rules.yar.Marker" and .package=="org.t.marked"' '.threat_name=="Test.DexMarker" and .category=="spyware" and .severity=="critical" and (.evidence|test("entry classes.dex"))' || fail "YARA finding: $(grep Marker "$WORK/all.jsonl")"
check "$WORK/all.jsonl" '.rule=="heur.signer_change"' '.package=="org.t.swap" and (.evidence|test("version 1 .*v1.apk"))' || fail "signer change finding"
check "$WORK/all.jsonl" '.rule=="heur.unneeded_accessibility"' '(.evidence|test("appCategory=\"game\""))' || fail "category finding"
bad=$(jq -r 'select((keys_unsorted[0:6] | join(",")) != "path,package,threat_name,category,severity,evidence")' "$WORK/all.jsonl")
[ -z "$bad" ] || fail "a finding without the contract's keys: $bad"
leak=$(jq -c '. as $f | select($f.package and ($f.evidence | contains($f.package)))' "$WORK/all.jsonl")
[ -z "$leak" ] || fail "evidence names the package: $leak"
ok "findings carry the contract's keys, the threat named by the list or rule, and evidence that never names the package"

# STIX 2.1: the same indicators as a bundle
cat >"$WORK/b.json" <<EOF
{"type": "bundle", "id": "bundle--5b1", "objects": [
 {"type": "malware", "id": "malware--1", "name": "Test.Family", "is_family": true, "malware_types": ["spyware"]},
 {"type": "indicator", "id": "indicator--1", "spec_version": "2.1", "pattern_type": "stix",
  "pattern": "[file:hashes.'SHA-256' = '$H_BYHASH'] OR [file:hashes.'SHA-256' = '$H_EVIL']"},
 {"type": "indicator", "id": "indicator--2", "spec_version": "2.1", "pattern_type": "stix",
  "pattern": "[x509-certificate:hashes.'SHA-256' = '$C_B']"},
 {"type": "indicator", "id": "indicator--3", "spec_version": "2.1", "pattern_type": "stix",
  "pattern": "[app:id = 'com.t.bypkg' AND app:version_code >= 10 AND app:version_code <= 19]"},
 {"type": "indicator", "id": "indicator--4", "spec_version": "2.1", "pattern_type": "stix",
  "pattern": "[app:id = 'com.t.bypkg' AND app:version_code > 15]"},
 {"type": "relationship", "id": "relationship--1", "relationship_type": "indicates", "source_ref": "indicator--1", "target_ref": "malware--1"}
]}
EOF
scan --no-heuristics --indicators "$WORK/b.json" --json "$WORK/byhash.apk" "$WORK/byentry.apk" "$WORK/bycert.apk" "$WORK/bypkg.apk" "$WORK/clean.apk" >"$WORK/stix.jsonl"
assert_eq "ioc.apk_sha256@byhash.apk ioc.entry_sha256@byentry.apk ioc.package@bypkg.apk ioc.signer@bycert.apk" "$(found <"$WORK/stix.jsonl")" "STIX findings"
assert_eq "Test.Family|spyware|b.json indicator--1" "$(jq -r 'select(.rule=="ioc.apk_sha256") | "\(.threat_name)|\(.category)|\(.evidence | capture("\\((?<o>[^)]*)\\)$").o)"' "$WORK/stix.jsonl")" "STIX threat name from the malware it indicates"
ok "a STIX 2.1 bundle finds the same: file and certificate hashes, app:id with a version range"

# an Android snapshot: install sources, file path indicators
R=$WORK/root; mkdir -p "$R/data/system" "$R/data/app/org.t.clean-1" "$R/data/app/org.t.debug-1" "$R/data/local/tmp/wd"
cp "$WORK/clean.apk" "$R/data/app/org.t.clean-1/base.apk"; cp "$WORK/debug.apk" "$R/data/app/org.t.debug-1/base.apk"
echo x >"$R/data/local/tmp/wd/fs.db"
cat >"$R/data/system/packages.xml" <<XML
<packages>
<package name="org.t.clean" codePath="/data/app/org.t.clean-1" version="1" userId="10101" installer="com.android.vending" />
<package name="org.t.debug" codePath="/data/app/org.t.debug-1" version="1" userId="10102" installer="org.shady.market" />
<package name="com.t.bypkg" codePath="/data/app/com.t.bypkg-1" version="12" userId="10103" installer="com.sec.android.app.samsungapps" />
</packages>
XML
cat >"$WORK/paths.json" <<'EOF'
{"type": "bundle", "id": "bundle--p", "objects": [
 {"type": "indicator", "id": "indicator--p1", "pattern_type": "stix", "pattern": "[file:path = '/data/local/tmp/wd/fs.db']", "name": "Test.Dropped"},
 {"type": "indicator", "id": "indicator--p2", "pattern_type": "stix", "pattern": "[file:path = '/data/local/tmp/absent']"}]}
EOF
scan --android-root "$R" --indicators "$WORK/list.txt" --indicators "$WORK/paths.json" --json >"$WORK/root.jsonl"
assert_eq "heur.debuggable@base.apk heur.sideloaded@base.apk ioc.file_path@fs.db ioc.package@com.t.bypkg-1" "$(found <"$WORK/root.jsonl")" "snapshot findings"
check "$WORK/root.jsonl" '.rule=="heur.sideloaded"' '.package=="org.t.debug" and (.evidence|test("installed by org.shady.market"))' || fail "sideloaded finding"
check "$WORK/root.jsonl" '.rule=="ioc.package"' '.package=="com.t.bypkg" and (.evidence|test("version 12"))' || fail "a record without its APK is still checked"
# the trusted stores given replace the defaults (Google Play and the OEM stores)
scan --android-root "$R" --trusted-store org.shady.market --trusted-store com.android.vending --json | found >"$WORK/trusted"
assert_eq "heur.debuggable@base.apk heur.sideloaded@com.t.bypkg-1" "$(cat "$WORK/trusted")" "with org.shady.market and Play trusted"
ok "a snapshot: sideloaded by the install source, trusted stores as given, records without APKs, file path indicators"

# limits: YARA's time, and an entry larger than 32 MiB decompressed
head -c $((33 << 20)) /dev/zero >"$WORK/big.bin"
build big org.t.big 1 a "" assets/big.bin="$WORK/big.bin"
printf 'rule Big { condition: entry_name == "assets/big.bin" }\n' >"$WORK/big.yar"
scan --no-heuristics --rules "$WORK/big.yar" --stats --json "$WORK/big.apk" >"$WORK/big.jsonl" 2>"$WORK/big.err"
assert_eq "" "$(cat "$WORK/big.jsonl")" "an entry over the size limit is not scanned"
grep -q "1 entries over a limit" "$WORK/big.err" || fail "size limit not reported: $(cat "$WORK/big.err")"
head -c $((24 << 20)) /dev/urandom >"$WORK/slow.bin"
build slow org.t.slow 1 a "" assets/slow.bin="$WORK/slow.bin"
printf 'rule Slow { condition: for all i in (0..filesize - 1) : (for all j in (0..15) : (uint8(i) == uint8(i))) }\n' >"$WORK/slow.yar"
t0=$(date +%s)
scan --no-heuristics --rules "$WORK/slow.yar" --timeout 1 --stats --json "$WORK/slow.apk" >"$WORK/slow.jsonl" 2>"$WORK/slow.err"
[ $(( $(date +%s) - t0 )) -le 10 ] || fail "the time limit did not stop the scan"
grep -q "1 APKs out of time" "$WORK/slow.err" || fail "time limit not reported: $(cat "$WORK/slow.err")"
ok "YARA's time limit and the per-entry size limit hold and are reported"

# bad files: one line naming the file and the line; exit non-zero before any scan
printf '%s\nnot a hash or package!\n' "$H_BYHASH" >"$WORK/bad.txt"
expect_fail "malformed indicator list" scan --indicators "$WORK/bad.txt" --json "$WORK/clean.apk"
assert_eq "mtd-agent: $WORK/bad.txt:2: \"not\" is not a SHA-256, certificate digest or package name" "$LAST_ERR" "bad list"
sed 's/\[app:id = .com.t.bypkg. AND app:version_code > 15\]/[app:id = 15/' "$WORK/b.json" >"$WORK/badb.json"
expect_fail "malformed STIX pattern" scan --indicators "$WORK/badb.json" --json "$WORK/clean.apk"
assert_eq "mtd-agent: $WORK/badb.json:9: indicator--4: pattern: expected ] at column 13" "$LAST_ERR" "bad pattern"
printf 'rule A {\n  strings:\n    $a = "x"\n  condition:\n    $a and\n}\n' >"$WORK/bad.yar"
expect_fail "malformed YARA file" scan --rules "$WORK/bad.yar" --json "$WORK/clean.apk"
case "$LAST_ERR" in "mtd-agent: $WORK/bad.yar:6: syntax error"*) ;; *) fail "bad rule file: $LAST_ERR" ;; esac
printf 'include "/etc/passwd"\n' >"$WORK/inc.yar"
expect_fail "YARA include" scan --rules "$WORK/inc.yar" --json "$WORK/clean.apk"
assert_eq "mtd-agent: $WORK/inc.yar:1: includes are disabled" "$LAST_ERR" "include refused"
printf 'rule M {\n  meta:\n    severity = "extreme"\n  condition:\n    true\n}\n' >"$WORK/meta.yar"
expect_fail "bad severity meta" scan --rules "$WORK/meta.yar" --json "$WORK/clean.apk"
assert_eq "mtd-agent: $WORK/meta.yar:1: rule M: meta severity must be a string: one of info, low, medium, high, critical" "$LAST_ERR" "bad meta"
expect_fail "not an APK" scan --json "$WORK/clean.apk" /etc/hostname
grep -q "/etc/hostname" <<<"$LAST_ERR" || fail "$LAST_ERR"
ok "a bad list, pattern, rule file, include or meta is refused naming file and line; an unreadable APK is named"

if [ -z "$SHARED" ] || [ ! -d "$SHARED/android" ]; then
    echo "skip: ../shared/data is absent: the shared-APK and mvt half of this test cannot run"
else
    A=$SHARED/android
    scan --json "$A"/fdroidserver "$A"/androguard >"$WORK/shared.jsonl" || fail "scan of the shared APKs"
    assert_eq "heur.apk.janus@janus.apk" "$(jq -r 'select(.rule | startswith("heur.apk.") and . != "heur.apk.duplicate_signing_block")' "$WORK/shared.jsonl" | found)" "container anomalies"
    assert_eq "heur.apk.duplicate_signing_block@issue-1128-poc2.apk" "$(jq -c 'select(.rule == "heur.apk.duplicate_signing_block")' "$WORK/shared.jsonl" | found)" "the signer-confusion PoC"
    # debuggable: exactly the APKs aapt calls debuggable (janus.apk: aapt refuses it; its
    # manifest says android:debuggable, as zipfile + aapt over a clean copy confirm)
    want=$(for f in "$A"/fdroidserver/*.apk "$A"/androguard/*.apk; do
        aapt dump badging "$f" 2>/dev/null | grep -q application-debuggable && echo "heur.debuggable@$(basename "$f")"
    done; echo heur.debuggable@janus.apk)
    assert_eq "$(echo "$want" | sort | paste -sd' ')" "$(jq -c 'select(.rule == "heur.debuggable")' "$WORK/shared.jsonl" | found)" "debuggable as aapt says"
    assert_eq 0 "$(jq -c 'select(.rule | startswith("heur.debuggable") or startswith("heur.apk.") | not)' "$WORK/shared.jsonl" | wc -l)" "no other finding on the shared APKs"
    ok "janus.apk is flagged as Janus; no other shared APK has a container anomaly but the signing-block PoC"

    scan --stats --indicators "$SHARED/mvt/stix2/cytrox.stix2" --indicators "$SHARED/mvt/stix2/638cd3ee5e5f019f84f9e0ea.json" \
        --json "$WORK/clean.apk" >/dev/null 2>"$WORK/mvt.err"
    grep -qF "cytrox.stix2: 343 indicators: 0 SHA-256, 0 certificate, 0 package, 6 file path; 0 revoked, expired or benign; 337 not for apps (336 domain-name, 1 configuration-profile)" "$WORK/mvt.err" || fail "cytrox: $(cat "$WORK/mvt.err")"
    grep -qF "638cd3ee5e5f019f84f9e0ea.json: 69 indicators: 0 SHA-256, 0 certificate, 0 package, 0 file path; 0 revoked, expired or benign; 69 not for apps (54 url, 15 domain-name)" "$WORK/mvt.err" || fail "638cd: $(cat "$WORK/mvt.err")"
    ok "the mvt STIX bundles load with the counts their SOURCES.md gives"
fi
finish
