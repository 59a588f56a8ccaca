#!/usr/bin/env bash
# Identities (issue 13, items 5, 11 and 12): a UPN is normalized (Unicode NFC, then
# lowercase) before it is pseudonymized, on the agent and on the collector, so a
# data-subject request finds the user however the name is typed; a pseudonym made by an
# older agent from the name as typed is still found under that spelling; a name that
# is no UPN is refused; enrolling again keeps or explicitly replaces the stored user.
source "$(dirname "$0")/lib.sh"

DATA=$WORK/data
start_collector "$DATA"
new_tenant Acme
KEY=$(cat "$DATA/tenants/$T/tenant.key")
# pseudo PURPOSE VALUE: the pseudonym by an independent HMAC (openssl)
pseudo() { printf '%s\0%s' "$1" "$2" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$KEY" -binary | head -c 16 | base64 | tr '+/' '-_' | tr -d '=\n' | sed 's/^/ps_/'; }
enroll() { "$BIN/mtd-agent" enroll --state "$WORK/$1" --server "$URL" --token "$ENR" "${@:2}"; }

enroll a1 --user "Demo.User@Example.COM" >/dev/null
assert_eq "$(pseudo upn demo.user@example.com)" "$(jq -r .upn "$WORK/a1/agent.json")" "the agent's UPN pseudonym is that of the normal form"
"$BIN/mtd-agent" run --state "$WORK/a1" --once --no-upload >/dev/null
"$BIN/mtd-agent" run --state "$WORK/a1" --once >/dev/null
DEV1=$(jq -r .device_id "$WORK/a1/agent.json")
for u in demo.user@example.com Demo.User@Example.com DEMO.USER@EXAMPLE.COM; do
    assert_eq "$DEV1" "$(ctl --token "$ADMIN" user export "$u" --json | jq -r '[.devices[].device_id] | join(" ")')" "user export $u"
done
# NFC: "José" typed composed finds the one enrolled decomposed (e + U+0301). This host is
# one device: a second state directory enrolls it only after the first's credential is
# revoked (issue 14.3)
ctl --token "$ADMIN" credential revoke "$(ctl --token "$ADMIN" --json credential list --device "$DEV1" | jq -r '.credentials[] | select(.revoked_at == null) | .id')" >/dev/null
enroll a2 --user "$(printf 'Jose\xcc\x81@example.com')" >/dev/null
"$BIN/mtd-agent" run --state "$WORK/a2" --once >/dev/null
DEV2=$(jq -r .device_id "$WORK/a2/agent.json")
assert_eq "$DEV2" "$(ctl --token "$ADMIN" user export "$(printf 'JOS\xc3\x89@example.com')" --json | jq -r '[.devices[].device_id] | join(" ")')" "user export of the composed, uppercase form"
ok "a UPN is found however it is typed: case and Unicode composition do not matter"

# item 8: the audit log says who did what to which device
CID=$(tr -d '\n' <"$WORK/a1/credential" | sha256sum | cut -c1-12)
ENRID=$(printf '%s' "$ENR" | sha256sum | cut -c1-12)
ctl --token "$ADMIN" audit --json >"$WORK/audit.json"
# (the credential is bound at enrollment, issue 14.3: device.enroll names the device)
assert_eq "enroll:$ENRID $DEV1 credential $CID issued (new) by token $ENRID" \
    "$(jq -r --arg c "$CID" '.audit[] | select(.action == "device.enroll" and (.detail | contains($c))) | "\(.actor) \(.device_id) \(.detail)"' "$WORK/audit.json")" "device.enroll names the enrollment token, the device an admin can look up and the credential"
assert_eq "none" "$(ctl --token "$ADMIN" risk "$DEV1" --json | jq -r .risk)" "the device named by the audit log is one risk knows"
ctl --token "$ADMIN" user export demo.user@example.com --json >"$WORK/exp.json"
RID=$(jq -r .request_id "$WORK/exp.json")
NREC=$(jq '[.events[] | length] | add' "$WORK/exp.json")
# (a1 and a2 run on this one host: one device, now under a2's user; demo.user keeps its events)
NDEV=$(jq '.devices | length' "$WORK/exp.json"); [ "$NDEV" = 1 ] && DEVW=device || DEVW=devices
ctl --token "$ADMIN" apps --device "$DEV1" >/dev/null
ctl --token "$ADMIN" audit --json >"$WORK/audit.json"
assert_eq "request $RID: exported $NDEV $DEVW and $NREC event records of one user" \
    "$(jq -r '[.audit[] | select(.action == "user.export")] | last | .detail' "$WORK/audit.json")" "user.export has a detail"
assert_eq "$DEV1 limit=1000 offset=0" "$(jq -r '[.audit[] | select(.action == "report.apps")] | last | "\(.device_id) \(.detail)"' "$WORK/audit.json")" "a report names its device and page"
ctl --token "$ADMIN" audit | head -1 | grep -q "DEVICE" || fail "the audit table has no DEVICE column"
S=$DATA/tenants/$T/store.sqlite
sqlite3 "$S" "update audit set detail = 'x' where id = 1" 2>/dev/null && fail "the audit log allowed an edit"
sqlite3 "$S" "update audit set device_id = 'ps_forged' where id = 1" 2>/dev/null && fail "the audit log allowed a forged device"
ok "the audit log: enrollment by token and credential, the bound device, a user export's request, a report's device"

# a device enrolled by an older agent carries the pseudonym of the UPN as the MDM gave it
OLD=$(pseudo upn Old.User@Example.com)
CRED=$(curl -s -X POST -H "Authorization: Bearer $ENR" -d "{\"device_id\":\"ps_OLDOLDOLDOLDOLDOLDOLDO\",\"upn\":\"$OLD\"}" "$URL/v1/enroll" | jq -r .device_credential)
printf '{"event":"usage.action","schema":1,"event_id":"ev00000000000000000001","time":"2026-11-24T10:00:00Z","tenant_id":"%s","device_id":"ps_OLDOLDOLDOLDOLDOLDOLDO","upn":"%s","action":"enroll"}\n' "$T" "$OLD" |
    zstd -q -c | curl -s -o /dev/null -X POST -H "Authorization: Bearer $CRED" -H 'Content-Type: application/x-ndjson' -H 'Idempotency-Key: old-agent-0001' --data-binary @- "$URL/v1/batches"
ctl --token "$ADMIN" user export Old.User@Example.com --json >"$WORK/old.json"
assert_eq "ps_OLDOLDOLDOLDOLDOLDOLDO 1" "$(jq -r '"\([.devices[].device_id] | join(" ")) \(.events["usage.action"] | length)"' "$WORK/old.json")" "an older agent's device, found under the UPN as it was typed"
assert_eq "$(pseudo upn old.user@example.com)" "$(jq -r .upn "$WORK/old.json")" "the export names the normal form's pseudonym"
# the limit, said honestly: under another spelling the old pseudonym cannot be found
assert_eq 0 "$(ctl --token "$ADMIN" user export old.user@example.com --json | jq '.devices | length')" "an older pseudonym under another spelling"
ctl --token "$ADMIN" user delete OLD.USER@example.com >/dev/null
assert_eq 1 "$(ctl --token "$ADMIN" user export Old.User@Example.com --json | jq '.devices | length')" "delete under another spelling leaves the older pseudonym"
ctl --token "$ADMIN" user delete Old.User@Example.com >/dev/null
assert_eq 0 "$(ctl --token "$ADMIN" user export Old.User@Example.com --json | jq '.devices | length')" "delete under the spelling of the older agent"
ok "a pseudonym made before normalization is found and deleted under the UPN as it was typed"

# item 11: a UPN that is no UPN, refused by the agent and the collector
for u in "" "$(printf 'a@b\nc')" 'a"b@c' "o'brien@c" "a b@c" nobody; do
    expect_fail "enroll --user [$u]" enroll bad --user "$u"
    case $LAST_ERR in "mtd-agent: enroll --user: a user principal name "*) ;; *) fail "enroll --user [$u]: $LAST_ERR" ;; esac
