#!/usr/bin/env bash
# with-postgres.sh COMMAND...: runs COMMAND against a PostgreSQL cluster of its own,
# made in a temporary directory by tests/pg.sh (initdb, run as the `postgres` user,
# a Unix socket only). COMMAND sees MTD_PG_URL (what --store takes), MTD_PG_DIR,
# MTD_PG_BIN and MTD_PG_CTL (pg_ctl as postgres, for a test that restarts it). The
# cluster is stopped and removed when COMMAND ends, however it ends.
set -euo pipefail
source "$(dirname "$0")/pg.sh"
pg_bin >/dev/null || exit 1
dir=$(mktemp -d "${TMPDIR:-/tmp}/mtd-pg.XXXXXX")
trap 'pg_stop "$dir"' EXIT
pg_start "$dir" || exit 1
"$@"
