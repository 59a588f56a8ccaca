#!/usr/bin/env bash
# The self-looping VPN in network namespaces the test makes (netns.sh): curl in the
# client namespace reaches the test internet through the agent's TUN. An allowed
# site arrives byte for byte (HTTP and HTTPS, 100 MB each way too), a blocked name fails at DNS,
# a blocked name reached by its IP gets a reset on its TLS server_name and its HTTP
# Host, a blocked IP is refused at the SYN, a closed port is refused as it would be
# directly, a QUIC Initial naming a blocked server is dropped while other datagrams
# pass; SIGTERM leaves nothing behind, kill -9 leaves only the rule, which the next
# start removes; --dns-only routes only the DNS address into the tunnel; at --mtu 576 a
# DNS answer the TUN cannot carry arrives truncated (then over TCP) and a fragmented
# query (lwIP's path, not the one read off the packet) is answered.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/netns.sh"
needs_root test_vpn
trap 'netns_down; cleanup' EXIT
netns_up "$WORK" || fail "namespaces not set up"

head -c 100000000 /dev/urandom >"$WORK/www/big.bin"
head -c 3000000 /dev/urandom >"$WORK/www/file.bin"
printf 'blocked.test\nexample.com\n' >"$WORK/feed.txt"
printf '198.51.100.21\n' >"$WORK/ips.txt"
ini ip addr add 198.51.100.21/32 dev lo
assert_eq "0 0 0" "$(vpn_leftovers | tr '\n' ' ' | sed 's/ $//')" "nothing of the tunnel before it starts"

start_vpn "$WORK/vpn.log" --feed "$WORK/feed.txt" "$WORK/ips.txt" || fail "vpn did not start"
# mtd-agent vpn runs on as mtd-agent-vpn (same process), which loads none of the
# libraries the rest of the agent needs (src/agent/main.c, vpn_exec)
[ "$(readlink "/proc/$VPN_PID/exe")" = "$BIN/mtd-agent-vpn" ] || fail "the VPN runs as $(readlink "/proc/$VPN_PID/exe"), not mtd-agent-vpn"
! grep -E 'lib(curl|microhttpd|yara|sqlite3|plist|gnutls)' "/proc/$VPN_PID/maps" >/dev/null ||
    fail "the VPN process loaded $(grep -oE 'lib(curl|microhttpd|yara|sqlite3|plist|gnutls)[^ ]*' "/proc/$VPN_PID/maps" | sort -u | tr '\n' ' ')"
ok "mtd-agent vpn runs as mtd-agent-vpn in the same process, without libcurl, libmicrohttpd, libyara, SQLite or libplist"
assert_eq "1" "$(ip -n "$NS_C" rule | grep -c 'not from all fwmark 0x6d74 lookup 28020')" "the tunnel's rule"
assert_eq "default dev $TUN proto static scope link" "$(ip -n "$NS_C" route show table 28020 | sed "s/ *$//")" "full mode routes everything"

# DNS: the tunnel's resolver is the agent's DNS filter
assert_eq "$GOOD_IP" "$(inc dig +short +time=2 +tries=1 @$TUN_DNS good.test)" "good.test through the tunnel's DNS"
inc dig +time=2 +tries=1 @$TUN_DNS blocked.test >"$WORK/dig" || true
grep -q "status: NXDOMAIN" "$WORK/dig" || fail "blocked.test not NXDOMAIN: $(cat "$WORK/dig")"
inc dig +tcp +time=2 +tries=1 @$TUN_DNS blocked.test >"$WORK/dig" || true
grep -q "status: NXDOMAIN" "$WORK/dig" || fail "blocked.test over TCP not NXDOMAIN: $(cat "$WORK/dig")"
rc=0; inc curl -s --max-time 5 http://blocked.test/ >/dev/null 2>&1 || rc=$?
assert_eq 6 "$rc" "curl to blocked.test: could not resolve host"
ok "DNS in the tunnel is filtered: good.test resolves, blocked.test is NXDOMAIN (UDP and TCP), curl cannot resolve it"

