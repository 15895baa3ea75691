// The executor interface and its open registry: an executor runs a batch of tasks on a set of
// workers and says who ran what, when.
//
// Each implementation is one file (pair) that registers itself (name, traits, factory): serial
// (the calling thread), threads (a persistent pool of threads), processes (a persistent pool
// of worker processes), async (one thread, an event loop), and the peers tbb and openmp.
// Nothing else in the suite names them.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "workloads/workload.h"

namespace parbench {

// Nanoseconds on CLOCK_MONOTONIC: system-wide, so a span taken in a worker process lines up
// with the parent's clock.
[[nodiscard]] std::int64_t NowNs();

// Which clock a span's times are on.
enum class SpanClock : std::uint8_t {
  kHostMonotonic,  // CLOCK_MONOTONIC of the host the span names (the caller's own host: 0)
  kAligned,        // another host's clock, shifted onto host 0's by a measured offset
};

// When and where one task ran, taken inside the worker. Holds for workers on other machines
// too: `host` indexes the run's host table (0 is the machine bench runs on), `rank` is the
// worker's rank where the executor has ranks (-1 otherwise).
struct Span {
  std::int32_t slot = -1;  // worker slot, 0..workers-1 (an in-flight slot for an event loop)
  std::uint32_t task = 0;  // task index in its batch
  std::int32_t host = 0;   // index in the host table; 0 = this machine
  std::int32_t rank = -1;  // rank of the worker where the executor has ranks, else -1
  std::int32_t pid = 0;    // OS process id of the worker (on its host)
  std::int32_t tid = 0;    // OS thread id of the worker (== pid for a process worker)
  SpanClock clock = SpanClock::kHostMonotonic;
  std::int64_t start_ns = 0;
  std::int64_t stop_ns = 0;
};

// One executor call: `tasks` tasks of `job`, each given the same `payload` (may be empty).
// A thread worker sees the payload by reference; a process worker receives a copy through its
// pipe, as Python's pickling would send it.
struct Batch {
  const Job* job = nullptr;
  std::uint32_t tasks = 0;
  std::span<const std::byte> payload{};
  // Hand-off: no task may run on the calling thread; the caller hands every task to a worker
  // and waits (a round trip's `handoff` kind). Otherwise the caller may run tasks itself, as
  // tbb's and openmp's callers do (`inline`). See the contract on Executor.
  bool handoff = false;
};

// The outcome of one task. `error` is empty on success.
struct Result {
  std::uint64_t value = 0;
  Span span{};
  std::string error{};
  // The bytes the task answered with (only workloads that echo data have any). An in-process
  // executor hands over the runner's view; a process executor points into the frame that
  // carried the reply back, or into the worker's shared region (Transport::kShm), which
  // `reply_owner` keeps mapped; a shared region's reply is valid until the next Run().
  std::span<const std::byte> reply{};
  std::shared_ptr<const void> reply_owner{};
};

// Thrown when the executor itself fails (a worker died or timed out, the pool is broken).
// A task that throws is not an ExecutorError: its message lands in Result::error.
class ExecutorError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// How a process pool moves payloads and replies. Executors that share memory ignore it.
enum class Transport {
  kPipe,  // through the worker's pipes, in the frames (the price of pickling)
  kShm,   // through a shared-memory region per worker: one copy each way, no pipe traffic
};

// "pipe", "shm".
[[nodiscard]] std::string_view ToString(Transport transport);

// How an executor that sends tasks to its workers as messages (processes, mpi) groups them.
// Executors whose workers take tasks from shared memory ignore it: they hand out one at a time.
enum class Dispatch {
  kAdaptive,  // once tasks are timed, about 200 µs of work per message (several tiny tasks)
  kPerTask,   // one task per message, as Python's ProcessPoolExecutor.map with chunksize 1
};

// "adaptive", "per_task".
[[nodiscard]] std::string_view ToString(Dispatch dispatch);

struct ExecutorOptions {
  int workers = 1;
  Transport transport = Transport::kPipe;
  Dispatch dispatch = Dispatch::kAdaptive;
  // A task running longer than this is reported (and a process worker running it is killed).
  std::chrono::milliseconds task_timeout{std::chrono::minutes(5)};
  // The binary a process worker runs as `EXE --worker`; it must dispatch that flag to
  // WorkerMain(). Defaults to the running binary itself.
  std::string worker_exe = "/proc/self/exe";
};

// Runs batches of tasks on a set of workers and says who ran what, when.
//
// Contract, for every implementation:
// - Run() runs every task of the batch exactly once and returns one Result per task, in task
//   order, whatever order the workers finished them in.
// - Scheduling is dynamic: a free worker takes the next task or, where an implementation
//   batches tiny tasks, the next few (the process pool sends several tasks per frame once
//   tasks are seen to be short; see its header). Which worker runs which task is not fixed.
// - Thread safety: one Run() at a time, from any one thread; not reentrant. workers(),
//   name() and broken() may be called from that thread between runs.
// - Who runs the tasks: with batch.handoff, never the calling thread (threads, tbb and openmp
//   hand them to their workers; processes and mpi always do). serial and async, which run
//   every task on the calling thread, refuse such a batch (std::invalid_argument; they are
//   not broken by it). Without it the caller may take part (threads, tbb and openmp do).
// - A task that throws is not a failure of the executor: its message is Result::error and the
//   other tasks still run. A failure of the executor itself (a worker died, a task ran past
//   the timeout, the protocol broke) throws ExecutorError; the executor is then broken() for
//   good and must be destroyed (the suite drops it and starts a fresh one).
// - The factory returns with every worker started; the destructor stops every worker and
//   waits for it: threads are joined (a thread stuck in a task past the timeout is detached,
//   since it cannot be killed), processes are reaped.
class Executor {
 public:
  virtual ~Executor() = default;
  // Runs every task of `batch` once; see the contract above.
  virtual std::vector<Result> Run(const Batch& batch) = 0;
  // How many workers it has (tasks in flight, for an event loop).
  [[nodiscard]] virtual int workers() const = 0;
  // Its registry name ("threads").
  [[nodiscard]] virtual std::string_view name() const = 0;
  // True after a failure that leaves the executor unusable.
  [[nodiscard]] virtual bool broken() const { return false; }
  // Task messages sent to workers so far, over every Run() (processes, mpi: a message carries
  // one task or several, see Dispatch). 0 for an executor whose workers take one task at a
  // time from shared memory: there, each task is handed out on its own.
  [[nodiscard]] virtual std::uint64_t task_messages() const { return 0; }
};

// What an executor is, as the suite and the tools need to know it.
struct ExecutorTraits {
  bool shares_memory = false;     // workers see the caller's memory (payloads by reference)
  bool single_worker = false;     // always one worker: no worker-count axis (serial)
  bool transport_axis = false;    // has a transport (pipe | shm) that families may vary
  bool starts_processes = false;  // its workers are processes it starts
  bool remote_workers = false;    // workers may run on other hosts
  // Tasks reach its workers in messages (processes, mpi): it has a dispatch mode (per_task |
  // adaptive) that families may vary, and counts its task messages.
  bool sends_messages = false;
  bool async = false;  // many tasks in flight on one thread (needs a workload's async form)
};

// The worker limit of an executor that does not set its own: threads or processes.
inline constexpr int kDefaultMaxWorkers = 256;

// One row of the executor registry: a name, what it is, and how to make one.
struct ExecutorInfo {
  std::string_view name{};
  std::string_view summary{};  // one line, for --help and the manifest
  // How its workers get their tasks, one line for the manifest: in messages (and how many
  // tasks each carries), or one task at a time.
  std::string_view dispatch{};
  ExecutorTraits traits{};
  // Creates and starts an executor with options.workers workers. Throws ExecutorError.
  std::unique_ptr<Executor> (*make)(const ExecutorOptions& options) = nullptr;
  // Where it is listed (--help, names, tables): lower first, then by name.
  int order = 100;
  // Whether it can run in this process (nullptr: always); e.g. only under mpirun.
  bool (*available)() = nullptr;
  // The most workers it can have in this process, known only at run time (nullptr: max_workers);
  // worker counts above it are left out of its benchmarks (mpi: the worker ranks mpirun
  // started).
  int (*max_workers_now)() = nullptr;
  // The families it joins when --executors is not given (empty: every family). The peers
  // (tbb, openmp) join a few, so the default suite stays short; --executors=LIST runs the
  // listed executors in every family.
  std::vector<std::string_view> default_families{};
  // The most workers it takes (MakeExecutor refuses more; bench leaves larger counts out for
  // it): a pool of more threads or processes is a fork bomb, not a benchmark.
  int max_workers = kDefaultMaxWorkers;
  // Its worker counts when --workers is not given (empty: --workers' default). An event
  // loop's workers are tasks in flight, which reach far beyond the CPU count.
  std::vector<int> default_workers{};
};

// Adds a row; throws std::logic_error for a duplicate name. Returns true, so an executor's
// .cc file can register itself in a static initializer:
//   const bool kRegistered = RegisterExecutor({.name = "threads", ...});
bool RegisterExecutor(const ExecutorInfo& info);
// Every registered executor, by order then name.
[[nodiscard]] const std::vector<ExecutorInfo>& Executors();
// The worker counts of `counts` that `info` can have here (max_workers, max_workers_now).
[[nodiscard]] std::vector<int> WorkerCountsFor(const ExecutorInfo& info, std::vector<int> counts);
// The executor called `name`, or nullptr.
[[nodiscard]] const ExecutorInfo* FindExecutor(std::string_view name);

// An item of an executor list that names no registered executor.
class UnknownExecutor : public std::invalid_argument {
 public:
  explicit UnknownExecutor(std::string item)
      : std::invalid_argument("no executor is called '" + item + "'"), item_(std::move(item)) {}
  // The item as the list spelled it.
  [[nodiscard]] const std::string& item() const { return item_; }

