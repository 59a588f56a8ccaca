#!/usr/bin/env bash
# bench_alerts (issue 22): 10,000 threat detections ingested (10 batches of 1,000, one
# after the other on one kept-alive connection, as fast as the collector answers) and
# fanned out as alerts to a webhook of one event a POST (MTD_BENCH_ALERT_SINGLE=0 leaves
# it out),
# a batched webhook (--batch-max MTD_BENCH_ALERT_BATCH, 100; 0 leaves it out, as before
# it existed) (both bench/hook_receiver.c, verifying each signature, timestamp, batch
# and event ID as the test receiver does) and to rsyslog over TCP, all on loopback.
# Reports the ingest rate and each destination's delivery rate in the
# same run (their ratio: the target is >= 1), the delay from the end of a detection's
# batch upload to its arrival (p50, p99; target p99 < 2 s), then the same with the
# webhook answering 503 for MTD_BENCH_ALERT_DOWN_S (60) seconds: how long after it
# returns until every alert has arrived (target < 60 s), and the rate its backlog
# drained at (the most that receiver took from the collector, against round 1's ingest:
# below 1, that receiver cannot keep up with ingest whatever the collector does). Prints
# met / NOT met for each target; exits 1 when an alert is missing. MTD_BENCH_ALERT_ROUNDS=1
# runs round 1 only (for profiling and quick comparisons); MTD_BENCH_ALERT_TRACE=1 also
# prints each batch's upload time and how long after it its last alert arrived.
#
# Ingest is timed from the first upload's start to the last one's end; delivery from
# the end of the first upload (no alert can leave before its batch is stored) to the
# last arrival. Timed from the first upload's start, delivery could never reach 1 x
# ingest however fast it is, as the last batch's alerts can only leave after it was
# stored; timed this way it does when each batch's alerts are out within about one
# batch's upload time, which is what keeping up means. The delays say how far behind.
# Round 1 also prints the CPU seconds (utime + stime) the collector, its alert engine
# thread (derivation; the delivery threads are the rest of the collector's beside
# ingest), the webhook receiver and rsyslog spent from the first upload to the last
# arrival, the receiver's per POST, and the CPU floor: what all of them and the
# uploader spent against what the two cores had in the time ingest took (above 1,
# nothing can deliver as fast as ingest on this machine, however it is scheduled).
set -euo pipefail
BIN=${MTD_BIN:?}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${MTD_BENCH_ALERTS:-10000}
DOWN=${MTD_BENCH_ALERT_DOWN_S:-60}
BATCH=${MTD_BENCH_ALERT_BATCH:-100}
SINGLE=${MTD_BENCH_ALERT_SINGLE:-1}
HOOKS=""; [ "$SINGLE" = 0 ] || HOOKS="W"; [ "$BATCH" = 0 ] || HOOKS="$HOOKS B"
W=$(mktemp -d /tmp/mtd-bench-alerts.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$W"' EXIT
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }

SP=$(free_port)
cat >"$W/rsyslog.conf" <<CONF
global(workDirectory="$W")
module(load="imtcp")
template(name="t" type="string" string="%timegenerated:::date-rfc3339% %structured-data%\n")
ruleset(name="r") { action(type="omfile" file="$W/syslog.log" template="t" asyncWriting="on" flushOnTXEnd="on") }
input(type="imtcp" address="127.0.0.1" port="$SP" ruleset="r")
CONF
rsyslogd -n -f "$W/rsyslog.conf" -i "$W/rsyslogd.pid" >"$W/rsyslog.out" 2>&1 &
PIDS+=($!); RS_PID=$!
mkdir -p "$W/recv"
SEC=bench-webhook-secret-0123456789
# the webhook receiver: bench/hook_receiver.c, which checks every signature as the test
# receiver does but in C, so that it keeps up (the target's own condition);
# MTD_BENCH_HOOK=python uses the test receiver instead (about 130 us of CPU a POST)
if [ "${MTD_BENCH_HOOK:-c}" = python ]; then
    python3 "$ROOT/tests/e2e/alert_receiver.py" --out "$W/recv" --port-file "$W/recv.port" --secret "W=$SEC" --secret "B=$SEC" &
