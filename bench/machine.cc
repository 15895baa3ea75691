#include "bench/machine.h"

#include <dirent.h>
#include <sched.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "executors/executor.h"  // NowNs
#include "executors/mpi/session.h"

namespace parbench {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::optional<std::int64_t> ToInt(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  std::int64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

// The whitespace-separated fields of `line`.
std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\n') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
    if (i < line.size() && line[i] == '\n') break;
  }
  return out;
}

// The fields of /proc/PID/stat after the command name (which may hold spaces and parentheses):
// index 0 is field 3 (state).
std::vector<std::string_view> StatFieldsAfterComm(std::string_view pid_stat) {
  const std::size_t close = pid_stat.rfind(')');
  if (close == std::string_view::npos) return {};
  return Fields(pid_stat.substr(close + 1));
}

std::optional<double> Min(std::optional<double> a, std::optional<double> b) {
  if (!a) return b;
  if (!b) return a;
  return std::min(*a, *b);
}

}  // namespace

std::vector<int> AffinityCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> out;
  if (::sched_getaffinity(0, sizeof set, &set) == 0) {
    for (std::size_t cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &set)) out.push_back(static_cast<int>(cpu));
    }
  }
  if (out.empty()) out.push_back(0);
  return out;
}

std::optional<double> ParseCpuMax(std::string_view cpu_max) {
  const auto fields = Fields(cpu_max);
  if (fields.size() != 2 || fields[0] == "max") return std::nullopt;
  const auto quota = ToInt(fields[0]);
  const auto period = ToInt(fields[1]);
  if (!quota || !period || *quota <= 0 || *period <= 0) return std::nullopt;
  return static_cast<double>(*quota) / static_cast<double>(*period);
}

std::optional<double> ParseCfsQuota(std::string_view quota_us, std::string_view period_us) {
  const auto quota = ToInt(quota_us);
  const auto period = ToInt(period_us);
  if (!quota || !period || *quota <= 0 || *period <= 0) return std::nullopt;
  return static_cast<double>(*quota) / static_cast<double>(*period);
}

std::optional<double> CgroupCpuQuota(std::string_view proc_self_cgroup, const std::string& root) {
  std::optional<double> quota;
  std::istringstream lines{std::string(proc_self_cgroup)};
  for (std::string line; std::getline(lines, line);) {
    // "0::/path" (v2) or "N:cpu,cpuacct:/path" (v1).
    const std::size_t a = line.find(':');
    const std::size_t b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1);
    std::string path = line.substr(b + 1);
    const bool v2 = line.rfind("0::", 0) == 0;
    const bool v1_cpu = ("," + controllers + ",").find(",cpu,") != std::string::npos;
    if (!v2 && !v1_cpu) continue;
    for (;;) {  // this cgroup and every parent: the smallest quota wins
      if (v2) {
        quota = Min(quota, ParseCpuMax(ReadFile(root + path + "/cpu.max")));
      } else {
        const std::string dir = root + "/" + controllers + path;
        quota = Min(quota, ParseCfsQuota(ReadFile(dir + "/cpu.cfs_quota_us"),
                                         ReadFile(dir + "/cpu.cfs_period_us")));
      }
      if (path.empty() || path == "/") break;
      const std::size_t slash = path.rfind('/');
      path = slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
    }
  }
  return quota;
}

CpuBudget ReadCpuBudget() {
  CpuBudget budget;
  budget.machine = static_cast<int>(std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN)));
  budget.affinity = AffinityCpus();
  budget.quota = CgroupCpuQuota(ReadFile("/proc/self/cgroup"));
  int usable = static_cast<int>(budget.affinity.size());
  if (budget.quota) usable = std::min(usable, static_cast<int>(std::ceil(*budget.quota - 1e-9)));
  budget.usable = std::max(1, usable);
  return budget;
}

