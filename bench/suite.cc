#include "bench/suite.h"

#include <unistd.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <utility>

#include "bench/flags.h"
#include "bench/machine.h"
#include "bench/profile.h"
#include "common/resources.h"
#include "executors/mpi/session.h"

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
    const std::string problem =
        r.error.empty() ? prep.check(r.span.task, {.value = r.value, .reply = r.reply}) : r.error;
    if (!problem.empty()) return "task " + std::to_string(r.span.task) + ": " + problem;
  }
  return "";
}

// The CPUs worker ranks 1..`workers` can use over every host they run on: the union of their
// affinity CPUs per host (each rank's machine JSON), or a rank's usable CPUs where it listed
// none (the most of its host's ranks); 0 when no rank says.
int RankCpus(const mpi::Session& s, int workers) {
  std::set<std::pair<int, int>> cpus;  // (host, cpu)
  std::map<int, int> usable;           // host -> usable CPUs, for ranks that list none
  for (int r = 1; r <= workers; ++r) {
    const mpi::RankInfo& rank = s.ranks.at(static_cast<std::size_t>(r));
    const auto machine = nlohmann::json::parse(rank.machine, nullptr, false);
    if (!machine.is_object()) continue;
    const auto listed = machine.find("cpus");
    if (listed != machine.end() && listed->is_array() && !listed->empty()) {
      for (const auto& cpu : *listed) {
        if (cpu.is_number_integer()) cpus.emplace(rank.host, cpu.get<int>());
      }
    } else if (const auto n = machine.find("usable_cpus");
               n != machine.end() && n->is_number_integer()) {
      usable[rank.host] = std::max(usable[rank.host], n->get<int>());
    }
  }
  int total = static_cast<int>(cpus.size());
  for (const auto& [host, n] : usable) {
    const bool listed = std::any_of(cpus.begin(), cpus.end(),
                                    [host = host](const auto& c) { return c.first == host; });
    if (!listed) total += n;
  }
  return total;
}

void AddCounters(benchmark::State& state, const Counters& counters) {
  for (const auto& [name, value] : counters) state.counters[name] = value;
}

Counters CommonCounters(const Measurement& m) {
  return {{"tasks_per_second", static_cast<double>(m.tasks) / m.seconds()},
          {"utilization",
           static_cast<double>(m.busy_ns) / (static_cast<double>(m.wall_ns) * m.workers)}};
}

// Tasks per message over the timed iterations: 1 where the executor sends no messages (its
// workers take one task at a time).
Counters TasksPerMessage(const Measurement& m, std::uint64_t messages) {
  return {{"tasks_per_message",
           messages == 0 ? 1.0 : static_cast<double>(m.tasks) / static_cast<double>(messages)}};
}

// Adds one verified iteration to the totals.
void Account(Measurement& m, const std::vector<Result>& results, std::int64_t wall_ns) {
  for (const Result& r : results) {
    m.busy_ns += r.span.stop_ns - r.span.start_ns;
    m.value_sum += r.value;
  }
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
  env.timeline.Record(name, workers, start, stop, results, m.iterations);
  return m;
}

// Measures what a benchmark's tree of processes used and what others took from its CPUs,
// between construction and Finish(), and the peak memory of bench and of its workers.
class CpuMeter {
 public:
  // `worker_processes`: the executor's workers are child processes, whose peak memory is
  // reported too (not for threads: the children alive then are other pools' idle workers).
  CpuMeter(const SuiteEnv& env, bool worker_processes)
      : env_(env), worker_processes_(worker_processes) {
    // Peaks per benchmark: start from what each process holds now.
    (void)resources::ResetPeakRss(::getpid());
    for (int pid : LiveChildren()) (void)resources::ResetPeakRss(pid);
    harness_before_ = env.HarnessCpuNs();
    before_ = SampleCpu(env.cpu_list(), SelfClock::kLast);
  }
  // Interference, steal and switches; with `iterations` > 0 also the tree's CPU per iteration
  // and its CPU efficiency (CPU time / (wall time x usable CPUs)). With `m`, also the tree's
  // CPU time without the harness (and the harness's) into *m.
  Counters Finish(std::int64_t iterations, Measurement* m = nullptr) const {
    const CpuSample after = SampleCpu(env_.cpu_list(), SelfClock::kFirst);
    const std::int64_t harness_after = env_.HarnessCpuNs();
    const Interference i = Between(before_, after, env_.cpus());
    if (m != nullptr) {
      m->harness_cpu_ns = harness_after - harness_before_;
      m->cpu_ns = std::max<std::int64_t>(
          0, static_cast<std::int64_t>(i.tree_cpu_s * 1e9) - m->harness_cpu_ns);
    }
    Counters out = {{"interference_cpu_frac", i.other_cpu_frac}, {"steal_frac", i.steal_frac}};
    if (iterations > 0) {
      const auto n = static_cast<double>(iterations);
      const double wall_s = static_cast<double>(after.wall_ns - before_.wall_ns) / 1e9;
      out.emplace_back("involuntary_switches", i.involuntary_switches / n);
      out.emplace_back("tree_cpu_ms", i.tree_cpu_s * 1e3 / n);
      out.emplace_back("cpu_efficiency", wall_s > 0 ? i.tree_cpu_s / (wall_s * env_.cpus()) : 0);
    }
    out.emplace_back("peak_rss_parent_bytes", static_cast<double>(resources::PeakRss(::getpid())));
    if (!worker_processes_) return out;
    std::int64_t worker_peak = -1;  // the largest live worker's
    for (int pid : LiveChildren()) worker_peak = std::max(worker_peak, resources::PeakRss(pid));
    if (worker_peak >= 0)
      out.emplace_back("peak_rss_worker_bytes", static_cast<double>(worker_peak));
    return out;
  }

