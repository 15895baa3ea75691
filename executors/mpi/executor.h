// mpi: tasks run on the worker ranks of an Open MPI job (see mpi_session.h).
//
// Registered only when bench runs under mpirun with more than one rank: rank 0 runs Google
// Benchmark and dispatches; an executor of W workers uses ranks 1..W (W < N). The ranks outlive
// the executor: every executor of the run shares them, one Run() at a time.
//
// Scheduling is dynamic and batched like the process pool's: once tasks have been timed, a
// message carries about 200 µs of work, and each rank holds a second task message queued
// behind the one it runs while at least one task per rank remains. Payloads and replies travel
// as messages of their own (no copy into a header); a reply lands in a buffer that the result
// keeps (valid until the result is dropped) and that later runs reuse.
//
// Rank 0 never blocks in MPI: it polls (MPI_Iprobe / MPI_Test), spinning for 50 µs after the
// last message and then sleeping, so it leaves the cores to the worker ranks; it spins while
// a send of its own is in flight, since shared-memory sends progress only when it polls.
//
// Faults: a rank on rank 0's host that exits is seen within milliseconds (its pid is
// watched); a task past the timeout gets its rank killed (on this host) or abandoned (another
// host). Either throws ExecutorError naming the rank, host, pid and task; the rank is lost for
// the rest of the run.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "executors/executor.h"

namespace parbench {

class MpiExecutor final : public Executor {
 public:
  // Uses ranks 1..options.workers; ExecutorError when the job has fewer worker ranks or one of
  // them is lost.
  explicit MpiExecutor(const ExecutorOptions& options);
  // The ranks keep running for the next executor; nothing to stop here.
  ~MpiExecutor() override = default;
  MpiExecutor(const MpiExecutor&) = delete;
  MpiExecutor& operator=(const MpiExecutor&) = delete;

  std::vector<Result> Run(const Batch& batch) override;
  [[nodiscard]] int workers() const override { return workers_; }
  [[nodiscard]] std::string_view name() const override { return "mpi"; }
  [[nodiscard]] bool broken() const override { return broken_; }

 private:
  int workers_;
  std::chrono::milliseconds timeout_;
  bool broken_ = false;
  // Reply buffers: one per reply of a run; reused by later runs once no result holds them.
  std::vector<std::shared_ptr<std::vector<std::byte>>> replies_;
};

// The number of worker ranks of this job (0 without mpirun): the largest worker count of mpi.
[[nodiscard]] int MpiWorkerRanks();

}  // namespace parbench
