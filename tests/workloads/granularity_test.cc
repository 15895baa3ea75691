// granularity: the sweep's names and inputs, and the calibration (taken once; steps follow the
// nominal duration).
#include "workloads/granularity.h"

#include <gtest/gtest.h>

namespace parbench::granularity {
namespace {

TEST(GranularityTest, TheSweepRunsFrom10nsTo10msOnALogAxis) {
  const auto& d = Durations();
  ASSERT_GE(d.size(), 10U);
  EXPECT_EQ(d.front(), 10);
  EXPECT_EQ(d.back(), 10'000'000);
  EXPECT_TRUE(std::is_sorted(d.begin(), d.end()));
  for (std::int64_t ns : d) EXPECT_EQ(ParseDuration(FormatDuration(ns)), ns) << ns;
  EXPECT_EQ(FormatDuration(10), "10ns");
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

// How long a task lasts is measured by the benchmarks (the duration counter beside the nominal
// one), never asserted here: what a test can hold is that the calibration is taken once and
// that a task's steps follow its nominal duration.
TEST(GranularityTest, TheCalibrationIsTakenOnceAndStepsFollowTheDuration) {
  const double steps_per_ns = StepsPerNs();
  ASSERT_GT(steps_per_ns, 0);
  EXPECT_EQ(StepsPerNs(), steps_per_ns) << "calibrated once per process";
  const std::int64_t ten_us = StepsFor(10'000, steps_per_ns);
  EXPECT_GE(ten_us, 1);
  EXPECT_NEAR(static_cast<double>(StepsFor(10'000'000, steps_per_ns)),
              1000.0 * static_cast<double>(ten_us), 1000.0)
      << "1000 times the duration, 1000 times the steps";
}

}  // namespace
}  // namespace parbench::granularity
