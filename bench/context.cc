#include "bench/context.h"

#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <regex.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <boost/version.hpp>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>

#include "bench/manifest.h"
#include "build_info_revision.h"  // PARBENCH_GIT_REVISION, written at build time
#include "executors/mpi/session.h"

namespace parbench {
namespace {

// The first "model name" line of /proc/cpuinfo.
std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const std::size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "unknown";
}

// Simultaneous multithreading as the kernel reports it (/sys/devices/system/cpu/smt/active:
// 1 on, 0 off); "unknown" where the file is missing (older kernels, some containers).
std::string SmtActive() {
  std::ifstream in("/sys/devices/system/cpu/smt/active");
  std::string value;
  return (in >> value) ? value : std::string("unknown");
}

// The machine's physical memory in bytes.
std::string MemoryBytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page_size = ::sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return "unknown";
  return std::to_string(static_cast<unsigned long long>(pages) *
                        static_cast<unsigned long long>(page_size));
}

// The running kernel's release (uname -r).
std::string KernelRelease() {
  struct utsname name {};
  return ::uname(&name) == 0 ? std::string(name.release) : std::string("unknown");
}

std::string HostName() {
  char name[256] = {};
  return ::gethostname(name, sizeof name - 1) == 0 ? std::string(name) : "localhost";
}

// The network interfaces this host's ranks can talk over: every interface that is up, not
// the loopback, with its IPv4 address ("eth0 10.231.0.2"). In a host of scripts/hosts that is
// its one veth end; on a plain machine, its network cards.
nlohmann::json Interfaces() {
  nlohmann::json out = nlohmann::json::array();
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (const ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    if ((a->ifa_flags & IFF_UP) == 0 || (a->ifa_flags & IFF_LOOPBACK) != 0) continue;
    char text[INET_ADDRSTRLEN] = {};
    const auto* in = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
    if (::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text) == nullptr) continue;
    out.push_back({{"name", a->ifa_name}, {"address", text}});
  }
  ::freeifaddrs(list);
  return out;
}

// parbench_mpi: the job's library, hosts and every rank (host, pid, machine, clock offset).
std::string MpiContextJson(const mpi::Session& s) {
  using nlohmann::json;
  json ranks = json::array();
  for (const mpi::RankInfo& r : s.ranks) {
    json machine = json::parse(r.machine, nullptr, /*allow_exceptions=*/false);
    ranks.push_back({{"rank", r.rank},
                     {"host", r.host},
                     {"host_name", r.host_name},
                     {"pid", r.pid},
                     {"clock_offset_ns", r.clock_offset_ns},
                     {"clock_uncertainty_ns", r.clock_uncertainty_ns},
                     {"clock", r.host == 0 ? "host" : "aligned"},
                     {"machine", machine.is_discarded() ? json(r.machine) : machine}});
  }
  return json({{"library", s.library},
               {"size", s.size},
               {"mca_defaults_set", s.settings},
               {"start_ms", s.start_ms},
               {"hosts", s.hosts},
               {"ranks", ranks}})
      .dump();
}

}  // namespace

std::string MachineJson(const CpuBudget& budget) {
  return nlohmann::json({{"host", HostName()},
                         {"cpu_model", CpuModel()},
                         {"cores", budget.machine},
                         {"usable_cpus", budget.usable},
                         {"cpus", budget.affinity},
                         {"interfaces", Interfaces()}})
      .dump();
}

std::string_view BuildRevision() { return PARBENCH_GIT_REVISION; }

