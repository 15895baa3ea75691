// Embedded CPython under the executors: the GIL taken per task from pool threads (run under
// ThreadSanitizer too: label core), one interpreter per process worker, lazy loading, and the
// documented errors of a user's function.
#include "workloads/python.h"

#include <gtest/gtest.h>

#include "executors/executor.h"
#include "tests/support.h"
#include "workloads/modules.h"

namespace parbench {
namespace {

const Job kPyCpu{"py_cpu", python::LoopConfig(2000)};

Job UserTask(const std::string& module, const std::string& function) {
  return {"py", python::CallConfig(PARBENCH_TEST_PY_DIR, module, function)};
}

std::vector<Result> RunOn(const std::string& executor, int workers, const Job& job,
                          std::uint32_t tasks, std::span<const std::byte> payload = {}) {
  ExecutorOptions options;
  options.workers = workers;
  auto pool = MakeExecutor(executor, options);
  return pool->Run({.job = &job, .tasks = tasks, .payload = payload});
}

TEST(PythonTest, CpuHeavySumIsTheArticlesLoop) {
  EXPECT_EQ(python::CpuHeavySum(1), 0U);
  EXPECT_EQ(python::CpuHeavySum(5), 10U);
  EXPECT_EQ(python::CpuHeavySum(1'000'000'000), 499'999'999'500'000'000U);
  const auto runner = MakeRunner("py_cpu", python::LoopConfig(1000));
  EXPECT_EQ(runner->Run(0, {}).value, python::CpuHeavySum(1000));
  EXPECT_EQ(runner->Run(3, {}).value, python::CpuHeavySum(1000)) << "every task alike";
}

TEST(PythonTest, ParseTaskNeedsModuleAndFunction) {
  EXPECT_EQ(python::ParseTask("pkg.mod:fn").module, "pkg.mod");
  EXPECT_EQ(python::ParseTask("pkg.mod:fn").function, "fn");
  for (const char* bad : {"", "mod", ":fn", "mod:", "a:b:c"}) {
    EXPECT_THROW((void)python::ParseTask(bad), WorkloadError) << bad;
  }
}

// Many pool threads take and give back the one GIL, task after task, batch after batch; every
// task runs exactly once and computes the right sum.
TEST(PythonTest, PoolThreadsTakeTheGilPerTask) {
  testing::Watchdog watchdog(std::chrono::seconds(120));
  for (const char* executor : {"serial", "threads"}) {
    for (int workers : {1, 2, 4, 8}) {
      if (std::string(executor) == "serial" && workers > 1) continue;
      SCOPED_TRACE(std::string(executor) + " x" + std::to_string(workers));
      ExecutorOptions options;
      options.workers = workers;
      auto pool = MakeExecutor(executor, options);
      for (int round = 0; round < 3; ++round) {
        const std::vector<Result> results = pool->Run({.job = &kPyCpu, .tasks = 24});
        ASSERT_EQ(results.size(), 24U);
        for (std::uint32_t i = 0; i < results.size(); ++i) {
          EXPECT_EQ(results[i].error, "");
          EXPECT_EQ(results[i].span.task, i);
          EXPECT_EQ(results[i].value, python::CpuHeavySum(2000));
        }
      }
    }
  }
}

// A user's function from pool threads: its payload arrives as bytes, its results as proofs.
TEST(PythonTest, AUsersFunctionRunsUnderThreadsAndReturnsItsProof) {
  const std::vector<std::byte> payload(100, std::byte{7});
  const std::vector<Result> results =
      RunOn("threads", 4, UserTask("parbench_test_tasks", "work"), 8, payload);
  for (std::uint32_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].error, "");
    EXPECT_EQ(results[i].value, python::CpuHeavySum(1000 + i) + 100);
  }
  for (const Result& r : RunOn("threads", 2, UserTask("parbench_test_tasks", "echo"), 4, payload)) {
    EXPECT_EQ(r.value, 100U) << "bytes: their length";
  }
  for (const Result& r : RunOn("serial", 1, UserTask("parbench_test_tasks", "nothing"), 2)) {
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.value, 0U) << "None: 0";
  }
}

