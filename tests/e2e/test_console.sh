#!/usr/bin/env bash
# The admin console (issue 23): the collector's /console route (security headers on
# every answer, content types, caching, gzip, no way out of the console's directory),
# then the console itself in Debian's Chromium driven by playwright-core
# (console/test/console.test.mjs) against a tenant with two devices: this machine's
# agent, enrolled and run for real, and a phone posted by hand whose package name,
# model and feedback comment are markup. Screenshots go to BUILD/test-artifacts/console.
source "$(dirname "$0")/lib.sh"
BUILD=${MTD_BUILD:?MTD_BUILD must point to the build directory}
SRC=${MTD_SRC:?}
[ -f "$BUILD/console/index.html" ] || fail "the console is not built ($BUILD/console/index.html missing)"
[ -d "$SRC/console/node_modules/playwright-core" ] || fail "console/node_modules lacks playwright-core (npm ci in console/)"
[ -x /usr/bin/chromium ] || fail "Debian's chromium is not installed (scripts/install-deps)"

# the console's files, with a symbolic link to a secret beside them: never followed
CON=$WORK/console
cp -r "$BUILD/console" "$CON"
DATA=$WORK/data
mkdir -p "$DATA"
echo "not for the web" >"$WORK/secret.txt"
ln -s "$WORK/secret.txt" "$CON/secret.txt"
ln -s "$WORK" "$CON/outside"

expect_fail "a --console directory that does not exist" "$BIN/mtd-collector" --data "$DATA" --listen 127.0.0.1:0 --console "$WORK/nope"
case "$LAST_ERR" in *"--console"*"$WORK/nope"*) ;; *) fail "missing console dir: $LAST_ERR" ;; esac
start_collector "$DATA" --console "$CON"
ok "the collector refuses a --console directory that does not exist, and starts with one"

# --- the route ----------------------------------------------------------------------
hdr() { curl -s --path-as-is -D "$WORK/h" -o "$WORK/body" -w '%{http_code}' "$@"; }
header() { tr -d '\r' <"$WORK/h" | sed -n "s/^$1: //Ip" | head -1; }
assert_eq 200 "$(hdr "$URL/console/")" "GET /console/"
assert_eq "text/html; charset=utf-8" "$(header Content-Type)" "page type"
CSP=$(header Content-Security-Policy)
for want in "default-src 'none'" "script-src 'self'" "style-src 'self'" "connect-src 'self'" "frame-ancestors 'none'" \
    "base-uri 'none'" "form-action 'none'" "require-trusted-types-for 'script'"; do
    case "$CSP" in *"$want"*) ;; *) fail "the console's CSP lacks $want: $CSP" ;; esac
done
case "$CSP" in *unsafe-*|*data:*|*http*) fail "the console's CSP allows too much: $CSP" ;; esac
assert_eq nosniff "$(header X-Content-Type-Options)" "nosniff"
assert_eq DENY "$(header X-Frame-Options)" "X-Frame-Options"
assert_eq no-referrer "$(header Referrer-Policy)" "Referrer-Policy"
assert_eq same-origin "$(header Cross-Origin-Opener-Policy)" "COOP"
assert_eq no-cache "$(header Cache-Control)" "the page is revalidated"
cmp -s "$WORK/body" "$CON/index.html" || fail "GET /console/ is not index.html"
ETAG=$(header ETag)
[ -n "$ETAG" ] || fail "no ETag on the page"
assert_eq 200 "$(hdr "$URL/console")" "GET /console"
assert_eq 304 "$(hdr -H "If-None-Match: $ETAG" "$URL/console/")" "a current copy"
grep -o 'assets/[A-Za-z0-9_.-]*\.js' "$CON/index.html" | head -1 >"$WORK/js"
JS=$(cat "$WORK/js")
[ -n "$JS" ] || fail "index.html names no script"
grep -q '<script>\|<style\| style=\| on[a-z]*=' "$CON/index.html" && fail "index.html has inline script or style"
assert_eq 200 "$(hdr "$URL/console/$JS")" "the script"
assert_eq "text/javascript; charset=utf-8" "$(header Content-Type)" "script type"
assert_eq "public, max-age=31536000, immutable" "$(header Cache-Control)" "hashed assets are cached for good"
assert_eq "" "$(header Content-Encoding)" "no gzip unless asked"
cmp -s "$WORK/body" "$CON/$JS" || fail "the script differs from its file"
assert_eq 200 "$(hdr -H 'Accept-Encoding: br, gzip;q=0.8' "$URL/console/$JS")" "the script, gzip accepted"
assert_eq gzip "$(header Content-Encoding)" "gzip sent to who accepts it"
assert_eq Accept-Encoding "$(header Vary)" "Vary"
gunzip -c <"$WORK/body" | cmp -s - "$CON/$JS" || fail "the gzip copy is not the script"
assert_eq 200 "$(hdr -H 'Accept-Encoding: gzip;q=0' "$URL/console/$JS")" "gzip refused by q=0"
assert_eq "" "$(header Content-Encoding)" "no gzip at q=0"
CSS=$(grep -o 'assets/[A-Za-z0-9_.-]*\.css' "$CON/index.html" | head -1)
assert_eq 200 "$(hdr "$URL/console/$CSS")" "the stylesheet"
assert_eq "text/css; charset=utf-8" "$(header Content-Type)" "stylesheet type"
assert_eq 200 "$(hdr "$URL/console/favicon.svg")" "the icon"
assert_eq image/svg+xml "$(header Content-Type)" "icon type"
ok "the console's files: types, strict headers, caching, ETag and gzip"

