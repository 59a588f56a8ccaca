#!/usr/bin/env bash
# The first end-to-end path (issue 2): a real collector, two tenants, this host's agent
# enrolled in each, one collection uploaded; each admin sees exactly its own device,
# under a pseudonym, and no raw identifier reaches any file of the collector.
source "$(dirname "$0")/lib.sh"

DATA=$WORK/data
start_collector "$DATA"
[ "$(stat -c %a "$DATA/operator.token")" = 600 ] || fail "operator.token is not mode 0600"
ok "collector started at $URL, operator token 0600"

ctl() { "$BIN/mtdctl" --server "$URL" "$@"; }
ctl --token "$OPERATOR_TOKEN" tenant create "Acme Corp" --json >"$WORK/a.json"
ctl --token "$OPERATOR_TOKEN" tenant create "Globex" --json >"$WORK/b.json"
TA=$(jq -r .tenant_id "$WORK/a.json"); TB=$(jq -r .tenant_id "$WORK/b.json")
ADMIN_A=$(jq -r .admin_token "$WORK/a.json"); ADMIN_B=$(jq -r .admin_token "$WORK/b.json")
ENR_A=$(jq -r .enroll_token "$WORK/a.json"); ENR_B=$(jq -r .enroll_token "$WORK/b.json")
[ "$TA" != "$TB" ] || fail "two tenants got the same ID"
assert_eq 2 "$(ctl --token "$OPERATOR_TOKEN" tenant list --json | jq '.tenants | length')" "tenant count"
ok "two tenants created"

UPN_A=alice.smith@acme.example
UPN_B=bob.jones@globex.example
DEVID_A=3f9c2a10-aaaa-4bbb-8ccc-acme00000001
"$BIN/mtd-agent" enroll --state "$WORK/agent-a" --server "$URL" --token "$ENR_A" \
    --user "$UPN_A" --device-id "$DEVID_A" >/dev/null
"$BIN/mtd-agent" enroll --state "$WORK/agent-b" --server "$URL" --token "$ENR_B" --user "$UPN_B" >/dev/null
[ "$(stat -c %a "$WORK/agent-a/tenant.key")" = 600 ] || fail "tenant.key is not mode 0600"
! grep -rq "$UPN_A" "$WORK/agent-a" || fail "the raw UPN was stored in the agent's state"
ok "two agents enrolled; the agent stores no raw UPN"

"$BIN/mtd-agent" run --state "$WORK/agent-a" --once >/dev/null
"$BIN/mtd-agent" run --state "$WORK/agent-b" --once >/dev/null
ok "one collection uploaded from each agent"

PS_A=$(jq -r .device_id "$WORK/agent-a/agent.json"); PS_B=$(jq -r .device_id "$WORK/agent-b/agent.json")
[[ "$PS_A" =~ ^ps_[A-Za-z0-9_-]{22}$ ]] || fail "device pseudonym has the wrong shape: $PS_A"
[ "$PS_A" != "$PS_B" ] || fail "the same host has the same pseudonym in two tenants"
ok "the same host has two different pseudonyms in two tenants"

ctl --token "$ADMIN_A" devices --json >"$WORK/devs-a.json"
ctl --token "$ADMIN_B" devices --json >"$WORK/devs-b.json"
assert_eq 1 "$(jq '.devices | length' "$WORK/devs-a.json")" "devices in tenant A"
assert_eq "$PS_A" "$(jq -r '.devices[0].device_id' "$WORK/devs-a.json")" "tenant A's device"
assert_eq 1 "$(jq '.devices | length' "$WORK/devs-b.json")" "devices in tenant B"
assert_eq "$PS_B" "$(jq -r '.devices[0].device_id' "$WORK/devs-b.json")" "tenant B's device"
. /etc/os-release
assert_eq "${VERSION_ID:-$VERSION}" "$(jq -r '.devices[0].os_version' "$WORK/devs-a.json")" "reported OS version"
assert_eq "$NAME" "$(jq -r '.devices[0].os_name' "$WORK/devs-a.json")" "reported OS name"
CPU=$(grep -m1 '^model name' /proc/cpuinfo | sed 's/^[^:]*: //')
jq -r '.devices[0].cpu' "$WORK/devs-a.json" | grep -qF "$CPU" || fail "reported CPU lacks [$CPU]"
UPN_PS_A=$(jq -r .upn "$WORK/agent-a/agent.json")
assert_eq "$UPN_PS_A" "$(jq -r '.devices[0].upn' "$WORK/devs-a.json")" "tenant A's user pseudonym"
ok "each admin sees exactly its own device with this host's OS and CPU"

