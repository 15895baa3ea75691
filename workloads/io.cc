#include "workloads/io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>

#include "common/unique_fd.h"
#include "workloads/family.h"
#include "workloads/modules.h"

namespace parbench::io {
namespace {

std::string Errno(const std::string& what, const std::string& path) {
  return "io: " + what + " " + path + ": " + std::strerror(errno);
}

class Runner final : public TaskRunner {
 public:
  explicit Runner(const Config& config)
      : durable_(config.GetInt("durable") != 0),
        keep_(config.GetInt("keep", 0) != 0),
        dir_(config.GetString("dir")) {
    if (config.GetInt("local") != 0) local_payload_ = SharedText(config.GetInt("bytes"));
  }

  TaskOutput Run(std::uint32_t index, std::span<const std::byte> payload) override {
    if (local_payload_) payload = *local_payload_;
    const std::string path = dir_ + "/" + FileName(index);
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd.valid()) throw WorkloadError(Errno("cannot create", path));
    std::size_t written = 0;
    while (written < payload.size()) {
      const ssize_t w = ::write(fd.get(), payload.data() + written, payload.size() - written);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) Fail("cannot write", path);  // ENOSPC, EIO, EDQUOT...
      written += static_cast<std::size_t>(w);
    }
    if (durable_ && ::fdatasync(fd.get()) != 0) Fail("cannot fdatasync", path);
    if (::close(fd.Release()) != 0) Fail("cannot close", path);
    if (!keep_) ::unlink(path.c_str());
    return {.value = written, .reply = {}};
  }

 private:
  // Removes the partial file and throws, naming the file and the cause.
  [[noreturn]] static void Fail(const std::string& what, const std::string& path) {
    const std::string message = Errno(what, path);
    ::unlink(path.c_str());
    throw WorkloadError(message);
  }

  bool durable_;
  bool keep_;
  std::string dir_;
  std::shared_ptr<const std::vector<std::byte>> local_payload_;  // null: shipped with tasks
};

// The most tasks the asynchronous form keeps in flight without queueing in user space (the
// async executor's limit): each task has at most one operation in the ring at a time.
constexpr unsigned kRingEntries = 1024;
// The most bytes one write operation carries (Linux writes at most 0x7ffff000 per call).
constexpr std::size_t kMaxWriteBytes = std::size_t{1} << 30;

// The asynchronous form: each task's steps (open, write, fdatasync, close, unlink) are
// operations on one io_uring, so one thread keeps many tasks' steps in the kernel at once. A
// machine without io_uring (a seccomp profile, a sysctl) fails the construction with the exact
// reason: there is no fallback to threads.
class UringRunner final : public AsyncTaskRunner {
 public:
  explicit UringRunner(const Config& config)
      : durable_(config.GetInt("durable") != 0),
        keep_(config.GetInt("keep", 0) != 0),
        dir_(config.GetString("dir")),
        ring_(Uring().make_ring(kRingEntries)) {
    if (config.GetInt("local") != 0) local_payload_ = SharedText(config.GetInt("bytes"));
  }
  // Waits for the operations still in the kernel (they point into tasks and payloads), then
  // closes and removes what the unfinished tasks left.
  ~UringRunner() override {
    std::vector<RingCompletion> completions;
    for (int round = 0; ring_->pending() > 0 && round < 100; ++round) {
      try {
        ring_->Wait(100, completions);
      } catch (const WorkloadError&) {
        break;
      }
      for (const RingCompletion& c : completions) {
        Task& t = *reinterpret_cast<Task*>(c.user_data);
        if (t.step == Step::kOpen && c.result >= 0) t.fd = static_cast<int>(c.result);
        if (t.step == Step::kClose) t.fd = -1;
      }
      completions.clear();
    }
    for (const auto& t : tasks_) {
      if (!t->active) continue;
      if (t->fd >= 0) ::close(t->fd);
      if (!keep_) ::unlink(t->path.c_str());
    }
  }
  UringRunner(const UringRunner&) = delete;
  UringRunner& operator=(const UringRunner&) = delete;

  void Start(std::uint32_t index, std::span<const std::byte> payload, std::uint64_t tag) override {
    Task& t = IdleTask();
    t.active = true;
    t.tag = tag;
    t.path = dir_ + "/" + FileName(index);
    t.data = local_payload_ ? std::span<const std::byte>(*local_payload_) : payload;
    t.written = 0;
    t.fd = -1;
    t.step = Step::kOpen;
    ++in_flight_;
    ring_->Open(t.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600, UserData(t));
  }

