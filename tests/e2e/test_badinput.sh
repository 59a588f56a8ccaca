#!/usr/bin/env bash
# Bad input on the command lines and at the edges (issue 13, items 9-12): every numeric
# option is strict and ranged, a data directory serves one collector, values over a
# field's limit are refused with the limit named, and the usual mistakes get one line
# saying what was wrong.
source "$(dirname "$0")/lib.sh"

DATA=$WORK/data
start_collector "$DATA"
new_tenant Acme
ctl0() { "$BIN/mtdctl" "$@"; }
"$BIN/mtd-agent" enroll --state "$WORK/agent" --server "$URL" --token "$ENR" --user a@acme.example >/dev/null

# item 9: numeric options
for v in abc 0 -5 1x "" 604801; do
    expect_fail "run --interval [$v]" "$BIN/mtd-agent" run --state "$WORK/agent" --interval "$v"
    assert_eq "mtd-agent: --interval must be an integer from 10 to 604800" "$LAST_ERR" "run --interval [$v]"
done
[ ! -d "$WORK/agent/spool" ] || fail "a refused run queued records"
for o in "--threads abc 1024" "--threads -1 1024" "--conn-timeout -1 3600" "--conn-timeout 0 3600" \
         "--max-inflight x 100000" "--retention-interval 0 2678400"; do
    set -- $o
    lo=0; case $1 in --conn-timeout|--retention-interval) lo=1 ;; esac
    expect_fail "collector $1 $2" "$BIN/mtd-collector" --data "$WORK/other" --listen 127.0.0.1:0 "$1" "$2"
    assert_eq "mtd-collector: $1 must be an integer from $lo to $3" "$LAST_ERR" "collector $1 $2"
done
expect_fail "collector --listen with a bad port" "$BIN/mtd-collector" --data "$WORK/other" --listen "127.0.0.1: 80"
expect_fail "collector with a stray word" "$BIN/mtd-collector" --data "$WORK/other" --listen 127.0.0.1:0 extra
assert_eq 'mtd-collector: unexpected argument "extra" (see --help)' "$LAST_ERR" "collector with a stray word"
for v in 0 10001 abc; do
    expect_fail "mtdctl --limit $v" ctl --token "$ADMIN" devices --limit "$v"
    assert_eq "mtdctl: --limit must be an integer from 1 to 10000" "$LAST_ERR" "mtdctl --limit $v"
done
expect_fail "mtdctl --offset -1" ctl --token "$ADMIN" devices --offset -1
ok "numeric options are strict integers within their range, in the agent, the collector and mtdctl"

# item 11: a value over its field's limit is refused, the limit named; never dropped
echo '{"optional_data": true}' >"$WORK/p.json"; ctl --token "$ADMIN" policy set "$WORK/p.json" >/dev/null
"$BIN/mtd-agent" run --state "$WORK/agent" --once >/dev/null  # fetches the policy
"$BIN/mtd-agent" consent grant --state "$WORK/agent" >/dev/null
LONG=$(head -c 4096 /dev/zero | tr '\0' x)
expect_fail "feedback --comment of 4,096 characters" "$BIN/mtd-agent" feedback --state "$WORK/agent" --type idea --comment "$LONG"
assert_eq 'mtd-agent: not sent: feedback.submission: field "comment" too long (at most 4000 bytes)' "$LAST_ERR" "long comment"
expect_fail "feedback --email not-an-email" "$BIN/mtd-agent" feedback --state "$WORK/agent" --type idea --email not-an-email
assert_eq 'mtd-agent: not sent: feedback.submission: field "email" is not an email address' "$LAST_ERR" "bad email"
for e in "a@b" "a b@c.example" "a@@c.example" '"x"@c.example'; do
    expect_fail "feedback --email [$e]" "$BIN/mtd-agent" feedback --state "$WORK/agent" --type idea --email "$e"
