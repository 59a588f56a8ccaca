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

# The store backend the tests run against: MTD_TEST_STORE=sqlite (the default) or
# postgresql, with the cluster of tests/with-postgres.sh (MTD_PG_URL), under which
# ctest registers some collector tests a second time (NAME@postgresql).
MTD_TEST_STORE=${MTD_TEST_STORE:-sqlite}
STORE_ARGS=()
if [ "$MTD_TEST_STORE" = postgresql ]; then
    [ -n "${MTD_PG_URL:-}" ] || { echo "FAIL: MTD_TEST_STORE=postgresql needs tests/with-postgres.sh" >&2; exit 1; }
    STORE_ARGS=(--store "$MTD_PG_URL")
fi

# start_collector DATA_DIR [extra args]: sets URL and OPERATOR_TOKEN
start_collector() {
    local data=$1
    shift
    rm -f "$data/collector.url" # a previous run's URL must not be mistaken for this one
    "$BIN/mtd-collector" --data "$data" --listen 127.0.0.1:0 "${STORE_ARGS[@]}" "$@" >"$WORK/collector.out" 2>"$WORK/collector.log" &
    COLLECTOR_PID=$!
    for _ in $(seq 1 100); do
        [ -s "$data/collector.url" ] && break
        sleep 0.05
    done
    [ -s "$data/collector.url" ] || fail "collector did not start: $(cat "$WORK/collector.log")"
    URL=$(cat "$data/collector.url")
    OPERATOR_TOKEN=$(cat "$data/operator.token")
    if [ "$MTD_TEST_STORE" = postgresql ]; then # the collector is on the cluster, not on files
        local h
        h=$(printf %s "$OPERATOR_TOKEN" | sha256sum | cut -c1-64)
        [ "$(psql "$MTD_PG_URL" -qAtX -c "select count(*) from mtd.operator_tokens where hash = '$h'")" = 1 ] ||
            fail "collector started with --store postgresql:// did not record its operator token in the cluster"
        local m # whole, not piped into grep -q: its early exit would fail curl under pipefail
        m=$(curl -sf -H "Authorization: Bearer $OPERATOR_TOKEN" "$URL/metrics")
        grep -qx 'mtd_store_up 1' <<<"$m" ||
            fail "the operator's /metrics of a collector on PostgreSQL lacks mtd_store_up 1"
    fi
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

# store_sql TENANT SQL: runs SQL on the tenant's store behind the collector's back
# (data dir $DATA), output as sqlite3 prints it (columns joined by |). On PostgreSQL
# it runs as the tenant's own role in its schema, as the collector does.
store_sql() {
    if [ "$MTD_TEST_STORE" = postgresql ]; then
        psql "$MTD_PG_URL" -qAtX -v ON_ERROR_STOP=1 -c "SET ROLE mtd_t_$1; SET search_path TO t_$1" -c "$2"
    else
        sqlite3 "$DATA/tenants/$1/store.sqlite" "$2"
    fi
}

# store_event_tables TENANT: the names of the tenant's event tables, one a line.
store_event_tables() {
    if [ "$MTD_TEST_STORE" = postgresql ]; then
        store_sql "$1" "select tablename from pg_tables where schemaname = 't_$1' and tablename like 'ev\_%' order by 1"
    else
        store_sql "$1" "select name from sqlite_master where type = 'table' and name like 'ev\_%' escape '\\' order by 1"
    fi
}

# store_dump TENANT: everything the tenant's store holds, as text (the SQLite file and
# its WAL as they are on disk; on PostgreSQL a dump of the schema, read past
# row-level security).
store_dump() {
    if [ "$MTD_TEST_STORE" = postgresql ]; then
        runuser -u postgres -- pg_dump -h "$MTD_PG_DIR" -d mtd -n "t_$1"
    else
        cat "$DATA/tenants/$1/"store.sqlite*
    fi
}

# store_dump_all: store_dump of every tenant (DATA's stores on SQLite, the whole
# database on PostgreSQL).
store_dump_all() {
    if [ "$MTD_TEST_STORE" = postgresql ]; then
        runuser -u postgres -- pg_dump -h "$MTD_PG_DIR" -d mtd
    else
        cat "${DATA:-$WORK/data}"/tenants/*/store.sqlite*
    fi
}

# feed_file TENANT NAME SHA256: the collector's file of one version of a feed (on
# PostgreSQL the feeds live in the cluster; the file is this collector's copy).
feed_file() {
    if [ "$MTD_TEST_STORE" = postgresql ]; then
        echo "$DATA/feedcache/$1/$2.$3"
    else
        echo "$DATA/tenants/$1/feeds/$2.$3"
    fi
}

# store_tenant_key TENANT: the tenant's key, 64 hex digits.
store_tenant_key() {
    if [ "$MTD_TEST_STORE" = postgresql ]; then
        psql "$MTD_PG_URL" -qAtX -c "select key from mtd.tenants where id = '$1'"
    else
        cat "$DATA/tenants/$1/tenant.key"
    fi
}
