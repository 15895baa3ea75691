#include "bench/context.h"

#include <benchmark/benchmark.h>

#include <boost/version.hpp>
#include <fstream>
#include <sstream>
#include <string>

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

std::string Join(const std::vector<int>& values) {
  std::ostringstream out;
  for (std::size_t i = 0; i < values.size(); ++i) out << (i ? "," : "") << values[i];
  return out.str();
}

}  // namespace

void AddMachineContext(const SuiteOptions& options, int hardware_threads) {
  using benchmark::AddCustomContext;
  AddCustomContext("parbench_cpu_model", CpuModel());
  AddCustomContext("parbench_cores", std::to_string(hardware_threads));
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
  AddCustomContext("parbench_workers", Join(options.workers));
  AddCustomContext("parbench_tasks", std::to_string(options.tasks));
  AddCustomContext("parbench_cpu_n", std::to_string(options.cpu_n));
  AddCustomContext("parbench_task_timeout_s", std::to_string(options.task_timeout_s));
  AddCustomContext("parbench_api_latency_ms", std::to_string(options.api_latency_ms));
  AddCustomContext("parbench_api_bytes", std::to_string(options.api_bytes));
  AddCustomContext("parbench_api_target", options.api_url.empty() ? "loopback server" : options.api_url);
  AddCustomContext("parbench_io_bytes", std::to_string(options.io_bytes));
  AddCustomContext("parbench_io_dir", options.io_dir);
  AddCustomContext("parbench_dot_n", std::to_string(options.dot_n));
  AddCustomContext("parbench_overhead_tasks", std::to_string(options.overhead_tasks));
  AddCustomContext("parbench_transfer_tasks", std::to_string(options.transfer_tasks));
}

}  // namespace parbench
