#include "tests/support.h"

#include <cblas.h>  // openblas_get_num_threads, for the blas_threads probe
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <queue>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <thread>

namespace parbench::testing {
namespace {

class BarrierRunner final : public TaskRunner {
 public:
  explicit BarrierRunner(const Config& config)
      : parties_(static_cast<std::uint32_t>(config.GetInt("parties"))),
        timeout_(config.GetInt("timeout_ms")) {
    const int fd = ::shm_open(config.GetString("shm").c_str(), O_RDWR, 0);
    if (fd < 0)
      throw WorkloadError("barrier: cannot open shared memory " + config.GetString("shm"));
    void* p = ::mmap(nullptr, sizeof(std::atomic<std::uint32_t>), PROT_READ | PROT_WRITE,
                     MAP_SHARED, fd, 0);
    ::close(fd);
    if (p == MAP_FAILED) throw WorkloadError("barrier: mmap failed");
    counter_ = static_cast<std::atomic<std::uint32_t>*>(p);
  }
  ~BarrierRunner() override { ::munmap(counter_, sizeof(*counter_)); }
  BarrierRunner(const BarrierRunner&) = delete;
  BarrierRunner& operator=(const BarrierRunner&) = delete;

  TaskOutput Run(std::uint32_t, std::span<const std::byte>) override {
    Arrive();
    const auto deadline = std::chrono::steady_clock::now() + timeout();
    while (!Open()) {
      if (std::chrono::steady_clock::now() > deadline) throw WorkloadError(Shortfall());
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    return {.value = 1, .reply = {}};
  }

  // One more task has arrived.
  void Arrive() { counter_->fetch_add(1); }
  // Whether `parties` tasks have arrived.
  [[nodiscard]] bool Open() const { return counter_->load() >= parties_; }
  // What a task that waited in vain reports.
  [[nodiscard]] std::string Shortfall() const {
    return "barrier: only " + std::to_string(counter_->load()) + " of " + std::to_string(parties_) +
           " tasks arrived";
  }
  [[nodiscard]] std::chrono::milliseconds timeout() const {
    return std::chrono::milliseconds(timeout_);
  }

 private:
  std::uint32_t parties_;
  std::int64_t timeout_;
  std::atomic<std::uint32_t>* counter_ = nullptr;
};

// The barrier's asynchronous form: one thread holds every task in flight, so W tasks arrive
// at once exactly when W are in flight. Start() arrives; Poll() completes every waiting task
// once `parties` have arrived, or fails those past their deadline.
class BarrierAsyncRunner final : public AsyncTaskRunner {
 public:
  explicit BarrierAsyncRunner(const Config& config) : barrier_(config) {}
  void Start(std::uint32_t, std::span<const std::byte>, std::uint64_t tag) override {
    barrier_.Arrive();
    waiting_.push_back({tag, std::chrono::steady_clock::now() + barrier_.timeout()});
  }
  std::vector<Completion> Poll(int timeout_ms) override {
    std::vector<Completion> done;
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      const bool open = barrier_.Open();
      const auto now = std::chrono::steady_clock::now();
      std::erase_if(waiting_, [&](const Waiting& w) {
        if (open) {
          done.push_back({.tag = w.tag, .output = {.value = 1, .reply = {}}, .error = ""});
          return true;
        }
        if (now <= w.deadline) return false;
        done.push_back({.tag = w.tag, .output = {}, .error = barrier_.Shortfall()});
        return true;
      });
      if (!done.empty() || waiting_.empty() || now >= until) return done;
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }
  [[nodiscard]] std::size_t in_flight() const override { return waiting_.size(); }

 private:
  struct Waiting {
    std::uint64_t tag;
    std::chrono::steady_clock::time_point deadline;
  };
  BarrierRunner barrier_;
  std::vector<Waiting> waiting_;
};

class SleepRunner final : public TaskRunner {
 public:
  explicit SleepRunner(const Config& config) : ms_(config.GetInt("ms")) {}
  TaskOutput Run(std::uint32_t index, std::span<const std::byte>) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms_));
    return {.value = index, .reply = {}};
  }

