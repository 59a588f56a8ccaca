#!/usr/bin/env bash
# Web protection as deployed, and what it lets out: the tenant pushes a compiled feed,
# `mtd-agent run` fetches it and hosts the DNS filter (upstream: unbound on loopback,
# answering only its own test zones); a browsing session of 1,000 allowed and 10
# blocked names, plus URL checks through the browsers' API. Then everything that left
# the device (the ledger), everything still queued, and the tenant's whole store are
# searched: under the default policy no allowed name is anywhere, each blocked one is
# reported, and the blocked URL arrives cut to its domain. With report_connections=all
# the allowed names do arrive (so the search can find them), and dns_block_answer
# null_ip answers 0.0.0.0.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/unbound.sh"
UP=$(port); FP=$(port); API=$(port)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; cleanup' EXIT

start_unbound "$UP" '    local-zone: "site.test." redirect
    local-data: "site.test. 60 IN A 192.0.2.50"
    local-zone: "malware.test." redirect
    local-data: "malware.test. 60 IN A 203.0.113.99"
    local-zone: "cdn.test." redirect
    local-data: "cdn.test. 60 IN A 198.51.100.77"'
for _ in $(seq 1 100); do dig +short +time=1 +tries=1 @127.0.0.1 -p "$UP" a.site.test 2>/dev/null | grep -q 192.0.2.50 && break; sleep 0.1; done

DATA=$WORK/data
start_collector "$DATA"
T=$("$BIN/mtdctl" --server "$URL" --token "$OPERATOR_TOKEN" tenant create web --json)
TID=$(jq -r .tenant_id <<<"$T"); ADMIN=$(jq -r .admin_token <<<"$T"); ENR=$(jq -r .enroll_token <<<"$T")
ctl() { "$BIN/mtdctl" --server "$URL" --token "$ADMIN" "$@"; }
ST=$WORK/agent
"$BIN/mtd-agent" enroll --state "$ST" --server "$URL" --token "$ENR" >/dev/null

for i in $(seq 0 9); do echo "m$i.malware.test"; done >"$WORK/blocklist.txt"
echo 198.51.100.77 >"$WORK/c2-addresses.txt" # a server's address: names resolving to it are blocked
"$BIN/mtd-agent" feed compile --out "$WORK/web.db" "$WORK/blocklist.txt" "$WORK/c2-addresses.txt" --quiet >/dev/null
ctl feed push web "$WORK/web.db" >/dev/null

MTD_LOG=info "$BIN/mtd-agent" run --state "$ST" --interval 10 --dns-listen "127.0.0.1:$FP" \
    --dns-upstream "127.0.0.1:$UP" --api-listen "127.0.0.1:$API" >"$WORK/run.out" 2>"$WORK/run.err" &
RUN=$!
PIDS+=($RUN)
for _ in $(seq 1 200); do dig +short +time=1 +tries=1 @127.0.0.1 -p "$FP" up.site.test 2>/dev/null | grep -q 192.0.2.50 && break; sleep 0.1; done
assert_eq "192.0.2.50" "$(dig +short +time=2 +tries=1 @127.0.0.1 -p "$FP" up.site.test)" "run hosts the DNS filter"
cmp -s "$ST/feeds/web" "$WORK/web.db" || fail "the pushed feed is not in STATE/feeds/web"
ok "run fetched the tenant's web feed and serves DNS through the filter"

# the browsing session: 1,000 allowed names never asked before, 10 blocked ones
python3 - "$FP" "$WORK" <<'PY'
import random, socket, struct, sys
port, work = int(sys.argv[1]), sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
rnd = random.Random()
allowed = ["visit%04d-%06x.site.test" % (i, rnd.getrandbits(24)) for i in range(1000)]
open(work + "/allowed.txt", "w").write("\n".join(allowed) + "\n")
def ask(i, name):
    q = struct.pack(">HHHHHH", i, 0x0100, 1, 0, 0, 0)
    for l in name.split("."):
        q += bytes([len(l)]) + l.encode()
    s.sendto(q + b"\0" + struct.pack(">HH", 1, 1), ("127.0.0.1", port))
    while True:
        r, _ = s.recvfrom(4096)
        if struct.unpack(">H", r[:2])[0] == i:
            return r[3] & 15, struct.unpack(">H", r[6:8])[0]
bad = [ask(i + 1, n) for i, n in enumerate(allowed) if ask(i + 1, n) != (0, 1)]
blocked = [ask(5000 + i, "m%d.malware.test" % i) for i in range(10)]
print("allowed answered: %d, blocked: %s" % (1000 - len(bad), sorted(set(blocked))))
open(work + "/session.txt", "w").write("%d %s\n" % (1000 - len(bad), sorted(set(blocked))))
PY
assert_eq "1000 [(3, 0)]" "$(cat "$WORK/session.txt")" "1000 allowed answers and 10 NXDOMAIN"
hc() { curl -s -o "$WORK/body" -w '%{http_code}' "$@"; }
assert_eq 200 "$(hc -H 'X-Openmtd-Browser: org.chromium.chrome' --get --data-urlencode 'url=https://m3.malware.test/login/steal.php?user=victim' "http://127.0.0.1:$API/v1/url-check")" "API block"
assert_eq block "$(jq -r .verdict "$WORK/body")" "API verdict"
assert_eq 200 "$(hc -H 'X-Openmtd-Browser: org.chromium.chrome' --get --data-urlencode 'url=https://visit0001-secret.site.test/private/path' "http://127.0.0.1:$API/v1/url-check")" "API allow"
ok "a session of 1,000 allowed and 10 blocked names, and two URL checks"

