// The case table: every workload variant the suite measures, with its inputs and checks.
#include "bench/suite.h"
#include "workloads/cpu.h"

namespace parbench {
namespace {

// A check that every task returned `expected`.
std::function<std::string(const Result&)> ExpectValue(std::uint64_t expected) {
  return [expected](const Result& r) -> std::string {
    if (r.value == expected) return "";
    return "returned " + std::to_string(r.value) + ", expected " + std::to_string(expected);
  };
}

CaseSpec CpuCase(const SuiteOptions& options) {
  return {.workload = "cpu",
          .args = {},
          .prepare =
              [n = options.cpu_n, tasks = options.tasks] {
                // One reference run, outside any timed region, checks every task.
                const std::uint64_t expected = cpu::Spin(static_cast<std::uint64_t>(n), cpu::kSeed);
                return Prepared{.job = {"cpu", cpu::MakeConfig(n)},
                                .payload = {},
                                .tasks = tasks,
                                .check = ExpectValue(expected)};
              },
          .counters = {}};
}

// One serial task of n and of 2n steps: its time must double, or the loop was folded.
CaseSpec CpuScalingCase(std::int64_t steps) {
  return {.workload = "cpu_scaling",
          .args = {{"steps", std::to_string(steps)}},
          .executors = {ExecutorKind::kSerial},
          .prepare =
              [steps] {
                return Prepared{
                    .job = {"cpu", cpu::MakeConfig(steps)},
                    .payload = {},
                    .tasks = 1,
                    .check = ExpectValue(cpu::Spin(static_cast<std::uint64_t>(steps), cpu::kSeed))};
              },
          .counters =
              [steps](benchmark::State& state, const Prepared&, const Measurement& m) {
                state.counters["ns_per_step"] = static_cast<double>(m.wall_ns) /
                                                static_cast<double>(m.iterations) /
                                                static_cast<double>(steps);
              }};
}

}  // namespace

std::vector<CaseSpec> MakeCases(const SuiteOptions& options) {
  std::vector<CaseSpec> cases;
  cases.push_back(CpuCase(options));
  cases.push_back(CpuScalingCase(options.cpu_n));
  cases.push_back(CpuScalingCase(2 * options.cpu_n));
  return cases;
}

}  // namespace parbench
