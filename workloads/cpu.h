// cpu: a per-task integer loop that the compiler cannot fold into a constant.
// Question it answers: do workers use more cores?
#pragma once

#include <cstdint>

#include "workloads/workload.h"

namespace parbench::cpu {

// Runs `steps` rounds of a xorshift64 generator from `seed` and returns the sum of its states.
// The shifts make each step depend non-linearly on the previous one, so GCC can neither fold
// the loop into a closed form nor vectorize it: its time is proportional to `steps`.
[[nodiscard]] std::uint64_t Spin(std::uint64_t steps, std::uint64_t seed);

// The config of a cpu job: `steps` loop rounds per task (every task uses the same seed, so one
// reference value, computed by the parent, checks every task).
[[nodiscard]] Config MakeConfig(std::int64_t steps);

// The seed every cpu task starts from.
inline constexpr std::uint64_t kSeed = 0x2545F4914F6CDD1DULL;

extern const Workload kWorkload;

}  // namespace parbench::cpu
