#include "workloads/cpu.h"

#include <gtest/gtest.h>

namespace parbench {
namespace {

// The generator written out by hand, independent of cpu::Spin.
std::uint64_t Step(std::uint64_t x) {
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return x;
}

TEST(CpuTest, SpinSumsTheXorshiftStates) {
  EXPECT_EQ(cpu::Spin(0, 12345), 0U);
  const std::uint64_t a = Step(12345);
  const std::uint64_t b = Step(a);
  const std::uint64_t c = Step(b);
  EXPECT_EQ(cpu::Spin(1, 12345), a);
  EXPECT_EQ(cpu::Spin(3, 12345), a + b + c);
}

TEST(CpuTest, ResultDependsOnStepsAndSeed) {
  EXPECT_NE(cpu::Spin(1000, 1), cpu::Spin(1001, 1));
  EXPECT_NE(cpu::Spin(1000, 3), cpu::Spin(1000, 5));
  EXPECT_NE(cpu::Spin(1000, 0), 0U) << "a zero seed must not stall the generator";
}

TEST(CpuTest, RunnerReturnsTheSpinOfItsConfig) {
  auto runner = MakeRunner("cpu", cpu::MakeConfig(5000));
  EXPECT_EQ(runner->Run(0, {}).value, cpu::Spin(5000, cpu::kSeed));
  EXPECT_EQ(runner->Run(7, {}).value, cpu::Spin(5000, cpu::kSeed)) << "every task alike";
}

TEST(CpuTest, BadConfigIsAWorkloadError) {
  EXPECT_THROW((void)MakeRunner("cpu", Config()), WorkloadError);
  EXPECT_THROW((void)MakeRunner("cpu", cpu::MakeConfig(0)), WorkloadError);
}

}  // namespace
}  // namespace parbench
