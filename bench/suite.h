// The suite: a table of cases (workload variants) crossed with executors and worker counts,
// registered as Google Benchmark benchmarks.
#pragma once

#include <benchmark/benchmark.h>

#include <functional>
#include <map>
#include <tuple>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bench/flags.h"
#include "bench/timeline.h"
#include "common/temp_dir.h"
#include "executors/executor.h"
#include "workloads/api_server.h"

namespace parbench {

// What one benchmark run needs, built once per case outside any timed region.
struct Prepared {
  Job job;
  std::vector<std::byte> payload;  // given to every task (empty: none)
  std::uint32_t tasks = 0;
  // Checks one task's result; returns "" when it proves the work was done, else why not.
  std::function<std::string(const Result&)> check;
  // Anything the case keeps alive while it runs (startup's 1 GiB of parent memory).
  std::shared_ptr<void> hold = nullptr;
};

// The totals of a benchmark's timed iterations, measured around Executor::Run.
struct Measurement {
  int workers = 1;
  std::int64_t iterations = 0;
  std::int64_t tasks = 0;    // tasks run in all iterations
  std::int64_t wall_ns = 0;  // summed wall time of the iterations
  std::int64_t busy_ns = 0;  // summed durations of every task
};

// How a case's benchmark spends one iteration.
enum class Body {
  kBatch,    // the cached pool runs the batch (every workload but startup)
  kStartup,  // start a pool, run one empty task per worker, shut the pool down
};

// One row of the case table: a workload with fixed arguments.
struct CaseSpec {
  std::string workload;                                     // first part of the name
  std::vector<std::pair<std::string, std::string>> args;    // name suffix: /key:value ...
  std::vector<ExecutorKind> executors = {ExecutorKind::kSerial, ExecutorKind::kThreads,
                                         ExecutorKind::kProcesses};
  Body body = Body::kBatch;
  Transport transport = Transport::kPipe;  // for the processes executor
  std::function<Prepared()> prepare;
  // Counters beyond the common ones (tasks_per_second, utilization); may be empty.
  std::function<void(benchmark::State&, const Prepared&, const Measurement&)> counters;
};

struct SuiteEnv;
// The case table for env.options (cases.cc). Cases may start env's api server and make temp
// directories in env when they are prepared.
[[nodiscard]] std::vector<CaseSpec> MakeCases(SuiteEnv& env);

// "cpu/serial", "cpu/threads/workers:4", "io/processes/workers:2/mode:durable".
[[nodiscard]] std::string BenchmarkName(const CaseSpec& spec, ExecutorKind kind, int workers);

// Pools kept alive across the benchmarks (Google Benchmark calls a benchmark several times),
// one per (kind, workers, transport). A broken pool is dropped and the next Get() starts a fresh one.
class PoolCache {
 public:
  explicit PoolCache(ExecutorOptions base) : base_(std::move(base)) {}
  // The pool for (kind, workers, transport), started on first use. Throws ExecutorError.
  Executor& Get(ExecutorKind kind, int workers, Transport transport = Transport::kPipe);
  // Destroys that pool, if any.
  void Drop(ExecutorKind kind, int workers, Transport transport = Transport::kPipe);
  // Destroys every pool (workers stopped and reaped).
  void Clear() { pools_.clear(); }

 private:
  ExecutorOptions base_;
  std::map<std::tuple<ExecutorKind, int, Transport>, std::unique_ptr<Executor>> pools_;
};

// Everything the registered benchmarks share; outlives RunSpecifiedBenchmarks().
struct SuiteEnv {
  explicit SuiteEnv(SuiteOptions suite_options);
  // The loopback api server, started on first use.
  api::Server& ApiServer();
  // A new private directory under --io_dir, removed by Release() or the destructor.
  const std::string& MakeTempDir();
  // Stops every pool and the api server, removes the temp directories.
  void Release();

  SuiteOptions options;
  PoolCache pools;
  Timeline timeline;
  std::unique_ptr<api::Server> api_server;
  std::vector<std::unique_ptr<TempDir>> temp_dirs;
  int failures = 0;  // benchmarks that ended with an error
};

// Registers one case under every executor and worker count of env.options; appends the names.
void RegisterCase(SuiteEnv& env, CaseSpec spec, std::vector<std::string>& names);

// Registers every case x executor x worker count; returns the names in registration order.
std::vector<std::string> RegisterSuite(SuiteEnv& env);

}  // namespace parbench
