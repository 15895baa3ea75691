#!/usr/bin/env bash
# The reference METG run (the README's answer, docs/metg.md): bench's granularity sweep with
# both dispatch modes for the executors that send tasks in messages, the round trips in both
# kinds with their raw floors, Python's executors in both dispatch modes, and MPI under mpirun
# when it is installed. In pieces of a few minutes each, so that each can be measured alone on a
# shared machine: set QUIET to a command that runs its arguments alone (a lock), e.g.
# QUIET=/path/to/quiet. Each piece holds its own baseline, measured in the same run.
#
# Usage: results/reference/metg/run.sh [OUT]      (OUT: default results/reference/metg)
#   REPS=7 MIN_TIME=0.1 PY_REPS=5 (the defaults) set the repetitions; a smaller REPS and
#   MIN_TIME make a quick trial of the pipeline.
# Every piece runs bench's full profile (every point: the sweep's 30 ns, 300 ns... and the 64 KiB
# payload that the quick profile leaves out); REPS and MIN_TIME override its 5 x 0.2 s.
# Needs build/bench (Release), /usr/bin/python3; mpirun for the mpi piece (skipped without it).
set -euo pipefail
cd "$(dirname "$0")/../../.."
out=${1:-results/reference/metg}
reps=${REPS:-7}
min_time=${MIN_TIME:-0.1}
py_reps=${PY_REPS:-5}
read -r -a quiet <<<"${QUIET:-}"
mkdir -p "$out"
# The traces are written beside the runs (so the runs name no machine path) and dropped.
trap 'rm -f "$out"/*.trace.json' EXIT INT TERM

piece() {  # piece NAME FILTER [bench flags...]: one bench run, gzipped, its trace dropped
  local name=$1 filter=$2
  shift 2
  echo "== $name: $filter" >&2
  "${quiet[@]}" build/bench --profile=full --benchmark_filter="$filter" \
    --benchmark_repetitions="$reps" \
    --benchmark_min_time="$min_time" "$@" --benchmark_out="$out/$name.json" \
    --timeline_out="$out/$name.trace.json" >/dev/null
  gzip -9f "$out/$name.json"
}

# The sweep, 10 ns to 10 ms at the usable CPUs' worth of workers: the pools whose workers are
# threads (one task at a time), then the process pool in both dispatch modes and its payloads.
piece shared_memory '^granularity/(serial|threads|tbb|openmp)/'
piece processes '^granularity/(serial|processes)/'
# The costs: an empty task (overhead) and one task's round trip, inline and handoff, beside
# the raw floors (a pipe ping-pong, a spinning shared-memory ping-pong).
piece costs '^(overhead|roundtrip)/'

# MPI: worker ranks 1..N-1 on this host (3 ranks: 2 workers), both dispatch modes.
if command -v mpirun >/dev/null; then
  echo "== mpi" >&2
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader \
    OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_oob_tcp_if_include=lo \
    "${quiet[@]}" mpirun --oversubscribe --bind-to none -n 3 build/bench --profile=full \
    --executors=serial,mpi --workers=2 --benchmark_filter='^granularity/(serial|mpi)/' \
    --benchmark_repetitions="$reps" --benchmark_min_time="$min_time" \
    --benchmark_out="$out/mpi.json" --timeline_out="$out/mpi.trace.json" >/dev/null
  gzip -9f "$out/mpi.json"
fi

# Python's own executors, the same sweep from 100 ns, py_processes in both dispatch modes.
echo "== anchors" >&2
"${quiet[@]}" /usr/bin/python3 tools/anchors/futures.py --out "$out/anchors.json" \
  --repetitions "$py_reps" >/dev/null
gzip -9f "$out/anchors.json"

# The tables and the plot, from the files (scripts/regenerate makes them again).
runs=("$out/shared_memory.json.gz" "$out/processes.json.gz" "$out/anchors.json.gz")
tools/parbench-tools granularity "${runs[@]}" --out "$out/metg.md" --out-plot "$out/metg"
tools/parbench-tools granularity "${runs[@]}" --efficiency taskbench --out "$out/metg-taskbench.md"
tools/parbench-tools speedup "$out/costs.json.gz" --out "$out/costs.md"
if [ -f "$out/mpi.json.gz" ]; then
  tools/parbench-tools granularity "$out/mpi.json.gz" --out "$out/metg-mpi.md"
fi
