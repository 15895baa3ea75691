#include "bench/suite.h"

namespace parbench {
namespace {

// The body of every batch benchmark: the pool and inputs are ready before the timed loop; one
// iteration runs all tasks once; verification happens with the timer paused.
void RunBatchBenchmark(benchmark::State& state, SuiteEnv& env, const CaseSpec& spec,
                       const std::shared_ptr<Prepared>& prepared, const std::string& name,
                       ExecutorKind kind, int workers) {
  Executor* executor = nullptr;
  try {
    executor = &env.pools.Get(kind, workers);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  const Prepared& prep = *prepared;
  const Batch batch{.job = &prep.job, .tasks = prep.tasks, .payload = prep.payload};
  Measurement m{.workers = workers};
  std::vector<Result> results;
  std::int64_t last_start = 0;
  std::int64_t last_stop = 0;
  for (auto _ : state) {
    const std::int64_t start = NowNs();
    try {
      results = executor->Run(batch);
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());
      if (executor->broken()) env.pools.Drop(kind, workers);
      return;
    }
    const std::int64_t stop = NowNs();
    state.PauseTiming();
    for (const Result& r : results) {
      std::string problem = r.error.empty() ? prep.check(r) : r.error;
      if (!problem.empty()) {
        problem = "task " + std::to_string(r.span.task) + ": " + problem;
        state.SkipWithError(problem.c_str());
        return;
      }
      m.busy_ns += r.span.stop_ns - r.span.start_ns;
    }
    m.wall_ns += stop - start;
    m.tasks += static_cast<std::int64_t>(results.size());
    ++m.iterations;
    last_start = start;
    last_stop = stop;
    state.ResumeTiming();
  }
  if (m.iterations == 0) return;
  const double wall_s = static_cast<double>(m.wall_ns) / 1e9;
  state.counters["tasks_per_second"] = static_cast<double>(m.tasks) / wall_s;
  state.counters["utilization"] =
      static_cast<double>(m.busy_ns) / (static_cast<double>(m.wall_ns) * workers);
  if (spec.counters) spec.counters(state, prep, m);
  env.timeline.Record(name, workers, last_start, last_stop, results);
}

}  // namespace

std::string BenchmarkName(const CaseSpec& spec, ExecutorKind kind, int workers) {
  std::string name = spec.workload + "/" + std::string(ToString(kind));
  if (kind != ExecutorKind::kSerial) name += "/workers:" + std::to_string(workers);
  for (const auto& [key, value] : spec.args) name += "/" + key + ":" + value;
  return name;
}

Executor& PoolCache::Get(ExecutorKind kind, int workers) {
  auto& slot = pools_[{kind, workers}];
  if (slot && slot->broken()) slot.reset();
  if (!slot) {
    ExecutorOptions options = base_;
    options.workers = workers;
    slot = MakeExecutor(kind, options);
  }
  return *slot;
}

void PoolCache::Drop(ExecutorKind kind, int workers) { pools_.erase({kind, workers}); }

std::vector<std::string> RegisterSuite(SuiteEnv& env) {
  std::vector<std::string> names;
  for (CaseSpec& spec_value : MakeCases(env.options)) {
    auto spec = std::make_shared<const CaseSpec>(std::move(spec_value));
    // Inputs are built on first use and shared by every executor of the case.
    auto prepared = std::make_shared<std::shared_ptr<Prepared>>();
    for (ExecutorKind kind : spec->executors) {
      const std::vector<int> counts =
          kind == ExecutorKind::kSerial ? std::vector<int>{1} : env.options.workers;
      for (int workers : counts) {
        std::string name = BenchmarkName(*spec, kind, workers);
        benchmark::RegisterBenchmark(
            name.c_str(),
            [&env, spec, prepared, name, kind, workers](benchmark::State& state) {
              if (!*prepared) *prepared = std::make_shared<Prepared>(spec->prepare());
              RunBatchBenchmark(state, env, *spec, *prepared, name, kind, workers);
            })
            ->UseRealTime()  // wall time is what a parallel executor buys
            ->Unit(benchmark::kMillisecond);
        names.push_back(std::move(name));
      }
    }
  }
  return names;
}

}  // namespace parbench
