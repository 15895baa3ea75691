// The executor interface: runs a batch of tasks on a set of workers and says who ran what, when.
//
// Three implementations, one file pair each: serial (the calling thread), threads (a persistent
// pool of threads) and processes (a persistent pool of worker processes, Boost.Process).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "workloads/workload.h"

namespace parbench {

// Nanoseconds on CLOCK_MONOTONIC: system-wide, so a span taken in a worker process lines up
// with the parent's clock.
[[nodiscard]] std::int64_t NowNs();

// When and where one task ran, taken inside the worker.
struct Span {
  std::int32_t slot = -1;   // worker slot, 0..workers-1
  std::uint32_t task = 0;   // task index in its batch
  std::int32_t pid = 0;     // OS process id of the worker
  std::int32_t tid = 0;     // OS thread id of the worker (== pid for a process worker)
  std::int64_t start_ns = 0;
  std::int64_t stop_ns = 0;
};

// What every worker must run: a workload by name and its configuration.
struct Job {
  std::string workload;
  Config config;
};

// One executor call: `tasks` tasks of `job`, each given the same `payload` (may be empty).
// A thread worker sees the payload by reference; a process worker receives a copy through its
// pipe, as Python's pickling would send it.
struct Batch {
  const Job* job = nullptr;
  std::uint32_t tasks = 0;
  std::span<const std::byte> payload;
};

// The outcome of one task. `error` is empty on success.
struct Result {
  std::uint64_t value = 0;
  Span span;
  std::string error;
  // The bytes the task answered with (only workloads that echo data have any). An in-process
  // executor hands over the runner's view; a process executor points into the frame that
  // carried the reply back, or into the worker's shared region (Transport::kShm), which
  // `reply_owner` keeps mapped; a shared region's reply is valid until the next Run().
  std::span<const std::byte> reply;
  std::shared_ptr<const void> reply_owner;
};

// Thrown when the executor itself fails (a worker died or timed out, the pool is broken).
// A task that throws is not an ExecutorError: its message lands in Result::error.
class ExecutorError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class ExecutorKind { kSerial, kThreads, kProcesses };

// "serial", "threads", "processes".
[[nodiscard]] std::string_view ToString(ExecutorKind kind);

// How a process pool moves payloads and replies. Threads share memory and ignore it.
enum class Transport {
  kPipe,  // through the worker's pipes, in the frames (the price of pickling)
  kShm,   // through a shared-memory region per worker: one copy each way, no pipe traffic
};

// "pipe", "shm".
[[nodiscard]] std::string_view ToString(Transport transport);

struct ExecutorOptions {
  int workers = 1;
  Transport transport = Transport::kPipe;
  // A task running longer than this is reported (and a process worker running it is killed).
  std::chrono::milliseconds task_timeout{std::chrono::minutes(5)};
  // The binary a process worker runs as `EXE --worker`; it must dispatch that flag to
  // WorkerMain(). Defaults to the running binary itself.
  std::string worker_exe = "/proc/self/exe";
};

class Executor {
 public:
  virtual ~Executor() = default;
  // Runs every task of `batch` exactly once, the next task going to the first free worker.
  // Returns one Result per task, in task order. Throws ExecutorError if a worker fails; the
  // executor is then broken() and must be destroyed. Not reentrant: one run() at a time.
  virtual std::vector<Result> Run(const Batch& batch) = 0;
  [[nodiscard]] virtual int workers() const = 0;
  [[nodiscard]] virtual ExecutorKind kind() const = 0;
  // True after a failure that leaves the executor unusable.
  [[nodiscard]] virtual bool broken() const { return false; }
};

// Creates and starts an executor (a pool's workers are running when this returns).
[[nodiscard]] std::unique_ptr<Executor> MakeExecutor(ExecutorKind kind,
                                                     const ExecutorOptions& options);

// Runs task `index` of `batch` on `runner` in the calling thread, timing it into a Result.
// A thrown exception becomes Result::error; a null runner reports `build_error`. Shared by every
// executor's worker loop.
[[nodiscard]] Result RunOneTask(TaskRunner* runner, std::string_view build_error,
                                const Batch& batch, std::uint32_t index, std::int32_t slot);

// A worker's cached runner: rebuilt only when the job changes. Building may fail; the error is
// then reported by every task of that job.
class RunnerCache {
 public:
  // The runner for `job` (nullptr if it could not be built; see error()).
  TaskRunner* Get(const Job& job);
  [[nodiscard]] const std::string& error() const { return error_; }

 private:
  std::string key_;
  bool built_ = false;
  std::unique_ptr<TaskRunner> runner_;
  std::string error_;
};

}  // namespace parbench