done
"$BIN/mtd-agent" feedback --state "$WORK/agent" --type idea --comment "${LONG:0:4000}" --email someone@acme.example >/dev/null
assert_eq "4000 someone@acme.example" "$(ctl --token "$ADMIN" feedback --json | jq -r '.["feedback.submission"] | map("\(.comment | length) \(.email)") | join(",")')" "only the valid feedback arrived, whole"
T=$(jq -r .tenant_id "$WORK/t.json")
D=$(jq -r .device_id "$WORK/agent/agent.json")
CRED=$(cat "$WORK/agent/credential")
printf '{"event":"feedback.submission","schema":1,"event_id":"ev00000000000000000009","time":"2026-11-24T10:00:00Z","tenant_id":"%s","device_id":"%s","type":"idea","email":"nope"}\n' "$T" "$D" |
    zstd -q -c | curl -s -o "$WORK/body" -w '%{http_code}' -X POST -H "Authorization: Bearer $CRED" -H 'Content-Type: application/x-ndjson' -H 'Idempotency-Key: bad-email-0001' --data-binary @- "$URL/v1/batches" >"$WORK/code"
assert_eq 400 "$(cat "$WORK/code")" "the collector refuses a bad email from a modified agent ($(cat "$WORK/body"))"
expect_fail "tenant create with a newline" ctl --token "$OPERATOR_TOKEN" tenant create "$(printf 'Evil\nCorp')"
grep -q "may not hold a control character" <<<"$LAST_ERR" || fail "tenant create with a newline: $LAST_ERR"
expect_fail "token create with a label holding an escape" ctl --token "$ADMIN" token create analyst --label "$(printf 'soc\033[2J')"
assert_eq 1 "$(ctl --token "$OPERATOR_TOKEN" tenant list --json | jq '.tenants | length')" "no tenant was created"
ok "over-long and malformed values are refused with the limit or the rule named, at the agent and the collector"

# item 10: one collector per data directory
BEFORE=$(cat "$DATA/collector.url")
expect_fail "a second collector on the same data" "$BIN/mtd-collector" --data "$DATA" --listen 127.0.0.1:0
assert_eq "mtd-collector: data directory $DATA is in use by another mtd-collector (PID $COLLECTOR_PID)" "$LAST_ERR" "second collector"
assert_eq "$BEFORE" "$(cat "$DATA/collector.url")" "collector.url after the second collector"
assert_eq 200 "$(http_status GET /healthz "")" "the first collector still serves"
ok "a second collector on a data directory in use refuses, naming the PID that holds it"

# item 12: the usual mistakes, one line each, saying which
expect_fail "mtdctl --server without a scheme" ctl0 --server "localhost:${URL##*:}" --token "$ADMIN" devices
assert_eq "mtdctl: --server localhost:${URL##*:}: expected an http:// or https:// URL, e.g. https://127.0.0.1:8443" "$LAST_ERR" "--server without a scheme"
expect_fail "MTD_CA naming no file" env MTD_CA=/nonexistent/ca.pem "$BIN/mtdctl" --server "$URL" --token "$ADMIN" devices
assert_eq "mtdctl: MTD_CA /nonexistent/ca.pem: not found" "$LAST_ERR" "MTD_CA naming no file"
# an option the command does not take is refused, not ignored (devices has no OCSF form)
expect_fail "devices --ocsf" ctl --token "$ADMIN" devices --ocsf
assert_eq "mtdctl: devices does not take --ocsf (usage: mtdctl [OPTIONS] devices [--group G])" "$LAST_ERR" "devices --ocsf"
expect_fail "tenant list --org" ctl --token "$OPERATOR_TOKEN" tenant list --org acme
assert_eq "mtdctl: tenant list does not take --org (usage: mtdctl [OPTIONS] tenant list)" "$LAST_ERR" "tenant list --org"
expect_fail "export --limit" ctl --token "$ADMIN" export --limit 5
assert_eq "mtdctl: export does not take --limit (usage: mtdctl [OPTIONS] export [--ocsf])" "$LAST_ERR" "export --limit"
assert_eq 0 "$(ctl --token "$ADMIN" devices --limit 5 --json | jq '.devices | length' >/dev/null; echo $?)" "a list command keeps its paging options"
expect_fail "a port in use" "$BIN/mtd-collector" --data "$WORK/other" --listen "127.0.0.1:${URL##*:}"
assert_eq "mtd-collector: --listen 127.0.0.1:${URL##*:}: address already in use (another collector or program listens there)" "$LAST_ERR" "a port in use"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=other \
    -keyout "$WORK/key2.pem" -out "$WORK/cert2.pem" 2>/dev/null
