// The suite: the family table crossed with executors, axes and worker counts, registered as
// Google Benchmark benchmarks.
#pragma once

#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "bench/timeline.h"
#include "common/temp_dir.h"
#include "executors/executor.h"
#include "harness/api_server.h"
#include "workloads/family.h"

namespace parbench {

// What a benchmark's point asks of its executor besides the worker count: the values of the
// axes whose scope is an executor option (Scope::kTransport, and so on), found by scope.
struct PoolChoice {
  Transport transport = Transport::kPipe;
  Dispatch dispatch = Dispatch::kAdaptive;
  auto operator<=>(const PoolChoice&) const = default;
};

// Pools kept alive across the benchmarks (Google Benchmark calls a benchmark several times),
// one per (executor, workers, choice). A broken pool is dropped and the next Get() starts a
// fresh one.
class PoolCache {
 public:
  explicit PoolCache(ExecutorOptions base) : base_(std::move(base)) {}
  // The pool for (executor, workers, choice), started on first use. Throws ExecutorError.
  Executor& Get(std::string_view executor, int workers, PoolChoice choice = {});
  // Destroys that pool, if any.
  void Drop(std::string_view executor, int workers, PoolChoice choice = {});
  // Destroys every pool (workers stopped and reaped).
  void Clear() { pools_.clear(); }

 private:
  using Key = std::tuple<std::string, int, PoolChoice>;
  ExecutorOptions base_;
  std::map<Key, std::unique_ptr<Executor>> pools_;
};

// One registered benchmark: where its name comes from.
struct Registered {
  std::string name;      // "io/processes/workers:2/mode:durable/payload:local"
  std::string family;    // "io"
  std::string executor;  // "processes"; "" for a probe family; the reference's name for one
  int workers = 1;
  Point point;
};

// Everything the registered benchmarks share; outlives RunSpecifiedBenchmarks().
class SuiteEnv final : public Fixtures {
 public:
  // `cpus` CPUs usable, numbered `cpu_list` (default: the affinity mask).
  SuiteEnv(Options options, int cpus, std::vector<int> cpu_list = {});
  ~SuiteEnv() override;
  SuiteEnv(const SuiteEnv&) = delete;
  SuiteEnv& operator=(const SuiteEnv&) = delete;

  [[nodiscard]] const Options& options() const override { return options_; }
  [[nodiscard]] int cpus() const override { return cpus_; }
  // The CPUs `workers` workers of `executor` can use, an efficiency's divisor: min(workers,
  // usable CPUs), where for an executor whose workers may run on other hosts (MPI's ranks) the
  // usable CPUs are those of the hosts its worker ranks 1..W run on (their affinity, per host):
  // two hosts of one CPU each are 2, though rank 0 may use 1.
  [[nodiscard]] int EfficiencyCpus(const std::string& executor, int workers) const;
  // The CPUs the run may use, by number (interference is measured on these).
  [[nodiscard]] const std::vector<int>& cpu_list() const { return cpu_list_; }
  [[nodiscard]] const std::string& MakeTempDir() override;
  [[nodiscard]] std::string LoopbackHttpUrl(std::int64_t latency_ms, std::int64_t bytes) override;
  [[nodiscard]] std::vector<double> TakeServerDelaysMs() override;

  // The loopback server, started on first use.
  api::Server& ApiServer();
  // CPU time the suite's own fixtures running inside bench (the loopback server's thread)
  // have used so far, in ns: not part of what a benchmark measures.
  [[nodiscard]] std::int64_t HarnessCpuNs() const;
  // The inputs of (family, point), built on first use and kept while that point is measured
  // (the previous point's are freed when another is prepared).
  const Prepared& Prepare(const Family& family, const Point& point);
  // Stops every pool and the api server, removes the temp directories.
  void Release();

  PoolCache pools;
  Timeline timeline;
  std::vector<Registered> registered;  // in registration order
  int failures = 0;                    // benchmarks that ended with an error

 private:
  Options options_;
  int cpus_;
  std::vector<int> cpu_list_;
  std::unique_ptr<api::Server> api_server_;
  std::vector<std::unique_ptr<TempDir>> temp_dirs_;
  std::map<std::pair<std::string, Point>, std::shared_ptr<const Prepared>> prepared_;
};

// Whether an executor with `traits` is in `scope` (has the axis, or is compared to the floor).
[[nodiscard]] bool InScope(Scope scope, const ExecutorTraits& traits);

// The executor options `point` (of a family with `axes`) selects (see PoolChoice).
[[nodiscard]] PoolChoice ChoiceOf(const std::vector<Axis>& axes, const Point& point);

// "cpu/serial", "cpu/threads/workers:4", "io/processes/workers:2/mode:durable".
[[nodiscard]] std::string BenchmarkName(std::string_view family, const ExecutorInfo& executor,
                                        int workers, const Point& point);

// The executors `family` runs under in this run, in registry order (--executors, the family's
// Under, and whether its workload has the asynchronous form an async executor needs).
[[nodiscard]] std::vector<const ExecutorInfo*> ExecutorsFor(const Family& family,
                                                            const Options& options);

// Registers one family (every executor, axis point and worker count; its probe points; its
// references) and records them in env.registered.
void RegisterFamilyBenchmarks(SuiteEnv& env, const Family& family);

// Registers every family of the table; returns the names in registration order.
std::vector<std::string> RegisterSuite(SuiteEnv& env);

}  // namespace parbench
