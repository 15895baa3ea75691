#!/bin/bash
# A second run of the past revisions whose first run (by /work/hist/build_runs.sh) was
# disturbed, with the same builds and the same command, each under the quiet lock; the runs go
# to /tmp/hist-extra (results/history/make.sh ingests both folders). 2026-12-05 07:36-07:46.
set -u
mkdir -p /tmp/hist-extra
for rev in 481f6be fc0a84e 619a764 610a4a0 c78a50e db9068b; do
  out=/tmp/hist-extra/$rev-2.json
  [ -s "$out" ] && continue
  /work/bin/quiet bash -c "cd /work/hist/src/$rev/build && ./bench --benchmark_filter='^(overhead|roundtrip)/(serial|threads|processes)/' --benchmark_repetitions=5 --benchmark_min_time=0.1 --benchmark_out=$out.tmp --benchmark_out_format=json --timeline_out=/tmp/hist-extra/$rev.trace.json > /tmp/hist-extra/$rev.log 2>&1" && mv "$out.tmp" "$out"
  rm -f "/tmp/hist-extra/$rev.trace.json"
  echo "$rev $(date +%T)"
done
