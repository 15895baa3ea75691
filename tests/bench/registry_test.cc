// The registered benchmarks are the documented table, and they run: names captured with a
// reporter, as Google Benchmark's own tests do (never a timing).
#include <benchmark/benchmark.h>
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "bench/suite.h"
#include "tests/bench/capture.h"

namespace parbench {
namespace {

TEST(RegistryTest, NamesFollowTheTableAndEveryCpuBenchmarkRuns) {
  SuiteOptions options;
  options.workers = {1, 2};
  options.tasks = 3;
  options.cpu_n = 1000;
  SuiteEnv env(options);
  const std::vector<std::string> registered = RegisterSuite(env);

  const std::vector<std::string> cpu_names = {
      "cpu/serial",
      "cpu/threads/workers:1",
      "cpu/threads/workers:2",
      "cpu/processes/workers:1",
      "cpu/processes/workers:2",
      "cpu_scaling/serial/steps:1000",
      "cpu_scaling/serial/steps:2000",
  };
  for (const auto& name : cpu_names) {
    EXPECT_NE(std::find(registered.begin(), registered.end(), name), registered.end()) << name;
  }

  const auto outcomes = testing::RunMatching("^cpu", "0.001");
  env.Release();

  std::vector<std::string> expected;
  for (const auto& name : cpu_names) expected.push_back(name + "/real_time");
  std::vector<std::string> names;
  for (const auto& outcome : outcomes) {
    names.push_back(outcome.name);
    EXPECT_EQ(outcome.error, "") << outcome.name;
    EXPECT_EQ(outcome.counters.count("tasks_per_second"), 1U) << outcome.name;
    EXPECT_EQ(outcome.counters.count("utilization"), 1U) << outcome.name;
  }
  EXPECT_EQ(names, expected);
  EXPECT_FALSE(env.timeline.empty());
}

TEST(RegistryTest, EveryFamilyIsRegisteredUnderItsDocumentedNames) {
  SuiteOptions options;
  options.workers = {1, 4};
  options.transfer_sizes = {4096, 16 << 20};
  SuiteEnv env(options);
  const std::vector<std::string> names = RegisterSuite(env);
  for (const char* name : {
           "api/serial", "api/threads/workers:4", "api/processes/workers:1",
           "io/serial/mode:buffered/payload:shipped", "io/threads/workers:4/mode:durable/payload:local",
           "io/processes/workers:4/mode:durable/payload:shipped", "dot/serial/blas_threads:1",
           "dot/processes/workers:4/blas_threads:1", "overhead/serial", "overhead/threads/workers:1",
           "overhead/processes/workers:4", "transfer/serial/size:4KiB",
           "transfer/processes/workers:4/size:16MiB",
           "transfer/processes/workers:4/size:16MiB/transport:shm", "startup/serial", "startup/threads/workers:4",
           "startup/processes/workers:4", "startup/processes/workers:4/parent_mem:1GiB",
           "roundtrip/serial", "roundtrip/processes/workers:1", "roundtrip/raw_pipe",
           "api_server/clients:32/latency_ms:20",
           "api_server/clients:256/latency_ms:20"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  }
  // Per case: serial once, then threads and processes at each worker count.
  const std::size_t per_case = 1 + 2 * options.workers.size();
  const std::size_t cores_variant = std::thread::hardware_concurrency() > 1 ? 1 : 0;
  const std::size_t cases = 1 /*cpu*/ + 1 /*api*/ + 4 /*io*/ + 1 + cores_variant /*dot*/ +
                            1 /*overhead*/ + 2 /*transfer*/ + 1 /*roundtrip*/ + 1 /*startup*/;
  EXPECT_EQ(names.size(), cases * per_case + 2 /*cpu_scaling*/ + 2 /*api_server*/ +
                              options.workers.size() /*startup parent_mem: processes only*/ +
                              2 * options.workers.size() /*transfer transport:shm: processes*/ +
                              1 /*roundtrip/raw_pipe*/);
  std::set<std::string> unique(names.begin(), names.end());
  EXPECT_EQ(unique.size(), names.size()) << "no name registered twice";
  env.Release();
}

TEST(RegistryTest, BenchmarkNameFormat) {
  CaseSpec spec;
  spec.workload = "io";
  spec.args = {{"mode", "durable"}, {"payload", "shipped"}};
  EXPECT_EQ(BenchmarkName(spec, ExecutorKind::kSerial, 1), "io/serial/mode:durable/payload:shipped");
  EXPECT_EQ(BenchmarkName(spec, ExecutorKind::kProcesses, 4),
            "io/processes/workers:4/mode:durable/payload:shipped");
}

}  // namespace
}  // namespace parbench
