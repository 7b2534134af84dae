#!/bin/sh
# Run the HTTP benchmark: the driver (autocannon) pinned to CPU 1, each server it starts pinned to
# CPU 0 (the machine has 2 cores). Usage: sh bench/run-http.sh (npm run bench runs it last);
# `sh bench/run-http.sh --profile tandem-memory auth-read` profiles one server (V8 sampling profiler, measured run only).
# Env: see bench/http/run.mjs (BENCH_ROUNDS, BENCH_DURATION, BENCH_CONTENDERS, …). The Redis and
# PostgreSQL contenders need TANDEM_REDIS_URL / TANDEM_PG_URL: `source scripts/ci/redis.sh` and
# `export TANDEM_PG_URL=$(bash scripts/ci/postgres.sh)` start throwaway servers on loopback.
cd "$(dirname "$0")/.." || exit 1
if ! command -v taskset >/dev/null 2>&1; then
  echo "bench/run-http.sh: needs taskset (util-linux) to pin the server and the load generator" >&2
  exit 1
fi
exec taskset -c 1 node bench/http/run.mjs "$@"
