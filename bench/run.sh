#!/bin/sh
# Run the verify benchmark pinned to CPU 1 (the machine has 2 cores; keep other load off CPU 1).
# Usage: npm run bench   (or: sh bench/run.sh). Env: BENCH_ROUNDS, BENCH_MIN_MS, BENCH_NO_WRITE=1.
# Without taskset (e.g. macOS) it runs unpinned and says so.
cd "$(dirname "$0")/.." || exit 1
if command -v taskset >/dev/null 2>&1; then
  exec taskset -c 1 node bench/verify.mjs "$@"
fi
echo "bench/run.sh: taskset not found, running unpinned" >&2
exec node bench/verify.mjs "$@"
