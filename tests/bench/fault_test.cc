// Faults at the benchmark level: a worker that crashes ends its benchmark with an error that
// names slot, pid, signal and task; the next benchmark runs normally on a fresh pool; nothing
// is left behind.
#include <benchmark/benchmark.h>
#include <gtest/gtest.h>

#include "bench/flags.h"
#include "bench/suite.h"
#include "tests/bench/capture.h"
#include "tests/support.h"

namespace parbench {
namespace {

using testing::ChildPids;
using testing::OpenFdCount;

// A family of four fault tasks, task 1 misbehaving as `mode` says (not in the global table:
// registered for this test's environment only).
Family FaultFamily(std::string_view name, const std::string& mode) {
  return {.workload = &FindWorkload("fault"),
          .name = name,
          .summary = "a test family",
          .prepare = [mode](const Point&, Fixtures&) {
            return Prepared{
                .job = {"fault", Config().Set("mode", mode).Set("task", 1)},
                .payload = {},
                .tasks = 4,
                .check = [](std::uint32_t, const TaskOutput&) { return std::string(); }};
          }};
}

TEST(BenchmarkFaultTest, ACrashedWorkerFailsItsBenchmarkAndTheNextRunsOnAFreshPool) {
  testing::Watchdog watchdog(std::chrono::seconds(120));
  const int fds_before = OpenFdCount();
  Options options = DefaultOptions(2);
  options.Set("workers", std::vector<std::int64_t>{2}, "2");
  options.Set("executors", std::string("processes"), "processes");  // a segfault in a thread
                                                                    // would end the test
  SuiteEnv env(options, 2);
  const Family crash = FaultFamily("crash", "segv");
  const Family fine = FaultFamily("fine", "none");
  RegisterFamilyBenchmarks(env, crash);
  RegisterFamilyBenchmarks(env, fine);
  std::vector<std::string> names;
  for (const Registered& r : env.registered) names.push_back(r.name);
  ASSERT_EQ(names,
            (std::vector<std::string>{"crash/processes/workers:2", "fine/processes/workers:2"}));

  const auto outcomes = testing::RunMatching("^(crash|fine)/", "0.01");

  ASSERT_EQ(outcomes.size(), 2U);
  const std::string& error = outcomes[0].error;
  EXPECT_NE(error.find("worker slot "), std::string::npos) << error;
  EXPECT_NE(error.find("(pid "), std::string::npos) << error;
  EXPECT_NE(error.find("signal 11 (Segmentation fault)"), std::string::npos) << error;
  EXPECT_NE(error.find("while running task 1"), std::string::npos) << error;
  EXPECT_EQ(outcomes[1].error, "") << "the next benchmark runs normally";
  EXPECT_EQ(env.failures, 1);

  env.Release();
  EXPECT_TRUE(ChildPids().empty());
  EXPECT_EQ(OpenFdCount(), fds_before);
}

TEST(BenchmarkFaultTest, ABrokenPoolIsReplacedByTheCache) {
  testing::Watchdog watchdog(std::chrono::seconds(60));
  PoolCache cache{ExecutorOptions{}};
  Executor& first = cache.Get("processes", 2);
  const Job crash{"fault", Config().Set("mode", "kill").Set("task", 0)};
  EXPECT_THROW((void)first.Run({.job = &crash, .tasks = 2, .payload = {}}), ExecutorError);
  ASSERT_TRUE(first.broken());
  Executor& second = cache.Get("processes", 2);
  EXPECT_FALSE(second.broken());
  const Job fine{"sleep", Config().Set("ms", 0)};
  for (const Result& r : second.Run({.job = &fine, .tasks = 4, .payload = {}})) {
    EXPECT_EQ(r.error, "");
  }
  cache.Clear();
  EXPECT_TRUE(ChildPids().empty());
}

}  // namespace
}  // namespace parbench
