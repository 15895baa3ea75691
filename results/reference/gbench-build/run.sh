#!/usr/bin/env bash
# What Debian's libbenchmark being a debug build costs: the same binaries run against Debian's
# libbenchmark 1.7.1 (built without NDEBUG; it prints "Library was built as DEBUG") and against
# upstream 1.7.1 built as Release, swapped in at run time (LD_LIBRARY_PATH; every symbol
# Debian's exports is in it). Rounds alternate the libraries so that a change of load hits both.
#
# Usage: results/reference/gbench-build/run.sh SRC [OUT]
#   SRC  google/benchmark's source at tag v1.7.1 (Debian's 1.7.1-1 is that release; its patch
#        renames the soname to libbenchmark.so.1debian)
#   OUT  where the JSON goes (default: this folder)
# Needs build/bench (Release) and Debian's libbenchmark-dev. Takes about 3 minutes. Writes
# the JSON (gzipped) and summary.md, the table of docs/gbench-build.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
src=$1
out=${2:-$here}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

# Release: CMake's -O3 -DNDEBUG, the flags upstream's own release builds use.
cmake -S "$src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON \
  -DBENCHMARK_ENABLE_TESTING=OFF -DBENCHMARK_ENABLE_WERROR=OFF >/dev/null
cmake --build "$work/build" --target benchmark >/dev/null
mkdir "$work/release"
cp "$work/build/src/libbenchmark.so.1.7.1" "$work/release/libbenchmark.so.1debian"
g++ -O2 -DNDEBUG -std=c++20 "$here/gbcost.cc" -o "$work/gbcost" -lbenchmark -lpthread

# bench's benchmarks whose iterations are shortest (the library's per-iteration cost shows
# most there), and two whose iterations last milliseconds.
filter='^(roundtrip/(serial|tbb/workers:1/kind:inline|threads/workers:1/kind:handoff)|overhead/(serial|threads/workers:2)|granularity/(serial|threads/workers:2)/task:10ns)/real_time$'

run() {  # run LIBRARY ROUND
  local lib=$1 round=$2 env=()
  [ "$lib" = release ] && env=(env "LD_LIBRARY_PATH=$work/release")
  "${env[@]}" "$work/gbcost" --benchmark_min_time=0.2 --benchmark_repetitions=3 \
    --benchmark_out="$out/micro_${lib}_$round.json" >/dev/null
  "${env[@]}" "$root/build/bench" --benchmark_filter="$filter" --benchmark_min_time=0.1 \
    --benchmark_repetitions=3 --benchmark_out="$out/bench_${lib}_$round.json" \
    --timeline_out="$work/bench_${lib}_$round.trace.json" >/dev/null
}
run debian 1
run release 1
run release 2
run debian 2
gzip -9f "$out"/micro_*.json "$out"/bench_*.json
/usr/bin/python3 "$here/scrub.py" "$out"/micro_*.json.gz "$out"/bench_*.json.gz
/usr/bin/python3 "$here/summary.py" "$out" >"$out/summary.md"