# the same host enrolled again (a reinstalled agent) is refused while its first
# credential lives: anyone with the enrollment token and the host's MAC could compute
# its pseudonym (issue 14.3); the admin revokes the old credential, then it enrolls
expect_fail "enrolling an enrolled device" "$BIN/mtd-agent" enroll --state "$WORK/agent-a2" --server "$URL" --token "$ENR_A" --user "$UPN_A"
grep -q "is enrolled already: an admin must revoke its credential first (mtdctl credential revoke [0-9a-f]\{12\})" <<<"$LAST_ERR" || fail "refusal: $LAST_ERR"
CID=$(ctl --token "$ADMIN_A" --json credential list --device "$PS_A" | jq -r '.credentials[] | select(.revoked_at == null) | .id')
assert_eq "credential $CID revoked; device $PS_A may enroll again" "$(ctl --token "$ADMIN_A" credential revoke "$CID")" "credential revoke"
"$BIN/mtd-agent" enroll --state "$WORK/agent-a2" --server "$URL" --token "$ENR_A" --user "$UPN_A" >/dev/null
ctl --token "$ADMIN_A" --json audit | jq -r '.audit[].action' | grep -qx credential.revoke || fail "the revocation is not audited"
ok "a device with a live credential is not enrolled again until an admin revokes it (audited)"
# its first batches are new, not replays of the first enrollment's, though its spool
# numbers start again from 1
"$BIN/mtd-agent" run --state "$WORK/agent-a2" --once >/dev/null
assert_eq 2 "$(sqlite3 "$DATA/tenants/$TA/store.sqlite" "select count(*) from ev_device_info where device_id='$PS_A'")" "device records after a re-enrollment"
ok "a re-enrolled agent's batches are stored, not taken for replays"

ctl --token "$ADMIN_A" devices >"$WORK/table.txt"
grep -q "$PS_A" "$WORK/table.txt" && grep -q "^DEVICE" "$WORK/table.txt" || fail "devices table: $(cat "$WORK/table.txt")"
ok "mtdctl devices prints a table"

