// The mpi executor. Without mpirun (every ctest run): it is not available and MPI is never
// loaded. Under mpirun (the mpi.* ctest entries, `mpirun -n 3 core_tests`): spans name host and
// rank, and a worker rank that exits or hangs mid-task is named in the error, without a hang.
// The conformance suite (executor_test.cc) covers the rest under mpirun.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "executors/mpi/executor.h"
#include "executors/mpi/session.h"
#include "tests/support.h"

namespace parbench {
namespace {

using testing::Watchdog;

// Whether a shared library whose name contains `name` is mapped into this process.
bool Mapped(const std::string& name) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (line.find(name) != std::string::npos) return true;
  }
  return false;
}

ExecutorOptions Options(int workers, std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  ExecutorOptions options;
  options.workers = workers;
  options.task_timeout = timeout;
  return options;
}

Job Fault(const std::string& mode, int task, int ms = 0) {
  return {"fault", Config().Set("mode", mode).Set("task", task).Set("ms", ms)};
}

TEST(MpiTest, WithoutMpirunItIsNotAvailableAndMpiIsNeverLoaded) {
  if (mpi::UnderMpirun()) GTEST_SKIP() << "runs without mpirun";
  const ExecutorInfo* info = FindExecutor("mpi");
  ASSERT_NE(info, nullptr);
  ASSERT_NE(info->available, nullptr);
  EXPECT_FALSE(info->available());
  EXPECT_EQ(MpiWorkerRanks(), 0);
  EXPECT_EQ(mpi::Current(), nullptr);
  EXPECT_THROW((void)MakeExecutor("mpi", Options(1)), ExecutorError);
  EXPECT_FALSE(Mapped("libmpi"));
  EXPECT_FALSE(Mapped("libparbench_mpi"));
}

TEST(MpiTest, WorkerCountsAreTheWorkerRanksThatMpirunStarted) {
  if (!mpi::UnderMpirun()) GTEST_SKIP() << "needs mpirun";
  const int ranks = mpi::Current()->size - 1;
  EXPECT_EQ(MpiWorkerRanks(), ranks);
  EXPECT_EQ(WorkerCountsFor(*FindExecutor("mpi"), {1, 2, 4, 8, 64}).back(),
            ranks >= 8 ? 8 : (ranks >= 4 ? 4 : (ranks >= 2 ? 2 : 1)));
  try {
    (void)MakeExecutor("mpi", Options(ranks + 1));
    ADD_FAILURE() << "more workers than ranks were accepted";
  } catch (const ExecutorError& e) {
    EXPECT_NE(std::string(e.what()).find("worker rank(s) (-n " + std::to_string(ranks + 1)),
              std::string::npos)
        << e.what();
  }
}

TEST(MpiTest, SpansNameTheHostAndRankAndEveryRankIsKnown) {
  if (!mpi::UnderMpirun()) GTEST_SKIP() << "needs mpirun";
  const mpi::Session& s = *mpi::Current();
  ASSERT_EQ(static_cast<int>(s.ranks.size()), s.size);
  for (const mpi::RankInfo& r : s.ranks) {
    EXPECT_GT(r.pid, 0);
    EXPECT_FALSE(r.host_name.empty());
    EXPECT_EQ(s.hosts.at(static_cast<std::size_t>(r.host)), r.host_name);
    EXPECT_GE(r.clock_uncertainty_ns, 0);
  }
  const int workers = MpiWorkerRanks();
  auto executor = MakeExecutor("mpi", Options(workers));
  const Job job{"overhead", Config()};
  const auto results = executor->Run({.job = &job, .tasks = 20, .payload = {}});
  for (const Result& r : results) {
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.span.rank, r.span.slot + 1);
    const mpi::RankInfo& info = s.ranks.at(static_cast<std::size_t>(r.span.rank));
    EXPECT_EQ(r.span.host, info.host);
    EXPECT_EQ(r.span.pid, info.pid);
    EXPECT_EQ(r.span.clock, info.host == 0 ? SpanClock::kHostMonotonic : SpanClock::kAligned);
  }
}

