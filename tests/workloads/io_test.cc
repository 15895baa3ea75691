// The io workload: file content, cleanup, durable mode, and a clear error on a bad directory.
#include "workloads/io.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/resources.h"
#include "common/temp_dir.h"
#include "executors/executor.h"
#include "executors/process_pool.h"
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
