#!/usr/bin/env bash
# with-postgres.sh COMMAND...: runs COMMAND against a PostgreSQL cluster of its own.
#
# The cluster is made by initdb in a temporary directory and run as the unprivileged
# `postgres` user (PostgreSQL refuses to run as root), listening only on a Unix socket
# in that directory (no TCP port: nothing else on the machine can reach it, and two
# tests never collide). It holds a database `mtd` owned by a role `mtd` that may log
# in and create roles but is no superuser (a superuser would bypass row-level
# security), which is what the collector connects as. COMMAND sees:
#   MTD_PG_URL    postgresql:///mtd?host=DIR&user=mtd   (what --store takes)
#   MTD_PG_DIR    the directory (socket, data, log)
#   MTD_PG_CTL    "pg_ctl -D DIR/data" run as postgres, for a test that restarts it
# The cluster is stopped and removed when COMMAND ends, however it ends.
set -euo pipefail

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$pgbin/initdb" ] || { echo "with-postgres: PostgreSQL server binaries not found (apt install postgresql)" >&2; exit 1; }
id postgres >/dev/null 2>&1 || { echo "with-postgres: no postgres user (apt install postgresql)" >&2; exit 1; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/mtd-pg.XXXXXX")
as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
stop() {
    as_pg "$pgbin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap stop EXIT
[ "$(id -u)" = 0 ] && chown postgres "$dir"
chmod 700 "$dir"

as_pg "$pgbin/initdb" -D "$dir/data" -U postgres -A trust --no-locale -E UTF8 >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$dir'
port = 5432
max_connections = 200
shared_buffers = 128MB
fsync = on
synchronous_commit = on
CONF
as_pg "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null ||
    { cat "$dir/server.log" >&2; exit 1; }
as_pg "$pgbin/psql" -h "$dir" -U postgres -d postgres -qAtX -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE mtd LOGIN CREATEROLE" -c "CREATE DATABASE mtd OWNER mtd" >/dev/null

export MTD_PG_DIR=$dir
export MTD_PG_URL="postgresql:///mtd?host=$dir&user=mtd"
export MTD_PG_BIN=$pgbin
export MTD_PG_CTL="runuser -u postgres -- $pgbin/pg_ctl -D $dir/data"
[ "$(id -u)" = 0 ] || MTD_PG_CTL="$pgbin/pg_ctl -D $dir/data"
"$@"
