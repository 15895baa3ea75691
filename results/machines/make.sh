#!/usr/bin/env bash
# Every comparison docs/machines.md quotes, from the three committed runs (run.sh made them):
#   machines.md, machines.html, machines.json, machines.png/.svg   parbench-tools machines
#   metg.md, metg.png/.svg                                         parbench-tools granularity
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=results/machines
runs=("$dir/two_cpus.json.gz" "$dir/taskset_0.json.gz" "$dir/quota_1.5.json.gz")
tools=tools/parbench-tools
"$tools" machines "${runs[@]}" --out "$dir/machines.md" --out-plot "$dir/machines"
"$tools" machines "${runs[@]}" --format html --out "$dir/machines.html"
"$tools" machines "${runs[@]}" --format json --out "$dir/machines.json"
"$tools" granularity --label "2 CPUs=${runs[0]}" --label "taskset -c 0=${runs[1]}" \
  --label "quota 1.5=${runs[2]}" --out "$dir/metg.md" --out-plot "$dir/metg"