for p in /console/../operator.token /console/%2e%2e/operator.token /console/assets/../../data/operator.token \
    "/console/..%2foperator.token" /console//etc/passwd /console/secret.txt /console/outside/secret.txt \
    /console/outside/data/operator.token /console/index.html.gz "/console/$JS.gz" /console/.. /console/assets/ \
    /consolex /console/INDEX.HTML /console/assets/%2e%2e/index.html; do
    code=$(hdr "$URL$p")
    [ "$code" = 404 ] || fail "GET $p answered $code: $(head -c 200 "$WORK/body")"
    grep -q "not for the web\|op\." "$WORK/body" && fail "GET $p leaked a file"
    case "$(header Content-Security-Policy)" in *"frame-ancestors 'none'"*) ;; *) fail "GET $p: no CSP on the 404" ;; esac
done
ok "no path leaves the console's files: dot segments, encoded dots, symbolic links, gzip copies by name"

assert_eq 405 "$(hdr -X POST "$URL/console/")" "POST /console/"
assert_eq "GET, HEAD" "$(header Allow)" "Allow"
assert_eq 413 "$(hdr -X POST -d x "$URL/console/")" "a body sent to the console"
assert_eq 200 "$(hdr -I "$URL/console/")" "HEAD /console/"
assert_eq 302 "$(hdr "$URL/")" "GET /"
assert_eq /console/ "$(header Location)" "/ leads to the console"
assert_eq 401 "$(hdr "$URL/v1/admin/devices")" "an API answer"
assert_eq "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'" \
    "$(header Content-Security-Policy)" "the API's CSP"
assert_eq no-store "$(header Cache-Control)" "API answers are not cached"
assert_eq nosniff "$(header X-Content-Type-Options)" "nosniff on the API"
ok "security headers on every answer: API, errors, redirects"

# --- a tenant with data ---------------------------------------------------------------
ctl() { "$BIN/mtdctl" --server "$URL" "$@"; }
ctl --token "$OPERATOR_TOKEN" tenant create "Console Test Org" --json >"$WORK/t.json"
T=$(jq -r .tenant_id "$WORK/t.json"); ADMIN=$(jq -r .admin_token "$WORK/t.json"); ENR=$(jq -r .enroll_token "$WORK/t.json")
ANALYST=$(ctl --token "$ADMIN" token create analyst --label "SOC analyst" --json | jq -r .token)
PRIV=$(ctl --token "$ADMIN" token create privacy --label "DPO" --json | jq -r .token)
echo '{"optional_data": true, "report_connections": "threats"}' >"$WORK/p.json"
ctl --token "$ADMIN" policy set "$WORK/p.json" >/dev/null

# this machine's agent, for real
AGENT=$WORK/agent
"$BIN/mtd-agent" enroll --state "$AGENT" --server "$URL" --token "$ENR" --user alice@example.com \
    --device-id dir-device-0001 >/dev/null 2>"$WORK/enroll.err" || fail "enroll: $(cat "$WORK/enroll.err")"
