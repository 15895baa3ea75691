// The workload interface: what one task does, independent of who runs it.
//
// A workload knows nothing of executors or Google Benchmark. Each worker (a thread or a
// process) builds its own TaskRunner once per job from the job's Config, then calls run() for
// every task it is given. The parent side of a workload (building payloads, the expected
// result of a task) is plain code in each workload's header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace parbench {

// The largest payload (or reply) one task may carry.
inline constexpr std::int64_t kMaxPayloadBytes = std::int64_t{1} << 30;

// Thrown for a task or configuration that cannot be carried out; the message reaches the report.
class WorkloadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A workload's parameters as ordered key=value pairs, serialized as "k=v;k=v" to cross a pipe.
// Keys and values may hold any byte (a path can hold ';', '=' or a newline): in the text, '%',
// ';', '=' and every byte outside printable ASCII are written as %XX.
class Config {
 public:
  Config() = default;
  // Parses Serialize()'s form; throws WorkloadError on a malformed pair or escape.
  static Config Parse(std::string_view text);

  // Sets key to value (overwriting); returns *this so calls chain. Throws on an empty key.
  Config& Set(const std::string& key, const std::string& value);
  Config& Set(const std::string& key, std::int64_t value);

  // The value of key; throws WorkloadError naming the key when it is missing or not an integer.
  [[nodiscard]] std::string GetString(const std::string& key) const;
  [[nodiscard]] std::int64_t GetInt(const std::string& key) const;
  [[nodiscard]] std::string GetString(const std::string& key, const std::string& fallback) const;
  [[nodiscard]] std::int64_t GetInt(const std::string& key, std::int64_t fallback) const;

  // The "k=v;k=v" form with %XX escapes, keys in sorted order (so equal configs serialize
  // equally).
  [[nodiscard]] std::string Serialize() const;

  bool operator==(const Config&) const = default;

 private:
  std::map<std::string, std::string> values_;
};

// What one task hands back: a value that proves the work was done (a checksum or a byte count)
// and, for workloads that answer with data, a view of the reply bytes (owned by the runner or
// by the payload, valid until the runner's next run()).
struct TaskOutput {
  std::uint64_t value = 0;
  std::span<const std::byte> reply;
};

// One worker's instance of a workload: holds per-worker state (a curl handle, matrices, a temp
// directory). Used by one thread at a time.
class TaskRunner {
 public:
  virtual ~TaskRunner() = default;
  // Runs task `index` on `payload` (empty when the job ships none). Throws on failure.
  virtual TaskOutput Run(std::uint32_t index, std::span<const std::byte> payload) = 0;
};

// The outcome of one task started on an AsyncTaskRunner.
struct Completion {
  std::uint64_t tag = 0;  // what Start() was given
  TaskOutput output;      // valid until the next Poll()
  std::string error;      // "" on success
};

// The asynchronous form of a workload: many tasks in flight on one thread, which drives them
// with Poll() (an event loop: curl multi, io_uring). Used by one thread at a time.
class AsyncTaskRunner {
 public:
  virtual ~AsyncTaskRunner() = default;
  // Starts task `index` on `payload` (which must stay valid until the task completes); its
  // outcome comes back from a later Poll() under `tag`. A task that cannot start completes
  // with an error; throws only when the runner itself is unusable.
  virtual void Start(std::uint32_t index, std::span<const std::byte> payload,
                     std::uint64_t tag) = 0;
  // Waits up to `timeout_ms` for progress; returns the tasks that completed (maybe none).
  virtual std::vector<Completion> Poll(int timeout_ms) = 0;
  // Tasks started and not yet returned by Poll().
  [[nodiscard]] virtual std::size_t in_flight() const = 0;
};

// A workload: a name and how a worker builds its runner.
struct Workload {
  std::string_view name;
  // One-line description for --help and the README.
  std::string_view summary;
  // Builds a runner for `config`, inside the worker that will use it. Throws WorkloadError.
  std::unique_ptr<TaskRunner> (*make_runner)(const Config& config);
  // The asynchronous form, for executors that keep many tasks in flight on one thread;
  // nullptr when the workload has none. Throws WorkloadError.
  std::unique_ptr<AsyncTaskRunner> (*make_async_runner)(const Config& config) = nullptr;
};

// What every worker runs: a workload by name and its configuration.
struct Job {
  std::string workload;
  Config config;
};

// Every workload the suite knows (the family table registers its workloads; tests add their
// own); a worker process looks up jobs here by name.
// A deque: registering one later leaves references to the others valid.
[[nodiscard]] const std::deque<Workload>& Workloads();
// The workload called `name`; throws WorkloadError when there is none.
[[nodiscard]] const Workload& FindWorkload(std::string_view name);
// Adds a workload to the table (tests add fault-injecting ones); a duplicate name throws.
void RegisterWorkload(const Workload& workload);

// Builds the runner for a (workload name, config) pair: the one call executors make.
[[nodiscard]] std::unique_ptr<TaskRunner> MakeRunner(std::string_view workload,
                                                     const Config& config);
// Builds the asynchronous runner for a (workload name, config) pair (an event loop's call);
// throws WorkloadError when the workload has no asynchronous form or it cannot be built here.
[[nodiscard]] std::unique_ptr<AsyncTaskRunner> MakeAsyncRunner(std::string_view workload,
                                                               const Config& config);

}  // namespace parbench