void AddMachineContext(const SuiteEnv& env, const CpuBudget& budget) {
  using benchmark::AddCustomContext;
  AddCustomContext("parbench_cpu_model", CpuModel());
  AddCustomContext("parbench_cores", std::to_string(budget.machine));
  AddCustomContext("parbench_usable_cpus", std::to_string(env.cpus()));
  std::string affinity;
  for (int cpu : budget.affinity) {
    if (!affinity.empty()) affinity += ',';
    affinity += std::to_string(cpu);
  }
  AddCustomContext("parbench_affinity_cpus", affinity);
  AddCustomContext("parbench_cgroup_cpu_quota",
                   budget.quota ? std::to_string(*budget.quota) : std::string("none"));
  // The rest of the measured machine fingerprint the run store keys series on.
  AddCustomContext("parbench_smt", SmtActive());
  AddCustomContext("parbench_memory_bytes", MemoryBytes());
  AddCustomContext("parbench_kernel", KernelRelease());
  AddCustomContext("parbench_compiler", "GCC " __VERSION__);
  AddCustomContext("parbench_cxx_flags", PARBENCH_CXX_FLAGS);
  AddCustomContext("parbench_build_type", PARBENCH_BUILD_TYPE);
  AddCustomContext("parbench_sanitizers", PARBENCH_SANITIZE_VALUE);
  AddCustomContext("parbench_git_revision", PARBENCH_GIT_REVISION);
  AddCustomContext("parbench_revision_source", PARBENCH_REVISION_SOURCE);
  AddCustomContext("parbench_boost_version", BOOST_LIB_VERSION);
  AddCustomContext("parbench_google_benchmark_version", PARBENCH_BENCHMARK_VERSION);
  // Every flag, set or default, under its own name.
  for (const std::string& name : env.options().Names()) {
    AddCustomContext("parbench_" + name, env.options().Text(name));
  }
  if (const mpi::Session* session = mpi::Current()) {
    AddCustomContext("parbench_mpi", MpiContextJson(*session));
  }
  // The families' own keys (library versions), for the families this run measures.
  for (const Family* family : FamiliesToRun(env, benchmark::GetBenchmarkFilter())) {
    for (const auto& [key, value] : family->context()) AddCustomContext("parbench_" + key, value);
  }
  AddCustomContext("parbench_manifest", ManifestJson(env));
}

std::vector<const Family*> FamiliesToRun(const SuiteEnv& env, std::string filter) {
  // Google Benchmark's own rule (FindBenchmarks): "" and "all" select every benchmark, a
  // leading '-' inverts the pattern, and a POSIX extended regular expression is searched in
  // the name, which ends in /real_time for every benchmark of the suite.
  if (filter.empty() || filter == "all") filter = ".";
  const bool negative = filter[0] == '-';
  if (negative) filter.erase(0, 1);
  regex_t pattern{};
  // A pattern Google Benchmark refuses runs nothing; then every family's keys are added.
  const bool compiled = ::regcomp(&pattern, filter.c_str(), REG_EXTENDED | REG_NOSUB) == 0;
  const std::unique_ptr<regex_t, void (*)(regex_t*)> owner(compiled ? &pattern : nullptr,
                                                           ::regfree);
  std::vector<const Family*> out;
  for (const Family& family : Families()) {
    if (!family.context) continue;
    const bool runs =
        std::any_of(env.registered.begin(), env.registered.end(), [&](const Registered& r) {
          if (r.family != family.display_name()) return false;
          const std::string name = r.name + "/real_time";
          return !compiled || (::regexec(&pattern, name.c_str(), 0, nullptr, 0) == 0) != negative;
        });
    if (runs) out.push_back(&family);
  }
  return out;
}

void AddToWrittenContext(const std::string& path, const std::string& key,
                         const std::string& value) {
  std::string text;
  {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read back '" + path + "' to add " + key);
    std::ostringstream all;
    all << in.rdbuf();
    text = all.str();
  }
  // Inserted as text after the opening of the top-level context object, which Google
  // Benchmark writes first: parsing and re-serialising would choke on the NaN it writes for
  // the cv of constant counters, and would reformat the whole file.
  const std::string opening = "\"context\": {";
  const std::size_t at = text.find(opening);
  if (at == std::string::npos || text.find_first_not_of(" \t\n{") != at) {
    throw std::runtime_error("'" + path + "' is not Google Benchmark JSON; " + key + " not added");
  }
  const std::string entry =
      "\n    " + nlohmann::json(key).dump() + ": " + nlohmann::json(value).dump() + ",";
  text.insert(at + opening.size(), entry);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << text;
    if (!out) throw std::runtime_error("cannot write '" + tmp + "'");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot replace '" + path + "'");
  }
}

}  // namespace parbench
