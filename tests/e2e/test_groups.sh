#!/usr/bin/env bash
# Device groups and per-group policy (issue 22, item 3): a device is put in a group by
# its enrollment token or by an admin; a group's policy overrides the tenant's key by
# key and reaches that group's agents only, at their next round, and the collector
# holds each device to its own group's policy; the reports and the alert queue filter
# by group with exactly the group's rows. Runs a second time on PostgreSQL.
source "$(dirname "$0")/lib.sh"

DATA=$WORK/data
start_collector "$DATA"
new_tenant Groups
agent() { "$BIN/mtd-agent" "$@"; }

# A: enrolled with a token that carries group "field"; B: plain token, put in "office"
ctl --token "$ADMIN" token create enroll --group field --json >"$WORK/tok.json"
assert_eq field "$(jq -r .group "$WORK/tok.json")" "the token's group"
TOKF=$(jq -r .token "$WORK/tok.json")
# two phones (snapshot directories): each gets a device ID of its own
for s in a b; do
    mkdir -p "$WORK/phone-$s"
    printf 'ro.build.version.release=14\nro.product.model=Pixel 8\n' >"$WORK/phone-$s/getprop.txt"
done
agent enroll --state "$WORK/a" --server "$URL" --token "$TOKF" --android-root "$WORK/phone-a" >/dev/null
agent enroll --state "$WORK/b" --server "$URL" --token "$ENR" --android-root "$WORK/phone-b" >/dev/null
DA=$(jq -r .device_id "$WORK/a/agent.json"); DB=$(jq -r .device_id "$WORK/b/agent.json")
[ "$DA" != "$DB" ] || fail "two agents, one device ID"
ctl --token "$ADMIN" device group "$DB" office >"$WORK/out"
assert_eq "device $DB is in group office; its agent gets the group's policy at its next round" "$(cat "$WORK/out")" "device group"
ctl --token "$ADMIN" group list --json | jq -c '[.groups[] | [.name, .devices]]' >"$WORK/g"
assert_eq '[["field",1],["office",1]]' "$(cat "$WORK/g")" "group list"
ok "an enrollment token's group and an admin's assignment"

# the override: optional data and a spool cap for "field" only
ctl --token "$ADMIN" policy set --group field optional_data=true spool_max_mb=77 >/dev/null
ctl --token "$ADMIN" policy get --group field --json >"$WORK/gp.json"
assert_eq '{"optional_data":true,"spool_max_mb":77}' "$(jq -cS .overrides "$WORK/gp.json")" "the group's overrides"
assert_eq "true 77" "$(jq -r '"\(.policy.optional_data) \(.policy.spool_max_mb)"' "$WORK/gp.json")" "the group's policy"
assert_eq false "$(ctl --token "$ADMIN" policy get --json | jq -r .optional_data)" "the tenant's policy is unchanged"
agent run --state "$WORK/a" --once >/dev/null
agent run --state "$WORK/b" --once >/dev/null
assert_eq "true 77" "$(jq -r '"\(.optional_data) \(.spool_max_mb)"' "$WORK/a/policy.json")" "agent A's policy"
TEN=$(ctl --token "$ADMIN" policy get --json | jq -r .spool_max_mb)
assert_eq "false $TEN" "$(jq -r '"\(.optional_data) \(.spool_max_mb)"' "$WORK/b/policy.json")" "agent B's policy"
# the collector holds each device to its group's policy: A's feedback is stored
agent consent grant --state "$WORK/a" >/dev/null
agent consent grant --state "$WORK/b" >/dev/null
agent feedback --state "$WORK/a" --type idea --comment "from the field" >/dev/null
expect_fail "B's feedback under the tenant's policy" agent feedback --state "$WORK/b" --type idea --comment "office"
grep -q "policy does not allow optional data" <<<"$LAST_ERR" || fail "$LAST_ERR"
assert_eq "$DA from the field" "$(ctl --token "$ADMIN" feedback --json | jq -r '.["feedback.submission"][] | "\(.device_id) \(.comment)"')" "feedback stored"
ok "the group's override reached its agent only, and the collector accepted what it allowed"

