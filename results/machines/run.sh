#!/usr/bin/env bash
# Runs the same bench filter on three configurations of this machine, one after another:
#   two_cpus   every CPU (2 on the reference VM)
#   taskset_0  an affinity mask of one CPU (taskset -c 0)
#   quota_1.5  a cgroup CPU quota of 1.5 CPUs (CFS bandwidth: 150 ms per 100 ms period)
# and writes results/machines/NAME.json.gz (Google Benchmark JSON, gzip: the tools read it as
# it is). Each run is measured under $PARBENCH_QUIET when set (e.g. a lock that keeps the
# shared machine to itself). results/machines/make.sh turns the files into the comparison.
# Needs root for the cgroup; build/bench built first (scripts/build build). Arguments name the
# configurations to (re)run: results/machines/run.sh taskset_0 quota_1.5.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=results/machines
bench=build/bench
quiet=()
if [ -n "${PARBENCH_QUIET:-}" ]; then read -r -a quiet <<<"$PARBENCH_QUIET"; fi
# cpu, overhead, roundtrip and the granularity sweep (METG) at 1 and 2 workers, 5 repetitions:
# about three minutes per configuration on the 2-CPU VM.
args=(--benchmark_filter='^(cpu|overhead|roundtrip|granularity)/' --workers=1,2
      --benchmark_repetitions=5 --benchmark_min_time=0.05)
tmp=$(mktemp -d)
cgroup=""
cleanup() {
  if [ -n "$cgroup" ] && [ -d "$cgroup" ]; then rmdir "$cgroup" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# measure NAME [PREFIX...]: bench under PREFIX, its JSON compressed into results/machines/.
measure() {
  local name=$1
  shift
  echo "== $name: $* $bench ${args[*]}" >&2
  "${quiet[@]}" "$@" "$bench" "${args[@]}" --benchmark_out="$tmp/$name.json" \
    --timeline_out="$tmp/$name.trace.json" >"$tmp/$name.console.txt"
  gzip -9 -n -c "$tmp/$name.json" >"$out/$name.json.gz"
}

# A cgroup with a CPU quota of 1.5 CPUs: cgroup v2 (cpu.max) where its cpu controller is
# enabled, else cgroup v1's cpu controller (cpu.cfs_quota_us). Prints the cgroup's directory.
make_quota_cgroup() {
  local dir
  if grep -qw cpu /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
    dir=/sys/fs/cgroup/parbench_quota_1.5
    mkdir "$dir"
    echo "150000 100000" >"$dir/cpu.max"
  elif [ -w /sys/fs/cgroup/cpu ]; then
    dir=/sys/fs/cgroup/cpu/parbench_quota_1.5
    mkdir "$dir"
    echo 100000 >"$dir/cpu.cfs_period_us"
    echo 150000 >"$dir/cpu.cfs_quota_us"
  else
    echo "run.sh: no writable cgroup cpu controller (v2 cpu.max or v1 cpu): no quota" >&2
    return 1
  fi
  echo "$dir"
}

# Arguments: the configurations to (re)run, default all three.
for config in "${@:-two_cpus taskset_0 quota_1.5}"; do
  for name in $config; do
    case $name in
      two_cpus) measure two_cpus ;;
      taskset_0) measure taskset_0 taskset -c 0 ;;
      quota_1.5)
        cgroup=$(make_quota_cgroup)
        # The shell moves itself into the cgroup, then becomes bench: bench and its worker
        # processes run under the quota, the lock holder does not.
        measure quota_1.5 sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$cgroup"
        rmdir "$cgroup"
        cgroup="" ;;
      *) echo "run.sh: unknown configuration '$name' (two_cpus, taskset_0, quota_1.5)" >&2
         exit 2 ;;
    esac
  done
done
ls -l "$out"/*.json.gz
