#!/usr/bin/env bash
# The DNS filter against a real upstream: unbound on loopback answering only its own
# test zone (local-zone "." refuse: it never recurses). Blocked names get NXDOMAIN (and
# their sub-domains), use-application-dns.net NXDOMAIN, allowed ones the upstream's
# answer, over UDP and TCP (pipelined), EDNS0 kept; an upstream that does not answer
# gives SERVFAIL; malformed and looping messages get FORMERR and the filter goes on; a
# wildcard listen address is refused.
source "$(dirname "$0")/lib.sh"
command -v dig >/dev/null || fail "dig is not installed (scripts/install-deps)"

source "$(dirname "$0")/unbound.sh"
UP=$(port); FP=$(port); DEAD=$(port); F2=$(port)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; cleanup' EXIT

start_unbound "$UP" '    local-zone: "example.test." static
    local-data: "www.example.test. 300 IN A 192.0.2.10"
    local-data: "www.example.test. 300 IN AAAA 2001:db8::10"
    local-zone: "evil.example." static
    local-data: "evil.example. 300 IN A 203.0.113.66"
    local-zone: "evil.example.net." static
    local-data: "evil.example.net. 300 IN A 192.0.2.20"
    local-zone: "fresh.example." static
    local-data: "fresh.example. 300 IN A 192.0.2.30"
    local-data: "fresh.example. 300 IN A 192.0.2.66"
    local-zone: "fresh6.example." static
    local-data: "fresh6.example. 300 IN AAAA 2001:db8::66"
    local-data: "fresh6.example. 300 IN A 192.0.2.31"'
for _ in $(seq 1 100); do dig +short +time=1 +tries=1 @127.0.0.1 -p "$UP" www.example.test 2>/dev/null | grep -q 192.0.2.10 && break; sleep 0.1; done
assert_eq "192.0.2.10" "$(dig +short @127.0.0.1 -p "$UP" www.example.test)" "unbound answers its zone"
assert_eq "REFUSED" "$(dig @127.0.0.1 -p "$UP" www.debian.org | sed -n 's/.*status: \([A-Z]*\).*/\1/p')" "unbound refuses the rest"

printf 'evil.example\ntracker.example\n' >"$WORK/block.txt"
# a command-and-control server's addresses, as a STIX bundle gives them (IPv6 unbracketed)
cat >"$WORK/c2.json" <<'JSON'
{"type": "bundle", "id": "bundle--c2", "objects": [
 {"type": "indicator", "spec_version": "2.1", "id": "indicator--c2a", "name": "TestC2",
  "indicator_types": ["malicious-activity"], "pattern_type": "stix",
  "pattern": "[ipv4-addr:value = '192.0.2.66'] OR [ipv6-addr:value = '2001:DB8:0::66']",
  "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z", "valid_from": "2026-01-01T00:00:00Z"}]}
JSON
"$BIN/mtd-agent" feed compile --out "$WORK/web.db" "$WORK/block.txt" "$WORK/c2.json" --quiet >/dev/null
"$BIN/mtd-agent" dns-filter --listen "127.0.0.1:$FP" --upstream "127.0.0.1:$UP" --feed "$WORK/web.db" \
    >"$WORK/filter.out" 2>"$WORK/filter.err" &
PIDS+=($!)
FPID=$!
for _ in $(seq 1 100); do grep -q serving "$WORK/filter.out" 2>/dev/null && break; sleep 0.05; done
grep -q "dns-filter: serving 127.0.0.1:$FP (UDP and TCP), forwarding to 127.0.0.1:$UP, 4 entries; ready in" "$WORK/filter.out" ||
    fail "filter did not start: $(cat "$WORK/filter.out" "$WORK/filter.err")"

