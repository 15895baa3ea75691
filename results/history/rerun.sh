#!/bin/bash
# A second run of the past revisions whose first run was disturbed, with the same builds and
# the same command as the first. Usage: results/history/rerun.sh BUILDS_FOLDER OUT_FOLDER,
# where BUILDS_FOLDER/REV/build/bench is each revision's Release build. Each run is measured
# under $PARBENCH_QUIET when set (e.g. a lock that keeps the machine to itself).
# Made 2026-12-05 07:36-07:46 on the reference machine; results/history/make.sh ingests the
# first runs' folder and OUT_FOLDER together.
set -u
builds=${1:?usage: results/history/rerun.sh BUILDS_FOLDER OUT_FOLDER}
out=${2:?usage: results/history/rerun.sh BUILDS_FOLDER OUT_FOLDER}
quiet=()
if [ -n "${PARBENCH_QUIET:-}" ]; then read -r -a quiet <<<"$PARBENCH_QUIET"; fi
mkdir -p "$out"
for rev in 481f6be fc0a84e 619a764 610a4a0 c78a50e db9068b; do
  run=$out/$rev-2.json
  [ -s "$run" ] && continue
  (cd "$builds/$rev/build" && "${quiet[@]}" ./bench \
    --benchmark_filter='^(overhead|roundtrip)/(serial|threads|processes)/' \
    --benchmark_repetitions=5 --benchmark_min_time=0.1 --benchmark_out="$run.tmp" \
    --benchmark_out_format=json --timeline_out="$out/$rev.trace.json" > "$out/$rev.log" 2>&1) \
    && mv "$run.tmp" "$run"
  rm -f "$out/$rev.trace.json"
  echo "$rev $(date +%T)"
done
