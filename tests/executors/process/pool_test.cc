// The process pool's life cycle: no child, zombie or descriptor outlives it; a dead, hung or
// missing worker is reported, not waited on forever.
#include "executors/process/pool.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "executors/process/worker.h"
#include "tests/support.h"
#include "workloads/transfer.h"

namespace parbench {
namespace {

using testing::ChildPids;
using testing::OpenFdCount;

ExecutorOptions Options(int workers) {
  ExecutorOptions options;
  options.workers = workers;
  options.task_timeout = std::chrono::seconds(60);
  return options;
}

TEST(ProcessPoolTest, DestroyingThePoolLeavesNoChildAndNoDescriptor) {
  ASSERT_TRUE(ChildPids().empty());
  const int fds_before = OpenFdCount();
  {
    ProcessPool pool(Options(4));
    EXPECT_EQ(ChildPids().size(), 4U);
    const Job job{"sleep", Config().Set("ms", 1)};
    const auto results = pool.Run({.job = &job, .tasks = 8, .payload = {}});
    EXPECT_EQ(results.size(), 8U);
    EXPECT_GT(OpenFdCount(), fds_before);
  }
  EXPECT_TRUE(ChildPids().empty()) << "a worker (or its zombie) outlived the pool";
  EXPECT_EQ(OpenFdCount(), fds_before);
}

TEST(ProcessPoolTest, WorkersAreDistinctLiveProcesses) {
  ProcessPool pool(Options(3));
  auto pids = pool.pids();
  ASSERT_EQ(pids.size(), 3U);
  std::sort(pids.begin(), pids.end());
  EXPECT_EQ(std::unique(pids.begin(), pids.end()), pids.end());
  for (int pid : pids) EXPECT_EQ(::kill(pid, 0), 0) << "worker " << pid << " is not alive";
}

// `ps` shows a worker as this binary, by its real path, not as "/proc/self/exe --worker ...".
TEST(ProcessPoolTest, WorkersShowTheBinarysRealPathInPs) {
  ProcessPool pool(Options(2));
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  EXPECT_EQ(WorkerExe("/proc/self/exe"), self);
  EXPECT_EQ(WorkerExe("/some/other/bench"), "/some/other/bench") << "a given path is kept";
  for (int pid : pool.pids()) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
    std::string argv0;
    std::getline(in, argv0, '\0');
    EXPECT_EQ(argv0, self) << "worker " << pid;
  }
}

TEST(ProcessPoolTest, AKilledWorkerIsReportedWithItsSlotPidAndSignal) {
  const int fds_before = OpenFdCount();
  {
    ProcessPool pool(Options(2));
    const int victim = pool.pids()[1];
    ASSERT_EQ(::kill(victim, SIGKILL), 0);
    const Job job{"sleep", Config().Set("ms", 50)};
    try {
      (void)pool.Run({.job = &job, .tasks = 4, .payload = {}});
      FAIL() << "Run() should have thrown";
    } catch (const ExecutorError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("worker slot 1"), std::string::npos) << what;
      EXPECT_NE(what.find("pid " + std::to_string(victim)), std::string::npos) << what;
      EXPECT_NE(what.find("signal 9"), std::string::npos) << what;
    }
    EXPECT_TRUE(pool.broken());
    EXPECT_THROW((void)pool.Run({.job = &job, .tasks = 1, .payload = {}}), ExecutorError);
  }
  EXPECT_TRUE(ChildPids().empty());
  EXPECT_EQ(OpenFdCount(), fds_before);
}