void ParseProcStat(std::string_view proc_stat, const std::vector<int>& cpus, CpuSample& sample) {
  std::istringstream lines{std::string(proc_stat)};
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("cpu", 0) != 0 || line.size() < 4 || line[3] < '0' || line[3] > '9') continue;
    const auto f = Fields(line);
    const auto cpu = ToInt(f[0].substr(3));
    if (!cpu || std::find(cpus.begin(), cpus.end(), *cpu) == cpus.end()) continue;
    // cpuN user nice system idle iowait irq softirq steal ...
    auto at = [&](std::size_t i) { return i < f.size() ? ToInt(f[i]).value_or(0) : 0; };
    sample.cpus_busy_ticks += at(1) + at(2) + at(3) + at(6) + at(7);
    sample.cpus_steal_ticks += at(8);
  }
}

std::int64_t ParsePidStatTicks(std::string_view pid_stat, bool with_children) {
  const auto f = StatFieldsAfterComm(pid_stat);
  if (f.size() < 15) return 0;
  // Fields 14..17 (utime stime cutime cstime) are at 11..14 after the command name.
  std::int64_t ticks = ToInt(f[11]).value_or(0) + ToInt(f[12]).value_or(0);
  if (with_children) ticks += ToInt(f[13]).value_or(0) + ToInt(f[14]).value_or(0);
  return ticks;
}

int ParsePidStatParent(std::string_view pid_stat) {
  const auto f = StatFieldsAfterComm(pid_stat);
  return f.size() > 1 ? static_cast<int>(ToInt(f[1]).value_or(-1)) : -1;
}

std::int64_t ParseSchedstatNs(std::string_view schedstat) {
  const auto f = Fields(schedstat);
  return f.empty() ? -1 : ToInt(f[0]).value_or(-1);
}

std::int64_t ParseInvoluntarySwitches(std::string_view pid_status) {
  const std::size_t at = pid_status.find("nonvoluntary_ctxt_switches:");
  if (at == std::string_view::npos) return 0;
  const auto f = Fields(pid_status.substr(at));
  return f.size() > 1 ? ToInt(f[1]).value_or(0) : 0;
}

namespace {

// The CPU time of every thread of process `dir` (/proc/PID), in ns; -1 when unreadable.
std::int64_t ProcessCpuNs(const std::string& dir) {
  std::int64_t total = 0;
  DIR* tasks = ::opendir((dir + "/task").c_str());
  if (tasks == nullptr) return -1;
  while (const dirent* entry = ::readdir(tasks)) {
    if (entry->d_name[0] < '1' || entry->d_name[0] > '9') continue;
    const std::int64_t ns =
        ParseSchedstatNs(ReadFile(dir + "/task/" + entry->d_name + "/schedstat"));
    if (ns < 0) {
      total = -1;
      break;
    }
    total += ns;
  }
  ::closedir(tasks);
  return total;
}

std::int64_t TimevalNs(const timeval& tv) {
  return std::int64_t{tv.tv_sec} * 1'000'000'000 + std::int64_t{tv.tv_usec} * 1'000;
}

}  // namespace

