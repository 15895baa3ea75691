// The thread pool where it differs from the other executors: a thread that cannot start.
#include "executors/thread_pool.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "tests/support.h"

namespace parbench {
namespace {

// Exits 0 once this process is back to `threads` threads; 3 if that takes a minute (the
// started workers were not stopped).
[[noreturn]] void ExitWhenThreadsAre(int threads) {
  for (int i = 0; i < 6000 && testing::ThreadCount() != threads; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // a joined thread's exit ends
  }
  std::_Exit(testing::ThreadCount() == threads ? 0 : 3);
}

TEST(ThreadPoolTest, AThreadThatCannotStartIsAnExecutorErrorAndTheStartedOnesAreJoined) {
  // Run in a child (a fresh process: "threadsafe" re-executes this binary) as a user with room
  // for three more threads; _Exit, because nothing else may run in that child.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        if (const std::string why = testing::BecomeLimitedUser(3); !why.empty()) {
          std::fprintf(stderr, "setup failed: %s\n", why.c_str());
          std::_Exit(2);
        }
        const int threads_before = testing::ThreadCount();
        try {
          ThreadPool pool(ExecutorOptions{.workers = 64});
          std::fprintf(stderr, "64 threads started where 3 could\n");
          std::_Exit(1);
        } catch (const ExecutorError& e) {
          std::fprintf(stderr, "%s\n", e.what());
          ExitWhenThreadsAre(threads_before);
        }
      },
      ::testing::ExitedWithCode(0),
      "threads: cannot start worker thread [0-9]+ of 64: Resource temporarily unavailable \\(the "
      "limit on processes and threads, ulimit -u, is reached\\)");
}

}  // namespace
}  // namespace parbench
