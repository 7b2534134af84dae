#!/usr/bin/env bash
# Throwaway Redis servers on loopback, for the Redis store's tests: one standalone server
# and one three-node Redis Cluster (primaries only, no replicas).
#
#   bash scripts/ci/redis.sh [start]   # start both (idempotent); prints the two URLs
#   bash scripts/ci/redis.sh stop      # SHUTDOWN NOSAVE all four servers
#   bash scripts/ci/redis.sh destroy   # stop, then delete their directories
#   bash scripts/ci/redis.sh env       # print `export TANDEM_REDIS_URL=… TANDEM_REDIS_CLUSTER=…`
#   source scripts/ci/redis.sh         # start both and export TANDEM_REDIS_URL and
#                                      # TANDEM_REDIS_CLUSTER into the calling shell
#
# Ports: standalone 127.0.0.1:6390 (TANDEM_REDIS_PORT), cluster 127.0.0.1:7100-7102
# (TANDEM_REDIS_CLUSTER_PORT is the first); with TANDEM_REDIS_TLS_DIR, TLS only (see the
# URLs below and scripts/ci/tls.sh). `start` installs Debian's `redis-server` with
# apt-get when it is missing (unless TANDEM_REDIS_NO_INSTALL is set). Every server binds
# 127.0.0.1 only, runs daemonized with its data directory under /tmp/tandem-redis
# (TANDEM_REDIS_DIR), and keeps nothing on disk but the cluster's nodes.conf (no RDB, no
# AOF: test data only). `start` waits until each answers PING and every cluster node
# reports cluster_state:ok. It is idempotent: servers that answer are left as they are; a
# cluster whose nodes run but hold no slots is created; a broken one is reset and created
# anew. On stdout: the standalone URL, then the cluster's comma-separated URLs, e.g.
#   redis://127.0.0.1:6390
#   redis://127.0.0.1:7100,redis://127.0.0.1:7101,redis://127.0.0.1:7102
#
# Sourcing is safe: the work runs in a subshell, so neither `set -e` nor an exit reaches
# the calling shell; it returns non-zero on failure.