"$BIN/mtd-agent" run --state "$AGENT" --once >/dev/null 2>"$WORK/run.err" || fail "run: $(cat "$WORK/run.err")"
DA=$(ctl --token "$ADMIN" devices --json | jq -r '.devices[0].device_id')
[ -n "$DA" ] && [ "$DA" != null ] || fail "the agent's device is not listed"

# a phone whose strings are markup, posted by hand
DB=ps_HHHHHHHHHHHHHHHHHHHHHH
CRED=$(curl -s -X POST -H "Authorization: Bearer $ENR" -d "{\"device_id\":\"$DB\"}" "$URL/v1/enroll" | jq -r .device_credential)
EVIL_PKG='com.evil"><img src=x onerror=alert(1)>'
EVIL_MODEL='<b>Pwn</b> Phone<script>alert(2)</script>'
EVIL_COMMENT='<img src=x onerror=alert(3)> great app </td></tr><script>alert(4)</script>'
N=0
event() {
    N=$((N + 1))
    jq -cn --arg ev "$1" --arg id "ev$N" --arg t "$T" --arg d "$DB" --argjson f "$2" --arg time "${TIME:-2026-11-30T10:00:00Z}" \
        '{event: $ev, schema: 1, event_id: $id, time: $time, tenant_id: $t, device_id: $d} + $f'
}
{
    event device.info "$(jq -cn --arg m "$EVIL_MODEL" '{os_name: "Android", os_version: "14", manufacturer: "Acme", model: $m, device_id_source: "android_id"}')"
    event app.inventory "$(jq -cn --arg p "$EVIL_PKG" '{package: $p, version_code: 1, version_name: "1.0", install_source: "com.android.chrome", permissions: ["android.permission.READ_SMS"], is_system: false}')"
    event app.inventory '{"package":"com.whatsapp","version_code":241,"version_name":"2.24.1","install_source":"com.android.vending","permissions":["android.permission.CAMERA"],"is_system":false}'
    event threat.detection "$(jq -cn --arg p "$EVIL_PKG" '{threat_name: "Android.Trojan.SMSThief", category: "malware", severity: "high", source: "app", evidence: "sha256 match", status: "active", package: $p, threat_id: "thr-1"}')"
    event threat.detection '{"threat_name":"Adware.Generic","category":"adware","severity":"low","source":"app","evidence":"rule","status":"active","package":"com.whatsapp","threat_id":"thr-2"}'
    TIME=2026-11-30T11:00:00Z event threat.detection '{"threat_name":"Adware.Generic","category":"adware","severity":"low","source":"app","evidence":"app updated","status":"resolved","package":"com.whatsapp","threat_id":"thr-2"}'
    event threat.detection '{"threat_name":"Rooted device","category":"integrity","severity":"medium","source":"device","evidence":"su binary at /system/xbin/su","status":"active","threat_id":"android.su_binary"}'
    event consent.change '{"state":"granted"}'
    event feedback.submission "$(jq -cn --arg c "$EVIL_COMMENT" '{type: "frown", comment: $c, feedback_id: "fb1"}')"
} | zstd -q -c >"$WORK/b.zst"
code=$(curl -s -o "$WORK/body" -w '%{http_code}' -X POST -H "Authorization: Bearer $CRED" -H 'Content-Type: application/x-ndjson' \
    -H 'Idempotency-Key: console-phone-1' --data-binary @"$WORK/b.zst" "$URL/v1/batches")
assert_eq 200 "$code" "the phone's batch ($(cat "$WORK/body"))"
ok "a tenant with this machine's agent and a phone whose package, model and comment are markup"

