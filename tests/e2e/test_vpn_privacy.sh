#!/usr/bin/env bash
# What the VPN lets out, looked up in what the collector stored. An enrolled agent runs
# the VPN with its state in the client namespace (netns.sh); the user browses an
# allowed site (DNS, HTTP, HTTPS) and tries a blocked one by name and by address; the
# agent uploads. Under the default policy (report_connections: threats) the blocked
# flows arrive as connection records, detections and DNS events, and nothing about
# the allowed site is anywhere in the ledger, the queue or the tenant's store. With
# report_connections=all the allowed flows arrive too, with domain, sub-domain,
# protocol, port and counts. A TLS flow to a name of the tenant's tls_canaries whose
# chain does not verify is reported as a suspected interception; with the test's own
# CA as the trust store it is not. Each run of the VPN is one vpn_on and one vpn_off
# usage action. QUIC, plain UDP and other TCP are recorded with their protocols. With
# report_connections=off no connection or DNS record leaves, not even of a blocked
# flow, while its detection still does.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/netns.sh"
needs_root test_vpn_privacy
trap 'netns_down; cleanup' EXIT
netns_up "$WORK" || fail "namespaces not set up"

DATA=$WORK/data
start_collector "$DATA"
T=$("$BIN/mtdctl" --server "$URL" --token "$OPERATOR_TOKEN" tenant create vpn --json)
TID=$(jq -r .tenant_id <<<"$T"); ADMIN=$(jq -r .admin_token <<<"$T"); ENR=$(jq -r .enroll_token <<<"$T")
ctl() { "$BIN/mtdctl" --server "$URL" --token "$ADMIN" "$@"; }
ST=$WORK/agent
"$BIN/mtd-agent" enroll --state "$ST" --server "$URL" --token "$ENR" >/dev/null
printf 'blocked.test\n' >"$WORK/feed.txt"
q() { sqlite3 "$DATA/tenants/$TID/store.sqlite" "$1"; }
upload() { "$BIN/mtd-agent" run --state "$ST" --once >/dev/null 2>"$WORK/run.err" || fail "run --once: $(cat "$WORK/run.err")"; }

browse() {
    inc curl -sf --max-time 10 http://good.test/index.html >/dev/null || fail "http://good.test through the tunnel"
    inc curl -sf --max-time 10 --cacert "$WORK/server.pem" https://good.test/index.html >/dev/null || fail "https://good.test"
    inc curl -s --max-time 5 https://blocked.test/ >/dev/null 2>&1 && fail "blocked.test answered"
    inc curl -s --max-time 5 --cacert "$WORK/server.pem" --resolve blocked.test:443:$BLOCKED_IP https://blocked.test/ >/dev/null 2>&1 &&
        fail "blocked.test by its address answered"
    return 0
}

start_vpn "$WORK/vpn.log" --state "$ST" --window 1 --feed "$WORK/feed.txt" || fail "vpn --state did not start"
browse
stop_vpn || fail "vpn exited $? on SIGTERM"
upload
assert_eq "1" "$(q "select count(*) from ev_net_connection where threat=1 and subdomain='blocked.test' and ip='$BLOCKED_IP' and port=443 and protocol='https'")" "the blocked TLS flow's record"
assert_eq "0" "$(q "select count(*) from ev_net_connection where threat=0")" "records of allowed flows"
assert_eq "blocked.test" "$(q "select group_concat(distinct qname) from ev_net_dns")" "DNS events: the blocked name only"
assert_eq "https://blocked.test/|domain" "$(q "select url || '|' || url_scope from ev_web_detection")" "the web detection, cut to its domain"
q "select evidence from ev_threat_detection" | grep -q "TLS server_name blocked: listed host blocked.test" || fail "no threat detection of the TLS block"
sqlite3 "$DATA/tenants/$TID/store.sqlite" .dump >"$WORK/store.dump"
"$BIN/mtd-agent" privacy queued --state "$ST" >"$WORK/queued.txt" 2>&1 || true
cat "$ST/ledger.jsonl" "$WORK/queued.txt" "$WORK/store.dump" >"$WORK/everything"
assert_eq 0 "$(grep -c -e "good\.test" -e "$GOOD_IP" "$WORK/everything" || true)" "good.test or its address in the ledger, queue or store"
assert_eq "vpn_off|1 vpn_on|1" "$(q "select action || '|' || sum(count) from ev_usage_action where action like 'vpn_%' group by action order by action" | tr '\n' ' ' | sed 's/ $//')" "the VPN's usage actions"
ok "under the default policy only the blocked flows left the device; nothing about good.test is in the ledger, queue or store"

printf '{"report_connections": "all", "tls_canaries": ["canary.test"]}' >"$WORK/pol.json"
ctl policy set "$WORK/pol.json" >/dev/null
upload # fetches the policy
start_vpn "$WORK/vpn2.log" --state "$ST" --window 1 --feed "$WORK/feed.txt" || fail "vpn did not start again"
browse
inc curl -s --max-time 5 --cacert "$WORK/server.pem" https://canary.test/ >/dev/null || fail "https://canary.test"
for _ in $(seq 1 50); do grep -q "TLS interception suspected" "$WORK/vpn2.log" && break; sleep 0.2; done
# a QUIC ClientHello over two Initials naming blocked.test, a plain datagram, other TCP
python3 "$(dirname "$0")/quic_initial.py" blocked.test "$WORK"
cat >"$WORK/udp.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)
for f in sys.argv[2:]:
    s.sendto(open(f, "rb").read() if f != "-" else b"plain datagram", (sys.argv[1], 443))
    try:
        s.recv(65536)
    except socket.timeout:
        pass