q() { dig +time=2 +tries=1 @127.0.0.1 -p "$FP" "$@"; }
status() { q "$@" | sed -n 's/.*status: \([A-Z]*\).*/\1/p'; }
assert_eq "192.0.2.10" "$(q +short www.example.test)" "allowed name over UDP"
assert_eq "2001:db8::10" "$(q +short www.example.test AAAA)" "allowed AAAA over UDP"
assert_eq "NXDOMAIN" "$(status evil.example)" "blocked name (the upstream would answer it)"
assert_eq "NXDOMAIN" "$(status a.b.EVIL.example)" "a sub-domain of a blocked name, any case"
assert_eq "NXDOMAIN" "$(status tracker.example AAAA)" "blocked AAAA"
assert_eq "192.0.2.20" "$(q +short evil.example.net)" "a name that only ends like a blocked one is forwarded"
assert_eq "NXDOMAIN" "$(status use-application-dns.net)" "the DoH canary"
ok "UDP: blocked names and their sub-domains NXDOMAIN, others forwarded, DoH canary NXDOMAIN"

assert_eq "192.0.2.10" "$(q +tcp +short www.example.test)" "allowed name over TCP"
assert_eq "NXDOMAIN" "$(status +tcp evil.example)" "blocked name over TCP"
q +edns=0 +bufsize=1232 evil.example >"$WORK/edns.txt"
grep -q "EDNS: version: 0" "$WORK/edns.txt" || fail "no OPT record in a blocked answer to an EDNS query: $(cat "$WORK/edns.txt")"
q +edns=0 www.example.test >"$WORK/edns2.txt"
grep -q "EDNS: version: 0" "$WORK/edns2.txt" || fail "EDNS lost on the forwarded path"
q +noedns evil.example | grep -q "OPT PSEUDOSECTION" && fail "an OPT record in the answer to a query without one"
ok "TCP answers; EDNS0 passes through and blocked answers keep it"

# a name no feed lists whose answer points at a listed address is blocked as well
assert_eq "NXDOMAIN" "$(status fresh.example)" "an A answer with a listed IPv4 address, UDP"
assert_eq "NXDOMAIN" "$(status +tcp fresh.example)" "the same over TCP"
assert_eq "NXDOMAIN" "$(status fresh6.example AAAA)" "an AAAA answer with a listed IPv6 address"
assert_eq "192.0.2.31" "$(q +short fresh6.example)" "the same name's A answer, no listed address, forwarded"
q +edns=0 fresh.example >"$WORK/edns3.txt"
grep -q "EDNS: version: 0" "$WORK/edns3.txt" || fail "no OPT record in a blocked answer by address: $(cat "$WORK/edns3.txt")"
assert_eq "http://[2001:db8:0:0::66]/ block TestC2" "$("$BIN/mtd-agent" url-check --feed "$WORK/web.db" 'http://[2001:db8:0:0::66]/' --json | jq -r '"\(.url) \(.verdict) \(.threat_name)"')" "an IPv6 indicator matches its URL in any spelling"
ok "answers pointing at a listed IPv4 or IPv6 address are blocked over UDP and TCP"

# pipelining: three queries in one write on one TCP connection, three answers in order
python3 - "$FP" >"$WORK/pipe.txt" <<'PY'
import socket, struct, sys
def query(i, name, qtype=1):
    q = struct.pack(">HHHHHH", 0x1000 + i, 0x0100, 1, 0, 0, 0)
    for l in name.split("."):
        q += bytes([len(l)]) + l.encode()
    return q + b"\0" + struct.pack(">HH", qtype, 1)