# --- the new API routes, checked with curl before the browser uses them ---------------
api() { curl -s -o "$WORK/body" -w '%{http_code}' -H "Authorization: Bearer $1" "$URL/v1/admin/$2"; }
assert_eq 200 "$(api "$ANALYST" session)" "session"
assert_eq "analyst $T" "$(jq -r '"\(.role) \(.tenant_id)"' "$WORK/body")" "who the analyst is"
assert_eq 200 "$(api "$ADMIN" 'summary?stale_days=7&days=30')" "summary"
assert_eq "2 1 1 0 0" "$(jq -r '"\(.devices) \(.by_risk.high) \(.by_risk.none) \(.by_risk.low) \(.stale_devices)"' "$WORK/body")" "devices by risk"
assert_eq "1 1" "$(jq -r '"\(.open_threats.high) \(.open_threats.medium)"' "$WORK/body")" "open threats by severity"
assert_eq 400 "$(api "$ADMIN" 'summary?stale_days=0')" "stale_days=0"
assert_eq 200 "$(api "$ADMIN" "devices/$DB")" "one device"
assert_eq "high 1 1 false" "$(jq -r '"\(.risk) \(.credentials_issued) \(.credentials_live) \(.retired)"' "$WORK/body")" "the phone's record"
jq -r '[.lifecycle[] | "\(.event) \(.credential) \(.reason)"] | join(",")' "$WORK/body" >"$WORK/life"
CRED_ID=$(ctl --token "$ADMIN" credential list --device "$DB" --json | jq -r '.credentials[0].id')
assert_eq "enrolled $CRED_ID null" "$(cat "$WORK/life")" "the phone's lifecycle"
assert_eq 404 "$(api "$ADMIN" devices/ps_ZZZZZZZZZZZZZZZZZZZZZZ)" "an unknown device"
assert_eq 200 "$(api "$ADMIN" 'devices?risk=high')" "devices at high risk"
assert_eq "$DB" "$(jq -r '[.devices[].device_id] | join(" ")' "$WORK/body")" "the high-risk device"
assert_eq 400 "$(api "$ADMIN" 'devices?risk=severe')" "risk=severe"
assert_eq 200 "$(api "$ADMIN" 'devices?not_seen_days=1')" "devices not seen for a day"
assert_eq 0 "$(jq '.devices | length' "$WORK/body")" "every device was seen today"
assert_eq 200 "$(api "$ADMIN" 'threats?category=integrity&source=device')" "posture findings"
assert_eq "Rooted device" "$(jq -r '[.threats[].threat_name] | join(",")' "$WORK/body")" "the posture finding"
assert_eq 200 "$(api "$ADMIN" 'threats?severity=low&status=resolved')" "resolved low threats"
assert_eq "Adware.Generic resolved" "$(jq -r '.threats[] | "\(.threat_name) \(.status)"' "$WORK/body")" "the resolved adware"
assert_eq 400 "$(api "$ADMIN" 'threats?category=evil')" "an unknown category"
jq -r .detail "$WORK/body" | grep -q '^category must be one of: malware, phishing' || fail "category error: $(cat "$WORK/body")"
assert_eq 200 "$(api "$ADMIN" 'privacy/statement?format=md')" "the statement"
"$BIN/mtd-agent" privacy statement --state "$AGENT" >"$WORK/agent-statement.md"
cmp -s "$WORK/body" "$WORK/agent-statement.md" || fail "the tenant's statement is not what its agent prints: $(diff "$WORK/body" "$WORK/agent-statement.md" | head -5)"
assert_eq 400 "$(api "$ADMIN" 'privacy/statement?format=pdf')" "an unknown statement format"
note() { curl -s -o "$WORK/body" -w '%{http_code}' -X POST -H "Authorization: Bearer $1" -d "$2" "$URL/v1/admin/threats/notes"; }
assert_eq 201 "$(note "$ADMIN" "{\"device_id\":\"$DA\",\"threat_id\":\"thr-9\",\"note\":\"called alice\"}")" "a note ($(cat "$WORK/body"))"
assert_eq "thr-9 called alice" "$(jq -r '"\(.threat_id) \(.note)"' "$WORK/body")" "the note as stored"
assert_eq 403 "$(note "$ANALYST" "{\"device_id\":\"$DA\",\"threat_id\":\"thr-9\",\"note\":\"x\"}")" "an analyst's note"
assert_eq 403 "$(note "$PRIV" "{\"device_id\":\"$DA\",\"threat_id\":\"thr-9\",\"note\":\"x\"}")" "a privacy officer's note"
assert_eq 404 "$(note "$ADMIN" '{"device_id":"ps_ZZZZZZZZZZZZZZZZZZZZZZ","threat_id":"thr-9","note":"x"}')" "a note on an unknown device"
assert_eq 400 "$(note "$ADMIN" "{\"device_id\":\"$DA\",\"threat_id\":\"thr-9\",\"note\":\"\"}")" "an empty note"
assert_eq 400 "$(note "$ADMIN" "{\"device_id\":\"$DA\",\"threat_id\":\"thr-9\",\"note\":\"a\\u0007b\"}")" "a note with a control character"
assert_eq 400 "$(note "$ADMIN" "{\"device_id\":\"$DA\",\"threat_id\":\"thr-9\",\"note\":\"$(printf 'x%.0s' $(seq 1 1001))\"}")" "a note over 1,000 bytes"
assert_eq 200 "$(api "$ANALYST" "threats/notes?device=$DA")" "an analyst reads notes"
assert_eq "called alice" "$(jq -r '[.notes[].note] | join(",")' "$WORK/body")" "the device's notes"
assert_eq 400 "$(api "$ADMIN" threats/notes)" "notes without a device"
assert_eq 404 "$(api "$ADMIN" threats/notes?device=ps_ZZZZZZZZZZZZZZZZZZZZZZ)" "notes of an unknown device"
ctl --token "$ADMIN" audit --json --all | jq -r '.audit[].action' | sort -u >"$WORK/actions"
for a in report.summary report.device report.statement threat.note report.threat_notes; do grep -qx "$a" "$WORK/actions" || fail "$a not audited"; done
ctl --token "$ADMIN" audit --json --all | jq -e --arg d "$DB" '[.audit[] | select(.action == "report.device" and .device_id == $d)] | length == 1' >/dev/null ||
    fail "the device's record is not audited against it"
