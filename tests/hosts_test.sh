#!/usr/bin/env bash
# scripts/hosts: two namespaced hosts run a small mpi benchmark across their veth, the result
# names both hosts, the link's counters carry at least the bytes transferred, and nothing is left
# behind (namespace, veth, process, state), also when the run is interrupted with SIGINT, and
# when host 1 is lost mid-run (its veth deleted, or its processes killed): then bench's one line
# names the rank and host it was waiting on, and nothing hangs. Where namespaces cannot be made
# (not root, no `ip`, no CAP_SYS_ADMIN) it prints SKIP: and the reason.
# Usage: tests/hosts_test.sh SOURCE_DIR BENCH
set -uo pipefail
src=${1:?usage: hosts_test.sh SOURCE_DIR BENCH}
bench=${2:?usage: hosts_test.sh SOURCE_DIR BENCH}
hosts=$src/scripts/hosts
export PARBENCH_HOSTS_NAME=pbtest  # a set of its own: pbtest-host0, pbtest-host1, pbtest-switch
tmp=$(mktemp -d)
trap '"$hosts" down >/dev/null 2>&1; rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1  # whatever a run writes on its own (an interrupted bench's output) stays here
status=0
fail() { echo "FAIL: $*"; status=1; }
pass() { echo "ok: $*"; }

# Refusals: one line and exit 77 where namespaces cannot be made, 2 on bad usage.
refusal() {  # expect: status, a pattern of the one line, command...
  local want=$1 pattern=$2 out rc=0
  shift 2
  out=$("$@" 2>&1) || rc=$?
  if [[ $rc -eq $want && $(wc -l <<<"$out") -eq 1 && $out == *$pattern* ]]; then
    pass "refused ($rc): $out"
  else
    fail "$* gave $rc: $out (expected $want and one line with '$pattern')"
  fi
}
if [[ $(id -u) -eq 0 ]] && command -v runuser >/dev/null && id nobody >/dev/null 2>&1; then
  # A copy nobody can read: the checkout may be in root's home (mode 700).
  mkdir -m 755 "$tmp/staged" && install -m 755 "$hosts" "$tmp/staged/hosts" && chmod 755 "$tmp"
  refusal 77 "needs root" runuser -u nobody -- /usr/bin/python3 "$tmp/staged/hosts" up 2
fi
refusal 2 "2..250" "$hosts" up 1
refusal 2 "--netem 5x" "$hosts" up 2 --netem 5x

reason=$("$hosts" check 2>&1)
case $? in
  0) ;;
  77) echo "SKIP: $reason"; exit $status ;;
  *) echo "FAIL: scripts/hosts check: $reason"; exit 1 ;;
esac
if ! command -v mpirun >/dev/null || [[ ! -e $(dirname "$bench")/libparbench_mpi.so ]]; then
  echo "SKIP: mpirun or bench's mpi module (libparbench_mpi.so) not found"
  exit $status
fi

# The namespaces' identities while up (net:[inode], uts:[inode]), to look for leftovers after.
inside='ids=""; for f in /run/netns/pbtest-* /run/parbench-hosts/pbtest/uts/*; do
  ids="$ids $(stat -L -c %i "$f")"; done; echo "$ids" > '"$tmp"'/ids'
leftovers() {  # what a set of hosts left behind: namespaces, state, processes in them
  ip netns list | grep '^pbtest-' | sed 's/^/namespace /'
  [[ -e /run/parbench-hosts/pbtest ]] && echo "state /run/parbench-hosts/pbtest"
  ls -d /tmp/ompi.pbtest-* 2>/dev/null | sed 's/^/session dir /'
  local id pid
  for id in $(cat "$tmp/ids" 2>/dev/null); do
    for pid in /proc/[0-9]*; do
      if [[ $(readlink "$pid/ns/net" "$pid/ns/uts" 2>/dev/null) == *"[$id]"* ]]; then
        echo "process ${pid#/proc/} ($(cat "$pid/comm" 2>/dev/null)) in namespace $id"
      fi
    done
  done
}

# 1. A small cross-host run: roundtrip and a 1 MiB transfer, raw MPI and the mpi executor.
filter='^(roundtrip|transfer)/(raw_mpi|mpi)'
run="sh -c '$inside; \"$hosts\" status --json > $tmp/before.json &&
  \"$hosts\" mpirun -n 2 --bind-to none $bench --executors=mpi --transfer_sizes=1048576 \
    --benchmark_filter=\"$filter\" --benchmark_min_time=0.05 --benchmark_repetitions=1 \
    --benchmark_out=$tmp/run.json > $tmp/bench.out 2>&1 &&
  \"$hosts\" status --json > $tmp/after.json'"
if timeout 300 bash -c "\"$hosts\" up 2 -- $run" >"$tmp/up.out" 2>&1; then
  pass "up 2 -- mpirun ... bench ran"
else
  fail "the cross-host run failed: $(tail -5 "$tmp/up.out" "$tmp/bench.out" 2>/dev/null)"
fi
/usr/bin/python3 - "$tmp" <<'EOF' || status=1
import json, sys
tmp = sys.argv[1]
try:
    run = json.load(open(f"{tmp}/run.json"))
    before, after = (json.load(open(f"{tmp}/{n}.json")) for n in ("before", "after"))