 private:
  std::int64_t ms_;
};

// The sleep's asynchronous form: each task is a deadline, and Poll() sleeps until the
// earliest one (a timer, not a thread per task).
class SleepAsyncRunner final : public AsyncTaskRunner {
 public:
  explicit SleepAsyncRunner(const Config& config) : ms_(config.GetInt("ms")) {}
  void Start(std::uint32_t index, std::span<const std::byte>, std::uint64_t tag) override {
    due_.push({std::chrono::steady_clock::now() + std::chrono::milliseconds(ms_), tag, index});
  }
  std::vector<Completion> Poll(int timeout_ms) override {
    std::vector<Completion> done;
    if (due_.empty()) return done;
    std::this_thread::sleep_until(std::min(
        due_.top().at, std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms)));
    while (!due_.empty() && due_.top().at <= std::chrono::steady_clock::now()) {
      done.push_back(
          {.tag = due_.top().tag, .output = {.value = due_.top().index, .reply = {}}, .error = ""});
      due_.pop();
    }
    return done;
  }
  [[nodiscard]] std::size_t in_flight() const override { return due_.size(); }

 private:
  struct Due {
    std::chrono::steady_clock::time_point at;
    std::uint64_t tag;
    std::uint32_t index;
    bool operator>(const Due& other) const { return at > other.at; }
  };
  std::int64_t ms_;
  std::priority_queue<Due, std::vector<Due>, std::greater<>> due_;
};

// The suite's transfer task (checksum and echo of the payload) behind an asynchronous form, so
// that the conformance suite sends payloads through an event loop too. Each reply is a copy
// that lives only until the next Poll(), as a real runner's buffers do.
class EchoAsyncRunner final : public AsyncTaskRunner {
 public:
  explicit EchoAsyncRunner(const Config& config) : echo_(MakeRunner("transfer", config)) {}
  void Start(std::uint32_t index, std::span<const std::byte> payload, std::uint64_t tag) override {
    const TaskOutput out = echo_->Run(index, payload);
    ready_.push_back({tag, out.value, std::vector<std::byte>(out.reply.begin(), out.reply.end())});
  }
  std::vector<Completion> Poll(int) override {
    delivered_ = std::move(ready_);
    ready_.clear();
    std::vector<Completion> done;
    for (const Ready& r : delivered_) {
      done.push_back({.tag = r.tag, .output = {.value = r.value, .reply = r.reply}, .error = ""});
    }
    return done;
  }
  [[nodiscard]] std::size_t in_flight() const override { return ready_.size(); }

 private:
  struct Ready {
    std::uint64_t tag;
    std::uint64_t value;
    std::vector<std::byte> reply;
  };
  std::unique_ptr<TaskRunner> echo_;
  std::vector<Ready> ready_;
  std::vector<Ready> delivered_;  // what the last Poll() handed out
};

class BlasThreadsRunner final : public TaskRunner {
 public:
  TaskOutput Run(std::uint32_t, std::span<const std::byte>) override {
    return {.value = static_cast<std::uint64_t>(openblas_get_num_threads()), .reply = {}};
  }
};

class FaultRunner final : public TaskRunner {
 public:
  explicit FaultRunner(const Config& config)
      : mode_(config.GetString("mode")),
        task_(static_cast<std::uint32_t>(config.GetInt("task"))),
        ms_(config.GetInt("ms", 0)) {}
  TaskOutput Run(std::uint32_t index, std::span<const std::byte>) override {
    if (index == task_) {
      // Default dispositions first: a sanitizer's handler would turn the signal into exit(1).
      if (mode_ == "segv") {
        std::signal(SIGSEGV, SIG_DFL);
        std::raise(SIGSEGV);
      } else if (mode_ == "abort") {
        std::signal(SIGABRT, SIG_DFL);
        std::abort();
      } else if (mode_ == "exit") {
        ::_exit(3);  // no atexit handlers (a leak check could change the status)
      } else if (mode_ == "kill") {
        std::raise(SIGKILL);
      } else if (mode_ == "throw") {
        throw WorkloadError("fault: thrown on purpose by task " + std::to_string(index));
      } else if (mode_ == "hang") {
        const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms_);
        while (std::chrono::steady_clock::now() < end) {
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
      }
    }
    return {.value = index, .reply = {}};
  }

