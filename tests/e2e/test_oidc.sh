#!/usr/bin/env bash
# Admin sign-in through OpenID Connect (issue 22.4) against a real provider: the npm
# package oidc-provider (tests/oidc/provider.mjs) on a loopback port, the collector its
# registered client. curl drives the whole authorization code flow with PKCE, the
# session then calls the admin API with the role its ID-token claim mapped to; a
# provider that answers a tampered, re-addressed, expired or unsigned token, a user
# whose claim maps to nothing and a replayed callback are each refused, audited with
# the reason, and counted until the address is answered 429.
source "$(dirname "$0")/lib.sh"
SRC=${MTD_SRC:?}
OIDC_DIR=$SRC/tests/oidc
[ -f "$OIDC_DIR/node_modules/oidc-provider/package.json" ] ||
    fail "oidc-provider is not installed in $OIDC_DIR (the build's npm ci does it: make build)"

PROVIDER_PID=""
stop_provider() {
    if [ -n "$PROVIDER_PID" ] && kill -0 "$PROVIDER_PID" 2>/dev/null; then
        kill -TERM "$PROVIDER_PID" 2>/dev/null || true
        wait "$PROVIDER_PID" 2>/dev/null || true
    fi
    PROVIDER_PID=""
}
trap 'stop_provider; cleanup' EXIT

DATA=$WORK/data
start_collector "$DATA"
new_tenant Acme
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ISSUER=http://127.0.0.1:$PORT
(cd "$OIDC_DIR" && exec node provider.mjs "$PORT" "$URL") >"$WORK/provider.log" 2>&1 &
PROVIDER_PID=$!
for _ in $(seq 1 100); do
    grep -qx ready "$WORK/provider.log" && break
    sleep 0.1
done
grep -qx ready "$WORK/provider.log" || fail "the provider did not start: $(cat "$WORK/provider.log")"
ok "oidc-provider $(jq -r .version "$OIDC_DIR/node_modules/oidc-provider/package.json") listens at $ISSUER"

