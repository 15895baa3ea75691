// The workload interface: what one task does, independent of who runs it.
//
// A workload knows nothing of executors or Google Benchmark. Each worker (a thread or a
// process) builds its own TaskRunner once per job from the job's Config, then calls run() for
// every task it is given. The parent side of a workload (building payloads, the expected
// result of a task) is plain code in each workload's header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace parbench {

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

// A workload: a name and how a worker builds its runner.
struct Workload {
  std::string_view name;
  // One-line description for --help and the README.
  std::string_view summary;
  // Builds a runner for `config`, inside the worker that will use it. Throws WorkloadError.
  std::unique_ptr<TaskRunner> (*make_runner)(const Config& config);
};

// Every workload the suite knows; a worker process looks up jobs here by name.
[[nodiscard]] const std::vector<Workload>& Workloads();
// The workload called `name`; throws WorkloadError when there is none.
[[nodiscard]] const Workload& FindWorkload(std::string_view name);
// Adds a workload to the table (tests add fault-injecting ones); a duplicate name throws.
void RegisterWorkload(const Workload& workload);

// Builds the runner for a (workload name, config) pair: the one call executors make.
[[nodiscard]] std::unique_ptr<TaskRunner> MakeRunner(std::string_view workload,
                                                      const Config& config);

}  // namespace parbench