_tandem_redis() (
  set -euo pipefail
  local cmd="${1:-start}"
  case "$cmd" in
  start | stop | destroy | env | url) ;;
  *)
    echo "redis.sh: unknown command '$cmd' (start, stop, destroy, env, url)" >&2
    return 2
    ;;
  esac
  local port="${TANDEM_REDIS_PORT:-6390}" first="${TANDEM_REDIS_CLUSTER_PORT:-7100}"
  local root="${TANDEM_REDIS_DIR:-/tmp/tandem-redis}"
  case "$port$first" in
  *[!0-9]*)
    echo "redis.sh: the ports must be numbers" >&2
    return 2
    ;;
  esac
  local cports=("$first" "$((first + 1))" "$((first + 2))")
  # With TANDEM_REDIS_TLS_DIR (ca.crt, server.crt, server.key: scripts/ci/tls.sh): TLS
  # only, an ACL user `tandem` and no default user; the URLs are rediss:// with its password.
  local tls="${TANDEM_REDIS_TLS_DIR:-}" password=tandem-tls-test-password
  local scheme=redis:// host=127.0.0.1 auth=''
  local tls_cli=()
  if [ -n "$tls" ]; then
    scheme=rediss:// host=localhost auth="tandem:$password@"
    tls_cli=(--tls --cacert "$tls/ca.crt" --user tandem --pass "$password")
  fi
  local url="$scheme$auth$host:$port"
  local curls="$scheme${auth}127.0.0.1:${cports[0]},$scheme${auth}127.0.0.1:${cports[1]},$scheme${auth}127.0.0.1:${cports[2]}"
  log() { printf 'redis.sh: %s\n' "$*" >&2; }
  source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

  case "$cmd" in
  url)
    echo "$url"
    echo "$curls"
    return 0
    ;;
  env)
    echo "export TANDEM_REDIS_URL=$url TANDEM_REDIS_CLUSTER=$curls"
    return 0
    ;;
  esac

  if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
    if [ "$cmd" != start ]; then
      log "redis-server is not installed"
      [ "$cmd" = destroy ] && rm -rf "$root"
      return 0
    fi
    # Debian's package may try to start its own service on 6379: harmless, and refused
    # where there is no init system.
    _tandem_ci_apt_install redis.sh redis-server redis-server TANDEM_REDIS_NO_INSTALL || return 1
    command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 || {
      log "redis-server installed, but redis-server or redis-cli was not found"
      return 1
    }
  fi

  cli() {
    local p="$1"
    shift
    redis-cli "${tls_cli[@]}" -h 127.0.0.1 -p "$p" --no-auth-warning "$@"
  }
  answers() { [ "$(cli "$1" PING 2>/dev/null)" = PONG ]; }
  cluster_ok() { cli "$1" CLUSTER INFO 2>/dev/null | tr -d '\r' | grep -qx 'cluster_state:ok'; }
  slots_assigned() {
    cli "$1" CLUSTER INFO 2>/dev/null | tr -d '\r' | sed -n 's/^cluster_slots_assigned://p'
  }
  wait_for() { # wait_for SECONDS CHECK ARGS…
    local n=$(($1 * 10))
    shift
    while ! "$@"; do
      n=$((n - 1))
      [ "$n" -gt 0 ] || return 1
      sleep 0.1
    done
  }

  stop_one() {
    local p="$1"
    if answers "$p"; then
      cli "$p" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
      wait_for 10 not_answering "$p" || log "127.0.0.1:$p did not stop"
    fi
  }
  not_answering() { ! answers "$1"; }

  case "$cmd" in
  stop | destroy)
    stop_one "$port"
    for p in "${cports[@]}"; do stop_one "$p"; done
    [ "$cmd" = destroy ] && rm -rf "$root"
    return 0
    ;;
  esac

  # start_one PORT [extra redis-server options…]
  start_one() {
    local p="$1"
    shift
    if answers "$p"; then
      return 0
    fi
    local dir="$root/$p"
    mkdir -p "$dir"
    log "starting redis-server on 127.0.0.1:$p ($dir)"
    local listen=(--port "$p")
    if [ -n "$tls" ]; then
      printf 'user default off\nuser tandem on >%s ~* &* +@all\n' "$password" >"$dir/acl.conf"
      listen=(--port 0 --tls-port "$p" --tls-cert-file "$tls/server.crt"
        --tls-key-file "$tls/server.key" --tls-ca-cert-file "$tls/ca.crt" --tls-auth-clients no
        --aclfile "$dir/acl.conf")
    fi
    redis-server "${listen[@]}" --bind 127.0.0.1 --protected-mode yes --daemonize yes \
      --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
      --save '' --appendonly no "$@" >/dev/null || {
      log "redis-server on port $p did not start"
      return 1
    }
    wait_for 20 answers "$p" || {
      log "redis-server on port $p does not answer; its log:"
      tail -n 30 "$dir/redis.log" >&2 || true
      return 1
    }
  }

  start_one "$port"
  for p in "${cports[@]}"; do
    start_one "$p" ${tls:+--tls-cluster yes} --cluster-enabled yes --cluster-config-file nodes.conf \
      --cluster-node-timeout 5000 --cluster-require-full-coverage yes
  done

  all_ok() {
    local p
    for p in "${cports[@]}"; do cluster_ok "$p" || return 1; done
  }

  if ! all_ok; then
    # Nodes that come back from their nodes.conf may need a moment to agree.
    wait_for 3 all_ok || true
  fi
  if ! all_ok; then
    local p n assigned=0
    for p in "${cports[@]}"; do
      n="$(slots_assigned "$p")" || true
      assigned=$((assigned + ${n:-0}))
    done
    if [ "$assigned" != 0 ]; then
      log "the cluster is broken: resetting it"
      for p in "${cports[@]}"; do
        cli "$p" FLUSHALL >/dev/null 2>&1 || true
        cli "$p" CLUSTER RESET HARD >/dev/null
      done
    fi
    log "creating the cluster on 127.0.0.1:${cports[0]}-${cports[2]}"
    redis-cli "${tls_cli[@]}" --no-auth-warning --cluster create "127.0.0.1:${cports[0]}" "127.0.0.1:${cports[1]}" \
      "127.0.0.1:${cports[2]}" --cluster-replicas 0 --cluster-yes >/dev/null || {
      log "redis-cli --cluster create failed"
      return 1
    }
    wait_for 30 all_ok || {
      log "the cluster did not reach cluster_state:ok"
      return 1
    }
  fi
  echo "$url"
  echo "$curls"
)

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
  # Sourced: start the servers and export their URLs into the calling shell. The caller's
  # positional parameters are not ours.
  if _tandem_redis_out="$(_tandem_redis start)"; then
    TANDEM_REDIS_URL="$(printf '%s\n' "$_tandem_redis_out" | sed -n 1p)"
    TANDEM_REDIS_CLUSTER="$(printf '%s\n' "$_tandem_redis_out" | sed -n 2p)"
    export TANDEM_REDIS_URL TANDEM_REDIS_CLUSTER
    echo "TANDEM_REDIS_URL=$TANDEM_REDIS_URL" >&2
    echo "TANDEM_REDIS_CLUSTER=$TANDEM_REDIS_CLUSTER" >&2
    unset _tandem_redis_out
  else
    unset _tandem_redis_out
    echo "redis.sh: Redis could not be started" >&2
    false
  fi
else
  _tandem_redis "$@"
fi
