// Faults the executors must survive: a process worker that dies mid-task (SIGSEGV, abort,
// exit(3), SIGKILL), a task that hangs or throws (threads and processes), and a worker that
// breaks the protocol. Every test runs under a watchdog and checks afterwards that no child
// (not even a zombie) remains and the descriptor count is back where it was.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "executors/process/frame.h"
#include "executors/process/pool.h"
#include "executors/thread_pool.h"
#include "tests/support.h"

namespace parbench {
namespace {

using testing::ChildPids;
using testing::OpenFdCount;
using testing::Watchdog;

Job Fault(const std::string& mode, int task, int ms = 0) {
  return {"fault", Config().Set("mode", mode).Set("task", task).Set("ms", ms)};
}

ExecutorOptions Options(int workers, std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  ExecutorOptions options;
  options.workers = workers;
  options.task_timeout = timeout;
  return options;
}

// Runs `job` on a fresh 2-worker process pool, expects an ExecutorError, returns its message.
std::string ProcessFailure(const Job& job, std::vector<int>* pids = nullptr,
                           std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  ProcessPool pool(Options(2, timeout));
  if (pids != nullptr) *pids = pool.pids();
  try {
    (void)pool.Run({.job = &job, .tasks = 6, .payload = {}});
  } catch (const ExecutorError& e) {
    EXPECT_TRUE(pool.broken());
    return e.what();
  }
  ADD_FAILURE() << "Run() did not throw";
  return "";
}

struct Death {
  const char* mode;
  const char* status;
  friend void PrintTo(const Death& d, std::ostream* os) { *os << d.mode; }
};

class WorkerDeathTest : public ::testing::TestWithParam<Death> {};

TEST_P(WorkerDeathTest, IsReportedWithSlotPidStatusAndTaskAndLeavesNothingBehind) {
  Watchdog watchdog(std::chrono::seconds(60));
  const int fds_before = OpenFdCount();
  std::vector<int> pids;
  const std::string what = ProcessFailure(Fault(GetParam().mode, 3), &pids);
  EXPECT_NE(what.find(GetParam().status), std::string::npos) << what;
  EXPECT_NE(what.find("while running task 3"), std::string::npos) << what;
  EXPECT_NE(what.find("worker slot "), std::string::npos) << what;
  const bool names_a_worker =
      what.find("(pid " + std::to_string(pids[0]) + ")") != std::string::npos ||
      what.find("(pid " + std::to_string(pids[1]) + ")") != std::string::npos;
  EXPECT_TRUE(names_a_worker) << what;
  EXPECT_TRUE(ChildPids().empty()) << "no zombie, no orphan";
  EXPECT_EQ(OpenFdCount(), fds_before) << "no leaked descriptor";
}

INSTANTIATE_TEST_SUITE_P(Faults, WorkerDeathTest,
                         ::testing::Values(Death{"segv",
                                                 "was killed by signal 11 (Segmentation fault)"},
                                           Death{"abort", "was killed by signal 6 (Aborted)"},
                                           Death{"exit", "exited with status 3"},
                                           Death{"kill", "was killed by signal 9 (Killed)"}),
                         [](const auto& param_info) { return std::string(param_info.param.mode); });

TEST(FaultTest, AHungProcessTaskIsKilledAtTheTimeoutAndNamed) {
  Watchdog watchdog(std::chrono::seconds(60));
  const int fds_before = OpenFdCount();
  const std::string what =
      ProcessFailure(Fault("hang", 2, 600'000), nullptr, std::chrono::milliseconds(300));
  EXPECT_NE(what.find("ran longer than the task timeout of 300 ms and was killed"),
            std::string::npos)
      << what;
  EXPECT_NE(what.find("task 2"), std::string::npos) << what;
  EXPECT_TRUE(ChildPids().empty());
  EXPECT_EQ(OpenFdCount(), fds_before);
}

TEST(FaultTest, AHungThreadTaskIsReportedAndSaysTheThreadCannotBeKilled) {
  Watchdog watchdog(std::chrono::seconds(60));
  std::string what;
  {
    ThreadPool pool(Options(2, std::chrono::milliseconds(300)));
    const Job job = Fault("hang", 1, 3000);  // returns after 3 s, long after the report
    try {
      // Hand-off: a worker runs the hung task (one the caller ran would be found out only once
      // it returned).
      (void)pool.Run({.job = &job, .tasks = 4, .payload = {}, .handoff = true});
      ADD_FAILURE() << "Run() did not throw";
    } catch (const ExecutorError& e) {
      what = e.what();
    }
    EXPECT_TRUE(pool.broken());
  }  // the destructor must not wait for the stuck thread
  EXPECT_NE(what.find("task 1"), std::string::npos) << what;
  EXPECT_NE(what.find("a thread cannot be killed"), std::string::npos) << what;
}

TEST(FaultTest, AThrowingTaskReachesTheResultAndThePoolStaysUsable) {
  Watchdog watchdog(std::chrono::seconds(60));
  for (std::string_view kind : {"threads", "processes"}) {
    auto executor = MakeExecutor(kind, Options(2));
    const Job job = Fault("throw", 2);
    const auto results = executor->Run({.job = &job, .tasks = 5, .payload = {}});
    for (const Result& r : results) {
      if (r.span.task == 2) {
        EXPECT_EQ(r.error, "fault: thrown on purpose by task 2") << kind;
      } else {
        EXPECT_EQ(r.error, "") << kind;
      }
    }
    EXPECT_FALSE(executor->broken());
    const Job fine = Fault("none", 99);
    for (const Result& r : executor->Run({.job = &fine, .tasks = 5, .payload = {}})) {
      EXPECT_EQ(r.error, "");
    }
  }
  EXPECT_TRUE(ChildPids().empty());
}

// A fake worker in Python that answers the pool with crafted frames.
class FakeWorker {
 public:
  explicit FakeWorker(const std::string& body) {
    char path[] = "/tmp/parbench-fake-worker-XXXXXX";
    const int fd = ::mkstemp(path);
    ::close(fd);
    path_ = path;
    std::ofstream(path_) << "#!/usr/bin/python3\n"
                            "import os, struct, sys, time\n"
                            "out = sys.stdout.buffer\n"
                            "def frame(kind, body, magic=0x31464250, version="
                         << wire::kVersion
                         << ", size=None):\n"
                            "    n = len(body) if size is None else size\n"
                            "    out.write(struct.pack('<IHHQ', magic, version, kind, n) + body)\n"
                            "    out.flush()\n"
                            "hello = struct.pack('<i', os.getpid())\n"
                         << body << "time.sleep(30)\n";
    ::chmod(path_.c_str(), 0700);
  }
  ~FakeWorker() { ::unlink(path_.c_str()); }
  FakeWorker(const FakeWorker&) = delete;
  FakeWorker& operator=(const FakeWorker&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Starts a pool on the fake worker and runs one task; returns the ExecutorError's message.
std::string FakeWorkerFailure(const std::string& script) {
  FakeWorker fake(script);
  ExecutorOptions options = Options(1);
  options.worker_exe = fake.path();
  try {
    ProcessPool pool(options);
    const Job job{"sleep", Config().Set("ms", 0)};
    (void)pool.Run({.job = &job, .tasks = 1, .payload = {}});
  } catch (const ExecutorError& e) {
    return e.what();
  }
  return "no error";
}

// Each fake worker breaks the protocol one way; the pool must name what broke and leave no
// process behind.
struct Abuse {
  const char* name;
  std::string script;   // Python run after the helpers above
  std::string message;  // part of the ExecutorError's text
  friend void PrintTo(const Abuse& a, std::ostream* os) { *os << a.name; }
};

class ProtocolAbuseTest : public ::testing::TestWithParam<Abuse> {};

TEST_P(ProtocolAbuseTest, IsRejectedNamingWhatBrokeAndLeavesNoChild) {
  Watchdog watchdog(std::chrono::seconds(60));
  const std::string what = FakeWorkerFailure(GetParam().script);
  EXPECT_NE(what.find(GetParam().message), std::string::npos) << what;
  EXPECT_TRUE(ChildPids().empty());
}

INSTANTIATE_TEST_SUITE_P(
    Faults, ProtocolAbuseTest,
    ::testing::Values(
        Abuse{"WrongMagicAtHello", "frame(1, hello, magic=0x12345678)\n", "bad frame magic"},
        Abuse{"AnotherProtocolVersion",
              "frame(1, hello, version=" + std::to_string(wire::kVersion + 1) + ")\n",
              "protocol version " + std::to_string(wire::kVersion + 1)},
        // Rejected before anything that size is allocated.
        Abuse{"AbsurdFrameLength",
              "frame(1, hello)\nsys.stdin.buffer.read(16)\nframe(4, b'', size=1 << 62)\n",
              "exceeds the limit"},
        Abuse{"UnknownFrameType", "frame(1, hello)\nframe(42, b'xyz')\n", "unknown frame type 42"},
        Abuse{"ResultForATaskNeverSent",
              "frame(1, hello)\n"
              "rec = struct.pack('<IQqqiI', 77, 0, 0, 0, 0, 0) + struct.pack('<I', 0)"
              " + struct.pack('<Q', 0)\n"
              "frame(4, struct.pack('<I', 1) + rec)\n",
              "result for task 77"}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

}  // namespace
}  // namespace parbench
