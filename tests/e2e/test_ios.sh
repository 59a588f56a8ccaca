#!/usr/bin/env bash
# iOS devices (issue 19): the real backup of ../shared/data/mvt/ios_backup read for its
# device and apps, in binary and XML form; an ios-pull snapshot made here (ideviceinfo
# values with a Wi-Fi MAC, a backup with a Manifest.plist naming app versions); clear
# one-line errors for a malformed plist and a truncated Manifest.db; and an agent
# enrolled for the real backup, reported beside a host agent, with nothing of the
# backup's raw identifiers anywhere the collector stores data.
source "$(dirname "$0")/lib.sh"
SHARED=${MTD_SHARED_DATA:-}
agent() { "$BIN/mtd-agent" "$@"; }

# an ios-pull snapshot, made here: no shared data needed
P=$WORK/pull; U=00008030-001A2B3C4D5E6F70; mkdir -p "$P/backup/$U"
cat >"$P/ideviceinfo.plist" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict>
<key>ProductType</key><string>iPhone14,5</string><key>ProductVersion</key><string>17.4.1</string>
<key>BuildVersion</key><string>21E236</string><key>CPUArchitecture</key><string>arm64e</string>
<key>WiFiAddress</key><string>A4:C3:F0:12:34:56</string><key>SerialNumber</key><string>SNPULL0000X1</string>
<key>UniqueDeviceID</key><string>00008030-001A2B3C4D5E6F70</string><key>PhoneNumber</key><string>+41 79 555 01 23</string>
<key>InternationalMobileEquipmentIdentity</key><string>356789012345678</string>
</dict></plist>
XML
cat >"$P/backup/$U/Manifest.plist" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict><key>IsEncrypted</key><false/>
<key>Applications</key><dict>
 <key>com.example.mail</key><dict><key>CFBundleIdentifier</key><string>com.example.mail</string><key>CFBundleVersion</key><string>512</string><key>CFBundleShortVersionString</key><string>5.1.2</string></dict>
 <key>org.example.notes</key><dict><key>CFBundleVersion</key><string>88</string></dict>
</dict>
<key>Lockdown</key><dict><key>ProductType</key><string>iPhone14,5</string><key>SerialNumber</key><string>SNPULL0000X1</string></dict>
</dict></plist>
XML
agent inventory device --ios-backup "$P" --json >"$WORK/pd.json" 2>"$WORK/pd.err"
assert_eq "iOS|17.4.1|Apple|iPhone 13|iPhone14,5|Apple A15 Bionic|21E236|mac" \
    "$(jq -r '[.os_name,.os_version,.manufacturer,.model,.model_id,.cpu,.build,.device_id_source] | join("|")' "$WORK/pd.json")" \
    "device of an ios-pull snapshot"
assert_eq "Info.plist, Manifest.db" "$(jq -r .missing "$WORK/pd.json")" "what the snapshot lacks, said"
agent inventory apps --ios-backup "$P" --json >"$WORK/pa.jsonl" 2>/dev/null
assert_eq "com.example.mail=5.1.2 org.example.notes=88" \
    "$(jq -r '"\(.package)=\(.version_name)"' "$WORK/pa.jsonl" | paste -sd' ')" "apps of Manifest.plist with their versions"
ok "an ios-pull snapshot: lockdown values, marketing name, Wi-Fi MAC as the identifier source, app versions"

# ios-pull with no device attached: one line, and nothing created
expect_fail "ios-pull without a device" agent ios-pull "$WORK/nodevice"
assert_eq "mtd-agent: ios-pull: no iOS device is connected (idevice_id -l lists none; connect it by USB, unlock it and trust this computer)" \
    "$LAST_ERR" "ios-pull with no device"
[ ! -e "$WORK/nodevice" ] || fail "ios-pull created $WORK/nodevice without a device"
expect_fail "ios-pull without a directory" agent ios-pull
assert_eq "mtd-agent: ios-pull needs the snapshot directory to create" "$LAST_ERR" "ios-pull usage"
ok "ios-pull with no iOS device attached: one clear line, nothing created"