# detections are moved to the spool and uploaded within seconds
for _ in $(seq 1 100); do
    n=$(sqlite3 "$DATA/tenants/$TID/store.sqlite" "select count(*) from ev_net_dns" 2>/dev/null || echo 0)
    [ "$n" -ge 10 ] && break
    sleep 0.2
done
assert_eq 10 "$(sqlite3 "$DATA/tenants/$TID/store.sqlite" "select count(*) from ev_net_dns where verdict='block'")" "blocked lookups stored"
assert_eq 0 "$(sqlite3 "$DATA/tenants/$TID/store.sqlite" "select count(*) from ev_net_dns where verdict='allow'")" "allowed lookups stored"
kill -TERM "$RUN"; wait "$RUN" || fail "run exited $? on SIGTERM"
PIDS=("${PIDS[@]/$RUN}")

# search everything: the ledger (all that left), the queue, the whole store
sqlite3 "$DATA/tenants/$TID/store.sqlite" .dump >"$WORK/store.dump"
"$BIN/mtd-agent" privacy queued --state "$ST" >"$WORK/queued.txt" 2>&1 || true
cat "$ST/ledger.jsonl" "$WORK/queued.txt" "$WORK/store.dump" >"$WORK/everything"
leaks=$(grep -c -F -f "$WORK/allowed.txt" "$WORK/everything" || true)
assert_eq 0 "$leaks" "allowed names found in the ledger, queue or store"
grep -q "visit0001-secret" "$WORK/everything" && fail "the allowed URL checked through the API was reported"
for i in $(seq 0 9); do grep -q "m$i.malware.test" "$WORK/store.dump" || fail "blocked m$i.malware.test not reported"; done
assert_eq "https://m3.malware.test/|domain" "$(sqlite3 "$DATA/tenants/$TID/store.sqlite" "select url || '|' || url_scope from ev_web_detection")" "web.detection URL cut to its domain"
grep -q "steal.php\|user=victim" "$WORK/everything" && fail "the blocked URL's path or query left the device"
assert_eq "11 10" "$(sqlite3 "$DATA/tenants/$TID/store.sqlite" "select count(*) || ' ' || count(distinct threat_id) from ev_threat_detection where status='active'")" "threat detections (10 DNS, 1 web of a host also blocked by DNS)"
assert_eq "org.chromium.chrome" "$(sqlite3 "$DATA/tenants/$TID/store.sqlite" "select browser from ev_web_detection")" "browser"
ok "under the default policy none of the 1,000 allowed names left the device; the 10 blocks and the URL (domain only) did"

# report_connections=all: allowed lookups are reported (the search above would see them)
printf '{"report_connections": "all", "dns_block_answer": "null_ip", "web_allow": ["ok.cdn.test"]}' >"$WORK/pol.json"
ctl policy set "$WORK/pol.json" >/dev/null
"$BIN/mtd-agent" run --state "$ST" --interval 10 --dns-listen "127.0.0.1:$FP" \
    --dns-upstream "127.0.0.1:$UP" >"$WORK/run2.out" 2>"$WORK/run2.err" &
RUN=$!
PIDS+=($RUN)
for _ in $(seq 1 200); do dig +short +time=1 +tries=1 @127.0.0.1 -p "$FP" up2.site.test 2>/dev/null | grep -q 192.0.2.50 && break; sleep 0.1; done
assert_eq "0.0.0.0" "$(dig +short +time=2 +tries=1 @127.0.0.1 -p "$FP" m1.malware.test)" "dns_block_answer null_ip"
ALLOWED=$(sed -n 5p "$WORK/allowed.txt")
dig +short +time=2 +tries=1 @127.0.0.1 -p "$FP" "$ALLOWED" >/dev/null
for _ in $(seq 1 100); do
    n=$(sqlite3 "$DATA/tenants/$TID/store.sqlite" "select count(*) from ev_net_dns where verdict='allow' and qname='$ALLOWED'")
    [ "$n" -ge 1 ] && break
    sleep 0.2
done
assert_eq 1 "$(sqlite3 "$DATA/tenants/$TID/store.sqlite" "select count(*) from ev_net_dns where verdict='allow' and qname='$ALLOWED'")" "an allowed lookup under report_connections=all"
ok "with report_connections=all allowed lookups are reported; null_ip answers 0.0.0.0"

# a name no feed lists, answered with a listed address: blocked, and the tenant sees it
assert_eq "0.0.0.0" "$(dig +short +time=2 +tries=1 @127.0.0.1 -p "$FP" fresh.cdn.test)" "a listed answer address"
assert_eq "198.51.100.77" "$(dig +short +time=2 +tries=1 @127.0.0.1 -p "$FP" ok.cdn.test)" "the tenant's allow list wins over a listed answer address"
for _ in $(seq 1 100); do
    n=$(sqlite3 "$DATA/tenants/$TID/store.sqlite" "select count(*) from ev_threat_detection where evidence like '%198.51.100.77%'")
    [ "$n" -ge 1 ] && break
    sleep 0.2
done
assert_eq "block" "$(sqlite3 "$DATA/tenants/$TID/store.sqlite" "select verdict from ev_net_dns where qname='fresh.cdn.test' and verdict='block'")" "the block stored"
assert_eq "network|DNS blocked: the answer's address 198.51.100.77 is listed" "$(sqlite3 "$DATA/tenants/$TID/store.sqlite" "select source || '|' || evidence from ev_threat_detection where evidence like '%198.51.100.77%'")" "its threat detection"
ok "a name resolving to a listed address is blocked and reaches the tenant as a detection"
finish