done
[ ! -e "$WORK/bad" ] || fail "a refused enrollment left a state directory"
expect_fail "enroll --device-id ''" enroll bad --device-id ""
assert_eq 400 "$(http_status POST /v1/admin/users/export "$ADMIN" -d '{"upn":"a\nb@c"}')" "user export of a UPN with a newline"
assert_eq "upn: a user principal name may not hold a control character (a newline, a tab...)" "$(jq -r .detail "$WORK/body")" "why"
ok "an empty UPN, one with a newline, quotes or spaces, or without a domain is refused"

# item 12: enrolling again over an enrolled state directory (a2, which holds this host's
# live credential: it presents it, and the collector replaces it)
JOSE=$(pseudo upn "$(printf 'jos\xc3\xa9@example.com')")
enroll a2 >"$WORK/re.out" 2>"$WORK/re.err"
grep -qx "mtd-agent: warning: $WORK/a2 is already enrolled (tenant $T, device $DEV2); enrolling again" "$WORK/re.err" || fail "re-enroll warning: $(cat "$WORK/re.err")"
grep -qx "mtd-agent: kept the stored user" "$WORK/re.err" || fail "re-enroll: $(cat "$WORK/re.err")"
assert_eq "$JOSE $DEV2" "$(jq -r '"\(.upn) \(.device_id)"' "$WORK/a2/agent.json")" "user and device kept"
expect_fail "re-enroll as another user" enroll a2 --user someone.else@example.com
grep -q "is enrolled for another user; add --replace-user" <<<"$LAST_ERR" || fail "re-enroll as another user: $LAST_ERR"
enroll a2 --user "$(printf 'JOS\xc3\x89@example.com')" >/dev/null 2>&1 || fail "re-enroll as the same user, spelled otherwise"
enroll a2 --user someone.else@example.com --replace-user >/dev/null 2>"$WORK/re.err"
grep -qx "mtd-agent: replaced the stored user" "$WORK/re.err" || fail "replace: $(cat "$WORK/re.err")"
assert_eq "$(pseudo upn someone.else@example.com) $DEV2" "$(jq -r '"\(.upn) \(.device_id)"' "$WORK/a2/agent.json")" "user replaced, device kept"
assert_eq 1 "$(ctl --token "$ADMIN" --json credential list --device "$DEV2" | jq '[.credentials[] | select(.revoked_at == null)] | length')" "live credentials of the device"
# a1's credential was revoked: without the live one, the device is not enrolled again
! enroll a1 >/dev/null 2>"$WORK/re.err" || fail "a1 enrolled again without the live credential"
tail -n 1 "$WORK/re.err" | grep -q "^mtd-agent: enroll: HTTP 409: device_enrolled: device $DEV1 is enrolled already: an admin must revoke its credential first" || fail "a1: $(cat "$WORK/re.err")"
ok "enrolling again warns, keeps the stored user, and replaces it only with --replace-user"

# a user's deletion erases the device from the audit entries about it, and only that
# (a2 holds the device's live credential; a1's was revoked above)
"$BIN/mtd-agent" run --state "$WORK/a2" --once >/dev/null
[ "$(jq --arg d "$DEV1" '[.audit[] | select(.device_id == $d)] | length' <(ctl --token "$ADMIN" audit --json))" -ge 3 ] || fail "entries about device 1"
ctl --token "$ADMIN" user delete demo.user@example.com >/dev/null
ctl --token "$ADMIN" user delete someone.else@example.com >/dev/null
ctl --token "$ADMIN" audit --json >"$WORK/audit.json"
assert_eq 0 "$(jq --arg d "$DEV1" '[.audit[] | select(.device_id == $d)] | length' "$WORK/audit.json")" "entries naming the deleted device"
assert_eq 1 "$(jq '[.audit[] | select(.action == "device.enroll" and .device_id == null)] | length >= 1' "$WORK/audit.json" | grep -c true)" "the entries stay"
grep -qaF "$DEV1" "$DATA/tenants/$T/"* && fail "a file of the tenant still holds the deleted device's pseudonym"
ok "a user's deletion erases their devices from the audit log's entries, which stay"

stop_collector
finish
