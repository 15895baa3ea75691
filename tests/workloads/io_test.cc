// The io workload: file content, cleanup, durable mode, and a clear error on a bad directory.
#include "workloads/io.h"

#include <gtest/gtest.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/resources.h"
#include "common/temp_dir.h"
#include "executors/executor.h"
#include "executors/process/pool.h"
#include "tests/support.h"

namespace parbench::io {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string AsString(const std::vector<std::byte>& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

TEST(IoTest, MakeTextIsExactlyTheSizeAskedAndLineNumbered) {
  for (std::int64_t n : {1, 47, 48, 1000, 1 << 20}) {
    EXPECT_EQ(MakeText(n).size(), static_cast<std::size_t>(n));
  }
  const std::string text = AsString(MakeText(200));
  EXPECT_EQ(text.rfind("parbench io line 000000000000 ", 0), 0U);
  EXPECT_NE(text.find("parbench io line 000000000001 "), std::string::npos);
}

TEST(IoTest, EachTaskWritesThePayloadToItsOwnFile) {
  TempDir dir(fs::temp_directory_path().string());
  const auto payload = MakeText(100'000);
  for (bool durable : {false, true}) {
    auto runner = MakeRunner("io", MakeConfig(dir.path(), durable, 0, false).Set("keep", 1));
    EXPECT_EQ(runner->Run(3, payload).value, payload.size());
    EXPECT_EQ(runner->Run(4, payload).value, payload.size());
    EXPECT_EQ(ReadFile(fs::path(dir.path()) / FileName(3)), AsString(payload));
    EXPECT_EQ(ReadFile(fs::path(dir.path()) / FileName(4)), AsString(payload));
  }
}

TEST(IoTest, LocalPayloadIsBuiltByTheWorker) {
  TempDir dir(fs::temp_directory_path().string());
  auto runner = MakeRunner("io", MakeConfig(dir.path(), false, 5000, true).Set("keep", 1));
  EXPECT_EQ(runner->Run(0, {}).value, 5000U);
  EXPECT_EQ(ReadFile(fs::path(dir.path()) / FileName(0)), AsString(MakeText(5000)));
}

TEST(IoTest, FilesAreRemovedAfterEachTaskAndTheDirectoryWithItsOwner) {
  std::string path;
  {
    TempDir dir(fs::temp_directory_path().string());
    path = dir.path();
    auto runner = MakeRunner("io", MakeConfig(dir.path(), false, 0, false));
    const auto payload = MakeText(4096);
    (void)runner->Run(0, payload);
    EXPECT_TRUE(fs::is_empty(dir.path())) << "the task's file stays only with keep=1";
    // A file left behind by a crashed worker goes with the directory.
    std::ofstream(fs::path(dir.path()) / "left-behind.txt") << "x";
  }
  EXPECT_FALSE(fs::exists(path));
}

TEST(IoTest, AnUnwritableDirectoryIsAClearError) {
  auto runner = MakeRunner("io", MakeConfig("/proc/parbench-no-such-dir", false, 0, false));
  try {
    (void)runner->Run(0, MakeText(10));
    FAIL() << "expected a WorkloadError";
  } catch (const WorkloadError& e) {
    EXPECT_NE(std::string(e.what()).find("/proc/parbench-no-such-dir/task-0.txt"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace parbench::io

namespace parbench::io {
namespace {

TEST(IoTest, AFullDiskIsAClearErrorAndThePartialFileIsRemoved) {
  testing::TmpfsMount disk(256 * 1024);
  if (!disk.mounted()) GTEST_SKIP() << "cannot make a small file system here: " << disk.error();
  auto runner = MakeRunner("io", MakeConfig(disk.path(), false, 0, false).Set("keep", 1));
  try {
    (void)runner->Run(0, MakeText(1 << 20));  // 1 MiB into 256 KiB
    FAIL() << "expected a WorkloadError";
  } catch (const WorkloadError& e) {
    EXPECT_NE(std::string(e.what()).find("No space left on device"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(FileName(0)), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::is_empty(disk.path())) << "the partial file is removed";
}

TEST(IoTest, ADirectoryNamedWithTheConfigSeparatorsWorksInAProcessWorker) {
  // The directory's name travels in the job's Config to the worker process.
  testing::Watchdog watchdog(std::chrono::seconds(60));
  TempDir parent(fs::temp_directory_path().string());
  const fs::path dir = fs::path(parent.path()) / "a;b=c%3B\nd";
  ASSERT_TRUE(fs::create_directory(dir));
  const Job job{"io", MakeConfig(dir.string(), false, 1000, true).Set("keep", 1)};
  auto pool = MakeExecutor("processes", ExecutorOptions{.workers = 1});
  const auto results = pool->Run({.job = &job, .tasks = 2, .payload = {}});
  for (const Result& r : results) {
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.value, 1000U);
  }
  EXPECT_EQ(ReadFile(dir / FileName(1)), AsString(MakeText(1000)));
}

constexpr std::int64_t kMiB = 1 << 20;

TEST(IoTest, TheLocalPayloadIsOneCopyPerProcessHoweverManyThreadsWriteIt) {
  // Each thread of a pool used to build its own local payload: 4 threads, 4 copies.
  if (const std::string why = testing::CannotMeasureMemory(); !why.empty()) GTEST_SKIP() << why;
  if (!resources::ResetPeakRss(::getpid())) GTEST_SKIP() << "this kernel refuses clear_refs";
  constexpr std::int64_t kBytes = 32 * kMiB;
  TempDir dir(fs::temp_directory_path().string());
  const Job job{"io", MakeConfig(dir.path(), false, kBytes, true)};
  const std::int64_t before = resources::CurrentRss(::getpid());
  ASSERT_TRUE(resources::ResetPeakRss(::getpid()));
  {
    auto pool = MakeExecutor("threads", ExecutorOptions{.workers = 4});
    for (const Result& r : pool->Run({.job = &job, .tasks = 8, .payload = {}})) {
      EXPECT_EQ(r.error, "");
      EXPECT_EQ(r.value, static_cast<std::uint64_t>(kBytes));
    }
  }
  const std::int64_t grew = resources::PeakRss(::getpid()) - before;
  EXPECT_LT(grew, 2 * kBytes) << "grew by " << grew / kMiB << " MiB for a 32 MiB payload";
  EXPECT_EQ(SharedText(1000), SharedText(1000)) << "one copy while held";
}

TEST(IoTest, AProcessWorkerHoldsOnePayloadAtATimeAcrossJobs) {
  // A worker used to keep the receive buffer of its last shipped payload while it built the
  // next job's local one, and the other way round: twice the payload.
  if (const std::string why = testing::CannotMeasureMemory(); !why.empty()) GTEST_SKIP() << why;
  testing::Watchdog watchdog(std::chrono::seconds(120));
  constexpr std::int64_t kBytes = 64 * kMiB;
  TempDir dir(fs::temp_directory_path().string());
  ProcessPool pool(ExecutorOptions{.workers = 1});
  const pid_t worker = pool.pids().at(0);
  if (!resources::ResetPeakRss(worker)) GTEST_SKIP() << "this kernel refuses clear_refs";
  const std::int64_t before = resources::CurrentRss(worker);
  const std::vector<std::byte> payload = MakeText(kBytes);
  const Job shipped{"io", MakeConfig(dir.path(), false, kBytes, false)};
  const Job local{"io", MakeConfig(dir.path(), true, kBytes, true)};
  for (const Job* job : {&shipped, &local, &shipped, &local}) {
    const std::span<const std::byte> bytes =
        job == &shipped ? payload : std::span<const std::byte>();
    for (const Result& r : pool.Run({.job = job, .tasks = 2, .payload = bytes})) {
      EXPECT_EQ(r.error, "");
      EXPECT_EQ(r.value, static_cast<std::uint64_t>(kBytes));
    }
  }
  const std::int64_t grew = resources::PeakRss(worker) - before;
  EXPECT_LT(grew, kBytes * 3 / 2) << "grew by " << grew / kMiB << " MiB for a 64 MiB payload";
}

}  // namespace
}  // namespace parbench::io

// The asynchronous form (io_uring). Where the kernel or a seccomp profile refuses io_uring,
// building the runner fails with the reason; these tests then say so and skip.
namespace parbench::io {
namespace {

struct Outcome {
  std::uint64_t value;
  std::string error;
};

// Runs tasks 0..tasks-1 on a fresh asynchronous runner to completion; outcomes by task. An
// unavailable io_uring throws WorkloadError from the runner's construction.
std::vector<Outcome> RunAsync(const Config& config, std::uint32_t tasks,
                              std::span<const std::byte> payload) {
  auto runner = MakeAsyncRunner("io", config);
  for (std::uint32_t i = 0; i < tasks; ++i) runner->Start(i, payload, i);
  std::vector<Outcome> out(tasks);
  while (runner->in_flight() > 0) {
    for (const Completion& c : runner->Poll(1000)) out.at(c.tag) = {c.output.value, c.error};
  }
  return out;
}

#define SKIP_WITHOUT_IO_URING(statement)                                             \
  try {                                                                              \
    statement;                                                                       \
  } catch (const WorkloadError& e) {                                                 \
    const std::string why = e.what();                                                \
    ASSERT_NE(why.find("io_uring is not available here"), std::string::npos) << why; \
    GTEST_SKIP() << why;                                                             \
  }

TEST(IoAsyncTest, EachTaskWritesThePayloadToItsOwnFileAndLeavesNoneBehind) {
  TempDir dir(fs::temp_directory_path().string());
  const auto payload = MakeText(300'000);
  std::vector<Outcome> kept;
  SKIP_WITHOUT_IO_URING(
      kept = RunAsync(MakeConfig(dir.path(), true, 0, false).Set("keep", 1), 16, payload));
  for (std::uint32_t i = 0; i < kept.size(); ++i) {
    EXPECT_EQ(kept[i].error, "");
    EXPECT_EQ(kept[i].value, payload.size());
    EXPECT_EQ(ReadFile(fs::path(dir.path()) / FileName(i)), AsString(payload));
  }
  fs::remove_all(dir.path());
  fs::create_directory(dir.path());
  for (const Outcome& o : RunAsync(MakeConfig(dir.path(), false, 5000, true), 16, {})) {
    EXPECT_EQ(o.error, "");
    EXPECT_EQ(o.value, 5000U);
  }
  EXPECT_TRUE(fs::is_empty(dir.path())) << "without keep each file is removed";
}

TEST(IoAsyncTest, AFullDiskFailsTheTaskNamingTheFileAndThePartialFileIsRemoved) {
  testing::TmpfsMount disk(256 * 1024);
  if (!disk.mounted()) GTEST_SKIP() << "cannot make a small file system here: " << disk.error();
  const auto payload = MakeText(1 << 20);  // 1 MiB into 256 KiB
  std::vector<Outcome> out;
  SKIP_WITHOUT_IO_URING(
      out = RunAsync(MakeConfig(disk.path(), false, 0, false).Set("keep", 1), 1, payload));
  EXPECT_NE(out[0].error.find("No space left on device"), std::string::npos) << out[0].error;
  EXPECT_NE(out[0].error.find(FileName(0)), std::string::npos) << out[0].error;
  EXPECT_TRUE(fs::is_empty(disk.path())) << "the partial file is removed";
}

#if defined(__NR_io_uring_setup)
// In a child process whose seccomp filter answers io_uring_setup with EPERM, as Docker's
// default profile does: building the runner must fail and say exactly that.
void TryIoUringUnderSeccomp() {
  const sock_filter filter[] = {
      {static_cast<std::uint16_t>(BPF_LD | BPF_W | BPF_ABS), 0, 0,
       static_cast<std::uint32_t>(offsetof(seccomp_data, nr))},
      {static_cast<std::uint16_t>(BPF_JMP | BPF_JEQ | BPF_K), 0, 1,
       static_cast<std::uint32_t>(__NR_io_uring_setup)},
      {static_cast<std::uint16_t>(BPF_RET | BPF_K), 0, 0,
       static_cast<std::uint32_t>(SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA))},
      {static_cast<std::uint16_t>(BPF_RET | BPF_K), 0, 0, SECCOMP_RET_ALLOW},
  };
  sock_fprog program{.len = static_cast<unsigned short>(std::size(filter)),
                     .filter = const_cast<sock_filter*>(filter)};
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) {
    std::fprintf(stderr, "cannot install a seccomp filter\n");
    std::_Exit(3);
  }
  try {
    (void)MakeAsyncRunner("io", MakeConfig("/tmp", false, 10, true));
    std::fprintf(stderr, "io_uring worked under the filter\n");
    std::_Exit(4);
  } catch (const WorkloadError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    std::_Exit(0);
  }
}

TEST(IoAsyncDeathTest, WhereASeccompProfileBlocksIoUringTheRunnerSaysSo) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // a fresh process: no threads of ours
  EXPECT_EXIT(TryIoUringUnderSeccomp(), ::testing::ExitedWithCode(0),
              "io_uring is not available here: io_uring_queue_init failed: Operation not "
              "permitted \\(a seccomp profile blocks io_uring_setup");
}
#endif

}  // namespace
}  // namespace parbench::io
