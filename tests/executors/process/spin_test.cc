// The process pool's spin before blocking: who may spin, and that a spin ends on input, on end
// of file and when its time is up (behaviour, never speed).
#include "executors/process/spin.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>

#include "common/unique_fd.h"

namespace parbench {
namespace {

using process_spin::MaySpin;
using process_spin::SpinPoll;

TEST(ProcessSpinTest, OnlyWhenTheParentAndTheBusyWorkersFitOnTheCpus) {
  EXPECT_TRUE(MaySpin(/*busy=*/1, /*running=*/0, /*usable=*/2)) << "a round trip on 2 CPUs";
  EXPECT_FALSE(MaySpin(2, 0, 2)) << "two busy workers and the parent on 2 CPUs";
  EXPECT_FALSE(MaySpin(32, 0, 2)) << "32 workers on 2 CPUs: no spin at all";
  EXPECT_FALSE(MaySpin(1, 1, 2)) << "a running thread of the parent counts too";
  EXPECT_FALSE(MaySpin(1, 0, 1)) << "one CPU: a spinner would only delay the worker";
  EXPECT_TRUE(MaySpin(7, 0, 8));
}

struct Pipe {
  Pipe() {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    read_end = UniqueFd(fds[0]);
    write_end = UniqueFd(fds[1]);
  }
  UniqueFd read_end;
  UniqueFd write_end;
};

TEST(ProcessSpinTest, ASpinOnAnEmptyPipeRunsOutAndReportsNothing) {
  Pipe p;
  pollfd fd{p.read_end.get(), POLLIN, 0};
  EXPECT_EQ(SpinPoll({&fd, 1}, std::chrono::microseconds(20)), 0);
  EXPECT_EQ(fd.revents, 0);
}

TEST(ProcessSpinTest, ASpinEndsWhenBytesAreWaiting) {
  Pipe p;
  ASSERT_EQ(::write(p.write_end.get(), "x", 1), 1);
  pollfd fd{p.read_end.get(), POLLIN, 0};
  // A spin far longer than any test: it must end on the byte, not on its clock.
  EXPECT_EQ(SpinPoll({&fd, 1}, std::chrono::hours(1)), 1);
  EXPECT_NE(fd.revents & POLLIN, 0);
}

TEST(ProcessSpinTest, ASpinEndsAtEndOfFile) {
  Pipe p;
  p.write_end.Reset();  // the parent closed the worker's stdin: the worker must not spin on
  pollfd fd{p.read_end.get(), POLLIN, 0};
  EXPECT_EQ(SpinPoll({&fd, 1}, std::chrono::hours(1)), 1);
  EXPECT_NE(fd.revents & POLLHUP, 0);
}

}  // namespace
}  // namespace parbench