TEST(ProcessPoolTest, ATaskPastTheTimeoutKillsItsWorkerAndNamesTheTask) {
  ExecutorOptions options = Options(2);
  options.task_timeout = std::chrono::milliseconds(300);
  {
    ProcessPool pool(options);
    const Job job{"sleep", Config().Set("ms", 60'000)};
    try {
      (void)pool.Run({.job = &job, .tasks = 1, .payload = {}});
      FAIL() << "Run() should have thrown";
    } catch (const ExecutorError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("task timeout"), std::string::npos) << what;
      EXPECT_NE(what.find("task 0"), std::string::npos) << what;
    }
  }
  EXPECT_TRUE(ChildPids().empty());
}

TEST(ProcessPoolTest, AMissingWorkerBinaryIsAnErrorNotAHang) {
  ExecutorOptions options = Options(2);
  options.worker_exe = "/nonexistent/parbench-worker";
  EXPECT_THROW(ProcessPool pool(options), ExecutorError);
  EXPECT_TRUE(ChildPids().empty());
}

TEST(ProcessPoolTest, SharedMemoryTransportCarriesPayloadsAndRepliesOfAnySize) {
  const int fds_before = OpenFdCount();
  {
    ExecutorOptions options = Options(2);
    options.transport = Transport::kShm;
    ProcessPool pool(options);
    const Job echo{"transfer", Config()};
    // Growing, shrinking and empty payloads: the region is grown and remapped as needed.
    for (std::size_t size : {std::size_t{1000}, std::size_t{9} << 20, std::size_t{0},
                             std::size_t{2} << 20, std::size_t{4096}}) {
      std::vector<std::byte> payload(size);
      for (std::size_t i = 0; i < size; ++i) payload[i] = std::byte(i * 13 + size);
      const auto results = pool.Run({.job = &echo, .tasks = 3, .payload = payload});
      for (const Result& r : results) {
        ASSERT_EQ(r.error, "");
        EXPECT_EQ(r.value, transfer::Checksum(payload)) << size;
        ASSERT_EQ(r.reply.size(), size);
        EXPECT_TRUE(std::equal(r.reply.begin(), r.reply.end(), payload.begin())) << size;
      }
    }
    // Tiny tasks are batched several to a frame; their replies travel in the frame.
    std::vector<std::byte> small(100, std::byte{7});
    const auto results = pool.Run({.job = &echo, .tasks = 2000, .payload = small});
    for (const Result& r : results) {
      ASSERT_EQ(r.reply.size(), small.size());
      EXPECT_EQ(r.reply[99], std::byte{7});
    }
  }
  EXPECT_TRUE(ChildPids().empty());
  EXPECT_EQ(OpenFdCount(), fds_before) << "the memfds are closed too";
}

// Batches smaller than the pool, back to back (the round trip's case: the parent and the busy
// workers spin for each other, the idle ones sleep): every task runs once, each on a worker of
// its own, over both transports.
TEST(ProcessPoolTest, BatchesSmallerThanThePoolRunEachTaskOnceOnDistinctWorkers) {
  for (const Transport transport : {Transport::kPipe, Transport::kShm}) {
    ExecutorOptions options = Options(8);
    options.transport = transport;
    ProcessPool pool(options);
    const Job job{"overhead", Config()};
    for (int round = 0; round < 50; ++round) {
      for (const std::uint32_t tasks : {1U, 2U, 3U, 5U}) {
        const auto results = pool.Run({.job = &job, .tasks = tasks, .payload = {}});
        ASSERT_EQ(results.size(), tasks);
        std::set<int> pids;
        for (std::uint32_t i = 0; i < tasks; ++i) {
          EXPECT_EQ(results[i].error, "");
          EXPECT_EQ(results[i].span.task, i);
          pids.insert(results[i].span.pid);
        }
        EXPECT_EQ(pids.size(), tasks) << "tasks of a batch smaller than the pool shared a worker";
      }
    }
  }
}

// A pool destroyed right after a batch, while its workers may still spin for their next frame,
// stops every worker (end of file ends a spin) and leaves no child behind.
TEST(ProcessPoolTest, ShutdownRacingWithSpinningWorkersNeitherHangsNorLeavesAChild) {
  ASSERT_TRUE(ChildPids().empty());
  const Job job{"overhead", Config()};
  for (int round = 0; round < 20; ++round) {
    ProcessPool pool(Options(1 + round % 4));
    for (std::uint32_t tasks = 1; tasks <= 2; ++tasks) {
      const auto results = pool.Run({.job = &job, .tasks = tasks, .payload = {}});
      ASSERT_EQ(results.size(), tasks);
    }
  }
  EXPECT_TRUE(ChildPids().empty()) << "a worker (or its zombie) outlived its pool";
}

TEST(ProcessPoolTest, AWorkerBinaryThatCannotBeExecutedLeavesNoZombie) {
  // Executable bit set but no valid format: execve fails after vfork, in the child.
  char path[] = "/tmp/parbench-not-a-binary-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "\x01\x02garbage", 9), 9);
  ::close(fd);
  ::chmod(path, 0700);
  ExecutorOptions options = Options(2);
  options.worker_exe = path;
  EXPECT_THROW(ProcessPool pool(options), ExecutorError);
  ::unlink(path);
  EXPECT_TRUE(ChildPids().empty());
}

}  // namespace
}  // namespace parbench
