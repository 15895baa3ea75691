// Test support: test-only workloads (registered in every test binary, and so in its process
// workers) and probes of what the test process holds (children, descriptors).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "executors/executor.h"

namespace parbench::testing {

// Registers the test workloads (payload echo is the suite's own "transfer" workload):
//   barrier  each task waits (up to timeout_ms) until `parties` tasks have arrived at a counter
//            in POSIX shared memory `shm`; fails when they do not
//   sleep    sleeps `ms` milliseconds
//   echo     the transfer task (payload checksum and echo)
// barrier, sleep and echo have an asynchronous form too (many tasks in flight on one thread:
// barrier and sleep wait on deadlines, not threads), so an event loop runs the same tests.
//   blas_threads  value = openblas_get_num_threads() in the worker
//   fault    task `task` misbehaves as `mode` says: segv, abort, exit (status 3), kill
//            (SIGKILL), throw, hang (sleeps `ms`); every other task returns its index
void RegisterTestWorkloads();

// The pids of this process's children, zombies included (from /proc).
[[nodiscard]] std::vector<pid_t> ChildPids();
// How many file descriptors this process has open.
[[nodiscard]] int OpenFdCount();
// How many of them are sockets.
[[nodiscard]] int OpenSocketCount();

// A shared-memory counter for the barrier workload; unlinked on destruction.
class SharedCounter {
 public:
  SharedCounter();
  ~SharedCounter();
  SharedCounter(const SharedCounter&) = delete;
  SharedCounter& operator=(const SharedCounter&) = delete;
  [[nodiscard]] const std::string& name() const { return name_; }
  // The counter's current value.
  [[nodiscard]] std::uint32_t value() const;

 private:
  std::string name_;
};

// Fails the test process (std::_Exit(1), with a message) if not destroyed within `limit`: a
// regression shows as a failure instead of a hung CI.
class Watchdog {
 public:
  explicit Watchdog(std::chrono::seconds limit);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// A tmpfs of `bytes` mounted on a fresh temp directory (needs root), unmounted and removed on
// destruction. error() says why mounting failed, if it did.
class TmpfsMount {
 public:
  explicit TmpfsMount(std::size_t bytes);
  ~TmpfsMount();
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;
  [[nodiscard]] bool mounted() const { return mounted_; }
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] const std::string& error() const { return error_; }

 private:
  std::string path_;
  std::string error_;
  bool mounted_ = false;
};

// The pids of `parent`'s children (from /proc).
[[nodiscard]] std::vector<pid_t> ChildrenOf(pid_t parent);

// The path of the running test binary (for tests that spawn it as a worker).
[[nodiscard]] std::string SelfExe();

}  // namespace parbench::testing
