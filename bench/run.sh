#!/bin/sh
# Runs the benchmarks against an existing build (builds nothing).
# Usage: bench/run.sh <build dir> [holdfast_bench options, e.g. --requests 5000]
set -eu
if [ $# -lt 1 ]; then
  echo "usage: $0 <build dir> [--requests N] [--work-dir DIR]" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
shift
for f in "$build/bench/holdfast_bench" "$build/bench/holdfast_floor" "$build/src/daemon/holdfastd"; do
  if [ ! -x "$f" ]; then
    echo "$0: $f is missing; build the targets holdfast_bench holdfast_floor holdfastd first" >&2
    exit 1
  fi
done
exec "$build/bench/holdfast_bench" --daemon "$build/src/daemon/holdfastd" --floor "$build/bench/holdfast_floor" "$@"
