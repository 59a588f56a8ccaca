# lib.sh: helpers for the end-to-end tests. Each test starts its own collector on a
# free loopback port with its own data directory, and stops it on exit.
set -euo pipefail

BIN=${MTD_BIN:?MTD_BIN must point to build/bin}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mtd-e2e.XXXXXX")
COLLECTOR_PID=""
PASSED=0

cleanup() {
    if [ -n "$COLLECTOR_PID" ] && kill -0 "$COLLECTOR_PID" 2>/dev/null; then
        kill -TERM "$COLLECTOR_PID" 2>/dev/null || true
        wait "$COLLECTOR_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

ok() {
    PASSED=$((PASSED + 1))
    echo "ok - $*"
}

# assert_eq EXPECTED ACTUAL WHAT
assert_eq() {
    [ "$1" = "$2" ] || fail "$3: expected [$1], got [$2]"
}

# start_collector DATA_DIR [extra args]: sets URL and OPERATOR_TOKEN
start_collector() {
    local data=$1
    shift
    rm -f "$data/collector.url" # a previous run's URL must not be mistaken for this one
    "$BIN/mtd-collector" --data "$data" --listen 127.0.0.1:0 "$@" >"$WORK/collector.out" 2>"$WORK/collector.log" &
    COLLECTOR_PID=$!
    for _ in $(seq 1 100); do
        [ -s "$data/collector.url" ] && break
        sleep 0.05
    done
    [ -s "$data/collector.url" ] || fail "collector did not start: $(cat "$WORK/collector.log")"
    URL=$(cat "$data/collector.url")
    OPERATOR_TOKEN=$(cat "$data/operator.token")
}

stop_collector() {
    kill -TERM "$COLLECTOR_PID"
    wait "$COLLECTOR_PID" || fail "collector exited with $? on SIGTERM"
    COLLECTOR_PID=""
}

# expect_fail WHAT CMD...: the command must exit non-zero with exactly one stderr line
expect_fail() {
    local what=$1
    shift
    local err="$WORK/err.$$"
    if "$@" >/dev/null 2>"$err"; then
        fail "$what: succeeded but should have failed"
    fi
    local lines
    lines=$(wc -l <"$err")
    [ "$lines" -eq 1 ] || fail "$what: expected one line on stderr, got $lines: $(cat "$err")"
    LAST_ERR=$(cat "$err")
}

# http_status METHOD PATH TOKEN [curl args...]: prints the status code; body in $WORK/body
http_status() {
    local method=$1 path=$2 token=$3
    shift 3
    curl -s -o "$WORK/body" -w '%{http_code}' -X "$method" \
        ${token:+-H "Authorization: Bearer $token"} "$@" "$URL$path"
}

# ctl ARGS...: mtdctl against the collector started last
ctl() { "$BIN/mtdctl" --server "$URL" "$@"; }

# new_tenant NAME: creates a tenant; sets T, ADMIN and ENR (its ID, admin and
# enrollment tokens), the answer in $WORK/t.json
new_tenant() {
    ctl --token "$OPERATOR_TOKEN" tenant create "$1" --json >"$WORK/t.json"
    T=$(jq -r .tenant_id "$WORK/t.json"); ADMIN=$(jq -r .admin_token "$WORK/t.json"); ENR=$(jq -r .enroll_token "$WORK/t.json")
}

finish() {
    echo "$PASSED passed, 0 failed"
}
