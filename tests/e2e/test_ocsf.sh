#!/usr/bin/env bash
# The OCSF export (issue 13.15) checked against the OCSF required-attribute table
# (tests/data/ocsf-1.3.0-required.json, written from the public OCSF schema): every event
# the exporter can make (ocsf_dump: each event type of the schema, every enum value, only
# the required fields) and every event a real export gives after a real agent reported an
# Android snapshot, a removed app, a blocked URL, consent and feedback. App inventory
# (5020) carries metadata.product.version; devices carry a type_id and their OS's; the
# agent's own usage has a class, and Base Events keep the device under unmapped.
source "$(dirname "$0")/lib.sh"
SRC=${MTD_SRC:?}
TABLE=$SRC/tests/data/ocsf-1.3.0-required.json

# validate FILE WHAT: every line of FILE against the table; prints the class_uids seen
validate() {
    python3 - "$TABLE" "$1" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
base, classes, objects, types = t['base'], t['classes'], t['objects'], t['types']
bad, seen = [], set()
def check_object(path, typ, v):
    if typ not in objects:
        bad.append(f'{path}: object type {typ} is not in the table')
        return
    items = v if isinstance(v, list) else [v]
    for i, o in enumerate(items):
        if not isinstance(o, dict):
            bad.append(f'{path}: a {typ} must be an object, not {o!r}')
            continue
        for r in objects[typ]:
            if r not in o:
                bad.append(f'{path}: {typ} lacks required "{r}"')
        walk(f'{path}[{i}]' if isinstance(v, list) else path, o)
def walk(path, o):
    for k, v in o.items():
        if k in types and isinstance(v, (dict, list)):
            check_object(f'{path}.{k}' if path else k, types[k], v)
        elif k in types:
            bad.append(f'{path}.{k}: a {types[k]} must be an object, not {v!r}')
for n, line in enumerate(open(sys.argv[2]), 1):
    e = json.loads(line)
    where = f'line {n} ({e.get("metadata", {}).get("log_name")}, class {e.get("class_uid")})'
    c = classes.get(str(e.get('class_uid')))
    if c is None:
        bad.append(f'{where}: class_uid {e.get("class_uid")} is not an OCSF {t["version"]} class of the table')
        continue
    seen.add(e['class_uid'])
    for r in base['required'] + c['required']:
        if r not in e:
            bad.append(f'{where}: lacks required "{r}"')
    for k in e:
        if k not in base['attributes'] and k not in c['attributes']:
            bad.append(f'{where}: "{k}" is not an attribute of {c["name"]}')
    if e.get('category_uid') != c['category_uid']:
        bad.append(f'{where}: category_uid {e.get("category_uid")}, expected {c["category_uid"]}')
    if e.get('activity_id') not in c['activity_ids']:
        bad.append(f'{where}: activity_id {e.get("activity_id")} is not one of {c["name"]}')
    if e.get('type_uid') != e.get('class_uid', 0) * 100 + e.get('activity_id', 0):
        bad.append(f'{where}: type_uid {e.get("type_uid")} is not class_uid * 100 + activity_id')
    if e.get('severity_id') not in base['severity_ids']:
        bad.append(f'{where}: severity_id {e.get("severity_id")}')
    if not isinstance(e.get('time'), int):
        bad.append(f'{where}: time must be epoch milliseconds, not {e.get("time")!r}')
    if e.get('metadata', {}).get('version') != t['version']:
        bad.append(f'{where}: metadata.version {e.get("metadata", {}).get("version")!r}, expected {t["version"]}')
    walk('', e)
for b in bad[:40]:
    print(b, file=sys.stderr)
if bad:
    sys.exit(1)
print(' '.join(str(c) for c in sorted(seen)))
PY
}

# 1. every event the exporter can make, for every event type of the schema
"$MTD_BUILD/tests/ocsf_dump" >"$WORK/dump.jsonl"
NTYPES=$("$BIN/mtd-agent" privacy statement --format schema | jq '.events | length')
assert_eq "$NTYPES" "$(jq -r .metadata.log_name "$WORK/dump.jsonl" | sort -u | wc -l)" "event types made by ocsf_dump"
validate "$WORK/dump.jsonl" >"$WORK/classes" || fail "an event the exporter makes lacks what OCSF requires (above)"
ok "all $(wc -l <"$WORK/dump.jsonl") events ocsf_dump makes of the $NTYPES event types meet OCSF 1.3.0's required attributes (classes $(cat "$WORK/classes"))"