# Crossing tenants: A's secret presented as B's, A's admin token on the operator API,
# and a device credential of A used as an admin token.
SECRET_A=${ADMIN_A##*.}
assert_eq 401 "$(http_status GET /v1/admin/devices "adm.$TB.$SECRET_A")" "A's secret presented for tenant B"
assert_eq 401 "$(http_status GET /v1/operator/tenants "$ADMIN_A")" "admin token on the operator API"
CRED_A=$(cat "$WORK/agent-a2/credential") # the live one: agent-a's was revoked
assert_eq 401 "$(http_status GET /v1/admin/devices "$CRED_A")" "device credential as an admin token"
assert_eq 401 "$(http_status GET /v1/admin/devices "adm.$TA.forged")" "forged admin token"
assert_eq 401 "$(http_status GET /v1/admin/devices "")" "no token"
assert_eq unauthorized "$(jq -r .error "$WORK/body")" "error key of a 401"
ok "tokens never cross tenants; every refusal is a 401 JSON error"

# A device of tenant A that writes an event claiming tenant B, or another device.
EV_B=$(printf '{"event":"usage.action","schema":1,"event_id":"e2eforgedtenant000001","time":"2026-01-01T00:00:00Z","tenant_id":"%s","device_id":"%s","action":"enroll"}\n' "$TB" "$PS_A")
assert_eq 403 "$(printf '%s' "$EV_B" | zstd -q -c | http_status POST /v1/batches "$CRED_A" \
    -H 'Content-Type: application/x-ndjson' -H 'Idempotency-Key: forged-tenant-1' --data-binary @-)" "event for another tenant"
EV_D=$(printf '{"event":"usage.action","schema":1,"event_id":"e2eforgeddevice000001","time":"2026-01-01T00:00:00Z","tenant_id":"%s","device_id":"%s","action":"enroll"}\n' "$TA" "$PS_B")
assert_eq 403 "$(printf '%s' "$EV_D" | zstd -q -c | http_status POST /v1/batches "$CRED_A" \
    -H 'Content-Type: application/x-ndjson' -H 'Idempotency-Key: forged-device-1' --data-binary @-)" "event for another device"
ok "a device cannot write for another tenant or another device"

# Malformed, truncated and oversized bodies: 4xx JSON errors, the collector lives on.
post() { http_status POST /v1/batches "$CRED_A" -H 'Content-Type: application/x-ndjson' -H "Idempotency-Key: $1" --data-binary "@$2"; }
printf 'not zstd at all' >"$WORK/plain"
assert_eq 400 "$(post bad-body-0001 "$WORK/plain")" "a body that is not zstd"
printf '{"event":' | zstd -q -c >"$WORK/badjson"
assert_eq 400 "$(post bad-body-0002 "$WORK/badjson")" "malformed JSON"
grep -q 'line 1' "$WORK/body" || fail "the error does not name the line: $(cat "$WORK/body")"
printf '%s\n' "$EV_D" | zstd -q -c | head -c 20 >"$WORK/trunc"
assert_eq 400 "$(post bad-body-0003 "$WORK/trunc")" "truncated zstd"
head -c $((17 * 1024 * 1024)) /dev/zero >"$WORK/huge"
assert_eq 413 "$(post bad-body-0004 "$WORK/huge")" "a 17 MiB body"
head -c $((80 * 1024 * 1024)) /dev/zero | zstd -q -c >"$WORK/bomb"
assert_eq 413 "$(post bad-body-0005 "$WORK/bomb")" "a batch that inflates past the cap"
assert_eq 200 "$(http_status GET /healthz "")" "collector alive after bad input"
ok "malformed, truncated and oversized bodies get 4xx JSON errors"

# All-or-nothing: a batch whose second event is undeclared stores nothing.
GOOD=$(printf '{"event":"usage.action","schema":1,"event_id":"e2eallornothing00001","time":"2026-01-01T00:00:00Z","tenant_id":"%s","device_id":"%s","action":"enroll"}' "$TA" "$PS_A")
BAD=$(printf '{"event":"usage.action","schema":1,"event_id":"e2eallornothing00002","time":"2026-01-01T00:00:00Z","tenant_id":"%s","device_id":"%s","action":"enroll","mac":"aa:bb:cc:dd:ee:ff"}' "$TA" "$PS_A")
printf '%s\n%s\n' "$GOOD" "$BAD" | zstd -q -c >"$WORK/mixed"
assert_eq 422 "$(post all-or-nothing-1 "$WORK/mixed")" "batch with an undeclared field"
jq -r .detail "$WORK/body" | grep -q 'line 2: usage.action: field "mac" is not declared' || fail "detail: $(cat "$WORK/body")"
[ "$(sqlite3 "$DATA/tenants/$TA/store.sqlite" "select count(*) from ev_usage_action where event_id='e2eallornothing00001'")" = 0 ] \
    || fail "half a batch was stored"
printf '%s\n' "$GOOD" | zstd -q -c >"$WORK/good"
assert_eq 200 "$(post replay-key-0001 "$WORK/good")" "a good batch"
assert_eq 200 "$(post replay-key-0001 "$WORK/good")" "the same batch again"
assert_eq true "$(jq -r .replayed "$WORK/body")" "a repeated key is acknowledged as a replay"
assert_eq 1 "$(sqlite3 "$DATA/tenants/$TA/store.sqlite" "select count(*) from ev_usage_action where event_id='e2eallornothing00001'")" "rows after a replay"
ok "batches are all-or-nothing and a repeated Idempotency-Key is stored once"

# CLI errors: one clear line, non-zero exit.
expect_fail "unknown flag" "$BIN/mtd-agent" run --state "$WORK/agent-a" --bogus
grep -q -- '--bogus' <<<"$LAST_ERR" || fail "unknown flag not named: $LAST_ERR"
expect_fail "not enrolled" "$BIN/mtd-agent" run --state "$WORK/nowhere" --once
expect_fail "wrong token" "$BIN/mtdctl" --server "$URL" --token "adm.$TA.wrong" devices
expect_fail "missing policy file" "$BIN/mtdctl" --server "$URL" --token "$ADMIN_A" policy set "$WORK/none.json"
expect_fail "unreachable server" "$BIN/mtd-agent" enroll --state "$WORK/agent-c" --server http://127.0.0.1:9 --token "$ENR_A"
grep -q '127.0.0.1:9' <<<"$LAST_ERR" || fail "unreachable server not named: $LAST_ERR"
expect_fail "collector without --data" "$BIN/mtd-collector" --listen 127.0.0.1:0
expect_fail "non-loopback without TLS" "$BIN/mtd-collector" --data "$WORK/d2" --listen 0.0.0.0:0
ok "bad command lines fail with one clear line"

# Privacy: no raw identifier in any file of the collector's data directory.
MACHINE_ID=$(cat /etc/machine-id 2>/dev/null || true)
for iface in /sys/class/net/*; do
    [ "$(basename "$iface")" = lo ] && continue
    mac=$(cat "$iface/address" 2>/dev/null || true)
    [ -n "$mac" ] && [ "$mac" != 00:00:00:00:00:00 ] || continue
    ! grep -rqiF "$mac" "$DATA" || fail "raw MAC $mac found in the collector's files"
    ! grep -rqiF "${mac//:/}" "$DATA" || fail "raw MAC (no colons) found in the collector's files"
done
[ -z "$MACHINE_ID" ] || ! grep -rqF "$MACHINE_ID" "$DATA" || fail "machine-id found in the collector's files"
for s in "$UPN_A" "$UPN_B" "$DEVID_A"; do
    ! grep -rqiF "$s" "$DATA" || fail "raw identifier $s found in the collector's files"
done
ok "no raw MAC, machine-id, UPN or directory device ID in any collector file"

stop_collector
ok "collector stops cleanly on SIGTERM"
finish
