// The family table: one declarative row per benchmark family.
//
// A family is data: its name (taken from its workload), named axes, which executors it runs
// under, the flags it owns, and its prepare / check / counters functions. bench registers the
// benchmarks, parses and documents the flags, writes the context and the run's manifest by
// looping over this table; nothing is registered outside it. Rows are plain code (no executor,
// no Google Benchmark), so a test can call prepare() and check() directly.
//
// A row registers itself from its workload's .cc file:
//   const bool kRegistered = RegisterFamily({.workload = &kWorkload, ...});
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "workloads/options.h"
#include "workloads/workload.h"

namespace parbench {

// Which executors an axis (or a reference) is about. Axes outside their scope are left out of
// the executor's benchmarks, and the baseline is found without them.
enum class Scope {
  kEveryExecutor,
  kStartsProcesses,  // executors whose workers are processes it starts (parent_mem)
  kHasTransport,     // executors with a transport, pipe or shared memory (processes)
  kTransport,        // the same executors; the axis's value picks the transport ("" or "pipe",
                     // "shm"): transfer's transport axis
  kDispatch,         // executors that send tasks in messages (processes, mpi); the axis's value
                     // picks the dispatch mode ("" or "adaptive", "per_task")
  kRemoteWorkers,    // executors whose workers may run on other hosts (mpi)
  kThreadWorkers,    // workers are threads beside the caller, which may run tasks too (threads,
                     // tbb, openmp): round trip kind inline | handoff
};

// A named parameter of a family and its values, as they appear in benchmark names
// ("mode" with "buffered", "durable"). The value "" means the axis is left out of the name:
// that point is the family's plain case (e.g. transport pipe, which is not printed).
struct Axis {
  std::string name{};
  std::vector<std::string> values{};
  Scope scope = Scope::kEveryExecutor;
  // The values bench's quick profile keeps (empty: all of them); the full profile runs every
  // value. Each must be one of `values`.
  std::vector<std::string> quick{};
  // What the value "" stands for, for the manifest and the docs ("pipe", "adaptive"); empty
  // when "" simply means the axis does not apply.
  std::string plain{};
};

// The axis values of one benchmark, in axis order.
class Point {
 public:
  Point() = default;
  explicit Point(std::vector<std::pair<std::string, std::string>> values)
      : values_(std::move(values)) {}
  // The value of `axis` ("" when the benchmark leaves it out); throws std::logic_error when
  // the family has no such axis.
  [[nodiscard]] const std::string& Get(std::string_view axis) const;
  // The value as an integer (std::logic_error when it is not one).
  [[nodiscard]] std::int64_t Int(std::string_view axis) const;
  // "/mode:durable/payload:local": the name suffix (values "" are left out).
  [[nodiscard]] std::string Suffix() const;
  [[nodiscard]] const std::vector<std::pair<std::string, std::string>>& values() const {
    return values_;
  }
  bool operator<(const Point& other) const { return values_ < other.values_; }
  bool operator==(const Point& other) const { return values_ == other.values_; }

