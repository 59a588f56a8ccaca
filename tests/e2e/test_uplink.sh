#!/usr/bin/env bash
# The uplink as deployed (issue 5): HTTPS with certificate verification and public-key
# pinning, through an HTTP proxy (tinyproxy, started here on loopback), and honouring
# 429 with Retry-After without losing what it could not send.
source "$(dirname "$0")/lib.sh"

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=mtd test" \
    -addext "subjectAltName=IP:127.0.0.1" -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
DATA=$WORK/data
start_collector "$DATA" --tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem"
[[ "$URL" == https://127.0.0.1:* ]] || fail "collector URL $URL is not https"
PORT=${URL##*:}
CA=$WORK/cert.pem
TOK=$("$BIN/mtdctl" --server "$URL" --token "$OPERATOR_TOKEN" --ca-file "$CA" tenant create up --json)
ENR=$(jq -r .enroll_token <<<"$TOK"); ADMIN=$(jq -r .admin_token <<<"$TOK")

# certificate verification: an untrusted self-signed certificate is refused
expect_fail "enroll without trusting the certificate" "$BIN/mtd-agent" enroll --state "$WORK/a0" --server "$URL" --token "$ENR"
grep -qi "certificate" <<<"$LAST_ERR" || fail "not a certificate error: $LAST_ERR"
# pinning: the right key works, any other is refused even with a trusted CA
PIN="sha256//$(openssl x509 -in "$CA" -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)"
expect_fail "enroll with a wrong pin" "$BIN/mtd-agent" enroll --state "$WORK/a1" --server "$URL" --token "$ENR" \
    --ca-file "$CA" --pin "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
grep -qi "pinned\|public key" <<<"$LAST_ERR" || fail "not a pinning error: $LAST_ERR"
ST=$WORK/agent
"$BIN/mtd-agent" enroll --state "$ST" --server "$URL" --token "$ENR" --ca-file "$CA" --pin "$PIN" >/dev/null
ok "the agent verifies the collector's certificate and its pinned public key"

# through an HTTP proxy
PPORT=$((20000 + RANDOM % 20000))
cat >"$WORK/tinyproxy.conf" <<CONF
Port $PPORT
Listen 127.0.0.1
Timeout 30
LogFile "$WORK/tinyproxy.log"
LogLevel Connect
MaxClients 20
Allow 127.0.0.1
ConnectPort $PORT
CONF
tinyproxy -d -c "$WORK/tinyproxy.conf" >/dev/null 2>&1 &
PROXY_PID=$!
trap 'kill $PROXY_PID 2>/dev/null || true; cleanup' EXIT
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$PPORT") 2>/dev/null && break; sleep 0.05; done
https_proxy=http://127.0.0.1:$PPORT no_proxy= NO_PROXY= "$BIN/mtd-agent" run --state "$ST" --once >/dev/null \
    || fail "upload through the proxy failed"
grep -q "CONNECT.*127.0.0.1:$PORT" "$WORK/tinyproxy.log" || fail "the proxy saw no CONNECT: $(tail -3 "$WORK/tinyproxy.log")"
assert_eq 1 "$("$BIN/mtdctl" --server "$URL" --token "$ADMIN" --ca-file "$CA" devices --json | jq '.devices | length')" "device reported through the proxy"
ok "the agent uploads through an HTTP proxy (libcurl's https_proxy), TLS end to end"
kill "$PROXY_PID"

# 429 with Retry-After: the agent waits at least as told (and up to half again, at
# random, so a fleet does not return in one wave) and keeps its events
stop_collector
start_collector "$DATA" --tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem" --max-inflight 0
# the agent stored the old URL: the port changed, so point it at the new one
jq --arg u "$URL" '.server = $u' "$ST/agent.json" >"$WORK/a.json" && cp "$WORK/a.json" "$ST/agent.json"
t0=$(date +%s%N)
expect_fail "upload while the collector is overloaded" "$BIN/mtd-agent" run --state "$ST" --once
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
grep -q "HTTP 429 after 3 attempts" <<<"$LAST_ERR" || fail "not a 429: $LAST_ERR"
[ "$ms" -ge 2000 ] || fail "the agent did not wait for Retry-After: 1 between its 3 attempts (${ms} ms)"
queued=$("$BIN/mtd-agent" privacy queued --state "$ST" | grep -c '"event"')
[ "$queued" -eq 3 ] || fail "$queued events queued after the 429s, expected 3"
stop_collector
start_collector "$DATA" --tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem"
jq --arg u "$URL" '.server = $u' "$ST/agent.json" >"$WORK/a.json" && cp "$WORK/a.json" "$ST/agent.json"
"$BIN/mtd-agent" run --state "$ST" --once >/dev/null || fail "drain after the overload"
assert_eq "nothing is waiting to be sent" "$("$BIN/mtd-agent" privacy queued --state "$ST")" "spool after the drain"
ok "429 + Retry-After: the agent waits as told (${ms} ms for 3 attempts), keeps its 3 events, sends them later"
stop_collector
finish
