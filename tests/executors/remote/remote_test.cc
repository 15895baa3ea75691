// The remote-worker core through its test double transport (loopback_link.h): dispatch modes
// and the failures the core turns into ExecutorError, with no process and no MPI. (The
// conformance suite in executor_test.cc runs over the double too.)
#include <gtest/gtest.h>

#include <string>

#include "tests/executors/remote/loopback_link.h"
#include "tests/support.h"

namespace parbench {
namespace {

using testing::MakeLoopback;
using testing::Misbehave;
using testing::Watchdog;

ExecutorOptions Options(int workers, Dispatch dispatch = Dispatch::kAdaptive) {
  ExecutorOptions options;
  options.workers = workers;
  options.dispatch = dispatch;
  options.task_timeout = std::chrono::seconds(60);
  return options;
}

// Runs `tasks` empty tasks; checks every result; returns the task messages the run took.
std::uint64_t MessagesFor(Executor& executor, std::uint32_t tasks) {
  const Job job{"overhead", Config()};
  const std::uint64_t before = executor.task_messages();
  const auto results = executor.Run({.job = &job, .tasks = tasks, .payload = {}});
  EXPECT_EQ(results.size(), tasks);
  for (std::uint32_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].value, i);
    EXPECT_EQ(results[i].error, "");
  }
  return executor.task_messages() - before;
}

TEST(RemoteCoreTest, PerTaskDispatchSendsOneTaskPerMessage) {
  auto executor = MakeLoopback(Options(2, Dispatch::kPerTask));
  EXPECT_EQ(MessagesFor(*executor, 1), 1U);
  EXPECT_EQ(MessagesFor(*executor, 5000), 5000U);
}

// Empty tasks take far less than the ~200 µs a message aims at: after the first message of
// one task, they go thousands to a message (the bound holds even at 50 µs a task).
TEST(RemoteCoreTest, AdaptiveDispatchBatchesTinyTasks) {
  auto executor = MakeLoopback(Options(2, Dispatch::kAdaptive));
  EXPECT_EQ(MessagesFor(*executor, 1), 1U);
  const std::uint64_t messages = MessagesFor(*executor, 20'000);
  EXPECT_GE(messages, 2U);
  EXPECT_LT(messages, 20'000U / 4) << "tiny tasks were not batched";
}

// Runs `tasks` tasks of `job`, expects an ExecutorError and returns its message.
std::string FailureOf(Executor& executor, const Job& job, std::uint32_t tasks) {
  try {
    (void)executor.Run({.job = &job, .tasks = tasks, .payload = {}});
  } catch (const ExecutorError& e) {
    return e.what();
  }
  ADD_FAILURE() << "Run() did not throw";
  return "";
}

TEST(RemoteCoreTest, AResultForATaskNeverSentBreaksTheExecutorNamingTheWorker) {
  Watchdog watchdog(std::chrono::seconds(60));
  auto executor = MakeLoopback(Options(2), 1, Misbehave::kForeignResult);
  const Job job{"overhead", Config()};
  const std::string what = FailureOf(*executor, job, 4);
  EXPECT_EQ(what.rfind("loopback: loopback worker 1 broke the protocol: result for task 100000", 0),
            0U)
      << what;
  EXPECT_NE(what.find("that it was not given while running task"), std::string::npos) << what;
  EXPECT_TRUE(executor->broken());
  EXPECT_EQ(FailureOf(*executor, job, 1), "loopback: the executor is broken by an earlier failure");
}

TEST(RemoteCoreTest, AWorkerThatReportsAFailureIsNamedWithTheTaskItWasGiven) {
  Watchdog watchdog(std::chrono::seconds(60));
  auto executor = MakeLoopback(Options(1), 0, Misbehave::kReportError);
  EXPECT_EQ(FailureOf(*executor, {"overhead", Config()}, 3),
            "loopback: loopback worker 0 reported: told to fail while running task 0");
  EXPECT_TRUE(executor->broken());
}

TEST(RemoteCoreTest, ATaskPastTheTimeoutIsStoppedAndNamed) {
  Watchdog watchdog(std::chrono::seconds(60));
  ExecutorOptions options = Options(2);
  options.task_timeout = std::chrono::milliseconds(200);
  auto executor = MakeLoopback(options);
  EXPECT_EQ(FailureOf(*executor, {"sleep", Config().Set("ms", 2'000)}, 1),
            "loopback: loopback worker 0 ran longer than the task timeout of 200 ms and was "
            "abandoned (a thread cannot be killed) while running task 0");
  EXPECT_TRUE(executor->broken());
}

TEST(RemoteCoreTest, ABatchOfSeveralJobsReconfiguresTheWorkersAndTheResultsStayInOrder) {
  auto executor = MakeLoopback(Options(3));
  for (int round = 0; round < 3; ++round) {
    const Job sleep{"sleep", Config().Set("ms", round)};
    const auto slept = executor->Run({.job = &sleep, .tasks = 7, .payload = {}});
    for (std::uint32_t i = 0; i < slept.size(); ++i) EXPECT_EQ(slept[i].span.task, i);
    EXPECT_GT(MessagesFor(*executor, 50), 0U);
  }
}

}  // namespace
}  // namespace parbench