  std::vector<Completion> Poll(int timeout_ms) override {
    std::vector<Completion> done;
    completions_.clear();
    ring_->Wait(timeout_ms, completions_);
    for (const RingCompletion& c : completions_) {
      Advance(*reinterpret_cast<Task*>(c.user_data), c.result, done);
    }
    return done;
  }

  [[nodiscard]] std::size_t in_flight() const override { return in_flight_; }

 private:
  enum class Step : std::uint8_t { kOpen, kWrite, kSync, kClose, kUnlink };
  struct Task {
    bool active = false;
    std::uint64_t tag = 0;
    std::string path;
    std::span<const std::byte> data;
    std::size_t written = 0;
    int fd = -1;
    Step step = Step::kOpen;
  };

  static std::uint64_t UserData(Task& t) { return reinterpret_cast<std::uint64_t>(&t); }

  Task& IdleTask() {
    if (!idle_.empty()) {
      Task* t = idle_.back();
      idle_.pop_back();
      return *t;
    }
    return *tasks_.emplace_back(std::make_unique<Task>());
  }

  // The next step of `t` after its current one returned `result`.
  void Advance(Task& t, std::int64_t result, std::vector<Completion>& done) {
    switch (t.step) {
      case Step::kOpen:
        if (result < 0) return Fail(t, "cannot create", result, done);
        t.fd = static_cast<int>(result);
        return WriteMore(t);
      case Step::kWrite:
        if (result < 0) return Fail(t, "cannot write", result, done);
        if (result == 0) return Fail(t, "cannot write", -ENOSPC, done);  // no progress
        t.written += static_cast<std::size_t>(result);
        return WriteMore(t);
      case Step::kSync:
        if (result < 0) return Fail(t, "cannot fdatasync", result, done);
        t.step = Step::kClose;
        return ring_->Close(t.fd, UserData(t));
      case Step::kClose:
        t.fd = -1;
        if (result < 0) return Fail(t, "cannot close", result, done);
        if (keep_) return Finish(t, "", done);
        t.step = Step::kUnlink;
        return ring_->Unlink(t.path.c_str(), UserData(t));
      case Step::kUnlink:  // as the blocking form, a file that cannot be removed is no failure
        return Finish(t, "", done);
    }
  }

  // Writes what is left of the payload, or moves on to fdatasync or close.
  void WriteMore(Task& t) {
    if (t.written < t.data.size()) {
      t.step = Step::kWrite;
      const std::size_t bytes = std::min(t.data.size() - t.written, kMaxWriteBytes);
      return ring_->Write(t.fd, t.data.data() + t.written, static_cast<unsigned>(bytes), t.written,
                          UserData(t));
    }
    t.step = durable_ ? Step::kSync : Step::kClose;
    if (durable_) return ring_->Fsync(t.fd, /*datasync=*/true, UserData(t));
    ring_->Close(t.fd, UserData(t));
  }

  // Ends `t` with the error of `result` (-errno), as the blocking form words it; the partial
  // file is closed and removed at once (a rare path: plain system calls).
  void Fail(Task& t, const std::string& what, std::int64_t result, std::vector<Completion>& done) {
    std::string message =
        "io: " + what + " " + t.path + ": " + std::strerror(static_cast<int>(-result));
    if (t.fd >= 0) ::close(t.fd);
    t.fd = -1;
    ::unlink(t.path.c_str());
    Finish(t, std::move(message), done);
  }

  void Finish(Task& t, std::string error, std::vector<Completion>& done) {
    done.push_back({.tag = t.tag,
                    .output = {.value = error.empty() ? t.written : 0, .reply = {}},
                    .error = std::move(error)});
    t.active = false;
    idle_.push_back(&t);
    --in_flight_;
  }

  bool durable_;
  bool keep_;
  std::string dir_;
  std::shared_ptr<const std::vector<std::byte>> local_payload_;  // null: shipped with tasks
  std::unique_ptr<Ring> ring_;
  std::vector<std::unique_ptr<Task>> tasks_;  // stable addresses: the ring's user_data
  std::vector<Task*> idle_;
  std::vector<RingCompletion> completions_;
  std::size_t in_flight_ = 0;
};

}  // namespace

