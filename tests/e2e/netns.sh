# netns.sh: the two network namespaces of the VPN tests, benchmark and demo.
#
#   client namespace $NS_C: the device: a veth 192.0.2.2/24, default route via
#     192.0.2.1; the agent's TUN is made here (203.0.113.1/24, DNS 203.0.113.53)
#   "internet" namespace $NS_I: the veth's peer 192.0.2.1/24 and, on its loopback,
#     198.51.100.10 (good.test, canary.test), 198.51.100.20 (blocked.test),
#     198.51.100.53 (unbound, answering only the zone "test." and refusing the rest;
#     big.test has a 1,000-byte TXT record)
#
# Only TEST-NET addresses, no link out of the pair: nothing leaves the namespaces.
# netns_up WORKDIR makes them and starts the servers; netns_down (called by the
# caller's EXIT trap) deletes them and what runs inside, also after a failure.
# needs_root TEST fails the test with one line when it is not run as root.

NS_C="mtdc$$"
NS_I="mtdi$$"
VETH_C="mtc$$"
VETH_I="mti$$"
NETNS_PIDS=()
TUN=mtd0
TUN_ADDR=203.0.113.1/24
TUN_DNS=203.0.113.53
UPSTREAM=198.51.100.53:53
GOOD_IP=198.51.100.10
BLOCKED_IP=198.51.100.20

needs_root() {
    if [ "$(id -u)" != 0 ]; then
        echo "$1: needs root (it makes network namespaces and a TUN device); run it as root, as CI does" >&2
        exit 1
    fi
}

inc() { ip netns exec "$NS_C" "$@"; }
ini() { ip netns exec "$NS_I" "$@"; }

netns_down() {
    [ -n "${VPN_PID:-}" ] && kill -TERM "$VPN_PID" 2>/dev/null && wait "$VPN_PID" 2>/dev/null
    for p in "${NETNS_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${NETNS_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    # anything still running inside (an agent a test left) goes with its namespace
    for ns in "$NS_C" "$NS_I"; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
        ip netns del "$ns" 2>/dev/null || true
    done
    rm -rf "/etc/netns/$NS_C"
}

netns_up() {
    local w=$1 src
    src=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    ip netns add "$NS_C"
    ip netns add "$NS_I"
    ip link add "$VETH_C" type veth peer name "$VETH_I"
    ip link set "$VETH_C" netns "$NS_C"
    ip link set "$VETH_I" netns "$NS_I"
    ip -n "$NS_C" addr add 192.0.2.2/24 dev "$VETH_C"
    ip -n "$NS_I" addr add 192.0.2.1/24 dev "$VETH_I"
    for ns in "$NS_C" "$NS_I"; do ip -n "$ns" link set lo up; done
    ip -n "$NS_C" link set "$VETH_C" up
    ip -n "$NS_I" link set "$VETH_I" up
    ip -n "$NS_C" route add default via 192.0.2.1
    for a in $GOOD_IP $BLOCKED_IP 198.51.100.53; do ip -n "$NS_I" addr add "$a/32" dev lo; done
    # the client's resolver is the tunnel's DNS address (ip netns exec mounts this file)
    mkdir -p "/etc/netns/$NS_C"
    echo "nameserver $TUN_DNS" >"/etc/netns/$NS_C/resolv.conf"
    echo "options timeout:2 attempts:1" >>"/etc/netns/$NS_C/resolv.conf"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$w/server.key" -out "$w/server.pem" -days 2 \
        -subj /CN=good.test -addext "subjectAltName=DNS:good.test,DNS:blocked.test,DNS:canary.test" 2>/dev/null
    mkdir -p "$w/www"
    echo "hello from good.test" >"$w/www/index.html"
    cat >"$w/unbound.conf" <<CONF
server:
    interface: 198.51.100.53
    port: 53
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "$w"
    pidfile: ""
    use-syslog: no
    logfile: "$w/unbound.log"
    access-control: 0.0.0.0/0 allow
    num-threads: 1
    do-ip6: no
    local-zone: "." refuse
    local-zone: "test." static
    local-data: "good.test. A $GOOD_IP"
    local-data: "canary.test. A $GOOD_IP"
    local-data: "blocked.test. A $BLOCKED_IP"
    local-data: 'big.test. TXT "$(printf 'a%.0s' $(seq 250))" "$(printf 'b%.0s' $(seq 250))" "$(printf 'c%.0s' $(seq 250))" "$(printf 'd%.0s' $(seq 250))"'
remote-control:
    control-enable: no
CONF
    ini unbound -c "$w/unbound.conf" &
    NETNS_PIDS+=($!)
    ini python3 "$src/vpn_web.py" "$w/www" "$w/server.pem" "$w/server.key" $GOOD_IP $BLOCKED_IP >"$w/web.log" 2>&1 &
    NETNS_PIDS+=($!)
    for _ in $(seq 1 100); do
        if grep -q ready "$w/web.log" 2>/dev/null &&
            inc dig +time=1 +tries=1 @198.51.100.53 good.test 2>/dev/null | grep -q "status: NOERROR"; then
            return 0
        fi
        sleep 0.1
    done
    echo "the test internet did not start: $(cat "$w/web.log" "$w/unbound.log" 2>/dev/null)" >&2
    return 1
}

# start_vpn LOG ARGS...: the agent's VPN in the client namespace; sets VPN_PID
start_vpn() {
    local log=$1
    shift
    MTD_LOG=info ip netns exec "$NS_C" "$BIN/mtd-agent" vpn --tun $TUN --address $TUN_ADDR --dns $TUN_DNS \
        --upstream $UPSTREAM "$@" >"$log" 2>&1 &
    VPN_PID=$!
    for _ in $(seq 1 100); do
        grep -q "^vpn: $TUN up" "$log" 2>/dev/null && return 0
        kill -0 $VPN_PID 2>/dev/null || break
        sleep 0.05
    done
    echo "the VPN did not start: $(cat "$log")" >&2
    return 1
}

stop_vpn() {
    kill -TERM "$VPN_PID"
    wait "$VPN_PID"
}

# What the tunnel leaves in the client namespace: its rule, its table, its device.
vpn_leftovers() {
    ip -n "$NS_C" rule | grep -c "lookup 28020" || true
    ip -n "$NS_C" route show table 28020 2>/dev/null | grep -c . || true
    ip -n "$NS_C" link show $TUN 2>/dev/null | grep -c $TUN || true
}
