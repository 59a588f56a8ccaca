#!/usr/bin/env bash
# Tenant feed distribution: an admin pushes a file, every device of that tenant (and of
# no other) fetches it into STATE/feeds/NAME at its next round, verified by size and
# SHA-256; a push that arrives corrupted leaves the previous copy in force; removing a
# feed removes it from the devices; the calls are audited; deleting the tenant deletes
# its feeds.
source "$(dirname "$0")/lib.sh"

DATA=$WORK/data
start_collector "$DATA"
A=$("$BIN/mtdctl" --server "$URL" --token "$OPERATOR_TOKEN" tenant create feeds-a --json)
B=$("$BIN/mtdctl" --server "$URL" --token "$OPERATOR_TOKEN" tenant create feeds-b --json)
TA=$(jq -r .tenant_id <<<"$A"); ADMIN=$(jq -r .admin_token <<<"$A"); ENR=$(jq -r .enroll_token <<<"$A")
TB=$(jq -r .tenant_id <<<"$B"); ADMIN_B=$(jq -r .admin_token <<<"$B"); ENR_B=$(jq -r .enroll_token <<<"$B")
ctl() { "$BIN/mtdctl" --server "$URL" --token "$ADMIN" "$@"; }

ST=$WORK/agent
"$BIN/mtd-agent" enroll --state "$ST" --server "$URL" --token "$ENR" >/dev/null
"$BIN/mtd-agent" enroll --state "$WORK/agent-b" --server "$URL" --token "$ENR_B" >/dev/null
CRED=$(cat "$ST/credential")

head -c 300000 /dev/urandom >"$WORK/web.v1"
printf 'evil.example\n' >>"$WORK/web.v1"
SHA1=$(sha256sum "$WORK/web.v1" | cut -d' ' -f1)
out=$(ctl feed push web "$WORK/web.v1")
assert_eq "feed web: $(stat -c %s "$WORK/web.v1") bytes, sha256 $SHA1" "$out" "feed push"
ctl --json feed list >"$WORK/list.json"
assert_eq "web $SHA1 $(stat -c %s "$WORK/web.v1")" "$(jq -r '.feeds[] | "\(.name) \(.sha256) \(.size)"' "$WORK/list.json")" "feed list"
[[ "$(jq -r '.feeds[0].updated' "$WORK/list.json")" =~ ^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$ ]] || fail "updated is not RFC 3339"
assert_eq "0600" "$(stat -c %a "$DATA/tenants/$TA/feeds/web.$SHA1" | sed 's/^/0/')" "stored feed mode"
ok "an admin pushes a feed; the list gives its name, SHA-256, size and time; stored 0600"

expect_fail "a bad feed name" ctl feed push Web "$WORK/web.v1"
grep -q 'must match \[a-z0-9\]\[a-z0-9_-\]{0,31}' <<<"$LAST_ERR" || fail "bad name error: $LAST_ERR"
expect_fail "a 33-character name" ctl feed push "$(printf 'a%.0s' $(seq 33))" "$WORK/web.v1"
ANA=$(ctl --json token create analyst | jq -r .token)
expect_fail "an analyst pushes" "$BIN/mtdctl" --server "$URL" --token "$ANA" feed push web "$WORK/web.v1"
grep -q "HTTP 403" <<<"$LAST_ERR" || fail "analyst push: $LAST_ERR"
assert_eq 1 "$("$BIN/mtdctl" --server "$URL" --token "$ANA" --json feed list | jq '.feeds | length')" "an analyst reads the list"
assert_eq 401 "$(http_status PUT /v1/admin/feeds/web "$CRED" --data-binary @"$WORK/web.v1")" "a device credential pushes"
head -c $((16 * 1024 * 1024 + 1)) /dev/zero >"$WORK/huge"
assert_eq 413 "$(http_status PUT /v1/admin/feeds/huge "$ADMIN" --data-binary @"$WORK/huge")" "a push over the body cap"
assert_eq 400 "$(http_status PUT /v1/admin/feeds/empty "$ADMIN" --data-binary '')" "an empty push"
ok "bad names, analysts, devices, empty and oversized pushes are refused"

# the device's routes: list, bytes with ETag, If-None-Match
assert_eq 200 "$(http_status GET /v1/feeds "$CRED")" "device list"
assert_eq "web $SHA1" "$(jq -r '.feeds[] | "\(.name) \(.sha256)"' "$WORK/body")" "device list content"
curl -s -D "$WORK/hdr" -o "$WORK/got" -H "Authorization: Bearer $CRED" "$URL/v1/feeds/web"
cmp -s "$WORK/got" "$WORK/web.v1" || fail "device fetch: bytes differ"
grep -qi "^etag: \"$SHA1\"" "$WORK/hdr" || fail "ETag missing: $(cat "$WORK/hdr")"
assert_eq 304 "$(http_status GET /v1/feeds/web "$CRED" -H "If-None-Match: \"$SHA1\"")" "If-None-Match with the digest"
assert_eq 200 "$(http_status GET /v1/feeds/web "$CRED" -H "If-None-Match: \"0000\"")" "If-None-Match with another digest"
assert_eq 401 "$(http_status GET /v1/feeds/web "$ADMIN")" "an admin token on the device route"
assert_eq 404 "$(http_status GET /v1/feeds/nope "$CRED")" "an unknown feed"
assert_eq 404 "$(http_status GET /v1/feeds/..%2Fstore.sqlite "$CRED")" "a path in the name"
ok "devices list and fetch feeds with ETag = SHA-256 and 304 on If-None-Match"