std::vector<std::byte> MakeText(std::int64_t bytes) {
  std::vector<std::byte> text(static_cast<std::size_t>(bytes));
  char line[64];
  std::size_t pos = 0;
  for (std::uint64_t n = 0; pos < text.size(); ++n) {
    const int len = std::snprintf(line, sizeof line, "parbench io line %012llu abcdefghijklmnop\n",
                                  static_cast<unsigned long long>(n));
    const std::size_t take = std::min(text.size() - pos, static_cast<std::size_t>(len));
    std::memcpy(text.data() + pos, line, take);
    pos += take;
  }
  return text;
}

std::shared_ptr<const std::vector<std::byte>> SharedText(std::int64_t bytes) {
  // Never destroyed: a thread abandoned by a timed-out pool may still build a runner at exit.
  static auto* mu = new std::mutex;
  static auto* texts = new std::map<std::int64_t, std::weak_ptr<const std::vector<std::byte>>>;
  // Built under the lock: the threads of a pool ask at once, and one copy is the point.
  std::lock_guard lock(*mu);
  std::weak_ptr<const std::vector<std::byte>>& slot = (*texts)[bytes];
  std::shared_ptr<const std::vector<std::byte>> text = slot.lock();
  if (!text) {
    text = std::make_shared<const std::vector<std::byte>>(MakeText(bytes));
    slot = text;
  }
  return text;
}

Config MakeConfig(const std::string& dir, bool durable, std::int64_t bytes, bool local) {
  return Config()
      .Set("dir", dir)
      .Set("durable", durable ? 1 : 0)
      .Set("bytes", bytes)
      .Set("local", local ? 1 : 0);
}

std::string FileName(std::uint32_t index) { return "task-" + std::to_string(index) + ".txt"; }

constexpr Workload kWorkload = {
    .name = "io",
    .summary =
        "writes --io_bytes of text to its own file in a private temp dir "
        "(buffered, or durable with fdatasync); asynchronously through io_uring",
    .make_runner = [](const Config& config) -> std::unique_ptr<TaskRunner> {
      return std::make_unique<Runner>(config);
    },
    .make_async_runner = [](const Config& config) -> std::unique_ptr<AsyncTaskRunner> {
      return std::make_unique<UringRunner>(config);
    },
};

namespace {

void CheckDir(std::string_view name, const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec) || ::access(dir.c_str(), W_OK | X_OK) != 0) {
    throw FlagError("--" + std::string(name) + "='" + dir +
                    "' is invalid: allowed is an existing writable directory");
  }
}

std::string DefaultTempDir(int) {
  const char* tmp = std::getenv("TMPDIR");
  return tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
}

Prepared Prepare(const Point& point, Fixtures& fixtures) {
  const std::int64_t bytes = fixtures.options().Int("io_bytes");
  const bool durable = point.Get("mode") == "durable";
  const bool local = point.Get("payload") == "local";
  const std::string& dir = fixtures.MakeTempDir();
  return {.job = {"io", MakeConfig(dir, durable, bytes, local)},
          // Shipped: built once here and sent with every task, as pickling would.
          .payload = local ? std::vector<std::byte>{} : MakeText(bytes),
          .tasks = static_cast<std::uint32_t>(fixtures.options().Int("tasks")),
          .check = ExpectValue(static_cast<std::uint64_t>(bytes), " bytes written")};
}

const bool kRegistered = RegisterFamily({
    .workload = &kWorkload,
    .flags = {{.name = "io_bytes",
               .lo = 1,
               .hi = kMaxPayloadBytes,
               .default_value = "16777216",
               .help = "io: bytes each task writes"},
              {.name = "io_dir",
               .type = FlagType::kString,
               .help = "io: where the private temp directory is made",
               .allowed = "an existing writable directory",
               .default_help = "$TMPDIR or /tmp",
               .check = CheckDir,
               .machine_default = DefaultTempDir}},
    .axes =
        [](const Options&, int) {
          return std::vector<Axis>{{"mode", {"buffered", "durable"}},
                                   {"payload", {"shipped", "local"}}};
        },
    .prepare = Prepare,
    .counters =
        [](const Point&, const Prepared&, const Measurement& m, Fixtures& f) {
          return Counters{{"bytes_per_second", static_cast<double>(f.options().Int("io_bytes")) *
                                                   static_cast<double>(m.tasks) / m.seconds()}};
        },
    .counter_specs = {{"bytes_per_second", "B/s", true}},
    .waits = true,
    .shown_counters = {"bytes_per_second"},
});

}  // namespace
}  // namespace parbench::io
