// ThreadPool: name, own threads, the caller taking part (inline) or not (handoff), every task
// once at 1, 2, 4, 8 workers, batches smaller than W, reuse across batches, a caller-run task
// that throws or overruns, wake-ups racing with shutdown, a joining destructor, a timed-out
// task, a thread that cannot start (an idle pool's CPU: idle_test.cc).
#include "executors/thread_pool.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>
#include <thread>

#include "tests/support.h"
#include "workloads/transfer.h"

namespace parbench {
namespace {

using testing::SharedCounter;
using testing::Watchdog;

// The OS thread ids of this process (/proc/self/task).
std::set<int> ThreadIds() {
  std::set<int> out;
  DIR* dir = ::opendir("/proc/self/task");
  if (dir == nullptr) return out;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] != '.') out.insert(std::atoi(e->d_name));
  }
  ::closedir(dir);
  return out;
}

int CallerTid() { return static_cast<int>(::syscall(SYS_gettid)); }

// Waits until none of `tids` is a thread of this process any more (a thread's /proc entry can
// outlive its join by a moment). The caller's watchdog turns "never" into a failure.
bool AllGone(const std::set<int>& tids) {
  for (;;) {
    const std::set<int> now = ThreadIds();
    bool any = false;
    for (int tid : tids) any = any || now.contains(tid);
    if (!any) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

ExecutorOptions Options(int workers, std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  ExecutorOptions options;
  options.workers = workers;
  options.task_timeout = timeout;
  return options;
}

Job BarrierJob(const SharedCounter& counter, int parties) {
  return {"barrier",
          Config().Set("shm", counter.name()).Set("parties", parties).Set("timeout_ms", 20'000)};
}

// Workloads of this file only, registered on first use.
//   exit_probe  value = task index; a runner counts its own destruction (after a pause, so a
//               destructor that does not wait for its workers would see a smaller count)
//   gate        task `task` blocks until OpenGate(), recording its thread id; others return
std::atomic<int> g_runners_built{0};
std::atomic<int> g_runners_destroyed{0};
std::mutex g_gate_mu;
std::condition_variable g_gate_cv;
bool g_gate_open = false;
std::atomic<int> g_gated_tid{0};
std::atomic<int> g_gated_done{0};

class ExitProbeRunner final : public TaskRunner {
 public:
  ExitProbeRunner() { g_runners_built.fetch_add(1); }
  ~ExitProbeRunner() override {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    g_runners_destroyed.fetch_add(1);
  }
  TaskOutput Run(std::uint32_t index, std::span<const std::byte>) override {
    return {.value = index, .reply = {}};
  }
};

class GateRunner final : public TaskRunner {
 public:
  explicit GateRunner(const Config& config)
      : task_(static_cast<std::uint32_t>(config.GetInt("task"))) {}
  TaskOutput Run(std::uint32_t index, std::span<const std::byte>) override {
    if (index == task_) {
      g_gated_tid.store(CallerTid());
      std::unique_lock lock(g_gate_mu);
      g_gate_cv.wait(lock, [] { return g_gate_open; });
      g_gated_done.fetch_add(1);
    }
    return {.value = index, .reply = {}};
  }

 private:
  std::uint32_t task_;
};

void OpenGate() {
  {
    std::lock_guard lock(g_gate_mu);
    g_gate_open = true;
  }
  g_gate_cv.notify_all();
}

// slow_count: task 0 blocks until the second gate opens; every other task sleeps 10 ms and
// counts itself in g_counted.
std::mutex g_gate2_mu;
std::condition_variable g_gate2_cv;
bool g_gate2_open = false;
std::atomic<int> g_counted{0};
std::atomic<int> g_gate2_tid{0};

class SlowCountRunner final : public TaskRunner {
 public:
  TaskOutput Run(std::uint32_t index, std::span<const std::byte>) override {
    if (index == 0) {
      g_gate2_tid.store(CallerTid());
      std::unique_lock lock(g_gate2_mu);
      g_gate2_cv.wait(lock, [] { return g_gate2_open; });
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      g_counted.fetch_add(1);
    }
    return {.value = index, .reply = {}};
  }
};

void RegisterOwnWorkloads() {
  static const bool registered = [] {
    RegisterWorkload({"slow_count", "test: task 0 blocks; the others sleep and count",
                      [](const Config&) -> std::unique_ptr<TaskRunner> {
                        return std::make_unique<SlowCountRunner>();
                      }});
    RegisterWorkload({"exit_probe", "test: counts its runners' destruction",
                      [](const Config&) -> std::unique_ptr<TaskRunner> {
                        return std::make_unique<ExitProbeRunner>();
                      }});
    RegisterWorkload({"gate", "test: one task blocks until the test opens the gate",
                      [](const Config& c) -> std::unique_ptr<TaskRunner> {
                        return std::make_unique<GateRunner>(c);
                      }});
    return true;
  }();
  (void)registered;
}

TEST(ThreadPoolTest, NameAndWorkerCount) {
  for (int w : {1, 3}) {
    ThreadPool pool(Options(w));
    EXPECT_EQ(pool.name(), "threads");
    EXPECT_EQ(pool.workers(), w);
    EXPECT_FALSE(pool.broken());
  }
  EXPECT_EQ(MakeExecutor("threads", Options(2))->name(), "threads");
}

// The W threads the pool started (those of this process that were not there `before`).
std::set<int> StartedSince(const std::set<int>& before) {
  std::set<int> started;
  for (int tid : ThreadIds()) {
    if (!before.contains(tid)) started.insert(tid);
  }
  return started;
}

// The threads `results` ran on; fails the test for an error or a foreign process.
std::set<int> RanOn(const std::vector<Result>& results) {
  std::set<int> ran_on;
  for (const Result& r : results) {
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.span.pid, ::getpid()) << "threads run in the caller's process";
    ran_on.insert(r.span.tid);
  }
  return ran_on;
}

TEST(ThreadPoolTest, AHandoffBatchRunsOnTheWThreadsThePoolStartedNeverOnTheCaller) {
  Watchdog watchdog(std::chrono::seconds(120));
  for (int w : {1, 2, 4, 8}) {
    const std::set<int> before = ThreadIds();
    ThreadPool pool(Options(w));
    // The factory returns with every worker started.
    const std::set<int> started = StartedSince(before);
    EXPECT_EQ(static_cast<int>(started.size()), w) << "workers " << w;
    SharedCounter counter;
    const Job job = BarrierJob(counter, w);  // the first W tasks need W threads at once
    const auto results = pool.Run(
        {.job = &job, .tasks = static_cast<std::uint32_t>(3 * w), .payload = {}, .handoff = true});
    const std::set<int> ran_on = RanOn(results);
    EXPECT_FALSE(ran_on.contains(CallerTid())) << "a hand-off task ran on the caller";
    EXPECT_EQ(ran_on, started) << "workers " << w;
  }
}

TEST(ThreadPoolTest, AnInlineBatchRunsOnTheCallerAndWMinusOneWorkers) {
  Watchdog watchdog(std::chrono::seconds(120));
  for (int w : {1, 2, 4, 8}) {
    const std::set<int> before = ThreadIds();
    ThreadPool pool(Options(w));
    const std::set<int> started = StartedSince(before);
    SharedCounter counter;
    const Job job = BarrierJob(counter, w);  // W parties: the caller and W-1 workers at once
    const std::set<int> ran_on =
        RanOn(pool.Run({.job = &job, .tasks = static_cast<std::uint32_t>(3 * w), .payload = {}}));
    EXPECT_TRUE(ran_on.contains(CallerTid())) << "the caller took no part, workers " << w;
    EXPECT_EQ(static_cast<int>(ran_on.size()), w) << "W runners at most, workers " << w;
    for (int tid : ran_on) {
      EXPECT_TRUE(tid == CallerTid() || started.contains(tid)) << "a foreign thread ran a task";
    }
  }
}

// A lone task the caller may run is the caller's, as a round trip of the inline kind measures
// it: the batch is not published, so no worker spinning after the last batch takes it away.
TEST(ThreadPoolTest, ALoneInlineTaskAlwaysRunsOnTheCaller) {
  Watchdog watchdog(std::chrono::seconds(120));
  const Job job{"overhead", Config()};
  for (int w : {1, 2, 8}) {
    ThreadPool pool(Options(w));
    for (int round = 0; round < 2000; ++round) {
      // Every other round a batch for all the workers, so that they spin for the next one.
      if (round % 2 == 1) (void)pool.Run({.job = &job, .tasks = 64, .payload = {}});
      const std::set<int> ran_on = RanOn(pool.Run({.job = &job, .tasks = 1, .payload = {}}));
      ASSERT_EQ(ran_on, std::set<int>{CallerTid()}) << "round " << round << ", workers " << w;
    }
  }
}

TEST(ThreadPoolTest, EveryTaskRunsExactlyOnceAtOneTwoFourAndEightWorkersInBothKinds) {
  Watchdog watchdog(std::chrono::seconds(120));
  const Job job{"overhead", Config()};
  for (int w : {1, 2, 4, 8}) {
    ThreadPool pool(Options(w));
    for (bool handoff : {false, true}) {
      for (std::uint32_t tasks : {1U, 7U, 1000U, 100'003U}) {
        const auto results =
            pool.Run({.job = &job, .tasks = tasks, .payload = {}, .handoff = handoff});
        ASSERT_EQ(results.size(), tasks);
        std::vector<int> seen(tasks, 0);
        for (std::uint32_t i = 0; i < tasks; ++i) {
          ASSERT_EQ(results[i].error, "");
          ASSERT_EQ(results[i].span.task, i) << "results out of task order";
          ASSERT_EQ(results[i].value, i) << "workers " << w << " task " << i << " never ran";
          ASSERT_GE(results[i].span.slot, 0);
          ASSERT_LT(results[i].span.slot, w) << "a slot beyond W";
          if (handoff) {
            ASSERT_NE(results[i].span.tid, CallerTid());
          }
          ++seen[i];
        }
        EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), static_cast<long>(tasks));
      }
    }
  }
}

TEST(ThreadPoolTest, ABatchSmallerThanWRunsItsTasksAtOnceAndEndsWithoutTheIdleWorkers) {
  Watchdog watchdog(std::chrono::seconds(120));
  ThreadPool pool(Options(8));
  for (bool handoff : {false, true}) {
    for (std::uint32_t tasks : {1U, 2U, 3U, 5U}) {
      SharedCounter counter;
      // Each task waits for all of the batch's tasks: they must run at once, on distinct threads.
      const Job job = BarrierJob(counter, static_cast<int>(tasks));
      const auto results =
          pool.Run({.job = &job, .tasks = tasks, .payload = {}, .handoff = handoff});
      EXPECT_EQ(RanOn(results).size(), tasks) << "tasks " << tasks << " handoff " << handoff;
      EXPECT_EQ(counter.value(), tasks);
    }
  }
  EXPECT_FALSE(pool.broken());
}

TEST(ThreadPoolTest, ACallerRunTaskThatThrowsIsItsResultsErrorAndTheOthersRun) {
  ThreadPool pool(Options(1));  // one worker: an inline batch runs on the caller alone
  const Job job{"fault", Config().Set("mode", "throw").Set("task", 2)};
  const auto results = pool.Run({.job = &job, .tasks = 5, .payload = {}});
  ASSERT_EQ(results.size(), 5U);
  for (const Result& r : results) {
    EXPECT_EQ(r.span.tid, CallerTid()) << "task " << r.span.task;
    if (r.span.task == 2) {
      EXPECT_NE(r.error.find("thrown on purpose by task 2"), std::string::npos) << r.error;
    } else {
      EXPECT_EQ(r.error, "");
      EXPECT_EQ(r.value, r.span.task);
    }
  }
  EXPECT_FALSE(pool.broken());
  const Job overhead{"overhead", Config()};
  EXPECT_EQ(pool.Run({.job = &overhead, .tasks = 3, .payload = {}}).size(), 3U);
}

TEST(ThreadPoolTest, ACallerRunTaskPastTheTimeoutBreaksThePoolOnceItReturns) {
  ThreadPool pool(Options(1, std::chrono::milliseconds(50)));
  const Job job{"sleep", Config().Set("ms", 200)};
  try {
    (void)pool.Run({.job = &job, .tasks = 1, .payload = {}});
    ADD_FAILURE() << "Run() did not throw";
  } catch (const ExecutorError& e) {
    EXPECT_NE(std::string(e.what()).find("task 0 on the calling thread ran longer than the task "
                                         "timeout of 50 ms"),
              std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(pool.broken());
}

TEST(ThreadPoolTest, WakeUpsRacingWithShutdownNeitherHangNorLoseATask) {
  Watchdog watchdog(std::chrono::seconds(120));
  const Job job{"overhead", Config()};
  for (int round = 0; round < 300; ++round) {
    const int w = 1 + round % 8;
    ThreadPool pool(Options(w));
    // Workers are waking, spinning or going to sleep when the destructor stops them.
    const auto tasks = static_cast<std::uint32_t>(round % 5);
    const auto results =
        pool.Run({.job = &job, .tasks = tasks, .payload = {}, .handoff = round % 2 == 0});
    ASSERT_EQ(results.size(), tasks) << "round " << round;
    for (std::uint32_t i = 0; i < tasks; ++i) ASSERT_EQ(results[i].value, i);
    if (round % 3 == 0) std::this_thread::sleep_for(std::chrono::microseconds(round % 97));
  }
}

TEST(ThreadPoolTest, ThePayloadIsSharedByReference) {
  ThreadPool pool(Options(2));
  const std::vector<std::byte> payload = transfer::MakePayload(4096);
  const Job job{"transfer", Config()};
  for (const Result& r : pool.Run({.job = &job, .tasks = 4, .payload = payload})) {
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.reply.data(), payload.data()) << "task " << r.span.task << " got a copy";
    EXPECT_EQ(r.reply.size(), payload.size());
  }
}

TEST(ThreadPoolTest, TwoHundredBatchesInARowEachRunEveryTaskOnce) {
  Watchdog watchdog(std::chrono::seconds(120));
  ThreadPool pool(Options(4));
  SharedCounter counter;  // every barrier task adds one, across all batches
  const Job barrier = BarrierJob(counter, 1);
  const Job overhead{"overhead", Config()};
  std::uint32_t barrier_tasks = 0;
  for (int batch = 0; batch < 200; ++batch) {
    // Fewer tasks than workers, none, and more; the job alternates, so each worker's runner is
    // rebuilt between batches.
    const auto tasks = static_cast<std::uint32_t>(batch % 11);
    const Job& job = batch % 2 == 0 ? barrier : overhead;
    const auto results = pool.Run({.job = &job, .tasks = tasks, .payload = {}});
    ASSERT_EQ(results.size(), tasks) << "batch " << batch;
    for (std::uint32_t i = 0; i < tasks; ++i) {
      ASSERT_EQ(results[i].error, "") << "batch " << batch;
      ASSERT_EQ(results[i].span.task, i) << "batch " << batch;
      ASSERT_NE(results[i].span.tid, 0) << "batch " << batch << " task " << i << " never ran";
      ASSERT_EQ(results[i].value, &job == &barrier ? 1U : i) << "batch " << batch;
    }
    if (&job == &barrier) barrier_tasks += tasks;
    ASSERT_EQ(counter.value(), barrier_tasks) << "a task ran twice or not at all, batch " << batch;
  }
  EXPECT_FALSE(pool.broken());
}

TEST(ThreadPoolTest, TheDestructorJoinsEveryWorker) {
  RegisterOwnWorkloads();
  Watchdog watchdog(std::chrono::seconds(60));
  constexpr int kWorkers = 4;
  const std::set<int> before = ThreadIds();
  std::set<int> started;
  g_runners_built.store(0);
  g_runners_destroyed.store(0);
  {
    ThreadPool pool(Options(kWorkers));
    started = StartedSince(before);
    ASSERT_EQ(static_cast<int>(started.size()), kWorkers);
    const Job job{"exit_probe", Config()};
    // A worker builds a runner when it gets a task (the caller has its own).
    const auto results = pool.Run({.job = &job, .tasks = 16, .payload = {}, .handoff = true});
    for (const Result& r : results) EXPECT_EQ(r.error, "");
    EXPECT_GE(g_runners_built.load(), 1);
    EXPECT_EQ(g_runners_destroyed.load(), 0);
  }
  // Joined: each worker's last act, destroying its runner, happened before the destructor
  // returned.
  EXPECT_EQ(g_runners_destroyed.load(), g_runners_built.load());
  EXPECT_TRUE(AllGone(started));
}

TEST(ThreadPoolTest, ATaskPastTheTimeoutBreaksThePoolNamingTheTaskAndItsThreadIsLetGo) {
  RegisterOwnWorkloads();
  Watchdog watchdog(std::chrono::seconds(60));  // a destructor that joined the stuck thread hangs
  std::string what;
  {
    ThreadPool pool(Options(2, std::chrono::milliseconds(200)));
    const Job job{"gate", Config().Set("task", 1)};
    try {
      // Hand-off: a worker runs the stuck task, so the waiting caller can report it.
      (void)pool.Run({.job = &job, .tasks = 3, .payload = {}, .handoff = true});
      ADD_FAILURE() << "Run() did not throw";
    } catch (const ExecutorError& e) {
      what = e.what();
    }
    EXPECT_TRUE(pool.broken());
    // Broken for good: the next batch is refused, not run.
    const Job overhead{"overhead", Config()};
    EXPECT_THROW((void)pool.Run({.job = &overhead, .tasks = 1, .payload = {}}), ExecutorError);
  }
  EXPECT_NE(what.find("threads: task 1 "), std::string::npos) << what;
  EXPECT_NE(what.find("worker slot"), std::string::npos) << what;
  EXPECT_NE(what.find("200 ms"), std::string::npos) << what;
  // Once its task returns, the abandoned thread ends on its own (its shared state still alive:
  // AddressSanitizer would see a use after free).
  const int stuck = g_gated_tid.load();
  ASSERT_NE(stuck, 0);
  OpenGate();
  EXPECT_TRUE(AllGone({stuck}));
  EXPECT_EQ(g_gated_done.load(), 1);
}

// The batch a timeout abandons ends there: the workers finish the task they run and take no
// other, neither in the destructor (which would then block for the whole batch) nor after it
// (beside the fresh pool the suite starts next).
TEST(ThreadPoolTest, ATimedOutBatchRunsNoFurtherTasks) {
  RegisterOwnWorkloads();
  Watchdog watchdog(std::chrono::seconds(60));
  constexpr int kTasks = 401;  // 4 s of counted tasks on one worker: far beyond the timeout
  int at_destruction = 0;
  {
    ThreadPool pool(Options(2, std::chrono::milliseconds(100)));
    const Job job{"slow_count", Config()};
    EXPECT_THROW((void)pool.Run({.job = &job, .tasks = kTasks, .payload = {}, .handoff = true}),
                 ExecutorError);
  }
  at_destruction = g_counted.load();
  EXPECT_LT(at_destruction, kTasks - 1) << "the destructor ran the rest of the batch";
  const int stuck = g_gate2_tid.load();
  ASSERT_NE(stuck, 0);
  {
    std::lock_guard lock(g_gate2_mu);
    g_gate2_open = true;
  }
  g_gate2_cv.notify_all();
  EXPECT_TRUE(AllGone({stuck}));  // the released thread ends without taking another task
  EXPECT_EQ(g_counted.load(), at_destruction) << "tasks of the abandoned batch ran on";
}

// Exits 0 once this process is back to `threads` threads; 3 if that takes a minute (the
// started workers were not stopped).
[[noreturn]] void ExitWhenThreadsAre(int threads) {
  for (int i = 0; i < 6000 && testing::ThreadCount() != threads; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // a joined thread's exit ends
  }
  std::_Exit(testing::ThreadCount() == threads ? 0 : 3);
}

TEST(ThreadPoolTest, AThreadThatCannotStartIsAnExecutorErrorAndTheStartedOnesAreJoined) {
  // Run in a child (a fresh process: "threadsafe" re-executes this binary) as a user with room
  // for three more threads; _Exit, because nothing else may run in that child.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        if (const std::string why = testing::BecomeLimitedUser(3); !why.empty()) {
          std::fprintf(stderr, "setup failed: %s\n", why.c_str());
          std::_Exit(2);
        }
        const int threads_before = testing::ThreadCount();
        try {
          ThreadPool pool(ExecutorOptions{.workers = 64});
          std::fprintf(stderr, "64 threads started where 3 could\n");
          std::_Exit(1);
        } catch (const ExecutorError& e) {
          std::fprintf(stderr, "%s\n", e.what());
          ExitWhenThreadsAre(threads_before);
        }
      },
      ::testing::ExitedWithCode(0),
      "threads: cannot start worker thread [0-9]+ of 64: Resource temporarily unavailable \\(the "
      "limit on processes and threads, ulimit -u, is reached\\)");
}

}  // namespace
}  // namespace parbench
