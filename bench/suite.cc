#include "bench/suite.h"

#include <algorithm>
#include <optional>

#include "bench/probes.h"
#include "workloads/api.h"

namespace parbench {
namespace {

// Fails the running benchmark with `why`, and remembers that one failed (bench's exit status).
void Skip(benchmark::State& state, SuiteEnv& env, const std::string& why) {
  state.SkipWithError(why.c_str());
  ++env.failures;
}

// Checks every result; returns "" or the first problem, naming the task.
std::string Verify(const Prepared& prep, const std::vector<Result>& results) {
  for (const Result& r : results) {
    const std::string problem = r.error.empty() ? prep.check(r) : r.error;
    if (!problem.empty()) return "task " + std::to_string(r.span.task) + ": " + problem;
  }
  return "";
}

void AddCommonCounters(benchmark::State& state, const Measurement& m) {
  const double wall_s = static_cast<double>(m.wall_ns) / 1e9;
  state.counters["tasks_per_second"] = static_cast<double>(m.tasks) / wall_s;
  state.counters["utilization"] =
      static_cast<double>(m.busy_ns) / (static_cast<double>(m.wall_ns) * m.workers);
}

// The q-quantile of `values` (nearest rank); 0 when empty.
double Quantile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(q * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(rank, values.size() - 1)];
}

// Adds one verified iteration to the totals.
void Account(Measurement& m, const std::vector<Result>& results, std::int64_t wall_ns) {
  for (const Result& r : results) m.busy_ns += r.span.stop_ns - r.span.start_ns;
  m.wall_ns += wall_ns;
  m.tasks += static_cast<std::int64_t>(results.size());
  ++m.iterations;
}

// The timed loop every executor benchmark shares: `iteration` runs one iteration and returns
// its results; the loop times it, verifies the results with the timer paused, and totals
// them. On a failure the benchmark is skipped with the reason, `on_failure` runs, and nothing
// is returned; else the totals, with the last iteration recorded for the timeline.
template <typename Iteration, typename OnFailure>
std::optional<Measurement> TimedLoop(benchmark::State& state, SuiteEnv& env, const Prepared& prep,
                                     const std::string& name, int workers, Iteration iteration,
                                     OnFailure on_failure) {
  Measurement m{.workers = workers};
  std::vector<Result> results;
  std::int64_t start = 0;
  std::int64_t stop = 0;
  for (auto _ : state) {
    start = NowNs();
    try {
      results = iteration();
    } catch (const std::exception& e) {
      Skip(state, env, e.what());
      on_failure();
      return std::nullopt;
    }
    stop = NowNs();
    state.PauseTiming();
    if (const std::string problem = Verify(prep, results); !problem.empty()) {
      Skip(state, env, problem);
      return std::nullopt;
    }
    Account(m, results, stop - start);
    state.ResumeTiming();
  }
  if (m.iterations == 0) return std::nullopt;
  env.timeline.Record(name, workers, start, stop, results);
  return m;
}

// The body of every batch benchmark: the pool (from the cache) and the inputs are ready before
// the timed loop; one iteration runs all tasks once.
void RunBatchBenchmark(benchmark::State& state, SuiteEnv& env, const CaseSpec& spec,
                       const Prepared& prep, const std::string& name, ExecutorKind kind,
                       int workers) {
  Executor* executor = nullptr;
  try {
    executor = &env.pools.Get(kind, workers, spec.transport);
  } catch (const std::exception& e) {
    Skip(state, env, e.what());
    return;
  }
  const Batch batch{.job = &prep.job, .tasks = prep.tasks, .payload = prep.payload};
  const auto m = TimedLoop(
      state, env, prep, name, workers, [&] { return executor->Run(batch); },
      [&] {
        if (executor->broken()) env.pools.Drop(kind, workers, spec.transport);
      });
  if (!m) return;
  AddCommonCounters(state, *m);
  if (spec.counters) spec.counters(state, prep, *m);
}

// The body of startup benchmarks: one iteration starts a pool, runs one empty task per worker
// and shuts the pool down (the destructor waits for every worker to exit).
void RunStartupBenchmark(benchmark::State& state, SuiteEnv& env, const Prepared& prep,
                         const std::string& name, ExecutorKind kind, int workers) {
  ExecutorOptions options;
  options.workers = workers;
  options.task_timeout = std::chrono::seconds(env.options.task_timeout_s);
  const Batch batch{.job = &prep.job, .tasks = static_cast<std::uint32_t>(workers), .payload = {}};
  (void)TimedLoop(
      state, env, prep, name, workers,
      [&] {
        auto executor = MakeExecutor(kind, options);
        return executor->Run(batch);
      },
      [] {});
}

// The api server's own benchmarks: `clients` GETs in flight at once from one thread. They show
// the server is not the bottleneck: how much latency it adds beyond the wait it was asked for,
// and how many requests it held at once.
void RegisterServerBenchmarks(SuiteEnv& env, std::vector<std::string>& names) {
  if (!env.options.api_url.empty()) return;  // no server to measure
  for (int clients : {32, 256}) {
    const std::int64_t latency_ms = env.options.api_latency_ms;
    std::string name = "api_server/clients:" + std::to_string(clients) +
                       "/latency_ms:" + std::to_string(latency_ms);
    benchmark::RegisterBenchmark(name.c_str(), [&env, clients, latency_ms](benchmark::State& state) {
      api::Server& server = env.ApiServer();
      const std::int64_t bytes = env.options.api_bytes;
      std::vector<double> added_ms;         // as the client saw it
      std::vector<double> server_added_ms;  // how late the server started each answer
      int max_in_flight = 0;
      try {
        const auto client_ptr =
            api::MakeConcurrentClient(server.Url(latency_ms, bytes), clients, env.options.api_timeout_ms);
        ConcurrentClient& client = *client_ptr;
        (void)client.Round();  // open every connection before measuring
        (void)server.TakeAddedMs();
        for (auto _ : state) {
          server.ResetMaxInFlight();
          const std::vector<double> seconds = client.Round();
          state.PauseTiming();
          max_in_flight = std::max(max_in_flight, server.max_in_flight());
          if (client.bytes() != bytes * clients) {
            Skip(state, env, "api_server: a response body had the wrong size");
            return;
          }
          for (double s : seconds) added_ms.push_back(s * 1e3 - static_cast<double>(latency_ms));
          const std::vector<double> server_side = server.TakeAddedMs();
          server_added_ms.insert(server_added_ms.end(), server_side.begin(), server_side.end());
          state.ResumeTiming();
        }
      } catch (const std::exception& e) {
        Skip(state, env, e.what());
        return;
      }
      const double latency = static_cast<double>(latency_ms);
      state.counters["client_added_ms_median"] = Quantile(added_ms, 0.5);
      state.counters["server_delay_ms_median"] = Quantile(server_added_ms, 0.5);
      state.counters["server_delay_ms_p99"] = Quantile(server_added_ms, 0.99);
      if (latency_ms > 0) {
        state.counters["server_delay_pct_median"] = 100.0 * Quantile(server_added_ms, 0.5) / latency;
        state.counters["client_added_pct_median"] = 100.0 * Quantile(added_ms, 0.5) / latency;
      }
      state.counters["max_in_flight"] = max_in_flight;
    })->UseRealTime()->Unit(benchmark::kMillisecond);
    names.push_back(std::move(name));
  }
}

// The floor under a process pool's round trip: 8 bytes to /bin/cat and back over two pipes.
void RegisterPipePingPong(SuiteEnv& env, std::vector<std::string>& names) {
  std::string name = "roundtrip/raw_pipe";
  benchmark::RegisterBenchmark(name.c_str(), [&env](benchmark::State& state) {
    try {
      PipePingPong pingpong;
      std::uint64_t message = 0;
      for (auto _ : state) {
        if (!pingpong.Ping(++message)) {
          Skip(state, env, "roundtrip/raw_pipe: the echo did not come back");
          return;
        }
      }
    } catch (const std::exception& e) {
      Skip(state, env, e.what());
    }
  })->UseRealTime()->Unit(benchmark::kMicrosecond);
  names.push_back(std::move(name));
}

}  // namespace

