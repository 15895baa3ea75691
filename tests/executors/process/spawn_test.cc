// Spawning: a child that cannot start is a clear error and leaves no zombie; a started child
// gets its pipes and only the descriptors meant for it; its owner reaps it (killing it if need
// be), and a raw status tells a crash from an exit.
#include "executors/process/spawn.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "tests/support.h"

namespace parbench {
namespace {

using testing::ChildPids;
using testing::Watchdog;

// ThreadSanitizer replaces vfork with fork, so an exec error the child records never reaches
// the parent's memory (see Spawn()).
#if defined(__SANITIZE_THREAD__)
constexpr bool kVforkIsFork = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr bool kVforkIsFork = true;
#else
constexpr bool kVforkIsFork = false;
#endif
#else
constexpr bool kVforkIsFork = false;
#endif

// Everything `child` writes to its stdout until end of file.
std::string ReadAll(Spawned& child) {
  std::string out;
  char buffer[256];
  ssize_t n = 0;
  while ((n = ::read(child.from_stdout.get(), buffer, sizeof buffer)) > 0) {
    out.append(buffer, static_cast<std::size_t>(n));
  }
  return out;
}

// Runs `script` with /bin/sh and reaps it; returns the raw status.
int ShellStatus(const std::string& script) {
  Spawned child = Spawn({.exe = "/bin/sh", .args = {"-c", script}});
  return child.process.Reap(std::chrono::seconds(30));  // a bound, never reached
}

TEST(SpawnTest, AMissingBinaryIsAClearErrorAndLeavesNoChild) {
  try {
    (void)Spawn({.exe = "/nonexistent/parbench-child"});
    FAIL() << "Spawn() should have thrown";
  } catch (const SpawnError& e) {
    EXPECT_EQ(e.reason(), "No such file or directory");
    EXPECT_NE(std::string(e.what()).find("'/nonexistent/parbench-child'"), std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(ChildPids().empty());
}

TEST(SpawnTest, ABinaryWhoseExecFailsIsReportedAndReaped) {
  // Executable bit set but no valid format: execve fails after vfork, in the child.
  char path[] = "/tmp/parbench-not-a-binary-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "\x01\x02garbage", 9), 9);
  ::close(fd);
  ::chmod(path, 0700);
  if (kVforkIsFork) {
    // The failure shows as the child's exit status instead; the owner still reaps it.
    Spawned child = Spawn({.exe = path});
    EXPECT_EQ(DescribeStatus(child.process.Reap(std::chrono::seconds(30))), "exited with status 1");
  } else {
    EXPECT_THROW((void)Spawn({.exe = path}), SpawnError);
  }
  ::unlink(path);
  EXPECT_TRUE(ChildPids().empty()) << "the child whose exec failed was left a zombie";
}

TEST(SpawnTest, PipesReachTheChildsStdinAndStdout) {
  Spawned cat = Spawn({.exe = "/bin/cat"});
  ASSERT_EQ(::write(cat.to_stdin.get(), "ping", 4), 4);
  cat.to_stdin.Reset();  // end of file: cat exits after echoing
  EXPECT_EQ(ReadAll(cat), "ping");
  EXPECT_EQ(DescribeStatus(cat.process.Reap(std::chrono::seconds(30))), "exited with status 0");
}

TEST(SpawnTest, OnlyStdioAndThePassedDescriptorCrossIntoTheChild) {
  // A descriptor the parent holds without close-on-exec (an output file, a socket) ...
  const int stray = ::fcntl(STDERR_FILENO, F_DUPFD, 20);
  ASSERT_GE(stray, 20);
  // ... and one passed on purpose, which the child reads as descriptor 3.
  const int region = ::memfd_create("parbench-test", MFD_CLOEXEC);
  ASSERT_GE(region, 0);
  ASSERT_EQ(::pwrite(region, "shared", 6, 0), 6);
  Spawned child = Spawn({.exe = "/bin/sh",
                         .args = {"-c", "cat <&3; [ -e /proc/$$/fd/" + std::to_string(stray) +
                                            " ] && echo ' leaked'; exit 0"},
                         .pass_fd = region});
  EXPECT_EQ(ReadAll(child), "shared");
  ::close(stray);
  ::close(region);
}

TEST(SpawnTest, ACrashReadsAsASignalAndAnExitAsAStatus) {
  const int crashed = ShellStatus("kill -SEGV $$");
  EXPECT_TRUE(WIFSIGNALED(crashed));
  EXPECT_EQ(DescribeStatus(crashed), "was killed by signal 11 (Segmentation fault)");
  const int exited = ShellStatus("exit 11");
  EXPECT_TRUE(WIFEXITED(exited));
  EXPECT_EQ(DescribeStatus(exited), "exited with status 11");
}

TEST(SpawnTest, ReapKillsAChildStillRunningAfterTheGrace) {
  Watchdog watchdog(std::chrono::seconds(60));
  Spawned sleeper = Spawn({.exe = "/bin/sleep", .args = {"600"}});
  const int status = sleeper.process.Reap(std::chrono::milliseconds(0));
  EXPECT_EQ(DescribeStatus(status), "was killed by signal 9 (Killed)");
  EXPECT_TRUE(sleeper.process.reaped());
  EXPECT_EQ(sleeper.process.status(), status);
  EXPECT_EQ(sleeper.process.Reap(std::chrono::milliseconds(0)), status) << "reaped only once";
  EXPECT_TRUE(ChildPids().empty());
}

TEST(SpawnTest, AChildIsKilledAndReapedWhenItsOwnerIsDestroyed) {
  Watchdog watchdog(std::chrono::seconds(60));
  pid_t pid = 0;
  {
    Spawned sleeper = Spawn({.exe = "/bin/sleep", .args = {"600"}});
    pid = sleeper.process.pid();
    ASSERT_EQ(ChildPids().size(), 1U);
  }
  EXPECT_TRUE(ChildPids().empty()) << "the child (or its zombie) outlived its owner";
  EXPECT_EQ(::kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
}

TEST(SpawnTest, MovingAChildMovesItsOwnership) {
  Watchdog watchdog(std::chrono::seconds(60));
  ChildProcess owner;
  EXPECT_EQ(owner.pid(), 0);
  EXPECT_TRUE(owner.reaped()) << "an empty owner has nothing to reap";
  {
    Spawned sleeper = Spawn({.exe = "/bin/sleep", .args = {"600"}});
    owner = std::move(sleeper.process);
  }
  EXPECT_EQ(ChildPids().size(), 1U) << "the moved-from owner must not reap it";
  ChildProcess other = std::move(owner);
  EXPECT_FALSE(other.reaped());
  EXPECT_EQ(DescribeStatus(other.Reap(std::chrono::milliseconds(0))),
            "was killed by signal 9 (Killed)");
  EXPECT_TRUE(ChildPids().empty());
}

}  // namespace
}  // namespace parbench
