# Shared by scripts/ci/postgres.sh and scripts/ci/redis.sh, sourced inside their subshells:
# installing a server from Debian when its binaries are missing. It never starts, stops or
# touches a running server; each script checks afterwards that the binaries it needs are
# there.

# _tandem_ci_apt_install SCRIPT WHAT PACKAGE OPT_OUT_VAR
#   Install the Debian PACKAGE with apt-get (quietly, progress on stderr), or say on stderr
#   why not and return 1: OPT_OUT_VAR (e.g. TANDEM_PG_NO_INSTALL) is set, or we are not
#   root. SCRIPT and WHAT name the caller and the server in the messages.
_tandem_ci_apt_install() {
  local script="$1" what="$2" package="$3" opt_out="$4"
  if [ -n "${!opt_out:-}" ]; then
    printf '%s: %s is not installed (%s is set)\n' "$script" "$what" "$opt_out" >&2
    return 1
  fi
  if [ "$(id -u)" != 0 ]; then
    printf '%s: %s is not installed, and installing it needs root (apt-get install %s)\n' \
      "$script" "$what" "$package" >&2
    return 1
  fi
  printf '%s: installing %s (apt-get)\n' "$script" "$package" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq "$package" >&2
}