std::string BenchmarkName(const CaseSpec& spec, ExecutorKind kind, int workers) {
  std::string name = spec.workload + "/" + std::string(ToString(kind));
  if (kind != ExecutorKind::kSerial) name += "/workers:" + std::to_string(workers);
  for (const auto& [key, value] : spec.args) name += "/" + key + ":" + value;
  return name;
}

Executor& PoolCache::Get(ExecutorKind kind, int workers, Transport transport) {
  if (kind != ExecutorKind::kProcesses) transport = Transport::kPipe;  // only processes use it
  auto& slot = pools_[{kind, workers, transport}];
  if (slot && slot->broken()) slot.reset();
  if (!slot) {
    ExecutorOptions options = base_;
    options.workers = workers;
    options.transport = transport;
    slot = MakeExecutor(kind, options);
  }
  return *slot;
}

void PoolCache::Drop(ExecutorKind kind, int workers, Transport transport) {
  if (kind != ExecutorKind::kProcesses) transport = Transport::kPipe;
  pools_.erase({kind, workers, transport});
}

SuiteEnv::SuiteEnv(SuiteOptions suite_options)
    : options(std::move(suite_options)), pools([this] {
        ExecutorOptions base;
        base.task_timeout = std::chrono::seconds(options.task_timeout_s);
        return base;
      }()) {}

api::Server& SuiteEnv::ApiServer() {
  if (!api_server) api_server = std::make_unique<api::Server>();
  return *api_server;
}

const std::string& SuiteEnv::MakeTempDir() {
  return temp_dirs.emplace_back(std::make_unique<TempDir>(options.io_dir))->path();
}

void SuiteEnv::Release() {
  pools.Clear();  // workers first: they may still hold files in the temp dirs
  api_server.reset();
  temp_dirs.clear();
}

void RegisterCase(SuiteEnv& env, CaseSpec spec_value, std::vector<std::string>& names) {
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
            try {
              if (!*prepared) *prepared = std::make_shared<Prepared>(spec->prepare());
            } catch (const std::exception& e) {
              Skip(state, env, e.what());
              return;
            }
            if (spec->body == Body::kStartup) {
              RunStartupBenchmark(state, env, **prepared, name, kind, workers);
            } else {
              RunBatchBenchmark(state, env, *spec, **prepared, name, kind, workers);
            }
          })
          ->UseRealTime()  // wall time is what a parallel executor buys
          ->Unit(spec->workload == "roundtrip" ? benchmark::kMicrosecond
                                                : benchmark::kMillisecond);
      names.push_back(std::move(name));
    }
  }
}

std::vector<std::string> RegisterSuite(SuiteEnv& env) {
  std::vector<std::string> names;
  for (CaseSpec& spec : MakeCases(env)) RegisterCase(env, std::move(spec), names);
  RegisterPipePingPong(env, names);
  RegisterServerBenchmarks(env, names);
  return names;
}

}  // namespace parbench