msgs = [query(1, "www.example.test"), query(2, "evil.example"), query(3, "www.example.test", 28)]
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"".join(struct.pack(">H", len(m)) + m for m in msgs))
def read(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c: raise SystemExit("closed early")
        b += c
    return b
for _ in msgs:
    (n,) = struct.unpack(">H", read(2))
    r = read(n)
    print("%04x rcode=%d answers=%d" % (struct.unpack(">H", r[:2])[0], r[3] & 15, struct.unpack(">H", r[6:8])[0]))
PY
assert_eq "1001 rcode=0 answers=1
1002 rcode=3 answers=0
1003 rcode=0 answers=1" "$(cat "$WORK/pipe.txt")" "pipelined TCP answers"
ok "TCP pipelining: queries written back to back are answered in order"

# hostile messages: garbage, a compression loop, a name over 255 bytes
python3 - "$FP" >"$WORK/bad.txt" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
hdr = lambda i: struct.pack(">HHHHHH", i, 0x0100, 1, 0, 0, 0)
loop = hdr(0x2001) + b"\xc0\x0c" + struct.pack(">HH", 1, 1)
longname = hdr(0x2002) + (b"\x3f" + b"a" * 63) * 5 + b"\0" + struct.pack(">HH", 1, 1)
for m in (b"\x20\x03garbage", loop, longname):
    s.sendto(m, ("127.0.0.1", int(sys.argv[1])))
    r, _ = s.recvfrom(4096)
    print("%04x rcode=%d" % (struct.unpack(">H", r[:2])[0], r[3] & 15))
PY
assert_eq "2003 rcode=1
2001 rcode=1
2002 rcode=1" "$(cat "$WORK/bad.txt")" "FORMERR for malformed messages"
assert_eq "192.0.2.10" "$(q +short www.example.test)" "still serving after malformed messages"
ok "malformed messages, compression loops and over-long names get FORMERR; the filter goes on"

# an upstream that never answers: SERVFAIL after the timeout
"$BIN/mtd-agent" dns-filter --listen "127.0.0.1:$F2" --upstream "127.0.0.1:$DEAD" --feed "$WORK/block.txt" \
    --timeout-ms 300 >"$WORK/f2.out" 2>&1 &
PIDS+=($!)
F2PID=$!
for _ in $(seq 1 100); do grep -q serving "$WORK/f2.out" 2>/dev/null && break; sleep 0.05; done
assert_eq "SERVFAIL" "$(dig +time=3 +tries=1 @127.0.0.1 -p "$F2" www.example.test | sed -n 's/.*status: \([A-Z]*\).*/\1/p')" "dead upstream"
assert_eq "SERVFAIL" "$(dig +tcp +time=3 +tries=1 @127.0.0.1 -p "$F2" www.example.test | sed -n 's/.*status: \([A-Z]*\).*/\1/p')" "dead upstream over TCP"
assert_eq "NXDOMAIN" "$(dig +time=2 +tries=1 @127.0.0.1 -p "$F2" evil.example | sed -n 's/.*status: \([A-Z]*\).*/\1/p')" "blocking needs no upstream"
ok "an upstream that does not answer gives SERVFAIL; blocking goes on without it"

# 1,000 queries in flight at once, more than the 256 slots taken at first: every one
# waits for its timeout (slots are added as they are needed), none gets SERVFAIL at once
cat >"$WORK/flight.py" <<'PY'
import select, socket, struct, sys, time
# 20 sockets of 50 queries, sent over 200 ms: no receive buffer (the client's, the
# filter's) overflows, and all 1,000 are in flight before the first one's 300 ms pass
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(20)]
sent = {}
for i in range(1000):
    q = struct.pack(">HHHHHH", i, 0x0100, 1, 0, 0, 0) + b"\x03www\x07example\x04test\x00\x00\x01\x00\x01"
    sent[i] = time.monotonic()
    socks[i % 20].sendto(q, ("127.0.0.1", int(sys.argv[1])))
    if i % 5 == 4:
        time.sleep(0.001)
waits, end = [], time.monotonic() + 5
while len(waits) < 1000 and time.monotonic() < end:
    for s in select.select(socks, [], [], 0.5)[0]:
        b = s.recv(600)
        if b[3] & 15 == 2:  # SERVFAIL
            waits.append(time.monotonic() - sent[struct.unpack(">H", b[:2])[0]])
print(len(waits), "answered, the quickest after %d ms" % (min(waits) * 1000 if waits else -1))
PY
out=$(python3 "$WORK/flight.py" "$F2")
[ "${out%% *}" = 1000 ] || fail "1,000 queries in flight to a dead upstream: $out"
quick=$(echo "$out" | sed 's/.*after \([0-9-]*\) ms/\1/')
[ "$quick" -ge 250 ] || fail "a query in flight got SERVFAIL before its 300 ms timeout: $out"
ok "1,000 queries in flight each wait for the upstream (slots grow past the first 256)"

# the browsers' URL check API, on a Unix socket and on loopback HTTP
F3=$(port)
"$BIN/mtd-agent" dns-filter --listen "127.0.0.1:$F3" --upstream "127.0.0.1:$UP" --feed "$WORK/web.db" \
    --api-socket "$WORK/url.sock" --api-listen 127.0.0.1:0 >"$WORK/f3.out" 2>&1 &
