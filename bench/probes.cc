#include "bench/probes.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "executors/executor.h"
#include "executors/park.h"
#include "executors/process/spawn.h"
#include "executors/process/worker_main.h"
#include "workloads/cpu.h"

extern char** environ;

namespace parbench {
namespace {

// Work units done in `seconds` by the calling thread.
std::int64_t Spin(double seconds, std::atomic<std::uint64_t>& sink) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  std::int64_t units = 0;
  std::uint64_t acc = 0;
  while (std::chrono::steady_clock::now() < end) {
    acc += cpu::Spin(20'000, static_cast<std::uint64_t>(units) + 1);  // about 35 µs
    ++units;
  }
  sink += acc;  // keeps the work observable
  return units;
}

}  // namespace

double NoiseProbe(int threads, double seconds) {
  std::atomic<std::uint64_t> sink{0};
  const double single = static_cast<double>(Spin(seconds, sink));
  std::vector<std::int64_t> units(static_cast<std::size_t>(threads));
  std::vector<std::thread> pool;
  std::string failure;
  for (int i = 0; i < threads && failure.empty(); ++i) {
    try {
      pool.emplace_back([&, i] {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(static_cast<std::size_t>(i % CPU_SETSIZE), &set);
        pthread_setaffinity_np(pthread_self(), sizeof set, &set);  // best effort
        units[static_cast<std::size_t>(i)] = Spin(seconds, sink);
      });
    } catch (const std::system_error& e) {
      failure = "the noise probe cannot start thread " + std::to_string(i + 1) + " of " +
                std::to_string(threads) + ": " + std::strerror(e.code().value());
      if (e.code().value() == EAGAIN) failure += " (the limit on processes, ulimit -u, is reached)";
    }
  }
  for (auto& t : pool) t.join();  // before throwing: a joinable thread's destructor terminates
  if (!failure.empty()) throw std::runtime_error(failure);
  double parallel = 0;
  for (std::int64_t u : units) parallel += static_cast<double>(u);
  return single > 0 ? parallel / (single * threads) : 0;
}

struct PipePingPong::Impl {
  Spawned cat;
};

PipePingPong::PipePingPong() : impl_(new Impl{Spawn({.exe = "/bin/cat"})}) {}

PipePingPong::~PipePingPong() {
  impl_->cat.to_stdin.Reset();  // cat sees end of file and exits
  // cat exits at once; the grace only bounds a wait that should never be needed.
  impl_->cat.process.Reap(std::chrono::seconds(10));
  delete impl_;
}

bool PipePingPong::Ping(std::uint64_t message) {
  if (::write(impl_->cat.to_stdin.get(), &message, sizeof message) != sizeof message) {
    return false;
  }
  std::uint64_t back = 0;
  std::size_t got = 0;
  while (got < sizeof back) {
    const ssize_t r = ::read(impl_->cat.from_stdout.get(), reinterpret_cast<char*>(&back) + got,
                             sizeof back - got);
    if (r <= 0) return false;
    got += static_cast<std::size_t>(r);
  }
  return back == message;
}

namespace {

// The page a ShmPingPong shares: the parent's number and the child's echo on lines of their own.
struct ShmPage {
  alignas(64) std::atomic<std::uint64_t> ping{0};
  alignas(64) std::atomic<std::uint64_t> pong{0};
};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free, "shared between processes");

constexpr std::uint64_t kStop = ~std::uint64_t{0};
constexpr std::int64_t kSpinNs = 20'000;  // then yield the CPU: the other side may need it

// Spins until `ready()`; after kSpinNs yields between looks, and after `give_up_ns` returns
// false. `idle_ns` > 0: after that long, sleeps 100 µs between looks (an idle echo child).
template <typename Ready>
bool SpinFor(Ready ready, std::int64_t give_up_ns, std::int64_t idle_ns = 0) {
  std::int64_t start = 0;
  for (std::uint32_t i = 0;; ++i) {
    if (ready()) return true;
    park::CpuRelax();
    if ((i & 255) != 255) continue;
    const std::int64_t now = NowNs();
    if (start == 0) start = now;
    const std::int64_t waited = now - start;
    if (give_up_ns > 0 && waited > give_up_ns) return false;
    if (idle_ns > 0 && waited > idle_ns) {
      ::usleep(100);
    } else if (waited > kSpinNs) {
      ::sched_yield();
    }
  }
}

}  // namespace