 private:
  std::string mode_;
  std::uint32_t task_;
  std::int64_t ms_;
};

}  // namespace

struct Watchdog::State {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
};

Watchdog::Watchdog(std::chrono::seconds limit) : state_(std::make_shared<State>()) {
  std::thread([state = state_, limit] {
    std::unique_lock lock(state->mu);
    if (!state->cv.wait_for(lock, limit, [&] { return state->done; })) {
      std::fprintf(stderr, "watchdog: the test did not finish within %lld s\n",
                   static_cast<long long>(limit.count()));
      std::_Exit(1);
    }
  }).detach();
}

Watchdog::~Watchdog() {
  {
    std::lock_guard lock(state_->mu);
    state_->done = true;
  }
  state_->cv.notify_all();
}

// Value 1 when libpython is mapped into this worker process (so an interpreter could have
// started), 0 when it is not: read from /proc/self/maps, not from parbench's own bookkeeping.
class PythonMappedRunner final : public TaskRunner {
 public:
  TaskOutput Run(std::uint32_t, std::span<const std::byte>) override {
    std::ifstream maps("/proc/self/maps");
    std::string line;
    while (std::getline(maps, line)) {
      if (line.find("libpython") != std::string::npos) return {.value = 1, .reply = {}};
    }
    return {.value = 0, .reply = {}};
  }
};

void RegisterTestWorkloads() {
  RegisterWorkload({"python_mapped", "test: 1 when libpython is mapped in this worker, else 0",
                    [](const Config&) -> std::unique_ptr<TaskRunner> {
                      return std::make_unique<PythonMappedRunner>();
                    }});
  RegisterWorkload({"barrier", "test: waits for N tasks at once",
                    [](const Config& c) -> std::unique_ptr<TaskRunner> {
                      return std::make_unique<BarrierRunner>(c);
                    },
                    [](const Config& c) -> std::unique_ptr<AsyncTaskRunner> {
                      return std::make_unique<BarrierAsyncRunner>(c);
                    }});
  RegisterWorkload({"echo", "test: the transfer task (checksum, echo) with an asynchronous form",
                    [](const Config& c) { return MakeRunner("transfer", c); },
                    [](const Config& c) -> std::unique_ptr<AsyncTaskRunner> {
                      return std::make_unique<EchoAsyncRunner>(c);
                    }});
  RegisterWorkload({"blas_threads", "test: reports OpenBLAS's thread count in this worker",
                    [](const Config&) -> std::unique_ptr<TaskRunner> {
                      return std::make_unique<BlasThreadsRunner>();
                    }});
  RegisterWorkload({"fault", "test: a task that crashes, exits, throws or hangs",
                    [](const Config& c) -> std::unique_ptr<TaskRunner> {
                      return std::make_unique<FaultRunner>(c);
                    }});
  RegisterWorkload({"sleep", "test: sleeps",
                    [](const Config& c) -> std::unique_ptr<TaskRunner> {
                      return std::make_unique<SleepRunner>(c);
                    },
                    [](const Config& c) -> std::unique_ptr<AsyncTaskRunner> {
                      return std::make_unique<SleepAsyncRunner>(c);
                    }});
}

std::vector<pid_t> ChildPids() { return ChildrenOf(::getpid()); }

std::vector<pid_t> ChildrenOf(pid_t self) {
  std::vector<pid_t> out;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return out;
  while (dirent* e = ::readdir(dir)) {
    const std::string name = e->d_name;
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat("/proc/" + name + "/stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    // Fields after the parenthesized command name: state ppid ...
    const std::size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 1));
    char state = 0;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == self) out.push_back(std::stoi(name));
  }
  ::closedir(dir);
  return out;
}

