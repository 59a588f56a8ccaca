#!/usr/bin/env bash
# bench_pg.sh: the PostgreSQL store's ingest against COPY and the SQLite backend
# (bench/pg_ingest.c), in a PostgreSQL cluster of its own (tests/with-postgres.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/../tests/with-postgres.sh" "$MTD_BUILD/bench/pg_ingest" "$@"
