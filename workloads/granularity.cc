#include "workloads/granularity.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>

#include "workloads/cpu.h"
#include "workloads/family.h"

namespace parbench::granularity {
namespace {

// Nanoseconds one Spin(steps) takes on this thread, by the steady clock.
double TimeSpin(std::uint64_t steps) {
  const auto start = std::chrono::steady_clock::now();
  volatile std::uint64_t sink = cpu::Spin(steps, cpu::kSeed);  // keeps the loop observable
  (void)sink;
  return static_cast<double>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
          .count());
}

double Calibrate() {
  constexpr double kTrialNs = 10e6;  // long enough that the clock's cost is noise
  std::uint64_t steps = 1 << 16;
  while (TimeSpin(steps) < kTrialNs / 4) steps *= 2;  // find the scale first
  double best = 0;
  for (int trial = 0; trial < 5; ++trial) {  // the fastest trial is the least disturbed
    best = std::max(best, static_cast<double>(steps) / TimeSpin(steps));
  }
  return best;
}

Prepared Prepare(const Point& point, Fixtures& f) {
  const std::int64_t ns = ParseDuration(point.Get("task"));
  const std::int64_t steps = StepsFor(ns, StepsPerNs());
  const std::string& payload = point.Get("payload");
  const std::int64_t tasks = TasksFor(ns, f.options().Int("granularity_work_ms") * 1'000'000,
                                      f.options().Int("granularity_min_tasks"));
  return {.job = {"cpu", cpu::MakeConfig(steps)},
          // Shipped with every task (the task ignores it): what moving arguments costs.
          .payload = std::vector<std::byte>(
              payload.empty() ? 0 : static_cast<std::size_t>(ParseBytes(payload))),
          .tasks = static_cast<std::uint32_t>(tasks),
          .check = ExpectValue(cpu::Spin(static_cast<std::uint64_t>(steps), cpu::kSeed))};
}

Counters Report(const Point& point, const Prepared&, const Measurement& m, Fixtures&) {
  return {{"task_ns_nominal", static_cast<double>(ParseDuration(point.Get("task")))},
          // As the workers' spans measured it (includes two clock reads per task).
          {"task_ns", static_cast<double>(m.busy_ns) / static_cast<double>(m.tasks)},
          {"steps_per_ns", StepsPerNs()}};
}

const bool kRegistered = RegisterFamily({
    .workload = &cpu::kWorkload,
    .name = "granularity",
    .summary = "cpu tasks calibrated to last 10 ns .. 10 ms (log axis): from which task size "
               "does each executor pay off (METG)?",
    .flags = {{.name = "granularity_work_ms",
               .lo = 1,
               .hi = 60'000,
               .default_value = "10",
               .help = "granularity: serial work per iteration (tasks = this / task duration)"},
              {.name = "granularity_min_tasks",
               .lo = 1,
               .hi = kMaxTasks,
               .default_value = "32",
               .help = "granularity: the fewest tasks per iteration (long tasks)"}},
    .axes =
        [](const Options&, int) {
          Axis task{"task", {}};
          for (std::int64_t ns : Durations()) task.values.push_back(FormatDuration(ns));
          // Quick: every other duration (a decade apart), which still brackets each METG.
          for (std::size_t i = 0; i < task.values.size(); i += 2)
            task.quick.push_back(task.values[i]);
          return std::vector<Axis>{
              task,
              {"payload", {"", "64KiB", "1MiB"}, Scope::kHasTransport, {"", "1MiB"}},
              DispatchAxis()};
        },
    // One message per task with a payload would ship it once per task: at 100 ns, 100,000
    // copies of 1 MiB per iteration (minutes per point). per_task is measured without one.
    .left_out = {{{"dispatch", "per_task"}, {"payload", "64KiB"}},
                 {{"dispatch", "per_task"}, {"payload", "1MiB"}}},
    // Every executor at the CPU count, unless the user chose the worker counts.
    .workers = [](const SuiteWorkers& suite,
                  int cpus) { return suite.given ? suite.counts : std::vector<int>{cpus}; },
    .prepare = Prepare,
    .counters = Report,
    .counter_specs = {{"task_ns_nominal", "ns", false},
                      {"task_ns", "ns", false},
                      {"steps_per_ns", "1/ns", true}},
    .shown_counters = {"task_ns"},
});

}  // namespace

const std::vector<std::int64_t>& Durations() {
  static const std::vector<std::int64_t> durations = {
      10,     30,      100,     300,       1'000,     3'000,     10'000,
      30'000, 100'000, 300'000, 1'000'000, 3'000'000, 10'000'000};
  return durations;
}

std::string FormatDuration(std::int64_t ns) {
  if (ns >= 1'000'000 && ns % 1'000'000 == 0) return std::to_string(ns / 1'000'000) + "ms";
  if (ns >= 1'000 && ns % 1'000 == 0) return std::to_string(ns / 1'000) + "us";
  return std::to_string(ns) + "ns";
}

std::int64_t ParseDuration(const std::string& text) {
  for (auto [unit, scale] : {std::pair{"ms", 1'000'000}, {"us", 1'000}, {"ns", 1}}) {
    const std::string_view suffix(unit);
    if (text.size() > suffix.size() && text.ends_with(suffix)) {
      const std::string digits = text.substr(0, text.size() - suffix.size());
      if (digits.find_first_not_of("0123456789") == std::string::npos) {
        return std::stoll(digits) * scale;
      }
    }
  }
  throw std::logic_error("not a task duration: '" + text + "'");
}

double StepsPerNs() {
  static const double rate = Calibrate();  // thread-safe, once per process
  return rate;
}

std::int64_t StepsFor(std::int64_t ns, double steps_per_ns) {
  return std::max<std::int64_t>(1, std::llround(static_cast<double>(ns) * steps_per_ns));
}

std::int64_t TasksFor(std::int64_t ns, std::int64_t work_ns, std::int64_t min_tasks) {
  return std::clamp((work_ns + ns - 1) / ns, min_tasks, std::max(min_tasks, kMaxTasks));
}

}  // namespace parbench::granularity
