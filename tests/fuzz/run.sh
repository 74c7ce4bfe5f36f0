#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz, one after the other, each for a
# bounded time; exits non-zero if any target crashed (a crash, a sanitizer
# report, a leak, a broken contract, a timeout or running out of memory).
#
#   tests/fuzz/run.sh [--build] [--build-dir DIR] [seconds-per-target] [target...]
#
#   --build        configure (clang-14, HOLDFAST_FUZZ=ON) and build the targets first
#   --build-dir    default: $HOLDFAST_FUZZ_BUILD_DIR or <source>/build-fuzz
#   seconds        per target, default 25
#   target...      default: every fuzz_*.cpp in tests/fuzz
#
# Each target starts from its seeds (tests/fuzz/corpus/<target>, replayed
# first, so a fixed finding kept there stays fixed) plus what earlier runs
# found (<build-dir>/fuzz/corpus/<target>, kept between runs). A crashing
# input is kept as <build-dir>/fuzz/artifacts/<target>/crash-<sha1> (or
# leak-, timeout-, oom-); replay it with `<build-dir>/tests/fuzz/<target> <file>`.
# Logs: <build-dir>/fuzz/logs/<target>.log. One summary line per target.
set -uo pipefail

src="$(cd "$(dirname "$0")/../.." && pwd)"
build="${HOLDFAST_FUZZ_BUILD_DIR:-$src/build-fuzz}"
do_build=0
seconds=25
targets=()
while (($#)); do
  case "$1" in
    --build) do_build=1 ;;
    --build-dir) build="$2"; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    [0-9]*) seconds="$1" ;;
    fuzz_*) targets+=("$1") ;;
    *) echo "usage: $0 [--build] [--build-dir DIR] [seconds-per-target] [target...]" >&2; exit 2 ;;
  esac
  shift
done
if ((${#targets[@]} == 0)); then
  for f in "$src"/tests/fuzz/fuzz_*.cpp; do
    targets+=("$(basename "$f" .cpp)")
  done
fi

if ((do_build)); then
  # -O1 with line tables: enough for libFuzzer and the sanitizers' reports,
  # and much quicker to compile than -O2 -g.
  CC=clang-14 CXX=clang++-14 cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" \
    -DHOLDFAST_FUZZ=ON -DHOLDFAST_BUILD_TESTS=OFF -DHOLDFAST_BUILD_BENCH=OFF -DHOLDFAST_WARNINGS_AS_ERRORS=ON \
    >/dev/null || exit 1
  cmake --build "$build" --target "${targets[@]}" -j"$(nproc)" || exit 1
fi

# UBSan reports abort (the build uses -fno-sanitize-recover); ASan's leak
# check is on by default. libFuzzer turns both into a saved crash input.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"

# Options per target: the dictionary and the longest input worth trying.
options_for() {
  case "$1" in
    fuzz_http_request) echo "-dict=$src/tests/fuzz/dict/http.dict -max_len=16384" ;;
    fuzz_config) echo "-dict=$src/tests/fuzz/dict/yaml.dict -max_len=16384" ;;
    fuzz_mountinfo) echo "-max_len=4096" ;;
    fuzz_iscsi_sessions) echo "-dict=$src/tests/fuzz/dict/iscsi.dict -max_len=8192" ;;
    fuzz_backend_options) echo "-dict=$src/tests/fuzz/dict/options.dict -max_len=1024" ;;
    *) echo "-dict=$src/tests/fuzz/dict/json.dict -max_len=4096" ;;
  esac
}

# "#123 DONE cov: 45 ft: 67 corp: 8/1024b ..." -> a figure of the last status
# line (corp: inputs in the corpus kept in memory).
last_stat() {  # last_stat <log> <field>
  grep -E '^#[0-9]+' "$1" | tail -1 | sed -nE "s/.* $2: ([0-9]+).*/\\1/p"
}

failed=()
t_all=$SECONDS
printf '%-22s %10s %7s %7s %7s %8s  %s\n' target executions exec/s cov ft corpus result
for target in "${targets[@]}"; do
  binary="$build/tests/fuzz/$target"
  seeds="$src/tests/fuzz/corpus/$target"
  work="$build/fuzz/corpus/$target"
  artifacts="$build/fuzz/artifacts/$target"
  log="$build/fuzz/logs/$target.log"
  mkdir -p "$work" "$artifacts" "$(dirname "$log")"
  if [[ ! -x "$binary" ]]; then
    echo "$target: $binary is not built (run with --build)" >&2
    failed+=("$target")
    continue
  fi
  [[ -d "$seeds" ]] || seeds=""
  # New inputs go to the first corpus directory (the work one), never to the seeds.
  # shellcheck disable=SC2046
  "$binary" $(options_for "$target") -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$work" ${seeds:+"$seeds"} >"$log" 2>&1
  rc=$?
  execs="$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log" | tail -1)"
  speed="$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+)/\1/p' "$log" | tail -1)"
  result=ok
  if ((rc != 0)); then
    result="CRASH (exit $rc): $(grep -E '^(==[0-9]+==ERROR|SUMMARY|fuzz contract broken|.*runtime error)' "$log" | head -1)"
    failed+=("$target")
  fi
  printf '%-22s %10s %7s %7s %7s %8s  %s\n' "$target" "${execs:-?}" "${speed:-?}" "$(last_stat "$log" cov)" \
    "$(last_stat "$log" ft)" "$(last_stat "$log" corp)" "$result"
done
echo "fuzz: ${#targets[@]} targets, ${seconds} s each, $((SECONDS - t_all)) s in all"
if ((${#failed[@]})); then
  echo "fuzz: crashes in: ${failed[*]} (inputs in $build/fuzz/artifacts/, logs in $build/fuzz/logs/)"
  exit 1
fi