# 2. a real export: an Android snapshot with two apps (built with aapt), reported, then
# one app removed
S=$WORK/phone; mkdir -p "$S/data/system"
FW=/usr/share/android-framework-res/framework-res.apk
build_apk() { # package directory
    local d=$WORK/src.$1; mkdir -p "$d/res/values" "$S/data/app/$2"
    echo '<resources><string name="l">L</string></resources>' >"$d/res/values/s.xml"
    printf '<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="%s" android:versionCode="11" android:versionName="1.1"><application android:label="@string/l"/></manifest>\n' "$1" >"$d/AndroidManifest.xml"
    aapt package -f -M "$d/AndroidManifest.xml" -S "$d/res" -I "$FW" -F "$S/data/app/$2/base.apk" >/dev/null
}
build_apk com.politedroid "~~Q1==/com.politedroid-Z9=="
build_apk org.example.note "~~Q2==/org.example.note-Y8=="
cat >"$S/data/system/packages.xml" <<'XML'
<packages>
<package name="com.politedroid" codePath="/data/app/~~Q1==/com.politedroid-Z9==" flags="0" ft="18c2a3b4000" it="18c2a3b4000" ut="18c3a3b4000" version="11" userId="10101" installer="org.fdroid.fdroid" />
<package name="org.example.note" codePath="/data/app/~~Q2==/org.example.note-Y8==" flags="0" ft="18c2a3b4000" it="18c2a3b4000" ut="18c3a3b4000" version="11" userId="10102" installer="org.fdroid.fdroid" />
</packages>
XML
printf '[ro.build.version.release]: [14]\n[ro.product.manufacturer]: [Google]\n[ro.product.model]: [Pixel 8]\n' >"$S/getprop.txt"
start_collector "$WORK/data"
ctl() { "$BIN/mtdctl" --server "$URL" "$@"; }
agent() { "$BIN/mtd-agent" "$@"; }
ctl --token "$OPERATOR_TOKEN" tenant create "OCSF Co" --json >"$WORK/t.json"
ADMIN=$(jq -r .admin_token "$WORK/t.json")
ST=$WORK/agent
agent enroll --state "$ST" --server "$URL" --token "$(jq -r .enroll_token "$WORK/t.json")" --user ocsf.user@ocsfco.example --android-root "$S" >/dev/null
echo '{"optional_data": true, "report_urls": "full"}' >"$WORK/p.json"
ctl --token "$ADMIN" policy set "$WORK/p.json" >/dev/null
agent run --state "$ST" --once >/dev/null
rm -r "$S/data/app/~~Q2==" && sed -i '/org.example.note/d' "$S/data/system/packages.xml"
sleep 1
agent run --state "$ST" --once >/dev/null
printf 'phish.example\n' >"$WORK/feed.txt"
agent url-check --feed "$WORK/feed.txt" --state "$ST" https://phish.example/login --json >/dev/null || true
agent consent grant --state "$ST" >/dev/null
agent feedback --state "$ST" --type idea --comment "export me" --with-diagnostics >/dev/null
agent run --state "$ST" --once >/dev/null
ctl --token "$ADMIN" export --ocsf >"$WORK/export.jsonl"
for ev in device.info app.inventory app.lifecycle usage.agent consent.change feedback.submission diag.bundle; do
    grep -q "\"log_name\":\"$ev\"" "$WORK/export.jsonl" || fail "the export has no $ev event"
done
validate "$WORK/export.jsonl" >"$WORK/classes" || fail "an exported event lacks what OCSF requires (above)"
ok "all $(wc -l <"$WORK/export.jsonl") events of a real export meet OCSF 1.3.0's required attributes (classes $(cat "$WORK/classes"))"

AGENT_VERSION=$(agent --version | awk '{print $2}')
jq -e -s --arg v "$AGENT_VERSION" '[.[] | select(.class_uid == 5020)] | length == 2 and
    all(.metadata.product.version == $v and .package.version == "1.1" and .device.type_id == 5 and .device.os.type_id == 201)' \
    "$WORK/export.jsonl" >/dev/null || fail "app inventory: $(jq -c 'select(.class_uid == 5020) | [.metadata.product, .package, .device]' "$WORK/export.jsonl" | head -2)"
jq -e -s '[.[] | select(.metadata.log_name == "device.info")][0] | .class_uid == 5001 and .device.type_id == 5 and .device.type == "Mobile" and .device.os == {"name": "Android", "version": "14", "type_id": 201}' \
    "$WORK/export.jsonl" >/dev/null || fail "device.info: $(jq -c 'select(.metadata.log_name == "device.info") | .device' "$WORK/export.jsonl" | head -1)"
jq -e -s '[.[] | select(.metadata.log_name == "app.lifecycle")] | length == 1 and .[0].activity_id == 2 and .[0].app.name == "org.example.note"' \
    "$WORK/export.jsonl" >/dev/null || fail "app.lifecycle: $(jq -c 'select(.metadata.log_name == "app.lifecycle")' "$WORK/export.jsonl")"
jq -e -s --arg v "$AGENT_VERSION" '[.[] | select(.metadata.log_name == "usage.agent")][0] | .class_uid == 5001 and .device.agent_list[0].name == "org.openmtd.agent" and .device.agent_list[0].version == $v' \
    "$WORK/export.jsonl" >/dev/null || fail "usage.agent: $(jq -c 'select(.metadata.log_name == "usage.agent")' "$WORK/export.jsonl" | head -1)"
DEV=$(jq -r .device_id "$ST/agent.json")
jq -e -s --arg d "$DEV" '[.[] | select(.class_uid == 0)] | length >= 3 and all(has("device") | not) and all(.unmapped.device_id == $d)' \
    "$WORK/export.jsonl" >/dev/null || fail "Base Events: $(jq -c 'select(.class_uid == 0) | [.metadata.log_name, .device, .unmapped.device_id]' "$WORK/export.jsonl" | head -3)"
ok "app inventory carries the agent version, devices their type and OS type, the agent's version is an inventory of it, Base Events keep the device under unmapped"
stop_collector
finish