PIDS+=($!)
F3PID=$!
for _ in $(seq 1 100); do grep -q serving "$WORK/f3.out" 2>/dev/null && break; sleep 0.05; done
API=$(sed -n 's/.*URL check API on \(127.0.0.1:[0-9]*\).*/\1/p' "$WORK/f3.out")
[ -n "$API" ] || fail "no API address: $(cat "$WORK/f3.out")"
assert_eq 600 "$(stat -c %a "$WORK/url.sock")" "API socket mode"
python3 - "$WORK/url.sock" >"$WORK/api.txt" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(5)
s.sendall(b"https://login.evil.example/x?y=1\nhttps://www.example.test/\n")
buf = b""
while buf.count(b"\n") < 2:
    buf += s.recv(4096)
sys.stdout.write(buf.decode())
PY
assert_eq '{"url":"https://login.evil.example/x?y=1","verdict":"block","threat_name":"block","category":"malware","matched":"evil.example/"}
{"url":"https://www.example.test/","verdict":"allow","threat_name":null,"category":null,"matched":null}' "$(cat "$WORK/api.txt")" "Unix socket answers"
hc() { curl -s -o "$WORK/body" -w '%{http_code}' "$@"; }
assert_eq 200 "$(hc -H 'X-Openmtd-Browser: org.mozilla.firefox' --get --data-urlencode 'url=http://tracker.example/p' "http://$API/v1/url-check")" "HTTP check"
assert_eq "block tracker.example/" "$(jq -r '"\(.verdict) \(.matched)"' "$WORK/body")" "HTTP verdict"
assert_eq 403 "$(hc --get --data-urlencode 'url=http://tracker.example/p' "http://$API/v1/url-check")" "no X-Openmtd-Browser header"
assert_eq 403 "$(hc -H 'X-Openmtd-Browser: x' -H 'Host: rebind.attacker.example' --get --data-urlencode 'url=http://a/' "http://$API/v1/url-check")" "a foreign Host header"
assert_eq 404 "$(hc -X OPTIONS -H 'X-Openmtd-Browser: x' "http://$API/v1/url-check")" "a CORS preflight"
expect_fail "a non-loopback API address" "$BIN/mtd-agent" dns-filter --listen "127.0.0.1:$(port)" --upstream "127.0.0.1:$UP" --feed "$WORK/web.db" --api-listen 192.0.2.1:8080
ok "the URL check API answers on its Unix socket (0600) and loopback HTTP, only to a browser's own requests"

kill -TERM "$F3PID"
wait "$F3PID" || fail "third dns-filter exited $? on SIGTERM"
[ ! -e "$WORK/url.sock" ] || fail "API socket left behind"
kill -TERM "$FPID" "$F2PID"
wait "$FPID" || fail "dns-filter exited $? on SIGTERM"
wait "$F2PID" || fail "second dns-filter exited $? on SIGTERM"

expect_fail "a wildcard listen address" "$BIN/mtd-agent" dns-filter --listen 0.0.0.0:5399 --upstream "127.0.0.1:$UP" --feed "$WORK/web.db"
grep -q "wildcard address would answer anyone" <<<"$LAST_ERR" || fail "wildcard: $LAST_ERR"
expect_fail "a feed that does not exist" "$BIN/mtd-agent" dns-filter --listen "127.0.0.1:$F2" --upstream "127.0.0.1:$UP" --feed "$WORK/nope"
grep -q "nope: cannot open" <<<"$LAST_ERR" || fail "missing feed: $LAST_ERR"
ok "wildcard listen addresses and missing feeds are refused with one line"

# url-check's --feed runs up to the URLs; a mistyped first feed is named as the file it
# is, not taken for a URL
expect_fail "url-check with a feed that does not exist" "$BIN/mtd-agent" url-check --feed "$WORK/nope" http://evil.example/
grep -q "nope: cannot open" <<<"$LAST_ERR" || fail "url-check missing feed: $LAST_ERR"
assert_eq "block allow" "$("$BIN/mtd-agent" url-check --feed "$WORK/web.db" "$WORK/block.txt" http://www.evil.example/a http://www.example.test/ --json | jq -r .verdict | xargs)" "url-check verdicts after two feeds"
ok "url-check names a missing feed and splits feeds from URLs"
finish