# allowed: byte for byte, by name
inc curl -sf --max-time 20 -o "$WORK/got.bin" http://good.test/file.bin || fail "http://good.test/file.bin through the tunnel"
cmp -s "$WORK/got.bin" "$WORK/www/file.bin" || fail "HTTP bytes differ through the tunnel"
inc curl -sf --max-time 20 --cacert "$WORK/server.pem" -o "$WORK/got.bin" https://good.test/file.bin || fail "https://good.test/file.bin"
cmp -s "$WORK/got.bin" "$WORK/www/file.bin" || fail "HTTPS bytes differ through the tunnel"
ok "an allowed site loads through the tunnel with identical bytes (HTTP and HTTPS)"

# blocked by name, reached by its address: reset on the TLS server_name and HTTP Host
rc=0; inc curl -s --max-time 5 --cacert "$WORK/server.pem" --resolve blocked.test:443:$BLOCKED_IP https://blocked.test/ >/dev/null 2>"$WORK/curl.err" || rc=$?
[ "$rc" = 35 ] || [ "$rc" = 56 ] || fail "https://blocked.test by IP: curl exit $rc, expected a reset (35 or 56)"
grep -q "blocked $BLOCKED_IP:443 by TLS server_name (blocked.test)" "$WORK/vpn.log" || fail "no TLS block in the log: $(cat "$WORK/vpn.log")"
rc=0; inc curl -s --max-time 5 --resolve blocked.test:80:$BLOCKED_IP http://blocked.test/ >/dev/null 2>&1 || rc=$?
[ "$rc" = 56 ] || [ "$rc" = 52 ] || fail "http://blocked.test by IP: curl exit $rc, expected a reset (56)"
grep -q "blocked $BLOCKED_IP:80 by HTTP Host (blocked.test)" "$WORK/vpn.log" || fail "no HTTP block in the log"
# the same address with an allowed name passes: the name decided, not the address
inc curl -sf --max-time 5 --cacert "$WORK/server.pem" --resolve good.test:443:$BLOCKED_IP https://good.test/ >/dev/null || fail "good.test at the blocked name's address"
ok "a blocked name reached by its IP is reset on its TLS server_name and its HTTP Host"

rc=0; inc curl -s --max-time 5 http://198.51.100.21/ >/dev/null 2>&1 || rc=$?
assert_eq 7 "$rc" "a blocked IP address: refused at the SYN"
grep -q "blocked 198.51.100.21:80 by IP address" "$WORK/vpn.log" || fail "no IP block in the log"
rc=0; inc curl -s --max-time 5 http://$GOOD_IP:81/ >/dev/null 2>&1 || rc=$?
assert_eq 7 "$rc" "a closed port through the tunnel: refused, as directly"
ok "a blocked IP and a closed port are refused at the SYN"

# UDP: datagrams relayed; the RFC 9001 QUIC Initial names example.com, which is blocked
cat >"$WORK/udp.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1.5)
data = open(sys.argv[2], "rb").read() if sys.argv[2] != "-" else b"plain datagram"
s.sendto(data, (sys.argv[1], 443))
try:
    print("echo" if s.recv(65536) == data else "other")
except socket.timeout:
    print("nothing")
PY
assert_eq echo "$(inc python3 "$WORK/udp.py" $GOOD_IP -)" "a plain UDP datagram through the tunnel"
assert_eq nothing "$(inc python3 "$WORK/udp.py" $GOOD_IP "$MTD_SRC/tests/data/webprot/quic_rfc9001_a2_client_initial.bin")" "a QUIC Initial naming example.com"
grep -q "by QUIC server_name (example.com)" "$WORK/vpn.log" || fail "no QUIC block in the log"
# a ClientHello over two Initials, the name in the one sent first: the first passes
# (nothing names a server yet), the second completes the name and is dropped, and so
# is the rest of that flow
python3 "$(dirname "$0")/quic_initial.py" blocked.test "$WORK"
cat >"$WORK/udp2.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1.5)
out = []
for f in sys.argv[2:]:
    data = open(f, "rb").read() if f != "-" else b"plain datagram"
    s.sendto(data, (sys.argv[1], 443))
    try:
        out.append("echo" if s.recv(65536) == data else "other")
    except socket.timeout:
        out.append("nothing")
