#include "workloads/cpu.h"

#include "workloads/family.h"

namespace parbench::cpu {
namespace {

class Runner final : public TaskRunner {
 public:
  explicit Runner(const Config& config)
      : steps_(static_cast<std::uint64_t>(config.GetInt("steps"))) {
    if (config.GetInt("steps") < 1) throw WorkloadError("cpu: steps must be at least 1");
  }
  TaskOutput Run(std::uint32_t /*index*/, std::span<const std::byte> /*payload*/) override {
    return {.value = Spin(steps_, kSeed), .reply = {}};
  }

 private:
  std::uint64_t steps_;
};

}  // namespace

std::uint64_t Spin(std::uint64_t steps, std::uint64_t seed) {
  std::uint64_t x = seed | 1;  // xorshift must not start at 0
  std::uint64_t sum = 0;
  for (std::uint64_t i = 0; i < steps; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    sum += x;
  }
  return sum;
}

Config MakeConfig(std::int64_t steps) { return Config().Set("steps", steps); }

constexpr Workload kWorkload = {
    .name = "cpu",
    .summary = "an integer loop of --cpu_n steps per task (xorshift64, cannot be folded)",
    .make_runner = [](const Config& config) -> std::unique_ptr<TaskRunner> {
      return std::make_unique<Runner>(config);
    },
};

namespace {

// Every cpu task starts from the same seed, so one reference run, outside any timed region,
// checks every task.
Prepared PrepareSteps(std::int64_t steps, std::uint32_t tasks) {
  return {.job = {"cpu", MakeConfig(steps)},
          .payload = {},
          .tasks = tasks,
          .check = ExpectValue(Spin(static_cast<std::uint64_t>(steps), kSeed))};
}

const bool kCpu = RegisterFamily({
    .workload = &kWorkload,
    .flags = {{.name = "cpu_n",
               .lo = 1,
               .hi = 100'000'000'000,
               .default_value = "12000000",
               .help = "cpu: loop steps per task (about 20 ms here)"}},
    .prepare =
        [](const Point&, Fixtures& f) {
          return PrepareSteps(f.options().Int("cpu_n"),
                              static_cast<std::uint32_t>(f.options().Int("tasks")));
        },
    .shown_counters = {"utilization"},
});

// One task of n and of 2n steps under the baseline: its time must double, or the loop was
// folded.
const bool kCpuScaling = RegisterFamily({
    .workload = &kWorkload,
    .name = "cpu_scaling",
    .summary = "one cpu task of --cpu_n and of twice as many steps: the time must double",
    .axes =
        [](const Options& o, int) {
          const std::int64_t n = o.Int("cpu_n");
          return std::vector<Axis>{{"steps", {std::to_string(n), std::to_string(2 * n)}}};
        },
    .under = Under::kBaselineOnly,
    .prepare = [](const Point& point, Fixtures&) { return PrepareSteps(point.Int("steps"), 1); },
    .counters =
        [](const Point& point, const Prepared&, const Measurement& m, Fixtures&) {
          return Counters{
              {"ns_per_step", static_cast<double>(m.wall_ns) / static_cast<double>(m.iterations) /
                                  static_cast<double>(point.Int("steps"))}};
        },
    .counter_specs = {{"ns_per_step", "ns", false}},
    .shown_counters = {"ns_per_step"},
});

}  // namespace
}  // namespace parbench::cpu
