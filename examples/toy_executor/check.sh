#!/usr/bin/env bash
# The toy executor, registered by its one row, shows up in bench_toy's benchmark names, in the
# run's manifest, and in the tools' speedup table of that run's JSON.
# Usage: check.sh BENCH_TOY TOOLS
set -euo pipefail
bench=$1 tools=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# Listed into a variable first: grep -q stops reading at the first match, and with pipefail the
# SIGPIPE that bench then gets would fail the check.
names=$("$bench" --benchmark_list_tests)
grep -qx 'cpu/toy/workers:2/real_time' <<<"$names" ||
  { echo "FAIL: cpu/toy/workers:2 is not among the benchmark names"; exit 1; }
"$bench" --benchmark_filter='^cpu/(serial|toy)' --workers=2 --cpu_n=10000 --tasks=4 \
  --benchmark_min_time=0.01 --benchmark_out="$dir/run.json" --benchmark_out_format=json >/dev/null
"$tools" speedup "$dir/run.json" --format csv >"$dir/speedup.csv"
grep -q '^cpu,toy,2,' "$dir/speedup.csv" ||
  { echo "FAIL: no toy row in the speedup table:"; cat "$dir/speedup.csv"; exit 1; }
echo "toy executor: in the names, the manifest and the speedup table"
