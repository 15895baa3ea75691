// What of the machine this run can use, and how much of it others took while a benchmark ran.
//
// The CPUs a run can use are fewer than the machine's when an affinity mask (taskset, a CI
// runner) or a cgroup CPU quota (a container) says so; the default worker counts, the noise
// probe and every efficiency follow the usable count. Interference is what processes outside
// bench's own tree did on those CPUs (from /proc/stat minus the tree's own CPU time), plus the
// time the hypervisor stole. The parsers take file contents, so tests feed them recorded files.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parbench {

// The CPUs this process may run on, as numbers (from its affinity mask).
[[nodiscard]] std::vector<int> AffinityCpus();

// A CPU quota in CPUs (1.5 = one and a half CPUs); nullopt when unlimited.
//   cgroup v2 cpu.max: "max 100000" or "150000 100000";
//   cgroup v1: cpu.cfs_quota_us "-1" or "150000" with cpu.cfs_period_us "100000".
[[nodiscard]] std::optional<double> ParseCpuMax(std::string_view cpu_max);
[[nodiscard]] std::optional<double> ParseCfsQuota(std::string_view quota_us,
                                                  std::string_view period_us);

// The quota that applies to this process: its cgroup (from `proc_self_cgroup`, the text of
// /proc/self/cgroup) and every parent up to `root` (/sys/fs/cgroup), the smallest wins.
[[nodiscard]] std::optional<double> CgroupCpuQuota(std::string_view proc_self_cgroup,
                                                   const std::string& root = "/sys/fs/cgroup");

// Everything the context says about CPUs.
struct CpuBudget {
  int machine = 1;              // online CPUs of the machine
  std::vector<int> affinity;    // the CPUs of the affinity mask
  std::optional<double> quota;  // the cgroup quota in CPUs, if any
  int usable = 1;               // min(affinity, ceil(quota)), at least 1
};
[[nodiscard]] CpuBudget ReadCpuBudget();

// CPU time counters of one moment: the usable CPUs' busy and steal ticks (/proc/stat), and
// bench's own process tree (itself, its threads, its live children, its reaped children).
struct CpuSample {
  std::int64_t wall_ns = 0;
  std::int64_t cpus_busy_ticks = 0;       // user+nice+system+irq+softirq over the usable CPUs
  std::int64_t cpus_steal_ticks = 0;      // steal over the usable CPUs
  std::int64_t tree_ticks = 0;            // utime+stime of bench, its children alive and reaped
  std::int64_t involuntary_switches = 0;  // of bench's threads and its live children
  // The tree's CPU time in ns (-1: not read): the process clock, reaped children's rusage and
  // live children's per-thread schedstat. Ticks are 10 ms apart; a benchmark of a few hundred
  // ms that uses a few ms of CPU needs this.
  std::int64_t tree_cpu_ns = -1;
};

// Sums the `cpuN` lines of a /proc/stat text for the CPUs in `cpus` into busy and steal ticks.
void ParseProcStat(std::string_view proc_stat, const std::vector<int>& cpus, CpuSample& sample);
// utime + stime (+ cutime + cstime when `with_children`) from a /proc/PID/stat text.
[[nodiscard]] std::int64_t ParsePidStatTicks(std::string_view pid_stat, bool with_children);
// The parent pid from a /proc/PID/stat text (-1 when malformed).
[[nodiscard]] int ParsePidStatParent(std::string_view pid_stat);
// The time on CPU in ns (the first field) from a /proc/PID/task/TID/schedstat text (-1 when
// malformed).
[[nodiscard]] std::int64_t ParseSchedstatNs(std::string_view schedstat);
// nonvoluntary_ctxt_switches from a /proc/PID/status text.
[[nodiscard]] std::int64_t ParseInvoluntarySwitches(std::string_view pid_status);

// The pids of this process's live children (the process pool's workers).
[[nodiscard]] std::vector<int> LiveChildren();

// When SampleCpu reads bench's own CPU clock: a window that starts with a sample taken with
// kLast and ends with one taken with kFirst holds neither sample's own cost (milliseconds of
// reading /proc on a busy machine).
enum class SelfClock { kFirst, kLast };
// Reads the counters now for the CPUs in `cpus`.
[[nodiscard]] CpuSample SampleCpu(const std::vector<int>& cpus,
                                  SelfClock self_clock = SelfClock::kFirst);

// What happened between two samples, as fractions of the usable CPUs' time.
struct Interference {
  double other_cpu_frac = 0;  // CPU time of processes outside bench's tree
  double steal_frac = 0;      // time the hypervisor gave to someone else
  double tree_cpu_s = 0;      // CPU seconds of bench's whole tree (from tree_cpu_ns if read)
  double involuntary_switches = 0;
};
[[nodiscard]] Interference Between(const CpuSample& before, const CpuSample& after, int usable);

// Clock ticks per second of /proc's CPU times (sysconf(_SC_CLK_TCK)).
[[nodiscard]] std::int64_t TicksPerSecond();

}  // namespace parbench