except (OSError, ValueError) as e:
    sys.exit(print(f"FAIL: no result to check: {e}"))
mpi = json.loads(run["context"]["parbench_mpi"])
want = ["pbtest-host0", "pbtest-host1"]
ok = mpi["hosts"] == want and [r["host_name"] for r in mpi["ranks"]] == want
print(("ok" if ok else "FAIL") + f": the run's hosts {mpi['hosts']}, ranks on "
      f"{[r['host_name'] for r in mpi['ranks']]} (expected {want})")
names = {b["run_name"] for b in run["benchmarks"]}
moved = sum(b["iterations"] * 1048576 for b in run["benchmarks"]
            if b["run_type"] == "iteration" and b["run_name"].startswith("transfer/"))
sent = [a["counters"]["tx_bytes"] - b["counters"]["tx_bytes"]
        for a, b in zip(after["hosts"], before["hosts"])]
link = moved > 0 and min(sent) >= moved and len(names) == 4
print(("ok" if link else "FAIL") + f": {len(names)} benchmarks; transfers moved {moved} bytes "
      f"each way; the hosts' eth0 sent {sent} bytes")
sys.exit(0 if ok and link else 1)
EOF
left=$(leftovers)
[[ -z $left ]] && pass "nothing left after the run" || fail "left after the run: $left"

# 2. SIGINT while ranks run on both hosts: exit 130, nothing left, in well under the timeout.
rm -f "$tmp/ids"
long="sh -c '$inside; \"$hosts\" mpirun -n 2 --bind-to none $bench --executors=mpi \
  --benchmark_filter=^roundtrip/raw_mpi --benchmark_min_time=60 --benchmark_out=$tmp/long.json \
  > $tmp/long.out 2>&1'"
bash -c "exec \"$hosts\" up 2 -- $long" >"$tmp/int.out" 2>&1 &
pid=$!
for _ in $(seq 300); do  # until bench runs in host 1 (at most 30 s)
  if ip netns pids pbtest-host1 2>/dev/null | xargs -r -I{} cat /proc/{}/comm 2>/dev/null |
      grep -qx bench; then
    break
  fi
  sleep 0.1
done
kill -INT "$pid"
rc=0
timeout 60 tail --pid="$pid" -f /dev/null || fail "still running 60 s after SIGINT"
wait "$pid" || rc=$?
[[ $rc -eq 130 ]] && pass "SIGINT: exit 130" || fail "SIGINT: exit $rc ($(tail -3 "$tmp/int.out"))"
left=$(leftovers)
[[ -z $left ]] && pass "nothing left after SIGINT" || fail "left after SIGINT: $left"

# 3. Host 1 lost mid-run, two ways: its veth deleted (its packets vanish, no reset: only TCP
# keepalive on mpirun's channel notices), or every process in it killed. Either way: exit
# non-zero well within the bound, bench's one line names the rank on pbtest-host1 that it was
# waiting on, and nothing is left.
in_host1() {  # the pids of every process in pbtest-host1's network namespace (by identity)
  local want pid
  want=$(stat -L -c %i /run/netns/pbtest-host1 2>/dev/null) || return 0
  for pid in /proc/[0-9]*; do
    [[ $(readlink "$pid/ns/net" 2>/dev/null) == "net:[$want]" ]] && echo "${pid#/proc/}"
  done
}
lose_host1() {  # how: veth | kill
  local how=$1 rc=0 line
  rm -f "$tmp/ids" "$tmp/lost.out"
  local job="sh -c '$inside; \"$hosts\" mpirun -n 2 --bind-to none $bench --executors=mpi \
    --benchmark_filter=^roundtrip/mpi/ --benchmark_min_time=60 --benchmark_out=$tmp/lost.json \
    > $tmp/lost.out 2>&1'"
  bash -c "exec \"$hosts\" up 2 -- $job" >"$tmp/up-$how.out" 2>&1 &
  local pid=$!
  for _ in $(seq 300); do  # until bench runs in host 1 (at most 30 s)
    in_host1 | xargs -r -I{} cat /proc/{}/comm 2>/dev/null | grep -qx bench && break
    sleep 0.1
  done
  sleep 3  # past the greeting and clock alignment: round trips in flight
  case $how in
    veth) ip -n pbtest-host1 link del eth0 ;;
    kill) in_host1 | xargs -r kill -KILL ;;
  esac
  timeout 90 tail --pid="$pid" -f /dev/null || fail "host lost ($how): still running 90 s after"
  wait "$pid" || rc=$?
  [[ $rc -ne 0 ]] && pass "host lost ($how): exit $rc" || fail "host lost ($how): exit 0"
  line=$(grep -E '^bench: mpi: waiting on rank 1 \(host pbtest-host1, pid [0-9]+\): ' \
    "$tmp/lost.out")
  if [[ -n $line ]]; then
    pass "host lost ($how): $line"
  else
    fail "host lost ($how): no line names the rank on pbtest-host1: $(tail -5 "$tmp/lost.out")"
  fi
  left=$(leftovers)
  [[ -z $left ]] && pass "nothing left after losing host 1 ($how)" ||
    fail "left after losing host 1 ($how): $left"
}
lose_host1 veth
lose_host1 kill
exit $status
