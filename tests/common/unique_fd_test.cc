// UniqueFd: closes its descriptor once, on destruction or reset; moves and Release hand it over.
#include "common/unique_fd.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <memory>

namespace parbench {
namespace {

int OpenNull() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }

// True when `fd` is an open descriptor of this process.
bool IsOpen(int fd) { return ::fcntl(fd, F_GETFD) != -1 || errno != EBADF; }

TEST(UniqueFdTest, DefaultHoldsNothing) {
  const UniqueFd fd;
  EXPECT_FALSE(fd.valid());
  EXPECT_EQ(fd.get(), -1);
}

TEST(UniqueFdTest, ClosesOnDestruction) {
  const int raw = OpenNull();
  ASSERT_GE(raw, 0);
  {
    const UniqueFd fd(raw);
    EXPECT_TRUE(fd.valid());
    EXPECT_EQ(fd.get(), raw);
    EXPECT_TRUE(IsOpen(raw));
  }
  EXPECT_FALSE(IsOpen(raw));
}

TEST(UniqueFdTest, ResetClosesTheOldDescriptorAndTakesTheNew) {
  const int first = OpenNull();
  const int second = OpenNull();
  ASSERT_GE(first, 0);
  ASSERT_GE(second, 0);
  UniqueFd fd(first);
  fd.Reset(second);
  EXPECT_FALSE(IsOpen(first));
  EXPECT_TRUE(IsOpen(second));
  EXPECT_EQ(fd.get(), second);
  fd.Reset();
  EXPECT_FALSE(IsOpen(second));
  EXPECT_FALSE(fd.valid());
}

TEST(UniqueFdTest, ReleaseGivesUpOwnershipWithoutClosing) {
  const int raw = OpenNull();
  ASSERT_GE(raw, 0);
  {
    UniqueFd fd(raw);
    EXPECT_EQ(fd.Release(), raw);
    EXPECT_FALSE(fd.valid());
  }
  EXPECT_TRUE(IsOpen(raw)) << "a released descriptor is the caller's";
  ::close(raw);
}

TEST(UniqueFdTest, MoveConstructionHandsTheDescriptorOver) {
  const int raw = OpenNull();
  ASSERT_GE(raw, 0);
  {
    auto from = std::make_unique<UniqueFd>(raw);
    const UniqueFd to(std::move(*from));
    EXPECT_FALSE(from->valid());  // NOLINT(bugprone-use-after-move): moved-from is empty
    from.reset();
    EXPECT_TRUE(IsOpen(raw)) << "the moved-from owner must not close it";
    EXPECT_EQ(to.get(), raw);
  }
  EXPECT_FALSE(IsOpen(raw));
}

TEST(UniqueFdTest, MoveAssignmentClosesWhatTheTargetHeld) {
  const int old_fd = OpenNull();
  const int new_fd = OpenNull();
  ASSERT_GE(old_fd, 0);
  ASSERT_GE(new_fd, 0);
  UniqueFd target(old_fd);
  {
    UniqueFd source(new_fd);
    target = std::move(source);
    EXPECT_FALSE(source.valid());  // NOLINT(bugprone-use-after-move): moved-from is empty
  }
  EXPECT_FALSE(IsOpen(old_fd));
  EXPECT_TRUE(IsOpen(new_fd));
  EXPECT_EQ(target.get(), new_fd);
  target.Reset();
  EXPECT_FALSE(IsOpen(new_fd));
}

TEST(UniqueFdTest, SelfMoveAssignmentKeepsTheDescriptor) {
  const int raw = OpenNull();
  ASSERT_GE(raw, 0);
  UniqueFd fd(raw);
  UniqueFd& alias = fd;  // through a reference, as it happens in generic code
  fd = std::move(alias);
  EXPECT_EQ(fd.get(), raw);
  EXPECT_TRUE(IsOpen(raw));
}

}  // namespace
}  // namespace parbench