else
    "${MTD_BUILD:-$BIN/..}/bench/hook_receiver" --out "$W/recv" --port-file "$W/recv.port" --secret "W=$SEC" --secret "B=$SEC" &
fi
PIDS+=($!); RECV_PID=$!
for _ in $(seq 100); do [ -s "$W/recv.port" ] && break; sleep 0.05; done
[ -s "$W/recv.port" ] || { echo "bench_alerts: the webhook receiver did not start"; exit 1; }
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
"$BIN/mtd-collector" --data "$W/data" --listen "127.0.0.1:$PORT" --alert-allow-net 127.0.0.1/32 >"$W/collector.log" 2>&1 &
PIDS+=($!); COLL_PID=$!
for _ in $(seq 100); do curl -s -o /dev/null "$URL/healthz" && break; sleep 0.1; done
"$BIN/mtdctl" --server "$URL" --token "$(cat "$W/data/operator.token")" tenant create Bench --json >"$W/t.json"
T=$(jq -r .tenant_id "$W/t.json"); ADMIN=$(jq -r .admin_token "$W/t.json"); ENR=$(jq -r .enroll_token "$W/t.json")
ctl() { "$BIN/mtdctl" --server "$URL" --token "$ADMIN" "$@"; }
[ "$SINGLE" = 0 ] || ctl integration add webhook "http://127.0.0.1:$(cat "$W/recv.port")/hook/W" --secret "$SEC" >/dev/null
[ "$BATCH" = 0 ] || ctl integration add webhook "http://127.0.0.1:$(cat "$W/recv.port")/hook/B" --secret "$SEC" --batch-max "$BATCH" >/dev/null
ctl integration add syslog "127.0.0.1:$SP" >/dev/null
D=ps_AAAAAAAAAAAAAAAAAAAAAA
CRED=$(curl -s -X POST -H "Authorization: Bearer $ENR" -d "{\"device_id\":\"$D\"}" "$URL/v1/enroll" | jq -r .device_credential)