print(" ".join(out))
PY
assert_eq "echo nothing nothing" "$(inc python3 "$WORK/udp2.py" $GOOD_IP "$WORK/p1.bin" "$WORK/p2.bin" -)" "a ClientHello over two Initials naming blocked.test"
grep -q "by QUIC server_name (blocked.test)" "$WORK/vpn.log" || fail "no QUIC block of the two-packet ClientHello in the log"
ok "UDP is relayed; a QUIC Initial naming a blocked server is dropped, also when its ClientHello spans two packets"

inc curl -sf --max-time 60 http://good.test/big.bin | sha256sum >"$WORK/big.got"
sha256sum <"$WORK/www/big.bin" >"$WORK/big.want"
cmp -s "$WORK/big.got" "$WORK/big.want" || fail "the 100 MB download differs: $(cat "$WORK/big.got")"
ok "a 100 MB download through the tunnel is intact"
inc curl -sf --max-time 60 -T "$WORK/www/big.bin" http://good.test/upload >"$WORK/up.got" || fail "the 100 MB upload through the tunnel"
assert_eq "$(cut -d' ' -f1 "$WORK/big.want")" "$(cat "$WORK/up.got")" "the SHA-256 the server computed of the 100 MB upload"
ok "a 100 MB upload through the tunnel is intact"

stop_vpn || fail "vpn exited with $? on SIGTERM"
assert_eq "0 0 0" "$(vpn_leftovers | tr '\n' ' ' | sed 's/ $//')" "rule, routes and device after SIGTERM"
inc curl -sf --max-time 5 http://good.test/ >/dev/null 2>&1 && fail "DNS through a stopped tunnel answered"
assert_eq "hello from good.test" "$(inc curl -sf --max-time 5 --resolve good.test:80:$GOOD_IP http://good.test/)" "the direct path after stop"
ok "SIGTERM removes the rule, the routes and the TUN"

start_vpn "$WORK/vpn2.log" --feed "$WORK/feed.txt" || fail "vpn did not start again"
kill -KILL "$VPN_PID"; wait "$VPN_PID" 2>/dev/null || true
sleep 0.2
assert_eq "1 0 0" "$(vpn_leftovers | tr '\n' ' ' | sed 's/ $//')" "after kill -9: only the rule is left (the device went with the process)"
start_vpn "$WORK/vpn3.log" --feed "$WORK/feed.txt" || fail "vpn did not start after kill -9"
grep -q "removed 1 rules and routes an earlier run left" "$WORK/vpn3.log" || fail "the dangling rule was not reported removed"
assert_eq "1" "$(ip -n "$NS_C" rule | grep -c 'lookup 28020')" "one rule after the restart"
inc curl -sf --max-time 5 http://good.test/ >/dev/null || fail "the restarted tunnel does not carry traffic"
stop_vpn || fail "vpn exited with $? on SIGTERM"
assert_eq "0 0 0" "$(vpn_leftovers | tr '\n' ' ' | sed 's/ $//')" "after kill -9, restart and stop"
ok "kill -9 then restart leaves no dangling routes"

