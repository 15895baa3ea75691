// Resource limits and usage: raising the descriptor limit, spotting a shortage, peak memory.
#include "common/resources.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "tests/support.h"

namespace parbench::resources {
namespace {

constexpr std::int64_t kMiB = 1 << 20;

TEST(ResourcesTest, RaisesTheSoftDescriptorLimitToTheHardOneAndSaysWhatItDid) {
  rlimit limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  const std::uint64_t low = static_cast<std::uint64_t>(testing::OpenFdCount()) + 16;
  if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max <= low) {
    GTEST_SKIP() << "the hard limit (" << limit.rlim_max << ") leaves nothing to raise";
  }
  const testing::ScopedDescriptorLimit lowered(low);
  const DescriptorLimitChange change = RaiseDescriptorLimit();
  EXPECT_EQ(change.error, "");
  EXPECT_EQ(change.before, low);
  EXPECT_GT(change.after, low);
  EXPECT_EQ(DescriptorLimit(), change.after);
  EXPECT_EQ(change.Describe(), std::to_string(change.after) + " (raised from " +
                                   std::to_string(low) + ", the hard limit)");
  const DescriptorLimitChange again = RaiseDescriptorLimit();
  EXPECT_EQ(again.before, again.after);
  EXPECT_EQ(again.Describe(), std::to_string(again.after) + " (the hard limit)");
}

TEST(ResourcesTest, ADescriptorShortageIsNamedOnlyWhenThereIsOne) {
  EXPECT_EQ(DescriptorShortage(), "");
  EXPECT_EQ(OpenDescriptors(), testing::OpenFdCount());
  const testing::ScopedDescriptorLimit limit(static_cast<std::uint64_t>(testing::OpenFdCount()) +
                                             32);
  testing::DescriptorFiller filler;
  ASSERT_TRUE(filler.full());
  const std::string shortage = DescriptorShortage();
  EXPECT_NE(shortage.find("file descriptors open (ulimit -n): it is out of descriptors"),
            std::string::npos)
      << shortage;
  filler.Release();
  EXPECT_EQ(DescriptorShortage(), "");
}

TEST(ResourcesTest, PeakRssOfThisProcessFollowsTouchedMemoryAndCanBeReset) {
  if (!ResetPeakRss(::getpid())) GTEST_SKIP() << "this kernel refuses clear_refs";
  const std::int64_t base = PeakRss(::getpid());
  ASSERT_GT(base, 0);
  const std::size_t size = 64 * kMiB;
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  std::memset(p, 1, size);  // resident now
  const std::int64_t peak = PeakRss(::getpid());
  EXPECT_GE(peak, base + 60 * kMiB);
  EXPECT_GE(PeakRssSelf(), peak - kMiB) << "getrusage sees the same peak";
  ::munmap(p, size);
  // The kernel's resident counts are batched per CPU: a few pages either way.
  EXPECT_GE(PeakRss(::getpid()), peak - kMiB) << "a peak stays after the memory is gone";
  ASSERT_TRUE(ResetPeakRss(::getpid()));
  EXPECT_LE(PeakRss(::getpid()), peak - 32 * kMiB) << "until it is reset";
  EXPECT_GT(CurrentRss(::getpid()), 0);
  EXPECT_EQ(PeakRss(999'999'999), -1) << "no such process";
}

TEST(ResourcesTest, PeakRssOfAReapedChildIsCounted) {
  const std::size_t size = 48 * kMiB;
  const pid_t pid = ::fork();
  if (pid == 0) {
    // Only system calls in the child of a threaded test process.
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) ::_exit(1);
    for (std::size_t i = 0; i < size; i += 4096) static_cast<char*>(p)[i] = 1;
    ::_exit(0);
  }
  ASSERT_GT(pid, 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_GE(PeakRssReapedChildren(), static_cast<std::int64_t>(size) - kMiB);
}

}  // namespace
}  // namespace parbench::resources