# make ROUND: the batches of one round, each 1,000 detections with event IDs r<ROUND>b<B>n<I>
make_batches() {
    for b in $(seq 1 $((N / 1000))); do
        seq 1000 | awk -v T="$T" -v D="$D" -v r="$1" -v b="$b" '{ printf "{\"event\":\"threat.detection\",\"schema\":1,\"event_id\":\"r%db%02dn%04d\",\"time\":\"2026-12-01T10:00:00Z\",\"tenant_id\":\"%s\",\"device_id\":\"%s\",\"threat_name\":\"Bench.%d\",\"category\":\"malware\",\"severity\":\"high\",\"source\":\"app\",\"evidence\":\"bench\",\"status\":\"active\",\"threat_id\":\"bench-%d-%d-%d\"}\n", r, b, $1, T, D, $1, r, b, $1 }' |
            zstd -q -c >"$W/r$1-b$b.zst"
    done
}
# upload ROUND: posts the batches one after the other on one kept-alive connection,
# writing "B END_MS" per batch to $W/posted-ROUND and the first upload's start to
# $W/start-ROUND. Each time is read in the uploader right after the collector's answer
# (and so after its commit): `date` run after a curl process, as before, was up to
# ~200 ms late under load, which made ingest look slower and each delay shorter.
upload() {
    python3 - "$W" "$1" "$((N / 1000))" "$PORT" "$CRED" <<'PY'
import http.client, os, sys, time
w, r, nb, port, cred = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
bodies = [open(f"{w}/r{r}-b{b}.zst", "rb").read() for b in range(1, nb + 1)]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
c.connect()
ends, start, cpu0 = [], time.time(), time.process_time()
for b, body in enumerate(bodies, 1):
    c.request("POST", "/v1/batches", body, {"Authorization": f"Bearer {cred}", "Content-Type": "application/x-ndjson",
                                            "Idempotency-Key": f"bench-alerts-{r}-{b}"})
    resp = c.getresponse()
    ans = resp.read()
    ends.append(time.time())
    if resp.status != 200:
        sys.exit(f"bench_alerts: batch {b} answered {resp.status}: {ans.decode(errors='replace')}")
open(f"{w}/upcpu-{r}", "w").write(f"{time.process_time() - cpu0}\n")
open(f"{w}/start-{r}", "w").write(f"{start * 1000:.3f}\n")
open(f"{w}/posted-{r}", "w").write("".join(f"{b} {t * 1000:.3f}\n" for b, t in enumerate(ends, 1)))
PY
}
# wait_all ROUND TIMEOUT_S: until every destination has every alert of the round
count_hook() { cat "$W/recv/$2.jsonl" 2>/dev/null | grep -c "\"r$1b" || true; }
count_syslog() { cat "$W/syslog.log" 2>/dev/null | grep -c "event_id=\"r$1b" || true; }
all_in() {
    for h in $HOOKS; do [ "$(count_hook "$1" "$h")" -ge "$N" ] || return 1; done
    [ "$(count_syslog "$1")" -ge "$N" ]
}
wait_all() {
    local end=$(( $(date +%s) + $2 ))
    while ! all_in "$1"; do
        [ "$(date +%s)" -lt "$end" ] || { echo "bench_alerts: round $1: webhook $(count_hook "$1" W), batched $(count_hook "$1" B), syslog $(count_syslog "$1") of $N after $2 s"; tail -5 "$W/collector.log"; exit 1; }
        sleep 0.2
    done
}
# cpu PID [COMM]: CPU seconds (utime + stime) of the process, or of its thread named COMM
# (from its schedstat, in nanoseconds: a thread's stat counts in 10 ms ticks, too coarse
# for the engine thread's ~0.15 s)
cpu() {
    if [ -n "${2:-}" ]; then
        local f
        f=$(grep -lx "$2" /proc/"$1"/task/*/comm 2>/dev/null | head -1); f=${f%/comm}/schedstat
        [ -r "$f" ] && awk '{ print $1 / 1e9 }' "$f" || echo 0
        return
    fi
    [ -r "/proc/$1/stat" ] || { echo 0; return; }
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / hz }' "/proc/$1/stat"
}
cpu_all() { echo "$(cpu "$COLL_PID") $(cpu "$COLL_PID" mtd-alerts) $(cpu "$RECV_PID") $(cpu "$RS_PID")"; }
# report ROUND START_MS: rates and delays of the round
report() {
    python3 - "$W" "$1" "$2" "$N" "$HOOKS" <<'PY'
import json, os, sys, datetime, re
w, r, start, n, hooks = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), sys.argv[5].split()
posted = {}
for line in open(f"{w}/posted-{r}"):
    b, t = line.split(); posted[int(b)] = float(t) / 1000
ingest = n / (max(posted.values()) - start / 1000)
first_stored = min(posted.values())
open(f"{w}/ingest-{r}", "w").write(f"{ingest}\n")
def batch(eid): return int(re.match(r"r\d+b(\d+)n", eid).group(1))
def hook(name):
    got = {}
    for line in open(f"{w}/recv/{name}.jsonl"):
        o = json.loads(line)
        if o["event_id"].startswith(f"r{r}b"): got.setdefault(o["event_id"], o["t"])
    return got
dests = [("webhook" if h == "W" else "webhook batched", hook(h)) for h in hooks]
sys_ = {}
for line in open(f"{w}/syslog.log"):
    m = re.search(r'event_id="(r' + r + r'b[^"]+)"', line)
    if m: sys_.setdefault(m.group(1), datetime.datetime.fromisoformat(line.split()[0]).timestamp())
def pct(v, p): v = sorted(v); return v[min(len(v) - 1, int(len(v) * p))]
for name, got in dests + [("syslog", sys_)]:
    if len(got) != n: print(f"bench_alerts: {name} has {len(got)} of {n} distinct alerts"); sys.exit(1)
    d = [got[e] - posted[batch(e)] for e in got]
    rate = n / (max(got.values()) - first_stored)
    whole = n / (max(got.values()) - start / 1000)
    met = lambda ok: "met" if ok else "NOT met"
    if os.environ.get("MTD_BENCH_ALERT_TRACE"):
        last = {}
        for e in got: last[batch(e)] = max(last.get(batch(e), 0), got[e] - posted[batch(e)])
        prev = start / 1000
        for b in sorted(posted):
            print(f"    batch {b}: upload {1000 * (posted[b] - prev):.1f} ms, its last {name} alert {1000 * last[b]:.1f} ms after")
            prev = posted[b]
    print(f"  {name}: {rate:,.0f} alerts/s = {rate / ingest:.2f} x ingest ({ingest:,.0f} detections/s; "
          f"{whole / ingest:.2f} x timed from the first upload's start); "
          f"delay after upload p50 {pct(d, .5):.3f} s, p99 {pct(d, .99):.3f} s; "
          f"targets: >= 1 x ingest {met(rate >= ingest)}, p99 < 2 s {met(pct(d, .99) < 2)}")
PY
}

make_batches 1
load0=$(cut -d' ' -f1 /proc/loadavg)
c0=$(cpu_all)
upload 1; wait_all 1 600
c1=$(cpu_all)
echo "round 1: $N detections, every destination up (load $load0 -> $(cut -d' ' -f1 /proc/loadavg) on $(nproc) cores; batched webhook: $([ "$BATCH" = 0 ] && echo none || echo "--batch-max $BATCH"))"
report 1 "$(cat "$W/start-1")"
posts=$(( ($SINGLE != 0 ? N : 0) + ($BATCH != 0 ? (N + BATCH - 1) / BATCH : 0) ))
echo "$c0 $c1 $(cat "$W/upcpu-1") $(cat "$W/ingest-1")" | awk -v n="$N" -v posts="$posts" -v cores="$(nproc)" '{
    coll = $5 - $1; recv = $7 - $3; rs = $8 - $4; all = coll + recv + rs + $9
    printf "  CPU s per %d alerts: collector %.2f (alert engine thread, derivation: %.3f), webhook receiver %.2f (%.0f us a POST, %d POSTs), rsyslog %.2f, uploader %.2f\n", n, coll, $6 - $2, recv, posts ? 1e6 * recv / posts : 0, posts, rs, $9
    printf "  CPU floor: all of them %.2f s against the %.2f s that %d cores had while ingest ran (%.3f s): %.1f x (above 1, delivery cannot keep up with ingest here however it is scheduled)\n", all, cores * n / $10, cores, n / $10, all / (cores * n / $10) }'
[ "${MTD_BENCH_ALERT_ROUNDS:-2}" -ge 2 ] || exit 0

make_batches 2
touch "$W/recv/down"
upload 2
sleep "$DOWN"
rm "$W/recv/down"; back=$(now_ms)
wait_all 2 600
for h in $HOOKS; do
python3 - "$W/recv/$h.jsonl" "$back" "$DOWN" "$N" "$(cat "$W/ingest-1")" "$([ "$h" = B ] && echo "batched webhook (--batch-max $BATCH)" || echo webhook)" <<'PY'
import json, sys
path, back, down, n, ingest, name = sys.argv[1], int(sys.argv[2]) / 1000, sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
t = sorted(o["t"] for o in map(json.loads, open(path)) if o["event_id"].startswith("r2b") and not o["dup"])
after = [x for x in t if x >= back]
catch = t[-1] - back
drain = len(after) / (after[-1] - after[0]) if len(after) > 1 and after[-1] > after[0] else 0
print(f"round 2: the {name} answered 503 for {down} s; every alert arrived {catch:.1f} s after it returned "
      f"(target < 60 s: {'met' if catch < 60 else 'NOT met'}); its backlog of {len(after):,} drained at "
      f"{drain:,.0f} alerts/s = {drain / ingest:.2f} x round 1's ingest")
PY
done
echo "  (syslog stayed up: $(count_syslog 2) of $N; $(ctl integration list --json | jq -r '[.integrations[] | "\(.kind)\(if .batch_max > 1 then " batched" else "" end): \(.delivered) sent, \(.pending) pending, \(.dead) dead"] | join("; ")'))"
