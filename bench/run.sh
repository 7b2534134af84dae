#!/bin/sh
# The whole benchmark suite, in order: the verify micro-benchmark (bench/verify.mjs → RESULTS.md),
# the session engine (bench/run-engine.sh → ENGINE-RESULTS.md) and HTTP (bench/run-http.sh →
# HTTP-RESULTS.md). Each is pinned as its own script says (the machine has 2 cores; keep other
# load off them). Usage: npm run bench   (or: sh bench/run.sh).
# Env: BENCH_PARTS="verify engine http" (a subset, in any order); each part's own variables
# (BENCH_ROUNDS, …: see the scripts; one BENCH_ROUNDS applies to all parts); TANDEM_REDIS_URL and
# TANDEM_PG_URL for the Redis and PostgreSQL stores. Arguments go to bench/verify.mjs.
# Without taskset (e.g. macOS) verify and engine run unpinned and say so; HTTP needs taskset.
cd "$(dirname "$0")/.." || exit 1
status=0
for part in ${BENCH_PARTS:-verify engine http}; do
  echo "== bench: $part"
  case "$part" in
  verify)
    if command -v taskset >/dev/null 2>&1; then
      taskset -c 1 node bench/verify.mjs "$@" || status=1
    else
      echo "bench/run.sh: taskset not found, running unpinned" >&2
      node bench/verify.mjs "$@" || status=1
    fi
    ;;
  engine) sh bench/run-engine.sh || status=1 ;;
  http) sh bench/run-http.sh || status=1 ;;
  *)
    echo "bench/run.sh: unknown part '$part' (verify, engine, http)" >&2
    status=2
    ;;
  esac
done
exit $status
