// The event-loop executor beyond the conformance suite: a thousand tasks in flight on one
// thread, a task past the timeout, a workload without an asynchronous form, faults in one
// in-flight slot of api (a broken transfer, a timeout, a refused connection) that leave the
// other tasks and the loop usable, io through io_uring, and no descriptor left behind.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "common/temp_dir.h"
#include "executors/executor.h"
#include "harness/api_server.h"
#include "tests/support.h"
#include "workloads/api.h"
#include "workloads/io.h"

namespace parbench {
namespace {

using testing::OpenFdCount;
using testing::SharedCounter;
using testing::Watchdog;

std::unique_ptr<Executor> Async(int in_flight,
                                std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  ExecutorOptions options;
  options.workers = in_flight;
  options.task_timeout = timeout;
  return MakeExecutor("async", options);
}

// Waits (up to 10 s) until this process holds `count` descriptors: the in-process server
// closes its ends of connections asynchronously. Returns the last count seen.
int SettleFds(int count) {
  int now = OpenFdCount();
  for (int i = 0; i < 1000 && now != count; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    now = OpenFdCount();
  }
  return now;
}

// A loopback port nothing listens on: bound, read back, closed.
std::string RefusedUrl() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/";
}

TEST(AsyncExecutorTest, HoldsAThousandTasksInFlightOnOneThread) {
  Watchdog watchdog(std::chrono::seconds(120));
  auto executor = Async(1024);
  EXPECT_EQ(executor->workers(), 1024);
  SharedCounter counter;
  // The first 1024 tasks each wait until 1024 have arrived: only 1024 in flight at once pass.
  const Job job{"barrier",
                Config().Set("shm", counter.name()).Set("parties", 1024).Set("timeout_ms", 60'000)};
  const auto results = executor->Run({.job = &job, .tasks = 2048, .payload = {}});
  std::set<int> slots;
  std::set<int> threads;
  for (const Result& r : results) {
    ASSERT_EQ(r.error, "");
    slots.insert(r.span.slot);
    threads.insert(r.span.tid);
  }
  EXPECT_EQ(slots.size(), 1024U);
  EXPECT_EQ(threads.size(), 1U) << "one thread runs the loop";
  EXPECT_EQ(counter.value(), 2048U);
}

TEST(AsyncExecutorTest, TakesAtMostAThousandTwentyFourInFlight) {
  EXPECT_EQ(FindExecutor("async")->max_workers, 1024);
  EXPECT_THROW((void)Async(1025), ExecutorError);
  EXPECT_TRUE(FindExecutor("async")->traits.async);
  const auto& counts = FindExecutor("async")->default_workers;
  ASSERT_FALSE(counts.empty());
  EXPECT_GE(counts.back(), 256) << "its default counts reach hundreds in flight";
}

TEST(AsyncExecutorTest, ATaskPastTheTimeoutBreaksTheExecutor) {
  Watchdog watchdog(std::chrono::seconds(60));
  auto executor = Async(2, std::chrono::milliseconds(200));
  const Job job{"sleep", Config().Set("ms", 10'000)};
  try {
    (void)executor->Run({.job = &job, .tasks = 4, .payload = {}});
    FAIL() << "expected an ExecutorError";
  } catch (const ExecutorError& e) {
    EXPECT_NE(std::string(e.what()).find("ran past the timeout of 200 ms"), std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(executor->broken());
  EXPECT_THROW((void)executor->Run({.job = &job, .tasks = 1, .payload = {}}), ExecutorError);
}

TEST(AsyncExecutorTest, AWorkloadWithoutAnAsynchronousFormIsReportedInEveryTask) {
  auto executor = Async(4);
  const Job job{"fault", Config().Set("mode", "throw").Set("task", 99)};
  const auto results = executor->Run({.job = &job, .tasks = 3, .payload = {}});
  ASSERT_EQ(results.size(), 3U);
  for (const Result& r : results) {
    EXPECT_NE(r.error.find("has no asynchronous form"), std::string::npos) << r.error;
  }
  EXPECT_FALSE(executor->broken());
}

// Faults of api in single in-flight slots: task 1's body is cut short, task 3 answers after
// the timeout, task 5 finds nobody listening. Four tasks are in flight at once, so each fault
// shares the loop with healthy transfers.
TEST(AsyncExecutorTest, ApiFaultsFailOnlyTheirTaskWithTheCauseAndTheLoopGoesOn) {
  Watchdog watchdog(std::chrono::seconds(120));
  api::Server server;
  Config config = api::MakeConfig(server.Url(20, 1000), 1000, 1000);
  api::SetTaskUrl(config, 1, server.Url(0, 100'000, 200, /*truncate=*/true));
  api::SetTaskUrl(config, 3, server.Url(5000, 1000));
  api::SetTaskUrl(config, 5, RefusedUrl());
  const Job faulty{"api", config};
  const Job healthy{"api", api::MakeConfig(server.Url(20, 1000), 1000, 1000)};
  auto executor = Async(4);
  for (int round = 0; round < 2; ++round) {  // the same loop, again: still usable
    const auto results = executor->Run({.job = &faulty, .tasks = 12, .payload = {}});
    ASSERT_EQ(results.size(), 12U);
    for (const Result& r : results) {
      const std::uint32_t task = r.span.task;
      if (task == 1) {
        EXPECT_NE(r.error.find("failed"), std::string::npos) << r.error;
      } else if (task == 3) {
        EXPECT_NE(r.error.find("imed out"), std::string::npos) << r.error;
      } else if (task == 5) {
        EXPECT_NE(r.error.find("onnect"), std::string::npos) << r.error;
      } else {
        EXPECT_EQ(r.error, "") << "task " << task;
        EXPECT_EQ(r.value, 1000U) << "task " << task;
      }
    }
    EXPECT_FALSE(executor->broken());
    for (const Result& r : executor->Run({.job = &healthy, .tasks = 8, .payload = {}})) {
      EXPECT_EQ(r.error, "");
      EXPECT_EQ(r.value, 1000U);
    }
  }
}

TEST(AsyncExecutorTest, ApiReusesItsConnectionsAcrossTasksAndBatches) {
  api::Server server;
  const Job job{"api", api::MakeConfig(server.Url(1, 100), 100, 5000)};
  auto executor = Async(16);
  for (int round = 0; round < 3; ++round) {
    for (const Result& r : executor->Run({.job = &job, .tasks = 100, .payload = {}})) {
      EXPECT_EQ(r.error, "");
    }
  }
  EXPECT_EQ(server.requests(), 300);
  EXPECT_LE(server.connections(), 16) << "at most one connection per slot, kept alive";
}

TEST(AsyncExecutorTest, DescriptorsAreBackWhereTheyWereAfterTheExecutorIsDestroyed) {
  Watchdog watchdog(std::chrono::seconds(120));
  api::Server server;
  const Job job{"api", api::MakeConfig(server.Url(5, 1000), 1000, 5000)};
  TempDir dir(std::filesystem::temp_directory_path().string());
  const Job io_job{"io", io::MakeConfig(dir.path(), false, 4096, true)};
  // Before counting: libcurl and liburing loaded, the server's body file for 1000 bytes made
  // (it keeps each body it has sent in a memory file).
  (void)Async(1)->Run({.job = &job, .tasks = 1, .payload = {}});
  (void)Async(1)->Run({.job = &io_job, .tasks = 1, .payload = {}});
  // The server closes the warm-up's connection asynchronously: wait for its listener alone.
  for (int i = 0; i < 1000 && testing::OpenSocketCount() != 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const int before = OpenFdCount();
  {
    auto executor = Async(256);
    for (const Result& r : executor->Run({.job = &job, .tasks = 512, .payload = {}})) {
      ASSERT_EQ(r.error, "");
    }
    const auto io_results = executor->Run({.job = &io_job, .tasks = 64, .payload = {}});
    for (const Result& r : io_results) {
      if (!r.error.empty()) {
        EXPECT_NE(r.error.find("io_uring"), std::string::npos) << r.error;
        break;  // no io_uring here: the api half still counts
      }
    }
  }
  EXPECT_EQ(SettleFds(before), before) << "a socket, ring or file outlived the executor";
}

// io asynchronously: every file written whole, or (without io_uring) the reason in every task.
TEST(AsyncExecutorTest, IoThroughIoUringWritesEveryFileOrSaysWhyNot) {
  namespace fs = std::filesystem;
  TempDir dir(fs::temp_directory_path().string());
  const auto payload = io::MakeText(200'000);
  for (bool durable : {false, true}) {
    const Job job{"io", io::MakeConfig(dir.path(), durable, 0, false).Set("keep", 1)};
    auto executor = Async(8);
    const auto results = executor->Run({.job = &job, .tasks = 20, .payload = payload});
    if (!results[0].error.empty() && results[0].error.find("io_uring") != std::string::npos) {
      GTEST_SKIP() << "io_uring is unavailable, and io/async says why: " << results[0].error;
    }
    for (const Result& r : results) {
      ASSERT_EQ(r.error, "");
      EXPECT_EQ(r.value, payload.size());
      std::ifstream in(fs::path(dir.path()) / io::FileName(r.span.task), std::ios::binary);
      std::stringstream text;
      text << in.rdbuf();
      EXPECT_TRUE(text.str() ==
                  std::string(reinterpret_cast<const char*>(payload.data()), payload.size()))
          << "file of task " << r.span.task;
    }
  }
}

TEST(AsyncExecutorTest, IoFailuresNameTheFileAndTheCause) {
  const Job job{"io", io::MakeConfig("/proc/parbench-no-such-dir", false, 10, true)};
  auto executor = Async(4);
  const auto results = executor->Run({.job = &job, .tasks = 3, .payload = {}});
  for (const Result& r : results) {
    if (r.error.find("io_uring is not available") != std::string::npos) GTEST_SKIP() << r.error;
    EXPECT_NE(r.error.find("cannot create /proc/parbench-no-such-dir/task-"), std::string::npos)
        << r.error;
  }
  EXPECT_FALSE(executor->broken());
}

}  // namespace
}  // namespace parbench