 private:
  const SuiteEnv& env_;
  bool worker_processes_;
  std::int64_t harness_before_ = 0;
  CpuSample before_;
};

// One untimed iteration before the timed ones: first-touch page faults, a pool's first
// frames, cold caches and lazily loaded libraries land here, not in the first measurement.
// Once per benchmark (`warmed` remembers it), not once per call: Google Benchmark calls a
// benchmark for each sizing trial and each repetition. Returns "" or why it failed.
template <typename Iteration>
std::string WarmUp(const Prepared& prep, bool& warmed, Iteration iteration) {
  if (warmed) return "";
  warmed = true;
  try {
    return Verify(prep, iteration());
  } catch (const std::exception& e) {
    return e.what();
  }
}

// What one executor benchmark runs: the family, the point, the executor and its workers.
struct Target {
  const Family* family;
  Point point;
  const ExecutorInfo* executor;
  int workers;
  std::string name;
  PoolChoice choice;  // what the point asks of the executor (transport, ...)
  std::shared_ptr<bool> warmed = std::make_shared<bool>(false);  // its warm-up has run
};

// The body of every batch benchmark: the pool (from the cache) and the inputs are ready before
// the timed loop; one iteration runs all tasks once.
void RunBatch(benchmark::State& state, SuiteEnv& env, const Target& t, const Prepared& prep) {
  Executor* executor = nullptr;
  try {
    executor = &env.pools.Get(t.executor->name, t.workers, t.choice);
  } catch (const std::exception& e) {
    Skip(state, env, e.what());
    return;
  }
  const Batch batch{
      .job = &prep.job, .tasks = prep.tasks, .payload = prep.payload, .handoff = prep.handoff};
  const auto drop_if_broken = [&] {
    if (executor->broken()) env.pools.Drop(t.executor->name, t.workers, t.choice);
  };
  if (std::string problem = WarmUp(prep, *t.warmed, [&] { return executor->Run(batch); });
      !problem.empty()) {
    Skip(state, env, "warm-up: " + problem);
    drop_if_broken();
    return;
  }
  const CpuMeter meter(env, t.executor->traits.starts_processes);
  const std::uint64_t messages_before = executor->task_messages();
  auto m = TimedLoop(
      state, env, prep, t.name, t.workers, [&] { return executor->Run(batch); }, drop_if_broken);
  if (!m) return;
  AddCounters(state, CommonCounters(*m));
  AddCounters(state, TasksPerMessage(*m, executor->task_messages() - messages_before));
  AddCounters(state, meter.Finish(m->iterations, &*m));
  if (t.family->counters) AddCounters(state, t.family->counters(t.point, prep, *m, env));
}

