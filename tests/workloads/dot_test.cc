// The dot workload: the product is checked against a known value, and the BLAS thread setting
// is made inside every worker, process workers included.
#include "workloads/dot.h"

#include <cblas.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <utility>

#include "common/temp_dir.h"
#include "executors/executor.h"
#include "tests/support.h"
#include "workloads/modules.h"

namespace parbench {
namespace {

TEST(DotTest, ExpectedSumMatchesBruteForce) {
  for (std::int64_t n : {1, 2, 3, 10}) {
    std::uint64_t sum = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      for (std::int64_t j = 0; j < n; ++j)
        sum += static_cast<std::uint64_t>(n * j);  // row of ones times column j
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

TEST(DotTest, BlasThreadsThatCannotStartAreAnErrorNotAHang) {
  // OpenBLAS does not check that the threads of a larger pool started; its next product would
  // wait for them forever. Run in a child as a user who can start no more threads.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        // Loaded first, as this user: `nobody` may not reach the build tree (root's home is
        // mode 700), and the test is about threads, not files.
        (void)Blas();
        if (const std::string why = testing::BecomeLimitedUser(0); !why.empty()) {
          std::fprintf(stderr, "setup failed: %s\n", why.c_str());
          std::_Exit(2);
        }
        const int more = openblas_get_num_threads() + 2;  // more than the pool holds
        try {
          auto runner = MakeRunner("dot", dot::MakeConfig(64, more));
          (void)runner->Run(0, {});
          std::fprintf(stderr, "dot ran with %d BLAS threads where none could start\n", more);
          std::_Exit(1);
        } catch (const WorkloadError& e) {
          std::fprintf(stderr, "%s\n", e.what());
          std::_Exit(0);
        }
      },
      ::testing::ExitedWithCode(0),
      "OpenBLAS cannot start [0-9]+ thread\\(s\\) for [0-9]+ BLAS threads: Resource temporarily "
      "unavailable");
}

// A module bench cannot load as this user is "permission denied", never "not found": a build
// tree under root's mode-700 home, reached as nobody, once read "it is not in ...".
TEST(ModulesTest, AModuleThisUserMayNotReachOrReadIsSaidSoNotNotFound) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root, to run a child as another user";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  TempDir closed("/tmp");  // mode 700, root's
  testing::StagedCopy open({});
  ASSERT_TRUE(open.ok()) << open.error();
  const std::string unreadable = open.Path("libparbench_blas.so");
  { std::ofstream(unreadable) << "not a module"; }
  std::filesystem::permissions(unreadable, std::filesystem::perms(0600));
  for (const auto& [dir, expected] :
       {std::pair{closed.path(), "permission denied reaching .*libparbench_blas.so"},
        std::pair{open.dir().string(),
                  "libparbench_blas.so: Permission denied \\(user [0-9]+ may "
                  "not read it\\)"}}) {
    EXPECT_EXIT(
        {
          SetModuleDir(dir);
          if (const std::string why = testing::BecomeLimitedUser(8); !why.empty()) {
            std::fprintf(stderr, "setup failed: %s\n", why.c_str());
            std::_Exit(2);
          }
          try {
            (void)Blas();
            std::_Exit(1);
          } catch (const WorkloadError& e) {
            std::fprintf(stderr, "%s\n", e.what());
            std::_Exit(0);
          }
        },
        ::testing::ExitedWithCode(0), expected)
        << dir;
  }
}

}  // namespace
}  // namespace parbench
