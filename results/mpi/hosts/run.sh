#!/usr/bin/env bash
# The raw MPI floors (roundtrip/raw_mpi, transfer/raw_mpi/size:16MiB) and the mpi executor's
# round trip and transfer, between two ranks: on shared memory (one host), and across two
# namespaced hosts (scripts/hosts) on the bare veth and on each network profile. Each
# configuration writes results/mpi/hosts/NAME.json and NAME.console.txt (bench's output, and
# the hosts' link counters before and after). Run from the repository's top folder, as root,
# each configuration alone on the machine (inside the machine's lock for measurements).
# Usage: results/mpi/hosts/run.sh [shm|veth|rate10g|rate1g|lan|wan]...  (default: all)
#   OUT=DIR results/mpi/hosts/run.sh ...  writes into DIR instead (a repeat: results/mpi/hosts/repeat)
set -uo pipefail
cd "$(dirname "$0")/../../.."
out=${OUT:-results/mpi/hosts}
mkdir -p "$out"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
bench=(build/bench --executors=serial,mpi --transfer_sizes=16777216
  '--benchmark_filter=^(roundtrip|transfer)/(raw_mpi|mpi)' --benchmark_repetitions=5
  --benchmark_min_time=0.2)

across() {  # NAME [scripts/hosts up options...]: two hosts, one rank on each, its own CPU each
  local name=$1
  shift
  scripts/hosts up 2 "$@" -- sh -c "scripts/hosts status; scripts/hosts mpirun -n 2 \
    --bind-to none ${bench[*]@Q} --benchmark_out=$out/$name.json; scripts/hosts status"
}

names=("$@")
((${#names[@]})) || names=(shm veth rate10g rate1g lan wan)
for name in "${names[@]}"; do
  [[ $name =~ ^(shm|veth|rate10g|rate1g|lan|wan)$ ]] ||
    { echo "run.sh: unknown configuration $name (allowed: shm veth rate10g rate1g lan wan)" >&2; exit 2; }
done
for name in "${names[@]}"; do
    echo "==> $name"
    case $name in
      # One host: shared memory (vader) and self, a rank on each core as across hosts.
      shm) mpirun -n 2 --bind-to core --mca pml ob1 --mca btl self,vader \
             --mca oob_tcp_if_include lo "${bench[@]}" --benchmark_out="$out/shm.json" ;;
      veth) across veth ;;
      rate10g) across rate10g --netem 0,10gbit ;;
      rate1g) across rate1g --netem 0,1gbit ;;
      lan) across lan --netem lan ;;
      wan) across wan --netem wan ;;
    esac 2>&1 | tee "$out/$name.console.txt"
    rm -f "$out/$name.trace.json"  # a few spans: not kept
done