// Each process worker has its own interpreter; it is exec'd, never forked from one.
TEST(PythonTest, ProcessWorkersEachRunTheirOwnInterpreter) {
  testing::Watchdog watchdog(std::chrono::seconds(120));
  const std::vector<std::byte> payload(64, std::byte{1});
  const std::vector<Result> results = RunOn("processes", 2, kPyCpu, 6);
  for (const Result& r : results) {
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.value, python::CpuHeavySum(2000));
    EXPECT_NE(r.span.pid, ::getpid());
  }
  for (const Result& r :
       RunOn("processes", 2, UserTask("parbench_test_tasks", "echo"), 4, payload)) {
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.value, 64U) << "the payload crossed the pipe";
  }
}

// A process worker that runs no Python never maps libpython; one that runs Python does.
TEST(PythonTest, AWorkerThatRunsNoPythonNeverLoadsIt) {
  testing::Watchdog watchdog(std::chrono::seconds(120));
  ExecutorOptions options;
  options.workers = 1;  // one worker: it runs every task
  auto pool = MakeExecutor("processes", options);
  const Job probe{"python_mapped", Config()};
  const Job overhead{"overhead", Config()};
  const Job cpu{"cpu", Config().Set("steps", 1000)};
  for (const Job* job : {&overhead, &cpu})
    ASSERT_EQ(pool->Run({.job = job, .tasks = 2})[0].error, "");
  EXPECT_EQ(pool->Run({.job = &probe, .tasks = 1})[0].value, 0U)
      << "libpython is mapped in a worker that ran no Python";
  ASSERT_EQ(pool->Run({.job = &kPyCpu, .tasks = 1})[0].error, "");
  EXPECT_EQ(pool->Run({.job = &probe, .tasks = 1})[0].value, 1U)
      << "the probe cannot see libpython where it was loaded";
}

TEST(PythonTest, ARaisingFunctionFailsItsTaskWithTheExceptionAndTheOthersRun) {
  for (const char* executor : {"serial", "threads", "processes"}) {
    SCOPED_TRACE(executor);
    const std::vector<Result> results =
        RunOn(executor, 2, UserTask("parbench_test_tasks", "boom"), 3);
    EXPECT_EQ(results[0].error, "");
    EXPECT_EQ(results[1].error, "parbench_test_tasks:boom raised: ValueError: boom on task 1");
    EXPECT_EQ(results[2].error, "");
    EXPECT_EQ(results[2].value, 2U);
  }
}

TEST(PythonTest, AWrongReturnTypeIsAnErrorNamingTheType) {
  for (const char* executor : {"threads", "processes"}) {
    const std::vector<Result> results =
        RunOn(executor, 1, UserTask("parbench_test_tasks", "wrong_type"), 1);
    EXPECT_EQ(results[0].error,
              "parbench_test_tasks:wrong_type returned float; it must return an int, bytes or "
              "None")
        << executor;
  }
}

TEST(PythonTest, AModuleThatDoesNotImportOrAMissingFunctionIsAWorkloadError) {
  const auto message = [](const std::string& module, const std::string& function) {
    try {
      (void)MakeRunner("py", UserTask(module, function).config);
    } catch (const WorkloadError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message("parbench_no_such_module", "f"),
            "cannot import parbench_no_such_module: ModuleNotFoundError: No module named "
            "'parbench_no_such_module'");
  EXPECT_EQ(message("parbench_broken_module", "f"),
            "cannot import parbench_broken_module: RuntimeError: this module refuses to import");
  EXPECT_EQ(message("parbench_test_tasks", "missing"),
            "parbench_test_tasks:missing: AttributeError: module 'parbench_test_tasks' has no "
            "attribute 'missing'");
  EXPECT_EQ(message("parbench_test_tasks", "not_callable"),
            "parbench_test_tasks:not_callable is a int, not a function");
  // The same from a process worker: every task of the job says why.
  const std::vector<Result> results =
      RunOn("processes", 1, UserTask("parbench_no_such_module", "f"), 2);
  for (const Result& r : results) {
    EXPECT_NE(r.error.find("ModuleNotFoundError"), std::string::npos) << r.error;
  }
}

TEST(PythonTest, TheModuleIsLoadedOnlyByPython) {
  // This test binary has run Python by now (or runs it here): the flag follows the load.
  (void)MakeRunner("py_cpu", python::LoopConfig(1));
  EXPECT_TRUE(PythonLoaded());
  EXPECT_GE(Python().start(), 0);
}

}  // namespace
}  // namespace parbench
