// processes: a pool of persistent worker processes started with Boost.Process.
//
// Each worker is the running binary re-executed as `EXE --worker PARENT_PID` (see
// worker_main.h), so it has the same workload table. Tasks and results travel as
// length-prefixed frames (frame.h) over one pipe pair per worker; a task's payload is copied
// through the pipe, which is the price Python pays for pickling. The parent drives every pipe
// from one poll() loop with non-blocking descriptors, so a large frame going out never waits
// on a large frame coming back. With Transport::kShm, payloads and replies travel through a
// shared-memory region per worker instead (a memfd the worker sees as descriptor 3).
//
// Scheduling is dynamic, in frames: once tasks have been timed, a frame carries about 200 µs
// of work (several tiny tasks, one long one), and with the pipe transport each worker holds a
// second frame queued behind the one it runs, so it never waits a round trip for the parent
// (like ProcessPoolExecutor's call queue). Near the end of a batch nothing is queued ahead.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "executors/executor.h"

namespace parbench {

class ProcessPool final : public Executor {
 public:
  // Starts options.workers processes and waits until each has said hello (a worker that
  // cannot start, or speaks another protocol version, throws ExecutorError).
  explicit ProcessPool(const ExecutorOptions& options);
  // Closes every worker's stdin, gives the workers a grace period to exit, kills the ones
  // that do not, and reaps them all: no zombie and no descriptor is left behind.
  ~ProcessPool() override;
  ProcessPool(const ProcessPool&) = delete;
  ProcessPool& operator=(const ProcessPool&) = delete;

  // Runs the batch; call from one thread at a time. Throws ExecutorError if a worker dies,
  // breaks the protocol or runs a task past the timeout; the pool is then broken().
  std::vector<Result> Run(const Batch& batch) override;
  [[nodiscard]] int workers() const override { return static_cast<int>(workers_.size()); }
  [[nodiscard]] std::string_view name() const override { return "processes"; }
  [[nodiscard]] bool broken() const override { return broken_; }
  // The OS pid of every worker, by slot.
  [[nodiscard]] std::vector<int> pids() const;

  struct Worker;  // one child process and its pipes (defined in the .cc)

 private:
  // Kills and reaps `worker`, marks the pool broken and throws ExecutorError with `what`.
  [[noreturn]] void Fail(Worker& worker, const std::string& what);
  void WaitForHellos();

  std::vector<std::unique_ptr<Worker>> workers_;
  std::chrono::milliseconds timeout_;
  Transport transport_;
  bool broken_ = false;
};

}  // namespace parbench
