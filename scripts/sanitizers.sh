#!/usr/bin/env bash
# Builds holdfast with a sanitizer and runs the tests that matter under it
# (scripts/test-all.sh steps asan and tsan; docs/reliability.md, "Sanitizers").
#
#   scripts/sanitizers.sh asan [build-dir]   ASan+UBSan: every unit, protocol and
#                                            integration test (default build-dir: <src>/build-asan)
#   scripts/sanitizers.sh tsan [build-dir]   TSan: the volume manager's suites
#                                            (src/volume) and every protocol suite
#                                            (default build-dir: <src>/build-tsan)
#
# Any sanitizer report fails the step, including one from a process a test
# starts (the sanitized holdfastd of the protocol suites): reports are
# written to <build-dir>/sanitizer-reports/ and the step fails when that
# directory is not empty after the run; the tests themselves also fail, as
# each report ends the process with an error (halt_on_error / exitcode).
set -uo pipefail

src="$(cd "$(dirname "$0")/.." && pwd)"
kind="${1:-}"
case "$kind" in
  asan) sanitize="address,undefined" ;;
  tsan) sanitize="thread" ;;
  *) echo "usage: $0 asan|tsan [build-dir]" >&2; exit 2 ;;
esac
build="${2:-$src/build-$kind}"
jobs="$(nproc)"

# The test executables to build: for asan every unit, protocol and
# integration suite (not the crash torture, which is long and has its own
# step), with holdfastd and the holdfast CLI that protocol suites run; for
# tsan those of src/volume and every protocol suite (with holdfastd, which
# daemon_test runs).
# suites <label-regex> [dir...]: names of the test executables registered
# with holdfast_add_test(<name> LABEL <label> ...) under the given folders
# (default: all of src, tests and backends).
suites() {
  local labels="$1"; shift
  (($#)) || set -- "$src/src" "$src/tests" "$src/backends"
  grep -rhoE --include=CMakeLists.txt "holdfast_add_test\([a-z0-9_]+ LABEL ($labels)\b" "$@" |
    sed -E 's/holdfast_add_test\(([a-z0-9_]+).*/\1/'
}
if [[ "$kind" == asan ]]; then
  mapfile -t targets < <({ suites 'unit|protocol|integration'; echo holdfastd; echo holdfast; } | sort -u)
else
  mapfile -t targets < <({ suites '[a-z]+' "$src/src/volume"; suites protocol; echo holdfastd; } | sort -u)
fi

t0=$SECONDS
# -O1 -g1: what the sanitizers need (function names and lines in reports)
# and compiled in far less time than -O2 -g, which CI's time budget needs.
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
  -DHOLDFAST_WARNINGS_AS_ERRORS=ON -DHOLDFAST_SANITIZE="$sanitize" -DHOLDFAST_BUILD_BENCH=OFF >/dev/null || exit 1
cmake --build "$build" -j"$jobs" --target "${targets[@]}" || exit 1
echo "$kind: build $((SECONDS - t0)) s"

reports="$build/sanitizer-reports"
rm -rf "$reports"
mkdir -p "$reports"
# Common to all: report into $reports (one file per process), with stacks.
common="log_path=$reports/report:print_stacktrace=1:halt_on_error=1"
export UBSAN_OPTIONS="$common"
# Leaks are checked at exit of every process (LSan is part of ASan).
export ASAN_OPTIONS="$common:detect_leaks=1:check_initialization_order=1:strict_init_order=1"
export TSAN_OPTIONS="$common:exitcode=66:second_deadlock_stack=1:suppressions=$src/tests/sanitizers/tsan.supp"
# Suppressions: third-party findings only, each justified in its file.
export LSAN_OPTIONS="suppressions=$src/tests/sanitizers/lsan.supp:print_suppressions=0"

runner=()
labels='^(unit|protocol|integration)$'
if [[ "$kind" == tsan ]]; then
  labels='^(unit|protocol)$'
  # TSan needs its fixed memory layout; kernels with more mmap randomisation
  # than it supports (vm.mmap_rnd_bits > 28) make it fail at start-up with
  # "unexpected memory mapping". Running without ASLR avoids that everywhere.
  if command -v setarch >/dev/null; then
    runner=(setarch "$(uname -m)" -R)
  fi
fi

t1=$SECONDS
# Only built suites carry labels (catch_discover_tests registers an
# unlabelled <name>_NOT_BUILT placeholder for the others), so -L selects
# exactly what was built above.
"${runner[@]}" ctest --test-dir "$build" -L "$labels" --output-on-failure --timeout 600
rc=$?
echo "$kind: tests $((SECONDS - t1)) s"

if compgen -G "$reports/report*" >/dev/null; then
  echo "$kind: sanitizer reports (each one is a failure):"
  for f in "$reports"/report*; do
    echo "--- $f"
    head -60 "$f"
  done
  rc=1
fi
exit "$rc"
