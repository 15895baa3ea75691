// The measurements that are not workloads: the noise probe.
#include "bench/probes.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "tests/support.h"

namespace parbench {
namespace {

TEST(NoiseProbeTest, MeasuresAnEfficiencyOnAnyMachine) {
  const double efficiency = NoiseProbe(2, 0.01);
  EXPECT_GT(efficiency, 0.0);  // a value, not a verdict: the machine may be busy
}

TEST(NoiseProbeTest, AThreadThatCannotStartIsAnErrorNotAnAbort) {
  // Run in a child as a user with room for one more thread: the second cannot start.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        if (const std::string why = testing::BecomeLimitedUser(1); !why.empty()) {
          std::fprintf(stderr, "setup failed: %s\n", why.c_str());
          std::_Exit(2);
        }
        try {
          (void)NoiseProbe(4, 0.01);
          std::fprintf(stderr, "4 threads started where 1 could\n");
          std::_Exit(1);
        } catch (const std::runtime_error& e) {
          std::fprintf(stderr, "%s\n", e.what());
          std::_Exit(0);
        }
      },
      ::testing::ExitedWithCode(0),
      "the noise probe cannot start thread 2 of 4: Resource temporarily unavailable");
}

}  // namespace
}  // namespace parbench
