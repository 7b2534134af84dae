#!/usr/bin/env bash
# Fuzz every cargo-fuzz target of fuzz/ for a bounded time; exit non-zero on any crash.
#
#   bash scripts/ci/fuzz.sh                  # every target, FUZZ_SECONDS (60) each
#   FUZZ_SECONDS=3600 bash scripts/ci/fuzz.sh jwt_verify
#
# Environment:
#   FUZZ_SECONDS    run time of each target, seconds (default 60)
#   FUZZ_SANITIZER  none (default: safe Rust, works on the stable toolchain) or address
#                   (AddressSanitizer; needs -Z flags, so RUSTC_BOOTSTRAP=1 is set for it)
#   FUZZ_JOBS       parallel libFuzzer workers per target (default 1; this machine has 2 cores)
#   FUZZ_KEEP       set to a folder to keep the grown corpus and any crash there
#   FUZZ_TARGET_DIR build folder (default fuzz/target); one outside the clone lets CI
#                   reuse the ~6-minute cold build across runs on the same machine
#
# Each target starts from a copy of its committed seeds (fuzz/corpus/<target>), so the
# repository stays clean. On a crash the input is printed as hex and kept in the work
# folder, with the command that replays it.
set -euo pipefail
cd "$(dirname "$0")/../.."

CARGO_FUZZ_VERSION=0.13.2
SECONDS_EACH="${FUZZ_SECONDS:-60}"
SANITIZER="${FUZZ_SANITIZER:-none}"
JOBS="${FUZZ_JOBS:-1}"
TRIPLE="$(rustc -vV | sed -n 's/^host: //p')"

# Longest input each target tries: just over each parser's own limit, so the limit itself
# is exercised (8 KiB tokens, 16 KiB headers, 92-character refresh tokens).
max_len() {
  case "$1" in
    jwt_verify) echo 9000 ;;
    cookie_header) echo 17000 ;;
    refresh_token) echo 256 ;;
    legacy_cookie) echo 1100 ;;
    *) echo 4096 ;;
  esac
}

hex() { od -An -v -tx1 "$1" | tr -d ' \n'; echo; }

step() { printf '\n--- fuzz: %s (%ss)\n' "$*" "$SECONDS"; }

step "cargo-fuzz $CARGO_FUZZ_VERSION"
if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  t0=$SECONDS
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
  echo "installed cargo-fuzz in $((SECONDS - t0)) s"
fi
cargo fuzz --version

# Each sanitizer builds into its own folder, so switching does not rebuild the other.
root="$(pwd)"
target_dir="${FUZZ_TARGET_DIR:-fuzz/target}"
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac
if [ "$SANITIZER" != none ]; then
  # The stable toolchain refuses -Zsanitizer unless it is told to act as nightly.
  export RUSTC_BOOTSTRAP=1
  target_dir="$target_dir/sanitizer-$SANITIZER"
  # The bundled SQLite (a dependency of the store modules, never called by the targets)
  # defines two static arrays named `aiOff`, which ASan's ODR check reports at start-up.
  export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_odr_violation=0}"
fi

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi

step "build ${targets[*]} (sanitizer $SANITIZER)"
t0=$SECONDS
for t in "${targets[@]}"; do
  cargo fuzz build --sanitizer "$SANITIZER" --target-dir "$target_dir" "$t"
done
echo "built in $((SECONDS - t0)) s"

work="${FUZZ_KEEP:-$(mktemp -d)}"
mkdir -p "$work"
work="$(cd "$work" && pwd)"
failed=()
summary=()
for t in "${targets[@]}"; do
  step "run $t for ${SECONDS_EACH}s"
  bin="$target_dir/$TRIPLE/release/$t"
  corpus="$work/corpus/$t"
  artifacts="$work/artifacts/$t"
  rm -rf "$corpus" "$artifacts"
  mkdir -p "$corpus" "$artifacts"
  cp -R "fuzz/corpus/$t/." "$corpus/"
  dict=()
  [ -f "fuzz/dict/$t.dict" ] && dict=("-dict=$root/fuzz/dict/$t.dict")
  log="$work/$t.log"
  status=0
  # -jobs runs worker processes that each write fuzz-N.log in the current folder: run
  # from the work folder, and append those logs to the target's.
  extra=()
  [ "$JOBS" -gt 1 ] && extra=("-jobs=$JOBS" "-workers=$JOBS")
  rm -f "$work"/fuzz-*.log
  (cd "$work" && "$bin" "$corpus" \
    -max_total_time="$SECONDS_EACH" \
    -max_len="$(max_len "$t")" \
    -timeout=10 \
    -rss_limit_mb=2048 \
    -print_final_stats=1 \
    -artifact_prefix="$artifacts/" \
    "${dict[@]}" "${extra[@]}") >"$log" 2>&1 || status=$?
  if [ "$JOBS" -gt 1 ]; then
    cat "$work"/fuzz-*.log >>"$log" 2>/dev/null || true
  fi
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
  cov="$(grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9a-zA-Z]+' "$log" | tail -1 || true)"
  line="$t: ${runs:-?} runs, ${rate:-?} exec/s, $cov, exit $status"
  summary+=("$line")
  echo "$line"
  crashes=$(find "$artifacts" -type f | sort)
  if [ "$status" -ne 0 ] || [ -n "$crashes" ]; then
    failed+=("$t")
    echo "!!! $t failed (exit $status). Last lines of its log:"
    tail -n 40 "$log"
    echo "!!! what failed:"
    grep -E -A2 "panicked at|ERROR: libFuzzer|ERROR: AddressSanitizer" "$log" | head -n 12 || true
    for c in $crashes; do
      echo "!!! crash input $c ($(wc -c <"$c") bytes), hex:"
      hex "$c"
      echo "replay: FUZZ_VERBOSE=1 $bin $c"
    done
  fi
done

step "summary"
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzzing found crashes in: ${failed[*]} (inputs and logs kept in $work)"
  echo "fuzz: $(( ${#targets[@]} - ${#failed[@]} )) passed, ${#failed[@]} failed"
  exit 1
fi
[ -n "${FUZZ_KEEP:-}" ] || rm -rf "$work"
echo "fuzz: ${#targets[@]} passed, 0 failed"
