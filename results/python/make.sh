#!/usr/bin/env bash
# The runs quoted in docs/your-own-work.md and in docs/findings.md (py_cpu beside cpu):
# the article's loop beside cpu, a user's function (examples/python/user_tasks.py), the example
# plugin beside overhead, and the interpreter's start-up in a process worker.
# Usage: results/python/make.sh [BUILD_DIR]   (from the repository root)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
out=results/python
tools=tools/parbench-tools
common=(--executors=serial,threads,processes --benchmark_out_format=json)
uptime | tee "$out/uptime.txt"

"$build/bench" "${common[@]}" --benchmark_filter='^(cpu|py_cpu)/' --workers=1,2,4 --tasks=8 \
  --cpu_n=12000000 --py_n=1000000 --benchmark_repetitions=3 --benchmark_min_time=0.5 \
  --benchmark_out="$out/gil.json" | tee "$out/gil.console.txt"
"$build/bench" "${common[@]}" --benchmark_filter='^py/' --workers=1,2 --tasks=16 \
  --py_task=user_tasks:digest --py_path=examples/python --py_payload_bytes=4194304 \
  --benchmark_repetitions=3 --benchmark_min_time=0.5 \
  --benchmark_out="$out/user.json" | tee "$out/user.console.txt"
"$build/bench" "${common[@]}" --benchmark_filter='^(overhead|plugin)/' --workers=2 \
  --tasks=10000 --overhead_tasks=10000 --plugin="$build/libparbench_example_plugin.so" \
  --benchmark_repetitions=3 --benchmark_min_time=0.5 \
  --benchmark_out="$out/plugin.json" | tee "$out/plugin.console.txt"
rm -f "$out/plugin.trace.json"  # 10000 spans per benchmark, 14 MB: not kept
"$build/bench" "${common[@]}" --benchmark_filter='^startup/(serial|processes/workers:2)' \
  --workers=2 --benchmark_repetitions=3 --benchmark_min_time=0.5 \
  --benchmark_out="$out/startup.json" | tee "$out/startup.console.txt"
uptime | tee -a "$out/uptime.txt"

for run in gil user plugin startup; do
  "$tools" speedup "$out/$run.json" >"$out/$run.speedup.md" || true
done
for run in gil plugin startup; do  # user.json holds no benchmark a goal reads
  "$tools" goals "$out/$run.json" >"$out/$run.goals.md" || true
done
"$tools" timeline "$out/gil.trace.json" --out-dir "$out/timelines" --formats png
"$tools" timeline "$out/user.trace.json" --out-dir "$out/timelines" --formats png
