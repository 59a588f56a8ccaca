#!/usr/bin/env bash
# The combined run of issue 14 at its full size (tests/hostile/hostile.py --full combined):
# 1,000 devices behind one address upload while 4,000 slow connections fill the
# collector's 4,000 connection slots and 300 large unauthenticated bodies arrive, twice.
# Prints the collector's RSS peak and growth against the stated bound, the legitimate
# batches' p50/p99 and what was shed, by reason. `make check` runs it scaled down.
set -euo pipefail
: "${MTD_BIN:?MTD_BIN must point to build/bin}"
exec python3 "$(dirname "$0")/../tests/hostile/hostile.py" --full combined
