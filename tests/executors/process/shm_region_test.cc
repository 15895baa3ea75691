// The shared-memory region: starts empty, grows on demand and never shrinks, keeps every
// mapping that a result still holds valid after growing, and shares its bytes through the memfd
// a worker is given.
#include "executors/process/shm_region.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>

namespace parbench {
namespace {

TEST(ShmRegionTest, StartsEmptyAndGrowsOnlyWhenAskedForMore) {
  ShmRegion region;
  EXPECT_EQ(region.data(), nullptr);
  EXPECT_EQ(region.size(), 0U);
  EXPECT_EQ(region.mapping(), nullptr);
  region.Reserve(8192);
  ASSERT_NE(region.data(), nullptr);
  EXPECT_EQ(region.size(), 8192U);
  std::byte* const first = region.data();
  region.Reserve(100);  // smaller: the region stays as it is
  EXPECT_EQ(region.data(), first);
  EXPECT_EQ(region.size(), 8192U);
  region.Reserve(3 << 20);
  EXPECT_EQ(region.size(), std::size_t{3} << 20);
  region.data()[region.size() - 1] = std::byte{1};  // the whole size is mapped
}

TEST(ShmRegionTest, AnOldMappingStaysValidAfterGrowthWhileHeld) {
  ShmRegion region;
  region.Reserve(4096);
  std::memset(region.data(), 0x5a, 4096);
  const std::shared_ptr<const void> held = region.mapping();
  const std::byte* const old_data = region.data();
  region.Reserve(16 << 20);
  EXPECT_EQ(region.size(), std::size_t{16} << 20);
  EXPECT_NE(region.mapping(), held) << "growing maps the region anew";
  // The old mapping is still readable, and shows the same bytes as the new one: one memfd.
  EXPECT_EQ(old_data[4095], std::byte{0x5a});
  EXPECT_EQ(region.data()[4095], std::byte{0x5a});
  region.data()[0] = std::byte{0x11};
  EXPECT_EQ(old_data[0], std::byte{0x11});
}

TEST(ShmRegionTest, ItsMemfdIsCloseOnExecAndHoldsTheBytes) {
  ShmRegion region;
  ASSERT_GE(region.fd(), 0);
  // Close-on-exec: it reaches only the worker it is passed to (as descriptor 3), no other child.
  EXPECT_NE(::fcntl(region.fd(), F_GETFD) & FD_CLOEXEC, 0);
  region.Reserve(4096);
  std::memcpy(region.data(), "payload", 7);
  char back[7] = {};
  ASSERT_EQ(::pread(region.fd(), back, sizeof back, 0), 7);
  EXPECT_EQ(std::string(back, 7), "payload");
}

}  // namespace
}  // namespace parbench
