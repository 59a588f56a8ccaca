# unbound.sh: a real upstream resolver for the web protection tests. start_unbound PORT
# LOCAL_LINES starts unbound on 127.0.0.1:PORT answering only the local-zone and
# local-data lines given; everything else is refused (local-zone "." refuse), so it
# never recurses to the internet. Its PID is added to PIDS, which the caller's EXIT
# trap stops.
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_unbound() {
    local port=$1 zones=$2
    command -v unbound >/dev/null || fail "unbound is not installed (scripts/install-deps)"
    cat >"$WORK/unbound.conf" <<CONF
server:
    interface: 127.0.0.1@$port
    port: $port
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "$WORK"
    pidfile: "$WORK/unbound.pid"
    use-syslog: no
    logfile: "$WORK/unbound.log"
    access-control: 127.0.0.0/8 allow
    num-threads: 1
    do-ip6: no
    local-zone: "." refuse
$zones
remote-control:
    control-enable: no
CONF
    unbound -c "$WORK/unbound.conf" 2>>"$WORK/unbound.log" &
    PIDS+=($!)
    for _ in $(seq 1 100); do
        dig +time=1 +tries=1 @127.0.0.1 -p "$port" probe.example.org 2>/dev/null | grep -q "status: REFUSED" && return 0
        sleep 0.1
    done
    fail "unbound did not start: $(cat "$WORK/unbound.log" 2>/dev/null)"
}