# tenant B sees none of A's feeds
CRED_B=$(cat "$WORK/agent-b/credential")
assert_eq 200 "$(http_status GET /v1/feeds "$CRED_B")" "tenant B list"
assert_eq 0 "$(jq '.feeds | length' "$WORK/body")" "tenant B's feeds"
assert_eq 404 "$(http_status GET /v1/feeds/web "$CRED_B")" "tenant B fetches A's feed"
assert_eq 0 "$("$BIN/mtdctl" --server "$URL" --token "$ADMIN_B" --json feed list | jq '.feeds | length')" "B's admin list"
ok "another tenant's devices and admins see none of them"

# the agent's round fetches it, verified, into STATE/feeds/web
"$BIN/mtd-agent" run --state "$ST" --once >/dev/null
cmp -s "$ST/feeds/web" "$WORK/web.v1" || fail "STATE/feeds/web is not the pushed file"
assert_eq 600 "$(stat -c %a "$ST/feeds/web")" "local feed mode"
ok "mtd-agent run fetches the feed into STATE/feeds/web"

# a new version whose stored bytes are damaged before the device fetches them
head -c 200000 /dev/urandom >"$WORK/web.v2"
SHA2=$(sha256sum "$WORK/web.v2" | cut -d' ' -f1)
ctl feed push web "$WORK/web.v2" >/dev/null
[ ! -e "$DATA/tenants/$TA/feeds/web.$SHA1" ] || fail "the previous version's file was kept on the collector"
# flip a byte's bits (writing a fixed byte left the file whole when the random byte was it)
python3 -c 'import sys; f = open(sys.argv[1], "r+b"); f.seek(1000); b = f.read(1); f.seek(1000); f.write(bytes([b[0] ^ 0xFF]))' \
    "$DATA/tenants/$TA/feeds/web.$SHA2"
MTD_LOG=warn "$BIN/mtd-agent" run --state "$ST" --once >/dev/null 2>"$WORK/run.err"
cmp -s "$ST/feeds/web" "$WORK/web.v1" || fail "a corrupted fetch replaced the previous copy"
grep -q "feed web: fetched 200000 bytes with SHA-256" "$WORK/run.err" || fail "no warning for the bad fetch: $(cat "$WORK/run.err")"
ls -a "$ST/feeds" | grep -q part && fail "a .part file was left behind"
ctl feed push web "$WORK/web.v2" >/dev/null # the same bytes again: the file is rewritten whole
"$BIN/mtd-agent" run --state "$ST" --once >/dev/null
cmp -s "$ST/feeds/web" "$WORK/web.v2" || fail "the repaired version was not fetched"
ok "a fetch that does not verify keeps the previous copy; the next good one replaces it"

# several feeds; removing one removes it from the device
printf 'rule r { condition: false }\n' >"$WORK/rules.yar"
ctl feed push yara "$WORK/rules.yar" >/dev/null
"$BIN/mtd-agent" run --state "$ST" --once >/dev/null
cmp -s "$ST/feeds/yara" "$WORK/rules.yar" || fail "second feed not fetched"
assert_eq "feed web removed; devices drop it at their next round" "$(ctl feed remove web)" "feed remove"
expect_fail "removing it again" ctl feed remove web
grep -q "HTTP 404" <<<"$LAST_ERR" || fail "second remove: $LAST_ERR"
"$BIN/mtd-agent" run --state "$ST" --once >/dev/null
[ ! -e "$ST/feeds/web" ] || fail "a removed feed stayed on the device"
cmp -s "$ST/feeds/yara" "$WORK/rules.yar" || fail "the other feed was touched"
ok "a removed feed leaves the devices; the others stay"

actions=$(ctl --json audit | jq -r '[.audit[].action | select(startswith("feed."))] | join(",")')
assert_eq "feed.put,feed.list,feed.list,feed.put,feed.put,feed.put,feed.delete" "$actions" "audited feed calls"
ok "feed pushes, lists and removals are in the tenant's audit log"

"$BIN/mtdctl" --server "$URL" --token "$OPERATOR_TOKEN" tenant delete "$TA" >/dev/null
[ ! -e "$DATA/tenants/$TA" ] || fail "tenant directory (and its feeds) still there"
ok "deleting the tenant deletes its feeds"
finish
