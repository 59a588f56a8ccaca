# shellcheck shell=bash
# pg.sh: a PostgreSQL cluster of its own in a directory, for tests/with-postgres.sh
# (one command's lifetime) and scripts/demo-scale (until make demo-stop). Sourced.
#
# The cluster is made by initdb and run as the unprivileged `postgres` user (PostgreSQL
# refuses to run as root), listening only on a Unix socket in that directory (no TCP
# port: nothing else on the machine can reach it, and two clusters never collide). It
# holds a database `mtd` owned by a role `mtd` that may log in and create roles but is
# no superuser (a superuser would bypass row-level security), which is what the
# collector connects as. pg_start DIR exports:
#   MTD_PG_URL    postgresql:///mtd?host=DIR&user=mtd   (what --store takes)
#   MTD_PG_DIR    the directory (socket, data, log)
#   MTD_PG_BIN    the server's binaries
#   MTD_PG_CTL    "pg_ctl -D DIR/data" run as postgres, for a test that restarts it

pg_bin() {
    local b
    b=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    [ -x "$b/initdb" ] || { echo "pg.sh: PostgreSQL server binaries not found (apt install postgresql)" >&2; return 1; }
    id postgres >/dev/null 2>&1 || { echo "pg.sh: no postgres user (apt install postgresql)" >&2; return 1; }
    echo "$b"
}

pg_as() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# pg_start DIR: DIR is created (empty or absent) and holds the cluster.
pg_start() {
    local dir=$1 pgbin
    pgbin=$(pg_bin) || return 1
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd) # the server runs elsewhere: its socket's path must be absolute
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    chmod 700 "$dir"
    pg_as "$pgbin/initdb" -D "$dir/data" -U postgres -A trust --no-locale -E UTF8 >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; return 1; }
    cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$dir'
port = 5432
max_connections = 200
shared_buffers = 128MB
fsync = on
synchronous_commit = on
CONF
    pg_as "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null ||
        { cat "$dir/server.log" >&2; return 1; }
    pg_as "$pgbin/psql" -h "$dir" -U postgres -d postgres -qAtX -v ON_ERROR_STOP=1 \
        -c "CREATE ROLE mtd LOGIN CREATEROLE" -c "CREATE DATABASE mtd OWNER mtd" >/dev/null || return 1
    export MTD_PG_DIR=$dir
    export MTD_PG_URL="postgresql:///mtd?host=$dir&user=mtd"
    export MTD_PG_BIN=$pgbin
    export MTD_PG_CTL="runuser -u postgres -- $pgbin/pg_ctl -D $dir/data"
    [ "$(id -u)" = 0 ] || MTD_PG_CTL="$pgbin/pg_ctl -D $dir/data"
}

# pg_stop DIR: the cluster in DIR stopped (at once) and DIR removed.
pg_stop() {
    local dir=$1 pgbin
    pgbin=$(pg_bin 2>/dev/null) && [ -d "$dir/data" ] &&
        pg_as "$pgbin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1
    rm -rf "$dir"
}
