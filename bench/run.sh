#!/bin/sh
# The whole benchmark suite, in order: verify and sign from JS (bench/verify.mjs →
# VERIFY-RESULTS.md), the session engine (bench/run-engine.sh → ENGINE-RESULTS.md), HTTP
# (bench/run-http.sh → HTTP-RESULTS.md), instructions per request under callgrind
# (bench/http/instructions.mjs → INSTRUCTIONS-RESULTS.md; skipped without valgrind), then
# bench/summary.mjs, which puts the headline tables of every part and bench/ANALYSIS.md into
# bench/RESULTS.md. Each part is pinned as its own script says (the machine has 2 cores; keep
# other load off them). Usage: npm run bench   (or: sh bench/run.sh).
# Env: BENCH_PARTS="verify engine http instr" (a subset, in any order; the summary always
# runs); each part's own variables (BENCH_ROUNDS, …: see the scripts; one BENCH_ROUNDS applies
# to verify, engine and HTTP); TANDEM_REDIS_URL and TANDEM_PG_URL for the Redis and PostgreSQL
# stores. Arguments go to bench/verify.mjs.
# Without taskset (e.g. macOS) verify and engine run unpinned and say so; HTTP needs taskset.
cd "$(dirname "$0")/.." || exit 1
status=0
for part in ${BENCH_PARTS:-verify engine http instr}; do
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
  instr) node bench/http/instructions.mjs || status=1 ;;
  *)
    echo "bench/run.sh: unknown part '$part' (verify, engine, http, instr)" >&2
    status=2
    ;;
  esac
done
node bench/summary.mjs || status=1
exit $status
