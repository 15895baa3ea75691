#include "common/cleanup.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>
#include <system_error>
#include <thread>

namespace parbench::cleanup {
namespace {

struct Registry {
  std::mutex mu;
  std::set<pid_t> processes;
  std::set<std::string> directories;
};

Registry& registry() {
  static Registry* r = new Registry;  // never destroyed: the handler thread may use it at exit
  return *r;
}

// The signals that stop bench with a cleanup: Ctrl-C, a polite kill (or a CI timeout), a
// closed terminal, Ctrl-\.
constexpr int kStopSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

// "SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT".
const char* SignalName(int sig) {
  switch (sig) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGHUP:
      return "SIGHUP";
    case SIGQUIT:
      return "SIGQUIT";
    default:
      return "a signal";
  }
}

int g_pipe[2] = {-1, -1};
std::atomic<InterruptNote> g_note{nullptr};

void OnSignal(int sig) {
  const int saved = errno;
  const unsigned char byte = static_cast<unsigned char>(sig);
  [[maybe_unused]] const ssize_t n = ::write(g_pipe[1], &byte, 1);
  errno = saved;
}

[[noreturn]] void Watch() {
  unsigned char sig = 0;
  while (::read(g_pipe[0], &sig, 1) != 1) {
  }
  Registry& r = registry();
  std::unique_lock lock(r.mu);  // held to the end: nothing registers or unregisters after this
  for (pid_t pid : r.processes) ::kill(pid, SIGKILL);
  for (pid_t pid : r.processes) {
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  for (const std::string& dir : r.directories) {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  if (const InterruptNote note = g_note.load(); note != nullptr) {
    if (const std::string text = note(); !text.empty()) {
      std::fprintf(stderr, "bench: %s\n", text.c_str());
    }
  }
  std::fprintf(stderr,
               "bench: interrupted by %s: stopped %zu worker process(es), removed %zu "
               "temp dir(s)\n",
               SignalName(sig), r.processes.size(), r.directories.size());
  std::fflush(stderr);
  ::_exit(128 + sig);
}

}  // namespace

void AddProcess(pid_t pid) {
  std::lock_guard lock(registry().mu);
  registry().processes.insert(pid);
}

void RemoveProcess(pid_t pid) {
  std::lock_guard lock(registry().mu);
  registry().processes.erase(pid);
}

void AddDirectory(const std::string& path) {
  std::lock_guard lock(registry().mu);
  registry().directories.insert(path);
}

void RemoveDirectory(const std::string& path) {
  std::lock_guard lock(registry().mu);
  registry().directories.erase(path);
}

void SetInterruptNote(InterruptNote note) { g_note.store(note); }

std::string InstallInterruptHandler() {
  if (::pipe2(g_pipe, O_CLOEXEC) != 0) {
    return std::string("cannot make the interrupt handler's pipe: ") + std::strerror(errno);
  }
  try {
    std::thread(Watch).detach();
  } catch (const std::system_error& e) {
    // EAGAIN: the limit on processes (ulimit -u) is reached. Without the thread nobody would
    // act on the pipe, so the signals keep their default actions.
    ::close(g_pipe[0]);
    ::close(g_pipe[1]);
    g_pipe[0] = g_pipe[1] = -1;
    const std::string why = std::strerror(e.code().value());
    return "cannot start the thread that handles SIGINT, SIGTERM, SIGHUP and SIGQUIT: " + why;
  }
  struct sigaction action {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  for (int sig : kStopSignals) ::sigaction(sig, &action, nullptr);
  return "";
}

}  // namespace parbench::cleanup