// The body of startup benchmarks: one iteration starts a pool, runs one task per worker and
// shuts the pool down (the destructor waits for every worker to exit).
void RunStartup(benchmark::State& state, SuiteEnv& env, const Target& t, const Prepared& prep) {
  ExecutorOptions options;
  options.workers = t.workers;
  options.transport = t.choice.transport;
  options.dispatch = t.choice.dispatch;
  options.task_timeout = std::chrono::seconds(env.options().Int("task_timeout_s"));
  const Batch batch{
      .job = &prep.job, .tasks = static_cast<std::uint32_t>(t.workers), .payload = {}};
  std::uint64_t messages = 0;
  const auto start_run_stop = [&] {
    const std::unique_ptr<Executor> executor = MakeExecutor(t.executor->name, options);
    std::vector<Result> results = executor->Run(batch);
    messages += executor->task_messages();
    return results;
  };
  if (std::string problem = WarmUp(prep, *t.warmed, start_run_stop); !problem.empty()) {
    Skip(state, env, "warm-up: " + problem);
    return;
  }
  messages = 0;
  const CpuMeter meter(env, /*worker_processes=*/false);  // reaped by the time it reads them
  const auto m = TimedLoop(state, env, prep, t.name, t.workers, start_run_stop, [] {});
  if (!m) return;
  AddCounters(state, TasksPerMessage(*m, messages));
  AddCounters(state, meter.Finish(m->iterations));
  if (t.family->counters) AddCounters(state, t.family->counters(t.point, prep, *m, env));
}

// A probe benchmark: Iterate() timed, AfterIteration() with the timer paused when the probe
// asks for it.
void RunProbe(benchmark::State& state, SuiteEnv& env, Probe& probe) {
  const CpuMeter meter(env, /*worker_processes=*/false);
  for (auto _ : state) {
    if (std::string problem = probe.Iterate(); !problem.empty()) {
      Skip(state, env, problem);
      return;
    }
    if (probe.checks_between_iterations()) {
      state.PauseTiming();
      if (std::string problem = probe.AfterIteration(); !problem.empty()) {
        Skip(state, env, problem);
        return;
      }
      state.ResumeTiming();
    }
  }
  AddCounters(state, probe.Finish());
  AddCounters(state, meter.Finish(0));
}

benchmark::TimeUnit Unit(std::string_view unit) {
  if (unit == "ns") return benchmark::kNanosecond;
  if (unit == "us") return benchmark::kMicrosecond;
  if (unit == "s") return benchmark::kSecond;
  return benchmark::kMillisecond;
}

template <typename Body>
void Register(SuiteEnv& env, Registered entry, std::string_view unit, Body body) {
  benchmark::RegisterBenchmark(entry.name.c_str(),
                               [&env, body = std::move(body)](benchmark::State& state) {
                                 try {
                                   body(state);
                                 } catch (const std::exception& e) {
                                   Skip(state, env, e.what());  // e.g. prepare() failed
                                 }
                               })
      ->UseRealTime()  // wall time is what a parallel executor buys
      ->Unit(Unit(unit));
  env.registered.push_back(std::move(entry));
}

// The axes as `executor` sees them around one point of the executor-independent axes: those
// fixed to the point's value, scoped axes with all values in scope and "" (left out) outside.
std::vector<Axis> AxesFor(const std::vector<Axis>& axes, const Point& general,
                          const ExecutorTraits& traits) {
  std::vector<Axis> out;
  for (const Axis& axis : axes) {
    if (axis.scope == Scope::kEveryExecutor) {
      out.push_back({axis.name, {general.Get(axis.name)}});
    } else {
      out.push_back(
          {axis.name, InScope(axis.scope, traits) ? axis.values : std::vector<std::string>{""}});
    }
  }
  return out;
}

// The worker counts `executor` runs `family` at: one for a single-worker executor; else the
// family's own counts, or --workers when given, or the executor's own defaults, or --workers'
// default; never above the executor's limit.
std::vector<int> WorkerCounts(const Family& family, const ExecutorInfo& executor,
                              const SuiteEnv& env) {
  if (executor.traits.single_worker) return {1};
  const SuiteWorkers suite = WorkersFlag(env.options());
  std::vector<int> counts = suite.counts;
  if (family.workers) {
    counts = family.workers(suite, env.cpus());
  } else if (!suite.given && !executor.default_workers.empty()) {
    counts = executor.default_workers;
  } else if (!suite.given && (family.waits || executor.traits.remote_workers)) {
    // Tasks that wait, or workers on other hosts: counts above the usable CPUs say something,
    // so the quick profile keeps the full profile's.
    counts = FullWorkerCounts(env.cpus());
  }
  return WorkerCountsFor(executor, std::move(counts));
}

