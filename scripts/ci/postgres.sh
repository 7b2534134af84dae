#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on loopback, for the PostgreSQL store's tests.
#
#   bash scripts/ci/postgres.sh [start] [PORT]     # default: start 5440; prints the URL
#   bash scripts/ci/postgres.sh stop [PORT] [MODE] # pg_ctl stop -m MODE (default fast)
#   bash scripts/ci/postgres.sh destroy [PORT]     # stop, then delete the cluster
#   bash scripts/ci/postgres.sh url [PORT]         # print the URL only
#   source scripts/ci/postgres.sh                  # start (port TANDEM_PG_PORT, default
#                                                  # 5440) and export TANDEM_PG_URL
#
# `start` installs Debian's `postgresql` with apt-get when its binaries are missing
# (unless TANDEM_PG_NO_INSTALL is set), initialises a cluster in
# /tmp/tandem-pg-PORT (trust authentication, role `postgres`, database
# `tandem`, fsync off: test data only), and starts it listening on 127.0.0.1:PORT only
# (with TANDEM_PG_TLS_DIR set when it is initialised: TLS only, see scripts/ci/tls.sh),
# with its unix socket inside the cluster's directory. It is idempotent: a running
# cluster is left as it is, a stopped one is started again, a broken one is made anew.
# The connection string is the only line on stdout, e.g.
#   postgres://postgres@127.0.0.1:5440/tandem
# As root (CI), initdb, pg_ctl and psql run as the `postgres` OS user.
#
# Sourcing is safe: the work runs in a subshell, so neither `set -e` nor an exit reaches
# the calling shell; it returns non-zero on failure.

_tandem_pg() (
  set -euo pipefail
  local cmd="${1:-start}" port="${2:-5440}" mode="${3:-fast}"
  case "$cmd" in
  start | stop | destroy | url | status) ;;
  *)
    echo "postgres.sh: unknown command '$cmd' (start, stop, destroy, url, status)" >&2
    return 2
    ;;
  esac
  case "$port" in
  '' | *[!0-9]*)
    echo "postgres.sh: the port must be a number" >&2
    return 2
    ;;
  esac
  # /tmp rather than $TMPDIR: as root the cluster is the postgres user's, who must reach it.
  local dir="/tmp/tandem-pg-$port"
  local url="postgres://postgres@127.0.0.1:$port/tandem"
  log() { printf 'postgres.sh: %s\n' "$*" >&2; }
  source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
  # The postgres OS user may not be allowed into the caller's directory (/root, …).
  cd /

  if [ "$cmd" = url ]; then
    echo "$url"
    return 0
  fi

  bindir() {
    local d
    # Debian keeps the server binaries out of PATH, one directory per major version.
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
      if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
        echo "$d"
        return 0
      fi
    done
    if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
      dirname "$(command -v pg_ctl)"
      return 0
    fi
    return 1
  }

  local bin
  if ! bin="$(bindir)"; then
    if [ "$cmd" != start ]; then
      log "PostgreSQL is not installed"
      [ "$cmd" = destroy ] && rm -rf "$dir"
      return 1
    fi
    _tandem_ci_apt_install postgres.sh PostgreSQL postgresql TANDEM_PG_NO_INSTALL || return 1
    bin="$(bindir)" || {
      log "postgresql installed, but initdb and pg_ctl were not found"
      return 1
    }
  fi

  # As root, the cluster belongs to the postgres OS user (initdb refuses root).
  as_owner() {
    if [ "$(id -u)" = 0 ]; then
      runuser -u postgres -- "$@"
    else
      "$@"
    fi
  }

  running() { [ -f "$dir/PG_VERSION" ] && as_owner "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; }

  case "$cmd" in
  status)
    if running; then
      log "running on 127.0.0.1:$port ($dir)"
      echo "$url"
      return 0
    fi
    log "not running ($dir)"
    return 3
    ;;
  stop | destroy)
    if running; then
      as_owner "$bin/pg_ctl" -D "$dir" -m "$mode" -w -t 30 stop >&2
    fi
    if [ "$cmd" = destroy ]; then
      rm -rf "$dir"
    fi
    return 0
    ;;
  esac

  # start
  if running; then
    log "already running on 127.0.0.1:$port"
  else
    if [ ! -f "$dir/PG_VERSION" ] || [ ! -f "$dir/tandem-initialised" ]; then
      log "initialising a throwaway cluster in $dir"
      rm -rf "$dir"
      mkdir -p "$dir"
      chmod 700 "$dir"
      if [ "$(id -u)" = 0 ]; then
        chown postgres:postgres "$dir"
      fi
      as_owner "$bin/initdb" -D "$dir" -U postgres --auth=trust --encoding=UTF8 \
        --no-locale --no-sync >/dev/null
      as_owner sh -c "cat >> '$dir/postgresql.conf'" <<EOF

# tandem-session test cluster: loopback only, throwaway data.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
fsync = off
full_page_writes = off
max_connections = 200
EOF
      if [ -n "${TANDEM_PG_TLS_DIR:-}" ]; then
        # TLS only: the server certificate and key from TANDEM_PG_TLS_DIR (server.crt,
        # server.key), and every TCP connection that is not TLS refused.
        install -m 600 "$TANDEM_PG_TLS_DIR/server.key" "$dir/server.key"
        install -m 644 "$TANDEM_PG_TLS_DIR/server.crt" "$dir/server.crt"
        if [ "$(id -u)" = 0 ]; then
          chown postgres:postgres "$dir/server.key" "$dir/server.crt"
        fi
        as_owner sh -c "cat >> '$dir/postgresql.conf'" <<EOF
ssl = on
ssl_cert_file = 'server.crt'
ssl_key_file = 'server.key'
EOF
        as_owner sh -c "cat > '$dir/pg_hba.conf'" <<EOF
local all all trust
hostssl all all 127.0.0.1/32 trust
hostnossl all all 127.0.0.1/32 reject
EOF
      fi
      as_owner touch "$dir/tandem-initialised"
    fi
    # A stale pid file after a crash or `stop -m immediate` is handled by pg_ctl itself.
    log "starting on 127.0.0.1:$port"
    as_owner "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 start >/dev/null || {
      log "the server did not start; its log:"
      tail -n 30 "$dir/server.log" >&2 || true
      return 1
    }
  fi

  local psql=("$bin/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres)
  # One database per test suite, so that one suite's leftovers (the store suite writes
  # fake key rings) never meet another's: tandem (store), tandem_engine (engine scenarios),
  # tandem_js (the engine JS tests), tandem_http (the middleware JS tests).
  local db
  for db in tandem tandem_engine tandem_js tandem_http; do
    if [ "$("${psql[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
      "${psql[@]}" -d postgres -c "CREATE DATABASE $db" >/dev/null
    fi
  done
  echo "$url"
)

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
  # Sourced: start the default cluster and export its URL into the calling shell.
  # The caller's positional parameters are not ours: the port comes from TANDEM_PG_PORT.
  if TANDEM_PG_URL="$(_tandem_pg start "${TANDEM_PG_PORT:-5440}")"; then
    export TANDEM_PG_URL
    echo "TANDEM_PG_URL=$TANDEM_PG_URL" >&2
  else
    echo "postgres.sh: PostgreSQL could not be started" >&2
    false
  fi
else
  _tandem_pg "$@"
fi
