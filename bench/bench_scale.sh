#!/usr/bin/env bash
# bench_scale.sh: ingest through one, two and three collectors into one PostgreSQL,
# against COPY of the same rows and the SQLite backend (bench/pg_scale.c), in a
# PostgreSQL cluster of its own (tests/with-postgres.sh). Says the load average, as
# the machine is shared.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
echo "bench_scale: load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
bash "$here/../tests/with-postgres.sh" "$MTD_BUILD/bench/pg_scale" "$@"
echo "bench_scale: load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