void RegisterExecutorPoints(SuiteEnv& env, const Family& family, const std::vector<Axis>& axes) {
  std::vector<Axis> general;
  for (const Axis& axis : axes) {
    if (axis.scope == Scope::kEveryExecutor) general.push_back(axis);
  }
  const std::string family_name(family.display_name());
  for (const Point& g : Cartesian(general)) {
    for (const ExecutorInfo* executor : ExecutorsFor(family, env.options())) {
      const std::vector<int> counts = WorkerCounts(family, *executor, env);
      for (const Point& point : Cartesian(AxesFor(axes, g, executor->traits))) {
        if (family.LeavesOut(point)) continue;
        for (int workers : counts) {
          Target t{&family,
                   point,
                   executor,
                   workers,
                   BenchmarkName(family_name, *executor, workers, point),
                   ChoiceOf(axes, point)};
          Register(env, {t.name, family_name, std::string(executor->name), workers, point},
                   family.time_unit, [&env, t](benchmark::State& state) {
                     const Prepared& prep = env.Prepare(*t.family, t.point);
                     if (t.family->body == Body::kStartup) {
                       RunStartup(state, env, t, prep);
                     } else {
                       RunBatch(state, env, t, prep);
                     }
                   });
        }
      }
    }
  }
}

}  // namespace

Executor& PoolCache::Get(std::string_view executor, int workers, PoolChoice choice) {
  auto& slot = pools_[{std::string(executor), workers, choice}];
  if (slot && slot->broken()) slot.reset();
  if (!slot) {
    ExecutorOptions options = base_;
    options.workers = workers;
    options.transport = choice.transport;
    options.dispatch = choice.dispatch;
    slot = MakeExecutor(executor, options);
  }
  return *slot;
}

void PoolCache::Drop(std::string_view executor, int workers, PoolChoice choice) {
  pools_.erase({std::string(executor), workers, choice});
}

bool InScope(Scope scope, const ExecutorTraits& traits) {
  switch (scope) {
    case Scope::kEveryExecutor:
      return true;
    case Scope::kStartsProcesses:
      return traits.starts_processes;
    case Scope::kHasTransport:
    case Scope::kTransport:
      return traits.transport_axis;
    case Scope::kRemoteWorkers:
      return traits.remote_workers;
    case Scope::kThreadWorkers:
      return traits.shares_memory && !traits.single_worker && !traits.async;
    case Scope::kDispatch:
      return traits.sends_messages;
  }
  return false;
}

PoolChoice ChoiceOf(const std::vector<Axis>& axes, const Point& point) {
  PoolChoice out;
  for (const Axis& axis : axes) {
    const std::string& value = point.Get(axis.name);
    if (axis.scope == Scope::kTransport && value == ToString(Transport::kShm)) {
      out.transport = Transport::kShm;
    } else if (axis.scope == Scope::kDispatch && value == ToString(Dispatch::kPerTask)) {
      out.dispatch = Dispatch::kPerTask;
    }
  }
  return out;
}

SuiteEnv::SuiteEnv(Options options, int cpus, std::vector<int> cpu_list)
    : pools([&options] {
        ExecutorOptions base;
        base.task_timeout = std::chrono::seconds(options.Int("task_timeout_s"));
        return base;
      }()),
      options_(std::move(options)),
      cpus_(cpus),
      cpu_list_(cpu_list.empty() ? AffinityCpus() : std::move(cpu_list)) {}

SuiteEnv::~SuiteEnv() { Release(); }

int SuiteEnv::EfficiencyCpus(const std::string& executor, int workers) const {
  int usable = cpus_;
  const ExecutorInfo* info = FindExecutor(executor);
  const mpi::Session* session = mpi::Current();
  if (info != nullptr && info->traits.remote_workers && session != nullptr &&
      workers < session->size && session->ranks.size() == static_cast<std::size_t>(session->size)) {
    if (const int across = RankCpus(*session, workers); across > 0) usable = across;
  }
  return std::max(1, std::min(workers, usable));
}

const std::string& SuiteEnv::MakeTempDir() {
  return temp_dirs_.emplace_back(std::make_unique<TempDir>(options_.String("io_dir")))->path();
}

std::string SuiteEnv::LoopbackHttpUrl(std::int64_t latency_ms, std::int64_t bytes) {
  return ApiServer().Url(latency_ms, bytes);
}

std::vector<double> SuiteEnv::TakeServerDelaysMs() {
  return api_server_ ? api_server_->TakeAddedMs() : std::vector<double>{};
}

std::int64_t SuiteEnv::HarnessCpuNs() const { return api_server_ ? api_server_->cpu_ns() : 0; }