// What an interrupted run says it was waiting on (cleanup's note): the rank, its host and pid,
// and nothing once every message was answered.
TEST(MpiTest, TheInterruptNoteNamesTheAwaitedRankAndIsEmptyWhenAllIsAnswered) {
  if (!mpi::UnderMpirun()) GTEST_SKIP() << "needs mpirun";
  auto executor = MakeExecutor("mpi", Options(MpiWorkerRanks()));
  const Job job{"overhead", Config()};
  (void)executor->Run({.job = &job, .tasks = 20, .payload = {}});
  EXPECT_EQ(mpi::WaitingNote(), "") << "every task message of the run was answered";

  const std::string rank1 = "mpi: waiting on " + mpi::Describe(mpi::Current()->ranks.at(1));
  mpi::Asked(1);
  mpi::Asked(1);
  std::string note = mpi::WaitingNote();
  EXPECT_EQ(note.rfind(rank1 + ": 2 task messages in flight, no message from it for 0.", 0), 0u)
      << note;
  mpi::Answered(1);
  mpi::Answered(1);
  EXPECT_EQ(mpi::WaitingNote(), "");
  {
    mpi::RawEcho echo(1, 8);
    note = mpi::WaitingNote();
    EXPECT_EQ(note.rfind(rank1 + ": in the raw ping-pong with it for ", 0), 0u) << note;
  }
  EXPECT_EQ(mpi::WaitingNote(), "");
}

// Fault tests end a rank: each runs alone in its own mpirun job (see tests/CMakeLists.txt).
TEST(MpiFaultTest, AWorkerRankThatExitsMidTaskIsNamedWithHostAndTaskAndNothingHangs) {
  if (!mpi::UnderMpirun()) GTEST_SKIP() << "needs mpirun";
  Watchdog watchdog(std::chrono::seconds(60));
  auto executor = MakeExecutor("mpi", Options(1));
  const Job job = Fault("exit", 2);
  try {
    (void)executor->Run({.job = &job, .tasks = 4, .payload = {}});
    ADD_FAILURE() << "Run() did not throw";
  } catch (const ExecutorError& e) {
    const mpi::RankInfo& rank = mpi::Current()->ranks.at(1);
    EXPECT_EQ(std::string(e.what()), "mpi: rank 1 (host " + rank.host_name + ", pid " +
                                         std::to_string(rank.pid) +
                                         ") exited (or was killed) while running task 2");
  }
  EXPECT_TRUE(executor->broken());
  EXPECT_TRUE(mpi::Current()->ranks.at(1).lost);
  // The rank is gone for the rest of the run: a new executor says so instead of hanging.
  EXPECT_THROW((void)MakeExecutor("mpi", Options(1)), ExecutorError);
}

TEST(MpiFaultTest, AWorkerRankThatHangsIsKilledAtTheTimeoutAndNamed) {
  if (!mpi::UnderMpirun()) GTEST_SKIP() << "needs mpirun";
  Watchdog watchdog(std::chrono::seconds(60));
  auto executor = MakeExecutor("mpi", Options(1, std::chrono::milliseconds(2000)));
  const Job job = Fault("hang", 1, 30'000);
  try {
    (void)executor->Run({.job = &job, .tasks = 3, .payload = {}});
    ADD_FAILURE() << "Run() did not throw";
  } catch (const ExecutorError& e) {
    const mpi::RankInfo& rank = mpi::Current()->ranks.at(1);
    EXPECT_EQ(std::string(e.what()),
              "mpi: rank 1 (host " + rank.host_name + ", pid " + std::to_string(rank.pid) +
                  ") ran longer than the task timeout of 2000 ms and was killed while running "
                  "task 1");
  }
  EXPECT_TRUE(mpi::Current()->ranks.at(1).lost);
}

}  // namespace
}  // namespace parbench