# bad input: one clear line each
B=$WORK/bad; mkdir -p "$B"
printf 'bplist00\x01\x02garbage' >"$B/Info.plist"
expect_fail "malformed Info.plist" agent inventory device --ios-backup "$B" --json
assert_eq "mtd-agent: $B/Info.plist: not a valid property list (neither binary bplist00 nor XML)" "$LAST_ERR" "malformed plist error"
printf '<?xml version="1.0"?><plist version="1.0"><dict><key>Product Type</key><string>iPhone9,3' >"$B/Info.plist"
expect_fail "truncated XML Info.plist" agent inventory apps --ios-backup "$B" --json
assert_eq "mtd-agent: $B/Info.plist: not a valid property list (neither binary bplist00 nor XML)" "$LAST_ERR" "truncated XML plist error"
printf '<?xml version="1.0"?><plist version="1.0"><array><string>x</string></array></plist>' >"$B/Info.plist"
expect_fail "Info.plist not a dictionary" agent inventory device --ios-backup "$B" --json
assert_eq "mtd-agent: $B/Info.plist: the property list is not a dictionary" "$LAST_ERR" "plist of the wrong shape"
python3 -c 'import plistlib,sys; sys.stdout.buffer.write(plistlib.dumps({"Product\x00Type": "iPhone9,3"}, fmt=plistlib.FMT_BINARY))' >"$B/Info.plist"
expect_fail "binary plist with a NUL in a key" agent inventory device --ios-backup "$B" --json
assert_eq "mtd-agent: $B/Info.plist: property list holds a NUL byte inside a string" "$LAST_ERR" "NUL in a binary plist key (libplist would abort)"
rm "$B/Info.plist"
expect_fail "empty directory" agent inventory device --ios-backup "$B" --json
assert_eq "mtd-agent: --ios-backup $B: not an iOS backup (no Info.plist, Manifest.plist or Manifest.db, nor an ios-pull snapshot)" "$LAST_ERR" "not a backup"
expect_fail "not a directory" agent inventory apps --ios-backup "$B/none" --json
assert_eq "mtd-agent: --ios-backup $B/none: not a directory" "$LAST_ERR" "no such directory"
echo "not sqlite at all, but long enough to be read as a header of one ........................." >"$B/Manifest.db"
expect_fail "Manifest.db not a database" agent inventory device --ios-backup "$B" --json
assert_eq "mtd-agent: $B/Manifest.db: file is not a database (truncated or damaged)" "$LAST_ERR" "garbage Manifest.db"
ok "malformed, truncated and misshapen plists, a garbage Manifest.db, no backup: one line each"

if [ -z "$SHARED" ] || [ ! -d "$SHARED/mvt/ios_backup" ]; then
    echo "skip: ../shared/data/mvt/ios_backup is absent: the real-backup half of this test cannot run"
    finish
    exit 0
fi
R=$SHARED/mvt/ios_backup
agent inventory device --ios-backup "$R" --json >"$WORK/d.json"
assert_eq "iOS|14.3|Apple|iPhone 7|iPhone9,3|Apple A10 Fusion|18C66|guid" \
    "$(jq -r '[.os_name,.os_version,.manufacturer,.model,.model_id,.cpu,.build,.device_id_source] | join("|")' "$WORK/d.json")" \
    "device of the real backup"
agent inventory apps --ios-backup "$R" --json >"$WORK/a.jsonl" 2>"$WORK/a.err"
assert_eq "ch.icoaching.typewise com.google.Gmail com.google.chrome.ios net.whatsapp.WhatsApp org.mozilla.ios.Firefox ph.telegra.Telegraph" \
    "$(jq -r .package "$WORK/a.jsonl" | paste -sd' ')" "the six apps of the real backup"
assert_eq "null false" "$(jq -r '"\(.version_name) \(.is_system)"' "$WORK/a.jsonl" | sort -u)" "no versions invented where the backup has none"
grep -q "Manifest.plist" "$WORK/a.err" || fail "the missing Manifest.plist is not reported: $(cat "$WORK/a.err")"

# the same backup with its Info.plist as XML
X=$WORK/xml; mkdir -p "$X"
plistutil -i "$R/Info.plist" -o "$X/Info.plist" -f xml
ln -s "$R/Manifest.db" "$X/Manifest.db"
head -c 5 "$X/Info.plist" | grep -q '<?xml' || fail "plistutil did not write XML"
agent inventory device --ios-backup "$X" --json | jq -c 'del(.time)' >"$WORK/dx.json"
assert_eq "$(jq -c 'del(.time)' "$WORK/d.json")" "$(cat "$WORK/dx.json")" "the XML Info.plist reads as the binary one"
assert_eq "$(cat "$WORK/a.jsonl")" "$(agent inventory apps --ios-backup "$X" --json 2>/dev/null)" "apps of the XML Info.plist"

# a truncated Manifest.db
rm "$X/Manifest.db"; head -c 1000000 "$R/Manifest.db" >"$X/Manifest.db"
expect_fail "truncated Manifest.db" agent inventory device --ios-backup "$X" --json
assert_eq "mtd-agent: $X/Manifest.db: database disk image is malformed (truncated or damaged)" "$LAST_ERR" "truncated Manifest.db"
ok "the real backup (binary and XML Info.plist): iOS 14.3, iPhone 7 (iPhone9,3), build 18C66, six apps; a truncated Manifest.db refused"

