// Test support: test-only workloads (registered in every test binary, and so in its process
// workers) and probes of what the test process holds (children, descriptors).
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
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
//   python_mapped  value 1 when libpython is mapped into the worker's process, else 0
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

// Sets this process's soft RLIMIT_NOFILE for as long as it lives, then restores the old one.
class ScopedDescriptorLimit {
 public:
  explicit ScopedDescriptorLimit(std::uint64_t soft);
  ~ScopedDescriptorLimit();
  ScopedDescriptorLimit(const ScopedDescriptorLimit&) = delete;
  ScopedDescriptorLimit& operator=(const ScopedDescriptorLimit&) = delete;

 private:
  std::uint64_t old_soft_ = 0;
};

// Opens /dev/null until this process has no descriptor left (EMFILE); closes them all when
// destroyed or Release()d.
class DescriptorFiller {
 public:
  DescriptorFiller();
  ~DescriptorFiller() { Release(); }
  DescriptorFiller(const DescriptorFiller&) = delete;
  DescriptorFiller& operator=(const DescriptorFiller&) = delete;
  // Closes every descriptor it opened.
  void Release();
  // True when the last open failed with EMFILE: the table is full.
  [[nodiscard]] bool full() const { return full_; }

 private:
  std::vector<int> fds_;
  bool full_ = false;
};

// Why a test that leaves this process without a free descriptor must skip in this build, or
// "": UndefinedBehaviorSanitizer's vptr check probes memory through a pipe of its own and, with
// no descriptor left for it, reports objects as invalid.
[[nodiscard]] std::string CannotRunOutOfDescriptors();
// Why a test that measures resident memory must skip in this build, or "": AddressSanitizer
// keeps freed memory in quarantine, ThreadSanitizer's shadow memory adds to every byte.
[[nodiscard]] std::string CannotMeasureMemory();

// The pids of `parent`'s children (from /proc).
[[nodiscard]] std::vector<pid_t> ChildrenOf(pid_t parent);

// The path of the running test binary (for tests that spawn it as a worker).
[[nodiscard]] std::string SelfExe();

// How many processes and threads user `uid` runs now: the count the kernel holds against
// RLIMIT_NPROC when one of them starts another.
[[nodiscard]] int TaskCountOf(uid_t uid);
// Threads of this process (from /proc/self/status).
[[nodiscard]] int ThreadCount();

// The user and group a process under a process limit runs as: nobody when this process is root
// (root ignores RLIMIT_NPROC), else this process's own.
struct LimitedUser {
  uid_t uid = 0;
  gid_t gid = 0;
  bool switch_user = false;  // true when this process is root and must become `uid`
};
[[nodiscard]] LimitedUser LimitedUserForThisProcess();

// For a test's child process only: becomes LimitedUserForThisProcess() and sets RLIMIT_NPROC so
// that `spare` more threads or processes can start, as that user's count stands now. Returns ""
// or why it could not.
[[nodiscard]] std::string BecomeLimitedUser(int spare);

// Whether `path` can be reached by any user: every directory from / down to it (itself
// included, when it is one) may be searched by others. A build tree under root's mode-700 home
// cannot be, so a test that runs bench as nobody stages a copy (see StagedCopy).
[[nodiscard]] bool ReachableByOthers(const std::filesystem::path& path);

// Copies of `files` in a fresh directory that every user can reach and read (mode 755, under
// the system's temp directory or /tmp), for a test's child that runs as another user; removed
// with its contents on destruction. A program keeps its modules beside it (bench finds them
// there). ok() is false, with error() saying why, where no such place exists.
class StagedCopy {
 public:
  explicit StagedCopy(const std::vector<std::filesystem::path>& files);
  ~StagedCopy();
  StagedCopy(const StagedCopy&) = delete;
  StagedCopy& operator=(const StagedCopy&) = delete;

  [[nodiscard]] bool ok() const { return error_.empty(); }
  [[nodiscard]] const std::string& error() const { return error_; }
  [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }
  // The copy of the file whose name is `name`.
  [[nodiscard]] std::string Path(const std::string& name) const { return (dir_ / name).string(); }

 private:
  std::filesystem::path dir_;
  std::string error_;
};

// bench and every module beside it (lib*.so), staged by StagedCopy.
[[nodiscard]] std::vector<std::filesystem::path> BenchAndModules(
    const std::filesystem::path& bench);

}  // namespace parbench::testing