bool IsShmEchoInvocation(int argc, char** argv) { return argc >= 2 && argv[1] == kShmEchoFlag; }

int ShmEchoMain(int argc, char** argv) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);                                   // never outlive bench
  if (argc >= 3 && ::getppid() != std::atoi(argv[2])) return 1;         // the parent died first
  for (int sig : {SIGINT, SIGQUIT, SIGHUP}) std::signal(sig, SIG_IGN);  // the parent decides
  void* map = ::mmap(nullptr, sizeof(ShmPage), PROT_READ | PROT_WRITE, MAP_SHARED, kPassedFd, 0);
  if (map == MAP_FAILED) {
    std::perror("bench --shm_echo: mapping the shared page");
    return 3;
  }
  auto* page = static_cast<ShmPage*>(map);
  std::uint64_t last = 0;
  for (;;) {
    std::uint64_t now = 0;
    // Idle a millisecond (between benchmarks): poll gently instead of holding a CPU.
    (void)SpinFor([&] { return (now = page->ping.load(std::memory_order_acquire)) != last; }, 0,
                  1'000'000);
    if (now == kStop) return 0;
    page->pong.store(now, std::memory_order_release);
    last = now;
  }
}

struct ShmPingPong::Impl {
  ~Impl() {
    if (page != nullptr) ::munmap(page, sizeof(ShmPage));
  }
  UniqueFd memory;
  ShmPage* page = nullptr;
  Spawned echo;
};

ShmPingPong::ShmPingPong() : impl_(new Impl) {
  std::unique_ptr<Impl> impl(impl_);
  impl->memory = UniqueFd(::memfd_create("parbench-shm-pingpong", MFD_CLOEXEC));
  if (!impl->memory.valid() || ::ftruncate(impl->memory.get(), sizeof(ShmPage)) != 0) {
    throw std::runtime_error(std::string("roundtrip/raw_shm: cannot make a shared page: ") +
                             std::strerror(errno));
  }
  void* map =
      ::mmap(nullptr, sizeof(ShmPage), PROT_READ | PROT_WRITE, MAP_SHARED, impl->memory.get(), 0);
  if (map == MAP_FAILED) {
    throw std::runtime_error(std::string("roundtrip/raw_shm: cannot map the shared page: ") +
                             std::strerror(errno));
  }
  impl->page = new (map) ShmPage;
  impl->echo = Spawn({.exe = "/proc/self/exe",
                      .args = {std::string(kShmEchoFlag), std::to_string(::getpid())},
                      .pass_fd = impl->memory.get()});
  impl.release();
}

ShmPingPong::~ShmPingPong() {
  impl_->page->ping.store(kStop, std::memory_order_release);
  impl_->echo.process.Reap(std::chrono::seconds(10));  // it stops at once; the grace bounds it
  delete impl_;
}

bool ShmPingPong::Ping(std::uint64_t message) {
  ShmPage& page = *impl_->page;
  page.ping.store(message, std::memory_order_release);
  return SpinFor([&] { return page.pong.load(std::memory_order_acquire) == message; },
                 5'000'000'000);
}

std::string SpawnAndReap(int processes) {
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  ::posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  std::string exe = "/proc/self/exe";
  std::string flag(kWorkerFlag);
  char* argv[] = {exe.data(), flag.data(), nullptr};
  std::vector<pid_t> pids;
  std::string problem;
  for (int i = 0; i < processes && problem.empty(); ++i) {
    pid_t pid = 0;
    if (const int error = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv, environ);
        error != 0) {
      problem = std::string("startup/raw_spawn: cannot start a process: ") + std::strerror(error);
    } else {
      pids.push_back(pid);
    }
  }
  ::posix_spawn_file_actions_destroy(&actions);
  for (pid_t pid : pids) {  // every child is waited for, whatever happened
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (problem.empty() && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
      problem = "startup/raw_spawn: a spawned worker " + DescribeStatus(status);
    }
  }
  return problem;
}

}  // namespace parbench
