#!/bin/bash
# The event loop's CPU per request, old build against new, interleaved, and wrk against the
# same loopback server. Usage: run.sh OLD_DIR NEW_DIR OUT_DIR (each DIR holds bench, its
# modules and api_server; run it under quiet or on an otherwise idle machine).
set -u
OLD=$1 NEW=$2 OUT=$3 REPS=${REPS:-5}
mkdir -p "$OUT"
echo "start $(date -Is) load $(cut -d' ' -f1-3 /proc/loadavg)" > "$OUT/session.txt"
run() {  # run NAME DIR ARGS...: one repetition of one configuration
  local name=$1 dir=$2; shift 2
  "$dir/bench" "$@" --benchmark_out="$OUT/$name.json" --benchmark_out_format=json \
    --timeline_out=/dev/null > /dev/null 2>&1 || echo "$name failed" >> "$OUT/session.txt"
}
for rep in $(seq "$REPS"); do
  for side in old new; do
    dir=$OLD; [ "$side" = new ] && dir=$NEW
    run "async256_10ms.$side.$rep" "$dir" --benchmark_filter='^api/async/workers:256/' \
      --workers=256 --tasks=1024 --api_latency_ms=10
    run "async256_50ms.$side.$rep" "$dir" --benchmark_filter='^api/async/workers:256/' \
      --workers=256 --tasks=1024 --api_latency_ms=50
    run "async256_0B.$side.$rep" "$dir" --benchmark_filter='^api/async/workers:256/' \
      --workers=256 --tasks=1024 --api_latency_ms=10 --api_bytes=0
    run "pools.$side.$rep" "$dir" --benchmark_filter='^api/(threads|processes)/workers:(8|32)/' \
      --workers=8,32 --tasks=256 --api_latency_ms=10
  done
  for bytes in 65536 0; do  # wrk: 256 connections on one thread, the same server and request
    "$(dirname "$0")/wrk.sh" "$NEW/api_server" 256 10 "$bytes" 3 >> "$OUT/wrk_${bytes}B.txt"
  done
done
echo "end $(date -Is) load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/session.txt"
