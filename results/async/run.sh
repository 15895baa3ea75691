#!/bin/bash
# The event-loop (async) run: api at 1024 and 4096 tasks, the Python anchors, io, the server at
# 1024 in flight; one session, back to back. Output in $OUT (default results/async; the
# *.trace.json files it also writes are not committed).
set -u
cd "$(dirname "$0")/../.."  # the checkout
OUT=${OUT:-results/async}
mkdir -p "$OUT"
echo "start $(date -Is) $(uptime)" > "$OUT/session.txt"
build/bench --benchmark_filter='^(api/(serial|threads|processes|async)/|api_server/)' \
  --workers=32,256,1024 --tasks=1024 --api_latency_ms=10 --benchmark_repetitions=5 \
  --benchmark_out="$OUT/api_1024.json" --benchmark_out_format=json > "$OUT/api_1024.console.txt" 2>&1
echo "api_1024 done $(date -Is) rc=$? $(uptime)" >> "$OUT/session.txt"
build/bench --benchmark_filter='^api/async/workers:1024/' --workers=1024 --tasks=4096 \
  --api_latency_ms=10 --benchmark_repetitions=5 \
  --benchmark_out="$OUT/api_4096.json" --benchmark_out_format=json > "$OUT/api_4096.console.txt" 2>&1
echo "api_4096 done $(date -Is) rc=$? $(uptime)" >> "$OUT/session.txt"
/usr/bin/python3 tools/anchors/api.py --out "$OUT/py_api.json" --workers 32,256 --tasks 1024 \
  --latency-ms 10 --repetitions 5 > "$OUT/py_api.console.txt" 2>&1
echo "py_api done $(date -Is) rc=$? $(uptime)" >> "$OUT/session.txt"
build/bench --benchmark_filter='^io/(serial|threads|async)/' --workers=8 --tasks=16 \
  --benchmark_repetitions=5 \
  --benchmark_out="$OUT/io.json" --benchmark_out_format=json > "$OUT/io.console.txt" 2>&1
echo "io done $(date -Is) rc=$? $(uptime)" >> "$OUT/session.txt"
build/bench --benchmark_filter='^api_server/clients:1024/' --api_latency_ms=100 --benchmark_repetitions=5 \
  --benchmark_out="$OUT/server_100ms.json" --benchmark_out_format=json > "$OUT/server_100ms.console.txt" 2>&1
echo "server_100ms done $(date -Is) $(uptime)" >> "$OUT/session.txt"
