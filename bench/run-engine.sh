#!/bin/sh
# Run the session-engine benchmark pinned to CPU 1 (the machine has 2 cores; keep other load off CPU 1).
# Usage: npm run bench:engine   (or: sh bench/run-engine.sh). Env: BENCH_ROUNDS, BENCH_MAX_MS,
# BENCH_MAX_OPS, BENCH_CONCURRENCY, BENCH_MEM_N, BENCH_MEM_REPEATS, BENCH_NO_WRITE=1,
# TANDEM_REDIS_URL, TANDEM_PG_URL. Without taskset (e.g. macOS) it runs unpinned and says so.
cd "$(dirname "$0")/.." || exit 1
if command -v taskset >/dev/null 2>&1; then
  exec taskset -c 1 node bench/engine.mjs "$@"
fi
echo "bench/run-engine.sh: taskset not found, running unpinned" >&2
exec node bench/engine.mjs "$@"
