// Idle pools (issue 25): after a batch and a short linger, a pool of 8 threads and a pool of 8
// processes use no CPU. A behaviour with a generous bound, not a speed: the workers' CPU time
// (/proc, in ns) may grow by less than 1 ms over 1 s, where one spinning worker would use a
// whole second.
#include <dirent.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "executors/executor.h"
#include "executors/park.h"
#include "executors/process/spin.h"
#include "tests/support.h"

namespace parbench {
namespace {

// The longest linger a pool may have before its idle workers must sleep: the thread pool's
// (park::kLinger) is far below it, and so is the process pool's spin before blocking
// (process_spin::kSpin).
constexpr std::chrono::milliseconds kLingerBound{200};
constexpr std::int64_t kOneMsNs = 1'000'000;

// The entries of directory `path` that are numbers (pids or thread ids).
std::set<int> NumericEntries(const std::string& path) {
  std::set<int> out;
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return out;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] >= '0' && e->d_name[0] <= '9') out.insert(std::atoi(e->d_name));
  }
  ::closedir(dir);
  return out;
}

// CPU time in ns of the threads `tids` of process `pid` (the first field of schedstat).
std::int64_t CpuNs(int pid, const std::set<int>& tids) {
  std::int64_t sum = 0;
  for (int tid : tids) {
    const std::string path =
        "/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/schedstat";
    std::FILE* f = std::fopen(path.c_str(), "r");
    if (f == nullptr) continue;
    long long ns = 0;
    if (std::fscanf(f, "%lld", &ns) == 1) sum += ns;
    std::fclose(f);
  }
  return sum;
}

// CPU time in ns of every thread of the processes `pids`.
std::int64_t ProcessesCpuNs(const std::vector<pid_t>& pids) {
  std::int64_t sum = 0;
  for (pid_t pid : pids) {
    sum += CpuNs(pid, NumericEntries("/proc/" + std::to_string(pid) + "/task"));
  }
  return sum;
}

ExecutorOptions Options(int workers) {
  ExecutorOptions options;
  options.workers = workers;
  options.task_timeout = std::chrono::seconds(60);
  return options;
}

// One batch that wakes every worker: 64 empty tasks handed off (none runs on the caller); then
// round trips of one task, after which a pool's parent and busy worker spin for each other
// before they block (the linger under test).
void RunOneBatch(Executor& pool) {
  const Job job{"overhead", Config()};
  const auto results = pool.Run({.job = &job, .tasks = 64, .payload = {}, .handoff = true});
  ASSERT_EQ(results.size(), 64U);
  for (const Result& r : results) ASSERT_EQ(r.error, "");
  for (int i = 0; i < 100; ++i) {
    const auto one = pool.Run({.job = &job, .tasks = 1, .payload = {}, .handoff = true});
    ASSERT_EQ(one.size(), 1U);
    ASSERT_EQ(one[0].error, "");
  }
}

TEST(IdlePoolTest, EightIdleThreadsUseNoCpuAfterTheLinger) {
  const std::set<int> before = NumericEntries("/proc/self/task");
  const auto pool = MakeExecutor("threads", Options(8));
  std::set<int> workers;
  for (int tid : NumericEntries("/proc/self/task")) {
    if (!before.contains(tid)) workers.insert(tid);
  }
  ASSERT_EQ(workers.size(), 8U);
  ASSERT_LT(park::kLinger, kLingerBound) << "the documented linger outgrew the test's bound";
  RunOneBatch(*pool);
  std::this_thread::sleep_for(kLingerBound);
  const std::int64_t start = CpuNs(::getpid(), workers);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const std::int64_t used = CpuNs(::getpid(), workers) - start;
  RecordProperty("idle_cpu_ns", std::to_string(used));  // in --gtest_output=xml, for the docs
  EXPECT_LT(used, kOneMsNs) << "8 idle worker threads used " << used << " ns of CPU in 1 s";
}

TEST(IdlePoolTest, EightIdleProcessesUseNoCpuAfterTheLinger) {
#if defined(__SANITIZE_THREAD__)
  // Every thread of a worker counts, and ThreadSanitizer's runtime adds one to each worker
  // process that wakes on its own (about 0.2 ms of CPU per second each).
  GTEST_SKIP() << "ThreadSanitizer's own thread in each worker process is not idle";
#endif
  ASSERT_TRUE(testing::ChildPids().empty());
  const auto pool = MakeExecutor("processes", Options(8));
  const std::vector<pid_t> workers = testing::ChildPids();
  ASSERT_EQ(workers.size(), 8U);
  ASSERT_LT(process_spin::kSpin, kLingerBound) << "the documented spin outgrew the test's bound";
  RunOneBatch(*pool);
  std::this_thread::sleep_for(kLingerBound);
  const std::int64_t start = ProcessesCpuNs(workers);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const std::int64_t used = ProcessesCpuNs(workers) - start;
  RecordProperty("idle_cpu_ns", std::to_string(used));
  EXPECT_LT(used, kOneMsNs) << "8 idle worker processes used " << used << " ns of CPU in 1 s";
}

}  // namespace
}  // namespace parbench
