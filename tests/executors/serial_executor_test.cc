// SerialExecutor: the calling thread, task order, a throwing task in its Result, its registry row.
#include "executors/serial_executor.h"

#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

#include "workloads/transfer.h"

namespace parbench {
namespace {

int CallerTid() { return static_cast<int>(::syscall(SYS_gettid)); }

// A workload of this file: value = how many of its tasks ran before this one in the process,
// so the values show the order the tasks really ran in.
std::atomic<std::uint64_t> g_sequence{0};

class SequenceRunner final : public TaskRunner {
 public:
  TaskOutput Run(std::uint32_t, std::span<const std::byte>) override {
    return {.value = g_sequence.fetch_add(1), .reply = {}};
  }
};

void RegisterSequenceWorkload() {
  static const bool registered = [] {
    RegisterWorkload({"sequence", "test: returns the order it ran in",
                      [](const Config&) -> std::unique_ptr<TaskRunner> {
                        return std::make_unique<SequenceRunner>();
                      }});
    return true;
  }();
  (void)registered;
}

TEST(SerialExecutorTest, RunsEveryTaskInTheCallingThread) {
  SerialExecutor serial;
  const Job job{"overhead", Config()};
  const auto results = serial.Run({.job = &job, .tasks = 6, .payload = {}});
  ASSERT_EQ(results.size(), 6U);
  for (std::uint32_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].error, "");
    EXPECT_EQ(results[i].value, i);
    EXPECT_EQ(results[i].span.task, i);
    EXPECT_EQ(results[i].span.slot, 0);
    EXPECT_EQ(results[i].span.pid, ::getpid());
    EXPECT_EQ(results[i].span.tid, CallerTid()) << "task " << i;
  }
}

TEST(SerialExecutorTest, RunsTheTasksOneAfterAnotherInTaskOrder) {
  RegisterSequenceWorkload();
  SerialExecutor serial;
  const Job job{"sequence", Config()};
  const std::uint64_t first = g_sequence.load();
  const auto results = serial.Run({.job = &job, .tasks = 20, .payload = {}});
  ASSERT_EQ(results.size(), 20U);
  for (std::uint32_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].value, first + i) << "task " << i << " ran out of order";
    EXPECT_LE(results[i].span.start_ns, results[i].span.stop_ns);
    if (i > 0) {
      // One at a time: a task starts once the one before it has stopped.
      EXPECT_LE(results[i - 1].span.stop_ns, results[i].span.start_ns) << "task " << i;
    }
  }
}

TEST(SerialExecutorTest, AThrowingTaskLandsInItsResultAndTheOthersStillRun) {
  SerialExecutor serial;
  const Job job{"fault", Config().Set("mode", "throw").Set("task", 2)};
  const auto results = serial.Run({.job = &job, .tasks = 5, .payload = {}});
  ASSERT_EQ(results.size(), 5U);
  for (std::uint32_t i = 0; i < results.size(); ++i) {
    if (i == 2) {
      EXPECT_EQ(results[i].error, "fault: thrown on purpose by task 2");
    } else {
      EXPECT_EQ(results[i].error, "") << "task " << i;
      EXPECT_EQ(results[i].value, i) << "task " << i;
    }
  }
  EXPECT_FALSE(serial.broken());
}

TEST(SerialExecutorTest, ARunnerThatCannotBeBuiltFailsEveryTaskThenTheNextJobRuns) {
  SerialExecutor serial;
  const Job bad{"cpu", Config().Set("steps", 0)};
  const auto failed = serial.Run({.job = &bad, .tasks = 3, .payload = {}});
  ASSERT_EQ(failed.size(), 3U);
  for (const Result& r : failed) {
    EXPECT_NE(r.error.find("cpu: steps must be at least 1"), std::string::npos) << r.error;
  }
  const Job good{"overhead", Config()};
  for (const Result& r : serial.Run({.job = &good, .tasks = 3, .payload = {}})) {
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.value, r.span.task);
  }
}

TEST(SerialExecutorTest, ThePayloadIsSharedByReference) {
  SerialExecutor serial;
  const std::vector<std::byte> payload = transfer::MakePayload(1000);
  const Job job{"transfer", Config()};
  for (const Result& r : serial.Run({.job = &job, .tasks = 3, .payload = payload})) {
    EXPECT_EQ(r.value, transfer::Checksum(payload));
    EXPECT_EQ(r.reply.data(), payload.data()) << "task " << r.span.task << " got a copy";
    EXPECT_EQ(r.reply.size(), payload.size());
  }
}

TEST(SerialExecutorTest, NameWorkersAndRegistryRow) {
  SerialExecutor serial;
  EXPECT_EQ(serial.name(), "serial");
  EXPECT_EQ(serial.workers(), 1);
  const ExecutorInfo* info = FindExecutor("serial");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->name, kBaselineExecutor) << "the serial executor is the baseline";
  EXPECT_TRUE(info->traits.single_worker);
  EXPECT_TRUE(info->traits.shares_memory);
  EXPECT_FALSE(info->traits.starts_processes);
  EXPECT_FALSE(info->traits.transport_axis);
  EXPECT_FALSE(info->traits.async);
  EXPECT_FALSE(info->summary.empty());
  // One worker whatever is asked for.
  ExecutorOptions options;
  options.workers = 4;
  const auto made = MakeExecutor("serial", options);
  EXPECT_EQ(made->name(), "serial");
  EXPECT_EQ(made->workers(), 1);
}

}  // namespace
}  // namespace parbench
