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
        "(buffered, or durable with fdatasync)",
    .make_runner = [](const Config& config) -> std::unique_ptr<TaskRunner> {
      return std::make_unique<Runner>(config);
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
});

}  // namespace
}  // namespace parbench::io