 private:
  std::vector<std::pair<std::string, std::string>> values_{};
};

// What one benchmark run needs, built once per point outside any timed region.
struct Prepared {
  Job job{};
  std::vector<std::byte> payload{};  // given to every task (empty: none)
  std::uint32_t tasks = 0;           // per iteration (strong scaling: fixed work)
  // Checks one task's output; returns "" when it proves the work was done, else why not.
  std::function<std::string(std::uint32_t task, const TaskOutput& output)> check{};
  // Anything the point keeps alive while it runs (startup's 1 GiB of parent memory).
  std::shared_ptr<void> hold = nullptr;
  // No task may run on the calling thread (Batch::handoff): roundtrip's kind:handoff.
  bool handoff = false;
};

// The totals of a benchmark's timed iterations.
struct Measurement {
  int workers = 1;
  std::int64_t iterations = 0;
  std::int64_t tasks = 0;       // tasks run in all iterations
  std::int64_t wall_ns = 0;     // summed wall time of the iterations
  std::int64_t busy_ns = 0;     // summed durations of every task
  std::uint64_t value_sum = 0;  // summed task values (a byte count, for api: bytes received)
  // CPU time of bench's whole process tree (every thread, every worker process) while the
  // iterations ran, without the suite's loopback server: it runs in bench's process but is
  // harness, not the thing measured. -1 when not measured.
  std::int64_t cpu_ns = -1;
  std::int64_t harness_cpu_ns = 0;  // the loopback server's own CPU time in that span
  [[nodiscard]] double seconds() const { return static_cast<double>(wall_ns) / 1e9; }
};

// The suite's worker counts as a run has them (bench's --workers), for a family that picks its
// own.
struct SuiteWorkers {
  std::vector<int> counts{};
  bool given = false;  // the user chose them (not the default)
};

// Counters a family reports, name -> value (Google Benchmark counters, made by bench).
using Counters = std::vector<std::pair<std::string, double>>;

// What a counter means, for the manifest: its unit and which way is better.
struct CounterSpec {
  std::string_view name{};
  std::string_view unit{};  // "B/s", "ms", "" for a plain ratio
  bool bigger_is_better = true;
};

// What bench offers a family while it prepares and reports.
class Fixtures {
 public:
  virtual ~Fixtures() = default;
  [[nodiscard]] virtual const Options& options() const = 0;
  // The CPUs this run can use (the default worker counts follow it).
  [[nodiscard]] virtual int cpus() const = 0;
  // A new private directory under --io_dir, removed when the run ends (even after a crash of
  // a worker).
  [[nodiscard]] virtual const std::string& MakeTempDir() = 0;
  // The URL of the suite's loopback HTTP server (started on first use): it waits
  // `latency_ms`, then sends `bytes` of body.
  [[nodiscard]] virtual std::string LoopbackHttpUrl(std::int64_t latency_ms,
                                                    std::int64_t bytes) = 0;
  // How late the loopback server started each answer since the last call, in ms.
  [[nodiscard]] virtual std::vector<double> TakeServerDelaysMs() = 0;
};

// A measurement that is not a batch of tasks under an executor (the loopback server's own
// load, a raw pipe ping-pong): bench times Iterate() and reports Finish().
class Probe {
 public:
  virtual ~Probe() = default;
  // One timed iteration; returns "" or why it failed (the benchmark then fails).
  virtual std::string Iterate() = 0;
  // True when AfterIteration() has work to do (pausing the timer costs time of its own, so
  // a probe of microsecond iterations does without).
  [[nodiscard]] virtual bool checks_between_iterations() const { return false; }
  // Untimed, after each iteration: checks and bookkeeping; returns "" or why it failed.
  virtual std::string AfterIteration() { return ""; }
  // The counters over all iterations.
  virtual Counters Finish() { return {}; }
};

// Which executors a family runs under.
enum class Under {
  kEveryExecutor,  // every executor given by --executors (that can run its workload)
  kBaselineOnly,   // only the baseline executor (cpu_scaling: a property of one task)
  kNoExecutor,     // none: the family is a Probe (api_server)
};

// How a batch family spends one iteration.
enum class Body {
  kBatch,    // the cached pool runs all tasks once (every family but startup)
  kStartup,  // start a pool, run one task per worker, shut the pool down
};

// How a family's results are read.
enum class Reading {
  kSpeedup,  // its time against the baseline's for the same work (cpu, io, api, ...)
  kCost,     // what one unit of work costs, in its own unit, against the floor (overhead, ...)
};

// What a cost family's tables show per executor.
struct Cost {
  std::string_view per{};      // "per task", "per round trip", "per start", "throughput"
  std::string_view counter{};  // the counter that holds it; "": the time per iteration
};

// One row of the family table.
struct Family {
  // The tasks it runs (nullptr for a probe family). Workers find it by its name.
  const Workload* workload = nullptr;
  // The benchmark name's first part; "" means the workload's name.
  std::string_view name{};
  // One line for --help and the manifest; "" means the workload's summary.
  std::string_view summary{};
  // The flags it owns (name, range, default, help); their values reach prepare() through
  // Fixtures::options().
  std::vector<FlagSpec> flags{};
  // Its axes for the parsed flags and the usable CPUs (none: one point).
  std::function<std::vector<Axis>(const Options& options, int cpus)> axes{};
  // Combinations of axis values it does not measure: a point whose values match every
  // (axis, value) pair of one entry is left out of its axes' product (one that would take
  // minutes and answer nothing). The manifest lists them.
  std::vector<std::vector<std::pair<std::string, std::string>>> left_out{};
  // Its worker counts, when they differ from the suite's (nullptr: the suite's).
  std::function<std::vector<int>(const SuiteWorkers& suite, int cpus)> workers{};
  Under under = Under::kEveryExecutor;
  Body body = Body::kBatch;
  // Google Benchmark's time unit for its rows: "ns", "us", "ms" or "s".
  std::string_view time_unit = "ms";
  // Builds the inputs of one point (Under::kEveryExecutor / kBaselineOnly). Throws on failure.
  std::function<Prepared(const Point& point, Fixtures& fixtures)> prepare{};
  // The family's own counters (optional).
  std::function<Counters(const Point& point, const Prepared& prepared, const Measurement& m,
                         Fixtures& fixtures)>
      counters{};
  std::vector<CounterSpec> counter_specs{};
  // Under::kNoExecutor: makes the probe of one point.
  std::function<std::unique_ptr<Probe>(const Point& point, Fixtures& fixtures)> probe{};
  // Checks the parsed flags together, before anything runs (optional): throws FlagError (one
  // line) for what cannot work, e.g. a --py_task whose module does not import.
  std::function<void(const Options& options)> validate{};
  // Its tasks mostly wait (api, io): more workers than CPUs can pay off, so bench's quick
  // profile keeps the worker counts above the usable CPUs for it.
  bool waits = false;
  // Read as a speedup, or (overhead, roundtrip, transfer, startup) as a cost: `cost` says what.
  Reading reading = Reading::kSpeedup;
  Cost cost{};
  // The counters bench's console shows in this family's rows (every counter goes to the JSON).
  std::vector<std::string_view> shown_counters{};
  // The context keys it adds to the run's context, each written as parbench_KEY (optional):
  // the versions of the libraries its workload uses. Called only for a run that measures the
  // family, so a library's module is loaded only then.
  std::function<std::vector<std::pair<std::string, std::string>>()> context{};