api::Server& SuiteEnv::ApiServer() {
  if (!api_server_) api_server_ = std::make_unique<api::Server>();
  return *api_server_;
}

const Prepared& SuiteEnv::Prepare(const Family& family, const Point& point) {
  std::pair<std::string, Point> key{std::string(family.display_name()), point};
  // Only the point being measured keeps its inputs: the previous point's payloads (and
  // startup's 1 GiB) are freed before the next is built, so the parent holds one point's
  // worth at a time. Benchmarks of one point run one after another; a point met again is
  // simply prepared again.
  if (prepared_.size() == 1 && prepared_.begin()->first != key) prepared_.clear();
  auto& slot = prepared_[std::move(key)];
  if (!slot) slot = std::make_shared<const Prepared>(family.prepare(point, *this));
  return *slot;
}

void SuiteEnv::Release() {
  pools.Clear();  // workers first: they may still hold files in the temp dirs
  prepared_.clear();
  api_server_.reset();
  temp_dirs_.clear();
}

std::string BenchmarkName(std::string_view family, const ExecutorInfo& executor, int workers,
                          const Point& point) {
  std::string name = std::string(family) + "/" + std::string(executor.name);
  if (!executor.traits.single_worker) name += "/workers:" + std::to_string(workers);
  return name + point.Suffix();
}

std::vector<const ExecutorInfo*> ExecutorsFor(const Family& family, const Options& options) {
  std::vector<const ExecutorInfo*> out;
  if (family.under == Under::kNoExecutor) return out;
  const std::vector<const ExecutorInfo*> selected = ParseExecutorList(options.String("executors"));
  for (const ExecutorInfo& e : Executors()) {
    if (std::find(selected.begin(), selected.end(), &e) == selected.end()) continue;
    if (family.under == Under::kBaselineOnly && e.name != kBaselineExecutor) continue;
    const auto& joins = e.default_families;
    if (!options.WasSet("executors") && !joins.empty() &&
        std::find(joins.begin(), joins.end(), family.display_name()) == joins.end()) {
      continue;  // a peer outside the families it joins by default
    }
    if (e.traits.async &&
        (family.workload == nullptr || family.workload->make_async_runner == nullptr)) {
      continue;  // an event loop needs the workload's asynchronous form
    }
    out.push_back(&e);
  }
  return out;
}

void RegisterFamilyBenchmarks(SuiteEnv& env, const Family& family) {
  const std::vector<Axis> axes = ProfileAxes(
      family.axes ? family.axes(env.options(), env.cpus()) : std::vector<Axis>{}, env.options());
  const std::string family_name(family.display_name());
  if (family.under == Under::kNoExecutor) {
    for (const Point& point : Cartesian(axes)) {
      std::string name = family_name + point.Suffix();
      Register(env, {name, family_name, "", 1, point}, family.time_unit,
               [&env, &family, point](benchmark::State& state) {
                 const std::unique_ptr<Probe> probe = family.probe(point, env);
                 RunProbe(state, env, *probe);
               });
    }
  } else {
    RegisterExecutorPoints(env, family, axes);
  }
  const std::vector<const ExecutorInfo*> executors = ExecutorsFor(family, env.options());
  for (const Reference& ref : References()) {
    if (ref.family != family_name) continue;
    // A floor with nothing of this run to hold against it is left out (raw_mpi without mpirun).
    if (std::none_of(executors.begin(), executors.end(), [&ref](const ExecutorInfo* e) {
          return InScope(ref.compare_to, e->traits);
        })) {
      continue;
    }
    const std::vector<Axis> ref_axes = ProfileAxes(
        ref.axes ? ref.axes(env.options(), env.cpus()) : std::vector<Axis>{}, env.options());
    for (const Point& point : Cartesian(ref_axes)) {
      Register(env,
               {family_name + "/" + std::string(ref.name) + point.Suffix(), family_name,
                std::string(ref.name), 1, point},
               ref.time_unit, [&env, &ref, point](benchmark::State& state) {
                 const std::unique_ptr<Probe> probe = ref.probe(point, env);
                 RunProbe(state, env, *probe);
               });
    }
  }
}

std::vector<std::string> RegisterSuite(SuiteEnv& env) {
  for (const Family& family : Families()) RegisterFamilyBenchmarks(env, family);
  std::vector<std::string> names;
  for (const Registered& r : env.registered) names.push_back(r.name);
  return names;
}

}  // namespace parbench
