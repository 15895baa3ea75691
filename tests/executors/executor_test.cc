// The conformance suite: behaviour every registered executor shares, at 1, 2, 4 and 8 workers
// (an executor registered later is tested here without a line of its own): every task exactly
// once, results in task order, W distinct workers really running, a hand-off batch never on the
// calling thread, well-formed spans, errors reported.
#include "executors/executor.h"

#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

#include "tests/support.h"
#include "workloads/family.h"
#include "workloads/transfer.h"

namespace parbench {
namespace {

using testing::SharedCounter;

struct Param {
  std::string executor;
  int workers;
};

std::string ParamName(const ::testing::TestParamInfo<Param>& info) {
  return info.param.executor + "_" + std::to_string(info.param.workers);
}

// Every registered executor at 1, 2, 4 and 8 workers (once for a single-worker executor).
// GoogleTest evaluates this after static initialization, so every registry row is in.
std::vector<Param> Params() {
  std::vector<Param> out;
  for (const ExecutorInfo& info : Executors()) {
    if (info.available != nullptr && !info.available()) continue;
    for (int w : WorkerCountsFor(info, {1, 2, 4, 8})) {
      if (info.traits.single_worker && w > 1) break;
      out.push_back({std::string(info.name), w});
    }
  }
  return out;
}

class ExecutorTest : public ::testing::TestWithParam<Param> {
 protected:
  std::unique_ptr<Executor> Make() {
    ExecutorOptions options;
    options.workers = GetParam().workers;
    options.task_timeout = std::chrono::seconds(60);
    auto executor = MakeExecutor(GetParam().executor, options);
    EXPECT_EQ(executor->name(), GetParam().executor);
    return executor;
  }
  const ExecutorTraits& Traits() const { return FindExecutor(GetParam().executor)->traits; }
  // How many workers the executor really has (a single-worker executor always has one).
  int Workers() const { return Traits().single_worker ? 1 : GetParam().workers; }
};

Job BarrierJob(const SharedCounter& counter, int parties) {
  return {"barrier",
          Config().Set("shm", counter.name()).Set("parties", parties).Set("timeout_ms", 20'000)};
}

TEST_P(ExecutorTest, RunsEveryTaskExactlyOnceInTaskOrder) {
  auto executor = Make();
  for (std::uint32_t tasks : {1U, 7U, 100U}) {
    SharedCounter counter;  // each task adds one: a task run twice would show here
    const Job job = BarrierJob(counter, 1);
    const auto results = executor->Run({.job = &job, .tasks = tasks, .payload = {}});
    ASSERT_EQ(results.size(), tasks);
    for (std::uint32_t i = 0; i < tasks; ++i) {
      EXPECT_EQ(results[i].span.task, i);
      EXPECT_EQ(results[i].error, "");
      EXPECT_EQ(results[i].value, 1U);
    }
    EXPECT_EQ(counter.value(), tasks);
  }
}

TEST_P(ExecutorTest, WDistinctWorkersRunAtOnce) {
  auto executor = Make();
  const int w = Workers();
  SharedCounter counter;
  // The first W tasks all wait until W tasks have arrived: only W workers at once get through.
  const Job job = BarrierJob(counter, w);
  const auto results =
      executor->Run({.job = &job, .tasks = static_cast<std::uint32_t>(3 * w), .payload = {}});
  std::set<std::pair<int, int>> os_workers;
  std::set<int> slots;
  for (const Result& r : results) {
    ASSERT_EQ(r.error, "");
    os_workers.insert({r.span.pid, r.span.tid});
    slots.insert(r.span.slot);
  }
  // An event loop holds its W tasks in flight on one thread: W slots, one OS worker.
  EXPECT_EQ(static_cast<int>(os_workers.size()), Traits().async ? 1 : w);
  EXPECT_EQ(static_cast<int>(slots.size()), w);
  if (Traits().starts_processes) {
    std::set<int> pids;
    for (const Result& r : results) pids.insert(r.span.pid);
    EXPECT_EQ(static_cast<int>(pids.size()), w) << "each process worker is its own process";
  }
}

// Batch::handoff: no task on the calling thread, still W workers at once; an executor whose
// only thread is the caller's refuses the batch.
TEST_P(ExecutorTest, AHandoffBatchNeverRunsATaskOnTheCallingThread) {
  auto executor = Make();
  const int w = Workers();
  SharedCounter counter;
  const Job job = BarrierJob(counter, w);
  const Batch batch{
      .job = &job, .tasks = static_cast<std::uint32_t>(3 * w), .payload = {}, .handoff = true};
  if (Traits().single_worker || Traits().async) {
    EXPECT_THROW((void)executor->Run(batch), std::invalid_argument);
    EXPECT_FALSE(executor->broken());
    return;
  }
  const auto caller = static_cast<std::int32_t>(::syscall(SYS_gettid));
  std::set<std::pair<int, int>> os_workers;
  std::set<int> slots;
  for (const Result& r : executor->Run(batch)) {
    ASSERT_EQ(r.error, "");
    EXPECT_FALSE(r.span.pid == ::getpid() && r.span.tid == caller)
        << "task " << r.span.task << " ran on the calling thread";
    os_workers.insert({r.span.pid, r.span.tid});
    slots.insert(r.span.slot);
  }
  EXPECT_EQ(static_cast<int>(os_workers.size()), w);
  EXPECT_EQ(static_cast<int>(slots.size()), w);
}

TEST_P(ExecutorTest, SpansAreWellFormedInsideTheIterationAndNeverOverlapOnASlot) {
  auto executor = Make();
  const Job job{"sleep", Config().Set("ms", 1)};
  const std::int64_t before = NowNs();
  const auto results = executor->Run(
      {.job = &job, .tasks = static_cast<std::uint32_t>(4 * Workers()), .payload = {}});
  const std::int64_t after = NowNs();
  std::map<int, std::vector<Span>> by_slot;
  for (const Result& r : results) {
    const Span& s = r.span;
    EXPECT_LE(s.start_ns, s.stop_ns);
    EXPECT_LE(before, s.start_ns);
    EXPECT_LE(s.stop_ns, after);
    EXPECT_GE(s.slot, 0);
    EXPECT_LT(s.slot, Workers());
    if (!Traits().remote_workers) {
      EXPECT_EQ(s.host, 0) << "a local worker runs on host 0";
      EXPECT_EQ(s.clock, SpanClock::kHostMonotonic);
    }
    EXPECT_GT(s.pid, 0);
    EXPECT_GT(s.tid, 0);
    by_slot[s.slot].push_back(s);
  }
  for (auto& [slot, spans] : by_slot) {
    std::sort(spans.begin(), spans.end(),
              [](const Span& a, const Span& b) { return a.start_ns < b.start_ns; });
    for (std::size_t i = 1; i < spans.size(); ++i) {
      EXPECT_LE(spans[i - 1].stop_ns, spans[i].start_ns) << "overlap on slot " << slot;
    }
  }
}

TEST_P(ExecutorTest, PayloadReachesEveryTaskAndTheReplyComesBack) {
  auto executor = Make();
  std::vector<std::byte> payload(3 << 20);
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = std::byte(i * 7 + 3);
  const std::uint64_t sum = transfer::Checksum(payload);
  // The same task; an event loop needs a workload with an asynchronous form, which the test
  // workload "echo" adds to transfer's.
  const Job job{Traits().async ? "echo" : "transfer", Config()};
  const auto results = executor->Run({.job = &job, .tasks = 5, .payload = payload});
  for (const Result& r : results) {
    EXPECT_EQ(r.value, sum);
    ASSERT_EQ(r.reply.size(), payload.size());
    EXPECT_TRUE(std::equal(r.reply.begin(), r.reply.end(), payload.begin()));
  }
}

TEST_P(ExecutorTest, AFailingTaskIsReportedAndThePoolStaysUsable) {
  auto executor = Make();
  const Job broken{
      "barrier",
      Config().Set("shm", "/parbench-no-such-object").Set("parties", 1).Set("timeout_ms", 1)};
  const auto failed = executor->Run({.job = &broken, .tasks = 3, .payload = {}});
  for (const Result& r : failed) {
    EXPECT_NE(r.error.find("cannot open shared memory"), std::string::npos) << r.error;
  }
  EXPECT_FALSE(executor->broken());
  const Job sleep{"sleep", Config().Set("ms", 0)};
  const auto ok = executor->Run({.job = &sleep, .tasks = 3, .payload = {}});
  for (const Result& r : ok) EXPECT_EQ(r.error, "");
}

TEST_P(ExecutorTest, EmptyBatchReturnsNoResults) {
  auto executor = Make();
  const Job job{"sleep", Config().Set("ms", 0)};
  EXPECT_TRUE(executor->Run({.job = &job, .tasks = 0, .payload = {}}).empty());
}

INSTANTIATE_TEST_SUITE_P(AllExecutors, ExecutorTest, ::testing::ValuesIn(Params()), ParamName);

TEST(ExecutorRegistryTest, ListsTheBuiltInExecutorsWithTheBaselineFirst) {
  std::vector<std::string_view> names;
  for (const ExecutorInfo& info : Executors()) names.push_back(info.name);
  ASSERT_GE(names.size(), 3U);
  EXPECT_EQ(names[0], kBaselineExecutor);
  for (std::string_view name : {"serial", "threads", "processes"}) {
    EXPECT_NE(FindExecutor(name), nullptr) << name;
  }
  EXPECT_TRUE(FindExecutor("serial")->traits.single_worker);
  EXPECT_TRUE(FindExecutor("processes")->traits.starts_processes);
  EXPECT_TRUE(FindExecutor("processes")->traits.transport_axis);
  EXPECT_TRUE(FindExecutor("threads")->traits.shares_memory);
  EXPECT_EQ(FindExecutor("no such executor"), nullptr);
}

// A peer that joins a few families by default names them as strings: each must be a row of
// the family table (a renamed family would otherwise silently drop the peer from it).
TEST(ExecutorRegistryTest, EveryDefaultFamilyIsARowOfTheFamilyTable) {
  std::set<std::string_view> families;
  for (const Family& family : Families()) families.insert(family.display_name());
  int named = 0;
  for (const ExecutorInfo& info : Executors()) {
    for (std::string_view family : info.default_families) {
      EXPECT_TRUE(families.contains(family))
          << info.name << " joins '" << family << "', which is not a family";
      ++named;
    }
  }
  EXPECT_GT(named, 0) << "tbb, openmp and mpi each join a few families";
}

TEST(ExecutorRegistryTest, RefusesADuplicateNameAndAnUnknownExecutor) {
  EXPECT_THROW(RegisterExecutor({.name = "threads",
                                 .summary = "again",
                                 .traits = {},
                                 .make = FindExecutor("threads")->make}),
               std::logic_error);
  EXPECT_THROW((void)MakeExecutor("no such executor", ExecutorOptions{}), ExecutorError);
}

}  // namespace
}  // namespace parbench
