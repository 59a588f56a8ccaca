#!/usr/bin/env bash
# bench_pg_reports.sh [DEVICES [APPS_PER_DEVICE]]: every admin report's first and middle
# page on the PostgreSQL store against a plain table of the same rows (bench/pg_reports.c),
# in a PostgreSQL cluster of its own (tests/with-postgres.sh). make bench runs the quick
# fleet (1000 x 300); issue 20's is 5000 300.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/../tests/with-postgres.sh" "$MTD_BUILD/bench/pg_reports" "$@"