namespace {

// Open descriptors whose /proc link starts with `prefix` ("" for all of them).
int CountFds(std::string_view prefix) {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int count = 0;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] == '.' || std::atoi(e->d_name) == ::dirfd(dir)) continue;
    char target[64] = {};
    const ssize_t n = ::readlinkat(::dirfd(dir), e->d_name, target, sizeof target - 1);
    if (std::string_view(target, n > 0 ? static_cast<std::size_t>(n) : 0).starts_with(prefix)) {
      ++count;
    }
  }
  ::closedir(dir);
  return count;
}

}  // namespace

int OpenFdCount() { return CountFds(""); }
int OpenSocketCount() { return CountFds("socket:"); }

ScopedDescriptorLimit::ScopedDescriptorLimit(std::uint64_t soft) {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  old_soft_ = limit.rlim_cur;
  limit.rlim_cur = static_cast<rlim_t>(soft);
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    throw std::runtime_error(std::string("setrlimit(RLIMIT_NOFILE): ") + std::strerror(errno));
  }
}

ScopedDescriptorLimit::~ScopedDescriptorLimit() {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = static_cast<rlim_t>(old_soft_);
  ::setrlimit(RLIMIT_NOFILE, &limit);
}

DescriptorFiller::DescriptorFiller() {
  for (;;) {
    const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      full_ = errno == EMFILE;
      return;
    }
    fds_.push_back(fd);
  }
}

void DescriptorFiller::Release() {
  for (int fd : fds_) ::close(fd);
  fds_.clear();
}

std::string CannotRunOutOfDescriptors() {
#ifdef PARBENCH_SANITIZE_UNDEFINED
  return "UndefinedBehaviorSanitizer's vptr check needs descriptors of its own";
#else
  return "";
#endif
}

std::string CannotMeasureMemory() {
#if defined(__SANITIZE_ADDRESS__)  // GCC's macros for -fsanitize=address and =thread
  return "AddressSanitizer keeps freed memory in quarantine";
#elif defined(__SANITIZE_THREAD__)
  return "ThreadSanitizer's shadow memory grows with every byte the program touches";
#else
  return "";
#endif
}

TmpfsMount::TmpfsMount(std::size_t bytes) {
  char templ[] = "/tmp/parbench-tmpfs-XXXXXX";
  if (::mkdtemp(templ) == nullptr) {
    error_ = std::string("mkdtemp: ") + std::strerror(errno);
    return;
  }
  path_ = templ;
  const std::string options = "size=" + std::to_string(bytes);
  if (::mount("tmpfs", path_.c_str(), "tmpfs", 0, options.c_str()) != 0) {
    error_ = std::string("mount tmpfs: ") + std::strerror(errno);
    return;
  }
  mounted_ = true;
}

TmpfsMount::~TmpfsMount() {
  if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  if (!path_.empty()) ::rmdir(path_.c_str());
}

SharedCounter::SharedCounter() {
  static std::atomic<int> serial{0};
  name_ = "/parbench-test-" + std::to_string(::getpid()) + "-" + std::to_string(serial++);
  const int fd = ::shm_open(name_.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0 || ::ftruncate(fd, sizeof(std::atomic<std::uint32_t>)) != 0) {
    throw std::runtime_error("cannot create shared memory " + name_);
  }
  ::close(fd);  // a new object is zero-filled: the counter starts at 0
}

std::uint32_t SharedCounter::value() const {
  const int fd = ::shm_open(name_.c_str(), O_RDONLY, 0);
  if (fd < 0) return 0;
  void* p = ::mmap(nullptr, sizeof(std::atomic<std::uint32_t>), PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) return 0;
  const std::uint32_t v = static_cast<const std::atomic<std::uint32_t>*>(p)->load();
  ::munmap(p, sizeof(std::atomic<std::uint32_t>));
  return v;
}

SharedCounter::~SharedCounter() { ::shm_unlink(name_.c_str()); }