PY
inc python3 "$WORK/udp.py" $GOOD_IP "$WORK/p1.bin" "$WORK/p2.bin"
inc python3 "$WORK/udp.py" $GOOD_IP -
inc bash -c "exec 3<>/dev/tcp/$GOOD_IP/9 && echo not-http >&3" || fail "a TCP connection to port 9"
stop_vpn
upload
assert_eq "https|443|1" "$(q "select protocol || '|' || port || '|' || count(*) from ev_net_connection where threat=0 and subdomain='good.test' and protocol='https' group by protocol, port")" "the allowed HTTPS record"
assert_eq "good.test|good.test|$GOOD_IP" "$(q "select domain || '|' || subdomain || '|' || ip from ev_net_connection where threat=0 and protocol='http'")" "the allowed HTTP record: domain, sub-domain, address"
[ "$(q "select bytes_in > 0 and bytes_out > 0 and packets_in > 0 and packets_out > 0 from ev_net_connection where threat=0 and protocol='http'")" = 1 ] ||
    fail "byte and packet counts: $(q "select bytes_out, bytes_in, packets_out, packets_in from ev_net_connection where protocol='http'")"
[ "$(q "select count(*) from ev_net_connection where protocol='dns' and threat=0")" -ge 1 ] || fail "no DNS flow record"
assert_eq "quic|blocked.test|443|1" "$(q "select protocol || '|' || subdomain || '|' || port || '|' || threat from ev_net_connection where protocol='quic'")" "the blocked QUIC flow's record"
assert_eq "$GOOD_IP|443|0" "$(q "select ip || '|' || port || '|' || threat from ev_net_connection where protocol='udp'")" "the plain UDP flow's record"
assert_eq "$GOOD_IP|9|0" "$(q "select ip || '|' || port || '|' || threat from ev_net_connection where protocol='tcp'")" "the other TCP flow's record"
ok "with report_connections=all the allowed flows arrive with domain, sub-domain, protocol (HTTP, HTTPS, DNS, QUIC, UDP, TCP), port and counts"

assert_eq "1" "$(q "select count(*) from ev_threat_detection where threat_name='Suspected TLS interception' and category='network' and source='network' and evidence like '%canary.test at $GOOD_IP:443%'")" "the canary's failed chain"
start_vpn "$WORK/vpn3.log" --state "$ST" --tls-trust "$WORK/server.pem" --feed "$WORK/feed.txt" || fail "vpn --tls-trust did not start"
inc curl -s --max-time 5 --cacert "$WORK/server.pem" https://canary.test/ >/dev/null || fail "https://canary.test"
browse # its records and detections stay queued while the policy changes below
sleep 1
stop_vpn
grep -q "TLS interception suspected" "$WORK/vpn3.log" && fail "a chain that verifies against --tls-trust was reported"
ok "a canary name whose chain does not verify is a network threat; one that verifies is not"

# the records queued under report_connections=all are not sent once it is off, and the
# detections queued with them are not lost with them
printf '{"report_connections": "off"}' >"$WORK/pol.json"
ctl policy set "$WORK/pol.json" >/dev/null
counts() { q "select (select count(*) from ev_net_connection) || ' ' || (select count(*) from ev_net_dns) || ' ' || (select count(*) from ev_web_detection)"; }
read -r CONN0 DNS0 DET0 <<<"$(counts)"
upload
grep -q "queued records the tenant's current policy forbids dropped, not sent" "$WORK/run.err" ||
    fail "no queued record dropped on the policy change: $(cat "$WORK/run.err")"
read -r CONN1 DNS1 DET1 <<<"$(counts)"
assert_eq "$CONN0 $DNS0" "$CONN1 $DNS1" "connection and DNS records queued before report_connections=off"
[ "$DET1" -gt "$DET0" ] || fail "the detections queued with them were lost ($DET0 before, $DET1 after)"
ok "records queued before report_connections=off are dropped, not sent; the detections queued with them arrive"

CONN0=$CONN1 DNS0=$DNS1 DET0=$DET1
start_vpn "$WORK/vpn4.log" --state "$ST" --window 1 --feed "$WORK/feed.txt" || fail "vpn did not start under report_connections=off"
browse
sleep 1.2 # a window's end
stop_vpn
upload
read -r CONN1 DNS1 DET1 <<<"$(counts)"
assert_eq "$CONN0 $DNS0" "$CONN1 $DNS1" "connection and DNS records under report_connections=off"
[ "$DET1" -gt "$DET0" ] || fail "no web.detection of the blocked flow under report_connections=off ($DET0 before, $DET1 after)"
ok "under report_connections=off no connection or DNS record leaves the device, not even of a blocked flow; its detection does"
finish
