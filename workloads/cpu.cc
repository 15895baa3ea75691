#include "workloads/cpu.h"

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

}  // namespace parbench::cpu