CpuSample SampleCpu(const std::vector<int>& cpus, SelfClock self_clock) {
  // Reading /proc for every process of the machine costs this process milliseconds: the
  // clock is read where the caller says, so that neither end's reading lands in the window.
  timespec self_cpu{};
  bool precise =
      self_clock != SelfClock::kFirst || ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &self_cpu) == 0;
  CpuSample s;
  s.wall_ns = NowNs();
  ParseProcStat(ReadFile("/proc/stat"), cpus, s);
  s.tree_ticks = ParsePidStatTicks(ReadFile("/proc/self/stat"), /*with_children=*/true);
  s.involuntary_switches = ParseInvoluntarySwitches(ReadFile("/proc/self/status"));
  rusage reaped{};
  precise = precise && ::getrusage(RUSAGE_CHILDREN, &reaped) == 0;
  std::int64_t cpu_ns = TimevalNs(reaped.ru_utime) + TimevalNs(reaped.ru_stime);
  bool children_precise = true;
  // Live children (the process pool's workers): their own time, not yet in cutime.
  for (int pid : LiveChildren()) {
    const std::string dir = "/proc/" + std::to_string(pid);
    s.tree_ticks += ParsePidStatTicks(ReadFile(dir + "/stat"), /*with_children=*/false);
    s.involuntary_switches += ParseInvoluntarySwitches(ReadFile(dir + "/status"));
    const std::int64_t child_ns = ProcessCpuNs(dir);
    if (child_ns < 0) children_precise = false;  // e.g. a kernel without schedstat
    cpu_ns += child_ns;
  }
  // Under mpirun, the worker ranks on this host are bench's too (they are not its children):
  // their CPU time is the executor's, not interference.
  if (const mpi::Session* session = mpi::Current(); session != nullptr && session->rank == 0) {
    for (const mpi::RankInfo& r : session->ranks) {
      if (r.rank == 0 || r.gone || !mpi::OnThisHost(r)) continue;
      const std::string dir = "/proc/" + std::to_string(r.pid);
      s.tree_ticks += ParsePidStatTicks(ReadFile(dir + "/stat"), /*with_children=*/false);
      s.involuntary_switches += ParseInvoluntarySwitches(ReadFile(dir + "/status"));
      const std::int64_t rank_ns = ProcessCpuNs(dir);
      if (rank_ns < 0) children_precise = false;
      cpu_ns += rank_ns;
    }
  }
  if (self_clock == SelfClock::kLast) {
    precise = precise && ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &self_cpu) == 0;
  }
  cpu_ns += std::int64_t{self_cpu.tv_sec} * 1'000'000'000 + self_cpu.tv_nsec;
  s.tree_cpu_ns = precise && children_precise ? cpu_ns : -1;
  return s;
}

std::vector<int> LiveChildren() {
  std::vector<int> out;
  const int self = ::getpid();
  if (DIR* proc = ::opendir("/proc")) {
    while (const dirent* entry = ::readdir(proc)) {
      if (entry->d_name[0] < '1' || entry->d_name[0] > '9') continue;
      const std::string stat = ReadFile(std::string("/proc/") + entry->d_name + "/stat");
      if (ParsePidStatParent(stat) == self) out.push_back(std::atoi(entry->d_name));
    }
    ::closedir(proc);
  }
  return out;
}

Interference Between(const CpuSample& before, const CpuSample& after, int usable) {
  Interference out;
  const double hz = static_cast<double>(TicksPerSecond());
  const double wall_s = static_cast<double>(after.wall_ns - before.wall_ns) / 1e9;
  const double capacity_s = wall_s * std::max(1, usable);
  out.tree_cpu_s = before.tree_cpu_ns >= 0 && after.tree_cpu_ns >= 0
                       ? static_cast<double>(after.tree_cpu_ns - before.tree_cpu_ns) / 1e9
                       : static_cast<double>(after.tree_ticks - before.tree_ticks) / hz;
  const double busy_s = static_cast<double>(after.cpus_busy_ticks - before.cpus_busy_ticks) / hz;
  const double steal_s = static_cast<double>(after.cpus_steal_ticks - before.cpus_steal_ticks) / hz;
  if (capacity_s > 0) {
    // Ticks are 10 ms coarse: a short benchmark can read slightly negative; clamp.
    out.other_cpu_frac = std::clamp((busy_s - out.tree_cpu_s) / capacity_s, 0.0, 1.0);
    out.steal_frac = std::clamp(steal_s / capacity_s, 0.0, 1.0);
  }
  out.involuntary_switches =
      static_cast<double>(after.involuntary_switches - before.involuntary_switches);
  return out;
}

std::int64_t TicksPerSecond() {
  static const std::int64_t hz = std::max(1L, ::sysconf(_SC_CLK_TCK));
  return hz;
}

}  // namespace parbench