start_vpn "$WORK/vpn4.log" --dns-only --feed "$WORK/feed.txt" || fail "vpn --dns-only did not start"
assert_eq "$TUN_DNS dev $TUN proto static scope link" "$(ip -n "$NS_C" route show table 28020 | sed "s/ *$//")" "--dns-only routes only the DNS address"
inc dig +time=2 +tries=1 @$TUN_DNS blocked.test >"$WORK/dig" || true
grep -q "status: NXDOMAIN" "$WORK/dig" || fail "--dns-only: blocked.test not NXDOMAIN"
# the tunnel's queries are decided in the relay's thread and their upstream answers come
# back from the filter's: a silent upstream is answered SERVFAIL by the filter's expiry
UNB=$(pgrep -f "unbound -c $WORK/unbound.conf")
kill -STOP $UNB
inc dig +time=5 +tries=1 @$TUN_DNS good.test >"$WORK/dig" || true
kill -CONT $UNB
grep -q "status: SERVFAIL" "$WORK/dig" || fail "--dns-only: a silent upstream not answered SERVFAIL: $(cat "$WORK/dig")"
assert_eq "$GOOD_IP" "$(inc dig +short +time=2 +tries=1 @$TUN_DNS good.test)" "good.test once the upstream answers again"
inc curl -sf --max-time 5 --cacert "$WORK/server.pem" --resolve blocked.test:443:$BLOCKED_IP https://blocked.test/ >/dev/null || fail "--dns-only: a TLS flow went into the tunnel"
stop_vpn
grep -q "vpn tcp=0 udp=3 " "$WORK/vpn4.log" || # the three digs, a flow each fail "--dns-only: flows other than DNS entered the tunnel: $(grep 'vpn tcp=' "$WORK/vpn4.log")"
ok "--dns-only filters DNS (SERVFAIL when the upstream is silent) and leaves every other flow out of the tunnel"

# DNS datagrams off lwIP at the smallest MTU: an answer the TUN cannot carry in one
# packet is sent truncated (TC) and the client gets it over TCP; a query the client's
# kernel had to fragment goes through lwIP, which reassembles it
start_vpn "$WORK/vpn5.log" --dns-only --mtu 576 --feed "$WORK/feed.txt" || fail "vpn --mtu 576 did not start"
inc dig +ignore +time=2 +tries=1 @$TUN_DNS big.test TXT >"$WORK/dig" || true
grep -Eq "flags: qr( [a-z]+)* tc" "$WORK/dig" || fail "--mtu 576: the 1,000-byte answer not truncated over UDP: $(cat "$WORK/dig")"
assert_eq 1000 "$(inc dig +short +time=2 +tries=1 @$TUN_DNS big.test TXT | tr -d '" \n' | wc -c)" "--mtu 576: big.test's TXT after dig's retry over TCP"
# (dig would get EMSGSIZE and ask over TCP: this client lets its kernel fragment)
frag_query() { # NAME: the rcode and answer count of a query with 1,000 bytes of EDNS option
    inc python3 - "$TUN_DNS" "$1" <<'PY'
import socket, struct, sys
q = struct.pack("!HHHHHH", 0x4242, 0x0100, 1, 0, 0, 1)
q += b"".join(bytes([len(l)]) + l.encode() for l in sys.argv[2].split(".")) + b"\0\0\1\0\1"
q += b"\0\0\x29\x04\xd0\0\0\0\0" + struct.pack("!H", 1004) + struct.pack("!HH", 65001, 1000) + bytes(1000)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, 10, 0)  # IP_MTU_DISCOVER (linux/in.h), IP_PMTUDISC_DONT
s.settimeout(3)
s.sendto(q, (sys.argv[1], 53))
a = s.recv(4096)
print(hex(struct.unpack("!H", a[:2])[0]), a[3] & 15, struct.unpack("!H", a[6:8])[0])
PY
}
frags() { inc awk '/^Ip:/ && n++ {print $20}' /proc/net/snmp; } # FragCreates
F0=$(frags)
assert_eq "0x4242 0 1" "$(frag_query good.test)" "--mtu 576: a fragmented query for good.test (ID, rcode, answers)"
assert_eq "0x4242 3 0" "$(frag_query blocked.test)" "--mtu 576: a fragmented query for blocked.test (NXDOMAIN)"
[ "$(frags)" -ge $((F0 + 4)) ] || fail "--mtu 576: the client's kernel did not fragment the queries ($F0 -> $(frags) fragments)"
stop_vpn
ok "--mtu 576: a DNS answer past the MTU arrives truncated and then over TCP, a fragmented query is answered"

finish
