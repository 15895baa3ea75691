// The dot workload: the product is checked against a known value, and the BLAS thread setting
// is made inside every worker, process workers included.
#include "workloads/dot.h"

#include <cblas.h>
#include <gtest/gtest.h>

#include "executors/executor.h"

namespace parbench {
namespace {

TEST(DotTest, ExpectedSumMatchesBruteForce) {
  for (std::int64_t n : {1, 2, 3, 10}) {
    std::uint64_t sum = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      for (std::int64_t j = 0; j < n; ++j) sum += static_cast<std::uint64_t>(n * j);  // row of ones times column j
    }
    EXPECT_EQ(dot::ExpectedSum(n), sum) << n;
  }
  EXPECT_DOUBLE_EQ(dot::Flops(10), 2000.0);
}

TEST(DotTest, RunnerComputesTheKnownProduct) {
  for (std::int64_t n : {1, 7, 64, 200}) {
    auto runner = MakeRunner("dot", dot::MakeConfig(n, 1));
    EXPECT_EQ(runner->Run(0, {}).value, dot::ExpectedSum(n)) << n;
  }
}

TEST(DotTest, BadConfigIsAnError) {
  EXPECT_THROW((void)MakeRunner("dot", dot::MakeConfig(0, 1)), WorkloadError);
  EXPECT_THROW((void)MakeRunner("dot", dot::MakeConfig(8, 0)), WorkloadError);
}

// The "blas_threads" test workload reports openblas_get_num_threads() inside the worker.
TEST(DotTest, BlasThreadsAreSetInsideEachProcessWorker) {
  const int parent_threads = openblas_get_num_threads();
  ExecutorOptions options;
  options.workers = 2;
  auto pool = MakeExecutor("processes", options);
  const Job probe{"blas_threads", Config()};
  for (int threads : {1, 2, 3}) {
    const Job job{"dot", dot::MakeConfig(16, threads)};
    for (const Result& r : pool->Run({.job = &job, .tasks = 4, .payload = {}})) {
      ASSERT_EQ(r.error, "");
    }
    // Both workers ran dot tasks (the first two tasks go to the two idle workers at once);
    // the probe's two tasks go one to each worker in the same way.
    for (const Result& r : pool->Run({.job = &probe, .tasks = 2, .payload = {}})) {
      EXPECT_EQ(r.value, static_cast<std::uint64_t>(threads)) << "worker " << r.span.slot;
    }
  }
  EXPECT_EQ(openblas_get_num_threads(), parent_threads) << "the parent's setting is untouched";
}

}  // namespace
}  // namespace parbench
