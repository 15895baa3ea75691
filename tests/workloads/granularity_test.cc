// granularity: the sweep's names and inputs, and the calibration (a nominal 10 µs task lasts
// 10 µs ± 20% by the workload's own clock, the fastest of many runs, not a benchmark timing).
#include "workloads/granularity.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

#include "workloads/cpu.h"

namespace parbench::granularity {
namespace {

TEST(GranularityTest, TheSweepRunsFrom100nsTo10msOnALogAxis) {
  const auto& d = Durations();
  ASSERT_GE(d.size(), 10U);
  EXPECT_EQ(d.front(), 100);
  EXPECT_EQ(d.back(), 10'000'000);
  EXPECT_TRUE(std::is_sorted(d.begin(), d.end()));
  for (std::int64_t ns : d) EXPECT_EQ(ParseDuration(FormatDuration(ns)), ns) << ns;
  EXPECT_EQ(FormatDuration(300), "300ns");
  EXPECT_EQ(FormatDuration(3'000), "3us");
  EXPECT_EQ(FormatDuration(10'000'000), "10ms");
  for (const char* bad : {"", "ns", "1.5us", "-3us", "3 us", "3s"}) {
    EXPECT_THROW((void)ParseDuration(bad), std::logic_error) << bad;
  }
}

TEST(GranularityTest, TasksPerIterationFollowTheWorkAndTheBounds) {
  EXPECT_EQ(TasksFor(10'000, 10'000'000, 32), 1000);
  EXPECT_EQ(TasksFor(10'000'000, 10'000'000, 32), 32) << "long tasks: the minimum";
  EXPECT_EQ(TasksFor(100, 10'000'000, 32), kMaxTasks) << "tiny tasks: the cap";
  EXPECT_EQ(StepsFor(0, 1.0), 1) << "at least one step";
}

TEST(GranularityTest, ANominal10usTaskLasts10usByTheWorkloadsOwnClock) {
  const std::int64_t steps = StepsFor(10'000, StepsPerNs());
  double fastest_ns = 1e18;
  for (int run = 0; run < 200; ++run) {  // the fastest run is the least disturbed
    const auto start = std::chrono::steady_clock::now();
    volatile std::uint64_t sink = cpu::Spin(static_cast<std::uint64_t>(steps), cpu::kSeed);
    (void)sink;
    fastest_ns = std::min(fastest_ns,
                          static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                  std::chrono::steady_clock::now() - start)
                                                  .count()));
  }
  EXPECT_GT(fastest_ns, 8'000);
  EXPECT_LT(fastest_ns, 12'000);
}

}  // namespace
}  // namespace parbench::granularity
