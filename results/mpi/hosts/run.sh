#!/usr/bin/env bash
# shellcheck disable=SC2054  # the commas are inside flags' values
# MPI on shared memory (one host) and across two namespaced hosts (scripts/hosts) on the bare
# veth and on each network profile. Run from the repository's top folder, as root, each
# configuration alone on the machine (inside the machine's lock for measurements: QUIET=CMD runs
# each configuration under CMD, e.g. QUIET=path/to/quiet). Two kinds of configuration:
#   floors (shm veth rate10g rate1g lan wan): the raw MPI floors (roundtrip/raw_mpi,
#     transfer/raw_mpi/size:16MiB) and the mpi executor's round trip and transfer between two
#     ranks; NAME.json and NAME.console.txt (bench's output, the hosts' link counters before and
#     after).
#   what changes (metg-shm metg-veth metg-rate10g metg-rate1g cpu-shm cpu-veth): METG of the
#     mpi executor (granularity, both dispatch modes, as results/reference/metg/run.sh runs its
#     mpi piece, with 1 worker rank: rank 0 on host 0, the worker on host 1, each on its own
#     CPU), and cpu at 1 and 2 worker ranks (3 ranks by node: 0 and 2 on host 0, 1 on host 1);
#     NAME.json.gz and NAME.console.txt. Then metg.md and cpu-shm.md, cpu-veth.md (the tools'
#     tables, which scripts/regenerate makes again).
# Usage: results/mpi/hosts/run.sh [CONFIGURATION]...  (default: every one)
#   OUT=DIR results/mpi/hosts/run.sh ...  writes into DIR instead (a repeat: results/mpi/hosts/repeat)
#   REPS=7 MIN_TIME=0.1 (the defaults, as the reference METG run) for the what-changes pieces
set -uo pipefail
cd "$(dirname "$0")/../../.." || exit 1
out=${OUT:-results/mpi/hosts}
mkdir -p "$out"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
bench=(build/bench --executors=serial,mpi --transfer_sizes=16777216
  '--benchmark_filter=^(roundtrip|transfer)/(raw_mpi|mpi)' --benchmark_repetitions=5
  --benchmark_min_time=0.2)

reps=${REPS:-7}
min_time=${MIN_TIME:-0.1}
read -r -a quiet <<<"${QUIET:-}"
# METG: the reference run's mpi piece (full profile, both dispatch modes) at 1 worker rank.
metg=(build/bench --profile=full --executors=serial,mpi --workers=1
  '--benchmark_filter=^granularity/(serial|mpi)/' --benchmark_repetitions="$reps"
  --benchmark_min_time="$min_time")
# cpu: 16 tasks of about 20 ms, at 1 and 2 worker ranks.
cpu=(build/bench --profile=full --executors=serial,mpi --workers=1,2
  '--benchmark_filter=^cpu/(serial|mpi)/' --benchmark_repetitions="$reps"
  --benchmark_min_time="$min_time")

across() {  # NAME RANKS [scripts/hosts up options...] -- BENCH...: two hosts, each on its own
  # CPU, ranks by node (rank 0 on host 0, rank 1 on host 1, rank 2 on host 0 ...)
  local name=$1 ranks=$2 up=()
  shift 2
  while [[ $1 != -- ]]; do up+=("$1"); shift; done
  shift
  "${quiet[@]}" scripts/hosts up 2 --slots 2 "${up[@]}" -- sh -c "scripts/hosts status;
    scripts/hosts mpirun -n $ranks --map-by node --bind-to none ${*@Q} \
    --benchmark_out=$out/$name.json; scripts/hosts status"
}

one_host() {  # NAME RANKS MPIRUN_OPTIONS -- BENCH...: shared memory (vader) and self
  local name=$1 ranks=$2 opts=()
  shift 2
  while [[ $1 != -- ]]; do opts+=("$1"); shift; done
  shift
  "${quiet[@]}" mpirun -n "$ranks" "${opts[@]}" --mca pml ob1 --mca btl self,vader \
    --mca oob_tcp_if_include lo "$@" --benchmark_out="$out/$name.json"
}

all=(shm veth rate10g rate1g lan wan metg-shm metg-veth metg-rate10g metg-rate1g cpu-shm cpu-veth)
names=("$@")
((${#names[@]})) || names=("${all[@]}")
for name in "${names[@]}"; do
  [[ " ${all[*]} " == *" $name "* ]] ||
    { echo "run.sh: unknown configuration $name (allowed: ${all[*]})" >&2; exit 2; }
done
for name in "${names[@]}"; do
    echo "==> $name"
    case $name in
      # One host: a rank on each core, as across hosts.
      shm) one_host shm 2 --bind-to core -- "${bench[@]}" ;;
      veth) across veth 2 -- "${bench[@]}" ;;
      rate10g) across rate10g 2 --netem 0,10gbit -- "${bench[@]}" ;;
      rate1g) across rate1g 2 --netem 0,1gbit -- "${bench[@]}" ;;
      lan) across lan 2 --netem lan -- "${bench[@]}" ;;
      wan) across wan 2 --netem wan -- "${bench[@]}" ;;
      metg-shm) one_host metg-shm 2 --bind-to core -- "${metg[@]}" ;;
      metg-veth) across metg-veth 2 -- "${metg[@]}" ;;
      metg-rate10g) across metg-rate10g 2 --netem 0,10gbit -- "${metg[@]}" ;;
      metg-rate1g) across metg-rate1g 2 --netem 0,1gbit -- "${metg[@]}" ;;
      # 3 ranks on 2 CPUs: rank 0 mostly sleeps while the workers run 20 ms tasks.
      cpu-shm) one_host cpu-shm 3 --bind-to none --oversubscribe -- "${cpu[@]}" ;;
      cpu-veth) across cpu-veth 3 -- "${cpu[@]}" ;;
    esac 2>&1 | tee "$out/$name.console.txt"
    rm -f "$out/$name.trace.json"  # the timeline (next to the run): a few spans, not kept
    [[ $name == *-* && -f $out/$name.json ]] && gzip -9f "$out/$name.json"
done

# The tables, from the files (scripts/regenerate makes them again).
metg_runs=("$out"/metg-{shm,veth,rate10g,rate1g}.json.gz)
if ls "${metg_runs[@]}" >/dev/null 2>&1; then
  tools/parbench-tools granularity "${metg_runs[@]}" --out "$out/metg.md"
fi
for name in cpu-shm cpu-veth; do
  if [[ -f $out/$name.json.gz ]]; then
    tools/parbench-tools speedup "$out/$name.json.gz" --out "$out/$name.md"
  fi
done