echo "not a certificate" >"$WORK/junk.pem"
tls() { "$BIN/mtd-collector" --data "$WORK/other" --listen 127.0.0.1:0 --tls-cert "$1" --tls-key "$2"; }
expect_fail "no certificate file" tls "$WORK/none.pem" "$WORK/key.pem"
assert_eq "mtd-collector: --tls-cert $WORK/none.pem: not found" "$LAST_ERR" "no certificate file"
expect_fail "a certificate file that is not one" tls "$WORK/junk.pem" "$WORK/key.pem"
assert_eq "mtd-collector: --tls-cert $WORK/junk.pem: not a PEM certificate" "$LAST_ERR" "junk certificate"
expect_fail "a key file that is not one" tls "$WORK/cert.pem" "$WORK/junk.pem"
assert_eq "mtd-collector: --tls-key $WORK/junk.pem: not a PEM private key (or one with a passphrase)" "$LAST_ERR" "junk key"
expect_fail "another certificate's key" tls "$WORK/cert.pem" "$WORK/key2.pem"
assert_eq "mtd-collector: --tls-key $WORK/key2.pem: not the key of the certificate $WORK/cert.pem" "$LAST_ERR" "mismatched key"
mkdir -p "$WORK/empty"
expect_fail "inventory apps of an empty directory" "$BIN/mtd-agent" inventory apps --android-root "$WORK/empty" --json
assert_eq "mtd-agent: --android-root $WORK/empty: no app found: not an Android snapshot (no packages.xml, dumpsys or pm list output, no APK; see adb-pull)" "$LAST_ERR" "empty snapshot"
ok "a URL without a scheme, MTD_CA, a port in use, bad TLS files, an empty snapshot: one line naming each"

# a read-only state directory, for an unprivileged user (root may write anywhere)
chmod 755 "$WORK"
mkdir "$WORK/ro" && chown 65534:65534 "$WORK/ro"
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
# (this host is one device: its live credential is revoked first, issue 14.3)
"$BIN/mtdctl" --server "$URL" --token "$ADMIN" credential revoke "$("$BIN/mtdctl" --server "$URL" --token "$ADMIN" --json credential list --device "$(jq -r .device_id "$WORK/agent/agent.json")" | jq -r '.credentials[] | select(.revoked_at == null) | .id')" >/dev/null
nobody "$BIN/mtd-agent" enroll --state "$WORK/ro/a" --server "$URL" --token "$ENR" >/dev/null
chmod 500 "$WORK/ro/a"
expect_fail "run in a read-only state directory" nobody "$BIN/mtd-agent" run --state "$WORK/ro/a" --once
assert_eq "mtd-agent: --state $WORK/ro/a: permission denied (the agent keeps its queue and policy there)" "$LAST_ERR" "read-only run"
expect_fail "consent in a read-only state directory" nobody "$BIN/mtd-agent" consent grant --state "$WORK/ro/a"
assert_eq "mtd-agent: cannot save consent in $WORK/ro/a: permission denied" "$LAST_ERR" "read-only consent"
expect_fail "enroll again in a read-only state directory" nobody "$BIN/mtd-agent" enroll --state "$WORK/ro/a" --server "$URL" --token "$ENR"
assert_eq "mtd-agent: --state $WORK/ro/a: permission denied" "$LAST_ERR" "read-only enroll"
chmod 500 "$WORK/ro"
expect_fail "enroll under a read-only directory" nobody "$BIN/mtd-agent" enroll --state "$WORK/ro/b" --server "$URL" --token "$ENR"
assert_eq "mtd-agent: --state $WORK/ro/b: cannot create the directory: permission denied" "$LAST_ERR" "read-only parent"
chmod 700 "$WORK/ro" "$WORK/ro/a"
ok "a read-only state directory says permission denied, in one line, before any token is spent"

stop_collector
start_collector "$DATA"
ok "the lock goes with the collector: the next one starts"
stop_collector

start_collector "$WORK/tlsdata" --tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem"
assert_eq 0 "$(MTD_CA=$WORK/cert.pem "$BIN/mtdctl" --server "$URL" --token "$OPERATOR_TOKEN" tenant list --json | jq '.tenants | length')" "mtdctl trusts MTD_CA, as the demo's env file sets it"
expect_fail "mtdctl without the CA" "$BIN/mtdctl" --server "$URL" --token "$OPERATOR_TOKEN" tenant list
ok "mtdctl reads MTD_CA"
stop_collector
finish