# reports and alerts by group: each device reports an app and a threat
post_as() { # STATE_DIR KEY: a batch from stdin with that agent's credential
    zstd -q -c | http_status POST /v1/batches "$(cat "$1/credential")" -H 'Content-Type: application/x-ndjson' \
        -H "Idempotency-Key: $2" --data-binary @-
}
for x in a:$DA b:$DB; do
    s=${x%%:*}; d=${x#*:}
    printf '{"event":"app.inventory","schema":1,"event_id":"app-%s","time":"2026-12-01T10:00:00Z","tenant_id":"%s","device_id":"%s","package":"org.%s.app","version_code":1,"version_name":"1","install_source":"com.android.vending","permissions":[],"is_system":false}\n{"event":"threat.detection","schema":1,"event_id":"thr-%s","time":"2026-12-01T10:00:00Z","tenant_id":"%s","device_id":"%s","threat_name":"Test.%s","category":"malware","severity":"high","source":"app","evidence":"x","status":"active","package":"org.%s.app","threat_id":"t-%s"}\n' \
        "$s" "$T" "$d" "$s" "$s" "$T" "$d" "$s" "$s" "$s" >"$WORK/batch-$s"
    assert_eq 200 "$(post_as "$WORK/$s" "groups-batch-$s" <"$WORK/batch-$s")" "batch of $s ($(cat "$WORK/body"))"
done
assert_eq "$DA" "$(ctl --token "$ADMIN" devices --group field --json | jq -r '[.devices[].device_id] | join(" ")')" "devices --group field"
assert_eq "$DB" "$(ctl --token "$ADMIN" devices --group office --json | jq -r '[.devices[].device_id] | join(" ")')" "devices --group office"
assert_eq 2 "$(ctl --token "$ADMIN" devices --json | jq '.devices | length')" "devices without a group filter"
# (the agents' own rounds may have reported posture findings too: every row is the
# group's device's, and the test's threats are exactly its own)
ctl --token "$ADMIN" threats --group field --json >"$WORK/thr.json"
assert_eq "$DA" "$(jq -r '[.threats[].device_id] | unique | join(" ")' "$WORK/thr.json")" "threats --group field: devices"
assert_eq "Test.a" "$(jq -r '[.threats[].threat_name | select(startswith("Test."))] | join(" ")' "$WORK/thr.json")" "threats --group field"
[ "$(ctl --token "$ADMIN" threats --json | jq '[.threats[].threat_name | select(startswith("Test."))] | length')" = 2 ] ||
    fail "threats without a group filter: $(ctl --token "$ADMIN" threats --json)"
assert_eq "$DB org.b.app" "$(ctl --token "$ADMIN" apps --group office --json | jq -r '.apps[] | "\(.device_id) \(.package)"')" "apps --group office"
assert_eq 0 "$(ctl --token "$ADMIN" threats --group nosuch --json | jq '.threats | length')" "a group with no device"
for _ in $(seq 100); do
    [ "$(ctl --token "$ADMIN" alerts --json | jq '[.alerts[] | select(.threat_name | startswith("Test."))] | length')" = 2 ] && break
    sleep 0.1
done
tests_alerts() { ctl --token "$ADMIN" alerts "$@" --json | jq -r '[.alerts[] | "\(.device_id) \(.threat_name)"] | map(select(test(" Test[.]"))) | join(",")'; }
alert_devices() { ctl --token "$ADMIN" alerts "$@" --json | jq -r '[.alerts[].device_id] | unique | join(" ")'; }
assert_eq "$DB Test.b" "$(tests_alerts --group office)" "alerts --group office"
assert_eq "$DB" "$(alert_devices --group office)" "alerts --group office: devices"
assert_eq "$DA Test.a" "$(tests_alerts --group field)" "alerts --group field"
assert_eq "$DA" "$(alert_devices --group field)" "alerts --group field: devices"
ok "devices, threats, apps and alerts filtered by group give exactly the group's rows"

# sideloaded apps by each device's effective trusted_stores (issue 20.1): an app of a
# store no policy trusts yet on each device; the next report follows each policy change
for x in a:$DA b:$DB; do
    s=${x%%:*}; d=${x#*:}
    printf '{"event":"app.inventory","schema":1,"event_id":"side-%s","time":"2026-12-01T10:05:00Z","tenant_id":"%s","device_id":"%s","package":"org.%s.side","version_code":1,"version_name":"1","install_source":"com.example.store","permissions":[],"is_system":false}\n' \
        "$s" "$T" "$d" "$s" >"$WORK/side-$s"
    assert_eq 200 "$(post_as "$WORK/$s" "groups-side-$s" <"$WORK/side-$s")" "sideloaded batch of $s ($(cat "$WORK/body"))"
done
side_apps() { ctl --token "$ADMIN" apps --sideloaded "$@" --json | jq -r '[.apps[] | "\(.device_id) \(.package)"] | join(",")'; }
assert_eq "$DA org.a.side,$DB org.b.side" "$(side_apps)" "apps --sideloaded (the default stores)"
ctl --token "$ADMIN" policy set 'trusted_stores=["com.android.vending","com.example.store"]' >/dev/null
assert_eq "" "$(side_apps)" "apps --sideloaded (the tenant trusts the store)"
ctl --token "$ADMIN" policy set --group field 'trusted_stores=["com.android.vending"]' >/dev/null
assert_eq "$DA org.a.side" "$(side_apps)" "apps --sideloaded (field trusts Google Play only)"
assert_eq "$DA org.a.side" "$(side_apps --group field)" "apps --sideloaded --group field"
ctl --token "$ADMIN" policy set --group field trusted_stores=null >/dev/null
assert_eq "" "$(side_apps)" "apps --sideloaded (field's override removed)"
ok "apps --sideloaded follows the tenant's trusted_stores and a group's override at the next report"

# out of the group: the tenant's policy again at the next round; the override removed
ctl --token "$ADMIN" device ungroup "$DA" >/dev/null
assert_eq 0 "$(ctl --token "$ADMIN" devices --group field --json | jq '.devices | length')" "field after ungroup"
agent run --state "$WORK/a" --once >/dev/null
assert_eq "false $TEN" "$(jq -r '"\(.optional_data) \(.spool_max_mb)"' "$WORK/a/policy.json")" "agent A's policy out of the group"
ctl --token "$ADMIN" policy set --group field spool_max_mb=null >/dev/null
assert_eq '{"optional_data":true}' "$(ctl --token "$ADMIN" policy get --group field --json | jq -cS .overrides)" "an override removed"
assert_eq "device.group group.policy.set group.policy.set group.policy.set device.group group.policy.set" \
    "$(store_sql "$T" "select action from audit where action in ('device.group','group.policy.set') order by id" | tr '\n' ' ' | sed 's/ $//')" "audited"
ok "a device taken out of its group gets the tenant's policy; an override is removed with KEY=null; all audited"

# bad input: named, never a crash
expect_fail "a bad group name" ctl --token "$ADMIN" devices --group 'no/such'
grep -q "HTTP 400: bad_request: group must be 1 to 64 characters" <<<"$LAST_ERR" || fail "$LAST_ERR"
expect_fail "a group on an admin token" ctl --token "$ADMIN" token create admin --group x
grep -q 'HTTP 400.*for an enroll token' <<<"$LAST_ERR" || fail "$LAST_ERR"
expect_fail "a bad override" ctl --token "$ADMIN" policy set --group field report_urls=everything
grep -q "HTTP 400: bad_policy: .*report_urls" <<<"$LAST_ERR" || fail "$LAST_ERR"
expect_fail "an unknown device" ctl --token "$ADMIN" device group ps_AAAAAAAAAAAAAAAAAAAAAA field
grep -q "HTTP 404" <<<"$LAST_ERR" || fail "$LAST_ERR"
ANA=$(ctl --token "$ADMIN" token create analyst --json | jq -r .token)
expect_fail "an analyst sets a group's policy" ctl --token "$ANA" policy set --group field spool_max_mb=5
grep -q "HTTP 403" <<<"$LAST_ERR" || fail "$LAST_ERR"
ok "bad group names, overrides, devices and roles are refused with what was wrong"
finish