ok "session, summary, devices/ID, device and threat filters, the tenant's privacy statement and threat notes"

# --- the browser ----------------------------------------------------------------------
ART=$BUILD/test-artifacts/console
rm -rf "$ART"
mkdir -p "$ART"
export CONSOLE_URL=$URL ADMIN_TOKEN=$ADMIN ANALYST_TOKEN=$ANALYST PRIVACY_TOKEN=$PRIV AGENT_STATE=$AGENT \
    AGENT_BIN=$BIN/mtd-agent DEVICE_AGENT=$DA DEVICE_PHONE=$DB EVIL_PKG EVIL_MODEL EVIL_COMMENT ARTIFACTS=$ART
node "$SRC/console/test/console.test.mjs" || fail "the console test in Chromium failed (screenshots in $ART)"
ok "the console in Chromium (screenshots in $ART)"

# what the browser did, seen from the collector
ctl --token "$ADMIN" audit --json --all >"$WORK/audit.json"
jq -e '[.audit[] | select(.action == "device.retire")] | length == 1' "$WORK/audit.json" >/dev/null || fail "the retirement is not audited once"
jq -e '[.audit[] | select(.action == "policy.set")] | length == 2' "$WORK/audit.json" >/dev/null || fail "the console's policy change is not audited"
jq -e '[.audit[] | select(.action == "threat.note")] | length == 2' "$WORK/audit.json" >/dev/null || fail "the console's note is not audited"
assert_eq 200 "$(api "$ADMIN" "devices/$DA")" "the retired device"
assert_eq "enrolled null,credential revoked retired" "$(jq -r '[.lifecycle[] | "\(.event) \(.reason)"] | join(",")' "$WORK/body")" "the retired device's lifecycle"
ok "the console's retirement, policy change and note are in the audit log"

# --- tenants never see each other's data, through any console route ----------------
ctl --token "$OPERATOR_TOKEN" tenant create "Other Org" --json >"$WORK/t2.json"
T2=$(jq -r .tenant_id "$WORK/t2.json"); ADMIN2=$(jq -r .admin_token "$WORK/t2.json"); ENR2=$(jq -r .enroll_token "$WORK/t2.json")
DC=ps_CCCCCCCCCCCCCCCCCCCCCC
CRED2=$(curl -s -X POST -H "Authorization: Bearer $ENR2" -d "{\"device_id\":\"$DC\"}" "$URL/v1/enroll" | jq -r .device_credential)
{
    T=$T2 DB=$DC event device.info '{"os_name":"Android","os_version":"15","manufacturer":"Other","model":"Phone","device_id_source":"android_id"}'
    T=$T2 DB=$DC event threat.detection '{"threat_name":"Other.Org.Threat","category":"malware","severity":"medium","source":"app","evidence":"x","status":"active","package":"org.other","threat_id":"thr-o"}'
} | zstd -q -c >"$WORK/b2.zst"
code=$(curl -s -o "$WORK/body" -w '%{http_code}' -X POST -H "Authorization: Bearer $CRED2" -H 'Content-Type: application/x-ndjson' \
    -H 'Idempotency-Key: console-other-1' --data-binary @"$WORK/b2.zst" "$URL/v1/batches")
