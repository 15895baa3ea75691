// cleanup: on SIGTERM (to a death-test child) only what is still registered is stopped or removed.
#include "common/cleanup.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/temp_dir.h"

namespace parbench {
namespace {

namespace fs = std::filesystem;

// Where the child of test process `test_pid` works: known to both sides without talking.
fs::path BaseDir(pid_t test_pid) {
  return fs::temp_directory_path() / ("parbench-cleanup-test-" + std::to_string(test_pid));
}

// A child running `sleep 300` that holds none of the caller's descriptors (a survivor holding
// the death test's status pipe would keep the test waiting).
pid_t SpawnSleeper() {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::closefrom(3);
    ::execlp("sleep", "sleep", "300", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

// The death-test child: registers two processes and five directories, unregisters one of each
// (a TempDir unregisters itself when destroyed), records them, then receives SIGTERM.
[[noreturn]] void RegisterThenInterrupt() {
  const fs::path base = BaseDir(::getppid());
  fs::create_directories(base);
  // Forked before the handler's thread starts: this process is single-threaded here.
  const pid_t registered = SpawnSleeper();
  const pid_t unregistered = SpawnSleeper();
  if (const std::string why = cleanup::InstallInterruptHandler(); !why.empty()) {
    std::fprintf(stderr, "no handler: %s\n", why.c_str());
    std::_Exit(2);
  }
  cleanup::AddProcess(registered);
  cleanup::AddProcess(unregistered);
  cleanup::RemoveProcess(unregistered);

  for (const char* name : {"registered-a", "registered-b", "unregistered"}) {
    fs::create_directories(base / name / "nested");
    std::ofstream(base / name / "nested" / "file.txt") << "data";
    cleanup::AddDirectory((base / name).string());
  }
  cleanup::AddDirectory((base / "registered-a").string());  // twice: still one directory
  cleanup::RemoveDirectory((base / "unregistered").string());
  const auto* alive = new TempDir(base.string());  // registers itself; never destroyed here
  { const TempDir gone(base.string()); }           // registers, then unregisters itself

  std::ofstream(base / "record") << registered << ' ' << unregistered << ' ' << alive->path()
                                 << '\n';
  std::raise(SIGTERM);
  for (;;) ::pause();  // the handler's thread ends the process
}

bool Exists(pid_t pid) { return ::kill(pid, 0) == 0 || errno != ESRCH; }

// Registration is only observable through the handler, so the handler runs in a death-test
// child: the signal never reaches the test process, and the child leaves a record of what it
// registered for the test to check afterwards.
TEST(CleanupTest, OnSigtermStopsAndRemovesWhatIsStillRegisteredAndNothingElse) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // a fresh process: no threads inherited
  // The unregistered sleeper outlives the child; as a subreaper this process inherits and
  // reaps it.
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  EXPECT_EXIT(RegisterThenInterrupt(), ::testing::ExitedWithCode(128 + SIGTERM),
              "bench: interrupted by SIGTERM: stopped 1 worker process\\(es\\), removed 3 temp "
              "dir\\(s\\)");
  ::prctl(PR_SET_CHILD_SUBREAPER, 0);

  const fs::path base = BaseDir(::getpid());
  struct RemoveAtEnd {
    fs::path path;
    ~RemoveAtEnd() {
      std::error_code ignored;
      fs::remove_all(path, ignored);
    }
  } remove_base{base};
  std::ifstream record(base / "record");
  pid_t registered = 0;
  pid_t unregistered = 0;
  std::string alive;
  ASSERT_TRUE(record >> registered >> unregistered >> alive) << "the child wrote no record";
  ASSERT_GT(registered, 0);
  ASSERT_GT(unregistered, 0);

  EXPECT_FALSE(Exists(registered)) << "a registered process is killed and reaped";
  const bool survived = Exists(unregistered);
  EXPECT_TRUE(survived) << "an unregistered process is left alone";
  if (survived) {
    ::kill(unregistered, SIGKILL);
    ::waitpid(unregistered, nullptr, 0);
  }

  EXPECT_FALSE(fs::exists(base / "registered-a"));
  EXPECT_FALSE(fs::exists(base / "registered-b"));
  EXPECT_FALSE(fs::exists(alive)) << "a living TempDir is registered";
  EXPECT_TRUE(fs::exists(base / "unregistered" / "nested" / "file.txt"))
      << "an unregistered directory is left alone";
}

std::string WaitingNote() { return "mpi: waiting on rank 1 (host h1, pid 42): 1 task message"; }
std::string NoNote() { return ""; }

// The death-test child: sets a note (what it waits on), then receives SIGINT.
[[noreturn]] void NoteThenInterrupt(cleanup::InterruptNote note) {
  if (const std::string why = cleanup::InstallInterruptHandler(); !why.empty()) std::_Exit(2);
  cleanup::SetInterruptNote(note);
  std::raise(SIGINT);
  for (;;) ::pause();
}

TEST(CleanupTest, TheNoteSaysWhatWasAwaitedOnALineOfItsOwnBeforeTheInterruptLine) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(NoteThenInterrupt(WaitingNote), ::testing::ExitedWithCode(128 + SIGINT),
              "bench: mpi: waiting on rank 1 \\(host h1, pid 42\\): 1 task message\n"
              "bench: interrupted by SIGINT: stopped 0 worker process\\(es\\)");
  // An empty note (nothing awaited) prints no line of its own.
  EXPECT_EXIT(NoteThenInterrupt(NoNote), ::testing::ExitedWithCode(128 + SIGINT),
              "^bench: interrupted by SIGINT: stopped 0 worker process\\(es\\), removed 0 temp "
              "dir\\(s\\)\n$");
}

}  // namespace
}  // namespace parbench
