// Boost 1.74 enables its vfork path only for pre-2008 POSIX feature macros, which modern glibc
// never sets, so bp::posix::use_vfork fails to link. vfork is available on Linux: turn it on.
#define BOOST_POSIX_HAS_VFORK 1

#include "executors/process/spawn.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/process/args.hpp>
#include <boost/process/child.hpp>
#include <boost/process/exe.hpp>
#include <boost/process/extend.hpp>
#include <boost/process/io.hpp>
#include <boost/process/pipe.hpp>
#include <boost/process/posix.hpp>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <thread>
#include <utility>

#include "common/cleanup.h"

namespace bp = boost::process;

namespace parbench {
namespace {

// A pipe with both ends close-on-exec: a sibling started later must not inherit them, or
// closing our end of this child's stdin would never reach it. The child's own ends still
// arrive, as its stdin and stdout: dup2 clears the flag on the copy.
bp::pipe CloseOnExecPipe(const std::string& exe) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw SpawnError(exe, std::string("pipe2: ") + std::strerror(errno));
  return bp::pipe(fds[0], fds[1]);
}

// Runs in the vforked child before exec: only stdin, stdout, stderr (and `pass_fd`, as
// kPassedFd) cross into the new program; whatever else the parent holds without O_CLOEXEC (an
// output file, a socket) is closed. The child's descriptor table is its own, so this does not
// touch the parent's. No allocation here: the child shares the parent's memory until exec.
void KeepOnlyStdioAnd(int pass_fd) {
  if (pass_fd < 0) {
    ::close_range(kPassedFd, ~0U, 0);
    return;
  }
  if (pass_fd == kPassedFd) {
    ::fcntl(pass_fd, F_SETFD, 0);  // dup2 onto itself would keep O_CLOEXEC
  } else {
    ::dup2(pass_fd, kPassedFd);
  }
  ::close_range(kPassedFd + 1, ~0U, 0);
}

}  // namespace

ChildProcess::ChildProcess(pid_t pid) : pid_(pid), reaped_(false) {
  cleanup::AddProcess(pid_);  // stopped and reaped even if bench is interrupted
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, 0)),
      reaped_(std::exchange(other.reaped_, true)),
      status_(std::exchange(other.status_, 0)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    Reap(std::chrono::milliseconds(0));
    pid_ = std::exchange(other.pid_, 0);
    reaped_ = std::exchange(other.reaped_, true);
    status_ = std::exchange(other.status_, 0);
  }
  return *this;
}

ChildProcess::~ChildProcess() { Reap(std::chrono::milliseconds(0)); }

int ChildProcess::Reap(std::chrono::milliseconds grace) {
  if (reaped_) return status_;
  const auto deadline = std::chrono::steady_clock::now() + grace;
  int raw = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid_, &raw, WNOHANG);
    if (r == pid_) break;
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {  // ECHILD: nothing left to reap (the interrupt handler got there first)
      raw = 0;
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      while (::waitpid(pid_, &raw, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    // Polled rather than blocking in waitpid: there is no waitpid with a timeout.
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  status_ = raw;
  reaped_ = true;
  cleanup::RemoveProcess(pid_);
  return status_;
}

Spawned Spawn(const SpawnOptions& options) {
  // Checked first for a plain early message; a failed exec after vfork is caught below too.
  if (::access(options.exe.c_str(), X_OK) != 0) {
    throw SpawnError(options.exe, std::strerror(errno));
  }
  bp::pipe stdin_pipe = CloseOnExecPipe(options.exe);
  bp::pipe stdout_pipe = CloseOnExecPipe(options.exe);
  const int pass_fd = options.pass_fd;
  std::error_code ec;
  // clang-format would read the redirections' `<` and `>` as template brackets.
  // clang-format off
  bp::child child(
      bp::exe = options.exe, bp::args = options.args,
      bp::std_in < stdin_pipe, bp::std_out > stdout_pipe,
      // clang-format on
      // vfork: the child borrows the parent's memory until exec, so start-up does not grow
      // with the parent's size (no page tables to copy).
      bp::posix::use_vfork,
      bp::extend::on_exec_setup = [pass_fd](auto&) { KeepOnlyStdioAnd(pass_fd); },
      // When exec fails, Boost reports the error but leaves the dead child unreaped.
      bp::extend::on_error =
          [](auto& exec, const std::error_code&) {
            int status = 0;
            if (exec.pid > 0) ::waitpid(exec.pid, &status, 0);
          },
      ec);
  if (ec) throw SpawnError(options.exe, ec.message());
  const pid_t pid = child.id();
  // From here ChildProcess waits for the pid itself (a raw status tells a crash from exit(11));
  // detached, bp::child's destructor never touches the pid again.
  child.detach();
  // Boost closed the child's ends in the parent; the parent's ends move to their owners.
  Spawned spawned{.process = ChildProcess(pid),
                  .to_stdin = UniqueFd(stdin_pipe.native_sink()),
                  .from_stdout = UniqueFd(stdout_pipe.native_source())};
  stdin_pipe.assign_sink(-1);
  stdout_pipe.assign_source(-1);
  return spawned;
}

std::string DescribeStatus(int status) {
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    return "was killed by signal " + std::to_string(sig) + " (" + ::strsignal(sig) + ")";
  }
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  return "stopped with wait status " + std::to_string(status);
}

}  // namespace parbench