assert_eq 200 "$code" "the other tenant's batch ($(cat "$WORK/body"))"
notes() { sqlite3 "$DATA/tenants/$1/store.sqlite" "SELECT count(*) FROM threat_notes"; }
NOTES_T=$(notes "$T")
# each admin, asked about the other tenant's devices, finds nothing (the answers are
# those for a device that does not exist: no oracle of another tenant's devices), can
# write nothing on them, and sees its own fleet only in the lists and the summary
cross() { # admin token, its own device, the other tenant's devices...
    local tok=$1 own=$2; shift 2
    for d in "$@"; do
        assert_eq 404 "$(api "$tok" "devices/$d")" "another tenant's device $d"
        assert_eq 404 "$(api "$tok" "threats/notes?device=$d")" "notes of another tenant's device $d"
        assert_eq 404 "$(note "$tok" "{\"device_id\":\"$d\",\"threat_id\":\"thr-1\",\"note\":\"x\"}")" "a note on another tenant's device $d"
        assert_eq 404 "$(curl -s -o "$WORK/body" -w '%{http_code}' -X DELETE -H "Authorization: Bearer $tok" "$URL/v1/admin/devices/$d")" "retiring another tenant's device $d"
        for r in threats apps connections apps/history crashes; do # as if it did not exist
            code=$(api "$tok" "$r?device=$d")
            sed "s/$d/DEVICE/g" "$WORK/body" >"$WORK/other"
            assert_eq "$(api "$tok" "$r?device=ps_ZZZZZZZZZZZZZZZZZZZZZZ")" "$code" "$r of another tenant's device $d"
            sed "s/ps_ZZZZZZZZZZZZZZZZZZZZZZ/DEVICE/g" "$WORK/body" | cmp -s - "$WORK/other" ||
                fail "$r of another tenant's device $d differs from an unknown device's: $(cat "$WORK/other")"
            [ "$code" = 404 ] || assert_eq 0 "$(jq '[.[] | arrays | .[]] | length' "$WORK/other")" "rows of $r for $d"
        done
    done
    assert_eq 200 "$(api "$tok" devices)" "devices"
    assert_eq "$own" "$(jq -r '[.devices[].device_id] | sort | join(" ")' "$WORK/body")" "the fleet an admin sees"
    assert_eq 200 "$(api "$tok" 'summary?stale_days=7&days=30')" "summary"
    assert_eq "$(wc -w <<<"$own")" "$(jq -r .devices "$WORK/body")" "devices in the summary"
}
cross "$ADMIN2" "$DC" "$DA" "$DB"
assert_eq 200 "$(api "$ADMIN2" threats)" "the other tenant's threats"
assert_eq "Other.Org.Threat" "$(jq -r '[.threats[].threat_name] | join(",")' "$WORK/body")" "its own threat only"
cross "$ADMIN" "$(printf '%s\n' "$DA" "$DB" | sort | tr '\n' ' ' | sed 's/ $//')" "$DC"
assert_eq "$NOTES_T" "$(notes "$T")" "notes in the first tenant after the other's attempts"
assert_eq 0 "$(notes "$T2")" "notes in the other tenant after the first's attempts"
assert_eq 200 "$(api "$ADMIN" "devices/$DB")" "the phone after the other tenant tried to retire it"
assert_eq "1 false" "$(jq -r '"\(.credentials_live) \(.retired)"' "$WORK/body")" "the phone is not retired"
assert_eq 200 "$(api "$ADMIN2" "devices/$DC")" "the other tenant's device after the first tried to retire it"
assert_eq "1 false" "$(jq -r '"\(.credentials_live) \(.retired)"' "$WORK/body")" "the other tenant's device is not retired"
ok "two tenants' admins: no device, note, threat, app or connection of the other's through any console route, nothing written across"

# deleting a user deletes the notes on the user's devices
ctl --token "$PRIV" user delete alice@example.com >/dev/null
assert_eq 0 "$(sqlite3 "$DATA/tenants/$T/store.sqlite" "SELECT count(*) FROM threat_notes WHERE device_id='$DA'")" "alice's device's notes after her deletion"
assert_eq 1 "$(sqlite3 "$DATA/tenants/$T/store.sqlite" "SELECT count(*) FROM threat_notes WHERE device_id='$DB'")" "the other device's note"
ok "a user's deletion deletes the notes on that user's devices"
finish