 private:
  std::string item_;
};

// The executors a comma-separated list names ("serial,threads", as --executors takes it), each
// once, in the list's order. Throws UnknownExecutor for the first item that names none (an
// empty item too).
[[nodiscard]] std::vector<const ExecutorInfo*> ParseExecutorList(std::string_view list);
// False in a ThreadSanitizer build. For the `available` of executors built on libraries that
// are not instrumented for TSan (libtbb, libgomp): their synchronisation is invisible to it, so
// every run reads as races; such an executor is left out there and tested in the other builds.
[[nodiscard]] bool NotUnderThreadSanitizer();

// The executor every speedup is taken against.
inline constexpr std::string_view kBaselineExecutor = "serial";

// The largest max_workers of any registered executor (the upper limit of --workers).
[[nodiscard]] int MaxWorkersOfAnyExecutor();

// Creates and starts the executor called `name` (ExecutorError for an unknown name, fewer
// than one worker, or more than its max_workers).
[[nodiscard]] std::unique_ptr<Executor> MakeExecutor(std::string_view name,
                                                     const ExecutorOptions& options);

// Runs task `index` of `batch` on `runner` in the calling thread, timing it into a Result.
// A thrown exception becomes Result::error; a null runner reports `build_error`. Shared by every
// executor's worker loop.
// `start_ns`, when not 0, is the task's start as the caller already read it from NowNs().
[[nodiscard]] Result RunOneTask(TaskRunner* runner, std::string_view build_error,
                                const Batch& batch, std::uint32_t index, std::int32_t slot,
                                std::int64_t start_ns = 0);

// A worker's cached runner: rebuilt only when the job changes. Building may fail; the error is
// then reported by every task of that job.
class RunnerCache {
 public:
  // The runner for `job` (nullptr if it could not be built; see error()).
  TaskRunner* Get(const Job& job);
  [[nodiscard]] const std::string& error() const { return error_; }

 private:
  std::string key_{};
  bool built_ = false;
  std::unique_ptr<TaskRunner> runner_{};
  std::string error_{};
};

}  // namespace parbench