# enrolled and reported, beside a host agent
start_collector "$WORK/data"
T=$("$BIN/mtdctl" --server "$URL" --token "$OPERATOR_TOKEN" tenant create ios --json)
ADMIN=$(jq -r .admin_token <<<"$T")
ENR=$(jq -r .enroll_token <<<"$T")
ctl() { "$BIN/mtdctl" --server "$URL" --token "$ADMIN" "$@"; }
agent enroll --state "$WORK/phone" --server "$URL" --token "$ENR" --user ios.user@example.org \
    --ios-backup "$R" >"$WORK/enroll.out"
grep -q "(identifier from guid)" "$WORK/enroll.out" || fail "the backup has no Wi-Fi MAC: a GUID is expected: $(cat "$WORK/enroll.out")"
agent run --state "$WORK/phone" --once >/dev/null
agent enroll --state "$WORK/host" --server "$URL" --token "$ENR" >/dev/null
agent run --state "$WORK/host" --once >/dev/null
ctl devices --json >"$WORK/devs.json"
assert_eq 2 "$(jq '.devices | length' "$WORK/devs.json")" "two devices"
assert_eq "iOS 14.3 Apple iPhone 7 iPhone9,3 18C66" \
    "$(jq -r '.devices[] | select(.os_name=="iOS") | "\(.os_name) \(.os_version) \(.manufacturer) \(.model) \(.model_id) \(.build)"' "$WORK/devs.json")" \
    "the iOS device in the devices report"
IOSDEV=$(jq -r '.devices[] | select(.os_name=="iOS") | .device_id' "$WORK/devs.json")
assert_eq "ch.icoaching.typewise com.google.Gmail com.google.chrome.ios net.whatsapp.WhatsApp org.mozilla.ios.Firefox ph.telegra.Telegraph" \
    "$(ctl apps --device "$IOSDEV" --json | jq -r '[.apps[].package] | sort | join(" ")')" "its six apps in the apps report"
ctl devices >"$WORK/devs.txt"
grep -q "iPhone 7" "$WORK/devs.txt" || fail "mtdctl devices does not show the iPhone: $(cat "$WORK/devs.txt")"
# its posture by mtd-agent run: iOS 14.3 is out of security support (posture's table)
assert_eq "iOS release out of security support|os|high|device" \
    "$(ctl threats --device "$IOSDEV" --status active --json | jq -r '.threats[] | [.threat_name,.category,.severity,.source] | join("|")')" \
    "the iPhone's posture finding in the threats report"
assert_eq high "$(ctl risk "$IOSDEV" --json | jq -r .risk)" "the iPhone's risk"
ok "enroll --ios-backup: the iPhone and its six apps reported beside the host, its posture setting its risk"

# the ios-pull snapshot, enrolled: its identifier is the Wi-Fi MAC's pseudonym
agent enroll --state "$WORK/pulled" --server "$URL" --token "$ENR" --ios-backup "$P" >"$WORK/enroll2.out"
grep -q "(identifier from mac)" "$WORK/enroll2.out" || fail "expected the Wi-Fi MAC as identifier: $(cat "$WORK/enroll2.out")"
agent run --state "$WORK/pulled" --once >/dev/null
assert_eq "mac" "$(ctl devices --json | jq -r '.devices[] | select(.model=="iPhone 13") | .device_id_source')" "identifier source of the pulled iPhone"
stop_collector

# nothing of the raw identifiers in any file the collector stores, nor in the ledgers
for v in F1234567890 1CB128EAFA77C5BE74283E9A3A2130AF36A3C059 63847829383904849 DDDDDDDDDD \
         SNPULL0000X1 00008030-001A2B3C4D5E6F70 "+41 79 555 01 23" 356789012345678 A4:C3:F0:12:34:56; do
    if grep -r -a -i -l -F -- "$v" "$WORK/data" "$WORK/phone/ledger.jsonl" "$WORK/pulled/ledger.jsonl" >"$WORK/hits"; then
        fail "raw identifier $v found in: $(cat "$WORK/hits")"
    fi
done
[ -s "$WORK/phone/ledger.jsonl" ] || fail "the phone's ledger is empty: the grep above proved nothing"
grep -q -a "iPhone9,3" "$WORK"/data/tenants/*/store.sqlite* || fail "the store does not hold the iPhone's data: the grep above proved nothing"
ok "serial number, UDID, ICCID, IMEI, GUID, phone number and Wi-Fi MAC: in no file of the collector's data, nor in the ledgers"

agent privacy statement --format md >"$WORK/statement.md"
grep -q "serial number, UDID, IMEI, ICCID or phone number" "$WORK/statement.md" ||
    fail "the privacy statement does not say the phone's raw identifiers are never sent"
ok "the privacy statement says so"
finish
