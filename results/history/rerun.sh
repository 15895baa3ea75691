#!/bin/bash
# A second run of the past revisions whose first run was disturbed, with the same builds and
# the same command as the first. Usage: results/history/rerun.sh BUILDS_FOLDER OUT_FOLDER
# [REV...], where BUILDS_FOLDER/REV/build/bench is each revision's Release build (without REV:
# the six of the first rerun). A bench that knows --profile (2b57a53 on) runs with
# --profile=full, so that it measures the worker counts 1, 2, 4, 8 of the earlier revisions.
# Each run is measured under $PARBENCH_QUIET when set (e.g. a lock that keeps the machine to
# itself). Made 2026-12-05 07:36-07:46 on the reference machine for the six, and again for
# f7a689d 2b57a53 8d32e24 5bed652 f7039b7 (the later revisions, all five first runs disturbed);
# results/history/make.sh ingests the first runs' folder and the OUT_FOLDERs together.
set -u
builds=${1:?usage: results/history/rerun.sh BUILDS_FOLDER OUT_FOLDER [REV...]}
out=${2:?usage: results/history/rerun.sh BUILDS_FOLDER OUT_FOLDER [REV...]}
shift 2
revs=("$@")
[ ${#revs[@]} -gt 0 ] || revs=(481f6be fc0a84e 619a764 610a4a0 c78a50e db9068b)
quiet=()
if [ -n "${PARBENCH_QUIET:-}" ]; then read -r -a quiet <<<"$PARBENCH_QUIET"; fi
mkdir -p "$out"
for rev in "${revs[@]}"; do
  run=$out/$rev-2.json
  [ -s "$run" ] && continue
  profile=()
  if (cd "$builds/$rev/build" && ./bench --help 2>&1) | grep -q -- '--profile'; then
    profile=(--profile=full)
  fi
  (cd "$builds/$rev/build" && "${quiet[@]}" ./bench "${profile[@]}" \
    --benchmark_filter='^(overhead|roundtrip)/(serial|threads|processes)/' \
    --benchmark_repetitions=5 --benchmark_min_time=0.1 --benchmark_out="$run.tmp" \
    --benchmark_out_format=json --timeline_out="$out/$rev.trace.json" > "$out/$rev.log" 2>&1) \
    && mv "$run.tmp" "$run"
  rm -f "$out/$rev.trace.json"
  echo "$rev $(date +%T)"
done