int TaskCountOf(uid_t uid) {
  int count = 0;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return 0;
  while (dirent* e = ::readdir(dir)) {
    const std::string name = e->d_name;
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream status("/proc/" + name + "/status");
    std::string line;
    bool mine = false;
    int threads = 0;
    while (std::getline(status, line)) {
      if (line.rfind("Uid:", 0) == 0) {
        std::istringstream fields(line.substr(4));
        unsigned long real = 0;
        fields >> real;  // the real uid is the one the kernel counts
        mine = real == uid;
      } else if (line.rfind("Threads:", 0) == 0) {
        threads = std::atoi(line.c_str() + 8);
      }
    }
    if (mine) count += threads;
  }
  ::closedir(dir);
  return count;
}

int ThreadCount() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::atoi(line.c_str() + 8);
  }
  return -1;
}

LimitedUser LimitedUserForThisProcess() {
  if (::geteuid() != 0) return {.uid = ::getuid(), .gid = ::getgid(), .switch_user = false};
  const passwd* nobody = ::getpwnam("nobody");
  return {.uid = nobody != nullptr ? nobody->pw_uid : 65534,
          .gid = nobody != nullptr ? nobody->pw_gid : 65534,
          .switch_user = true};
}

std::string BecomeLimitedUser(int spare) {
  const LimitedUser user = LimitedUserForThisProcess();
  if (user.switch_user) {
    if (::setgroups(0, nullptr) != 0 || ::setresgid(user.gid, user.gid, user.gid) != 0 ||
        ::setresuid(user.uid, user.uid, user.uid) != 0) {
      return std::string("cannot become user ") + std::to_string(user.uid) + ": " +
             std::strerror(errno);
    }
  }
  const auto limit = static_cast<rlim_t>(TaskCountOf(user.uid) + spare);
  const rlimit nproc{.rlim_cur = limit, .rlim_max = limit};
  if (::setrlimit(RLIMIT_NPROC, &nproc) != 0) {
    return std::string("setrlimit(RLIMIT_NPROC): ") + std::strerror(errno);
  }
  return "";
}

std::string SelfExe() {
  char buffer[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buffer, sizeof buffer - 1);
  return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
}

bool ReachableByOthers(const std::filesystem::path& path) {
  std::filesystem::path at = "/";
  for (const auto& part : std::filesystem::absolute(path).lexically_normal().relative_path()) {
    at /= part;
    struct stat st {};
    if (::stat(at.c_str(), &st) != 0) return false;
    if (S_ISDIR(st.st_mode) && (st.st_mode & S_IXOTH) == 0) return false;
  }
  return true;
}

std::vector<std::filesystem::path> BenchAndModules(const std::filesystem::path& bench) {
  std::vector<std::filesystem::path> out = {bench};
  for (const auto& entry : std::filesystem::directory_iterator(bench.parent_path())) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("lib") && entry.path().extension() == ".so") out.push_back(entry.path());
  }
  return out;
}

StagedCopy::StagedCopy(const std::vector<std::filesystem::path>& files) {
  std::error_code ec;
  std::filesystem::path parent = std::filesystem::temp_directory_path(ec);
  if (ec || !ReachableByOthers(parent)) parent = "/tmp";
  if (!ReachableByOthers(parent)) {
    error_ = "neither $TMPDIR nor /tmp can be reached by other users";
    return;
  }
  std::string templ = (parent / "parbench-staged-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr) {
    error_ = "cannot create a directory in " + parent.string() + ": " + std::strerror(errno);
    return;
  }
  dir_ = templ;
  std::filesystem::permissions(dir_, std::filesystem::perms(0755), ec);
  for (const auto& file : files) {
    if (ec) break;
    std::filesystem::copy_file(file, dir_ / file.filename(), ec);
  }
  if (ec) error_ = "cannot stage a copy in " + dir_.string() + ": " + ec.message();
}

StagedCopy::~StagedCopy() {
  std::error_code ignored;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
}

}  // namespace parbench::testing
