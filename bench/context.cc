#include "bench/context.h"

#include <benchmark/benchmark.h>

#include <boost/version.hpp>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>

#include "bench/manifest.h"
#include "workloads/api.h"
#include "workloads/dot.h"
#include "build_info_revision.h"  // PARBENCH_GIT_REVISION, written at build time

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

}  // namespace

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
  AddCustomContext("parbench_compiler", "GCC " __VERSION__);
  AddCustomContext("parbench_cxx_flags", PARBENCH_CXX_FLAGS);
  AddCustomContext("parbench_build_type", PARBENCH_BUILD_TYPE);
  AddCustomContext("parbench_sanitizers", PARBENCH_SANITIZE_VALUE);
  AddCustomContext("parbench_git_revision", PARBENCH_GIT_REVISION);
  AddCustomContext("parbench_openblas_config", dot::BlasConfig());
  AddCustomContext("parbench_openblas_core", dot::BlasCore());
  AddCustomContext("parbench_openblas_threads", std::to_string(dot::BlasThreads()));
  AddCustomContext("parbench_boost_version", BOOST_LIB_VERSION);
  AddCustomContext("parbench_libcurl_version", api::CurlVersion());
  AddCustomContext("parbench_google_benchmark_version", PARBENCH_BENCHMARK_VERSION);
  // Every flag, set or default, under its own name.
  for (const std::string& name : env.options().Names()) {
    AddCustomContext("parbench_" + name, env.options().Text(name));
  }
  AddCustomContext("parbench_manifest", ManifestJson(env));
}

void AddToWrittenContext(const std::string& path, const std::string& key,
                         const std::string& value) {
  // Inserted as text after the context's opening brace, not parsed and rewritten: with
  // --benchmark_repetitions, Google Benchmark writes NaN (the cv of a counter whose mean is 0),
  // which is not JSON and which a strict parser refuses.
  std::string text;
  {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read back '" + path + "' to add " + key);
    std::ostringstream all;
    all << in.rdbuf();
    text = std::move(all).str();
  }
  static constexpr std::string_view kContext = "\"context\": {";
  const std::size_t at = text.find(kContext);
  if (text.find_first_not_of(" \t\r\n") != text.find('{') || at == std::string::npos) {
    throw std::runtime_error("'" + path + "' is not Google Benchmark JSON; " + key + " not added");
  }
  const std::size_t open = at + kContext.size();
  const std::size_t next = text.find_first_not_of(" \t\r\n", open);
  const bool empty = next != std::string::npos && text[next] == '}';
  text.insert(open, "\n    " + nlohmann::json(key).dump() + ": " + nlohmann::json(value).dump() +
                        (empty ? "" : ","));
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << text;
    if (!out) throw std::runtime_error("cannot write '" + tmp + "'");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot replace '" + path + "'");
  }
}

}  // namespace parbench
