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
# directory is new. The servers are postgres.sh's and redis.sh's, given the certificates
# (TANDEM_PG_TLS_DIR, TANDEM_REDIS_TLS_DIR); they install their own; this script installs
# openssl.
#
# Sourcing is safe: the work runs in a subshell; it returns non-zero on failure.

_tandem_tls() (
  set -euo pipefail
  local cmd="${1:-start}"
  local root=/tmp/tandem-tls
  local here
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  local rport=6393 cport=7200 pgport=5443
  log() { printf 'tls.sh: %s\n' "$*" >&2; }
  source "$here/lib.sh"
  # The Redis servers are redis.sh's, started with the certificates of this directory.
  redis() {
    TANDEM_REDIS_TLS_DIR="$root" TANDEM_REDIS_DIR="$root/redis" TANDEM_REDIS_PORT="$rport" \
      TANDEM_REDIS_CLUSTER_PORT="$cport" bash "$here/redis.sh" "$@"
  }

  if [ "$cmd" = stop ]; then
    redis stop >/dev/null 2>&1 || true
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

  # Redis: a server and a three-node cluster, TLS only, an ACL user, no default user.
  local urls
  urls="$(redis start)" || return 1
  echo "export TANDEM_TLS_CA=$root/ca.crt TANDEM_TLS_OTHER_CA=$root/other-ca.crt"
  echo "export TANDEM_PG_TLS_URL=postgres://postgres@localhost:$pgport/tandem"
  echo "export TANDEM_REDIS_TLS_URL=$(printf '%s\n' "$urls" | sed -n 1p)"
  echo "export TANDEM_REDIS_TLS_CLUSTER=$(printf '%s\n' "$urls" | sed -n 2p)"
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
