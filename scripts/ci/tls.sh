#!/usr/bin/env bash
# TLS-only store servers on loopback, for the stores' TLS tests: a certificate authority
# made here, a PostgreSQL cluster that refuses plain TCP, a Redis server and a three-node
# Redis Cluster that speak TLS only, each Redis with an ACL user and no default user.
#
#   source scripts/ci/tls.sh     # start them (idempotent) and export the variables below
#   bash scripts/ci/tls.sh stop  # stop the Redis servers and the PostgreSQL cluster
#
# Exports:
#   TANDEM_TLS_CA            the CA's certificate (PEM) that signed the servers' certificate
#   TANDEM_TLS_OTHER_CA      a CA that signed nothing here (a client trusting it must fail)
#   TANDEM_PG_TLS_URL        postgres://postgres@localhost:5443/tandem (TLS only)
#   TANDEM_REDIS_TLS_URL     rediss://tandem:<password>@localhost:6393 (TLS only, ACL user)
#   TANDEM_REDIS_TLS_CLUSTER rediss://tandem:<password>@127.0.0.1:7200,…7201,…7202
# The server certificate names localhost and 127.0.0.1 (so verify-full passes on both) and
# nothing else. Files live under /tmp/tandem-tls; keys are test keys, made fresh when the
# directory is new. openssl, redis-server and PostgreSQL come from Debian when missing
# (postgres.sh and redis.sh install theirs; this script installs openssl).
#
# Sourcing is safe: the work runs in a subshell; it returns non-zero on failure.

_tandem_tls() (
  set -euo pipefail
  local cmd="${1:-start}"
  local root=/tmp/tandem-tls
  local here
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  local password=tandem-tls-test-password
  local rport=6393 cports=(7200 7201 7202) pgport=5443
  log() { printf 'tls.sh: %s\n' "$*" >&2; }
  source "$here/lib.sh"

  rcli() {
    local p="$1"
    shift
    redis-cli --tls --cacert "$root/ca.crt" -h 127.0.0.1 -p "$p" --user tandem --pass "$password" \
      --no-auth-warning "$@"
  }
  answers() { [ "$(rcli "$1" PING 2>/dev/null)" = PONG ]; }
  wait_for() {
    local n=$(($1 * 10))
    shift
    while ! "$@"; do
      n=$((n - 1))
      [ "$n" -gt 0 ] || return 1
      sleep 0.1
    done
  }

  if [ "$cmd" = stop ]; then
    local p
    for p in "$rport" "${cports[@]}"; do
      rcli "$p" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
    done
    bash "$here/postgres.sh" stop "$pgport" >/dev/null 2>&1 || true
    return 0
  fi

  command -v openssl >/dev/null 2>&1 ||
    _tandem_ci_apt_install tls.sh openssl openssl TANDEM_TLS_NO_INSTALL || return 1
  mkdir -p "$root"
  if [ ! -f "$root/server.crt" ]; then
    log "making a test CA and a server certificate for localhost and 127.0.0.1 in $root"
    (
      cd "$root"
      openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj '/CN=tandem-session test CA' \
        -keyout ca.key -out ca.crt 2>/dev/null
      openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj '/CN=an unrelated CA' \
        -keyout other-ca.key -out other-ca.crt 2>/dev/null
      openssl req -newkey rsa:2048 -nodes -subj '/CN=localhost' -keyout server.key \
        -out server.csr 2>/dev/null
      printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\n' >ext.cnf
      openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
        -extfile ext.cnf -out server.crt 2>/dev/null
      chmod 644 server.key ca.crt other-ca.crt server.crt
    )
  fi

  # PostgreSQL: a cluster of its own that refuses plain TCP.
  TANDEM_PG_TLS_DIR="$root" bash "$here/postgres.sh" start "$pgport" >/dev/null

  # Redis: TLS only, an ACL user, no default user.
  start_one() { # start_one PORT [extra options…]
    local p="$1"
    shift
    if answers "$p"; then
      return 0
    fi
    local dir="$root/redis-$p"
    mkdir -p "$dir"
    log "starting redis-server with TLS on 127.0.0.1:$p ($dir)"
    cat >"$dir/acl.conf" <<EOF
user default off
user tandem on >$password ~* &* +@all
EOF
    redis-server --port 0 --tls-port "$p" --bind 127.0.0.1 --protected-mode yes \
      --tls-cert-file "$root/server.crt" --tls-key-file "$root/server.key" \
      --tls-ca-cert-file "$root/ca.crt" --tls-auth-clients no --aclfile "$dir/acl.conf" \
      --daemonize yes --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
      --save '' --appendonly no "$@" >/dev/null || {
      log "redis-server on port $p did not start"
      return 1
    }
    wait_for 20 answers "$p" || {
      log "redis-server on port $p does not answer over TLS; its log:"
      tail -n 30 "$dir/redis.log" >&2 || true
      return 1
    }
  }
  start_one "$rport"
  local p
  for p in "${cports[@]}"; do
    start_one "$p" --tls-cluster yes --cluster-enabled yes --cluster-config-file nodes.conf \
      --cluster-node-timeout 5000 --cluster-require-full-coverage yes
  done
  cluster_ok() { rcli "$1" CLUSTER INFO 2>/dev/null | tr -d '\r' | grep -qx 'cluster_state:ok'; }
  all_ok() {
    local q
    for q in "${cports[@]}"; do cluster_ok "$q" || return 1; done
  }
  if ! all_ok; then
    wait_for 3 all_ok || true
  fi
  if ! all_ok; then
    for p in "${cports[@]}"; do
      rcli "$p" FLUSHALL >/dev/null 2>&1 || true
      rcli "$p" CLUSTER RESET HARD >/dev/null 2>&1 || true
    done
    log "creating the TLS cluster on 127.0.0.1:${cports[0]}-${cports[2]}"
    redis-cli --tls --cacert "$root/ca.crt" --user tandem --pass "$password" --no-auth-warning \
      --cluster create "127.0.0.1:${cports[0]}" "127.0.0.1:${cports[1]}" "127.0.0.1:${cports[2]}" \
      --cluster-replicas 0 --cluster-yes >/dev/null || {
      log "redis-cli --cluster create failed"
      return 1
    }
    wait_for 30 all_ok || {
      log "the TLS cluster did not reach cluster_state:ok"
      return 1
    }
  fi
  echo "export TANDEM_TLS_CA=$root/ca.crt TANDEM_TLS_OTHER_CA=$root/other-ca.crt"
  echo "export TANDEM_PG_TLS_URL=postgres://postgres@localhost:$pgport/tandem"
  echo "export TANDEM_REDIS_TLS_URL=rediss://tandem:$password@localhost:$rport"
  echo "export TANDEM_REDIS_TLS_CLUSTER=rediss://tandem:$password@127.0.0.1:${cports[0]},rediss://tandem:$password@127.0.0.1:${cports[1]},rediss://tandem:$password@127.0.0.1:${cports[2]}"
)

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
  if _tandem_tls_out="$(_tandem_tls start)"; then
    eval "$_tandem_tls_out"
    printf '%s\n' "$_tandem_tls_out" | sed 's/:[^:@]*@/:…@/g' >&2
    unset _tandem_tls_out
  else
    unset _tandem_tls_out
    echo "tls.sh: the TLS servers could not be started" >&2
    false
  fi
else
  _tandem_tls "$@"
fi
