#!/usr/bin/env bash
# bench_vpn: the self-looping VPN against the direct path, in the namespaces of the VPN
# tests (tests/e2e/netns.sh: a client namespace and a test internet joined by a veth
# pair), in one run:
#   - bulk TCP: iperf3 upload and download over the veth directly, then through the
#     tunnel (target: tunnel >= 50% of direct, upload);
#   - TCP connection setup: curl's time_connect to the test web server, direct and
#     through the tunnel (target: at most 1 ms added to the median);
#   - DNS: dnsperf against the tunnel's DNS address, and against `mtd-agent dns-filter`
#     on loopback in the same namespace with the same feed and upstream, in turn
#     (target: tunnel >= 80% of the filter's QPS, the median of the rounds' ratios),
#     with the CPU per query of the agent and of dnsperf on each side (they share 2
#     cores: QPS alone moves with the load);
#   - memory: the agent's RSS with the VPN running, its feed 1,000,000 blocked domains,
#     after the DNS runs (target: <= 4 MB + 12 B per entry), also split into the
#     program's and libraries' pages, the mapped database and the rest.
# Medians of several runs (the machine is shared); each ratio is printed with whether
# its target is met. Needs root (namespaces, TUN).
set -euo pipefail
BIN=${MTD_BIN:?MTD_BIN must point to build/bin}
SRC=$(cd "$(dirname "$0")/.." && pwd)
for t in iperf3 dnsperf curl dig python3 openssl unbound /usr/bin/time; do
    command -v $t >/dev/null || { echo "bench_vpn: $t is not installed (scripts/install-deps)" >&2; exit 1; }
done
fail() { echo "bench_vpn: $*" >&2; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench-vpn.XXXXXX")
source "$SRC/tests/e2e/netns.sh"
needs_root bench_vpn
trap 'netns_down; rm -rf "$WORK"' EXIT
netns_up "$WORK" || fail "namespaces not set up"
N=${BENCH_VPN_DOMAINS:-1000000}
RUNS=${BENCH_VPN_RUNS:-3}
SECS=${BENCH_VPN_SECONDS:-3}

python3 - "$WORK" "$N" <<'PY'
import random, sys
w, n = sys.argv[1], int(sys.argv[2])
r = random.Random(17)
names = ["%s%07d.example" % ("".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(6)), i) for i in range(n)]
open(w + "/blocklist.txt", "w").write("\n".join(names) + "\n")
sample = r.sample(names, min(n, 100000))
with open(w + "/dns.q", "w") as f:  # half blocked names, half names of the test zone
    for i in range(200000):
        f.write("%s A\n" % (sample[i % len(sample)] if i % 2 else "q%d.good.test" % (i % 5000)))
PY
"$BIN/mtd-agent" feed compile --quiet --out "$WORK/web.db" "$WORK/blocklist.txt" >/dev/null
ini iperf3 -s -B $GOOD_IP -D --pidfile "$WORK/iperf.pid" --logfile "$WORK/iperf.log"
for _ in $(seq 1 50); do [ -s "$WORK/iperf.pid" ] && break; sleep 0.1; done
NETNS_PIDS+=("$(tr -d '\0' <"$WORK/iperf.pid")")
sleep 0.3

median() { sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
iperf_mbps() { # [-R]: Mbit/s received, median of RUNS
    for _ in $(seq 1 "$RUNS"); do
        inc iperf3 -c $GOOD_IP -t "$SECS" -f m "$@" -J 2>/dev/null |
            python3 -c 'import json,sys; print(int(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e6))' ||
            true # a failed run (the server busy with the last one) is left out
        sleep 0.5
    done | median
}
connect_ms() { # median of 100 curl time_connect to port 9 (accept and close), in ms
    for _ in $(seq 1 100); do
        inc curl -s -o /dev/null -w '%{time_connect}\n' http://$GOOD_IP:9/ || true
    done | awk '$1 > 0 {print $1 * 1000}' | median
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # utime + stime
# dns_run SERVER PORT AGENT_PID NAME: one dnsperf run, its QPS and the agent's and
# dnsperf's CPU per query (utime + stime over the run / queries completed) appended
# to $WORK/NAME.runs
dns_run() {
    local s=$1 p=$2 pid=$3 name=$4 out c0 c1
    c0=$(cpu_ticks "$pid")
    out=$(inc /usr/bin/time -f "cpu %U %S" dnsperf -s "$s" -p "$p" -d "$WORK/dns.q" -l "$SECS" -q 200 2>&1)
    c1=$(cpu_ticks "$pid")
    echo "$out" | awk -v c="$((c1 - c0))" -v hz="$(getconf CLK_TCK)" '
        /Queries completed/ {q = $3} /Queries per second/ {qps = int($4)} /^cpu / {d = $2 + $3}
        END {printf "%d %.2f %.2f\n", qps, c / hz * 1e6 / q, d * 1e6 / q}' >>"$WORK/$name.runs"
}
col() { cut -d' ' -f"$2" "$WORK/$1.runs" | median; } # NAME FIELD: the median of the runs

# direct
UP_D=$(iperf_mbps); DOWN_D=$(iperf_mbps -R); CONN_D=$(connect_ms)
# through the tunnel
start_vpn "$WORK/vpn.log" --feed "$WORK/web.db" || fail "the VPN did not start"
UP_T=$(iperf_mbps); DOWN_T=$(iperf_mbps -R); CONN_T=$(connect_ms)
# the DNS filter on loopback in the client namespace, same feed and upstream, started
# beside the tunnel once its TCP runs are done (each idle while the other is asked)
# (not through inc: $! is then the agent itself, whose CPU is counted and which the kill stops).
# Its upstream socket has no mark of the tunnel: a rule ahead of the tunnel's keeps its
# queries to the upstream on the direct path (the tunnel's own filter marks its socket).
ip -n "$NS_C" rule add to ${UPSTREAM%:*}/32 lookup main priority 5000
MTD_LOG=warn ip netns exec "$NS_C" "$BIN/mtd-agent" dns-filter --listen 127.0.0.1:5300 --upstream $UPSTREAM \
    --feed "$WORK/web.db" >"$WORK/filter.log" 2>&1 &
FPID=$!
NETNS_PIDS+=("$FPID")
for _ in $(seq 1 100); do inc dig +time=1 +tries=1 @127.0.0.1 -p 5300 good.test >/dev/null 2>&1 && break; sleep 0.1; done

# DNS: the filter on loopback and the tunnel asked in turn, RUNS rounds, so that both
# meet the same load; the ratio is the median of the rounds' own ratios
for _ in $(seq 1 "$RUNS"); do
    dns_run 127.0.0.1 5300 "$FPID" loopback
    dns_run $TUN_DNS 53 "$VPN_PID" tunnel
done
kill -TERM $FPID; wait $FPID || true
DNS_L=$(col loopback 1); DNS_T=$(col tunnel 1)
DNS_R=$(paste -d' ' "$WORK/loopback.runs" "$WORK/tunnel.runs" | awk '{printf "%.2f\n", $4 / ($1 > 0 ? $1 : 1)}' | tee "$WORK/ratios" | median)
sleep 1.5 # an idle tick: the relay gives its buffers back
RSS_KB=$(awk '/^Rss:/ {print $2}' "/proc/$VPN_PID/smaps_rollup")
# RSS by what the pages are: code and data of the program and its shared libraries
# (file pages any other process using them shares), the mapped feed database, and the
# rest (heap, stacks, lwIP's and the relay's buffers): the last two are the VPN's own.
read -r CODE_KB DB_KB ANON_KB < <(awk -v db="$WORK/web.db" '
    /^[0-9a-f]+-/ {k = ($6 == db) ? "db" : ($6 ~ /\.so/ || $6 ~ /\/mtd-agent$/) ? "code" : "anon"}
    /^Rss:/ {s[k] += $2}
    END {print s["code"] + 0, s["db"] + 0, s["anon"] + 0}' "/proc/$VPN_PID/smaps")
stop_vpn

py() { python3 -c "print($1)"; }
met() { python3 -c "print('met' if $1 else 'NOT met')"; }
echo "VPN vs the direct veth path, same namespaces, one run (medians of $RUNS x ${SECS}s iperf3 and dnsperf, 100 curls):"
echo "  bulk TCP upload:   direct $UP_D Mbit/s, tunnel $UP_T Mbit/s: $(py "'%.2f' % ($UP_T/$UP_D)")x (target >= 0.50: $(met "$UP_T >= 0.5*$UP_D"))"
echo "  bulk TCP download: direct $DOWN_D Mbit/s, tunnel $DOWN_T Mbit/s: $(py "'%.2f' % ($DOWN_T/$DOWN_D)")x"
echo "  TCP connect (curl time_connect): direct $CONN_D ms, tunnel $CONN_T ms: $(py "'%+.3f' % ($CONN_T-$CONN_D)") ms (target <= +1 ms: $(met "$CONN_T - $CONN_D <= 1"))"
echo "  DNS (dnsperf, half blocked, $N-domain feed, $RUNS alternated rounds): dns-filter on loopback $DNS_L QPS, tunnel $DNS_T QPS; tunnel / loopback by round $(tr '\n' ' ' <"$WORK/ratios")-> median ${DNS_R}x (target >= 0.80: $(met "$DNS_R >= 0.8"))"
echo "    CPU per query (utime + stime / queries): the agent $(col loopback 2) us on loopback, $(col tunnel 2) us through the tunnel; dnsperf $(col loopback 3) us, $(col tunnel 3) us"
LIMIT=$(( 4 * 1024 * 1024 + 12 * N ))
echo "  agent RSS with the VPN running and $N blocked domains, after the runs above: $(( RSS_KB * 1024 )) B (target <= 4 MiB + 12 B x $N = $LIMIT B: $(met "$RSS_KB * 1024 <= $LIMIT"))"
echo "    program and shared-library pages $(( CODE_KB * 1024 )) B, the feed database $(( DB_KB * 1024 )) B ($(py "'%.1f' % ($DB_KB*1024/$N)") B per entry), the rest (heap, stacks, buffers) $(( ANON_KB * 1024 )) B"
echo "    the VPN's own memory (database and rest): $(( (DB_KB + ANON_KB) * 1024 )) B ($(met "($DB_KB + $ANON_KB) * 1024 <= $LIMIT") against the same target)"