# --- configuration: admin only, audited without the secret ---
ANALYST=$(ctl --token "$ADMIN" token create analyst --json | jq -r .token)
set_oidc() { # CLIENT SECRET [TOKEN]
    ctl --token "${3:-$ADMIN}" oidc set --issuer "$ISSUER" --client-id "$1" --client-secret "$2" \
        --role-claim groups --role-map mtd-admins=admin,mtd-analysts=analyst,mtd-privacy=privacy
}
expect_fail "an analyst sets the sign-in" set_oidc openmtd openmtd-test-secret "$ANALYST"
assert_eq "mtdctl: PUT /v1/admin/oidc: HTTP 403: forbidden: the analyst role may not do this; an admin token is needed" "$LAST_ERR" "analyst refused"
set_oidc openmtd openmtd-test-secret >/dev/null
assert_eq "issuer        $ISSUER
client_id     openmtd
client_secret (set)
role_claim    groups
scope         openid email profile
redirect_uri  (the collector's /v1/auth/oidc/callback)
role_map      mtd-admins -> admin
role_map      mtd-analysts -> analyst
role_map      mtd-privacy -> privacy" "$(ctl --token "$ADMIN" oidc show)" "oidc show"
assert_eq 1 "$(ctl --token "$ADMIN" audit --json | jq '[.audit[] | select(.action == "oidc.set")] | length')" "oidc.set audited"
ctl --token "$ADMIN" audit --json | grep -q openmtd-test-secret && fail "the client secret is in the audit log"
expect_fail "an issuer over plain http to a remote host" ctl --token "$ADMIN" oidc set --issuer http://idp.example.com \
    --client-id x --role-claim groups --role-map a=admin
assert_eq 'mtdctl: PUT /v1/admin/oidc: HTTP 400: bad_request: "issuer" must be an https:// URL (http:// only to a loopback address)' "$LAST_ERR" "plain http refused"
expect_fail "a role that is none" ctl --token "$ADMIN" oidc set --issuer "$ISSUER" --client-id x --role-claim groups --role-map a=root
assert_eq 'mtdctl: PUT /v1/admin/oidc: HTTP 400: bad_request: "role_map" maps "a" to an unknown role; the roles are admin, analyst and privacy' "$LAST_ERR" "unknown role refused"
ok "oidc set/show: admin only, checked, audited without the secret"

assert_eq 200 "$(http_status GET "/v1/auth/oidc/available?tenant=$T" "")" "sign-in available"
OTHER=$(ctl --token "$OPERATOR_TOKEN" tenant create Other --json | jq -r .tenant_id)
assert_eq 404 "$(http_status GET "/v1/auth/oidc/available?tenant=$OTHER" "")" "a tenant without sign-in"
assert_eq 404 "$(http_status GET "/v1/auth/oidc/available?tenant=0123456789abcdef" "")" "no such tenant: the same answer"

# --- the redirect to the provider ---
assert_eq 302 "$(http_status GET "/v1/auth/oidc/login?tenant=$T" "" -D "$WORK/h")" "login redirects"
LOC=$(tr -d '\r' <"$WORK/h" | sed -n 's/^Location: //p')
q() { python3 -c 'import sys, urllib.parse as u; print(u.parse_qs(u.urlsplit(sys.argv[1]).query).get(sys.argv[2], [""])[0])' "$LOC" "$1"; }
assert_eq "$ISSUER/auth" "${LOC%%\?*}" "to the provider's authorization endpoint (from its discovery document)"
assert_eq "code openmtd openid email profile S256 $URL/v1/auth/oidc/callback" \
    "$(q response_type) $(q client_id) $(q scope) $(q code_challenge_method) $(q redirect_uri)" "authorization request"
[[ "$(q state)" =~ ^$T\.[A-Za-z0-9_-]{43}$ ]] || fail "state is not TENANT.RANDOM: $(q state)"
[[ "$(q code_challenge)" =~ ^[A-Za-z0-9_-]{43}$ ]] || fail "code_challenge is not an S256 digest: $(q code_challenge)"
[ ${#LOC} -gt 0 ] && [ -n "$(q nonce)" ] || fail "no nonce"
ok "login: 302 to the provider with state, nonce and an S256 code challenge"

# signin USER: the whole flow; the callback's answer in $WORK/body, its status printed,
# its URL (with code and state) in $WORK/callback, all headers in $WORK/h
signin() {
    rm -f "$WORK/jar"
    curl -s -L -c "$WORK/jar" -b "$WORK/jar" -H 'Accept: application/json' -D "$WORK/h" -o "$WORK/body" \
        -w '%{http_code} %{url_effective}' "$URL/v1/auth/oidc/login?tenant=$T&login_hint=$1" >"$WORK/out"
    cut -d' ' -f2 "$WORK/out" >"$WORK/callback"
    cut -d' ' -f1 "$WORK/out"
}
mode() { curl -sf "$ISSUER/test/mode?m=$1" >/dev/null; }

assert_eq 200 "$(signin alice)" "alice signs in ($(cat "$WORK/body"))"
assert_eq "admin alice $T" "$(jq -r '"\(.role) \(.sub) \(.tenant_id)"' "$WORK/body")" "alice's session"
ALICE=$(jq -r .session_token "$WORK/body")
ALICE_CB=$(cat "$WORK/callback")
cp "$WORK/jar" "$WORK/alice.jar" # with the binding cookie of alice's sign-in
[[ "$ALICE" =~ ^ses\.$T\. ]] || fail "session token is not ses.TENANT.SECRET: $ALICE"
COOKIE=$(tr -d '\r' <"$WORK/h" | sed -n 's/^Set-Cookie: \(mtd_session=\)/\1/p')
assert_eq "mtd_session=$ALICE; Path=/; Max-Age=28800; HttpOnly; SameSite=Strict" "$COOKIE" "the session cookie (no Secure over plain http)"
assert_eq "admin $T" "$(curl -sf -H "Authorization: Bearer $ALICE" "$URL/v1/admin/session" | jq -r '"\(.role) \(.tenant_id)"')" "the session as a bearer token"
assert_eq 200 "$(http_status GET /v1/admin/tokens "$ALICE")" "an admin-only call with alice's session"
assert_eq "admin oidc:alice" "$(jq -r '.tokens[] | select(.label == "oidc:alice") | "\(.role) \(.label)"' "$WORK/body")" "the session is listed as a token"
[ -n "$(jq -r '.tokens[] | select(.label == "oidc:alice") | .expires_at' "$WORK/body")" ] || fail "the session has no expiry"
assert_eq 200 "$(http_status GET /v1/admin/session "" -H "Cookie: mtd_session=$ALICE" -H 'X-Openmtd-Console: 1')" "the cookie, from the console"
assert_eq 401 "$(http_status GET /v1/admin/session "" -H "Cookie: mtd_session=$ALICE")" "the cookie alone (as another site's form would send it)"
H=$(printf %s "$ALICE" | sha256sum | cut -c1-64)
assert_eq 1 "$(store_sql "$T" "select count(*) from tokens where hash = '$H' and role = 'admin' and label = 'oidc:alice'")" "only the session's hash is stored"
assert_eq 0 "$(store_sql "$T" "select count(*) from tokens where hash = '$ALICE' or label like '%$ALICE%'")" "not the session itself"
ok "alice (groups mtd-admins): a session of the admin role, as a cookie and a bearer token"

assert_eq 200 "$(signin carol)" "carol signs in"
CAROL=$(jq -r .session_token "$WORK/body")
assert_eq analyst "$(jq -r .role "$WORK/body")" "carol's role"
assert_eq 403 "$(http_status GET /v1/admin/tokens "$CAROL")" "an analyst's session on an admin-only call"
assert_eq 403 "$(http_status PUT /v1/admin/policy "$CAROL" -d '{"retention_days":5}')" "an analyst's session may not set the policy"
assert_eq 200 "$(http_status GET /v1/admin/devices "$CAROL")" "an analyst's session reads reports"
ok "carol (groups mtd-analysts): the analyst role, enforced"

set_oidc openmtd-es openmtd-es-secret >/dev/null
assert_eq "200 admin" "$(signin alice) $(jq -r .role "$WORK/body")" "sign-in with an ES256-signed ID token"
set_oidc openmtd openmtd-test-secret >/dev/null
ok "an ES256 ID token of the provider verifies"

# --- refusals, each audited with its reason ---
refused() { # STATUS REASON WHAT
    local got
    got=$(signin "${USER_HINT:-alice}")
    assert_eq "$1" "$got" "$3: status"
    assert_eq "$2" "$(jq -r .detail "$WORK/body")" "$3: reason"
    [ -z "$(jq -r '.session_token // empty' "$WORK/body")" ] || fail "$3: a session was made"
}
mode tamper
refused 401 "the token's RS256 signature does not verify with the provider's key" "a flipped bit of the signature"
mode aud
refused 401 "the token's audience is not this client (\"openmtd\")" "re-signed for another audience"
mode expired
refused 401 "the token has expired" "re-signed, expired an hour ago"
mode none
refused 401 "the token is signed with \"none\"; only RS256 and ES256 are accepted" "alg none"
mode ok
USER_HINT=bob refused 403 "no value of the token's \"groups\" claim is mapped to a role" "bob (groups staff, unmapped)"
R="the state is unknown, used already or expired, or this browser did not begin the sign-in (a replayed or forged callback)"
assert_eq 400 "$(http_status GET "${ALICE_CB#$URL}" "" -b "$WORK/alice.jar")" "alice's callback replayed, from her browser"
assert_eq "$R" "$(jq -r .detail "$WORK/body")" "replay refused"
# login CSRF: a sign-in begun by one browser, its callback URL sent to another
rm -f "$WORK/jar"
u="$URL/v1/auth/oidc/login?tenant=$T&login_hint=carol"
for _ in $(seq 1 10); do
    u=$(curl -s -o /dev/null -c "$WORK/jar" -b "$WORK/jar" -w '%{redirect_url}' "$u")
    [[ "$u" == "$URL/v1/auth/oidc/callback?"* ]] && break
done
[[ "$u" == "$URL/v1/auth/oidc/callback?"* ]] || fail "the provider did not redirect to the callback: $u"
grep -q mtd_oidc_bind "$WORK/jar" || fail "login set no binding cookie"
assert_eq 400 "$(http_status GET "${u#$URL}" "")" "the callback from a browser that did not begin the sign-in"
assert_eq "$R" "$(jq -r .detail "$WORK/body")" "login CSRF refused"
assert_eq 400 "$(http_status GET "/v1/auth/oidc/callback?state=$T.forged&error=access_denied" "")" "a forged state"
ctl --token "$ADMIN" audit --json >"$WORK/audit.json"
assert_eq "$(printf 'client=127.0.0.1 reason=%s\n' "the token's RS256 signature does not verify with the provider's key" \
    "the token's audience is not this client (\"openmtd\")" "the token has expired" \
    "the token is signed with \"none\"; only RS256 and ES256 are accepted" \
    "no value of the token's \"groups\" claim is mapped to a role" "$R" "$R" "$R" | sort)" \
    "$(jq -r '.audit[] | select(.action == "signin.failed") | .detail' "$WORK/audit.json" | sort)" \
    "the failed sign-ins in the audit log"
assert_eq "oidc" "$(jq -r '[.audit[] | select(.action | startswith("signin.")) | .actor] | unique | join(" ")' "$WORK/audit.json")" "the sign-in's actor"
assert_eq 3 "$(jq '[.audit[] | select(.action == "signin.ok")] | length' "$WORK/audit.json")" "the sign-ins that made a session"
grep -q "$ALICE\|$CAROL\|code=" "$WORK/audit.json" && fail "a session token or code is in the audit log"
ok "tampered signature, wrong audience, expiry, alg none, unmapped role, replayed and forged state, login CSRF: refused and audited"

# --- sign-out ---
assert_eq 400 "$(http_status POST /v1/auth/oidc/logout "$ADMIN")" "an admin token does not sign out"
assert_eq 200 "$(http_status GET /v1/admin/session "$ADMIN")" "and stays valid"
assert_eq 200 "$(http_status POST /v1/auth/oidc/logout "" -H "Cookie: mtd_session=$CAROL" -H 'X-Openmtd-Console: 1' -D "$WORK/h")" "carol signs out"
assert_eq "mtd_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict" "$(tr -d '\r' <"$WORK/h" | sed -n 's/^Set-Cookie: //p')" "the cookie cleared"
assert_eq 401 "$(http_status GET /v1/admin/session "$CAROL")" "carol's session after sign-out"
assert_eq 200 "$(http_status GET /v1/admin/session "$ALICE")" "alice's is untouched"
ok "sign-out revokes the session and clears the cookie"

# --- the console's "Sign in with SSO", in Chromium ---
curl -sf "$ISSUER/test/user?u=alice" >/dev/null
CONSOLE_URL=$URL TENANT=$T CONSOLE_DIR=$SRC/console node "$OIDC_DIR/console_sso.mjs" >"$WORK/console.out" 2>&1 ||
    fail "the console's SSO sign-in in Chromium: $(cat "$WORK/console.out")"
cat "$WORK/console.out"
PASSED=$((PASSED + $(grep -c '^ok - ' "$WORK/console.out")))

# --- rate limit: a success clears the address's count; 10 failures then 429 ---
assert_eq 200 "$(signin alice)" "alice signs in again"
for i in $(seq 1 10); do
    assert_eq 400 "$(http_status GET "/v1/auth/oidc/callback?state=$T.guess$i&code=x" "")" "bad state #$i"
done
assert_eq 429 "$(http_status GET "/v1/auth/oidc/callback?state=$T.guess11&code=x" "" -D "$WORK/h")" "the 11th failure"
RA=$(tr -d '\r' <"$WORK/h" | sed -n 's/^Retry-After: //p')
[ "$RA" -ge 1 ] && [ "$RA" -le 300 ] || fail "Retry-After is not within the 300 s window: [$RA]"
assert_eq 429 "$(http_status GET "/v1/auth/oidc/login?tenant=$T" "")" "a new sign-in from that address"
assert_eq 200 "$(http_status GET /v1/admin/session "$ALICE")" "sessions already made keep working"
assert_eq 18 "$(ctl --token "$ADMIN" audit --json | jq '[.audit[] | select(.action == "signin.failed")] | length')" "failures audited (not the 429s)"
ok "10 failed sign-ins from one address: 429 with Retry-After $RA s"

M=$(curl -sf "$URL/metrics")
assert_eq 'mtd_signin_total{result="ok"} 5
mtd_signin_total{result="failed"} 18
mtd_signin_total{result="limited"} 2' "$(grep '^mtd_signin_total' <<<"$M")" "the sign-in counters of /metrics"
ok "/metrics counts the sign-ins: 5 made, 18 refused, 2 limited"

# --- removing the sign-in ends the sessions it made, not the tenant's own tokens ---
live_sessions() {
    curl -sf -H "Authorization: Bearer $ADMIN" "$URL/v1/admin/tokens" |
        jq '[.tokens[] | select((.label | startswith("oidc:")) and .revoked_at == null)] | length'
}
LIVE=$(live_sessions)
[ "$LIVE" -ge 2 ] || fail "expected alice's sessions live before the removal, found $LIVE"
ctl --token "$ADMIN" oidc remove >"$WORK/remove.out" || fail "oidc remove: $(cat "$WORK/remove.out")"
assert_eq "OpenID Connect sign-in removed; $LIVE session(s) signed in through it revoked" "$(cat "$WORK/remove.out")" "what oidc remove says"
assert_eq 401 "$(http_status GET /v1/admin/session "$ALICE")" "alice's session after oidc remove"
assert_eq 200 "$(http_status GET /v1/admin/session "$ADMIN")" "the admin token after oidc remove"
assert_eq 0 "$(live_sessions)" "no live session left"
assert_eq "sessions_revoked=$LIVE" "$(ctl --token "$ADMIN" audit --json | jq -r '[.audit[] | select(.action == "oidc.remove")][-1].detail')" "the removal audited with the sessions it ended"
expect_fail "oidc show after the removal" ctl --token "$ADMIN" oidc show
ok "oidc remove revokes the sessions signed in through the provider and keeps the tenant's tokens"

stop_provider
stop_collector # exits 0 (under ASan: nothing leaked)
finish