  // True when `point` matches an entry of left_out.
  [[nodiscard]] bool LeavesOut(const Point& point) const;
  // The name and summary with the workload's filled in.
  [[nodiscard]] std::string_view display_name() const;
  [[nodiscard]] std::string_view display_summary() const;
};

// A floor to hold an executor against, measured in the same run: `FAMILY/NAME`
// (roundtrip/raw_pipe: a bare pipe ping-pong under the process pool's round trip).
struct Reference {
  std::string_view family{};  // the family it belongs to
  std::string_view name{};
  std::string_view summary{};
  // The executors it is a floor for; it is registered only when one of them runs the family.
  Scope compare_to = Scope::kEveryExecutor;
  std::string_view time_unit = "us";
  // Its axes (none: one point, `FAMILY/NAME`), e.g. transfer/raw_mpi/size:16MiB.
  std::function<std::vector<Axis>(const Options& options, int cpus)> axes{};
  std::function<std::unique_ptr<Probe>(const Point& point, Fixtures& fixtures)> probe{};
};

// Adds a row; throws std::logic_error for a duplicate family name or a flag another row owns.
// Also registers the row's workload (if not yet known) so that process workers find it.
// Returns true, so a row can register itself in a static initializer.
bool RegisterFamily(Family family);
// Adds a reference to a family (std::logic_error for a duplicate). Returns true.
bool RegisterReference(Reference reference);

// Every family, sorted by name (the run order and the tables' order). A list: registering a
// row later (a test's) leaves references to the others valid.
[[nodiscard]] const std::list<Family>& Families();
// Every reference, sorted by family and name.
[[nodiscard]] const std::list<Reference>& References();

// Every combination of `axes`' values, in order (the last axis varies fastest). No axes: one
// empty point.
[[nodiscard]] std::vector<Point> Cartesian(const std::vector<Axis>& axes);

// The dispatch axis of a family whose tasks are many and short (Scope::kDispatch): "" is the
// adaptive mode (left out of the names, as before the axis), "per_task" one task per message.
[[nodiscard]] Axis DispatchAxis();

// A check that every task returned `expected` (`what` follows the value in the message,
// e.g. " bytes").
[[nodiscard]] std::function<std::string(std::uint32_t, const TaskOutput&)> ExpectValue(
    std::uint64_t expected, std::string what = "");

// "4KiB", "16MiB", "1GiB", "1000B": a byte count as a benchmark name shows it.
[[nodiscard]] std::string FormatBytes(std::int64_t bytes);
// The inverse of FormatBytes ("16MiB" -> 16777216); std::logic_error for anything else.
[[nodiscard]] std::int64_t ParseBytes(std::string_view text);

}  // namespace parbench
