// Spawning: starts a child process with pipes to its stdin and stdout, and owns it until reaped.
//
// The only place in parbench that includes Boost.Process (Boost 1.74, with vfork + exec), so
// moving to another process library touches this file pair alone. The child gets stdin and
// stdout from two fresh pipes, keeps the parent's stderr, may get one more descriptor as
// kPassedFd, and has every other descriptor closed before exec. Its owner, ChildProcess, reaps
// it with a raw waitpid status (a crash told from exit(11)) and kills it first if it must.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/unique_fd.h"

namespace parbench {

// The descriptor number SpawnOptions::pass_fd has in the child.
inline constexpr int kPassedFd = 3;

// What to start.
struct SpawnOptions {
  std::string exe = {};                // the binary's path (no PATH search); also argv[0]
  std::vector<std::string> args = {};  // argv[1..]
  int pass_fd = -1;                    // a descriptor the child gets as kPassedFd; -1 for none
};

// A child that could not be started: the binary is missing, not executable, or exec failed.
class SpawnError : public std::runtime_error {
 public:
  SpawnError(const std::string& exe, const std::string& reason)
      : std::runtime_error("cannot start '" + exe + "': " + reason), reason_(reason) {}
  // Why, without the binary's name ("No such file or directory").
  [[nodiscard]] const std::string& reason() const { return reason_; }

 private:
  std::string reason_;
};

struct Spawned;

// Owns one child process: it is reaped exactly once, and killed first if still running.
// Registered with common/cleanup while unreaped, so an interrupted bench stops it too.
// Not thread-safe: one owner drives it.
class ChildProcess {
 public:
  ChildProcess() = default;  // owns no process
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // Kills (SIGKILL) and reaps the child unless it has been reaped already: no zombie is left.
  ~ChildProcess();

  // The OS pid (still known after reaping); 0 when no process is owned.
  [[nodiscard]] pid_t pid() const { return pid_; }
  // True once the child has been waited for.
  [[nodiscard]] bool reaped() const { return reaped_; }
  // The raw waitpid status once reaped (read it with DescribeStatus), else 0.
  [[nodiscard]] int status() const { return status_; }

  // Waits up to `grace` for the child to exit, then kills it (SIGKILL); reaps it either way and
  // returns the raw status. Returns at once when already reaped.
  int Reap(std::chrono::milliseconds grace);

 private:
  friend Spawned Spawn(const SpawnOptions& options);  // the one maker of owned children
  explicit ChildProcess(pid_t pid);  // takes `pid` and registers it with common/cleanup

  pid_t pid_ = 0;
  bool reaped_ = true;  // nothing to reap until a process is owned
  int status_ = 0;
};

// A started child and the parent's ends of its pipes.
struct Spawned {
  ChildProcess process;  // declared first, destroyed last: the pipes close before the kill
  UniqueFd to_stdin;     // write end of the child's stdin (blocking, close-on-exec)
  UniqueFd from_stdout;  // read end of the child's stdout (blocking, close-on-exec)
};

// Starts `options.exe` with vfork + exec: start-up does not grow with the parent's memory.
// Throws SpawnError when the binary cannot be executed; a child whose exec failed is reaped.
// (The exec error crosses from child to parent in the memory vfork shares. ThreadSanitizer
// turns vfork into fork: under it a failed exec shows as the child exiting with status 1.)
[[nodiscard]] Spawned Spawn(const SpawnOptions& options);

// A raw waitpid status in words: "was killed by signal 9 (Killed)", "exited with status 3".
[[nodiscard]] std::string DescribeStatus(int status);

}  // namespace parbench
